// fp8_gemm_cublaslt.cu - cuBLASLt baselines for the FP8 GEMM operators.
//
// cuBLASLt is column-major; our tensors are row-major "NT":  D[M,N] = A[M,K] B[N,K]^T.
// Read as column-major, D is N x M (ld N), B is K x N (ld K), A is K x M (ld K), so
//   D_cm = op(B_cm) * A_cm  with op = transpose:  cuBLAS "A" = our B (weights,
//   128x128 block scales), cuBLAS "B" = our A (activations, 1x128 scales),
//   m = N, n = rows, k = K  -- the "TN" form FP8 GEMMs require on Hopper.
// Scale tensors (as PyTorch's scaled_mm feeds them to cuBLASLt 12.9+):
//   VEC128_32F (activations): [K/128][round_up(rows, 4)] FP32, rows contiguous = our
//     MN-major sa with the leading dimension padded to a multiple of 4 (16-byte
//     aligned columns, Transformer Engine's GEMM_READY 1D layout; identical to
//     PyTorch's [K/128][rows] whenever rows % 4 == 0); a per-group copy is built
//     at setup (fp8_lib_sa_ld in fp8_common.h);
//   BLK128x128_32F (weights): [ceil(N/128)][round_up(K/128, 4)] FP32 = our sb with
//     the K-block dimension padded to a multiple of 4 (copy built at setup).
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_fp16.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/ops/fp8_common.h"
#include "reference/fp8_gemm_cublaslt.h"

namespace {
enum { MODE_BLOCK = 0, MODE_TENSOR = 1, MODE_BF16 = 2, NMODES = 3 };
const char *const mode_name[NMODES] = {"FP8 VEC128 x BLK128x128 scales", "FP8 per-tensor scales", "BF16"};

struct plan {
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatmulAlgo_t algo;
    const void *A, *B;
    void *D;
};

struct lib_state {
    bool built[NMODES];
    kb_status status[NMODES];
    char why[NMODES][256];
    int nplans[NMODES];
    plan plans[NMODES][FP8_MAX_GROUPS];
};

cublasLtHandle_t g_handle = nullptr;

kb_status ensure_handle()
{
    if (g_handle) return KB_OK;
    cublasStatus_t s = cublasLtCreate(&g_handle);
    if (s != CUBLAS_STATUS_SUCCESS) return kb_error("cublasLtCreate failed: %d", (int)s);
    return KB_OK;
}

__device__ __forceinline__ float e4m3_to_f32(uint8_t v)
{
    __half_raw h = __nv_cvt_fp8_to_halfraw((__nv_fp8_storage_t)v, __NV_E4M3);
    return __half2float(*reinterpret_cast<__half *>(&h));
}

// a_bf16[r, k] = e4m3(a[r, k]) * sa(r, k/128); masked sa is [G][K/128][m], else [K/128][m].
__global__ void dequant_a_kernel(const uint8_t *a, const float *sa, __nv_bfloat16 *out, int64_t rows, int k, int m,
                                 int masked)
{
    const int kb_n = k / 128;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < rows * k; i += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = i / k;
        const int kb = (int)(i % k) / 128;
        const float s = masked ? sa[(r / m) * kb_n * m + (int64_t)kb * m + r % m] : sa[(int64_t)kb * m + r];
        out[i] = __float2bfloat16(e4m3_to_f32(a[i]) * s);
    }
}

// b_bf16[g, n, k] = e4m3(b[g, n, k]) * sb[g, n/128, k/128].
__global__ void dequant_b_kernel(const uint8_t *b, const float *sb, __nv_bfloat16 *out, int64_t grows, int n, int k)
{
    const int kb_n = k / 128, nb_n = (n + 127) / 128;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < grows * k; i += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = i / k;
        const int64_t g = r / n, nn = r % n;
        const int kb = (int)(i % k) / 128;
        out[i] = __float2bfloat16(e4m3_to_f32(b[i]) * sb[(g * nb_n + nn / 128) * kb_n + kb]);
    }
}

unsigned grid_for(int64_t n)
{
    int64_t b = (n + 255) / 256;
    return (unsigned)(b > 65535 ? 65535 : (b < 1 ? 1 : b));
}

