/* test_moe_cpu.c - CPU-only checks of the MoE reference: routing on
 * hand-built cases, the layout builder's invariants, dispatch/combine round
 * trip, and the byte/FLOP counts against numbers computed by hand. */
#include <stdint.h>
#include <stdlib.h>
#include "kbtest.h"
#include "bench/kb.h"
#include "reference/moe_cpu.h"
#include "kernels/moe/moe.h"
#include "kernels/moe/moe_math.h"

static void fill(float *a, int n, float v)
{
    for (int i = 0; i < n; i++) a[i] = v;
}

static void test_exp_sigmoid(void)
{
    double worst = 0;
    for (int i = -8600; i <= 8600; i++) {
        float x = (float)i * 0.01f + 0.00371f;
        double rel = fabs((double)moe_exp(x) - exp((double)x)) / exp((double)x);
        if (rel > worst) worst = rel;
    }
    KBT_CHECK(worst < 4e-7); /* ~3 ulp */
    KBT_NEAR(moe_sigmoid(0.0f), 0.5, 1e-7);
    KBT_NEAR(moe_sigmoid(-1.0f), 1.0 / (1.0 + exp(1.0)), 1e-7);
    KBT_NEAR(moe_sigmoid(3.0f), 1.0 / (1.0 + exp(-3.0)), 1e-7);
    KBT_CHECK(moe_sigmoid(-200.0f) > 0.0f && moe_sigmoid(200.0f) == 1.0f);
    float sc, inv;
    moe_quant_scale(448.0f, &sc, &inv);
    KBT_CHECK(sc == 1.0f && inv == 1.0f);
    moe_quant_scale(0.0f, &sc, &inv); /* clamped to 1e-4 */
    KBT_NEAR(sc, 1e-4 / 448.0, 1e-6);
}

static void test_route_cases(void)
{
    float lg[256], bias[256];
    int32_t idx[8];
    float w[8];

    /* Group limiting: expert 5 (group 0) is by far the strongest, but group
     * 0's second best is weak, so groups 1..4 (two experts at logit 1 each)
     * outscore it and expert 5 must NOT be picked. */
    fill(lg, 256, -10.0f);
    fill(bias, 256, 0.0f);
    lg[5] = 5.0f;
    for (int g = 1; g <= 4; g++) lg[32 * g] = lg[32 * g + 1] = 1.0f;
    moe_select_token(lg, bias, idx, w);
    const int32_t want1[8] = {32, 33, 64, 65, 96, 97, 128, 129};
    for (int k = 0; k < 8; k++) {
        KBT_CHECK(idx[k] == want1[k]);
        KBT_NEAR(w[k], 2.5 / 8, 1e-6); /* equal scores -> equal weights */
    }

    /* Bias changes the selection, not the weights: experts 0..8 at logit 0
     * (s = 0.5) tie; expert 9 at logit -1 (s = 0.2689) gets bias +0.5 and is
     * picked first; then 0..6 (ties -> lower index), 7 and 8 are left out. */
    fill(lg, 256, -10.0f);
    fill(bias, 256, 0.0f);
    for (int e = 0; e <= 8; e++) lg[e] = 0.0f;
    lg[9] = -1.0f;
    bias[9] = 0.5f;
    moe_select_token(lg, bias, idx, w);
    const int32_t want2[8] = {9, 0, 1, 2, 3, 4, 5, 6};
    for (int k = 0; k < 8; k++) KBT_CHECK(idx[k] == want2[k]);
    double s9 = 1.0 / (1.0 + exp(1.0)); /* by hand: weights use s, not s + bias */
    KBT_NEAR(w[0], 2.5 * s9 / (s9 + 7 * 0.5), 1e-6);
    KBT_NEAR(w[1], 2.5 * 0.5 / (s9 + 7 * 0.5), 1e-6);
    double sum = 0;
    for (int k = 0; k < 8; k++) sum += w[k];
    KBT_NEAR(sum, 2.5, 1e-6);

    /* Ties everywhere: all logits equal -> groups 0..3 kept, experts 0..7. */
    fill(lg, 256, 0.25f);
    fill(bias, 256, 0.0f);
    moe_select_token(lg, bias, idx, w);
    for (int k = 0; k < 8; k++) KBT_CHECK(idx[k] == k);
    /* Ties in group scores: groups 6 and 7 hold the only strong experts
     * (one each, so their scores tie with each other); the remaining two kept
     * groups are 0 and 1 (lowest indices among the weak ones). */
    fill(lg, 256, -3.0f);
    lg[200] = 2.0f;
    lg[250] = 2.0f;
    moe_select_token(lg, bias, idx, w);
    KBT_CHECK(idx[0] == 200 && idx[1] == 250);
    for (int k = 2; k < 8; k++) KBT_CHECK(idx[k] == k - 2); /* 0..5 from group 0 */
    /* Negative bias pushes a strong expert out of the top-8. */
    fill(lg, 256, 0.0f);
    lg[3] = 2.0f;
    bias[3] = -0.9f;
    moe_select_token(lg, bias, idx, w);
    for (int k = 0; k < 8; k++) KBT_CHECK(idx[k] != 3);
}

