/* csv_table.c - result CSV reader (libcsv), see csv_table.h. */
#include "bench/report/csv_table.h"
#include "bench/report/kbr_index.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- generic table ------------------------------------------------------ */
typedef struct parse_state {
    csv_table *t;
    char **cur;   /* fields of the current record */
    int ncur, capcur;
    int nrecords;
    int bad;      /* 1: ragged row, 2: out of memory, 3: fn refused a row */
    int bad_row, bad_nf;
    csv_row_fn fn; /* every data row goes to fn, then is dropped */
    void *ctx;
    int fn_rc;
} parse_state;

static char *xstrdup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static void on_field(void *s, size_t len, void *data)
{
    parse_state *ps = data;
    if (ps->bad) return;
    if (ps->ncur == ps->capcur) {
        int cap = ps->capcur ? 2 * ps->capcur : 32;
        char **p = realloc(ps->cur, (size_t)cap * sizeof *p);
        if (!p) { ps->bad = 2; return; }
        ps->cur = p;
        ps->capcur = cap;
    }
    char *f = xstrdup(s ? (const char *)s : "", s ? len : 0);
    if (!f) { ps->bad = 2; return; }
    ps->cur[ps->ncur++] = f;
}

static void drop_cur(parse_state *ps)
{
    for (int i = 0; i < ps->ncur; i++) free(ps->cur[i]);
    ps->ncur = 0;
}

static void on_record(int c, void *data)
{
    (void)c;
    parse_state *ps = data;
    csv_table *t = ps->t;
    if (ps->bad) { drop_cur(ps); return; }
    if (ps->nrecords == 0) { /* header */
        t->cols = ps->cur;
        t->ncols = ps->ncur;
        ps->cur = NULL;
        ps->ncur = ps->capcur = 0;
        ps->nrecords++;
        return;
    }
    ps->nrecords++;
    /* a line holding one empty field is a blank line: skip it */
    if (ps->ncur == 1 && ps->cur[0][0] == 0) { drop_cur(ps); return; }
    if (ps->ncur != t->ncols) {
        ps->bad = 1;
        ps->bad_row = t->nrows + 1;
        ps->bad_nf = ps->ncur;
        drop_cur(ps);
        return;
    }
    ps->fn_rc = ps->fn(ps->ctx, t, ps->cur, ++t->nrows);
    if (ps->fn_rc) ps->bad = 3;
    drop_cur(ps);
}

void csv_table_free(csv_table *t)
{
    if (!t) return;
    for (int i = 0; i < t->ncols; i++) free(t->cols[i]);
    free(t->cols);
    memset(t, 0, sizeof *t);
}

int csv_table_stream(const char *path, csv_table *t, csv_row_fn fn, void *ctx, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    int is_stdin = !strcmp(path, "-"); /* "-" is standard input */
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return KB_EXIT_IO;
    }
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        fclose(f);
        snprintf(err, errlen, "%s: csv_init failed", path);
        return KB_EXIT_IO;
    }
    parse_state ps = {.t = t, .fn = fn, .ctx = ctx};
    char buf[65536];
    size_t n;
    int rc = 0;
    int first = 1;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        size_t skip = first && n >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3) ? 3 : 0; /* UTF-8 BOM */
        first = 0;
        if (csv_parse(&p, buf + skip, n - skip, on_field, on_record, &ps) != n - skip) {
            snprintf(err, errlen, "%s: malformed CSV near record %d: %s", path,
                     ps.nrecords + 1, csv_strerror(csv_error(&p)));
            rc = KB_EXIT_USAGE;
            break;
        }
    }
    if (!rc && ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
        rc = KB_EXIT_IO;
    }
    if (!rc && csv_fini(&p, on_field, on_record, &ps) != 0) {
        snprintf(err, errlen, "%s: malformed CSV at end of file: %s", path,
                 csv_strerror(csv_error(&p)));
        rc = KB_EXIT_USAGE;
    }
    csv_free(&p);
    if (!is_stdin) fclose(f);
    drop_cur(&ps);
    free(ps.cur);
    if (!rc && ps.bad == 3) rc = ps.fn_rc; /* fn wrote err */
    if (!rc && ps.bad == 2) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = KB_EXIT_IO;
    }
    if (!rc && ps.bad == 1) {
        snprintf(err, errlen, "%s: row %d has %d fields, the header has %d", path, ps.bad_row,
                 ps.bad_nf, t->ncols);
        rc = KB_EXIT_USAGE;
    }
    if (!rc && t->ncols == 0) {
        snprintf(err, errlen, "%s: empty file (no header row)", path);
        rc = KB_EXIT_USAGE;
    }
    if (rc) csv_table_free(t);
    return rc;
}

