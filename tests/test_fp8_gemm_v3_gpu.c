/* test_fp8_gemm_v3_gpu.c - runs the v3 FP8 GEMM (every compiled tile size and
 * the automatic choice) on dense / contiguous / masked shapes and checks the
 * BF16 output against a CPU computation written here (E4M3 decoded with
 * kb_e4m3_to_f32, block-scaled sums in double).  Masked rows past masked_m
 * must keep their poison.
 *
 * Small shapes (K <= 384, <= 20 tiles) check edges and tails but never wrap
 * the stage ring nor give a CTA a second tile; the pipeline cases
 * (M=2048, N=4096, K=2560: 20 K blocks, dense, contiguous, masked) do both for
 * every tile configuration: K/128 > stages (at most 16) and every CTA of the
 * persistent grid walks >= 2 tiles, so a stage is refilled within a tile and
 * the ring's phase carries from one tile into the next.  Their reference is
 * computed on a seeded sample of rows (one per 16-row block, all columns:
 * every tile is checked).  Those two properties are asserted first, on the
 * host, with the kernel's own stage count (fp8_v3_stages) and tile walk
 * (fp8_gemm_v3_next) at 132 SMs, so they are checked without a GPU too;
 * then SKIP (77) without a Hopper GPU.
 *
 * Split-K (decode shapes): forced splits on the narrow and a wide tile, the
 * last split shorter than the others, and the automatic choice for
 * M=64, N=576, K=7168 (64x32 x 7 splits on 132 SMs: test_fp8_gemm_v3_sched.c),
 * with the FP32 partials in a workspace and the reduce kernel after. */
#include <stdlib.h>
#include <cuda_runtime_api.h>
#include "kbtest_gpu.h"
#include "bench/kb.h"
#include "kernels/fp8_gemm/fp8_gemm_v3.h"
#include "kernels/fp8_gemm/fp8_gemm_v3_map.h"

#define NCFG (FP8_GEMM_V3_N_BM * FP8_GEMM_V3_N_BN + 1)

static kb_rng rng;

static void fill_e4m3(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = kb_f32_to_e4m3((float)(1.5 * kb_rng_normal(&rng)));
}
static void fill_scale(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = (float)(0.25 + kb_rng_uniform(&rng));
}

/* One problem: host copies, device copies, reference. */
typedef struct prob {
    fp8_gemm_args a;
    int rows_a, rows_b, nb;      /* rows of A, of B (G*N), ceil(N/128) */
    size_t n_sa, n_sb, n_d;
    uint8_t *ha, *hb;
    float *hsa, *hsb;
    int32_t *hgi, *hmm;
    double *ref;                 /* [rows_a, N]; NaN where not checked */
    uint8_t *dead;               /* [rows_a]: masked rows past masked_m (must keep the poison) */
} prob;

static void *dev_copy(const void *h, size_t bytes)
{
    void *d = NULL;
    if (cudaMalloc(&d, bytes) != cudaSuccess) return NULL;
    cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice);
    return d;
}

static void prob_reference(prob *p, int row_step);

