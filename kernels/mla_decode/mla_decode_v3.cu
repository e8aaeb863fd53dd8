// mla_decode_v3.cu - Hopper: wgmma BF16, TMA page tiles, double buffering,
// the same split-KV scheduler and combine as v2.  BF16 cache only (fp8kv:
// v2).
//
// Grid (num_parts, head groups of 64 query rows), 256 threads = 2 warpgroups.
// Shared memory (all tiles in TMA/wgmma 128-byte-swizzled K-major form, one
// 8 KB box = 64 rows x 64 columns of BF16):
//   Q  [64 rows, 576]  9 boxes     (TMA from q viewed as [b*s_q*h_q, 576])
//   KV [64 keys, 576]  9 boxes x 2 stages (one whole page per stage, TMA from
//                                  the cache viewed as [num_blocks*64, 576])
//   P  [64 rows, 64 keys] 1 box    (BF16 probabilities, written by threads)
// Per page (64 keys), warpgroup w:
//   1. S_w = Q K[32w..32w+32)^T: 36 x wgmma.m64n32k16 (A = Q, B = K, both
//      K-major descriptors, +32 B per k-step inside a 128-B row);
//   2. softmax over the page: row max / sum of the two halves exchanged
//      through shared memory (log2 domain, online rescaling); P -> smem;
//   3. O_w += P V[:, 256w..256w+256): 4 x wgmma.m64n256k16 with V read from
//      the same page tile as an MN-major operand (transpose bit), FP32
//      accumulators in registers (128 per thread).
//   The last page of a segment has its keys past the segment's end zeroed
//   in shared memory first (cache slots past seqlen: NaN must not reach P V).
//   Thread 0 issues the TMA of page j+2 into the stage page j used once all
//   threads are past page j (double buffering: page j+1 is in flight while
//   page j is computed).
// NOTES: descriptors: K-major SW128: SBO = 1024 B (8 rows x 128 B), LBO
// unused; MN-major SW128 (V): LBO = 8192 B (next 64 columns = next box),
// SBO = 1024 B (next 8 keys).  Every box is 1024-B aligned (swizzle pattern
// base offset 0).  ~226 KB of smem: one CTA per SM.
// UNVERIFIED on a GPU (written without one): the descriptor fields and the
// swizzled P store follow the PTX ISA canonical layouts; tests/test_mla_emu.c
// emulates the TMA SW128 writes and the wgmma descriptor reads with this
// file's own offsets (kernels/mla_decode/mla_layout.h) and checks S = Q K^T
// and O = P V over a whole page on the host.
// wgmma: a spin timeout must not call printf (ptxas C7510, kb_spin.cuh).
#define KB_SPIN_QUIET 1
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_bf16.h>
#include <stdint.h>
#include "kernels/common/hopper.cuh"
#include "kernels/mla_decode/mla_decode.h"
#include "kernels/mla_decode/mla_layout.h"