int csv_table_col(const csv_table *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i], name) == 0) return i;
    return -1;
}

/* ---- typed rows --------------------------------------------------------- */
static int check_columns(const csv_table *t, const char *path, const char *const *extra, char *err, size_t errlen)
{
    for (int i = 0; i < kb_ncols; i++)
        if ((kb_cols[i].flags & KB_COL_REQUIRED) && csv_table_col(t, kb_cols[i].name) < 0) {
            snprintf(err, errlen, "%s: missing column '%s'", path, kb_cols[i].name);
            return KB_EXIT_USAGE;
        }
    for (const char *const *c = extra; c && *c; c++)
        if (csv_table_col(t, *c) < 0) {
            snprintf(err, errlen, "%s: missing column '%s'", path, *c);
            return KB_EXIT_USAGE;
        }
    return 0;
}

static kb_row *append(kb_rowset *set)
{
    if (set->n == set->cap) {
        int cap = set->cap ? 2 * set->cap : 64;
        kb_row *p = realloc(set->r, (size_t)cap * sizeof *p);
        if (!p) return NULL;
        set->r = p;
        set->cap = cap;
    }
    kb_row *x = &set->r[set->n];
    memset(x, 0, sizeof *x);
    return x;
}

/* The closed sets of the enum-like columns ("" allowed where listed). */
static const struct enum_col {
    const char *name, *hint;
    const char *const vals[5];
} enum_cols[] = {
    {"source", "measured or projected", {"measured", "projected", NULL}},
    {"verified", "pass, fail or skip", {"pass", "fail", "skip", NULL}},
    {"impl_kind", "hand, lib, model or empty", {"hand", "lib", "model", "", NULL}},
    {"bound", "compute, memory, network or empty", {"compute", "memory", "network", "", NULL}},
};

static int check_enums(const kb_row *x, const char *path, char *err, size_t errlen)
{
    for (size_t e = 0; e < sizeof enum_cols / sizeof enum_cols[0]; e++) {
        const char *v = (const char *)x + kb_col_find(enum_cols[e].name)->off;
        int ok = 0;
        for (const char *const *a = enum_cols[e].vals; *a && !ok; a++) ok = !strcmp(v, *a);
        if (ok) continue;
        snprintf(err, errlen, "%s: row %d: column '%s': unknown value '%.40s' (%s)", path, x->line,
                 enum_cols[e].name, v, enum_cols[e].hint);
        return KB_EXIT_USAGE;
    }
    return 0;
}

int kb_rows_check_enums(const kb_rowset *set, char *err, size_t errlen)
{
    for (int i = 0; i < set->n; i++) {
        const kb_row *x = &set->r[i];
        int rc = check_enums(x, x->file >= 0 && x->file < set->nfiles ? set->files[x->file] : "?", err, errlen);
        if (rc) return rc;
    }
    return 0;
}

/* One CSV record into x, column by column through the schema.  A text value
 * wider than its column is refused, never cut. */
static int read_row(kb_row *x, char *const *fields, int r, const int *idx, const char *path, char *err,
                    size_t errlen)
{
    for (int i = 0; i < kb_ncols; i++) {
        const char *cell = idx[i] >= 0 ? fields[idx[i]] : "";
        size_t len = strlen(cell);
        if (kb_cols[i].type == KB_COL_TEXT && len >= kb_cols[i].size) {
            snprintf(err, errlen, "%s: row %d: column '%s': value of %zu characters is longer than the column's "
                     "%zu ('%.40s...')", path, r + 1, kb_cols[i].name, len, kb_cols[i].size - 1, cell);
            return KB_EXIT_USAGE;
        }
        if (kb_row_set(&kb_cols[i], x, cell) == 0) continue;
        snprintf(err, errlen, "%s: row %d: column '%s': bad %s '%.40s'", path, r + 1, kb_cols[i].name,
                 kb_cols[i].type == KB_COL_SAMPLES ? "sample list" : kb_cols[i].type == KB_COL_TEXT ? "value" : "number",
                 cell);
        return KB_EXIT_USAGE;
    }
    if (!x->op[0] || !x->impl[0] || !x->gpu[0]) {
        snprintf(err, errlen, "%s: row %d: empty op, impl or gpu", path, r + 1);
        return KB_EXIT_USAGE;
    }
    return 0;
}

