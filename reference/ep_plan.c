/* ep_plan.c - the CPU side of expert-parallel all-to-all: seeded routing, the
 * per-rank send/receive plan and the byte/bandwidth formulas.  See ep_plan.h
 * for the model and the receive order; the per-shape math built on these is
 * in bench/ops/ep_shapes.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/common/kb_base.h"
#include "reference/ep_plan.h"

/* ---- routing ---------------------------------------------------------------- */
static int rand_below(kb_rng *r, int n) { return (int)(kb_rng_uniform(r) * n); }

int ep_route_uniform(uint64_t seed, int n_ranks, int tokens, int n_experts, int topk, int n_group,
                     int topk_group, double scale, int32_t *idx, float *w)
{
    if (n_ranks < 1 || tokens < 1 || topk < 1 || topk > EP_MAX_TOPK || n_experts > EP_MAX_EXPERTS ||
        n_group < 1 || n_experts % n_group || topk_group < 1 || topk_group > n_group ||
        topk > topk_group * (n_experts / n_group))
        return -1;
    int gsize = n_experts / n_group;
    int groups[EP_MAX_EXPERTS], cand[EP_MAX_EXPERTS];
    kb_rng rng;
    kb_rng_seed(&rng, seed);
    for (int64_t tok = 0; tok < (int64_t)n_ranks * tokens; tok++) {
        /* topk_group groups, partial Fisher-Yates */
        for (int g = 0; g < n_group; g++) groups[g] = g;
        for (int i = 0; i < topk_group; i++) {
            int j = i + rand_below(&rng, n_group - i);
            int tmp = groups[i]; groups[i] = groups[j]; groups[j] = tmp;
        }
        int m = 0;
        for (int i = 0; i < topk_group; i++)
            for (int e = 0; e < gsize; e++) cand[m++] = groups[i] * gsize + e;
        /* topk experts among the candidates */
        double wsum = 0;
        float wk[EP_MAX_TOPK];
        for (int k = 0; k < topk; k++) {
            int j = k + rand_below(&rng, m - k);
            int tmp = cand[k]; cand[k] = cand[j]; cand[j] = tmp;
            idx[tok * topk + k] = cand[k];
            wk[k] = (float)(0.1 + 0.9 * kb_rng_uniform(&rng));
            wsum += wk[k];
        }
        if (w)
            for (int k = 0; k < topk; k++) w[tok * topk + k] = (float)(wk[k] / wsum * scale);
    }
    return 0;
}

/* ---- plan ------------------------------------------------------------------- */
void ep_plan_free(ep_plan *p)
{
    free(p->key); free(p->pos); free(p->slot); free(p->comb_slot); free(p->slot_base);
    free(p->cnt); free(p->send_count); free(p->send_offset); free(p->recv_offset);
    free(p->recv_count); free(p->comb_count); free(p->expert_offset); free(p->expert_count);
    free(p->recv_src_rank); free(p->recv_src_token);
    memset(p, 0, sizeof *p);
}

