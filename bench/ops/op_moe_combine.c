/* op_moe_combine.c - gather the expert outputs back into token order:
 * y[t] = sum_k topk_w[t,k] * expert_out[row_of[t,k]] (BF16 in, FP32 sum,
 * BF16 out; semantics in kernels/moe/moe.h).
 *
 * Shapes (MOE_D_*, op_common.h): t tokens, e local experts (256, 32 = EP8,
 * 8 = EP32), skew = routing (0 uniform, 1 skewed).  Routing and the row map are built at
 * setup exactly as for moe_dispatch (moe_routing_random + moe_layout_build:
 * every slot served locally by expert global % E, see op_moe_dispatch.c);
 * expert_out [m_total, 7168] is random BF16 with the padding rows set to NaN
 * (a combine that touches them fails); topk_w random positive, summing to 2.5
 * per token.
 *
 * Napkin math (moe_combine_bytes): read 8T rows of 14336 B + row_of and
 * topk_w (8 B per slot), write T rows: T=4096: 470 + 0.3 + 58.7 = 529 MB,
 * ~0.16 ms at 3.35 TB/s.  No FLOPs counted (16 FLOP per output element are
 * noise next to the bytes).
 *
 * Verification: the whole y scanned for NaN/Inf; sampled tokens (all when
 * T <= 512, else 256 seeded) against the CPU double sum: |y - ref| <=
 * 2^-8 |ref| + 1e-5 sum_k |w_k e_k| + 1e-6 (BF16 output rounding plus FP32
 * accumulation).  Metric "diff" = DeepGEMM's 1 - 2xy/(x^2 + y^2) over the
 * sampled elements; it fails on any element out of bound.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cuda_runtime_api.h>
#include "bench/kb.h"
#include "bench/ops/op_common.h"
#include "reference/moe_cpu.h"
#include "kernels/moe/moe.h"

typedef struct combine_ctx {
    moe_combine_args a; /* first member */
    uint64_t seed;
    int32_t *h_row;
    float *h_w;
} combine_ctx;

static const int comb_T[] = {128, 512, 4096, 16384};
static const int comb_E[] = {256, 32, 8};

static kb_shape_table table;

static void add(kb_shape_table *t, int T, int E, int skew, unsigned sets)
{
    const int64_t d[KB_MAX_DIMS] = {[MOE_D_T] = T, [MOE_D_E] = E, [MOE_D_SKEW] = skew};
    kb_shape_add(t, sets, "bf16", d, "t%d_e%d_%s", T, E, skew ? "skewed" : "uniform");
}

static void build_shapes(kb_shape_table *t)
{
    for (int ti = 0; ti < 4; ti++)
        for (int ei = 0; ei < 3; ei++)
            for (int sk = 0; sk < 2; sk++) {
                int T = comb_T[ti], E = comb_E[ei];
                unsigned sets = KB_SET_FULL;
                if ((T == 128 || T == 4096) && E != 8) sets |= KB_SET_QUICK;
                add(t, T, E, sk, sets);
            }
    for (int ei = 0; ei < 3; ei += 2)
        for (int sk = 0; sk < 2; sk++) add(t, 40, comb_E[ei], sk, KB_SET_SMALL);
}

static const kb_shape *shapes(int *n) { return kb_op_table(&table, build_shapes, n); }

static double flops(const kb_shape *s) { (void)s; return 0; }
static double bytes(const kb_shape *s) { return moe_combine_bytes((int)s->d[MOE_D_T]); }

/* --axis shapes: E local experts out of the 256 (global index % E: E
 * divides 256), T tokens with T*8 routed rows of 7168 under 2^31 elements. */
static int check(const kb_shape *s, char *why, size_t n)
{
    const int64_t e = s->d[MOE_D_E];
    if (kb_check_dim("moe_combine", "t", s->d[MOE_D_T], 1, 32768, 1, why, n) ||
        kb_check_dim("moe_combine", "e", e, 1, 256, 1, why, n) ||
        kb_check_dim("moe_combine", "skew", s->d[MOE_D_SKEW], 0, 1, 1, why, n))
        return 1;
    if (256 % e) return -kb_shape_refuse(why, n, "moe_combine: e=%lld does not divide the 256 experts", (long long)e);
    return 0;
}

