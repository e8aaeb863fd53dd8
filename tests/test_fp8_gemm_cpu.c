/* test_fp8_gemm_cpu.c - the FP8 CPU references against hand-computed cases:
 * E4M3 decode/encode (round trip, saturation, NaN, subnormals, ties), the
 * quantisation scale rule and both quantisation layouts, and the
 * block-scaled GEMM reference in all three layouts. */
#include <math.h>
#include <string.h>
#include "kbtest.h"
#include "bench/kb.h"
#include "reference/fp8_gemm_cpu.h"
#include "bench/ops/fp8_common.h"

static void test_e4m3(void)
{
    KBT_CHECK(kb_e4m3_to_f32(0x38) == 1.0f);
    KBT_CHECK(kb_e4m3_to_f32(0x40) == 2.0f);
    KBT_CHECK(kb_e4m3_to_f32(0x3c) == 1.5f);
    KBT_CHECK(kb_e4m3_to_f32(0x7e) == 448.0f);
    KBT_CHECK(kb_e4m3_to_f32(0xfe) == -448.0f);
    KBT_CHECK(kb_e4m3_to_f32(0x08) == 1.0f / 64);          /* min normal 2^-6 */
    KBT_CHECK(kb_e4m3_to_f32(0x01) == 1.0f / 512);         /* min subnormal 2^-9 */
    KBT_CHECK(kb_e4m3_to_f32(0x07) == 7.0f / 512);
    KBT_CHECK(isnan(kb_e4m3_to_f32(0x7f)));
    KBT_CHECK(isnan(kb_e4m3_to_f32(0xff)));
    /* saturation (satfinite) */
    KBT_CHECK(kb_f32_to_e4m3(500.0f) == 0x7e);
    KBT_CHECK(kb_f32_to_e4m3(-500.0f) == 0xfe);
    KBT_CHECK(kb_f32_to_e4m3(464.0f) == 0x7e);
    KBT_CHECK(kb_f32_to_e4m3(INFINITY) == 0x7e);
    KBT_CHECK((kb_f32_to_e4m3(NAN) & 0x7f) == 0x7f);
    /* subnormals and ties to even */
    KBT_CHECK(kb_f32_to_e4m3(1.0f / 512) == 0x01);
    KBT_CHECK(kb_f32_to_e4m3(1.0f / 1024) == 0x00);        /* half a quantum: tie -> even 0 */
    KBT_CHECK(kb_f32_to_e4m3(3.0f / 1024) == 0x02);        /* 1.5 quanta: tie -> even 2 */
    KBT_CHECK(kb_f32_to_e4m3(1.0625f) == 0x38);            /* 1 + 1/16: tie between 1 and 1.125 -> 1 */
    KBT_CHECK(kb_f32_to_e4m3(1.1875f) == 0x3a);            /* tie between 1.125 and 1.25 -> 1.25 */
    KBT_CHECK(kb_f32_to_e4m3(1.07f) == 0x39);              /* above the tie -> 1.125 */
    KBT_CHECK(kb_f32_to_e4m3(224.0f) == 0x76);             /* 1.75 * 2^7 */
    /* round trip of every finite code */
    int bad = 0;
    for (int c = 0; c < 256; c++) {
        if ((c & 0x7f) == 0x7f) continue;
        if (kb_f32_to_e4m3(kb_e4m3_to_f32((uint8_t)c)) != c) bad++;
    }
    KBT_CHECK(bad == 0);
    /* code distance used by the quantisation verifier */
    KBT_CHECK(fp8_e4m3_ulp_dist(0x38, 0x39) == 1);
    KBT_CHECK(fp8_e4m3_ulp_dist(0x00, 0x80) == 0);
    KBT_CHECK(fp8_e4m3_ulp_dist(0x01, 0x81) == 2);
    KBT_CHECK(fp8_e4m3_ulp_dist(0x7e, 0x7f) == 255);
}

