// fp8_gemm_v2.cu - FP8 block-scaled GEMM on tensor cores with mma.sync.
//   Tile 128 (M) x 128 (N) x 128 (K): one K tile is exactly one scale block,
//   so promotion is per tile.  256 threads = 8 warps as 2 (M) x 4 (N), each
//   warp 64 x 32 = 4 x 4 mma.sync.m16n8k32 E4M3 tiles.
//   Shared memory: 4-stage cp.async pipeline (A 16 KB + B 16 KB + 128 A-scales
//   per stage), rows of 128 B with the 16-byte chunks XOR-swizzled by (row & 7)
//   so ldmatrix.x4 reads 8 rows of one chunk column without bank conflicts.
//   Per K tile: 4 k32 steps into a fresh FP32 partial, then
//   acc += partial * sa[m] * sb[n/128] (the DeepSeek-V3 promotion).
//   Layouts: dense; contiguous (tiles never straddle the 128-padded segments,
//   so the group is group_idx[first row of the tile]); masked (blockIdx.z =
//   group, loads past masked_m zero-filled, stores skipped).
// NOTES: ldmatrix on 8-bit data treats each 16-byte row as 8 b16 values: lane
// l gets bytes 4*(l%4)..+3 of row l/4, which is exactly the m16n8k32 A/B
// fragment (k-contiguous quads), so no shuffles are needed.  Out-of-range
// rows/cols use cp.async with src-size 0 (zero fill).  132 KB of shared memory
// and ~160 registers per thread: one CTA per SM.
#include <cuda_bf16.h>
#include <stdint.h>
#include "kernels/fp8_gemm/fp8_gemm_v1.h"
#include "kernels/fp8_gemm/fp8_gemm_v2_map.h"

namespace {
constexpr int BM = V2_BM, BN = V2_BN, BK = V2_BK, STAGES = V2_STAGES, THREADS = V2_THREADS;
constexpr int TILE_BYTES = BM * BK;                          // 16 KB (A); B has BN = BM rows
constexpr int STAGE_BYTES = 2 * TILE_BYTES + BM * 4;         // + 128 FP32 A scales
constexpr int SMEM_BYTES = STAGES * STAGE_BYTES;             // 133120

__device__ __forceinline__ void cp_async16(uint32_t dst, const void *src, int src_bytes)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async4(uint32_t dst, const void *src, int src_bytes)
{
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t addr)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}

