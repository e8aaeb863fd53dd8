/* ep_plan.h - expert-parallel (EP) all-to-all on the CPU: the routing plan
 * (who sends which token where), the byte counts and bandwidth formulas, and
 * the H100 / H800 projection.  Plain C, no CUDA: the operators
 * (bench/ops/op_ep_dispatch.c, op_ep_combine.c, op_alltoall.c), the verification,
 * the tests and the lead's report code all call these.
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
#include "bench/kb.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EP_MAX_RANKS 16 /* intranode EP is <= 8 GPUs; loopback may emulate up to 16 */
#define EP_MAX_TOPK 8
#define EP_MAX_EXPERTS 1024

/* ---- bytes per row ---------------------------------------------------------
 * Dispatch row = hidden FP8 bytes + hidden/128 FP32 scales + a 16 B metadata
 * record {src_rank, src_token, comb_slot, key} that the hand-written kernel
 * really writes (DeepEP low-latency also carries 16 B): 7168 + 224 + 16 = 7408
 * at hidden 7168.  EP_DISPATCH_PAYLOAD (7392 at 7168) leaves the 16 B out.
 * Combine row = hidden BF16 = 14336 B. */
#define EP_META_BYTES 16
static inline double ep_dispatch_payload_bytes(int64_t hidden) { return (double)hidden + (double)(hidden / 128) * 4.0; }
static inline double ep_dispatch_row_bytes(int64_t hidden) { return ep_dispatch_payload_bytes(hidden) + EP_META_BYTES; }
static inline double ep_combine_row_bytes(int64_t hidden) { return 2.0 * (double)hidden; }

/* Owner rank of expert e, and the first expert of rank d. */
static inline int ep_owner(int e, int n_experts, int n_ranks) { return (int)((int64_t)e * n_ranks / n_experts); }
int ep_first_expert(int d, int n_experts, int n_ranks);

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

/* ---- projection: H100 vs H800 ------------------------------------------------
 * time = link bytes one rank moves per direction / per-direction link bandwidth
 *      + the measured on-device pack/unpack time.
 * Link bandwidths per direction (GB/s): H100 nominal 450, practical ~370;
 * H800 nominal 200, practical ~160 (deepseek-v3.md, gpus.md). */
typedef enum ep_gpu { EP_GPU_H100 = 0, EP_GPU_H800 = 1 } ep_gpu;
double ep_link_gbs(ep_gpu g, int practical);           /* 0 for an unknown gpu */
double ep_project_seconds(double link_bytes, double link_gbs, double pack_unpack_s);
/* Both at once: out[0] = nominal, out[1] = practical (seconds). */
void ep_project_gpu(ep_gpu g, double link_bytes, double pack_unpack_s, double out[2]);

/* Per-rank on-device pack/unpack time from a LOOPBACK measurement: a loopback
 * row times N ranks' pack/copy/unpack on one HBM, so one rank's share is
 * t_loopback / N (assumes the loopback run is HBM-bound, which it is at the
 * model shapes: it moves N times one rank's bytes through one device). */
double ep_pack_seconds_from_loopback(double t_loopback_s, int n_ranks);

/* alltoall sweep: per-rank total `bytes` split in N equal chunks (one to each
 * rank, itself included).  Link bytes one rank sends to others = bytes*(N-1)/N. */
double ep_alltoall_link_bytes(double bytes, int n_ranks);

/* ---- shapes of ep_dispatch / ep_combine / alltoall ----------------------------
 * kb_shape.d[] of ep_dispatch and ep_combine:
 *   d[0] T tokens per rank, d[1] hidden, d[2] experts E, d[3] top-k K,
 *   d[4] ranks N, d[5] loopback (1: N virtual ranks on ONE GPU, nothing crosses
 *   NVLink; the label ends in "_loopback"), d[6] expert groups, d[7] groups kept.
 * alltoall: d[0] nominal bytes per rank (total of its N chunks), d[4] N,
 *   d[5] loopback; chunk = floor(d[0] / N / 16) * 16 bytes per (src, dst).
 * Routing of a shape: ep_route_uniform seeded with ep_route_seed(s) (label
 * only, so dispatch and combine of one label route identically). */
