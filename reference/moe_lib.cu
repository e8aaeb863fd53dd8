// moe_lib.cu - library references for the MoE operators.
//   moe_route_cublas:    cublasGemmEx (BF16 in, FP32 out and compute) for the
//                        logits, then v1's selection kernel (moe_route_select:
//                        one thread per token running moe_select_token).
//   moe_dispatch_cub:    cub::DeviceRadixSort::SortPairs of (expert, slot) -
//                        stable, so rows inside a segment come in ascending
//                        slot order, the layout the CPU builds -, then
//                        DeviceHistogram (counts), DeviceScan (segment starts,
//                        padded), and plain gather kernels (copy / quantise
//                        one row per block, scalar accesses) - the way a
//                        framework would assemble it from library calls.
//   moe_combine_scatter: PyTorch index_add_ style: an FP32 buffer, one block
//                        per dispatched row adding w * row with atomics, then
//                        a cast to BF16.
// The workspace sizes of every implementation are also here
// (moe_*_workspace_bytes), so the op allocates one buffer for all of them.
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cublas_v2.h>
#include <cub/cub.cuh>
#include <stdint.h>
#include "kernels/moe/moe.h"
#include "kernels/moe/moe_math.h"
#include "kernels/moe/moe_dispatch_map.h"
#include "kernels/moe/moe_dispatch_dev.cuh"

namespace {
cublasHandle_t g_cublas; // created on first use, lives for the process

size_t align256(size_t b) { return (b + 255) & ~(size_t)255; }
} // namespace

// ---- route -----------------------------------------------------------------
extern "C" size_t moe_route_workspace_bytes(const moe_route_args *a)
{
    (void)a; // v2's split-K counters + partials (v2 lowers its split to fit)
    return MOE_ROUTE_COUNTER_BYTES + MOE_ROUTE_PARTIAL_BYTES;
}

extern "C" kb_status moe_route_cublas(void *ctx, cudaStream_t stream)
{
    const moe_route_args *a = (const moe_route_args *)ctx;
    if (!g_cublas && cublasCreate(&g_cublas) != CUBLAS_STATUS_SUCCESS) return kb_error("cublasCreate failed");
    if (cublasSetStream(g_cublas, stream) != CUBLAS_STATUS_SUCCESS) return kb_error("cublasSetStream failed");
    // Column-major view: logits^T [256, T] = (Wg [K,256]_cm)^T . x^T [K, T]_cm.
    const float one = 1.0f, zero = 0.0f;
    cublasStatus_t st = cublasGemmEx(g_cublas, CUBLAS_OP_T, CUBLAS_OP_N, MOE_N_EXPERTS, a->t, a->hidden, &one,
                                     a->wg, CUDA_R_16BF, a->hidden, a->x, CUDA_R_16BF, a->hidden, &zero,
                                     a->logits, CUDA_R_32F, MOE_N_EXPERTS, CUBLAS_COMPUTE_32F,
                                     CUBLAS_GEMM_DEFAULT);
    if (st != CUBLAS_STATUS_SUCCESS) return kb_error("cublasGemmEx failed: %d", (int)st);
    return moe_route_select(a->logits, a->bias, a->topk_idx, a->topk_w, a->t, stream); // v1's selection kernel
}

