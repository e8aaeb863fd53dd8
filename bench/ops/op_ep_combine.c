/* op_ep_combine.c - expert-parallel combine (DeepEP semantics), the reverse of
 * ep_dispatch: every rank holds one BF16 row per (token, rank) it received in
 * dispatch (the experts' output for that token on that rank) and sends it back
 * to the token's home rank, which adds the rows with weight w[t][d] = sum of
 * the token's top-k weights on rank d (FP32, increasing d), BF16 out.  The
 * dispatch layout is the input (DeepEP's cached "handle"): it comes from the
 * CPU plan of the same seeded routing (ep_plan.h), uploaded at setup.
 *
 * Ranks and loopback: as ep_dispatch (label "_loopback", loopback dim == 1: N virtual
 * ranks on one GPU, never NVLink bandwidth).  Dims: EP_D_* in bench/ops/ep_shapes.h.
 *
 * Napkin math (T=4096, H=7168, EP8): row = 14336 B BF16 per (token, rank);
 * ~14.9k rows per rank ~ 213 MB sent back per rank, 7/8 of it over NVLink
 * (~186 MB: ~0.5 ms at 370 GB/s, ~1.2 ms at 160 GB/s).
 * bytes() = read the received rows + ids/weights, write the combined tokens
 * (loopback: all N ranks); link_bytes() = rows on the busiest link direction x
 * 14336; flops() = 2*H per row (weighted sum).
 *
 * Verification: the combined tokens against a CPU double-precision weighted
 * sum (all tokens at small shapes, 256 sampled tokens per rank at large ones,
 * plus a NaN/Inf scan of every output); metric "wrong" = elements with
 * |got - ref| > 1e-3 + 8e-3 |ref| (BF16 output rounding is 2^-9 relative). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/kb.h"
#include "bench/ops/ep_host.h"
#include "bench/ops/op_common.h"

#ifdef KB_HAVE_NCCL
kb_status ep_nccl_combine(void *ctx, cudaStream_t st);
#endif

#define COMB_ATOL 1e-3
#define COMB_RTOL 8e-3
#define COMB_SAMPLE 256

typedef struct comb_ctx {
    ep_args a; /* first member */
    ep_moe_host h;
} comb_ctx;

static kb_shape_table table;

static void build_shapes(kb_shape_table *t)
{
    int N, lb;
    ep_env_ranks(&N, &lb);
    ep_moe_shapes(t, N, lb, ep_small_ranks(N, lb), "bf16");
}

static const kb_shape *shapes(int *n) { return kb_op_table(&table, build_shapes, n); }

/* DeepEP's logical bandwidth: received rows (local included) x row bytes / time. */
static void metrics(const kb_shape *s, double seconds, char *buf, size_t n)
{
    ep_logical_metrics(s, ep_combine_logical_bytes(s), seconds, buf, n);
}

/* Bytes over NVLink: none in loopback (one device), the busiest rank's
 * outgoing rows otherwise. */
static double link_bytes(const kb_shape *s) { return ep_shape_is_loopback(s) ? 0 : ep_combine_link_bytes(s); }

static int check(const kb_shape *s, char *why, size_t n) { return ep_moe_check("ep_combine", s, why, n); }

static void teardown(void *ctx)
{
    comb_ctx *c = ctx;
    if (!c) return;
    ep_args_free(&c->a);
    ep_moe_host_free(&c->h);
    free(c);
}

static kb_status build(void *ctx, const kb_shape *s)
{
    comb_ctx *c = ctx;
    ep_args *a = &c->a;
    KB_TRY(ep_setup_moe(a, s, &c->h));
    const ep_plan *pl = &c->h.plan;
    const int N = a->n_ranks, T = a->tokens, H = a->hidden;
    const uint64_t seed = kb_seed_for("ep_combine", s);
    for (int r = 0; r < N; r++) {
        void *p;
        const size_t rows = (size_t)pl->recv_count[r];
        KB_TRY(ep_alloc(a, r, rows * H * 2, &p));
        a->tab.y[r] = p;
        KB_TRY(ep_fill_on_rank(a, r, p, rows * H, 1, -1.0f, 1.0f, seed + (uint64_t)r));
        /* MPI mode: every process fills every rank's y (same seed, same values) so
         * verify can rebuild its tokens; stage/out exist only for its own rank */
        if (!ep_is_local(a, r)) continue;
        KB_TRY(ep_alloc(a, r, (size_t)pl->comb_count[r] * H * 2, &p));
        a->tab.comb_stage[r] = p;
        KB_TRY(ep_alloc(a, r, (size_t)T * H * 2, &p));
        a->tab.comb_out[r] = p;
    }
    KB_TRY(ep_tab_upload(a));
    KB_CUDA_TRY(cudaDeviceSynchronize());
    return KB_OK;
}

static kb_status setup(const kb_shape *s, void **out) { return kb_op_setup(s, out, sizeof(comb_ctx), build, teardown); }

