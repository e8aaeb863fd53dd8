/* op_ep_dispatch.c - expert-parallel dispatch (DeepEP semantics): every rank
 * holds T tokens (FP8 E4M3, 1x128 FP32 scales), routed top-8 of 256 experts
 * (group-limited: 4 of 8 groups) spread evenly over N ranks; each token goes
 * ONCE to every rank owning at least one of its experts, into that rank's
 * receive buffer in expert order (reference/ep_plan.h).
 *
 * Ranks: N = GPUs present; with one GPU the op runs in LOOPBACK mode: N
 * virtual ranks (KBENCH_EP_RANKS, default 8) as N buffer sets on one device.
 * How to tell a loopback row: the label ends in "_loopback" and shape dim loopback == 1
 * (ep_shape_is_loopback() in bench/ops/ep_shapes.h).  Loopback rows time the
 * pack/copy/unpack on one HBM for all N ranks: never read them as NVLink
 * bandwidth.  Dims: EP_D_* in bench/ops/ep_shapes.h (t, hidden, e, k, ranks,
 * loopback, ngroup, topkgroup).
 *
 * Napkin math (T=4096, H=7168, EP8): row = 7168 FP8 + 56*4 scales + 16 B
 * metadata = 7408 B (DeepEP low-latency counts the same 16 B; the payload
 * alone is 7392 B).  Uniform routing with 4 of 8 groups and groups = ranks
 * reaches 4*(1 - C(96,8)/C(128,8)) = 3.63 ranks per token (ep_expected_ranks;
 * the bytes are counted on the shape's seeded routing, so they are exact for
 * the data the benchmark moves).  Per rank: ~14.9k rows x 7408 B = ~110 MB
 * received, 7/8 of it (~96 MB) over NVLink: ~0.26 ms at 370 GB/s (H100
 * practical), ~0.6 ms at 160 GB/s (H800 practical).  bytes() = HBM bytes of
 * the timed op (read
 * tokens once + write received rows; loopback: all N ranks), link_bytes() =
 * rows on the busiest link direction x 7408.  Logical bandwidth (DeepEP) =
 * received rows x 7408 / time: ep_logical_gbs().
 *
 * Verification: every received row (payload and scales compared as bytes,
 * metadata field by field) against the CPU plan, plus the per-expert receive
 * counts; metric "wrong" = number of wrong bytes/words; any wrong fails. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/kb.h"
#include "bench/ops/ep_host.h"
#include "bench/ops/op_common.h"

#ifdef KB_HAVE_NCCL
kb_status ep_nccl_dispatch(void *ctx, cudaStream_t st);
#endif

typedef struct disp_ctx {
    ep_args a; /* first member: the launchers cast ctx to ep_args */
    ep_moe_host h;
    uint8_t *x_h;  /* [N][T][H] */
    float *xs_h;   /* [N][T][H/128] */
} disp_ctx;

static kb_shape_table table;

static void build_shapes(kb_shape_table *t)
{
    int N, lb;
    ep_env_ranks(&N, &lb);
    ep_moe_shapes(t, N, lb, ep_small_ranks(N, lb), "e4m3");
}

static const kb_shape *shapes(int *n) { return kb_op_table(&table, build_shapes, n); }

/* DeepEP's logical bandwidth: received rows (local included) x row bytes / time. */
static void metrics(const kb_shape *s, double seconds, char *buf, size_t n)
{
    ep_logical_metrics(s, ep_dispatch_logical_bytes(s), seconds, buf, n);
}

/* Bytes over NVLink: none in loopback (one device), the busiest rank's
 * outgoing rows otherwise. */
static double link_bytes(const kb_shape *s) { return ep_shape_is_loopback(s) ? 0 : ep_dispatch_link_bytes(s); }

static double flops(const kb_shape *s) { (void)s; return 0; }

static int check(const kb_shape *s, char *why, size_t n) { return ep_moe_check("ep_dispatch", s, why, n); }

static void teardown(void *ctx)
{
    disp_ctx *c = ctx;
    if (!c) return;
    ep_args_free(&c->a);
    ep_moe_host_free(&c->h);
    free(c->x_h);
    free(c->xs_h);
    free(c);
}

/* Random E4M3 bytes (no NaN: 0x7f/0xff become 0x7e/0xfe), random scales. */
static void fill_tokens(disp_ctx *c, const kb_shape *s, size_t nx, size_t nsc)
{
    kb_rng rng;
    kb_rng_seed(&rng, kb_seed_for("ep_dispatch", s));
    for (size_t i = 0; i < nx; i += 8) {
        uint64_t v = kb_rng_next(&rng);
        for (size_t j = 0; j < 8 && i + j < nx; j++) {
            uint8_t b = (uint8_t)(v >> (8 * j));
            if ((b & 0x7f) == 0x7f) b ^= 1;
            c->x_h[i + j] = b;
        }
    }
    for (size_t i = 0; i < nsc; i++) c->xs_h[i] = (float)(1e-3 + kb_rng_uniform(&rng) * 1e-2);
}

