/* ep_shapes.c - shapes and per-shape napkin math of the EP operators
 * (ep_shapes.h), on the plan math of reference/ep_plan.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/ops/ep_shapes.h"
#include "bench/ops/op_common.h"

/* ---- shapes ----------------------------------------------------------------- */
/* Dims and label of a dispatch/combine shape: V3's 256 experts, top-8, 8
 * groups with 4 kept. */
static void moe_dims(int64_t d[KB_MAX_DIMS], int tokens, int hidden, int n_ranks, int loopback)
{
    memset(d, 0, KB_MAX_DIMS * sizeof d[0]);
    d[EP_D_TOKENS] = tokens;
    d[EP_D_HIDDEN] = hidden;
    d[EP_D_EXPERTS] = 256;
    d[EP_D_TOPK] = 8;
    d[EP_D_RANKS] = n_ranks;
    d[EP_D_LOOPBACK] = loopback ? 1 : 0;
    d[EP_D_NGROUP] = 8;
    d[EP_D_TOPKGROUP] = 4;
}
#define EP_MOE_LABEL "t%d_h%d_ep%d%s"
#define EP_A2A_LABEL "b%lld_ep%d%s"

static void a2a_dims(int64_t d[KB_MAX_DIMS], int64_t bytes, int n_ranks, int loopback)
{
    memset(d, 0, KB_MAX_DIMS * sizeof d[0]);
    d[EP_D_BYTES] = bytes;
    d[EP_D_RANKS] = n_ranks;
    d[EP_D_LOOPBACK] = loopback ? 1 : 0;
}

void ep_make_shape(kb_shape *s, int tokens, int hidden, int n_ranks, int loopback, unsigned sets,
                   const char *dtype)
{
    memset(s, 0, sizeof *s);
    snprintf(s->label, sizeof s->label, EP_MOE_LABEL, tokens, hidden, n_ranks, loopback ? "_loopback" : "");
    snprintf(s->dtype, sizeof s->dtype, "%s", dtype);
    s->sets = sets;
    moe_dims(s->d, tokens, hidden, n_ranks, loopback);
}

static void add_moe_shape(kb_shape_table *t, int tokens, int hidden, int n_ranks, int loopback, unsigned sets,
                          const char *dtype)
{
    int64_t d[KB_MAX_DIMS];
    moe_dims(d, tokens, hidden, n_ranks, loopback);
    kb_shape_add(t, sets, dtype, d, EP_MOE_LABEL, tokens, hidden, n_ranks, loopback ? "_loopback" : "");
}

void ep_make_a2a_shape(kb_shape *s, int64_t bytes, int n_ranks, int loopback, unsigned sets)
{
    memset(s, 0, sizeof *s);
    snprintf(s->label, sizeof s->label, EP_A2A_LABEL, (long long)bytes, n_ranks, loopback ? "_loopback" : "");
    snprintf(s->dtype, sizeof s->dtype, "u8");
    s->sets = sets;
    a2a_dims(s->d, bytes, n_ranks, loopback);
}

