/* test_cmd_plot.c - kbench plot on tests/fixtures/plot_results.csv: gnuplot
 * writes PNG and SVG files of sensible size, and the .dat files hold the
 * expected points and ceilings (values recomputed here by hand). */
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include "cmdtest.h"
#include "bench/report/kb_cmds.h"
#include "bench/report/kbr_plot.h"
#include "kbtest.h"

#define FX "tests/fixtures/"
static char dir[64];

static long fsize(const char *name) { return kbt_file_size(dir, name); }

static char *slurp(const char *name) { return kbt_file_text(dir, name); }

static int has_prefix_bytes(const char *name, const char *magic, size_t n)
{
    char p[256], b[16] = {0};
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    if (!f) return 0;
    size_t got = fread(b, 1, n, f);
    fclose(f);
    return got == n && memcmp(b, magic, n) == 0;
}

/* The first "x y" line after the ceiling header `head` in a ceilings file. */
static int first_point(const char *ce, const char *head, double *x, double *y)
{
    const char *p = strstr(ce, head);
    return p && sscanf(p + strlen(head), "%lf %lf", x, y) == 2;
}

/* kbr_plot_render with stdout (its "wrote ..." lines) captured. */
static const kb_rowset *r_set;
static const kbr_plot_opts *r_opts;
static kbr_chart_list *r_list;
static int render_cmd(int argc, char **argv)
{
    char err[512];
    (void)argc, (void)argv;
    return kbr_plot_render(r_set, r_opts, r_list, err, sizeof err);
}
static int kbt_run_render(const kb_rowset *s, const kbr_plot_opts *o, kbr_chart_list *l)
{
    const char *argv[] = {"render", NULL};
    r_set = s, r_opts = o, r_list = l;
    return kbt_run(render_cmd, argv);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/kbplot.XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    const char *a[] = {"plot", FX "plot_results.csv", "--out", dir, "--format", "png,svg", NULL};
    int rc = kbt_run(kb_cmd_plot, a);
    KBT_CHECK(rc == 0);
    if (rc) printf("stderr: %s\n", kbt_errbuf);

    /* images: every chart as PNG and SVG, of sensible size */
    const char *charts[] = {"roofline", "roofline_h100-sxm", "roofline_h800-sxm",
                            "op_fp8_gemm_h100-sxm", "op_mla_decode_h100-sxm",
                            "op_ep_dispatch_h100-sxm", "h800-sxm_vs_h100-sxm"};
    for (size_t i = 0; i < sizeof charts / sizeof charts[0]; i++) {
        char png[96], svg[96], gp[96];
        snprintf(png, sizeof png, "%s.png", charts[i]);
        snprintf(svg, sizeof svg, "%s.svg", charts[i]);
        snprintf(gp, sizeof gp, "%s.gp", charts[i]);
        long ps = fsize(png), ss = fsize(svg);
        KBT_CHECK(ps > 8000 && ps < 5000000);
        KBT_CHECK(ss > 5000 && ss < 5000000);
        KBT_CHECK(has_prefix_bytes(png, "\x89PNG", 4));
        KBT_CHECK(strstr(slurp(svg), "<svg") != NULL);
        KBT_CHECK(fsize(gp) > 200);
        if (ps <= 8000) printf("  %s: %ld bytes\n", png, ps);
    }
    /* no chart for ops without measured rows on the H800 */
    KBT_CHECK(fsize("op_fp8_gemm_h800-sxm.png") < 0);

    /* points: fp8_gemm v1, m4096 n7168 k2048 at 200 us.
     * FLOPs = 2*4096*7168*2048; bytes = 4096*2048 + 7168*2048 + 2*4096*7168 */
    double fl = 2.0 * 4096 * 7168 * 2048, by = 4096.0 * 2048 + 7168.0 * 2048 + 2.0 * 4096 * 7168;
    char want[256];
    snprintf(want, sizeof want, "%.6g %.6g m4096_n7168_k2048 h100-sxm fp8_gemm v1 measured\n",
             fl / by, fl / 200e-6 / 1e12);
    const char *pts = slurp("roofline_h100-sxm_points.dat");
    KBT_CHECK(strstr(pts, want) != NULL);
    KBT_CHECK(strstr(want, "1470.36 601.295") == want); /* the hand numbers themselves */
    /* projected point of the same shape on the H100: floor = FLOPs / 1979 TFLOP/s */
    snprintf(want, sizeof want, "%.6g %.6g m4096_n7168_k2048 h100-sxm fp8_gemm model projected\n",
             fl / by, fl / (fl / 1979e12) / 1e12);
    KBT_CHECK(strstr(pts, want) != NULL);
    KBT_CHECK(strstr(pts, "fp8_gemm v3") == NULL);     /* failed row: no point */
    KBT_CHECK(strstr(pts, "ep_dispatch") == NULL);     /* no FLOPs: no point   */
    KBT_CHECK(strstr(pts, " hbm ") == NULL && strstr(pts, " peak ") == NULL);
    KBT_CHECK(strstr(pts, "h800-sxm") == NULL);        /* per-GPU file          */
    const char *allpts = slurp("roofline_points.dat");
    KBT_CHECK(strstr(allpts, "h800-sxm fp8_gemm model projected") != NULL);

    /* ceilings: datasheet + measured (op hbm copy 3000 GB/s, peak fp8 1400, bf16 750) */
    const char *ce = slurp("roofline_ceilings.dat");
    KBT_CHECK(strstr(ce, "gpu=h100-sxm kind=fp8_tflops value=1979 source=datasheet") != NULL);
    KBT_CHECK(strstr(ce, "gpu=h100-sxm kind=bf16_tflops value=989 source=datasheet") != NULL);
    KBT_CHECK(strstr(ce, "gpu=h100-sxm kind=hbm_gbs value=3350 source=datasheet") != NULL);
    KBT_CHECK(strstr(ce, "gpu=h100-sxm kind=link_gbs value=450 source=datasheet") != NULL);
    KBT_CHECK(strstr(ce, "gpu=h800-sxm kind=link_gbs value=200 source=datasheet") != NULL);
    KBT_CHECK(strstr(ce, "gpu=h100-sxm kind=hbm_gbs value=3000 source=measured") != NULL);
    KBT_CHECK(strstr(ce, "gpu=h100-sxm kind=bf16_tflops value=750 source=measured") != NULL);
    KBT_CHECK(strstr(ce, "gpu=h800-sxm kind=hbm_gbs value=3000") == NULL); /* measured on H100 only */
    /* the measured FP8 roof starts at the ridge 1400e12 / 3000e9 = 466.667 FLOP/B */
    double x = 0, y = 0;
    KBT_CHECK(first_point(ce, "gpu=h100-sxm kind=fp8_tflops value=1400 source=measured\n", &x, &y));
    KBT_NEAR(x, 1400e3 / 3000, 1e-5);
    KBT_NEAR(y, 1400, 1e-9);
    /* datasheet FP8 ridge on the H800: 1979e12 / 3350e9 = 590.746 FLOP/B */
    KBT_CHECK(first_point(ce, "gpu=h800-sxm kind=fp8_tflops value=1979 source=datasheet\n", &x, &y));
    KBT_NEAR(x, 1979e3 / 3350, 1e-5);
    /* the script draws datasheet dashed, measured solid */
    const char *gps = slurp("roofline_h100-sxm.gp");
    KBT_CHECK(strstr(gps, "dt 2 lc rgb \"#000000\" title \"h100-sxm FP8 1979 TFLOP/s (datasheet)\"") != NULL);
    KBT_CHECK(strstr(gps, "dt 1 lc rgb \"#000000\" title \"h100-sxm FP8 1400 TFLOP/s (measured)\"") != NULL);
    KBT_CHECK(strstr(gps, "set logscale xy") != NULL && strstr(gps, "set key outside") != NULL);
    /* overlaid: a ceiling the two GPUs share is one legend entry naming both, the second segment untitled */
    const char *ov = slurp("roofline.gp");
    KBT_CHECK(strstr(ov, "title \"h100-sxm, h800-sxm FP8 1979 TFLOP/s (datasheet)\"") != NULL);
    KBT_CHECK(strstr(ov, "title \"h800-sxm FP8 1979") == NULL && strstr(ov, "lc rgb \"#b22222\" notitle") != NULL);
    KBT_CHECK(strstr(ov, "title \"h800-sxm network roof, link 200 GB/s/dir (datasheet)\"") != NULL);

    /* per-op data: speedup of v2 over cuBLASLt at m128 = 14 us / 12 us */
    const char *op = slurp("op_fp8_gemm_h100-sxm.dat");
    double t1, p1, s1, t2, p2, s2, t3, p3;
    const char *line = strstr(op, "\nm128_n7168_k2048 ");
    KBT_CHECK(line != NULL);
    if (line) {
        KBT_CHECK(sscanf(line + 18, "%lf %lf %lf %lf %lf %lf %lf %lf", &t1, &p1, &s1, &t2, &p2, &s2, &t3,
                         &p3) == 8);
        KBT_NEAR(t2, 12, 1e-9);
        KBT_NEAR(s2, 14.0 / 12, 1e-3);
        KBT_NEAR(s1, 14.0 / 30, 1e-3);
        /* % roof of v2 (no pct_roof column) as pct_roof means it: vs the datasheet
         * roof, attainable = min(1979, I*3350/1000) = 750.4 at I = 224 -> 41.73%, not
         * the measured roof min(1400, I*3) = 672 (46.60%) */
        double I = (2.0 * 128 * 7168 * 2048) / (128.0 * 2048 + 7168.0 * 2048 + 2.0 * 128 * 7168);
        double tf = 2.0 * 128 * 7168 * 2048 / 12e-6 / 1e12;
        KBT_NEAR(I, 224, 1e-12);
        KBT_NEAR(p2, 100 * tf / fmin(1979, I * 3.35), 1e-3);
    }
    /* H800 vs H100: ep_dispatch measured 800 us on H100, H800 = 800 x (370/160) */
    const char *hv = slurp("h800-sxm_vs_h100-sxm.dat");
    KBT_CHECK(strstr(hv, "\"ep_dispatch (loopback)\" 1 2.3125 800 1850 ") != NULL); /* per configuration */
    KBT_CHECK(strstr(hv, "fp8_gemm 1 1.0000 112 112 ") != NULL);

    const char *pg = slurp("h800-sxm_vs_h100-sxm.gp");
    KBT_CHECK(strstr(pg, "title \"NVIDIA H800 SXM5 80GB\"") != NULL);
    /* sides: fp8_gemm 2 shapes + mla 1 + ep_dispatch 1 = 4 bars' worth, 8 sides; measured: the H100's 4 */
    KBT_CHECK(strstr(pg, "4 of 8 sides measured, the rest projected") != NULL);

    /* --pair names the compared GPUs: reversed, the chart is h100-sxm_vs_h800-sxm
     * and its ratios are the inverse (H800 measured nowhere: projected both ways) */
    const char *rev[] = {"plot", FX "plot_results.csv", "--out", dir, "--format", "png", "--pair",
                         "h800-sxm,h100-sxm", NULL};
    KBT_CHECK(kbt_run(kb_cmd_plot, rev) == 0);
    KBT_CHECK(fsize("h100-sxm_vs_h800-sxm.png") > 8000);
    KBT_CHECK(strstr(slurp("h100-sxm_vs_h800-sxm.dat"), "(a = h800-sxm, b = h100-sxm)") != NULL);
    /* a pair not in the data: no pair chart, the rest as before */
    const char *other[] = {"plot", FX "plot_results.csv", "--out", dir, "--format", "png", "--pair",
                           "h100-sxm,h100-pcie", NULL};
    KBT_CHECK(kbt_run(kb_cmd_plot, other) == 0);
    KBT_CHECK(fsize("h100-pcie_vs_h100-sxm.gp") < 0);
    static const char *const badpair[][2] = {{"h100-sxm", "two"}, {"h100-sxm,nope-gpu", "unknown GPU 'nope-gpu'"},
                                             {"h100-sxm,h100-sxm", "the same GPU twice"},
                                             {"h100-sxm,h800-sxm,h20", "two GPU slugs"}};
    for (int i = 0; i < 4; i++) {
        const char *bp[] = {"plot", FX "plot_results.csv", "--out", dir, "--pair", badpair[i][0], NULL};
        KBT_CHECK(kbt_run(kb_cmd_plot, bp) == 2);
        KBT_CHECK(kbt_count_lines(kbt_errbuf) == 1 && strstr(kbt_errbuf, "kbench plot: bad --pair") &&
                  strstr(kbt_errbuf, badpair[i][1]));
    }

    /* the library entry: a rowset in, the charts rendered listed in order */
    kb_rowset rs = {0};
    char err[512];
    KBT_CHECK(kb_rows_load(&rs, FX "plot_results.csv", NULL, err, sizeof err) == 0);
    kbr_plot_opts po = {.out_dir = dir, .formats = KBR_FMT_SVG};
    KBT_CHECK(kbr_pair_parse(KBR_PAIR_DEFAULT, &po.pair, err, sizeof err) == 0);
    static kbr_chart_list cl;
    KBT_CHECK(kbt_run_render(&rs, &po, &cl) == 0);
    KBT_CHECK(cl.n == 9);
    KBT_CHECK(cl.n == 9 && !strcmp(cl.c[0].name, "roofline") && cl.c[0].kind == KBR_CHART_ROOFLINE);
    KBT_CHECK(cl.n == 9 && !strcmp(cl.c[6].name, "h800-sxm_vs_h100-sxm") && cl.c[6].kind == KBR_CHART_PAIR);
    KBT_CHECK(cl.n == 9 && cl.c[3].kind == KBR_CHART_OP);
    /* the bandwidth charts: the H100's hbm copy and loopback dispatch, the H800's projected loopback row */
    KBT_CHECK(cl.n == 9 && !strcmp(cl.c[7].name, "bandwidth_h100-sxm") && cl.c[7].kind == KBR_CHART_BANDWIDTH);
    KBT_CHECK(cl.n == 9 && !strcmp(cl.c[8].name, "bandwidth_h800-sxm") && cl.c[8].kind == KBR_CHART_BANDWIDTH);
    kb_rowset empty = {0};
    KBT_CHECK(kbr_plot_render(&empty, &po, &cl, err, sizeof err) == 2 && cl.n == 0);
    kb_rows_free(&rs);

    /* txt: dumb terminal to stdout */
    const char *t[] = {"plot", FX "plot_results.csv", "--out", dir, "--format", "txt", NULL};
    KBT_CHECK(kbt_run(kb_cmd_plot, t) == 0);
    KBT_CHECK(strstr(kbt_out, "h100-sxm FP8 1979 TFLOP/s (datasheet)") != NULL);

    /* errors */
    const char *bad[] = {"plot", FX "bad_missing_col.csv", "--out", dir, NULL};
    KBT_CHECK(kbt_run(kb_cmd_plot, bad) == 2);
    KBT_CHECK(strstr(kbt_errbuf, "kbench plot: " FX "bad_missing_col.csv: missing column 'time_us'") != NULL);
    const char *fmt[] = {"plot", FX "plot_results.csv", "--format", "gif", NULL};
    KBT_CHECK(kbt_run(kb_cmd_plot, fmt) == 2);
    KBT_CHECK(kbt_count_lines(kbt_errbuf) == 1 && strstr(kbt_errbuf, "unknown format 'gif'"));
    const char *none[] = {"plot", NULL};
    KBT_CHECK(kbt_run(kb_cmd_plot, none) == 2);
    setenv("KBENCH_GNUPLOT", "/nonexistent/gnuplot", 1);
    KBT_CHECK(kbt_run(kb_cmd_plot, a) == 4);
    KBT_CHECK(kbt_count_lines(kbt_errbuf) == 1 && strstr(kbt_errbuf, "gnuplot not found"));
    unsetenv("KBENCH_GNUPLOT");
    char rm[128]; /* remove the temp dir (path from mkdtemp: no shell metacharacters) */
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    if (system(rm) != 0) printf("warning: could not remove %s\n", dir);
    return kbt_done("test_cmd_plot");
}
