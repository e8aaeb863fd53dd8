// ep_v1.cu - hand-written intranode expert-parallel all-to-all: every rank
// writes straight into its peers' receive buffers over NVLink (peer pointers
// from the device pointer table), with a counts exchange and completion flags
// in peer memory, on a bounded number of SMs (KBENCH_EP_SMS, default 20).
//
// Kernels, per rank r (loopback: one launch covers all virtual ranks, blockIdx.y = rank):
//   barrier   every rank bumps its op number k (flags->epoch) and signals k at every
//             peer; with several GPUs it then waits for all: no rank writes into a
//             peer still reading the previous op.  Loopback: no wait (one launch
//             holds all virtual ranks' CTAs; stream order separates the ops).
//   layout    1 CTA: key[t][d] = first expert of token t on rank d, slot[t][d] =
//             rank of t among r's tokens with that key (token order), slot_base[t]
//             (prefix of destination counts), count row cnt[r][e]; the row is
//             written into every peer's cnt_all[r][*], then cnt_ready[r] = k.
//   dispatch  `sms` CTAs, one warp per token: wait for the N count rows, derive
//             receive positions (ep_plan.h), read the token ONCE into registers and
//             store it to each destination rank's receive buffer (FP8 payload,
//             scales, 16 B metadata); each CTA then bumps data_done[r] at every peer.
//   finish    1 CTA: wait until every sender's CTAs are done; write the per-expert
//             receive counts.
//   combine   `sms` CTAs, one warp per received row: push the BF16 row into the home
//             rank's staging slot; bump comb_done[r] at every peer.
//   reduce    `sms` CTAs, one warp per token: wait for all senders, out[t] = sum over
//             destination ranks d (increasing) of w[t][d] * row(t, d), FP32, BF16 out.
//   alltoall  `sms` CTAs: chunk [d] of rank r's send buffer -> chunk [r] of d's
//             receive buffer; a2a_done flags; a finish kernel waits.
//
// NOTES:
// - Flags are monotonic epochs (never reset), so no extra kernel clears them; a
//   spin wait is bounded by the spin guard (kernels/common/kb_spin.cuh,
//   KB_SPIN_TIMEOUT_MS): on expiry it prints the block, the flag and the value
//   it waited for, and traps (a sticky error `kbench run` isolates) rather than
//   carrying on with counts that were never received.
// - The op number lives on the device in both modes (the barrier kernel bumps
//   flags->epoch, later kernels read it; rules in ep_proto.h, simulated by
//   tests/test_ep_proto.c), so a CUDA-graph capture (kbench --graph) replays
//   with fresh epochs, and a launch whose kernels never ran (a failed capture)
//   cannot leave a host count ahead of the device flags.
// - Ordering: writers do fence.sc.sys, bar.sync, then one thread does a
//   release store/reduction at system scope on the peer flag; waiters use
//   ld.acquire.sys then bar.sync; data written by peers is read with ld.global.cg.
// - Loopback runs each phase as one launch for all virtual ranks, so a phase only
//   waits for flags set by an earlier launch: no co-residency assumption.
// - No CTA ever waits for a CTA of its own launch: every wait targets a kernel
//   that is earlier in every rank's phase order (barrier < layout < dispatch <
//   finish; barrier < combine < reduce), and the barrier kernels of all ranks (1
//   CTA each, one per GPU) only need their own stream's earlier kernels.  So any
//   KBENCH_EP_SMS (even more CTAs than fit at once) makes progress.
// - The payload is read once per token (registers) and written to each destination:
//   HBM read = T*(H + H/32) once, as the bytes() formula assumes.
#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <stdint.h>
#include "kernels/ep/ep.h"
#include "kernels/ep/ep_layout.h"
#include "kernels/ep/ep_dev.cuh"
#include "kernels/ep/ep_proto.h"
#include "kernels/common/kb_spin.cuh"

