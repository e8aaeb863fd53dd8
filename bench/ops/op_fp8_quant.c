/* op_fp8_quant.c - BF16 -> E4M3 quantisation with DeepSeek-V3's fine-grained
 * scales (kernels/fp8_quant/fp8_quant.h): scale = max(amax, 1e-4) / 448.
 *
 * Two modes, told apart by label prefix and dtype:
 *   tok_m{M}_k{K}   dtype "bf16>e4m3_1x128"   activations, per-token 1x128
 *                   groups, at the K of every FP8 GEMM input, scales MN-major;
 *   blk_n{N}_k{K}   dtype "bf16>e4m3_128x128" weights [N,K], 128x128 blocks.
 * Dims FP8Q_D_* (fp8_common.h): mode (fp8_quant_mode), rows, cols.
 *
 * Napkin math: pure data movement (KB_PEAK_NONE, FLOPs reported as 0):
 *   bytes = 2RC (BF16 in) + RC (E4M3 out) + 4 * number of scales,
 * e.g. tok_m4096_k7168: 88.1 MB -> ~26 us at 3.35 TB/s.
 *
 * Verification: the CPU reference (reference/fp8_gemm_cpu.c) uses the same
 * FP32 IEEE division x / scale and RNE-satfinite rounding as the kernels, so
 * codes normally match exactly.  Accepted: a code differing by one step
 * (adjacent E4M3 value: a rounding tie decided differently after a 1-ulp
 * difference in x / scale) - anything further, or any scale with relative
 * error >= 1e-6, counts as wrong.  metric "wrong" = number of wrong codes +
 * wrong scales, must be 0.  Whole output at small shapes; 512 seeded random
 * groups (1x128 or 128x128) at large ones, plus a full NaN scan.  One group
 * (the first) is set to zeros so the amax clamp is exercised.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cuda_runtime_api.h>
#include "bench/ops/fp8_common.h"
#include "bench/ops/op_common.h"
#include "reference/fp8_gemm_cpu.h"

#define OP "fp8_quant"

typedef struct quant_ctx {
    fp8_quant_args args;   /* first member (kb.h contract) */
    kb_shape shape;
    size_t n, s_n;
    uint16_t *d_x, *h_x;
    uint8_t *d_q, *h_q, *h_qref;
    float *d_s, *h_s;
} quant_ctx;

static const int64_t tok_k[6] = {7168, 2048, 1536, 512, 16384, 18432};
static const int64_t tok_m[3] = {128, 4096, 8192};
static const int64_t blk_nk[9][2] = {
    {2112, 7168}, {576, 7168}, {24576, 1536}, {32768, 512}, {7168, 16384},
    {4096, 7168}, {7168, 2048}, {36864, 7168}, {7168, 18432},
};

static kb_shape_table table;

static void add(kb_shape_table *t, int mode, int64_t rows, int64_t cols, unsigned sets)
{
    const int64_t d[KB_MAX_DIMS] = {[FP8Q_D_MODE] = mode, [FP8Q_D_ROWS] = rows, [FP8Q_D_COLS] = cols};
    if (mode == FP8_QUANT_TOKEN)
        kb_shape_add(t, sets, "bf16>e4m3_1x128", d, "tok_m%lld_k%lld", (long long)rows, (long long)cols);
    else
        kb_shape_add(t, sets, "bf16>e4m3_128x128", d, "blk_n%lld_k%lld", (long long)rows, (long long)cols);
}

static void build_shapes(kb_shape_table *t)
{
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 3; j++)
            add(t, FP8_QUANT_TOKEN, tok_m[j], tok_k[i], KB_SET_FULL | (i == 0 && j != 2 ? KB_SET_QUICK : 0));
    add(t, FP8_QUANT_TOKEN, 1, 7168, KB_SET_FULL); /* decode, one token */
    add(t, FP8_QUANT_TOKEN, 64, 7168, KB_SET_FULL);
    for (int i = 0; i < 9; i++)
        add(t, FP8_QUANT_BLOCK, blk_nk[i][0], blk_nk[i][1], KB_SET_FULL | (i == 6 || i == 7 ? KB_SET_QUICK : 0));
    add(t, FP8_QUANT_TOKEN, 64, 512, KB_SET_SMALL);
    add(t, FP8_QUANT_TOKEN, 200, 384, KB_SET_SMALL);
    add(t, FP8_QUANT_BLOCK, 256, 512, KB_SET_SMALL);
    add(t, FP8_QUANT_BLOCK, 192, 384, KB_SET_SMALL); /* partial row block, like N = 2112 */
}

