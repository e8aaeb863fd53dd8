/* The one row schema (bench/kb_row.h): rows with extreme values written by
 * the CSV writer and read back by the CSV reader must compare equal field by
 * field (numbers bit-exact, counts as exact integers); the README's column
 * table must list exactly the schema's columns, in order, with the same
 * one-line meanings.  Links the report library only (no CUDA). */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench/kb_row.h"
#include "bench/report/csv_table.h"
#include "kbtest.h"

static void fill_text(char *dst, size_t n, const char *pattern)
{
    size_t k = strlen(pattern);
    for (size_t i = 0; i + 1 < n; i++) dst[i] = pattern[i % k];
    dst[n - 1] = 0;
}

/* Row 0: every text field at its full width with the characters CSV must
 * quote; numbers at the edges of double. */
static void extreme_row(kb_row *r, double *samples)
{
    kb_row_init(r);
    for (int i = 0; i < kb_ncols; i++)
        if (kb_cols[i].type == KB_COL_TEXT) fill_text(kb_col_text(&kb_cols[i], r), kb_cols[i].size, "a,\"b\n;c");
    r->flops = 962072674304.0;               /* 2*4096*7168*16384: %g wrote 9.62073e+11 */
    r->bytes = 9007199254740991.0;            /* 2^53 - 1: the largest exact count       */
    r->link_bytes = 0;
    r->intensity = 1.0 / 3.0;
    r->time_us = 4.9406564584124654e-324;     /* smallest subnormal */
    r->time_us_min = DBL_MIN;
    r->time_us_max = DBL_MAX;
    r->cv = -0.0;
    r->reps = INT_MAX;
    r->tflops = 3.141592653589793;
    r->gbps = 1e-300;
    r->roof_tflops = 123456789.123456789;
    r->pct_roof = INFINITY;
    r->err = NAN;                             /* written empty, read back NaN */
    r->sm_clock_mhz = 1980.5;
    samples[0] = 0.1;
    samples[1] = 1e-9;
    samples[2] = 123456.78901234567;
    r->samples_us = samples;
    r->n_samples = 3;
}

/* Row 1: the empty row (what a skipped model row looks like). */
static void empty_row(kb_row *r)
{
    kb_row_init(r);
    snprintf(r->op, sizeof r->op, "op");
    snprintf(r->impl, sizeof r->impl, "impl");
    snprintf(r->gpu, sizeof r->gpu, "gpu");
    r->reps = -7;
}

static int same_num(double a, double b)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return a == b && signbit(a) == signbit(b);
}

static void compare(const kb_row *w, const kb_row *r)
{
    for (int i = 0; i < kb_ncols; i++) {
        const kb_col *c = &kb_cols[i];
        const char *pw = (const char *)w + c->off, *pr = (const char *)r + c->off;
        int ok = 1;
        switch (c->type) {
        case KB_COL_TEXT: ok = !strcmp(pw, pr); break;
        case KB_COL_INT: ok = *(const int *)(const void *)pw == *(const int *)(const void *)pr; break;
        case KB_COL_COUNT:
        case KB_COL_REAL: ok = same_num(*(const double *)(const void *)pw, *(const double *)(const void *)pr); break;
        case KB_COL_SAMPLES:
            ok = w->n_samples == r->n_samples;
            for (int k = 0; ok && k < w->n_samples; k++) ok = w->samples_us[k] == r->samples_us[k];
            break;
        }
        if (!ok) printf("column %s differs after the round trip\n", c->name);
        KBT_CHECK(ok);
    }
}

static void round_trip(void)
{
    char path[] = "/tmp/kb_row_XXXXXX";
    int fd = mkstemp(path);
    KBT_CHECK(fd >= 0);
    close(fd);
    kb_row w[2];
    double samples[3];
    extreme_row(&w[0], samples);
    empty_row(&w[1]);
    kb_csv c;
    KBT_CHECK(kb_csv_open(&c, path, 0) == 0);
    for (int i = 0; i < 2; i++) KBT_CHECK(kb_csv_write(&c, &w[i]) == 0);
    KBT_CHECK(kb_csv_close(&c) == 0);

    /* the count is an exact integer in the file, not 9.62073e+11 */
    FILE *f = fopen(path, "r");
    char text[1 << 14] = "";
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = 0;
    if (f) fclose(f);
    KBT_CHECK(strstr(text, ",962072674304,9007199254740991,") != NULL);

    kb_rowset set = {0};
    char err[512] = "";
    int rc = kb_rows_load(&set, path, NULL, err, sizeof err);
    if (rc) printf("load: %s\n", err);
    KBT_CHECK(rc == 0 && set.n == 2);
    for (int i = 0; i < 2 && i < set.n; i++) compare(&w[i], &set.r[i]);
    kb_rows_free(&set);
    unlink(path);
}

/* A bad number names its column; a missing required column is refused. */
static void bad_input(void)
{
    char path[] = "/tmp/kb_row_bad_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "op,impl,shape,dtype,gpu,source,time_us,verified,reps\nx,y,z,bf16,g,measured,12,pass,3.5\n");
    fclose(f);
    kb_rowset set = {0};
    char err[512] = "";
    KBT_CHECK(kb_rows_load(&set, path, NULL, err, sizeof err) == KB_EXIT_USAGE);
    KBT_CHECK(strstr(err, "column 'reps'") != NULL);
    kb_rows_free(&set);
    f = fopen(path, "w");
    fprintf(f, "op,impl,shape,dtype,gpu,source,verified\nx,y,z,bf16,g,measured,pass\n");
    fclose(f);
    KBT_CHECK(kb_rows_load(&set, path, NULL, err, sizeof err) == KB_EXIT_USAGE);
    KBT_CHECK(strstr(err, "missing column 'time_us'") != NULL);
    kb_rows_free(&set);
    unlink(path);
}

/* README "## CSV columns": one table line per column, "| `name` | meaning |",
 * in the schema's order with the schema's meaning. */
static void readme_lists_the_schema(void)
{
    FILE *f = fopen("README.md", "r");
    KBT_CHECK(f != NULL);
    if (!f) return;
    char line[2048];
    int in = 0, k = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "## ", 3)) in = !strncmp(line, "## CSV columns", 14);
        if (!in || strncmp(line, "| `", 3)) continue;
        char name[64], meaning[1024];
        if (sscanf(line, "| `%63[^`]` | %1023[^\n]", name, meaning) != 2) continue;
        size_t l = strlen(meaning);
        while (l && (meaning[l - 1] == '|' || meaning[l - 1] == ' ')) meaning[--l] = 0;
        if (k >= kb_ncols) {
            printf("README lists an extra column '%s'\n", name);
            KBT_CHECK(0);
            break;
        }
        if (strcmp(name, kb_cols[k].name) || strcmp(meaning, kb_cols[k].meaning))
            printf("README column %d: '%s' | %s\n  want: | `%s` | %s |\n", k + 1, name, meaning,
                   kb_cols[k].name, kb_cols[k].meaning);
        KBT_STREQ(name, kb_cols[k].name);
        KBT_STREQ(meaning, kb_cols[k].meaning);
        k++;
    }
    fclose(f);
    if (k != kb_ncols) printf("README lists %d columns, the schema has %d\n", k, kb_ncols);
    KBT_CHECK(k == kb_ncols);
}

int main(void)
{
    round_trip();
    bad_input();
    readme_lists_the_schema();
    for (int i = 0; i < kb_ncols; i++) KBT_CHECK(kb_col_find(kb_cols[i].name) == &kb_cols[i]);
    KBT_CHECK(kb_col_find("no_such_column") == NULL);
    return kbt_done("test_row");
}
