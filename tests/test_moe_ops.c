/* test_moe_ops.c - the three MoE operator tables (no GPU): shape tables well
 * formed (unique labels, every shape in a set, QUICK and SMALL present, the
 * spec's T x E x routing grid), bytes()/flops() equal to hand-computed
 * numbers, implementation tables complete.  Also checks, in C, the
 * algorithms the kernels run in parallel: the v2 router's warp selection
 * (lane l holds experts 32j + l) against moe_select_token on inputs full of
 * ties, and the v1/v2 dispatch layout algorithms (chunk / block histograms,
 * scans, warp ranking) against moe_layout_build.  These emulate the
 * algorithms, not the CUDA code: GPU correctness is still unverified. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kbtest.h"
#include "bench/kb.h"
#include "reference/moe_cpu.h"
#include "kernels/moe/moe.h"
#include "kernels/moe/moe_math.h"

static const kb_shape *find_shape(const kb_op *op, const char *label)
{
    int n;
    const kb_shape *s = op->shapes(&n);
    for (int i = 0; i < n; i++)
        if (strcmp(s[i].label, label) == 0) return &s[i];
    return NULL;
}

static void check_table(const char *name, int want_full)
{
    const kb_op *op = kb_find_op(name);
    KBT_CHECK(op != NULL);
    if (!op) return;
    int n;
    const kb_shape *s = op->shapes(&n);
    int full = 0, quick = 0, small = 0, dup = 0, noset = 0;
    for (int i = 0; i < n; i++) {
        full += !!(s[i].sets & KB_SET_FULL);
        quick += !!(s[i].sets & KB_SET_QUICK);
        small += !!(s[i].sets & KB_SET_SMALL);
        noset += s[i].sets == 0;
        for (int j = 0; j < i; j++) dup += strcmp(s[i].label, s[j].label) == 0;
    }
    KBT_CHECK(full == want_full);
    KBT_CHECK(quick > 0 && quick < full);
    KBT_CHECK(small > 0);
    KBT_CHECK(dup == 0 && noset == 0);
    KBT_CHECK(op->n_impls == 3 && op->setup && op->verify && op->poison && op->teardown);
    int lib = 0;
    for (int i = 0; i < op->n_impls; i++) lib += op->impls[i].kind == KB_IMPL_LIB;
    KBT_CHECK(lib == 1);
    KBT_STREQ(op->impls[0].name, "v1");
    KBT_STREQ(op->impls[1].name, "v2");
}

static void test_tables(void)
{
    check_table("moe_route", 8);     /* 4 T x 2 routings */
    check_table("moe_dispatch", 72); /* 4 T x 3 E x 2 routings x 3 formats */
    check_table("moe_combine", 24);  /* 4 T x 3 E x 2 routings */

    const kb_op *r = kb_find_op("moe_route"), *d = kb_find_op("moe_dispatch"), *c = kb_find_op("moe_combine");
    const kb_shape *s = find_shape(r, "t4096_skewed");
    KBT_CHECK(s && s->d[0] == 4096 && s->d[1] == 1 && (s->sets & KB_SET_QUICK));
    if (s) {
        KBT_NEAR(r->flops(s), 15032385536.0, 0);  /* 2*4096*256*7168 */
        /* 58720256 + 3670016 + 1024 + 4194304 + 131072 + 131072 */
        KBT_NEAR(r->bytes(s), 66847744.0, 0);
        KBT_CHECK(r->peak == KB_PEAK_BF16);
    }
    s = find_shape(d, "t4096_e32_uniform");
    KBT_CHECK(s && s->d[1] == 32 && s->d[3] == MOE_FMT_E4M3 && strcmp(s->dtype, "e4m3") == 0);
    if (s) {
        /* x 58720256 + idx 131072 + rows 234881024 + scales 7340032 + row_of
         * 131072 + counts 128 + offsets 132 + group_idx: all m_cap entries are
         * written, m_cap = 32768 + 32 * 127 = 36832 -> 36864 (a multiple of
         * 128), 4 * 36864 = 147456 */
        KBT_NEAR(d->bytes(s), 301351172.0, 0);
        KBT_NEAR(d->flops(s), 0, 0);
    }
    s = find_shape(d, "t512_e8_skewed_masked");
    KBT_CHECK(s && s->d[3] == MOE_FMT_E4M3_MASKED && s->d[2] == 1);
    /* x 7340032 + idx 16384 + rows 29360128 + scales 917504 + row_of 16384 + counts 32 */
    if (s) KBT_NEAR(d->bytes(s), 37650464.0, 0);
    s = find_shape(d, "t16384_e256_uniform_bf16");
    KBT_CHECK(s && s->d[3] == MOE_FMT_BF16);
    s = find_shape(c, "t16384_e8_skewed");
    KBT_CHECK(s != NULL);
    /* rows 1879048192 + maps 1048576 + y 234881024 */
    if (s) KBT_NEAR(c->bytes(s), 2114977792.0, 0);
    KBT_CHECK(d->link_bytes == NULL && c->link_bytes == NULL);
}

