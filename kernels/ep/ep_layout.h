/* ep_layout.h - the per-thread index math of the v1 layout and dispatch kernels,
 * as plain inline functions compiled both for the GPU (ep_v1.cu) and for the
 * host (tests/test_ep_layout.c replays the kernels' thread phases on the CPU and
 * checks them against the plan in reference/ep_plan.c).  No CUDA API here.
 *
 * Layout kernel phases (one CTA of nt threads per rank, __syncthreads between):
 *   (a) thread tid owns tokens [tid*chunk, +chunk): ep_layout_token() writes
 *       key[t][*] and clears slot[t][*], returns the token's destination count
 *       (a block scan turns those into slot_base[t]);
 *   (b) thread (p, e), p < parts = nt/E: ep_layout_count() counts tokens of
 *       range p keyed on e; after a barrier ep_layout_assign() numbers them
 *       in token order starting at the sum of the earlier ranges' counts;
 *       the last range's end value is cnt[r][e].
 * Dispatch: ep_recv_base() = first receive row of (source r, expert e) on
 *   owner(e); a row's position = base[key] + slot; its combine slot =
 *   slot_base[t] + popcount(destination mask below d). */
#ifndef EP_LAYOUT_H
#define EP_LAYOUT_H
#include <stddef.h>
#include <stdint.h>
#include "kernels/ep/ep_geom.h" /* EP_HD, ep_owner, ep_first_expert */
#ifdef __CUDA_ARCH__
#define EP_UNROLL _Pragma("unroll")
#else
#define EP_UNROLL
#endif

#define EP_LAYOUT_MAX_TOPK 8

/* Token range of thread tid in phase (a). */
EP_HD void ep_layout_range(int tid, int nt, int T, int *lo, int *hi)
{
    int chunk = (T + nt - 1) / nt;
    int a = tid * chunk;
    if (a > T) a = T;
    int b = a + chunk;
    if (b > T) b = T;
    *lo = a;
    *hi = b;
}

/* Phase (a) for token t: key[t][d] = lowest expert of t on rank d (or -1),
 * slot[t][*] = -1; returns the number of destination ranks. */
EP_HD int ep_layout_token(int t, const int32_t *idx, int N, int E, int K, int32_t *key, int32_t *slot)
{
    int ek[EP_LAYOUT_MAX_TOPK], dk[EP_LAYOUT_MAX_TOPK];
    EP_UNROLL
    for (int k = 0; k < EP_LAYOUT_MAX_TOPK; k++) {
        ek[k] = k < K ? idx[(size_t)t * K + k] : -1;
        dk[k] = k < K ? ep_owner(ek[k], E, N) : -1;
    }
    for (int d = 0; d < N; d++) {
        key[(size_t)t * N + d] = -1;
        slot[(size_t)t * N + d] = -1;
    }
    int nd = 0;
    EP_UNROLL
    for (int k = 0; k < EP_LAYOUT_MAX_TOPK; k++) {
        int first = k < K;
        EP_UNROLL
        for (int k2 = 0; k2 < EP_LAYOUT_MAX_TOPK; k2++)
            if (k2 < K && dk[k2] == dk[k] && ek[k2] < ek[k]) first = 0;
        if (first) {
            key[(size_t)t * N + dk[k]] = ek[k];
            nd++;
        }
    }
    return nd;
}

/* Phase (b): parts of the token range, and thread tid's (p, e). */
EP_HD int ep_layout_parts(int nt, int E) { return nt / E > 0 ? nt / E : 1; }
EP_HD void ep_layout_part_range(int p, int parts, int T, int *lo, int *hi)
{
    *lo = (int)((long long)T * p / parts);
    *hi = (int)((long long)T * (p + 1) / parts);
}

EP_HD int ep_layout_count(int p, int parts, int e, int T, int N, int E, const int32_t *key)
{
    int lo, hi, c = 0;
    ep_layout_part_range(p, parts, T, &lo, &hi);
    const int d = ep_owner(e, E, N);
    for (int t = lo; t < hi; t++) c += key[(size_t)t * N + d] == e;
    return c;
}

/* Numbers range p's tokens keyed on e from `base`; returns the next number. */
EP_HD int ep_layout_assign(int p, int parts, int e, int T, int N, int E, const int32_t *key, int32_t *slot,
                           int base)
{
    int lo, hi;
    ep_layout_part_range(p, parts, T, &lo, &hi);
    const int d = ep_owner(e, E, N);
    for (int t = lo; t < hi; t++)
        if (key[(size_t)t * N + d] == e) slot[(size_t)t * N + d] = base++;
    return base;
}

/* Dispatch: rows keyed on e from all sources (cnt = all-gathered [N][E]). */
EP_HD int ep_expert_total(int e, int N, int E, const int32_t *cnt)
{
    int tot = 0;
    for (int s = 0; s < N; s++) tot += cnt[(size_t)s * E + e];
    return tot;
}

/* First receive row of source r's rows keyed on e, on rank owner(e):
 * sum of the totals of owner(e)'s earlier experts + earlier sources' counts. */
EP_HD int ep_recv_base(int e, int r, int N, int E, const int32_t *cnt, const int *tot)
{
    int b = 0;
    for (int e2 = ep_first_expert(ep_owner(e, E, N), E, N); e2 < e; e2++) b += tot[e2];
    for (int s = 0; s < r; s++) b += cnt[(size_t)s * E + e];
    return b;
}

EP_HD int ep_popc32(unsigned x)
{
#ifdef __CUDA_ARCH__
    return __popc(x);
#else
    return __builtin_popcount(x);
#endif
}

/* Combine slot of (t, d) on the home rank: token-major, destinations increasing. */
EP_HD int ep_comb_slot(int slot_base_t, unsigned dest_mask, int d)
{
    return slot_base_t + ep_popc32(dest_mask & ((1u << d) - 1u));
}

/* NCCL path (reference/ep_nccl.cu).  Pack: rank r's record of (t, d) goes to
 * row pre[key] + slot of its send buffer, pre = exclusive prefix of cnt[r][*]
 * over all experts (destination segments fall out in rank order).  Unpack on d:
 * the records from source s keyed on e start at staged row ep_unpack_off() and
 * go to receive row ep_unpack_dst() onward. */
EP_HD int ep_unpack_off(int s, int e, int d, int N, int E, const int32_t *cnt)
{
    const int e0 = ep_first_expert(d, E, N), e1 = ep_first_expert(d + 1, E, N);
    int off = 0;
    for (int s2 = 0; s2 < s; s2++)
        for (int e2 = e0; e2 < e1; e2++) off += cnt[(size_t)s2 * E + e2];
    for (int e2 = e0; e2 < e; e2++) off += cnt[(size_t)s * E + e2];
    return off;
}

EP_HD int ep_unpack_dst(int s, int e, int d, int N, int E, const int32_t *cnt)
{
    const int e0 = ep_first_expert(d, E, N);
    int dst = 0;
    for (int e2 = e0; e2 < e; e2++)
        for (int s2 = 0; s2 < N; s2++) dst += cnt[(size_t)s2 * E + e2];
    for (int s2 = 0; s2 < s; s2++) dst += cnt[(size_t)s2 * E + e];
    return dst;
}

#endif