#define LT(call, what)                                                                      \
    do {                                                                                    \
        cublasStatus_t s_ = (call);                                                         \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                  \
            snprintf(why, sizeof st->why[0], "%s: %s failed (status %d, cuBLASLt %zu)",    \
                     mode_name[mode], what, (int)s_, cublasLtGetVersion());                 \
            return s_ == CUBLAS_STATUS_NOT_SUPPORTED || s_ == CUBLAS_STATUS_INVALID_VALUE   \
                       ? KB_SKIP : KB_FAIL;                                                 \
        }                                                                                   \
    } while (0)

kb_status build_plan(fp8_gemm_ctx *c, lib_state *st, int mode, int g, plan *pl)
{
    char *why = st->why[mode];
    const int n = c->args.n, k = c->args.k, rows = c->seg_rows[g];
    const bool fp8 = mode != MODE_BF16;
    const cudaDataType_t in_t = fp8 ? CUDA_R_8F_E4M3 : CUDA_R_16BF;
    const size_t in_sz = fp8 ? 1 : 2;
    const uint8_t *wb = fp8 ? c->d_b : (const uint8_t *)c->b_bf16;
    const uint8_t *ab = fp8 ? c->d_a : (const uint8_t *)c->a_bf16;
    pl->A = wb + (size_t)g * n * k * in_sz;
    pl->B = ab + (size_t)c->seg_start[g] * k * in_sz;
    pl->D = c->d_d + (size_t)c->seg_start[g] * n;

    // CUBLASLT_MATMUL_DESC_FAST_ACCUM stays at its default 0 in every mode: the
    // block-scaled modes require it off (PyTorch and Transformer Engine refuse
    // fast accumulation with 1x128 / 128x128 scales), and the per-tensor mode
    // keeps the same split accumulation so that only the scaling differs.
    LT(cublasLtMatmulDescCreate(&pl->op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "MatmulDescCreate");
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    LT(cublasLtMatmulDescSetAttribute(pl->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta), "TRANSA");
    LT(cublasLtMatmulDescSetAttribute(pl->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb), "TRANSB");
    if (mode == MODE_BLOCK) {
        const int32_t ma = CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F, mb = CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F;
        const void *pa = c->lib_sb + (size_t)g * fp8_ceil_div(n, 128) * c->lib_sb_ld;
        const void *pb = c->lib_sa + c->lib_sa_off[g];
        LT(cublasLtMatmulDescSetAttribute(pl->op, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &ma, sizeof ma), "A_SCALE_MODE=BLK128x128_32F");
        LT(cublasLtMatmulDescSetAttribute(pl->op, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &mb, sizeof mb), "B_SCALE_MODE=VEC128_32F");
        LT(cublasLtMatmulDescSetAttribute(pl->op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &pa, sizeof pa), "A_SCALE_POINTER");
        LT(cublasLtMatmulDescSetAttribute(pl->op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &pb, sizeof pb), "B_SCALE_POINTER");
    } else if (mode == MODE_TENSOR) {
        const void *one = c->d_one;
        LT(cublasLtMatmulDescSetAttribute(pl->op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &one, sizeof one), "A_SCALE_POINTER");
        LT(cublasLtMatmulDescSetAttribute(pl->op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &one, sizeof one), "B_SCALE_POINTER");
    }
    LT(cublasLtMatrixLayoutCreate(&pl->la, in_t, (uint64_t)k, (uint64_t)n, (int64_t)k), "layout A");
    LT(cublasLtMatrixLayoutCreate(&pl->lb, in_t, (uint64_t)k, (uint64_t)rows, (int64_t)k), "layout B");
    LT(cublasLtMatrixLayoutCreate(&pl->lc, CUDA_R_16BF, (uint64_t)n, (uint64_t)rows, (int64_t)n), "layout D");

    cublasLtMatmulPreference_t pref;
    LT(cublasLtMatmulPreferenceCreate(&pref), "PreferenceCreate");
    const size_t ws = c->args.workspace_bytes;
    cublasStatus_t s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    cublasLtMatmulHeuristicResult_t res;
    int nres = 0;
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulAlgoGetHeuristic(g_handle, pl->op, pl->la, pl->lb, pl->lc, pl->lc, pref, 1, &res, &nres);
    cublasLtMatmulPreferenceDestroy(pref);
    if (s != CUBLAS_STATUS_SUCCESS || nres < 1) {
        snprintf(why, sizeof st->why[0], "%s: no cuBLASLt algorithm for m=%d n=%d k=%d (heuristic status %d, %d results, cuBLASLt %zu)",
                 mode_name[mode], n, rows, k, (int)s, nres, cublasLtGetVersion());
        return KB_SKIP;
    }
    pl->algo = res.algo;
    return KB_OK;
}

void destroy_plan(plan *pl)
{
    if (pl->lc) cublasLtMatrixLayoutDestroy(pl->lc);
    if (pl->lb) cublasLtMatrixLayoutDestroy(pl->lb);
    if (pl->la) cublasLtMatrixLayoutDestroy(pl->la);
    if (pl->op) cublasLtMatmulDescDestroy(pl->op);
    memset(pl, 0, sizeof *pl);
}

kb_status run_mode(void *ctx, cudaStream_t stream, int mode)
{
    fp8_gemm_ctx *c = (fp8_gemm_ctx *)ctx;
    lib_state *st = (lib_state *)c->lib;
    if (!st) return kb_error("fp8_gemm cuBLASLt: library state missing (setup did not run prepare)");
    if (!st->built[mode]) {   // first launch = verification run: plan + heuristic, outside timing
        KB_TRY(ensure_handle());
        st->built[mode] = true;
        st->status[mode] = KB_OK;
        for (int g = 0; g < c->groups; g++) {
            if (c->seg_rows[g] == 0) continue;
            plan *pl = &st->plans[mode][st->nplans[mode]++];
            kb_status s = build_plan(c, st, mode, g, pl);
            if (s != KB_OK) {
                st->status[mode] = s;
                break;
            }
        }
    }
    if (st->status[mode] == KB_SKIP) return kb_skip("%s", st->why[mode]);
    if (st->status[mode] != KB_OK) return kb_error("%s", st->why[mode]);
    const float alpha = 1.0f, beta = 0.0f;
    for (int i = 0; i < st->nplans[mode]; i++) {
        plan *pl = &st->plans[mode][i];
        cublasStatus_t s = cublasLtMatmul(g_handle, pl->op, &alpha, pl->A, pl->la, pl->B, pl->lb, &beta, pl->D, pl->lc,
                                          pl->D, pl->lc, &pl->algo, c->args.workspace, c->args.workspace_bytes, stream);
        if (s == CUBLAS_STATUS_NOT_SUPPORTED) {   // unsupported combination: remember, report as skip
            st->status[mode] = KB_SKIP;
            snprintf(st->why[mode], sizeof st->why[0], "%s: cublasLtMatmul: not supported for m=%d k=%d (cuBLASLt %zu)",
                     mode_name[mode], c->args.n, c->args.k, cublasLtGetVersion());
            return kb_skip("%s", st->why[mode]);
        }
        if (s != CUBLAS_STATUS_SUCCESS) return kb_error("%s: cublasLtMatmul failed (status %d)", mode_name[mode], (int)s);
    }
    if (mode == MODE_TENSOR) c->ref_mode = FP8_REF_TENSOR;
    return KB_OK;
}
} // namespace

