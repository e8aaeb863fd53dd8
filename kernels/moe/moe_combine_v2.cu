// moe_combine_v2.cu - combine reading every expert row exactly once with
// 16-byte accesses.
//   One block of 128 threads per token; the token's 8 row indices and weights
//   are read once into registers; each thread owns 16-byte column chunks
//   (8 bf16) and, per chunk, issues the loads of all 8 rows before using any
//   (8 x 16 B in flight per thread), accumulates in FP32 in ascending k, and
//   stores 8 bf16 with one 16-byte store.
// NOTES: 7168 / 8 = 896 chunks = 7 per thread: no tail.  Up to 16 blocks
//   (2048 threads) per SM x 128 B in flight per thread is far more than HBM
//   latency needs (~30 KB per SM).  Padding rows are never touched.
#include <cuda_bf16.h>
#include <stdint.h>
#include "kernels/moe/moe.h"

namespace {
constexpr int THREADS = 128;

__device__ __forceinline__ void acc8(float *a, uint4 v, float w)
{
    const uint32_t u[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        a[2 * i] = fmaf(w, __uint_as_float(u[i] << 16), a[2 * i]);
        a[2 * i + 1] = fmaf(w, __uint_as_float(u[i] & 0xffff0000u), a[2 * i + 1]);
    }
}

__global__ void __launch_bounds__(THREADS) combine_v2(const uint16_t *__restrict__ eo,
                                                      const int32_t *__restrict__ row_of,
                                                      const float *__restrict__ w, uint16_t *__restrict__ y, int K)
{
    const int t = blockIdx.x;
    int r[MOE_TOPK];
    float wk[MOE_TOPK];
#pragma unroll
    for (int k = 0; k < MOE_TOPK; k++) {
        r[k] = __ldg(&row_of[(size_t)t * MOE_TOPK + k]);
        wk[k] = __ldg(&w[(size_t)t * MOE_TOPK + k]);
    }
    const int nchunk = K / 8;
    for (int c = threadIdx.x; c < nchunk; c += THREADS) {
        uint4 v[MOE_TOPK];
#pragma unroll
        for (int k = 0; k < MOE_TOPK; k++)
            v[k] = r[k] >= 0 ? __ldg((const uint4 *)(eo + (size_t)r[k] * K) + c) : make_uint4(0, 0, 0, 0);
        float a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
#pragma unroll
        for (int k = 0; k < MOE_TOPK; k++)
            if (r[k] >= 0) acc8(a, v[k], wk[k]);
        uint32_t o[4];
#pragma unroll
        for (int i = 0; i < 4; i++) {
            __nv_bfloat162 h = __floats2bfloat162_rn(a[2 * i], a[2 * i + 1]);
            o[i] = *(uint32_t *)&h;
        }
        *((uint4 *)(y + (size_t)t * K) + c) = make_uint4(o[0], o[1], o[2], o[3]);
    }
}
} // namespace

extern "C" kb_status moe_combine_v2(void *ctx, cudaStream_t stream)
{
    const moe_combine_args *a = (const moe_combine_args *)ctx;
    if (a->topk != MOE_TOPK || a->hidden % 8) return kb_skip("v2 needs topk 8 and hidden divisible by 8");
    combine_v2<<<a->t, THREADS, 0, stream>>>(a->expert_out, a->row_of, a->topk_w, a->y, a->hidden);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}
