/* test_mla_cpu.c - MLA decode without a GPU: the CPU reference on hand-computed
 * cases, paged vs contiguous addressing, the split-KV combine, FP8 token
 * dequantisation, FLOP/byte counts, the shape table and the scheduler. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/kb.h"
#include "kbtest.h"
#include "kernels/mla_decode/mla_decode.h"
#include "kernels/mla_decode/mla_layout.h"
#include "reference/mla_decode_cpu.h"

extern const kb_op kb_op_mla_decode;

static uint16_t bf(float x) { return kb_f32_to_bf16(x); }

/* A contiguous cache of n tokens (page i = block i) */
static uint16_t *cache_alloc(int ntok) { return calloc((size_t)ntok * MLA_D_QK, 2); }

static void test_one_key(void)
{
    uint16_t q[MLA_D_QK], *c = cache_alloc(MLA_PAGE);
    int32_t bt[1] = {0}, len[1] = {1};
    for (int d = 0; d < MLA_D_QK; d++) q[d] = bf(d < 4 ? 1.0f : 0.0f);
    for (int d = 0; d < MLA_D_QK; d++) c[d] = bf(d < 4 ? 0.5f : (float)(d % 7) - 3.0f);
    double o[MLA_D_V], lse;
    /* score = 4 * 0.5 = 2, scale 0.5 -> lse = 1; o = v exactly */
    mla_decode_cpu(q, c, 0, bt, 1, len, 1, 1, 1, 0.5, o, &lse);
    KBT_NEAR(lse, 1.0, 1e-15);
    int same = 1;
    for (int d = 0; d < MLA_D_V; d++) same &= o[d] == kb_bf16_to_f32(c[d]);
    KBT_CHECK(same);
    KBT_NEAR(o[0], 0.5, 0);
    KBT_NEAR(o[4], 1.0, 0); /* 4 % 7 - 3 */
    free(c);
}

/* 3 keys with the same rope part and q only on rope dims: equal scores.
 * Latents of key t are t+1 (all dims).  q rope = 1, key rope = 0.25 ->
 * score = 64 * 0.25 = 16, scale 0.125 -> 2. */
static void fill_equal(uint16_t *c, int n)
{
    for (int t = 0; t < n; t++)
        for (int d = 0; d < MLA_D_QK; d++) c[(size_t)t * MLA_D_QK + d] = bf(d < MLA_D_V ? (float)(t + 1) : 0.25f);
}

