/* test_fp8_gemm_v3_sched.c - host-side tile scheduling of the v3 FP8 GEMM:
 * tile counts, waves and the block-size choice on 132 SMs, against numbers
 * computed by hand (in the comments).  No GPU needed. */
#include "kbtest.h"
#include <stdlib.h>
#include "kernels/fp8_gemm/fp8_gemm_v3_sched.h"

/* Simulate the persistent grid on the CPU: every CTA walks its tiles with the
 * kernel's own code (fp8_gemm_v3_next); count how often each (g, m-tile,
 * n-tile) is visited and check the tile fields.  want(g, mi) says whether the
 * m-tile must be computed.  Returns the number of tiles visited. */
static int walk_all(const fp8_gemm_v3_params *p, int grid, int m_tiles_per_group,
                    int (*want)(const fp8_gemm_v3_params *, int g, int mi))
{
    int ng = p->layout == FP8_GEMM_DENSE ? 1 : p->num_groups;
    int n = ng * m_tiles_per_group * p->n_tiles, visited = 0, bad_fields = 0;
    int *cnt = calloc((size_t)n, sizeof(int));
    for (int cta = 0; cta < grid; cta++) {
        fp8_gemm_v3_walk w;
        fp8_gemm_v3_tile t;
        fp8_gemm_v3_walk_init(&w);
        while (fp8_gemm_v3_next(p, &w, cta, grid, &t)) {
            int mi = t.m0 / p->block_m, ni = t.n0 / p->block_n;
            if (t.m0 % p->block_m || t.n0 % p->block_n || t.g < 0 || t.g >= ng || mi >= m_tiles_per_group ||
                ni >= p->n_tiles) { bad_fields++; continue; }
            int lim = p->layout == FP8_GEMM_MASKED ? p->masked_m[t.g] : p->m;
            int arow = p->layout == FP8_GEMM_MASKED ? t.g * p->m + t.m0 : t.m0;
            if (t.row_lim != lim || t.a_row != arow) bad_fields++;
            if (p->layout == FP8_GEMM_CONTIGUOUS && p->group_idx[t.m0] != t.g) bad_fields++;
            cnt[(t.g * m_tiles_per_group + mi) * p->n_tiles + ni]++;
            visited++;
        }
    }
    int wrong = 0;
    for (int g = 0; g < ng; g++)
        for (int mi = 0; mi < m_tiles_per_group; mi++)
            for (int ni = 0; ni < p->n_tiles; ni++)
                wrong += cnt[(g * m_tiles_per_group + mi) * p->n_tiles + ni] != (want(p, g, mi) ? 1 : 0);
    KBT_CHECK(bad_fields == 0);
    KBT_CHECK(wrong == 0);
    free(cnt);
    return visited;
}

static int want_all(const fp8_gemm_v3_params *p, int g, int mi) { (void)p; (void)g; (void)mi; return 1; }
static int want_contig(const fp8_gemm_v3_params *p, int g, int mi)
{
    return p->group_idx[mi * p->block_m] == g;
}
static int want_masked(const fp8_gemm_v3_params *p, int g, int mi) { return mi * p->block_m < p->masked_m[g]; }

