/* mla_decode_cpu.h - plain C reference for MLA decode (double accumulation).
 * Layouts and semantics: kernels/mla_decode/mla_decode.h. */
#ifndef MLA_DECODE_CPU_H
#define MLA_DECODE_CPU_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Dequantise one cached token to doubles k[576] (k[0..511] is also v).
 * fp8kv == 0: `tok` points at 576 bf16; fp8kv == 1: at the 656-byte token. */
void mla_cpu_load_token(const void *tok, int fp8kv, double *k);

/* Address of token t of a sequence in a paged cache: page block_row[t/64],
 * row t%64. */
const void *mla_cpu_token_ptr(const void *cache, int fp8kv, const int32_t *block_row, int t);

/* Attention of one query row over keys [begin, end) of one sequence, only
 * keys t < n_visible taking part.  q: 576 bf16.  Writes o[512] (normalised)
 * and *lse (natural log; -INFINITY and o = 0 when no key is visible). */
void mla_cpu_attend(const uint16_t *q, const void *cache, int fp8kv, const int32_t *block_row,
                    int begin, int end, int n_visible, double scale, double *o, double *lse);

/* The whole operation: o [b, s_q, h_q, 512], lse [b, h_q, s_q] (doubles). */
void mla_decode_cpu(const uint16_t *q, const void *cache, int fp8kv, const int32_t *block_table,
                    int max_blocks, const int32_t *seqlens, int b, int s_q, int h_q, double scale,
                    double *o, double *lse);

/* Merge n partial results (each o_i normalised, with its lse_i) of one row:
 * lse = log(sum exp(lse_i)), o = sum exp(lse_i - lse) o_i.  Partials with
 * lse_i = -inf are ignored; if all are, o = 0 and lse = -inf. */
void mla_cpu_combine(int n, const double *o_parts, const double *lse_parts, int dv, double *o,
                     double *lse);

/* Keys query i (0-based, of s_q) of a sequence of len keys sees (causal):
 * len - s_q + 1 + i, clipped to [0, len].  0: the row's defined result is o =
 * 0 and lse = -inf (no visible key: an empty sequence, or len < s_q). */
int mla_cpu_visible(int len, int s_q, int i);

/* lse tolerance of verify: |lse - ref| / (1 + 0.01*|ref|) <= MLA_LSE_TOL
 * (natural-log units: ~0.1% on the softmax denominator; kernels compute
 * scores in FP32 from BF16 inputs, the reference in double). */
#define MLA_LSE_TOL 1e-3
/* Error of a kernel's lse against the reference's: where the reference says
 * -inf (no visible key) the only right answer is -inf (error 0, anything
 * else +inf); otherwise the relative error above, +inf for a non-finite got.
 * Never NaN. */
double mla_lse_err(double got, double ref);

#ifdef __cplusplus
}
#endif
#endif
