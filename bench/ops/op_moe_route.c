/* op_moe_route.c - DeepSeek-V3 router: gate GEMM + sigmoid + group-limited
 * top-8 (semantics: kernels/moe/moe.h).
 *
 * Shapes (ROUTE_D_*, op_common.h): t tokens, skew = routing (0 uniform, 1 skewed).  Routing is
 * always over the 256 global experts: in expert parallelism every rank routes
 * its own tokens over all experts; restricting to the local experts is the
 * dispatch's business (bench/ops/op_moe_dispatch.c).
 * Data: x ~ U(-1,1), Wg ~ U(-0.05,0.05) (logit std ~1.4), bias ~ U(-0.02,0.02);
 * skewed: 4 hot experts (3, 40, 77, 150) get bias +0.3, so they are picked by
 * most tokens (the imbalance the bias is normally there to correct).
 *
 * Napkin math (reference/moe_cpu.c): FLOPs = 2*T*256*7168 (T=4096: 15.0
 * GFLOP); bytes = 2*T*7168 + 2*256*7168 + 1 KB + T*(1024 + 64) (T=4096: 66.8
 * MB) -> 225 FLOP/B at T=4096; the intensity tends to 2*256*7168/(2*7168 +
 * 1088) = 238 FLOP/B for large T, below the H100 BF16 ridge (~295): the
 * roofline bound is HBM at every T (x dominates the bytes).
 *
 * Verification (exact agreement needs the same logits, see moe.h):
 *   1. the FP32 logits of sampled tokens (all at T <= 128, else 64 seeded
 *      tokens) against a CPU double GEMM: |gpu - cpu| <= 5e-4 * sum|x*w| + 1e-6
 *      (the worst-case FP32 accumulation bound for K = 7168);
 *   2. the CPU selection run on the GPU's logits for EVERY token: topk_idx
 *      must match exactly, topk_w within 1e-6 relative;
 *   3. no NaN/Inf in logits or weights.  Metric "wrong" = failing elements.
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

typedef struct route_ctx {
    moe_route_args a; /* first member: launchers cast ctx to it */
    int skew;
    uint64_t seed;
    uint16_t *h_wg;   /* [256, hidden] host copy */
    float *h_bias;
} route_ctx;

static const int route_T[] = {128, 512, 4096, 16384};

static kb_shape_table table;

static void add(kb_shape_table *t, int tokens, int skew, unsigned sets)
{
    const int64_t d[KB_MAX_DIMS] = {[ROUTE_D_T] = tokens, [ROUTE_D_SKEW] = skew};
    kb_shape_add(t, sets, "bf16", d, "t%d_%s", tokens, skew ? "skewed" : "uniform");
}

static void build_shapes(kb_shape_table *t)
{
    for (int i = 0; i < 4; i++)
        for (int sk = 0; sk < 2; sk++)
            add(t, route_T[i], sk, KB_SET_FULL | ((route_T[i] == 128 || route_T[i] == 4096) ? KB_SET_QUICK : 0));
    for (int sk = 0; sk < 2; sk++) add(t, 40, sk, KB_SET_SMALL);
}

static const kb_shape *shapes(int *n) { return kb_op_table(&table, build_shapes, n); }

static double flops(const kb_shape *s) { return moe_route_flops((int)s->d[ROUTE_D_T]); }
static double bytes(const kb_shape *s) { return moe_route_bytes((int)s->d[ROUTE_D_T]); }

/* --axis shapes: T tokens (int, T*256 logits under 2^31), routing 0 or 1. */
static int check(const kb_shape *s, char *why, size_t n)
{
    return kb_check_dim("moe_route", "t", s->d[ROUTE_D_T], 1, 1 << 22, 1, why, n) ||
           kb_check_dim("moe_route", "skew", s->d[ROUTE_D_SKEW], 0, 1, 1, why, n);
}

static void teardown(void *p)
{
    route_ctx *c = p;
    if (!c) return;
    const void *dev[] = {c->a.x, c->a.wg, c->a.bias, c->a.logits, c->a.topk_idx, c->a.topk_w, c->a.workspace};
    void *host[] = {c->h_wg, c->h_bias};
    kb_op_free(c, dev, KB_OP_LEN(dev), host, KB_OP_LEN(host));
}

