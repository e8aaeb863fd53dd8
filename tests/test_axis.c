/* test_axis.c - `--axis`: the value and range grammar (good and bad input),
 * the product over a base shape (order, labels, napkin math), every
 * operator's kb_op.check on hand-picked valid and invalid dims, and the
 * installed list the run path, workers and profiled children read. */
#include <stdlib.h>
#include <string.h>
#include "bench/kb_axis.h"
#include "bench/kb_io.h"
#include "kbtest.h"

static int64_t val(const char *s)
{
    char why[256];
    int64_t v = -1;
    return kb_axis_value(s, &v, why, sizeof why) ? -1 : v;
}

static void test_values(void)
{
    KBT_CHECK(val("0") == 0);
    KBT_CHECK(val("64") == 64);
    KBT_CHECK(val("1K") == 1024);
    KBT_CHECK(val("8k") == 8192);
    KBT_CHECK(val("1M") == 1048576);
    KBT_CHECK(val("1G") == 1073741824LL);
    KBT_CHECK(val("2g") == 2147483648LL);
    KBT_CHECK(val("1T") == 1099511627776LL);
    const char *bad[] = {"", "abc", "1X", "-1", "1.5", "+3", "1KK", "99999999999999999999", "9000000000000000000K"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) KBT_CHECK(val(bad[i]) == -1);
    char why[256];
    int64_t v;
    KBT_CHECK(kb_axis_value("12x", &v, why, sizeof why) != 0 && strstr(why, "'12x' is not a whole number"));
}

/* Parse spec for op and compare with want[n] (n < 0: must be refused, and
 * why must contain `msg`). */
static void parse_is(const char *op, const char *spec, const int64_t *want, int n, const char *msg)
{
    kb_axis ax;
    char why[512] = "";
    int rc = kb_axis_parse(kb_find_op(op), spec, &ax, why, sizeof why);
    if (n < 0) {
        KBT_CHECK(rc != 0);
        if (rc == 0 || !strstr(why, msg)) printf("  spec '%s': why = '%s', want '%s'\n", spec, why, msg);
        KBT_CHECK(strstr(why, msg) != NULL);
        KBT_CHECK(strchr(why, '\n') == NULL);
        return;
    }
    KBT_CHECK(rc == 0);
    if (rc) printf("  spec '%s' refused: %s\n", spec, why);
    KBT_CHECK(ax.n == n);
    for (int i = 0; i < n && i < ax.n; i++) KBT_CHECK(ax.v[i] == want[i]);
    kb_axis_free(&ax);
}

static void test_parse(void)
{
    const int64_t pow2[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192};
    parse_is("fp8_gemm", "m=1:8192:x2", pow2, 14, NULL);
    parse_is("fp8_gemm", "m=1:9000:x2", pow2, 14, NULL); /* HI need not be reached */
    parse_is("fp8_gemm", "m=64:256:x2", (const int64_t[]){64, 128, 256}, 3, NULL);
    parse_is("fp8_gemm", "m=1:100:x10", (const int64_t[]){1, 10, 100}, 3, NULL);
    parse_is("fp8_gemm", "k=128:512:+128", (const int64_t[]){128, 256, 384, 512}, 4, NULL);
    parse_is("fp8_gemm", "k=128:600:+128", (const int64_t[]){128, 256, 384, 512}, 4, NULL);
    parse_is("fp8_gemm", "n=7168", (const int64_t[]){7168}, 1, NULL);
    parse_is("fp8_gemm", "n=7168:7168:x2", (const int64_t[]){7168}, 1, NULL);
    parse_is("fp8_gemm", "m=3,1,2", (const int64_t[]){3, 1, 2}, 3, NULL);
    parse_is("hbm", "bytes=1M:4M:x2", (const int64_t[]){1048576, 2097152, 4194304}, 3, NULL);
    /* nccl-tests' -b 8 -e 1G -f 2: 28 sizes */
    kb_axis ax;
    char why[256];
    KBT_CHECK(kb_axis_parse(kb_find_op("alltoall"), "bytes=8:1G:x2", &ax, why, sizeof why) == 0);
    KBT_CHECK(ax.n == 28 && ax.v[0] == 8 && ax.v[27] == 1073741824LL);
    kb_axis_free(&ax);
    parse_is("fp8_gemm", "q=1", NULL, -1, "fp8_gemm has no dim 'q' (its dims: layout, m, n, k, g, dist)");
    parse_is("fp8_gemm", "m=", NULL, -1, "no values after '='");
    parse_is("fp8_gemm", "=5", NULL, -1, "expected NAME=VALUES");
    parse_is("fp8_gemm", "m", NULL, -1, "expected NAME=VALUES");
    parse_is("fp8_gemm", "m=1:2", NULL, -1, "LO:HI:xF (geometric) or LO:HI:+S");
    parse_is("fp8_gemm", "m=1:8:y2", NULL, -1, "LO:HI:xF (geometric) or LO:HI:+S");
    parse_is("fp8_gemm", "m=1:8:x2:3", NULL, -1, "LO:HI:xF (geometric) or LO:HI:+S");
    parse_is("fp8_gemm", "m=4:2:x2", NULL, -1, "LO 4 is above HI 2");
    parse_is("fp8_gemm", "m=1:8:x1", NULL, -1, "factor after x must be at least 2");
    parse_is("fp8_gemm", "m=0:8:x2", NULL, -1, "geometric range starts at 1");
    parse_is("fp8_gemm", "m=1:8:+0", NULL, -1, "step after + must be at least 1");
    parse_is("fp8_gemm", "m=1,2:3:x2", NULL, -1, "a list item cannot be a range");
    parse_is("fp8_gemm", "m=1,,2", NULL, -1, "empty value in the list");
    parse_is("fp8_gemm", "m=1,", NULL, -1, "empty value in the list");
    parse_is("fp8_gemm", "m=abc", NULL, -1, "'abc' is not a whole number");
    parse_is("fp8_gemm", "m=1:100000:+1", NULL, -1, "more than 4096 values");
}