static void test_route_gemm(void)
{
    /* Tiny GEMM by hand: hidden 4, two experts. */
    uint16_t x[4], wg[8];
    const float xv[4] = {1, 2, -1, 0.5f}, wv[8] = {1, 1, 1, 1, 0.5f, -2, 4, 2};
    for (int i = 0; i < 4; i++) x[i] = kb_f32_to_bf16(xv[i]);
    for (int i = 0; i < 8; i++) wg[i] = kb_f32_to_bf16(wv[i]);
    double lg[2], ab[2];
    moe_route_logits_token_cpu(x, wg, 4, 2, lg, ab);
    KBT_NEAR(lg[0], 2.5, 1e-12);
    KBT_NEAR(lg[1], 0.5 - 4 - 4 + 1, 1e-12);
    KBT_NEAR(ab[1], 0.5 + 4 + 4 + 1, 1e-12);
}

/* Random distinct top-8 over E experts (E >= 8), plus some -1 slots. */
static void random_topk(int32_t *idx, int T, int E, int with_neg, kb_rng *r)
{
    for (int t = 0; t < T; t++)
        for (int k = 0; k < 8; k++) {
            int e;
            int dup;
            do {
                e = (int)(kb_rng_next(r) % (uint64_t)E);
                dup = 0;
                for (int j = 0; j < k; j++) dup |= idx[t * 8 + j] == e;
            } while (dup);
            idx[t * 8 + k] = e;
            if (with_neg && kb_rng_uniform(r) < 0.1) idx[t * 8 + k] = -1;
        }
}

