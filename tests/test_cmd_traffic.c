/* test_cmd_traffic.c - plots and report of `kbench run --counters` rows
 * (tests/fixtures/counters_results.csv): the roofline's traffic data holds
 * both points of each row with counters (declared flops / bytes, measured
 * flops / dram_bytes, same TFLOP/s) and its L2 point; the L2 roof appears
 * once the device table knows l2_gbs; the report lists the rows by
 * traffic_ratio, highest first.  Numbers worked out by hand below. */
#include <stdlib.h>
#include <sys/stat.h>
#include "cmdtest.h"
#include "bench/kb_specs.h"
#include "bench/report/kb_cmds.h"
#include "kbtest.h"

#define FX "tests/fixtures/"
static char dir[64];

static char *slurp(const char *name) { return kbt_file_text(dir, name); }

static void plot_both_points(void)
{
    const char *a[] = {"plot", FX "counters_results.csv", "--out", dir, "--format", "svg", NULL};
    int rc = kbt_run(kb_cmd_plot, a);
    KBT_CHECK(rc == 0);
    if (rc) printf("stderr: %s\n", kbt_errbuf);
    const char *t = slurp("roofline_h100-sxm_traffic.dat");
    /* mla_decode v1: 2e11 FLOP in 500 us = 400 TFLOP/s; declared 2e11 / 1e9 = 200 FLOP/B,
     * measured 2e11 / 1.4e9 = 142.857, L2 2e11 / 3e9 = 66.6667 */
    KBT_CHECK(strstr(t, "200 400 s1 h100-sxm mla_decode v1 declared\n142.857 400 s1 h100-sxm mla_decode v1 dram\n\n"));
    KBT_CHECK(strstr(t, "66.6667 400 s1 h100-sxm mla_decode v1 l2\n"));
    /* v2: 400 us -> 500 TFLOP/s; 2e11 / 1.05e9 = 190.476; no l2_bytes, no L2 point */
    KBT_CHECK(strstr(t, "200 500 s1 h100-sxm mla_decode v2 declared\n190.476 500 s1 h100-sxm mla_decode v2 dram\n"));
    KBT_CHECK(!strstr(t, "v2 l2"));
    KBT_CHECK(!strstr(t, "fp8_gemm")); /* no counters */
    KBT_CHECK(!strstr(t, " hbm "));    /* no FLOPs: never a roofline point */
    /* 3 comment lines + blank, 2 rows x (2 points + blank), blank (end of index 0), 1 L2 point */
    KBT_CHECK(kbt_count_lines(t) == 12);
    KBT_CHECK(strstr(slurp("roofline_h100-sxm.gp"), "roofline_h100-sxm_traffic.dat\" index 0") != NULL);
    KBT_CHECK(strstr(slurp("roofline_h100-sxm_ceilings.dat"), "kind=l2_gbs") == NULL); /* l2_gbs unknown */
    struct stat st;
    KBT_CHECK(stat("/dev/null", &st) == 0);
}

/* With l2_gbs in the table (a --specs / $KBENCH_SPECS file): the L2 roof,
 * y = x * 10000 / 1000 from xmin to the FP8 ridge 1979e3 / 10000 = 197.9. */
static void plot_l2_roof(void)
{
    char spec[128];
    snprintf(spec, sizeof spec, "%s/specs.json", dir);
    FILE *f = fopen(spec, "w");
    if (f) fputs("{\"gpus\":[{\"slug\":\"h100-sxm\",\"l2_gbs\":10000,\"source\":\"test\"}]}\n", f), fclose(f);
    char err[256];
    KBT_CHECK(kb_specs_load(spec, err, sizeof err) == 0);
    const char *a[] = {"plot", FX "counters_results.csv", "--out", dir, "--format", "svg", NULL};
    KBT_CHECK(kbt_run(kb_cmd_plot, a) == 0);
    const char *ce = slurp("roofline_h100-sxm_ceilings.dat");
    const char *l2 = strstr(ce, "kind=l2_gbs value=10000 source=datasheet\n");
    KBT_CHECK(l2 != NULL);
    double x0, y0, x1, y1;
    if (l2 && sscanf(strchr(l2, '\n') + 1, "%lf %lf %lf %lf", &x0, &y0, &x1, &y1) == 4) {
        KBT_NEAR(y0, x0 * 10, 1e-5);
        KBT_NEAR(x1, 197.9, 1e-5);
        KBT_NEAR(y1, 1979, 1e-9);
    } else {
        KBT_CHECK(0);
    }
    KBT_CHECK(strstr(slurp("roofline_h100-sxm.gp"), "h100-sxm L2 10000 GB/s") != NULL);
    kb_specs_reset();
}

static void report_lists_ratios(void)
{
    char out[128];
    snprintf(out, sizeof out, "%s/report.md", dir);
    const char *a[] = {"report", FX "counters_results.csv", "--out", out, "--no-plots", NULL};
    int rc = kbt_run(kb_cmd_report, a);
    KBT_CHECK(rc == 0);
    if (rc) printf("stderr: %s\n", kbt_errbuf);
    const char *md = slurp("report.md");
    const char *sec = strstr(md, "## Measured traffic (hardware counters)");
    KBT_CHECK(sec != NULL);
    if (!sec) return;
    /* 1.40x, 1.05x, 1.01x: highest first; fp8_gemm has none */
    const char *v1 = strstr(sec, "| mla_decode | v1 | s1 | h100-sxm | 1000.00 | 1400.00 | 1.40x | 3000.00 | 142.9 | 61.5 |");
    const char *v2 = strstr(sec, "| mla_decode | v2 | s1 | h100-sxm | 1000.00 | 1050.00 | 1.05x |");
    const char *hb = strstr(sec, "| hbm | v1 | copy_4GB | h100-sxm | 4000.00 | 4040.00 | 1.01x | 8000.00 |");
    KBT_CHECK(v1 && v2 && hb && v1 < v2 && v2 < hb);
    if (!(v1 && v2 && hb)) printf("%.1500s\n", sec);
    const char *next = strstr(sec + 4, "\n## ");
    const char *g = strstr(sec, "fp8_gemm");
    KBT_CHECK(!g || (next && g > next));
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/kbtraffic.XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    plot_both_points();
    plot_l2_roof();
    report_lists_ratios();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) printf("note: could not remove %s\n", dir);
    return kbt_done("test_cmd_traffic");
}
