// fp8_gemm_v1.cu - simplest correct FP8 block-scaled GEMM (the GPU correctness
// anchor for every faster variant).
//   One thread per output D[m, n]; for each 128-wide K block it sums
//   A[m,k]*B[n,k] in FP32 (16-byte loads of both rows, E4M3 decoded with
//   cvt), then promotes: acc += block_sum * sa[m,kb] * sb[n/128,kb].
//   Layouts: dense, contiguous (group from group_idx[m]; padding rows are
//   skipped), masked (blockIdx.z = group, rows >= masked_m[g] never written).
// NOTES: CUDA cores only, no shared memory: 16x16 threads per block so a warp
// shares its A rows / B rows through L1.  Slow by design.
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_fp16.h>
#include <stdint.h>
#include "kernels/fp8_gemm/fp8_gemm_v1.h"

namespace {
__device__ __forceinline__ float dot4_e4m3(uint32_t a, uint32_t b)
{
    // Decode two E4M3 pairs at a time to half2 (exact), multiply in FP32.
    __half2_raw a01 = __nv_cvt_fp8x2_to_halfraw2((__nv_fp8x2_storage_t)(a & 0xffff), __NV_E4M3);
    __half2_raw a23 = __nv_cvt_fp8x2_to_halfraw2((__nv_fp8x2_storage_t)(a >> 16), __NV_E4M3);
    __half2_raw b01 = __nv_cvt_fp8x2_to_halfraw2((__nv_fp8x2_storage_t)(b & 0xffff), __NV_E4M3);
    __half2_raw b23 = __nv_cvt_fp8x2_to_halfraw2((__nv_fp8x2_storage_t)(b >> 16), __NV_E4M3);
    float2 fa01 = __half22float2(*reinterpret_cast<__half2 *>(&a01));
    float2 fa23 = __half22float2(*reinterpret_cast<__half2 *>(&a23));
    float2 fb01 = __half22float2(*reinterpret_cast<__half2 *>(&b01));
    float2 fb23 = __half22float2(*reinterpret_cast<__half2 *>(&b23));
    return fa01.x * fb01.x + fa01.y * fb01.y + fa23.x * fb23.x + fa23.y * fb23.y;
}

__global__ void __launch_bounds__(256) fp8_gemm_v1_kernel(fp8_gemm_args p)
{
    const int n = blockIdx.x * 16 + threadIdx.x;
    const int m = blockIdx.y * 16 + threadIdx.y;
    const int kblocks = p.k / 128, nblocks = (p.n + 127) / 128;
    if (n >= p.n || m >= p.m) return;
    int g = 0;
    const uint8_t *a_row;
    const float *sa;
    uint16_t *d;
    if (p.layout == FP8_GEMM_MASKED) {
        g = blockIdx.z;
        if (m >= p.masked_m[g]) return;   // rows past the valid count keep their contents
        a_row = p.a + ((size_t)g * p.m + m) * p.k;
        sa = p.sa + (size_t)g * kblocks * p.m + m;
        d = p.d + ((size_t)g * p.m + m) * p.n + n;
    } else {
        if (p.layout == FP8_GEMM_CONTIGUOUS) {
            g = p.group_idx[m];
            if (g < 0) return;            // padding row: D is don't-care
        }
        a_row = p.a + (size_t)m * p.k;
        sa = p.sa + m;
        d = p.d + (size_t)m * p.n + n;
    }
    const uint8_t *b_row = p.b + ((size_t)g * p.n + n) * p.k;
    const float *sb = p.sb + ((size_t)g * nblocks + n / 128) * kblocks;
    float acc = 0.0f;
    for (int kb = 0; kb < kblocks; kb++) {
        float blk = 0.0f;
        const uint4 *pa = reinterpret_cast<const uint4 *>(a_row + (size_t)kb * 128);
        const uint4 *pb = reinterpret_cast<const uint4 *>(b_row + (size_t)kb * 128);
#pragma unroll 2
        for (int i = 0; i < 8; i++) {
            uint4 va = __ldg(pa + i), vb = __ldg(pb + i);
            blk += dot4_e4m3(va.x, vb.x) + dot4_e4m3(va.y, vb.y) + dot4_e4m3(va.z, vb.z) + dot4_e4m3(va.w, vb.w);
        }
        acc += blk * (sa[(size_t)kb * p.m] * sb[kb]);
    }
    *reinterpret_cast<__nv_bfloat16 *>(d) = __float2bfloat16(acc);
}
} // namespace

extern "C" kb_status fp8_gemm_v1(void *ctx, cudaStream_t stream)
{
    const fp8_gemm_args *p = (const fp8_gemm_args *)ctx;
    if (p->k % 128 != 0) return kb_error("fp8_gemm_v1: K=%d is not a multiple of 128", p->k);
    dim3 block(16, 16);
    dim3 grid((unsigned)((p->n + 15) / 16), (unsigned)((p->m + 15) / 16),
              p->layout == FP8_GEMM_MASKED ? (unsigned)p->num_groups : 1u);
    fp8_gemm_v1_kernel<<<grid, block, 0, stream>>>(*p);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}