static void test_layout(void)
{
    /* Hand case: 3 tokens, topk 2, 3 experts, align 4.
     * topk_idx = {(2,0), (0,2), (2,-1)} -> counts {2,0,3}; offsets {0,4,4,8};
     * expert 0 rows: slot 1 -> 0, slot 2 -> 1; expert 2: slots 0,3,4 -> 4,5,6. */
    const int32_t ti[6] = {2, 0, 0, 2, 2, -1};
    int32_t counts[3], offsets[4], row_of[6], gi[12];
    int64_t mt = moe_layout_build(ti, 3, 2, 3, 4, counts, offsets, row_of);
    KBT_CHECK(mt == 8);
    KBT_CHECK(counts[0] == 2 && counts[1] == 0 && counts[2] == 3);
    KBT_CHECK(offsets[0] == 0 && offsets[1] == 4 && offsets[2] == 4 && offsets[3] == 8);
    const int32_t want_row[6] = {4, 0, 1, 5, 6, -1};
    for (int i = 0; i < 6; i++) KBT_CHECK(row_of[i] == want_row[i]);
    KBT_CHECK(moe_layout_m_cap(3, 2, 3, 4) == 16); /* 6 + 9 = 15 -> 16 */
    moe_layout_group_idx(counts, offsets, 3, gi, 12);
    const int32_t want_gi[12] = {0, 0, -1, -1, 2, 2, 2, -1, -1, -1, -1, -1};
    for (int i = 0; i < 12; i++) KBT_CHECK(gi[i] == want_gi[i]);
    int32_t mrow[6];
    KBT_CHECK(moe_layout_build_masked(ti, 3, 2, 3, 5, counts, mrow) == 3);
    const int32_t want_m[6] = {10, 0, 1, 11, 12, -1};
    for (int i = 0; i < 6; i++) KBT_CHECK(mrow[i] == want_m[i]);
    KBT_CHECK(moe_layout_build_masked(ti, 3, 2, 3, 2, counts, mrow) == -1); /* 3 > m_max */
    const int32_t bad[2] = {0, 3};
    KBT_CHECK(moe_layout_build(bad, 1, 2, 3, 4, counts, offsets, row_of) == -1);

    /* Random invariants: every valid slot exactly once, inside its expert's
     * segment, segments aligned, padding rows never referenced, ascending
     * slot order inside a segment. */
    kb_rng r;
    kb_rng_seed(&r, 42);
    const int Es[3] = {256, 32, 8};
    for (int ci = 0; ci < 3; ci++) {
        int T = 300, E = Es[ci];
        int32_t *idx = malloc(sizeof(int32_t) * T * 8), *row = malloc(sizeof(int32_t) * T * 8);
        int32_t cnt[256], off[257];
        random_topk(idx, T, E, 1, &r);
        int64_t cap = moe_layout_m_cap(T, 8, E, 128);
        int64_t m = moe_layout_build(idx, T, 8, E, 128, cnt, off, row);
        int *seen = calloc((size_t)cap, sizeof(int));
        int32_t *g = malloc(sizeof(int32_t) * (size_t)cap);
        moe_layout_group_idx(cnt, off, E, g, cap);
        int ok_seg = 1, ok_once = 1, ok_order = 1, nvalid = 0;
        KBT_CHECK(m > 0 && m <= cap && m == off[E]);
        for (int e = 0; e < E; e++) ok_seg &= off[e] % 128 == 0 && off[e + 1] - off[e] >= cnt[e] &&
                                               off[e + 1] - off[e] < cnt[e] + 128;
        for (int i = 0; i < T * 8; i++) {
            if (idx[i] < 0) {
                ok_once &= row[i] == -1;
                continue;
            }
            nvalid++;
            int e = idx[i];
            ok_once &= row[i] >= off[e] && row[i] < off[e] + cnt[e] && g[row[i]] == e;
            if (row[i] >= 0 && row[i] < cap) seen[row[i]]++;
            for (int j = i + 1; j < T * 8; j++)
                if (idx[j] == e) {
                    ok_order &= row[j] == row[i] + 1;
                    break;
                }
        }
        int64_t referenced = 0, bad_ref = 0;
        for (int64_t q = 0; q < cap; q++) {
            referenced += seen[q];
            if (seen[q] > 1 || (seen[q] == 1) != (g[q] >= 0)) bad_ref++;
        }
        KBT_CHECK(ok_seg);
        KBT_CHECK(ok_once);
        KBT_CHECK(ok_order);
        KBT_CHECK(referenced == nvalid && bad_ref == 0);
        free(idx);
        free(row);
        free(seen);
        free(g);
    }
}

static void test_roundtrip(void)
{
    /* combine(dispatch(x)) with identity experts = x * sum_k w = 2.5 x when
     * the weights come from the router and every slot is local. */
    const int T = 37, K = 256, E = 32;
    kb_rng r;
    kb_rng_seed(&r, 7);
    uint16_t *x = malloc(sizeof(uint16_t) * T * K);
    for (int i = 0; i < T * K; i++) x[i] = kb_f32_to_bf16((float)kb_rng_normal(&r));
    float lg[256], bias[256], *w = malloc(sizeof(float) * T * 8);
    int32_t *gidx = malloc(sizeof(int32_t) * T * 8), *idx = malloc(sizeof(int32_t) * T * 8);
    for (int e = 0; e < 256; e++) bias[e] = (float)(0.02 * kb_rng_normal(&r));
    for (int t = 0; t < T; t++) {
        for (int e = 0; e < 256; e++) lg[e] = (float)kb_rng_normal(&r);
        moe_select_token(lg, bias, gidx + t * 8, w + t * 8);
    }
    for (int i = 0; i < T * 8; i++) idx[i] = gidx[i] % E; /* EP8-style local mapping */
    int64_t cap = moe_layout_m_cap(T, 8, E, 128);
    int32_t cnt[32], off[33], *row = malloc(sizeof(int32_t) * T * 8);
    int64_t m = moe_layout_build(idx, T, 8, E, 128, cnt, off, row);
    KBT_CHECK(m > 0 && m <= cap);
    uint16_t *perm = malloc(sizeof(uint16_t) * (size_t)cap * K);
    for (int64_t i = 0; i < cap * K; i++) perm[i] = 0x7fc0; /* NaN padding: must never be read */
    moe_dispatch_bf16_cpu(x, T, 8, K, row, perm);
    double *y = malloc(sizeof(double) * T * K);
    moe_combine_cpu(perm, row, w, T, 8, K, y);
    double worst = 0;
    for (int i = 0; i < T * K; i++) {
        double d = fabs(y[i] - 2.5 * kb_bf16_to_f32(x[i]));
        if (!(d <= worst)) worst = d;
    }
    KBT_CHECK(worst < 1e-5); /* fp32 weights sum to 2.5 within ~1e-6 relative */

    /* E4M3 dispatch: dequantised rows within half an E4M3 ulp (2^-4 rel) of x. */
    uint8_t *q = malloc((size_t)cap * K);
    float *sa = malloc(sizeof(float) * (size_t)cap * (K / 128));
    moe_dispatch_e4m3_cpu(x, T, 8, K, row, q, sa, cap);
    int bad = 0;
    for (int i = 0; i < T * 8; i++)
        for (int j = 0; j < K; j++) {
            double xv = kb_bf16_to_f32(x[(i / 8) * K + j]);
            double dq = kb_e4m3_to_f32(q[(size_t)row[i] * K + j]) * sa[(size_t)(j / 128) * cap + row[i]];
            if (!(fabs(dq - xv) <= fabs(xv) / 16 + sa[(size_t)(j / 128) * cap + row[i]] / 512)) bad++;
        }
    KBT_CHECK(bad == 0);
    free(x); free(w); free(gidx); free(idx); free(row); free(perm); free(y); free(q); free(sa);
}