// ---- dispatch (CUB) -----------------------------------------------------------
namespace {
struct cub_ws {
    int32_t *keys_out, *vals_in, *vals_out, *padded, *starts;
    void *temp;
    size_t temp_bytes, total;
};

// Carve the workspace; with base == nullptr only sizes are computed.
cudaError_t cub_layout(const moe_dispatch_args *a, char *base, cub_ws *w)
{
    const int n = a->t * a->topk, E = a->n_experts;
    size_t t_sort = 0, t_hist = 0, t_scan1 = 0, t_scan2 = 0;
    cudaError_t e;
    e = cub::DeviceRadixSort::SortPairs(nullptr, t_sort, (const int32_t *)nullptr, (int32_t *)nullptr,
                                        (const int32_t *)nullptr, (int32_t *)nullptr, n);
    if (e != cudaSuccess) return e;
    e = cub::DeviceHistogram::HistogramEven(nullptr, t_hist, (const int32_t *)nullptr, (int32_t *)nullptr, E + 1,
                                            0, E, n);
    if (e != cudaSuccess) return e;
    e = cub::DeviceScan::ExclusiveSum(nullptr, t_scan1, (const int32_t *)nullptr, (int32_t *)nullptr, E + 1);
    if (e != cudaSuccess) return e;
    e = cub::DeviceScan::ExclusiveSum(nullptr, t_scan2, (const int32_t *)nullptr, (int32_t *)nullptr, E);
    if (e != cudaSuccess) return e;
    size_t temp = t_sort;
    temp = temp > t_hist ? temp : t_hist;
    temp = temp > t_scan1 ? temp : t_scan1;
    temp = temp > t_scan2 ? temp : t_scan2;
    size_t off = 0;
    auto carve = [&](size_t bytes) {
        char *p = base ? base + off : nullptr;
        off += align256(bytes);
        return p;
    };
    w->keys_out = (int32_t *)carve((size_t)n * 4);
    w->vals_in = (int32_t *)carve((size_t)n * 4);
    w->vals_out = (int32_t *)carve((size_t)n * 4);
    w->padded = (int32_t *)carve((size_t)(E + 1) * 4);
    w->starts = (int32_t *)carve((size_t)E * 4);
    w->temp = carve(temp);
    w->temp_bytes = temp;
    w->total = off;
    return cudaSuccess;
}

__global__ void lib_iota(int32_t *v, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) v[i] = i;
}

__global__ void lib_pad(const int32_t *counts, int32_t *padded, int E)
{
    int e = threadIdx.x;
    if (e < E) padded[e] = moe_pad_rows(counts[e], MOE_ALIGN);
    if (e == E) padded[E] = 0;
}

__global__ void lib_group_idx(const int32_t *counts, const int32_t *offsets, int E, int m_cap, int32_t *group_idx)
{
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= m_cap) return;
    int g = -1;
    for (int e = 0; e < E; e++) // plain linear scan
        if (r >= offsets[e] && r < offsets[e] + counts[e]) g = e;
    group_idx[r] = g;
}

// One block per sorted position: gather (and quantise) one row.
__global__ void lib_gather(const uint16_t *__restrict__ x, const int32_t *__restrict__ keys,
                           const int32_t *__restrict__ slots, const int32_t *__restrict__ counts,
                           const int32_t *__restrict__ starts, const int32_t *__restrict__ offsets, int n, int E,
                           int topk, int K, moe_dispatch_fmt fmt, int m_cap, int m_max, void *__restrict__ out,
                           float *__restrict__ sa, int32_t *__restrict__ row_of)
{
    const int pos = blockIdx.x;
    const int e = keys[pos], slot = slots[pos];
    if (e < 0 || e >= E) {
        if (threadIdx.x == 0) row_of[slot] = -1;
        return;
    }
    const int n_valid = starts[E - 1] + counts[E - 1];
    const int rank = pos - (n - n_valid) - starts[e]; // negative keys sort first
    const int row = fmt == MOE_FMT_E4M3_MASKED ? e * m_max + rank : offsets[e] + rank;
    if (threadIdx.x == 0) row_of[slot] = row;
    const uint16_t *xr = x + (size_t)(slot / topk) * K;
    moe_copy_row(xr, row, K, fmt, m_cap, m_max, out, sa);
}
} // namespace

extern "C" size_t moe_dispatch_workspace_bytes(const moe_dispatch_args *a)
{
    cub_ws w;
    size_t cub_bytes = cub_layout(a, nullptr, &w) == cudaSuccess ? w.total : 0;
    // v1: [ceil(T/256), E] ints; v2: [<= #SMs, E] ints (<= 1024 assumed).
    size_t hand = (size_t)((a->t + 255) / 256 + 1024) * a->n_experts * 4;
    return cub_bytes > hand ? cub_bytes : hand;
}