static const kb_shape *shapes(int *n) { return kb_op_table(&table, build_shapes, n); }

static size_t n_scales(const kb_shape *s)
{
    int64_t rows = s->d[FP8Q_D_ROWS], cols = s->d[FP8Q_D_COLS];
    return s->d[FP8Q_D_MODE] == FP8_QUANT_TOKEN ? (size_t)(rows * (cols / 128))
                                      : (size_t)(fp8_ceil_div(rows, 128) * (cols / 128));
}

static double flops(const kb_shape *s)
{
    (void)s;
    return 0.0;
}

static double bytes(const kb_shape *s)
{
    double rc = (double)s->d[FP8Q_D_ROWS] * (double)s->d[FP8Q_D_COLS];
    return 3.0 * rc + 4.0 * (double)n_scales(s);
}

/* --axis shapes: whole 128-wide scale groups along cols (the kernels),
 * int rows and cols under 2^31 elements; the dtype follows the mode. */
static int check(const kb_shape *s, char *why, size_t n)
{
    const int64_t mode = s->d[FP8Q_D_MODE], rows = s->d[FP8Q_D_ROWS], cols = s->d[FP8Q_D_COLS];
    if (kb_check_dim(OP, "mode", mode, FP8_QUANT_TOKEN, FP8_QUANT_BLOCK, 1, why, n) ||
        kb_check_dim(OP, "rows", rows, 1, 1 << 24, 1, why, n) ||
        kb_check_dim(OP, "cols", cols, 128, 1 << 24, 128, why, n))
        return 1;
    if ((double)rows * (double)cols >= 2147483648.0)
        return -kb_shape_refuse(why, n, OP ": rows=%lld cols=%lld: 2^31 elements or more", (long long)rows,
                                (long long)cols);
    return kb_check_dtype(OP, s, "mode", mode, mode == FP8_QUANT_TOKEN ? "bf16>e4m3_1x128" : "bf16>e4m3_128x128", why,
                          n);
}

static void teardown(void *ctx)
{
    quant_ctx *c = ctx;
    if (!c) return;
    const void *dev[] = {c->d_x, c->d_q, c->d_s};
    void *host[] = {c->h_x, c->h_q, c->h_qref, c->h_s};
    kb_op_free(c, dev, KB_OP_LEN(dev), host, KB_OP_LEN(host));
}

static kb_status build(void *ctx, const kb_shape *s)
{
    quant_ctx *c = ctx;
    c->shape = *s;
    const int mode = (int)s->d[FP8Q_D_MODE], rows = (int)s->d[FP8Q_D_ROWS], cols = (int)s->d[FP8Q_D_COLS];
    c->n = (size_t)rows * cols;
    c->s_n = n_scales(s);
    c->h_x = malloc(c->n * sizeof(uint16_t));
    c->h_q = malloc(c->n);
    c->h_qref = malloc(c->n);
    c->h_s = malloc(c->s_n * sizeof(float));
    if (!c->h_x || !c->h_q || !c->h_qref || !c->h_s) return kb_error("fp8_quant setup: out of host memory");
    KB_CUDA_TRY(cudaMalloc((void **)&c->d_x, c->n * sizeof(uint16_t)));
    KB_CUDA_TRY(cudaMalloc((void **)&c->d_q, c->n));
    KB_CUDA_TRY(cudaMalloc((void **)&c->d_s, c->s_n * sizeof(float)));
    KB_TRY(fp8_dev_gen_bf16(c->d_x, rows, cols, mode == FP8_QUANT_TOKEN ? 1 : 128, 128, kb_seed_for(OP, s), 0));
    /* First group all zeros: amax 0 -> clamped to 1e-4. */
    KB_CUDA_TRY(cudaMemset2D(c->d_x, (size_t)cols * sizeof(uint16_t), 0, 128 * sizeof(uint16_t),
                             mode == FP8_QUANT_TOKEN ? 1 : (size_t)(rows < 128 ? rows : 128)));
    KB_CUDA_TRY(cudaDeviceSynchronize());
    KB_CUDA_TRY(cudaMemcpy(c->h_x, c->d_x, c->n * sizeof(uint16_t), cudaMemcpyDeviceToHost));
    c->args = (fp8_quant_args){(fp8_quant_mode)mode, rows, cols, c->d_x, c->d_q, c->d_s};
    return KB_OK;
}

