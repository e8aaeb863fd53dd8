// ep_nccl.cu - NCCL references for ep_dispatch, ep_combine and alltoall: one
// process drives every local GPU (ncclCommInitAll, created at the first launch
// and kept for the context's life).  Compiled only when CMake found NCCL
// (KB_HAVE_NCCL).  MPI mode (KB_WITH_MPI, several processes / nodes): one
// process per rank, ncclGetUniqueId on rank 0, the id broadcast through ep_args.mpi_bcast,
// ncclCommInitRank; the loops below then touch only this process's rank
// (ep_r_lo/ep_r_hi); counts and sizes come from the all-gathered table and the
// host plan, which every process computes whole.
//
//   dispatch: layout kernel (shared with v1, no peer writes) -> counts
//             ncclAllGather -> D2H of the count table + host sync (the counts
//             size the receives) -> pack records [payload|scales|meta] per
//             destination in (expert, token) order -> grouped ncclSend/ncclRecv
//             -> unpack each staged record to its expert-order position.
//   combine:  with the dispatch handle (host plan): gather rows per home rank ->
//             grouped ncclSend/ncclRecv -> the v1 home-rank reduction reading
//             the staged rows through a slot table.
//   alltoall: grouped ncclSend/ncclRecv of N equal chunks (nccl-tests style).
// Loopback (one GPU, N virtual ranks): NCCL cannot run N ranks on one GPU -> skip.
#ifdef KB_HAVE_NCCL
#include <cuda_runtime.h>
#include <nccl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/ep/ep.h"
#include "kernels/ep/ep_layout.h"
#include "kernels/ep/ep_dev.cuh"
#include "reference/ep_plan.h"

