/* ep.h - arguments shared by every expert-parallel implementation (ep_dispatch,
 * ep_combine, alltoall): the hand-written NVLink kernels in kernels/ep/ and the
 * NCCL reference in reference/ep_nccl.cu.  The plan (receive order, counts) is
 * described in reference/ep_plan.h; the operators' host glue (modes, setup)
 * is bench/ops/ep_host.h.
 *
 * Ranks: N = the GPUs present (rank r on device r, peer access between all),
 * or LOOPBACK: N virtual ranks as N sets of buffers on one device (one GPU, or
 * KBENCH_EP_LOOPBACK=1), so pack/copy/unpack and correctness are exercised but
 * nothing crosses NVLink.  Every per-rank buffer below lives in rank r's
 * memory; kernels on any rank reach a peer's buffer through the device-side
 * pointer table (ep_tab), as DeepEP does with its buffer_ptrs.
 *
 * Environment:
 *   KBENCH_EP_SMS=n       CTAs (~SMs) per rank for the copy kernels (default 20)
 *   KBENCH_EP_RANKS=n     loopback: virtual ranks (default 8); several GPUs:
 *                         use only the first n of them
 *   KBENCH_EP_LOOPBACK=1  loopback even when several GPUs are present
 *
 * MPI mode (KB_WITH_MPI build under mpirun): N = the MPI size,
 * one GPU per process, never loopback; only the NCCL reference runs (the
 * hand-written path needs peer access inside one process and skips).
 *
 * Per-rank tensors (T tokens per rank, H hidden, E experts, K top-k):
 *   x          [T, H]      e4m3 (uint8)          dispatch input
 *   x_scales   [T, H/128]  f32                   1x128 scales of x
 *   topk_idx   [T, K]      int32 global expert ids
 *   topk_w     [T, K]      f32                   combine weights
 *   recv_x     [R_r, H]    e4m3   R_r = rows rank r receives (plan.recv_count)
 *   recv_scales[R_r, H/128] f32
 *   recv_meta  [R_r]       ep_meta
 *   recv_expert_cnt [E/N]  int32  rows keyed on each local expert
 *   key, slot  [T, N]      int32  layout scratch (see ep_plan.h), -1 = not sent
 *   slot_base  [T]         int32  first combine slot of each token
 *   cnt_all    [N, E]      int32  all-gathered count rows
 *   y          [R_r, H]    bf16   combine input, one row per received (token, r)
 *   comb_stage [C_r, H]    bf16   combine staging on the home rank, C_r = plan.comb_count
 *   comb_out   [T, H]      bf16   combine output
 *   a2a_send/a2a_recv [N * chunk] bytes (alltoall)
 */
#ifndef EP_H
#define EP_H
#include <stdint.h>
#include <stddef.h>
#include <cuda_runtime_api.h>
#include "kernels/common/kb_base.h"
#include "kernels/ep/ep_geom.h" /* EP_MAX_RANKS, EP_META_BYTES, ep_owner, ... */