static void test_equal_keys_and_causal(void)
{
    uint16_t q[2 * MLA_D_QK], *c = cache_alloc(MLA_PAGE);
    int32_t bt[1] = {0}, len[1] = {3};
    for (int i = 0; i < 2; i++)
        for (int d = 0; d < MLA_D_QK; d++) q[i * MLA_D_QK + d] = bf(d < MLA_D_V ? 0.0f : 1.0f);
    fill_equal(c, 3);
    double o[2 * MLA_D_V], lse[2];
    /* s_q = 1: o = mean(1, 2, 3) = 2, lse = 2 + log 3 */
    mla_decode_cpu(q, c, 0, bt, 1, len, 1, 1, 1, 0.125, o, lse);
    KBT_NEAR(o[0], 2.0, 1e-14);
    KBT_NEAR(o[511], 2.0, 1e-14);
    KBT_NEAR(lse[0], 2.0 + log(3.0), 1e-14);
    /* s_q = 2, causal: query 0 sees 3 - 2 + 1 + 0 = 2 keys (mean 1.5, lse
     * 2 + log 2), query 1 sees 3 (mean 2, lse 2 + log 3).  lse is [b, h, s_q]. */
    mla_decode_cpu(q, c, 0, bt, 1, len, 1, 2, 1, 0.125, o, lse);
    KBT_NEAR(o[0], 1.5, 1e-14);
    KBT_NEAR(o[MLA_D_V + 7], 2.0, 1e-14);
    KBT_NEAR(lse[0], 2.0 + log(2.0), 1e-14);
    KBT_NEAR(lse[1], 2.0 + log(3.0), 1e-14);
    /* two heads, s_q = 2: o row order [s_q, h_q], lse order [h_q, s_q] */
    uint16_t q4[4 * MLA_D_QK];
    for (int r = 0; r < 4; r++)
        for (int d = 0; d < MLA_D_QK; d++) q4[r * MLA_D_QK + d] = bf(d < MLA_D_V ? 0.0f : (r % 2 ? 0.5f : 1.0f));
    double o4[4 * MLA_D_V], lse4[4];
    mla_decode_cpu(q4, c, 0, bt, 1, len, 1, 2, 2, 0.125, o4, lse4);
    /* head 1 has score 1: lse[h=1, i=0] = 1 + log 2, lse[h=1, i=1] = 1 + log 3 */
    KBT_NEAR(lse4[0], 2.0 + log(2.0), 1e-14);
    KBT_NEAR(lse4[1], 2.0 + log(3.0), 1e-14);
    KBT_NEAR(lse4[2], 1.0 + log(2.0), 1e-14);
    KBT_NEAR(lse4[3], 1.0 + log(3.0), 1e-14);
    KBT_NEAR(o4[1 * MLA_D_V], 1.5, 1e-14); /* row (i=0, h=1) */
    KBT_NEAR(o4[2 * MLA_D_V], 2.0, 1e-14); /* row (i=1, h=0) */
    /* unequal scores, two keys: weights e^s / sum, by hand */
    c[MLA_D_V] = bf(1.0f); /* key 0 rope dim 0: score 16.75 -> scaled 2.09375 */
    len[0] = 2;
    mla_decode_cpu(q, c, 0, bt, 1, len, 1, 1, 1, 0.125, o, lse);
    double s0 = 2.09375, s1 = 2.0, w0 = exp(s0) / (exp(s0) + exp(s1));
    KBT_NEAR(o[3], w0 * 1.0 + (1 - w0) * 2.0, 1e-14);
    KBT_NEAR(lse[0], log(exp(s0) + exp(s1)), 1e-14);
    free(c);
}

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static void test_paged_vs_contiguous_and_split(void)
{
    enum { B = 3, NP = 4, NTOK = B * NP * MLA_PAGE, SQ = 2, H = 2 };
    int32_t len[B] = {200, 64, 250};
    uint16_t *contig = cache_alloc(NTOK), *paged = cache_alloc(NTOK);
    uint16_t q[B * SQ * H * MLA_D_QK];
    uint64_t seed = 42;
    for (int i = 0; i < NTOK * MLA_D_QK; i++) contig[i] = bf(((float)(lcg(&seed) % 2001) - 1000.0f) / 1000.0f);
    for (int i = 0; i < B * SQ * H * MLA_D_QK; i++) q[i] = bf(((float)(lcg(&seed) % 2001) - 1000.0f) / 500.0f);
    /* contiguous: sequence bi owns pages bi*NP .. ; paged: a shuffled permutation */
    int32_t bt_c[B * NP], bt_p[B * NP], perm[B * NP];
    for (int i = 0; i < B * NP; i++) { bt_c[i] = i; perm[i] = i; }
    for (int i = B * NP - 1; i > 0; i--) {
        int j = (int)(lcg(&seed) % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int i = 0; i < B * NP; i++) {
        bt_p[i] = perm[i];
        memcpy(paged + (size_t)perm[i] * MLA_PAGE * MLA_D_QK, contig + (size_t)i * MLA_PAGE * MLA_D_QK,
               MLA_PAGE * MLA_D_QK * 2);
    }
    KBT_CHECK(bt_p[0] != 0 || bt_p[1] != 1 || bt_p[2] != 2); /* really shuffled */
    double oc[B * SQ * H * MLA_D_V], lc[B * H * SQ], op[B * SQ * H * MLA_D_V], lp[B * H * SQ];
    mla_decode_cpu(q, contig, 0, bt_c, NP, len, B, SQ, H, 0.0416, oc, lc);
    mla_decode_cpu(q, paged, 0, bt_p, NP, len, B, SQ, H, 0.0416, op, lp);
    KBT_CHECK(memcmp(oc, op, sizeof oc) == 0);
    KBT_CHECK(memcmp(lc, lp, sizeof lc) == 0);

    /* split-KV: sequence 2 (250 keys), row (i=1, h=1) cut into [0,64) [64,192)
     * [192,250) and also an empty-visible segment for query 0: merge == whole */
    const int bi = 2;
    for (int i = 0; i < SQ; i++) {
        int row = i * H + 1, vis = len[bi] - SQ + 1 + i;
        const uint16_t *qr = q + ((size_t)bi * SQ * H + row) * MLA_D_QK;
        double parts[4 * MLA_D_V], pl[4], o[MLA_D_V], l;
        int cuts[5] = {0, 64, 192, 249, 250};
        for (int k = 0; k < 4; k++)
            mla_cpu_attend(qr, paged, 0, bt_p + bi * NP, cuts[k], cuts[k + 1], vis, 0.0416, parts + k * MLA_D_V, &pl[k]);
        if (i == 0) KBT_CHECK(pl[3] == -INFINITY); /* key 249 is not visible to query 0 */
        mla_cpu_combine(4, parts, pl, MLA_D_V, o, &l);
        const double *ref = op + ((size_t)bi * SQ * H + row) * MLA_D_V;
        double e = 0;
        for (int d = 0; d < MLA_D_V; d++) e = fmax(e, fabs(o[d] - ref[d]));
        KBT_NEAR(e, 0, 1e-12);
        KBT_NEAR(l, lp[(bi * H + 1) * SQ + i], 1e-12);
    }
    /* combine by hand: lse {0, log 3} -> lse log 4, weights 1/4, 3/4 */
    double po[4] = {1, 2, 5, 6}, pls[2] = {0, log(3.0)}, o2[2], l2;
    mla_cpu_combine(2, po, pls, 2, o2, &l2);
    KBT_NEAR(l2, log(4.0), 1e-15);
    KBT_NEAR(o2[0], 0.25 * 1 + 0.75 * 5, 1e-15);
    KBT_NEAR(o2[1], 0.25 * 2 + 0.75 * 6, 1e-15);
    free(contig);
    free(paged);
}

static void test_fp8_token(void)
{
    uint8_t tok[MLA_FP8_TOKEN_BYTES];
    memset(tok, 0, sizeof tok);
    tok[0] = 0x38;   /* e4m3 1.0 */
    tok[130] = 0xC0; /* e4m3 -2.0 */
    tok[511] = 0x7E; /* e4m3 448 */
    float sc[4] = {0.25f, 0.5f, 1.0f, 2.0f};
    memcpy(tok + MLA_FP8_SCALE_OFF, sc, sizeof sc);
    uint16_t r = bf(-1.5f);
    memcpy(tok + MLA_FP8_ROPE_OFF + 2 * 63, &r, 2);
    double k[MLA_D_QK];
    mla_cpu_load_token(tok, 1, k);
    KBT_NEAR(k[0], 0.25, 0);
    KBT_NEAR(k[130], -1.0, 0);
    KBT_NEAR(k[511], 896.0, 0);
    KBT_NEAR(k[575], -1.5, 0);
    KBT_NEAR(k[1], 0.0, 0);
    /* paged addressing of a 656-byte token: page 3, row 5 */
    int32_t row[2] = {7, 3};
    const uint8_t *base = (const uint8_t *)0x1000;
    KBT_CHECK((const uint8_t *)mla_cpu_token_ptr(base, 1, row, 64 + 5) == base + (3 * 64 + 5) * 656);
    KBT_CHECK((const uint8_t *)mla_cpu_token_ptr(base, 0, row, 2) == base + (7 * 64 + 2) * 1152);
}

/* Cache slots past seqlen in the last page hold NaN (normal in serving): the
 * reference never reads them; an empty sequence gives o = 0, lse = -inf. */
static void test_poisoned_tail_and_empty(void)
{
    enum { B = 3, SQ = 2, H = 2, ROWS = SQ * H };
    int32_t len[B] = {70, 0, 64 + 1};
    int32_t bt[B * 2] = {0, 1, 0, 0, 3, 2}; /* seq 1: unused entries (never read) */
    uint16_t *clean = cache_alloc(4 * MLA_PAGE), *dirty = cache_alloc(4 * MLA_PAGE);
    uint16_t q[B * ROWS * MLA_D_QK];
    uint64_t seed = 7;
    for (int i = 0; i < 4 * MLA_PAGE * MLA_D_QK; i++) clean[i] = bf(((float)(lcg(&seed) % 2001) - 1000.0f) / 1000.0f);
    for (int i = 0; i < B * ROWS * MLA_D_QK; i++) q[i] = bf(((float)(lcg(&seed) % 2001) - 1000.0f) / 400.0f);
    memcpy(dirty, clean, (size_t)4 * MLA_PAGE * MLA_D_QK * 2);
    /* seq 0: page 1 holds keys 64..69, slots 6..63 NaN; seq 2: page 2 holds
     * key 64 only, slots 1..63 NaN (0x7fc0 = BF16 quiet NaN) */
    int nan_slots = 0;
    for (int t = 6; t < MLA_PAGE; t++, nan_slots++)
        for (int d = 0; d < MLA_D_QK; d++) dirty[((size_t)1 * MLA_PAGE + t) * MLA_D_QK + d] = 0x7fc0;
    for (int t = 1; t < MLA_PAGE; t++, nan_slots++)
        for (int d = 0; d < MLA_D_QK; d++) dirty[((size_t)2 * MLA_PAGE + t) * MLA_D_QK + d] = 0x7fc0;
    KBT_CHECK(nan_slots == 58 + 63);
    KBT_CHECK(isnan(kb_bf16_to_f32(dirty[((size_t)MLA_PAGE + 6) * MLA_D_QK])));
    double oc[B * ROWS * MLA_D_V], lc[B * ROWS], od[B * ROWS * MLA_D_V], ld[B * ROWS];
    mla_decode_cpu(q, clean, 0, bt, 2, len, B, SQ, H, 0.0416, oc, lc);
    mla_decode_cpu(q, dirty, 0, bt, 2, len, B, SQ, H, 0.0416, od, ld);
    KBT_CHECK(memcmp(oc, od, sizeof oc) == 0);
    KBT_CHECK(memcmp(lc, ld, sizeof lc) == 0);
    KBT_CHECK(kb_count_nonfinite(od, B * ROWS * MLA_D_V) == 0);
    /* the empty sequence: every row o = 0, lse = -inf (lse [b, h, s_q]) */
    int empty_ok = 1;
    for (int r = 0; r < ROWS; r++) {
        for (int d = 0; d < MLA_D_V; d++) empty_ok &= od[((size_t)1 * ROWS + r) * MLA_D_V + d] == 0.0;
        empty_ok &= ld[1 * ROWS + r] == -INFINITY;
    }
    KBT_CHECK(empty_ok);
    /* the others are finite: seq 2, query 0 sees 65 - 2 + 1 = 64 keys */
    KBT_CHECK(isfinite(ld[0]) && isfinite(ld[2 * ROWS]) && isfinite(ld[2 * ROWS + 1]));
    free(clean);
    free(dirty);
}

/* The visibility rule and verify's lse error, by hand. */
static void test_visible_and_lse_err(void)
{
    KBT_CHECK(mla_cpu_visible(200, 1, 0) == 200);
    KBT_CHECK(mla_cpu_visible(200, 2, 0) == 199 && mla_cpu_visible(200, 2, 1) == 200);
    KBT_CHECK(mla_cpu_visible(0, 1, 0) == 0 && mla_cpu_visible(0, 2, 1) == 0);
    KBT_CHECK(mla_cpu_visible(1, 2, 0) == 0 && mla_cpu_visible(1, 2, 1) == 1); /* len < s_q */
    /* -inf where the reference says -inf is right (error 0, not "non-finite") */
    KBT_NEAR(mla_lse_err(-INFINITY, -INFINITY), 0.0, 0);
    KBT_CHECK(mla_lse_err(3.0, -INFINITY) == INFINITY);
    KBT_CHECK(mla_lse_err(-INFINITY, 3.0) == INFINITY);
    KBT_CHECK(mla_lse_err(NAN, 3.0) == INFINITY && mla_lse_err(NAN, -INFINITY) == INFINITY);
    KBT_CHECK(mla_lse_err(INFINITY, 3.0) == INFINITY);
    /* |10.01 - 10| / (1 + 0.1) = 0.01 / 1.1 */
    KBT_NEAR(mla_lse_err(10.01, 10.0), 0.01 / 1.1, 1e-15);
    KBT_CHECK(mla_lse_err(10.001, 10.0) <= MLA_LSE_TOL && mla_lse_err(10.002, 10.0) > MLA_LSE_TOL);
}

/* The work the cuBLAS baselines execute (mla_cublas_work), by hand:
 * lengths {100, 0, 64}, 2 query rows, BF16 cache (1152 B per token). */
static void test_cublas_work(void)
{
    const int32_t lens[3] = {100, 0, 64};
    double f, by;
    /* padded: every sequence at 128 keys (100 rounded to a page).  Per
     * sequence: FLOPs 2*2*128*1088 = 557056; QK^T K 128*1152 + q 2*2*576 + S
     * FP32 2*128*4 = 150784; softmax 2*128*(4+2) = 1536; PV V 128*1024 + P
     * 2*128*2 + o 2*2*512 = 133632.  Gather: pages of seq 0 (128 rows) and
     * seq 2 (64), read 1152 + written 1152 B each: 294912 + 147456. */
    mla_cublas_work(lens, 3, 2, 1, 1, 1152, &f, &by);
    KBT_NEAR(f, 3 * 557056.0, 0);
    KBT_NEAR(by, 294912.0 + 147456.0 + 3 * (150784.0 + 1536.0 + 133632.0), 0);
    /* varlen: seq 0 at 100 keys: FLOPs 435200; QK^T 115200 + 2304 + S BF16
     * 400; softmax 2*100*4 = 800; PV 102400 + 400 + 2048.  seq 1 empty: o
     * zeros 2048 only.  seq 2 at 64: FLOPs 278528; 73728 + 2304 + 256; 512;
     * 65536 + 256 + 2048.  Gather as above. */
    mla_cublas_work(lens, 3, 2, 0, 1, 1152, &f, &by);
    KBT_NEAR(f, 435200.0 + 278528.0, 0);
    KBT_NEAR(by, 812608.0, 0);
    /* varlen FLOPs = the op's FLOPs (2*rows*S*1088, S = 164) */
    KBT_NEAR(f, 2.0 * 2 * 164 * 1088, 0);
    /* no gather: minus the gather's 442368 */
    mla_cublas_work(lens, 3, 2, 0, 0, 1152, &f, &by);
    KBT_NEAR(by, 812608.0 - 442368.0, 0);
    /* the GEMM parameters of one varlen sequence (len 100, ld 128, 2 rows) */
    const mla_gemm qk = mla_cublas_qk_var(2, 100, mla_cublas_ld(100)), pv = mla_cublas_pv_var(2, 100, 128);
    KBT_CHECK(qk.trans_a == 1 && qk.m == 100 && qk.n == 2 && qk.k == 576 && qk.lda == 576 && qk.ldc == 128);
    KBT_CHECK(pv.trans_a == 0 && pv.m == 512 && pv.n == 2 && pv.k == 100 && pv.lda == 576 && pv.ldb == 128);
    KBT_CHECK(mla_cublas_ld(0) == 0 && mla_cublas_ld(1) == 64 && mla_cublas_ld(64) == 64 && mla_cublas_ld(65) == 128);
}

static kb_shape mk(int b, int sk, int h, int sq, int pattern, int fp8)
{
    kb_shape s;
    memset(&s, 0, sizeof s);
    s.d[0] = b; s.d[1] = sk; s.d[2] = h; s.d[3] = sq; s.d[4] = pattern; s.d[5] = fp8;
    return s;
}

static void test_flops_bytes(void)
{
    const kb_op *op = &kb_op_mla_decode;
    /* b = 1: seqlen is exactly the mean (documented) */
    kb_shape s = mk(1, 4096, 16, 1, 0, 0);
    KBT_NEAR(op->flops(&s), 142606336.0, 0);   /* 2*1*16*4096*1088 */
    KBT_NEAR(op->bytes(&s), 4753408.0, 0);     /* 2*(4096*576 + 16*1088) */
    s = mk(1, 4096, 16, 1, 0, 1);
    KBT_NEAR(op->bytes(&s), 2721792.0, 0);     /* 656*4096 + 2*16*1088 */
    KBT_NEAR(op->flops(&s), 142606336.0, 0);
    s = mk(1, 1024, 128, 2, 0, 0);
    KBT_NEAR(op->flops(&s), 570425344.0, 0);   /* 2*2*128*1024*1088 */
    KBT_NEAR(op->bytes(&s), 1736704.0, 0);     /* 2*(1024*576 + 256*1088) */
    /* b = 128: sum of the generated lengths */
    int32_t len[128], len2[128];
    mla_decode_gen_seqlens(128, 8192, 1, 0, len);
    mla_decode_gen_seqlens(128, 8192, 1, 0, len2);
    KBT_CHECK(memcmp(len, len2, sizeof len) == 0);
    double sum = 0;
    int inrange = 1, distinct = 0;
    for (int i = 0; i < 128; i++) {
        sum += len[i];
        inrange &= len[i] >= 32 && len[i] <= 16384;
        distinct += i > 0 && len[i] != len[i - 1];
    }
    KBT_CHECK(inrange);
    KBT_CHECK(distinct > 100);
    KBT_CHECK(fabs(sum / 128 - 8192) < 0.15 * 8192);
    s = mk(128, 8192, 64, 2, 0, 0);
    KBT_NEAR(op->flops(&s), 2.0 * 2 * 64 * sum * 1088, 0);
    KBT_NEAR(op->bytes(&s), 2.0 * (sum * 576 + 128.0 * 2 * 64 * 1088), 0);
    /* skew: first sequence 16x the mean, others <= mean/2 */
    mla_decode_gen_seqlens(64, 4096, 1, 1, len);
    KBT_CHECK(len[0] == 65536);
    int shortok = 1;
    for (int i = 1; i < 64; i++) shortok &= len[i] >= 32 && len[i] <= 2048;
    KBT_CHECK(shortok);
    /* empty (pattern 2): sequence 1 has length 0, the others as pattern 0 */
    mla_decode_gen_seqlens(3, 200, 2, 2, len);
    KBT_CHECK(len[1] == 0);
    KBT_CHECK(len[0] >= 32 && len[0] <= 400 && len[2] >= 32 && len[2] <= 400);
    s = mk(3, 200, 16, 2, 2, 0);
    KBT_NEAR(op->flops(&s), 2.0 * 2 * 16 * (len[0] + len[2]) * 1088, 0);
    KBT_NEAR(op->bytes(&s), 2.0 * ((len[0] + len[2]) * 576.0 + 3 * 32 * 1088), 0);
    /* metrics: the baselines' work against the op's.  b = 1, s_k = 4096 (a
     * page multiple): padded = varlen = the op's FLOPs. */
    char buf[160];
    s = mk(1, 4096, 16, 1, 0, 0);
    op->metrics(&s, 1e-3, buf, sizeof buf);
    KBT_CHECK(strstr(buf, "padded_flops_x=1.000;") != NULL && strstr(buf, "varlen_flops_x=1.000;") != NULL);
    /* skew, b = 64, s_k = 4096: padded computes 64 * 65536 keys against
     * 65536 + sum(others); by the generated lengths */
    int32_t sl[64];
    mla_decode_gen_seqlens(64, 4096, 1, 1, sl);
    double skew_sum = 0;
    for (int i = 0; i < 64; i++) skew_sum += sl[i];
    s = mk(64, 4096, 16, 1, 1, 0);
    op->metrics(&s, 1e-3, buf, sizeof buf);
    double px = 0, vx = 0;
    KBT_CHECK(sscanf(buf, "padded_flops_x=%lf;padded_bytes_x=%*f;varlen_flops_x=%lf", &px, &vx) == 2);
    KBT_NEAR(px, 64.0 * 65536 / skew_sum, 1e-3);
    KBT_NEAR(vx, 1.0, 1e-3);
    KBT_CHECK(px > 25); /* the skewed batch: tens of times the useful work */
    printf("skew b64 s_k 4096: padded cuBLAS computes %.1fx the useful FLOPs (%s)\n", px, buf);
}

static void test_shapes(void)
{
    int n = 0;
    const kb_shape *s = kb_op_mla_decode.shapes(&n);
    KBT_CHECK(n > 40);
    int uniq = 1, inset = 1, quick_in_full = 1, nsmall = 0, nquick = 0, nfp8 = 0, small_ok = 1;
    int seen_b[4] = {0}, seen_sk[5] = {0}, seen_h[4] = {0}, seen_sq[2] = {0}, skew = 0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++) uniq &= strcmp(s[i].label, s[j].label) != 0;
        inset &= (s[i].sets & (KB_SET_FULL | KB_SET_QUICK | KB_SET_SMALL)) != 0;
        if (s[i].sets & KB_SET_QUICK) { nquick++; quick_in_full &= (s[i].sets & KB_SET_FULL) != 0; }
        if (s[i].sets & KB_SET_SMALL) { nsmall++; small_ok &= s[i].d[0] * s[i].d[1] <= 1024; }
        nfp8 += strcmp(s[i].dtype, "fp8kv") == 0 && s[i].d[5] == 1;
        if (!(s[i].sets & KB_SET_FULL)) continue;
        for (int k = 0; k < 4; k++) seen_b[k] |= s[i].d[0] == (int64_t[]){1, 16, 64, 128}[k];
        for (int k = 0; k < 5; k++) seen_sk[k] |= s[i].d[1] == (int64_t[]){1024, 4096, 8192, 16384, 32768}[k];
        for (int k = 0; k < 4; k++) seen_h[k] |= s[i].d[2] == (int64_t[]){16, 32, 64, 128}[k];
        for (int k = 0; k < 2; k++) seen_sq[k] |= s[i].d[3] == k + 1;
        skew |= s[i].d[4] == 1;
    }
    /* the SMALL set has a shape with an empty sequence, bf16 and fp8kv */
    int empty_bf16 = 0, empty_fp8 = 0;
    for (int i = 0; i < n; i++)
        if ((s[i].sets & KB_SET_SMALL) && s[i].d[4] == 2) {
            empty_bf16 |= s[i].d[5] == 0 && strstr(s[i].label, "_empty") != NULL;
            empty_fp8 |= s[i].d[5] == 1;
        }
    KBT_CHECK(empty_bf16 && empty_fp8);
    KBT_CHECK(uniq);
    KBT_CHECK(inset);
    KBT_CHECK(quick_in_full);
    KBT_CHECK(nquick >= 4 && nsmall >= 4 && nfp8 >= 4);
    KBT_CHECK(small_ok);
    int all = skew;
    for (int k = 0; k < 4; k++) all &= seen_b[k] & seen_h[k];
    for (int k = 0; k < 5; k++) all &= seen_sk[k];
    all &= seen_sq[0] & seen_sq[1];
    KBT_CHECK(all);
}