namespace {

constexpr int kThreads = 512;        // copy kernels: 16 warps per CTA, ~one CTA per SM
constexpr int kLayoutThreads = 1024; // layout: one CTA per rank
constexpr int kUnroll = 8;           // 16 B vectors per lane kept in registers
constexpr unsigned kFull = 0xffffffffu;

__device__ __forceinline__ unsigned long long ld_acquire_sys(const unsigned long long *p)
{
    unsigned long long v;
    asm volatile("ld.acquire.sys.global.u64 %0, [%1];" : "=l"(v) : "l"(p) : "memory");
    return v;
}

__device__ __forceinline__ void st_release_sys(unsigned long long *p, unsigned long long v)
{
    asm volatile("st.release.sys.global.u64 [%0], %1;" ::"l"(p), "l"(v) : "memory");
}

__device__ __forceinline__ void red_add_release_sys(unsigned long long *p, unsigned long long v)
{
    asm volatile("red.release.sys.global.add.u64 [%0], %1;" ::"l"(p), "l"(v) : "memory");
}

// Spin until *p >= want; `what`[src] names the flag in the report of a
// timeout (kernels/common/kb_spin.cuh: report, then trap).
__device__ __forceinline__ void wait_geq(const unsigned long long *p, unsigned long long want, const char *what,
                                         int src)
{
    kb_spin spin;
    while (!ep_proto_ready(ld_acquire_sys(p), want)) kb_spin_flag(spin, what, src, want);
}

__device__ __forceinline__ const char *flag_name(size_t field_off)
{
    return field_off == offsetof(ep_flags, cnt_ready)   ? "cnt_ready"
           : field_off == offsetof(ep_flags, data_done) ? "data_done"
           : field_off == offsetof(ep_flags, comb_done) ? "comb_done"
           : field_off == offsetof(ep_flags, a2a_done)  ? "a2a_done"
                                                        : "ep_flags";
}

// Signal "this CTA is done" at every peer: fence, barrier, then threads < N
// each bump one peer's counter for source rank r.
__device__ __forceinline__ void cta_signal_all(const ep_tab *tab, int N, int r, size_t field_off)
{
    __threadfence_system();
    __syncthreads();
    if ((int)threadIdx.x < N) {
        __threadfence_system();
        unsigned long long *arr = (unsigned long long *)((char *)tab->flags[threadIdx.x] + field_off);
        red_add_release_sys(arr + r, 1ull);
    }
}

// Threads < N wait for own->field[s] >= want, then the CTA proceeds.
__device__ __forceinline__ void cta_wait_all(const ep_tab *tab, int N, int r, size_t field_off,
                                             unsigned long long want)
{
    ep_flags *own = tab->flags[r];
    if ((int)threadIdx.x < N) {
        const unsigned long long *arr = (const unsigned long long *)((const char *)own + field_off);
        wait_geq(arr + threadIdx.x, want, flag_name(field_off), (int)threadIdx.x);
    }
    __syncthreads();
}

// ---- barrier -----------------------------------------------------------------
// wait = ep_proto_barrier_waits(loopback): a loopback launch holds every virtual
// rank's CTA, which need not be co-resident, so it only bumps the op numbers.
__global__ void ep_barrier_kernel(const ep_tab *__restrict__ tab, int r0, int N, int wait)
{
    __shared__ unsigned long long s_ep;
    const int r = r0 + blockIdx.y;
    const int s = threadIdx.x;
    ep_flags *own = tab->flags[r];
    if (s == 0) {
        s_ep = ep_proto_next_epoch(*(volatile unsigned long long *)&own->epoch);
        *(volatile unsigned long long *)&own->epoch = s_ep;
    }
    __syncthreads();
    const unsigned long long epoch = s_ep;
    if (s < N) {
        st_release_sys(&tab->flags[s]->barrier[r], epoch);
        if (wait) wait_geq(&own->barrier[s], ep_proto_want_epoch(epoch), "barrier", s);
    }
}

// The op number: `arg` if non-zero, else the one the barrier kernel of this op
// stored in our own flags (an earlier kernel on this stream).  v1 always passes 0.
__device__ __forceinline__ unsigned long long resolve_epoch(const ep_tab *tab, int r, unsigned long long arg)
{
    return ep_proto_epoch(arg, *(const volatile unsigned long long *)&tab->flags[r]->epoch);
}

// ---- layout + counts exchange -------------------------------------------------
__device__ __forceinline__ int block_exclusive_scan(int v, int *s_warp)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    int x = v;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
        int y = __shfl_up_sync(kFull, x, o);
        if (lane >= o) x += y;
    }
    if (lane == 31) s_warp[warp] = x;
    __syncthreads();
    if (warp == 0) {
        int w = lane < nwarps ? s_warp[lane] : 0;
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
            int y = __shfl_up_sync(kFull, w, o);
            if (lane >= o) w += y;
        }
        if (lane < nwarps) s_warp[lane] = w; // inclusive warp totals
    }
    __syncthreads();
    int before = warp ? s_warp[warp - 1] : 0;
    int res = before + x - v;
    __syncthreads(); // s_warp reusable afterwards
    return res;
}

