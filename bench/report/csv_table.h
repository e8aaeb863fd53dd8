/* csv_table.h - reading kbench result CSVs back (plot, compare, report).
 *
 * Two layers:
 *   csv_table  - a generic table parsed with libcsv: header row + cells, columns
 *                looked up by name (extra columns are tolerated);
 *   kb_res     - one typed result row: the contract columns of the results CSV
 *                (see the harness issue) plus the optional ones the harness may
 *                append (link_bytes, impl_kind, note, samples_us, ...).  Optional
 *                columns that are absent read as "" / NaN.
 *
 * Errors: every loader returns 0, KBR_EXIT_USAGE (2, bad input: missing column,
 * bad number, empty file, ragged row) or KBR_EXIT_IO (4, cannot open/read) and
 * leaves a one-line message naming the file in `err`. */
#ifndef CSV_TABLE_H
#define CSV_TABLE_H
#include <stddef.h>

/* Same values as the harness exit codes (kb_run.h on main); own names so both headers can be included together. */
#define KBR_EXIT_OK 0
#define KBR_EXIT_FAIL 1  /* regression / failure (compare) */
#define KBR_EXIT_USAGE 2 /* bad input or usage               */
#define KBR_EXIT_IO 4    /* I/O error, missing gnuplot       */

typedef struct csv_table {
    int ncols, nrows;
    char **cols;  /* header names                            */
    char **cells; /* nrows * ncols, row-major; never NULL    */
} csv_table;

int csv_table_load(const char *path, csv_table *t, char *err, size_t errlen);
void csv_table_free(csv_table *t);
int csv_table_col(const csv_table *t, const char *name); /* -1 if absent */
const char *csv_table_cell(const csv_table *t, int row, int col); /* "" if col < 0 */

/* One result row. */
typedef struct kb_res {
    char op[32], impl[64], shape[96], dtype[24], gpu[32];
    char source[16];   /* measured | projected           */
    char bound[16];    /* compute | memory | network     */
    char verified[8];  /* pass | fail | skip             */
    char timer[16], impl_kind[8], kbench_version[24], git_sha[48], timestamp[40];
    char roof_source[24], note[256];
    char driver[32], cuda[32]; /* optional columns "driver", "cuda" */
    double flops, bytes, intensity, time_us, time_us_min, time_us_max, cv, reps;
    double tflops, gbps, roof_tflops, pct_roof, err, sm_clock_mhz, link_bytes;
    double *samples; /* per-repetition times (us), from samples_us or --json */
    int nsamples;
    int row;           /* 1-based data row in its file */
    int file;          /* index into kb_resset.files  */
} kb_res;

typedef struct kb_resset {
    kb_res *r;
    int n, cap;
    char **files;
    int nfiles;
    /* Optional columns present in at least one loaded file. */
    int has_impl_kind, has_samples;
} kb_resset;

/* Columns every result CSV must have (the commands need them). */
extern const char *const kb_res_required[];

/* Append the rows of `path` to `set`.  `extra_required` (NULL-terminated, may
 * be NULL) names further columns this caller needs.  0 / 2 / 4 + err. */
int kb_res_load(kb_resset *set, const char *path, const char *const *extra_required,
                char *err, size_t errlen);
void kb_resset_free(kb_resset *set);

/* Helpers on rows. */
int kb_res_is_measured(const kb_res *r);
int kb_res_is_pass(const kb_res *r);        /* verified == pass (projected rows: skip ok) */
int kb_res_has_time(const kb_res *r);       /* finite, > 0 */
/* Library reference?  impl_kind column when present ("lib"), else the impl
 * name convention: hand-written variants are "v<digit>...". */
int kb_res_is_lib(const kb_res *r, int has_impl_kind);
int kb_res_is_model(const kb_res *r);       /* impl_kind model or source projected */

/* Parse "1.5;2;3" into a malloc'd array; returns count, -1 on a bad number. */
int kb_parse_samples(const char *s, double **out);
/* strtod of the whole string; "" -> NaN (returns 0); junk -> -1. */
int kb_parse_num(const char *s, double *v);
/* snprintf into a fixed field, truncating. */
void kb_strlcpy(char *dst, const char *src, size_t n);
#endif
