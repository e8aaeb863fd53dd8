// mla_decode_v1.cu - simplest correct fused MLA decode kernel.
//
// One CTA per (sequence, group of 8 query rows); 8 warps, warp w owns query
// row w of the group.  Keys are processed in tiles of 32 (lane j = key j):
//   1. the tile (32 x 576) is staged in shared memory as BF16 (FP8 cache:
//      dequantised e4m3 * scale while staging);
//   2. lane j computes score(q_w, k_j) in FP32;
//   3. online softmax over the tile with warp shuffles (log2 domain);
//   4. o_w += p_j * v_j, lane owning output columns {2*lane + 64*c, +1}.
// Everything is FP32 CUDA-core math; K/V is re-read by every row group (from
// L2), so this is a correctness baseline, not a fast kernel.
// NOTES: row stride of the staged tile is 578 BF16 = 289 words, odd, so lane j
// reading word w of row j hits bank (289 j + w) % 32: conflict-free.
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <stdint.h>
#include "kernels/mla_decode/mla_decode.h"
#include "kernels/mla_decode/mla_layout.h"

namespace {
constexpr int ROWS = 8;        // query rows per CTA (one per warp)
constexpr int TK = 32;         // keys per tile (one per lane)
constexpr int KSTRIDE = 289;   // words (bf16x2) per staged key row
constexpr int QW = MLA_D_QK / 2; // 288 words per q/k row

__device__ __forceinline__ uint32_t load_word(const mla_decode_args &a, int page, int r, int w)
{
    size_t tok = (size_t)page * MLA_PAGE + r;
    if (!a.fp8kv) return reinterpret_cast<const uint32_t *>(a.kv + tok * MLA_D_QK)[w];
    const uint8_t *p = a.kv_fp8 + tok * MLA_FP8_TOKEN_BYTES;
    int d = 2 * w;
    if (d >= MLA_D_V) return *reinterpret_cast<const uint32_t *>(p + MLA_FP8_ROPE_OFF + (d - MLA_D_V) * 2);
    float sc = *reinterpret_cast<const float *>(p + MLA_FP8_SCALE_OFF + 4 * (d / 128));
    __nv_fp8_e4m3 e0, e1;
    e0.__x = p[d];
    e1.__x = p[d + 1];
    __nv_bfloat162 v = __floats2bfloat162_rn(float(e0) * sc, float(e1) * sc);
    return *reinterpret_cast<uint32_t *>(&v);
}

__global__ void __launch_bounds__(256) mla_v1_kernel(const mla_decode_args a)
{
    __shared__ uint32_t ks[TK * KSTRIDE];
    __shared__ uint32_t qs[ROWS * QW];
    const int bi = blockIdx.x, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int rows = a.s_q * a.h_q;
    const int row = blockIdx.y * ROWS + warp;
    const int len = a.seqlens[bi];
    const int32_t *bt = a.block_table + (size_t)bi * a.max_blocks;
    const float scale_log2 = a.softmax_scale * 1.4426950408889634f;

    const uint32_t *qg = reinterpret_cast<const uint32_t *>(a.q + ((size_t)bi * rows + blockIdx.y * ROWS) * MLA_D_QK);
    for (int i = threadIdx.x; i < ROWS * QW; i += blockDim.x) qs[i] = qg[i];

    const int limit = mla_row_limit(row, rows, a.h_q, a.s_q, len, len); // visible keys (causal)
    float m = -INFINITY, l = 0.f;
    float acc[16];
#pragma unroll
    for (int c = 0; c < 16; c++) acc[c] = 0.f;

    for (int t0 = 0; t0 < len; t0 += TK) {
        __syncthreads(); // previous tile fully consumed (and q stored)
        for (int i = threadIdx.x; i < TK * QW; i += blockDim.x) {
            int j = i / QW, w = i % QW, t = t0 + j;
            uint32_t v = 0;
            if (t < len) v = load_word(a, bt[t / MLA_PAGE], t % MLA_PAGE, w);
            ks[j * KSTRIDE + w] = v;
        }
        __syncthreads();
        // scores: lane = key
        float s = 0.f;
        const uint32_t *kr = ks + lane * KSTRIDE;
        const uint32_t *qr = qs + warp * QW;
#pragma unroll 8
        for (int w = 0; w < QW; w++) {
            uint32_t kw = kr[w], qw = qr[w];
            float2 kf = __bfloat1622float2(*reinterpret_cast<__nv_bfloat162 *>(&kw));
            float2 qf = __bfloat1622float2(*reinterpret_cast<__nv_bfloat162 *>(&qw));
            s = fmaf(kf.x, qf.x, s);
            s = fmaf(kf.y, qf.y, s);
        }
        s = mla_masked_score(s, t0 + lane, limit, scale_log2);
        float mt = s;
#pragma unroll
        for (int o = 16; o; o >>= 1) mt = fmaxf(mt, __shfl_xor_sync(0xffffffffu, mt, o));
        float m_use;
        const float alpha = mla_softmax_rescale(&m, mt, &m_use); // m <- max(m, mt)
        const float p = exp2f(s - m_use);
        float ps = p;
#pragma unroll
        for (int o = 16; o; o >>= 1) ps += __shfl_xor_sync(0xffffffffu, ps, o);
        l = l * alpha + ps;
#pragma unroll
        for (int c = 0; c < 16; c++) acc[c] *= alpha;
        for (int j = 0; j < TK; j++) {
            const float pj = __shfl_sync(0xffffffffu, p, j);
            const uint32_t *vr = ks + j * KSTRIDE;
#pragma unroll
            for (int c = 0; c < 8; c++) {
                uint32_t vw = vr[lane + 32 * c];
                float2 vf = __bfloat1622float2(*reinterpret_cast<__nv_bfloat162 *>(&vw));
                acc[2 * c] = fmaf(pj, vf.x, acc[2 * c]);
                acc[2 * c + 1] = fmaf(pj, vf.y, acc[2 * c + 1]);
            }
        }
    }
    const float inv = l > 0.f ? 1.f / l : 0.f;
    __nv_bfloat162 *og = reinterpret_cast<__nv_bfloat162 *>(a.o + ((size_t)bi * rows + row) * MLA_D_V);
#pragma unroll
    for (int c = 0; c < 8; c++) og[lane + 32 * c] = __floats2bfloat162_rn(acc[2 * c] * inv, acc[2 * c + 1] * inv);
    if (lane == 0) a.lse[mla_lse_index(bi, a.h_q, a.s_q, row)] = mla_lse_nat(m, l);
}
} // namespace

extern "C" kb_status mla_decode_v1(void *ctx, cudaStream_t stream)
{
    const mla_decode_args *a = static_cast<const mla_decode_args *>(ctx);
    const int rows = a->s_q * a->h_q;
    if (rows % ROWS) return kb_skip("v1 needs s_q*h_q to be a multiple of %d", ROWS);
    dim3 grid((unsigned)a->b, (unsigned)(rows / ROWS));
    mla_v1_kernel<<<grid, 256, 0, stream>>>(*a);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}