__global__ void __launch_bounds__(kLayoutThreads)
ep_layout_kernel(const ep_tab *__restrict__ tab, int r0, int N, int T, int E, int K, int notify,
                 unsigned long long epoch)
{
    __shared__ int s_part[kLayoutThreads]; // [parts][E] partial counts
    __shared__ int s_cnt[EP_MAX_EXPERTS];
    __shared__ int s_warp[32];
    __shared__ unsigned long long s_epoch;
    const int r = r0 + blockIdx.y;
    const int tid = threadIdx.x, nt = blockDim.x;
    if (tid == 0) s_epoch = resolve_epoch(tab, r, epoch); // read by the notify below, after barriers
    const int32_t *idx = tab->topk_idx[r];
    int32_t *key = tab->key[r], *slot = tab->slot[r], *slot_base = tab->slot_base[r];

    // (a) keys: the first expert of each token on each rank; destination counts.
    int t_lo, t_hi;
    ep_layout_range(tid, nt, T, &t_lo, &t_hi);
    int ndest_sum = 0;
    for (int t = t_lo; t < t_hi; t++) {
        const int nd = ep_layout_token(t, idx, N, E, K, key, slot);
        slot_base[t] = nd; // turned into a prefix below
        ndest_sum += nd;
    }
    int run = block_exclusive_scan(ndest_sum, s_warp);
    for (int t = t_lo; t < t_hi; t++) {
        int nd = slot_base[t];
        slot_base[t] = run;
        run += nd;
    }
    __syncthreads(); // keys visible to the whole CTA

    // (b) slots: thread (p, e) scans token range p for key == e, in token order.
    const int parts = ep_layout_parts(nt, E);
    const int e = tid % E, p = tid / E;
    const bool active = tid < parts * E;
    if (active) s_part[p * E + e] = ep_layout_count(p, parts, e, T, N, E, key);
    __syncthreads();
    if (active) {
        int base = 0;
        for (int q = 0; q < p; q++) base += s_part[q * E + e];
        base = ep_layout_assign(p, parts, e, T, N, E, key, slot, base);
        if (p == parts - 1) s_cnt[e] = base;
    }
    __syncthreads();

    // (c) counts exchange: own row into every rank's table (or only ours).
    for (int d = 0; d < N; d++) {
        if (!notify && d != r) continue;
        int32_t *dst = tab->cnt_all[d] + (size_t)r * E;
        for (int i = tid; i < E; i += nt) dst[i] = s_cnt[i];
    }
    if (notify) {
        __threadfence_system();
        __syncthreads();
        if (tid < N) {
            __threadfence_system();
            st_release_sys(&tab->flags[tid]->cnt_ready[r], s_epoch);
        }
    }
}

// Receive-segment bases on every destination for rank r's tokens: s_base[e] =
// sum_{e' on owner(e), e' < e} tot[e'] + sum_{s < r} cnt[s][e].
__device__ __forceinline__ void compute_bases(const int32_t *cnt, int N, int E, int r, int *s_tot, int *s_base)
{
    for (int e = threadIdx.x; e < E; e += blockDim.x) s_tot[e] = ep_expert_total(e, N, E, cnt);
    __syncthreads();
    for (int e = threadIdx.x; e < E; e += blockDim.x) s_base[e] = ep_recv_base(e, r, N, E, cnt, s_tot);
    __syncthreads();
}

