#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "bench/kb_csv.h"

#ifndef KB_GIT_SHA
#define KB_GIT_SHA "unknown"
#endif

const char *const kb_csv_columns[] = {
    "op", "impl", "shape", "dtype", "gpu", "source", "flops", "bytes", "intensity",
    "time_us", "time_us_min", "time_us_max", "cv", "reps", "tflops", "gbps", "roof_tflops",
    "pct_roof", "bound", "err", "verified", "timer", "sm_clock_mhz", "kbench_version",
    "git_sha", "timestamp",
    /* extensions */
    "link_bytes", "roof_source", "flush", "impl_kind", "err_metric", "note", "metrics", "samples_us",
};
const int kb_csv_ncolumns = (int)(sizeof kb_csv_columns / sizeof kb_csv_columns[0]);

void kb_utc_stamp(char *buf, size_t n, int compact)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void kb_row_init(kb_row *r)
{
    memset(r, 0, sizeof *r);
    r->flops = r->bytes = r->intensity = NAN;
    r->time_us = r->time_us_min = r->time_us_max = r->cv = NAN;
    r->tflops = r->gbps = r->roof_tflops = r->pct_roof = NAN;
    r->err = r->sm_clock_mhz = r->link_bytes = NAN;
    kb_utc_stamp(r->timestamp, sizeof r->timestamp, 0);
}

int kb_mkdirs(const char *dir)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0777) && errno != EEXIST) return -1;
    return 0;
}

void kb_csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void num(FILE *f, double v)
{
    if (!isnan(v)) fprintf(f, "%.6g", v);
}

int kb_csv_open(kb_csv *c, const char *path)
{
    memset(c, 0, sizeof *c);
    if (!strcmp(path, "-")) {
        c->f = stdout;
        c->is_stdout = 1;
    } else {
        snprintf(c->path, sizeof c->path, "%s", path);
        snprintf(c->tmp, sizeof c->tmp, "%s.partial", path);
        char dir[1024];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = 0;
            if (kb_mkdirs(dir)) return -1;
        }
        c->f = fopen(c->tmp, "w");
        if (!c->f) return -1;
    }
    for (int i = 0; i < kb_csv_ncolumns; i++) fprintf(c->f, "%s%s", i ? "," : "", kb_csv_columns[i]);
    fputc('\n', c->f);
    return fflush(c->f) ? -1 : 0;
}

int kb_csv_write(kb_csv *c, const kb_row *r)
{
    FILE *f = c->f;
    const char *s[] = {r->op, r->impl, r->shape, r->dtype, r->gpu, r->source};
    for (int i = 0; i < 6; i++) {
        if (i) fputc(',', f);
        kb_csv_field(f, s[i]);
    }
    const double a[] = {r->flops, r->bytes, r->intensity, r->time_us, r->time_us_min, r->time_us_max, r->cv};
    for (int i = 0; i < 7; i++) { fputc(',', f); num(f, a[i]); }
    fprintf(f, ",%d", r->reps);
    const double b[] = {r->tflops, r->gbps, r->roof_tflops, r->pct_roof};
    for (int i = 0; i < 4; i++) { fputc(',', f); num(f, b[i]); }
    fputc(',', f); kb_csv_field(f, r->bound);
    fputc(',', f); num(f, r->err);
    fputc(',', f); kb_csv_field(f, r->verified);
    fputc(',', f); kb_csv_field(f, r->timer);
    fputc(',', f); if (!isnan(r->sm_clock_mhz)) fprintf(f, "%.0f", r->sm_clock_mhz);
    fprintf(f, ",%s,%s,%s", KBENCH_VERSION, KB_GIT_SHA, r->timestamp);
    fputc(',', f); num(f, r->link_bytes);
    const char *t[] = {r->roof_source, r->flush, r->impl_kind, r->err_metric, r->note, r->metrics};
    for (int i = 0; i < 6; i++) { fputc(',', f); kb_csv_field(f, t[i]); }
    fputc(',', f);
    for (int i = 0; i < r->n_samples; i++) fprintf(f, "%s%.4f", i ? ";" : "", r->samples_us[i]);
    fputc('\n', f);
    if (fflush(f)) return -1;
    if (!c->is_stdout) fsync(fileno(f));
    return ferror(f) ? -1 : 0;
}

int kb_csv_close(kb_csv *c)
{
    if (!c->f) return 0;
    if (c->is_stdout) {
        c->f = NULL;
        return fflush(stdout) ? -1 : 0;
    }
    int rc = fclose(c->f);
    c->f = NULL;
    if (rc) return -1;
    return rename(c->tmp, c->path);
}
