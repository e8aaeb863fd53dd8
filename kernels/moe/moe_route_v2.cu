// moe_route_v2.cu - router with a tensor-core gate GEMM and fused selection.
//   One block = 32 tokens x all 256 experts, 8 warps; warp w owns experts
//   [32w, 32w + 32) as 2x2 wmma 16x16x16 BF16 tiles with FP32 accumulators.
//   K loop in 64-wide tiles staged in shared memory with 16-byte loads; the
//   next tile is prefetched into registers while the current one is consumed.
//   Epilogue: the 32x256 logits tile goes to shared memory (and to global,
//   coalesced), then each warp selects for 4 tokens: lane l holds experts
//   {32j + l}, so group j is register j across the warp; group top-2 and the
//   top-8 are warp argmax reductions (ties -> lower expert), using the same
//   IEEE ops as moe_select_token so the result is bit-identical to the CPU's.
//   Split-K when there are fewer 32-token tiles than SMs (T < ~4k): grid.y =
//   S splits of the K loop; each split writes its FP32 partial tile to the
//   workspace, and the last split to arrive (atomic tile counter, which it
//   resets) sums the S partials in fixed order s = 0..S-1 and runs the
//   epilogue.  T = 128: 4 tiles x 16 splits = 64 blocks instead of 4.
// NOTES: 32 tokens per block is a compromise: Wg (3.7 MB) is re-read from L2
//   T/32 times.  The partials cost S x T x 1 KB of extra traffic (2 MB at
//   T = 128), against 5.6 MB of compulsory bytes: worth it only because
//   without it 4 SMs would do all the math.
//   Smem: 41.5 KB (x 4.6 KB + Wg 36.9 KB, rows padded by 16 B against bank
//   conflicts), reused for the 33 KB logits tile.
// Split plan and smem operand addresses: moe_route_map.h (host-tested in
//   tests/test_moe_route_map.c).
#include <cuda_bf16.h>
#include <mma.h>
#include <stddef.h>
#include <stdint.h>
#include "kernels/moe/moe.h"
#include "kernels/moe/moe_math.h"
#include "kernels/moe/moe_route_map.h"

namespace {
using namespace nvcuda;
constexpr int TOK = MOE_RV2_TOK, BK = MOE_RV2_BK, LDS = MOE_RV2_LDS, LDL = MOE_RV2_LDL;

struct smem_gemm {
    __nv_bfloat16 xs[TOK][LDS];
    __nv_bfloat16 ws[MOE_N_EXPERTS][LDS];
};
union smem_t {
    smem_gemm g;
    float lg[TOK][LDL];
};
// The byte maps of moe_route_map.h (checked on the host) describe this union.
static_assert(offsetof(smem_gemm, ws) == (size_t)TOK * LDS * 2, "moe_rv2_ws_byte: ws follows xs");
static_assert(sizeof(smem_t) <= 48 * 1024, "route_v2: static shared memory");

__device__ __forceinline__ void argmax_warp(float &v, int &e)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(0xffffffffu, v, o);
        int oe = __shfl_xor_sync(0xffffffffu, e, o);
        if (ov > v || (ov == v && oe < e)) {
            v = ov;
            e = oe;
        }
    }
}

