/* moe_cpu.c - CPU reference for moe_route / moe_dispatch / moe_combine and the
 * shared layout builder (see moe_cpu.h; semantics in kernels/moe/moe.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/common/kb_base.h"
#include "reference/moe_cpu.h"
#include "kernels/moe/moe.h"
#include "kernels/moe/moe_math.h"

/* ---- layout builder ------------------------------------------------------- */
int64_t moe_layout_m_cap(int n_tokens, int topk, int n_experts, int align)
{
    int64_t m = (int64_t)n_tokens * topk + (int64_t)n_experts * (align - 1);
    return (m + align - 1) / align * align;
}

int64_t moe_layout_build(const int32_t *topk_idx, int n_tokens, int topk, int n_experts, int align,
                         int32_t *counts, int32_t *offsets, int32_t *row_of)
{
    int64_t n = (int64_t)n_tokens * topk;
    memset(counts, 0, (size_t)n_experts * sizeof *counts);
    for (int64_t i = 0; i < n; i++) {
        int e = topk_idx[i];
        if (e >= n_experts) return -1;
        if (e >= 0) counts[e]++;
    }
    offsets[0] = 0;
    for (int e = 0; e < n_experts; e++)
        offsets[e + 1] = offsets[e] + (counts[e] + align - 1) / align * align;
    /* Second pass in ascending slot order: rank = running fill of the segment. */
    int32_t *fill = calloc((size_t)n_experts, sizeof *fill);
    if (!fill) return -1;
    for (int64_t i = 0; i < n; i++) {
        int e = topk_idx[i];
        row_of[i] = e < 0 ? -1 : offsets[e] + fill[e]++;
    }
    free(fill);
    return offsets[n_experts];
}

void moe_layout_group_idx(const int32_t *counts, const int32_t *offsets, int n_experts,
                          int32_t *group_idx, int64_t m_cap)
{
    for (int64_t r = 0; r < m_cap; r++) group_idx[r] = -1;
    for (int e = 0; e < n_experts; e++)
        for (int32_t r = offsets[e]; r < offsets[e] + counts[e] && r < m_cap; r++) group_idx[r] = e;
}

int moe_layout_build_masked(const int32_t *topk_idx, int n_tokens, int topk, int n_experts, int m_max,
                            int32_t *counts, int32_t *row_of)
{
    int64_t n = (int64_t)n_tokens * topk;
    memset(counts, 0, (size_t)n_experts * sizeof *counts);
    int maxc = 0;
    for (int64_t i = 0; i < n; i++) {
        int e = topk_idx[i];
        if (e >= n_experts) return -1;
        if (e < 0) {
            row_of[i] = -1;
            continue;
        }
        int r = counts[e]++;
        if (r >= m_max) return -1;
        row_of[i] = e * m_max + r;
        if (counts[e] > maxc) maxc = counts[e];
    }
    return maxc;
}

/* ---- routing -------------------------------------------------------------- */
void moe_route_logits_token_cpu(const uint16_t *x_row, const uint16_t *wg, int hidden, int n_experts,
                                double *logits, double *abs_sum)
{
    double *xf = malloc((size_t)hidden * sizeof *xf);
    if (!xf) return;
    for (int k = 0; k < hidden; k++) xf[k] = kb_bf16_to_f32(x_row[k]);
    for (int e = 0; e < n_experts; e++) {
        const uint16_t *w = wg + (size_t)e * hidden;
        double acc = 0, aacc = 0;
        for (int k = 0; k < hidden; k++) {
            double p = xf[k] * (double)kb_bf16_to_f32(w[k]);
            acc += p;
            aacc += fabs(p);
        }
        logits[e] = acc;
        if (abs_sum) abs_sum[e] = aacc;
    }
    free(xf);
}

void moe_route_select_cpu(const float *logits, const float *bias, int n_tokens,
                          int32_t *topk_idx, float *topk_w)
{
    for (int t = 0; t < n_tokens; t++)
        moe_select_token(logits + (size_t)t * MOE_N_EXPERTS, bias, topk_idx + (size_t)t * MOE_TOPK,
                         topk_w + (size_t)t * MOE_TOPK);
}

