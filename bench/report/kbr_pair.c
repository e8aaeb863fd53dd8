/* kbr_pair.c - the two GPUs compared side by side (see kbr_plot.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/report/kbr_index.h"
#include "bench/report/kbr_plot.h"

int kbr_pair_parse(const char *arg, kbr_gpu_pair *p, char *err, size_t errlen)
{
    char a[64], b[64];
    const char *comma = strchr(arg, ',');
    if (!comma || strchr(comma + 1, ',') || comma == arg || !comma[1] || (size_t)(comma - arg) >= sizeof a ||
        strlen(comma + 1) >= sizeof b) {
        snprintf(err, errlen, "bad --pair '%s' (two GPU slugs A,B, e.g. %s)", arg, KBR_PAIR_DEFAULT);
        return -1;
    }
    snprintf(a, sizeof a, "%.*s", (int)(comma - arg), arg);
    kb_strlcpy(b, comma + 1, sizeof b);
    p->a = kb_gpu_find(a);
    p->b = kb_gpu_find(b);
    if (!p->a || !p->b) {
        snprintf(err, errlen, "bad --pair '%s': unknown GPU '%s' (see `kbench specs`)", arg, p->a ? b : a);
        return -1;
    }
    if (p->a == p->b) {
        snprintf(err, errlen, "bad --pair '%s': the same GPU twice", arg);
        return -1;
    }
    return 0;
}

/* Best measured+passed (want_measured) or projected row of (op, shape) on gpu. */
static const kb_row *best_row(const kb_rowset *s, const char *op, const char *shape, const char *gpu,
                              int want_measured)
{
    const kb_row *best = NULL;
    int n;
    const kb_row *const *v = kbr_rows_of(s, op, shape, gpu, &n);
    for (int i = 0; i < n; i++) {
        const kb_row *r = v[i];
        if (!kb_row_has_time(r)) continue;
        if (want_measured ? !(kb_row_is_measured(r) && kb_row_is_pass(r)) : kb_row_is_measured(r)) continue;
        if (!want_measured && !strcmp(r->impl, KBR_NOMINAL_LINK_IMPL)) continue; /* practical link, as the roll-up */
        if (!best || r->time_us < best->time_us) best = r;
    }
    return best;
}

double kbr_best_time(const kb_rowset *s, const char *op, const char *shape, const char *gpu,
                     int want_measured, const char **impl)
{
    const kb_row *r = best_row(s, op, shape, gpu, want_measured);
    if (impl) *impl = r ? r->impl : NULL;
    return r ? r->time_us : NAN;
}

/* The measured row projected onto g: `other`'s best when it has one, else the
 * best of the first GPU (in row order, known to the table) that has one. */
static const kb_row *scale_source(const kb_rowset *s, const char *op, const char *shape, const kb_gpu *g,
                                  const kb_gpu *other)
{
    const kb_row *m = best_row(s, op, shape, other->slug, 1), *first = NULL;
    int n;
    const kb_row *const *v = kbr_rows_of(s, op, shape, NULL, &n);
    for (int i = 0; i < n && !m; i++) {
        const kb_row *r = v[i];
        if ((!first || r < first) && strcmp(r->gpu, g->slug) && kb_row_is_measured(r) && kb_row_is_pass(r) &&
            kb_row_has_time(r) && kb_gpu_find(r->gpu))
            first = r;
    }
    return m ? m : first ? best_row(s, op, shape, first->gpu, 1) : NULL;
}

/* One side of a pair cell: measured, else projected from a measured GPU, else the model row. */
static void pair_side(const kb_rowset *s, const char *op, const char *shape, const kb_gpu *g,
                      const kb_gpu *other, double *us, kbr_pair_src *src, const char **from)
{
    const kb_row *m = best_row(s, op, shape, g->slug, 1), *o;
    *from = NULL;
    if (m) {
        *us = m->time_us;
        *src = KBR_SRC_MEASURED;
    } else if ((o = scale_source(s, op, shape, g, other)) && isfinite(kbr_project_us(o, kb_gpu_find(o->gpu), g))) {
        *us = kbr_project_us(o, kb_gpu_find(o->gpu), g);
        *src = KBR_SRC_SCALED;
        *from = o->gpu;
    } else {
        *us = kbr_best_time(s, op, shape, g->slug, 0, NULL);
        *src = KBR_SRC_PROJECTED;
    }
}

int kbr_pair_shape(const kb_rowset *s, const char *op, const char *shape, const kbr_gpu_pair *p,
                   kbr_pair_cell *out)
{
    pair_side(s, op, shape, p->a, p->b, &out->a_us, &out->a_src, &out->a_from);
    pair_side(s, op, shape, p->b, p->a, &out->b_us, &out->b_src, &out->b_from);
    return isfinite(out->a_us) && isfinite(out->b_us) ? 0 : -1;
}

/* The number after "name=" in a dims string, NaN when absent. */
static double dim_num(const char *dims, const char *name)
{
    size_t l = strlen(name);
    for (const char *p = dims; p && *p; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL)
        if (!strncmp(p, name, l) && p[l] == '=') return strtod(p + l + 1, NULL);
    return NAN;
}

const char *kbr_row_config(const kb_row *r, char *buf, size_t n)
{
    double ranks = dim_num(r->dims, "ranks"), loop = dim_num(r->dims, "loopback");
    if (loop == 1) snprintf(buf, n, "loopback");
    else if (!isfinite(ranks)) snprintf(buf, n, "%s", "");
    else snprintf(buf, n, "EP%.0f %s", ranks, ranks <= 8 ? "intra-node" : "across nodes");
    return buf;
}

int kbr_pair_op(const kb_rowset *s, const char *op, const char *config, const kbr_gpu_pair *p, kbr_pair_sum *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        kbr_pair_cell c;
        char cf[48];
        if (strcmp(r->op, op) || strcmp(kbr_row_config(r, cf, sizeof cf), config) || !kbr_first_of_shape(s, r) ||
            kbr_pair_shape(s, op, r->shape, p, &c))
            continue;
        out->n_a_meas += c.a_src == KBR_SRC_MEASURED;
        out->n_a_scaled += c.a_src == KBR_SRC_SCALED;
        out->n_a_proj += c.a_src == KBR_SRC_PROJECTED;
        out->n_b_meas += c.b_src == KBR_SRC_MEASURED;
        out->n_b_scaled += c.b_src == KBR_SRC_SCALED;
        out->n_b_proj += c.b_src == KBR_SRC_PROJECTED;
        out->a_us += c.a_us;
        out->b_us += c.b_us;
        out->nshapes++;
    }
    return out->nshapes ? 0 : -1;
}
