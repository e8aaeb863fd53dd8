/* test_cmd_report.c - kbench report: roll-up and cost math against numbers
 * computed by hand here, and the report written from fixture CSVs. */
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdlib.h>
#include "cmdtest.h"
#include "bench/report/kb_cmds.h"
#include "bench/kb_io.h"
#include "bench/report/kbr_rollup.h"
#include "kbtest.h"

#define FX "tests/fixtures/"

static const kbr_term *find(const kbr_term *t, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i].name, name)) return &t[i];
    return NULL;
}

/* H100/H800 datasheet floors, written out by hand */
static double gemm_floor_us(double m, double n, double k)
{
    return 1e6 * fmax(2 * m * n * k / 1979e12, (m * k + n * k + 2 * m * n) / 3350e9);
}

/* Floor of a term at the H800 datasheet ceilings (practical link 160 GB/s/dir) */
static double floor_us(const kbr_term *t)
{
    kb_ceil h800 = {.fp8_tflops = 1979, .bf16_tflops = 989, .hbm_gbs = 3350, .link_gbs = 160};
    return kb_roof_of(&h800, t->peak, t->flops, t->bytes, t->link_bytes).t_floor_s * 1e6;
}

static char md[1 << 17];
static void slurp(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    buf[0] = 0;
    if (!f) return;
    size_t got = fread(buf, 1, n - 1, f);
    buf[got] = 0;
    fclose(f);
}

/* Every string of the NULL-terminated list is in text (the first missing one is printed). */
static int has_all(const char *text, const char *const *want)
{
    for (; *want; want++)
        if (!strstr(text, *want)) { printf("  missing: %s\n", *want); return 0; }
    return 1;
}

/* number in column `col` (0-based, between '|') of the first table line after
 * `section` that starts with `rowstart` */
static double cell(const char *section, const char *rowstart, int col)
{
    const char *p = strstr(md, section);
    if (!p) return NAN;
    p = strstr(p, rowstart);
    if (!p) return NAN;
    for (int c = 0; c <= col; c++) {
        p = strchr(p + 1, '|');
        if (!p) return NAN;
    }
    return strtod(p + 1, NULL);
}

/* The pair section collapsed to the rows that differ, and its full table in the CSV beside the
 * report.  By hand: on the H100 every (op, shape) is measured; the H800 takes the H100's row x
 * floor ratio: FP8 peak and HBM are the same on both (ratio 1, equal), the loopback dispatch is
 * link-bound, 211943424 B at 370 vs 160 GB/s practical: x 370/160 = 2.3125 (800 -> 1850 us). */
static void check_pair(const char *doc_md, const char *dir)
{
    static char csv[8192], again[8192];
    char path[128];
    KBT_NEAR(800 * 370.0 / 160, 1850, 1e-12);
    KBT_CHECK(strstr(doc_md, "| ep_dispatch | loopback | 1 | 0 | 1 | 2.313x |") != NULL);
    KBT_CHECK(strstr(doc_md, "| fp8_gemm | single GPU | 3 | 3 | 0 | 1.000x |") != NULL); /* 2 + report_extra's 1 */
    KBT_CHECK(strstr(doc_md, "Below, only the 1 of 7 (op, shape) rows that differ") != NULL);
    KBT_CHECK(strstr(doc_md, "| fp8_gemm | m4096_n7168_k2048 | compute |") == NULL); /* equal: only in the CSV */
    snprintf(path, sizeof path, "%s/r/pair_h800-sxm_vs_h100-sxm.csv", dir);
    slurp(path, csv, sizeof csv);
    KBT_CHECK(strncmp(csv, "op,shape,config,bound,gpu_a,a_us,a_source,a_scaled_from,gpu_b,b_us,b_source,"
                           "b_scaled_from,ratio_b_over_a,differs\n", 110) == 0);
    KBT_CHECK(strstr(csv, "\nep_dispatch,t4096_ep8,loopback,network,h100-sxm,800,measured,,h800-sxm,1850,scaled,"
                          "h100-sxm,2.3125,1\n") != NULL);
    KBT_CHECK(strstr(csv, "\nfp8_gemm,m128_n7168_k2048,,compute,h100-sxm,12,measured,,h800-sxm,12,scaled,h100-sxm,1,0\n"));
    int lines = 0;
    for (const char *p = csv; *p; p++) lines += *p == '\n';
    KBT_CHECK(lines == 8); /* header + the 7 cells the section counts */
    /* deterministic: the same rows, the same bytes (no timestamp) */
    char out[128];
    snprintf(out, sizeof out, "%s/r/report.md", dir);
    const char *a[] = {"report", FX "plot_results.csv", FX "report_extra.csv", "--no-plots", "--out", out, NULL};
    KBT_CHECK(kbt_run(kb_cmd_report, a) == 0);
    slurp(path, again, sizeof again);
    KBT_CHECK(!strcmp(csv, again));
}