namespace {

constexpr int kThreads = 512;
constexpr unsigned kFull = 0xffffffffu;

struct nccl_state {
    int n;
    ncclComm_t comm[EP_MAX_RANKS];
    // dispatch
    int rec;                          // record bytes: payload | scales | pad | meta (16)
    uint8_t *pack[EP_MAX_RANKS];      // [comb_count[r]] records
    uint8_t *stage[EP_MAX_RANKS];     // [recv_count[r]] records
    int32_t *cnt_host;                // [N][E]
    // combine
    int comb_ready;
    int32_t *comb_pack_idx[EP_MAX_RANKS]; // [recv_count[d]] packed row of each received row
    uint16_t *comb_pack[EP_MAX_RANKS];    // [recv_count[d], H]
    uint16_t *comb_stage[EP_MAX_RANKS];   // [comb_count[h], H] staged rows, segments per expert rank
    ep_tab *comb_tab[EP_MAX_RANKS];       // v1 table with comb_stage / comb_slot_tab swapped
};

// One grouped exchange: ncclGroupStart, post() (the calls of the group),
// ncclGroupEnd.  The group is ended on every path, also when a call inside it
// failed (a return from inside the group would leave it open, and the next
// NCCL call of the process would join it); the first error is returned.
template <class F> kb_status nccl_group(F &&post)
{
    KB_NCCL_TRY(ncclGroupStart());
    const kb_status st = post();
    const ncclResult_t end = ncclGroupEnd();
    if (st != KB_OK) return st; // its message is kept
    if (end != ncclSuccess) return kb_error("ncclGroupEnd: %s", ncclGetErrorString(end));
    return KB_OK;
}

void state_free(void *p)
{
    nccl_state *s = (nccl_state *)p;
    for (int r = 0; r < s->n; r++)
        if (s->comm[r]) ncclCommDestroy(s->comm[r]);
    free(s->cnt_host);
    free(s);
}

kb_status get_state(ep_args *a, nccl_state **out)
{
    if (a->loopback || a->n_ranks < 2) return kb_skip("NCCL needs >= 2 GPUs");
    if (a->nccl) {
        *out = (nccl_state *)a->nccl;
        return KB_OK;
    }
    nccl_state *s = (nccl_state *)calloc(1, sizeof(nccl_state));
    if (!s) return kb_error("ep_nccl: out of memory");
    int cur = 0;
    KB_CUDA_TRY(cudaGetDevice(&cur));
    ncclResult_t nr;
    if (a->mpi) {
        // MPI mode: rank 0 makes the id, MPI broadcasts it, one communicator per process
        ncclUniqueId id;
        memset(&id, 0, sizeof id);
        nr = a->me == 0 ? ncclGetUniqueId(&id) : ncclSuccess;
        if (!a->mpi_root_int || !a->mpi_bcast) return free(s), kb_error("ep_nccl: MPI mode without MPI callbacks");
        const int ok = a->mpi_root_int(nr == ncclSuccess); // all ranks learn whether the id exists
        a->mpi_bcast(&id, sizeof id, 0);
        if (ok) {
            cudaSetDevice(a->dev[a->me]);
            nr = ncclCommInitRank(&s->comm[a->me], a->n_ranks, id, a->me);
        } else if (nr == ncclSuccess) {
            nr = ncclInvalidUsage; // rank 0's ncclGetUniqueId failed
        }
    } else {
        nr = ncclCommInitAll(s->comm, a->n_ranks, a->dev);
    }
    cudaSetDevice(cur);
    if (nr != ncclSuccess) {
        free(s);
        return kb_error("%s(%d ranks): %s", a->mpi ? "ncclGetUniqueId/ncclCommInitRank" : "ncclCommInitAll",
                        a->n_ranks, ncclGetErrorString(nr));
    }
    s->n = a->n_ranks;
    a->nccl = s;
    a->nccl_free = state_free;
    *out = s;
    return KB_OK;
}


// Pack rank r's (token, destination) records in (key, token) order: record index
// = sum_{e' < key} cnt[r][e'] + slot (segments per destination fall out in order).
__global__ void __launch_bounds__(kThreads, 1)
nccl_pack_kernel(const ep_tab *__restrict__ tab, int r, int N, int T, int H, int E, uint8_t *pack, int rec)
{
    __shared__ int s_pre[EP_MAX_EXPERTS];
    const int32_t *cnt = tab->cnt_all[r] + (size_t)r * E;
    if (threadIdx.x == 0) {
        int run = 0;
        for (int e = 0; e < E; e++) {
            s_pre[e] = run;
            run += cnt[e];
        }
    }
    __syncthreads();
    const int lane = threadIdx.x & 31, warps = blockDim.x >> 5, ns = H / 128;
    const int32_t *key = tab->key[r], *slot = tab->slot[r], *slot_base = tab->slot_base[r];
    for (int t = blockIdx.x * warps + (threadIdx.x >> 5); t < T; t += gridDim.x * warps) {
        int kd, pos;
        const unsigned mask = ep_token_dests(key, slot, s_pre, N, t, lane, kd, pos);
        const uint4 *src = (const uint4 *)(tab->x[r] + (size_t)t * H);
        for (unsigned m = mask; m; m &= m - 1) {
            const int d = __ffs(m) - 1;
            const int p = __shfl_sync(kFull, pos, d);
            uint8_t *dst = pack + (size_t)p * rec;
            for (int i = lane; i < H / 16; i += 32) ((uint4 *)dst)[i] = __ldg(src + i);
            float *ds = (float *)(dst + H);
            for (int j = lane; j < ns; j += 32) ds[j] = __ldg(tab->x_scales[r] + (size_t)t * ns + j);
        }
        if (kd >= 0)
            *(ep_meta *)(pack + (size_t)pos * rec + rec - EP_META_BYTES) =
                ep_dispatch_meta(r, t, slot_base[t], mask, lane, kd);
    }
}

// Unpack rank d's staged records (segments per source, (key, token) order
// inside) into the expert-order receive buffers.
__global__ void __launch_bounds__(kThreads, 1)
nccl_unpack_kernel(const ep_tab *__restrict__ tab, int d, int N, int H, int E, const uint8_t *stage,
                   int rec, long long rows)
{
    __shared__ int s_off[EP_MAX_EXPERTS], s_dst[EP_MAX_EXPERTS];
    const int32_t *cnt = tab->cnt_all[d];
    const int e0 = ep_first_expert(d, E, N), e1 = ep_first_expert(d + 1, E, N), L = e1 - e0;
    for (int j = threadIdx.x; j < N * L; j += blockDim.x) {
        const int s = j / L, e = e0 + j % L;
        const int off = ep_unpack_off(s, e, d, N, E, cnt), dst = ep_unpack_dst(s, e, d, N, E, cnt);
        s_off[j] = off;
        s_dst[j] = dst;
    }
    __syncthreads();
    if (blockIdx.x == 0)
        for (int e = e0 + threadIdx.x; e < e1; e += blockDim.x) {
            int tot = 0;
            for (int s = 0; s < N; s++) tot += cnt[(size_t)s * E + e];
            tab->recv_expert_cnt[d][e - e0] = tot;
        }
    const int lane = threadIdx.x & 31, warps = blockDim.x >> 5, ns = H / 128;
    for (long long i = blockIdx.x * warps + (threadIdx.x >> 5); i < rows; i += (long long)gridDim.x * warps) {
        const uint8_t *src = stage + (size_t)i * rec;
        const ep_meta m = *(const ep_meta *)(src + rec - EP_META_BYTES);
        const int j = m.src_rank * L + (m.key - e0);
        const long long pos = s_dst[j] + (i - s_off[j]);
        uint4 *dx = (uint4 *)(tab->recv_x[d] + (size_t)pos * H);
        for (int u = lane; u < H / 16; u += 32) dx[u] = ((const uint4 *)src)[u];
        for (int u = lane; u < ns; u += 32) tab->recv_scales[d][(size_t)pos * ns + u] = ((const float *)(src + H))[u];
        if (lane == 0) tab->recv_meta[d][pos] = m;
    }
}

// Combine gather: packed[idx[p]] = y[p] (BF16 rows).
__global__ void __launch_bounds__(kThreads, 1)
nccl_gather_kernel(const uint16_t *y, const int32_t *idx, uint16_t *packed, long long rows, int H)
{
    const int lane = threadIdx.x & 31, warps = blockDim.x >> 5, nu = H / 8;
    for (long long p = blockIdx.x * warps + (threadIdx.x >> 5); p < rows; p += (long long)gridDim.x * warps) {
        const uint4 *src = (const uint4 *)(y + (size_t)p * H);
        uint4 *dst = (uint4 *)(packed + (size_t)__ldg(idx + p) * H);
        for (int u = lane; u < nu; u += 32) dst[u] = __ldg(src + u);
    }
}

// The end of a dispatch / combine: back on the caller's device `cur`, then the
// ranks' streams join the harness stream.
kb_status restore_join(ep_args *a, cudaStream_t st, int cur)
{
    KB_CUDA_TRY(cudaSetDevice(cur));
    return ep_join(a, st);
}

} // namespace

