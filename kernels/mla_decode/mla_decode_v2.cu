// mla_decode_v2.cu - tensor cores (mma.sync m16n8k16 BF16) + split-KV.
//
// Grid (num_parts, head groups); a head group is 64 query rows of one
// sequence (rows r = i*h_q + h, padded with zero rows when s_q*h_q < 64).
// CTA column p runs the segments part_off[p]..part_off[p+1] of the host
// schedule (mla_sched_build: variable sequence lengths balanced over the
// parts); a segment covering a whole sequence writes o/lse, otherwise it
// writes an FP32 partial + lse that mla_combine merges afterwards.
//
// Per segment:
//   shared memory: Q tile 64 x 576 (resident), 3-stage cp.async ring of
//   32-key K/V tiles (32 x 576; V = first 512 columns), P tile 64 x 32 BF16;
//   8 warps: warp w -> row tile rt = w%4 (16 rows), half kh = w/4.
//   1. S = Q K^T: warp computes 16 rows x 16 keys (keys kh*16..), 36 k-steps;
//   2. softmax: row max / sum of the two key halves exchanged through smem,
//      online rescaling in the log2 domain, P rounded to BF16 into smem;
//   3. O += P V: warp computes 16 rows x 256 columns (cols kh*256..), FP32
//      accumulators in registers (128 per thread).
// FP8 KV (template FP8): the ring holds raw 656-byte tokens; each tile is
// dequantised (e4m3 * scale -> BF16, rope copied) into one BF16 K tile.
// NOTES: smem rows are padded to 1168 B (73 x 16 B, odd) so the 8 row
// addresses of an ldmatrix hit 8 different 16-byte bank groups; the P tile
// row is 80 B (5 x 16 B) for the same reason.  One CTA per SM (~193 KB
// smem), 2 tiles (74 KB) in flight per SM to cover HBM latency.
// Row tiles that hold only padding rows (s_q*h_q = 16: 3 of 4) skip their
// ldmatrix + MMA work (mla_v2_tile_live); they still load tiles and meet the
// barriers.  Cache slots past the segment's end are zero-filled in shared
// memory, never loaded (mla_key_loaded: NaN there must not reach P V).
// The ldmatrix addresses and fragment maps live in mla_layout.h;
// tests/test_mla_emu.c emulates ldmatrix / mma.sync with them on the host.
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <stdint.h>
#include "kernels/mla_decode/mla_decode.h"
#include "kernels/mla_decode/mla_layout.h"

