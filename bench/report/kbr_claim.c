/* kbr_claim.c - the claim CSVs read back (see kbr_claim.h). */
#include "bench/report/kbr_claim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench/report/csv_table.h"

/* One loader for both files: the header wanted, where each row goes. */
typedef struct loader {
    const char *path, *header;
    int (*put)(struct loader *L, char *const *f, int row);
    void *dst;
    char *err;
    size_t errlen;
} loader;

static int header_ok(const csv_table *t, const char *want)
{
    char got[256];
    size_t l = 0;
    got[0] = 0;
    for (int i = 0; i < t->ncols && l < sizeof got; i++)
        l += (size_t)snprintf(got + l, sizeof got - l, "%s%s", i ? "," : "", t->cols[i]);
    return l < sizeof got && !strcmp(got, want);
}

static int on_row(void *ctx, const csv_table *t, char *const *f, int row)
{
    loader *L = ctx;
    if (row == 1 && !header_ok(t, L->header)) {
        snprintf(L->err, L->errlen, "%s: header must be exactly '%s'", L->path, L->header);
        return KB_EXIT_USAGE;
    }
    return L->put(L, f, row);
}

static int load(loader *L)
{
    csv_table t;
    int rc = csv_table_stream(L->path, &t, on_row, L, L->err, L->errlen);
    if (!rc && t.nrows == 0 && !header_ok(&t, L->header)) {
        snprintf(L->err, L->errlen, "%s: header must be exactly '%s'", L->path, L->header);
        rc = KB_EXIT_USAGE;
    }
    csv_table_free(&t);
    return rc;
}

/* Copy text into a fixed field: refused (never cut) when too long. */
static int put_text(loader *L, char *dst, size_t n, const char *v, const char *col, int row)
{
    if (strlen(v) >= n) {
        snprintf(L->err, L->errlen, "%s: row %d: column '%s' longer than %zu characters", L->path, row, col, n - 1);
        return KB_EXIT_USAGE;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int put_num(loader *L, double *dst, const char *v, const char *col, int row)
{
    if (kb_parse_num(v, dst) == 0 && v[0] && isfinite(*dst)) return 0;
    snprintf(L->err, L->errlen, "%s: row %d: column '%s': bad number '%.40s'", L->path, row, col, v);
    return KB_EXIT_USAGE;
}

/* Room for one more row of `size` bytes in *arr (cap grows by doubling). */
static int grow(void **arr, int n, int *cap, size_t size)
{
    if (n < *cap) return 0;
    int nc = *cap ? 2 * *cap : 64;
    void *p = realloc(*arr, (size_t)nc * size);
    if (!p) return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

static int put_claim(loader *L, char *const *f, int row)
{
    kbr_claim *c = L->dst;
    if (grow((void **)&c->r, c->n, &c->cap, sizeof *c->r)) return KB_EXIT_IO;
    kbr_claim_row *r = &c->r[c->n];
    memset(r, 0, sizeof *r);
    int rc = put_text(L, r->scenario, sizeof r->scenario, f[0], "scenario", row);
    if (!rc) rc = put_text(L, r->gpu, sizeof r->gpu, f[1], "gpu", row);
    if (!rc) rc = put_text(L, r->metric, sizeof r->metric, f[2], "metric", row);
    if (!rc) rc = put_num(L, &r->value, f[3], "value", row);
    if (!rc) rc = put_text(L, r->unit, sizeof r->unit, f[4], "unit", row);
    if (!rc && !(r->source = strdup(f[5]))) rc = KB_EXIT_IO;
    if (!rc) c->n++;
    return rc;
}

static int put_sweep(loader *L, char *const *f, int row)
{
    kbr_sweep *s = L->dst;
    if (grow((void **)&s->r, s->n, &s->cap, sizeof *s->r)) return KB_EXIT_IO;
    kbr_sweep_row *r = &s->r[s->n];
    int rc = put_text(L, r->scenario, sizeof r->scenario, f[0], "scenario", row);
    if (!rc) rc = put_text(L, r->gpu, sizeof r->gpu, f[1], "gpu", row);
    if (!rc) rc = put_text(L, r->axis, sizeof r->axis, f[2], "axis", row);
    if (!rc) rc = put_num(L, &r->gbps, f[3], "gbps", row);
    if (!rc) rc = put_num(L, &r->step_s, f[4], "step_time_s", row);
    if (!rc && strcmp(r->axis, "nvlink") && strcmp(r->axis, "ib")) {
        snprintf(L->err, L->errlen, "%s: row %d: column 'axis': unknown value '%s' (nvlink, ib)", L->path, row, r->axis);
        rc = KB_EXIT_USAGE;
    }
    if (!rc) s->n++;
    return rc;
}

int kbr_claim_load(kbr_claim *c, const char *path, char *err, size_t errlen)
{
    loader L = {path, KBR_CLAIM_HEADER, put_claim, c, err, errlen};
    int rc = load(&L);
    if (rc) kbr_claim_free(c);
    return rc;
}

void kbr_claim_free(kbr_claim *c)
{
    for (int i = 0; i < c->n; i++) free(c->r[i].source);
    free(c->r);
    memset(c, 0, sizeof *c);
}

int kbr_sweep_load(kbr_sweep *s, const char *path, char *err, size_t errlen)
{
    loader L = {path, KBR_SWEEP_HEADER, put_sweep, s, err, errlen};
    int rc = load(&L);
    if (rc) kbr_sweep_free(s);
    return rc;
}

void kbr_sweep_free(kbr_sweep *s)
{
    free(s->r);
    memset(s, 0, sizeof *s);
}

const kbr_claim_row *kbr_claim_get(const kbr_claim *c, const char *scenario, const char *gpu, const char *metric)
{
    const kbr_claim_row *hit = NULL;
    for (int i = 0; c && i < c->n; i++)
        if (!strcmp(c->r[i].scenario, scenario) && !strcmp(c->r[i].gpu, gpu) && !strcmp(c->r[i].metric, metric))
            hit = &c->r[i];
    return hit;
}

double kbr_claim_value(const kbr_claim *c, const char *scenario, const char *gpu, const char *metric)
{
    const kbr_claim_row *r = kbr_claim_get(c, scenario, gpu, metric);
    return r ? r->value : NAN;
}

int kbr_claim_measured(const kbr_claim_row *r) { return r && !strncasecmp(r->source, "measured", 8); }

int kbr_claim_keys(const kbr_claim *c, int which, const char **out, int max)
{
    int n = 0;
    for (int i = 0; i < c->n; i++) {
        const char *k = which ? c->r[i].gpu : c->r[i].scenario;
        if (!k[0] || !strcmp(k, "-") || !strcmp(k, "all")) continue;
        int seen = 0;
        for (int j = 0; j < n && !seen; j++) seen = !strcmp(out[j], k);
        if (!seen && n < max) out[n++] = k;
    }
    return n;
}
