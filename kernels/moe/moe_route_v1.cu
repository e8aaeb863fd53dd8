// moe_route_v1.cu - simplest correct router.
//   kernel 1: gate GEMM, FP32 FMA on CUDA cores, 64 tokens x 64 experts per
//             block, 32-wide K tiles in shared memory, 4x4 outputs per thread;
//             writes the FP32 logits.
//   kernel 2: one thread per token runs moe_select_token (the same function
//             the CPU reference runs) on those logits (moe_route_select,
//             which moe_route_cublas runs too).
// NOTES: no tensor cores; the per-thread selection keeps 2 KB of scores in
// local memory (stack frame expected, v1 is not spill-checked).
#include <cuda_bf16.h>
#include <stdint.h>
#include "kernels/moe/moe.h"
#include "kernels/moe/moe_math.h"

namespace {
constexpr int BT = 64, BE = 64, BK = 32;

__device__ __forceinline__ float bf(uint16_t h) { return __uint_as_float((uint32_t)h << 16); }

__global__ void __launch_bounds__(256) route_gemm_v1(const uint16_t *__restrict__ x, const uint16_t *__restrict__ wg,
                                                     float *__restrict__ logits, int T, int K)
{
    __shared__ float xs[BK][BT + 1];
    __shared__ float ws[BK][BE + 1];
    int t0 = blockIdx.x * BT, e0 = blockIdx.y * BE;
    int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    float acc[4][4] = {};
    for (int k0 = 0; k0 < K; k0 += BK) {
        for (int i = threadIdx.x; i < BT * BK; i += 256) {
            int r = i / BK, kk = i % BK;
            int t = t0 + r;
            xs[kk][r] = t < T ? bf(x[(size_t)t * K + k0 + kk]) : 0.0f;
            ws[kk][r] = bf(wg[(size_t)(e0 + r) * K + k0 + kk]);
        }
        __syncthreads();
#pragma unroll 8
        for (int kk = 0; kk < BK; kk++) {
            float a[4], b[4];
            for (int i = 0; i < 4; i++) a[i] = xs[kk][ty + 16 * i];
            for (int j = 0; j < 4; j++) b[j] = ws[kk][tx + 16 * j];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }
    for (int i = 0; i < 4; i++) {
        int t = t0 + ty + 16 * i;
        if (t >= T) continue;
        for (int j = 0; j < 4; j++) logits[(size_t)t * MOE_N_EXPERTS + e0 + tx + 16 * j] = acc[i][j];
    }
}

__global__ void route_select_v1(const float *__restrict__ logits, const float *__restrict__ bias,
                                int32_t *__restrict__ idx, float *__restrict__ w, int T)
{
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= T) return;
    moe_select_token(logits + (size_t)t * MOE_N_EXPERTS, bias, idx + (size_t)t * MOE_TOPK,
                     w + (size_t)t * MOE_TOPK);
}
} // namespace

extern "C" kb_status moe_route_v1(void *ctx, cudaStream_t stream)
{
    const moe_route_args *a = (const moe_route_args *)ctx;
    if (a->hidden % BK) return kb_skip("hidden %d not a multiple of %d", a->hidden, BK);
    dim3 grid((a->t + BT - 1) / BT, MOE_N_EXPERTS / BE);
    route_gemm_v1<<<grid, 256, 0, stream>>>(a->x, a->wg, a->logits, a->t, a->hidden);
    KB_CUDA_TRY(cudaGetLastError());
    return moe_route_select(a->logits, a->bias, a->topk_idx, a->topk_w, a->t, stream);
}

extern "C" kb_status moe_route_select(const float *logits, const float *bias, int32_t *topk_idx, float *topk_w, int t,
                                      cudaStream_t stream)
{
    route_select_v1<<<(t + 127) / 128, 128, 0, stream>>>(logits, bias, topk_idx, topk_w, t);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}