namespace {
constexpr int ROWS = MLA_V2_ROWS;
constexpr int TK = MLA_V2_TK;
constexpr int NSTAGE = 3;
constexpr int NTHREADS = 256;
constexpr int QSTR = MLA_V2_QSTR;    // 584 bf16 = 1168 B
constexpr int PSTR = MLA_V2_PSTR;    // 40 bf16 = 80 B
constexpr int Q_BYTES = ROWS * QSTR * 2;            // 74752
constexpr int KT_BYTES = TK * QSTR * 2;             // 37376
constexpr int RAW_BYTES = TK * MLA_FP8_TOKEN_BYTES; // 20992
constexpr int P_BYTES = ROWS * PSTR * 2;            // 5120
constexpr int RED_BYTES = 4 * ROWS * 4;             // 1024

template <bool FP8> constexpr int smem_bytes()
{
    return Q_BYTES + (FP8 ? NSTAGE * RAW_BYTES + KT_BYTES : NSTAGE * KT_BYTES) + P_BYTES + RED_BYTES;
}

__device__ __forceinline__ uint32_t smem_u32(const void *p) { return (uint32_t)__cvta_generic_to_shared(p); }

__device__ __forceinline__ void cp_async16(void *dst, const void *src)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_u32(dst)), "l"(src));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldsm_x4(uint32_t &r0, uint32_t &r1, uint32_t &r2, uint32_t &r3, const void *p)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
                 : "r"(smem_u32(p)));
}
__device__ __forceinline__ void ldsm_x4_t(uint32_t &r0, uint32_t &r1, uint32_t &r2, uint32_t &r3, const void *p)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
                 : "r"(smem_u32(p)));
}
__device__ __forceinline__ void mma_bf16(float *c, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0,
                                         uint32_t b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// Issue the loads of one 32-key tile starting at token t0 (always inside one
// page: t0 % 32 == 0) into `dst` (BF16 K tile, or raw FP8 tokens).  Keys at
// or past `end` (the cache slots past seqlen in the last page: may hold NaN)
// are zero-filled, not loaded (mla_key_loaded): P = 0 there, but 0 * NaN =
// NaN in P V.  A zero FP8 token (e4m3 0, scale 0) dequantises to 0.
template <bool FP8>
__device__ __forceinline__ void load_tile(const mla_decode_args &a, const int32_t *bt, int t0, int end, uint8_t *dst)
{
    const int page = bt[t0 / MLA_PAGE], r0 = t0 % MLA_PAGE;
    if (!FP8) {
        const uint16_t *src = a.kv + ((size_t)page * MLA_PAGE + r0) * MLA_D_QK;
        for (int i = threadIdx.x; i < TK * (MLA_D_QK / 8); i += NTHREADS) {
            int key = i / (MLA_D_QK / 8), c = i % (MLA_D_QK / 8);
            uint8_t *d = dst + key * QSTR * 2 + c * 16;
            if (mla_key_loaded(t0 + key, end)) cp_async16(d, src + key * MLA_D_QK + c * 8);
            else *reinterpret_cast<uint4 *>(d) = make_uint4(0, 0, 0, 0);
        }
    } else {
        const uint8_t *src = a.kv_fp8 + ((size_t)page * MLA_PAGE + r0) * MLA_FP8_TOKEN_BYTES;
        static_assert(MLA_FP8_TOKEN_BYTES % 16 == 0, "16-B chunks of one token");
        for (int i = threadIdx.x; i < RAW_BYTES / 16; i += NTHREADS) {
            if (mla_key_loaded(t0 + i / (MLA_FP8_TOKEN_BYTES / 16), end)) cp_async16(dst + i * 16, src + i * 16);
            else *reinterpret_cast<uint4 *>(dst + i * 16) = make_uint4(0, 0, 0, 0);
        }
    }
}

// Raw FP8 tokens -> BF16 K tile (e4m3 * per-128 scale, rope copied).
__device__ __forceinline__ void dequant_tile(const uint8_t *raw, uint16_t *kt)
{
    for (int i = threadIdx.x; i < TK * (MLA_D_QK / 8); i += NTHREADS) {
        int key = i / (MLA_D_QK / 8), c = i % (MLA_D_QK / 8);
        const uint8_t *tok = raw + key * MLA_FP8_TOKEN_BYTES;
        uint4 out;
        if (!mla_fp8_chunk_is_rope(c)) {
            const float sc = *reinterpret_cast<const float *>(tok + mla_fp8_chunk_scale(c));
            const uint2 v = *reinterpret_cast<const uint2 *>(tok + mla_fp8_chunk_src(c));
            uint32_t w[4] = {v.x & 0xffffu, v.x >> 16, v.y & 0xffffu, v.y >> 16};
            uint32_t o4[4];
#pragma unroll
            for (int j = 0; j < 4; j++) {
                __half2_raw hr = __nv_cvt_fp8x2_to_halfraw2((__nv_fp8x2_storage_t)w[j], __NV_E4M3);
                float2 f = __half22float2(*reinterpret_cast<__half2 *>(&hr));
                __nv_bfloat162 bb = __floats2bfloat162_rn(f.x * sc, f.y * sc);
                o4[j] = *reinterpret_cast<uint32_t *>(&bb);
            }
            out = make_uint4(o4[0], o4[1], o4[2], o4[3]);
        } else {
            out = *reinterpret_cast<const uint4 *>(tok + mla_fp8_chunk_src(c));
        }
        *reinterpret_cast<uint4 *>(kt + key * QSTR + c * 8) = out; // row `key`, columns 8c..8c+7
    }
}

template <bool FP8> __global__ void __launch_bounds__(NTHREADS, 1) mla_v2_kernel(const mla_decode_args a)
{
    extern __shared__ __align__(128) uint8_t smem[];
    uint16_t *qs = reinterpret_cast<uint16_t *>(smem);
    uint8_t *ring = smem + Q_BYTES;
    constexpr int STAGE = FP8 ? RAW_BYTES : KT_BYTES;
    uint16_t *kconv = reinterpret_cast<uint16_t *>(ring + NSTAGE * RAW_BYTES); // FP8 only
    uint16_t *ps = reinterpret_cast<uint16_t *>(ring + (FP8 ? NSTAGE * RAW_BYTES + KT_BYTES : NSTAGE * KT_BYTES));
    float *red_max = reinterpret_cast<float *>(reinterpret_cast<uint8_t *>(ps) + P_BYTES); // [2][64]
    float *red_sum = red_max + 2 * ROWS;                                                   // [2][64]

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int rt = warp & 3, kh = warp >> 2;
    const int tig = lane & 3;
    const int nrows = a.s_q * a.h_q;
    const int grp = blockIdx.y;
    const float scale_log2 = a.softmax_scale * 1.4426950408889634f;

    const int32_t *part_off = a.sched_dev;
    const int32_t *segs = mla_packed_segs(a.sched_dev, a.sched.num_parts);
    const int g_begin = part_off[blockIdx.x], g_end = part_off[blockIdx.x + 1];

    for (int g = g_begin; g < g_end; g++) {
        const int bi = segs[4 * g], begin = segs[4 * g + 1], end = segs[4 * g + 2], slot = segs[4 * g + 3];
        const int len = a.seqlens[bi];
        const int32_t *bt = a.block_table + (size_t)bi * a.max_blocks;
        const int ntiles = (end - begin + TK - 1) / TK;
        __syncthreads(); // previous segment done with every buffer

        // ---- Q tile (64 rows, zero padding) + first two K tiles ----
        for (int i = threadIdx.x; i < ROWS * (MLA_D_QK / 8); i += NTHREADS) {
            int r = i / (MLA_D_QK / 8), c = i % (MLA_D_QK / 8);
            int R = grp * ROWS + r;
            uint16_t *dst = qs + r * QSTR + c * 8;
            if (R < nrows)
                cp_async16(dst, a.q + ((size_t)bi * nrows + R) * MLA_D_QK + c * 8);
            else
                *reinterpret_cast<uint4 *>(dst) = make_uint4(0, 0, 0, 0);
        }
        load_tile<FP8>(a, bt, begin, end, ring);
        cp_async_commit();
        if (ntiles > 1) load_tile<FP8>(a, bt, begin + TK, end, ring + STAGE);
        cp_async_commit();

        // two rows per thread (mla_v2_s_row): r_lo = rt*16 + lane/4, r_hi = r_lo + 8
        int limit[2];
#pragma unroll
        for (int h = 0; h < 2; h++) {
            limit[h] = mla_row_limit(grp * ROWS + mla_v2_s_row(rt, lane, 2 * h), nrows, a.h_q, a.s_q, len, end);
        }
        // an all-padding row tile (s_q*h_q < 64) skips its MMAs (warp-uniform)
        const bool live = mla_v2_tile_live(rt, grp, nrows);
        float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
        float acc[32][4];
#pragma unroll
        for (int n = 0; n < 32; n++) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.f;

        for (int j = 0; j < ntiles; j++) {
            cp_async_wait<1>();
            __syncthreads(); // tile j visible to all; tile j-1 fully consumed
            if (j + 2 < ntiles) load_tile<FP8>(a, bt, begin + (j + 2) * TK, end, ring + ((j + 2) % NSTAGE) * STAGE);
            cp_async_commit();
            const uint16_t *kt;
            if (FP8) {
                dequant_tile(ring + (j % NSTAGE) * STAGE, kconv);
                __syncthreads();
                kt = kconv;
            } else {
                kt = reinterpret_cast<const uint16_t *>(ring + (j % NSTAGE) * STAGE);
            }
            const int t0 = begin + j * TK;

            // ---- 1. S = Q K^T (16 rows x 16 keys per warp) ----
            float s[2][4];
#pragma unroll
            for (int n = 0; n < 2; n++) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
            if (live) {
#pragma unroll 4
                for (int kk = 0; kk < MLA_D_QK / 16; kk++) {
                    uint32_t a0, a1, a2, a3, b0, b1, b2, b3;
                    ldsm_x4(a0, a1, a2, a3, qs + mla_v2_q_ldsm(rt, lane, kk));
                    ldsm_x4(b0, b1, b2, b3, kt + mla_v2_k_ldsm(kh, lane, kk));
                    mma_bf16(s[0], a0, a1, a2, a3, b0, b1);
                    mma_bf16(s[1], a0, a1, a2, a3, b2, b3);
                }
            }

            // ---- 2. online softmax (log2 domain) ----
            float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
            for (int n = 0; n < 2; n++)
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int h = e >> 1;
                    const int t = t0 + mla_v2_s_key(kh, lane, n, e);
                    s[n][e] = mla_masked_score(s[n][e], t, limit[h], scale_log2);
                    mx[h] = fmaxf(mx[h], s[n][e]);
                }
#pragma unroll
            for (int h = 0; h < 2; h++) {
                mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 1));
                mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 2));
                if (tig == 0) red_max[kh * ROWS + mla_v2_s_row(rt, lane, 2 * h)] = mx[h];
            }
            __syncthreads();
            float alpha[2], sum[2] = {0.f, 0.f}, m_use[2];
