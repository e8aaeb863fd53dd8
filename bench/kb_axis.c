/* kb_axis.c - `--axis NAME=VALUES`: the grammar, the product over a base
 * shape, the labels, and the one installed ad-hoc shape list (bench/kb_axis.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/kb_axis.h"
#include "bench/kb_io.h"

/* ---- values ------------------------------------------------------------------ */
int kb_axis_value(const char *s, int64_t *out, char *why, size_t n)
{
    const char *p = s;
    if (*p < '0' || *p > '9') return kb_shape_refuse(why, n, "'%s' is not a whole number (digits, then K, M, G or T)", s);
    uint64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (uint64_t)INT64_MAX / 10) return kb_shape_refuse(why, n, "'%s' is too large", s);
        v = v * 10 + (uint64_t)(*p - '0');
    }
    int shift = 0;
    switch (*p) {
    case 'k': case 'K': shift = 10; p++; break;
    case 'm': case 'M': shift = 20; p++; break;
    case 'g': case 'G': shift = 30; p++; break;
    case 't': case 'T': shift = 40; p++; break;
    default: break;
    }
    if (*p) return kb_shape_refuse(why, n, "'%s' is not a whole number (digits, then K, M, G or T)", s);
    if (v > ((uint64_t)INT64_MAX >> shift)) return kb_shape_refuse(why, n, "'%s' is too large", s);
    *out = (int64_t)(v << shift);
    return 0;
}

/* ---- one axis ---------------------------------------------------------------- */
static int push(kb_axis *ax, int64_t v, char *why, size_t n)
{
    if (ax->n >= KB_AXIS_MAX_VALUES) return kb_shape_refuse(why, n, "more than %d values", KB_AXIS_MAX_VALUES);
    if (ax->n % 64 == 0) {
        int64_t *p = realloc(ax->v, (size_t)(ax->n + 64) * sizeof *p);
        if (!p) return kb_shape_refuse(why, n, "out of memory");
        ax->v = p;
    }
    ax->v[ax->n++] = v;
    return 0;
}

/* "V1,V2,...": every item one value. */
static int parse_list(char *vals, kb_axis *ax, char *why, size_t n)
{
    char *p = vals;
    for (;;) {
        char *e = strchr(p, ',');
        if (e) *e = 0;
        int64_t v;
        if (!*p) return kb_shape_refuse(why, n, "empty value in the list");
        if (kb_axis_value(p, &v, why, n) || push(ax, v, why, n)) return -1;
        if (!e) return 0;
        p = e + 1;
    }
}

/* "LO:HI:xF" or "LO:HI:+S". */
static int parse_range(char *vals, kb_axis *ax, char *why, size_t n)
{
    char *c1 = strchr(vals, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2 || strchr(c2 + 1, ':') || (c2[1] != 'x' && c2[1] != '+'))
        return kb_shape_refuse(why, n, "a range is LO:HI:xF (geometric) or LO:HI:+S (arithmetic)");
    *c1 = *c2 = 0;
    int geo = c2[1] == 'x';
    int64_t lo, hi, step;
    if (kb_axis_value(vals, &lo, why, n) || kb_axis_value(c1 + 1, &hi, why, n) || kb_axis_value(c2 + 2, &step, why, n))
        return -1;
    if (lo > hi) return kb_shape_refuse(why, n, "LO %lld is above HI %lld", (long long)lo, (long long)hi);
    if (geo && step < 2) return kb_shape_refuse(why, n, "the factor after x must be at least 2");
    if (geo && lo < 1) return kb_shape_refuse(why, n, "a geometric range starts at 1 or more");
    if (!geo && step < 1) return kb_shape_refuse(why, n, "the step after + must be at least 1");
    for (int64_t v = lo;;) {
        if (push(ax, v, why, n)) return -1;
        if (geo ? v > hi / step : v > hi - step) return 0; /* the next one would pass HI (or overflow) */
        v = geo ? v * step : v + step;
    }
}