/* Invariants of a schedule: each sequence covered exactly once by consecutive
 * page-aligned segments in order; slots unique; per-part cost bounded. */
static void check_sched(const int32_t *len, int b, int P)
{
    mla_sched s;
    memset(&s, 0, sizeof s);
    KBT_CHECK(mla_sched_build(&s, len, b, P) == 0);
    KBT_CHECK(s.part_off[0] == 0 && s.part_off[P] == s.num_segs);
    KBT_CHECK(s.num_segs <= b + P);
    int *next = calloc((size_t)b, sizeof(int)), *cnt = calloc((size_t)b, sizeof(int));
    int *slot_used = calloc((size_t)s.num_slots + 1, sizeof(int));
    int ok = 1, slots_ok = 1;
    long total = (long)(b + P) * MLA_SCHED_FIXED, worst = 0;
    for (int i = 0; i < b; i++) total += (len[i] + 63) / 64;
    long payload = (total + P - 1) / P;
    for (int p = 0; p < P; p++) {
        KBT_CHECK(s.part_off[p] <= s.part_off[p + 1]);
        long cost = 0;
        for (int g = s.part_off[p]; g < s.part_off[p + 1]; g++) {
            const int32_t *e = s.seg + 4 * g;
            int bi = e[0];
            ok &= bi >= 0 && bi < b && e[1] == next[bi] && e[1] % 64 == 0 && e[2] > e[1] && e[2] <= len[bi];
            next[bi] = e[2];
            cost += (e[2] - e[1] + 63) / 64 + MLA_SCHED_FIXED;
            if (s.n_split[bi] > 1) {
                int k = e[3] - s.split_off[bi];
                slots_ok &= e[3] >= 0 && e[3] < s.num_slots && k == cnt[bi] && !slot_used[e[3]];
                if (e[3] >= 0 && e[3] < s.num_slots) slot_used[e[3]] = 1;
            } else {
                slots_ok &= e[3] == -1;
            }
            cnt[bi]++;
        }
        if (cost > worst) worst = cost; /* the last part included */
    }
    for (int i = 0; i < b; i++) ok &= next[i] == len[i] && cnt[i] == s.n_split[i];
    KBT_CHECK(ok);
    KBT_CHECK(slots_ok);
    KBT_CHECK(worst <= payload + MLA_SCHED_FIXED + 1);
    /* packed layout */
    size_t n = mla_sched_packed_len(&s);
    KBT_CHECK(n == (size_t)P + 1 + 4 * (size_t)s.num_segs + 2 * (size_t)b);
    int32_t *pk = malloc(n * sizeof(int32_t));
    mla_sched_pack(&s, pk);
    KBT_CHECK(pk[P] == s.num_segs && pk[P + 1 + 4 * s.num_segs + b + (b - 1)] == s.n_split[b - 1]);
    free(pk);
    free(next);
    free(cnt);
    free(slot_used);
    mla_sched_free(&s);
}