extern "C" kb_status ep_nccl_dispatch(void *ctx, cudaStream_t st)
{
    ep_args *a = (ep_args *)ctx;
    nccl_state *s = NULL;
    KB_TRY(get_state(a, &s));
    const int N = a->n_ranks, E = a->n_experts, H = a->hidden;
    if (!a->plan) return kb_error("ep_nccl_dispatch: no plan");
    // the unpack kernel keeps N x (experts per rank) offsets in shared memory
    if ((long long)N * (ep_first_expert(1, E, N) - ep_first_expert(0, E, N)) > EP_MAX_EXPERTS ||
        (long long)N * ((E + N - 1) / N) > EP_MAX_EXPERTS)
        return kb_skip("ep_nccl: N x experts per rank > %d", EP_MAX_EXPERTS);
    if (H % 128) return kb_skip("ep_nccl: hidden must be a multiple of 128");
    // The counts size the receives, so this launcher synchronizes with the host
    // (step 2): not capturable.  Refuse before anything is enqueued - a capture
    // broken half-way would leave the forked streams and NCCL's captured
    // all-gather in an undefined state (kbench --graph then times it directly).
    cudaStreamCaptureStatus cap = cudaStreamCaptureStatusNone;
    KB_CUDA_TRY(cudaStreamIsCapturing(st, &cap));
    if (cap != cudaStreamCaptureStatusNone)
        return kb_skip("ep_nccl_dispatch: host sync on the counts, not capturable into a CUDA graph");
    if (!s->rec) { // first launch (not s->pack[0]: in MPI mode only pack[me] exists)
        const int rec = (int)((H + 4 * (H / 128) + EP_META_BYTES + 15) / 16 * 16);
        for (int r = ep_r_lo(a); r < ep_r_hi(a); r++) {
            void *p;
            KB_TRY(ep_alloc(a, r, (size_t)a->plan->comb_count[r] * rec, &p));
            s->pack[r] = (uint8_t *)p;
            KB_TRY(ep_alloc(a, r, (size_t)a->plan->recv_count[r] * rec, &p));
            s->stage[r] = (uint8_t *)p;
        }
        if (!s->cnt_host) s->cnt_host = (int32_t *)malloc((size_t)N * E * sizeof(int32_t));
        if (!s->cnt_host) return kb_error("ep_nccl: out of memory");
        s->rec = rec; // set last: a failed first launch allocates again next time
    }
    int cur = 0;
    KB_CUDA_TRY(cudaGetDevice(&cur));
    KB_TRY(ep_fork(a, st));
    // 1. layout on every rank (no peer writes), counts all-gather
    for (int r = ep_r_lo(a); r < ep_r_hi(a); r++) {
        KB_CUDA_TRY(cudaSetDevice(a->dev[r]));
        KB_TRY(ep_v1_layout(a, r, 1, 0, 0, a->stream[r]));
    }
    KB_TRY(nccl_group([&]() -> kb_status {
        for (int r = ep_r_lo(a); r < ep_r_hi(a); r++)
            KB_NCCL_TRY(ncclAllGather(a->tab.cnt_all[r] + (size_t)r * E, a->tab.cnt_all[r], (size_t)E, ncclInt32,
                                      s->comm[r], a->stream[r]));
        return KB_OK;
    }));
    // 2. the counts size the receives: bring them to the host
    const int r0 = ep_r_lo(a); // every rank's table holds all N rows after the all-gather
    KB_CUDA_TRY(cudaSetDevice(a->dev[r0]));
    KB_CUDA_TRY(cudaMemcpyAsync(s->cnt_host, a->tab.cnt_all[r0], (size_t)N * E * sizeof(int32_t),
                                cudaMemcpyDeviceToHost, a->stream[r0]));
    KB_CUDA_TRY(cudaStreamSynchronize(a->stream[r0]));
    long long sc[EP_MAX_RANKS][EP_MAX_RANKS];
    for (int r = 0; r < N; r++)
        for (int d = 0; d < N; d++) {
            long long c = 0;
            for (int e = ep_first_expert(d, E, N); e < ep_first_expert(d + 1, E, N); e++)
                c += s->cnt_host[(size_t)r * E + e];
            sc[r][d] = c;
        }
    for (int r = 0; r < N; r++) {
        long long out = 0, in = 0;
        for (int d = 0; d < N; d++) {
            out += sc[r][d];
            in += sc[d][r];
        }
        if (out > a->plan->comb_count[r] || in > a->plan->recv_count[r])
            return kb_error("ep_nccl_dispatch: counts exceed the buffers (rank %d)", r);
    }
    // 3. pack, exchange, unpack
    for (int r = ep_r_lo(a); r < ep_r_hi(a); r++) {
        KB_CUDA_TRY(cudaSetDevice(a->dev[r]));
        nccl_pack_kernel<<<a->sms, kThreads, 0, a->stream[r]>>>(a->dev_tab[r], r, N, a->tokens, H, E,
                                                                 s->pack[r], s->rec);
        KB_CUDA_TRY(cudaGetLastError());
    }
    KB_TRY(nccl_group([&]() -> kb_status {
        for (int r = ep_r_lo(a); r < ep_r_hi(a); r++) {
            long long soff = 0, roff = 0;
            for (int d = 0; d < N; d++) {
                if (sc[r][d])
                    KB_NCCL_TRY(ncclSend(s->pack[r] + (size_t)soff * s->rec, (size_t)sc[r][d] * s->rec, ncclUint8, d,
                                         s->comm[r], a->stream[r]));
                if (sc[d][r])
                    KB_NCCL_TRY(ncclRecv(s->stage[r] + (size_t)roff * s->rec, (size_t)sc[d][r] * s->rec, ncclUint8,
                                         d, s->comm[r], a->stream[r]));
                soff += sc[r][d];
                roff += sc[d][r];
            }
        }
        return KB_OK;
    }));
    for (int d = ep_r_lo(a); d < ep_r_hi(a); d++) {
        long long rows = 0;
        for (int r = 0; r < N; r++) rows += sc[r][d];
        KB_CUDA_TRY(cudaSetDevice(a->dev[d]));
        nccl_unpack_kernel<<<a->sms, kThreads, 0, a->stream[d]>>>(a->dev_tab[d], d, N, H, E, s->stage[d],
                                                                   s->rec, rows);
        KB_CUDA_TRY(cudaGetLastError());
    }
    return restore_join(a, st, cur);
}