int main(void)
{
    KBT_NEAR(KBR_ANCHOR_GPU_HOURS_PER_TTOK, 180000, 1e-9);

    /* ---- terms ---- */
    kbr_cfg c;
    kbr_cfg_default(&c);
    kbr_term t[32];
    int n = kbr_layer_terms(&c, KBR_PREFILL, KBR_MOE, t, 32);
    KBT_CHECK(n == 14);
    const kbr_term *q = find(t, n, "q_a + kv_a projection");
    KBT_CHECK(q != NULL);
    if (q) {
        KBT_STREQ(q->dims, "layout=0;m=4096;n=2112;k=7168;g=1;dist=0");
        KBT_STREQ(q->dtype, "e4m3");
        KBT_NEAR(q->flops, 2.0 * 4096 * 2112 * 7168, 1e-12);
        KBT_NEAR(q->bytes, 4096.0 * 7168 + 2112.0 * 7168 + 2.0 * 4096 * 2112, 1e-12);
        KBT_NEAR(floor_us(q), 124017180672.0 / 1979e12 * 1e6, 1e-9);
    }
    const kbr_term *gu = find(t, n, "experts gate+up (grouped)");
    KBT_CHECK(gu != NULL);
    if (gu) {
        /* 256/32 experts, 4096*8/8 tokens each, contiguous, every row valid */
        KBT_STREQ(gu->dims, "layout=1;m=4096;n=4096;k=7168;g=8;dist=0");
        KBT_NEAR(gu->flops, 2.0 * 8 * 4096 * 4096 * 7168, 1e-12);
    }
    const kbr_term *ed = find(t, n, "EP dispatch all-to-all");
    KBT_CHECK(ed != NULL);
    if (ed) {
        KBT_STREQ(ed->dims, "t=4096;hidden=7168;e=256;k=8;ranks=32;loopback=0;ngroup=8;topkgroup=4");
        KBT_NEAR(ed->link_bytes, 4096.0 * 8 * 7392 * 31 / 32, 1e-12);
        KBT_NEAR(floor_us(ed), 4096.0 * 8 * 7392 * 31 / 32 / 160e9 * 1e6, 1e-9);
    }
    KBT_CHECK(kbr_layer_terms(&c, KBR_PREFILL, KBR_DENSE, t, 32) == 7);
    KBT_CHECK(kbr_layer_terms(&c, KBR_DECODE, KBR_DENSE, t, 32) == 8);
    n = kbr_layer_terms(&c, KBR_DECODE, KBR_MOE, t, 32);
    KBT_CHECK(n == 15);
    const kbr_term *mla = find(t, n, "MLA decode");
    KBT_CHECK(mla != NULL);
    if (mla) {
        KBT_STREQ(mla->dims, "b=128;sk=4096;hq=128;sq=1;pattern=0;fp8kv=0");
        KBT_STREQ(mla->dtype, "bf16");
        /* the match is exact in op, dtype and dims: the FP8-KV row is not the BF16 term */
        KBT_CHECK(kbr_term_matches(mla, "mla_decode", "bf16", "b=128;sk=4096;hq=128;sq=1;pattern=0;fp8kv=0"));
        KBT_CHECK(!kbr_term_matches(mla, "mla_decode", "fp8kv", "b=128;sk=4096;hq=128;sq=1;pattern=0;fp8kv=0"));
        KBT_CHECK(!kbr_term_matches(mla, "mla_decode", "fp8kv", "b=128;sk=4096;hq=128;sq=1;pattern=0;fp8kv=1"));
        KBT_CHECK(!kbr_term_matches(mla, "mla_decode", "bf16", "b=128;sk=4096;hq=128;sq=1"));   /* dims missing */
        KBT_CHECK(!kbr_term_matches(mla, "mla_decode", "bf16", "b=128;sk=4096;hq=128;sq=1;pattern=1;fp8kv=0"));
        KBT_CHECK(!kbr_term_matches(mla, "fp8_gemm", "bf16", "b=128;sk=4096;hq=128;sq=1;pattern=0;fp8kv=0"));
        KBT_NEAR(mla->flops, 2.0 * 128 * (128.0 * 4096) * (576 + 512), 1e-12);
        KBT_NEAR(mla->bytes, 2.0 * (128.0 * 4096 * 576 + 128.0 * 128 * 576 + 128.0 * 128 * 512), 1e-12);
    }
    const kbr_term *gd = find(t, n, "experts down (grouped)");
    /* EP64: 4 experts, 1024/4 tokens, masked layout with every row valid; a masked
     * row with drawn valid counts (dist=1, ~half the rows) is not this term */
    if (gd) {
        KBT_STREQ(gd->dims, "layout=2;m=256;n=7168;k=2048;g=4;dist=0");
        KBT_CHECK(kbr_term_matches(gd, "fp8_gemm_grouped", "e4m3", "layout=2;m=256;n=7168;k=2048;g=4;dist=0"));
        KBT_CHECK(!kbr_term_matches(gd, "fp8_gemm_grouped", "e4m3", "layout=2;m=256;n=7168;k=2048;g=4;dist=1"));
    }
    KBT_CHECK(gd != NULL);
    const kbr_term *ec = find(t, n, "EP combine all-to-all");
    if (ec) KBT_NEAR(ec->link_bytes, 128.0 * 8 * 14336 * 63 / 64, 1e-12);
    KBT_CHECK(ec != NULL);

    /* dims matching: every wanted pair present, values compared as numbers */
    KBT_CHECK(kbr_dims_match("m=4096;n=2112;k=7168", "layout=0;m=4096;n=2112;k=7168;g=1;dist=0"));
    KBT_CHECK(kbr_dims_match("g=8;m=4096;n=4096;k=7168", "layout=0;m=4096;n=4096;k=7168;g=8;dist=0"));
    KBT_CHECK(!kbr_dims_match("m=128;n=7168;k=2048", "layout=0;m=4096;n=7168;k=2048;g=1;dist=0"));
    KBT_CHECK(!kbr_dims_match("m=4096;n=7168;k=2048", "layout=0;m=4096;n=7168;k=20480;g=1;dist=0"));
    KBT_CHECK(!kbr_dims_match("k=2048", "kk=2048"));          /* names whole, not prefixes */
    KBT_CHECK(!kbr_dims_match("t=4096", ""));                 /* a row without dims matches nothing */
    KBT_CHECK(kbr_dims_match("t=4096", "t=4096.0;e=256"));
    KBT_CHECK(kbr_dims_match("b=128;sk=4096;hq=128;sq=1", "b=128;sk=4096;hq=128;sq=1;pattern=0;fp8kv=0"));
    KBT_CHECK(!kbr_dims_match("b=128;sk=4096;hq=128;sq=1", "b=128;sk=4096;hq=128;sq=2;pattern=0;fp8kv=0"));

    /* ---- the report from fixture CSVs ---- */
    char dir[] = "/tmp/kbreport.XXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    char out[96], html[96];
    snprintf(out, sizeof out, "%s/r/report.md", dir);
    snprintf(html, sizeof html, "%s/r/report.html", dir);
    const char *a[] = {"report", FX "plot_results.csv", FX "report_extra.csv", "--no-plots", "--out", out, NULL};
    int rc = kbt_run(kb_cmd_report, a);
    KBT_CHECK(rc == 0);
    if (rc) printf("stderr: %s\n", kbt_errbuf);
    slurp(out, md, sizeof md);
    /* failures first */
    const char *fail = strstr(md, "## Verification failures: 1");
    const char *meta = strstr(md, "## Run metadata");
    KBT_CHECK(fail && meta && fail < meta);
    KBT_CHECK(strstr(md, "| fp8_gemm | v3 | m4096_n7168_k2048 | h100-sxm | - | diff 3.2e-2 > 1e-3 |") != NULL);
    /* the run's meta.json beside the CSV (hand-written fixture): versions and ceilings */
    KBT_CHECK(strstr(md, "plot_results.meta.json: NVIDIA H100 80GB HBM3, CUDA driver 13.0, runtime 13.0, "
                         "max SM clock 1980 MHz, timer cupti; ceilings used: FP8 1400 TFLOP/s (measured), "
                         "BF16 750 TFLOP/s (measured), HBM 3000 GB/s (measured)") != NULL);
    /* best impl + speedup over the library: v2 12 us vs cuBLASLt 14 us = 1.17x */
    KBT_CHECK(strstr(md, "| fp8_gemm | m128_n7168_k2048 | h100-sxm | v2 | 12.00 |") != NULL);
    KBT_CHECK(strstr(md, "| 1.17x | cublaslt |") != NULL);
    /* H800 vs H100 side by side: ep_dispatch 800 us -> 1850 us (x 370/160) */
    KBT_CHECK(strstr(md, "| ep_dispatch | t4096_ep8 | network | 800.00 | measured | 1850.00 |") != NULL);
    check_pair(md, dir);
    /* roll-up terms say where they come from: the row used, its shape, dtype and GFLOP */
    KBT_CHECK(strstr(md, "| q_a + kv_a projection | fp8_gemm | e4m3 | layout=0;m=4096;n=2112;k=7168;g=1;dist=0 | 124.0 | "
                         "80.0 | measured v2: m4096_n2112_k7168, e4m3, 124.0 GFLOP |") != NULL);
    KBT_CHECK(strstr(md, "formula (datasheet)") != NULL);
    /* MLA decode: the BF16 row (300 us), never the faster FP8-KV rows (100 us with fp8kv=1,
     * 50 us under dtype fp8kv with fp8kv=0: both in report_extra.csv) */
    KBT_CHECK(strstr(md, "| MLA decode | mla_decode | bf16 | b=128;sk=4096;hq=128;sq=1;pattern=0;fp8kv=0 | 146.0 | 300.0 | "
                         "measured flashmla_ref: b128_sk4096_h128_sq1, bf16, 146.0 GFLOP |") != NULL);
    /* decode experts: the masked row with drawn valid counts (dist=1, 5 us) is not the full-rows term */
    const char *dmoe = strstr(md, "### decode, one MoE layer");
    const char *gup = dmoe ? strstr(dmoe, "| experts gate+up (grouped) |") : NULL;
    KBT_CHECK(gup && strstr(gup, "formula (datasheet)") && strstr(gup, "formula (datasheet)") < strchr(gup, '\n'));
    KBT_CHECK(strstr(md, "masked_g4_m256_n4096_k7168, e4m3") == NULL);
    /* the EP exchange: measured rows only, never an NVLink-rate projection (9999 us row), not summed */
    KBT_CHECK(strstr(md, "9999") == NULL);
    KBT_CHECK(strstr(md, "| EP dispatch all-to-all (not in the total) |") != NULL);
    KBT_CHECK(strstr(md, "not measured: the claim section models the exchange") != NULL);
    /* decode dense layer on the H100, by hand: datasheet floors + MLA measured 300 us */
    double absorb = 1e6 * fmax(2.0 * 128 * 128 * 128 * 512 / 989e12,
                               2.0 * (128.0 * 128 * 512 + 128.0 * 128 * (128 + 512)) / 3350e9);
    double dense_dec = gemm_floor_us(128, 2112, 7168) + gemm_floor_us(128, 24576, 1536) + absorb + 300 +
                       absorb + gemm_floor_us(128, 7168, 16384) + gemm_floor_us(128, 36864, 7168) +
                       gemm_floor_us(128, 7168, 18432);
    double got = cell("### decode, one dense layer", "| kernel total (no EP exchange) |", 4);
    KBT_NEAR(got, dense_dec, 0.06 / dense_dec); /* printed with 1 decimal */
    /* no cluster verdict in the roll-up: no GPU-hour ratio, no cost, no comparison with the V3 report */
    const char *ru = strstr(md, "## Model roll-up");
    KBT_CHECK(ru && strstr(ru, "No cluster-level verdict here") && strstr(ru, "first section"));
    KBT_CHECK(ru && !strstr(ru, "GPU-hours per") && !strstr(ru, "Throughput and cost") && !strstr(ru, "ratio roll-up") &&
              !strstr(ru, "USD") && !strstr(ru, "180000"));
    /* without --claim the first section says how to produce the claim CSV */
    const char *cs = strstr(md, "## What DeepSeek-V3 costs on H800, H100 and H200");
    KBT_CHECK(cs && fail && cs < fail && strstr(cs, "`kbench claim --out results/model/claim.csv`"));
    slurp(html, md, sizeof md);
    KBT_CHECK(strstr(md, "<table>") != NULL && strstr(md, "Verification failures: 1") != NULL);

    /* with plots: the HTML embeds the PNGs */
    const char *b[] = {"report", FX "plot_results.csv", "--out", out, NULL};
    KBT_CHECK(kbt_run(kb_cmd_report, b) == 0);
    slurp(html, md, sizeof md);
    /* md4c renders the Markdown twin: img src first, then alt */
    KBT_CHECK(strstr(md, "<img src=\"data:image/png;base64,iVBORw0KGgo") != NULL);
    /* the report renders its plots through the plot library, pair chart included */
    static const char *const dflt[] = {"![roofline](plots/roofline.png)", "## h800-sxm vs h100-sxm",
                                       "![bandwidth_h100-sxm](plots/bandwidth_h100-sxm.png)",
                                       "![h800-sxm_vs_h100-sxm](plots/h800-sxm_vs_h100-sxm.png)", NULL};
    slurp(out, md, sizeof md);
    KBT_CHECK(has_all(md, dflt));
    /* --pair: section, table headers and pair chart follow the pair */
    static const char *const rev[] = {"## h100-sxm vs h800-sxm", "| h800-sxm us | h800-sxm source | h100-sxm us |",
                                      "![h100-sxm_vs_h800-sxm](plots/h100-sxm_vs_h800-sxm.png)", NULL};
    const char *pr[] = {"report", FX "plot_results.csv", "--out", out, "--pair", "h800-sxm,h100-sxm", NULL};
    KBT_CHECK(kbt_run(kb_cmd_report, pr) == 0);
    slurp(out, md, sizeof md);
    KBT_CHECK(has_all(md, rev));
    const char *bp[] = {"report", FX "plot_results.csv", "--out", out, "--pair", "h100-sxm,b200", NULL};
    KBT_CHECK(kbt_run(kb_cmd_report, bp) == 2);
    KBT_CHECK(kbt_count_lines(kbt_errbuf) == 1 && strstr(kbt_errbuf, "kbench report: bad --pair 'h100-sxm,b200'"));

    /* a path too long for the report's buffers is refused, never cut */
    static char longout[1200];
    memset(longout, 'a', sizeof longout - 4);
    memcpy(longout + sizeof longout - 4, ".md", 4);
    const char *lo[] = {"report", FX "plot_results.csv", "--no-plots", "--out", longout, NULL};
    KBT_CHECK(kbt_run(kb_cmd_report, lo) == 2);
    KBT_CHECK(kbt_count_lines(kbt_errbuf) == 1 && strstr(kbt_errbuf, "path longer than 1000 characters"));
    const char *lp[] = {"report", FX "plot_results.csv", "--out", out, "--pair", "h100-sxm,h800-sxm-but-much-longer-than-any-gpu-slug-the-table-holds-x", NULL};
    KBT_CHECK(kbt_run(kb_cmd_report, lp) == 2);
    KBT_CHECK(strstr(kbt_errbuf, "bad --pair") != NULL);

    /* whole or nothing: when the report cannot be written (a file-size limit
     * makes its flush fail; the temporaries are unique, nothing can block
     * them by name), the previous report.md and report.html stay and no
     * temporary is left behind */
    char keep[sizeof md];
    slurp(out, keep, sizeof keep);
    struct rlimit fsz, small = {1500, 1500}; /* the pair CSV (~500 bytes) fits, the report does not */
    getrlimit(RLIMIT_FSIZE, &fsz);
    small.rlim_max = fsz.rlim_max;
    void (*old_xfsz)(int) = signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &small);
    const char *w[] = {"report", FX "plot_results.csv", "--no-plots", "--out", out, NULL};
    int wrc = kbt_run(kb_cmd_report, w);
    setrlimit(RLIMIT_FSIZE, &fsz);
    signal(SIGXFSZ, old_xfsz);
    KBT_CHECK(wrc == 4);
    KBT_CHECK(kbt_count_lines(kbt_errbuf) == 1 && strstr(kbt_errbuf, "cannot finish the report"));
    slurp(out, md, sizeof md);
    KBT_CHECK(md[0] && !strcmp(md, keep));
    slurp(html, md, sizeof md);
    KBT_CHECK(strncmp(md, "<!DOCTYPE html>", 15) == 0);
    char ls[512];
    static const char *const left = "pair_h100-sxm_vs_h800-sxm.csv pair_h800-sxm_vs_h100-sxm.csv report.html report.md ";
    snprintf(ls, sizeof ls, "test \"$(ls -A '%s/r' | grep -v '^plots$' | tr '\\n' ' ')\" = '%s'", dir, left);
    KBT_CHECK(system(ls) == 0); /* no temporary left behind */
    /* the pair CSV is written first, whole or not at all: when it cannot be, exit 4 naming it, the
     * previous CSV and report stay, no temporary */
    char csvp[128], csvkeep[4096], csvnow[4096];
    snprintf(csvp, sizeof csvp, "%s/r/pair_h800-sxm_vs_h100-sxm.csv", dir);
    slurp(csvp, csvkeep, sizeof csvkeep);
    small.rlim_cur = 256;
    setrlimit(RLIMIT_FSIZE, &small);
    old_xfsz = signal(SIGXFSZ, SIG_IGN);
    const char *w2[] = {"report", FX "plot_results.csv", FX "report_extra.csv", "--no-plots", "--out", out, NULL};
    wrc = kbt_run(kb_cmd_report, w2);
    setrlimit(RLIMIT_FSIZE, &fsz);
    signal(SIGXFSZ, old_xfsz);
    KBT_CHECK(wrc == 4 && kbt_count_lines(kbt_errbuf) == 1 && strstr(kbt_errbuf, "pair_h800-sxm_vs_h100-sxm.csv"));
    slurp(csvp, csvnow, sizeof csvnow);
    KBT_CHECK(csvkeep[0] && !strcmp(csvnow, csvkeep));
    slurp(out, md, sizeof md);
    KBT_CHECK(!strcmp(md, keep));
    KBT_CHECK(system(ls) == 0);

    /* errors */
    const char *e1[] = {"report", FX "plot_results.csv", "--price", "h100-sxm=2", "--out", out, NULL};
    KBT_CHECK(kbt_run(kb_cmd_report, e1) == 2); /* prices are kbench claim's now */
    KBT_CHECK(kbt_count_lines(kbt_errbuf) == 1 && strstr(kbt_errbuf, "kbench report: unknown option '--price'"));
    const char *e2[] = {"report", FX "bad_number.csv", "--out", out, NULL};
    KBT_CHECK(kbt_run(kb_cmd_report, e2) == 2);
    KBT_CHECK(kbt_count_lines(kbt_errbuf) == 1 && strstr(kbt_errbuf, "bad number 'abc'"));
    const char *e3[] = {"report", FX "missing.csv", "--out", out, NULL};
    KBT_CHECK(kbt_run(kb_cmd_report, e3) == 4);
    const char *e4[] = {"report", FX "plot_results.csv", "--out", "x.txt", NULL};
    KBT_CHECK(kbt_run(kb_cmd_report, e4) == 2);
    const char *e5[] = {"report", FX "plot_results.csv", "--ep-prefill", "7", "--out", out, NULL};
    KBT_CHECK(kbt_run(kb_cmd_report, e5) == 2);
    char rm[128]; /* remove the temp dir (path from mkdtemp: no shell metacharacters) */
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    if (system(rm) != 0) printf("warning: could not remove %s\n", dir);
    return kbt_done("test_cmd_report");
}