/* ---- the v2 router's warp algorithm, lanes emulated ---------------------- */
static void warp_argmax(const float *v, const int *e, float *bv, int *be)
{
    *bv = v[0];
    *be = e[0];
    for (int l = 1; l < 32; l++)
        if (v[l] > *bv || (v[l] == *bv && e[l] < *be)) {
            *bv = v[l];
            *be = e[l];
        }
}

static void select_warp_emul(const float *lg, const float *bias, int32_t *idx, float *w)
{
    float s[32][8], v[32][8], gs[8], lv[32];
    int le[32];
    for (int l = 0; l < 32; l++)
        for (int j = 0; j < 8; j++) {
            s[l][j] = moe_sigmoid(lg[j * 32 + l]);
            v[l][j] = moe_add(s[l][j], bias[j * 32 + l]);
        }
    for (int j = 0; j < 8; j++) {
        float m1, m2 = -INFINITY;
        int e1;
        for (int l = 0; l < 32; l++) {
            lv[l] = v[l][j];
            le[l] = j * 32 + l;
        }
        warp_argmax(lv, le, &m1, &e1);
        for (int l = 0; l < 32; l++) m2 = fmaxf(m2, e1 == j * 32 + l ? -INFINITY : v[l][j]);
        gs[j] = moe_add(m1, m2);
    }
    unsigned keep = 0;
    for (int r = 0; r < 4; r++) {
        int best = -1;
        float bv = 0;
        for (int g = 0; g < 8; g++)
            if (!(keep >> g & 1u) && (best < 0 || gs[g] > bv)) {
                best = g;
                bv = gs[g];
            }
        keep |= 1u << best;
    }
    unsigned taken[32] = {0};
    float sum = 0, sk[8];
    for (int k = 0; k < 8; k++) {
        for (int l = 0; l < 32; l++) {
            float bv = -INFINITY;
            int be = 0x7fffffff;
            for (int j = 0; j < 8; j++)
                if ((keep >> j & 1u) && !(taken[l] >> j & 1u) && (be == 0x7fffffff || v[l][j] > bv)) {
                    bv = v[l][j];
                    be = j * 32 + l;
                }
            lv[l] = bv;
            le[l] = be;
        }
        float bv;
        int be;
        warp_argmax(lv, le, &bv, &be);
        taken[be & 31] |= 1u << (be >> 5);
        sk[k] = s[be & 31][be >> 5];
        sum = moe_add(sum, sk[k]);
        idx[k] = be;
    }
    for (int k = 0; k < 8; k++) w[k] = moe_mul(moe_div(sk[k], sum), MOE_ROUTE_SCALE);
}

static void test_warp_select(void)
{
    kb_rng r;
    kb_rng_seed(&r, 99);
    float lg[256], bias[256];
    int mism = 0;
    for (int it = 0; it < 3000; it++) {
        int mode = it % 3;
        for (int e = 0; e < 256; e++) {
            double u = kb_rng_normal(&r);
            /* mode 0: continuous; 1: quantised (many ties); 2: all groups tie */
            lg[e] = mode == 0 ? (float)u : mode == 1 ? (float)(0.25 * (int)(4 * u)) : (float)(e % 32 < 3 ? 1 : -1);
            bias[e] = mode == 0 ? (float)(0.05 * kb_rng_normal(&r)) : (mode == 1 ? (float)(0.125 * (int)(kb_rng_uniform(&r) * 3)) : 0.0f);
        }
        int32_t i1[8], i2[8];
        float w1[8], w2[8];
        moe_select_token(lg, bias, i1, w1);
        select_warp_emul(lg, bias, i2, w2);
        mism += memcmp(i1, i2, sizeof i1) != 0 || memcmp(w1, w2, sizeof w1) != 0;
        int in_kept = 1, distinct = 1;
        for (int k = 0; k < 8; k++)
            for (int j = 0; j < k; j++) distinct &= i1[j] != i1[k];
        /* picks come from at most 4 groups */
        unsigned gm = 0;
        for (int k = 0; k < 8; k++) gm |= 1u << (i1[k] >> 5);
        in_kept = __builtin_popcount(gm) <= 4;
        if (!(distinct && in_kept)) mism++;
    }
    KBT_CHECK(mism == 0);
}

