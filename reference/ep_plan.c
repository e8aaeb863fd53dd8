/* ep_plan.c - the CPU side of expert-parallel all-to-all: seeded routing, the
 * per-rank send/receive plan, the byte/bandwidth formulas and the H100/H800
 * projection.  See ep_plan.h for the model and the receive order. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "reference/ep_plan.h"
#include "bench/kb.h"

int ep_first_expert(int d, int n_experts, int n_ranks)
{
    /* smallest e with floor(e*N/E) >= d */
    return (int)(((int64_t)d * n_experts + n_ranks - 1) / n_ranks);
}

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

/* ---- projection --------------------------------------------------------------- */
double ep_link_gbs(ep_gpu g, int practical)
{
    switch (g) {
    case EP_GPU_H100: return practical ? 370.0 : 450.0;
    case EP_GPU_H800: return practical ? 160.0 : 200.0;
    default: return 0;
    }
}

double ep_project_seconds(double link_bytes, double link_gbs, double pack_unpack_s)
{
    if (link_gbs <= 0) return NAN;
    return link_bytes / (link_gbs * 1e9) + pack_unpack_s;
}

void ep_project_gpu(ep_gpu g, double link_bytes, double pack_unpack_s, double out[2])
{
    out[0] = ep_project_seconds(link_bytes, ep_link_gbs(g, 0), pack_unpack_s);
    out[1] = ep_project_seconds(link_bytes, ep_link_gbs(g, 1), pack_unpack_s);
}

/* ---- shapes ----------------------------------------------------------------- */
void ep_make_shape(kb_shape *s, int tokens, int hidden, int n_ranks, int loopback, unsigned sets,
                   const char *dtype)
{
    memset(s, 0, sizeof *s);
    snprintf(s->label, sizeof s->label, "t%d_h%d_ep%d%s", tokens, hidden, n_ranks,
             loopback ? "_loopback" : "");
    snprintf(s->dtype, sizeof s->dtype, "%s", dtype);
    s->sets = sets;
    s->d[EP_D_TOKENS] = tokens;
    s->d[EP_D_HIDDEN] = hidden;
    s->d[EP_D_EXPERTS] = 256;
    s->d[EP_D_TOPK] = 8;
    s->d[EP_D_RANKS] = n_ranks;
    s->d[EP_D_LOOPBACK] = loopback ? 1 : 0;
    s->d[EP_D_NGROUP] = 8;
    s->d[EP_D_TOPKGROUP] = 4;
}

void ep_make_a2a_shape(kb_shape *s, int64_t bytes, int n_ranks, int loopback, unsigned sets)
{
    memset(s, 0, sizeof *s);
    snprintf(s->label, sizeof s->label, "b%lld_ep%d%s", (long long)bytes, n_ranks,
             loopback ? "_loopback" : "");
    snprintf(s->dtype, sizeof s->dtype, "u8");
    s->sets = sets;
    s->d[0] = bytes;
    s->d[EP_D_RANKS] = n_ranks;
    s->d[EP_D_LOOPBACK] = loopback ? 1 : 0;
}

uint64_t ep_route_seed(const kb_shape *s)
{
    kb_shape tmp = *s;
    tmp.dtype[0] = '\0';
    return kb_seed_for("ep_route", &tmp);
}

int ep_shape_route(const kb_shape *s, int32_t *idx, float *w)
{
    return ep_route_uniform(ep_route_seed(s), (int)s->d[EP_D_RANKS], (int)s->d[EP_D_TOKENS],
                            (int)s->d[EP_D_EXPERTS], (int)s->d[EP_D_TOPK], (int)s->d[EP_D_NGROUP],
                            (int)s->d[EP_D_TOPKGROUP], EP_ROUTED_SCALE, idx, w);
}

#define EP_STATS_CACHE 32
static struct {
    int valid;
    char label[64];
    int64_t d[KB_MAX_DIMS];
    ep_plan_stats st;
} ep_cache[EP_STATS_CACHE];
static int ep_cache_next;

int ep_shape_stats(const kb_shape *s, ep_plan_stats *st)
{
    for (int i = 0; i < EP_STATS_CACHE; i++)
        if (ep_cache[i].valid && strcmp(ep_cache[i].label, s->label) == 0 &&
            memcmp(ep_cache[i].d, s->d, sizeof s->d) == 0) {
            *st = ep_cache[i].st;
            return 0;
        }
    const int N = (int)s->d[EP_D_RANKS], T = (int)s->d[EP_D_TOKENS], K = (int)s->d[EP_D_TOPK];
    int32_t *idx = malloc((size_t)N * T * K * sizeof(int32_t));
    if (!idx) return -1;
    ep_plan p;
    int rc = ep_shape_route(s, idx, NULL);
    if (rc == 0) rc = ep_plan_build(N, T, (int)s->d[EP_D_EXPERTS], K, idx, &p);
    free(idx);
    if (rc) return -1;
    *st = ep_plan_summary(&p);
    ep_plan_free(&p);
    int i = ep_cache_next++ % EP_STATS_CACHE;
    ep_cache[i].valid = 1;
    snprintf(ep_cache[i].label, sizeof ep_cache[i].label, "%s", s->label);
    memcpy(ep_cache[i].d, s->d, sizeof s->d);
    ep_cache[i].st = *st;
    return 0;
}

