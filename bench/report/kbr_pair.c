/* kbr_pair.c - the two GPUs compared side by side (see kbr_plot.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench/report/kbr_plot.h"

int kbr_pair_parse(const char *arg, kbr_gpu_pair *p, char *err, size_t errlen)
{
    char a[64], b[64];
    const char *comma = strchr(arg, ',');
    if (!comma || strchr(comma + 1, ',') || comma == arg || !comma[1] || (size_t)(comma - arg) >= sizeof a) {
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

double kbr_best_time(const kb_rowset *s, const char *op, const char *shape, const char *gpu,
                     int want_measured, const char **impl)
{
    double best = INFINITY;
    if (impl) *impl = NULL;
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        if (strcmp(r->op, op) || strcmp(r->shape, shape) || strcmp(r->gpu, gpu) || !kb_row_has_time(r))
            continue;
        if (want_measured ? !(kb_row_is_measured(r) && kb_row_is_pass(r)) : kb_row_is_measured(r)) continue;
        if (r->time_us < best) {
            best = r->time_us;
            if (impl) *impl = r->impl;
        }
    }
    return isfinite(best) ? best : NAN;
}

int kbr_pair_shape(const kb_rowset *s, const char *op, const char *shape, const kbr_gpu_pair *p,
                   kbr_pair_cell *out)
{
    double am = kbr_best_time(s, op, shape, p->a->slug, 1, NULL);
    double ap = kbr_best_time(s, op, shape, p->a->slug, 0, NULL);
    double bm = kbr_best_time(s, op, shape, p->b->slug, 1, NULL);
    double bp = kbr_best_time(s, op, shape, p->b->slug, 0, NULL);
    out->a_us = isfinite(am) ? am : ap;
    out->a_src = isfinite(am) ? KBR_SRC_MEASURED : KBR_SRC_PROJECTED;
    if (isfinite(bm)) {
        out->b_us = bm;
        out->b_src = KBR_SRC_MEASURED;
    } else if (isfinite(am) && isfinite(ap) && isfinite(bp) && ap > 0) {
        out->b_us = am * bp / ap; /* measured A scaled by the roofline floor ratio */
        out->b_src = KBR_SRC_SCALED;
    } else {
        out->b_us = bp;
        out->b_src = KBR_SRC_PROJECTED;
    }
    return isfinite(out->a_us) && isfinite(out->b_us) ? 0 : -1;
}

/* Is row i the first of its (op, shape)? */
static int first_of_shape(const kb_rowset *s, int i)
{
    for (int j = 0; j < i; j++)
        if (!strcmp(s->r[j].op, s->r[i].op) && !strcmp(s->r[j].shape, s->r[i].shape)) return 0;
    return 1;
}

int kbr_pair_op(const kb_rowset *s, const char *op, const kbr_gpu_pair *p, kbr_pair_sum *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        kbr_pair_cell c;
        if (strcmp(r->op, op) || !first_of_shape(s, i) || kbr_pair_shape(s, op, r->shape, p, &c)) continue;
        out->n_a_meas += c.a_src == KBR_SRC_MEASURED;
        out->n_b_meas += c.b_src == KBR_SRC_MEASURED;
        out->n_b_scaled += c.b_src == KBR_SRC_SCALED;
        out->n_b_proj += c.b_src == KBR_SRC_PROJECTED;
        out->a_us += c.a_us;
        out->b_us += c.b_us;
        out->nshapes++;
    }
    return out->nshapes ? 0 : -1;
}
