/* test_moe_route_map.c - host checks of moe_route_v2's split-K plan and
 * shared-memory operand addresses, using the kernel's own functions
 * (kernels/moe/moe_route_map.h):
 *   - the split count S for every T of the op table and odd tails, on 132
 *     (H100/H800 SXM), 114 (H100 PCIe) and 1 SMs, against hand-computed
 *     values; the K-tile ranges of the S splits partition [0, K/64) with no
 *     empty split; the partial tiles of every (split, tile) fit the workspace
 *     the op allocates and do not overlap; the tile counters fit their area;
 *   - every wmma pointer the kernel forms (A row-major x tile, B col-major Wg
 *     tile, FP32 accumulator store into the logits tile) is 32-byte aligned
 *     and every ldm is a multiple of 8 (bf16) / 4 (float), and the logits
 *     tile fits inside the union it overlays.
 * Emulates index arithmetic only: GPU correctness is unverified here. */
#include <stdlib.h>
#include "kbtest.h"
#include "bench/kb.h"
#include "kernels/moe/moe.h"
#include "kernels/moe/moe_route_map.h"

static int check_plan(int t, int n_sm, size_t ws)
{
    const int hidden = MOE_HIDDEN, nkt = hidden / MOE_RV2_BK, tiles = moe_rv2_tiles(t);
    const int s = moe_rv2_splits(t, hidden, n_sm, ws);
    int bad = 0;
    bad += s < 1 || s > MOE_ROUTE_MAX_SPLIT || s > nkt;
    /* K tiles: split q owns [begin(q), begin(q+1)), contiguous, non-empty, covering [0, nkt). */
    bad += moe_rv2_ktile_begin(nkt, 0, s) != 0 || moe_rv2_ktile_begin(nkt, s, s) != nkt;
    for (int q = 0; q < s; q++) bad += moe_rv2_ktile_begin(nkt, q + 1, s) <= moe_rv2_ktile_begin(nkt, q, s);
    if (s > 1) {
        /* one counter per tile, partial tiles disjoint and inside the workspace */
        bad += (size_t)tiles * 4u > MOE_ROUTE_COUNTER_BYTES;
        size_t end = 0;
        for (int q = 0; q < s; q++)
            for (int tile = 0; tile < tiles; tile++) {
                size_t b0 = moe_rv2_partial_vec(q, tile, tiles) * 16u;
                bad += b0 != end; /* packed back to back: no overlap, no gap */
                end = b0 + moe_rv2_tile_bytes();
            }
        bad += MOE_ROUTE_COUNTER_BYTES + end > ws;
    }
    /* every SM busy when possible, never more splits than asked for */
    if (s < MOE_ROUTE_MAX_SPLIT && s < nkt && s > 1) bad += (long)tiles * (s + 1) <= n_sm;
    return bad;
}