// ---- dispatch -----------------------------------------------------------------
__global__ void __launch_bounds__(kThreads, 1)
ep_dispatch_kernel(const ep_tab *__restrict__ tab, int r0, int N, int T, int H, int E,
                   unsigned long long epoch)
{
    __shared__ int s_tot[EP_MAX_EXPERTS], s_base[EP_MAX_EXPERTS];
    const int r = r0 + blockIdx.y;
    const int lane = threadIdx.x & 31;
    cta_wait_all(tab, N, r, offsetof(ep_flags, cnt_ready), ep_proto_want_epoch(resolve_epoch(tab, r, epoch)));
    compute_bases(tab->cnt_all[r], N, E, r, s_tot, s_base);

    const int32_t *key = tab->key[r], *slot = tab->slot[r], *slot_base = tab->slot_base[r];
    const uint8_t *x = tab->x[r];
    const float *xs = tab->x_scales[r];
    const int nu = H / 16, ns = H / 128;
    const int warps = blockDim.x >> 5;
    for (int t = blockIdx.x * warps + (threadIdx.x >> 5); t < T; t += gridDim.x * warps) {
        int kd, pos;
        const unsigned mask = ep_token_dests(key, slot, s_base, N, t, lane, kd, pos);
        // FP8 payload: read once, write to every destination.
        const uint4 *src = (const uint4 *)(x + (size_t)t * H);
        for (int c0 = 0; c0 < nu; c0 += 32 * kUnroll) {
            uint4 v[kUnroll];
#pragma unroll
            for (int u = 0; u < kUnroll; u++) {
                int i = c0 + u * 32 + lane;
                if (i < nu) v[u] = __ldg(src + i);
            }
            for (unsigned m = mask; m; m &= m - 1) {
                const int d = __ffs(m) - 1;
                const int p = __shfl_sync(kFull, pos, d);
                uint4 *dst = (uint4 *)(tab->recv_x[d] + (size_t)p * H);
#pragma unroll
                for (int u = 0; u < kUnroll; u++) {
                    int i = c0 + u * 32 + lane;
                    if (i < nu) dst[i] = v[u];
                }
            }
        }
        // scales and metadata
        for (unsigned m = mask; m; m &= m - 1) {
            const int d = __ffs(m) - 1;
            const int p = __shfl_sync(kFull, pos, d);
            float *dst = tab->recv_scales[d] + (size_t)p * ns;
            for (int j = lane; j < ns; j += 32) dst[j] = __ldg(xs + (size_t)t * ns + j);
        }
        if (kd >= 0) tab->recv_meta[lane][pos] = ep_dispatch_meta(r, t, slot_base[t], mask, lane, kd);
    }
    cta_signal_all(tab, N, r, offsetof(ep_flags, data_done));
}

__global__ void ep_dispatch_finish_kernel(const ep_tab *__restrict__ tab, int r0, int N, int E,
                                          unsigned long long epoch, int blocks)
{
    const int r = r0 + blockIdx.y;
    cta_wait_all(tab, N, r, offsetof(ep_flags, data_done), ep_proto_want_blocks(resolve_epoch(tab, r, epoch), blocks));
    const int32_t *cnt = tab->cnt_all[r];
    const int e0 = ep_first_expert(r, E, N), e1 = ep_first_expert(r + 1, E, N);
    for (int e = e0 + threadIdx.x; e < e1; e += blockDim.x) {
        int tot = 0;
        for (int s = 0; s < N; s++) tot += __ldcg(cnt + (size_t)s * E + e);
        tab->recv_expert_cnt[r][e - e0] = tot;
    }
}

