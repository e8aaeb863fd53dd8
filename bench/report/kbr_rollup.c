/* kbr_rollup.c - DeepSeek-V3 layer terms and cost math (see kbr_rollup.h). */
#include "bench/report/kbr_rollup.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define HID 7168.0
#define HEADS 128.0
#define Q_LORA 1536.0
#define KV_LORA 512.0
#define ROPE 64.0
#define NOPE 128.0
#define VDIM 128.0
#define N_EXPERTS 256.0
#define TOPK 8.0
#define MOE_FFN 2048.0
#define DENSE_FFN 18432.0
#define DISPATCH_FP8_B (7168.0 + 56 * 4) /* normal mode: FP8 token + 56 FP32 scales */
#define DISPATCH_LL_B 7408.0             /* low latency: 7168 + 7168/128*4 + 16     */
#define COMBINE_B 14336.0                /* BF16 token                              */

void kbr_cfg_default(kbr_cfg *c)
{
    c->prefill_tokens = 4096;
    c->decode_batch = 128;
    c->decode_ctx = 4096;
    c->ep_prefill = 32;
    c->ep_decode = 64;
}

static kbr_term *add(kbr_term *out, int *n, int max, const char *name, const char *op)
{
    if (*n >= max) return NULL;
    kbr_term *t = &out[(*n)++];
    memset(t, 0, sizeof *t);
    t->name = name;
    t->op = op;
    t->count = 1;
    return t;
}

/* FP8 GEMM D[M,N] = A[M,K] B[N,K]^T: 2MNK FLOPs; bytes MK + NK (FP8) + 2MN (BF16 out). */
static void gemm(kbr_term *t, double m, double n, double k)
{
    if (!t) return;
    t->peak = KBR_PK_FP8;
    t->flops = 2 * m * n * k;
    t->bytes = m * k + n * k + 2 * m * n;
    snprintf(t->shape, sizeof t->shape, "m%.0f_n%.0f_k%.0f", m, n, k);
}

static void grouped(kbr_term *t, double g, double m, double n, double k)
{
    if (!t) return;
    t->peak = KBR_PK_FP8;
    t->flops = 2 * g * m * n * k;
    t->bytes = g * (m * k + n * k + 2 * m * n);
    snprintf(t->shape, sizeof t->shape, "g%.0f_m%.0f_n%.0f_k%.0f", g, m, n, k);
}

