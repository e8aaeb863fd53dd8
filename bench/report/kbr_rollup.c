/* kbr_rollup.c - DeepSeek-V3 layer terms and cost math (see kbr_rollup.h). */
#include "bench/report/kbr_rollup.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench/kb_io.h"
#include "bench/report/kbr_v3.h"


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

/* FP8 GEMM D[M,N] = A[M,K] B[N,K]^T: 2MNK FLOPs; bytes MK + NK (FP8) + 2MN (BF16 out).
 * Dims as op fp8_gemm names them: layout 0 (plain), one group, equal rows. */
static void gemm(kbr_term *t, double m, double n, double k)
{
    if (!t) return;
    t->peak = KB_PEAK_FP8;
    t->dtype = "e4m3";
    t->flops = 2 * m * n * k;
    t->bytes = m * k + n * k + 2 * m * n;
    snprintf(t->dims, sizeof t->dims, "layout=0;m=%.0f;n=%.0f;k=%.0f;g=1;dist=0", m, n, k);
}

/* Grouped expert GEMM: layout 1 contiguous (prefill) or 2 masked (decode),
 * dist 0: every one of the g x m rows valid (balanced experts).  A masked row
 * with drawn valid counts (dist=1) computes fewer rows: it is not this term. */
static void grouped(kbr_term *t, int layout, double g, double m, double n, double k)
{
    if (!t) return;
    t->peak = KB_PEAK_FP8;
    t->dtype = "e4m3";
    t->flops = 2 * g * m * n * k;
    t->bytes = g * (m * k + n * k + 2 * m * n);
    snprintf(t->dims, sizeof t->dims, "layout=%d;m=%.0f;n=%.0f;k=%.0f;g=%.0f;dist=0", layout, m, n, k, g);
}

/* The dims op ep_dispatch / ep_combine name: V3's gate, E ranks, no loopback. */
static void ep_dims(kbr_term *t, double T, double E)
{
    snprintf(t->dims, sizeof t->dims, "t=%.0f;hidden=%.0f;e=%.0f;k=%.0f;ranks=%.0f;loopback=0;ngroup=8;topkgroup=4", T,
             KB_V3_HID, KB_V3_N_EXPERTS, KB_V3_TOPK, E);
}

/* Attention (MLA) of one layer for T tokens: projections, then the core. */
static void attention_terms(const kbr_cfg *c, kbr_phase ph, double T, kbr_term *out, int *np, int max)
{
    int n = *np;
    kbr_term *t;
    gemm(add(out, &n, max, "q_a + kv_a projection", "fp8_gemm"), T, KB_V3_Q_LORA + KB_V3_KV_LORA + KB_V3_ROPE, KB_V3_HID);
    gemm(add(out, &n, max, "q_b projection", "fp8_gemm"), T, KB_V3_HEADS * (KB_V3_NOPE + KB_V3_ROPE), KB_V3_Q_LORA);
    if (ph == KBR_PREFILL) {
        gemm(add(out, &n, max, "kv_b projection", "fp8_gemm"), T, KB_V3_HEADS * (KB_V3_NOPE + KB_V3_VDIM), KB_V3_KV_LORA);
        /* causal attention over the chunk: T*T/2 (query, key) pairs per head,
         * QK^T over 192 dims + PV over 128 dims; BF16 Q, K, V in, O out */
        if ((t = add(out, &n, max, "attention core (causal prefill)", "-"))) {
            t->peak = KB_PEAK_BF16;
            t->dtype = "bf16";
            t->flops = 2 * (T * T / 2) * KB_V3_HEADS * ((KB_V3_NOPE + KB_V3_ROPE) + KB_V3_VDIM);
            t->bytes = 2 * T * KB_V3_HEADS * (2 * (KB_V3_NOPE + KB_V3_ROPE) + 2 * KB_V3_VDIM);
            snprintf(t->dims, sizeof t->dims, "t=%.0f;h=%.0f", T, KB_V3_HEADS);
        }
    } else {
        double L = c->decode_ctx;
        /* absorbed MLA: q_nope x W_UK -> latent (BF16 batched GEMM per head) */
        if ((t = add(out, &n, max, "q absorb (W_UK, BF16)", "-"))) {
            t->peak = KB_PEAK_BF16;
            t->dtype = "bf16";
            t->flops = 2 * T * KB_V3_HEADS * KB_V3_NOPE * KB_V3_KV_LORA;
            t->bytes = 2 * (KB_V3_HEADS * KB_V3_NOPE * KB_V3_KV_LORA + T * KB_V3_HEADS * (KB_V3_NOPE + KB_V3_KV_LORA));
            snprintf(t->dims, sizeof t->dims, "t=%.0f", T);
        }
        /* FlashMLA semantics: s_q = 1, h_q = 128, every sequence at length L,
         * a BF16 KV cache: an FP8 KV row (dtype fp8kv, fp8kv=1) is another term */
        if ((t = add(out, &n, max, "MLA decode", "mla_decode"))) {
            double sk = T * L, d = KB_V3_KV_LORA + KB_V3_ROPE;
            t->peak = KB_PEAK_BF16;
            t->dtype = "bf16";
            t->flops = 2 * 1 * KB_V3_HEADS * sk * (d + KB_V3_KV_LORA);
            t->bytes = 2 * (sk * d + T * KB_V3_HEADS * d + T * KB_V3_HEADS * KB_V3_KV_LORA);
            snprintf(t->dims, sizeof t->dims, "b=%.0f;sk=%d;hq=%.0f;sq=1;pattern=0;fp8kv=0", T, c->decode_ctx, KB_V3_HEADS);
        }
        if ((t = add(out, &n, max, "o absorb (W_UV, BF16)", "-"))) {
            t->peak = KB_PEAK_BF16;
            t->dtype = "bf16";
            t->flops = 2 * T * KB_V3_HEADS * KB_V3_KV_LORA * KB_V3_VDIM;
            t->bytes = 2 * (KB_V3_HEADS * KB_V3_KV_LORA * KB_V3_VDIM + T * KB_V3_HEADS * (KB_V3_KV_LORA + KB_V3_VDIM));
            snprintf(t->dims, sizeof t->dims, "t=%.0f", T);
        }
    }
    gemm(add(out, &n, max, "o projection", "fp8_gemm"), T, KB_V3_HID, KB_V3_HEADS * KB_V3_VDIM);
    *np = n;
}