static void teardown(void *p)
{
    combine_ctx *c = p;
    if (!c) return;
    const void *dev[] = {c->a.expert_out, c->a.row_of, c->a.topk_w, c->a.y, c->a.workspace};
    void *host[] = {c->h_row, c->h_w};
    kb_op_free(c, dev, KB_OP_LEN(dev), host, KB_OP_LEN(host));
}

static kb_status build(void *ctx, const kb_shape *s)
{
    combine_ctx *c = ctx;
    int T = (int)s->d[MOE_D_T], E = (int)s->d[MOE_D_E], K = MOE_HIDDEN;
    size_t R = (size_t)T * MOE_TOPK;
    c->seed = kb_seed_for("moe_combine", s);
    c->a.t = T;
    c->a.hidden = K;
    c->a.topk = MOE_TOPK;
    int32_t *idx = malloc(R * 4), *cnt = malloc((size_t)E * 4), *off = malloc((size_t)(E + 1) * 4);
    c->h_row = malloc(R * 4);
    c->h_w = malloc(R * 4);
    if (!idx || !cnt || !off || !c->h_row || !c->h_w) {
        free(idx); free(cnt); free(off);
        return kb_error("moe_combine setup: out of host memory");
    }
    moe_routing_random(c->seed ^ 0x0e0e, T, E, (int)s->d[MOE_D_SKEW], idx);
    int64_t m_total = moe_layout_build(idx, T, MOE_TOPK, E, MOE_ALIGN, cnt, off, c->h_row);
    kb_rng r;
    kb_rng_seed(&r, c->seed ^ 0x3e3e);
    for (int t = 0; t < T; t++) {
        double sum = 0;
        for (int k = 0; k < MOE_TOPK; k++) sum += (c->h_w[t * MOE_TOPK + k] = (float)(0.05 + kb_rng_uniform(&r)));
        for (int k = 0; k < MOE_TOPK; k++) c->h_w[t * MOE_TOPK + k] = (float)(c->h_w[t * MOE_TOPK + k] * 2.5 / sum);
    }
    c->a.m_rows = (int)m_total;
    void *p;
    cudaError_t ce = cudaMalloc(&p, (size_t)m_total * K * 2);
    if (ce == cudaSuccess) {
        c->a.expert_out = p;
        ce = kb_dev_fill_bf16(p, (size_t)m_total * K, -2.0f, 2.0f, c->seed, 0) == KB_OK ? cudaSuccess
                                                                                         : cudaErrorUnknown;
        for (int e = 0; e < E && ce == cudaSuccess; e++) /* padding rows -> NaN */
            if (off[e + 1] > off[e] + cnt[e])
                ce = cudaMemset((uint16_t *)p + (size_t)(off[e] + cnt[e]) * K, 0xff,
                                (size_t)(off[e + 1] - off[e] - cnt[e]) * K * 2);
    }
    free(idx); free(cnt); free(off);
    KB_CUDA_TRY(ce);
    KB_CUDA_TRY(cudaMalloc(&p, R * 4)); c->a.row_of = p;
    KB_CUDA_TRY(cudaMalloc(&p, R * 4)); c->a.topk_w = p;
    KB_CUDA_TRY(cudaMalloc((void **)&c->a.y, (size_t)T * K * 2));
    c->a.workspace_bytes = moe_combine_workspace_bytes(&c->a);
    if (c->a.workspace_bytes) KB_CUDA_TRY(cudaMalloc(&c->a.workspace, c->a.workspace_bytes));
    KB_CUDA_TRY(cudaMemcpy((void *)c->a.row_of, c->h_row, R * 4, cudaMemcpyHostToDevice));
    KB_CUDA_TRY(cudaMemcpy((void *)c->a.topk_w, c->h_w, R * 4, cudaMemcpyHostToDevice));
    return KB_OK;
}

static kb_status setup(const kb_shape *s, void **out) { return kb_op_setup(s, out, sizeof(combine_ctx), build, teardown); }

static kb_status poison(void *p, cudaStream_t st)
{
    combine_ctx *c = p;
    return kb_dev_poison(c->a.y, (size_t)c->a.t * c->a.hidden * 2, st);
}

