/* kb_roofline.c - see kb_roofline.h. */
#include "bench/kb_roofline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/kb_row.h"

const char *kb_bound_name(kb_bound b)
{
    return b == KB_BOUND_COMPUTE ? "compute" : b == KB_BOUND_MEMORY ? "memory" : "network";
}

const char *kb_peak_name(kb_peak p)
{
    return p == KB_PEAK_FP8 ? "fp8" : p == KB_PEAK_BF16 ? "bf16" : p == KB_PEAK_FP32 ? "fp32" : "memory";
}

kb_peak kb_peak_for_dtype(const char *dtype)
{
    return strstr(dtype, "e4m3") || strstr(dtype, "fp8") ? KB_PEAK_FP8 : KB_PEAK_BF16;
}

kb_ceil kb_ceil_from_gpu(const kb_gpu *g, int practical_link)
{
    kb_ceil c = {
        .fp8_tflops = g->fp8_tflops.v,
        .bf16_tflops = g->bf16_tflops.v,
        .fp32_tflops = g->fp32_tflops.v,
        .hbm_gbs = g->hbm_gbs.v,
    };
    const kb_fig *link = &g->link_gbs_nominal;
    if (practical_link && g->link_gbs_practical.v > 0) link = &g->link_gbs_practical;
    c.link_gbs = link->v;
    c.user = (g->fp8_tflops.conf == 'U' ? KB_CEIL_FP8 : 0) | (g->bf16_tflops.conf == 'U' ? KB_CEIL_BF16 : 0) |
             (g->fp32_tflops.conf == 'U' ? KB_CEIL_FP32 : 0) | (g->hbm_gbs.conf == 'U' ? KB_CEIL_HBM : 0) |
             (link->conf == 'U' ? KB_CEIL_LINK : 0);
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

unsigned kb_ceil_kind(const char *op, const char *shape, kb_peak pk, int hot_l2)
{
    if (!strcmp(op, "hbm")) return !strncmp(shape, "copy", 4) && !hot_l2 ? KB_CEIL_HBM : 0;
    if (!strcmp(op, "peak")) return pk == KB_PEAK_FP8 ? KB_CEIL_FP8 : pk == KB_PEAK_BF16 ? KB_CEIL_BF16 : 0;
    return 0;
}

void kb_ceil_measured(kb_ceil *c, unsigned kind, double value)
{
    double *slot = kind == KB_CEIL_HBM ? &c->hbm_gbs : kind == KB_CEIL_FP8 ? &c->fp8_tflops
                 : kind == KB_CEIL_BF16 ? &c->bf16_tflops : NULL;
    if (!slot || !isfinite(value) || value <= 0) return;
    if (!(c->measured & kind) || value > *slot) *slot = value;
    c->measured |= kind;
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
    return kb_roofline_msgs(flops, bytes, link_bytes, 0, peak_tflops, hbm_gbs, link_gbs);
}

kb_roof kb_roofline_msgs(double flops, double bytes, double link_bytes, double messages, double peak_tflops,
                         double hbm_gbs, double link_gbs)
{
    kb_roof r = {0};
    if (flops > 0 && peak_tflops > 0) r.t_compute_s = flops / (peak_tflops * 1e12);
    if (bytes > 0 && hbm_gbs > 0) r.t_memory_s = bytes / (hbm_gbs * 1e9);
    if (link_bytes > 0 && link_gbs > 0) {
        r.t_network_s = link_bytes / (link_gbs * 1e9);
        if (messages > 0) r.t_latency_s = (KB_LINK_ALPHA_LAUNCH_US + messages * KB_LINK_ALPHA_PEER_US) * 1e-6;
        if (r.t_latency_s > r.t_network_s) r.t_network_s = r.t_latency_s;
    }
    r.t_floor_s = r.t_compute_s;
    r.bound = KB_BOUND_COMPUTE;
    if (r.t_memory_s > r.t_floor_s) { r.t_floor_s = r.t_memory_s; r.bound = KB_BOUND_MEMORY; }
    if (r.t_network_s > r.t_floor_s) { r.t_floor_s = r.t_network_s; r.bound = KB_BOUND_NETWORK; }
    if (flops <= 0 && r.bound == KB_BOUND_COMPUTE) r.bound = KB_BOUND_MEMORY;
    r.roof_tflops = (flops > 0 && r.t_floor_s > 0) ? flops / r.t_floor_s * 1e-12 : 0;
    return r;
}

kb_roof kb_roof_of(const kb_ceil *c, kb_peak pk, double flops, double bytes, double link_bytes)
{
    return kb_roof_of_msgs(c, pk, flops, bytes, link_bytes, 0);
}

kb_roof kb_roof_of_msgs(const kb_ceil *c, kb_peak pk, double flops, double bytes, double link_bytes,
                        double messages)
{
    return kb_roofline_msgs(flops, bytes, link_bytes, messages, kb_ceil_peak(c, pk), c->hbm_gbs, c->link_gbs);
}

/* The integer value of dimension `name` in "a=1;b=2" text, or -1. */
static long dim_value(const char *dims, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = dims; p;) {
        if (!strncmp(p, name, n) && p[n] == '=') {
            char *end;
            long v = strtol(p + n + 1, &end, 10);
            return end != p + n + 1 && (*end == ';' || *end == '\0') ? v : -1;
        }
        p = strchr(p, ';');
        if (p) p++;
    }
    return -1;
}

