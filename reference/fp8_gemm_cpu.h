/* fp8_gemm_cpu.h - plain-C CPU references for the FP8 operators: exact E4M3
 * decode (kb_e4m3_to_f32), block-scaled sums in double, all three GEMM
 * layouts (fp8_gemm.h), and the two quantisation recipes (fp8_quant.h). */
#ifndef FP8_GEMM_CPU_H
#define FP8_GEMM_CPU_H
#include <stddef.h>
#include <stdint.h>
#include "kernels/fp8_gemm/fp8_gemm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One dot product: sum_kb sa[kb*sa_stride] * sb[kb] * sum_{k in kb} a[k]*b[k]
 * (block_scaled = 0: the plain sum of a[k]*b[k], scales ignored).  a and b are
 * K E4M3 bytes, K a multiple of 128. */
double fp8_ref_dot(const uint8_t *a, const float *sa, size_t sa_stride,
                   const uint8_t *b, const float *sb, int k, int block_scaled);

/* D element of a GEMM whose fp8_gemm_args hold HOST pointers.
 *   dense / contiguous: row m of D (g ignored); contiguous padding rows
 *                       (group_idx[m] < 0) return NAN;
 *   masked:             group g, row m < m_max (rows past masked_m included). */
double fp8_gemm_ref_at(const fp8_gemm_args *h, int g, int m, int n, int block_scaled);

/* Full dense reference, out [M, N] (double). */
void fp8_gemm_ref_dense(int m, int n, int k, const uint8_t *a, const float *sa,
                        const uint8_t *b, const float *sb, double *out);

/* ---- quantisation ---------------------------------------------------------- */
/* scale = max(amax, 1e-4) / 448 (FP32). */
float fp8_quant_scale(float amax);
/* q = e4m3(x / scale) for n BF16 values at stride 1, scale from their amax.
 * Returns the scale. */
float fp8_quant_ref_group(const uint16_t *x, int n, uint8_t *q);
/* Per-token 1x128: x [rows, cols] -> q [rows, cols], s [cols/128, rows]. */
void fp8_quant_ref_tokens(int rows, int cols, const uint16_t *x, uint8_t *q, float *s);
/* 128x128 blocks: x [rows, cols] -> q, s [ceil(rows/128), cols/128]. */
void fp8_quant_ref_blocks(int rows, int cols, const uint16_t *x, uint8_t *q, float *s);
/* One 128x128 block (rows r0.. < rows): returns its scale, writes q. */
float fp8_quant_ref_block(int rows, int cols, const uint16_t *x, int rb, int cb, uint8_t *q);

/* E4M3 code distance: |rank(a) - rank(b)| on the ordered finite codes
 * (adjacent values differ by 1; +0 and -0 are the same rank); 255 if either
 * is NaN. */
int fp8_e4m3_ulp_dist(uint8_t a, uint8_t b);

#ifdef __cplusplus
}
#endif
#endif
