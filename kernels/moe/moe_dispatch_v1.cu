// moe_dispatch_v1.cu - simplest correct dispatch, five small kernels:
//   1. per chunk of 256 tokens, a shared-memory histogram of the experts;
//   2. one block: per expert, exclusive scan over chunks (-> each chunk's
//      first row in every segment), counts, padded segment offsets;
//   3. per chunk, one warp walks the slots in order, 32 at a time, ranking
//      equal experts with __match_any_sync (ascending slot order = the CPU
//      layout) -> row_of;
//   4. group_idx for every row (binary search in offsets);
//   5. one block per slot copies (BF16) or quantises (E4M3, a warp per 1x128
//      group) its token's row with scalar 2-byte loads: x is read 8 times.
// NOTES: nothing here is fast on purpose; v2 fuses all of it.
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <stdint.h>
#include "kernels/moe/moe.h"
#include "kernels/moe/moe_math.h"
#include "kernels/moe/moe_dispatch_map.h"
#include "kernels/moe/moe_dispatch_dev.cuh"

namespace {
constexpr int CHUNK_TOK = 256;

__global__ void v1_count(const int32_t *__restrict__ idx, int n_slots, int slots_per_chunk, int E,
                         int32_t *__restrict__ chunk_cnt)
{
    __shared__ int32_t hist[MOE_MAX_LOCAL_EXPERTS];
    for (int e = threadIdx.x; e < E; e += blockDim.x) hist[e] = 0;
    __syncthreads();
    int s0 = blockIdx.x * slots_per_chunk, s1 = min(n_slots, s0 + slots_per_chunk);
    for (int i = s0 + threadIdx.x; i < s1; i += blockDim.x) {
        int e = idx[i];
        if (e >= 0 && e < E) atomicAdd(&hist[e], 1);
    }
    __syncthreads();
    for (int e = threadIdx.x; e < E; e += blockDim.x) chunk_cnt[(size_t)blockIdx.x * E + e] = hist[e];
}

// One block of MOE_MAX_LOCAL_EXPERTS threads.
__global__ void v1_scan(int32_t *__restrict__ chunk_cnt, int n_chunks, int E, int masked, int m_max,
                        int32_t *__restrict__ counts, int32_t *__restrict__ offsets)
{
    __shared__ int32_t padded[MOE_MAX_LOCAL_EXPERTS + 1];
    int e = threadIdx.x;
    int32_t total = 0;
    if (e < E) {
        for (int c = 0; c < n_chunks; c++) {
            int32_t v = chunk_cnt[(size_t)c * E + e];
            chunk_cnt[(size_t)c * E + e] = total;
            total += v;
        }
        counts[e] = total;
        padded[e] = moe_pad_rows(total, MOE_ALIGN);
    }
    __syncthreads();
    if (e == 0) { // sequential scan: E <= 256
        int32_t run = 0;
        for (int i = 0; i < E; i++) {
            int32_t p = padded[i];
            padded[i] = run;
            run += p;
        }
        padded[E] = run;
        if (!masked) offsets[E] = run;
    }
    __syncthreads();
    if (e < E) {
        int32_t base = masked ? e * m_max : padded[e];
        if (!masked) offsets[e] = padded[e];
        for (int c = 0; c < n_chunks; c++) chunk_cnt[(size_t)c * E + e] += base;
    }
}

// One warp per chunk.
__global__ void v1_rank(const int32_t *__restrict__ idx, int n_slots, int slots_per_chunk, int E,
                        const int32_t *__restrict__ chunk_base, int32_t *__restrict__ row_of)
{
    __shared__ int32_t base[MOE_MAX_LOCAL_EXPERTS];
    const int lane = threadIdx.x;
    for (int e = lane; e < E; e += 32) base[e] = chunk_base[(size_t)blockIdx.x * E + e];
    __syncwarp();
    int s0 = blockIdx.x * slots_per_chunk, s1 = min(n_slots, s0 + slots_per_chunk);
    for (int i0 = s0; i0 < s1; i0 += 32) {
        int i = i0 + lane;
        int e = i < s1 ? idx[i] : -1;
        if (e >= E) e = -1; // as v1_count (and v2): never index base[] past E
        int r = moe_warp_rank(e, lane, base);
        if (i < s1) row_of[i] = r;
    }
}

__global__ void v1_group_idx(const int32_t *__restrict__ counts, const int32_t *__restrict__ offsets, int E,
                             int m_cap, int32_t *__restrict__ group_idx)
{
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= m_cap) return;
    group_idx[r] = moe_group_of_row(offsets, counts, E, r);
}

__global__ void v1_copy(const uint16_t *__restrict__ x, const int32_t *__restrict__ row_of, int topk, int K,
                        moe_dispatch_fmt fmt, int m_cap, int m_max, void *__restrict__ out, float *__restrict__ sa)
{
    const int slot = blockIdx.x;
    const int row = row_of[slot];
    if (row < 0) return;
    const uint16_t *xr = x + (size_t)(slot / topk) * K;
    moe_copy_row(xr, row, K, fmt, m_cap, m_max, out, sa);
}
} // namespace

extern "C" kb_status moe_dispatch_v1(void *ctx, cudaStream_t stream)
{
    const moe_dispatch_args *a = (const moe_dispatch_args *)ctx;
    const int E = a->n_experts, n_slots = a->t * a->topk, spc = CHUNK_TOK * a->topk;
    const int n_chunks = (a->t + CHUNK_TOK - 1) / CHUNK_TOK;
    const int masked = a->fmt == MOE_FMT_E4M3_MASKED;
    if (E > MOE_MAX_LOCAL_EXPERTS || a->hidden % MOE_QBLOCK) return kb_skip("unsupported E/hidden");
    if ((size_t)n_chunks * E * 4 > a->workspace_bytes) return kb_error("moe_dispatch_v1: workspace too small");
    int32_t *chunk = (int32_t *)a->workspace;
    v1_count<<<n_chunks, 256, 0, stream>>>(a->topk_idx, n_slots, spc, E, chunk);
    v1_scan<<<1, MOE_MAX_LOCAL_EXPERTS, 0, stream>>>(chunk, n_chunks, E, masked, a->m_max, a->counts, a->offsets);
    v1_rank<<<n_chunks, 32, 0, stream>>>(a->topk_idx, n_slots, spc, E, chunk, a->row_of);
    if (!masked) v1_group_idx<<<(a->m_cap + 255) / 256, 256, 0, stream>>>(a->counts, a->offsets, E, a->m_cap, a->group_idx);
    v1_copy<<<n_slots, 256, 0, stream>>>(a->x, a->row_of, a->topk, a->hidden, a->fmt, a->m_cap, a->m_max, a->out, a->sa);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}
