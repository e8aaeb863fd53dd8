/* test_report_claim.c - the report's first section from `kbench claim`'s CSV
 * (tests/fixtures/claim.csv, written by hand to the contract), the claim and
 * sensitivity charts (claim_sweep.csv), and the communication chart that
 * takes the comm ops off the roofline (comm_results.csv).  Every expected
 * number is derived here from the fixture values, not read back. */
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include "cmdtest.h"
#include "bench/report/kb_cmds.h"
#include "bench/report/kbr_claim.h"
#include "bench/report/kbr_plot.h"
#include "kbtest.h"

#define FX "tests/fixtures/"
static char dir[64];

static const char *slurp(const char *name) { return kbt_file_text(dir, name); }

static long fsize(const char *name) { return kbt_file_size(dir, name); }

static int has(const char *text, const char *want)
{
    if (strstr(text, want)) return 1;
    printf("  missing: %s\n", want);
    return 0;
}

static void write_file(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (f) { fputs(text, f); fclose(f); }
}

/* The loader: lookups, the measured test, keys; bad files refused with one line. */
static void check_loader(void)
{
    kbr_claim c = {0};
    char err[512], path[256];
    KBT_CHECK(kbr_claim_load(&c, FX "claim.csv", err, sizeof err) == 0);
    KBT_CHECK(c.n == 34);
    KBT_NEAR(kbr_claim_value(&c, "v3-train", "h800-sxm", "ratio_vs_h100"), 1.0312, 0);
    KBT_CHECK(isnan(kbr_claim_value(&c, "v3-train", "h200-sxm", "usd_per_ttok")));
    KBT_CHECK(kbr_claim_measured(kbr_claim_get(&c, "v3-prefill", "h800-sxm", "tokens_per_s_per_gpu")));
    KBT_CHECK(!kbr_claim_measured(kbr_claim_get(&c, "v3-train", "h800-sxm", "step_time_s")));
    const kbr_claim_row *u = kbr_claim_get(&c, "v3-train", "h800-sxm", "usd_per_ttok");
    KBT_CHECK(u && !strcmp(u->source, "model, at $2.00 per GPU-hour")); /* quoted, with a comma */
    const char *k[8];
    KBT_CHECK(kbr_claim_keys(&c, 0, k, 8) == 4 && !strcmp(k[0], "v3-train") && !strcmp(k[3], "v3-decode"));
    KBT_CHECK(kbr_claim_keys(&c, 1, k, 8) == 3 && !strcmp(k[2], "h200-sxm"));
    kbr_claim_free(&c);
    static const char *const bad[][2] = {
        {"scenario,gpu,metric,value,unit\nv3-train,h800-sxm,x,1,s\n", "header must be exactly"},
        {"scenario,gpu,metric,value,unit,source\nv3-train,h800-sxm,x,abc,s,model\n", "row 1: column 'value': bad number 'abc'"},
        {"scenario,gpu,metric,value,unit,source\nv3-train,h800-sxm,x,,s,model\n", "bad number ''"},
        {"", "empty file (no header row)"}};
    for (int i = 0; i < 4; i++) {
        write_file("bad_claim.csv", bad[i][0]);
        snprintf(path, sizeof path, "%s/bad_claim.csv", dir);
        KBT_CHECK(kbr_claim_load(&c, path, err, sizeof err) == 2 && has(err, bad[i][1]) && !strchr(err, '\n'));
    }
    kbr_sweep w = {0};
    KBT_CHECK(kbr_sweep_load(&w, FX "claim_sweep.csv", err, sizeof err) == 0 && w.n == 13);
    kbr_sweep_free(&w);
    write_file("bad_sweep.csv", "scenario,gpu,axis,gbps,step_time_s\nv3-train,h800-sxm,pcie,1,2\n");
    snprintf(path, sizeof path, "%s/bad_sweep.csv", dir);
    KBT_CHECK(kbr_sweep_load(&w, path, err, sizeof err) == 2 && has(err, "column 'axis': unknown value 'pcie'"));
}

