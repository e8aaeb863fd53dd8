/* test_report_project.c - measured rows of a third GPU (an H200) projected onto
 * the H100 and H800: pair cells and roll-up terms by the one rule
 * t_Y = t_X x floor_Y / floor_X, both floors of the row's own counts at each
 * GPU's datasheet ceilings (kbr_project_us).  Fixture: a synthetic measured
 * H200 CSV with one compute-bound FP8 GEMM row and memory-bound HBM copy and
 * MoE combine rows, plus a projected H100 MoE combine row of another shape
 * whose dims also match the roll-up term (the old floor ratio used it). */
#include <math.h>
#include <stdlib.h>
#include "cmdtest.h"
#include "bench/report/kb_cmds.h"
#include "bench/report/kbr_plot.h"
#include "kbtest.h"

#define FX "tests/fixtures/h200_measured.csv"
#define HBM_RATIO (4800.0 / 3350.0) /* H200 / H100 (= H800) datasheet HBM bandwidth */

static const kb_row *find_row(const kb_rowset *s, const char *op, const char *gpu)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->r[i].op, op) && !strcmp(s->r[i].gpu, gpu) && kb_row_is_measured(&s->r[i])) return &s->r[i];
    return NULL;
}

/* Numbers in columns c0 and c1 (0-based, between '|') of the line starting
 * with `rowstart` after `section` in text. */
static int cells(const char *text, const char *section, const char *rowstart, int col, double *v)
{
    const char *p = strstr(text, section);
    if (!p || !(p = strstr(p, rowstart))) return -1;
    for (int c = 0; c <= col; c++)
        if (!(p = strchr(p + 1, '|'))) return -1;
    *v = strtod(p + 1, NULL);
    return 0;
}

static void check_rule(const kb_rowset *s)
{
    const kb_gpu *h200 = kb_gpu_find("h200-sxm"), *h100 = kb_gpu_find("h100-sxm"), *h800 = kb_gpu_find("h800-sxm");
    const kb_row *copy = find_row(s, "hbm", "h200-sxm"), *comb = find_row(s, "moe_combine", "h200-sxm"),
                 *gemm = find_row(s, "fp8_gemm", "h200-sxm");
    KBT_CHECK(h200 && h100 && h800 && copy && comb && gemm);
    if (!(h200 && h100 && h800 && copy && comb && gemm)) return;
    /* memory-bound: slower by the HBM ratio on both; compute-bound: the same FP8 peak */
    KBT_NEAR(kbr_project_us(copy, h200, h100), 1000 * HBM_RATIO, 1e-12);
    KBT_NEAR(kbr_project_us(copy, h200, h800), 1000 * HBM_RATIO, 1e-12);
    KBT_NEAR(kbr_project_us(comb, h200, h100), 150 * HBM_RATIO, 1e-12);
    KBT_NEAR(kbr_project_us(comb, h200, h800), 150 * HBM_RATIO, 1e-12);
    KBT_NEAR(kbr_project_us(gemm, h200, h100), 90, 1e-12);
    KBT_NEAR(kbr_project_us(gemm, h200, h800), 90, 1e-12);
    /* both floors the same function: H100 -> H200 undoes H200 -> H100 */
    KBT_NEAR(kbr_row_floor_us(comb, h100) / kbr_row_floor_us(comb, h200), HBM_RATIO, 1e-12);
    KBT_CHECK(isnan(kbr_project_us(comb, h200, NULL)));

    /* the pair (default h100-sxm,h800-sxm) takes the H200's measured rows on both sides */
    kbr_gpu_pair p = {h100, h800};
    kbr_pair_cell c;
    KBT_CHECK(kbr_pair_shape(s, "moe_combine", "t4096_e256_uniform", &p, &c) == 0);
    KBT_NEAR(c.a_us, 150 * HBM_RATIO, 1e-12);
    KBT_NEAR(c.b_us, 150 * HBM_RATIO, 1e-12);
    KBT_CHECK(c.a_src == KBR_SRC_SCALED && c.b_src == KBR_SRC_SCALED);
    KBT_STREQ(c.a_from, "h200-sxm");
    KBT_STREQ(c.b_from, "h200-sxm");
    KBT_CHECK(kbr_pair_shape(s, "fp8_gemm", "m4096_n2112_k7168", &p, &c) == 0);
    KBT_NEAR(c.a_us, 90, 1e-12);
    KBT_NEAR(c.b_us, 90, 1e-12);
    /* the H200 itself against the H100: measured vs projected from it */
    kbr_gpu_pair q = {h200, h100};
    KBT_CHECK(kbr_pair_shape(s, "moe_combine", "t4096_e256_uniform", &q, &c) == 0);
    KBT_CHECK(c.a_src == KBR_SRC_MEASURED && c.b_src == KBR_SRC_SCALED);
    KBT_NEAR(c.b_us / c.a_us, HBM_RATIO, 1e-12);
    kbr_pair_sum ps;
    KBT_CHECK(kbr_pair_op(s, "moe_combine", "", &p, &ps) == 0); /* no ranks dim: the single-GPU configuration */
    KBT_CHECK(ps.nshapes == 1 && ps.n_a_scaled == 1 && ps.n_b_scaled == 1); /* e8: no H800 row */
    KBT_CHECK(kbr_pair_op(s, "moe_combine", "loopback", &p, &ps) == -1);
}

