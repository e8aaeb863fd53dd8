/* claim_terms.c - the compute terms of one V3 layer for `kbench claim` and
 * how each term's time is found (see claim_model.h): a measured row matched
 * exactly by op, dtype and dims; else another GPU's measured row scaled by
 * the two GPUs' roofline floors; else the floor over a published efficiency.
 * Shapes and formulas: ../shared/reference/deepseek-v3.md. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench/claim_model.h"
#include "bench/report/csv_table.h"
#include "bench/report/kbr_plot.h"
#include "bench/report/kbr_rollup.h"
#include "bench/report/kbr_v3.h"


static claim_term *add(claim_term *out, int *n, int max, const char *name, const char *op, const char *dtype)
{
    if (*n >= max) return NULL;
    claim_term *t = &out[(*n)++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->op = op;
    t->dtype = dtype;
    return t;
}

/* FP8 GEMM D[M,N] = A[M,K] B[N,K]^T (DeepGEMM): the dims fp8_gemm rows carry. */
static void fp8_gemm(claim_term *t, double m, double n, double k)
{
    if (!t) return;
    t->peak = KB_PEAK_FP8;
    t->anchor = CLAIM_ANCHOR_DEEPGEMM;
    t->flops = 2 * m * n * k;
    t->bytes = m * k + n * k + 2 * m * n;
    snprintf(t->dims, sizeof t->dims, "layout=0;m=%.0f;n=%.0f;k=%.0f;g=1;dist=0", m, n, k);
}

/* Grouped contiguous (every expert's segment full: uniform routing). */
static void fp8_grouped(claim_term *t, double g, double m, double n, double k)
{
    if (!t) return;
    t->peak = KB_PEAK_FP8;
    t->anchor = CLAIM_ANCHOR_DEEPGEMM;
    t->flops = 2 * g * m * n * k;
    t->bytes = g * (m * k + n * k + 2 * m * n);
    snprintf(t->dims, sizeof t->dims, "layout=1;m=%.0f;n=%.0f;k=%.0f;g=%.0f;dist=0", m, n, k, g);
}

/* A BF16 operation no kbench op times: only the floor over FlashMLA's efficiency. */
static void bf16_op(claim_term *t, double flops, double bytes, const char *dims)
{
    if (!t) return;
    t->peak = KB_PEAK_BF16;
    t->anchor = CLAIM_ANCHOR_FLASHMLA;
    t->flops = flops;
    t->bytes = bytes;
    snprintf(t->dims, sizeof t->dims, "%s", dims);
}

static void attn_train(double T, claim_term *o, int *n, int max)
{
    char d[64];
    fp8_gemm(add(o, n, max, "attn.q_a_kv_a", "fp8_gemm", "e4m3"), T, KB_V3_Q_LORA + KB_V3_KV_LORA + KB_V3_ROPE, KB_V3_HID);
    fp8_gemm(add(o, n, max, "attn.q_b", "fp8_gemm", "e4m3"), T, KB_V3_HEADS * (KB_V3_NOPE + KB_V3_ROPE), KB_V3_Q_LORA);
    fp8_gemm(add(o, n, max, "attn.kv_b", "fp8_gemm", "e4m3"), T, KB_V3_HEADS * (KB_V3_NOPE + KB_V3_VDIM), KB_V3_KV_LORA);
    /* causal over one sequence of T: T*T/2 pairs per head, QK^T (192) + PV (128) */
    snprintf(d, sizeof d, "t=%.0f;h=%.0f", T, KB_V3_HEADS);
    bf16_op(add(o, n, max, "attn.core_causal", "-", "bf16"), 2 * (T * T / 2) * KB_V3_HEADS * (KB_V3_NOPE + KB_V3_ROPE + KB_V3_VDIM),
            2 * T * KB_V3_HEADS * (2 * (KB_V3_NOPE + KB_V3_ROPE) + 2 * KB_V3_VDIM), d);
    fp8_gemm(add(o, n, max, "attn.o", "fp8_gemm", "e4m3"), T, KB_V3_HID, KB_V3_HEADS * KB_V3_VDIM);
}