static const kb_shape *table_shape(const char *op, const char *label)
{
    int n = 0;
    const kb_shape *s = kb_find_op(op)->shapes(&n);
    for (int i = 0; i < n; i++)
        if (!strcmp(s[i].label, label)) return &s[i];
    printf("FAIL: no shape %s/%s\n", op, label);
    exit(1);
}

static void test_product(void)
{
    const kb_op *op = kb_find_op("fp8_gemm");
    const kb_shape *base = table_shape("fp8_gemm", "m4096_n7168_k16384");
    kb_axis ax[2];
    char why[512];
    KBT_CHECK(kb_axis_parse(op, "m=64:128:x2", &ax[0], why, sizeof why) == 0);
    KBT_CHECK(kb_axis_parse(op, "k=2048,128", &ax[1], why, sizeof why) == 0);
    kb_shape_table t = {0};
    KBT_CHECK(kb_axis_product(op, base, ax, 2, &t, why, sizeof why) == 0);
    KBT_CHECK(t.n == 4);
    /* first axis slowest: (64,2048) (64,128) (128,2048) (128,128); n from the base */
    const char *labels[] = {"layout0_m64_n7168_k2048_g1_dist0", "layout0_m64_n7168_k128_g1_dist0",
                            "layout0_m128_n7168_k2048_g1_dist0", "layout0_m128_n7168_k128_g1_dist0"};
    const double flops[] = {2.0 * 64 * 7168 * 2048, 2.0 * 64 * 7168 * 128, 2.0 * 128 * 7168 * 2048,
                            2.0 * 128 * 7168 * 128};
    for (int i = 0; i < 4 && i < t.n; i++) {
        KBT_STREQ(t.s[i].label, labels[i]);
        KBT_STREQ(t.s[i].dtype, "e4m3");
        KBT_NEAR(op->flops(&t.s[i]), flops[i], 1e-12);
        KBT_CHECK(t.s[i].sets == (KB_SET_FULL | KB_SET_QUICK | KB_SET_SMALL));
    }
    /* an invalid value anywhere in the product refuses it, naming dim and rule */
    kb_axis_free(&ax[1]);
    KBT_CHECK(kb_axis_parse(op, "k=2048,100", &ax[1], why, sizeof why) == 0);
    KBT_CHECK(kb_axis_product(op, base, ax, 2, &t, why, sizeof why) != 0);
    KBT_STREQ(why, "fp8_gemm: k=100 is not a multiple of 128");
    kb_axis_free(&ax[0]);
    kb_axis_free(&ax[1]);
    /* 4097 shapes: refused */
    KBT_CHECK(kb_axis_parse(op, "m=1:65:+1", &ax[0], why, sizeof why) == 0);
    KBT_CHECK(kb_axis_parse(op, "k=128:8192:+128", &ax[1], why, sizeof why) == 0); /* 65 x 64 = 4160 */
    KBT_CHECK(kb_axis_product(op, base, ax, 2, &t, why, sizeof why) != 0 && strstr(why, "more than 4096 shapes"));
    kb_axis_free(&ax[0]);
    kb_axis_free(&ax[1]);
    free(t.s);
}

