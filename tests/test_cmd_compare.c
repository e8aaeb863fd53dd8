/* test_cmd_compare.c - kbench compare: regression gate on fixture CSVs
 * (tests/fixtures/cmp_*.csv, bad_*.csv) and the Mann-Whitney U p-value
 * against values computed by hand. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include "cmdtest.h"
#include "bench/report/kb_cmds.h"
#include "bench/report/kbr_stats.h"
#include "kbtest.h"

#define FX "tests/fixtures/"

static int cmp2(const char *base, const char *newf)
{
    const char *a[] = {"compare", base, newf, NULL};
    return kbt_run(kb_cmd_compare, a);
}

/* one line on stderr that contains `want` */
static int one_line_err(const char *want)
{
    return kbt_count_lines(kbt_errbuf) == 1 && strstr(kbt_errbuf, want) != NULL &&
           strncmp(kbt_errbuf, "kbench compare: ", 16) == 0;
}

static const char *find_line(const char *needle)
{
    const char *p = strstr(kbt_out, needle);
    if (!p) return "";
    while (p > kbt_out && p[-1] != '\n') p--;
    return p;
}

/* --format md / json, --filter, '-' for standard input, repeated and empty
 * options.  cmp_base -> cmp_new_slow: fp8_gemm/v1 100 -> 110 us (+10%,
 * REGRESSION), the other three rows unchanged (SAME). */
