/* ep_host.c - host glue shared by the expert-parallel operators: mode and rank
 * detection, peer access, per-rank allocations, the device pointer tables and
 * the fork/join of per-GPU streams around the harness stream. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "bench/ops/ep_host.h"
#include "bench/kb_mpi.h"

int ep_env_sms(void)
{
    const char *s = getenv("KBENCH_EP_SMS");
    int v = s && *s ? atoi(s) : EP_DEFAULT_SMS;
    if (v < 1) v = 1;
    if (v > 1024) v = 1024;
    return v;
}

void ep_env_ranks(int *n_ranks, int *loopback)
{
    if (kb_mpi_active()) { /* one rank per process; ep_args_init skips if > EP_MAX_RANKS */
        *n_ranks = kb_mpi_size() < EP_MAX_RANKS ? kb_mpi_size() : EP_MAX_RANKS;
        *loopback = 0;
        return;
    }
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess) {
        ndev = 0;
        cudaGetLastError(); /* clear the sticky "no device" error */
    }
    const char *lb = getenv("KBENCH_EP_LOOPBACK");
    const char *s = getenv("KBENCH_EP_RANKS");
    if (ndev >= 2 && !(lb && atoi(lb) == 1)) {
        int n = ndev > EP_MAX_RANKS ? EP_MAX_RANKS : ndev;
        int want = s && *s ? atoi(s) : 0; /* e.g. EP4 on an 8-GPU node */
        if (want >= 2 && want < n) n = want;
        *n_ranks = n;
        *loopback = 0;
        return;
    }
    int v = s && *s ? atoi(s) : EP_DEFAULT_LOOPBACK_RANKS;
    if (v < 1) v = 1;
    if (v > EP_MAX_RANKS) v = EP_MAX_RANKS;
    *n_ranks = v;
    *loopback = 1;
}

int ep_small_ranks(int n_ranks, int loopback)
{
    if (loopback) return 4;
    if (kb_mpi_active()) return n_ranks;
    return n_ranks < 4 ? n_ranks : 4;
}

kb_status ep_peer_check(int dev_i, int dev_j, int can_access, int native_atomics)
{
    if (!can_access) return kb_skip("ep: no peer access from GPU %d to GPU %d", dev_i, dev_j);
    if (!native_atomics)
        return kb_skip("ep: GPU %d -> GPU %d: no native atomics over the peer link (cudaDevP2PAttrNativeAtomicSupported"
                       " = 0, e.g. PCIe): the flag protocol needs system-scope atomics on peer memory",
                       dev_i, dev_j);
    return KB_OK;
}

kb_status ep_args_init(ep_args *a, int n_ranks, int loopback)
{
    int cur = 0;
    KB_CUDA_TRY(cudaGetDevice(&cur));
    a->n_ranks = n_ranks;
    a->loopback = loopback;
    a->sms = ep_env_sms();
    if (n_ranks < 1 || n_ranks > EP_MAX_RANKS) return kb_error("ep: %d ranks out of range", n_ranks);
    if (kb_mpi_active()) { /* MPI mode: this process is rank `me` on its own GPU */
        if (loopback) return kb_skip("ep: MPI mode has no loopback");
        if (kb_mpi_size() != n_ranks)
            return kb_skip("ep: MPI mode: %d processes, the shape needs %d (at most %d ranks)", kb_mpi_size(),
                           n_ranks, EP_MAX_RANKS);
        a->mpi = 1;
        a->me = kb_mpi_rank();
        a->mpi_root_int = kb_mpi_root_int;
        a->mpi_bcast = kb_mpi_bcast;
        for (int r = 0; r < n_ranks; r++) a->dev[r] = cur;
        KB_CUDA_TRY(cudaStreamCreateWithFlags(&a->stream[a->me], cudaStreamNonBlocking));
        KB_CUDA_TRY(cudaEventCreateWithFlags(&a->ev_join[a->me], cudaEventDisableTiming));
        KB_CUDA_TRY(cudaEventCreateWithFlags(&a->ev_fork, cudaEventDisableTiming));
    } else if (!loopback) {
        int ndev = 0;
        KB_CUDA_TRY(cudaGetDeviceCount(&ndev));
        if (ndev < n_ranks) return kb_skip("ep: shape needs %d GPUs, %d present", n_ranks, ndev);
        /* rank 0 is the harness's device, the others follow in order */
        for (int r = 0; r < n_ranks; r++) a->dev[r] = (cur + r) % ndev;
        for (int i = 0; i < n_ranks; i++)
            for (int j = 0; j < n_ranks; j++) {
                if (i == j) continue;
                int can = 0, atomics = 0;
                KB_CUDA_TRY(cudaDeviceCanAccessPeer(&can, a->dev[i], a->dev[j]));
                if (can)
                    KB_CUDA_TRY(cudaDeviceGetP2PAttribute(&atomics, cudaDevP2PAttrNativeAtomicSupported, a->dev[i],
                                                          a->dev[j]));
                KB_TRY(ep_peer_check(a->dev[i], a->dev[j], can, atomics));
                KB_CUDA_TRY(cudaSetDevice(a->dev[i]));
                cudaError_t e = cudaDeviceEnablePeerAccess(a->dev[j], 0);
                if (e == cudaErrorPeerAccessAlreadyEnabled) cudaGetLastError();
                else if (e != cudaSuccess) {
                    cudaSetDevice(cur);
                    return kb_error("ep: cudaDeviceEnablePeerAccess(%d -> %d): %s", a->dev[i],
                                    a->dev[j], cudaGetErrorString(e));
                }
            }
        for (int r = 0; r < n_ranks; r++) {
            KB_CUDA_TRY(cudaSetDevice(a->dev[r]));
            KB_CUDA_TRY(cudaStreamCreateWithFlags(&a->stream[r], cudaStreamNonBlocking));
            KB_CUDA_TRY(cudaEventCreateWithFlags(&a->ev_join[r], cudaEventDisableTiming));
        }
        KB_CUDA_TRY(cudaSetDevice(cur));
        KB_CUDA_TRY(cudaEventCreateWithFlags(&a->ev_fork, cudaEventDisableTiming));
    } else {
        for (int r = 0; r < n_ranks; r++) a->dev[r] = cur;
    }
    for (int r = ep_r_lo(a); r < ep_r_hi(a); r++) {
        void *p;
        KB_TRY(ep_alloc(a, r, sizeof(ep_flags), &p));
        KB_CUDA_TRY(cudaSetDevice(a->dev[r]));
        KB_CUDA_TRY(cudaMemset(p, 0, sizeof(ep_flags)));
        KB_CUDA_TRY(cudaDeviceSynchronize());
        KB_CUDA_TRY(cudaSetDevice(cur));
        a->tab.flags[r] = (ep_flags *)p;
    }
    return KB_OK;
}

