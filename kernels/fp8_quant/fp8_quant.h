/* fp8_quant.h - arguments of the BF16 -> E4M3 quantisation kernels
 * (DeepSeek-V3 / DeepGEMM recipe).
 *
 * scale = max(amax, 1e-4) / 448 per group, q = e4m3_satfinite_rne(x / scale)
 * (IEEE division in FP32, exactly as the CPU reference does it).
 *
 *   FP8_QUANT_TOKEN (activations, 1x128 per-token groups):
 *       x [rows, cols] BF16, q [rows, cols] E4M3,
 *       s [cols/128, rows] FP32  (MN-major, the layout fp8_gemm's sa uses)
 *   FP8_QUANT_BLOCK (weights, 128x128 blocks):
 *       x [rows, cols] BF16, q [rows, cols] E4M3,
 *       s [ceil(rows/128), cols/128] FP32 (row-major; fp8_gemm's sb)
 * cols is a multiple of 128 at every shape; rows need not be (N = 2112, 576).
 */
#ifndef FP8_QUANT_H
#define FP8_QUANT_H
#include <stdint.h>
#include "kernels/common/kb_base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fp8_quant_mode {
    FP8_QUANT_TOKEN = 0,
    FP8_QUANT_BLOCK = 1
} fp8_quant_mode;

typedef struct fp8_quant_args {
    fp8_quant_mode mode;
    int rows, cols;
    const uint16_t *x;  /* BF16 in  */
    uint8_t *q;         /* E4M3 out */
    float *s;           /* scales out (layout per mode above) */
} fp8_quant_args;

#define FP8_E4M3_MAX 448.0f
#define FP8_AMAX_MIN 1e-4f

/* Launchers: ctx points to an fp8_quant_args (first member of the op ctx). */
kb_status fp8_quant_v1(void *ctx, cudaStream_t stream); /* simple: one warp per group / one block per tile */
kb_status fp8_quant_v2(void *ctx, cudaStream_t stream); /* vectorised 16-byte loads, 8-byte stores */

#ifdef __cplusplus
}
#endif
#endif