static kb_status build(void *ctx, const kb_shape *s)
{
    route_ctx *c = ctx;
    int T = (int)s->d[ROUTE_D_T], K = MOE_HIDDEN, E = MOE_N_EXPERTS;
    c->skew = (int)s->d[ROUTE_D_SKEW];
    c->seed = kb_seed_for("moe_route", s);
    c->a.t = T;
    c->a.hidden = K;
    void *p;
    KB_CUDA_TRY(cudaMalloc(&p, (size_t)T * K * 2)); c->a.x = p;
    KB_CUDA_TRY(cudaMalloc(&p, (size_t)E * K * 2)); c->a.wg = p;
    KB_CUDA_TRY(cudaMalloc(&p, (size_t)E * 4)); c->a.bias = p;
    KB_CUDA_TRY(cudaMalloc(&p, (size_t)T * E * 4)); c->a.logits = p;
    KB_CUDA_TRY(cudaMalloc(&p, (size_t)T * MOE_TOPK * 4)); c->a.topk_idx = p;
    KB_CUDA_TRY(cudaMalloc(&p, (size_t)T * MOE_TOPK * 4)); c->a.topk_w = p;
    c->a.workspace_bytes = moe_route_workspace_bytes(&c->a);
    if (c->a.workspace_bytes) {
        KB_CUDA_TRY(cudaMalloc(&c->a.workspace, c->a.workspace_bytes));
        KB_CUDA_TRY(cudaMemset(c->a.workspace, 0, c->a.workspace_bytes)); /* v2 split-K counters */
    }
    if (kb_dev_fill_bf16((void *)c->a.x, (size_t)T * K, -1.0f, 1.0f, c->seed, 0) != KB_OK ||
        kb_dev_fill_bf16((void *)c->a.wg, (size_t)E * K, -0.05f, 0.05f, c->seed ^ 0x5151, 0) != KB_OK) {
        return KB_FAIL;
    }
    c->h_wg = malloc((size_t)E * K * 2);
    c->h_bias = malloc((size_t)E * 4);
    if (!c->h_wg || !c->h_bias) {
        return kb_error("moe_route setup: out of host memory");
    }
    kb_rng r;
    kb_rng_seed(&r, c->seed ^ 0xb1a5);
    for (int e = 0; e < E; e++) c->h_bias[e] = (float)(0.04 * kb_rng_uniform(&r) - 0.02);
    if (c->skew) c->h_bias[3] = c->h_bias[40] = c->h_bias[77] = c->h_bias[150] = 0.3f;
    KB_CUDA_TRY(cudaMemcpy((void *)c->a.bias, c->h_bias, (size_t)E * 4, cudaMemcpyHostToDevice));
    KB_CUDA_TRY(cudaMemcpy(c->h_wg, c->a.wg, (size_t)E * K * 2, cudaMemcpyDeviceToHost));
    return KB_OK;
}

static kb_status setup(const kb_shape *s, void **out) { return kb_op_setup(s, out, sizeof(route_ctx), build, teardown); }

static kb_status poison(void *p, cudaStream_t st)
{
    route_ctx *c = p;
    KB_TRY(kb_dev_poison(c->a.logits, (size_t)c->a.t * MOE_N_EXPERTS * 4, st));
    KB_TRY(kb_dev_poison(c->a.topk_idx, (size_t)c->a.t * MOE_TOPK * 4, st));
    KB_TRY(kb_dev_poison(c->a.topk_w, (size_t)c->a.t * MOE_TOPK * 4, st));
    return KB_OK;
}