void moe_route_cpu(const uint16_t *x, const uint16_t *wg, const float *bias, int n_tokens, int hidden,
                   float *logits_out, int32_t *topk_idx, float *topk_w)
{
    double lg[MOE_N_EXPERTS];
    float lf[MOE_N_EXPERTS];
    for (int t = 0; t < n_tokens; t++) {
        moe_route_logits_token_cpu(x + (size_t)t * hidden, wg, hidden, MOE_N_EXPERTS, lg, NULL);
        for (int e = 0; e < MOE_N_EXPERTS; e++) lf[e] = (float)lg[e];
        if (logits_out) memcpy(logits_out + (size_t)t * MOE_N_EXPERTS, lf, sizeof lf);
        moe_select_token(lf, bias, topk_idx + (size_t)t * MOE_TOPK, topk_w + (size_t)t * MOE_TOPK);
    }
}

/* ---- dispatch ------------------------------------------------------------- */
void moe_quant_row_cpu(const uint16_t *x_row, int hidden, uint8_t *q, float *scales)
{
    for (int g = 0; g < hidden / MOE_QBLOCK; g++) {
        const uint16_t *xs = x_row + g * MOE_QBLOCK;
        float amax = 0.0f;
        for (int j = 0; j < MOE_QBLOCK; j++) {
            float a = fabsf(kb_bf16_to_f32(xs[j]));
            if (a > amax) amax = a;
        }
        float scale, inv;
        moe_quant_scale(amax, &scale, &inv);
        scales[g] = scale;
        for (int j = 0; j < MOE_QBLOCK; j++)
            q[g * MOE_QBLOCK + j] = kb_f32_to_e4m3(moe_mul(kb_bf16_to_f32(xs[j]), inv));
    }
}

void moe_dispatch_bf16_cpu(const uint16_t *x, int n_tokens, int topk, int hidden, const int32_t *row_of,
                           uint16_t *out)
{
    for (int64_t i = 0; i < (int64_t)n_tokens * topk; i++)
        if (row_of[i] >= 0)
            memcpy(out + (size_t)row_of[i] * hidden, x + (size_t)(i / topk) * hidden,
                   (size_t)hidden * sizeof *out);
}

void moe_dispatch_e4m3_cpu(const uint16_t *x, int n_tokens, int topk, int hidden, const int32_t *row_of,
                           uint8_t *out, float *sa, int64_t sa_ld)
{
    int nb = hidden / MOE_QBLOCK;
    float *sc = malloc((size_t)nb * sizeof *sc);
    if (!sc) return;
    for (int64_t i = 0; i < (int64_t)n_tokens * topk; i++) {
        int32_t r = row_of[i];
        if (r < 0) continue;
        moe_quant_row_cpu(x + (size_t)(i / topk) * hidden, hidden, out + (size_t)r * hidden, sc);
        for (int g = 0; g < nb; g++) sa[(size_t)g * sa_ld + r] = sc[g];
    }
    free(sc);
}

/* ---- combine -------------------------------------------------------------- */
void moe_combine_cpu(const uint16_t *expert_out, const int32_t *row_of, const float *topk_w,
                     int n_tokens, int topk, int hidden, double *y)
{
    for (int t = 0; t < n_tokens; t++) {
        double *yt = y + (size_t)t * hidden;
        for (int j = 0; j < hidden; j++) yt[j] = 0;
        for (int k = 0; k < topk; k++) {
            int32_t r = row_of[(size_t)t * topk + k];
            if (r < 0) continue;
            double w = topk_w[(size_t)t * topk + k];
            const uint16_t *row = expert_out + (size_t)r * hidden;
            for (int j = 0; j < hidden; j++) yt[j] += w * kb_bf16_to_f32(row[j]);
        }
    }
}

