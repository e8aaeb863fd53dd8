/* ep_geom.h - the expert-parallel geometry every EP layer shares (kernels,
 * the NCCL reference, the CPU plan, the operators): rank and expert limits,
 * which rank owns an expert, and the bytes of one dispatch / combine row.
 * Plain C, host and device (EP_HD); the model is described in reference/ep_plan.h. */
#ifndef EP_GEOM_H
#define EP_GEOM_H
#include <stdint.h>

/* Host and device inline functions (plain static inline in C). */
#ifdef __CUDACC__
#define EP_HD static __host__ __device__ __forceinline__
#else
#define EP_HD static inline
#endif

#define EP_MAX_RANKS 16 /* intranode EP is <= 8 GPUs; loopback may emulate up to 16 */
#define EP_MAX_TOPK 8
#define EP_MAX_EXPERTS 1024

/* ---- bytes per row ---------------------------------------------------------
 * Dispatch row = hidden FP8 bytes + hidden/128 FP32 scales + a 16 B metadata
 * record {src_rank, src_token, comb_slot, key} that the hand-written kernel
 * really writes (DeepEP low-latency also carries 16 B): 7168 + 224 + 16 = 7408
 * at hidden 7168.  The payload (7392 at 7168) leaves the 16 B out.
 * Combine row = hidden BF16 = 14336 B. */
#define EP_META_BYTES 16
static inline double ep_dispatch_payload_bytes(int64_t hidden) { return (double)hidden + (double)(hidden / 128) * 4.0; }
static inline double ep_dispatch_row_bytes(int64_t hidden) { return ep_dispatch_payload_bytes(hidden) + EP_META_BYTES; }
static inline double ep_combine_row_bytes(int64_t hidden) { return 2.0 * (double)hidden; }

/* Owner rank of expert e (contiguous blocks of E/N experts), and the first
 * expert of rank d: the smallest e with floor(e*N/E) >= d. */
EP_HD int ep_owner(int e, int n_experts, int n_ranks) { return (int)((int64_t)e * n_ranks / n_experts); }
EP_HD int ep_first_expert(int d, int n_experts, int n_ranks)
{
    return (int)(((int64_t)d * n_experts + n_ranks - 1) / n_ranks);
}

#endif