static void test_labels(void)
{
    const kb_op *op = kb_find_op("ep_dispatch");
    kb_shape s = {0};
    s.d[0] = 128, s.d[1] = 7168, s.d[2] = 256, s.d[3] = 8, s.d[4] = 8, s.d[5] = 1, s.d[6] = 8, s.d[7] = 4;
    char buf[64];
    kb_axis_label(op, &s, buf, sizeof buf);
    KBT_STREQ(buf, "t128_hidden7168_e256_k8_ranks8_loopback1_ngroup8_topkgroup4"); /* 59 characters */
    s.d[0] = 1000000, s.d[1] = 1000000;
    kb_axis_label(op, &s, buf, sizeof buf); /* 66 characters: cut to 54 + "_" + 8 hex */
    KBT_CHECK(strlen(buf) == 63);
    KBT_CHECK(!strncmp(buf, "t1000000_hidden1000000_e256_k8_ranks8_loopback1_ngroup_", 55));
    char other[64];
    s.d[7] = 2;
    kb_axis_label(op, &s, other, sizeof other);
    KBT_CHECK(strcmp(buf, other) != 0); /* the hash tells them apart */
}

/* op's check on the table shape `label` with dim `dim` set to v. */
static int check_with(const char *op, const char *label, const char *dim, int64_t v, char *why, size_t n)
{
    const kb_op *o = kb_find_op(op);
    kb_shape s = *table_shape(op, label);
    for (int i = 0; i < KB_MAX_DIMS; i++)
        if (o->dims[i] && !strcmp(o->dims[i], dim)) s.d[i] = v;
    why[0] = 0;
    return o->check(&s, why, n);
}

#define OK(op, label, dim, v) KBT_CHECK(check_with(op, label, dim, v, why, sizeof why) == 0)
#define REFUSED(op, label, dim, v, msg)                                                                        \
    do {                                                                                                       \
        KBT_CHECK(check_with(op, label, dim, v, why, sizeof why) != 0);                                         \
        KBT_STREQ(why, msg);                                                                                   \
    } while (0)

static void test_checks_gemm(void)
{
    char why[512];
    OK("fp8_gemm", "m64_n7168_k2048", "k", 128);
    OK("fp8_gemm", "m64_n7168_k2048", "n", 16);
    REFUSED("fp8_gemm", "m64_n7168_k2048", "k", 100, "fp8_gemm: k=100 is not a multiple of 128");
    REFUSED("fp8_gemm", "m64_n7168_k2048", "n", 7000, "fp8_gemm: n=7000 is not a multiple of 16");
    REFUSED("fp8_gemm", "m64_n7168_k2048", "m", 0, "fp8_gemm: m=0 is outside 1..16777216");
    REFUSED("fp8_gemm", "m64_n7168_k2048", "layout", 1,
            "fp8_gemm: dense only: layout=0, g=1, dist=0 (got layout=1 g=1 dist=0)");
    /* 65536 x 36864 = 2.4e9 outputs >= 2^31 */
    REFUSED("fp8_gemm", "m64_n36864_k7168", "m", 65536,
            "fp8_gemm: m=65536 n=36864 k=7168 g=1: an operand of 2^31 elements or more");
    OK("fp8_gemm_grouped", "masked_g4_m256_n4096_k7168", "g", 64);
    REFUSED("fp8_gemm_grouped", "masked_g4_m256_n4096_k7168", "g", 65, "fp8_gemm_grouped: g=65 is outside 1..64");
    REFUSED("fp8_gemm_grouped", "masked_g4_m256_n4096_k7168", "layout", 0,
            "fp8_gemm_grouped: layout=0 is outside 1..2");
    REFUSED("fp8_gemm_grouped", "masked_g4_m256_n4096_k7168", "dist", 2, "fp8_gemm_grouped: dist=2 is outside 0..1");
    OK("fp8_quant", "tok_m128_k7168", "cols", 256);
    REFUSED("fp8_quant", "tok_m128_k7168", "cols", 0, "fp8_quant: cols=0 is outside 128..16777216");
    REFUSED("fp8_quant", "tok_m128_k7168", "cols", 200, "fp8_quant: cols=200 is not a multiple of 128");
    REFUSED("fp8_quant", "tok_m128_k7168", "rows", 0, "fp8_quant: rows=0 is outside 1..16777216");
    REFUSED("fp8_quant", "tok_m128_k7168", "mode", 1,
            "fp8_quant: mode=1 needs dtype bf16>e4m3_128x128, the base shape's is bf16>e4m3_1x128 (pick a base with "
            "--shape)");
    OK("peak", "fp8_8192", "n", 4096);
    REFUSED("peak", "fp8_8192", "n", 1000, "peak: n=1000 is not a multiple of 16");
    REFUSED("peak", "fp8_8192", "fp8", 0,
            "peak: fp8=0 needs dtype bf16, the base shape's is e4m3 (pick a base with --shape)");
}