static void test_walk(void)
{
    /* raster by hand: m_tiles = 20, n_tiles = 3, groups of 16 m-tiles:
     * idx 0 -> (0,0), 15 -> (15,0), 16 -> (0,1), 47 -> (15,2); the last group
     * has 4 m-tiles: 48 -> (16,0), 51 -> (19,0), 52 -> (16,1), 59 -> (19,2). */
    int mi, ni;
    fp8_gemm_v3_raster(0, 20, 3, &mi, &ni);  KBT_CHECK(mi == 0 && ni == 0);
    fp8_gemm_v3_raster(15, 20, 3, &mi, &ni); KBT_CHECK(mi == 15 && ni == 0);
    fp8_gemm_v3_raster(16, 20, 3, &mi, &ni); KBT_CHECK(mi == 0 && ni == 1);
    fp8_gemm_v3_raster(47, 20, 3, &mi, &ni); KBT_CHECK(mi == 15 && ni == 2);
    fp8_gemm_v3_raster(48, 20, 3, &mi, &ni); KBT_CHECK(mi == 16 && ni == 0);
    fp8_gemm_v3_raster(51, 20, 3, &mi, &ni); KBT_CHECK(mi == 19 && ni == 0);
    fp8_gemm_v3_raster(52, 20, 3, &mi, &ni); KBT_CHECK(mi == 16 && ni == 1);
    fp8_gemm_v3_raster(59, 20, 3, &mi, &ni); KBT_CHECK(mi == 19 && ni == 2);

    /* dense M=300, N=500, 128x96: 3 x 6 = 18 tiles, on 7 and on 132 CTAs;
     * M=2600 (21 m-tiles, two raster groups) x N=7168 at 128x160: 21*45 = 945. */
    fp8_gemm_v3_params p;
    memset(&p, 0, sizeof p);
    p.layout = FP8_GEMM_DENSE; p.m = 300; p.n = 500; p.num_groups = 1; p.splits = 1;
    p.block_m = 128; p.block_n = 96; p.m_tiles = 3; p.n_tiles = 6;
    KBT_CHECK(walk_all(&p, 7, 3, want_all) == 18);
    KBT_CHECK(walk_all(&p, 132, 3, want_all) == 18);
    p.m = 2600; p.n = 7168; p.block_n = 160; p.m_tiles = 21; p.n_tiles = 45;
    KBT_CHECK(walk_all(&p, 132, 21, want_all) == 945);

    /* contiguous: 512 rows, experts 0: rows [0,130) padded to 256, 1: [256,316)
     * padded to 384, 2: [384,512).  64-row tiles start at 0,64,...,448 with
     * group_idx 0,0,0,-1,1,-1,2,2: 6 m-tiles x 4 n-tiles (N=256, 64 wide) = 24. */
    int32_t gi[512];
    for (int r = 0; r < 512; r++) gi[r] = r < 130 ? 0 : r < 256 ? -1 : r < 316 ? 1 : r < 384 ? -1 : 2;
    memset(&p, 0, sizeof p);
    p.layout = FP8_GEMM_CONTIGUOUS; p.m = 512; p.n = 256; p.num_groups = 3; p.group_idx = gi; p.splits = 1;
    p.block_m = 64; p.block_n = 64; p.m_tiles = 8; p.n_tiles = 4;
    KBT_CHECK(walk_all(&p, 5, 8, want_contig) == 24);
    KBT_CHECK(walk_all(&p, 132, 8, want_contig) == 24);

    /* masked: G=4, m_max=256, masked_m = {100, 256, 0, 1}, 128x160, N=4096
     * (26 n-tiles): m-tiles 1 + 2 + 0 + 1 = 4 -> 104 tiles. */
    const int32_t mm[4] = {100, 256, 0, 1};
    memset(&p, 0, sizeof p);
    p.layout = FP8_GEMM_MASKED; p.m = 256; p.n = 4096; p.num_groups = 4; p.masked_m = mm; p.splits = 1;
    p.block_m = 128; p.block_n = 160; p.n_tiles = 26;
    KBT_CHECK(walk_all(&p, 132, 2, want_masked) == 104);
    KBT_CHECK(walk_all(&p, 5, 2, want_masked) == 104);
    KBT_CHECK(walk_all(&p, 1, 2, want_masked) == 104);
}

/* Split-K walk: every (tile, split) once, the splits' K ranges tile [0, kb).
 * M=64, N=576, 64x32 (18 tiles), K = 56 blocks in 7 splits of 8 = 126 units;
 * and 13 blocks in 4 splits: 4, 4, 4, 1. */
static void walk_split_case(int kblocks, int splits, int want_splits, int want_kbu, int grid)
{
    fp8_gemm_args a;
    fp8_gemm_v3_params p;
    static float ws[1];
    memset(&a, 0, sizeof a);
    a.layout = FP8_GEMM_DENSE; a.m = 64; a.n = 576; a.k = 128 * kblocks; a.num_groups = 1;
    KBT_CHECK(fp8_gemm_v3_params_init(&a, 64, 32, &p) == 0 && fp8_gemm_v3_params_split(&p, splits, ws) == 0);
    KBT_CHECK(p.splits == want_splits && p.kb_per_split == want_kbu && p.m_tiles == 1 && p.n_tiles == 18);
    int *kcov = calloc((size_t)18 * kblocks, sizeof(int)), units = 0, bad = 0;
    for (int cta = 0; cta < grid; cta++) {
        fp8_gemm_v3_walk w;
        fp8_gemm_v3_tile t;
        fp8_gemm_v3_walk_init(&w);
        while (fp8_gemm_v3_next(&p, &w, cta, grid, &t)) {
            units++;
            bad += t.m0 != 0 || t.n0 % 32 || t.n0 >= 576 || t.kb0 != t.split * want_kbu || t.kb1 <= t.kb0 ||
                   t.kb1 > kblocks;
            for (int kb = t.kb0; kb < t.kb1 && !bad; kb++) kcov[(t.n0 / 32) * kblocks + kb]++;
        }
    }
    int once = 1;
    for (int i = 0; i < 18 * kblocks; i++) once &= kcov[i] == 1;
    KBT_CHECK(bad == 0);
    KBT_CHECK(once);
    KBT_CHECK(units == 18 * want_splits);
    free(kcov);
}