/* row_step: reference rows (see row_sampled). */
static void prob_init(prob *p, fp8_gemm_layout layout, int m, int n, int k, int g, const int32_t *gi,
                      const int32_t *mm, int row_step)
{
    memset(p, 0, sizeof *p);
    int kb = k / 128;
    p->nb = (n + 127) / 128;
    p->rows_a = layout == FP8_GEMM_MASKED ? g * m : m;
    p->rows_b = g * n;
    p->n_sa = (size_t)kb * p->rows_a;
    p->n_sb = (size_t)g * p->nb * kb;
    p->n_d = (size_t)p->rows_a * n;
    p->ha = malloc((size_t)p->rows_a * k);
    p->hb = malloc((size_t)p->rows_b * k);
    p->hsa = malloc(p->n_sa * sizeof(float));
    p->hsb = malloc(p->n_sb * sizeof(float));
    p->ref = malloc(p->n_d * sizeof(double));
    p->dead = calloc((size_t)p->rows_a, 1);
    fill_e4m3(p->ha, (size_t)p->rows_a * k);
    fill_e4m3(p->hb, (size_t)p->rows_b * k);
    fill_scale(p->hsa, p->n_sa);
    fill_scale(p->hsb, p->n_sb);

    fp8_gemm_args *a = &p->a;
    a->layout = layout;
    a->m = m;
    a->n = n;
    a->k = k;
    a->num_groups = g;
    a->a = dev_copy(p->ha, (size_t)p->rows_a * k);
    a->b = dev_copy(p->hb, (size_t)p->rows_b * k);
    a->sa = dev_copy(p->hsa, p->n_sa * sizeof(float));
    a->sb = dev_copy(p->hsb, p->n_sb * sizeof(float));
    cudaMalloc((void **)&a->d, p->n_d * 2);
    if (gi) {
        p->hgi = malloc((size_t)m * sizeof(int32_t));
        memcpy(p->hgi, gi, (size_t)m * sizeof(int32_t));
        a->group_idx = dev_copy(gi, (size_t)m * sizeof(int32_t));
    }
    if (mm) {
        p->hmm = malloc((size_t)g * sizeof(int32_t));
        memcpy(p->hmm, mm, (size_t)g * sizeof(int32_t));
        a->masked_m = dev_copy(mm, (size_t)g * sizeof(int32_t));
        a->masked_m_host = p->hmm;
    }

    prob_reference(p, row_step);
}

/* Reference rows: every row (row_step 1), else one seeded row per row_step block. */
static int row_sampled(int r, int row_step)
{
    if (row_step <= 1) return 1;
    uint64_t h = ((uint64_t)(r / row_step) + 1) * 0x9E3779B97F4A7C15ull;
    return r % row_step == (int)((h >> 33) % (uint64_t)row_step);
}

/* D[r, j] = sum_kb sa * sb * sum_k A*B, in double, on the sampled rows. */
static void prob_reference(prob *p, int row_step)
{
    const fp8_gemm_args *a = &p->a;
    const int m = a->m, n = a->n, k = a->k, kb = k / 128;
    float lut[256];
    for (int i = 0; i < 256; i++) lut[i] = kb_e4m3_to_f32((uint8_t)i);
    for (int r = 0; r < p->rows_a; r++) {
        int grp = 0, row = r; /* group, row index within the group's sa */
        const float *sa = p->hsa;
        int ld_sa = p->rows_a;
        if (a->layout == FP8_GEMM_CONTIGUOUS) grp = p->hgi[r];
        if (a->layout == FP8_GEMM_MASKED) {
            grp = r / m;
            row = r % m;
            sa = p->hsa + (size_t)grp * kb * m;
            ld_sa = m;
        }
        p->dead[r] = a->layout == FP8_GEMM_MASKED && row >= p->hmm[grp];
        for (int j = 0; j < n; j++) {
            double *out = &p->ref[(size_t)r * n + j];
            *out = NAN;
            if (grp < 0 || p->dead[r] || !row_sampled(r, row_step)) continue;
            const uint8_t *ar = p->ha + (size_t)r * k;
            const uint8_t *br = p->hb + ((size_t)grp * n + j) * k;
            double s = 0;
            for (int b = 0; b < kb; b++) {
                double blk = 0;
                for (int q = b * 128; q < b * 128 + 128; q++) blk += (double)lut[ar[q]] * lut[br[q]];
                s += blk * sa[(size_t)b * ld_sa + row] * p->hsb[((size_t)grp * p->nb + j / 128) * kb + b];
            }
            *out = s;
        }
    }
}

