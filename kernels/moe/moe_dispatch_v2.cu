// moe_dispatch_v2.cu - fused dispatch: ONE persistent cooperative kernel.
//   grid = min(#SMs, T) blocks of 1024 threads; block b owns a
//   contiguous range of tokens.
//   A. count:  shared-memory histogram of the block's slots -> workspace
//              [G, E];  grid.sync().
//   B. scan:   every block reads the [G, E] matrix (<= 132 x 256 ints, from
//              L2) and computes, redundantly, the totals, the padded segment
//              offsets (block scan) and its own first row in each segment;
//              block 0 writes counts/offsets; all blocks write their strided
//              share of group_idx (coalesced).
//   C. rank:   warp 0 walks the block's slots in order (__match_any_sync) ->
//              row of each slot in shared memory and row_of (the experts were
//              staged in shared memory by phase A: no global latency here).
//   D. copy:   x is read ONCE: a team of 8 lanes takes one (token, 1x128
//              group): 2 x 16-byte loads per lane (16 bf16), team amax by 3
//              shuffles, quantised in registers (cvt.rn.satfinite.e4m3x2),
//              then one 16-byte store per lane per destination row (up to 8),
//              plus one scale per row.  BF16: the two 16-byte loads are stored
//              as they are to every destination.
// Row order inside a segment = ascending slot order (same as CPU and v1).
// Index arithmetic (token ranges, items, vector offsets, scale addresses,
// ranking, group_idx search) lives in moe_dispatch_map.h, shared with the
// host emulation of this kernel in tests/test_moe_dispatch_map.c.
// NOTES: one grid barrier is unavoidable in a single kernel: a row's address
//   depends on the counts of every expert before it over ALL tokens.
//   1024 threads x 32 B loads in flight per SM (~32 KB) is what an H100 needs
//   to cover HBM latency (~3.35 TB/s x ~1.2 us / 132 SMs = ~30 KB).
//   Scales are written as 4-byte scatters (MN-major layout: a row's 56 scales
//   are 56 rows of the [K/128, m_cap] matrix apart): 1/32 of the data bytes.
//   grid.sync() is the one device wait NOT bounded by the spin guard
//   (kernels/common/kb_spin.cuh, KB_SPIN_TIMEOUT_MS): it is cooperative_groups'
//   own barrier, and cudaLaunchCooperativeKernel refuses a grid whose blocks
//   cannot all be resident, so every block it waits for is running and
//   arrives (a block that faults ends the whole grid).  Bounding it would mean
//   writing our own grid barrier; tests/spin.cmake exempts this file.
#include <cooperative_groups.h>
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <stdint.h>
#include "kernels/moe/moe.h"
#include "kernels/moe/moe_math.h"
#include "kernels/moe/moe_dispatch_map.h"
#include "kernels/moe/moe_dispatch_dev.cuh"

namespace cg = cooperative_groups;

