/* ep_plan.h - expert-parallel (EP) all-to-all on the CPU: the routing plan
 * (who sends which token where), the byte counts and bandwidth formulas.  Plain C with
 * integer arguments, no CUDA and no kb_shape: the operators' shape math
 * (bench/ops/ep_shapes.c), the verification and the tests call these.
 *
 * Model (DeepEP semantics, see deepseek-v3.md):
 *   N ranks, each holding T tokens of `hidden` values; E experts spread evenly
 *   over the ranks: owner(e) = e * N / E (contiguous blocks of E/N experts).
 *   Each token picks topk experts.  Dispatch sends a token ONCE to every rank
 *   that owns at least one of its experts (not once per expert): a token whose
 *   8 experts sit on 3 ranks is sent 3 times (one of them may be its own rank:
 *   local traffic, counted in the logical bandwidth, not in the link bytes).
 *
 * Receive order ("expert order"): on destination rank d every received
 * (token, d) row is keyed by the token's FIRST (lowest) expert on d, its
 * "key".  Rows are sorted by (key, source rank, source token):
 *     pos(r, t, d) = sum_{e' on d, e' < key} sum_s cnt[s][e']    (earlier experts)
 *                  + sum_{s < r} cnt[s][key]                     (earlier sources)
 *                  + slot(r, t, d)                               (earlier tokens of r with that key)
 * where cnt[s][e] = number of tokens of rank s whose key on owner(e) is e.  The
 * per-rank rows cnt[s][*] (E ints) are what the counts exchange all-gathers:
 * with them every sender computes its write positions on its own.
 *
 * Combine is the reverse: rank d sends one BF16 row per received (token, d)
 * back to the token's home rank, into slot comb_slot(r, t, d) = slot_base[r][t]
 * + (number of destination ranks d' < d of that token); the home rank adds
 * the rows with weight w[t][d] = sum of the token's top-k weights of experts
 * on d, in increasing d, FP32 accumulation, BF16 out.
 */
#ifndef EP_PLAN_H
#define EP_PLAN_H
#include <stddef.h>
#include <stdint.h>
#include "kernels/ep/ep_geom.h" /* EP_MAX_*, row bytes, ep_owner, ep_first_expert */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- routing ------------------------------------------------------------------
 * Synthetic "uniform group-limited" routing, seeded: for each token pick
 * topk_group of n_group expert groups uniformly without replacement, then topk
 * distinct experts uniformly among the experts of the kept groups; weights are
 * uniform in [0.1, 1) normalised to sum to `scale` (2.5 in V3).  Tokens are
 * generated rank-major: idx[(r*T + t)*topk + k].  Returns 0, -1 on bad args. */
int ep_route_uniform(uint64_t seed, int n_ranks, int tokens, int n_experts, int topk, int n_group,
                     int topk_group, double scale, int32_t *idx, float *w);

/* ---- the plan --------------------------------------------------------------- */
typedef struct ep_plan {
    int n_ranks, tokens, n_experts, topk;
    /* [N][T][N]: key (first expert of the token on d, global id) or -1 */
    int32_t *key;
    /* [N][T][N]: position of row (r,t,d) in d's receive buffer, or -1 */
    int32_t *pos;
    /* [N][T][N]: rank of t among r's tokens with the same key (slot), or -1 */
    int32_t *slot;
    /* [N][T][N]: combine slot of (r,t,d) in r's combine staging buffer, or -1 */
    int32_t *comb_slot;
    /* [N][T]: first combine slot of token t of r (prefix of destination counts) */
    int32_t *slot_base;
    /* [N][E]: tokens of rank r keyed on expert e (the counts exchange rows) */
    int32_t *cnt;
    /* [N][N]: tokens rank r sends to rank d (local d == r included) */
    int64_t *send_count;
    /* [N][N]: packed send layout (NCCL path): first row of r's segment for d,
     * segments in d order, rows inside in (key, token) order */
    int64_t *send_offset;
    /* [N][N]: staged receive layout (NCCL path): first row of d's segment from s,
     * segments in s order (= sum_{s'<s} send_count[s'][d]) */
    int64_t *recv_offset;
    /* [N]: rows rank d receives (its receive buffer length); [N]: combine rows
     * rank r gets back (= sum_d send_count[r][d]) */
    int64_t *recv_count;
    int64_t *comb_count;
    /* [E]: receive-buffer offset of expert e's segment on owner(e) (rows keyed
     * on e); [E]: its length (= sum_s cnt[s][e]) */
    int64_t *expert_offset;
    int64_t *expert_count;
    /* [N][N*T]: inverse of pos: for d and receive row p, src rank / token */
    int32_t *recv_src_rank, *recv_src_token;
} ep_plan;

/* Build the plan from idx[N][T][topk] (global expert ids).  Returns 0, or -1
 * on bad input (expert out of range, duplicate expert in a token, no memory).
 * ep_plan_free releases it (safe on a zeroed plan). */
int ep_plan_build(int n_ranks, int tokens, int n_experts, int topk, const int32_t *idx, ep_plan *p);
void ep_plan_free(ep_plan *p);

/* Combine handle of the NCCL path.  On expert rank d the rows it holds are
 * packed per home rank h (segments in h order, at sum_{h'<h} send_count[h'][d]),
 * in h's token order inside: pack_idx[d][p] = packed row of receive row p.  The
 * home rank h receives segment d at send_offset[h][d]: slot_tab[h][t*N + d] =
 * staged row of (t, d), or -1.  Caller passes N arrays of recv_count[d] and of
 * T*N int32.  Returns 0. */
int ep_plan_combine_handle(const ep_plan *p, int32_t *const *pack_idx, int32_t *const *slot_tab);

/* Summary numbers of a plan, all in rows (multiply by the row bytes). */
typedef struct ep_plan_stats {
    int64_t pairs;           /* (token, destination rank) pairs, all ranks       */
    int64_t remote_pairs;    /* of which destination != home                     */
    int64_t max_sent_remote; /* max over ranks of rows sent to other ranks        */
    int64_t max_recv_remote; /* max over ranks of rows received from other ranks  */
    int64_t max_link;        /* max of the two: the busiest link direction        */
    int64_t max_recv;        /* max over ranks of rows received (local included)  */
    int64_t max_sent;        /* max over ranks of rows sent (local included)      */
    double mean_ranks_per_token; /* pairs / (N*T)                                 */
} ep_plan_stats;
ep_plan_stats ep_plan_summary(const ep_plan *p);

/* Exact expectation of the number of distinct destination ranks of a token
 * under ep_route_uniform's distribution (groups and ranks must nest: N a
 * multiple of n_group or n_group a multiple of N, both dividing E).  Without
 * group limit pass n_group = topk_group = 1.  NaN when not applicable. */
double ep_expected_ranks(int n_ranks, int n_experts, int topk, int n_group, int topk_group);

/* ---- bandwidth formulas (bytes, seconds -> GB/s = 1e9 B/s) ----------------- */
double ep_algbw_gbs(double bytes, double seconds);            /* nccl-tests algbw = bytes/time  */
double ep_busbw_gbs(double algbw_gbs, int n_ranks);           /* algbw * (n-1)/n (all-to-all)   */
/* DeepEP "logical" bandwidth: rows received (local included) x bytes per row / time */
double ep_logical_gbs(double rows, double row_bytes, double seconds);

/* alltoall sweep: per-rank total `bytes` split in N equal chunks (one to each
 * rank, itself included).  Link bytes one rank sends to others = bytes*(N-1)/N. */
double ep_alltoall_link_bytes(double bytes, int n_ranks);

#ifdef __cplusplus
}
#endif
#endif