#pragma unroll
            for (int h = 0; h < 2; h++) {
                const int r = mla_v2_s_row(rt, lane, 2 * h);
                alpha[h] = mla_softmax_rescale(&m[h], fmaxf(red_max[r], red_max[ROWS + r]), &m_use[h]);
            }
#pragma unroll
            for (int n = 0; n < 2; n++) {
                float p0 = exp2f(s[n][0] - m_use[0]), p1 = exp2f(s[n][1] - m_use[0]);
                float p2 = exp2f(s[n][2] - m_use[1]), p3 = exp2f(s[n][3] - m_use[1]);
                sum[0] += p0 + p1;
                sum[1] += p2 + p3;
                const int col = mla_v2_s_key(kh, lane, n, 0);
                *reinterpret_cast<__nv_bfloat162 *>(ps + mla_v2_p_off(mla_v2_s_row(rt, lane, 0), col)) =
                    __floats2bfloat162_rn(p0, p1);
                *reinterpret_cast<__nv_bfloat162 *>(ps + mla_v2_p_off(mla_v2_s_row(rt, lane, 2), col)) =
                    __floats2bfloat162_rn(p2, p3);
            }
#pragma unroll
            for (int h = 0; h < 2; h++) {
                sum[h] += __shfl_xor_sync(0xffffffffu, sum[h], 1);
                sum[h] += __shfl_xor_sync(0xffffffffu, sum[h], 2);
                if (tig == 0) red_sum[kh * ROWS + mla_v2_s_row(rt, lane, 2 * h)] = sum[h];
            }
            __syncthreads(); // P and the row sums visible