static void test_quant(void)
{
    KBT_CHECK(fp8_quant_scale(0.0f) == 1e-4f / 448.0f);      /* amax clamp */
    KBT_CHECK(fp8_quant_scale(5e-5f) == 1e-4f / 448.0f);
    KBT_CHECK(fp8_quant_scale(448.0f) == 1.0f);
    KBT_CHECK(fp8_quant_scale(2.0f) == 2.0f / 448.0f);

    /* One group: x[i] = (i - 64) / 64, amax 1, scale 1/448. */
    uint16_t x[2 * 256];
    uint8_t q[2 * 256];
    float s[4];
    for (int i = 0; i < 128; i++) x[i] = kb_f32_to_bf16((float)(i - 64) / 64.0f);
    float sc = fp8_quant_ref_group(x, 128, q);
    KBT_CHECK(sc == 1.0f / 448.0f);
    KBT_CHECK(q[0] == 0xfe);   /* -1 -> -448 */
    KBT_CHECK(q[64] == 0x00);  /* 0 */
    KBT_CHECK(q[96] == 0x76);  /* 0.5 -> 224 */
    KBT_CHECK(q[127] == kb_f32_to_e4m3((63.0f / 64.0f) / (1.0f / 448.0f)));

    /* Per-token: rows 2, cols 256; scales MN-major s[kb * rows + r]. */
    for (int i = 0; i < 128; i++) {
        float v = (float)(i - 64) / 64.0f;
        x[i] = kb_f32_to_bf16(v);               /* row 0 group 0: amax 1    */
        x[128 + i] = kb_f32_to_bf16(2.0f * v);  /* row 0 group 1: amax 2    */
        x[256 + i] = kb_f32_to_bf16(0.25f * v); /* row 1 group 0: amax 0.25 */
        x[384 + i] = 0;                         /* row 1 group 1: zeros     */
    }
    fp8_quant_ref_tokens(2, 256, x, q, s);
    KBT_CHECK(s[0] == 1.0f / 448.0f);          /* (kb 0, r 0) */
    KBT_CHECK(s[1] == 0.25f / 448.0f);         /* (kb 0, r 1) */
    KBT_CHECK(s[2] == 2.0f / 448.0f);          /* (kb 1, r 0) */
    KBT_CHECK(s[3] == 1e-4f / 448.0f);         /* (kb 1, r 1): clamped */
    KBT_CHECK(q[128] == 0xfe && q[256] == 0xfe && q[384] == 0x00);

    /* 128x128 blocks with a partial second row block: rows 130, cols 128. */
    static uint16_t xb[130 * 128];
    static uint8_t qb[130 * 128];
    float sb[2];
    for (int i = 0; i < 130 * 128; i++) xb[i] = kb_f32_to_bf16(0.5f);
    xb[129 * 128 + 5] = kb_f32_to_bf16(-3.0f);
    fp8_quant_ref_blocks(130, 128, xb, qb, sb);
    KBT_CHECK(sb[0] == 0.5f / 448.0f);
    KBT_CHECK(sb[1] == 3.0f / 448.0f);
    KBT_CHECK(qb[0] == 0x7e);                  /* 0.5 / (0.5/448) = 448 */
    KBT_CHECK(qb[129 * 128 + 5] == 0xfe);
    KBT_CHECK(qb[128 * 128] == 0x69);          /* 0.5 / (3/448) = 74.67 -> 72 = 1.125 * 2^6: exp field 13, m 1 */
}