/* moe_route_cpu end to end on a tiny random problem: weights sum to 2.5,
 * selection equals re-running the selection on the returned logits. */
static void test_route_cpu(void)
{
    const int T = 5, K = 128;
    kb_rng r;
    kb_rng_seed(&r, 5);
    uint16_t *x = malloc(sizeof(uint16_t) * T * K), *wg = malloc(sizeof(uint16_t) * 256 * K);
    for (int i = 0; i < T * K; i++) x[i] = kb_f32_to_bf16((float)kb_rng_normal(&r));
    for (int i = 0; i < 256 * K; i++) wg[i] = kb_f32_to_bf16((float)(0.1 * kb_rng_normal(&r)));
    float bias[256], lg[5 * 256], w[40], w2[40];
    int32_t idx[40], idx2[40];
    for (int e = 0; e < 256; e++) bias[e] = (float)(0.01 * kb_rng_normal(&r));
    moe_route_cpu(x, wg, bias, T, K, lg, idx, w);
    moe_route_select_cpu(lg, bias, T, idx2, w2);
    KBT_CHECK(memcmp(idx, idx2, sizeof idx) == 0 && memcmp(w, w2, sizeof w) == 0);
    for (int t = 0; t < T; t++) {
        double sum = 0;
        for (int k = 0; k < 8; k++) sum += w[t * 8 + k];
        KBT_NEAR(sum, 2.5, 1e-6);
    }
    double ref[256];
    moe_route_logits_token_cpu(x + 3 * K, wg, K, 256, ref, NULL);
    KBT_NEAR(lg[3 * 256 + 17], ref[17], 1e-6);
    free(x);
    free(wg);
}

/* Benchmark routing: 8 distinct global experts per token; skew makes the hot
 * experts dominate; local ids in range. */
static void test_bench_routing(void)
{
    const int T = 2000;
    int32_t *idx = malloc(sizeof(int32_t) * T * 8);
    int cnt[256] = {0}, bad = 0;
    moe_routing_random(1, T, 256, 1, idx);
    for (int i = 0; i < T * 8; i++) {
        bad += idx[i] < 0 || idx[i] >= 256;
        if (idx[i] >= 0 && idx[i] < 256) cnt[idx[i]]++;
    }
    for (int t = 0; t < T; t++)
        for (int k = 0; k < 8; k++)
            for (int j = 0; j < k; j++) bad += idx[t * 8 + j] == idx[t * 8 + k];
    KBT_CHECK(bad == 0);
    KBT_CHECK(cnt[3] > T / 4 && cnt[40] > T / 4); /* hot: ~half the tokens */
    KBT_CHECK(cnt[4] < T / 10);                    /* cold: ~2% */
    moe_routing_random(1, T, 8, 0, idx);
    bad = 0;
    for (int i = 0; i < T * 8; i++) bad += idx[i] < 0 || idx[i] >= 8;
    KBT_CHECK(bad == 0);
    free(idx);
}


/* ---- the dispatch kernels' layout algorithms, emulated -------------------
 * v1: per-chunk histograms, per-expert exclusive scan over chunks plus the
 * padded segment offsets, ranks in slot order inside a chunk.  v2: the same
 * with G blocks of ceil(T/G) tokens (some empty).  Both must reproduce
 * moe_layout_build exactly. */