static void test_split_plan(void)
{
    moe_route_args a = {0};
    const size_t ws = moe_route_workspace_bytes(&a);
    KBT_CHECK(ws == MOE_ROUTE_COUNTER_BYTES + MOE_ROUTE_PARTIAL_BYTES);
    /* hand-computed: tiles = ceil(T/32); S = clamp(132 / tiles, 1, 16) */
    KBT_CHECK(moe_rv2_tiles(128) == 4 && moe_rv2_splits(128, MOE_HIDDEN, 132, ws) == 16);  /* 64 blocks */
    KBT_CHECK(moe_rv2_tiles(512) == 16 && moe_rv2_splits(512, MOE_HIDDEN, 132, ws) == 8);  /* 128 blocks */
    KBT_CHECK(moe_rv2_tiles(40) == 2 && moe_rv2_splits(40, MOE_HIDDEN, 132, ws) == 16);
    KBT_CHECK(moe_rv2_splits(4096, MOE_HIDDEN, 132, ws) == 1);
    KBT_CHECK(moe_rv2_splits(16384, MOE_HIDDEN, 132, ws) == 1);
    KBT_CHECK(moe_rv2_splits(1, MOE_HIDDEN, 132, ws) == 16);
    KBT_CHECK(moe_rv2_splits(2048, MOE_HIDDEN, 132, ws) == 2);   /* 64 tiles */
    /* workspace too small for the partials: S drops until they fit, then to 1 */
    KBT_CHECK(moe_rv2_splits(128, MOE_HIDDEN, 132, MOE_ROUTE_COUNTER_BYTES + 4 * 4 * 32768) == 4);
    KBT_CHECK(moe_rv2_splits(128, MOE_HIDDEN, 132, 0) == 1);
    /* K ranges, hand-computed: 112 tiles in 16 splits of 7 */
    KBT_CHECK(moe_rv2_ktile_begin(112, 1, 16) == 7 && moe_rv2_ktile_begin(112, 15, 16) == 105);
    /* partial offsets in float4: (split * tiles + tile) * 2048 */
    KBT_CHECK(moe_rv2_partial_vec(3, 1, 4) == (size_t)13 * 2048);

    int bad = 0;
    const int sms[3] = {132, 114, 1};
    const kb_op *op = kb_find_op("moe_route");
    KBT_CHECK(op != NULL);
    int n = 0;
    const kb_shape *sh = op ? op->shapes(&n) : NULL;
    for (int m = 0; m < 3; m++) {
        for (int i = 0; i < n; i++) bad += check_plan((int)sh[i].d[0], sms[m], ws);
        for (int t = 1; t <= 5000; t += 7) bad += check_plan(t, sms[m], ws);
        bad += check_plan(32768 + 1, sms[m], ws);
    }
    KBT_CHECK(n > 0);
    KBT_CHECK(bad == 0);
}

static void test_wmma_addresses(void)
{
    int bad = 0;
    /* ldm: bf16 operands a multiple of 8 elements, FP32 accumulator of 4 */
    KBT_CHECK(MOE_RV2_LDS % 8 == 0);
    KBT_CHECK(MOE_RV2_LDL % 4 == 0);
    /* pointers: the kernel's fragment loads / stores, all warps, all k steps */
    for (int kk = 0; kk < MOE_RV2_BK; kk += 16)
        for (int m = 0; m < 2; m++) bad += moe_rv2_xs_byte(m * 16, kk) % 32 != 0;
    for (int warp = 0; warp < 8; warp++)
        for (int kk = 0; kk < MOE_RV2_BK; kk += 16)
            for (int nn = 0; nn < 2; nn++) bad += moe_rv2_ws_byte(warp * 32 + nn * 16, kk) % 32 != 0;
    for (int warp = 0; warp < 8; warp++)
        for (int m = 0; m < 2; m++)
            for (int nn = 0; nn < 2; nn++) bad += moe_rv2_lg_byte(m * 16, warp * 32 + nn * 16) % 32 != 0;
    /* 16-byte staging stores of the x / Wg tiles (chunk c of 8 bf16) */
    for (int r = 0; r < MOE_N_EXPERTS; r++)
        for (int c = 0; c < 8; c++) bad += moe_rv2_ws_byte(r, c * 8) % 16 != 0 || (r < 32 && moe_rv2_xs_byte(r, c * 8) % 16);
    /* float4 reads of the logits tile rows */
    for (int r = 0; r < MOE_RV2_TOK; r++) bad += moe_rv2_lg_byte(r, 0) % 16 != 0;
    KBT_CHECK(bad == 0);
    /* sizes: the GEMM tiles (41,472 B) and the logits tile (33,280 B) share
     * static shared memory below the 48 KB static limit */
    size_t gemm = moe_rv2_ws_byte(MOE_N_EXPERTS, 0), lg = moe_rv2_lg_byte(MOE_RV2_TOK, 0);
    KBT_CHECK(gemm == 41472);
    KBT_CHECK(lg == 33280);
    KBT_CHECK(gemm <= 48 * 1024 && lg <= 48 * 1024);
}

int main(void)
{
    test_split_plan();
    test_wmma_addresses();
    return kbt_done("test_moe_route_map");
}
