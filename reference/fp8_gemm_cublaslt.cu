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
//     at setup (fp8_lib_sa_ld in fp8_gemm_cublaslt.h);
//   BLK128x128_32F (weights): [ceil(N/128)][round_up(K/128, 4)] FP32 = our sb with
//     the K-block dimension padded to a multiple of 4 (copy built at setup).
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_fp16.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "reference/fp8_gemm_cublaslt.h"

namespace {
enum { MODE_BLOCK = FP8_LIB_BLOCK, MODE_TENSOR = FP8_LIB_TENSOR, MODE_BF16 = FP8_LIB_BF16, NMODES = FP8_LIB_NMODES };
const char *const mode_name[NMODES] = {"FP8 VEC128 x BLK128x128 scales", "FP8 per-tensor scales", "BF16"};

struct plan {
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatmulAlgo_t algo;
    const void *A, *B;
    void *D;
};

struct lib_plans {
    plan p[NMODES][FP8_LIB_MAX_GROUPS];
};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

cublasLtHandle_t g_handle = nullptr;

kb_status ensure_handle()
{
    if (g_handle) return KB_OK;
    cublasStatus_t s = cublasLtCreate(&g_handle);
    if (s != CUBLAS_STATUS_SUCCESS) return kb_error("cublasLtCreate failed: %s", cublasLtGetStatusName(s));
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

// A cuBLASLt setup call's status: on failure record the reason for the mode
// (NOT_SUPPORTED is a skip, anything else a failure: fp8_lib_status_outcome).
kb_status lt_check(cublasStatus_t s, fp8_gemm_lib_mode *md, int mode, const char *what)
{
    if (s == CUBLAS_STATUS_SUCCESS) return KB_OK;
    snprintf(md->why, sizeof md->why, "%s: %s failed (%s, cuBLASLt %zu)", mode_name[mode], what,
             cublasLtGetStatusName(s), cublasLtGetVersion());
    return fp8_lib_status_outcome((int)s);
}

// The algorithm the heuristic picked, read back from its configuration.
void read_algo(const cublasLtMatmulAlgo_t *algo, int nres, fp8_lib_algo *out)
{
    int32_t id = -1, splitk = -1;
    uint32_t tile = 0, stages = 0;
    size_t got = 0;
    cublasLtMatmulAlgoConfigGetAttribute(algo, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof id, &got);
    cublasLtMatmulAlgoConfigGetAttribute(algo, CUBLASLT_ALGO_CONFIG_TILE_ID, &tile, sizeof tile, &got);
    cublasLtMatmulAlgoConfigGetAttribute(algo, CUBLASLT_ALGO_CONFIG_STAGES_ID, &stages, sizeof stages, &got);
    cublasLtMatmulAlgoConfigGetAttribute(algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk, sizeof splitk, &got);
    *out = fp8_lib_algo{(int)id, (int)tile, (int)stages, (int)splitk, 0, nres};
}

// The operands of group g in this mode: FP8 bytes, or the dequantised BF16 copies.
void bind_operands(const fp8_gemm_lib_args *l, int mode, int g, plan *pl)
{
    const int n = l->n, k = l->k;
    const bool fp8 = mode != MODE_BF16;
    const size_t in_sz = fp8 ? 1 : 2;
    const uint8_t *wb = fp8 ? l->b : (const uint8_t *)l->b_bf16;
    const uint8_t *ab = fp8 ? l->a : (const uint8_t *)l->a_bf16;
    pl->A = wb + (size_t)g * n * k * in_sz;
    pl->B = ab + (size_t)l->seg_start[g] * k * in_sz;
    pl->D = l->d + (size_t)l->seg_start[g] * n;
}

// Matmul descriptor: "TN", FP32 compute, the mode's scale attributes.
kb_status describe(const fp8_gemm_lib_args *l, fp8_gemm_lib_mode *md, int mode, int g, plan *pl)
{
    // CUBLASLT_MATMUL_DESC_FAST_ACCUM stays at its default 0 in every mode: the
    // block-scaled modes require it off (PyTorch and Transformer Engine refuse
    // fast accumulation with 1x128 / 128x128 scales), and the per-tensor mode
    // keeps the same split accumulation so that only the scaling differs.
    KB_TRY(lt_check(cublasLtMatmulDescCreate(&pl->op, CUBLAS_COMPUTE_32F, CUDA_R_32F), md, mode, "MatmulDescCreate"));
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    KB_TRY(lt_check(cublasLtMatmulDescSetAttribute(pl->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta), md, mode, "TRANSA"));
    KB_TRY(lt_check(cublasLtMatmulDescSetAttribute(pl->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb), md, mode, "TRANSB"));
    const void *pa = l->one, *pb = l->one;
    if (mode == MODE_BLOCK) {
        const int32_t ma = CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F, mb = CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F;
        pa = l->lib_sb + (size_t)g * ceil_div(l->n, 128) * l->lib_sb_ld;
        pb = l->lib_sa + l->lib_sa_off[g];
        KB_TRY(lt_check(cublasLtMatmulDescSetAttribute(pl->op, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &ma, sizeof ma), md, mode,
                        "A_SCALE_MODE=BLK128x128_32F"));
        KB_TRY(lt_check(cublasLtMatmulDescSetAttribute(pl->op, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &mb, sizeof mb), md, mode,
                        "B_SCALE_MODE=VEC128_32F"));
    }
    if (mode == MODE_BF16) return KB_OK;
    KB_TRY(lt_check(cublasLtMatmulDescSetAttribute(pl->op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &pa, sizeof pa), md, mode,
                    "A_SCALE_POINTER"));
    KB_TRY(lt_check(cublasLtMatmulDescSetAttribute(pl->op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &pb, sizeof pb), md, mode,
                    "B_SCALE_POINTER"));
    return KB_OK;
}

kb_status build_plan(const fp8_gemm_lib_args *l, fp8_gemm_lib_mode *md, int mode, int g, plan *pl)
{
    const int n = l->n, k = l->k, rows = l->seg_rows[g];
    const cudaDataType_t in_t = mode != MODE_BF16 ? CUDA_R_8F_E4M3 : CUDA_R_16BF;
    bind_operands(l, mode, g, pl);
    KB_TRY(describe(l, md, mode, g, pl));
    KB_TRY(lt_check(cublasLtMatrixLayoutCreate(&pl->la, in_t, (uint64_t)k, (uint64_t)n, (int64_t)k), md, mode, "layout A"));
    KB_TRY(lt_check(cublasLtMatrixLayoutCreate(&pl->lb, in_t, (uint64_t)k, (uint64_t)rows, (int64_t)k), md, mode, "layout B"));
    KB_TRY(lt_check(cublasLtMatrixLayoutCreate(&pl->lc, CUDA_R_16BF, (uint64_t)n, (uint64_t)rows, (int64_t)n), md, mode,
                    "layout D"));

    cublasLtMatmulPreference_t pref;
    KB_TRY(lt_check(cublasLtMatmulPreferenceCreate(&pref), md, mode, "PreferenceCreate"));
    const size_t ws = l->workspace_bytes;
    cublasStatus_t s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    cublasLtMatmulHeuristicResult_t res;
    int nres = 0;
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulAlgoGetHeuristic(g_handle, pl->op, pl->la, pl->lb, pl->lc, pl->lc, pref, 1, &res, &nres);
    cublasLtMatmulPreferenceDestroy(pref);
    const kb_status out = fp8_lib_heuristic_outcome((int)s, nres);
    if (out != KB_OK) {
        snprintf(md->why, sizeof md->why, "%s: no cuBLASLt algorithm for m=%d n=%d k=%d (heuristic: %s, %d results, cuBLASLt %zu)",
                 mode_name[mode], n, rows, k, cublasLtGetStatusName(s), nres, cublasLtGetVersion());
        return out;
    }
    pl->algo = res.algo;
    if (md->algo[0] == 0) { // the first group's plan names the row's algorithm
        fp8_lib_algo info;
        read_algo(&pl->algo, nres, &info);
        fp8_lib_algo_note(md->algo, sizeof md->algo, &info);
    }
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

// First launch = verification run: plans + heuristic, outside timing.
kb_status build_mode(fp8_gemm_lib_args *l, int mode)
{
    fp8_gemm_lib_mode *md = &l->mode[mode];
    plan *plans = ((lib_plans *)l->plans)->p[mode];
    KB_TRY(ensure_handle());
    md->built = 1;
    md->status = KB_OK;
    md->algo[0] = 0;
    for (int g = 0; g < l->groups; g++) {
        if (l->seg_rows[g] == 0) continue;
        kb_status s = build_plan(l, md, mode, g, &plans[md->nplans++]);
        if (s != KB_OK) {
            md->status = s;
            break;
        }
    }
    if (md->status == KB_OK && md->nplans > 1) { // grouped: one call per group, each with its own heuristic pick
        const size_t used = strlen(md->algo);
        snprintf(md->algo + used, sizeof md->algo - used, " for group 0 of %d calls", md->nplans);
    }
    return KB_OK;
}

kb_status run_mode(void *lib, cudaStream_t stream, int mode)
{
    fp8_gemm_lib_args *l = (fp8_gemm_lib_args *)lib;
    fp8_gemm_lib_mode *md = &l->mode[mode];
    if (!l->plans) return kb_error("fp8_gemm cuBLASLt: library state missing (setup did not run prepare)");
    if (!md->built) KB_TRY(build_mode(l, mode));
    if (md->status == KB_SKIP) return kb_skip("%s", md->why);
    if (md->status != KB_OK) return kb_error("%s", md->why);
    const float alpha = 1.0f, beta = 0.0f;
    for (int i = 0; i < md->nplans; i++) {
        plan *pl = &((lib_plans *)l->plans)->p[mode][i];
        cublasStatus_t s = cublasLtMatmul(g_handle, pl->op, &alpha, pl->A, pl->la, pl->B, pl->lb, &beta, pl->D, pl->lc,
                                          pl->D, pl->lc, &pl->algo, l->workspace, l->workspace_bytes, stream);
        if (s == CUBLAS_STATUS_SUCCESS) continue;
        // NOT_SUPPORTED: remembered, a skip; anything else fails the row (and later launches)
        md->status = fp8_lib_status_outcome((int)s);
        snprintf(md->why, sizeof md->why, "%s: cublasLtMatmul: %s for m=%d k=%d (%s, cuBLASLt %zu)", mode_name[mode],
                 md->status == KB_SKIP ? "not supported" : "failed", l->n, l->k, cublasLtGetStatusName(s),
                 cublasLtGetVersion());
        return md->status == KB_SKIP ? kb_skip("%s", md->why) : kb_error("%s", md->why);
    }
    return KB_OK;
}

// Scale copies in the layouts cuBLASLt wants (see the top of this file).
kb_status pad_scales(fp8_gemm_lib_args *l, cudaStream_t stream)
{
    const int n = l->n, k = l->k, kb = k / 128, nb = (int)ceil_div(n, 128);
    const size_t G = (size_t)l->groups;
    // Weight scales, K-block dimension padded to a multiple of 4.
    l->lib_sb_ld = (int)(ceil_div(kb, 4) * 4);
    KB_CUDA_TRY(cudaMalloc((void **)&l->lib_sb, G * nb * l->lib_sb_ld * sizeof(float)));
    KB_CUDA_TRY(cudaMemsetAsync(l->lib_sb, 0, G * nb * l->lib_sb_ld * sizeof(float), stream));
    KB_CUDA_TRY(cudaMemcpy2DAsync(l->lib_sb, (size_t)l->lib_sb_ld * sizeof(float), l->sb, (size_t)kb * sizeof(float),
                                  (size_t)kb * sizeof(float), G * nb, cudaMemcpyDeviceToDevice, stream));
    // Activation scales, one [K/128][round_up(rows_g, 4)] block per group (every
    // column 16-byte aligned, padding zero).
    const size_t off = fp8_lib_sa_layout(l->groups, l->seg_rows, kb, l->lib_sa_off);
    KB_CUDA_TRY(cudaMalloc((void **)&l->lib_sa, (off ? off : 4) * sizeof(float)));
    KB_CUDA_TRY(cudaMemsetAsync(l->lib_sa, 0, (off ? off : 4) * sizeof(float), stream));
    for (int g = 0; g < l->groups; g++) {
        if (l->seg_rows[g] == 0) continue;
        const float *src = l->masked ? l->sa + (size_t)g * kb * l->m : l->sa + l->seg_start[g];
        KB_CUDA_TRY(cudaMemcpy2DAsync(l->lib_sa + l->lib_sa_off[g], (size_t)fp8_lib_sa_ld(l->seg_rows[g]) * sizeof(float), src,
                                      (size_t)l->m * sizeof(float), (size_t)l->seg_rows[g] * sizeof(float),
                                      (size_t)kb, cudaMemcpyDeviceToDevice, stream));
    }
    return KB_OK;
}
} // namespace

extern "C" kb_status fp8_gemm_cublaslt_run(fp8_gemm_lib_args *lib, int mode, cudaStream_t stream)
{
    return run_mode(lib, stream, mode);
}

extern "C" kb_status fp8_lib_status_outcome(int cublas_status)
{
    return cublas_status == CUBLAS_STATUS_SUCCESS ? KB_OK
           : cublas_status == CUBLAS_STATUS_NOT_SUPPORTED ? KB_SKIP
                                                          : KB_FAIL;
}

extern "C" kb_status fp8_lib_heuristic_outcome(int cublas_status, int n_results)
{
    const kb_status s = fp8_lib_status_outcome(cublas_status);
    return s == KB_OK && n_results < 1 ? KB_FAIL : s;
}

extern "C" const char *fp8_lib_algo_note(char *buf, size_t n, const fp8_lib_algo *a)
{
    snprintf(buf, n, "cuBLASLt algo %d tile %d stages %d splitK %d (heuristic #%d of %d)", a->id, a->tile, a->stages,
             a->splitk, a->heur_index, a->heur_results);
    return buf;
}

extern "C" size_t fp8_lib_sa_layout(int groups, const int *rows, int kb, size_t *off)
{
    size_t total = 0;
    for (int g = 0; g < groups; g++) {
        off[g] = total;
        total += (size_t)kb * (size_t)fp8_lib_sa_ld(rows[g]);
    }
    return total;
}

extern "C" kb_status fp8_gemm_lib_prepare(fp8_gemm_lib_args *l, cudaStream_t stream)
{
    const int n = l->n, k = l->k;
    const size_t rows = (size_t)l->rows_total, G = (size_t)l->groups;
    l->plans = calloc(1, sizeof(lib_plans));
    if (!l->plans) return kb_error("fp8_gemm lib: out of host memory");
    KB_TRY(pad_scales(l, stream));
    // Dequantised BF16 inputs for the BF16 baseline.
    KB_CUDA_TRY(cudaMalloc((void **)&l->a_bf16, rows * k * sizeof(uint16_t)));
    KB_CUDA_TRY(cudaMalloc((void **)&l->b_bf16, G * n * k * sizeof(uint16_t)));
    dequant_a_kernel<<<grid_for((int64_t)(rows * k)), 256, 0, stream>>>(l->a, l->sa, (__nv_bfloat16 *)l->a_bf16,
                                                                        (int64_t)rows, k, l->m, l->masked);
    KB_CUDA_TRY(cudaGetLastError());
    dequant_b_kernel<<<grid_for((int64_t)(G * n * k)), 256, 0, stream>>>(l->b, l->sb, (__nv_bfloat16 *)l->b_bf16,
                                                                         (int64_t)(G * n), n, k);
    KB_CUDA_TRY(cudaGetLastError());
    const float one = 1.0f;
    KB_CUDA_TRY(cudaMalloc((void **)&l->one, sizeof(float)));
    KB_CUDA_TRY(cudaMemcpy(l->one, &one, sizeof one, cudaMemcpyHostToDevice));
    return ensure_handle();
}

extern "C" void fp8_gemm_lib_release(fp8_gemm_lib_args *l)
{
    lib_plans *p = (lib_plans *)l->plans;
    if (p) {
        for (int m = 0; m < NMODES; m++)
            for (int i = 0; i < l->mode[m].nplans; i++) destroy_plan(&p->p[m][i]);
        free(p);
        l->plans = nullptr;
    }
    memset(l->mode, 0, sizeof l->mode);
    cudaFree(l->lib_sb);
    cudaFree(l->lib_sa);
    cudaFree(l->a_bf16);
    cudaFree(l->b_bf16);
    cudaFree(l->one);
    l->lib_sb = l->lib_sa = l->one = nullptr;
    l->a_bf16 = l->b_bf16 = nullptr;
}