/* The first section with --claim: table, answer, assumptions, terms, all from the fixture. */
static void check_section(void)
{
    char out[128], want[512];
    snprintf(out, sizeof out, "%s/report.md", dir);
    const char *a[] = {"report", FX "plot_results.csv", "--claim", FX "claim.csv", "--no-plots", "--out", out, NULL};
    KBT_CHECK(kbt_run(kb_cmd_report, a) == 0);
    const char *md = slurp("report.md");
    const char *sec = strstr(md, "## What DeepSeek-V3 costs on H800, H100 and H200"),
               *fail = strstr(md, "## Verification failures");
    KBT_CHECK(sec && fail && sec < fail); /* the first section */
    KBT_CHECK(has(md, "From `" FX "claim.csv`, written by `kbench claim`"));
    KBT_CHECK(!strstr(md, "No claim CSV given"));
    /* the table: numbers printed whole from 1000 on, else to 4 significant digits, "-" absent */
    KBT_CHECK(has(md, "| v3-train | h800-sxm | 190000 | 380000 | 24.5 | 1.031 | 3.2 | 1.05 | - | - |"));
    KBT_CHECK(has(md, "| v3-train | h100-sxm | 184250 | 460625 | 23.76 | 1 | 3.048 | 1 | - | - |"));
    KBT_CHECK(has(md, "| v3-train | h200-sxm | 170000 | - | 21.9 | 0.9217 | - | - | - | - |"));
    /* 4521.7 tokens/s, its source says measured: marked; the rest of the line model */
    KBT_CHECK(has(md, "| v3-prefill | h800-sxm | - | - | 1.25 | - | - | - | 4522 (measured) | 0.1229 |"));
    KBT_CHECK(has(md, "| v3-decode | h100-sxm | - | - | - | - | - | - | 1870 | 0.3713 |"));
    KBT_CHECK(!strstr(md, "| ep8-intranode | h200-sxm |")); /* no row for it */
    /* the answer, computed here from the fixture's numbers */
    double gh800 = 190000, gh100 = 184250;
    snprintf(want, sizeof want, "an h800-sxm step takes %.2fx the h100-sxm's; 190000 vs 184250 GPU-hours per trillion "
             "tokens (%+.1f%%), $380000 vs $460625 per trillion tokens; its expert exchange takes 1.05x the h100-sxm's.",
             1.0312, 100 * (gh800 / gh100 - 1));
    KBT_CHECK(has(md, want));
    KBT_CHECK(strstr(want, "1.03x") && strstr(want, "(+3.1%)")); /* the hand numbers themselves */
    KBT_CHECK(has(md, "where all expert traffic is on NVLink: an h800-sxm step takes 1.85x the h100-sxm's, its exchange 2.25x."));
    /* break-even 120 GB/s/dir < the H800's 200 GB/s/dir (400 both ways): IB bounds the V3 exchange */
    KBT_CHECK(has(md, "NVLink bounds the V3 exchange only below 120 GB/s per direction; the h800-sxm achieves 160 GB/s "
                      "per direction (datasheet 200), above it: in the V3 layout InfiniBand"));
    /* calibration: 180000 / 190000 = 0.947; FLOPs 2.5e11 beside 6 x 37B = 2.22e11 */
    KBT_CHECK(has(md, "Calibration: the model gives 190000 h800-sxm GPU-hours per trillion training tokens; the V3 "
                      "report's 2.664M GPU-hours for 14.8T tokens are 180000 per trillion, 0.95x the model."));
    KBT_CHECK(has(md, "FLOPs per training token in the model: 2.5e11 (3 x forward with attention, LM head and MTP), "
                      "beside the usual 6 x 37B = 2.22e11."));
    KBT_CHECK(has(md, "Projected by the model (kbench claim), not measured: unverified on GPU."));
    /* assumptions and terms, compact, each with its source */
    KBT_CHECK(has(md, "| gpus | all | 2048 | GPUs | DeepSeek-V3 technical report |"));
    KBT_CHECK(has(md, "| ib_gbps | all | 50 | GB/s per direction | ConnectX-7 400 Gb/s, per GPU |"));
    KBT_CHECK(has(md, "| experts_gemm | v3-train | h800-sxm | 10.25 | measured v3 fp8_gemm_grouped "
                      "contig_g8_m4096_n4096_k7168, e4m3 (h800-sxm) |"));
    KBT_CHECK(has(md, "| experts_gemm | v3-train | h100-sxm | 10.1 | efficiency anchor: DeepGEMM 1550 TFLOP/s on H800 |"));

    /* a claim file that does not exist: exit 4, one line, the command that writes it */
    const char *m[] = {"report", FX "plot_results.csv", "--claim", FX "no_such_claim.csv", "--no-plots", "--out", out, NULL};
    KBT_CHECK(kbt_run(kb_cmd_report, m) == 4);
    KBT_CHECK(kbt_count_lines(kbt_errbuf) == 1 && has(kbt_errbuf, "no_such_claim.csv: cannot open") &&
              has(kbt_errbuf, "`kbench claim --out FILE` writes it"));
    char bad[128];
    snprintf(bad, sizeof bad, "%s/bad_claim.csv", dir);
    const char *b[] = {"report", FX "plot_results.csv", "--claim", bad, "--no-plots", "--out", out, NULL};
    KBT_CHECK(kbt_run(kb_cmd_report, b) == 2 && kbt_count_lines(kbt_errbuf) == 1);
    KBT_CHECK(has(md, "## h800-sxm vs h100-sxm\n")); /* the H100 side is measured */
    KBT_CHECK(has(md, "link (practical) 370 / 160 GB/s per direction")); /* the rate the pair uses */
    /* a pair of projections only: the heading says so */
    const char *pp[] = {"report", FX "pair_projected.csv", "--no-plots", "--out", out, NULL};
    KBT_CHECK(kbt_run(kb_cmd_report, pp) == 0);
    KBT_CHECK(has(slurp("report.md"), "## h800-sxm vs h100-sxm (projected: nothing measured)\n"));
    /* no --claim: the hint */
    const char *h[] = {"report", FX "plot_results.csv", "--no-plots", "--out", out, NULL};
    KBT_CHECK(kbt_run(kb_cmd_report, h) == 0);
    md = slurp("report.md");
    KBT_CHECK(has(md, "No claim CSV given") && has(md, "`kbench claim --out results/model/claim.csv`"));
}

