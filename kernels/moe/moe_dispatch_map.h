/* moe_dispatch_map.h - the index arithmetic of the dispatch kernels
 * (moe_dispatch_v1.cu, moe_dispatch_v2.cu) as plain functions, so that the
 * kernels and the host emulation test (tests/test_moe_dispatch_map.c) run the
 * very same code: grid size and token partition of the persistent v2 kernel,
 * the (token, 128-group) work items of its copy phase, the 16-byte vector
 * offsets, the scale addresses of both layouts, the warp ranking and the
 * row -> expert search that fills group_idx.
 * Every function is pure integer arithmetic (host: C11, device: CUDA). */
#ifndef MOE_DISPATCH_MAP_H
#define MOE_DISPATCH_MAP_H
#include <stddef.h>
#include <stdint.h>

#ifdef __CUDACC__
#define MOE_DM_FN static __host__ __device__ __forceinline__
#else
#define MOE_DM_FN static inline
#endif

#ifdef __CUDA_ARCH__
#define MOE_DM_POPC(x) __popc(x)
#else
#define MOE_DM_POPC(x) __builtin_popcount(x)
#endif

enum {
    MOE_DV2_THREADS = 1024,           /* v2 block size                       */
    MOE_DV2_TEAM = 8,                 /* lanes per (token, 128-group) item   */
    MOE_DV2_NTEAM = MOE_DV2_THREADS / MOE_DV2_TEAM,
    MOE_DV2_ELEMS = 16,               /* elements per lane per item          */
    MOE_DV2_SMEM_MAX = 32 * 1024      /* dynamic smem cap (row of each slot) */
};

/* v2 grid: one block per token up to one block per SM (co-residency of the
 * cooperative launch is checked separately against the occupancy query). */
MOE_DM_FN int moe_dv2_grid(int t, int n_sm)
{
    int g = t < n_sm ? t : n_sm;
    return g < 1 ? 1 : g;
}

/* Tokens [*tb, *te) of block b (some trailing blocks may be empty). */
MOE_DM_FN void moe_dv2_block_tokens(int t, int grid, int b, int *tb, int *te)
{
    const int tpb = (t + grid - 1) / grid;
    const int lo = b * tpb < t ? b * tpb : t;
    *tb = lo;
    *te = lo + tpb < t ? lo + tpb : t;
}

/* Dynamic shared memory of v2: the row of every slot of the block. */
MOE_DM_FN size_t moe_dv2_smem_bytes(int t, int grid, int topk)
{
    return (size_t)((t + grid - 1) / grid) * (size_t)topk * 4u;
}

/* Copy phase: item it of a block = (token tb + it / nb, group it % nb). */
MOE_DM_FN int moe_dv2_item_token(int it, int nb) { return it / nb; }
MOE_DM_FN int moe_dv2_item_group(int it, int nb) { return it % nb; }

/* First element (column) of lane tl of a team inside group g. */
MOE_DM_FN size_t moe_dv2_col(int g, int tl) { return (size_t)g * 128u + (size_t)tl * MOE_DV2_ELEMS; }

/* Shuffle mask of the team that thread tid belongs to. */
MOE_DM_FN unsigned moe_dv2_team_mask(int tid) { return 0xffu << ((tid % 32) & ~(MOE_DV2_TEAM - 1)); }

/* Element index of the scale of (row, 128-group g):
 *   contiguous: sa [nb, m_cap] (MN-major), masked: sa [E, nb, m_max]. */
MOE_DM_FN size_t moe_scale_index(int masked, int row, int g, int nb, int m_cap, int m_max)
{
    if (!masked) return (size_t)g * (size_t)m_cap + (size_t)row;
    return ((size_t)(row / m_max) * (size_t)nb + (size_t)g) * (size_t)m_max + (size_t)(row % m_max);
}

/* Warp ranking (v1 and v2): `same` = lanes holding the same expert
 * (__match_any_sync); rank = how many of them sit in lower lanes; the lowest
 * of them advances the expert's running base by popc(same). */
MOE_DM_FN int moe_rank_in_warp(unsigned same, int lane) { return MOE_DM_POPC(same & ((1u << lane) - 1u)); }
MOE_DM_FN int moe_rank_count(unsigned same) { return MOE_DM_POPC(same); }

/* group_idx[r]: the expert whose real rows contain r, -1 on padding rows and
 * rows >= offsets[E].  offsets [E + 1] ascending (padded segment starts). */
MOE_DM_FN int moe_group_of_row(const int32_t *offsets, const int32_t *counts, int e_count, int r)
{
    int lo = 0, hi = e_count; /* last e with offsets[e] <= r */
    while (hi - lo > 1) {
        int mid = (lo + hi) >> 1;
        if (offsets[mid] <= r) lo = mid;
        else hi = mid;
    }
    return (r < offsets[e_count] && r - offsets[lo] < counts[lo]) ? lo : -1;
}

/* Padded segment length. */
MOE_DM_FN int32_t moe_pad_rows(int32_t n, int align) { return (n + align - 1) / align * align; }

#undef MOE_DM_POPC
#endif