kb_status ep_tab_upload(ep_args *a)
{
    int ncopies = a->loopback ? 1 : ep_r_hi(a);
    for (int r = ep_r_lo(a); r < ncopies; r++) {
        if (!a->dev_tab[r]) {
            void *p;
            KB_TRY(ep_alloc(a, r, sizeof(ep_tab), &p));
            a->dev_tab[r] = (ep_tab *)p;
        }
        KB_CUDA_TRY(cudaMemcpy(a->dev_tab[r], &a->tab, sizeof(ep_tab), cudaMemcpyHostToDevice));
    }
    return KB_OK;
}

void ep_args_free(ep_args *a)
{
    int cur = 0;
    cudaGetDevice(&cur);
    if (a->nccl && a->nccl_free) a->nccl_free(a->nccl);
    a->nccl = NULL;
    for (int i = 0; i < a->n_alloc; i++) {
        cudaSetDevice(a->alloc_dev[i]);
        cudaFree(a->alloc_ptr[i]);
    }
    a->n_alloc = 0;
    if (!a->loopback) {
        for (int r = 0; r < a->n_ranks; r++) {
            cudaSetDevice(a->dev[r]);
            if (a->stream[r]) cudaStreamDestroy(a->stream[r]);
            if (a->ev_join[r]) cudaEventDestroy(a->ev_join[r]);
        }
        if (a->ev_fork) cudaEventDestroy(a->ev_fork);
    }
    cudaSetDevice(cur);
}

void ep_moe_host_free(ep_moe_host *h)
{
    free(h->idx);
    free(h->w);
    ep_plan_free(&h->plan);
    h->idx = NULL;
    h->w = NULL;
}

ep_meta ep_expected_meta(const ep_moe_host *h, int d, int64_t p)
{
    const ep_plan *pl = &h->plan;
    const int N = pl->n_ranks, T = pl->tokens;
    ep_meta m = {-1, -1, -1, -1};
    int r = pl->recv_src_rank[(size_t)d * N * T + p], t = pl->recv_src_token[(size_t)d * N * T + p];
    if (r < 0) return m;
    size_t i = ((size_t)r * T + t) * N + d;
    m.src_rank = r;
    m.src_token = t;
    m.comb_slot = pl->comb_slot[i];
    m.key = pl->key[i];
    return m;
}

static kb_status upload(ep_args *a, int r, const void *src, size_t bytes, void **dst)
{
    KB_TRY(ep_alloc(a, r, bytes, dst));
    KB_CUDA_TRY(cudaMemcpy(*dst, src, bytes, cudaMemcpyHostToDevice));
    return KB_OK;
}

