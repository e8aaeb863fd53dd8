// moe_dispatch_dev.cuh - device steps shared by the dispatch kernels
// (moe_dispatch_v1.cu, moe_dispatch_v2.cu) and the library baseline
// (reference/moe_lib.cu): the warp ranking of 32 slots and the scalar
// copy/quantise of one token row into its dispatched row.
#ifndef MOE_DISPATCH_DEV_CUH
#define MOE_DISPATCH_DEV_CUH
#include <cuda_fp8.h>
#include <stdint.h>
#include "kernels/moe/moe.h"
#include "kernels/moe/moe_math.h"
#include "kernels/moe/moe_dispatch_map.h"

// One warp step of the ranking: lane `lane` holds expert e (-1: none).  Returns
// its row (base[e] + rank among the lanes holding e, -1 for none) and advances
// base[e] (shared memory) past them.  All 32 lanes must call it.
__device__ __forceinline__ int moe_warp_rank(int e, int lane, int32_t *base)
{
    unsigned same = __match_any_sync(0xffffffffu, e);
    int rank = moe_rank_in_warp(same, lane);
    int r = e >= 0 ? base[e] + rank : -1;
    __syncwarp();
    if (e >= 0 && rank == 0) base[e] += moe_rank_count(same);
    __syncwarp();
    return r;
}

// One block copies the K BF16 values of xr into row `row` of out (BF16), or
// quantises them (E4M3, a warp per 1x128 group, scalar 2-byte loads) and
// writes the group scales to sa in the layout of fmt.
__device__ __forceinline__ void moe_copy_row(const uint16_t *__restrict__ xr, int row, int K, moe_dispatch_fmt fmt,
                                             int m_cap, int m_max, void *__restrict__ out, float *__restrict__ sa)
{
    if (fmt == MOE_FMT_BF16) {
        uint16_t *o = (uint16_t *)out + (size_t)row * K;
        for (int j = threadIdx.x; j < K; j += blockDim.x) o[j] = xr[j];
        return;
    }
    uint8_t *o = (uint8_t *)out + (size_t)row * K;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, nw = blockDim.x / 32, nb = K / MOE_QBLOCK;
    for (int g = warp; g < nb; g += nw) {
        float v[4], amax = 0.0f;
        for (int q = 0; q < 4; q++) {
            v[q] = __uint_as_float((uint32_t)xr[g * MOE_QBLOCK + lane + 32 * q] << 16);
            amax = fmaxf(amax, fabsf(v[q]));
        }
        for (int m = 16; m > 0; m >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, m));
        float scale, inv;
        moe_quant_scale(amax, &scale, &inv);
        for (int q = 0; q < 4; q++)
            o[g * MOE_QBLOCK + lane + 32 * q] =
                (uint8_t)__nv_cvt_float_to_fp8(moe_mul(v[q], inv), __NV_SATFINITE, __NV_E4M3);
        if (lane == 0) sa[moe_scale_index(fmt == MOE_FMT_E4M3_MASKED, row, g, nb, m_cap, m_max)] = scale;
    }
}
#endif