__device__ __forceinline__ void mma_e4m3(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2])
{
    asm volatile("mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

__global__ void __launch_bounds__(THREADS, 1) fp8_gemm_v2_kernel(fp8_gemm_args p)
{
    extern __shared__ __align__(128) uint8_t smem[];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wm = warp >> 2, wn = warp & 3;
    const int kblocks = p.k / BK, nblocks = (p.n + 127) / 128;
    const int n0 = blockIdx.x * BN, m0 = blockIdx.y * BM;
    const size_t K = (size_t)p.k;

    // ---- which rows, which group --------------------------------------------
    int g = 0, rows = p.m;
    const uint8_t *A = p.a;
    const float *SA = p.sa;
    uint16_t *D = p.d;
    if (p.layout == FP8_GEMM_MASKED) {
        g = blockIdx.z;
        rows = p.masked_m[g];
        if (m0 >= rows) return;
        A += (size_t)g * p.m * K;
        SA += (size_t)g * kblocks * p.m;
        D += (size_t)g * p.m * p.n;
    } else if (p.layout == FP8_GEMM_CONTIGUOUS) {
        g = p.group_idx[m0];
        if (g < 0) return;   // cannot happen: a segment's first row is valid
    }
    const uint8_t *B = p.b + (size_t)g * p.n * K;
    const float *SB = p.sb + ((size_t)g * nblocks + blockIdx.x) * kblocks;
    const size_t sa_ld = (size_t)p.m;
    const uint32_t sbase = (uint32_t)__cvta_generic_to_shared(smem);

    // ---- producer: every thread issues 4 + 4 16-byte copies per stage --------
    auto load_stage = [&](int stage, int kt) {
        const uint32_t sA = sbase + stage * STAGE_BYTES, sB = sA + TILE_BYTES, sS = sB + TILE_BYTES;
#pragma unroll
        for (int j = 0; j < V2_LOADS; j++) {
            const int r = v2_load_row(tid, j), ch = v2_load_chunk(tid, j);
            const int gm = m0 + r, gn = n0 + r;
            const bool okm = gm < rows, okn = gn < p.n;
            cp_async16(sA + v2_swz(r, ch), A + (size_t)(okm ? gm : 0) * K + (size_t)kt * BK + ch * 16, okm ? 16 : 0);
            cp_async16(sB + v2_swz(r, ch), B + (size_t)(okn ? gn : 0) * K + (size_t)kt * BK + ch * 16, okn ? 16 : 0);
        }
        if (tid < BM) {
            const int gm = m0 + tid;
            const bool ok = gm < rows;
            cp_async4(sS + tid * 4, SA + (size_t)kt * sa_ld + (ok ? gm : 0), ok ? 4 : 0);
        }
    };

    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) acc[i][j][e] = 0.0f;

#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < kblocks) load_stage(s, s);
        cp_async_commit();
    }

    for (int kt = 0; kt < kblocks; kt++) {
        cp_async_wait<STAGES - 2>();
        __syncthreads();   // tile kt visible to all; stage (kt-1) free for refill
        {
            const int nk = kt + STAGES - 1;
            if (nk < kblocks) load_stage(nk % STAGES, nk);
            cp_async_commit();
        }
        const int st = kt % STAGES;
        const float sbv = __ldg(SB + kt);
        const uint32_t sA = sbase + st * STAGE_BYTES, sB = sA + TILE_BYTES;

        // ---- math: 128-K partial on tensor cores -------------------------------
        float part[4][4][4];
#pragma unroll
        for (int i = 0; i < 4; i++)
#pragma unroll
            for (int j = 0; j < 4; j++)
#pragma unroll
                for (int e = 0; e < 4; e++) part[i][j][e] = 0.0f;
#pragma unroll
        for (int ks = 0; ks < BK / 32; ks++) {
            uint32_t af[4][4], bf[4][2];
#pragma unroll
            for (int mt = 0; mt < 4; mt++) {
                const int r = v2_a_row(wm, mt, lane), ch = v2_a_chunk(ks, lane);
                ldmatrix_x4(af[mt], sA + v2_swz(r, ch));
            }
#pragma unroll
            for (int pr = 0; pr < 2; pr++) {
                const int r = v2_b_row(wn, pr, lane), ch = v2_b_chunk(ks, lane);
                uint32_t t[4];
                ldmatrix_x4(t, sB + v2_swz(r, ch));
#pragma unroll
                for (int q = 0; q < 4; q++) bf[v2_b_tile(pr, q)][v2_b_reg(q)] = t[q];
            }
#pragma unroll
            for (int mt = 0; mt < 4; mt++)
#pragma unroll
                for (int nt = 0; nt < 4; nt++) mma_e4m3(part[mt][nt], af[mt], bf[nt]);
        }

        // ---- promotion with the two scales -------------------------------------
        const float *ss = reinterpret_cast<const float *>(smem + st * STAGE_BYTES + 2 * TILE_BYTES);
#pragma unroll
        for (int mt = 0; mt < 4; mt++)
#pragma unroll
            for (int h = 0; h < 2; h++) {
                const float sc = ss[v2_c_row(wm, mt, 2 * h, lane)] * sbv;
#pragma unroll
                for (int nt = 0; nt < 4; nt++) {
                    acc[mt][nt][2 * h] += part[mt][nt][2 * h] * sc;
                    acc[mt][nt][2 * h + 1] += part[mt][nt][2 * h + 1] * sc;
                }
            }
    }
    cp_async_wait<0>();

    // ---- epilogue: BF16 pairs straight from the accumulator fragments --------
#pragma unroll
    for (int mt = 0; mt < 4; mt++)
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const int row = m0 + v2_c_row(wm, mt, 2 * h, lane);
            if (row >= rows) continue;
#pragma unroll
            for (int nt = 0; nt < 4; nt++) {
                const int col = n0 + v2_c_col(wn, nt, 0, lane);
                if (col >= p.n) continue;
                *reinterpret_cast<__nv_bfloat162 *>(D + (size_t)row * p.n + col) =
                    __floats2bfloat162_rn(acc[mt][nt][2 * h], acc[mt][nt][2 * h + 1]);
            }
        }
}
} // namespace

extern "C" kb_status fp8_gemm_v2(void *ctx, cudaStream_t stream)
{
    const fp8_gemm_args *p = (const fp8_gemm_args *)ctx;
    if (p->k % BK != 0 || p->n % 8 != 0)
        return kb_error("fp8_gemm_v2: needs K %% 128 == 0 and N %% 8 == 0 (N=%d K=%d)", p->n, p->k);
    static bool attr_set = false;
    if (!attr_set) {
        KB_CUDA_TRY(cudaFuncSetAttribute(fp8_gemm_v2_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, SMEM_BYTES));
        attr_set = true;
    }
    dim3 grid((unsigned)((p->n + BN - 1) / BN), (unsigned)((p->m + BM - 1) / BM),
              p->layout == FP8_GEMM_MASKED ? (unsigned)p->num_groups : 1u);
    fp8_gemm_v2_kernel<<<grid, THREADS, SMEM_BYTES, stream>>>(*p);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}