/* Rank r's tokens and scales (uploaded), receive buffers and expert counts. */
static kb_status alloc_rank(disp_ctx *c, int r)
{
    ep_args *a = &c->a;
    const int N = a->n_ranks, T = a->tokens, H = a->hidden, ns = H / 128;
    const size_t rows = (size_t)c->h.plan.recv_count[r];
    void *p;
    KB_TRY(ep_alloc(a, r, (size_t)T * H, &p));
    a->tab.x[r] = p;
    KB_CUDA_TRY(cudaMemcpy(p, c->x_h + (size_t)r * T * H, (size_t)T * H, cudaMemcpyHostToDevice));
    KB_TRY(ep_alloc(a, r, (size_t)T * ns * sizeof(float), &p));
    a->tab.x_scales[r] = p;
    KB_CUDA_TRY(cudaMemcpy(p, c->xs_h + (size_t)r * T * ns, (size_t)T * ns * sizeof(float), cudaMemcpyHostToDevice));
    KB_TRY(ep_alloc(a, r, rows * H, &p));
    a->tab.recv_x[r] = p;
    KB_TRY(ep_alloc(a, r, rows * ns * sizeof(float), &p));
    a->tab.recv_scales[r] = p;
    KB_TRY(ep_alloc(a, r, (size_t)(a->n_experts / N + 1) * sizeof(int32_t), &p));
    a->tab.recv_expert_cnt[r] = p;
    return KB_OK;
}

static kb_status build(void *ctx, const kb_shape *s)
{
    disp_ctx *c = ctx;
    KB_TRY(ep_setup_moe(&c->a, s, &c->h));
    const int N = c->a.n_ranks, T = c->a.tokens, H = c->a.hidden, ns = H / 128;
    const size_t nx = (size_t)N * T * H, nsc = (size_t)N * T * ns;
    c->x_h = malloc(nx);
    c->xs_h = malloc(nsc * sizeof(float));
    if (!c->x_h || !c->xs_h) return kb_error("ep_dispatch: out of host memory");
    fill_tokens(c, s, nx, nsc);
    for (int r = 0; r < N; r++)
        if (ep_is_local(&c->a, r)) KB_TRY(alloc_rank(c, r)); /* MPI mode: other ranks' buffers live in their process */
    return ep_tab_upload(&c->a);
}

static kb_status setup(const kb_shape *s, void **out) { return kb_op_setup(s, out, sizeof(disp_ctx), build, teardown); }

static kb_status poison_rank(ep_args *a, int r, void *user)
{
    (void)user;
    const int N = a->n_ranks, T = a->tokens, H = a->hidden;
    const size_t rows = (size_t)a->tab.recv_rows[r];
    KB_CUDA_TRY(cudaMemset(a->tab.recv_x[r], 0xff, rows * H));
    KB_CUDA_TRY(cudaMemset(a->tab.recv_scales[r], 0xff, rows * (H / 128) * sizeof(float)));
    KB_CUDA_TRY(cudaMemset(a->tab.recv_meta[r], 0xff, rows * sizeof(ep_meta)));
    const int L = ep_first_expert(r + 1, a->n_experts, N) - ep_first_expert(r, a->n_experts, N);
    KB_CUDA_TRY(cudaMemset(a->tab.recv_expert_cnt[r], 0xff, (size_t)L * sizeof(int32_t)));
    /* the layout is part of the op: poison it too */
    KB_CUDA_TRY(cudaMemset(a->tab.key[r], 0xff, (size_t)T * N * sizeof(int32_t)));
    KB_CUDA_TRY(cudaMemset(a->tab.slot[r], 0xff, (size_t)T * N * sizeof(int32_t)));
    KB_CUDA_TRY(cudaMemset(a->tab.slot_base[r], 0xff, (size_t)T * sizeof(int32_t)));
    KB_CUDA_TRY(cudaMemset(a->tab.cnt_all[r], 0xff, (size_t)N * a->n_experts * sizeof(int32_t)));
    return KB_OK;
}

static kb_status poison(void *ctx, cudaStream_t stream) { return ep_poison_ranks(ctx, poison_rank); }

