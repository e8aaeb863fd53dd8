// fp8_quant_v1.cu - simple BF16 -> E4M3 quantisation (correctness anchor).
//   token (1x128): one warp per group, 4 scalar BF16 loads per lane, warp
//                  max-reduce, lane 0 writes the scale (MN-major [cols/128, rows]).
//   block (128x128): one 256-thread block per tile, two passes over global
//                  memory (amax, then quantise), shared-memory reduction.
// scale = max(amax, 1e-4) / 448; q = cvt.rn.satfinite.e4m3(x / scale).
// NOTES: IEEE division (no fast-math) so results match the CPU reference bit
// for bit; the second pass of the block kernel re-reads x (L2-resident).
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <stdint.h>
#include "kernels/fp8_quant/fp8_quant.h"
#include "kernels/fp8_quant/fp8_quant_dev.cuh"

namespace {
__device__ __forceinline__ uint8_t to_e4m3(float v)
{
    return (uint8_t)__nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3);
}

__global__ void __launch_bounds__(256) fp8_quant_v1_token_kernel(const __nv_bfloat16 *__restrict__ x,
                                                                 uint8_t *__restrict__ q, float *__restrict__ s,
                                                                 int rows, int cols)
{
    const int lane = threadIdx.x & 31;
    const int kb = cols / 128;
    const int64_t gid = (int64_t)blockIdx.x * 8 + (threadIdx.x >> 5);
    if (gid >= (int64_t)rows * kb) return;
    const int r = (int)(gid / kb), b = (int)(gid % kb);
    const size_t off = (size_t)r * cols + (size_t)b * 128;
    float v[4], amax = 0.0f;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        v[i] = __bfloat162float(x[off + lane + 32 * i]);
        amax = fmaxf(amax, fabsf(v[i]));
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    const float scale = fq_scale_of(amax);
#pragma unroll
    for (int i = 0; i < 4; i++) q[off + lane + 32 * i] = to_e4m3(v[i] / scale);
    if (lane == 0) s[(size_t)b * rows + r] = scale;
}

__global__ void __launch_bounds__(256) fp8_quant_v1_block_kernel(const __nv_bfloat16 *__restrict__ x,
                                                                 uint8_t *__restrict__ q, float *__restrict__ s,
                                                                 int rows, int cols)
{
    __shared__ float red[8];
    const int cb = blockIdx.x, rb = blockIdx.y;
    const int r_end = min(rows - rb * 128, 128);
    float amax = 0.0f;
    for (int i = threadIdx.x; i < r_end * 128; i += 256) {
        size_t idx = (size_t)(rb * 128 + i / 128) * cols + (size_t)cb * 128 + (i % 128);
        amax = fmaxf(amax, fabsf(__bfloat162float(x[idx])));
    }
    const float scale = fq_scale_of(fq_block_amax256(amax, red));
    for (int i = threadIdx.x; i < r_end * 128; i += 256) {
        size_t idx = (size_t)(rb * 128 + i / 128) * cols + (size_t)cb * 128 + (i % 128);
        q[idx] = to_e4m3(__bfloat162float(x[idx]) / scale);
    }
    if (threadIdx.x == 0) s[(size_t)rb * (cols / 128) + cb] = scale;
}
} // namespace

extern "C" kb_status fp8_quant_v1(void *ctx, cudaStream_t stream)
{
    const fp8_quant_args *a = (const fp8_quant_args *)ctx;
    if (a->cols % 128 != 0 || a->rows < 1) return kb_error("fp8_quant_v1: cols %d must be a multiple of 128", a->cols);
    if (a->mode == FP8_QUANT_TOKEN) {
        int64_t groups = (int64_t)a->rows * (a->cols / 128);
        fp8_quant_v1_token_kernel<<<(unsigned)((groups + 7) / 8), 256, 0, stream>>>(
            (const __nv_bfloat16 *)a->x, a->q, a->s, a->rows, a->cols);
    } else {
        dim3 grid((unsigned)(a->cols / 128), (unsigned)((a->rows + 127) / 128));
        fp8_quant_v1_block_kernel<<<grid, 256, 0, stream>>>((const __nv_bfloat16 *)a->x, a->q, a->s, a->rows,
                                                            a->cols);
    }
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}