namespace {
constexpr int NTHREADS = 256;
constexpr int NBOX = MLA_V3_NBOX;       // 9 boxes of 64 rows x 128 B
constexpr int TILE = MLA_V3_TILE;       // 73728: one page or the Q tile
constexpr int OFF_Q = MLA_V3_OFF_Q;
constexpr int OFF_KV = MLA_V3_OFF_KV;   // 2 stages
constexpr int OFF_P = MLA_V3_OFF_P;
constexpr int OFF_RED = MLA_V3_OFF_RED; // red_max[2][64], red_sum[2][64]
constexpr int OFF_BAR = MLA_V3_OFF_BAR; // 3 mbarriers
constexpr int SMEM_BYTES = MLA_V3_SMEM_BYTES; // + alignment slack
static_assert(OFF_KV % 1024 == 0 && OFF_P % 1024 == 0 && TILE % 1024 == 0, "SW128 tiles need 1024-B alignment");
static_assert(SMEM_BYTES <= 227 * 1024, "more than 227 KB of shared memory");

// mbarrier / TMA / wgmma-fence wrappers: kernels/common/hopper.cuh
__device__ __forceinline__ void fence_operand(float &x) { asm volatile("" : "+f"(x)::"memory"); }

// Shared memory matrix descriptor, 128-byte swizzle.
__device__ __forceinline__ uint64_t make_desc(const void *p, uint32_t lbo, uint32_t sbo)
{
    return mla_desc_encode(smem_u32(p), lbo, sbo);
}

// D[64 x 32] += A[64 x 16] * B[16 x 32]: A, B from shared memory (descriptors).
__device__ __forceinline__ void wgmma_m64n32_ss(float *d, uint64_t da, uint64_t db)
{
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %18, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16 {"
                 "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15"
                 "}, %16, %17, p, 1, 1, 0, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
                   "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
                 : "l"(da), "l"(db), "r"(1));
}

// D[64 x 256] += A[64 x 16] * B[16 x 256]: A, B from shared memory (descriptors), B MN-major.
__device__ __forceinline__ void wgmma_m64n256_ss_tb(float *d, uint64_t da, uint64_t db)
{
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 {"
                 "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
                 "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
                 "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, "
                 "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, "
                 "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, "
                 "%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, "
                 "%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127"
                 "}, %128, %129, p, 1, 1, 0, 1;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
                   "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
                   "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
                   "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
                   "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
                   "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
                   "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
                   "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]),
                   "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]),
                   "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]),
                   "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]),
                   "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]),
                   "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]),
                   "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]),
                   "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]),
                   "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
                 : "l"(da), "l"(db), "r"(1));
}

__global__ void __launch_bounds__(NTHREADS, 1)
    mla_v3_kernel(const __grid_constant__ CUtensorMap tm_q, const __grid_constant__ CUtensorMap tm_kv,
                  const mla_decode_args a)
{
    extern __shared__ uint8_t smem_raw[];
    uint8_t *smem = reinterpret_cast<uint8_t *>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023));
    uint8_t *qs = smem + OFF_Q;
    uint8_t *ps = smem + OFF_P;
    float *red_max = reinterpret_cast<float *>(smem + OFF_RED);
    float *red_sum = red_max + 128;
    uint64_t *bar = reinterpret_cast<uint64_t *>(smem + OFF_BAR); // [0], [1]: stages, [2]: Q

    const int tid = threadIdx.x, wg = tid / 128, t128 = tid % 128, lane = tid % 32;
    const int tig = lane & 3;
    const int nrows = a.s_q * a.h_q, grp = blockIdx.y;
    const float scale_log2 = a.softmax_scale * 1.4426950408889634f;
    const int32_t *part_off = a.sched_dev;
    const int32_t *segs = mla_packed_segs(a.sched_dev, a.sched.num_parts);
    const int g_begin = part_off[blockIdx.x], g_end = part_off[blockIdx.x + 1];

    if (tid == 0) {
        mbar_init(&bar[0], 1);
        mbar_init(&bar[1], 1);
        mbar_init(&bar[2], 1);
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
        asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
    }
    __syncthreads();

    uint32_t it = 0, qphase = 0; // pages consumed so far (stage = it % 2), Q loads so far
    for (int g = g_begin; g < g_end; g++) {
        const int bi = segs[4 * g], begin = segs[4 * g + 1], end = segs[4 * g + 2], slot = segs[4 * g + 3];
        const int len = a.seqlens[bi];
        const int32_t *bt = a.block_table + (size_t)bi * a.max_blocks;
        const int npages = (end - begin + MLA_PAGE - 1) / MLA_PAGE;
        __syncthreads(); // every thread is done with Q, the stages and P
        if (tid == 0) {
            mbar_arrive_expect_tx(&bar[2], TILE);
            for (int c = 0; c < NBOX; c++)
                tma_load_2d(qs + mla_v3_box_dst(c), &tm_q, &bar[2], mla_v3_box_col(c), bi * nrows + grp * 64);
            for (int jj = 0; jj < 2 && jj < npages; jj++) {
                const int st = (it + jj) & 1, page = bt[begin / MLA_PAGE + jj];
                mbar_arrive_expect_tx(&bar[st], TILE);
                for (int c = 0; c < NBOX; c++)
                    tma_load_2d(smem + OFF_KV + st * TILE + mla_v3_box_dst(c), &tm_kv, &bar[st], mla_v3_box_col(c), page * MLA_PAGE);
            }
        }
        // rows of this thread in the accumulators (mla_wg_acc_row): r_lo = 16*warp + lane/4, r_hi = r_lo + 8
        int limit[2];
#pragma unroll
        for (int h = 0; h < 2; h++)
            limit[h] = mla_row_limit(grp * 64 + mla_wg_acc_row(t128, 2 * h), nrows, a.h_q, a.s_q, len, end);
        float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
        float acc[128];
#pragma unroll
        for (int i = 0; i < 128; i++) acc[i] = 0.f;
        mbar_wait(&bar[2], qphase, "q", 2);
        qphase ^= 1;

        for (int j = 0; j < npages; j++, it++) {
            const int st = it & 1;
            uint8_t *kv = smem + OFF_KV + st * TILE;
            mbar_wait(&bar[st], (it >> 1) & 1, "kv", st);
            const int t0 = begin + j * MLA_PAGE;
            if (t0 + MLA_PAGE > end) { // last page of the segment (CTA-uniform)
                // keys >= end: the cache slots past seqlen, loaded with the
                // page (NaN/Inf there is normal): zero them, P = 0 there but
                // 0 * NaN = NaN in P V (mla_key_loaded)
                const int n = NBOX * mla_v3_tail_rows(t0, end) * 8;
                for (int i = tid; i < n; i += NTHREADS)
                    *reinterpret_cast<uint4 *>(kv + mla_v3_tail_chunk_off(t0, end, i)) = make_uint4(0, 0, 0, 0);
                asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); // zeros visible to wgmma
                __syncthreads();
            }

            // ---- 1. S = Q K^T for keys [32 wg, 32 wg + 32) of the page ----
            float s[16];
#pragma unroll
            for (int i = 0; i < 16; i++) s[i] = 0.f;
#pragma unroll
            for (int i = 0; i < 16; i++) fence_operand(s[i]);
            wgmma_fence();
#pragma unroll
            for (int kk = 0; kk < MLA_D_QK / 16; kk++) {
                const uint64_t da = make_desc(qs + mla_v3_q_desc_off(kk), MLA_V3_KMAJ_LBO, MLA_V3_KMAJ_SBO);
                const uint64_t db = make_desc(kv + mla_v3_k_desc_off(wg, kk), MLA_V3_KMAJ_LBO, MLA_V3_KMAJ_SBO);
                wgmma_m64n32_ss(s, da, db);
            }
            wgmma_commit();
            wgmma_wait0();
#pragma unroll
            for (int i = 0; i < 16; i++) fence_operand(s[i]);

            // ---- 2. online softmax (log2 domain) ----
            float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int h = e >> 1;
                    const int t = t0 + 32 * wg + mla_wg_acc_col(t128, i, e);
                    s[4 * i + e] = mla_masked_score(s[4 * i + e], t, limit[h], scale_log2);
                    mx[h] = fmaxf(mx[h], s[4 * i + e]);
                }