int ep_plan_build(int n_ranks, int tokens, int n_experts, int topk, const int32_t *idx, ep_plan *p)
{
    memset(p, 0, sizeof *p);
    if (n_ranks < 1 || n_ranks > EP_MAX_RANKS || tokens < 1 || n_experts < n_ranks ||
        n_experts > EP_MAX_EXPERTS || topk < 1 || topk > EP_MAX_TOPK)
        return -1;
    const int N = n_ranks, T = tokens, E = n_experts;
    const size_t ntn = (size_t)N * T * N;
    p->n_ranks = N; p->tokens = T; p->n_experts = E; p->topk = topk;
    p->key = malloc(ntn * sizeof(int32_t));
    p->pos = malloc(ntn * sizeof(int32_t));
    p->slot = malloc(ntn * sizeof(int32_t));
    p->comb_slot = malloc(ntn * sizeof(int32_t));
    p->slot_base = malloc((size_t)N * T * sizeof(int32_t));
    p->cnt = calloc((size_t)N * E, sizeof(int32_t));
    p->send_count = calloc((size_t)N * N, sizeof(int64_t));
    p->send_offset = calloc((size_t)N * N, sizeof(int64_t));
    p->recv_offset = calloc((size_t)N * N, sizeof(int64_t));
    p->recv_count = calloc((size_t)N, sizeof(int64_t));
    p->comb_count = calloc((size_t)N, sizeof(int64_t));
    p->expert_offset = calloc((size_t)E, sizeof(int64_t));
    p->expert_count = calloc((size_t)E, sizeof(int64_t));
    p->recv_src_rank = malloc(ntn * sizeof(int32_t));
    p->recv_src_token = malloc(ntn * sizeof(int32_t));
    if (!p->key || !p->pos || !p->slot || !p->comb_slot || !p->slot_base || !p->cnt ||
        !p->send_count || !p->send_offset || !p->recv_offset || !p->recv_count ||
        !p->comb_count || !p->expert_offset || !p->expert_count || !p->recv_src_rank ||
        !p->recv_src_token)
        goto fail;
    for (size_t i = 0; i < ntn; i++) {
        p->key[i] = p->pos[i] = p->slot[i] = p->comb_slot[i] = -1;
        p->recv_src_rank[i] = p->recv_src_token[i] = -1;
    }

    /* keys, slots (token order), counts, combine slots */
    for (int r = 0; r < N; r++) {
        int32_t running = 0;
        for (int t = 0; t < T; t++) {
            const int32_t *ti = idx + ((size_t)r * T + t) * topk;
            int32_t *key = p->key + ((size_t)r * T + t) * N;
            for (int k = 0; k < topk; k++) {
                int e = ti[k];
                if (e < 0 || e >= E) goto fail;
                for (int k2 = 0; k2 < k; k2++)
                    if (ti[k2] == e) goto fail;
                int d = ep_owner(e, E, N);
                if (key[d] < 0 || e < key[d]) key[d] = e;
            }
            p->slot_base[(size_t)r * T + t] = running;
            for (int d = 0; d < N; d++) {
                if (key[d] < 0) continue;
                size_t i = ((size_t)r * T + t) * N + d;
                p->slot[i] = p->cnt[(size_t)r * E + key[d]]++;
                p->comb_slot[i] = running++;
                p->send_count[(size_t)r * N + d]++;
            }
        }
        p->comb_count[r] = running;
    }
    /* expert segments on each destination */
    for (int d = 0; d < N; d++) {
        int64_t off = 0;
        for (int e = ep_first_expert(d, E, N); e < ep_first_expert(d + 1, E, N); e++) {
            int64_t tot = 0;
            for (int s = 0; s < N; s++) tot += p->cnt[(size_t)s * E + e];
            p->expert_offset[e] = off;
            p->expert_count[e] = tot;
            off += tot;
        }
        p->recv_count[d] = off;
    }
    /* receive positions and their inverse */
    for (int r = 0; r < N; r++)
        for (int t = 0; t < T; t++)
            for (int d = 0; d < N; d++) {
                size_t i = ((size_t)r * T + t) * N + d;
                int e = p->key[i];
                if (e < 0) continue;
                int64_t pos = p->expert_offset[e] + p->slot[i];
                for (int s = 0; s < r; s++) pos += p->cnt[(size_t)s * E + e];
                p->pos[i] = (int32_t)pos;
                p->recv_src_rank[(size_t)d * N * T + pos] = r;
                p->recv_src_token[(size_t)d * N * T + pos] = t;
            }
    /* packed send / staged receive layouts (NCCL path) */
    for (int r = 0; r < N; r++) {
        int64_t off = 0;
        for (int d = 0; d < N; d++) {
            p->send_offset[(size_t)r * N + d] = off;
            off += p->send_count[(size_t)r * N + d];
        }
    }
    for (int d = 0; d < N; d++) {
        int64_t off = 0;
        for (int s = 0; s < N; s++) {
            p->recv_offset[(size_t)d * N + s] = off;
            off += p->send_count[(size_t)s * N + d];
        }
    }
    return 0;
fail:
    ep_plan_free(p);
    return -1;
}

