/* fp8_gemm_v3.cu - v3: Hopper-native block-scaled FP8 GEMM (DeepGEMM-style).
 *
 *   D[m,n] = sum_kb sa[m,kb] * sb[n/128,kb] * sum_{k in kb} A[m,k] * B[n,k]   (BF16 out)
 *
 * What it does:
 *   - one persistent CTA per SM walks output tiles (BLOCK_M x BLOCK_N) in a
 *     grouped raster order (FP8_GEMM_V3_GROUP_M m-tiles share each n-tile: L2 reuse);
 *   - a producer warpgroup (one thread issues) loads 128-wide K slices of A and
 *     B with TMA (cp.async.bulk.tensor.2d, 128B swizzle) into a ring of
 *     kStages shared-memory stages; each stage has a "full" mbarrier (TMA
 *     completes its bytes on it) and an "empty" mbarrier (every math warp
 *     arrives when its wgmma no longer reads the stage);
 *   - 1 or 2 math warpgroups (64 rows each) run 4 x wgmma m64nNk32 E4M3 per
 *     stage into a fresh FP32 accumulator, then promote it into the FP32 tile
 *     accumulator with sa[row,kb] * sb[nblock,kb] on the CUDA cores;
 *   - the epilogue stores BF16 pairs straight from registers (st.global),
 *     masking rows >= the tile's row limit (M, or masked_m[g]) and cols >= N.
 *   - grouped contiguous: a tile's expert is group_idx[first row] (segments are
 *     padded to 128, so a 64- or 128-row tile never straddles two experts);
 *     tiles on padding (-1) are skipped by producer and consumers alike.
 *   - grouped masked: per-group tile counts ceil(masked_m[g]/BLOCK_M) * n_tiles
 *     are read on the device while walking the tile index.
 *   - sb has ceil(N/128) rows per group (N = 576 and 2112 are not multiples
 *     of 128).  Needs K % 128 == 0 and N % 8 == 0 (else the launcher skips).
 *   - decode shapes (M <= 128): BLOCK_N 16 / 32 tiles (wgmma m64n16k32,
 *     m64n32k32) with up to 16 stages, and split-K (dense): the persistent
 *     CTAs walk (tile, split) units, split slowest; each unit multiplies its
 *     own 128-K blocks [kb0, kb1) with their own scales and stores FP32 pairs
 *     into the split's plane of the workspace [splits, M, N]; then
 *     fp8_gemm_v3_reduce (same stream) sums the planes into BF16 D.  Chosen
 *     by the wave-aware cost model (fp8_gemm_v3_sched.c) when the operator
 *     gives a workspace; M=64, N=576, K=7168: 64x32 x 7 splits = 126 CTAs
 *     instead of 9 64x64 tiles.
 *
 * Status: compiled for sm_90a, PTX and ptxas-checked (tests/fp8_gemm_v3.cmake:
 * instructions, no spills, setmaxnreg register pool), tile walk simulated on
 * the CPU (tests/test_fp8_gemm_v3_sched.c); every index / address /
 * descriptor / pipeline computation lives in fp8_gemm_v3_map.h and is
 * emulated on the host against models of TMA, wgmma and mbarrier written from
 * the PTX ISA (tests/test_fp8_gemm_v3_emu.c: whole GEMMs, dense / contiguous /
 * masked, every tile size, split-K).  Written without a GPU and never run on
 * one - tests/test_fp8_gemm_v3_gpu.c is the first thing to run on one.  The
 * decode target of issue 14 (>= 2,400 GB/s at M <= 128 on an H100; DeepGEMM
 * reaches 2,100-2,700) is unmeasured, and so are the split-K cost constants
 * (FP8_GEMM_V3_REDUCE_FIXED): both need a GPU run.
 *
 * NOTES:
 *   - BLOCK_K = 128 = one scale block = one 128-byte E4M3 row: TMA's 128B
 *     swizzle atom is exactly one tile row and the wgmma descriptors advance
 *     32 bytes (one k32 step) inside it.
 *   - sa is MN-major [K/128, M] with no padding, so its rows are not 16-byte
 *     aligned for every M (TMA needs that); math threads load their two rows'
 *     scales with __ldg one K block ahead instead.
 *   - 2 math warpgroups + 1 producer = 384 threads: setmaxnreg gives the
 *     producer 40 and the math threads 232 registers (2x80 accumulators at
 *     BLOCK_N = 160).  With 1 math warpgroup (256 threads) every thread already
 *     has plenty, so no setmaxnreg.
 *   - stages: as many as fit in 227 KB (H100 opt-in shared memory), at most
 *     16 (fp8_gemm_v3_map.h: the narrow decode tiles need deep rings to keep
 *     ~25 KB of B in flight per SM).
 *   - B tiles whose BLOCK_N is not a multiple of 128 straddle two sb blocks:
 *     the promotion picks sb[nb0] for columns before the 128 boundary and
 *     sb[nb0+1] after it (boundary is a multiple of 16, so per 8-col chunk).
 *   - tensor maps are built on the host with cuTensorMapEncodeTiled fetched
 *     through cudaGetDriverEntryPointByVersion (no libcuda link) and cached per
 *     (device, pointer, dims, box) (fp8_gemm_v3_tmap.h), then passed as
 *     __grid_constant__ parameters.
 */
