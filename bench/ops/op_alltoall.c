/* op_alltoall.c - plain all-to-all sweep (nccl-tests alltoall_perf style):
 * every rank sends an equal chunk to every rank (itself included); message
 * size = the per-rank total, 1 KB .. 1 GB in x4 steps.
 *
 * Reported like nccl-tests: algbw = per-rank bytes / time (ep_algbw_gbs),
 * busbw = algbw * (n-1)/n (ep_busbw_gbs) - formulas in reference/ep_plan.c.
 * Ranks: N = GPUs present; one GPU -> LOOPBACK: N virtual ranks
 * (KBENCH_EP_RANKS, default 8) on one device, i.e. a device-to-device copy
 * pattern of N*N chunks.  Loopback rows: label ends in "_loopback", dim
 * loopback == 1 (ep_shape_is_loopback()); they are HBM copies, never NVLink
 * bandwidth.  Dims (bench/ops/ep_shapes.h): bytes = nominal bytes per rank,
 * ranks N, loopback; chunk = floor(bytes/N/16)*16 bytes (ep_a2a_chunk).
 *
 * Napkin math: bytes() = HBM bytes of the timed op = read + write of every chunk
 * = 2*N*chunk per rank (loopback: x N ranks); link_bytes() = (N-1)*chunk per
 * rank (what crosses NVLink in each direction).  1 GiB per rank on EP8: 0.94 GB
 * over NVLink per direction: ~2.5 ms at 370 GB/s (H100), ~5.9 ms at 160 GB/s
 * (H800).
 *
 * Verification: every received chunk compared word by word with the chunk
 * its source sent (reference/ep_check.cu); metric "wrong" = differing words. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "bench/kb.h"
#include "bench/ops/ep_host.h"
#include "bench/ops/op_common.h"

kb_status ep_copy_alltoall(void *ctx, cudaStream_t st);
#ifdef KB_HAVE_NCCL
kb_status ep_nccl_alltoall(void *ctx, cudaStream_t st);
#endif

typedef struct a2a_ctx {
    ep_args a; /* first member */
} a2a_ctx;

static kb_shape_table table;

static void build_shapes(kb_shape_table *t)
{
    int N, lb;
    ep_env_ranks(&N, &lb);
    for (int64_t b = 1024; b <= (int64_t)1 << 30; b *= 4) {
        unsigned sets = KB_SET_FULL;
        if (b == 1024 || b == ((int64_t)1 << 20) || b == ((int64_t)1 << 28)) sets |= KB_SET_QUICK;
        ep_add_a2a_shape(t, b, N, lb, sets);
        /* one GPU: also EP8 across real GPUs, for `kbench model` (skips at run time) */
        if (lb) ep_add_a2a_shape(t, b, 8, 0, sets);
    }
    ep_add_a2a_shape(t, 4096, ep_small_ranks(N, lb), lb, KB_SET_SMALL);
}

static const kb_shape *shapes(int *n) { return kb_op_table(&table, build_shapes, n); }

/* nccl-tests figures: algbw = per-rank bytes / time, busbw = algbw (n-1)/n. */
static void metrics(const kb_shape *s, double seconds, char *buf, size_t n)
{
    const double algbw = ep_algbw_gbs((double)s->d[EP_D_BYTES], seconds);
    snprintf(buf, n, "algbw_gbps=%.2f;busbw_gbps=%.2f;loopback=%d", algbw,
             ep_busbw_gbs(algbw, (int)s->d[EP_D_RANKS]), ep_shape_is_loopback(s));
}

/* Bytes over NVLink: none in loopback (one device). */
static double link_bytes(const kb_shape *s) { return ep_shape_is_loopback(s) ? 0 : ep_a2a_link_bytes(s); }

static double flops(const kb_shape *s) { (void)s; return 0; }

static void teardown(void *ctx)
{
    a2a_ctx *c = ctx;
    if (!c) return;
    ep_args_free(&c->a);
    free(c);
}

static kb_status build(void *ctx, const kb_shape *s)
{
    ep_args *a = &((a2a_ctx *)ctx)->a;
    KB_TRY(ep_args_init(a, (int)s->d[EP_D_RANKS], ep_shape_is_loopback(s)));
    a->a2a_chunk = ep_a2a_chunk(s);
    if (a->a2a_chunk < 16) return kb_skip("alltoall: chunk below 16 B");
    const size_t total = (size_t)a->n_ranks * (size_t)a->a2a_chunk;
    a->a2a_seed = kb_seed_for("alltoall", s);
    for (int r = 0; r < a->n_ranks; r++) {
        void *p;
        if (!ep_is_local(a, r)) continue; /* MPI mode: rank r's buffers live in its process */
        KB_TRY(ep_alloc(a, r, total, &p));
        a->tab.a2a_send[r] = p;
        KB_TRY(ep_fill_on_rank(a, r, p, total / 4, 0, 1.0f, 2.0f, a->a2a_seed + (uint64_t)r * 0x9e37ull));
        KB_TRY(ep_alloc(a, r, total, &p));
        a->tab.a2a_recv[r] = p;
    }
    return ep_tab_upload(a);
}

static kb_status setup(const kb_shape *s, void **out) { return kb_op_setup(s, out, sizeof(a2a_ctx), build, teardown); }

static kb_status poison_rank(ep_args *a, int r, void *user)
{
    (void)user;
    KB_CUDA_TRY(cudaMemset(a->tab.a2a_recv[r], 0xff, (size_t)a->n_ranks * (size_t)a->a2a_chunk));
    return KB_OK;
}

static kb_status poison(void *ctx, cudaStream_t stream) { return ep_poison_ranks(ctx, poison_rank); }

static kb_status verify(void *ctx, double *err, const char **metric)
{
    a2a_ctx *c = ctx;
    uint64_t wrong = 0;
    KB_TRY(ep_verify_begin(&c->a, err, metric));
    KB_TRY(ep_check_alltoall(&c->a, &wrong));
    *err = (double)wrong;
    if (wrong) return kb_error("alltoall: %llu wrong 4-byte words", (unsigned long long)wrong);
    return KB_OK;
}

static const kb_impl impls[] = {
    {"v1", KB_IMPL_HAND, ep_v1_alltoall, "SM copy: peer stores of 16 B vectors, completion flags; KBENCH_EP_SMS CTAs per rank"},
    {"memcpy", KB_IMPL_LIB, ep_copy_alltoall, "copy engines: cudaMemcpyPeerAsync per chunk (loopback: D2D memcpy)"},
#ifdef KB_HAVE_NCCL
    {"nccl", KB_IMPL_LIB, ep_nccl_alltoall, "NCCL grouped ncclSend/ncclRecv (>= 2 GPUs; one process: ncclCommInitAll, MPI: ncclCommInitRank)"},
#endif
};

const kb_op kb_op_alltoall = {
    .name = "alltoall",
    .what = "all-to-all sweep 1 KB..1 GB per rank (algbw, busbw = algbw*(n-1)/n)",
    .peak = KB_PEAK_NONE,
    .shapes = shapes,
    .flops = flops,
    .bytes = ep_a2a_bytes,
    .link_bytes = link_bytes,
    .metrics = metrics,
    KB_OP_GPU_FUNCS,
    KB_IMPLS(impls),
    .dims = EP_A2A_DIMS,
    .check = ep_a2a_check,
};