__global__ void __launch_bounds__(256) route_v2(const uint16_t *__restrict__ x, const uint16_t *__restrict__ wg,
                                                const float *__restrict__ bias, float *__restrict__ logits,
                                                int32_t *__restrict__ topk_idx, float *__restrict__ topk_w,
                                                int T, int K, float *__restrict__ partial,
                                                unsigned *__restrict__ counters)
{
    __shared__ __align__(128) smem_t sm;
    __shared__ int s_last;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const int t0 = blockIdx.x * TOK;
    const int kv = K / 8; // uint4 per row

    // ---- prefetch registers: x tile 1 uint4 per thread, Wg tile 8 --------
    const int xr = tid / 8, xc = tid % 8;
    const uint4 *xrow = (const uint4 *)(x + (size_t)(t0 + xr) * K);
    const bool xvalid = t0 + xr < T;
    uint4 px, pw[8];
    auto load = [&](int kt) {
        px = xvalid ? xrow[kt * 8 + xc] : make_uint4(0, 0, 0, 0);
#pragma unroll
        for (int i = 0; i < 8; i++) {
            int r = (tid + 256 * i) / 8, c = (tid + 256 * i) % 8;
            pw[i] = ((const uint4 *)(wg + (size_t)r * K))[kt * 8 + c];
        }
    };
    auto store = [&]() {
        *(uint4 *)&sm.g.xs[xr][xc * 8] = px;
#pragma unroll
        for (int i = 0; i < 8; i++) {
            int r = (tid + 256 * i) / 8, c = (tid + 256 * i) % 8;
            *(uint4 *)&sm.g.ws[r][c * 8] = pw[i];
        }
    };

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
    for (int m = 0; m < 2; m++)
#pragma unroll
        for (int n = 0; n < 2; n++) wmma::fill_fragment(acc[m][n], 0.0f);

    const int nkt = kv / 8, S = gridDim.y, split = blockIdx.y;
    const int kt0 = moe_rv2_ktile_begin(nkt, split, S), kt1 = moe_rv2_ktile_begin(nkt, split + 1, S);
    load(kt0);
    for (int kt = kt0; kt < kt1; kt++) {
        store();
        __syncthreads();
        if (kt + 1 < kt1) load(kt + 1);
#pragma unroll
        for (int kk = 0; kk < BK; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fb[2];
#pragma unroll
            for (int m = 0; m < 2; m++) wmma::load_matrix_sync(fa[m], &sm.g.xs[m * 16][kk], LDS);
#pragma unroll
            for (int n = 0; n < 2; n++) wmma::load_matrix_sync(fb[n], &sm.g.ws[warp * 32 + n * 16][kk], LDS);
#pragma unroll
            for (int m = 0; m < 2; m++)
#pragma unroll
                for (int n = 0; n < 2; n++) wmma::mma_sync(acc[m][n], fa[m], fb[n], acc[m][n]);
        }
        __syncthreads();
    }

    // ---- epilogue: logits to smem and global --------------------------------
#pragma unroll
    for (int m = 0; m < 2; m++)
#pragma unroll
        for (int n = 0; n < 2; n++)
            wmma::store_matrix_sync(&sm.lg[m * 16][warp * 32 + n * 16], acc[m][n], LDL, wmma::mem_row_major);
    __syncthreads();
    if (S > 1) { // split-K fix-up: the last split sums the partials in order
        constexpr int NV = TOK * MOE_N_EXPERTS / 4;
        float4 *mine = (float4 *)partial + moe_rv2_partial_vec(split, blockIdx.x, gridDim.x);
        for (int i = tid; i < NV; i += 256) mine[i] = *(const float4 *)&sm.lg[i / 64][(i % 64) * 4];
        __threadfence();
        __syncthreads();
        if (tid == 0) s_last = atomicAdd(&counters[blockIdx.x], 1u) == (unsigned)S - 1;
        __syncthreads();
        if (!s_last) return;
        __threadfence();
        for (int i = tid; i < NV; i += 256) {
            float4 a = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            for (int q = 0; q < S; q++) {
                float4 v = __ldcg((const float4 *)partial + moe_rv2_partial_vec(q, blockIdx.x, gridDim.x) + i);
                a.x += v.x;
                a.y += v.y;
                a.z += v.z;
                a.w += v.w;
            }
            *(float4 *)&sm.lg[i / 64][(i % 64) * 4] = a;
        }
        if (tid == 0) counters[blockIdx.x] = 0; // ready for the next launch
        __syncthreads();
    }
    for (int i = tid; i < TOK * MOE_N_EXPERTS / 4; i += 256) {
        int r = i / (MOE_N_EXPERTS / 4), c = i % (MOE_N_EXPERTS / 4);
        if (t0 + r < T)
            ((float4 *)(logits + (size_t)(t0 + r) * MOE_N_EXPERTS))[c] = *(const float4 *)&sm.lg[r][c * 4];
    }

    // ---- selection: warp per token -----------------------------------------
    float bj[8];
#pragma unroll
    for (int j = 0; j < 8; j++) bj[j] = bias[j * 32 + lane];
    for (int tt = 0; tt < TOK / 8; tt++) {
        const int r = warp * (TOK / 8) + tt, t = t0 + r;
        if (t >= T) break;
        float s[8], v[8], gs[8];
#pragma unroll
        for (int j = 0; j < 8; j++) {
            s[j] = moe_sigmoid(sm.lg[r][j * 32 + lane]);
            v[j] = moe_add(s[j], bj[j]);
        }
#pragma unroll
        for (int j = 0; j < 8; j++) {
            float m1 = v[j];
            int e1 = j * 32 + lane;
            argmax_warp(m1, e1);
            float m2 = (e1 == j * 32 + lane) ? -INFINITY : v[j];
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) m2 = fmaxf(m2, __shfl_xor_sync(0xffffffffu, m2, o));
            gs[j] = moe_add(m1, m2);
        }
        unsigned keep = 0;
#pragma unroll
        for (int rr = 0; rr < MOE_TOPK_GROUPS; rr++) {
            int best = -1;
            float bv = 0.0f;
#pragma unroll
            for (int g = 0; g < 8; g++)
                if (!(keep >> g & 1u) && (best < 0 || gs[g] > bv)) {
                    best = g;
                    bv = gs[g];
                }
            keep |= 1u << best;
        }
        unsigned taken = 0;
        float sum = 0.0f, my_s = 0.0f;
        int my_e = 0;
#pragma unroll
        for (int k = 0; k < MOE_TOPK; k++) {
            float bv = -INFINITY;
            int be = 0x7fffffff;
#pragma unroll
            for (int j = 0; j < 8; j++)
                if ((keep >> j & 1u) && !(taken >> j & 1u) && (be == 0x7fffffff || v[j] > bv)) {
                    bv = v[j];
                    be = j * 32 + lane;
                }
            argmax_warp(bv, be);
            float sv = 0.0f;
#pragma unroll
            for (int j = 0; j < 8; j++)
                if (be == j * 32 + lane) {
                    sv = s[j];
                    taken |= 1u << j;
                }
            sv = __shfl_sync(0xffffffffu, sv, be & 31);
            sum = moe_add(sum, sv);
            if (lane == k) {
                my_e = be;
                my_s = sv;
            }
        }
        if (lane < MOE_TOPK) {
            topk_idx[(size_t)t * MOE_TOPK + lane] = my_e;
            topk_w[(size_t)t * MOE_TOPK + lane] = moe_mul(moe_div(my_s, sum), MOE_ROUTE_SCALE);
        }
    }
}
} // namespace

extern "C" kb_status moe_route_v2(void *ctx, cudaStream_t stream)
{
    const moe_route_args *a = (const moe_route_args *)ctx;
    if (a->hidden % BK) return kb_skip("hidden %d not a multiple of %d", a->hidden, BK);
    static int n_sm = 0;
    if (!n_sm) {
        int dev;
        KB_CUDA_TRY(cudaGetDevice(&dev));
        KB_CUDA_TRY(cudaDeviceGetAttribute(&n_sm, cudaDevAttrMultiProcessorCount, dev));
    }
    const int tiles = moe_rv2_tiles(a->t);
    const int S = moe_rv2_splits(a->t, a->hidden, n_sm, a->workspace_bytes);
    unsigned *counters = (unsigned *)a->workspace;
    float *partial = (float *)((char *)a->workspace + MOE_ROUTE_COUNTER_BYTES);
    route_v2<<<dim3(tiles, S), 256, 0, stream>>>(a->x, a->wg, a->bias, a->logits, a->topk_idx, a->topk_w, a->t,
                                                 a->hidden, partial, counters);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}