// ---- combine ------------------------------------------------------------------
__global__ void __launch_bounds__(kThreads, 1)
ep_combine_send_kernel(const ep_tab *__restrict__ tab, int r0, int N, int H)
{
    const int r = r0 + blockIdx.y;
    const int lane = threadIdx.x & 31, warps = blockDim.x >> 5;
    const int64_t rows = tab->recv_rows[r];
    const int nu = H / 8; // 16 B = 8 bf16
    const ep_meta *meta = tab->recv_meta[r];
    const uint4 *y = (const uint4 *)tab->y[r];
    for (int64_t row = blockIdx.x * warps + (threadIdx.x >> 5); row < rows; row += (int64_t)gridDim.x * warps) {
        const int4 m = __ldg((const int4 *)(meta + row));
        const int h = m.x, cs = m.z;
        const uint4 *src = y + row * nu;
        uint4 *dst = (uint4 *)(tab->comb_stage[h]) + (size_t)cs * nu;
        for (int c0 = 0; c0 < nu; c0 += 32 * kUnroll) {
            uint4 v[kUnroll];
#pragma unroll
            for (int u = 0; u < kUnroll; u++) {
                int i = c0 + u * 32 + lane;
                if (i < nu) v[u] = __ldg(src + i);
            }
#pragma unroll
            for (int u = 0; u < kUnroll; u++) {
                int i = c0 + u * 32 + lane;
                if (i < nu) dst[i] = v[u];
            }
        }
    }
    cta_signal_all(tab, N, r, offsetof(ep_flags, comb_done));
}

__device__ __forceinline__ void bf16x8_fma(float *acc, uint4 v, float w)
{
    const __nv_bfloat162 *h = (const __nv_bfloat162 *)&v;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        float2 f = __bfloat1622float2(h[i]);
        acc[2 * i] = fmaf(w, f.x, acc[2 * i]);
        acc[2 * i + 1] = fmaf(w, f.y, acc[2 * i + 1]);
    }
}

constexpr int kReduceUnroll = 4;

__global__ void __launch_bounds__(kThreads, 1)
ep_combine_reduce_kernel(const ep_tab *__restrict__ tab, int r0, int N, int T, int H, int E, int K,
                         int wait_flags, unsigned long long epoch, int blocks)
{
    const int r = r0 + blockIdx.y;
    const int lane = threadIdx.x & 31, warps = blockDim.x >> 5;
    if (wait_flags)
        cta_wait_all(tab, N, r, offsetof(ep_flags, comb_done), ep_proto_want_blocks(resolve_epoch(tab, r, epoch), blocks));
    const int32_t *idx = tab->topk_idx[r];
    const float *tw = tab->topk_w[r];
    const int32_t *slot_base = tab->slot_base[r];
    const int32_t *slot_tab = tab->comb_slot_tab[r];
    const uint4 *stage = (const uint4 *)tab->comb_stage[r];
    uint4 *out = (uint4 *)tab->comb_out[r];
    const int nu = H / 8;
    for (int t = blockIdx.x * warps + (threadIdx.x >> 5); t < T; t += gridDim.x * warps) {
        int d_l = -1;
        float w_l = 0.f;
        if (lane < K) {
            d_l = ep_owner(__ldg(idx + (size_t)t * K + lane), E, N);
            w_l = __ldg(tw + (size_t)t * K + lane);
        }
        const unsigned mask = __reduce_or_sync(kFull, d_l >= 0 ? 1u << d_l : 0u);
        // lane d holds w[t][d] (sum of the token's weights on rank d) and the slot
        float my_w = 0.f;
        int my_slot = -1;
        for (unsigned m = mask; m; m &= m - 1) {
            const int d = __ffs(m) - 1;
            float s = d_l == d ? w_l : 0.f;
#pragma unroll
            for (int o = 16; o; o >>= 1) s += __shfl_xor_sync(kFull, s, o);
            if (lane == d) {
                my_w = s;
                my_slot = slot_tab ? __ldg(slot_tab + (size_t)t * N + d)
                                   : ep_comb_slot(__ldg(slot_base + t), mask, d);
            }
        }
        for (int c0 = 0; c0 < nu; c0 += 32 * kReduceUnroll) {
            float acc[kReduceUnroll][8];
#pragma unroll
            for (int u = 0; u < kReduceUnroll; u++)
#pragma unroll
                for (int j = 0; j < 8; j++) acc[u][j] = 0.f;
            for (unsigned m = mask; m; m &= m - 1) {
                const int d = __ffs(m) - 1;
                const float w = __shfl_sync(kFull, my_w, d);
                const int sl = __shfl_sync(kFull, my_slot, d);
                const uint4 *src = stage + (size_t)sl * nu;
#pragma unroll
                for (int u = 0; u < kReduceUnroll; u++) {
                    int i = c0 + u * 32 + lane;
                    if (i < nu) bf16x8_fma(acc[u], __ldcg(src + i), w);
                }
            }
#pragma unroll
            for (int u = 0; u < kReduceUnroll; u++) {
                int i = c0 + u * 32 + lane;
                if (i < nu) {
                    uint4 o;
                    __nv_bfloat162 *oh = (__nv_bfloat162 *)&o;
#pragma unroll
                    for (int j = 0; j < 4; j++) oh[j] = __floats2bfloat162_rn(acc[u][2 * j], acc[u][2 * j + 1]);
                    out[(size_t)t * nu + i] = o;
                }
            }
        }
    }
}