/* Absorbed MLA (FlashMLA semantics, BF16 KV cache): every sequence at ctx. */
static void attn_decode(double T, double ctx, claim_term *o, int *n, int max)
{
    char d[96];
    fp8_gemm(add(o, n, max, "attn.q_a_kv_a", "fp8_gemm", "e4m3"), T, KB_V3_Q_LORA + KB_V3_KV_LORA + KB_V3_ROPE, KB_V3_HID);
    fp8_gemm(add(o, n, max, "attn.q_b", "fp8_gemm", "e4m3"), T, KB_V3_HEADS * (KB_V3_NOPE + KB_V3_ROPE), KB_V3_Q_LORA);
    snprintf(d, sizeof d, "t=%.0f", T);
    bf16_op(add(o, n, max, "attn.q_absorb", "-", "bf16"), 2 * T * KB_V3_HEADS * KB_V3_NOPE * KB_V3_KV_LORA,
            2 * (KB_V3_HEADS * KB_V3_NOPE * KB_V3_KV_LORA + T * KB_V3_HEADS * (KB_V3_NOPE + KB_V3_KV_LORA)), d);
    claim_term *t = add(o, n, max, "attn.mla_decode", "mla_decode", "bf16");
    if (t) {
        double sk = T * ctx, dq = KB_V3_KV_LORA + KB_V3_ROPE;
        snprintf(d, sizeof d, "b=%.0f;sk=%.0f;hq=%.0f;sq=1;pattern=0;fp8kv=0", T, ctx, KB_V3_HEADS);
        bf16_op(t, 2 * KB_V3_HEADS * sk * (dq + KB_V3_KV_LORA), 2 * (sk * dq + T * KB_V3_HEADS * dq + T * KB_V3_HEADS * KB_V3_KV_LORA), d);
    }
    snprintf(d, sizeof d, "t=%.0f", T);
    bf16_op(add(o, n, max, "attn.o_absorb", "-", "bf16"), 2 * T * KB_V3_HEADS * KB_V3_KV_LORA * KB_V3_VDIM,
            2 * (KB_V3_HEADS * KB_V3_KV_LORA * KB_V3_VDIM + T * KB_V3_HEADS * (KB_V3_KV_LORA + KB_V3_VDIM)), d);
    fp8_gemm(add(o, n, max, "attn.o", "fp8_gemm", "e4m3"), T, KB_V3_HID, KB_V3_HEADS * KB_V3_VDIM);
}

static void moe(double T, double g, double m, claim_term *o, int *n, int max)
{
    char d[64];
    snprintf(d, sizeof d, "t=%.0f;skew=0", T);
    claim_term *t = add(o, n, max, "moe.route", "moe_route", "bf16");
    bf16_op(t, 2 * T * KB_V3_HID * 256, 2 * T * KB_V3_HID + 2 * 256 * KB_V3_HID + T * 8 * 8, d);
    fp8_grouped(add(o, n, max, "moe.experts_gate_up", "fp8_gemm_grouped", "e4m3"), g, m, 2 * KB_V3_MOE_FFN, KB_V3_HID);
    fp8_grouped(add(o, n, max, "moe.experts_down", "fp8_gemm_grouped", "e4m3"), g, m, KB_V3_HID, KB_V3_MOE_FFN);
    fp8_gemm(add(o, n, max, "moe.shared_gate_up", "fp8_gemm", "e4m3"), T, 2 * KB_V3_MOE_FFN, KB_V3_HID);
    fp8_gemm(add(o, n, max, "moe.shared_down", "fp8_gemm", "e4m3"), T, KB_V3_HID, KB_V3_MOE_FFN);
}

static void bf16_gemm(claim_term *t, double m, double nn, double k)
{
    char d[64];
    snprintf(d, sizeof d, "m=%.0f;n=%.0f;k=%.0f", m, nn, k);
    bf16_op(t, 2 * m * nn * k, 2 * (m * k + nn * k + m * nn), d);
}

int claim_terms(claim_part part, double T, double ctx, double g, double m, claim_term *out, int max)
{
    int n = 0;
    switch (part) {
    case CLAIM_ATTN_TRAIN: attn_train(T, out, &n, max); break;
    case CLAIM_ATTN_DECODE: attn_decode(T, ctx, out, &n, max); break;
    case CLAIM_MOE: moe(T, g, m, out, &n, max); break;
    case CLAIM_DENSE:
        fp8_gemm(add(out, &n, max, "dense.gate_up", "fp8_gemm", "e4m3"), T, 2 * KB_V3_DENSE_FFN, KB_V3_HID);
        fp8_gemm(add(out, &n, max, "dense.down", "fp8_gemm", "e4m3"), T, KB_V3_HID, KB_V3_DENSE_FFN);
        break;
    case CLAIM_HEAD: bf16_gemm(add(out, &n, max, "head.lm_head", "-", "bf16"), T, KB_V3_VOCAB, KB_V3_HID); break;
    case CLAIM_MTP_PROJ: bf16_gemm(add(out, &n, max, "mtp.proj", "-", "bf16"), T, KB_V3_HID, 2 * KB_V3_HID); break;
    }
    return n;
}

