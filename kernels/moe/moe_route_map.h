/* moe_route_map.h - the split-K plan of moe_route_v2.cu as plain functions,
 * shared by the kernel's launcher/kernel and the host test
 * (tests/test_moe_route_map.c): how many K splits, which 64-wide K tiles
 * each split owns, and where each split's FP32 partial tile lives in the
 * workspace (after MOE_ROUTE_COUNTER_BYTES of tile counters). */
#ifndef MOE_ROUTE_MAP_H
#define MOE_ROUTE_MAP_H
#include <stddef.h>
#include "kernels/moe/moe.h"

#ifdef __CUDACC__
#define MOE_RM_FN static __host__ __device__ __forceinline__
#else
#define MOE_RM_FN static inline
#endif

enum {
    MOE_RV2_TOK = 32,                  /* tokens per block (one 32 x 256 logits tile) */
    MOE_RV2_BK = 64,                   /* K tile                                      */
    MOE_RV2_LDS = MOE_RV2_BK + 8,      /* bf16 row pitch of the x / Wg smem tiles     */
    MOE_RV2_LDL = MOE_N_EXPERTS + 4    /* FP32 row pitch of the logits smem tile      */
};

/* wmma operand addresses in the route_v2 shared-memory tiles, in bytes from
 * the (128-byte aligned) start of the union: x tile [TOK][LDS] bf16, then Wg
 * tile [256][LDS] bf16; the logits tile [TOK][LDL] FP32 overlays both.
 * wmma needs 256-bit aligned pointers and ldm a multiple of 8 (16-bit types)
 * or 4 (float): tests/test_moe_route_map.c checks every address used. */
MOE_RM_FN size_t moe_rv2_xs_byte(int row, int k) { return ((size_t)row * MOE_RV2_LDS + (size_t)k) * 2u; }
MOE_RM_FN size_t moe_rv2_ws_byte(int row, int k)
{
    return (size_t)MOE_RV2_TOK * MOE_RV2_LDS * 2u + ((size_t)row * MOE_RV2_LDS + (size_t)k) * 2u;
}
MOE_RM_FN size_t moe_rv2_lg_byte(int row, int col) { return ((size_t)row * MOE_RV2_LDL + (size_t)col) * 4u; }

MOE_RM_FN int moe_rv2_tiles(int t) { return (t + MOE_RV2_TOK - 1) / MOE_RV2_TOK; }

/* Bytes of one split's partial logits tile (FP32, 32 x 256). */
MOE_RM_FN size_t moe_rv2_tile_bytes(void) { return (size_t)MOE_RV2_TOK * MOE_N_EXPERTS * 4u; }

/* Number of K splits S: enough blocks to cover the SMs, at most
 * MOE_ROUTE_MAX_SPLIT and at most one per K tile; 1 when the tile counters
 * or the partials would not fit the workspace. */
MOE_RM_FN int moe_rv2_splits(int t, int hidden, int n_sm, size_t workspace_bytes)
{
    const int tiles = moe_rv2_tiles(t), nkt = hidden / MOE_RV2_BK;
    int s = n_sm / tiles;
    s = s < 1 ? 1 : (s > MOE_ROUTE_MAX_SPLIT ? MOE_ROUTE_MAX_SPLIT : s);
    s = s > nkt ? nkt : s;
    while (s > 1 && ((size_t)tiles > MOE_ROUTE_COUNTER_BYTES / 4u ||
                     MOE_ROUTE_COUNTER_BYTES + (size_t)s * tiles * moe_rv2_tile_bytes() > workspace_bytes))
        s--;
    return s;
}

/* K tiles [begin(split), begin(split + 1)) belong to split `split` of S. */
MOE_RM_FN int moe_rv2_ktile_begin(int nkt, int split, int s) { return (int)((long long)nkt * split / s); }

/* float4 index of the first element of (split, tile)'s partial tile, from the
 * start of the partial area. */
MOE_RM_FN size_t moe_rv2_partial_vec(int split, int tile, int tiles)
{
    return ((size_t)split * (size_t)tiles + (size_t)tile) * (moe_rv2_tile_bytes() / 16u);
}

#endif
