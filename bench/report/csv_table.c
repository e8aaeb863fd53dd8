/* csv_table.c - result CSV reader (libcsv), see csv_table.h. */
#include "bench/report/csv_table.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const kb_res_required[] = {"op", "impl", "shape", "dtype", "gpu",
                                       "source", "time_us", "verified", NULL};

void kb_strlcpy(char *dst, const char *src, size_t n)
{
    if (!n) return;
    snprintf(dst, n, "%s", src ? src : "");
}

/* ---- generic table ------------------------------------------------------ */
typedef struct parse_state {
    csv_table *t;
    char **cur;   /* fields of the current record */
    int ncur, capcur;
    int nrecords;
    int capcells;
    int bad;      /* 1: ragged row, 2: out of memory */
    int bad_row, bad_nf;
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
    if ((t->nrows + 1) * t->ncols > ps->capcells) {
        int cap = ps->capcells ? 2 * ps->capcells : 64 * t->ncols;
        char **p = realloc(t->cells, (size_t)cap * sizeof *p);
        if (!p) { ps->bad = 2; drop_cur(ps); return; }
        t->cells = p;
        ps->capcells = cap;
    }
    memcpy(t->cells + (size_t)t->nrows * t->ncols, ps->cur, (size_t)t->ncols * sizeof(char *));
    ps->ncur = 0;
    t->nrows++;
}

void csv_table_free(csv_table *t)
{
    if (!t) return;
    for (int i = 0; i < t->ncols; i++) free(t->cols[i]);
    for (long i = 0; i < (long)t->nrows * t->ncols; i++) free(t->cells[i]);
    free(t->cols);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

int csv_table_load(const char *path, csv_table *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return KBR_EXIT_IO;
    }
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        fclose(f);
        snprintf(err, errlen, "%s: csv_init failed", path);
        return KBR_EXIT_IO;
    }
    parse_state ps = {.t = t};
    char buf[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (csv_parse(&p, buf, n, on_field, on_record, &ps) != n) {
            snprintf(err, errlen, "%s: malformed CSV near record %d: %s", path,
                     ps.nrecords + 1, csv_strerror(csv_error(&p)));
            rc = KBR_EXIT_USAGE;
            break;
        }
    }
    if (!rc && ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
        rc = KBR_EXIT_IO;
    }
    if (!rc && csv_fini(&p, on_field, on_record, &ps) != 0) {
        snprintf(err, errlen, "%s: malformed CSV at end of file: %s", path,
                 csv_strerror(csv_error(&p)));
        rc = KBR_EXIT_USAGE;
    }
    csv_free(&p);
    fclose(f);
    drop_cur(&ps);
    free(ps.cur);
    if (!rc && ps.bad == 2) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = KBR_EXIT_IO;
    }
    if (!rc && ps.bad == 1) {
        snprintf(err, errlen, "%s: row %d has %d fields, the header has %d", path, ps.bad_row,
                 ps.bad_nf, t->ncols);
        rc = KBR_EXIT_USAGE;
    }
    if (!rc && t->ncols == 0) {
        snprintf(err, errlen, "%s: empty file (no header row)", path);
        rc = KBR_EXIT_USAGE;
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

const char *csv_table_cell(const csv_table *t, int row, int col)
{
    if (col < 0 || row < 0 || row >= t->nrows) return "";
    return t->cells[(size_t)row * t->ncols + col];
}

/* ---- numbers ------------------------------------------------------------ */
int kb_parse_num(const char *s, double *v)
{
    while (*s == ' ') s++;
    if (!*s) { *v = NAN; return 0; }
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    while (*end == ' ') end++;
    if (end == s || *end) return -1;
    *v = x;
    return 0;
}

int kb_parse_samples(const char *s, double **out)
{
    *out = NULL;
    int n = 0, cap = 0;
    double *a = NULL;
    const char *p = s;
    while (*p == ' ') p++;
    if (!*p) return 0;
    for (;;) {
        const char *semi = strchr(p, ';');
        size_t len = semi ? (size_t)(semi - p) : strlen(p);
        char tmp[64];
        if (len >= sizeof tmp) { free(a); return -1; }
        memcpy(tmp, p, len);
        tmp[len] = 0;
        double v;
        if (kb_parse_num(tmp, &v) != 0 || isnan(v)) { free(a); return -1; }
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            double *q = realloc(a, (size_t)cap * sizeof *q);
            if (!q) { free(a); return -1; }
            a = q;
        }
        a[n++] = v;
        if (!semi) break;
        p = semi + 1;
    }
    *out = a;
    return n;
}

/* ---- typed rows --------------------------------------------------------- */
typedef struct num_col { const char *name; size_t off; } num_col;
#define NUMCOL(f) {#f, offsetof(kb_res, f)}
static const num_col num_cols[] = {
    NUMCOL(flops), NUMCOL(bytes), NUMCOL(intensity), NUMCOL(time_us), NUMCOL(time_us_min),
    NUMCOL(time_us_max), NUMCOL(cv), NUMCOL(reps), NUMCOL(tflops), NUMCOL(gbps),
    NUMCOL(roof_tflops), NUMCOL(pct_roof), NUMCOL(err), NUMCOL(sm_clock_mhz),
    NUMCOL(link_bytes),
};
typedef struct str_col { const char *name; size_t off, size; } str_col;
#define STRCOL(f) {#f, offsetof(kb_res, f), sizeof(((kb_res *)0)->f)}
static const str_col str_cols[] = {
    STRCOL(op), STRCOL(impl), STRCOL(shape), STRCOL(dtype), STRCOL(gpu), STRCOL(source),
    STRCOL(bound), STRCOL(verified), STRCOL(timer), STRCOL(impl_kind), STRCOL(kbench_version),
    STRCOL(git_sha), STRCOL(timestamp), STRCOL(roof_source), STRCOL(note), STRCOL(driver),
    STRCOL(cuda),
};

