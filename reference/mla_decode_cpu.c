/* mla_decode_cpu.c - plain C reference for MLA decode, double accumulation.
 * The FP8 cache is dequantised exactly (e4m3 value * fp32 scale, in double). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/common/kb_base.h"
#include "reference/mla_decode_cpu.h"
#include "kernels/mla_decode/mla_decode.h"

void mla_cpu_load_token(const void *tok, int fp8kv, double *k)
{
    if (!fp8kv) {
        const uint16_t *p = tok;
        for (int d = 0; d < MLA_D_QK; d++) k[d] = kb_bf16_to_f32(p[d]);
        return;
    }
    const uint8_t *p = tok;
    float sc[4];
    memcpy(sc, p + MLA_FP8_SCALE_OFF, sizeof sc);
    for (int d = 0; d < MLA_D_V; d++) k[d] = (double)kb_e4m3_to_f32(p[d]) * (double)sc[d / 128];
    uint16_t rope[64];
    memcpy(rope, p + MLA_FP8_ROPE_OFF, sizeof rope);
    for (int d = 0; d < 64; d++) k[MLA_D_V + d] = kb_bf16_to_f32(rope[d]);
}

const void *mla_cpu_token_ptr(const void *cache, int fp8kv, const int32_t *block_row, int t)
{
    size_t tok = (size_t)block_row[t / MLA_PAGE] * MLA_PAGE + (size_t)(t % MLA_PAGE);
    size_t bytes = fp8kv ? MLA_FP8_TOKEN_BYTES : 2 * MLA_D_QK;
    return (const uint8_t *)cache + tok * bytes;
}

void mla_cpu_attend(const uint16_t *q, const void *cache, int fp8kv, const int32_t *block_row,
                    int begin, int end, int n_visible, double scale, double *o, double *lse)
{
    double qd[MLA_D_QK], k[MLA_D_QK];
    for (int d = 0; d < MLA_D_QK; d++) qd[d] = kb_bf16_to_f32(q[d]);
    if (end > n_visible) end = n_visible;
    for (int d = 0; d < MLA_D_V; d++) o[d] = 0;
    if (end <= begin) {
        *lse = -INFINITY;
        return;
    }
    /* two passes: scores (to find the max), then weights */
    int n = end - begin;
    double *s = malloc((size_t)n * sizeof(double));
    double m = -INFINITY;
    for (int t = begin; t < end; t++) {
        mla_cpu_load_token(mla_cpu_token_ptr(cache, fp8kv, block_row, t), fp8kv, k);
        double acc = 0;
        for (int d = 0; d < MLA_D_QK; d++) acc += qd[d] * k[d];
        s[t - begin] = acc * scale;
        if (s[t - begin] > m) m = s[t - begin];
    }
    double l = 0;
    for (int t = begin; t < end; t++) {
        double p = exp(s[t - begin] - m);
        l += p;
        mla_cpu_load_token(mla_cpu_token_ptr(cache, fp8kv, block_row, t), fp8kv, k);
        for (int d = 0; d < MLA_D_V; d++) o[d] += p * k[d];
    }
    for (int d = 0; d < MLA_D_V; d++) o[d] /= l;
    *lse = m + log(l);
    free(s);
}

void mla_decode_cpu(const uint16_t *q, const void *cache, int fp8kv, const int32_t *block_table,
                    int max_blocks, const int32_t *seqlens, int b, int s_q, int h_q, double scale,
                    double *o, double *lse)
{
    for (int bi = 0; bi < b; bi++)
        for (int i = 0; i < s_q; i++)
            for (int h = 0; h < h_q; h++) {
                size_t row = ((size_t)bi * s_q + i) * h_q + h;
                int vis = seqlens[bi] - s_q + 1 + i;
                mla_cpu_attend(q + row * MLA_D_QK, cache, fp8kv, block_table + (size_t)bi * max_blocks, 0,
                               seqlens[bi], vis, scale, o + row * MLA_D_V,
                               &lse[((size_t)bi * h_q + h) * s_q + i]);
            }
}

void mla_cpu_combine(int n, const double *o_parts, const double *lse_parts, int dv, double *o,
                     double *lse)
{
    double m = -INFINITY;
    for (int i = 0; i < n; i++)
        if (lse_parts[i] > m) m = lse_parts[i];
    for (int d = 0; d < dv; d++) o[d] = 0;
    if (m == -INFINITY) {
        *lse = -INFINITY;
        return;
    }
    double sum = 0;
    for (int i = 0; i < n; i++)
        if (lse_parts[i] != -INFINITY) sum += exp(lse_parts[i] - m);
    *lse = m + log(sum);
    for (int i = 0; i < n; i++) {
        if (lse_parts[i] == -INFINITY) continue;
        double w = exp(lse_parts[i] - *lse);
        for (int d = 0; d < dv; d++) o[d] += w * o_parts[(size_t)i * dv + d];
    }
}

int mla_cpu_visible(int len, int s_q, int i)
{
    const int v = len - s_q + 1 + i;
    return v < 0 ? 0 : (v > len ? len : v);
}

double mla_lse_err(double got, double ref)
{
    if (ref == -INFINITY) return got == -INFINITY ? 0.0 : INFINITY;
    if (!isfinite(got) || !isfinite(ref)) return INFINITY;
    return fabs(got - ref) / (1.0 + 1e-2 * fabs(ref));
}