static void prob_free(prob *p)
{
    cudaFree((void *)p->a.a); cudaFree((void *)p->a.b); cudaFree((void *)p->a.sa); cudaFree((void *)p->a.sb);
    cudaFree(p->a.d); cudaFree((void *)p->a.group_idx); cudaFree((void *)p->a.masked_m);
    free(p->ha); free(p->hb); free(p->hsa); free(p->hsb); free(p->hgi); free(p->hmm); free(p->ref); free(p->dead);
}

/* Run with one tile config (bm = bn = 0: automatic) and `splits` K splits
 * (1: none) and check.  Returns KB_SKIP if the launcher skipped. */
static kb_status run_check_split(prob *p, int bm, int bn, int splits, const char *what)
{
    uint16_t *h = malloc(p->n_d * 2);
    double *got = malloc(p->n_d * sizeof(double)), *want = malloc(p->n_d * sizeof(double));
    cudaMemset(p->a.d, 0xFF, p->n_d * 2);
    kb_status st = splits > 1 ? fp8_gemm_v3_run_split(&p->a, 0, bm, bn, splits) : fp8_gemm_v3_run(&p->a, 0, bm, bn);
    if (st == KB_SKIP) { printf("skip %s: %s\n", what, kb_last_message()); goto out; }
    if (st != KB_OK) { printf("FAIL %s %dx%d: %s\n", what, bm, bn, kb_last_message()); KBT_CHECK(st == KB_OK); goto out; }
    cudaError_t e = cudaDeviceSynchronize();
    if (e != cudaSuccess) { printf("FAIL %s %dx%d: %s\n", what, bm, bn, cudaGetErrorString(e)); KBT_CHECK(e == cudaSuccess); st = KB_FAIL; goto out; }
    cudaMemcpy(h, p->a.d, p->n_d * 2, cudaMemcpyDeviceToHost);
    size_t nc = 0, untouched_bad = 0;
    for (size_t i = 0; i < p->n_d; i++) {
        if (p->dead[i / (size_t)p->a.n]) { /* masked rows past masked_m keep the poison */
            untouched_bad += h[i] != 0xFFFF;
            continue;
        }
        if (isnan(p->ref[i])) continue; /* not checked */
        got[nc] = kb_bf16_to_f32(h[i]);
        want[nc] = p->ref[i];
        nc++;
    }
    double diff = kb_diff_deepgemm(got, want, nc);
    double mae = kb_max_abs_err(got, want, nc), amax = 0;
    for (size_t i = 0; i < nc; i++) amax = fabs(want[i]) > amax ? fabs(want[i]) : amax;
    printf("%-8s block %3dx%-3d split %2d: diff %.3e max_abs_err %.3e (|ref| max %.3e), %zu masked rows written\n",
           what, bm, bn, splits, diff, mae, amax, untouched_bad);
    KBT_CHECK(diff < 1e-4);            /* NaN (poison left in a checked element) fails */
    KBT_CHECK(mae <= 1e-2 * amax);     /* BF16 rounding is 2^-9 relative */
    KBT_CHECK(untouched_bad == 0);
out:
    free(h); free(got); free(want);
    return st;
}

static kb_status run_check(prob *p, int bm, int bn, const char *what) { return run_check_split(p, bm, bn, 1, what); }

static int run_all(prob *p, const char *what)
{
    for (int i = 0; i < NCFG; i++) {
        int bm = 0, bn = 0;
        if (i < NCFG - 1) { bm = fp8_gemm_v3_block_ms[i / FP8_GEMM_V3_N_BN]; bn = fp8_gemm_v3_block_ns[i % FP8_GEMM_V3_N_BN]; }
        if (run_check(p, bm, bn, what) == KB_SKIP) return 1;
    }
    return 0;
}