static int add_file(kb_rowset *set, const char *path)
{
    char **files = realloc(set->files, (size_t)(set->nfiles + 1) * sizeof *files);
    if (!files) return -1;
    set->files = files;
    if (!(set->files[set->nfiles] = strdup(path))) return -1;
    return set->nfiles++;
}

static void rows_unindex(kb_rowset *set)
{
    if (set->osg) kbr_index_free(set->osg);
    free(set->osg);
    set->osg = NULL;
}

/* (Re)build set->osg; 0 / -1 out of memory. */
static int rows_index(kb_rowset *set)
{
    rows_unindex(set);
    if (!(set->osg = malloc(sizeof *set->osg))) return -1;
    if (kbr_index_build(set->osg, set, kbr_key_osg) == 0) return 0;
    free(set->osg);
    set->osg = NULL;
    return -1;
}

/* kb_rows_load's state while rows stream in. */
typedef struct load_ctx {
    kb_rowset *set;
    const char *path;
    const char *const *extra;
    char *err;
    size_t errlen;
    int *idx; /* column of each kb_cols entry in the file, -1 absent */
    int fidx;
} load_ctx;

/* The header is known: check it, map the columns, register the file. */
static int load_begin(load_ctx *c, const csv_table *t)
{
    int rc = check_columns(t, c->path, c->extra, c->err, c->errlen);
    if (rc) return rc;
    c->idx = malloc((size_t)kb_ncols * sizeof *c->idx);
    for (int i = 0; c->idx && i < kb_ncols; i++) c->idx[i] = csv_table_col(t, kb_cols[i].name);
    c->set->has_impl_kind |= csv_table_col(t, "impl_kind") >= 0;
    c->set->has_samples |= csv_table_col(t, "samples_us") >= 0;
    c->fidx = c->idx ? add_file(c->set, c->path) : -1;
    if (c->fidx >= 0) return 0;
    snprintf(c->err, c->errlen, "%s: out of memory", c->path);
    return KB_EXIT_IO;
}

static int load_row(void *ctx, const csv_table *t, char *const *fields, int row)
{
    load_ctx *c = ctx;
    int rc = c->idx ? 0 : load_begin(c, t);
    kb_row *x = rc ? NULL : append(c->set);
    if (rc) return rc;
    if (!x) {
        snprintf(c->err, c->errlen, "%s: out of memory", c->path);
        return KB_EXIT_IO;
    }
    x->line = row;
    x->file = c->fidx;
    rc = read_row(x, fields, row - 1, c->idx, c->path, c->err, c->errlen);
    if (rc) free(x->samples_us);
    else c->set->n++;
    return rc;
}

int kb_rows_load(kb_rowset *set, const char *path, const char *const *extra_required,
                 char *err, size_t errlen)
{
    csv_table t;
    load_ctx c = {.set = set, .path = path, .extra = extra_required, .err = err, .errlen = errlen};
    rows_unindex(set); /* its pointers go stale as rows are appended */
    int rc = csv_table_stream(path, &t, load_row, &c, err, errlen), loaded = !rc;
    if (!rc && !c.idx) rc = load_begin(&c, &t); /* a header without rows */
    if (loaded) csv_table_free(&t);
    free(c.idx);
    if (!rc && rows_index(set)) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = KB_EXIT_IO;
    }
    return rc;
}

void kb_rows_free(kb_rowset *set)
{
    rows_unindex(set);
    for (int i = 0; i < set->n; i++) free(set->r[i].samples_us);
    for (int i = 0; i < set->nfiles; i++) free(set->files[i]);
    free(set->r);
    free(set->files);
    memset(set, 0, sizeof *set);
}

int kb_row_is_measured(const kb_row *r) { return strcmp(r->source, "measured") == 0; }
int kb_row_is_pass(const kb_row *r) { return strcmp(r->verified, "pass") == 0; }
int kb_row_has_time(const kb_row *r) { return isfinite(r->time_us) && r->time_us > 0; }

int kb_row_is_lib(const kb_row *r, int has_impl_kind)
{
    if (has_impl_kind && r->impl_kind[0]) return strcmp(r->impl_kind, "lib") == 0;
    if (kb_row_is_model(r)) return 0;
    return !(r->impl[0] == 'v' && r->impl[1] >= '0' && r->impl[1] <= '9');
}

int kb_row_is_model(const kb_row *r)
{
    return strcmp(r->impl_kind, "model") == 0 || strcmp(r->source, "projected") == 0;
}
