/* ep_shapes.h - shapes and napkin math of the three EP operators (ep_dispatch,
 * ep_combine, alltoall): the named dims, the shape tables, the seeded routing
 * of a shape and the per-shape byte counts built on the plan math of
 * reference/ep_plan.h.
 *
 * Dims of ep_dispatch and ep_combine (EP_D_*): t tokens per rank, hidden,
 *   experts E, topk K, ranks N, loopback (1: N virtual ranks on ONE GPU,
 *   nothing crosses NVLink; the label ends in "_loopback"), ngroup expert
 *   groups, topkgroup groups kept.
 * alltoall: bytes = nominal bytes per rank (total of its N chunks), ranks,
 *   loopback; chunk = floor(bytes / N / 16) * 16 bytes per (src, dst).
 * Routing of a shape: ep_route_uniform seeded with ep_route_seed(s) (label
 * only, so dispatch and combine of one label route identically). */
#ifndef EP_SHAPES_H
#define EP_SHAPES_H
#include <stddef.h>
#include <stdint.h>
#include "bench/kb.h"
#include "reference/ep_plan.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { EP_D_TOKENS = 0, EP_D_HIDDEN, EP_D_EXPERTS, EP_D_TOPK, EP_D_RANKS, EP_D_LOOPBACK,
       EP_D_NGROUP, EP_D_TOPKGROUP };
enum { EP_D_BYTES = EP_D_TOKENS }; /* alltoall: d[0] is bytes per rank */
#define EP_MOE_DIMS                                                                                            \
    {[EP_D_TOKENS] = "t",    [EP_D_HIDDEN] = "hidden",     [EP_D_EXPERTS] = "e",     [EP_D_TOPK] = "k",        \
     [EP_D_RANKS] = "ranks", [EP_D_LOOPBACK] = "loopback", [EP_D_NGROUP] = "ngroup", [EP_D_TOPKGROUP] = "topkgroup"}
#define EP_A2A_DIMS {[EP_D_BYTES] = "bytes", [EP_D_RANKS] = "ranks", [EP_D_LOOPBACK] = "loopback"}
#define EP_ROUTED_SCALE 2.5

static inline int ep_shape_is_loopback(const kb_shape *s) { return s->d[EP_D_LOOPBACK] != 0; }
/* One dispatch/combine shape (V3: E 256, top-8, 8 groups, 4 kept), e.g. for
 * a test; ep_moe_shapes builds the operators' tables. */
void ep_make_shape(kb_shape *s, int tokens, int hidden, int n_ranks, int loopback, unsigned sets,
                   const char *dtype);
void ep_make_a2a_shape(kb_shape *s, int64_t bytes, int n_ranks, int loopback, unsigned sets);
void ep_add_a2a_shape(kb_shape_table *t, int64_t bytes, int n_ranks, int loopback, unsigned sets);
uint64_t ep_route_seed(const kb_shape *s);
/* The ep_dispatch / ep_combine shape table: T in {128, 4096} (hidden 7168) at
 * the n_ranks this machine runs (loopback = 1: N virtual ranks on one GPU),
 * plus, in loopback, the same shapes at EP8 over real GPUs so `kbench model`
 * projects the links (they skip at run time: "needs 8 GPUs"), plus one SMALL
 * shape with small_ranks ranks. */
void ep_moe_shapes(kb_shape_table *t, int n_ranks, int loopback, int small_ranks, const char *dtype);
/* kb_op.check (--axis shapes): dispatch/combine (op: its name): ranks
 * 1..EP_MAX_RANKS dividing e <= EP_MAX_EXPERTS, e a multiple of ngroup,
 * topkgroup <= ngroup, k <= EP_MAX_TOPK and k <= topkgroup * e/ngroup
 * (ep_route_uniform), hidden a multiple of 128 (one scale per 128), loopback
 * 0/1; the all-to-all: chunks of at least 16 B (bytes >= 16 * ranks). */
int ep_moe_check(const char *op, const kb_shape *s, char *why, size_t n);
int ep_a2a_check(const kb_shape *s, char *why, size_t n);
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
/* Per-rank HBM bytes (the busiest rank, as on a real node) whatever the mode. */
double ep_dispatch_rank_bytes(const kb_shape *s);
double ep_combine_rank_bytes(const kb_shape *s);
/* DeepEP "logical" bytes of one timed op: rows received (local included) x row
 * bytes, all N ranks in loopback, the busiest receiver otherwise; divide by
 * the time (ep_logical_gbs) for the logical bandwidth. */
double ep_dispatch_logical_bytes(const kb_shape *s);
double ep_combine_logical_bytes(const kb_shape *s);
int64_t ep_a2a_chunk(const kb_shape *s);
double ep_a2a_bytes(const kb_shape *s);
double ep_a2a_link_bytes(const kb_shape *s);

#ifdef __cplusplus
}
#endif
#endif
