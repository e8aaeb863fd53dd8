// kb_fill.cu - device fills with seeded random data and the poison pattern
// (kernels/common/kb_fill.h), shared by operators, references and kernels.
#include <cuda_bf16.h>
#include <stdint.h>
#include "kernels/common/kb_fill.h"
#include "kernels/common/kb_hash.cuh"

namespace {
__global__ void fill_f32(float *d, size_t n, float lo, float hi, uint64_t seed)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        d[i] = lo + (hi - lo) * kb_uniform01(seed, i);
}

__global__ void fill_bf16(__nv_bfloat16 *d, size_t n, float lo, float hi, uint64_t seed)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        d[i] = __float2bfloat16(lo + (hi - lo) * kb_uniform01(seed, i));
}

unsigned grid_for(size_t n)
{
    size_t b = (n + 255) / 256;
    return (unsigned)(b > 65535 ? 65535 : (b ? b : 1));
}
} // namespace

extern "C" kb_status kb_dev_fill_f32(float *d, size_t n, float lo, float hi, uint64_t seed, cudaStream_t st)
{
    fill_f32<<<grid_for(n), 256, 0, st>>>(d, n, lo, hi, seed);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}

extern "C" kb_status kb_dev_fill_bf16(void *d, size_t n, float lo, float hi, uint64_t seed, cudaStream_t st)
{
    fill_bf16<<<grid_for(n), 256, 0, st>>>((__nv_bfloat16 *)d, n, lo, hi, seed);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}

extern "C" kb_status kb_dev_poison(void *d, size_t bytes, cudaStream_t st)
{
    KB_CUDA_TRY(cudaMemsetAsync(d, 0xff, bytes, st));
    return KB_OK;
}

