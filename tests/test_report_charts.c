/* test_report_charts.c - the bandwidth chart (zero-FLOP operators), the
 * roofline's markers, colours and projection note, and a per-op chart whose
 * op has library and hand-written rows but no shape with both (gnuplot used to
 * stop on it: "x range is invalid").  Fixture tests/fixtures/bw_results.csv;
 * every expected number is recomputed here from the fixture's bytes and times.
 * kbench plot runs gnuplot on every script: exit 0 means each one rendered. */
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include "cmdtest.h"
#include "bench/report/kb_cmds.h"
#include "bench/report/kbr_plot_int.h"
#include "kbtest.h"

#define FX "tests/fixtures/"
static char dir[64];

static char *slurp(const char *name) { return kbt_file_text(dir, name); }

static long fsize(const char *name) { return kbt_file_size(dir, name); }

/* The data line "x gbps pct_ds pct_meas bytes time op shape impl source" as the chart must write it. */
static void line(char *buf, size_t n, int x, double bytes, double us, double ds, double meas, const char *rest)
{
    double g = bytes / (us * 1e-6) / 1e9;
    char pm[32];
    if (meas > 0) snprintf(pm, sizeof pm, "%.6g", 100 * g / meas);
    else snprintf(pm, sizeof pm, "NaN");
    snprintf(buf, n, "\n%d %.6g %.6g %s %.17g %.6g %s\n", x, g, 100 * g / ds, pm, bytes, us, rest);
}

static void check_bandwidth(void)
{
    const double ds = 3350, meas = 4294967296.0 / 1500e-6 / 1e9; /* the hbm copy row: 2863.31 GB/s */
    KBT_NEAR(meas, 2863.311, 1e-3);
    const char *d = slurp("bandwidth_h100-sxm.dat");
    char want[256];
    line(want, sizeof want, 0, 4294967296.0, 1500, ds, meas, "hbm copy_2GiB v1 measured");
    KBT_CHECK(strstr(d, want) != NULL);
    KBT_CHECK(strstr(want, " 2863.31 85.4720 100 ") || strstr(want, " 2863.31 85.472 100 ")); /* by hand */
    line(want, sizeof want, 1, 88997888.0, 40, ds, meas, "fp8_quant t4096_h7168 v1 measured");
    KBT_CHECK(strstr(d, want) != NULL);
    line(want, sizeof want, 1, 88997888.0, 32, ds, meas, "fp8_quant t4096_h7168 v2 measured");
    KBT_CHECK(strstr(d, want) != NULL);
    line(want, sizeof want, 2, 1e8, 50, ds, meas, "moe_dispatch t4096_e256 v1 measured");
    KBT_CHECK(strstr(d, want) != NULL);
    KBT_CHECK(strstr(want, " 2000 59.7015 ") != NULL); /* 1e8 B / 50 us = 2000 GB/s = 59.70% of 3350 */
    line(want, sizeof want, 3, 2e8, 100, ds, meas, "moe_combine t4096_e256 v1 measured");
    KBT_CHECK(strstr(d, want) != NULL);
    /* the loopback row of a communication op: an HBM copy, drawn here (never on comm_<gpu>) */
    line(want, sizeof want, 4, 242221056.0, 800, ds, meas, "ep_dispatch t4096_loop v1 measured");
    KBT_CHECK(strstr(d, want) != NULL);
    /* not here: FLOP ops (roofline), the link row (comm chart), the failed row */
    KBT_CHECK(!strstr(d, "fp8_gemm") && !strstr(d, "mla_decode") && !strstr(d, "t4096_ep8") &&
              !strstr(d, "t4096_e256 v2"));
    KBT_CHECK(!strcmp(slurp("bandwidth_h100-sxm_ceilings.dat") + strcspn(slurp("bandwidth_h100-sxm_ceilings.dat"), "\n") + 1,
                      "datasheet 3350\nmeasured 2863.31\n"));
    const char *gp = slurp("bandwidth_h100-sxm.gp");
    KBT_CHECK(strstr(gp, "3350 with lines dt 2 lw 2 lc rgb \"#444444\" title \"HBM 3350 GB/s (datasheet)\"") != NULL);
    KBT_CHECK(strstr(gp, "2863.31 with lines dt 1 lw 2 lc rgb \"#888888\" title \"HBM 2863 GB/s (measured)\"") != NULL);
    KBT_CHECK(strstr(gp, "\"ep_dispatch t4096_loop (loopback)\" 4)") != NULL);
    KBT_CHECK(strstr(gp, "set y2range [0:") != NULL && strstr(gp, "% of the HBM roof (datasheet 3350 GB/s)") != NULL);
    /* fp8_quant's colour from the one table; marker per implementation: v1 filled circle, v2 filled square */
    KBT_CHECK(strstr(gp, "pt 7 ps 1.8 lw 1.5 lc rgb \"#9467bd\" title \"fp8_quant v1 measured\"") != NULL);
    KBT_CHECK(strstr(gp, "pt 5 ps 1.8 lw 1.5 lc rgb \"#9467bd\" title \"fp8_quant v2 measured\"") != NULL);
    KBT_CHECK(strstr(gp, "nothing measured") == NULL);
    /* the H800 has projected rows only: at the floor, 100% of its datasheet HBM, hollow, said in the title */
    d = slurp("bandwidth_h800-sxm.dat");
    line(want, sizeof want, 0, 2e8, 2e8 / 3350e9 * 1e6, ds, 0, "moe_combine t4096_e256 model projected");
    KBT_CHECK(strstr(d, want) != NULL && strstr(want, " 3350 100 NaN ") != NULL);
    gp = slurp("bandwidth_h800-sxm.gp");
    KBT_CHECK(strstr(gp, "projected, nothing measured") != NULL);
    KBT_CHECK(strstr(gp, "pt 6 ps 1.8 lw 1.5 lc rgb \"#d62728\" title \"moe_combine model projected\"") != NULL);
    KBT_CHECK(strstr(gp, "(measured)") == NULL);
}

