// mla_decode_util.cu - device helpers for MLA decode: the FP8 KV-cache fill
// and the split-KV combine kernel shared by v2 and v3.
//
// Combine: for a sequence cut into n segments, partial i holds o_i (already
// divided by its own softmax sum) and lse_i.  lse = log(sum exp(lse_i)),
// o = sum exp(lse_i - lse) * o_i (same math as mla_cpu_combine).
// NOTES: one CTA of 128 threads per (sequence, query row); each thread owns 4
// of the 512 output columns (float4 loads of the FP32 partials).
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <stdint.h>
#include "kernels/mla_decode/mla_decode.h"
#include "kernels/mla_decode/mla_layout.h"
#include "kernels/common/kb_hash.cuh"

namespace {
// One thread per (token, 16-byte chunk of the 656-byte row): 41 chunks.
__global__ void fill_fp8kv_kernel(uint8_t *cache, size_t n_tokens, uint64_t seed)
{
    size_t n = n_tokens * 41;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        size_t tok = i / 41;
        int ch = (int)(i % 41);
        uint8_t *row = cache + tok * MLA_FP8_TOKEN_BYTES;
        uint64_t base = tok * 1024;
        if (ch < 32) { // latent e4m3: values uniform in [-448, 448) -> e4m3
            for (int j = 0; j < 16; j++) {
                float v = -448.0f + 896.0f * kb_uniform01(seed, base + ch * 16 + j);
                __nv_fp8_e4m3 f(v);
                row[ch * 16 + j] = *reinterpret_cast<uint8_t *>(&f);
            }
        } else if (ch == 32) { // 4 positive scales: dequantised latents in ~[-1.5, 1.5]
            float *sc = reinterpret_cast<float *>(row + MLA_FP8_SCALE_OFF);
            for (int j = 0; j < 4; j++) sc[j] = (0.5f + kb_uniform01(seed, base + 600 + j)) / 448.0f * 1.5f;
        } else { // rope bf16, uniform in [-1, 1)
            __nv_bfloat16 *r = reinterpret_cast<__nv_bfloat16 *>(row + MLA_FP8_ROPE_OFF);
            int c = ch - 33; // 8 chunks of 8 bf16
            for (int j = 0; j < 8; j++) r[c * 8 + j] = __float2bfloat16(-1.0f + 2.0f * kb_uniform01(seed, base + 700 + c * 8 + j));
        }
    }
}

// grid (rows, b), 128 threads.  sched layout: mla_sched_pack.
__global__ void __launch_bounds__(128) combine_kernel(const int32_t *__restrict__ sched, int num_parts, int num_segs,
                                                      int b, int s_q, int h_q, const float *__restrict__ o_accum,
                                                      const float *__restrict__ lse_accum, __nv_bfloat16 *__restrict__ o,
                                                      float *__restrict__ lse)
{
    const int row = blockIdx.x, bi = blockIdx.y;
    const int rows = s_q * h_q;
    const int32_t *split_off = mla_packed_split_off(sched, num_parts, num_segs);
    const int32_t *n_split = mla_packed_n_split(sched, num_parts, num_segs, b);
    const int n = n_split[bi];
    if (n == 1) return; // written directly by the attention kernel
    // n == 0: an empty sequence (no segment): o = 0, lse = -inf (as the CPU reference)
    const int off = split_off[bi];
    const float tot = mla_combine_lse(n, lse_accum + mla_accum_row(off, rows, row), (size_t)rows);
    float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
    for (int i = 0; i < n; i++) {
        const float l = lse_accum[mla_accum_row(off + i, rows, row)];
        if (l == -INFINITY) continue;
        const float w = mla_combine_weight(l, tot);
        float4 v = reinterpret_cast<const float4 *>(o_accum + mla_accum_row(off + i, rows, row) * MLA_D_V)[threadIdx.x];
        acc.x += w * v.x;
        acc.y += w * v.y;
        acc.z += w * v.z;
        acc.w += w * v.w;
    }
    __nv_bfloat16 *dst = o + ((size_t)bi * rows + row) * MLA_D_V + threadIdx.x * 4;
    reinterpret_cast<__nv_bfloat162 *>(dst)[0] = __floats2bfloat162_rn(acc.x, acc.y);
    reinterpret_cast<__nv_bfloat162 *>(dst)[1] = __floats2bfloat162_rn(acc.z, acc.w);
    if (threadIdx.x == 0) lse[mla_lse_index(bi, h_q, s_q, row)] = tot;
}
} // namespace

extern "C" kb_status mla_fill_fp8kv(uint8_t *cache, size_t n_tokens, uint64_t seed, cudaStream_t st)
{
    size_t n = n_tokens * 41;
    size_t blocks = (n + 255) / 256;
    if (blocks > 65535) blocks = 65535;
    if (blocks == 0) blocks = 1;
    fill_fp8kv_kernel<<<(unsigned)blocks, 256, 0, st>>>(cache, n_tokens, seed);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}

extern "C" kb_status mla_combine(const mla_decode_args *a, cudaStream_t stream)
{
    int need = a->sched.num_slots > 0; // a sequence was split
    for (int i = 0; i < a->b && !need; i++) need = a->sched.n_split[i] == 0; // an empty sequence
    if (!need) return KB_OK;
    dim3 grid((unsigned)(a->s_q * a->h_q), (unsigned)a->b);
    combine_kernel<<<grid, 128, 0, stream>>>(a->sched_dev, a->sched.num_parts, a->sched.num_segs, a->b, a->s_q, a->h_q,
                                             a->o_accum, a->lse_accum, reinterpret_cast<__nv_bfloat16 *>(a->o),
                                             a->lse);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}