extern "C" kb_status moe_dispatch_cub(void *ctx, cudaStream_t stream)
{
    const moe_dispatch_args *a = (const moe_dispatch_args *)ctx;
    const int n = a->t * a->topk, E = a->n_experts;
    const bool masked = a->fmt == MOE_FMT_E4M3_MASKED;
    if (E > 1023 || a->hidden % MOE_QBLOCK) return kb_skip("unsupported E/hidden");
    cub_ws w;
    KB_CUDA_TRY(cub_layout(a, (char *)a->workspace, &w));
    if (w.total > a->workspace_bytes) return kb_error("moe_dispatch_cub: workspace too small");
    lib_iota<<<(n + 255) / 256, 256, 0, stream>>>(w.vals_in, n);
    size_t tb = w.temp_bytes;
    KB_CUDA_TRY(cub::DeviceRadixSort::SortPairs(w.temp, tb, a->topk_idx, w.keys_out, w.vals_in, w.vals_out, n, 0,
                                                32, stream));
    tb = w.temp_bytes;
    KB_CUDA_TRY(cub::DeviceHistogram::HistogramEven(w.temp, tb, a->topk_idx, a->counts, E + 1, 0, E, n, stream));
    tb = w.temp_bytes;
    KB_CUDA_TRY(cub::DeviceScan::ExclusiveSum(w.temp, tb, a->counts, w.starts, E, stream));
    if (!masked) {
        lib_pad<<<1, 1024, 0, stream>>>(a->counts, w.padded, E);
        tb = w.temp_bytes;
        KB_CUDA_TRY(cub::DeviceScan::ExclusiveSum(w.temp, tb, w.padded, a->offsets, E + 1, stream));
        lib_group_idx<<<(a->m_cap + 255) / 256, 256, 0, stream>>>(a->counts, a->offsets, E, a->m_cap, a->group_idx);
    }
    lib_gather<<<n, 256, 0, stream>>>(a->x, w.keys_out, w.vals_out, a->counts, w.starts, a->offsets, n, E, a->topk,
                                      a->hidden, a->fmt, a->m_cap, a->m_max, a->out, a->sa, a->row_of);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}

// ---- combine (index_add_ style scatter) ----------------------------------------
namespace {
__global__ void lib_scatter_add(const uint16_t *__restrict__ eo, const int32_t *__restrict__ row_of,
                                const float *__restrict__ w, float *__restrict__ y32, int topk, int K)
{
    const int slot = blockIdx.x;
    const int r = row_of[slot];
    if (r < 0) return;
    const float wk = w[slot];
    float *yt = y32 + (size_t)(slot / topk) * K;
    for (int j = threadIdx.x; j < K; j += blockDim.x)
        atomicAdd(&yt[j], wk * __uint_as_float((uint32_t)eo[(size_t)r * K + j] << 16));
}

__global__ void lib_cast_bf16(const float *__restrict__ y32, uint16_t *__restrict__ y, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        __nv_bfloat16 h = __float2bfloat16_rn(y32[i]);
        y[i] = *(uint16_t *)&h;
    }
}
} // namespace

extern "C" size_t moe_combine_workspace_bytes(const moe_combine_args *a)
{
    return (size_t)a->t * a->hidden * 4; // FP32 accumulator of the scatter reference
}

extern "C" kb_status moe_combine_scatter(void *ctx, cudaStream_t stream)
{
    const moe_combine_args *a = (const moe_combine_args *)ctx;
    const size_t n = (size_t)a->t * a->hidden;
    if (a->workspace_bytes < n * 4) return kb_error("moe_combine_scatter: workspace too small");
    float *y32 = (float *)a->workspace;
    KB_CUDA_TRY(cudaMemsetAsync(y32, 0, n * 4, stream));
    lib_scatter_add<<<a->t * a->topk, 256, 0, stream>>>(a->expert_out, a->row_of, a->topk_w, y32, a->topk, a->hidden);
    lib_cast_bf16<<<1024, 256, 0, stream>>>(y32, a->y, n);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}