extern "C" kb_status ep_nccl_combine(void *ctx, cudaStream_t st)
{
    ep_args *a = (ep_args *)ctx;
    nccl_state *s = NULL;
    KB_TRY(get_state(a, &s));
    const int N = a->n_ranks, T = a->tokens, H = a->hidden;
    const ep_plan *pl = a->plan;
    if (!pl) return kb_error("ep_nccl_combine: no plan");
    int cur = 0;
    KB_CUDA_TRY(cudaGetDevice(&cur));
    if (!s->comb_ready) {
        // Handle: packed order on d = segments per home h, token order inside;
        // the home rank's slot of (t, d) = send_offset[h][d] + running index.
        int32_t *pidx[EP_MAX_RANKS] = {0};
        int32_t *slot_tab[EP_MAX_RANKS] = {0};
        kb_status stt = KB_OK;
        for (int r = 0; r < N; r++) {
            pidx[r] = (int32_t *)malloc((size_t)(pl->recv_count[r] + 1) * sizeof(int32_t));
            slot_tab[r] = (int32_t *)malloc((size_t)T * N * sizeof(int32_t));
            if (!pidx[r] || !slot_tab[r]) stt = kb_error("ep_nccl: out of memory");
        }
        if (stt == KB_OK) {
            ep_plan_combine_handle(pl, pidx, slot_tab);
            ep_tab tab = a->tab;
            for (int r = ep_r_lo(a); r < ep_r_hi(a) && stt == KB_OK; r++) {
                void *p;
                if ((stt = ep_alloc(a, r, (size_t)(pl->recv_count[r] + 1) * sizeof(int32_t), &p))) break;
                s->comb_pack_idx[r] = (int32_t *)p;
                cudaMemcpy(p, pidx[r], (size_t)pl->recv_count[r] * sizeof(int32_t), cudaMemcpyHostToDevice);
                if ((stt = ep_alloc(a, r, (size_t)pl->recv_count[r] * H * 2, &p))) break;
                s->comb_pack[r] = (uint16_t *)p;
                if ((stt = ep_alloc(a, r, (size_t)pl->comb_count[r] * H * 2, &p))) break;
                tab.comb_stage[r] = (uint16_t *)p;
                s->comb_stage[r] = (uint16_t *)p;
                if ((stt = ep_alloc(a, r, (size_t)T * N * sizeof(int32_t), &p))) break;
                tab.comb_slot_tab[r] = (const int32_t *)p;
                cudaMemcpy(p, slot_tab[r], (size_t)T * N * sizeof(int32_t), cudaMemcpyHostToDevice);
            }
            for (int r = ep_r_lo(a); r < ep_r_hi(a) && stt == KB_OK; r++) {
                void *p;
                if ((stt = ep_alloc(a, r, sizeof(ep_tab), &p))) break;
                s->comb_tab[r] = (ep_tab *)p;
                if (cudaMemcpy(p, &tab, sizeof tab, cudaMemcpyHostToDevice) != cudaSuccess)
                    stt = kb_error("ep_nccl: table upload failed");
            }
        }
        for (int r = 0; r < N; r++) {
            free(pidx[r]);
            free(slot_tab[r]);
        }
        KB_CUDA_TRY(cudaGetLastError());
        if (stt != KB_OK) return stt;
        s->comb_ready = 1;
    }
    KB_TRY(ep_fork(a, st));
    for (int d = ep_r_lo(a); d < ep_r_hi(a); d++) {
        KB_CUDA_TRY(cudaSetDevice(a->dev[d]));
        nccl_gather_kernel<<<a->sms, kThreads, 0, a->stream[d]>>>(a->tab.y[d], s->comb_pack_idx[d], s->comb_pack[d],
                                                                   (long long)pl->recv_count[d], H);
        KB_CUDA_TRY(cudaGetLastError());
    }
    KB_TRY(nccl_group([&]() -> kb_status {
        for (int r = ep_r_lo(a); r < ep_r_hi(a); r++) {
            // r as expert rank sends to each home h; r as home receives from each d
            long long soff = 0, roff = 0;
            for (int h = 0; h < N; h++) {
                const long long n_send = pl->send_count[(size_t)h * N + r]; // rows r holds for home h
                const long long n_recv = pl->send_count[(size_t)r * N + h]; // rows home r gets from h
                if (n_send)
                    KB_NCCL_TRY(ncclSend(s->comb_pack[r] + (size_t)soff * H, (size_t)n_send * H * 2, ncclUint8, h,
                                         s->comm[r], a->stream[r]));
                if (n_recv)
                    KB_NCCL_TRY(ncclRecv(s->comb_stage[r] + (size_t)roff * H, (size_t)n_recv * H * 2, ncclUint8, h,
                                         s->comm[r], a->stream[r]));
                soff += n_send;
                roff += n_recv;
            }
        }
        return KB_OK;
    }));
    // home-rank reduction (v1 kernel) over the staged rows, through the slot table
    ep_args *b = (ep_args *)malloc(sizeof(ep_args));
    if (!b) return kb_error("ep_nccl: out of memory");
    *b = *a;
    for (int r = ep_r_lo(a); r < ep_r_hi(a); r++) b->dev_tab[r] = s->comb_tab[r];
    kb_status rs = KB_OK;
    for (int r = ep_r_lo(a); r < ep_r_hi(a) && rs == KB_OK; r++) {
        if (cudaSetDevice(a->dev[r]) != cudaSuccess) rs = kb_error("ep_nccl: cudaSetDevice failed");
        else rs = ep_v1_combine_reduce(b, r, 1, 0, 0, a->stream[r]);
    }
    free(b);
    KB_TRY(rs);
    return restore_join(a, st, cur);
}

extern "C" kb_status ep_nccl_alltoall(void *ctx, cudaStream_t st)
{
    ep_args *a = (ep_args *)ctx;
    nccl_state *s = NULL;
    KB_TRY(get_state(a, &s));
    const int N = a->n_ranks;
    const size_t c = (size_t)a->a2a_chunk;
    KB_TRY(ep_fork(a, st));
    KB_TRY(nccl_group([&]() -> kb_status {
        for (int r = ep_r_lo(a); r < ep_r_hi(a); r++)
            for (int d = 0; d < N; d++) {
                KB_NCCL_TRY(ncclSend(a->tab.a2a_send[r] + d * c, c, ncclUint8, d, s->comm[r], a->stream[r]));
                KB_NCCL_TRY(ncclRecv(a->tab.a2a_recv[r] + d * c, c, ncclUint8, d, s->comm[r], a->stream[r]));
            }
        return KB_OK;
    }));
    return ep_join(a, st);
}
extern "C" kb_status ep_nccl_group(kb_status (*post)(void *user), void *user)
{
    return nccl_group([&]() { return post(user); });
}
#endif // KB_HAVE_NCCL