double ep_dispatch_bytes(const kb_shape *s)
{
    ep_plan_stats st;
    if (ep_shape_stats(s, &st)) return NAN;
    const double T = (double)s->d[EP_D_TOKENS], K = (double)s->d[EP_D_TOPK];
    const double N = (double)s->d[EP_D_RANKS];
    const double src = T * (ep_dispatch_payload_bytes(s->d[EP_D_HIDDEN]) + 4.0 * K);
    const double row = ep_dispatch_row_bytes(s->d[EP_D_HIDDEN]);
    if (ep_shape_is_loopback(s)) return N * src + (double)st.pairs * row;
    return src + (double)st.max_recv * row;
}

double ep_dispatch_link_bytes(const kb_shape *s)
{
    ep_plan_stats st;
    if (ep_shape_stats(s, &st)) return NAN;
    return (double)st.max_link * ep_dispatch_row_bytes(s->d[EP_D_HIDDEN]);
}

double ep_combine_bytes(const kb_shape *s)
{
    ep_plan_stats st;
    if (ep_shape_stats(s, &st)) return NAN;
    const double T = (double)s->d[EP_D_TOKENS], K = (double)s->d[EP_D_TOPK];
    const double N = (double)s->d[EP_D_RANKS];
    const double row = ep_combine_row_bytes(s->d[EP_D_HIDDEN]);
    const double home = T * (row + 8.0 * K); /* write out, read ids + weights */
    if (ep_shape_is_loopback(s)) return N * home + (double)st.pairs * row;
    return home + (double)st.max_recv * row;
}

double ep_combine_link_bytes(const kb_shape *s)
{
    ep_plan_stats st;
    if (ep_shape_stats(s, &st)) return NAN;
    return (double)st.max_link * ep_combine_row_bytes(s->d[EP_D_HIDDEN]);
}

double ep_combine_flops(const kb_shape *s)
{
    ep_plan_stats st;
    if (ep_shape_stats(s, &st)) return NAN;
    const double rows = ep_shape_is_loopback(s) ? (double)st.pairs : (double)st.max_sent;
    return 2.0 * (double)s->d[EP_D_HIDDEN] * rows;
}

int64_t ep_a2a_chunk(const kb_shape *s)
{
    int64_t n = s->d[EP_D_RANKS] > 0 ? s->d[EP_D_RANKS] : 1;
    return s->d[0] / n / 16 * 16;
}

double ep_a2a_bytes(const kb_shape *s)
{
    const double N = (double)s->d[EP_D_RANKS], c = (double)ep_a2a_chunk(s);
    const double per_rank = 2.0 * N * c;
    return ep_shape_is_loopback(s) ? N * per_rank : per_rank;
}

double ep_a2a_link_bytes(const kb_shape *s)
{
    return (double)(s->d[EP_D_RANKS] - 1) * (double)ep_a2a_chunk(s);
}

double ep_pack_seconds_from_loopback(double t_loopback_s, int n_ranks)
{
    return n_ranks > 0 ? t_loopback_s / n_ranks : NAN;
}

double ep_dispatch_logical_bytes(const kb_shape *s)
{
    ep_plan_stats st;
    if (ep_shape_stats(s, &st)) return NAN;
    const double rows = ep_shape_is_loopback(s) ? (double)st.pairs : (double)st.max_recv;
    return rows * ep_dispatch_row_bytes(s->d[EP_D_HIDDEN]);
}

double ep_combine_logical_bytes(const kb_shape *s)
{
    ep_plan_stats st;
    if (ep_shape_stats(s, &st)) return NAN;
    /* the home rank receives one row per (token, rank) it dispatched */
    const double rows = ep_shape_is_loopback(s) ? (double)st.pairs : (double)st.max_sent;
    return rows * ep_combine_row_bytes(s->d[EP_D_HIDDEN]);
}

void ep_project_shape(const kb_shape *s, int is_combine, ep_gpu g, double pack_unpack_s, double out[2])
{
    const double link = is_combine ? ep_combine_link_bytes(s) : ep_dispatch_link_bytes(s);
    ep_project_gpu(g, link, pack_unpack_s, out);
}

double ep_dispatch_rank_bytes(const kb_shape *s)
{
    kb_shape r = *s;
    r.d[EP_D_LOOPBACK] = 0;
    return ep_dispatch_bytes(&r);
}

double ep_combine_rank_bytes(const kb_shape *s)
{
    kb_shape r = *s;
    r.d[EP_D_LOOPBACK] = 0;
    return ep_combine_bytes(&r);
}

int ep_moe_shapes(kb_shape *out, int n_ranks, int loopback, int small_ranks, const char *dtype)
{
    const unsigned fq = KB_SET_FULL | KB_SET_QUICK;
    int n = 0;
    ep_make_shape(&out[n++], 128, 7168, n_ranks, loopback, fq, dtype);
    ep_make_shape(&out[n++], 4096, 7168, n_ranks, loopback, fq, dtype);
    if (loopback) { /* loopback rows never stand for links: the EP8 twins do */
        ep_make_shape(&out[n++], 128, 7168, 8, 0, fq, dtype);
        ep_make_shape(&out[n++], 4096, 7168, 8, 0, fq, dtype);
    }
    ep_make_shape(&out[n++], 16, 256, small_ranks, loopback, KB_SET_SMALL, dtype);
    return n;
}

void ep_logical_metrics(const kb_shape *s, double logical_bytes, double seconds, char *buf, size_t n)
{
    snprintf(buf, n, "logical_gbps=%.1f;loopback=%d", logical_bytes / seconds * 1e-9, ep_shape_is_loopback(s));
}