#pragma unroll
            for (int h = 0; h < 2; h++) {
                mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 1));
                mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 2));
                if (tig == 0) red_max[wg * 64 + mla_wg_acc_row(t128, 2 * h)] = mx[h];
            }
            __syncthreads();
            float alpha[2], m_use[2], sum[2] = {0.f, 0.f};
#pragma unroll
            for (int h = 0; h < 2; h++) {
                const int r = mla_wg_acc_row(t128, 2 * h);
                alpha[h] = mla_softmax_rescale(&m[h], fmaxf(red_max[r], red_max[64 + r]), &m_use[h]);
            }
#pragma unroll
            for (int i = 0; i < 4; i++) {
                const float p0 = exp2f(s[4 * i] - m_use[0]), p1 = exp2f(s[4 * i + 1] - m_use[0]);
                const float p2 = exp2f(s[4 * i + 2] - m_use[1]), p3 = exp2f(s[4 * i + 3] - m_use[1]);
                sum[0] += p0 + p1;
                sum[1] += p2 + p3;
#pragma unroll
                for (int h = 0; h < 2; h++) {
                    const int r = mla_wg_acc_row(t128, 2 * h), key = 32 * wg + mla_wg_acc_col(t128, i, 0);
                    __nv_bfloat162 v = h ? __floats2bfloat162_rn(p2, p3) : __floats2bfloat162_rn(p0, p1);
                    *reinterpret_cast<__nv_bfloat162 *>(ps + mla_v3_p_store_off(r, key)) = v;
                }
            }
#pragma unroll
            for (int h = 0; h < 2; h++) {
                sum[h] += __shfl_xor_sync(0xffffffffu, sum[h], 1);
                sum[h] += __shfl_xor_sync(0xffffffffu, sum[h], 2);
                if (tig == 0) red_sum[wg * 64 + mla_wg_acc_row(t128, 2 * h)] = sum[h];
            }
            asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); // P visible to wgmma
            __syncthreads();
#pragma unroll
            for (int h = 0; h < 2; h++) {
                const int r = mla_wg_acc_row(t128, 2 * h);
                l[h] = l[h] * alpha[h] + red_sum[r] + red_sum[64 + r];
            }
#pragma unroll
            for (int i = 0; i < 32; i++) {
                acc[4 * i] *= alpha[0];
                acc[4 * i + 1] *= alpha[0];
                acc[4 * i + 2] *= alpha[1];
                acc[4 * i + 3] *= alpha[1];
            }

            // ---- 3. O[:, 256 wg ..) += P V ----
            // Fence the accumulators (CUTLASS warpgroup_fence_operand): the
            // rescale above must be complete in these registers before
            // wgmma.fence, or ptxas moves it and injects a warpgroup.arrive
            // (note C7519; tests/mla_decode.cmake checks it is gone).
#pragma unroll
            for (int i = 0; i < 128; i++) fence_operand(acc[i]);
            wgmma_fence();
