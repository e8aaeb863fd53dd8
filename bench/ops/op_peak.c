/* op_peak.c - tensor-core ceilings: FP8 and BF16 GEMM rates through cuBLASLt
 * at a large square size on random data.  d[0] = n, d[1] = 1 for FP8.
 * Napkin math: 2 n^3 FLOPs; bytes = 2 n^2 x input size + 2 n^2 (BF16 out). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/kb.h"
#include "reference/peak_cublaslt.h"

typedef struct peak_ctx {
    peak_args a;            /* first member: what the launcher sees */
    void *ha, *hb;          /* host copies of the inputs            */
    int sample_m[256], sample_n[256];
} peak_ctx;

static kb_shape table[8];
static int n_table;

static void add(int n, int fp8, unsigned sets)
{
    kb_shape *s = &table[n_table++];
    memset(s, 0, sizeof *s);
    snprintf(s->label, sizeof s->label, "%s_%d", fp8 ? "fp8" : "bf16", n);
    snprintf(s->dtype, sizeof s->dtype, "%s", fp8 ? "e4m3" : "bf16");
    s->sets = sets;
    s->d[0] = n;
    s->d[1] = fp8;
}

static const kb_shape *shapes(int *n)
{
    if (!n_table) {
        add(8192, 1, KB_SET_FULL | KB_SET_QUICK);
        add(8192, 0, KB_SET_FULL | KB_SET_QUICK);
        add(1024, 1, KB_SET_SMALL);
        add(1024, 0, KB_SET_SMALL);
    }
    *n = n_table;
    return table;
}

static double flops(const kb_shape *s)
{
    double n = (double)s->d[0];
    return 2 * n * n * n;
}

static double bytes(const kb_shape *s)
{
    double n = (double)s->d[0];
    return 2 * n * n * (s->d[1] ? 1 : 2) + 2 * n * n;
}

static kb_peak peak_for(const kb_shape *s) { return s->d[1] ? KB_PEAK_FP8 : KB_PEAK_BF16; }

static void teardown(void *p)
{
    peak_ctx *c = p;
    if (!c) return;
    peak_cublaslt_free(&c->a);
    cudaFree((void *)c->a.a);
    cudaFree((void *)c->a.b);
    cudaFree(c->a.d);
    free(c->ha);
    free(c->hb);
    free(c);
}

/* Random inputs generated on the host (E4M3 codes in [-2, 2] or BF16 in
 * [-1, 1)), so the CPU check reads exactly what the GPU reads. */
static void fill(void *h, size_t n, int fp8, kb_rng *r)
{
    for (size_t i = 0; i < n; i++) {
        float v = (float)(kb_rng_uniform(r) * 2 - 1);
        if (fp8) ((uint8_t *)h)[i] = kb_f32_to_e4m3(v * 2);
        else ((uint16_t *)h)[i] = kb_f32_to_bf16(v);
    }
}

static kb_status setup(const kb_shape *s, void **out)
{
    *out = NULL;
    peak_ctx *c = calloc(1, sizeof *c);
    if (!c) return kb_error("out of host memory");
    c->a.n = (int)s->d[0];
    c->a.fp8 = (int)s->d[1];
    size_t nn = (size_t)c->a.n * c->a.n, esz = c->a.fp8 ? 1 : 2;
    kb_rng r;
    kb_rng_seed(&r, kb_seed_for("peak", s));
    c->ha = malloc(nn * esz);
    c->hb = malloc(nn * esz);
    kb_status st = (c->ha && c->hb) ? KB_OK : kb_error("out of host memory");
    if (st == KB_OK) {
        fill(c->ha, nn, c->a.fp8, &r);
        fill(c->hb, nn, c->a.fp8, &r);
        for (int i = 0; i < 256; i++) {
            c->sample_m[i] = (int)(kb_rng_next(&r) % (uint64_t)c->a.n);
            c->sample_n[i] = (int)(kb_rng_next(&r) % (uint64_t)c->a.n);
        }
    }
    cudaError_t e = cudaSuccess;
    if (st == KB_OK) e = cudaMalloc((void **)&c->a.a, nn * esz);
    if (st == KB_OK && e == cudaSuccess) e = cudaMalloc((void **)&c->a.b, nn * esz);
    if (st == KB_OK && e == cudaSuccess) e = cudaMalloc((void **)&c->a.d, nn * 2);
    if (st == KB_OK && e == cudaSuccess) e = cudaMemcpy((void *)c->a.a, c->ha, nn * esz, cudaMemcpyHostToDevice);
    if (st == KB_OK && e == cudaSuccess) e = cudaMemcpy((void *)c->a.b, c->hb, nn * esz, cudaMemcpyHostToDevice);
    if (st == KB_OK && e != cudaSuccess) st = kb_error("peak setup: %s", cudaGetErrorString(e));
    if (st == KB_OK) st = peak_cublaslt_plan(&c->a);
    if (st != KB_OK) {
        teardown(c);
        return st;
    }
    *out = c;
    return KB_OK;
}

static kb_status poison(void *p, cudaStream_t s)
{
    peak_ctx *c = p;
    return kb_dev_poison(c->a.d, (size_t)c->a.n * c->a.n * 2, s);
}

/* 256 sampled outputs against a double-precision dot product on the host. */
static kb_status verify(void *p, double *err, const char **metric)
{
    peak_ctx *c = p;
    const int n = c->a.n;
    double got[256], want[256];
    *metric = "diff";
    for (int i = 0; i < 256; i++) {
        int m = c->sample_m[i], j = c->sample_n[i];
        uint16_t d;
        KB_CUDA_TRY(cudaMemcpy(&d, c->a.d + (size_t)m * n + j, 2, cudaMemcpyDeviceToHost));
        got[i] = kb_bf16_to_f32(d);
        double acc = 0;
        for (int k = 0; k < n; k++) {
            size_t ia = (size_t)m * n + k, ib = (size_t)j * n + k;
            double x = c->a.fp8 ? kb_e4m3_to_f32(((uint8_t *)c->ha)[ia]) : kb_bf16_to_f32(((uint16_t *)c->ha)[ia]);
            double y = c->a.fp8 ? kb_e4m3_to_f32(((uint8_t *)c->hb)[ib]) : kb_bf16_to_f32(((uint16_t *)c->hb)[ib]);
            acc += x * y;
        }
        want[i] = acc;
    }
    *err = kb_diff_deepgemm(got, want, 256);
    /* Inputs are exact in both dtypes: the only error is FP32 accumulation and
     * the final BF16 rounding (relative 2^-9 -> diff ~ 1e-6). */
    if (!(*err < 1e-4)) return kb_error("diff %.3g >= 1e-4 on 256 sampled outputs", *err);
    return KB_OK;
}

static const kb_impl impls[] = {
    {"cublaslt", KB_IMPL_LIB, peak_cublaslt, "cuBLASLt TN GEMM, heuristic algorithm, FP32 accumulation"},
};

const kb_op kb_op_peak = {
    .name = "peak",
    .what = "FP8 and BF16 tensor-core ceilings: cuBLASLt 8192^3 GEMM on random data",
    .peak = KB_PEAK_FP8,
    .peak_for = peak_for,
    .shapes = shapes,
    .flops = flops,
    .bytes = bytes,
    .setup = setup,
    .poison = poison,
    .verify = verify,
    .teardown = teardown,
    .impls = impls,
    .n_impls = sizeof impls / sizeof impls[0],
};
