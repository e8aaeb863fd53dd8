/* The end-of-run lines (bench/kb_summary.h) over fake rows: the counts, the
 * #wrong sum and the average bus bandwidth, worked out by hand.  No GPU. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/kb_summary.h"
#include "kbtest.h"

static kb_row row(const char *op, const char *verified, const char *metric, double err, const char *metrics)
{
    kb_row r;
    kb_row_init(&r);
    kb_strlcpy(r.op, op, sizeof r.op);
    kb_strlcpy(r.verified, verified, sizeof r.verified);
    kb_strlcpy(r.err_metric, metric, sizeof r.err_metric);
    r.err = err;
    kb_strlcpy(r.metrics, metrics, sizeof r.metrics);
    return r;
}

int main(void)
{
    kb_summary s = {0};
    kb_row rows[] = {
        row("alltoall", "pass", "wrong", 0, "algbw_gbps=100.00;busbw_gbps=87.50;loopback=0"),
        row("alltoall", "pass", "wrong", 0, "algbw_gbps=200.00;busbw_gbps=175.25;loopback=0"),
        row("alltoall", "fail", "wrong", 12, "algbw_gbps=9.00;busbw_gbps=999;loopback=0"), /* failed: no busbw */
        row("alltoall", "skip", "", NAN, ""),
        row("fp8_quant", "fail", "wrong", 5, ""),
        row("fp8_gemm", "pass", "cos_diff", 3e-4, ""),        /* not a count */
        row("ep_dispatch", "pass", "wrong", 0, "logical_gbps=50.0;loopback=1"), /* no busbw */
        row("hbm", "fail", "wrong", NAN, ""),                 /* no count at all */
        row("x", "pass", "", NAN, "notbusbw_gbps=7"),         /* only the whole name counts */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) kb_summary_add(&s, &rows[i]);
    KBT_CHECK(s.n_pass == 5 && s.n_fail == 3 && s.n_skip == 1);
    KBT_NEAR(s.wrong, 17, 0); /* 12 + 5 */
    KBT_CHECK(s.n_bw == 1);
    KBT_STREQ(s.bw[0].op, "alltoall");
    KBT_CHECK(s.bw[0].n == 2);
    KBT_NEAR(s.bw[0].sum_gbps / s.bw[0].n, 131.375, 1e-12); /* (87.5 + 175.25) / 2 */

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    kb_summary_print(f, &s, " in 4 worker(s)", "out.csv");
    fclose(f);
    KBT_STREQ(text, "# Avg bus bandwidth    : 131.38 GB/s  (alltoall, 2 rows)\n"
                    "kbench: 5 passed, 3 failed, 1 skipped, #wrong 17 in 4 worker(s) -> out.csv\n");
    free(text);

    kb_summary e = {0}; /* nothing run: no bandwidth line, #wrong 0 */
    f = open_memstream(&text, &len);
    kb_summary_print(f, &e, "", "x.csv");
    fclose(f);
    KBT_STREQ(text, "kbench: 0 passed, 0 failed, 0 skipped, #wrong 0 -> x.csv\n");
    free(text);
    return kbt_done("test_summary");
}