static void test_gemm(void)
{
    /* 1x1, K=128: 128 * (1 * 2) * 0.5 * 3 = 384 */
    uint8_t a[512], b[4 * 128 * 128];
    float sa[8], sbk[4];
    double d;
    memset(a, 0x38, 128);
    memset(b, 0x40, 128);
    sa[0] = 0.5f;
    sbk[0] = 3.0f;
    fp8_gemm_ref_dense(1, 1, 128, a, sa, b, sbk, &d);
    KBT_NEAR(d, 384.0, 0);

    /* K=256, two blocks with their own scales:
     * 128*1*2*(sa 2)(sb 1) + 128*1.5*(-1)*(sa 0.5)(sb 4) = 512 - 384 = 128; unscaled 256 - 192 = 64 */
    memset(a, 0x38, 128);
    memset(a + 128, 0x3c, 128);
    memset(b, 0x40, 128);
    memset(b + 128, 0xb8, 128);
    sa[0] = 2.0f;
    sa[1] = 0.5f;
    sbk[0] = 1.0f;
    sbk[1] = 4.0f;
    KBT_NEAR(fp8_ref_dot(a, sa, 1, b, sbk, 256, 1), 128.0, 0);
    KBT_NEAR(fp8_ref_dot(a, sa, 1, b, sbk, 256, 0), 64.0, 0);

    /* Scale indexing: M=2, N=256 (two N blocks), K=128, all ones;
     * sa MN-major {1, 10}, sb {1, 100}: D[m][n] = 128 * sa[m] * sb[n/128]. */
    static double dd[2 * 256];
    memset(a, 0x38, 256);
    memset(b, 0x38, 256 * 128);
    sa[0] = 1.0f;
    sa[1] = 10.0f;
    sbk[0] = 1.0f;
    sbk[1] = 100.0f;
    fp8_gemm_ref_dense(2, 256, 128, a, sa, b, sbk, dd);
    KBT_NEAR(dd[0 * 256 + 5], 128.0, 0);
    KBT_NEAR(dd[0 * 256 + 200], 12800.0, 0);
    KBT_NEAR(dd[1 * 256 + 5], 1280.0, 0);
    KBT_NEAR(dd[1 * 256 + 200], 128000.0, 0);

    /* Contiguous: counts {2, 1} -> rows 0-1 group 0, 128 group 1, others padding.
     * B [2][128][128]: group 0 all 1.0, group 1 all 2.0; A all 1.0; scales 1. */
    static uint8_t ac[256 * 128];
    static float sac[256];
    int32_t gidx[256];
    int counts[2] = {2, 1}, start[2];
    KBT_CHECK(fp8_contig_layout(2, counts, start, gidx) == 256);
    memset(ac, 0x38, sizeof ac);
    for (int i = 0; i < 256; i++) sac[i] = 1.0f;
    memset(b, 0x38, 128 * 128);
    memset(b + 128 * 128, 0x40, 128 * 128);
    float sbc[2] = {1.0f, 1.0f};
    fp8_gemm_args h;
    memset(&h, 0, sizeof h);
    h.layout = FP8_GEMM_CONTIGUOUS;
    h.m = 256;
    h.n = 128;
    h.k = 128;
    h.num_groups = 2;
    h.a = ac;
    h.sa = sac;
    h.b = b;
    h.sb = sbc;
    h.group_idx = gidx;
    KBT_NEAR(fp8_gemm_ref_at(&h, 0, 1, 7, 1), 128.0, 0);
    KBT_NEAR(fp8_gemm_ref_at(&h, 0, 128, 7, 1), 256.0, 0);
    KBT_CHECK(isnan(fp8_gemm_ref_at(&h, 0, 2, 7, 1)));

    /* Masked: G=2, m_max=4, sa [G][K/128][m_max] = 1..8; B group 1 all 0.5.
     * D(g=1, m=2) = 128 * 0.5 * sa[1*4 + 2] = 64 * 7 = 448. */
    float sam[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int32_t mm[2] = {1, 3};
    memset(b + 128 * 128, 0x30, 128 * 128);
    h.layout = FP8_GEMM_MASKED;
    h.m = 4;
    h.sa = sam;
    h.group_idx = NULL;
    h.masked_m = mm;
    KBT_NEAR(fp8_gemm_ref_at(&h, 1, 2, 3, 1), 448.0, 0);
    KBT_NEAR(fp8_gemm_ref_at(&h, 0, 3, 3, 1), 128.0 * 4, 0);
}

int main(void)
{
    test_e4m3();
    test_quant();
    test_gemm();
    return kbt_done("test_fp8_gemm_cpu");
}
