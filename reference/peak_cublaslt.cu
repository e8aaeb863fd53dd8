// peak_cublaslt.cu - cuBLASLt GEMM used to measure the FP8/BF16 tensor-core
// ceilings.  Row-major D[n,n] = A . B^T is, column-major, D^T = B^T(op T) . A:
// cuBLASLt "TN", the layout Hopper FP8 requires.
#include <cublasLt.h>
#include <stdlib.h>
#include "reference/peak_cublaslt.h"

namespace {
struct plan {
    cublasLtHandle_t h;
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t la, lb, ld;
    cublasLtMatmulAlgo_t algo;
    void *ws;
    size_t ws_bytes;
    float *one; // device scale 1.0 for the FP8 per-tensor scales
};
} // namespace

extern "C" void peak_cublaslt_free(peak_args *a)
{
    plan *p = (plan *)a->plan;
    if (!p) return;
    if (p->la) cublasLtMatrixLayoutDestroy(p->la);
    if (p->lb) cublasLtMatrixLayoutDestroy(p->lb);
    if (p->ld) cublasLtMatrixLayoutDestroy(p->ld);
    if (p->op) cublasLtMatmulDescDestroy(p->op);
    if (p->h) cublasLtDestroy(p->h);
    cudaFree(p->ws);
    cudaFree(p->one);
    free(p);
    a->plan = nullptr;
}

extern "C" kb_status peak_cublaslt_plan(peak_args *a)
{
    plan *p = (plan *)calloc(1, sizeof(plan));
    if (!p) return kb_error("out of host memory");
    a->plan = p;
    p->ws_bytes = 64u << 20;
    KB_CUDA_TRY(cudaMalloc(&p->ws, p->ws_bytes));
    KB_CUDA_TRY(cudaMalloc(&p->one, sizeof(float)));
    const float one = 1.0f;
    KB_CUDA_TRY(cudaMemcpy(p->one, &one, sizeof one, cudaMemcpyHostToDevice));
    const cudaDataType_t in = a->fp8 ? CUDA_R_8F_E4M3 : CUDA_R_16BF;
    const uint64_t n = (uint64_t)a->n;
    KB_CUBLAS_TRY(cublasLtCreate(&p->h));
    KB_CUBLAS_TRY(cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    cublasOperation_t t = CUBLAS_OP_T, nn = CUBLAS_OP_N;
    KB_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t));
    KB_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &nn, sizeof nn));
    if (a->fp8) {
        KB_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &p->one, sizeof p->one));
        KB_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &p->one, sizeof p->one));
    }
    // cuBLASLt A = our B (K x N col-major, ld K), cuBLASLt B = our A (K x M col-major), D = N x M col-major.
    KB_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&p->la, in, n, n, n));
    KB_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&p->lb, in, n, n, n));
    KB_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&p->ld, CUDA_R_16BF, n, n, n));
    cublasLtMatmulPreference_t pref;
    KB_CUBLAS_TRY(cublasLtMatmulPreferenceCreate(&pref));
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &p->ws_bytes,
                                         sizeof p->ws_bytes);
    cublasLtMatmulHeuristicResult_t res;
    int found = 0;
    cublasStatus_t s = cublasLtMatmulAlgoGetHeuristic(p->h, p->op, p->la, p->lb, p->ld, p->ld, pref, 1, &res, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    if (s != CUBLAS_STATUS_SUCCESS || found == 0)
        return kb_skip("cuBLASLt has no algorithm for %s n=%d on this GPU (status %d)", a->fp8 ? "FP8" : "BF16",
                       a->n, (int)s);
    p->algo = res.algo;
    return KB_OK;
}

extern "C" kb_status peak_cublaslt(void *ctx, cudaStream_t s)
{
    peak_args *a = (peak_args *)ctx;
    plan *p = (plan *)a->plan;
    if (!p) return kb_error("peak: no cuBLASLt plan");
    const float alpha = 1.0f, beta = 0.0f;
    KB_CUBLAS_TRY(cublasLtMatmul(p->h, p->op, &alpha, a->b, p->la, a->a, p->lb, &beta, a->d, p->ld, a->d, p->ld,
                          &p->algo, p->ws, p->ws_bytes, s));
    return KB_OK;
}
