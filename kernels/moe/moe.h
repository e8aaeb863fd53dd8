/* moe.h - arguments shared by every implementation of the three single-GPU MoE
 * operators (hand-written kernels in kernels/moe/, library references in
 * reference/moe_lib.cu, CPU reference in reference/moe_cpu.c).
 *
 * Routing (DeepSeek-V3 noaux_tc, deepseek-v3.md):
 *   logits [T, 256] = x [T, 7168] (bf16) . Wg [256, 7168]^T (bf16), FP32
 *   s = sigmoid(logits); v = s + bias (selection only)
 *   8 groups of 32 experts, group score = sum of the top-2 v of the group,
 *   keep the top-4 groups, pick the top-8 experts (by v) inside them;
 *   topk_w = s of the picked experts / their sum * 2.5.
 *   Ties: lower group / expert index first.  topk_idx[t, k] is in descending
 *   v order.  The selection arithmetic is shared bit-for-bit by every
 *   implementation (kernels/moe/moe_math.h), so that all implementations that
 *   start from the same logits agree exactly.
 *   Every implementation also writes the FP32 logits (an output of the op):
 *   verification re-runs the CPU selection on the GPU's own logits (GEMM
 *   rounding differs between any two GEMMs) and compares the logits to a CPU
 *   double GEMM with a tolerance (bench/ops/op_moe_route.c).
 *
 * Dispatch layouts ((token, k) = one "slot"; R = T * topk slots):
 *   contiguous (fmt E4M3 or BF16): rows grouped by local expert, expert e's
 *     segment starts at offsets[e] (padded to a multiple of `align` = 128, the
 *     grouped GEMM's M tile), offsets[E] = m_total <= m_cap.  Inside a segment
 *     the rows are in ascending slot order t*topk + k (deterministic).
 *     out [m_cap, hidden] (E4M3 or BF16); sa [hidden/128, m_cap] FP32
 *     (MN-major, the contiguous layout of kernels/fp8_gemm/fp8_gemm.h, leading
 *     dimension m_cap); group_idx [m_cap] = expert of a row, -1 on padding
 *     rows and on rows >= m_total.  Padding rows of out/sa are never written
 *     and never referenced.
 *   masked (fmt E4M3_MASKED): out [E, m_max, hidden] E4M3, sa [E, hidden/128,
 *     m_max] FP32 (fp8_gemm.h masked layout), counts[E] = valid rows per
 *     expert (masked_m); row of slot = e * m_max + rank; rows >= counts[e] are
 *     never written.
 *   counts [E], row_of [T, topk] (the map (token, k) -> row, -1 when
 *   topk_idx[t, k] < 0, i.e. the expert is not on this GPU).
 *   E4M3 quantisation per 1x128 group: amax = max|x| clamped to >= 1e-4,
 *   scale = amax / 448, q = e4m3_satfinite(x * (448 / amax)), both divisions
 *   IEEE round-to-nearest FP32 (moe_quant_scale in moe_math.h).
 *
 * Combine: y[t] = sum_k topk_w[t, k] * expert_out[row_of[t, k]] (BF16 in, FP32
 *   sum in ascending k, BF16 out); slots with row_of < 0 are skipped.
 */
#ifndef MOE_H
#define MOE_H
#include <stddef.h>
#include <stdint.h>
#include "kernels/common/kb_base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOE_HIDDEN 7168
#define MOE_N_EXPERTS 256   /* routed experts (global)                  */
#define MOE_TOPK 8
#define MOE_N_GROUPS 8
#define MOE_TOPK_GROUPS 4
#define MOE_ROUTE_SCALE 2.5f
#define MOE_ALIGN 128       /* contiguous segments padded to this        */
#define MOE_QBLOCK 128      /* 1x128 quantisation groups                 */
#define MOE_MAX_LOCAL_EXPERTS 256

typedef struct moe_route_args {
    int t;               /* tokens                                        */
    int hidden;          /* 7168 (multiple of 64)                         */
    const uint16_t *x;   /* [T, hidden] bf16                              */
    const uint16_t *wg;  /* [256, hidden] bf16 gate weight                */
    const float *bias;   /* [256] selection bias (e_score_correction_bias) */
    float *logits;       /* [T, 256] FP32 out                             */
    int32_t *topk_idx;   /* [T, 8] out                                    */
    float *topk_w;       /* [T, 8] out                                    */
    void *workspace;     /* device scratch, moe_route_workspace_bytes; must be
                            zeroed once when allocated (v2 keeps self-resetting
                            split-K tile counters at its start)              */
    size_t workspace_bytes;
} moe_route_args;