static void check_roofline(void)
{
    const char *gp = slurp("roofline_h100-sxm.gp");
    /* impls in the chart's order: v1 (mla_decode, fp8_gemm) circle, cublaslt square; legend once each */
    KBT_CHECK(strstr(gp, "keyentry with points pt 7 ps 1.5 lc rgb \"#333333\" title \"v1\"") != NULL);
    KBT_CHECK(strstr(gp, "keyentry with points pt 5 ps 1.5 lc rgb \"#333333\" title \"cublaslt\"") != NULL);
    /* colours from the fixed table, whatever the order of the ops in the data (mla_decode comes first here) */
    KBT_CHECK(strstr(gp, "pt 7 ps 1.5 lc rgb \"#ff7f0e\" title \"mla_decode\"") != NULL);
    KBT_CHECK(strstr(gp, "pt 7 ps 1.5 lc rgb \"#1f77b4\" title \"fp8_gemm\"") != NULL);
    KBT_CHECK(strstr(gp, "every point is a projection") == NULL);
    KBT_CHECK(strstr(slurp("roofline_h800-sxm.gp"), "every point is a projection") != NULL);
    KBT_CHECK(strstr(slurp("roofline.gp"), "every point is a projection") == NULL); /* the H100's are measured */
    /* no label on any point: labels are the peaks' only */
    KBT_CHECK(strstr(gp, "with labels") == NULL);
}

static void check_colors(void)
{
    KBT_STREQ(kbr_op_color("fp8_gemm"), "#1f77b4");
    KBT_STREQ(kbr_op_color("ep_dispatch"), "#e377c2");
    KBT_CHECK(strstr(slurp("comm_h100-sxm.gp"), "lc rgb \"#e377c2\" title \"ep_dispatch v1 measured\"") != NULL);
    /* an op outside the table: the same colour every time, one of the spare ones */
    const char *c = kbr_op_color("my_new_op");
    KBT_CHECK(c == kbr_op_color("my_new_op") && c[0] == '#');
    KBT_CHECK(strcmp(c, kbr_op_color("fp8_gemm")) && strcmp(c, kbr_op_color("mla_decode")));
    KBT_CHECK(kbr_marker(0, 1) == 7 && kbr_marker(0, 0) == 6 && kbr_marker(1, 1) == 5 && kbr_marker(6, 1) == 1);
}

/* fp8_gemm: v1 at m128 only, cuBLASLt at m4096 only: no finite speedup anywhere */
static void check_op_no_common_shape(void)
{
    const char *gp = slurp("op_fp8_gemm_h100-sxm.gp");
    KBT_CHECK(strstr(gp, "no speedup panel: no shape has both a hand-written and a library row") != NULL);
    KBT_CHECK(strstr(gp, "speedup of hand-written") == NULL && strstr(gp, "multiplot layout 1,1") != NULL);
    KBT_CHECK(fsize("op_fp8_gemm_h100-sxm.png") > 5000);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/kbcharts.XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    const char *a[] = {"plot", FX "bw_results.csv", "--out", dir, "--format", "png", NULL};
    int rc = kbt_run(kb_cmd_plot, a);
    KBT_CHECK(rc == 0 && kbt_count_lines(kbt_errbuf) == 0); /* gnuplot rendered every script, op_fp8_gemm too */
    if (rc || kbt_errbuf[0]) printf("stderr: %s\n", kbt_errbuf);
    KBT_CHECK(strstr(kbt_out, "wrote ") && strstr(kbt_out, "/bandwidth_h100-sxm.png") &&
              strstr(kbt_out, "/bandwidth_h800-sxm.png"));
    KBT_CHECK(fsize("bandwidth_h100-sxm.png") > 8000);
    check_bandwidth();
    check_roofline();
    check_colors();
    check_op_no_common_shape();
    char rm[128]; /* remove the temp dir (path from mkdtemp: no shell metacharacters) */
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    if (system(rm) != 0) printf("warning: could not remove %s\n", dir);
    return kbt_done("test_report_charts");
}
