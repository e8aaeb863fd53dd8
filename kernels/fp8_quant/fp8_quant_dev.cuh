// fp8_quant_dev.cuh - device steps shared by the quantisation kernels
// (fp8_quant_v1.cu, fp8_quant_v2.cu): the 128x128-tile block max-reduce and
// the amax -> scale rule (scale = max(amax, 1e-4) / 448, IEEE division).
#ifndef FP8_QUANT_DEV_CUH
#define FP8_QUANT_DEV_CUH
#include "kernels/fp8_quant/fp8_quant.h"

__device__ __forceinline__ float fq_scale_of(float amax)
{
    return fmaxf(amax, FP8_AMAX_MIN) / FP8_E4M3_MAX;
}

// Max over a 256-thread block of each thread's amax: warp shuffles, then the
// 8 warp maxima through red[8] (shared memory).  Every thread gets the result.
__device__ __forceinline__ float fq_block_amax256(float amax, float *red)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = amax;
    __syncthreads();
    amax = red[0];
#pragma unroll
    for (int w = 1; w < 8; w++) amax = fmaxf(amax, red[w]);
    return amax;
}
#endif