#ifdef __cplusplus
extern "C" {
#endif

#define EP_DEFAULT_SMS 20   /* DeepSeek: ~20 of 132 SMs drive communication */
#define EP_DEFAULT_LOOPBACK_RANKS 8
#define EP_MAX_ALLOCS 512

/* 16 B metadata written with every dispatched row. */
typedef struct ep_meta {
    int32_t src_rank, src_token, comb_slot, key;
} ep_meta;

/* Completion flags, one set per rank in that rank's memory, zeroed at setup.
 * Monotonic: op number k waits for values >= k (or k * blocks).  k is the
 * device-side `epoch` the op's barrier kernel bumps (both modes; in loopback
 * stream order already orders everything).  Rules: kernels/ep/ep_proto.h. */
typedef struct ep_flags {
    unsigned long long barrier[EP_MAX_RANKS];   /* [src] = epoch at op start        */
    unsigned long long cnt_ready[EP_MAX_RANKS]; /* [src] = epoch: count row written */
    unsigned long long data_done[EP_MAX_RANKS]; /* [src] += 1 per finished block    */
    unsigned long long comb_done[EP_MAX_RANKS];
    unsigned long long a2a_done[EP_MAX_RANKS];
    unsigned long long epoch;                   /* own op counter: the barrier
                                                   kernel bumps it, later kernels read it,
                                                   so CUDA-graph replays stay in step  */
} ep_flags;

/* Device-side pointer table: entry [r] is rank r's buffer (a peer pointer on
 * other ranks).  One copy per device. */
typedef struct ep_tab {
    const uint8_t *x[EP_MAX_RANKS];
    const float *x_scales[EP_MAX_RANKS];
    const int32_t *topk_idx[EP_MAX_RANKS];
    const float *topk_w[EP_MAX_RANKS];
    uint8_t *recv_x[EP_MAX_RANKS];
    float *recv_scales[EP_MAX_RANKS];
    ep_meta *recv_meta[EP_MAX_RANKS];
    int32_t *recv_expert_cnt[EP_MAX_RANKS];
    int32_t *key[EP_MAX_RANKS];
    int32_t *slot[EP_MAX_RANKS];
    int32_t *slot_base[EP_MAX_RANKS];
    int32_t *cnt_all[EP_MAX_RANKS];
    ep_flags *flags[EP_MAX_RANKS];
    const uint16_t *y[EP_MAX_RANKS];
    uint16_t *comb_stage[EP_MAX_RANKS];
    uint16_t *comb_out[EP_MAX_RANKS];
    const int32_t *comb_slot_tab[EP_MAX_RANKS]; /* optional [T, N] slot of (t, d) in comb_stage (NCCL path) */
    const uint8_t *a2a_send[EP_MAX_RANKS];
    uint8_t *a2a_recv[EP_MAX_RANKS];
    int64_t recv_rows[EP_MAX_RANKS];
    int64_t comb_rows[EP_MAX_RANKS];
} ep_tab;

typedef struct ep_args {
    /* shape */
    int n_ranks, tokens, hidden, n_experts, topk;
    int64_t a2a_chunk;  /* alltoall: bytes from each rank to each rank (multiple of 16) */
    uint64_t a2a_seed;  /* alltoall: rank r's send buffer = kb_dev_fill_f32(1..2, a2a_seed + r * 0x9e37)
                           (MPI mode: the check regenerates other ranks' buffers from it) */
    /* mode */
    int loopback;       /* 1: all ranks virtual, on dev[0]                    */
    int sms;            /* blocks (~SMs) per rank for the copy kernels (KBENCH_EP_SMS) */
    int dev[EP_MAX_RANKS];
    int mpi, me;        /* MPI mode (bench/kb_mpi.h): one process per rank, this one is
                           rank `me`; only rank me's buffers/streams exist here (the
                           other entries stay NULL, except ep_combine's tab.y: local
                           replicas of every rank's input for the check), dev[*] =
                           this process's GPU */
    /* buffers: host copy of the pointer table, and its device copies */
    ep_tab tab;
    ep_tab *dev_tab[EP_MAX_RANKS]; /* [r]: the table in rank r's memory (loopback: [0] only) */
    /* multi-GPU streams: the launcher forks from the harness stream */
    cudaStream_t stream[EP_MAX_RANKS];
    cudaEvent_t ev_fork, ev_join[EP_MAX_RANKS];
    /* MPI mode: rank 0's value of v on every rank, and a broadcast from
     * `root` (bench/kb_mpi.h, filled by ep_args_init; NULL otherwise) */
    int (*mpi_root_int)(int v);
    void (*mpi_bcast)(void *p, size_t bytes, int root);
    /* the host plan (ep_dispatch / ep_combine; NULL for alltoall) */
    const struct ep_plan *plan;
    /* NCCL reference state (reference/ep_nccl.cu), opaque here */
    void *nccl;
    void (*nccl_free)(void *);
    /* allocations to free */
    void *alloc_ptr[EP_MAX_ALLOCS];
    int alloc_dev[EP_MAX_ALLOCS];
    int n_alloc;
} ep_args;

/* Ranks this process drives: all of them (single process), or its own (MPI). */
static inline int ep_r_lo(const ep_args *a) { return a->mpi ? a->me : 0; }
static inline int ep_r_hi(const ep_args *a) { return a->mpi ? a->me + 1 : a->n_ranks; }
static inline int ep_is_local(const ep_args *a, int r) { return !a->mpi || r == a->me; }

/* ---- per-rank helpers (kernels/ep/ep_args.c) ------------------------------- */
/* cudaMalloc on rank r's device (tracked; freed by ep_args_free). */
kb_status ep_alloc(ep_args *a, int r, size_t bytes, void **p);
/* Multi-GPU: make every rank's stream wait for `st`, and `st` wait for them. */
kb_status ep_fork(ep_args *a, cudaStream_t st);
kb_status ep_join(ep_args *a, cudaStream_t st);

/* ---- hand-written kernels (kernels/ep/ep_v1.cu) ---------------------------- */
kb_status ep_v1_dispatch(void *ctx, cudaStream_t st);
kb_status ep_v1_combine(void *ctx, cudaStream_t st);
kb_status ep_v1_alltoall(void *ctx, cudaStream_t st);
/* Pieces the NCCL reference reuses.  `r0`..`r0+nr-1`: ranks in this launch
 * (loopback: all, on one stream; multi-GPU: one rank on its own stream). */
kb_status ep_v1_layout(const ep_args *a, int r0, int nr, int notify, unsigned long long epoch,
                       cudaStream_t st);
/* Home-rank reduction of combine: wait_flags = 0 skips the completion wait. */
kb_status ep_v1_combine_reduce(const ep_args *a, int r0, int nr, int wait_flags,
                               unsigned long long epoch, cudaStream_t st);

/* ---- NCCL reference (reference/ep_nccl.cu, KB_HAVE_NCCL builds only) ------ */
/* One grouped NCCL exchange: ncclGroupStart, post(user) (the calls of the
 * group), then ncclGroupEnd on every path, also when a call inside failed (no
 * group is left open); returns post's status (and message), else
 * ncclGroupEnd's.  Every grouped exchange of ep_nccl.cu goes through it. */
kb_status ep_nccl_group(kb_status (*post)(void *user), void *user);

/* ---- verification helpers (reference/ep_check.cu) --------------------------- */
/* Count 4-byte words of alltoall receive buffers that differ from the source. */
kb_status ep_check_alltoall(const ep_args *a, uint64_t *wrong);

#ifdef __cplusplus
}
#endif
#endif
