/* kb_roofline.h - the roofline model: attainable = min(peak, AI x bw); the
 * time floor of an operation is the largest of FLOPs/peak, HBM bytes/HBM
 * bandwidth and link bytes/link bandwidth. */
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

typedef enum kb_bound { KB_BOUND_COMPUTE = 0, KB_BOUND_MEMORY, KB_BOUND_NETWORK } kb_bound;
const char *kb_bound_name(kb_bound b); /* "compute" | "memory" | "network" */

/* Ceilings one roofline uses (TFLOP/s, GB/s; 0 = unknown, term ignored). */
typedef struct kb_ceil {
    double fp8_tflops, bf16_tflops, fp32_tflops;
    double hbm_gbs;
    double link_gbs; /* per direction */
    const char *src; /* "datasheet" | "measured" | "measured+datasheet" */
} kb_ceil;

/* Datasheet ceilings of a table row; practical != 0 picks the practical link
 * bandwidth (falls back to nominal when unknown). */
kb_ceil kb_ceil_from_gpu(const kb_gpu *g, int practical_link);
double kb_ceil_peak(const kb_ceil *c, kb_peak p); /* TFLOP/s for that kind */

double kb_attainable_tflops(double peak_tflops, double intensity, double bw_gbs);
double kb_ridge_point(double peak_tflops, double bw_gbs); /* FLOP/byte */

typedef struct kb_roof {
    double t_floor_s;    /* max of the three terms */
    double t_compute_s, t_memory_s, t_network_s;
    kb_bound bound;
    double roof_tflops;  /* flops / t_floor (0 when flops == 0) */
} kb_roof;
kb_roof kb_roofline(double flops, double bytes, double link_bytes, double peak_tflops,
                    double hbm_gbs, double link_gbs);
#ifdef __cplusplus
}
#endif
#endif
