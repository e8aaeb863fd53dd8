/* test_fp8_gemm_v3_gpu.c - runs the v3 FP8 GEMM (every compiled tile size and
 * the automatic choice) on small dense / contiguous / masked shapes and checks
 * the BF16 output against a CPU computation written here (E4M3 decoded with
 * kb_e4m3_to_f32, block-scaled sums in double).  Masked rows past masked_m
 * must keep their poison.  SKIPs (77) without a Hopper GPU. */
#include <stdlib.h>
#include <cuda_runtime_api.h>
#include "kbtest.h"
#include "bench/kb.h"
#include "kernels/fp8_gemm/fp8_gemm_v3.h"

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
} prob;

static void *dev_copy(const void *h, size_t bytes)
{
    void *d = NULL;
    if (cudaMalloc(&d, bytes) != cudaSuccess) return NULL;
    cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice);
    return d;
}

static void prob_init(prob *p, fp8_gemm_layout layout, int m, int n, int k, int g, const int32_t *gi,
                      const int32_t *mm)
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

    /* reference: D[r, j] = sum_kb sa * sb * sum_k A*B, in double */
    for (int r = 0; r < p->rows_a; r++) {
        int grp = 0, row = r; /* group, row index within the group's sa */
        const float *sa = p->hsa;
        int ld_sa = p->rows_a;
        if (layout == FP8_GEMM_CONTIGUOUS) grp = gi[r];
        if (layout == FP8_GEMM_MASKED) {
            grp = r / m;
            row = r % m;
            sa = p->hsa + (size_t)grp * kb * m;
            ld_sa = m;
        }
        for (int j = 0; j < n; j++) {
            double *out = &p->ref[(size_t)r * n + j];
            if (grp < 0 || (layout == FP8_GEMM_MASKED && row >= mm[grp])) { *out = NAN; continue; }
            const uint8_t *ar = p->ha + (size_t)r * k;
            const uint8_t *br = p->hb + ((size_t)grp * n + j) * k;
            double s = 0;
            for (int b = 0; b < kb; b++) {
                double blk = 0;
                for (int q = b * 128; q < b * 128 + 128; q++)
                    blk += (double)kb_e4m3_to_f32(ar[q]) * kb_e4m3_to_f32(br[q]);
                s += blk * sa[(size_t)b * ld_sa + row] *
                     p->hsb[((size_t)grp * p->nb + j / 128) * kb + b];
            }
            *out = s;
        }
    }
}

static void prob_free(prob *p)
{
    cudaFree((void *)p->a.a); cudaFree((void *)p->a.b); cudaFree((void *)p->a.sa); cudaFree((void *)p->a.sb);
    cudaFree(p->a.d); cudaFree((void *)p->a.group_idx); cudaFree((void *)p->a.masked_m);
    free(p->ha); free(p->hb); free(p->hsa); free(p->hsb); free(p->hgi); free(p->hmm); free(p->ref);
}

/* Run with one tile config (bm = bn = 0: automatic) and check.  Returns
 * KB_SKIP if the launcher skipped. */