/* The report: pair section and roll-up terms on h100, h800 and h200. */
static void check_report(void)
{
    static char md[1 << 17];
    char dir[] = "/tmp/kbproject.XXXXXX", out[96];
    if (!mkdtemp(dir)) { perror("mkdtemp"); KBT_CHECK(0); return; }
    snprintf(out, sizeof out, "%s/report.md", dir);
    const char *a[] = {"report", FX, "--no-plots", "--out", out, NULL};
    KBT_CHECK(kbt_run(kb_cmd_report, a) == 0 && kbt_count_lines(kbt_errbuf) == 0);
    FILE *f = fopen(out, "r");
    size_t got = f ? fread(md, 1, sizeof md - 1, f) : 0;
    md[got] = 0;
    if (f) fclose(f);
    /* both sides the H200's row x floor ratio: equal (ratio 1), so in the CSV beside the report, not in the
     * section's table of rows that differ: 150 x 4800/3350 = 214.925 us, and 90 us (the same FP8 peak) */
    KBT_CHECK(strstr(md, "| moe_combine | t4096_e256_uniform | memory |") == NULL);
    KBT_CHECK(strstr(md, "No row differs: every (op, shape) is equal on both GPUs.") != NULL);
    static char csv[4096];
    char path[128], want[256];
    snprintf(path, sizeof path, "%s/pair_h800-sxm_vs_h100-sxm.csv", dir);
    f = fopen(path, "r");
    got = f ? fread(csv, 1, sizeof csv - 1, f) : 0;
    csv[got] = 0;
    if (f) fclose(f);
    snprintf(want, sizeof want, "\nmoe_combine,t4096_e256_uniform,,memory,h100-sxm,%.6g,scaled,h200-sxm,h800-sxm,%.6g,"
             "scaled,h200-sxm,1,0\n", 150 * HBM_RATIO, 150 * HBM_RATIO);
    KBT_CHECK(strstr(csv, want) != NULL && strstr(want, ",214.925,") != NULL);
    KBT_CHECK(strstr(csv, "\nfp8_gemm,m4096_n2112_k7168,,compute,h100-sxm,90,scaled,h200-sxm,h800-sxm,90,scaled,"
                          "h200-sxm,1,0\n") != NULL);
    /* roll-up columns: h100 (5, 6), h800 (7, 8), h200 (9, 10).  The prefill (EP32)
     * weighted combine is moe_combine with 8 local experts (t=4096;e=8;skew=0): the
     * H100's projected e8 row (15.78 us) is that term exactly; the H200's measured
     * e256 row is another shape and stands for it nowhere; the H800 and H200 take
     * the formula: max(2*4096*8*7168 / 989e12, (4096*8*14336 + 2*4096*7168) / 3350e9) */
    const char *sec = "### prefill, one MoE layer", *wc = "| weighted combine (local) |";
    double v100, v800, v200, g100, g800;
    double fl = 1e6 * fmax(2.0 * 4096 * 8 * 7168 / 989e12, (4096.0 * 8 * 14336 + 2.0 * 4096 * 7168) / 3350e9);
    KBT_CHECK(cells(md, sec, wc, 4, &v100) == 0 && cells(md, sec, wc, 6, &v800) == 0 && cells(md, sec, wc, 8, &v200) == 0);
    KBT_NEAR(v100, 15.8, 1e-9);
    KBT_NEAR(v800, fl, 0.05 / fl);
    KBT_NEAR(v200, fl * 3350 / 4800, 0.05 / fl);
    KBT_CHECK(strstr(md, "| 15.8 | projected row: t4096_e8_uniform, bf16, 0.0 GFLOP |") != NULL);
    KBT_CHECK(strstr(md, "measured v2: t4096_e256_uniform") == NULL);
    const char *qa = "| q_a + kv_a projection |";
    KBT_CHECK(cells(md, sec, qa, 4, &g100) == 0 && cells(md, sec, qa, 6, &g800) == 0);
    KBT_NEAR(g100, 90, 1e-9);
    KBT_NEAR(g800, 90, 1e-9);
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    if (system(rm) != 0) printf("warning: could not remove %s\n", dir);
}

int main(void)
{
    kb_rowset s = {0};
    char err[256];
    int rc = kb_rows_load(&s, FX, NULL, err, sizeof err);
    KBT_CHECK(rc == 0);
    if (rc) printf("load: %s\n", err);
    else check_rule(&s);
    kb_rows_free(&s);
    check_report();
    return kbt_done("test_report_project");
}