namespace {
constexpr int THREADS = MOE_DV2_THREADS, TEAM = MOE_DV2_TEAM, NTEAM = MOE_DV2_NTEAM;

struct v2_params {
    const uint16_t *x;
    const int32_t *idx;
    int T, K, topk, E, m_cap, m_max;
    moe_dispatch_fmt fmt;
    void *out;
    float *sa;
    int32_t *counts, *offsets, *group_idx, *row_of;
    int32_t *cnt_mat; // [G, E]
};

__device__ __forceinline__ float2 bf2(uint32_t u)
{
    return make_float2(__uint_as_float(u << 16), __uint_as_float(u & 0xffff0000u));
}

__global__ void __launch_bounds__(THREADS, 1) dispatch_v2(const v2_params p)
{
    extern __shared__ int32_t srow[]; // [tokens of this block * topk]
    __shared__ int32_t hist[MOE_MAX_LOCAL_EXPERTS];
    __shared__ int32_t base[MOE_MAX_LOCAL_EXPERTS];
    __shared__ int32_t off_s[MOE_MAX_LOCAL_EXPERTS + 1];
    __shared__ int32_t cnt_s[MOE_MAX_LOCAL_EXPERTS];
    cg::grid_group grid = cg::this_grid();
    const int tid = threadIdx.x, G = gridDim.x, b = blockIdx.x, E = p.E;
    int tb, te;
    moe_dv2_block_tokens(p.T, G, b, &tb, &te);
    const int s0 = tb * p.topk, s1 = te * p.topk;
    const bool masked = p.fmt == MOE_FMT_E4M3_MASKED;

    // ---- A. count ------------------------------------------------------------
    if (tid < E) hist[tid] = 0;
    __syncthreads();
    for (int i = s0 + tid; i < s1; i += THREADS) {
        int e = p.idx[i];
        srow[i - s0] = e; // kept for phase C (overwritten there by the row)
        if (e >= 0 && e < E) atomicAdd(&hist[e], 1);
    }
    __syncthreads();
    if (tid < E) p.cnt_mat[(size_t)b * E + tid] = hist[tid];
    grid.sync();

    // ---- B. scan (every block, redundantly) ------------------------------------
    int32_t pre = 0, tot = 0;
    if (tid < E) {
#pragma unroll 4
        for (int c = 0; c < G; c++) {
            int32_t v = __ldcg(&p.cnt_mat[(size_t)c * E + tid]);
            pre += c < b ? v : 0;
            tot += v;
        }
        cnt_s[tid] = tot;
        off_s[tid] = moe_pad_rows(tot, MOE_ALIGN);
    }
    __syncthreads();
    // Hillis-Steele inclusive scan over 256 entries (threads 0..255).
    for (int d = 1; d < MOE_MAX_LOCAL_EXPERTS; d <<= 1) {
        int32_t v = 0;
        if (tid < E && tid >= d) v = off_s[tid - d];
        __syncthreads();
        if (tid < E) off_s[tid] += v;
        __syncthreads();
    }
    // inclusive -> exclusive, shift by one
    int32_t incl = tid < E ? off_s[tid] : 0;
    __syncthreads();
    if (tid < E) off_s[tid + 1] = incl;
    if (tid == 0) off_s[0] = 0;
    __syncthreads();
    if (tid < E) base[tid] = (masked ? tid * p.m_max : off_s[tid]) + pre;
    if (b == 0) {
        if (tid < E) p.counts[tid] = cnt_s[tid];
        if (!masked && tid <= E) p.offsets[tid] = off_s[tid];
    }
    if (!masked) {
        for (int r = b * THREADS + tid; r < p.m_cap; r += G * THREADS) {
            p.group_idx[r] = moe_group_of_row(off_s, cnt_s, E, r);
        }
    }
    __syncthreads();

    // ---- C. rank: warp 0, slots in order --------------------------------------
    if (tid < 32) {
        const int lane = tid;
        for (int i0 = s0; i0 < s1; i0 += 32) {
            int i = i0 + lane;
            int e = i < s1 ? srow[i - s0] : -1;
            if (e >= E) e = -1;
            int r = moe_warp_rank(e, lane, base);
            if (i < s1) {
                srow[i - s0] = r;
                p.row_of[i] = r;
            }
        }
    }
    __syncthreads();

    // ---- D. copy: team of 8 lanes per (token, 128-group) -------------------------
    const int nb = p.K / MOE_QBLOCK;
    const int team = tid / TEAM, tl = tid % TEAM;
    const unsigned tmask = moe_dv2_team_mask(tid);
    const int n_items = (te - tb) * nb;
    for (int it = team; it < n_items; it += NTEAM) {
        const int t = tb + moe_dv2_item_token(it, nb), g = moe_dv2_item_group(it, nb);
        const size_t col = moe_dv2_col(g, tl); // element offset in the row
        const uint4 *src = (const uint4 *)(p.x + (size_t)t * p.K + col);
        uint4 v0 = __ldg(src), v1 = __ldg(src + 1);
        const int32_t *rows = srow + (t - tb) * p.topk;
        if (p.fmt == MOE_FMT_BF16) {
            for (int k = 0; k < p.topk; k++) {
                int r = rows[k];
                if (r < 0) continue;
                uint4 *dst = (uint4 *)((uint16_t *)p.out + (size_t)r * p.K + col);
                dst[0] = v0;
                dst[1] = v1;
            }
            continue;
        }
        float f[16];
        const uint32_t w[8] = {v0.x, v0.y, v0.z, v0.w, v1.x, v1.y, v1.z, v1.w};
        float amax = 0.0f;
#pragma unroll
        for (int j = 0; j < 8; j++) {
            float2 q = bf2(w[j]);
            f[2 * j] = q.x;
            f[2 * j + 1] = q.y;
            amax = fmaxf(amax, fmaxf(fabsf(q.x), fabsf(q.y)));
        }
#pragma unroll
        for (int m = TEAM / 2; m > 0; m >>= 1) amax = fmaxf(amax, __shfl_xor_sync(tmask, amax, m));
        float scale, inv;
        moe_quant_scale(amax, &scale, &inv);
        uint32_t packed[4];
#pragma unroll
        for (int j = 0; j < 4; j++) {
            uint32_t lo = __nv_cvt_float2_to_fp8x2(make_float2(moe_mul(f[4 * j], inv), moe_mul(f[4 * j + 1], inv)),
                                                   __NV_SATFINITE, __NV_E4M3);
            uint32_t hi = __nv_cvt_float2_to_fp8x2(make_float2(moe_mul(f[4 * j + 2], inv), moe_mul(f[4 * j + 3], inv)),
                                                   __NV_SATFINITE, __NV_E4M3);
            packed[j] = lo | (hi << 16);
        }
        const uint4 q = make_uint4(packed[0], packed[1], packed[2], packed[3]);
        for (int k = 0; k < p.topk; k++) {
            int r = rows[k];
            if (r < 0) continue;
            *(uint4 *)((uint8_t *)p.out + (size_t)r * p.K + col) = q;
            if (tl == 0) p.sa[moe_scale_index(masked, r, g, nb, p.m_cap, p.m_max)] = scale;
        }
    }
}
} // namespace

