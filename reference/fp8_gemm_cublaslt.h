/* fp8_gemm_cublaslt.h - library baselines for fp8_gemm / fp8_gemm_grouped
 * (KB_IMPL_LIB).  ctx is an fp8_gemm_ctx (bench/ops/fp8_common.h).  Grouped
 * layouts: one cuBLASLt call per group over its valid rows (masked: uses
 * masked_m_host).  Algorithms come from cublasLtMatmulAlgoGetHeuristic, once
 * per (shape, group), on the first launch (the harness's verification run),
 * never inside the timed repetitions. */
#ifndef FP8_GEMM_CUBLASLT_H
#define FP8_GEMM_CUBLASLT_H
#include "bench/kb.h"
#ifdef __cplusplus
extern "C" {
#endif
/* FP8 with CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F (A, 1x128) and
 * CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F (B): the DeepGEMM semantics. */
kb_status fp8_gemm_cublaslt_blk(void *ctx, cudaStream_t stream);
/* FP8 with per-tensor scalar scales (1.0) on the same E4M3 bytes: the no-
 * scaling-overhead bound; verified against the unit-scale CPU sum. */
kb_status fp8_gemm_cublaslt_tensor(void *ctx, cudaStream_t stream);
/* BF16 GEMM (cuBLASLt, FP32 accumulate) on inputs dequantised at setup. */
kb_status fp8_gemm_cublas_bf16(void *ctx, cudaStream_t stream);
#ifdef __cplusplus
}
#endif
#endif