// wgmma: a spin timeout must not call printf (ptxas C7510, kb_spin.cuh).
#define KB_SPIN_QUIET 1
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <stdint.h>
#include <string.h>
#include "kernels/common/hopper.cuh"
#include "kernels/fp8_gemm/fp8_gemm_v3.h"
#include "kernels/fp8_gemm/fp8_gemm_v3_map.h"
#include "kernels/fp8_gemm/fp8_gemm_v3_tmap.h"
#include "kernels/fp8_gemm/fp8_gemm_v3_wgmma.cuh"

namespace {

// ---- config ------------------------------------------------------------------
// Sizes, offsets and index maps live in fp8_gemm_v3_map.h (shared with the
// host emulation test tests/test_fp8_gemm_v3_emu.c).
constexpr int kBlockK = FP8_V3_BK;
constexpr int kProducerRegs = FP8_V3_PRODUCER_REGS;
constexpr int kMathRegs = FP8_V3_MATH_REGS; // 40*128 + 232*256 = 64512 <= 65536

template <int BM, int BN> struct v3_cfg {
    static_assert(BM == 64 || BM == 128, "BLOCK_M is one or two 64-row warpgroups");
    static_assert(BN % 16 == 0 && BN >= 16 && BN <= 256, "wgmma N (E4M3: multiples of 8 up to 256)");
    static constexpr int kMathWGs = fp8_v3_math_wgs(BM);
    static constexpr int kMathThreads = fp8_v3_math_threads(BM);
    static constexpr int kThreads = fp8_v3_threads(BM);
    static constexpr int kStageA = fp8_v3_stage_a(BM);   // bytes (E4M3)
    static constexpr int kStageB = fp8_v3_stage_b(BN);
    static constexpr int kStages = fp8_v3_stages(BM, BN);
    // 1024 bytes of slack to align the stage ring to the 128B-swizzle atom.
    static constexpr int kSmemBytes = fp8_v3_smem_bytes(BM, BN);
    static_assert(kStageA % 1024 == 0 && kStageB % 1024 == 0, "stages stay 1024-aligned");
    static_assert(kStages >= 3, "pipeline depth");
    static_assert(kSmemBytes <= FP8_V3_SMEM_BUDGET, "fits the opt-in shared memory");
    static_assert(fp8_v3_bn_ok(BN), "a tile straddles at most two sb blocks");
};

typedef fp8_gemm_v3_params v3_params; // kernels/fp8_gemm/fp8_gemm_v3_sched.h

// ---- PTX wrappers: kernels/common/hopper.cuh (mbarrier, TMA, wgmma fences) -------

template <int R> __device__ __forceinline__ void setmaxnreg_inc()
{
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;" ::"n"(R));
}
template <int R> __device__ __forceinline__ void setmaxnreg_dec()
{
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;" ::"n"(R));
}


// Keep the compiler from moving accumulator reads/writes across the async wgmma.
template <int R> __device__ __forceinline__ void fence_regs(float (&r)[R])
{
#pragma unroll
    for (int i = 0; i < R; i++) asm volatile("" : "+f"(r[i])::"memory");
}

// wgmma shared-memory descriptor (fp8_gemm_v3_map.h: K-major, 128B swizzle).
__device__ __forceinline__ uint64_t smem_desc_sw128(const void *p) { return fp8_v3_desc_sw128(smem_u32(p)); }

// ---- the kernel ------------------------------------------------------------------
template <int BM, int BN>
__global__ void __launch_bounds__(v3_cfg<BM, BN>::kThreads, 1)
fp8_gemm_v3_kernel(const __grid_constant__ CUtensorMap tm_a, const __grid_constant__ CUtensorMap tm_b,
                   const v3_params p)
{
    using C = v3_cfg<BM, BN>;
    using MMA = v3_wgmma<BN>;
    constexpr int R = MMA::kRegs; // BN / 2 accumulator floats per thread

    // -- shared memory: [A stages][B stages][full bars][empty bars], 1024-aligned
    extern __shared__ uint8_t v3_smem_raw[];
    uint8_t *smem = v3_smem_raw + fp8_v3_smem_pad(smem_u32(v3_smem_raw));
    uint64_t *full = reinterpret_cast<uint64_t *>(smem + fp8_v3_off_full(BM, BN, 0));
    uint64_t *empty = reinterpret_cast<uint64_t *>(smem + fp8_v3_off_empty(BM, BN, 0));

    const int wg = threadIdx.x / 128;

    // -- barriers
    if (threadIdx.x == 0) {
#pragma unroll
        for (int s = 0; s < C::kStages; s++) {
            mbar_init(&full[s], FP8_V3_FULL_ARRIVALS);      // the producer's arrive.expect_tx
            mbar_init(&empty[s], fp8_v3_empty_arrivals(BM)); // lane 0 of every math warp
        }
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
        asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
    }
    __syncthreads();

    if (wg == C::kMathWGs) {
        // -- producer warpgroup: one thread issues every TMA load
        if constexpr (C::kMathWGs == 2) setmaxnreg_dec<kProducerRegs>();
        if (threadIdx.x == C::kMathThreads) {
            tma_prefetch_desc(&tm_a);
            tma_prefetch_desc(&tm_b);
            fp8_gemm_v3_walk walk;
            fp8_gemm_v3_walk_init(&walk);
            fp8_gemm_v3_tile t;
            int stage = 0;
            uint32_t phase = 0;
            while (fp8_gemm_v3_next(&p, &walk, blockIdx.x, gridDim.x, &t)) {
                for (int kb = t.kb0; kb < t.kb1; kb++) { // all K blocks, or this split's
                    int ca0, ca1, cb0, cb1;
                    fp8_v3_tma_a_coord(&t, kb, &ca0, &ca1);
                    fp8_v3_tma_b_coord(&p, &t, kb, &cb0, &cb1);
                    mbar_wait(&empty[stage], fp8_v3_producer_parity(phase), "empty", stage);
                    mbar_arrive_expect_tx(&full[stage], fp8_v3_tx_bytes(BM, BN));
                    tma_load_2d(smem + fp8_v3_off_a(BM, BN, stage), &tm_a, &full[stage], ca0, ca1);
                    tma_load_2d(smem + fp8_v3_off_b(BM, BN, stage), &tm_b, &full[stage], cb0, cb1);
                    fp8_v3_pipe_next(&stage, &phase, C::kStages);
                }
            }
        }
        return;
    }

    // -- math warpgroups
    if constexpr (C::kMathWGs == 2) setmaxnreg_inc<kMathRegs>();
    const int lane = threadIdx.x % 32;
    const int r0 = fp8_v3_frag_row0(threadIdx.x); // tile row of d[4j], d[4j+1]; r0 + 8 for d[4j+2..3]
    const int c0 = fp8_v3_frag_col0(threadIdx.x); // tile col of d[4j] is 8j + c0

    float acc[R], part[R];
    fp8_gemm_v3_walk walk;
    fp8_gemm_v3_walk_init(&walk);
    fp8_gemm_v3_tile t;
    int stage = 0;
    uint32_t phase = 0;
    while (fp8_gemm_v3_next(&p, &walk, blockIdx.x, gridDim.x, &t)) {
        // -- per-tile scales: rows r0, r0 + 8 of sa; sb blocks nb0 (tile cols < split) and nb0 + 1
        const int nb0 = t.n0 / kBlockK;
        const int split = fp8_v3_sb_split(t.n0);
        const int ra = t.m0 + r0, rb = t.m0 + r0 + 8;

#pragma unroll
        for (int i = 0; i < R; i++) acc[i] = 0.f;
        float nsa0 = __ldg(p.sa + fp8_v3_sa_index(&p, t.g, t.kb0, ra));
        float nsa1 = __ldg(p.sa + fp8_v3_sa_index(&p, t.g, t.kb0, rb));
        float nsb0 = __ldg(p.sb + fp8_v3_sb_index(&p, t.g, nb0, t.kb0));
        float nsb1 = __ldg(p.sb + fp8_v3_sb_index(&p, t.g, nb0 + 1, t.kb0));

        for (int kb = t.kb0; kb < t.kb1; kb++) { // split-K: each split promotes with its own blocks' scales
            // -- scales of this K block; prefetch the next block's
            const float sa0 = nsa0, sa1 = nsa1, sbA = nsb0, sbB = nsb1;
            if (kb + 1 < t.kb1) {
                nsa0 = __ldg(p.sa + fp8_v3_sa_index(&p, t.g, kb + 1, ra));
                nsa1 = __ldg(p.sa + fp8_v3_sa_index(&p, t.g, kb + 1, rb));
                nsb0 = __ldg(p.sb + fp8_v3_sb_index(&p, t.g, nb0, kb + 1));
                nsb1 = __ldg(p.sb + fp8_v3_sb_index(&p, t.g, nb0 + 1, kb + 1));
            }

            // -- wgmma over the 128-wide K block into a fresh accumulator
            mbar_wait(&full[stage], fp8_v3_consumer_parity(phase), "full", stage);
            __syncwarp(); // reconverge after the spin: wgmma.* are .sync.aligned
            const uint64_t da = smem_desc_sw128(smem + fp8_v3_off_a(BM, BN, stage) + fp8_v3_off_a_wg(wg));
            const uint64_t db = smem_desc_sw128(smem + fp8_v3_off_b(BM, BN, stage));
            fence_regs(part);
            wgmma_fence();
#pragma unroll
            for (int k = 0; k < kBlockK / 32; k++) // +32 bytes = +2 in the >>4 address field
                MMA::mma(part, fp8_v3_desc_k(da, k), fp8_v3_desc_k(db, k), k);
            wgmma_commit();
            wgmma_wait0();
            fence_regs(part);
            if (lane == 0) mbar_arrive(&empty[stage]);
            fp8_v3_pipe_next(&stage, &phase, C::kStages);

            // -- promote: acc += part * sa[row, kb] * sb[nblock, kb]
            const float sA0 = sa0 * sbA, sA1 = sa1 * sbA, sB0 = sa0 * sbB, sB1 = sa1 * sbB;
#pragma unroll
            for (int i = 0; i < R; i++) {
                const bool second = fp8_v3_reg_second(i, split);
                const float s = fp8_v3_reg_row(i) ? (second ? sB1 : sA1) : (second ? sB0 : sA0);
                acc[i] = fmaf(part[i], s, acc[i]);
            }
        }

        // -- epilogue: BF16 pairs (registers 2q, 2q+1), rows < row_lim, cols < N;
        //    split-K: FP32 pairs into the split's partial plane (the reduce kernel sums them)
#pragma unroll
        for (int i = 0; i < R; i += 2) {
            const int r = r0 + fp8_v3_reg_row(i), c = c0 + fp8_v3_reg_col(i);
            if (!fp8_v3_store_ok(&p, &t, r, c)) continue;
            if (p.splits > 1) {
                *reinterpret_cast<float2 *>(p.ws + fp8_v3_ws_index(&p, &t, r, c)) = make_float2(acc[i], acc[i + 1]);
            } else {
                __nv_bfloat162 v = __floats2bfloat162_rn(acc[i], acc[i + 1]);
                *reinterpret_cast<__nv_bfloat162 *>(p.d + fp8_v3_d_index(&p, &t, r, c)) = v;
            }
        }
    }
}

// ---- split-K reduce: D[e] = bf16(sum_s ws[s, e]), two elements per thread ----------
__global__ void __launch_bounds__(256) fp8_gemm_v3_reduce(const float *__restrict__ ws, uint16_t *__restrict__ d,
                                                          int m, int n, int splits)
{
    const size_t pairs = (size_t)m * n / 2; // N % 8 == 0: pairs never straddle rows
    for (size_t q = blockIdx.x * (size_t)blockDim.x + threadIdx.x; q < pairs; q += (size_t)gridDim.x * blockDim.x) {
        float2 acc = make_float2(0.f, 0.f);
        for (int sp = 0; sp < splits; sp++) {
            const float2 v = __ldg(reinterpret_cast<const float2 *>(ws + fp8_v3_reduce_src(sp, m, n, 2 * q)));
            acc.x += v.x;
            acc.y += v.y;
        }
        *reinterpret_cast<__nv_bfloat162 *>(d + 2 * q) = __floats2bfloat162_rn(acc.x, acc.y);
    }
}

// ---- host: tensor maps ------------------------------------------------------------
// Cached per (device, pointer, dims, box): fp8_gemm_v3_tmap.h.
static_assert(sizeof(CUtensorMap) == FP8_V3_TMAP_BYTES, "tensor map size");
fp8_v3_tmap_cache v3_tmaps;

// 2D E4M3 (bytes) tensor [rows, cols] row-major on device dev; box = [box_rows, 128], 128B swizzle.
kb_status v3_tmap(int dev, const void *ptr, uint64_t rows, uint64_t cols, uint32_t box_rows, CUtensorMap *out)
{
    const fp8_v3_tmap_key key = {dev, ptr, rows, cols, box_rows};
    if (fp8_v3_tmap_find(&v3_tmaps, &key, out)) return KB_OK;
    PFN_cuTensorMapEncodeTiled_v12000 enc = kb_tensor_map_encoder();
    if (!enc) return kb_skip("fp8_gemm_v3: cuTensorMapEncodeTiled not available from the driver");
    if (((uintptr_t)ptr & 15) || (cols & 15)) return kb_error("fp8_gemm_v3: TMA needs 16-byte aligned rows");
    cuuint64_t dims[2] = {cols, rows};
    cuuint64_t strides[1] = {cols};
    cuuint32_t box[2] = {(cuuint32_t)FP8_V3_BOX_INNER, box_rows};
    cuuint32_t estr[2] = {1, 1};
    CUtensorMap m;
    memset(&m, 0, sizeof m);
    CUresult r = enc(&m, CU_TENSOR_MAP_DATA_TYPE_UINT8, 2, const_cast<void *>(ptr), dims, strides, box, estr,
                     CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                     CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS)
        return kb_error("fp8_gemm_v3: cuTensorMapEncodeTiled failed (%d) for [%llu, %llu] box %u", (int)r,
                        (unsigned long long)rows, (unsigned long long)cols, box_rows);
    fp8_v3_tmap_put(&v3_tmaps, &key, &m);
    *out = m;
    return KB_OK;
}

// ---- host: launch -----------------------------------------------------------------
template <int BM, int BN>
kb_status v3_launch(const CUtensorMap &ta, const CUtensorMap &tb, const v3_params &p, int grid, int dev,
                    int max_smem, cudaStream_t s)
{
    using C = v3_cfg<BM, BN>;
    static fp8_v3_dev_flags attr_done; // the attribute is per device (fp8_gemm_v3_tmap.h)
    if (C::kSmemBytes > max_smem)
        return kb_skip("fp8_gemm_v3: needs %d B shared memory per block, device has %d", C::kSmemBytes, max_smem);
    if (!fp8_v3_dev_flag(&attr_done, dev)) {
        KB_CUDA_TRY(cudaFuncSetAttribute(fp8_gemm_v3_kernel<BM, BN>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         C::kSmemBytes));
        fp8_v3_dev_flag_set(&attr_done, dev);
    }
    fp8_gemm_v3_kernel<BM, BN><<<grid, C::kThreads, C::kSmemBytes, s>>>(ta, tb, p);
    KB_CUDA_TRY(cudaGetLastError());
    if (p.splits > 1) { // partials -> D, on the same stream
        const size_t pairs = (size_t)p.m * p.n / 2;
        const int blocks = (int)(pairs / 256 + 1 < 4u * 132 ? pairs / 256 + 1 : 4u * 132);
        fp8_gemm_v3_reduce<<<blocks, 256, 0, s>>>(p.ws, p.d, p.m, p.n, p.splits);
        KB_CUDA_TRY(cudaGetLastError());
    }
    return KB_OK;
}

struct v3_device_info {
    int dev = -1, sms = 0, major = 0, max_smem = 0;
};

kb_status v3_device(v3_device_info *info)
{
    static v3_device_info cache;
    int dev = 0;
    KB_CUDA_TRY(cudaGetDevice(&dev));
    if (cache.dev != dev) {
        v3_device_info d;
        d.dev = dev;
        KB_CUDA_TRY(cudaDeviceGetAttribute(&d.sms, cudaDevAttrMultiProcessorCount, dev));
        KB_CUDA_TRY(cudaDeviceGetAttribute(&d.major, cudaDevAttrComputeCapabilityMajor, dev));
        KB_CUDA_TRY(cudaDeviceGetAttribute(&d.max_smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
        cache = d;
    }
    *info = cache;
    return KB_OK;
}

bool v3_compiled(int bm, int bn)
{
    bool okm = false, okn = false;
    for (int i = 0; i < FP8_GEMM_V3_N_BM; i++) okm |= fp8_gemm_v3_block_ms[i] == bm;
    for (int i = 0; i < FP8_GEMM_V3_N_BN; i++) okn |= fp8_gemm_v3_block_ns[i] == bn;
    return okm && okn;
}

} // namespace

// The launch: block_m = block_n = 0: tile and splits chosen (splits ignored);
// else that tile with `splits` K splits (< 1: 1).  *chosen (may be NULL)
// receives the configuration it runs.
static kb_status v3_run(const fp8_gemm_args *a, cudaStream_t s, int block_m, int block_n, int splits,
                        fp8_gemm_choice *chosen)
{
    // -- arguments
    if (!a || !a->a || !a->sa || !a->b || !a->sb || !a->d) return kb_error("fp8_gemm_v3: null pointer");
    if (a->m < 1 || a->n < 1 || a->k < kBlockK) return kb_error("fp8_gemm_v3: bad shape m=%d n=%d k=%d", a->m, a->n, a->k);
    if (a->k % kBlockK) return kb_skip("fp8_gemm_v3: K=%d is not a multiple of 128", a->k);
    if (a->n % 8) return kb_skip("fp8_gemm_v3: N=%d is not a multiple of 8", a->n);
    const int groups = a->layout == FP8_GEMM_DENSE ? 1 : a->num_groups;
    if (groups < 1) return kb_error("fp8_gemm_v3: num_groups=%d", a->num_groups);
    if (a->layout == FP8_GEMM_CONTIGUOUS && !a->group_idx) return kb_error("fp8_gemm_v3: contiguous needs group_idx");
    if (a->layout == FP8_GEMM_MASKED && !a->masked_m) return kb_error("fp8_gemm_v3: masked needs masked_m");

    v3_device_info dev;
    KB_TRY(v3_device(&dev));
    if (dev.major != 9) return kb_skip("fp8_gemm_v3: needs Hopper (sm_90a), device is sm_%d", dev.major * 10);

    // -- tile size: wave-quantisation choice, or forced
    fp8_gemm_v3_cfg cfg;
    const int32_t *mm_host = a->layout == FP8_GEMM_MASKED ? a->masked_m_host : nullptr;
    const size_t ws_bytes = a->workspace ? a->workspace_bytes : 0;
    int rc = (block_m == 0 && block_n == 0)
                 ? fp8_gemm_v3_choose_k(a->layout, a->m, a->n, a->k, groups, mm_host, dev.sms, ws_bytes, &cfg)
                 : (v3_compiled(block_m, block_n)
                        ? fp8_gemm_v3_eval_k(a->layout, a->m, a->n, a->k, groups, mm_host, dev.sms, block_m, block_n,
                                             splits < 1 ? 1 : splits, &cfg)
                        : -1);
    if (rc != 0) return kb_error("fp8_gemm_v3: no tile config for block %dx%d, %d splits", block_m, block_n, splits);
    if (cfg.ws_bytes > ws_bytes)
        return kb_error("fp8_gemm_v3: %d splits need %zu B of workspace, have %zu", cfg.splits, cfg.ws_bytes, ws_bytes);

    // -- tensor maps: A [rows_a, K], B [groups * N, K]
    const uint64_t rows_a = fp8_v3_rows_a(a->layout, a->m, groups);
    CUtensorMap ta, tb;
    KB_TRY(v3_tmap(dev.dev, a->a, rows_a, (uint64_t)a->k, fp8_v3_box_rows_a(cfg.block_m), &ta));
    KB_TRY(v3_tmap(dev.dev, a->b, fp8_v3_rows_b(a->n, groups), (uint64_t)a->k, fp8_v3_box_rows_b(cfg.block_n), &tb));

    v3_params p;
    if (fp8_gemm_v3_params_init(a, cfg.block_m, cfg.block_n, &p) != 0 ||
        fp8_gemm_v3_params_split(&p, cfg.splits, static_cast<float *>(a->workspace)) != 0)
        return kb_error("fp8_gemm_v3: bad arguments");

    if (chosen) *chosen = fp8_gemm_choice{cfg.block_m, cfg.block_n, fp8_v3_stages(cfg.block_m, cfg.block_n), p.splits, cfg.grid};

    // -- dispatch (pairs listed in fp8_gemm_v3_block_ms / _ns)
#define V3_CASE(BM_, BN_) \
    if (cfg.block_m == BM_ && cfg.block_n == BN_) return v3_launch<BM_, BN_>(ta, tb, p, cfg.grid, dev.dev, dev.max_smem, s);
    V3_CASE(64, 16) V3_CASE(64, 32) V3_CASE(64, 64) V3_CASE(64, 96) V3_CASE(64, 128) V3_CASE(64, 160)
    V3_CASE(128, 16) V3_CASE(128, 32) V3_CASE(128, 64) V3_CASE(128, 96) V3_CASE(128, 128) V3_CASE(128, 160)
#undef V3_CASE
    return kb_error("fp8_gemm_v3: block %dx%d not compiled", cfg.block_m, cfg.block_n);
}

extern "C" kb_status fp8_gemm_v3_run(const fp8_gemm_args *a, cudaStream_t s, int block_m, int block_n)
{
    return v3_run(a, s, block_m, block_n, 1, nullptr);
}

extern "C" kb_status fp8_gemm_v3_run_split(const fp8_gemm_args *a, cudaStream_t s, int block_m, int block_n,
                                           int splits)
{
    return v3_run(a, s, block_m, block_n, splits, nullptr);
}

static kb_status v3_entry(void *ctx, cudaStream_t s, fp8_gemm_layout want, const char *name)
{
    fp8_gemm_args *a = static_cast<fp8_gemm_args *>(ctx);
    if (!a) return kb_error("%s: null ctx", name);
    if (a->layout != want) return kb_skip("%s: wrong layout %d", name, (int)a->layout);
    return v3_run(a, s, 0, 0, 0, &a->chosen);
}

extern "C" kb_status fp8_gemm_v3(void *ctx, cudaStream_t s)
{
    return v3_entry(ctx, s, FP8_GEMM_DENSE, "fp8_gemm_v3");
}
extern "C" kb_status fp8_gemm_v3_contig(void *ctx, cudaStream_t s)
{
    return v3_entry(ctx, s, FP8_GEMM_CONTIGUOUS, "fp8_gemm_v3_contig");
}
extern "C" kb_status fp8_gemm_v3_masked(void *ctx, cudaStream_t s)
{
    return v3_entry(ctx, s, FP8_GEMM_MASKED, "fp8_gemm_v3_masked");
}
// The grouped operator's one entry: contiguous or masked, by args.layout.
extern "C" kb_status fp8_gemm_v3_grouped(void *ctx, cudaStream_t s)
{
    fp8_gemm_args *a = static_cast<fp8_gemm_args *>(ctx);
    if (!a) return kb_error("fp8_gemm_v3_grouped: null ctx");
    if (a->layout == FP8_GEMM_DENSE) return kb_skip("fp8_gemm_v3_grouped: dense layout (use fp8_gemm_v3)");
    return v3_run(a, s, 0, 0, 0, &a->chosen);
}