static kb_status verify(void *p, double *err, const char **metric)
{
    combine_ctx *c = p;
    const int T = c->a.t, K = c->a.hidden, TK = MOE_TOPK;
    *metric = "diff";
    *err = NAN;
    kb_status st = KB_OK;
    int ns = T <= 512 ? T : 256;
    uint16_t *y = malloc((size_t)T * K * 2), *rows = malloc((size_t)TK * K * 2);
    double *ref = malloc((size_t)K * 8), *got = malloc((size_t)ns * K * 8), *want = malloc((size_t)ns * K * 8);
    int32_t lrow[MOE_TOPK];
    if (!y || !rows || !ref || !got || !want) {
        st = kb_error("moe_combine verify: out of host memory");
        goto done;
    }
    if (cudaMemcpy(y, c->a.y, (size_t)T * K * 2, cudaMemcpyDeviceToHost) != cudaSuccess) {
        st = kb_error("moe_combine verify: copy back failed");
        goto done;
    }
    size_t nonfinite = 0;
    for (size_t i = 0; i < (size_t)T * K; i++) nonfinite += (y[i] & 0x7f80) == 0x7f80;
    if (nonfinite) {
        st = kb_error("moe_combine: %zu NaN/Inf in y", nonfinite);
        goto done;
    }
    kb_rng r;
    kb_rng_seed(&r, c->seed ^ 0x5a5a);
    size_t bad = 0;
    char msg[160] = "";
    for (int i = 0; i < ns; i++) {
        int t = T <= 512 ? i : (int)(kb_rng_next(&r) % (uint64_t)T);
        for (int k = 0; k < TK; k++) {
            int32_t rw = c->h_row[(size_t)t * TK + k];
            lrow[k] = rw < 0 ? -1 : k;
            if (rw >= 0 && cudaMemcpy(rows + (size_t)k * K, c->a.expert_out + (size_t)rw * K, (size_t)K * 2,
                                      cudaMemcpyDeviceToHost) != cudaSuccess) {
                st = kb_error("moe_combine verify: copy back failed");
                goto done;
            }
        }
        moe_combine_cpu(rows, lrow, c->h_w + (size_t)t * TK, 1, TK, K, ref);
        for (int j = 0; j < K; j++) {
            double b = 0;
            for (int k = 0; k < TK; k++)
                if (lrow[k] >= 0) b += fabs(c->h_w[(size_t)t * TK + k] * kb_bf16_to_f32(rows[(size_t)k * K + j]));
            double g = kb_bf16_to_f32(y[(size_t)t * K + j]);
            got[(size_t)i * K + j] = g;
            want[(size_t)i * K + j] = ref[j];
            if (!(fabs(g - ref[j]) <= 0x1p-8 * fabs(ref[j]) + 1e-5 * b + 1e-6) && !bad++)
                snprintf(msg, sizeof msg, "y[%d,%d] = %.6g, cpu %.6g", t, j, g, ref[j]);
        }
    }
    *err = kb_diff_deepgemm(got, want, (size_t)ns * K);
    if (bad) st = kb_error("moe_combine: %zu elements out of bound; first: %s", bad, msg);
    else if (!(*err < 1e-5)) st = kb_error("moe_combine: diff %.3g >= 1e-5", *err);
done:
    free(y); free(rows); free(ref); free(got); free(want);
    return st;
}

static const kb_impl impls[] = {
    {"v1", KB_IMPL_HAND, moe_combine_v1, "block per token, thread per element, scalar loads of the 8 rows"},
    {"v2", KB_IMPL_HAND, moe_combine_v2, "block per token, 16-byte loads of all 8 rows in flight, each row read once, 16-byte stores"},
    {"scatter", KB_IMPL_LIB, moe_combine_scatter, "index_add_ style: FP32 atomic scatter of weighted rows, then cast to BF16 (plain kernels)"},
};

const kb_op kb_op_moe_combine = {
    .name = "moe_combine",
    .what = "MoE combine: y[t] = sum_k w[t,k] * expert_out[row(t,k)], BF16 in/out, FP32 sum",
    .peak = KB_PEAK_NONE,
    KB_OP_FUNCS,
    KB_IMPLS(impls),
    .dims = {[MOE_D_T] = "t", [MOE_D_E] = "e", [MOE_D_SKEW] = "skew"},
    .check = check,
};