static void test_quant_hand(void)
{
    /* One group whose amax is 3.5: scale = 3.5/448, x * 128 -> 3.5 -> 448. */
    uint16_t x[128];
    for (int j = 0; j < 128; j++) x[j] = kb_f32_to_bf16(j == 7 ? -3.5f : (j == 9 ? 1.0f : 0.0f));
    uint8_t q[128];
    float sc;
    moe_quant_row_cpu(x, 128, q, &sc);
    KBT_NEAR(sc, 3.5 / 448.0, 1e-7);
    KBT_CHECK(q[7] == 0xfe);         /* -448 */
    KBT_CHECK(q[9] == 0x70);         /* 128 = 2^7: exponent 14, mantissa 0 */
    KBT_CHECK(q[0] == 0x00);
}

static void test_bytes(void)
{
    /* Hand numbers, T = 128 (R = 1024 slots), K = 7168, E = 256. */
    KBT_NEAR(moe_route_flops(128), 2.0 * 128 * 256 * 7168, 0);
    /* x 1835008 + Wg 3670016 + bias 1024 + logits 131072 + idx 4096 + w 4096 */
    KBT_NEAR(moe_route_bytes(128), 5645312.0, 0);
    /* e4m3: x 1835008 + idx 4096 + rows 7340032 + scales 229376 + row_of 4096
     * + counts 1024 + offsets 1028 + group_idx: every one of the m_cap rows,
     * m_cap = 1024 + 256 * 127 = 33536 (already a multiple of 128), 4 * 33536
     * = 134144 (the real rows alone, 4096, were counted before: -1.36%). */
    KBT_NEAR(moe_dispatch_bytes(128, 256, MOE_FMT_E4M3), 9548804.0, 0);
    /* bf16: rows 14680064 instead of rows + scales */
    KBT_NEAR(moe_dispatch_bytes(128, 256, MOE_FMT_BF16), 16659460.0, 0);
    /* e4m3, E = 8, T = 4096: R = 32768, m_cap = 32768 + 8 * 127 = 33784 ->
     * 33792; x 58720256 + idx 131072 + rows 234881024 + scales 7340032 +
     * row_of 131072 + counts 32 + offsets 36 + group_idx 135168 */
    KBT_NEAR(moe_dispatch_bytes(4096, 8, MOE_FMT_E4M3), 301338692.0, 0);
    /* masked, E = 8: x + idx + rows + scales + row_of + counts 32 */
    KBT_NEAR(moe_dispatch_bytes(128, 8, MOE_FMT_E4M3_MASKED), 9412640.0, 0);
    /* combine: rows 14680064 + row_of 4096 + w 4096 + y 1835008 */
    KBT_NEAR(moe_combine_bytes(128), 16523264.0, 0);
}

int main(void)
{
    test_exp_sigmoid();
    test_route_cases();
    test_route_gemm();
    test_layout();
    test_roundtrip();
    test_quant_hand();
    test_bytes();
    return kbt_done("test_moe_cpu");
}