static kb_status verify(void *p, double *err, const char **metric)
{
    route_ctx *c = p;
    int T = c->a.t, K = c->a.hidden, E = MOE_N_EXPERTS;
    *metric = "wrong";
    *err = NAN;
    float *lg = malloc((size_t)T * E * 4), *w = malloc((size_t)T * MOE_TOPK * 4);
    float *wc = malloc((size_t)T * MOE_TOPK * 4);
    int32_t *idx = malloc((size_t)T * MOE_TOPK * 4), *idxc = malloc((size_t)T * MOE_TOPK * 4);
    uint16_t *xr = malloc((size_t)K * 2);
    kb_status st = KB_OK;
    char msg[256] = "";
    if (!lg || !w || !wc || !idx || !idxc || !xr) {
        st = kb_error("moe_route verify: out of host memory");
        goto done;
    }
    if (cudaMemcpy(lg, c->a.logits, (size_t)T * E * 4, cudaMemcpyDeviceToHost) != cudaSuccess ||
        cudaMemcpy(w, c->a.topk_w, (size_t)T * MOE_TOPK * 4, cudaMemcpyDeviceToHost) != cudaSuccess ||
        cudaMemcpy(idx, c->a.topk_idx, (size_t)T * MOE_TOPK * 4, cudaMemcpyDeviceToHost) != cudaSuccess) {
        st = kb_error("moe_route verify: copy back failed");
        goto done;
    }
    size_t wrong = 0;
    for (size_t i = 0; i < (size_t)T * E; i++)
        if (!isfinite(lg[i])) wrong++;
    for (size_t i = 0; i < (size_t)T * MOE_TOPK; i++)
        if (!isfinite(w[i])) wrong++;
    if (wrong) {
        snprintf(msg, sizeof msg, "%zu non-finite logits/weights", wrong);
        goto report;
    }
    /* 1. logits of sampled tokens against the CPU double GEMM. */
    {
        kb_rng r;
        kb_rng_seed(&r, c->seed ^ 0x7e57);
        int ns = T <= 128 ? T : 64;
        double ref[MOE_N_EXPERTS], ab[MOE_N_EXPERTS];
        for (int i = 0; i < ns; i++) {
            int t = T <= 128 ? i : (i == 0 ? 0 : (i == 1 ? T - 1 : (int)(kb_rng_next(&r) % (uint64_t)T)));
            if (cudaMemcpy(xr, c->a.x + (size_t)t * K, (size_t)K * 2, cudaMemcpyDeviceToHost) != cudaSuccess) {
                st = kb_error("moe_route verify: copy back failed");
                goto done;
            }
            moe_route_logits_token_cpu(xr, c->h_wg, K, E, ref, ab);
            for (int e = 0; e < E; e++) {
                double d = fabs(lg[(size_t)t * E + e] - ref[e]);
                if (!(d <= 5e-4 * ab[e] + 1e-6)) {
                    if (!wrong++) snprintf(msg, sizeof msg, "logit[%d,%d] = %.6g, cpu %.6g", t, e,
                                           lg[(size_t)t * E + e], ref[e]);
                }
            }
        }
    }
    /* 2. selection on the GPU's own logits, every token. */
    moe_route_select_cpu(lg, c->h_bias, T, idxc, wc);
    for (size_t i = 0; i < (size_t)T * MOE_TOPK; i++) {
        int bad = idx[i] != idxc[i] || !(fabs(w[i] - wc[i]) <= 1e-6 * fabs(wc[i]));
        if (bad && !wrong++)
            snprintf(msg, sizeof msg, "token %zu slot %zu: idx %d w %.8g, cpu idx %d w %.8g", i / MOE_TOPK,
                     i % MOE_TOPK, idx[i], w[i], idxc[i], wc[i]);
    }
report:
    *err = (double)wrong;
    if (wrong) st = kb_error("moe_route: %zu wrong; first: %s", wrong, msg);
done:
    free(lg); free(w); free(wc); free(idx); free(idxc); free(xr);
    return st;
}

static const kb_impl impls[] = {
    {"v1", KB_IMPL_HAND, moe_route_v1, "FP32 FMA tiled gate GEMM + one thread per token selection"},
    {"v2", KB_IMPL_HAND, moe_route_v2, "BF16 tensor-core (wmma) GEMM, 32 tokens x 256 experts per block, split-K below ~4k tokens, fused warp-per-token selection"},
    {"cublas", KB_IMPL_LIB, moe_route_cublas, "cublasGemmEx BF16->FP32 logits + thread-per-token selection kernel"},
};

const kb_op kb_op_moe_route = {
    .name = "moe_route",
    .what = "MoE router: gate GEMM [T,7168]x[256,7168]^T, sigmoid, group-limited top-8 of 256",
    .peak = KB_PEAK_BF16,
    KB_OP_FUNCS,
    KB_IMPLS(impls),
    .dims = {[ROUTE_D_T] = "t", [ROUTE_D_SKEW] = "skew"},
    .check = check,
};