static kb_status setup(const kb_shape *s, void **out) { return kb_op_setup(s, out, sizeof(quant_ctx), build, teardown); }

static kb_status poison(void *ctx, cudaStream_t stream)
{
    quant_ctx *c = ctx;
    KB_TRY(kb_dev_poison(c->d_q, c->n, stream));
    return kb_dev_poison(c->d_s, c->s_n * sizeof(float), stream);
}

/* Compare one group's codes (positions from the reference pass) and scale. */
static size_t check_codes(const quant_ctx *c, int r0, int r1, int c0, int c1)
{
    size_t wrong = 0;
    for (int r = r0; r < r1; r++)
        for (int j = c0; j < c1; j++) {
            size_t i = (size_t)r * c->args.cols + j;
            if (fp8_e4m3_ulp_dist(c->h_q[i], c->h_qref[i]) > 1) wrong++;
        }
    return wrong;
}

static int scale_bad(float got, float want)
{
    return !(fabs((double)got - (double)want) < 1e-6 * fabs((double)want));
}

static kb_status verify(void *ctx, double *err, const char **metric)
{
    quant_ctx *c = ctx;
    const int rows = c->args.rows, cols = c->args.cols, kb = cols / 128, rb_n = (rows + 127) / 128;
    *metric = "wrong";
    *err = NAN;
    KB_CUDA_TRY(cudaMemcpy(c->h_q, c->d_q, c->n, cudaMemcpyDeviceToHost));
    KB_CUDA_TRY(cudaMemcpy(c->h_s, c->d_s, c->s_n * sizeof(float), cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < c->n; i++)
        if ((c->h_q[i] & 0x7f) == 0x7f) return kb_error("NaN code 0x%02x at element %zu", c->h_q[i], i);
    for (size_t i = 0; i < c->s_n; i++)
        if (!isfinite(c->h_s[i]) || c->h_s[i] <= 0) return kb_error("bad scale %g at %zu", (double)c->h_s[i], i);

    const size_t n_groups = c->s_n;
    const int full = c->n <= ((size_t)1 << 22);
    const size_t checks = full ? n_groups : 512;
    kb_rng rng;
    kb_rng_seed(&rng, kb_seed_for(OP, &c->shape) ^ 0x71756e74ull);
    size_t wrong = 0, first = (size_t)-1;
    for (size_t t = 0; t < checks; t++) {
        size_t gi = full ? t : (size_t)(kb_rng_next(&rng) % n_groups);
        size_t before = wrong;
        if (c->args.mode == FP8_QUANT_TOKEN) {
            int r = (int)(gi / kb), b = (int)(gi % kb);
            size_t off = (size_t)r * cols + (size_t)b * 128;
            float s = fp8_quant_ref_group(c->h_x + off, 128, c->h_qref + off);
            wrong += scale_bad(c->h_s[(size_t)b * rows + r], s);
            wrong += check_codes(c, r, r + 1, b * 128, b * 128 + 128);
        } else {
            int rb = (int)(gi / kb), cb = (int)(gi % kb);
            if (rb >= rb_n) continue;
            float s = fp8_quant_ref_block(rows, cols, c->h_x, rb, cb, c->h_qref);
            wrong += scale_bad(c->h_s[(size_t)rb * kb + cb], s);
            wrong += check_codes(c, rb * 128, rb * 128 + 128 < rows ? rb * 128 + 128 : rows, cb * 128, cb * 128 + 128);
        }
        if (wrong > before && first == (size_t)-1) first = gi;
    }
    *err = (double)wrong;
    if (wrong)
        return kb_error("%zu wrong codes/scales over %zu %s groups (first bad group %zu)", wrong, checks,
                        full ? "(all)" : "sampled", first);
    return KB_OK;
}

static const kb_impl impls[] = {
    {"v1", KB_IMPL_HAND, fp8_quant_v1, "simple: a warp per 1x128 group / a block per 128x128 tile, scalar loads"},
    {"v2", KB_IMPL_HAND, fp8_quant_v2, "vectorised: 16-byte loads, 8-byte stores, one pass over x"},
};

const kb_op kb_op_fp8_quant = {
    .name = OP,
    .what = "BF16 -> E4M3 quantisation, 1x128 (tokens) and 128x128 (weights) scales",
    .peak = KB_PEAK_NONE,
    KB_OP_FUNCS,
    KB_IMPLS(impls),
    .dims = {[FP8Q_D_MODE] = "mode", [FP8Q_D_ROWS] = "rows", [FP8Q_D_COLS] = "cols"},
    .check = check,
};