static void test_sched(void)
{
    /* by hand: lengths {640, 64}, 2 parts: total = 10 + 1 + (2+2)*4 = 27,
     * payload 14: part 0 takes 14-4 = 10 pages = all of seq 0 and stops
     * (budget 0); part 1 takes seq 1.  No split. */
    int32_t l2[2] = {640, 64};
    mla_sched s;
    memset(&s, 0, sizeof s);
    KBT_CHECK(mla_sched_build(&s, l2, 2, 2) == 0);
    KBT_CHECK(s.num_segs == 2);
    KBT_CHECK(s.part_off[1] == 1);
    int32_t want[8] = {0, 0, 640, -1, 1, 0, 64, -1};
    KBT_CHECK(memcmp(s.seg, want, sizeof want) == 0);
    KBT_CHECK(s.n_split[0] == 1 && s.n_split[1] == 1 && s.num_slots == 0);
    mla_sched_free(&s);
    /* lengths {1280, 64}, 2 parts: total = 20 + 1 + 16 = 37, payload 19:
     * part 0 takes 15 pages of seq 0 (cut at token 960), part 1 the other 5
     * and seq 1.  Seq 0 uses slots 0 and 1. */
    int32_t l3[2] = {1280, 64};
    KBT_CHECK(mla_sched_build(&s, l3, 2, 2) == 0);
    int32_t want3[12] = {0, 0, 960, 0, 0, 960, 1280, 1, 1, 0, 64, -1};
    KBT_CHECK(s.num_segs == 3 && memcmp(s.seg, want3, sizeof want3) == 0);
    KBT_CHECK(s.n_split[0] == 2 && s.n_split[1] == 1 && s.num_slots == 2 && s.split_off[0] == 0);
    mla_sched_free(&s);

    int32_t len[128];
    mla_decode_gen_seqlens(128, 8192, 1, 0, len);
    check_sched(len, 128, 132);
    check_sched(len, 128, 66);
    check_sched(len, 128, 1);
    mla_decode_gen_seqlens(64, 4096, 1, 1, len);
    check_sched(len, 64, 132);
    mla_decode_gen_seqlens(2, 200, 2, 0, len);
    check_sched(len, 2, 132);
    int32_t one[1] = {65536};
    check_sched(one, 1, 132);
    /* an empty sequence has no segment (n_split 0) */
    mla_decode_gen_seqlens(3, 200, 2, 2, len);
    check_sched(len, 3, 132);
    check_sched(len, 3, 1);
    memset(&s, 0, sizeof s);
    KBT_CHECK(mla_sched_build(&s, len, 3, 132) == 0);
    KBT_CHECK(s.n_split[1] == 0);
    mla_sched_free(&s);
    /* a single long sequence over 132 parts is cut into many segments, and the
     * biggest part is close to the average */
    memset(&s, 0, sizeof s);
    mla_sched_build(&s, one, 1, 132);
    KBT_CHECK(s.n_split[0] > 100);
    mla_sched_free(&s);
}

int main(void)
{
    test_one_key();
    test_equal_keys_and_causal();
    test_paged_vs_contiguous_and_split();
    test_fp8_token();
    test_poisoned_tail_and_empty();
    test_visible_and_lse_err();
    test_cublas_work();
    test_flops_bytes();
    test_shapes();
    test_sched();
    return kbt_done("test_mla_cpu");
}