static void test_checks_other(void)
{
    char why[512];
    OK("hbm", "read_2GiB", "bytes", 1048576);
    REFUSED("hbm", "read_2GiB", "bytes", 1000, "hbm: bytes=1000 is not a multiple of 16");
    REFUSED("hbm", "read_2GiB", "passes", 2, "hbm: passes=2 is outside 1..1");
    REFUSED("hbm", "read_2GiB", "mode", 3,
            "hbm: mode=3: an L2 read needs an l2read base shape (--shape l2read_16MiB_x64)");
    REFUSED("hbm", "read_2GiB", "mode", 4, "hbm: mode=4 is outside 0..3");
    OK("hbm", "l2read_16MiB_x64", "passes", 8);
    REFUSED("hbm", "l2read_16MiB_x64", "mode", 0,
            "hbm: mode=0: the l2read base shape is for mode=3 only (pick e.g. --shape read_2GiB)");
    OK("mla_decode", "b128_sk4096_h16_sq1", "sk", 100000);
    REFUSED("mla_decode", "b128_sk4096_h16_sq1", "hq", 129, "mla_decode: hq=129 is outside 1..128");
    REFUSED("mla_decode", "b128_sk4096_h16_sq1", "sk", 16, "mla_decode: sk=16 is outside 32..4194304");
    REFUSED("mla_decode", "b3_sk200_h16_sq2_empty", "b", 1, "mla_decode: b=1 is outside 2..4096");
    REFUSED("mla_decode", "b128_sk4096_h16_sq1", "fp8kv", 1,
            "mla_decode: fp8kv=1 needs dtype fp8kv, the base shape's is bf16 (pick a base with --shape)");
    REFUSED("mla_decode", "b128_sk4096_h16_sq1", "sk", 4194304, "mla_decode: b=128 sk=4194304: b*sk*16 keys reach 2^31");
    OK("moe_route", "t4096_uniform", "t", 1);
    REFUSED("moe_route", "t4096_uniform", "t", 0, "moe_route: t=0 is outside 1..4194304");
    REFUSED("moe_route", "t4096_uniform", "skew", 2, "moe_route: skew=2 is outside 0..1");
    OK("moe_dispatch", "t4096_e256_uniform", "e", 64);
    REFUSED("moe_dispatch", "t4096_e256_uniform", "e", 3, "moe_dispatch: e=3 does not divide the 256 experts");
    REFUSED("moe_dispatch", "t4096_e256_uniform", "fmt", 3, "moe_dispatch: fmt=3 is outside 0..2");
    REFUSED("moe_combine", "t4096_e256_uniform", "e", 48, "moe_combine: e=48 does not divide the 256 experts");
}

static void test_checks_ep(void)
{
    char why[512];
    int n = 0;
    const kb_shape *d = kb_find_op("ep_dispatch")->shapes(&n);
    const char *lbl = d[0].label; /* ranks depend on this machine: read them from the table */
    char msg[256];
    OK("ep_dispatch", lbl, "t", 1024);
    REFUSED("ep_dispatch", lbl, "hidden", 0, "ep_dispatch: hidden=0 is outside 128..65536");
    REFUSED("ep_dispatch", lbl, "hidden", 7000, "ep_dispatch: hidden=7000 is not a multiple of 128");
    REFUSED("ep_dispatch", lbl, "k", 9, "ep_dispatch: k=9 is outside 1..8");
    if (d[0].d[4] > 1) { /* ranks: e must split evenly over them */
        snprintf(msg, sizeof msg, "ep_dispatch: e=%lld is not a multiple of ranks=%lld", (long long)(d[0].d[4] * 32 + 1),
                 (long long)d[0].d[4]);
        REFUSED("ep_dispatch", lbl, "e", d[0].d[4] * 32 + 1, msg);
    }
    REFUSED("ep_combine", lbl, "ngroup", 5, "ep_combine: e=256 is not a multiple of ngroup=5");
    OK("ep_combine", lbl, "topkgroup", 1); /* 8 of the 32 experts of one group */
    REFUSED("ep_combine", lbl, "ngroup", 256, "ep_combine: k=8 is more than topkgroup x e/ngroup = 4 experts");
    const kb_shape *a = kb_find_op("alltoall")->shapes(&n);
    const int64_t ar = a[0].d[4]; /* EP_D_RANKS */
    snprintf(msg, sizeof msg, "alltoall: bytes=8 leaves chunks under 16 B for %lld ranks (at least %lld)",
             (long long)ar, (long long)(16 * ar));
    REFUSED("alltoall", a[0].label, "bytes", 8, msg);
    OK("alltoall", a[0].label, "bytes", 1048576);
    REFUSED("alltoall", a[0].label, "ranks", 17, "alltoall: ranks=17 is outside 1..16");
}