static void test_formats(void)
{
    const char *md[] = {"compare", "--format", "md", FX "cmp_base.csv", FX "cmp_new_slow.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, md) == 1);
    KBT_CHECK(strstr(kbt_out, "**kbench compare** summary: 1 regression,") != NULL);
    KBT_CHECK(strstr(kbt_out, "| REGRESSION | +10.0% | 100.000 | 110.000 |") != NULL);
    KBT_CHECK(strstr(kbt_out, "`fp8_gemm/v1/m4096_n7168_k2048`") != NULL);
    KBT_CHECK(strstr(kbt_out, "| SAME |") == NULL); /* counted, not listed */
    KBT_CHECK(strstr(kbt_out, "| fp8_gemm | +4.88% | 2 |") != NULL); /* sqrt(1.1 * 1.0) - 1 */

    const char *js[] = {"compare", "--format", "json", FX "cmp_base.csv", FX "cmp_new_slow.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, js) == 1);
    json_error_t je;
    json_t *root = json_loads(kbt_out, 0, &je);
    KBT_CHECK(root != NULL);
    json_t *sum = json_object_get(root, "summary"), *lines = json_object_get(root, "lines");
    KBT_CHECK(json_integer_value(json_object_get(sum, "REGRESSION")) == 1);
    KBT_CHECK(json_integer_value(json_object_get(sum, "SAME")) == 3);
    KBT_CHECK(!strcmp(json_string_value(json_object_get(root, "gate")) ? json_string_value(json_object_get(root, "gate")) : "", "fail"));
    KBT_CHECK(json_array_size(lines) == 4);
    json_t *first = json_array_get(lines, 0);
    KBT_CHECK(!strcmp(json_string_value(json_object_get(first, "status")) ? json_string_value(json_object_get(first, "status")) : "", "REGRESSION"));
    KBT_NEAR(json_real_value(json_object_get(first, "change")), 0.10, 1e-9);
    json_decref(root);

    const char *flt[] = {"compare", "--filter", "mla_decode/*", FX "cmp_base.csv", FX "cmp_new_slow.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, flt) == 0); /* the regression is filtered out */
    KBT_CHECK(strstr(kbt_out, "fp8_gemm/") == NULL && strstr(kbt_out, "summary: 0 regressions,") != NULL);
    KBT_CHECK(strstr(kbt_out, "mla_decode/v1/") != NULL);
    const char *none[] = {"compare", "--filter", "zzz*", FX "cmp_base.csv", FX "cmp_new_slow.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, none) == 2 && one_line_err("--filter 'zzz*' matches no row"));

    KBT_CHECK(freopen(FX "cmp_new_slow.csv", "r", stdin) != NULL);
    const char *in[] = {"compare", FX "cmp_base.csv", "-", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, in) == 1 && strstr(kbt_out, "summary: 1 regression,") != NULL);
    const char *two[] = {"compare", "-", "-", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, two) == 2 && one_line_err("only one of BASE.csv and NEW.csv can be '-'"));

    const char *fmt[] = {"compare", "--format", "xml", FX "cmp_base.csv", FX "cmp_base.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, fmt) == 2 && one_line_err("bad --format 'xml' (text, md or json)"));
    const char *rep[] = {"compare", "--alpha", "0.01", "--alpha", "0.05", FX "cmp_base.csv", FX "cmp_base.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, rep) == 2 && one_line_err("option '--alpha' given twice"));
    const char *emp[] = {"compare", "--filter=", FX "cmp_base.csv", FX "cmp_base.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, emp) == 2 && one_line_err("option '--filter' has an empty value"));
}

int main(void)
{
    /* --- Mann-Whitney U by hand ---
     * x={1,2,3}, y={4,5,6}, no ties: exact, U_x = 0 is 1 of C(6,3) = 20 orders,
     * two-sided p = 2/20 (scipy exact: 0.1; the normal approximation said 0.0809). */
    double x[] = {1, 2, 3}, y[] = {4, 5, 6}, u;
    double p = kbr_mwu_p(x, 3, y, 3, &u);
    KBT_NEAR(u, 0, 1e-12);
    KBT_NEAR(p, 0.1, 1e-12);
    KBT_NEAR(kbr_mwu_min_p(3, 3), 0.1, 1e-12);
    /* 5 vs 5 fully apart: exact p = 2/252 = 0.0079 < 0.01 (asymptotic: 0.0122) */
    double x5[] = {1, 2, 3, 4, 5}, y5[] = {6, 7, 8, 9, 10};
    KBT_NEAR(kbr_mwu_p(y5, 5, x5, 5, &u), 2.0 / 252, 1e-12);
    KBT_NEAR(u, 25, 1e-12);
    /* x={1,3}, y={2,4}: U_x = 1; counts of U=0..4 are 1,1,2,1,1 -> p = 2*2/6 */
    double xa[] = {1, 3}, ya[] = {2, 4};
    KBT_NEAR(kbr_mwu_p(xa, 2, ya, 2, NULL), 2.0 / 3, 1e-12);
    /* ties: x={1,2,2}, y={2,3,3}: ranks 1,3,3,3,5.5,5.5; R_x = 7, U_x = 1;
     * tie term: (27-3)+(8-2) = 30; var = 9/12*(7 - 30/30) = 4.5;
     * z = (|1-4.5| - 0.5)/sqrt(4.5) */
    double xt[] = {1, 2, 2}, yt[] = {2, 3, 3};
    p = kbr_mwu_p(xt, 3, yt, 3, &u);
    KBT_NEAR(u, 1, 1e-12);
    KBT_NEAR(p, erfc((3.0 / sqrt(4.5)) / sqrt(2.0)), 1e-9);
    double same[] = {5, 5, 5};
    KBT_NEAR(kbr_mwu_p(same, 3, same, 3, NULL), 1.0, 1e-12);
    double r[] = {1.1, 1.0 / 1.1, 1.21};
    KBT_NEAR(kbr_geomean(r, 3), pow(1.21, 1.0 / 3), 1e-12);
    double med[] = {3, 1, 2, 10};
    KBT_NEAR(kbr_median(med, 4), 2.5, 1e-12);

    /* --- identical files: exit 0 --- */
    KBT_CHECK(cmp2(FX "cmp_base.csv", FX "cmp_base.csv") == 0);
    /* --- 10% slowdown with tight samples: REGRESSION, exit 1 --- */
    KBT_CHECK(cmp2(FX "cmp_base.csv", FX "cmp_new_slow.csv") == 1);
    KBT_CHECK(strstr(find_line("fp8_gemm/v1/"), "REGRESSION") != NULL);
    KBT_CHECK(strstr(find_line("fp8_gemm/v1/"), "+10.0%") != NULL);
    KBT_CHECK(strstr(find_line("fp8_gemm/v1/"), "mwu p=") != NULL);
    /* sorted by change: the regression is the first table row */
    KBT_CHECK(strncmp(strstr(kbt_out, "op/impl/shape") + strlen("op/impl/shape [dtype]\n"),
                      "REGRESSION", 10) == 0);
    /* geometric mean per op: fp8_gemm rows 1.10 and 1.00 -> sqrt(1.1) - 1 = +4.88% */
    KBT_CHECK(strstr(find_line("  fp8_gemm "), "+4.88%") != NULL);
    KBT_CHECK(strstr(kbt_out, "summary: 1 regression,") != NULL);
    /* --- 10% change inside the noise: not flagged, exit 0 --- */
    KBT_CHECK(cmp2(FX "cmp_base.csv", FX "cmp_new_noise.csv") == 0);
    KBT_CHECK(strstr(find_line("fp8_gemm/cublaslt/"), "NOISE") != NULL);
    KBT_CHECK(strstr(find_line("mla_decode/v1/"), "NOISE") != NULL);
    KBT_CHECK(strstr(kbt_out, "summary: 0 regressions,") != NULL);
    /* same 10% with a 20% threshold: SAME */
    const char *thr[] = {"compare", "--threshold", "20%", FX "cmp_base.csv", FX "cmp_new_slow.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, thr) == 0);
    /* --- no samples: non-overlapping min/max interval -> regression --- */
    KBT_CHECK(cmp2(FX "cmp_base.csv", FX "cmp_new_interval.csv") == 1);
    KBT_CHECK(strstr(find_line("mla_decode/v1/"), "REGRESSION") != NULL);
    KBT_CHECK(strstr(find_line("mla_decode/v1/"), "min/max apart") != NULL);
    /* --- verification failure flagged --- */
    KBT_CHECK(cmp2(FX "cmp_base.csv", FX "cmp_new_fail.csv") == 1);
    KBT_CHECK(strstr(find_line("fp8_gemm/v1/"), "FAIL") != NULL);
    KBT_CHECK(strstr(kbt_out, "1 verification failure,") != NULL);
    /* --- missing row flagged --- */
    KBT_CHECK(cmp2(FX "cmp_base.csv", FX "cmp_new_missing.csv") == 1);
    KBT_CHECK(strstr(find_line("moe_route/v1/"), "MISSING") != NULL);
    /* --- bad input: one clear line, exit 2 --- */
    KBT_CHECK(cmp2(FX "cmp_base.csv", FX "bad_missing_col.csv") == 2);
    KBT_CHECK(one_line_err("bad_missing_col.csv: missing column 'time_us'"));
    KBT_CHECK(cmp2(FX "bad_number.csv", FX "cmp_base.csv") == 2);
    KBT_CHECK(one_line_err("bad_number.csv: row 2: column 'time_us': bad number 'abc'"));
    KBT_CHECK(cmp2(FX "cmp_base.csv", FX "bad_empty.csv") == 2);
    KBT_CHECK(one_line_err("bad_empty.csv: empty file"));
    KBT_CHECK(cmp2(FX "cmp_base.csv", FX "bad_ragged.csv") == 2);
    KBT_CHECK(one_line_err("bad_ragged.csv: row 3 has 5 fields"));
    KBT_CHECK(cmp2(FX "cmp_base.csv", FX "cmp_wrong_gpu.csv") == 2);
    KBT_CHECK(one_line_err("GPU mismatch"));
    KBT_CHECK(strstr(kbt_errbuf, "h800-sxm") != NULL);
    const char *allow[] = {"compare", "--allow-gpu-mismatch", FX "cmp_base.csv", FX "cmp_wrong_gpu.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, allow) == 0);
    /* --- a UTF-8 BOM before the header is not part of the first column name --- */
    KBT_CHECK(cmp2(FX "cmp_bom.csv", FX "cmp_base.csv") == 0);
    KBT_CHECK(strstr(kbt_out, "4 same") != NULL);
    KBT_CHECK(cmp2(FX "cmp_base.csv", FX "no_such_file.csv") == 4);
    KBT_CHECK(one_line_err("no_such_file.csv: cannot open"));
    const char *one[] = {"compare", FX "cmp_base.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, one) == 2);
    KBT_CHECK(one_line_err("need BASE.csv and NEW.csv"));
    const char *badopt[] = {"compare", "--frobnicate", FX "cmp_base.csv", FX "cmp_base.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, badopt) == 2);
    KBT_CHECK(one_line_err("unknown option '--frobnicate'"));
    const char *badthr[] = {"compare", "--threshold", "lots", FX "cmp_base.csv", FX "cmp_base.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, badthr) == 2);
    KBT_CHECK(one_line_err("bad --threshold 'lots'"));
    /* --- threshold forms: a fraction or N%; a bare number >= 1 is ambiguous --- */
    const char *thr1[] = {"compare", "--threshold", "1", FX "cmp_base.csv", FX "cmp_new_slow.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, thr1) == 2);
    KBT_CHECK(one_line_err("bad --threshold '1'"));
    const char *thr5[] = {"compare", "--threshold", "5", FX "cmp_base.csv", FX "cmp_new_slow.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, thr5) == 2);
    const char *thrh[] = {"compare", "--threshold", "0.5", FX "cmp_base.csv", FX "cmp_new_slow.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, thrh) == 0); /* 50%: the 10% slowdown is SAME */
    KBT_CHECK(strstr(kbt_out, "threshold 50.0%") != NULL);
    const char *thrp[] = {"compare", "--threshold", "1%", FX "cmp_base.csv", FX "cmp_new_slow.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, thrp) == 1);
    KBT_CHECK(strstr(kbt_out, "threshold 1.0%") != NULL);

    /* --- few samples: 3 per side can never reach alpha 0.01 (exact min p = 0.1):
     * a warning and the min/max test; 5 per side: the exact U (p = 2/252) --- */
    KBT_CHECK(cmp2(FX "cmp_small_base.csv", FX "cmp_small_new.csv") == 1);
    KBT_CHECK(strstr(find_line("fp8_gemm/v1/"), "REGRESSION") != NULL);
    KBT_CHECK(strstr(find_line("fp8_gemm/v1/"), "min/max apart") != NULL);
    KBT_CHECK(strstr(find_line("mla_decode/v1/"), "REGRESSION") != NULL);
    KBT_CHECK(strstr(find_line("mla_decode/v1/"), "mwu p=7.9e-03") != NULL);
    KBT_CHECK(kbt_count_lines(kbt_errbuf) == 2);
    KBT_CHECK(strstr(kbt_errbuf, "warning: 1 row had too few samples for alpha 0.01") != NULL);
    /* compare.py's rule: fewer than 9 repetitions on a side (3 and 5 here) */
    KBT_CHECK(strstr(kbt_errbuf, "warning: 2 compared rows have fewer than 9 repetitions") != NULL);
    /* --- invalid times in a passing row are bad input, on either side --- */
    static const char *const badt[][2] = {{"nan", "time_us nan"}, {"inf", "time_us inf"},
                                          {"zero", "time_us 0"}, {"neg", "time_us -5"}};
    for (int i = 0; i < 4; i++) {
        char f[96];
        snprintf(f, sizeof f, FX "cmp_bad_time_%s.csv", badt[i][0]);
        KBT_CHECK(cmp2(f, FX "cmp_new_slow.csv") == 2);
        KBT_CHECK(one_line_err(badt[i][1]));
        KBT_CHECK(strstr(kbt_errbuf, "row 1 (fp8_gemm/v1/") != NULL);
        KBT_CHECK(cmp2(FX "cmp_base.csv", f) == 2);
    }
    /* --- unknown enum values and values wider than their column --- */
    KBT_CHECK(cmp2(FX "cmp_base.csv", FX "cmp_bad_enum.csv") == 2);
    KBT_CHECK(one_line_err("cmp_bad_enum.csv: row 2: column 'verified': unknown value 'passed'"));
    KBT_CHECK(cmp2(FX "cmp_base.csv", FX "cmp_bad_long.csv") == 2);
    KBT_CHECK(one_line_err("cmp_bad_long.csv: row 3: column 'op': value of 40 characters is longer than the column's 31"));
    /* --- duplicate keys (two runs concatenated): an error, or --duplicates last --- */
    KBT_CHECK(cmp2(FX "cmp_base.csv", FX "cmp_dup.csv") == 2);
    KBT_CHECK(one_line_err("cmp_dup.csv: rows 2 and 6 have the same key fp8_gemm/cublaslt/"));
    KBT_CHECK(cmp2(FX "cmp_dup.csv", FX "cmp_base.csv") == 2);
    const char *dl[] = {"compare", "--duplicates", "last", FX "cmp_base.csv", FX "cmp_dup.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, dl) == 1); /* the last rows are the slow run */
    KBT_CHECK(strstr(kbt_out, "duplicates: the last row of each key is compared") != NULL);
    KBT_CHECK(strstr(kbt_out, "summary: 1 regression, 0 verification failures, 0 missing, 0 improved, 0 noise, 3 same") != NULL);
    const char *db[] = {"compare", "--duplicates", "first", FX "cmp_base.csv", FX "cmp_dup.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, db) == 2);
    /* --- a measurement against a model: refused --- */
    KBT_CHECK(cmp2(FX "cmp_base.csv", FX "cmp_projected.csv") == 2);
    KBT_CHECK(one_line_err("is measured, NEW"));
    KBT_CHECK(strstr(kbt_errbuf, "is projected: compare like with like") != NULL);
    KBT_CHECK(cmp2(FX "cmp_projected.csv", FX "cmp_projected.csv") == 0);

    /* --- Google Benchmark JSON samples: tight samples in JSON turn the
     * interval-only NOISE of mla_decode (55 in [48,60]) into a regression --- */
    const char *js[] = {"compare", FX "cmp_base.csv", FX "cmp_new_noise.csv", "--json",
                        FX "gb_new.json", FX "gb_base.json", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, js) == 1);
    KBT_CHECK(strstr(find_line("mla_decode/v1/"), "REGRESSION") != NULL);
    KBT_CHECK(strstr(find_line("mla_decode/v1/"), "mwu p=") != NULL);

    /* --- --update-baseline writes NEW to DIR/<gpu>.csv --- */
    char tdir[] = "/tmp/kbcmp.XXXXXX";
    KBT_CHECK(mkdtemp(tdir) != NULL);
    char dir[64], bl[96];
    snprintf(dir, sizeof dir, "%s/baselines", tdir);
    snprintf(bl, sizeof bl, "%s/h100-sxm.csv", dir);
    const char *up[] = {"compare", "--update-baseline", "--baseline-dir", dir, FX "cmp_new_slow.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, up) == 0);
    const char *again[] = {"compare", FX "cmp_new_slow.csv", bl, NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, again) == 0);
    KBT_CHECK(strstr(kbt_out, "4 same") != NULL);
    /* --- the ratchet: a regression does not update the baseline (exit 1) ... --- */
    const char *rat[] = {"compare", "--update-baseline", "--baseline-dir", dir, bl, FX "cmp_new_slow.csv", NULL};
    const char *fast[] = {"compare", "--update-baseline", "--baseline-dir", dir, FX "cmp_base.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, fast) == 0); /* baseline = the fast run */
    KBT_CHECK(kbt_run(kb_cmd_compare, rat) == 1);
    KBT_CHECK(strstr(kbt_out, "baseline updated") == NULL);
    KBT_CHECK(strstr(kbt_errbuf, "baseline not updated") != NULL);
    KBT_CHECK(cmp2(FX "cmp_base.csv", bl) == 0); /* still the fast numbers */
    /* ... unless --force (the gate still says 1) */
    const char *frc[] = {"compare", "--update-baseline", "--force", "--baseline-dir", dir, bl, FX "cmp_new_slow.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, frc) == 1);
    KBT_CHECK(strstr(kbt_out, "baseline updated") != NULL);
    KBT_CHECK(cmp2(FX "cmp_new_slow.csv", bl) == 0);
    /* a baseline must be measured, passing, timed rows */
    const char *upf[] = {"compare", "--update-baseline", "--baseline-dir", dir, FX "cmp_new_fail.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, upf) == 2);
    KBT_CHECK(one_line_err("not a baseline: row 1 (fp8_gemm/v1/"));
    KBT_CHECK(strstr(kbt_errbuf, "failed verification") != NULL);
    const char *upp[] = {"compare", "--update-baseline", "--baseline-dir", dir, FX "cmp_projected.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, upp) == 2);
    KBT_CHECK(one_line_err("is projected"));
    const char *upn[] = {"compare", "--update-baseline", "--baseline-dir", dir, FX "cmp_bad_time_nan.csv", NULL};
    KBT_CHECK(kbt_run(kb_cmd_compare, upn) == 2);
    KBT_CHECK(cmp2(FX "cmp_new_slow.csv", bl) == 0); /* none of them touched it */
    char rm[128]; /* remove the temp dir (path from mkdtemp: no shell metacharacters) */
    snprintf(rm, sizeof rm, "rm -rf '%s'", tdir);
    if (system(rm) != 0) printf("warning: could not remove %s\n", tdir);
    test_formats();
    return kbt_done("test_cmd_compare");
}
