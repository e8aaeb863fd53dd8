/* kb_roofline.h - the one roofline module.  It owns: the ceilings of a GPU
 * (from the device table) and the rule by which a measured ceiling replaces
 * a datasheet one; the time floor of an operation (the largest of FLOPs /
 * peak, HBM bytes / HBM bandwidth and the network term: link bytes / link
 * bandwidth, or the per-message latency when larger); the
 * attainable rate; % of roof.  `kbench run`, `kbench model`, plot and report
 * all call it; nobody else does roofline arithmetic.  Plain C, no CUDA. */
#ifndef KB_ROOFLINE_H
#define KB_ROOFLINE_H
#include "bench/kb_specs.h"
#ifdef __cplusplus
extern "C" {
#endif

/* Which tensor-core / ALU peak bounds the op's FLOPs. */
typedef enum kb_peak {
    KB_PEAK_NONE = 0, /* pure data movement */
    KB_PEAK_FP8,
    KB_PEAK_BF16,
    KB_PEAK_FP32
} kb_peak;
const char *kb_peak_name(kb_peak p);       /* "fp8" | "bf16" | "fp32" | "memory" */
/* For rows read back from a CSV (no op table): e4m3* / fp8* -> FP8, else BF16. */
kb_peak kb_peak_for_dtype(const char *dtype);

typedef enum kb_bound { KB_BOUND_COMPUTE = 0, KB_BOUND_MEMORY, KB_BOUND_NETWORK } kb_bound;
const char *kb_bound_name(kb_bound b); /* "compute" | "memory" | "network" */

/* ---- ceilings ---------------------------------------------------------------
 * TFLOP/s and GB/s; 0 = unknown (the term is ignored).  `measured` holds the
 * KB_CEIL_* bits of the figures a measurement has replaced, `user` those that
 * came from a --specs file (confidence U). */
enum { KB_CEIL_FP8 = 1u << 0, KB_CEIL_BF16 = 1u << 1, KB_CEIL_HBM = 1u << 2, KB_CEIL_FP32 = 1u << 3,
       KB_CEIL_LINK = 1u << 4 };
typedef struct kb_ceil {
    double fp8_tflops, bf16_tflops, fp32_tflops;
    double hbm_gbs;
    double link_gbs; /* per direction */
    unsigned measured;
    unsigned user;
} kb_ceil;

/* Datasheet ceilings of a table row; practical != 0 picks the practical link
 * bandwidth (falls back to nominal when unknown). */
kb_ceil kb_ceil_from_gpu(const kb_gpu *g, int practical_link);
double kb_ceil_peak(const kb_ceil *c, kb_peak p); /* TFLOP/s for that kind */

/* The rule for measured ceilings.  Which rows measure a ceiling: op `hbm`,
 * shapes copy_* whose working set does not stay in L2 -> the HBM bandwidth
 * (GB/s); op `peak` -> the FP8 or BF16 tensor-core peak of its shape
 * (TFLOP/s, the best of several cuBLASLt algorithms with and without fast
 * accumulation).  kb_ceil_kind returns the KB_CEIL_* bit, or 0 for any other
 * row.  kb_ceil_measured applies one to the *achievable* ceilings of a run: the
 * first measurement replaces the datasheet figure there even when it is lower
 * (the datasheet rate is not reachable on this machine); later ones keep the
 * best.  The datasheet ceilings are never replaced: a row's pct_roof is
 * against them (so it cannot pass 100% because a library rate stood in for the
 * datasheet), pct_roof_achievable against the achievable ones. */
unsigned kb_ceil_kind(const char *op, const char *shape, kb_peak pk, int hot_l2);
void kb_ceil_measured(kb_ceil *c, unsigned kind, double value);

/* ---- the floor ----------------------------------------------------------------
 * The network term has a latency part (issue 17 item 8): one rank's exchange
 * of `messages` messages (one per peer) cannot end before
 *   t_latency = KB_LINK_ALPHA_LAUNCH_US + messages x KB_LINK_ALPHA_PEER_US
 * nor before link_bytes / link_gbs, so t_network = the larger of the two (a
 * floor is the max of lower bounds; NCCL's model adds them, which would move
 * large sizes too).  Source: NCCL's own tuning model (src/graph/tuning.cc,
 * ncclTopoTuneModel: latency = baseLat + nsteps x hwLat; Ring/LL baseLat 3.6 us,
 * NVLink hwLat 0.47 us per step), the low-latency protocol's figures, so the
 * floor stays below what NCCL predicts for itself.  Not measured here; the
 * same for every GPU in the table (NVLink/NVSwitch, one node).  8 ranks:
 * 3.6 + 7 x 0.47 = 6.89 us, the floor of any all-to-all below ~1 MB per rank
 * at 160 GB/s.  messages = 0: no latency part (bandwidth only). */
#define KB_LINK_ALPHA_LAUNCH_US 3.6
#define KB_LINK_ALPHA_PEER_US 0.47
typedef struct kb_roof {
    double t_floor_s;    /* max of the three terms */
    double t_compute_s, t_memory_s, t_network_s;
    double t_latency_s;  /* the latency part of the network term (0: none) */
    kb_bound bound;
    double roof_tflops;  /* flops / t_floor (0 when flops == 0) */
} kb_roof;
kb_roof kb_roofline(double flops, double bytes, double link_bytes, double peak_tflops,
                    double hbm_gbs, double link_gbs);
/* The same with the latency part for `messages` messages per rank (counted
 * only when link_bytes > 0 and link_gbs > 0). */
kb_roof kb_roofline_msgs(double flops, double bytes, double link_bytes, double messages, double peak_tflops,
                         double hbm_gbs, double link_gbs);
/* The same with the ceilings of c for peak kind pk. */
kb_roof kb_roof_of(const kb_ceil *c, kb_peak pk, double flops, double bytes, double link_bytes);
kb_roof kb_roof_of_msgs(const kb_ceil *c, kb_peak pk, double flops, double bytes, double link_bytes,
                        double messages);
/* Messages one rank sends, from a row's or shape's dims text ("...;ranks=8;
 * loopback=0"): ranks - 1 (one per peer: the all-to-all, EP dispatch and
 * combine ops); 0 without a `ranks` dimension or with loopback=1. */
double kb_link_messages(const char *dims);
double kb_attainable_tflops(double peak_tflops, double intensity, double bw_gbs);
double kb_ridge_point(double peak_tflops, double bw_gbs); /* FLOP/byte */
/* 100 x floor / time (NaN when the floor or the time is unknown). */
double kb_roof_pct(const kb_roof *r, double time_us);
/* Where the ceiling of the bound term came from: "measured" (a measurement
 * replaced it), else "user" (a --specs file gave it), else "datasheet". */
const char *kb_roof_source(const kb_ceil *c, const kb_roof *r, kb_peak pk);
/* Where one ceiling (a KB_CEIL_* bit) came from: "measured", "user" (--specs) or "datasheet". */
const char *kb_ceil_source(const kb_ceil *c, unsigned kind);

/* Fill a row's roofline columns from its flops, bytes, link_bytes (counted
 * only when count_link, with kb_link_messages(dims) messages) and time_us: bound, roof_tflops, roof_source and,
 * when time_us is known, tflops, gbps and pct_roof, all against the datasheet
 * ceilings `sheet`; pct_roof_achievable against `achievable` when the
 * ceiling of its bound term was measured there (else NaN; achievable may be
 * NULL).  Returns the datasheet roof. */
struct kb_row;
kb_roof kb_roofline_row(struct kb_row *r, const kb_ceil *sheet, const kb_ceil *achievable, kb_peak pk,
                        int count_link);
#ifdef __cplusplus
}
#endif
#endif
