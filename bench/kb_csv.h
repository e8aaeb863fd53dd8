/* kb_csv.h - the results CSV: one row per (op, impl, shape), appended and
 * flushed as each finishes into FILE.partial, renamed to FILE when the run
 * completes (a crash keeps every finished row in the .partial file). */
#ifndef KB_CSV_H
#define KB_CSV_H
#include <stdio.h>
#ifdef __cplusplus
extern "C" {
#endif

/* Column names, in order (the first 26 are the documented contract). */
extern const char *const kb_csv_columns[];
extern const int kb_csv_ncolumns;

/* Numbers left NaN are written as empty fields. */
typedef struct kb_row {
    char op[32], impl[48], shape[64], dtype[24], gpu[32];
    char source[12];          /* measured | projected */
    double flops, bytes, intensity;
    double time_us, time_us_min, time_us_max, cv;
    int reps;
    double tflops, gbps, roof_tflops, pct_roof;
    char bound[12];           /* compute | memory | network */
    double err;
    char verified[8];         /* pass | fail | skip */
    char timer[16];           /* cupti | events | model */
    double sm_clock_mhz;
    char timestamp[32];       /* UTC ISO 8601 */
    double link_bytes;
    char roof_source[24];     /* datasheet | measured */
    char flush[16];           /* l2 | none | n/a */
    char impl_kind[8];        /* hand | lib | model */
    char err_metric[16];
    char note[256];
    char metrics[160];        /* op-specific "name=value;..." (kb_op.metrics) */
    const double *samples_us; /* optional per-repetition samples */
    int n_samples;
} kb_row;

void kb_row_init(kb_row *r);  /* zero strings, NaN numbers, timestamp now */
void kb_utc_stamp(char *buf, size_t n, int compact); /* 2026-11-24T08:00:00Z | 20261124T080000Z */

typedef struct kb_csv {
    FILE *f;
    char path[1024];
    char tmp[1040];
    int is_stdout;
} kb_csv;

/* path "-" writes to stdout.  Creates parent directories.  0 / -1 (errno). */
int kb_csv_open(kb_csv *c, const char *path);
int kb_csv_write(kb_csv *c, const kb_row *r);
/* Finish: rename FILE.partial -> FILE.  0 / -1. */
int kb_csv_close(kb_csv *c);
/* Quote a field if it needs it (RFC 4180). */
void kb_csv_field(FILE *f, const char *s);
int kb_mkdirs(const char *dir); /* mkdir -p; 0 / -1 */
#ifdef __cplusplus
}
#endif
#endif
