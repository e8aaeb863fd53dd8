/* fp8_gemm_v1.h / fp8_gemm_v2.h launchers (hand-written FP8 GEMM variants).
 * One launcher per variant handles all three layouts (args->layout). */
#ifndef FP8_GEMM_V1_H
#define FP8_GEMM_V1_H
#include "kernels/fp8_gemm/fp8_gemm.h"
#ifdef __cplusplus
extern "C" {
#endif
/* v1: one thread per output, CUDA-core FP32 sums per 128-K block (correctness anchor). */
kb_status fp8_gemm_v1(void *ctx, cudaStream_t stream);
/* v2: mma.sync m16n8k32 E4M3 tensor cores, 128x128x128 tiles, 4-stage cp.async,
 *     ldmatrix from XOR-swizzled shared memory, FP32 promotion per 128-K block. */
kb_status fp8_gemm_v2(void *ctx, cudaStream_t stream);
#ifdef __cplusplus
}
#endif
#endif
