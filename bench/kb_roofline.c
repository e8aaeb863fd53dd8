#include <math.h>
#include "bench/kb_roofline.h"

const char *kb_bound_name(kb_bound b)
{
    return b == KB_BOUND_COMPUTE ? "compute" : b == KB_BOUND_MEMORY ? "memory" : "network";
}

kb_ceil kb_ceil_from_gpu(const kb_gpu *g, int practical_link)
{
    kb_ceil c = {
        .fp8_tflops = g->f[KB_F_FP8].v,
        .bf16_tflops = g->f[KB_F_BF16].v,
        .fp32_tflops = g->f[KB_F_FP32].v,
        .hbm_gbs = g->f[KB_F_HBM_GBS].v,
        .link_gbs = g->f[KB_F_LINK_NOMINAL].v,
        .src = "datasheet",
    };
    if (practical_link && g->f[KB_F_LINK_PRACTICAL].v > 0) c.link_gbs = g->f[KB_F_LINK_PRACTICAL].v;
    return c;
}

double kb_ceil_peak(const kb_ceil *c, kb_peak p)
{
    switch (p) {
    case KB_PEAK_FP8: return c->fp8_tflops;
    case KB_PEAK_BF16: return c->bf16_tflops;
    case KB_PEAK_FP32: return c->fp32_tflops;
    default: return 0;
    }
}

double kb_attainable_tflops(double peak_tflops, double intensity, double bw_gbs)
{
    double mem = intensity * bw_gbs * 1e-3; /* FLOP/B * GB/s = GFLOP/s -> TFLOP/s */
    return mem < peak_tflops ? mem : peak_tflops;
}

double kb_ridge_point(double peak_tflops, double bw_gbs)
{
    return bw_gbs > 0 ? peak_tflops * 1e3 / bw_gbs : INFINITY;
}

kb_roof kb_roofline(double flops, double bytes, double link_bytes, double peak_tflops,
                    double hbm_gbs, double link_gbs)
{
    kb_roof r = {0};
    if (flops > 0 && peak_tflops > 0) r.t_compute_s = flops / (peak_tflops * 1e12);
    if (bytes > 0 && hbm_gbs > 0) r.t_memory_s = bytes / (hbm_gbs * 1e9);
    if (link_bytes > 0 && link_gbs > 0) r.t_network_s = link_bytes / (link_gbs * 1e9);
    r.t_floor_s = r.t_compute_s;
    r.bound = KB_BOUND_COMPUTE;
    if (r.t_memory_s > r.t_floor_s) { r.t_floor_s = r.t_memory_s; r.bound = KB_BOUND_MEMORY; }
    if (r.t_network_s > r.t_floor_s) { r.t_floor_s = r.t_network_s; r.bound = KB_BOUND_NETWORK; }
    if (flops <= 0 && r.bound == KB_BOUND_COMPUTE) r.bound = KB_BOUND_MEMORY;
    r.roof_tflops = (flops > 0 && r.t_floor_s > 0) ? flops / r.t_floor_s * 1e-12 : 0;
    return r;
}