/* Route v2 split-K scratch: tile counters, then FP32 partial tiles. */
#define MOE_ROUTE_MAX_SPLIT 16
#define MOE_ROUTE_COUNTER_BYTES 4096 /* up to 1024 tiles of 32 tokens       */
#define MOE_ROUTE_PARTIAL_BYTES ((size_t)16 << 20)

typedef enum moe_dispatch_fmt {
    MOE_FMT_E4M3 = 0,        /* contiguous, quantised, 1x128 scales        */
    MOE_FMT_BF16 = 1,        /* contiguous, plain copy                     */
    MOE_FMT_E4M3_MASKED = 2  /* masked [E, m_max, hidden], quantised       */
} moe_dispatch_fmt;

typedef struct moe_dispatch_args {
    moe_dispatch_fmt fmt;
    int t;                   /* tokens                                    */
    int hidden;              /* multiple of 128                           */
    int topk;                /* 8                                         */
    int n_experts;           /* local experts E <= 256                    */
    int m_cap;               /* contiguous: rows of out / ld of sa (>= moe_layout_m_cap) */
    int m_max;               /* masked: rows per expert (>= every count)  */
    const uint16_t *x;       /* [T, hidden] bf16                          */
    const int32_t *topk_idx; /* [T, topk] local expert in [0, E) or -1    */
    void *out;               /* see layouts above                         */
    float *sa;               /* see layouts above (NULL for BF16)         */
    int32_t *counts;         /* [E]                                       */
    int32_t *offsets;        /* [E + 1] contiguous only (NULL for masked) */
    int32_t *group_idx;      /* [m_cap] contiguous only (NULL for masked) */
    int32_t *row_of;         /* [T, topk]                                 */
    void *workspace;         /* device scratch, see moe_dispatch_workspace_bytes */
    size_t workspace_bytes;
} moe_dispatch_args;

typedef struct moe_combine_args {
    int t, hidden, topk;       /* hidden multiple of 128                  */
    int m_rows;                /* rows of expert_out                      */
    const uint16_t *expert_out;/* [m_rows, hidden] bf16                   */
    const int32_t *row_of;     /* [T, topk], -1 = slot not on this GPU    */
    const float *topk_w;       /* [T, topk]                               */
    uint16_t *y;               /* [T, hidden] bf16 out                    */
    void *workspace;
    size_t workspace_bytes;
} moe_combine_args;

/* Launchers: ctx points at a struct whose first member is the args struct. */
kb_status moe_route_v1(void *ctx, cudaStream_t stream);
kb_status moe_route_v2(void *ctx, cudaStream_t stream);
kb_status moe_route_cublas(void *ctx, cudaStream_t stream);      /* reference/moe_lib.cu */
kb_status moe_dispatch_v1(void *ctx, cudaStream_t stream);
kb_status moe_dispatch_v2(void *ctx, cudaStream_t stream);
kb_status moe_dispatch_cub(void *ctx, cudaStream_t stream);      /* reference/moe_lib.cu */
kb_status moe_combine_v1(void *ctx, cudaStream_t stream);
kb_status moe_combine_v2(void *ctx, cudaStream_t stream);
kb_status moe_combine_scatter(void *ctx, cudaStream_t stream);   /* reference/moe_lib.cu */
/* Selection step alone (v1's kernel 2, also run by moe_route_cublas): one
 * thread per token runs moe_select_token on FP32 logits [t, 256]. */
kb_status moe_route_select(const float *logits, const float *bias, int32_t *topk_idx, float *topk_w, int t,
                           cudaStream_t stream);

/* Device scratch each family needs (the op allocates the maximum). */
size_t moe_route_workspace_bytes(const moe_route_args *a);
size_t moe_dispatch_workspace_bytes(const moe_dispatch_args *a);
size_t moe_combine_workspace_bytes(const moe_combine_args *a);

#ifdef __cplusplus
}
#endif
#endif