#pragma unroll
            for (int h = 0; h < 2; h++) {
                const int r = mla_v2_s_row(rt, lane, 2 * h);
                l[h] = l[h] * alpha[h] + red_sum[r] + red_sum[ROWS + r];
            }
#pragma unroll
            for (int n = 0; n < 32; n++) {
                acc[n][0] *= alpha[0];
                acc[n][1] *= alpha[0];
                acc[n][2] *= alpha[1];
                acc[n][3] *= alpha[1];
            }

            // ---- 3. O += P V (16 rows x 256 columns per warp) ----
            if (live) {
#pragma unroll
                for (int ks = 0; ks < TK / 16; ks++) {
                    uint32_t a0, a1, a2, a3;
                    ldsm_x4(a0, a1, a2, a3, ps + mla_v2_p_ldsm(rt, lane, ks));
#pragma unroll
                    for (int np = 0; np < 16; np++) {
                        uint32_t b0, b1, b2, b3;
                        ldsm_x4_t(b0, b1, b2, b3, kt + mla_v2_v_ldsm(kh, lane, ks, np));
                        mma_bf16(acc[2 * np], a0, a1, a2, a3, b0, b1);
                        mma_bf16(acc[2 * np + 1], a0, a1, a2, a3, b2, b3);
                    }
                }
            }
        }
        cp_async_wait<0>();

        // ---- epilogue: final o/lse, or a partial for the combine ----
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const int R = grp * ROWS + mla_v2_s_row(rt, lane, 2 * h);
            if (R >= nrows) continue;
            const float inv = l[h] > 0.f ? 1.f / l[h] : 0.f;
            const float lse = mla_lse_nat(m[h], l[h]);
            if (slot < 0) {
                __nv_bfloat16 *orow = reinterpret_cast<__nv_bfloat16 *>(a.o) + ((size_t)bi * nrows + R) * MLA_D_V;
#pragma unroll
                for (int n = 0; n < 32; n++)
                    *reinterpret_cast<__nv_bfloat162 *>(orow + mla_v2_o_col(kh, lane, n, 2 * h)) =
                        __floats2bfloat162_rn(acc[n][2 * h] * inv, acc[n][2 * h + 1] * inv);
                if (kh == 0 && tig == 0) a.lse[mla_lse_index(bi, a.h_q, a.s_q, R)] = lse;
            } else {
                float *orow = a.o_accum + mla_accum_row(slot, nrows, R) * MLA_D_V;
#pragma unroll
                for (int n = 0; n < 32; n++)
                    *reinterpret_cast<float2 *>(orow + mla_v2_o_col(kh, lane, n, 2 * h)) =
                        make_float2(acc[n][2 * h] * inv, acc[n][2 * h + 1] * inv);
                if (kh == 0 && tig == 0) a.lse_accum[mla_accum_row(slot, nrows, R)] = lse;
            }
        }
    }
}

template <bool FP8> kb_status launch(const mla_decode_args *a, cudaStream_t stream)
{
    constexpr int smem = smem_bytes<FP8>();
    KB_CUDA_TRY(cudaFuncSetAttribute(mla_v2_kernel<FP8>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    const int groups = (a->s_q * a->h_q + ROWS - 1) / ROWS;
    dim3 grid((unsigned)a->sched.num_parts, (unsigned)groups);
    mla_v2_kernel<FP8><<<grid, NTHREADS, smem, stream>>>(*a);
    KB_CUDA_TRY(cudaGetLastError());
    return mla_combine(a, stream);
}
} // namespace

extern "C" kb_status mla_decode_v2(void *ctx, cudaStream_t stream)
{
    const mla_decode_args *a = static_cast<const mla_decode_args *>(ctx);
    return a->fp8kv ? launch<true>(a, stream) : launch<false>(a, stream);
}