static kb_status verify(void *ctx, double *err, const char **metric)
{
    disp_ctx *c = ctx;
    ep_args *a = &c->a;
    const ep_plan *pl = &c->h.plan;
    const int N = a->n_ranks, T = a->tokens, H = a->hidden, ns = H / 128, E = a->n_experts;
    KB_TRY(ep_verify_begin(a, err, metric));
    size_t max_rows = 1;
    for (int r = 0; r < N; r++)
        if ((size_t)pl->recv_count[r] > max_rows) max_rows = (size_t)pl->recv_count[r];
    uint8_t *rx = malloc(max_rows * H);
    float *rs = malloc(max_rows * ns * sizeof(float));
    ep_meta *rm = malloc(max_rows * sizeof(ep_meta));
    int32_t *rc = malloc((size_t)(E / N + 1) * sizeof(int32_t));
    if (!rx || !rs || !rm || !rc) {
        free(rx); free(rs); free(rm); free(rc);
        return kb_error("ep_dispatch verify: out of host memory");
    }
    uint64_t wrong = 0;
    char first[160] = "";
    cudaError_t ce = cudaSuccess;
    for (int d = ep_r_lo(a); d < ep_r_hi(a) && ce == cudaSuccess; d++) { /* MPI: own rank; harness sums */
        const size_t rows = (size_t)pl->recv_count[d];
        if ((ce = cudaMemcpy(rx, a->tab.recv_x[d], rows * H, cudaMemcpyDeviceToHost))) break;
        if ((ce = cudaMemcpy(rs, a->tab.recv_scales[d], rows * ns * sizeof(float), cudaMemcpyDeviceToHost))) break;
        if ((ce = cudaMemcpy(rm, a->tab.recv_meta[d], rows * sizeof(ep_meta), cudaMemcpyDeviceToHost))) break;
        const int L = ep_first_expert(d + 1, E, N) - ep_first_expert(d, E, N);
        if ((ce = cudaMemcpy(rc, a->tab.recv_expert_cnt[d], (size_t)L * sizeof(int32_t), cudaMemcpyDeviceToHost)))
            break;
        for (size_t p = 0; p < rows; p++) {
            const int r = pl->recv_src_rank[(size_t)d * N * T + p];
            const int t = pl->recv_src_token[(size_t)d * N * T + p];
            const uint8_t *want = c->x_h + ((size_t)r * T + t) * H;
            const uint8_t *got = rx + p * H;
            uint64_t w0 = wrong;
            if (memcmp(got, want, H))
                for (int i = 0; i < H; i++) wrong += got[i] != want[i];
            if (memcmp(rs + p * ns, c->xs_h + ((size_t)r * T + t) * ns, ns * sizeof(float)))
                for (int i = 0; i < ns; i++)
                    wrong += memcmp(rs + p * ns + i, c->xs_h + ((size_t)r * T + t) * ns + i, 4) != 0;
            ep_meta m = ep_expected_meta(&c->h, d, (int64_t)p);
            wrong += (rm[p].src_rank != m.src_rank) + (rm[p].src_token != m.src_token) +
                     (rm[p].comb_slot != m.comb_slot) + (rm[p].key != m.key);
            if (wrong != w0 && !first[0])
                snprintf(first, sizeof first, "first at rank %d row %zu (token %d of rank %d)", d, p, t, r);
        }
        const int e0 = ep_first_expert(d, E, N);
        for (int e = e0; e < ep_first_expert(d + 1, E, N); e++)
            if (rc[e - e0] != (int32_t)pl->expert_count[e]) {
                wrong++;
                if (!first[0])
                    snprintf(first, sizeof first, "expert %d count %d, want %lld", e, rc[e - e0],
                             (long long)pl->expert_count[e]);
            }
    }
    free(rx); free(rs); free(rm); free(rc);
    if (ce != cudaSuccess) return kb_error("ep_dispatch verify: %s", cudaGetErrorString(ce));
    *err = (double)wrong;
    if (wrong) return kb_error("ep_dispatch: %llu wrong bytes/words, %s", (unsigned long long)wrong, first);
    return KB_OK;
}

static const kb_impl impls[] = {
    {"v1", KB_IMPL_HAND, ep_v1_dispatch,
     "direct peer writes: layout + counts all-gather in peer memory, warp per token, flags; KBENCH_EP_SMS CTAs"},
#ifdef KB_HAVE_NCCL
    {"nccl", KB_IMPL_LIB, ep_nccl_dispatch,
     "NCCL: layout, counts ncclAllGather + D2H, pack, grouped ncclSend/ncclRecv, unpack (>= 2 GPUs)"},
#endif
};

const kb_op kb_op_ep_dispatch = {
    .name = "ep_dispatch",
    .what = "expert-parallel dispatch: FP8 tokens (+1x128 scales) to the ranks of their top-8 experts",
    .peak = KB_PEAK_NONE,
    .shapes = shapes,
    .flops = flops,
    .bytes = ep_dispatch_bytes,
    .link_bytes = link_bytes,
    .metrics = metrics,
    KB_OP_GPU_FUNCS,
    KB_IMPLS(impls),
    .dims = EP_MOE_DIMS,
    .check = check,
};