static int find_dim(const kb_op *op, const char *name, size_t len)
{
    for (int i = 0; i < KB_MAX_DIMS; i++)
        if (op->dims[i] && strlen(op->dims[i]) == len && !strncmp(op->dims[i], name, len)) return i;
    return -1;
}

static void dim_names(const kb_op *op, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < KB_MAX_DIMS && len < n; i++)
        if (op->dims[i]) {
            int w = snprintf(buf + len, n - len, "%s%s", len ? ", " : "", op->dims[i]);
            if (w < 0) break;
            len += (size_t)w;
        }
}

int kb_axis_parse(const kb_op *op, const char *spec, kb_axis *ax, char *why, size_t n)
{
    *ax = (kb_axis){.dim = -1};
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec) return kb_shape_refuse(why, n, "expected NAME=VALUES, e.g. m=1:8192:x2");
    ax->dim = find_dim(op, spec, (size_t)(eq - spec));
    if (ax->dim < 0) {
        char names[256];
        dim_names(op, names, sizeof names);
        return kb_shape_refuse(why, n, "%s has no dim '%.*s' (its dims: %s)", op->name, (int)(eq - spec), spec, names);
    }
    if (!eq[1]) return kb_shape_refuse(why, n, "no values after '='");
    char *vals = strdup(eq + 1);
    if (!vals) return kb_shape_refuse(why, n, "out of memory");
    int rc = strchr(vals, ':') ? (strchr(vals, ',') ? kb_shape_refuse(why, n, "a list item cannot be a range")
                                                    : parse_range(vals, ax, why, n))
                               : parse_list(vals, ax, why, n);
    free(vals);
    if (rc) kb_axis_free(ax);
    return rc;
}

void kb_axis_free(kb_axis *ax)
{
    free(ax->v);
    ax->v = NULL;
    ax->n = 0;
}