static kb_status run_check(prob *p, int bm, int bn, const char *what)
{
    uint16_t *h = malloc(p->n_d * 2);
    double *got = malloc(p->n_d * sizeof(double)), *want = malloc(p->n_d * sizeof(double));
    cudaMemset(p->a.d, 0xFF, p->n_d * 2);
    kb_status st = fp8_gemm_v3_run(&p->a, 0, bm, bn);
    if (st == KB_SKIP) { printf("skip %s: %s\n", what, kb_last_message()); goto out; }
    if (st != KB_OK) { printf("FAIL %s %dx%d: %s\n", what, bm, bn, kb_last_message()); KBT_CHECK(st == KB_OK); goto out; }
    cudaError_t e = cudaDeviceSynchronize();
    if (e != cudaSuccess) { printf("FAIL %s %dx%d: %s\n", what, bm, bn, cudaGetErrorString(e)); KBT_CHECK(e == cudaSuccess); st = KB_FAIL; goto out; }
    cudaMemcpy(h, p->a.d, p->n_d * 2, cudaMemcpyDeviceToHost);
    size_t nc = 0, untouched_bad = 0;
    for (size_t i = 0; i < p->n_d; i++) {
        if (isnan(p->ref[i])) { /* not checked; masked rows must keep the poison */
            if (p->a.layout == FP8_GEMM_MASKED && h[i] != 0xFFFF) untouched_bad++;
            continue;
        }
        got[nc] = kb_bf16_to_f32(h[i]);
        want[nc] = p->ref[i];
        nc++;
    }
    double diff = kb_diff_deepgemm(got, want, nc);
    double mae = kb_max_abs_err(got, want, nc), amax = 0;
    for (size_t i = 0; i < nc; i++) amax = fabs(want[i]) > amax ? fabs(want[i]) : amax;
    printf("%-8s block %3dx%-3d: diff %.3e max_abs_err %.3e (|ref| max %.3e), %zu masked rows written\n", what, bm,
           bn, diff, mae, amax, untouched_bad);
    KBT_CHECK(diff < 1e-4);            /* NaN (poison left in a checked element) fails */
    KBT_CHECK(mae <= 1e-2 * amax);     /* BF16 rounding is 2^-9 relative */
    KBT_CHECK(untouched_bad == 0);
out:
    free(h); free(got); free(want);
    return st;
}

static int run_all(prob *p, const char *what)
{
    for (int i = 0; i < NCFG; i++) {
        int bm = 0, bn = 0;
        if (i < NCFG - 1) { bm = fp8_gemm_v3_block_ms[i / FP8_GEMM_V3_N_BN]; bn = fp8_gemm_v3_block_ns[i % FP8_GEMM_V3_N_BN]; }
        if (run_check(p, bm, bn, what) == KB_SKIP) return 1;
    }
    return 0;
}

int main(void)
{
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
        printf("test_fp8_gemm_v3_gpu: no GPU, skipped\n");
        return KBT_SKIP;
    }
    int major = 0;
    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0);
    if (major != 9) {
        printf("test_fp8_gemm_v3_gpu: needs sm_90 (Hopper), device is sm_%d0: skipped\n", major);
        return KBT_SKIP;
    }
    kb_rng_seed(&rng, 20261124);
    prob p;

    /* dense: M tail (200), N not a multiple of 128 (320: sb blocks straddled
     * by 96/160-wide tiles), 3 K blocks */
    prob_init(&p, FP8_GEMM_DENSE, 200, 320, 384, 1, NULL, NULL);
    if (run_all(&p, "dense")) { prob_free(&p); return KBT_SKIP; }
    prob_free(&p);

    /* dense decode-like: M = 1 */
    prob_init(&p, FP8_GEMM_DENSE, 1, 576, 256, 1, NULL, NULL);
    run_check(&p, 0, 0, "dense");
    run_check(&p, 128, 160, "dense");
    prob_free(&p);

    /* contiguous: 3 experts, segments of 130, 60, 128 rows padded to 256, 128, 128 */
    {
        int32_t gi[512];
        for (int r = 0; r < 512; r++)
            gi[r] = r < 130 ? 0 : r < 256 ? -1 : r < 316 ? 1 : r < 384 ? -1 : 2;
        prob_init(&p, FP8_GEMM_CONTIGUOUS, 512, 256, 256, 3, gi, NULL);
        run_all(&p, "contig");
        prob_free(&p);
    }

    /* masked: 3 groups of m_max 192, valid rows 5, 192, 0; N=192 */
    {
        const int32_t mm[3] = {5, 192, 0};
        prob_init(&p, FP8_GEMM_MASKED, 192, 192, 256, 3, NULL, mm);
        run_all(&p, "masked");
        prob_free(&p);
    }

    /* the kb_launch_fn entry points check the layout */
    {
        fp8_gemm_args a;
        memset(&a, 0, sizeof a);
        a.layout = FP8_GEMM_MASKED;
        KBT_CHECK(fp8_gemm_v3(&a, 0) == KB_SKIP);
    }
    return kbt_done("test_fp8_gemm_v3_gpu");
}
