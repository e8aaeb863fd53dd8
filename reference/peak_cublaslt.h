/* peak_cublaslt.h - tensor-core peak rates through cuBLASLt: a large square
 * "TN" GEMM D[n,n] = A[n,n] . B[n,n]^T, FP8 (E4M3 in, BF16 out, per-tensor
 * scales 1.0) or BF16, FP32 accumulation (FP8: or fast accumulation, when
 * that algorithm is the fastest). */
#ifndef PEAK_CUBLASLT_H
#define PEAK_CUBLASLT_H
#include <stdint.h>
#include "kernels/common/kb_base.h"
#ifdef __cplusplus
extern "C" {
#endif
typedef struct peak_args {
    int n;
    int fp8;            /* 1: E4M3 inputs; 0: BF16 inputs */
    const void *a, *b;  /* [n, n] row-major (K-major)     */
    uint16_t *d;        /* [n, n] BF16                     */
    void *plan;         /* cuBLASLt handle/descriptors/algo, built once by peak_cublaslt_plan */
    char chosen[96];    /* which algorithm the plan kept ("algo 21 with fast accumulation, fastest of 16 ...") */
} peak_args;
/* Pick the algorithm once: the fastest of up to 8 heuristic results, FP8 with
 * and without fast accumulation, each timed on the legacy stream (setup). */
kb_status peak_cublaslt_plan(peak_args *a);
void peak_cublaslt_free(peak_args *a);
kb_status peak_cublaslt(void *ctx, cudaStream_t s);
#ifdef __cplusplus
}
#endif
#endif