/* ---- a term's time ------------------------------------------------------------------ */
int claim_row_fits(const claim_term *t, const kb_row *r)
{
    return strcmp(t->op, "-") && !strcmp(r->op, t->op) && !strcmp(r->dtype, t->dtype) && kb_row_is_measured(r) &&
           kb_row_is_pass(r) && kb_row_has_time(r) && kbr_dims_match(t->dims, r->dims) &&
           kbr_dims_match(r->dims, t->dims);
}

/* The fastest row of `gpu` (NULL: of any GPU other than `not_gpu`) that fits t. */
static const kb_row *best_row(const kb_rowset *s, const claim_term *t, const char *gpu, const char *not_gpu)
{
    const kb_row *best = NULL;
    for (int i = 0; s && i < s->n; i++) {
        const kb_row *r = &s->r[i];
        if ((gpu && strcmp(r->gpu, gpu)) || (not_gpu && !strcmp(r->gpu, not_gpu)) || !claim_row_fits(t, r)) continue;
        if (!kb_gpu_find(r->gpu) && !gpu) continue; /* scaling needs its floors */
        if (!best || r->time_us < best->time_us) best = r;
    }
    return best;
}

static void efficiency_time(const claim_cfg *c, const claim_term *t, const kb_gpu *g, claim_time *o)
{
    kb_ceil ceil = kb_ceil_from_gpu(g, 1);
    kb_roof rf = kb_roof_of(&ceil, t->peak, t->flops, t->bytes, 0);
    int mem = rf.bound == KB_BOUND_MEMORY;
    claim_a k = t->anchor == CLAIM_ANCHOR_DEEPGEMM ? (mem ? CA_EFF_GEMM_MEMORY : CA_EFF_GEMM_COMPUTE)
                                                   : (mem ? CA_EFF_MEMORY : CA_EFF_BF16_COMPUTE);
    o->s = rf.t_floor_s / c->a[k];
    o->how = CLAIM_EFFICIENCY;
    char why[200];
    if (strcmp(t->op, "-"))
        snprintf(why, sizeof why, "no passing measured %s %s row with dims %s", t->op, t->dtype, t->dims);
    else
        snprintf(why, sizeof why, "no kbench operator times it (%s %s)", t->dtype, t->dims);
    snprintf(o->src, sizeof o->src, "efficiency: %s; %.4g GFLOP, %s-bound floor %.4g us / %.2f (%s)", why,
             t->flops / 1e9, kb_bound_name(rf.bound), rf.t_floor_s * 1e6, c->a[k], claim_assumes()[k].src);
}

void claim_term_time(const claim_cfg *c, const kb_rowset *rows, const claim_term *t, const kb_gpu *g, claim_time *o)
{
    const kb_row *r = best_row(rows, t, g->slug, NULL);
    if (r) {
        o->s = r->time_us * 1e-6;
        o->how = CLAIM_MEASURED;
        snprintf(o->src, sizeof o->src, "measured: %s %s/%s %s %s, %.4g GFLOP, %.4g us", r->gpu, r->op, r->impl,
                 r->shape, r->dtype, r->flops / 1e9, r->time_us);
        return;
    }
    r = best_row(rows, t, NULL, g->slug);
    double us = r ? kbr_project_us(r, kb_gpu_find(r->gpu), g) : NAN;
    if (r && isfinite(us)) {
        o->s = us * 1e-6;
        o->how = CLAIM_SCALED;
        snprintf(o->src, sizeof o->src, "scaled: %s measured %s/%s %s %s, %.4g GFLOP, %.4g us x floor ratio %.4f",
                 r->gpu, r->op, r->impl, r->shape, r->dtype, r->flops / 1e9, r->time_us, us / r->time_us);
        return;
    }
    efficiency_time(c, t, g, o);
}