#pragma unroll
            for (int ks = 0; ks < MLA_PAGE / 16; ks++) {
                const uint64_t da = make_desc(ps + mla_v3_p_desc_off(ks), MLA_V3_KMAJ_LBO, MLA_V3_KMAJ_SBO);
                const uint64_t db = make_desc(kv + mla_v3_v_desc_off(wg, ks), MLA_V3_MN_LBO, MLA_V3_MN_SBO);
                wgmma_m64n256_ss_tb(acc, da, db);
            }
            wgmma_commit();
            wgmma_wait0();
#pragma unroll
            for (int i = 0; i < 128; i++) fence_operand(acc[i]);
            __syncthreads(); // stage st and P are free
            if (tid == 0 && j + 2 < npages) {
                const int page = bt[begin / MLA_PAGE + j + 2];
                mbar_arrive_expect_tx(&bar[st], TILE);
                for (int c = 0; c < NBOX; c++)
                    tma_load_2d(kv + mla_v3_box_dst(c), &tm_kv, &bar[st], mla_v3_box_col(c), page * MLA_PAGE);
            }
        }

        // ---- epilogue: final o/lse, or a partial for the combine ----
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const int R = grp * 64 + mla_wg_acc_row(t128, 2 * h);
            if (R >= nrows) continue;
            const float inv = l[h] > 0.f ? 1.f / l[h] : 0.f;
            const float lse = mla_lse_nat(m[h], l[h]);
            if (slot < 0) {
                __nv_bfloat16 *orow = reinterpret_cast<__nv_bfloat16 *>(a.o) + ((size_t)bi * nrows + R) * MLA_D_V + 256 * wg;
#pragma unroll
                for (int i = 0; i < 32; i++)
                    *reinterpret_cast<__nv_bfloat162 *>(orow + mla_wg_acc_col(t128, i, 2 * h)) =
                        __floats2bfloat162_rn(acc[4 * i + 2 * h] * inv, acc[4 * i + 2 * h + 1] * inv);
                if (wg == 0 && tig == 0) a.lse[mla_lse_index(bi, a.h_q, a.s_q, R)] = lse;
            } else {
                float *orow = a.o_accum + mla_accum_row(slot, nrows, R) * MLA_D_V + 256 * wg;
#pragma unroll
                for (int i = 0; i < 32; i++)
                    *reinterpret_cast<float2 *>(orow + mla_wg_acc_col(t128, i, 2 * h)) =
                        make_float2(acc[4 * i + 2 * h] * inv, acc[4 * i + 2 * h + 1] * inv);
                if (wg == 0 && tig == 0) a.lse_accum[mla_accum_row(slot, nrows, R)] = lse;
            }
        }
    }
}

// 2D tensor map over a row-major [rows, 576] BF16 matrix, box 64 x 64, 128-B swizzle.
kb_status make_map(CUtensorMap *map, const void *base, uint64_t rows)
{
    PFN_cuTensorMapEncodeTiled_v12000 encode = kb_tensor_map_encoder();
    if (!encode) return kb_skip("mla_decode_v3: cuTensorMapEncodeTiled not available from the driver");
    cuuint64_t dims[2] = {MLA_D_QK, rows};
    cuuint64_t strides[1] = {MLA_V3_TMAP_GSTRIDE};
    cuuint32_t box[2] = {MLA_V3_TMAP_BOX_INNER, MLA_V3_TMAP_BOX_ROWS};
    cuuint32_t estr[2] = {1, 1};
    CUresult r = encode(map, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, const_cast<void *>(base), dims, strides, box, estr,
                        CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                        CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS) return kb_error("cuTensorMapEncodeTiled failed: %d", (int)r);
    return KB_OK;
}
} // namespace

extern "C" kb_status mla_decode_v3(void *ctx, cudaStream_t stream)
{
    const mla_decode_args *a = static_cast<const mla_decode_args *>(ctx);
    if (a->fp8kv) return kb_skip("bf16 only (fp8kv: v2)");
    CUtensorMap tm_q, tm_kv;
    KB_TRY(make_map(&tm_q, a->q, (uint64_t)a->b * a->s_q * a->h_q));
    KB_TRY(make_map(&tm_kv, a->kv, (uint64_t)a->num_blocks * MLA_PAGE));
    KB_CUDA_TRY(cudaFuncSetAttribute(mla_v3_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, SMEM_BYTES));
    const int groups = (a->s_q * a->h_q + 63) / 64;
    dim3 grid((unsigned)a->sched.num_parts, (unsigned)groups);
    mla_v3_kernel<<<grid, NTHREADS, SMEM_BYTES, stream>>>(tm_q, tm_kv, *a);
    KB_CUDA_TRY(cudaGetLastError());
    return mla_combine(a, stream);
}