static void test_walk_split(void)
{
    walk_split_case(56, 7, 7, 8, 132);
    walk_split_case(56, 7, 7, 8, 5);
    walk_split_case(13, 4, 4, 4, 132);
    walk_split_case(13, 4, 4, 4, 1);
    walk_split_case(9, 4, 3, 3, 7); /* ceil(9/4) = 3 per split -> 3 splits */
}

/* The decode shapes (issue 14, item 10) on 132 SMs with the operators' 32 MB
 * workspace: which config each gets and how many CTAs run, by hand.
 * tile_cost = bm*bn + 32(bm+bn): 64x16 3584, 64x32 5120, 64x64 8192,
 * 64x128 14336, 128x16 6656, 128x32 9216, 128x64 14336, 128x128 24576.
 * cost = waves * kb_per_split * tile_cost, + for splits s > 1:
 * 131072 + 0.25 (4s + 2) M N / 132.  K = 7168 is 56 blocks: splits of >= 8
 * blocks are s = 2..7. */
static void expect(int m, int n, int k, int bm, int bn, int splits, int ctas, double cost)
{
    fp8_gemm_v3_cfg c;
    KBT_CHECK(fp8_gemm_v3_choose_k(FP8_GEMM_DENSE, m, n, k, 1, NULL, 132, (size_t)32 << 20, &c) == 0);
    KBT_CHECK(c.block_m == bm && c.block_n == bn && c.splits == splits && c.grid == ctas);
    KBT_NEAR(c.cost, cost, 1e-9);
    printf("decode M=%d N=%d K=%d: %dx%d, split-K %d, %d CTAs (cost %.1f)\n", m, n, k, c.block_m, c.block_n, c.splits,
           c.grid, c.cost);
}

