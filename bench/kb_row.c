/* kb_row.c - the column table and the CSV writer (see kb_row.h). */
#include "bench/kb_row.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef KB_GIT_SHA
#define KB_GIT_SHA "unknown"
#endif
#ifndef KBENCH_VERSION
#define KBENCH_VERSION "unknown"
#endif

#define TEXT(f, fl, m) {#f, KB_COL_TEXT, offsetof(kb_row, f), sizeof(((kb_row *)0)->f), fl, m}
#define NUM(f, t, fl, m) {#f, t, offsetof(kb_row, f), 0, fl, m}
#define REQ KB_COL_REQUIRED

/* The contract: the first 26 columns are the documented core, the rest
 * extensions; the README's column list is checked against this table. */
const kb_col kb_cols[] = {
    TEXT(op, REQ, "operator (kbench list)"),
    TEXT(impl, REQ, "implementation: v1, v2, ... hand-written; library names; roofline* for projections"),
    TEXT(shape, REQ, "shape label, unique within the operator"),
    TEXT(dtype, REQ, "input data type (e4m3, bf16, e4m3kv, u8, ...)"),
    TEXT(gpu, REQ, "device-table slug of the GPU (h100-sxm, h800-sxm, ...)"),
    TEXT(source, REQ, "measured (kbench run) or projected (kbench model)"),
    NUM(flops, KB_COL_COUNT, 0, "floating-point operations of one launch (exact integer)"),
    NUM(bytes, KB_COL_COUNT, 0, "minimum bytes that must cross HBM in one launch (exact integer)"),
    NUM(intensity, KB_COL_REAL, 0, "flops / bytes (FLOP per byte)"),
    NUM(time_us, KB_COL_REAL, REQ, "median time of the timed samples, microseconds (projected: the roofline floor)"),
    NUM(time_us_min, KB_COL_REAL, 0, "fastest sample, microseconds"),
    NUM(time_us_max, KB_COL_REAL, 0, "slowest sample, microseconds"),
    NUM(cv, KB_COL_REAL, 0, "coefficient of variation of the samples (sample sd / mean)"),
    NUM(reps, KB_COL_INT, 0, "number of timed samples"),
    NUM(tflops, KB_COL_REAL, 0, "achieved TFLOP/s at time_us"),
    NUM(gbps, KB_COL_REAL, 0, "achieved GB/s of the minimum bytes at time_us"),
    NUM(roof_tflops, KB_COL_REAL, 0, "roofline-attainable TFLOP/s for this shape"),
    NUM(pct_roof, KB_COL_REAL, 0, "100 x roofline floor at the datasheet (or --specs) ceilings / time_us"),
    TEXT(bound, 0, "the roofline term that bounds the shape: compute, memory or network"),
    NUM(err, KB_COL_REAL, 0, "verification error in the op's metric (err_metric)"),
    TEXT(verified, REQ, "pass, fail or skip"),
    TEXT(timer, 0, "cupti, events or model; -graph when timed as CUDA-graph replays; -hot when timed as back-to-back batches (--hot)"),
    NUM(sm_clock_mhz, KB_COL_REAL, 0, "SM clock under load: SM 0's clock64 cycles / %globaltimer ns between stamps around each kept sample, summed, MHz"),
    TEXT(kbench_version, 0, "kbench version that wrote the row"),
    TEXT(git_sha, 0, "git commit kbench was built from"),
    TEXT(timestamp, 0, "UTC time the row was written (ISO 8601)"),
    NUM(link_bytes, KB_COL_COUNT, 0, "bytes one rank sends over the GPU links (communication ops, exact integer)"),
    TEXT(roof_source, 0, "datasheet or user (--specs file): where the ceiling of pct_roof's bound term came from"),
    NUM(pct_roof_achievable, KB_COL_REAL, 0, "100 x floor at the measured ceilings (hbm, peak rows of the run) / time_us; empty when the bound term's ceiling was not measured"),
    TEXT(flush, 0, "L2 between samples: l2 (flushed by reading 2x L2), none, n/a"),
    NUM(low_clock_samples, KB_COL_COUNT, 0, "timed samples whose SM clock was below 75% of the nominal clock (dropped with --drop-low-clock)"),
    TEXT(impl_kind, 0, "hand (kernels/), lib (reference/) or model"),
    TEXT(err_metric, 0, "name of the error metric: diff, cos_diff, wrong, ..."),
    TEXT(note, 0, "why a row failed or was skipped; what ran (library algorithm, tile configuration); model assumptions"),
    TEXT(metrics, 0, "op-specific figures name=value;... (algbw, busbw, ...)"),
    TEXT(dims, 0, "named shape dimensions name=value;... (b=128;sk=4096;...)"),
    NUM(samples_us, KB_COL_SAMPLES, 0, "every timed sample, microseconds, ';'-separated"),
    NUM(dram_bytes, KB_COL_COUNT, 0, "--counters: bytes read from and written to DRAM by the launch's kernels (ncu)"),
    NUM(l2_bytes, KB_COL_COUNT, 0, "--counters: bytes of L2 (lts) traffic of the launch's kernels (ncu)"),
    NUM(measured_intensity, KB_COL_REAL, 0, "--counters: flops / dram_bytes (FLOP per byte really moved)"),
    NUM(traffic_ratio, KB_COL_REAL, 0, "--counters: dram_bytes / bytes (1 = only the declared minimum crossed HBM)"),
    NUM(sm_throughput_pct, KB_COL_REAL, 0, "--counters: SM throughput, % of peak, time-weighted over the kernels (ncu)"),
};
const int kb_ncols = (int)(sizeof kb_cols / sizeof kb_cols[0]);

