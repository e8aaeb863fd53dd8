// moe_combine_v1.cu - simplest correct combine: one block per token, one
// thread per output element (strided), scalar 2-byte loads of the 8 rows,
// FP32 accumulation in ascending k, BF16 out.
#include <cuda_bf16.h>
#include <stdint.h>
#include "kernels/moe/moe.h"

namespace {
__global__ void combine_v1(const uint16_t *__restrict__ eo, const int32_t *__restrict__ row_of,
                           const float *__restrict__ w, uint16_t *__restrict__ y, int topk, int K)
{
    const int t = blockIdx.x;
    for (int j = threadIdx.x; j < K; j += blockDim.x) {
        float acc = 0.0f;
        for (int k = 0; k < topk; k++) {
            int r = row_of[(size_t)t * topk + k];
            if (r < 0) continue;
            acc += w[(size_t)t * topk + k] * __uint_as_float((uint32_t)eo[(size_t)r * K + j] << 16);
        }
        __nv_bfloat16 h = __float2bfloat16_rn(acc);
        y[(size_t)t * K + j] = *(uint16_t *)&h;
    }
}
} // namespace

extern "C" kb_status moe_combine_v1(void *ctx, cudaStream_t stream)
{
    const moe_combine_args *a = (const moe_combine_args *)ctx;
    combine_v1<<<a->t, 256, 0, stream>>>(a->expert_out, a->row_of, a->topk_w, a->y, a->topk, a->hidden);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}
