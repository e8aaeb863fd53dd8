// fp8_dev.cu - device-side input generator for the FP8 operators.
// x[r, c] = U(-1, 1) * 2^e, e in [-4, 3] drawn per (r / grp_rows, c / grp_cols)
// group, counter-based (value depends only on seed and position).
#include <cuda_bf16.h>
#include <stdint.h>
#include "bench/ops/fp8_common.h"

namespace {
__device__ __forceinline__ uint64_t gen_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

__global__ void gen_bf16_kernel(__nv_bfloat16 *x, int64_t rows, int64_t cols, int grp_rows, int grp_cols,
                                uint64_t seed)
{
    const int64_t n = rows * cols;
    const int64_t gcols = (cols + grp_cols - 1) / grp_cols;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = i / cols, c = i % cols;
        uint64_t grp = (uint64_t)((r / grp_rows) * gcols + c / grp_cols);
        int e = (int)(gen_mix(seed ^ (0x5851f42d4c957f2dull * (grp + 1))) & 7) - 4;
        float u = (float)(gen_mix(seed + 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1)) >> 40) * (1.0f / 16777216.0f);
        x[i] = __float2bfloat16(ldexpf(2.0f * u - 1.0f, e));
    }
}
} // namespace

extern "C" kb_status fp8_dev_gen_bf16(uint16_t *x, int64_t rows, int64_t cols, int grp_rows, int grp_cols,
                                      uint64_t seed, cudaStream_t stream)
{
    int64_t blocks = (rows * cols + 255) / 256;
    if (blocks > 65535) blocks = 65535;
    if (blocks < 1) blocks = 1;
    gen_bf16_kernel<<<(unsigned)blocks, 256, 0, stream>>>((__nv_bfloat16 *)x, rows, cols, grp_rows, grp_cols, seed);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}