const kb_col *kb_col_find(const char *name)
{
    for (int i = 0; i < kb_ncols; i++)
        if (!strcmp(kb_cols[i].name, name)) return &kb_cols[i];
    return NULL;
}

void kb_row_init(kb_row *r)
{
    memset(r, 0, sizeof *r);
    for (int i = 0; i < kb_ncols; i++)
        if (kb_cols[i].type == KB_COL_COUNT || kb_cols[i].type == KB_COL_REAL)
            *kb_col_num(&kb_cols[i], r) = NAN;
    kb_strlcpy(r->kbench_version, KBENCH_VERSION, sizeof r->kbench_version);
    kb_strlcpy(r->git_sha, KB_GIT_SHA, sizeof r->git_sha);
    kb_utc_stamp(r->timestamp, sizeof r->timestamp, 0);
}

void kb_row_note(char *dst, size_t n, const char *src)
{
    if (!n) return;
    if (!src) src = "";
    size_t len = strlen(src);
    if (len < n) {
        memcpy(dst, src, len + 1);
        return;
    }
    if (n < 4) { /* no room for the mark: nothing rather than a silent cut */
        dst[0] = 0;
        return;
    }
    memcpy(dst, src, n - 4);
    memcpy(dst + n - 4, "...", 4);
}

/* ---- numbers as text ------------------------------------------------------ */
/* The fewest significant digits that strtod reads back to the same double. */
static int fmt_real(char *buf, size_t n, double v)
{
    if (v == floor(v) && fabs(v) < 1e15) return snprintf(buf, n, "%.0f", v); /* 3350, not 3.35e+03 */
    int w = 0;
    for (int prec = 1; prec <= 17; prec++) {
        w = snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    return w;
}

static int fmt_count(char *buf, size_t n, double v)
{
    if (v == floor(v) && fabs(v) < 9.007199254740992e15) return snprintf(buf, n, "%.0f", v); /* exact */
    return fmt_real(buf, n, v); /* not an integer: still lossless */
}

static const double *row_num(const kb_col *c, const kb_row *r)
{
    return (const double *)(const void *)((const char *)r + c->off);
}

size_t kb_row_cell_len(const kb_col *c, const kb_row *r)
{
    if (c->type == KB_COL_TEXT) return strlen((const char *)r + c->off) + 1;
    if (c->type == KB_COL_SAMPLES) return (size_t)r->n_samples * 26 + 1;
    return 32;
}

char *kb_row_cell(const kb_col *c, const kb_row *r, char *buf, size_t n)
{
    if (n) buf[0] = 0;
    switch (c->type) {
    case KB_COL_TEXT: kb_strlcpy(buf, (const char *)r + c->off, n); break;
    case KB_COL_INT: snprintf(buf, n, "%d", *(const int *)(const void *)((const char *)r + c->off)); break;
    case KB_COL_COUNT:
        if (!isnan(*row_num(c, r))) fmt_count(buf, n, *row_num(c, r));
        break;
    case KB_COL_REAL:
        if (!isnan(*row_num(c, r))) fmt_real(buf, n, *row_num(c, r));
        break;
    case KB_COL_SAMPLES: {
        size_t len = 0;
        for (int i = 0; i < r->n_samples && len + 1 < n; i++) {
            if (i) buf[len++] = ';';
            len += (size_t)fmt_real(buf + len, n - len, r->samples_us[i]);
        }
        break;
    }
    }
    return buf;
}

/* "1.5;2;3" -> malloc'd array; count, or -1 on a bad or non-finite number. */
static int parse_samples(const char *s, double **out)
{
    *out = NULL;
    while (*s == ' ') s++;
    if (!*s) return 0;
    int n = 1;
    for (const char *p = s; *p; p++) n += *p == ';';
    double *a = malloc((size_t)n * sizeof *a);
    char *copy = strdup(s);
    if (!a || !copy) {
        free(a);
        free(copy);
        return -1;
    }
    int k = 0;
    for (char *save = NULL, *t = strtok_r(copy, ";", &save); t && k < n; t = strtok_r(NULL, ";", &save)) {
        if (kb_parse_num(t, &a[k]) || !isfinite(a[k])) break;
        k++;
    }
    free(copy);
    if (k != n) {
        free(a);
        return -1;
    }
    *out = a;
    return n;
}

int kb_row_set(const kb_col *c, kb_row *r, const char *text)
{
    switch (c->type) {
    case KB_COL_TEXT:
        if (strlen(text) >= c->size) return KB_ROW_SET_TOO_LONG; /* never cut a key silently */
        memcpy(kb_col_text(c, r), text, strlen(text) + 1);
        return 0;
    case KB_COL_COUNT:
    case KB_COL_REAL: return kb_parse_num(text, kb_col_num(c, r));
    case KB_COL_INT: {
        long long v = 0;
        while (*text == ' ') text++;
        if (*text && kb_parse_int(text, -2147483647LL, 2147483647LL, &v)) return -1;
        *(int *)(void *)((char *)r + c->off) = (int)v;
        return 0;
    }
    case KB_COL_SAMPLES: {
        free(r->samples_us);
        r->n_samples = parse_samples(text, &r->samples_us);
        if (r->n_samples >= 0) return 0;
        r->n_samples = 0;
        return -1;
    }
    }
    return -1;
}

/* ---- the writer ------------------------------------------------------------- */
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

int kb_row_write_header(FILE *f)
{
    for (int i = 0; i < kb_ncols; i++) fprintf(f, "%s%s", i ? "," : "", kb_cols[i].name);
    fputc('\n', f);
    return ferror(f) ? -1 : 0;
}

int kb_row_write(FILE *f, const kb_row *r)
{
    for (int i = 0; i < kb_ncols; i++) {
        size_t n = kb_row_cell_len(&kb_cols[i], r);
        char small[64], *buf = n <= sizeof small ? small : malloc(n);
        if (!buf) return -1;
        if (i) fputc(',', f);
        kb_csv_field(f, kb_row_cell(&kb_cols[i], r, buf, n));
        if (buf != small) free(buf);
    }
    fputc('\n', f);
    return ferror(f) ? -1 : 0;
}

int kb_csv_open(kb_csv *c, const char *path, int durable)
{
    memset(c, 0, sizeof *c);
    c->durable = durable;
    if (durable ? kb_afile_open_partial(&c->af, path) : kb_afile_open(&c->af, path)) return -1;
    if (kb_row_write_header(c->af.f) || fflush(c->af.f)) {
        kb_afile_abort(&c->af);
        return -1;
    }
    return 0;
}

int kb_csv_write(kb_csv *c, const kb_row *r)
{
    if (kb_row_write(c->af.f, r)) return -1;
    if (!c->durable) return 0; /* rebuilt whole: one fsync at close */
    if (fflush(c->af.f)) return -1;
    if (!c->af.is_stdout && !c->af.direct) fsync(fileno(c->af.f));
    return 0;
}

int kb_csv_close(kb_csv *c)
{
    if (!c->af.f) return 0;
    return kb_afile_commit(&c->af);
}