extern "C" kb_status fp8_gemm_cublaslt_blk(void *ctx, cudaStream_t stream) { return run_mode(ctx, stream, MODE_BLOCK); }
extern "C" kb_status fp8_gemm_cublaslt_tensor(void *ctx, cudaStream_t stream) { return run_mode(ctx, stream, MODE_TENSOR); }
extern "C" kb_status fp8_gemm_cublas_bf16(void *ctx, cudaStream_t stream) { return run_mode(ctx, stream, MODE_BF16); }

extern "C" kb_status fp8_gemm_lib_prepare(fp8_gemm_ctx *c, cudaStream_t stream)
{
    const int n = c->args.n, k = c->args.k, kb = k / 128, nb = (int)fp8_ceil_div(n, 128);
    const size_t rows = (size_t)c->rows_total, G = (size_t)c->groups;
    lib_state *st = (lib_state *)calloc(1, sizeof(lib_state));
    if (!st) return kb_error("fp8_gemm lib: out of host memory");
    c->lib = st;

    // Weight scales, K-block dimension padded to a multiple of 4.
    c->lib_sb_ld = (int)fp8_round_up(kb, 4);
    KB_CUDA_TRY(cudaMalloc((void **)&c->lib_sb, G * nb * c->lib_sb_ld * sizeof(float)));
    KB_CUDA_TRY(cudaMemsetAsync(c->lib_sb, 0, G * nb * c->lib_sb_ld * sizeof(float), stream));
    KB_CUDA_TRY(cudaMemcpy2DAsync(c->lib_sb, (size_t)c->lib_sb_ld * sizeof(float), c->d_sb, (size_t)kb * sizeof(float),
                                  (size_t)kb * sizeof(float), G * nb, cudaMemcpyDeviceToDevice, stream));
    // Activation scales, one [K/128][round_up(rows_g, 4)] block per group (every
    // column 16-byte aligned, padding zero).
    const size_t off = fp8_lib_sa_layout(c->groups, c->seg_rows, kb, c->lib_sa_off);
    KB_CUDA_TRY(cudaMalloc((void **)&c->lib_sa, (off ? off : 4) * sizeof(float)));
    KB_CUDA_TRY(cudaMemsetAsync(c->lib_sa, 0, (off ? off : 4) * sizeof(float), stream));
    for (int g = 0; g < c->groups; g++) {
        if (c->seg_rows[g] == 0) continue;
        const bool masked = c->args.layout == FP8_GEMM_MASKED;
        const float *src = masked ? c->d_sa + (size_t)g * kb * c->args.m : c->d_sa + c->seg_start[g];
        KB_CUDA_TRY(cudaMemcpy2DAsync(c->lib_sa + c->lib_sa_off[g], (size_t)fp8_lib_sa_ld(c->seg_rows[g]) * sizeof(float), src,
                                      (size_t)c->args.m * sizeof(float), (size_t)c->seg_rows[g] * sizeof(float),
                                      (size_t)kb, cudaMemcpyDeviceToDevice, stream));
    }
    // Dequantised BF16 inputs for the BF16 baseline.
    KB_CUDA_TRY(cudaMalloc((void **)&c->a_bf16, rows * k * sizeof(uint16_t)));
    KB_CUDA_TRY(cudaMalloc((void **)&c->b_bf16, G * n * k * sizeof(uint16_t)));
    dequant_a_kernel<<<grid_for((int64_t)(rows * k)), 256, 0, stream>>>(
        c->d_a, c->d_sa, (__nv_bfloat16 *)c->a_bf16, (int64_t)rows, k, c->args.m, c->args.layout == FP8_GEMM_MASKED);
    KB_CUDA_TRY(cudaGetLastError());
    dequant_b_kernel<<<grid_for((int64_t)(G * n * k)), 256, 0, stream>>>(c->d_b, c->d_sb, (__nv_bfloat16 *)c->b_bf16,
                                                                         (int64_t)(G * n), n, k);
    KB_CUDA_TRY(cudaGetLastError());
    const float one = 1.0f;
    KB_CUDA_TRY(cudaMalloc((void **)&c->d_one, sizeof(float)));
    KB_CUDA_TRY(cudaMemcpy(c->d_one, &one, sizeof one, cudaMemcpyHostToDevice));
    return ensure_handle();
}

extern "C" void fp8_gemm_lib_release(fp8_gemm_ctx *c)
{
    lib_state *st = (lib_state *)c->lib;
    if (st) {
        for (int m = 0; m < NMODES; m++)
            for (int i = 0; i < st->nplans[m]; i++) destroy_plan(&st->plans[m][i]);
        free(st);
        c->lib = nullptr;
    }
    cudaFree(c->lib_sb);
    cudaFree(c->lib_sa);
    cudaFree(c->a_bf16);
    cudaFree(c->b_bf16);
    cudaFree(c->d_one);
    c->lib_sb = c->lib_sa = c->d_one = nullptr;
    c->a_bf16 = c->b_bf16 = nullptr;
}