/* MoE feed-forward for T tokens over EP E: route, dispatch, experts, combine. */
static void moe_terms(kbr_phase ph, double T, double E, kbr_term *out, int *np, int max)
{
    int n = *np;
    kbr_term *t;
    double g = KB_V3_N_EXPERTS / E;         /* experts per GPU                        */
    double m = T * KB_V3_TOPK / g;          /* tokens per local expert (balanced)     */
    double remote = (E - 1) / E;      /* share of (token, expert) pairs sent off */
    double disp_b = ph == KBR_PREFILL ? KB_V3_DISPATCH_FP8_B : KB_V3_DISPATCH_LL_B;
    if ((t = add(out, &n, max, "routing (gate + group top-k)", "moe_route"))) {
        t->peak = KB_PEAK_BF16;
        t->dtype = "bf16";
        t->flops = 2 * T * KB_V3_HID * KB_V3_N_EXPERTS;
        t->bytes = 2 * T * KB_V3_HID + 2 * KB_V3_N_EXPERTS * KB_V3_HID + T * KB_V3_TOPK * 8;
        snprintf(t->dims, sizeof t->dims, "t=%.0f;skew=0", T);
    }
    /* moe_dispatch fmt 0: E4M3 contiguous (prefill), 2: E4M3 masked (decode); e = local experts */
    if ((t = add(out, &n, max, "permute tokens (local dispatch)", "moe_dispatch"))) {
        t->dtype = ph == KBR_PREFILL ? "e4m3" : "e4m3masked";
        t->bytes = 2 * T * KB_V3_TOPK * disp_b; /* read + write each copy */
        snprintf(t->dims, sizeof t->dims, "t=%.0f;e=%.0f;skew=0;fmt=%d", T, g, ph == KBR_PREFILL ? 0 : 2);
    }
    if ((t = add(out, &n, max, "EP dispatch all-to-all", "ep_dispatch"))) {
        t->dtype = "e4m3";
        t->bytes = 2 * T * KB_V3_TOPK * disp_b;
        t->link_bytes = T * KB_V3_TOPK * disp_b * remote;
        ep_dims(t, T, E);
    }
    int layout = ph == KBR_PREFILL ? 1 : 2;
    grouped(add(out, &n, max, "experts gate+up (grouped)", "fp8_gemm_grouped"), layout, g, m, 2 * KB_V3_MOE_FFN, KB_V3_HID);
    grouped(add(out, &n, max, "experts down (grouped)", "fp8_gemm_grouped"), layout, g, m, KB_V3_HID, KB_V3_MOE_FFN);
    gemm(add(out, &n, max, "shared expert gate+up", "fp8_gemm"), T, 2 * KB_V3_MOE_FFN, KB_V3_HID);
    gemm(add(out, &n, max, "shared expert down", "fp8_gemm"), T, KB_V3_HID, KB_V3_MOE_FFN);
    if ((t = add(out, &n, max, "EP combine all-to-all", "ep_combine"))) {
        t->dtype = "bf16";
        t->bytes = 2 * T * KB_V3_TOPK * KB_V3_COMBINE_B;
        t->link_bytes = T * KB_V3_TOPK * KB_V3_COMBINE_B * remote;
        ep_dims(t, T, E);
    }
    if ((t = add(out, &n, max, "weighted combine (local)", "moe_combine"))) {
        t->dtype = "bf16";
        t->bytes = T * KB_V3_TOPK * KB_V3_COMBINE_B + 2 * T * KB_V3_HID;
        t->flops = 2 * T * KB_V3_TOPK * KB_V3_HID;
        t->peak = KB_PEAK_BF16; /* as before: its FLOPs counted at the BF16 peak */
        snprintf(t->dims, sizeof t->dims, "t=%.0f;e=%.0f;skew=0", T, g);
    }
    *np = n;
}