/* ---- pipeline cases: the stage ring wraps, every CTA walks several tiles ---------- */
#define PIPE_M 2048
#define PIPE_N 4096
#define PIPE_K 2560 /* 20 K blocks: more than the stages of any tile (at most 8) */
#define PIPE_G 4
#define PIPE_ROW_STEP 16
#define H200_SMS 132
/* contiguous: valid rows per expert, each segment padded to 128 with -1 rows (sum 2048) */
static const int32_t pipe_seg[PIPE_G] = {500, 1000, 300, 128};
/* masked: valid rows per group of m_max = 512 (full, one row past a 128 tile, empty, partial) */
static const int32_t pipe_mm[PIPE_G] = {512, 385, 0, 300};

typedef struct pipe_case { const char *what; fp8_gemm_layout layout; int m, g; } pipe_case;
static const pipe_case pipe_cases[] = {
    {"dense", FP8_GEMM_DENSE, PIPE_M, 1},
    {"contig", FP8_GEMM_CONTIGUOUS, PIPE_M, PIPE_G},
    {"masked", FP8_GEMM_MASKED, PIPE_M / PIPE_G, PIPE_G},
};
#define N_PIPE ((int)(sizeof pipe_cases / sizeof pipe_cases[0]))

static void pipe_group_idx(int32_t *gi)
{
    int r = 0;
    for (int g = 0; g < PIPE_G; g++) {
        int padded = (pipe_seg[g] + 127) / 128 * 128;
        for (int i = 0; i < padded; i++) gi[r++] = i < pipe_seg[g] ? g : -1;
    }
}

/* Tiles of the walk of CTA `cta` (the kernel's own fp8_gemm_v3_next). */
static int cta_tiles(const fp8_gemm_v3_params *p, int cta, int grid)
{
    fp8_gemm_v3_walk w;
    fp8_gemm_v3_tile t;
    int n = 0;
    fp8_gemm_v3_walk_init(&w);
    while (fp8_gemm_v3_next(p, &w, cta, grid, &t)) n++;
    return n;
}

/* For every tile configuration on num_sms SMs: K/128 > stages, more tiles
 * than CTAs and every CTA of the grid walks at least two tiles. */
static void check_pipe_case(const pipe_case *c, int num_sms)
{
    static int32_t gi[PIPE_M];
    pipe_group_idx(gi);
    fp8_gemm_args a = {.layout = c->layout, .m = c->m, .n = PIPE_N, .k = PIPE_K, .num_groups = c->g,
                       .group_idx = gi, .masked_m = pipe_mm, .masked_m_host = pipe_mm};
    const int32_t *mmh = c->layout == FP8_GEMM_MASKED ? pipe_mm : NULL;
    for (int i = 0; i < FP8_GEMM_V3_N_BM * FP8_GEMM_V3_N_BN; i++) {
        int bm = fp8_gemm_v3_block_ms[i / FP8_GEMM_V3_N_BN], bn = fp8_gemm_v3_block_ns[i % FP8_GEMM_V3_N_BN];
        fp8_gemm_v3_cfg cfg;
        fp8_gemm_v3_params p;
        KBT_CHECK(fp8_gemm_v3_eval(c->layout, c->m, PIPE_N, c->g, mmh, num_sms, bm, bn, &cfg) == 0);
        KBT_CHECK(fp8_gemm_v3_params_init(&a, bm, bn, &p) == 0);
        int lo = 1 << 30, total = 0;
        for (int cta = 0; cta < cfg.grid; cta++) {
            int n = cta_tiles(&p, cta, cfg.grid);
            total += n;
            lo = n < lo ? n : lo;
        }
        KBT_CHECK(PIPE_K / 128 > fp8_v3_stages(bm, bn)); /* the ring wraps inside one tile */
        KBT_CHECK(cfg.grid == num_sms && total > num_sms);
        KBT_CHECK(lo >= 2); /* every CTA takes a second tile */
        if (!(PIPE_K / 128 > fp8_v3_stages(bm, bn)) || lo < 2)
            printf("  %s %dx%d: %d K blocks, %d stages, %d tiles on %d CTAs, fewest per CTA %d\n", c->what, bm, bn,
                   PIPE_K / 128, fp8_v3_stages(bm, bn), total, cfg.grid, lo);
    }
    fp8_gemm_v3_cfg pick;
    KBT_CHECK(fp8_gemm_v3_choose(c->layout, c->m, PIPE_N, c->g, mmh, num_sms, &pick) == 0);
    printf("pipeline %-6s on %d SMs: automatic choice %dx%d, %lld tiles\n", c->what, num_sms, pick.block_m,
           pick.block_n, (long long)pick.tiles);
}