/* The charts: comm ops off the roofline and on their own chart; the claim and sweep charts. */
static void check_plots(void)
{
    const char *a[] = {"plot", FX "comm_results.csv", "--claim", FX "claim.csv", "--sweep", FX "claim_sweep.csv",
                       "--out", dir, "--format", "png", NULL};
    int rc = kbt_run(kb_cmd_plot, a);
    KBT_CHECK(rc == 0);
    if (rc) printf("stderr: %s\n", kbt_errbuf);
    static const char *const png[] = {"roofline_h100-sxm.png", "comm_h100-sxm.png", "claim.png", "claim_sweep.png"};
    for (int i = 0; i < 4; i++) KBT_CHECK(fsize(png[i]) > 8000);
    /* roofline: the GEMM stays, the all-to-all and ep_combine (it has FLOPs) are gone */
    const char *pts = slurp("roofline_h100-sxm_points.dat");
    KBT_CHECK(has(pts, "fp8_gemm v1 measured") && !strstr(pts, "alltoall") && !strstr(pts, "ep_combine"));
    /* comm chart: x = bytes dim (1 MiB) or link bytes, y = link bytes / time:
     * 917504 B / 4 us = 229.376 GB/s; the practical-link projection 917504 / 2.4797405 us = 370 GB/s;
     * ep_combine 6164480 B / 20 us = 308.224 GB/s; the loopback row is counted, not drawn */
    const char *cm = slurp("comm_h100-sxm.dat");
    KBT_CHECK(has(cm, "1.04858e+06 229.376 b1048576_ep8 alltoall v1 measured EP8_intra-node\n"));
    KBT_CHECK(has(cm, "1.04858e+06 370 b1048576_ep8 alltoall roofline-practical-link projected EP8_intra-node\n"));
    KBT_CHECK(has(cm, "6.16448e+06 308.224 t128_h7168_ep8 ep_combine v1 measured EP8_intra-node\n"));
    KBT_CHECK(has(cm, "loopback rows left out (one-GPU HBM copies, not link bandwidth): 1") && !strstr(cm, "_loopback"));
    KBT_CHECK(has(slurp("comm_h100-sxm_ceilings.dat"), "nominal 450\npractical 370\n"));
    const char *gp = slurp("comm_h100-sxm.gp");
    KBT_CHECK(has(gp, "link nominal 450 GB/s/dir (datasheet)") && has(gp, "link practical 370 GB/s/dir (datasheet)") &&
              has(gp, "set logscale x 2"));
    /* claim chart: GPU-hours per 1e12 tokens, NaN where a GPU has no row */
    const char *cl = slurp("claim.dat");
    KBT_CHECK(has(cl, "# scenario h800-sxm h100-sxm h200-sxm\n") && has(cl, "v3-train 190000 184250 170000\n") &&
              has(cl, "ep8-intranode 260000 140540 NaN\n") && !strstr(cl, "v3-prefill"));
    KBT_CHECK(has(slurp("claim.gp"), "(model, projected)"));
    /* sweep: lines sorted by GB/s; marks at the NVLink per direction the model uses
     * (the table's achievable figure: H800 160, H200 370; datasheet 400 / 900 both ways),
     * step time read off the line: h800 at 160: 26 + 60/100 x (24.5-26) = 25.1;
     * h200 at 370: 21 + 70/100 x (20-21) = 20.3; ep8 h800 at 160: 50 + 60/100 x (40-50) = 44 */
    KBT_CHECK(has(slurp("claim_sweep.dat"), "# block 0: nvlink v3-train h800-sxm\n100 26\n200 24.5\n300 24.4\n450 24.4\n"));
    const char *mk = slurp("claim_sweep_marks.dat");
    KBT_CHECK(has(mk, "v3-train h800-sxm nvlink 160 25.1 400\n") && has(mk, "v3-train h200-sxm nvlink 370 20.3 900\n") &&
              has(mk, "ep8-intranode h800-sxm nvlink 160 44 400\n") && !strstr(mk, " ib "));
    const char *sg = slurp("claim_sweep.gp");
    KBT_CHECK(has(sg, "set arrow 1 from 160, graph 0") && has(sg, "InfiniBand GB/s per direction"));
    /* only claim CSVs: plot needs no RESULTS.csv */
    const char *o[] = {"plot", "--sweep", FX "claim_sweep.csv", "--out", dir, "--format", "svg", NULL};
    KBT_CHECK(kbt_run(kb_cmd_plot, o) == 0 && fsize("claim_sweep.svg") > 5000);
    const char *none[] = {"plot", "--out", dir, NULL};
    KBT_CHECK(kbt_run(kb_cmd_plot, none) == 2 && has(kbt_errbuf, "no RESULTS.csv (or --claim / --sweep) given"));
}