static void test_decode(void)
{
    /* M=64, N=576: unsplit 64x16 = 36 tiles, 56 * 3584 = 200704.  64x32 x 7
     * splits = 126 units in one wave: 8 * 5120 + 131072 + 0.25*30*36864/132
     * (= 2094.545) = 174126.545; the runners-up: 64x32 x 6 (108 units)
     * 51200 + 131072 + 1815.27 = 184087.3, 64x16 x 7 (252 units, 2 waves)
     * 2*8*3584 + 131072 + 2094.5 = 190510.5, 64x64 x 7 (63) 198702.5. */
    expect(64, 576, 7168, 64, 32, 7, 126, 40960 + 131072 + 276480.0 / 132);
    /* M=1: the same tile, the reduce moves 64x fewer bytes: 0.25*30*576/132 */
    expect(1, 576, 7168, 64, 32, 7, 126, 40960 + 131072 + 4320.0 / 132);
    /* N=2112: 64x16 is 132 tiles, one full wave, 200704; the best split
     * (64x64 x 4 = 132 units) is 14*8192 + 131072 + 0.25*18*135168/132 = 250368. */
    expect(64, 2112, 7168, 64, 16, 1, 132, 200704);
    expect(1, 2112, 7168, 64, 16, 1, 132, 200704);
    /* N=4096: 64x32 = 128 tiles, 56 * 5120 = 286720 (64x64 x 2: 128 units,
     * 229376 + 131072 + 4964.8 = 365412.8). */
    expect(64, 4096, 7168, 64, 32, 1, 128, 286720);
    expect(1, 4096, 7168, 64, 32, 1, 128, 286720);
    /* N=7168, K=16384 (128 blocks): unsplit, 64x64 = 112 tiles leaves 20 SMs
     * idle: 128 * 8192 = 1048576.  Splitting fixes the wave quantisation:
     * 64x128 (56 tiles) x 7 splits of 19 blocks (6 x 19 + 14) = 392 units,
     * 3 waves of 132 (99%): 3 * 19 * 14336 = 817152, + 131072 + 0.25*30*458752
     * /132 (26065.45) = 974289.45; runner-up 64x128 x 16 splits of 8 = 896
     * units, 7 waves: 7 * 8 * 14336 + 131072 + 0.25*66*458752/132 = 991232.
     * At M=1 the reduce is nearly free and the order flips: x 16 = 802816 +
     * 131072 + 0.25*66*7168/132 (896) = 934784 against x 7 = 948631.3. */
    expect(64, 7168, 16384, 64, 128, 7, 132, 817152 + 131072 + 3440640.0 / 132);
    expect(1, 7168, 16384, 64, 128, 16, 132, 934784);
    /* N=7168, K=2048 (16 blocks): only 2 splits of 8 are allowed; 64x64, 16 * 8192. */
    expect(64, 7168, 2048, 64, 64, 1, 112, 131072);
    /* M=128 (two 64-row tiles or one 128-row tile):
     * N=576: 64x16 = 72 tiles, 200704 (64x64 x 7 = 126 units: 65536 + 131072
     *   + 0.25*30*73728/132 (4189.1) = 200797.1, just above);
     * N=2112: 64x32 = 132 tiles, 286720 (128x16: 132 tiles, 56 * 6656 = 372736);
     * N=4096: 64x64 = 128 tiles, 458752 (128x32: 128 tiles, 516096);
     * N=7168, K=16384: 128x128 (56 tiles) x 7 splits = 392 units, 3 waves:
     *   3 * 19 * 24576 = 1400832, + 131072 + 0.25*30*917504/132 (52130.9)
     *   = 1584034.9 (unsplit best: 128x64, 112 tiles, 128 * 14336 = 1835008).
     * The winners and runners-up above were cross-checked during development
     * by a brute-force Python enumeration of the same model. */
    expect(128, 576, 7168, 64, 16, 1, 72, 200704);
    expect(128, 2112, 7168, 64, 32, 1, 132, 286720);
    expect(128, 4096, 7168, 64, 64, 1, 128, 458752);
    expect(128, 7168, 16384, 128, 128, 7, 132, 1400832 + 131072 + 6881280.0 / 132);

    /* Workspace limits: none -> no split (M=64, N=576: 64x16, 36 CTAs, 200704);
     * 1,000,000 B: 7 splits of 64x576 FP32 need 1032192 B, 6 need 884736:
     * 64x32 x 6 = 108 units, 10 * 5120 + 131072 + 0.25*26*36864/132. */
    fp8_gemm_v3_cfg c;
    KBT_CHECK(fp8_gemm_v3_choose_k(FP8_GEMM_DENSE, 64, 576, 7168, 1, NULL, 132, 0, &c) == 0);
    KBT_CHECK(c.block_m == 64 && c.block_n == 16 && c.splits == 1 && c.grid == 36 && c.ws_bytes == 0);
    KBT_CHECK(fp8_gemm_v3_choose_k(FP8_GEMM_DENSE, 64, 576, 7168, 1, NULL, 132, 1000000, &c) == 0);
    KBT_CHECK(c.block_m == 64 && c.block_n == 32 && c.splits == 6 && c.grid == 108 && c.ws_bytes == 884736);
    KBT_NEAR(c.cost, 51200 + 131072 + 239616.0 / 132, 1e-9);
    /* grouped layouts never split */
    const int32_t mm[2] = {1, 1};
    KBT_CHECK(fp8_gemm_v3_choose_k(FP8_GEMM_MASKED, 64, 576, 7168, 2, mm, 132, (size_t)32 << 20, &c) == 0);
    KBT_CHECK(c.splits == 1);
    KBT_CHECK(fp8_gemm_v3_eval_k(FP8_GEMM_MASKED, 64, 576, 7168, 2, mm, 132, 64, 32, 2, &c) == -1);
    /* effective splits: 56 blocks asked in 9 -> ceil(56/9) = 7 per split -> 8 splits */
    KBT_CHECK(fp8_gemm_v3_eval_k(FP8_GEMM_DENSE, 64, 576, 7168, 1, NULL, 132, 64, 32, 9, &c) == 0);
    KBT_CHECK(c.splits == 8 && c.kb_per_split == 7 && c.units == 144 && c.waves == 2 && c.grid == 132);
    KBT_CHECK(fp8_gemm_v3_eval_k(FP8_GEMM_DENSE, 64, 576, 7000, 1, NULL, 132, 64, 32, 1, &c) == -1); /* K % 128 */
}

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

    /* M=1, N=576 (per K block, no split): 64x16 -> 36 tiles, cost 3584 (64x32:
     * 18 tiles, 5120; 64x64: 9 tiles, 8192), grid 36 (never more CTAs than tiles). */
    KBT_CHECK(fp8_gemm_v3_choose(FP8_GEMM_DENSE, 1, 576, 1, NULL, 132, &c) == 0);
    KBT_CHECK(c.block_m == 64 && c.block_n == 16 && c.tiles == 36 && c.grid == 36 && c.splits == 1);
    KBT_NEAR(c.cost, 3584, 0);

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
    test_walk();
    test_walk_split();
    test_decode();
    return kbt_done("test_fp8_gemm_v3_sched");
}