/* Run every tile configuration on one pipeline case (sampled reference). */
static int run_pipe_case(const pipe_case *c)
{
    static int32_t gi[PIPE_M];
    pipe_group_idx(gi);
    prob p;
    prob_init(&p, c->layout, c->m, PIPE_N, PIPE_K, c->g, c->layout == FP8_GEMM_CONTIGUOUS ? gi : NULL,
              c->layout == FP8_GEMM_MASKED ? pipe_mm : NULL, PIPE_ROW_STEP);
    char what[32];
    snprintf(what, sizeof what, "%s-k%d", c->what, PIPE_K);
    int skipped = run_all(&p, what);
    prob_free(&p);
    return skipped;
}

/* ---- the GPU cases, each an item of a forked sequence (tests/kbtest_gpu.h) ---- */
static void case_dense_tails(void)
{
    /* dense: M tail (200), N not a multiple of 128 (320: sb blocks straddled
     * by 96/160-wide tiles), 3 K blocks */
    prob p;
    prob_init(&p, FP8_GEMM_DENSE, 200, 320, 384, 1, NULL, NULL, 1);
    int skipped = run_all(&p, "dense");
    prob_free(&p);
    if (skipped) kbt_child_skip();
}

static void case_dense_decode(void)
{
    /* dense decode-like: M = 1 */
    prob p;
    prob_init(&p, FP8_GEMM_DENSE, 1, 576, 256, 1, NULL, NULL, 1);
    run_check(&p, 0, 0, "dense");
    run_check(&p, 128, 160, "dense");
    prob_free(&p);
}

static void case_split(void)
{
    /* split-K: M = 33, N = 576, 20 K blocks; splits 2 (10+10), 3 (7+7+6),
     * 7 (3 x 6 + 2), 20 (one block each); partials in a 32 MB workspace */
    prob p;
    prob_init(&p, FP8_GEMM_DENSE, 33, 576, 2560, 1, NULL, NULL, 1);
    const size_t ws_bytes = (size_t)32 << 20;
    KBT_CHECK(cudaMalloc(&p.a.workspace, ws_bytes) == cudaSuccess);
    p.a.workspace_bytes = ws_bytes;
    static const int bms[4] = {64, 64, 128, 64}, bns[4] = {16, 32, 64, 160}, sp[4] = {2, 3, 7, 20};
    for (int t = 0; t < 4; t++)
        for (int q = 0; q < 4; q++)
            if (run_check_split(&p, bms[t], bns[t], sp[q], "split") == KB_SKIP) kbt_child_skip();
    cudaFree(p.a.workspace);
    prob_free(&p);
}

static void case_split_auto(void)
{
    /* the decode shape M=64, N=576, K=7168 with the automatic choice (on 132
     * SMs: 64x32 x 7 splits), and the same without a workspace (no split) */
    prob p;
    prob_init(&p, FP8_GEMM_DENSE, 64, 576, 7168, 1, NULL, NULL, 1);
    const size_t ws_bytes = (size_t)32 << 20;
    KBT_CHECK(cudaMalloc(&p.a.workspace, ws_bytes) == cudaSuccess);
    p.a.workspace_bytes = ws_bytes;
    fp8_gemm_args *a = &p.a;
    a->chosen = (fp8_gemm_choice){0};
    KBT_CHECK(fp8_gemm_v3(a, 0) == KB_OK && cudaDeviceSynchronize() == cudaSuccess);
    printf("auto M=64 N=576 K=7168: %dx%d, %d stages, split-K %d, %d CTAs\n", a->chosen.block_m, a->chosen.block_n,
           a->chosen.stages, a->chosen.splits, a->chosen.ctas);
    KBT_CHECK(a->chosen.splits > 1);
    run_check(&p, 0, 0, "decode");
    cudaFree(p.a.workspace);
    p.a.workspace = NULL;
    p.a.workspace_bytes = 0;
    run_check(&p, 0, 0, "decode-nows");
    prob_free(&p);
}