static kb_status poison_rank(ep_args *a, int r, void *user)
{
    (void)user;
    KB_CUDA_TRY(cudaMemset(a->tab.comb_out[r], 0xff, (size_t)a->tokens * a->hidden * 2));
    KB_CUDA_TRY(cudaMemset(a->tab.comb_stage[r], 0xff, (size_t)a->tab.comb_rows[r] * a->hidden * 2));
    return KB_OK;
}

static kb_status poison(void *ctx, cudaStream_t stream) { return ep_poison_ranks(ctx, poison_rank); }

static kb_status verify(void *ctx, double *err, const char **metric)
{
    comb_ctx *c = ctx;
    ep_args *a = &c->a;
    const ep_plan *pl = &c->h.plan;
    const int N = a->n_ranks, T = a->tokens, H = a->hidden, E = a->n_experts, K = a->topk;
    KB_TRY(ep_verify_begin(a, err, metric));
    uint16_t *out = malloc((size_t)T * H * 2);
    uint16_t *yrow = malloc((size_t)H * 2);
    double *ref = malloc((size_t)H * sizeof(double));
    if (!out || !yrow || !ref) {
        free(out); free(yrow); free(ref);
        return kb_error("ep_combine verify: out of host memory");
    }
    const int full = (int64_t)N * T <= 4096;
    kb_rng rng;
    kb_rng_seed(&rng, 0x5eed);
    uint64_t wrong = 0;
    double max_err = 0;
    char first[160] = "";
    cudaError_t ce = cudaSuccess;
    for (int r = ep_r_lo(a); r < ep_r_hi(a) && ce == cudaSuccess; r++) { /* MPI: own rank; harness sums */
        if ((ce = cudaMemcpy(out, a->tab.comb_out[r], (size_t)T * H * 2, cudaMemcpyDeviceToHost))) break;
        for (size_t i = 0; i < (size_t)T * H; i++) /* full NaN/Inf scan */
            if (!isfinite(kb_bf16_to_f32(out[i]))) {
                wrong++;
                if (!first[0]) snprintf(first, sizeof first, "non-finite at rank %d token %zu", r, i / H);
            }
        const int ntok = full ? T : (T < COMB_SAMPLE ? T : COMB_SAMPLE);
        for (int j = 0; j < ntok && ce == cudaSuccess; j++) {
            const int t = full || ntok == T ? j : (int)(kb_rng_uniform(&rng) * T);
            for (int i = 0; i < H; i++) ref[i] = 0;
            for (int d = 0; d < N; d++) {
                const int32_t pos = pl->pos[((size_t)r * T + t) * N + d];
                if (pos < 0) continue;
                double w = 0;
                for (int k = 0; k < K; k++) {
                    size_t q = ((size_t)r * T + t) * K + k;
                    if (ep_owner(c->h.idx[q], E, N) == d) w += c->h.w[q];
                }
                if ((ce = cudaMemcpy(yrow, a->tab.y[d] + (size_t)pos * H, (size_t)H * 2, cudaMemcpyDeviceToHost)))
                    break;
                for (int i = 0; i < H; i++) ref[i] += w * kb_bf16_to_f32(yrow[i]);
            }
            for (int i = 0; i < H; i++) {
                double g = kb_bf16_to_f32(out[(size_t)t * H + i]);
                double e = fabs(g - ref[i]);
                if (!(e <= COMB_ATOL + COMB_RTOL * fabs(ref[i]))) {
                    wrong++;
                    if (!first[0])
                        snprintf(first, sizeof first, "rank %d token %d [%d]: %g, want %g", r, t, i, g, ref[i]);
                }
                if (e > max_err || isnan(e)) max_err = e;
            }
        }
    }
    free(out); free(yrow); free(ref);
    if (ce != cudaSuccess) return kb_error("ep_combine verify: %s", cudaGetErrorString(ce));
    *err = (double)wrong;
    if (wrong)
        return kb_error("ep_combine: %llu wrong elements (max abs err %.3g), %s", (unsigned long long)wrong,
                        max_err, first);
    return KB_OK;
}

static const kb_impl impls[] = {
    {"v1", KB_IMPL_HAND, ep_v1_combine,
     "direct peer writes into the home rank's staging, flags, warp-per-token weighted sum; KBENCH_EP_SMS CTAs"},
#ifdef KB_HAVE_NCCL
    {"nccl", KB_IMPL_LIB, ep_nccl_combine,
     "NCCL: gather rows per home rank, grouped ncclSend/ncclRecv, v1 weighted sum (>= 2 GPUs)"},
#endif
};

const kb_op kb_op_ep_combine = {
    .name = "ep_combine",
    .what = "expert-parallel combine: BF16 rows back to the home rank, weighted sum over its ranks",
    .peak = KB_PEAK_FP32,
    .shapes = shapes,
    .flops = ep_combine_flops,
    .bytes = ep_combine_bytes,
    .link_bytes = link_bytes,
    .metrics = metrics,
    KB_OP_GPU_FUNCS,
    KB_IMPLS(impls),
    .dims = EP_MOE_DIMS,
    .check = check,
};
