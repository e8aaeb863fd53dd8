/* test_fp8_gemm_v3_sched.c - host-side tile scheduling of the v3 FP8 GEMM:
 * tile counts, waves and the block-size choice on 132 SMs, against numbers
 * computed by hand (in the comments).  No GPU needed. */
#include "kbtest.h"
#include "fp8_gemm/fp8_gemm_v3_sched.h"

int main(void)
{
    fp8_gemm_v3_cfg c;

    /* tile cost = bm*bn + 32*(bm+bn) */
    KBT_NEAR(fp8_gemm_v3_tile_cost(128, 160), 20480 + 32 * 288, 0);
    KBT_NEAR(fp8_gemm_v3_tile_cost(64, 64), 4096 + 4096, 0);

    /* M=4096, N=7168 dense, 132 SMs.
     * 128x128: 32 * 56 = 1792 tiles = 13.58 waves -> 14.
     * 128x160: 32 * ceil(44.8)=45 -> 1440 tiles = 10.91 waves -> 11, cost 11 * 29696 = 326656.
     * 64x64: 64 * 112 = 7168 tiles = 54.3 -> 55 waves. */
    KBT_CHECK(fp8_gemm_v3_eval(FP8_GEMM_DENSE, 4096, 7168, 1, NULL, 132, 128, 128, &c) == 0);
    KBT_CHECK(c.m_tiles == 32 && c.n_tiles == 56 && c.tiles == 1792 && c.waves == 14 && c.grid == 132);
    KBT_CHECK(fp8_gemm_v3_eval(FP8_GEMM_DENSE, 4096, 7168, 1, NULL, 132, 64, 64, &c) == 0);
    KBT_CHECK(c.tiles == 7168 && c.waves == 55);
    KBT_CHECK(fp8_gemm_v3_choose(FP8_GEMM_DENSE, 4096, 7168, 1, NULL, 132, &c) == 0);
    KBT_CHECK(c.block_m == 128 && c.block_n == 160);
    KBT_CHECK(c.n_tiles == 45 && c.tiles == 1440 && c.waves == 11 && c.grid == 132);
    KBT_NEAR(c.cost, 326656, 0);

    /* M=64, N=7168 (memory-bound): 64x64 = 112 tiles, one wave, cost 8192,
     * cheapest of all (64x96: 75 tiles, cost 11264). Grid = 112 CTAs. */
    KBT_CHECK(fp8_gemm_v3_choose(FP8_GEMM_DENSE, 64, 7168, 1, NULL, 132, &c) == 0);
    KBT_CHECK(c.block_m == 64 && c.block_n == 64 && c.tiles == 112 && c.waves == 1 && c.grid == 112);

    /* M=128, N=7168: 64x128 (2*56 tiles) and 128x64 (1*112 tiles) both cost
     * 8192 + 6144 = 14336 in one wave: the tie goes to the larger block_m. */
    KBT_CHECK(fp8_gemm_v3_choose(FP8_GEMM_DENSE, 128, 7168, 1, NULL, 132, &c) == 0);
    KBT_CHECK(c.block_m == 128 && c.block_n == 64 && c.tiles == 112);

    /* M=1, N=576: 64x64 -> 9 tiles, grid 9 (never more CTAs than tiles). */
    KBT_CHECK(fp8_gemm_v3_choose(FP8_GEMM_DENSE, 1, 576, 1, NULL, 132, &c) == 0);
    KBT_CHECK(c.block_m == 64 && c.block_n == 64 && c.tiles == 9 && c.grid == 9);

    /* Contiguous, 4 experts x 8192 rows, N=4096, 128x128: 256 * 32 = 8192 tiles,
     * 62.06 -> 63 waves. */
    KBT_CHECK(fp8_gemm_v3_eval(FP8_GEMM_CONTIGUOUS, 32768, 4096, 4, NULL, 132, 128, 128, &c) == 0);
    KBT_CHECK(c.m_tiles == 256 && c.tiles == 8192 && c.waves == 63 && c.grid == 132);

    /* Masked, G=4, m_max=256, masked_m = {100, 256, 0, 1}, N=4096, 64x128:
     * m tiles 2+4+0+1 = 7, n tiles 32 -> 224 tiles, 2 waves; the grid bound
     * uses m_max: 4*4*32 = 512 > 132 -> 132.  Without the host copy every
     * group counts 4 m tiles: 16. */
    {
        const int32_t mm[4] = {100, 256, 0, 1};
        KBT_CHECK(fp8_gemm_v3_eval(FP8_GEMM_MASKED, 256, 4096, 4, mm, 132, 64, 128, &c) == 0);
        KBT_CHECK(c.m_tiles == 7 && c.n_tiles == 32 && c.tiles == 224 && c.waves == 2 && c.grid == 132);
        KBT_CHECK(fp8_gemm_v3_eval(FP8_GEMM_MASKED, 256, 4096, 4, NULL, 132, 64, 128, &c) == 0);
        KBT_CHECK(c.m_tiles == 16 && c.tiles == 512 && c.waves == 4);
        /* 128x160 on G=1, masked_m = {1}: 1 * 26 tiles, grid bound 2*26 = 52. */
        KBT_CHECK(fp8_gemm_v3_eval(FP8_GEMM_MASKED, 256, 4096, 1, mm + 3, 132, 128, 160, &c) == 0);
        KBT_CHECK(c.tiles == 26 && c.waves == 1 && c.grid == 52);
    }

    /* Bad arguments. */
    KBT_CHECK(fp8_gemm_v3_eval(FP8_GEMM_DENSE, 0, 7168, 1, NULL, 132, 128, 128, &c) == -1);
    KBT_CHECK(fp8_gemm_v3_eval(FP8_GEMM_DENSE, 64, 7168, 1, NULL, 0, 128, 128, &c) == -1);
    KBT_CHECK(fp8_gemm_v3_choose(FP8_GEMM_DENSE, 64, 7168, 1, NULL, 132, NULL) == -1);
    KBT_CHECK(fp8_gemm_v3_choose((fp8_gemm_layout)7, 64, 7168, 1, NULL, 132, &c) == -1);

    /* Every choice is a compiled pair. */
    KBT_CHECK(fp8_gemm_v3_choose(FP8_GEMM_DENSE, 4096, 24576, 1, NULL, 132, &c) == 0);
    KBT_CHECK(c.block_m == 128 && c.block_n == 160 && c.waves == 38); /* 32*154=4928 tiles, 37.3 -> 38 */
    return kbt_done("test_fp8_gemm_v3_sched");
}
