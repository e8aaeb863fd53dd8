/* op_peak.c - tensor-core ceilings: FP8 and BF16 GEMM rates through cuBLASLt
 * at a large square size on random data.  Dims (op_common.h): n, fp8 (1: FP8).
 * Napkin math: 2 n^3 FLOPs; bytes = 2 n^2 x input size + 2 n^2 (BF16 out). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/kb.h"
#include "bench/ops/op_common.h"
#include "reference/peak_cublaslt.h"

typedef struct peak_ctx {
    peak_args a;            /* first member: what the launcher sees */
    void *ha, *hb;          /* host copies of the inputs            */
    int sample_m[256], sample_n[256];
} peak_ctx;

static kb_shape_table table;

static void add(kb_shape_table *t, int n, int fp8, unsigned sets)
{
    const int64_t d[KB_MAX_DIMS] = {[PEAK_D_N] = n, [PEAK_D_FP8] = fp8};
    kb_shape_add(t, sets, fp8 ? "e4m3" : "bf16", d, "%s_%d", fp8 ? "fp8" : "bf16", n);
}

static void build_shapes(kb_shape_table *t)
{
    add(t, 8192, 1, KB_SET_FULL | KB_SET_QUICK);
    add(t, 8192, 0, KB_SET_FULL | KB_SET_QUICK);
    add(t, 1024, 1, KB_SET_SMALL);
    add(t, 1024, 0, KB_SET_SMALL);
}

static const kb_shape *shapes(int *n) { return kb_op_table(&table, build_shapes, n); }

static double flops(const kb_shape *s)
{
    double n = (double)s->d[PEAK_D_N];
    return 2 * n * n * n;
}

static double bytes(const kb_shape *s)
{
    double n = (double)s->d[PEAK_D_N];
    return 2 * n * n * (s->d[PEAK_D_FP8] ? 1 : 2) + 2 * n * n;
}

static kb_peak peak_for(const kb_shape *s) { return s->d[PEAK_D_FP8] ? KB_PEAK_FP8 : KB_PEAK_BF16; }

/* --axis shapes: cuBLASLt's FP8 GEMM wants dims in multiples of 16; the
 * dtype follows fp8. */
static int check(const kb_shape *s, char *why, size_t n)
{
    const int64_t fp8 = s->d[PEAK_D_FP8];
    if (kb_check_dim("peak", "n", s->d[PEAK_D_N], 16, 32768, 16, why, n) ||
        kb_check_dim("peak", "fp8", fp8, 0, 1, 1, why, n))
        return 1;
    return kb_check_dtype("peak", s, "fp8", fp8, fp8 ? "e4m3" : "bf16", why, n);
}

static void teardown(void *p)
{
    peak_ctx *c = p;
    if (!c) return;
    peak_cublaslt_free(&c->a);
    const void *dev[] = {c->a.a, c->a.b, c->a.d};
    void *host[] = {c->ha, c->hb};
    kb_op_free(c, dev, KB_OP_LEN(dev), host, KB_OP_LEN(host));
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

/* Host inputs and the sampled output positions. */
static kb_status fill_host(peak_ctx *c, const kb_shape *s, size_t nn, size_t esz)
{
    kb_rng r;
    kb_rng_seed(&r, kb_seed_for("peak", s));
    c->ha = malloc(nn * esz);
    c->hb = malloc(nn * esz);
    if (!c->ha || !c->hb) return kb_error("out of host memory");
    fill(c->ha, nn, c->a.fp8, &r);
    fill(c->hb, nn, c->a.fp8, &r);
    for (int i = 0; i < 256; i++) {
        c->sample_m[i] = (int)(kb_rng_next(&r) % (uint64_t)c->a.n);
        c->sample_n[i] = (int)(kb_rng_next(&r) % (uint64_t)c->a.n);
    }
    return KB_OK;
}

static kb_status build(void *ctx, const kb_shape *s)
{
    peak_ctx *c = ctx;
    c->a.n = (int)s->d[PEAK_D_N];
    c->a.fp8 = (int)s->d[PEAK_D_FP8];
    const size_t nn = (size_t)c->a.n * c->a.n, esz = c->a.fp8 ? 1 : 2;
    KB_TRY(fill_host(c, s, nn, esz));
    KB_CUDA_TRY(cudaMalloc((void **)&c->a.a, nn * esz));
    KB_CUDA_TRY(cudaMalloc((void **)&c->a.b, nn * esz));
    KB_CUDA_TRY(cudaMalloc((void **)&c->a.d, nn * 2));
    KB_CUDA_TRY(cudaMemcpy((void *)c->a.a, c->ha, nn * esz, cudaMemcpyHostToDevice));
    KB_CUDA_TRY(cudaMemcpy((void *)c->a.b, c->hb, nn * esz, cudaMemcpyHostToDevice));
    KB_TRY(peak_cublaslt_plan(&c->a));
    printf("kbench: peak %s: cuBLASLt %s\n", s->label, c->a.chosen); /* the ceiling's provenance */
    return KB_OK;
}

static kb_status setup(const kb_shape *s, void **out) { return kb_op_setup(s, out, sizeof(peak_ctx), build, teardown); }

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
    /* Inputs are exact in both dtypes: the only error is the accumulation
     * (FP32, or FP8 fast accumulation when that algorithm won: relative
     * ~1e-3, diff ~1e-6) and the final BF16 rounding (relative 2^-9 -> diff
     * ~ 1e-6). */
    if (!(*err < 1e-4)) return kb_error("diff %.3g >= 1e-4 on 256 sampled outputs", *err);
    return KB_OK;
}

static const kb_impl impls[] = {
    {"cublaslt", KB_IMPL_LIB, peak_cublaslt,
     "cuBLASLt TN GEMM, fastest of 8 heuristic algorithms (FP8: with and without fast accumulation)"},
};

const kb_op kb_op_peak = {
    .name = "peak",
    .what = "FP8 and BF16 tensor-core ceilings: cuBLASLt 8192^3 GEMM on random data",
    .peak = KB_PEAK_FP8,
    .peak_for = peak_for,
    KB_OP_FUNCS,
    KB_IMPLS(impls),
    .dims = {[PEAK_D_N] = "n", [PEAK_D_FP8] = "fp8"},
    .check = check,
};