/* The contract: every operator has a check, and its own table passes it. */
static void test_tables_pass(void)
{
    int nops;
    const kb_op *const *ops = kb_ops(&nops);
    for (int i = 0; i < nops; i++) {
        KBT_CHECK(ops[i]->check != NULL);
        if (!ops[i]->check) continue;
        int n = 0;
        const kb_shape *s = ops[i]->shapes(&n);
        for (int k = 0; k < n; k++) {
            char why[512] = "";
            int rc = ops[i]->check(&s[k], why, sizeof why);
            if (rc) printf("FAIL %s/%s refused by its own check: %s\n", ops[i]->name, s[k].label, why);
            KBT_CHECK(rc == 0);
        }
    }
}

static void test_install(void)
{
    char *specs[] = {"m=64:256:x2", "n=7168", "k=2048"};
    KBT_CHECK(kb_axes_install("model", NULL, NULL, KB_SET_FULL, specs, 3) == KB_EXIT_USAGE);
    KBT_CHECK(kb_axes_install("model", "fp8_gemm,hbm", NULL, KB_SET_FULL, specs, 3) == KB_EXIT_USAGE);
    char *twice[] = {"m=64", "m=128"};
    KBT_CHECK(kb_axes_install("model", "fp8_gemm", NULL, KB_SET_FULL, twice, 2) == KB_EXIT_USAGE);
    char *badk[] = {"k=100"};
    KBT_CHECK(kb_axes_install("model", "fp8_gemm", NULL, KB_SET_FULL, badk, 1) == KB_EXIT_USAGE);
    int n = 0, n_table = 0;
    kb_find_op("fp8_gemm")->shapes(&n_table);
    KBT_CHECK(kb_op_shapes(kb_find_op("fp8_gemm"), &n) && n == n_table); /* nothing installed yet */
    const char *argv[32];
    KBT_CHECK(kb_axes_argv(argv, 32) == 0);
    KBT_CHECK(kb_axes_install("model", "fp8_gemm", "m4096_n7168_k16384", KB_SET_FULL, specs, 3) == 0);
    const kb_shape *s = kb_op_shapes(kb_find_op("fp8_gemm"), &n);
    KBT_CHECK(n == 3);
    if (n == 3) KBT_STREQ(s[2].label, "layout0_m256_n7168_k2048_g1_dist0");
    kb_op_shapes(kb_find_op("hbm"), &n);
    int n_hbm = 0;
    kb_find_op("hbm")->shapes(&n_hbm);
    KBT_CHECK(n == n_hbm); /* other operators keep their tables */
    KBT_CHECK(kb_axes_argv(argv, 32) == 10);
    KBT_STREQ(argv[0], "--op");
    KBT_STREQ(argv[1], "fp8_gemm");
    KBT_STREQ(argv[2], "--axis");
    KBT_STREQ(argv[3], "m=64:256:x2");
    KBT_STREQ(argv[7], "k=2048");
    KBT_STREQ(argv[8], "--shape");
    KBT_STREQ(argv[9], "m4096_n7168_k16384");
    /* a failed install leaves the installed list alone */
    KBT_CHECK(kb_axes_install("model", "fp8_gemm", NULL, KB_SET_FULL, badk, 1) == KB_EXIT_USAGE);
    kb_op_shapes(kb_find_op("fp8_gemm"), &n);
    KBT_CHECK(n == 3);
}

int main(void)
{
    test_values();
    test_parse();
    test_product();
    test_labels();
    test_checks_gemm();
    test_checks_other();
    test_checks_ep();
    test_tables_pass();
    test_install();
    return kbt_done("test_axis");
}
