/* kb_row.h - the one row schema of kbench's results CSV.
 *
 * One row struct (kb_row) and one column table (kb_cols: name, type, where
 * the value lives in the struct, a one-line meaning).  The CSV writer below,
 * the CSV reader (bench/report/csv_table.h) and the README check
 * (tests/test_row.c) all loop over that table, so adding a column is: one
 * field in kb_row, one line in kb_cols (bench/kb_row.c), one place that fills
 * it (the run path, bench/kb_run.c, or the model, bench/cmd_model.c).
 *
 * Numbers are written losslessly: counts (flops, bytes, link_bytes) as exact
 * integers, reps as an integer, real values with the fewest digits that read
 * back to the same double.  NaN is written as an empty field and read back as
 * NaN.  Plain C, no CUDA: the report library links it. */
#ifndef KB_ROW_H
#define KB_ROW_H
#include <stddef.h>
#include <stdio.h>
#include "bench/kb_io.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct kb_row {
    char op[32], impl[64], shape[96], dtype[24], gpu[32];
    char source[16];          /* measured | projected                      */
    double flops, bytes, intensity;
    double time_us, time_us_min, time_us_max, cv;
    int reps;
    double tflops, gbps, roof_tflops, pct_roof;
    char bound[16];           /* compute | memory | network                */
    double err;
    char verified[8];         /* pass | fail | skip                        */
    char timer[24];           /* cupti | events | model (+ -graph, -hot)   */
    double sm_clock_mhz;
    char kbench_version[24], git_sha[48];
    char timestamp[40];       /* UTC ISO 8601                              */
    double link_bytes;
    char roof_source[24];     /* datasheet | user                          */
    double pct_roof_achievable; /* vs the measured ceilings; NaN: none     */
    char flush[16];           /* l2 | none | n/a                           */
    double low_clock_samples; /* samples below 75% of the nominal SM clock */
    char impl_kind[8];        /* hand | lib | model                        */
    char err_metric[16];
    char note[256];
    char metrics[160];        /* op-specific "name=value;..." (kb_op.metrics) */
    char dims[160];           /* named shape dimensions "b=128;sk=4096"    */
    /* --counters (bench/kb_counters.h): NaN when not collected */
    double dram_bytes, l2_bytes, measured_intensity, traffic_ratio, sm_throughput_pct;
    double *samples_us;       /* per-repetition times; the reader mallocs   */
    int n_samples;
    /* Not columns: where a row read back from a file came from. */
    int file, line;
} kb_row;

typedef enum kb_col_type {
    KB_COL_TEXT = 0, /* char[]                                      */
    KB_COL_COUNT,    /* double holding an integer count: exact digits */
    KB_COL_INT,      /* int                                         */
    KB_COL_REAL,     /* double: shortest round-trip digits          */
    KB_COL_SAMPLES   /* samples_us/n_samples as "1.5;2;3"           */
} kb_col_type;

enum { KB_COL_REQUIRED = 1u << 0 }; /* the reader refuses a file without it */

typedef struct kb_col {
    const char *name;
    kb_col_type type;
    size_t off, size;  /* offset in kb_row; size of a text field */
    unsigned flags;
    const char *meaning;
} kb_col;

extern const kb_col kb_cols[];
extern const int kb_ncols;
const kb_col *kb_col_find(const char *name); /* NULL if not a column */

/* Strings empty, numbers NaN, reps 0, version, git sha and timestamp now. */
void kb_row_init(kb_row *r);
/* Pointers to a field of r for column c. */
static inline char *kb_col_text(const kb_col *c, kb_row *r) { return (char *)r + c->off; }
static inline double *kb_col_num(const kb_col *c, kb_row *r) { return (double *)(void *)((char *)r + c->off); }

/* Format one value of r (column c) into buf as the CSV holds it, unquoted.
 * Returns buf.  Text is copied; the samples list may be long, so n must be
 * large enough (kb_row_cell_len tells). */
size_t kb_row_cell_len(const kb_col *c, const kb_row *r);
char *kb_row_cell(const kb_col *c, const kb_row *r, char *buf, size_t n);
/* Parse `text` into column c of r (samples are malloc'd).  0, -1 for a bad
 * number (NaN/Inf in a sample list is bad too), or KB_ROW_SET_TOO_LONG for
 * text that does not fit the column's field (c->size - 1 characters): it is
 * never cut, since two long keys cut alike would read as one row. */
enum { KB_ROW_SET_TOO_LONG = -2 };
int kb_row_set(const kb_col *c, kb_row *r, const char *text);
/* Copy a free-text field (note) into dst[n]: text that does not fit is cut
 * and then ends in "...", never cut silently.  The key fields (op, impl,
 * shape, dtype, ...) are never cut: every registered name fits its field
 * (tests/test_ops.c checks). */
void kb_row_note(char *dst, size_t n, const char *src);

/* Write the header line / one row (RFC 4180 quoting).  0 / -1. */
int kb_row_write_header(FILE *f);
int kb_row_write(FILE *f, const kb_row *r);
void kb_csv_field(FILE *f, const char *s);

/* The results CSV of a run or a model: header at open, rows appended,
 * renamed to PATH at close (kb_afile).  durable (`kbench run`): the
 * temporary is PATH.partial and every row is flushed and fsync'd, so a
 * crash keeps every finished row there for --resume.  Not durable (the
 * model, rebuilt whole): a unique temporary, fsync'd once at close.  "-"
 * writes to stdout. */
typedef struct kb_csv {
    kb_afile af;
    int durable;
} kb_csv;
int kb_csv_open(kb_csv *c, const char *path, int durable); /* 0 / -1 (errno) */
int kb_csv_write(kb_csv *c, const kb_row *r);
int kb_csv_close(kb_csv *c);                               /* 0 / -1 */
#ifdef __cplusplus
}
#endif
#endif