static void case_contig(void)
{
    /* contiguous: 3 experts, segments of 130, 60, 128 rows padded to 256, 128, 128 */
    int32_t gi[512];
    for (int r = 0; r < 512; r++) gi[r] = r < 130 ? 0 : r < 256 ? -1 : r < 316 ? 1 : r < 384 ? -1 : 2;
    prob p;
    prob_init(&p, FP8_GEMM_CONTIGUOUS, 512, 256, 256, 3, gi, NULL, 1);
    run_all(&p, "contig");
    prob_free(&p);
}

static void case_masked(void)
{
    /* masked: 3 groups of m_max 192, valid rows 5, 192, 0; N=192 */
    const int32_t mm[3] = {5, 192, 0};
    prob p;
    prob_init(&p, FP8_GEMM_MASKED, 192, 192, 256, 3, NULL, mm, 1);
    run_all(&p, "masked");
    prob_free(&p);
}

static void case_entry_point(void)
{
    /* the kb_launch_fn entry points check the layout */
    fp8_gemm_args a;
    memset(&a, 0, sizeof a);
    a.layout = FP8_GEMM_MASKED;
    KBT_CHECK(fp8_gemm_v3(&a, 0) == KB_SKIP);
}

/* items: the four small cases, the pipeline cases (K = 2560 over 20 K blocks,
 * several tiles per CTA, every tile config), the entry-point check */
static void gpu_item(void *arg, int i)
{
    (void)arg;
    kb_rng_seed(&rng, 20261124 + (uint64_t)i);
    static void (*const small[])(void) = {case_dense_tails, case_dense_decode, case_contig, case_masked, case_split,
                                          case_split_auto};
    const int n_small = (int)(sizeof small / sizeof small[0]);
    if (i < n_small) small[i]();
    else if (i < n_small + N_PIPE) run_pipe_case(&pipe_cases[i - n_small]);
    else case_entry_point();
}
#define N_GPU_ITEMS (6 + N_PIPE + 1)

int main(void)
{
    /* host: the pipeline cases wrap the ring and give every CTA several tiles */
    for (int i = 0; i < N_PIPE; i++) check_pipe_case(&pipe_cases[i], H200_SMS);
    kbt_gpu g = kbt_gpu_probe();
    if (g.count == 0) {
        printf("test_fp8_gemm_v3_gpu: no GPU, GPU part skipped\n");
        return kbt_fail_ ? kbt_done("test_fp8_gemm_v3_gpu") : KBT_SKIP;
    }
    if (g.major != 9) {
        printf("test_fp8_gemm_v3_gpu: needs sm_90 (Hopper), device is sm_%d0: GPU part skipped\n", g.major);
        return kbt_fail_ ? kbt_done("test_fp8_gemm_v3_gpu") : KBT_SKIP;
    }
    if (g.sms != H200_SMS)
        for (int i = 0; i < N_PIPE; i++) check_pipe_case(&pipe_cases[i], g.sms);
    const kbt_seq q = {.what = "fp8_gemm_v3", .item = gpu_item};
    if (kbt_isolated_seq(&q, NULL, N_GPU_ITEMS, 45) == KBT_SKIP && !kbt_fail_) return KBT_SKIP;
    return kbt_done("test_fp8_gemm_v3_gpu");
}