enum { EP_D_TOKENS = 0, EP_D_HIDDEN, EP_D_EXPERTS, EP_D_TOPK, EP_D_RANKS, EP_D_LOOPBACK,
       EP_D_NGROUP, EP_D_TOPKGROUP };
#define EP_ROUTED_SCALE 2.5
static inline int ep_shape_is_loopback(const kb_shape *s) { return s->d[EP_D_LOOPBACK] != 0; }
void ep_make_shape(kb_shape *s, int tokens, int hidden, int n_ranks, int loopback, unsigned sets,
                   const char *dtype);
void ep_make_a2a_shape(kb_shape *s, int64_t bytes, int n_ranks, int loopback, unsigned sets);
uint64_t ep_route_seed(const kb_shape *s);
/* The ep_dispatch / ep_combine shape table: T in {128, 4096} (hidden 7168) at
 * the n_ranks this machine runs (loopback = 1: N virtual ranks on one GPU),
 * plus, in loopback, the same shapes at EP8 over real GPUs so `kbench model`
 * projects the links (they skip at run time: "needs 8 GPUs"), plus one SMALL
 * shape with small_ranks ranks.  Returns the count (<= 5). */
int ep_moe_shapes(kb_shape *out, int n_ranks, int loopback, int small_ranks, const char *dtype);
/* The metrics column of EP dispatch/combine rows: DeepEP's logical bandwidth. */
void ep_logical_metrics(const kb_shape *s, double logical_bytes, double seconds, char *buf, size_t n);
/* idx [N*T*K], w [N*T*K] (may be NULL). 0 or -1. */
int ep_shape_route(const kb_shape *s, int32_t *idx, float *w);
/* Plan summary of the shape's seeded routing (cached). 0 or -1. */
int ep_shape_stats(const kb_shape *s, ep_plan_stats *st);

/* Napkin math of one timed operation.  HBM bytes (minimum): loopback = all N
 * virtual ranks on the one device; several GPUs = the busiest rank.
 *   dispatch: read tokens+scales+ids once (T*(H + H/32 + 4K) per rank) and write
 *             each received row (7408 B at H=7168, metadata included);
 *   combine:  read each received BF16 row (2H), read ids+weights (8K per token),
 *             write the combined token (2H);
 *   link bytes: rows on the busiest link direction (max over ranks of rows sent
 *             to / received from OTHER ranks) x row bytes.
 *   combine FLOPs: 2*H per (token, rank) row (weighted sum).
 * alltoall: HBM = read + write of every chunk (2*N*chunk per rank), link =
 *   (N-1)*chunk per rank. */
double ep_dispatch_bytes(const kb_shape *s);
double ep_dispatch_link_bytes(const kb_shape *s);
double ep_combine_bytes(const kb_shape *s);
double ep_combine_link_bytes(const kb_shape *s);
double ep_combine_flops(const kb_shape *s);
/* Per-rank HBM bytes (the busiest rank, as on a real node) whatever the mode:
 * for projecting a real EP node from a loopback shape, where bytes() counts all
 * N virtual ranks on one device. */
double ep_dispatch_rank_bytes(const kb_shape *s);
double ep_combine_rank_bytes(const kb_shape *s);
/* DeepEP "logical" bytes of one timed op: rows received (local included) x row
 * bytes, all N ranks in loopback, the busiest receiver otherwise; divide by
 * the time (ep_logical_gbs) for the logical bandwidth. */
double ep_dispatch_logical_bytes(const kb_shape *s);
double ep_combine_logical_bytes(const kb_shape *s);
/* Projection of a dispatch (is_combine = 0) or combine (1) shape on a GPU:
 * out[0] nominal, out[1] practical link bandwidth, seconds, with the per-rank
 * pack/unpack time pack_unpack_s (see ep_pack_seconds_from_loopback). */
void ep_project_shape(const kb_shape *s, int is_combine, ep_gpu g, double pack_unpack_s, double out[2]);
int64_t ep_a2a_chunk(const kb_shape *s);
double ep_a2a_bytes(const kb_shape *s);
double ep_a2a_link_bytes(const kb_shape *s);

#ifdef __cplusplus
}
#endif
#endif
