// hbm_v1.cu - bandwidth ceilings.  Each thread moves 4 x 16 bytes per loop
// trip (several independent 16-byte loads in flight before the first use);
// grid-stride over the buffer with 8 blocks of 256 threads per SM.
// NOTES: reads fold into a 64-bit sum (one atomic per block) so the loads
// cannot be optimised away and the result is checkable on the host.
#include "kernels/hbm/hbm.h"

namespace {
constexpr int kThreads = 256, kBlocksPerSm = 8, kUnroll = 4;

__device__ __forceinline__ uint64_t fold(uint4 v)
{
    return ((uint64_t)v.y << 32 | v.x) + ((uint64_t)v.w << 32 | v.z);
}

// kUnroll independent 16-byte loads (L2 only), issued before any is used.
__device__ __forceinline__ void load_unrolled(uint4 (&v)[kUnroll], const uint4 *__restrict__ src, size_t i,
                                              size_t stride)
{
#pragma unroll
    for (int u = 0; u < kUnroll; u++) v[u] = __ldcg(src + i + u * stride);
}

__global__ void __launch_bounds__(kThreads) read_kernel(const uint4 *__restrict__ src, size_t n, int passes,
                                                        unsigned long long *sum)
{
    uint64_t acc = 0;
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    for (int p = 0; p < passes; p++) {
        size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
        for (; i + (kUnroll - 1) * stride < n; i += kUnroll * stride) {
            uint4 v[kUnroll];
            load_unrolled(v, src, i, stride);
#pragma unroll
            for (int u = 0; u < kUnroll; u++) acc += fold(v[u]);
        }
        for (; i < n; i += stride) acc += fold(__ldcg(src + i));
    }
    // block reduction, one atomic per block
    for (int o = 16; o; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
    __shared__ uint64_t warp_sum[kThreads / 32];
    if ((threadIdx.x & 31) == 0) warp_sum[threadIdx.x >> 5] = acc;
    __syncthreads();
    if (threadIdx.x == 0) {
        uint64_t t = 0;
        for (int w = 0; w < kThreads / 32; w++) t += warp_sum[w];
        atomicAdd(sum, (unsigned long long)t);
    }
}

__global__ void __launch_bounds__(kThreads) write_kernel(uint4 *__restrict__ dst, size_t n, uint64_t pattern)
{
    const uint4 v = make_uint4((unsigned)pattern, (unsigned)(pattern >> 32), (unsigned)pattern,
                               (unsigned)(pattern >> 32));
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += stride) __stcg(dst + i, v);
}

__global__ void __launch_bounds__(kThreads) copy_kernel(const uint4 *__restrict__ src, uint4 *__restrict__ dst,
                                                        size_t n)
{
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    for (; i + (kUnroll - 1) * stride < n; i += kUnroll * stride) {
        uint4 v[kUnroll];
        load_unrolled(v, src, i, stride);
#pragma unroll
        for (int u = 0; u < kUnroll; u++) __stcg(dst + i + u * stride, v[u]);
    }
    for (; i < n; i += stride) __stcg(dst + i, __ldcg(src + i));
}
} // namespace

extern "C" kb_status hbm_v1(void *ctx, cudaStream_t s)
{
    const hbm_args *a = (const hbm_args *)ctx;
    const size_t n = a->bytes / 16;
    const unsigned grid = (unsigned)(a->sms * kBlocksPerSm);
    switch (a->mode) {
    case HBM_READ:
    case HBM_L2_READ:
        KB_CUDA_TRY(cudaMemsetAsync(a->sum, 0, sizeof(uint64_t), s));
        read_kernel<<<grid, kThreads, 0, s>>>((const uint4 *)a->src, n, a->mode == HBM_L2_READ ? a->passes : 1,
                                              (unsigned long long *)a->sum);
        break;
    case HBM_WRITE:
        write_kernel<<<grid, kThreads, 0, s>>>((uint4 *)a->dst, n, a->pattern);
        break;
    case HBM_COPY:
        copy_kernel<<<grid, kThreads, 0, s>>>((const uint4 *)a->src, (uint4 *)a->dst, n);
        break;
    }
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}

extern "C" kb_status hbm_cudart(void *ctx, cudaStream_t s)
{
    const hbm_args *a = (const hbm_args *)ctx;
    if (a->mode == HBM_COPY) {
        KB_CUDA_TRY(cudaMemcpyAsync(a->dst, a->src, a->bytes, cudaMemcpyDeviceToDevice, s));
        return KB_OK;
    }
    if (a->mode == HBM_WRITE) {
        if ((a->pattern & 0xff) * 0x0101010101010101ull != a->pattern)
            return kb_error("write pattern is not a repeated byte");
        KB_CUDA_TRY(cudaMemsetAsync(a->dst, (int)(a->pattern & 0xff), a->bytes, s));
        return KB_OK;
    }
    return kb_skip("the CUDA runtime has no read-only bandwidth primitive");
}

extern "C" kb_status hbm_device_sum(const void *p, size_t bytes, int sms, uint64_t *out, cudaStream_t s)
{
    KB_CUDA_TRY(cudaMemsetAsync(out, 0, sizeof(uint64_t), s));
    read_kernel<<<(unsigned)(sms * kBlocksPerSm), kThreads, 0, s>>>((const uint4 *)p, bytes / 16, 1,
                                                                     (unsigned long long *)out);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}