/* ---- labels and the product -------------------------------------------------- */
void kb_axis_label(const kb_op *op, const kb_shape *s, char *buf, size_t n)
{
    char full[512];
    size_t len = 0;
    full[0] = 0;
    for (int i = 0; i < KB_MAX_DIMS && len < sizeof full; i++)
        if (op->dims[i]) {
            int w = snprintf(full + len, sizeof full - len, "%s%s%lld", len ? "_" : "", op->dims[i], (long long)s->d[i]);
            if (w < 0) break;
            len += (size_t)w;
        }
    size_t cap = sizeof ((kb_shape *)0)->label;
    if (strlen(full) < cap) {
        snprintf(buf, n, "%s", full);
        return;
    }
    uint32_t h = 2166136261u; /* FNV-1a of the whole label */
    for (const char *p = full; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
    snprintf(buf, n, "%.54s_%08x", full, (unsigned)h);
}

int kb_axis_product(const kb_op *op, const kb_shape *base, const kb_axis *ax, int nax, kb_shape_table *t, char *why,
                    size_t n)
{
    t->n = 0;
    int64_t total = 1;
    for (int a = 0; a < nax; a++)
        if ((total *= ax[a].n) > KB_AXIS_MAX_SHAPES)
            return kb_shape_refuse(why, n, "the axes make more than %d shapes", KB_AXIS_MAX_SHAPES);
    const unsigned sets = KB_SET_FULL | KB_SET_QUICK | KB_SET_SMALL | (base->sets & KB_SHAPE_HOT_L2);
    for (int64_t i = 0; i < total; i++) {
        kb_shape s = *base;
        s.sets = sets;
        for (int64_t a = nax - 1, r = i; a >= 0; a--) { /* the last axis varies fastest */
            s.d[ax[a].dim] = ax[a].v[r % ax[a].n];
            r /= ax[a].n;
        }
        if (op->check && op->check(&s, why, n)) return -1;
        kb_axis_label(op, &s, s.label, sizeof s.label);
        kb_shape_add(t, s.sets, s.dtype, s.d, "%s", s.label);
    }
    return 0;
}

/* ---- the installed list ----------------------------------------------------- */
static struct {
    const kb_op *op;
    kb_shape_table t;
    char base[sizeof ((kb_shape *)0)->label];
    const char *specs[KB_MAX_DIMS]; /* the caller's strings (argv): they outlive the run */
    int nspecs;
} inst;

const kb_shape *kb_op_shapes(const kb_op *op, int *n)
{
    if (inst.op && op == inst.op) {
        *n = inst.t.n;
        return inst.t.s;
    }
    return op->shapes(n);
}

int kb_axes_installed(const kb_op *op) { return inst.op && op == inst.op; }

int kb_axes_argv(const char **out, int max)
{
    int k = 0;
    if (!inst.op || max < 2) return 0;
    out[k++] = "--op", out[k++] = inst.op->name;
    for (int i = 0; i < inst.nspecs && k + 2 <= max; i++) out[k++] = "--axis", out[k++] = inst.specs[i];
    if (k + 2 <= max) out[k++] = "--shape", out[k++] = inst.base;
    return k;
}

/* The base shape: `label`, else the first of the table in `sets`. */
static const kb_shape *base_shape(const kb_op *op, const char *label, unsigned sets)
{
    int ns = 0;
    const kb_shape *sh = op->shapes(&ns);
    for (int k = 0; k < ns; k++)
        if (label ? !strcmp(sh[k].label, label) : (sh[k].sets & sets) != 0) return &sh[k];
    return NULL;
}

static int usage_err(const char *cmd, const char *spec, const char *why)
{
    fprintf(stderr, "kbench %s: --axis%s%s: %s\n", cmd, spec ? " " : "", spec ? spec : "", why);
    return KB_EXIT_USAGE;
}

/* Parse every spec; a dim given twice is refused. */
static int parse_all(const char *cmd, const kb_op *op, char *const *specs, int nspecs, kb_axis *ax)
{
    char why[512];
    for (int i = 0; i < nspecs; i++) {
        if (kb_axis_parse(op, specs[i], &ax[i], why, sizeof why)) return usage_err(cmd, specs[i], why);
        for (int j = 0; j < i; j++)
            if (ax[j].dim == ax[i].dim) {
                snprintf(why, sizeof why, "dim '%s' given twice", op->dims[ax[i].dim]);
                return usage_err(cmd, specs[i], why);
            }
    }
    return 0;
}

int kb_axes_install(const char *cmd, const char *ops, const char *shape, unsigned sets, char *const *specs,
                    int nspecs)
{
    if (nspecs > KB_MAX_DIMS) return usage_err(cmd, NULL, "more axes than an operator has dims");
    if (!ops || strchr(ops, ',')) return usage_err(cmd, NULL, "needs exactly one operator (--op NAME)");
    const kb_op *op = kb_find_op(ops);
    if (!op) return usage_err(cmd, NULL, "unknown operator (see `kbench list`)");
    if (shape && strchr(shape, ',')) return usage_err(cmd, NULL, "--shape names one base shape with --axis");
    const kb_shape *base = base_shape(op, shape, sets);
    if (!base) return usage_err(cmd, NULL, "no base shape in the chosen sets (--shapes)");
    kb_axis ax[KB_MAX_DIMS] = {{0}};
    int rc = parse_all(cmd, op, specs, nspecs, ax);
    char why[512];
    kb_shape_table t = {0};
    if (!rc && kb_axis_product(op, base, ax, nspecs, &t, why, sizeof why)) rc = usage_err(cmd, NULL, why);
    for (int i = 0; i < nspecs; i++) kb_axis_free(&ax[i]);
    if (rc) {
        free(t.s);
        return rc;
    }
    free(inst.t.s);
    inst.t = t;
    inst.op = op;
    snprintf(inst.base, sizeof inst.base, "%s", base->label);
    for (int i = 0; i < nspecs; i++) inst.specs[i] = specs[i];
    inst.nspecs = nspecs;
    return 0;
}