/* ---- benchmark routing ---------------------------------------------------- */
void moe_routing_random(uint64_t seed, int T, int E, int skew, int32_t *idx)
{
    kb_rng r;
    kb_rng_seed(&r, seed);
    double wt[MOE_N_EXPERTS];
    for (int e = 0; e < MOE_N_EXPERTS; e++) wt[e] = 1.0;
    if (skew) wt[3] = wt[40] = wt[77] = wt[150] = 32.0;
    double total0 = 0;
    for (int e = 0; e < MOE_N_EXPERTS; e++) total0 += wt[e];
    for (int t = 0; t < T; t++) {
        uint32_t taken[8] = {0};
        double total = total0;
        for (int k = 0; k < MOE_TOPK; k++) {
            double u = kb_rng_uniform(&r) * total;
            int pick = -1;
            for (int e = 0; e < MOE_N_EXPERTS; e++) {
                if (taken[e >> 5] >> (e & 31) & 1u) continue;
                pick = e;
                if (u < wt[e]) break;
                u -= wt[e];
            }
            taken[pick >> 5] |= 1u << (pick & 31);
            total -= wt[pick];
            idx[(size_t)t * MOE_TOPK + k] = pick % E;
        }
    }
}

/* ---- napkin math -----------------------------------------------------------
 * K = 7168, R = T * 8 slots (the benchmark's routing keeps every slot local,
 * see bench/ops/op_moe_dispatch.c), E = local experts.
 * route:    reads x (2TK) and Wg (2*256*K) and bias (1 KB); writes the FP32
 *           logits (4*256*T: an output, needed to verify exactly), topk_idx
 *           and topk_w (4*8*T each).  FLOPs = 2*T*256*K (gate GEMM; the
 *           selection's ~10k scalar ops per token are not counted).
 * dispatch: read x once (2TK) and topk_idx (4R); write the permuted rows
 *           (R*K bytes E4M3 or 2*R*K BF16), the scales (4*R*K/128, E4M3),
 *           row_of (4R), counts (4E); contiguous also offsets (4(E+1)) and
 *           group_idx: every one of its m_cap entries is written (the expert
 *           of a real row, -1 on padding rows and rows >= m_total) and
 *           verified, so 4*m_cap (m_cap = moe_layout_m_cap(T, 8, E, 128), the
 *           size the op allocates; at T=128, E=256: 33536 entries, 1.4% of
 *           the bytes).
 * combine:  read R expert rows (2*R*K) + row_of + topk_w (4R each), write y (2TK). */
double moe_route_flops(int n_tokens) { return 2.0 * n_tokens * MOE_N_EXPERTS * MOE_HIDDEN; }

double moe_route_bytes(int n_tokens)
{
    double t = n_tokens;
    return 2.0 * t * MOE_HIDDEN + 2.0 * MOE_N_EXPERTS * MOE_HIDDEN + 4.0 * MOE_N_EXPERTS
         + 4.0 * t * MOE_N_EXPERTS + 2 * 4.0 * t * MOE_TOPK;
}

double moe_dispatch_bytes(int n_tokens, int n_experts, int fmt)
{
    double t = n_tokens, r = t * MOE_TOPK, k = MOE_HIDDEN, e = n_experts;
    double b = 2.0 * t * k + 4.0 * r /* topk_idx */ + 4.0 * r /* row_of */ + 4.0 * e /* counts */;
    if (fmt == MOE_FMT_BF16) b += 2.0 * r * k;
    else b += r * k + 4.0 * r * (k / MOE_QBLOCK);
    if (fmt != MOE_FMT_E4M3_MASKED)
        b += 4.0 * (double)moe_layout_m_cap(n_tokens, MOE_TOPK, n_experts, MOE_ALIGN) /* group_idx */
           + 4.0 * (e + 1) /* offsets */;
    return b;
}

double moe_combine_bytes(int n_tokens)
{
    double t = n_tokens, r = t * MOE_TOPK;
    return 2.0 * r * MOE_HIDDEN + 8.0 * r + 2.0 * t * MOE_HIDDEN;
}