extern "C" kb_status moe_dispatch_v2(void *ctx, cudaStream_t stream)
{
    const moe_dispatch_args *a = (const moe_dispatch_args *)ctx;
    if (a->n_experts > MOE_MAX_LOCAL_EXPERTS || a->hidden % MOE_QBLOCK || a->topk > 32)
        return kb_skip("unsupported E/hidden/topk");
    static int n_sm = 0, per_sm = 0; // queried once per process
    if (per_sm < 1) {
        int dev;
        KB_CUDA_TRY(cudaGetDevice(&dev));
        KB_CUDA_TRY(cudaDeviceGetAttribute(&n_sm, cudaDevAttrMultiProcessorCount, dev));
        KB_CUDA_TRY(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, dispatch_v2, THREADS,
                                                                  (size_t)MOE_DV2_SMEM_MAX));
        if (per_sm < 1) return kb_error("moe_dispatch_v2: kernel cannot be resident");
    }
    const int G = moe_dv2_grid(a->t, n_sm);
    const size_t smem = moe_dv2_smem_bytes(a->t, G, a->topk);
    if (smem > (size_t)MOE_DV2_SMEM_MAX)
        return kb_skip("moe_dispatch_v2: %zu bytes of slot rows per block exceed shared memory", smem);
    if ((size_t)G * a->n_experts * 4 > a->workspace_bytes) return kb_error("moe_dispatch_v2: workspace too small");
    v2_params p;
    p.x = a->x;
    p.idx = a->topk_idx;
    p.T = a->t;
    p.K = a->hidden;
    p.topk = a->topk;
    p.E = a->n_experts;
    p.m_cap = a->m_cap;
    p.m_max = a->m_max;
    p.fmt = a->fmt;
    p.out = a->out;
    p.sa = a->sa;
    p.counts = a->counts;
    p.offsets = a->offsets;
    p.group_idx = a->group_idx;
    p.row_of = a->row_of;
    p.cnt_mat = (int32_t *)a->workspace;
    void *args[] = {&p};
    KB_CUDA_TRY(cudaLaunchCooperativeKernel((const void *)dispatch_v2, dim3(G), dim3(THREADS), args, smem, stream));
    return KB_OK;
}