int ep_plan_combine_handle(const ep_plan *p, int32_t *const *pack_idx, int32_t *const *slot_tab)
{
    const int N = p->n_ranks, T = p->tokens;
    for (int h = 0; h < N; h++) {
        int64_t run[EP_MAX_RANKS] = {0};
        for (int t = 0; t < T; t++)
            for (int d = 0; d < N; d++) {
                const size_t i = ((size_t)h * T + t) * N + d;
                slot_tab[h][(size_t)t * N + d] = -1;
                if (p->pos[i] < 0) continue;
                int64_t seg = 0; /* packed offset on d of home h's segment */
                for (int h2 = 0; h2 < h; h2++) seg += p->send_count[(size_t)h2 * N + d];
                pack_idx[d][p->pos[i]] = (int32_t)(seg + run[d]);
                slot_tab[h][(size_t)t * N + d] = (int32_t)(p->send_offset[(size_t)h * N + d] + run[d]);
                run[d]++;
            }
    }
    return 0;
}

ep_plan_stats ep_plan_summary(const ep_plan *p)
{
    ep_plan_stats st = {0};
    const int N = p->n_ranks;
    for (int r = 0; r < N; r++) {
        int64_t sent = 0, sent_remote = 0, recv = 0, recv_remote = 0;
        for (int d = 0; d < N; d++) {
            int64_t c = p->send_count[(size_t)r * N + d];
            sent += c;
            if (d != r) sent_remote += c;
            int64_t c2 = p->send_count[(size_t)d * N + r];
            recv += c2;
            if (d != r) recv_remote += c2;
        }
        st.pairs += sent;
        st.remote_pairs += sent_remote;
        if (sent_remote > st.max_sent_remote) st.max_sent_remote = sent_remote;
        if (recv_remote > st.max_recv_remote) st.max_recv_remote = recv_remote;
        if (recv > st.max_recv) st.max_recv = recv;
        if (sent > st.max_sent) st.max_sent = sent;
    }
    st.max_link = st.max_sent_remote > st.max_recv_remote ? st.max_sent_remote : st.max_recv_remote;
    st.mean_ranks_per_token = (double)st.pairs / ((double)N * p->tokens);
    return st;
}

/* ---- exact expectation ------------------------------------------------------ */
static double binom(int n, int k)
{
    if (k < 0 || n < 0 || k > n) return 0;
    double r = 1;
    for (int i = 0; i < k; i++) r = r * (n - i) / (i + 1);
    return r;
}

double ep_expected_ranks(int n_ranks, int n_experts, int topk, int n_group, int topk_group)
{
    const int N = n_ranks, E = n_experts, G = n_group, kg = topk_group;
    if (N < 1 || G < 1 || kg < 1 || kg > G || E % N || E % G) return NAN;
    int g, o; /* groups a rank overlaps, experts of the rank in each of them */
    if (N % G == 0) { g = 1; o = E / N; }
    else if (G % N == 0) { g = G / N; o = E / G; }
    else return NAN;
    int M = kg * (E / G); /* candidate experts after the group limit */
    if (topk > M) return NAN;
    double p_not = 0, cg = binom(G, kg), cm = binom(M, topk);
    for (int j = 0; j <= g && j <= kg; j++) {
        double hyp = binom(g, j) * binom(G - g, kg - j) / cg;
        p_not += hyp * binom(M - j * o, topk) / cm;
    }
    return N * (1.0 - p_not);
}

/* ---- bandwidth -------------------------------------------------------------- */
double ep_algbw_gbs(double bytes, double seconds) { return seconds > 0 ? bytes / seconds * 1e-9 : 0; }
double ep_busbw_gbs(double algbw_gbs, int n_ranks) { return n_ranks > 0 ? algbw_gbs * (n_ranks - 1) / n_ranks : 0; }
double ep_logical_gbs(double rows, double row_bytes, double seconds)
{
    return seconds > 0 ? rows * row_bytes / seconds * 1e-9 : 0;
}

double ep_alltoall_link_bytes(double bytes, int n_ranks)
{
    return n_ranks > 0 ? bytes * (n_ranks - 1) / n_ranks : 0;
}