int kbr_layer_terms(const kbr_cfg *c, kbr_phase ph, kbr_layer ly, kbr_term *out, int max)
{
    int n = 0;
    kbr_term *t;
    double T = ph == KBR_PREFILL ? c->prefill_tokens : c->decode_batch;
    double E = ph == KBR_PREFILL ? c->ep_prefill : c->ep_decode;

    /* ---- attention (MLA) ---- */
    gemm(add(out, &n, max, "q_a + kv_a projection", "fp8_gemm"), T, Q_LORA + KV_LORA + ROPE, HID);
    gemm(add(out, &n, max, "q_b projection", "fp8_gemm"), T, HEADS * (NOPE + ROPE), Q_LORA);
    if (ph == KBR_PREFILL) {
        gemm(add(out, &n, max, "kv_b projection", "fp8_gemm"), T, HEADS * (NOPE + VDIM), KV_LORA);
        /* causal attention over the chunk: T*T/2 (query, key) pairs per head,
         * QK^T over 192 dims + PV over 128 dims; BF16 Q, K, V in, O out */
        if ((t = add(out, &n, max, "attention core (causal prefill)", "-"))) {
            t->peak = KBR_PK_BF16;
            t->flops = 2 * (T * T / 2) * HEADS * ((NOPE + ROPE) + VDIM);
            t->bytes = 2 * T * HEADS * (2 * (NOPE + ROPE) + 2 * VDIM);
            snprintf(t->shape, sizeof t->shape, "t%.0f_h%.0f", T, HEADS);
        }
    } else {
        double L = c->decode_ctx;
        /* absorbed MLA: q_nope x W_UK -> latent (BF16 batched GEMM per head) */
        if ((t = add(out, &n, max, "q absorb (W_UK, BF16)", "-"))) {
            t->peak = KBR_PK_BF16;
            t->flops = 2 * T * HEADS * NOPE * KV_LORA;
            t->bytes = 2 * (HEADS * NOPE * KV_LORA + T * HEADS * (NOPE + KV_LORA));
            snprintf(t->shape, sizeof t->shape, "t%.0f", T);
        }
        /* FlashMLA semantics: s_q = 1, h_q = 128, every sequence at length L */
        if ((t = add(out, &n, max, "MLA decode", "mla_decode"))) {
            double sk = T * L, d = KV_LORA + ROPE;
            t->peak = KBR_PK_BF16;
            t->flops = 2 * 1 * HEADS * sk * (d + KV_LORA);
            t->bytes = 2 * (sk * d + T * HEADS * d + T * HEADS * KV_LORA);
            snprintf(t->shape, sizeof t->shape, "b%.0f_sk%d_h%.0f_sq1", T, c->decode_ctx, HEADS);
        }
        if ((t = add(out, &n, max, "o absorb (W_UV, BF16)", "-"))) {
            t->peak = KBR_PK_BF16;
            t->flops = 2 * T * HEADS * KV_LORA * VDIM;
            t->bytes = 2 * (HEADS * KV_LORA * VDIM + T * HEADS * (KV_LORA + VDIM));
            snprintf(t->shape, sizeof t->shape, "t%.0f", T);
        }
    }
    gemm(add(out, &n, max, "o projection", "fp8_gemm"), T, HID, HEADS * VDIM);

    /* ---- feed-forward ---- */
    if (ly == KBR_DENSE) {
        gemm(add(out, &n, max, "dense gate+up", "fp8_gemm"), T, 2 * DENSE_FFN, HID);
        gemm(add(out, &n, max, "dense down", "fp8_gemm"), T, HID, DENSE_FFN);
        return n;
    }
    double g = N_EXPERTS / E;         /* experts per GPU                        */
    double m = T * TOPK / g;          /* tokens per local expert (balanced)     */
    double remote = (E - 1) / E;      /* share of (token, expert) pairs sent off */
    double disp_b = ph == KBR_PREFILL ? DISPATCH_FP8_B : DISPATCH_LL_B;
    if ((t = add(out, &n, max, "routing (gate + group top-k)", "moe_route"))) {
        t->peak = KBR_PK_BF16;
        t->flops = 2 * T * HID * N_EXPERTS;
        t->bytes = 2 * T * HID + 2 * N_EXPERTS * HID + T * TOPK * 8;
        snprintf(t->shape, sizeof t->shape, "t%.0f", T);
    }
    if ((t = add(out, &n, max, "permute tokens (local dispatch)", "moe_dispatch"))) {
        t->bytes = 2 * T * TOPK * disp_b; /* read + write each copy */
        snprintf(t->shape, sizeof t->shape, "t%.0f", T);
    }
    if ((t = add(out, &n, max, "EP dispatch all-to-all", "ep_dispatch"))) {
        t->bytes = 2 * T * TOPK * disp_b;
        t->link_bytes = T * TOPK * disp_b * remote;
        snprintf(t->shape, sizeof t->shape, "t%.0f_ep%.0f", T, E);
    }
    grouped(add(out, &n, max, "experts gate+up (grouped)", "fp8_gemm_grouped"), g, m, 2 * MOE_FFN, HID);
    grouped(add(out, &n, max, "experts down (grouped)", "fp8_gemm_grouped"), g, m, HID, MOE_FFN);
    gemm(add(out, &n, max, "shared expert gate+up", "fp8_gemm"), T, 2 * MOE_FFN, HID);
    gemm(add(out, &n, max, "shared expert down", "fp8_gemm"), T, HID, MOE_FFN);
    if ((t = add(out, &n, max, "EP combine all-to-all", "ep_combine"))) {
        t->bytes = 2 * T * TOPK * COMBINE_B;
        t->link_bytes = T * TOPK * COMBINE_B * remote;
        snprintf(t->shape, sizeof t->shape, "t%.0f_ep%.0f", T, E);
    }
    if ((t = add(out, &n, max, "weighted combine (local)", "moe_combine"))) {
        t->bytes = T * TOPK * COMBINE_B + 2 * T * HID;
        t->flops = 2 * T * TOPK * HID;
        snprintf(t->shape, sizeof t->shape, "t%.0f", T);
    }
    return n;
}

double kbr_floor_us(const kbr_term *t, const kbr_gpu *g)
{
    double pk = t->peak == KBR_PK_FP8 ? g->fp8_tflops : g->bf16_tflops;
    double f = t->flops > 0 ? t->flops / (pk * 1e12) : 0;
    double b = t->bytes > 0 ? t->bytes / (g->hbm_gbs * 1e9) : 0;
    double l = t->link_bytes > 0 ? t->link_bytes / (g->link_gbs * 1e9) : 0;
    return 1e6 * fmax(f, fmax(b, l));
}

static int has_token(const char *label, const char *tok, size_t len)
{
    const char *p = label;
    while (*p) {
        const char *e = strchr(p, '_');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == len && !strncmp(p, tok, len)) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

int kbr_label_match(const char *want, const char *label)
{
    if (!strcmp(want, label)) return 1;
    const char *p = want;
    while (*p) {
        const char *e = strchr(p, '_');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l && !has_token(label, p, l)) return 0;
        if (!e) break;
        p = e + 1;
    }
    return 1;
}

void kbr_model_totals(double dense_layer_us, double moe_layer_us, double tokens_per_step,
                      double usd_per_gpu_hour, kbr_totals *o)
{
    o->step_us = KBR_LAYERS_DENSE * dense_layer_us + KBR_LAYERS_MOE * moe_layer_us;
    o->tokens_per_step = tokens_per_step;
    double step_s = o->step_us * 1e-6;
    o->tokens_per_s = tokens_per_step / step_s;
    o->usd_per_mtok = usd_per_gpu_hour / 3600.0 / o->tokens_per_s * 1e6;
    o->train_gpu_h_per_ttok = KBR_TRAIN_FWD_MULT * step_s / tokens_per_step * 1e12 / 3600.0;
    o->train_usd_per_ttok = o->train_gpu_h_per_ttok * usd_per_gpu_hour;
}