static int emulate_chunked(const int32_t *idx, int T, int E, int tok_per_chunk, int masked, int m_max,
                           const int32_t *want_cnt, const int32_t *want_off, const int32_t *want_row)
{
    int n_chunks = (T + tok_per_chunk - 1) / tok_per_chunk;
    int32_t *cm = calloc((size_t)n_chunks * E, 4), tot[256] = {0}, off[257], base[256];
    int bad = 0;
    for (int c = 0; c < n_chunks; c++)
        for (int i = c * tok_per_chunk * 8; i < T * 8 && i < (c + 1) * tok_per_chunk * 8; i++)
            if (idx[i] >= 0) cm[c * E + idx[i]]++;
    for (int e = 0; e < E; e++)
        for (int c = 0; c < n_chunks; c++) tot[e] += cm[c * E + e];
    off[0] = 0;
    for (int e = 0; e < E; e++) off[e + 1] = off[e] + (tot[e] + 127) / 128 * 128;
    for (int e = 0; e < E; e++) bad += tot[e] != want_cnt[e] || (!masked && off[e] != want_off[e]);
    for (int c = 0; c < n_chunks; c++) {
        for (int e = 0; e < E; e++) {
            int pre = 0;
            for (int q = 0; q < c; q++) pre += cm[q * E + e];
            base[e] = (masked ? e * m_max : off[e]) + pre;
        }
        /* warp ranking: 32 slots at a time, rank = equal experts in lower lanes */
        int s0 = c * tok_per_chunk * 8, s1 = (c + 1) * tok_per_chunk * 8;
        if (s1 > T * 8) s1 = T * 8;
        for (int i0 = s0; i0 < s1; i0 += 32) {
            int rows[32], es[32];
            for (int l = 0; l < 32; l++) {
                es[l] = i0 + l < s1 ? idx[i0 + l] : -1;
                int rank = 0;
                for (int q = 0; q < l; q++) rank += es[q] == es[l];
                rows[l] = es[l] >= 0 ? base[es[l]] + rank : -1;
            }
            for (int l = 0; l < 32; l++) {
                if (i0 + l < s1) bad += rows[l] != want_row[i0 + l];
                int first = 1;
                for (int q = 0; q < l; q++) first &= es[q] != es[l];
                if (es[l] >= 0 && first) {
                    int n = 0;
                    for (int q = 0; q < 32; q++) n += es[q] == es[l];
                    base[es[l]] += n;
                }
            }
        }
    }
    free(cm);
    return bad;
}

static void test_dispatch_algorithms(void)
{
    const int Ts[4] = {40, 200, 517, 1000};
    const int Es[3] = {256, 32, 8};
    int bad = 0;
    for (int ti = 0; ti < 4; ti++)
        for (int ei = 0; ei < 3; ei++)
            for (int sk = 0; sk < 2; sk++) {
                int T = Ts[ti], E = Es[ei];
                int32_t *idx = malloc(sizeof(int32_t) * T * 8), *row = malloc(sizeof(int32_t) * T * 8);
                int32_t *mrow = malloc(sizeof(int32_t) * T * 8), cnt[256], off[257], mcnt[256];
                moe_routing_random(1000 + ti * 10 + ei * 2 + sk, T, E, sk, idx);
                if (sk) idx[5] = -1; /* a slot whose expert lives elsewhere */
                moe_layout_build(idx, T, 8, E, 128, cnt, off, row);
                int m_max = 0;
                for (int e = 0; e < E; e++) m_max = cnt[e] > m_max ? cnt[e] : m_max;
                m_max = (m_max + 127) / 128 * 128;
                moe_layout_build_masked(idx, T, 8, E, m_max, mcnt, mrow);
                bad += emulate_chunked(idx, T, E, 256, 0, 0, cnt, off, row);           /* v1 */
                bad += emulate_chunked(idx, T, E, 256, 1, m_max, mcnt, off, mrow);     /* v1 masked */
                int G = T < 132 ? T : 132;                                             /* v2 */
                bad += emulate_chunked(idx, T, E, (T + G - 1) / G, 0, 0, cnt, off, row);
                bad += emulate_chunked(idx, T, E, (T + G - 1) / G, 1, m_max, mcnt, off, mrow);
                free(idx);
                free(row);
                free(mrow);
            }
    KBT_CHECK(bad == 0);
}

int main(void)
{
    test_tables();
    test_warp_select();
    test_route_cpu();
    test_bench_routing();
    test_dispatch_algorithms();
    return kbt_done("test_moe_ops");
}
