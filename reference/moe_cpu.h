/* moe_cpu.h - CPU reference for MoE routing, dispatch and combine (plain C,
 * double accumulation where it sums), and the dispatch LAYOUT BUILDER shared
 * with the expert-parallel operators (ep_dispatch / ep_combine).
 *
 * STABLE API: moe_layout_m_cap / moe_layout_build / moe_layout_group_idx /
 * moe_layout_build_masked define the layouts every dispatch implementation
 * must reproduce exactly; other operators may call them.  Semantics are in
 * kernels/moe/moe.h.  All arrays are host arrays, allocated by the caller.
 */
#ifndef MOE_CPU_H
#define MOE_CPU_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- layout builder -------------------------------------------------------
 * Input: topk_idx [n_tokens, topk], each entry a local expert in
 * [0, n_experts) or negative (= not on this GPU, skipped).
 *
 * Contiguous layout: counts[e] = number of slots (t, k) with topk_idx = e;
 * offsets[0] = 0, offsets[e+1] = offsets[e] + round_up(counts[e], align)
 * (an expert with no slot gets an empty segment); m_total = offsets[E];
 * row_of[t*topk + k] = offsets[e] + (number of slots t'*topk + k' < t*topk + k
 * with the same expert), or -1 when topk_idx < 0.
 * Returns m_total, or -1 if an entry is >= n_experts (nothing else written
 * is meaningful then).  Costs one pass over topk_idx plus O(E). */
int64_t moe_layout_build(const int32_t *topk_idx, int n_tokens, int topk, int n_experts, int align,
                         int32_t *counts, int32_t *offsets, int32_t *row_of);

/* Upper bound of m_total for any routing: n_tokens*topk + n_experts*(align-1),
 * rounded up to a multiple of align (size buffers with it). */
int64_t moe_layout_m_cap(int n_tokens, int topk, int n_experts, int align);

/* group_idx [m_cap]: expert of each row of the contiguous layout, -1 on
 * padding rows and on rows >= offsets[E]. */
void moe_layout_group_idx(const int32_t *counts, const int32_t *offsets, int n_experts,
                          int32_t *group_idx, int64_t m_cap);

/* Masked layout: counts as above; row_of = e * m_max + rank within expert e
 * (same ascending slot order), -1 when topk_idx < 0.  Returns the largest
 * count, or -1 if an expert id is out of range or a count exceeds m_max. */
int moe_layout_build_masked(const int32_t *topk_idx, int n_tokens, int topk, int n_experts, int m_max,
                            int32_t *counts, int32_t *row_of);

/* ---- routing --------------------------------------------------------------- */
/* One token's logits in double: logits[e] = sum_k x[k] * wg[e, k] (bf16
 * inputs); abs_sum[e] = sum_k |x[k] * wg[e, k]| (for error bounds; may be NULL). */
void moe_route_logits_token_cpu(const uint16_t *x_row, const uint16_t *wg, int hidden, int n_experts,
                                double *logits, double *abs_sum);

/* Selection on given FP32 logits [T, 256] (moe_select_token per token). */
void moe_route_select_cpu(const float *logits, const float *bias, int n_tokens,
                          int32_t *topk_idx, float *topk_w);

/* Whole route on the CPU: logits from the double GEMM rounded to FP32, then
 * the selection.  logits_out [T, 256] may be NULL. */
void moe_route_cpu(const uint16_t *x, const uint16_t *wg, const float *bias, int n_tokens, int hidden,
                   float *logits_out, int32_t *topk_idx, float *topk_w);

/* ---- dispatch -------------------------------------------------------------- */
/* Quantise one row of `hidden` bf16 values to E4M3 with 1x128 scales:
 * q [hidden], scales [hidden/128] (scale = amax/448, see moe.h). */
void moe_quant_row_cpu(const uint16_t *x_row, int hidden, uint8_t *q, float *scales);

/* Contiguous dispatch from a built layout (row_of / offsets / m_total).
 * bf16: out [m_total, hidden] uint16; e4m3: out [m_total, hidden] uint8 and
 * sa [hidden/128, sa_ld] (sa may be NULL for bf16).  Padding rows untouched. */
void moe_dispatch_bf16_cpu(const uint16_t *x, int n_tokens, int topk, int hidden, const int32_t *row_of,
                           uint16_t *out);
void moe_dispatch_e4m3_cpu(const uint16_t *x, int n_tokens, int topk, int hidden, const int32_t *row_of,
                           uint8_t *out, float *sa, int64_t sa_ld);

/* ---- combine --------------------------------------------------------------- */
/* y[t, j] = sum_k topk_w[t,k] * expert_out[row_of[t,k], j] in double
 * (slots with row_of < 0 skipped). */
void moe_combine_cpu(const uint16_t *expert_out, const int32_t *row_of, const float *topk_w,
                     int n_tokens, int topk, int hidden, double *y);

/* ---- benchmark routing ---------------------------------------------------- */
/* topk_idx [T, 8] for the dispatch/combine benchmarks: per token 8 distinct
 * global experts of 256 drawn without replacement, uniformly (skew 0) or with
 * experts 3, 40, 77, 150 weighing 32x (skew 1); stored as (global % E), the
 * local expert of an EP rank holding E experts (see bench/ops/op_moe_dispatch.c). */
void moe_routing_random(uint64_t seed, int T, int E, int skew, int32_t *idx);

/* ---- napkin math (also used by the op files) ------------------------------ */
double moe_route_flops(int n_tokens);
double moe_route_bytes(int n_tokens);
/* fmt: 0 = e4m3 contiguous, 1 = bf16 contiguous, 2 = e4m3 masked (moe.h). */
double moe_dispatch_bytes(int n_tokens, int n_experts, int fmt);
double moe_combine_bytes(int n_tokens);

#ifdef __cplusplus
}
#endif
#endif
