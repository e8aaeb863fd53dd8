/* test_ep_layout.c - replays the v1 layout and dispatch kernels' per-thread
 * index math (kernels/ep/ep_layout.h, the same functions the GPU runs) on the
 * CPU, thread by thread and phase by phase, and checks every key, slot,
 * combine slot, count row and receive position against the CPU plan
 * (reference/ep_plan.c).  No GPU needed; the flag protocol across ranks and
 * launches is simulated in test_ep_proto, the real CUDA mechanics (barriers,
 * flags, peer stores) need a GPU: test_ep_gpu. */
#include <stdlib.h>
#include <string.h>
#include "kbtest.h"
#include "reference/ep_plan.h"
#include "kernels/ep/ep_layout.h"

static void replay(int N, int T, int nt, uint64_t seed)
{
    const int E = 256, K = 8;
    int32_t *idx = malloc(sizeof(int32_t) * N * T * K);
    KBT_CHECK(ep_route_uniform(seed, N, T, E, K, 8, 4, 2.5, idx, NULL) == 0);
    ep_plan p;
    KBT_CHECK(ep_plan_build(N, T, E, K, idx, &p) == 0);
    int32_t *key = malloc(sizeof(int32_t) * N * T * N), *slot = malloc(sizeof(int32_t) * N * T * N);
    int32_t *slot_base = malloc(sizeof(int32_t) * N * T), *cnt_all = malloc(sizeof(int32_t) * N * E);
    int *part = malloc(sizeof(int) * nt), *sums = malloc(sizeof(int) * nt);
    int bad = 0;
    /* ---- layout kernel, one CTA of nt threads per rank ---- */
    for (int r = 0; r < N; r++) {
        const int32_t *ri = idx + (size_t)r * T * K;
        int32_t *rk = key + (size_t)r * T * N, *rs = slot + (size_t)r * T * N, *rb = slot_base + (size_t)r * T;
        for (int tid = 0; tid < nt; tid++) { /* (a) */
            int lo, hi;
            ep_layout_range(tid, nt, T, &lo, &hi);
            sums[tid] = 0;
            for (int t = lo; t < hi; t++) {
                rb[t] = ep_layout_token(t, ri, N, E, K, rk, rs);
                sums[tid] += rb[t];
            }
        }
        int run0 = 0; /* block exclusive scan */
        for (int tid = 0; tid < nt; tid++) {
            int v = sums[tid];
            sums[tid] = run0;
            run0 += v;
        }
        for (int tid = 0; tid < nt; tid++) {
            int lo, hi, run = sums[tid];
            ep_layout_range(tid, nt, T, &lo, &hi);
            for (int t = lo; t < hi; t++) {
                int nd = rb[t];
                rb[t] = run;
                run += nd;
            }
        }
        const int parts = ep_layout_parts(nt, E);
        for (int tid = 0; tid < parts * E; tid++) /* (b) count */
            part[(tid / E) * E + tid % E] = ep_layout_count(tid / E, parts, tid % E, T, N, E, rk);
        for (int tid = 0; tid < parts * E; tid++) { /* (b) assign */
            int e = tid % E, pp = tid / E, base = 0;
            for (int q = 0; q < pp; q++) base += part[q * E + e];
            base = ep_layout_assign(pp, parts, e, T, N, E, rk, rs, base);
            if (pp == parts - 1) cnt_all[(size_t)r * E + e] = base; /* (c) the all-gathered row */
        }
    }
    for (size_t i = 0; i < (size_t)N * T * N; i++) {
        bad += key[i] != p.key[i];
        bad += slot[i] != p.slot[i];
    }
    for (size_t i = 0; i < (size_t)N * T; i++) bad += slot_base[i] != p.slot_base[i];
    for (size_t i = 0; i < (size_t)N * E; i++) bad += cnt_all[i] != p.cnt[i];
    KBT_CHECK(bad == 0);
    /* ---- dispatch kernel: bases, positions, combine slots, expert counts ---- */
    int tot[256], base[256];
    for (int e = 0; e < E; e++) tot[e] = ep_expert_total(e, N, E, cnt_all);
    int bad2 = 0;
    for (int r = 0; r < N; r++) {
        for (int e = 0; e < E; e++) base[e] = ep_recv_base(e, r, N, E, cnt_all, tot);
        for (int t = 0; t < T; t++) {
            unsigned mask = 0;
            for (int d = 0; d < N; d++)
                if (key[((size_t)r * T + t) * N + d] >= 0) mask |= 1u << d;
            for (int d = 0; d < N; d++) {
                size_t i = ((size_t)r * T + t) * N + d;
                if (key[i] < 0) {
                    bad2 += p.pos[i] != -1;
                    continue;
                }
                bad2 += base[key[i]] + slot[i] != p.pos[i];
                bad2 += ep_comb_slot(slot_base[(size_t)r * T + t], mask, d) != p.comb_slot[i];
            }
        }
    }
    for (int e = 0; e < E; e++) bad2 += tot[e] != p.expert_count[e];
    KBT_CHECK(bad2 == 0);

    /* ---- NCCL dispatch: pack (key, token) order, send segments per destination,
     * stage per source, unpack to the expert-order position ---- */
    int bad3 = 0;
    int64_t *packed = malloc(sizeof(int64_t) * N * T * N); /* record = r*T*N + t*N + d */
    int64_t *staged = malloc(sizeof(int64_t) * N * T * N);
    for (int r = 0; r < N; r++) {
        int pre[256], run = 0;
        for (int e = 0; e < E; e++) {
            pre[e] = run;
            run += cnt_all[(size_t)r * E + e];
        }
        bad3 += run != p.comb_count[r];
        for (int t = 0; t < T; t++)
            for (int d = 0; d < N; d++) {
                size_t i = ((size_t)r * T + t) * N + d;
                if (key[i] >= 0) packed[(size_t)r * T * N + pre[key[i]] + slot[i]] = (int64_t)i;
            }
    }
    for (int d = 0; d < N; d++) { /* receive: segment from s = rows s sends to d, at recv_offset */
        int64_t roff = 0;
        for (int s = 0; s < N; s++) {
            int64_t c = 0, soff = 0;
            for (int e = ep_first_expert(d, E, N); e < ep_first_expert(d + 1, E, N); e++) c += cnt_all[(size_t)s * E + e];
            for (int d2 = 0; d2 < d; d2++)
                for (int e = ep_first_expert(d2, E, N); e < ep_first_expert(d2 + 1, E, N); e++) soff += cnt_all[(size_t)s * E + e];
            bad3 += c != p.send_count[(size_t)s * N + d] || soff != p.send_offset[(size_t)s * N + d];
            bad3 += roff != p.recv_offset[(size_t)d * N + s];
            for (int64_t q = 0; q < c; q++) staged[(size_t)d * T * N + roff + q] = packed[(size_t)s * T * N + soff + q];
            roff += c;
        }
        for (int64_t q = 0; q < roff; q++) {
            int64_t i = staged[(size_t)d * T * N + q];
            int s = (int)(i / ((int64_t)T * N)), e = key[i];
            int pos = ep_unpack_dst(s, e, d, N, E, cnt_all) + (int)(q - ep_unpack_off(s, e, d, N, E, cnt_all));
            bad3 += pos != p.pos[i];
        }
    }
    KBT_CHECK(bad3 == 0);
    free(packed);
    free(staged);

    /* ---- NCCL combine handle: pack per home rank, stage per expert rank ---- */
    int32_t *pidx[EP_MAX_RANKS], *stab[EP_MAX_RANKS];
    for (int r = 0; r < N; r++) {
        pidx[r] = malloc(sizeof(int32_t) * (p.recv_count[r] + 1));
        stab[r] = malloc(sizeof(int32_t) * T * N);
    }
    KBT_CHECK(ep_plan_combine_handle(&p, pidx, stab) == 0);
    int bad4 = 0;
    int64_t *cpack = malloc(sizeof(int64_t) * N * T * N), *cstage = malloc(sizeof(int64_t) * N * T * N);
    for (int d = 0; d < N; d++) /* packed[d][pidx[d][q]] = receive row q of d */
        for (int64_t q = 0; q < p.recv_count[d]; q++) cpack[(size_t)d * T * N + pidx[d][q]] = q;
    for (int h = 0; h < N; h++) { /* home h receives from each d its segment */
        int64_t roff = 0;
        for (int d = 0; d < N; d++) {
            int64_t c = p.send_count[(size_t)h * N + d], seg = 0;
            for (int h2 = 0; h2 < h; h2++) seg += p.send_count[(size_t)h2 * N + d];
            for (int64_t q = 0; q < c; q++) cstage[(size_t)h * T * N + roff + q] = d * 1000000LL + cpack[(size_t)d * T * N + seg + q];
            roff += c;
        }
        for (int t = 0; t < T; t++)
            for (int d = 0; d < N; d++) {
                size_t i = ((size_t)h * T + t) * N + d;
                int32_t sl = stab[h][(size_t)t * N + d];
                if (p.pos[i] < 0) { bad4 += sl != -1; continue; }
                bad4 += cstage[(size_t)h * T * N + sl] != d * 1000000LL + p.pos[i];
            }
    }
    KBT_CHECK(bad4 == 0);
    for (int r = 0; r < N; r++) { free(pidx[r]); free(stab[r]); }
    free(cpack);
    free(cstage);
    if (bad3 || bad4) printf("replay N=%d T=%d: %d NCCL dispatch, %d NCCL combine mismatches\n", N, T, bad3, bad4);
    if (bad || bad2) printf("replay N=%d T=%d nt=%d: %d layout, %d dispatch mismatches\n", N, T, nt, bad, bad2);
    free(idx); free(key); free(slot); free(slot_base); free(cnt_all); free(part); free(sums);
    ep_plan_free(&p);
}

int main(void)
{
    replay(8, 4096, 1024, 1);  /* the model shape: 4 parts of 1024 tokens */
    replay(8, 128, 1024, 2);   /* decode: most threads own no token */
    replay(4, 16, 1024, 3);    /* SMALL */
    replay(2, 1000, 256, 4);   /* one part, uneven chunks */
    replay(16, 333, 768, 5);   /* 3 parts of an uneven range, 16 ranks */
    return kbt_done("test_ep_layout");
}
