// peak_cublaslt.cu - cuBLASLt GEMM used to measure the FP8/BF16 tensor-core
// ceilings.  Row-major D[n,n] = A . B^T is, column-major, D^T = B^T(op T) . A:
// cuBLASLt "TN", the layout Hopper FP8 requires.  The plan is the fastest of
// several algorithms (NOTES below).
#include <cublasLt.h>
#include <math.h>
#include <stdio.h>
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

namespace {
// NOTES: the ceiling is the best cuBLASLt does, not its first heuristic: up to
// MAX_ALGOS heuristic results per setting, FP8 both with and without fast
// accumulation (CUBLASLT_MATMUL_DESC_FAST_ACCUM: Hopper's FP8 MMA without the
// periodic FP32 promotion, the faster of the two), each timed with events
// (untimed by kbench: setup) and the fastest kept.
constexpr int MAX_ALGOS = 8;
constexpr int TRIES = 5;

struct candidate {
    cublasLtMatmulAlgo_t algo;
    int8_t fast;
};

kb_status set_fast(plan *p, int8_t fast)
{
    KB_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &fast, sizeof fast));
    return KB_OK;
}

// Average ms of TRIES launches of one candidate after one warm launch; a
// candidate that fails to launch is +inf (never picked).
float time_algo(peak_args *a, plan *p, const cublasLtMatmulAlgo_t *algo, cudaEvent_t e0, cudaEvent_t e1)
{
    const float alpha = 1.0f, beta = 0.0f;
    float ms = 0;
    cudaEventRecord(e0, 0);
    for (int i = 0; i <= TRIES; i++) {
        if (i == 1) cudaEventRecord(e0, 0);
        if (cublasLtMatmul(p->h, p->op, &alpha, a->b, p->la, a->a, p->lb, &beta, a->d, p->ld, a->d, p->ld, algo, p->ws,
                           p->ws_bytes, 0) != CUBLAS_STATUS_SUCCESS)
            return INFINITY;
    }
    cudaEventRecord(e1, 0);
    if (cudaEventSynchronize(e1) != cudaSuccess || cudaEventElapsedTime(&ms, e0, e1) != cudaSuccess) {
        cudaGetLastError();
        return INFINITY;
    }
    return ms / TRIES;
}

// The heuristic's candidates for the current fast-accumulation setting,
// appended to c[*n].
kb_status add_candidates(plan *p, int8_t fast, candidate *c, int *n)
{
    cublasLtMatmulPreference_t pref;
    KB_CUBLAS_TRY(cublasLtMatmulPreferenceCreate(&pref));
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &p->ws_bytes,
                                         sizeof p->ws_bytes);
    cublasLtMatmulHeuristicResult_t res[MAX_ALGOS];
    int found = 0;
    cublasStatus_t s =
        cublasLtMatmulAlgoGetHeuristic(p->h, p->op, p->la, p->lb, p->ld, p->ld, pref, MAX_ALGOS, res, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    for (int i = 0; s == CUBLAS_STATUS_SUCCESS && i < found; i++)
        if (res[i].state == CUBLAS_STATUS_SUCCESS) c[(*n)++] = candidate{res[i].algo, fast};
    return KB_OK;
}

// Time every candidate; p->algo and the descriptor's fast-accumulation
// setting become the fastest's.
kb_status pick_fastest(peak_args *a, plan *p, const candidate *c, int n)
{
    cudaEvent_t e0, e1;
    KB_CUDA_TRY(cudaEventCreate(&e0));
    KB_CUDA_TRY(cudaEventCreate(&e1));
    int best = -1;
    float best_ms = INFINITY;
    for (int i = 0; i < n; i++) {
        if (set_fast(p, c[i].fast) != KB_OK) continue;
        float ms = time_algo(a, p, &c[i].algo, e0, e1);
        if (ms < best_ms) best_ms = ms, best = i;
    }
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    if (best < 0) return kb_error("none of %d cuBLASLt algorithms ran for n=%d", n, a->n);
    p->algo = c[best].algo;
    int id = -1;
    cublasLtMatmulAlgoConfigGetAttribute(&p->algo, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof id, nullptr);
    snprintf(a->chosen, sizeof a->chosen, "algo %d%s, fastest of %d (%.3f ms)", id,
             c[best].fast ? " with fast accumulation" : "", n, (double)best_ms);
    return set_fast(p, c[best].fast);
}

kb_status build_plan(peak_args *a, plan *p)
{
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
    return KB_OK;
}
} // namespace

extern "C" kb_status peak_cublaslt_plan(peak_args *a)
{
    plan *p = (plan *)calloc(1, sizeof(plan));
    if (!p) return kb_error("out of host memory");
    a->plan = p;
    KB_TRY(build_plan(a, p));
    candidate c[2 * MAX_ALGOS];
    int n = 0;
    for (int8_t fast = 0; fast <= (a->fp8 ? 1 : 0); fast++) {
        KB_TRY(set_fast(p, fast));
        KB_TRY(add_candidates(p, fast, c, &n));
    }
    if (n == 0) return kb_skip("cuBLASLt has no algorithm for %s n=%d on this GPU", a->fp8 ? "FP8" : "BF16", a->n);
    return pick_fastest(a, p, c, n);
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
