/* test_fp8_gemm_shapes.c - shape tables, group layouts and napkin math of the
 * three FP8 operators, against numbers computed by hand. */
#include <string.h>
#include "kbtest.h"
#include "bench/kb.h"
#include "bench/ops/fp8_common.h"

static const kb_shape *find(const kb_op *op, const char *label)
{
    int n;
    const kb_shape *s = op->shapes(&n);
    for (int i = 0; i < n; i++)
        if (strcmp(s[i].label, label) == 0) return &s[i];
    printf("shape %s not found in %s\n", label, op->name);
    return NULL;
}

static void check_table(const kb_op *op, int want_n, int want_quick, int want_small)
{
    int n, quick = 0, small = 0, dup = 0, unset = 0;
    const kb_shape *s = op->shapes(&n);
    KBT_CHECK(n == want_n);
    for (int i = 0; i < n; i++) {
        quick += !!(s[i].sets & KB_SET_QUICK);
        small += !!(s[i].sets & KB_SET_SMALL);
        unset += s[i].sets == 0;
        for (int j = 0; j < i; j++) dup += strcmp(s[i].label, s[j].label) == 0;
    }
    KBT_CHECK(quick == want_quick);
    KBT_CHECK(small == want_small);
    KBT_CHECK(dup == 0);
    KBT_CHECK(unset == 0);
    KBT_CHECK(op->n_impls >= 2);
    KBT_CHECK(op->setup && op->poison && op->verify && op->teardown && op->flops && op->bytes);
}

static void test_layouts(void)
{
    int counts[4] = {130, 0, 128, 1}, start[4];
    static int32_t gidx[512];
    KBT_CHECK(fp8_contig_layout(4, counts, start, NULL) == 512);
    KBT_CHECK(fp8_contig_layout(4, counts, NULL, gidx) == 512);
    KBT_CHECK(start[0] == 0 && start[1] == 256 && start[2] == 256 && start[3] == 384);
    KBT_CHECK(gidx[0] == 0 && gidx[129] == 0 && gidx[130] == -1 && gidx[255] == -1);
    KBT_CHECK(gidx[256] == 2 && gidx[383] == 2 && gidx[384] == 3 && gidx[385] == -1 && gidx[511] == -1);

    int r1[8], r2[8], lo = 1 << 30, hi = 0;
    long sum = 0;
    fp8_route_counts(8, 32768, 42, r1);
    fp8_route_counts(8, 32768, 42, r2);
    for (int g = 0; g < 8; g++) {
        sum += r1[g];
        lo = r1[g] < lo ? r1[g] : lo;
        hi = r1[g] > hi ? r1[g] : hi;
    }
    KBT_CHECK(sum == 32768);
    KBT_CHECK(memcmp(r1, r2, sizeof r1) == 0);
    KBT_CHECK(lo >= 0 && hi > lo);    /* unequal */

    int m[32], bad = 0;
    fp8_masked_counts(32, 256, 7, m);
    for (int g = 0; g < 32; g++) bad += m[g] < 128 || m[g] > 256;
    KBT_CHECK(bad == 0);
}

int main(void)
{
    const kb_op *dense = kb_find_op("fp8_gemm"), *grp = kb_find_op("fp8_gemm_grouped"), *qnt = kb_find_op("fp8_quant");
    KBT_CHECK(dense && grp && qnt);
    if (!dense || !grp || !qnt) return kbt_done("test_fp8_gemm_shapes");
    test_layouts();

    /* dense: 9 (N,K) x 9 M + 4 small; quick M {128, 4096} x 4 (N,K) */
    check_table(dense, 85, 8, 4);
    const kb_shape *s = find(dense, "m4096_n7168_k16384");
    KBT_CHECK(s != NULL);
    if (s) {
        KBT_NEAR(dense->flops(s), 962072674304.0, 0);            /* 2 * 4096 * 7168 * 16384 */
        KBT_NEAR(dense->bytes(s), 245395456.0, 0);               /* 67108864 + 117440512 + 58720256 + 4*(524288 + 7168) */
    }
    s = find(dense, "m1_n2112_k7168");
    KBT_CHECK(s != NULL);
    if (s) {
        KBT_NEAR(dense->flops(s), 30277632.0, 0);                /* 2 * 2112 * 7168 */
        KBT_NEAR(dense->bytes(s), 15154240.0, 0);                /* 7168 + 15138816 + 4224 + 4*(56 + 17*56) */
    }

    /* grouped: 6 contiguous x {equal, routed} + 8 masked + 3 small */
    check_table(grp, 23, 4, 3);
    s = find(grp, "contig_g4_m8192_n4096_k7168");
    KBT_CHECK(s != NULL);
    if (s) {
        KBT_NEAR(grp->flops(s), 1924145348608.0, 0);             /* 2 * 32768 * 4096 * 7168 */
        KBT_NEAR(grp->bytes(s), 628125696.0, 0);                 /* 234881024 + 117440512 + 268435456 + 7368704 */
    }
    s = find(grp, "contig_route_g4_m8192_n4096_k7168");
    KBT_CHECK(s != NULL);
    if (s) {
        KBT_NEAR(grp->flops(s), 1924145348608.0, 0);             /* same tokens, unequal split */
        int c[FP8_MAX_GROUPS], eq = 1;
        KBT_CHECK(fp8_gemm_group_rows("fp8_gemm_grouped", s, c) == 4);
        for (int g = 1; g < 4; g++) eq &= c[g] == c[0];
        KBT_CHECK(!eq);
    }
    s = find(grp, "masked_g32_m256_n7168_k2048");
    KBT_CHECK(s != NULL);
    if (s) {
        int c[FP8_MAX_GROUPS];
        double rows = 0;
        KBT_CHECK(fp8_gemm_group_rows("fp8_gemm_grouped", s, c) == 32);
        for (int g = 0; g < 32; g++) rows += c[g];
        KBT_CHECK(rows >= 32 * 128 && rows <= 32 * 256);
        KBT_NEAR(grp->flops(s), 2.0 * rows * 7168 * 2048, 0);
        /* bytes: rows*(2048 + 2*7168 + 4*16) + 32*(7168*2048 + 4*56*16) = rows*16448 + 32*(14680064 + 3584) */
        KBT_NEAR(grp->bytes(s), rows * 16448.0 + 32.0 * 14683648.0, 0);
    }

    /* quant: 6 K x 3 M + 2 decode + 9 weights + 4 small */
    check_table(qnt, 33, 4, 4);
    s = find(qnt, "tok_m4096_k7168");
    KBT_CHECK(s != NULL);
    if (s) {
        KBT_NEAR(qnt->bytes(s), 88997888.0, 0);                  /* 3*4096*7168 + 4*4096*56 */
        KBT_STREQ(s->dtype, "bf16>e4m3_1x128");
    }
    s = find(qnt, "blk_n2112_k7168");
    KBT_CHECK(s != NULL);
    if (s) {
        KBT_NEAR(qnt->bytes(s), 45420256.0, 0);                  /* 3*2112*7168 + 4*17*56 */
        KBT_STREQ(s->dtype, "bf16>e4m3_128x128");
    }
    return kbt_done("test_fp8_gemm_shapes");
}