void ep_add_a2a_shape(kb_shape_table *t, int64_t bytes, int n_ranks, int loopback, unsigned sets)
{
    int64_t d[KB_MAX_DIMS];
    a2a_dims(d, bytes, n_ranks, loopback);
    kb_shape_add(t, sets, "u8", d, EP_A2A_LABEL, (long long)bytes, n_ranks, loopback ? "_loopback" : "");
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

/* Rows per (token, rank) pair that one timed op moves: every pair of all N
 * ranks in loopback, else those of the busiest receiver (sent = 0) or sender
 * (sent = 1); on the busiest link direction (link = 1).  NAN without stats. */
static double pair_rows(const kb_shape *s, int sent, int link)
{
    ep_plan_stats st;
    if (ep_shape_stats(s, &st)) return NAN;
    if (link) return (double)st.max_link;
    if (ep_shape_is_loopback(s)) return (double)st.pairs;
    return sent ? (double)st.max_sent : (double)st.max_recv;
}

/* HBM bytes: each rank's own `home` bytes plus `row` per received row. */
static double hbm_bytes(const kb_shape *s, double home, double row)
{
    const double ranks = ep_shape_is_loopback(s) ? (double)s->d[EP_D_RANKS] : 1.0;
    return ranks * home + pair_rows(s, 0, 0) * row;
}

double ep_dispatch_bytes(const kb_shape *s)
{
    const double T = (double)s->d[EP_D_TOKENS], K = (double)s->d[EP_D_TOPK];
    const double src = T * (ep_dispatch_payload_bytes(s->d[EP_D_HIDDEN]) + 4.0 * K);
    return hbm_bytes(s, src, ep_dispatch_row_bytes(s->d[EP_D_HIDDEN]));
}

double ep_dispatch_link_bytes(const kb_shape *s)
{
    return pair_rows(s, 0, 1) * ep_dispatch_row_bytes(s->d[EP_D_HIDDEN]);
}

double ep_combine_bytes(const kb_shape *s)
{
    const double T = (double)s->d[EP_D_TOKENS], K = (double)s->d[EP_D_TOPK];
    const double row = ep_combine_row_bytes(s->d[EP_D_HIDDEN]);
    return hbm_bytes(s, T * (row + 8.0 * K), row); /* write out, read ids + weights */
}

double ep_combine_link_bytes(const kb_shape *s)
{
    return pair_rows(s, 0, 1) * ep_combine_row_bytes(s->d[EP_D_HIDDEN]);
}

double ep_combine_flops(const kb_shape *s)
{
    return 2.0 * (double)s->d[EP_D_HIDDEN] * pair_rows(s, 1, 0);
}

int64_t ep_a2a_chunk(const kb_shape *s)
{
    int64_t n = s->d[EP_D_RANKS] > 0 ? s->d[EP_D_RANKS] : 1;
    return s->d[EP_D_BYTES] / n / 16 * 16;
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

double ep_dispatch_logical_bytes(const kb_shape *s)
{
    return pair_rows(s, 0, 0) * ep_dispatch_row_bytes(s->d[EP_D_HIDDEN]);
}

double ep_combine_logical_bytes(const kb_shape *s)
{
    /* the home rank receives one row per (token, rank) it dispatched */
    return pair_rows(s, 1, 0) * ep_combine_row_bytes(s->d[EP_D_HIDDEN]);
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

void ep_moe_shapes(kb_shape_table *t, int n_ranks, int loopback, int small_ranks, const char *dtype)
{
    const unsigned fq = KB_SET_FULL | KB_SET_QUICK;
    add_moe_shape(t, 128, 7168, n_ranks, loopback, fq, dtype);
    add_moe_shape(t, 4096, 7168, n_ranks, loopback, fq, dtype);
    if (loopback) { /* loopback rows never stand for links: the EP8 twins do */
        add_moe_shape(t, 128, 7168, 8, 0, fq, dtype);
        add_moe_shape(t, 4096, 7168, 8, 0, fq, dtype);
    }
    add_moe_shape(t, 16, 256, small_ranks, loopback, KB_SET_SMALL, dtype);
}

void ep_logical_metrics(const kb_shape *s, double logical_bytes, double seconds, char *buf, size_t n)
{
    snprintf(buf, n, "logical_gbps=%.1f;loopback=%d", logical_bytes / seconds * 1e-9, ep_shape_is_loopback(s));
}

int ep_moe_check(const char *op, const kb_shape *s, char *why, size_t n)
{
    const int64_t ranks = s->d[EP_D_RANKS], e = s->d[EP_D_EXPERTS], g = s->d[EP_D_NGROUP], k = s->d[EP_D_TOPK];
    const int64_t kg = s->d[EP_D_TOPKGROUP];
    if (kb_check_dim(op, "t", s->d[EP_D_TOKENS], 1, 65536, 1, why, n) ||
        kb_check_dim(op, "hidden", s->d[EP_D_HIDDEN], 128, 65536, 128, why, n) ||
        kb_check_dim(op, "ranks", ranks, 1, EP_MAX_RANKS, 1, why, n) ||
        kb_check_dim(op, "loopback", s->d[EP_D_LOOPBACK], 0, 1, 1, why, n) ||
        kb_check_dim(op, "e", e, ranks, EP_MAX_EXPERTS, 1, why, n) ||
        kb_check_dim(op, "ngroup", g, 1, e, 1, why, n) || kb_check_dim(op, "topkgroup", kg, 1, g, 1, why, n) ||
        kb_check_dim(op, "k", k, 1, EP_MAX_TOPK, 1, why, n))
        return 1;
    if (e % ranks)
        return -kb_shape_refuse(why, n, "%s: e=%lld is not a multiple of ranks=%lld", op, (long long)e, (long long)ranks);
    if (e % g) return -kb_shape_refuse(why, n, "%s: e=%lld is not a multiple of ngroup=%lld", op, (long long)e, (long long)g);
    if (k > kg * (e / g))
        return -kb_shape_refuse(why, n, "%s: k=%lld is more than topkgroup x e/ngroup = %lld experts", op, (long long)k,
                                (long long)(kg * (e / g)));
    return 0;
}

int ep_a2a_check(const kb_shape *s, char *why, size_t n)
{
    const int64_t ranks = s->d[EP_D_RANKS], bytes = s->d[EP_D_BYTES];
    if (kb_check_dim("alltoall", "ranks", ranks, 1, EP_MAX_RANKS, 1, why, n) ||
        kb_check_dim("alltoall", "loopback", s->d[EP_D_LOOPBACK], 0, 1, 1, why, n) ||
        kb_check_dim("alltoall", "bytes", bytes, 1, (int64_t)1 << 34, 1, why, n))
        return 1;
    if (bytes < 16 * ranks)
        return -kb_shape_refuse(why, n, "alltoall: bytes=%lld leaves chunks under 16 B for %lld ranks (at least %lld)",
                                (long long)bytes, (long long)ranks, (long long)(16 * ranks));
    return 0;
}