int kb_res_load(kb_resset *set, const char *path, const char *const *extra_required,
                char *err, size_t errlen)
{
    csv_table t;
    int rc = csv_table_load(path, &t, err, errlen);
    if (rc) return rc;
    const char *const *lists[2] = {kb_res_required, extra_required};
    for (int l = 0; l < 2; l++)
        for (const char *const *c = lists[l]; c && *c; c++)
            if (csv_table_col(&t, *c) < 0) {
                snprintf(err, errlen, "%s: missing column '%s'", path, *c);
                csv_table_free(&t);
                return KBR_EXIT_USAGE;
            }
    int ncn = (int)(sizeof num_cols / sizeof num_cols[0]);
    int nsc = (int)(sizeof str_cols / sizeof str_cols[0]);
    int numidx[sizeof num_cols / sizeof num_cols[0]], stridx[sizeof str_cols / sizeof str_cols[0]];
    for (int i = 0; i < ncn; i++) numidx[i] = csv_table_col(&t, num_cols[i].name);
    for (int i = 0; i < nsc; i++) stridx[i] = csv_table_col(&t, str_cols[i].name);
    int c_samples = csv_table_col(&t, "samples_us");
    if (csv_table_col(&t, "impl_kind") >= 0) set->has_impl_kind = 1;
    if (c_samples >= 0) set->has_samples = 1;

    char **files = realloc(set->files, (size_t)(set->nfiles + 1) * sizeof *files);
    if (!files) { csv_table_free(&t); snprintf(err, errlen, "out of memory"); return KBR_EXIT_IO; }
    set->files = files;
    set->files[set->nfiles] = strdup(path);
    int fidx = set->nfiles++;

    for (int r = 0; r < t.nrows; r++) {
        if (set->n == set->cap) {
            int cap = set->cap ? 2 * set->cap : 64;
            kb_res *p = realloc(set->r, (size_t)cap * sizeof *p);
            if (!p) { csv_table_free(&t); snprintf(err, errlen, "out of memory"); return KBR_EXIT_IO; }
            set->r = p;
            set->cap = cap;
        }
        kb_res *x = &set->r[set->n];
        memset(x, 0, sizeof *x);
        x->row = r + 1;
        x->file = fidx;
        for (int i = 0; i < nsc; i++)
            kb_strlcpy((char *)x + str_cols[i].off, csv_table_cell(&t, r, stridx[i]), str_cols[i].size);
        for (int i = 0; i < ncn; i++) {
            double *v = (double *)((char *)x + num_cols[i].off);
            const char *s = csv_table_cell(&t, r, numidx[i]);
            if (kb_parse_num(s, v) != 0) {
                snprintf(err, errlen, "%s: row %d: column '%s': bad number '%.40s'", path, r + 1,
                         num_cols[i].name, s);
                csv_table_free(&t);
                return KBR_EXIT_USAGE;
            }
        }
        if (c_samples >= 0) {
            int ns = kb_parse_samples(csv_table_cell(&t, r, c_samples), &x->samples);
            if (ns < 0) {
                snprintf(err, errlen, "%s: row %d: column 'samples_us': bad sample list", path, r + 1);
                csv_table_free(&t);
                return KBR_EXIT_USAGE;
            }
            x->nsamples = ns;
        }
        if (!x->op[0] || !x->impl[0] || !x->gpu[0]) {
            snprintf(err, errlen, "%s: row %d: empty op, impl or gpu", path, r + 1);
            free(x->samples);
            csv_table_free(&t);
            return KBR_EXIT_USAGE;
        }
        set->n++;
    }
    csv_table_free(&t);
    return 0;
}

void kb_resset_free(kb_resset *set)
{
    for (int i = 0; i < set->n; i++) free(set->r[i].samples);
    for (int i = 0; i < set->nfiles; i++) free(set->files[i]);
    free(set->r);
    free(set->files);
    memset(set, 0, sizeof *set);
}

int kb_res_is_measured(const kb_res *r) { return strcmp(r->source, "measured") == 0; }
int kb_res_is_pass(const kb_res *r) { return strcmp(r->verified, "pass") == 0; }
int kb_res_has_time(const kb_res *r) { return isfinite(r->time_us) && r->time_us > 0; }

int kb_res_is_lib(const kb_res *r, int has_impl_kind)
{
    if (has_impl_kind && r->impl_kind[0]) return strcmp(r->impl_kind, "lib") == 0;
    if (kb_res_is_model(r)) return 0;
    return !(r->impl[0] == 'v' && r->impl[1] >= '0' && r->impl[1] <= '9');
}

int kb_res_is_model(const kb_res *r)
{
    return strcmp(r->impl_kind, "model") == 0 || strcmp(r->source, "projected") == 0;
}