int kbr_layer_terms(const kbr_cfg *c, kbr_phase ph, kbr_layer ly, kbr_term *out, int max)
{
    int n = 0;
    double T = ph == KBR_PREFILL ? c->prefill_tokens : c->decode_batch;
    double E = ph == KBR_PREFILL ? c->ep_prefill : c->ep_decode;
    attention_terms(c, ph, T, out, &n, max);
    if (ly == KBR_MOE) {
        moe_terms(ph, T, E, out, &n, max);
        return n;
    }
    gemm(add(out, &n, max, "dense gate+up", "fp8_gemm"), T, 2 * KB_V3_DENSE_FFN, KB_V3_HID);
    gemm(add(out, &n, max, "dense down", "fp8_gemm"), T, KB_V3_HID, KB_V3_DENSE_FFN);
    return n;
}

/* The value of `name` (len bytes) in "a=1;b=2", or NULL; *vlen its length. */
static const char *dim_value(const char *dims, const char *name, size_t len, size_t *vlen)
{
    for (const char *p = dims; *p;) {
        const char *end = strchr(p, ';'), *eq = strchr(p, '=');
        if (!end) end = p + strlen(p);
        if (eq && eq < end && (size_t)(eq - p) == len && !strncmp(p, name, len)) {
            *vlen = (size_t)(end - eq - 1);
            return eq + 1;
        }
        p = *end ? end + 1 : end;
    }
    return NULL;
}

static int same_value(const char *a, size_t alen, const char *b, size_t blen)
{
    char x[48], y[48];
    double u, v;
    if (alen >= sizeof x || blen >= sizeof y) return alen == blen && !strncmp(a, b, alen);
    snprintf(x, sizeof x, "%.*s", (int)alen, a);
    snprintf(y, sizeof y, "%.*s", (int)blen, b);
    if (*x && *y && kb_parse_num(x, &u) == 0 && kb_parse_num(y, &v) == 0) return u == v;
    return !strcmp(x, y);
}

int kbr_term_matches(const kbr_term *t, const char *op, const char *dtype, const char *dims)
{
    return !strcmp(t->op, op) && t->dtype && !strcmp(t->dtype, dtype) && kbr_dims_match(t->dims, dims) &&
           kbr_dims_match(dims, t->dims);
}

int kbr_dims_match(const char *want, const char *have)
{
    for (const char *p = want; *p;) {
        const char *end = strchr(p, ';'), *eq = strchr(p, '=');
        if (!end) end = p + strlen(p);
        if (!eq || eq > end) return 0; /* a malformed want matches nothing */
        size_t vlen;
        const char *v = dim_value(have, p, (size_t)(eq - p), &vlen);
        if (!v || !same_value(eq + 1, (size_t)(end - eq - 1), v, vlen)) return 0;
        p = *end ? end + 1 : end;
    }
    return 1;
}