kb_status ep_setup_moe(ep_args *a, const kb_shape *s, ep_moe_host *h)
{
    const int N = (int)s->d[EP_D_RANKS], T = (int)s->d[EP_D_TOKENS], H = (int)s->d[EP_D_HIDDEN];
    const int E = (int)s->d[EP_D_EXPERTS], K = (int)s->d[EP_D_TOPK];
    memset(h, 0, sizeof *h);
    KB_TRY(ep_args_init(a, N, ep_shape_is_loopback(s)));
    a->tokens = T;
    a->hidden = H;
    a->n_experts = E;
    a->topk = K;
    h->idx = malloc((size_t)N * T * K * sizeof(int32_t));
    h->w = malloc((size_t)N * T * K * sizeof(float));
    if (!h->idx || !h->w) return kb_error("ep: out of host memory");
    if (ep_shape_route(s, h->idx, h->w)) return kb_error("ep: bad routing parameters");
    if (ep_plan_build(N, T, E, K, h->idx, &h->plan)) return kb_error("ep: plan failed");
    const ep_plan *pl = &h->plan;
    a->plan = pl;
    ep_meta *meta = malloc((size_t)N * T * sizeof(ep_meta));
    if (!meta) return kb_error("ep: out of host memory");
    kb_status st = KB_OK;
    for (int r = 0; r < N && st == KB_OK; r++) {
        a->tab.recv_rows[r] = pl->recv_count[r];
        a->tab.comb_rows[r] = pl->comb_count[r];
        if (!ep_is_local(a, r)) continue; /* MPI mode: rank r's buffers live in its process */
        for (int64_t q = 0; q < pl->recv_count[r]; q++) meta[q] = ep_expected_meta(h, r, q);
        const struct { const void *src; size_t bytes; void **dst; } up[] = {
            {h->idx + (size_t)r * T * K, (size_t)T * K * sizeof(int32_t), (void **)&a->tab.topk_idx[r]},
            {h->w + (size_t)r * T * K, (size_t)T * K * sizeof(float), (void **)&a->tab.topk_w[r]},
            {pl->key + (size_t)r * T * N, (size_t)T * N * sizeof(int32_t), (void **)&a->tab.key[r]},
            {pl->slot + (size_t)r * T * N, (size_t)T * N * sizeof(int32_t), (void **)&a->tab.slot[r]},
            {pl->slot_base + (size_t)r * T, (size_t)T * sizeof(int32_t), (void **)&a->tab.slot_base[r]},
            {pl->cnt, (size_t)N * E * sizeof(int32_t), (void **)&a->tab.cnt_all[r]},
            {meta, (size_t)pl->recv_count[r] * sizeof(ep_meta), (void **)&a->tab.recv_meta[r]},
        };
        for (size_t u = 0; u < sizeof up / sizeof up[0] && st == KB_OK; u++)
            st = upload(a, r, up[u].src, up[u].bytes, up[u].dst);
    }
    free(meta);
    return st;
}

kb_status ep_on_rank_devices(ep_args *a, kb_status (*fn)(ep_args *a, int r, void *user), void *user)
{
    int cur = 0;
    KB_CUDA_TRY(cudaGetDevice(&cur));
    kb_status st = KB_OK;
    for (int r = ep_r_lo(a); r < ep_r_hi(a) && st == KB_OK; r++) {
        cudaError_t e = cudaSetDevice(a->dev[r]);
        if (e == cudaSuccess) e = cudaDeviceSynchronize(); /* earlier launches on non-blocking streams */
        if (e != cudaSuccess) {
            st = kb_error("ep: rank %d device %d: %s", r, a->dev[r], cudaGetErrorString(e));
            break;
        }
        st = fn(a, r, user);
        if (st == KB_OK && (e = cudaDeviceSynchronize()) != cudaSuccess)
            st = kb_error("ep: rank %d device %d: %s", r, a->dev[r], cudaGetErrorString(e));
    }
    cudaError_t e = cudaSetDevice(cur);
    if (st == KB_OK && e != cudaSuccess) st = kb_error("ep: cudaSetDevice(%d): %s", cur, cudaGetErrorString(e));
    return st;
}

kb_status ep_verify_begin(const ep_args *a, double *err, const char **metric)
{
    *metric = "wrong";
    *err = NAN;
    return KB_OK;
}

kb_status ep_poison_ranks(void *ctx, kb_status (*fn)(ep_args *a, int r, void *user))
{
    return ep_on_rank_devices((ep_args *)ctx, fn, NULL);
}

kb_status ep_fill_on_rank(ep_args *a, int r, void *p, size_t n, int bf16, float lo, float hi, uint64_t seed)
{
    KB_CUDA_TRY(cudaSetDevice(a->dev[r]));
    kb_status st = bf16 ? kb_dev_fill_bf16(p, n, lo, hi, seed, 0) : kb_dev_fill_f32(p, n, lo, hi, seed, 0);
    if (st == KB_OK && cudaDeviceSynchronize() != cudaSuccess) st = kb_error("ep: rank %d: fill failed", r);
    cudaSetDevice(a->dev[0]);
    return st;
}
