/* kbr_ceil.c - ceilings and per-row roofline figures of rows read back from
 * CSVs.  All arithmetic is bench/kb_roofline.h's; this file only picks rows. */
#include <math.h>
#include <string.h>

#include "bench/report/kbr_index.h"
#include "bench/report/kbr_plot.h"

/* The rate a ceiling-measuring row achieved: GB/s for HBM, TFLOP/s for peaks
 * (the column when written, else recomputed from the counts). */
static double measured_rate(const kb_row *r, unsigned kind)
{
    if (kind == KB_CEIL_HBM) return isfinite(r->gbps) ? r->gbps : r->bytes / r->time_us / 1e3;
    return isfinite(r->tflops) ? r->tflops : r->flops / r->time_us / 1e6;
}

int kbr_ceilings(const kb_rowset *s, const char *gpu, kbr_ceils *c)
{
    memset(c, 0, sizeof *c);
    const kb_gpu *g = kb_gpu_find(gpu);
    c->has_datasheet = g != NULL;
    if (g) c->datasheet = kb_ceil_from_gpu(g, 0);
    c->measured = c->datasheet;
    /* only the ceiling ops measure ceilings (kb_ceil_kind); the best value wins, in any order */
    static const char *const ceiling_ops[] = {"hbm", "peak"};
    for (int o = 0; o < 2; o++) {
        int n;
        const kb_row *const *v = kbr_rows_of(s, ceiling_ops[o], NULL, NULL, &n);
        for (int i = 0; i < n; i++) {
            const kb_row *r = v[i];
            if (strcmp(r->gpu, gpu) || !kb_row_is_measured(r) || !strcmp(r->verified, "fail") ||
                !kb_row_has_time(r))
                continue;
            /* L2-resident copies measure the cache, not HBM: kb_ceil_kind refuses them */
            int hot = !strncmp(r->shape, "l2", 2);
            unsigned kind = kb_ceil_kind(r->op, r->shape, kb_peak_for_dtype(r->dtype), hot);
            if (kind) kb_ceil_measured(&c->measured, kind, measured_rate(r, kind));
        }
    }
    return c->has_datasheet || c->measured.measured ? 0 : -1;
}

double kbr_row_intensity(const kb_row *r)
{
    if (r->flops > 0 && r->bytes > 0) return r->flops / r->bytes;
    return r->intensity;
}

double kbr_row_tflops(const kb_row *r)
{
    if (r->flops > 0 && kb_row_has_time(r)) return r->flops / r->time_us / 1e6;
    return r->tflops;
}

double kbr_row_pct_roof(const kb_row *r, const kbr_ceils *c)
{
    if (isfinite(r->pct_roof)) return r->pct_roof;
    if (!kb_row_has_time(r)) return NAN;
    /* the column's meaning: the datasheet ceilings (measured ones only without a table row) */
    const kb_ceil *ceil = c->has_datasheet ? &c->datasheet : &c->measured;
    kb_roof rf = kb_roof_of_msgs(ceil, kb_peak_for_dtype(r->dtype), r->flops, r->bytes,
                                 isfinite(r->link_bytes) ? r->link_bytes : 0, kb_link_messages(r->dims));
    return kb_roof_pct(&rf, r->time_us);
}

double kbr_row_floor_us(const kb_row *r, const kb_gpu *g)
{
    kb_ceil c = kb_ceil_from_gpu(g, 1);
    double link = isfinite(r->link_bytes) ? r->link_bytes : 0;
    double flops = isfinite(r->flops) ? r->flops : 0, bytes = isfinite(r->bytes) ? r->bytes : 0;
    /* the same floor as run and model: the link's per-message latency counted (kb_link_messages) */
    return kb_roof_of_msgs(&c, kb_peak_for_dtype(r->dtype), flops, bytes, link, kb_link_messages(r->dims)).t_floor_s *
           1e6;
}

double kbr_project_us(const kb_row *r, const kb_gpu *from, const kb_gpu *to)
{
    if (!from || !to || !kb_row_has_time(r)) return NAN;
    double ff = kbr_row_floor_us(r, from), ft = kbr_row_floor_us(r, to);
    return ff > 0 && ft > 0 ? r->time_us * ft / ff : NAN;
}