// ---- alltoall -----------------------------------------------------------------
__global__ void __launch_bounds__(kThreads, 1)
ep_alltoall_kernel(const ep_tab *__restrict__ tab, int r0, int N, long long chunk)
{
    const int r = r0 + blockIdx.y;
    const long long nu = chunk / 16;
    const uint4 *src = (const uint4 *)tab->a2a_send[r];
    const long long total = nu * N;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        const int d = (int)(i / nu);
        const long long j = i - (long long)d * nu;
        uint4 *dst = (uint4 *)(tab->a2a_recv[d]) + (long long)r * nu;
        dst[j] = __ldg(src + i);
    }
    cta_signal_all(tab, N, r, offsetof(ep_flags, a2a_done));
}

__global__ void ep_wait_kernel(const ep_tab *__restrict__ tab, int r0, int N, size_t field_off,
                               unsigned long long epoch, int blocks)
{
    const int r = r0 + blockIdx.y;
    cta_wait_all(tab, N, r, field_off, ep_proto_want_blocks(resolve_epoch(tab, r, epoch), blocks));
}

// ---- launch helpers -------------------------------------------------------------
// Run `fn(r0, nr, stream)` for the whole op: loopback once for all ranks on `st`,
// multi-GPU once per rank on its device and stream.
template <typename F>
kb_status for_ranks(ep_args *a, cudaStream_t st, F fn)
{
    if (a->loopback) return fn(0, a->n_ranks, st, a->dev_tab[0]);
    int cur = 0;
    KB_CUDA_TRY(cudaGetDevice(&cur));
    for (int r = 0; r < a->n_ranks; r++) {
        KB_CUDA_TRY(cudaSetDevice(a->dev[r]));
        kb_status s = fn(r, 1, a->stream[r], a->dev_tab[r]);
        if (s != KB_OK) {
            cudaSetDevice(cur);
            return s;
        }
    }
    KB_CUDA_TRY(cudaSetDevice(cur));
    return KB_OK;
}

const ep_tab *tab_for(const ep_args *a, int r0) { return a->loopback ? a->dev_tab[0] : a->dev_tab[r0]; }

} // namespace

extern "C" kb_status ep_v1_layout(const ep_args *a, int r0, int nr, int notify, unsigned long long epoch,
                                  cudaStream_t st)
{
    if (a->n_experts > EP_MAX_EXPERTS || a->topk > EP_MAX_TOPK || a->n_ranks > 32)
        return kb_error("ep_v1_layout: shape out of range");
    ep_layout_kernel<<<dim3(1, nr), kLayoutThreads, 0, st>>>(tab_for(a, r0), r0, a->n_ranks, a->tokens,
                                                             a->n_experts, a->topk, notify, epoch);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}

extern "C" kb_status ep_v1_combine_reduce(const ep_args *a, int r0, int nr, int wait_flags,
                                          unsigned long long epoch, cudaStream_t st)
{
    ep_combine_reduce_kernel<<<dim3(a->sms, nr), kThreads, 0, st>>>(
        tab_for(a, r0), r0, a->n_ranks, a->tokens, a->hidden, a->n_experts, a->topk, wait_flags, epoch,
        a->sms);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}

// The status of the kernel launch just made (for the for_ranks bodies).
static kb_status launched()
{
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}