/* The report embeds the claim charts in the first section and the comm chart with the plots. */
static void check_report_charts(void)
{
    char out[128];
    snprintf(out, sizeof out, "%s/r/report.md", dir);
    const char *a[] = {"report", FX "comm_results.csv", "--claim", FX "claim.csv", "--sweep", FX "claim_sweep.csv",
                       "--out", out, NULL};
    KBT_CHECK(kbt_run(kb_cmd_report, a) == 0);
    const char *md = slurp("r/report.md");
    const char *sec = strstr(md, "## What DeepSeek-V3 costs"), *fail = strstr(md, "## Verification failures");
    const char *c1 = strstr(md, "![claim](plots/claim.png)"), *c2 = strstr(md, "![claim_sweep](plots/claim_sweep.png)");
    KBT_CHECK(sec && c1 && c2 && fail && sec < c1 && c2 < fail);
    KBT_CHECK(has(md, "![comm_h100-sxm](plots/comm_h100-sxm.png)"));
}

/* The pair: projected link rows at the practical rate (as the roll-up), configurations apart. */
static void check_pair(void)
{
    kb_rowset s = {0};
    char err[256], cf[48];
    KBT_CHECK(kb_rows_load(&s, FX "pair_links.csv", NULL, err, sizeof err) == 0);
    kbr_gpu_pair p = {kb_gpu_find("h100-sxm"), kb_gpu_find("h800-sxm")};
    kbr_pair_cell c;
    /* kbench model's practical rows: link bytes 97430016 at 370 and 160 GB/s/dir (not 450 / 200) */
    KBT_CHECK(kbr_pair_shape(&s, "ep_dispatch", "t4096_h7168_ep8", &p, &c) == 0);
    KBT_NEAR(c.a_us, 97430016 / 370e3, 1e-9);
    KBT_NEAR(c.b_us, 97430016 / 160e3, 1e-9);
    kbr_pair_sum ps;
    KBT_CHECK(kbr_pair_op(&s, "ep_dispatch", "EP8 intra-node", &p, &ps) == 0 && ps.nshapes == 1);
    KBT_NEAR(ps.b_us / ps.a_us, 370.0 / 160, 1e-9);
    KBT_CHECK(kbr_pair_op(&s, "ep_dispatch", "loopback", &p, &ps) == 0 && ps.nshapes == 1);
    KBT_NEAR(ps.b_us / ps.a_us, 1, 1e-12); /* one HBM, the same on both */
    KBT_STREQ(kbr_row_config(&s.r[0], cf, sizeof cf), "loopback");
    KBT_STREQ(kbr_row_config(&s.r[2], cf, sizeof cf), "EP8 intra-node");
    kb_rows_free(&s);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/kbclaim.XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    check_loader();
    check_pair();
    check_section();
    check_plots();
    check_report_charts();
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    if (system(rm) != 0) printf("warning: could not remove %s\n", dir);
    return kbt_done("test_report_claim");
}