double kb_link_messages(const char *dims)
{
    long ranks = dims ? dim_value(dims, "ranks") : -1;
    if (ranks < 2 || dim_value(dims, "loopback") == 1) return 0;
    return (double)(ranks - 1);
}

double kb_roof_pct(const kb_roof *r, double time_us)
{
    if (!(r->t_floor_s > 0) || !(time_us > 0) || !isfinite(time_us)) return NAN;
    return 100.0 * r->t_floor_s / (time_us * 1e-6);
}

const char *kb_roof_source(const kb_ceil *c, const kb_roof *r, kb_peak pk)
{
    unsigned peak = pk == KB_PEAK_FP8 ? KB_CEIL_FP8 : pk == KB_PEAK_BF16 ? KB_CEIL_BF16
                  : pk == KB_PEAK_FP32 ? KB_CEIL_FP32 : 0;
    unsigned need = r->bound == KB_BOUND_MEMORY ? KB_CEIL_HBM : r->bound == KB_BOUND_COMPUTE ? peak : KB_CEIL_LINK;
    return kb_ceil_source(c, need);
}

const char *kb_ceil_source(const kb_ceil *c, unsigned kind)
{
    return kind && (c->measured & kind) ? "measured" : kind && (c->user & kind) ? "user" : "datasheet";
}

kb_roof kb_roofline_row(kb_row *r, const kb_ceil *sheet, const kb_ceil *achievable, kb_peak pk, int count_link)
{
    const double link = count_link ? r->link_bytes : 0, msgs = count_link ? kb_link_messages(r->dims) : 0;
    kb_roof rf = kb_roof_of_msgs(sheet, pk, r->flops, r->bytes, link, msgs);
    kb_strlcpy(r->bound, kb_bound_name(rf.bound), sizeof r->bound);
    kb_strlcpy(r->roof_source, kb_roof_source(sheet, &rf, pk), sizeof r->roof_source);
    r->roof_tflops = rf.roof_tflops;
    r->pct_roof_achievable = NAN;
    if (isfinite(r->time_us) && r->time_us > 0) {
        double t = r->time_us * 1e-6;
        r->tflops = r->flops > 0 ? r->flops / t * 1e-12 : 0;
        r->gbps = r->bytes / t * 1e-9;
        r->pct_roof = kb_roof_pct(&rf, r->time_us);
        kb_roof ra = achievable ? kb_roof_of_msgs(achievable, pk, r->flops, r->bytes, link, msgs) : rf;
        if (achievable && !strcmp(kb_roof_source(achievable, &ra, pk), "measured"))
            r->pct_roof_achievable = kb_roof_pct(&ra, r->time_us);
    }
    return rf;
}