// Every v1 operation starts the same way: skip in multi-process mode or when
// the shape is unsupported (`unsupported`: the reason, NULL when supported),
// then the harness stream forks to the ranks' streams and each rank's barrier
// kernel stores the op number the following kernels wait on
// (kernels/ep/ep_proto.h).
static kb_status v1_begin(ep_args *a, cudaStream_t st, const char *unsupported)
{
    if (a->mpi)
        return kb_skip("multi-process mode: hand-written path is single-process intranode (peer access); use the NCCL reference");
    if (unsupported) return kb_skip("%s", unsupported);
    const int N = a->n_ranks;
    KB_TRY(ep_fork(a, st));
    return for_ranks(a, st, [&](int r0, int nr, cudaStream_t s, const ep_tab *tab) -> kb_status {
        ep_barrier_kernel<<<dim3(1, nr), 32, 0, s>>>(tab, r0, N, ep_proto_barrier_waits(a->loopback));
        return launched();
    });
}

extern "C" kb_status ep_v1_dispatch(void *ctx, cudaStream_t st)
{
    ep_args *a = (ep_args *)ctx;
    KB_TRY(v1_begin(a, st, a->hidden % 128 ? "ep_v1: hidden must be a multiple of 128" : NULL));
    const unsigned long long ep = 0ull; // kernels read the op number the barrier kernel stores
    const int N = a->n_ranks;
    KB_TRY(for_ranks(a, st, [&](int r0, int nr, cudaStream_t s, const ep_tab *) -> kb_status {
        return ep_v1_layout(a, r0, nr, 1, ep, s);
    }));
    KB_TRY(for_ranks(a, st, [&](int r0, int nr, cudaStream_t s, const ep_tab *tab) -> kb_status {
        ep_dispatch_kernel<<<dim3(a->sms, nr), kThreads, 0, s>>>(tab, r0, N, a->tokens, a->hidden,
                                                                  a->n_experts, ep);
        return launched();
    }));
    KB_TRY(for_ranks(a, st, [&](int r0, int nr, cudaStream_t s, const ep_tab *tab) -> kb_status {
        ep_dispatch_finish_kernel<<<dim3(1, nr), 128, 0, s>>>(tab, r0, N, a->n_experts, ep, a->sms);
        return launched();
    }));
    return ep_join(a, st);
}

extern "C" kb_status ep_v1_combine(void *ctx, cudaStream_t st)
{
    ep_args *a = (ep_args *)ctx;
    KB_TRY(v1_begin(a, st, a->hidden % 8 ? "ep_v1: hidden must be a multiple of 8" : NULL));
    const unsigned long long ep = 0ull; // kernels read the op number the barrier kernel stores
    const int N = a->n_ranks;
    KB_TRY(for_ranks(a, st, [&](int r0, int nr, cudaStream_t s, const ep_tab *tab) -> kb_status {
        ep_combine_send_kernel<<<dim3(a->sms, nr), kThreads, 0, s>>>(tab, r0, N, a->hidden);
        return launched();
    }));
    KB_TRY(for_ranks(a, st, [&](int r0, int nr, cudaStream_t s, const ep_tab *) -> kb_status {
        return ep_v1_combine_reduce(a, r0, nr, 1, ep, s);
    }));
    return ep_join(a, st);
}

extern "C" kb_status ep_v1_alltoall(void *ctx, cudaStream_t st)
{
    ep_args *a = (ep_args *)ctx;
    KB_TRY(v1_begin(a, st, a->a2a_chunk % 16 ? "ep_v1: chunk must be a multiple of 16 B" : NULL));
    const unsigned long long ep = 0ull; // kernels read the op number the barrier kernel stores
    const int N = a->n_ranks;
    KB_TRY(for_ranks(a, st, [&](int r0, int nr, cudaStream_t s, const ep_tab *tab) -> kb_status {
        ep_alltoall_kernel<<<dim3(a->sms, nr), kThreads, 0, s>>>(tab, r0, N, (long long)a->a2a_chunk);
        KB_CUDA_TRY(cudaGetLastError());
        ep_wait_kernel<<<dim3(1, nr), 32, 0, s>>>(tab, r0, N, offsetof(ep_flags, a2a_done), ep, a->sms);
        return launched();
    }));
    return ep_join(a, st);
}
