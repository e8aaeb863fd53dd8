/* kbr_plot_roof.c - the roofline chart of the plot library: log-log FLOP/byte
 * vs TFLOP/s; ceilings FP8 + BF16 tensor cores, HBM and the network roof (FLOP
 * per link byte x link bandwidth); datasheet ceilings dashed, measured ones
 * solid (kbr_ceilings); a point per (op, impl, shape): colour = op (the fixed
 * table, kbr_op_color), marker = impl (its own per implementation of the chart,
 * kbr_marker), filled = measured, hollow = projected; legend outside the data:
 * one entry per ceiling, colour = GPU, dash = datasheet / measured / network /
 * L2; no label on a point; the title says so when every point is a projection.
 * Rows with hardware counters add their measured point and the L2 roof
 * (kbr_plot_traffic.c).
 * Phases: range -> ceilings -> point blocks -> ceiling lines -> three files. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/report/kbr_plot_int.h"

#define MAX_G 16
#define MAX_LINES (MAX_G * 8)

/* One ceiling line segment (x0,y0)-(x1,y1) of GPU g. */
typedef struct cline {
    int g;
    const char *kind, *key, *src; /* "FP8", "fp8_tflops", "datasheet" */
    double v, x0, y0, x1, y1;
} cline;
/* One block of points: rows of one (gpu, op, impl, source); first = first row;
 * op indexes P->ops, impl the chart's own impls (its marker). */
typedef struct blk { int op, impl, measured, first; } blk;

typedef struct roof {
    const char *gpu, *name;
    int npts, nmeas, ng, nb, nl, ntraffic; /* nmeas: measured points; ntraffic: rows with --counters points */
    strlist impls;                       /* the chart's implementations, in row order: marker = position */
    double xmin, xmax, ymin, ymax;
    const char *gl[MAX_G];
    kbr_ceils cs[MAX_G];
    blk *blocks;
    cline lines[MAX_LINES];
    const plotctx *P;
} roof;

static int is_point(const kb_row *r)
{
    if (kbr_is_ceiling_op(r->op) || !strcmp(r->verified, "fail")) return 0;
    double x = kbr_row_intensity(r), y = kbr_row_tflops(r);
    return isfinite(x) && x > 0 && isfinite(y) && y > 0;
}

/* Communication ops have their own chart (kbr_plot_comm.c): not on FLOP per HBM byte. */
static int in_chart(const roof *R, const kb_row *r)
{
    return (!R->gpu || !strcmp(r->gpu, R->gpu)) && is_point(r) && kbr_sl_find(&R->P->comm, r->op) < 0;
}
static int keep_row(const void *R, const kb_row *r) { return in_chart(R, r); }

/* ---- phase 1: ceilings of the chart's GPUs and the axes' range ---------------- */
static void roof_ceilings(roof *R, const plotctx *P)
{
    for (int g = 0; g < P->gpus.n && R->ng < MAX_G; g++) {
        if (R->gpu && strcmp(P->gpus.s[g], R->gpu)) continue;
        if (kbr_ceilings(P->s, P->gpus.s[g], &R->cs[R->ng]) != 0) continue;
        R->gl[R->ng++] = P->gpus.s[g];
    }
}

static void roof_range(roof *R, const kb_rowset *s)
{
    double xlo = INFINITY, xhi = 1000, ylo = 1e9, yhi = 0;
    for (int i = 0; i < s->n; i++) {
        if (!in_chart(R, &s->r[i])) continue;
        double x = kbr_row_intensity(&s->r[i]), y = kbr_row_tflops(&s->r[i]);
        xlo = fmin(xlo, x), xhi = fmax(xhi, x), ylo = fmin(ylo, y), yhi = fmax(yhi, y);
        R->npts++;
        R->nmeas += kb_row_is_measured(&s->r[i]);
        if (kbr_row_has_traffic(&s->r[i])) /* --counters: the measured point too */
            xlo = fmin(xlo, kbr_row_dram_intensity(&s->r[i])), xhi = fmax(xhi, kbr_row_dram_intensity(&s->r[i]));
    }
    for (int g = 0; g < R->ng; g++) { /* room for every ceiling and its ridge */
        const kb_ceil *d = &R->cs[g].datasheet, *m = &R->cs[g].measured;
        double top = fmax(fmax(d->fp8_tflops, m->fp8_tflops), fmax(d->bf16_tflops, m->bf16_tflops));
        double hb = fmax(d->hbm_gbs, m->hbm_gbs);
        yhi = fmax(yhi, top);
        if (top > 0 && hb > 0) xhi = fmax(xhi, top * 1e3 / hb);
    }
    if (!isfinite(xlo)) xlo = 1;
    R->xmin = pow(10, floor(log10(xlo / 2)));
    R->xmax = pow(10, ceil(log10(xhi * 1.5)));
    for (int g = 0; g < R->ng; g++) { /* the lowest slanted roof must show at xmin */
        const kb_ceil *d = &R->cs[g].datasheet;
        double lb = d->link_gbs > 0 ? d->link_gbs : d->hbm_gbs > 0 ? d->hbm_gbs : R->cs[g].measured.hbm_gbs;
        if (lb > 0) ylo = fmin(ylo, R->xmin * lb / 1e3);
    }
    if (!(ylo < 1e9)) ylo = 1e-3;
    R->ymin = pow(10, floor(log10(ylo)));
    R->ymax = pow(10, ceil(log10(fmax(yhi, R->ymin * 10) * 2)));
}

/* ---- phase 2: point blocks ------------------------------------------------------ */
static int roof_blocks(roof *R, const plotctx *P)
{
    const kb_rowset *s = P->s;
    R->blocks = malloc((size_t)(s->n + 1) * sizeof *R->blocks);
    if (!R->blocks) return -1;
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        if (!in_chart(R, r)) continue;
        int impl = kbr_sl_add(&R->impls, r->impl);
        if (impl < 0) return -1;
        blk b = {kbr_sl_find(&P->ops, r->op), impl, kb_row_is_measured(r), i};
        int seen = 0;
        for (int k = 0; k < R->nb && !seen; k++) {
            const blk *o = &R->blocks[k];
            seen = o->op == b.op && o->impl == b.impl && o->measured == b.measured &&
                   !strcmp(s->r[o->first].gpu, r->gpu);
        }
        if (!seen) R->blocks[R->nb++] = b;
    }
    return 0;
}

/* ---- phase 3: ceiling lines ----------------------------------------------------- */
static void add_line(roof *R, int g, const char *kind, const char *key, const char *src, double v, double x0,
                     double y0, double x1, double y1)
{
    if (R->nl < MAX_LINES) R->lines[R->nl++] = (cline){g, kind, key, src, v, x0, y0, x1, y1};
}

/* The datasheet (measured == 0) or measured ceilings of GPU g: the HBM slope
 * up to the highest peak's ridge, each peak from its ridge on, and (datasheet
 * only) the network roof up to the FP8 ridge.  Measured lines are drawn only
 * for the figures a row measured. */
static void ceiling_set(roof *R, int g, int measured)
{
    const kb_ceil *d = &R->cs[g].datasheet, *c = measured ? &R->cs[g].measured : d;
    unsigned has = measured ? c->measured : ~0u;
    const char *src = measured ? "measured" : "datasheet";
    double hbm = c->hbm_gbs, pk[2] = {c->fp8_tflops, c->bf16_tflops};
    unsigned bit[2] = {KB_CEIL_FP8, KB_CEIL_BF16};
    if (!(hbm > 0)) return;
    double top = 0;
    for (int k = 0; k < 2; k++)
        if (has & bit[k]) top = fmax(top, pk[k]);
    if (!(top > 0)) top = fmax(d->fp8_tflops, d->bf16_tflops);
    if (has & KB_CEIL_HBM) {
        double xr = top > 0 ? top * 1e3 / hbm : R->xmax;
        add_line(R, g, "HBM", "hbm_gbs", src, hbm, R->xmin, R->xmin * hbm / 1e3, xr, xr * hbm / 1e3);
    }
    for (int k = 0; k < 2; k++)
        if ((has & bit[k]) && pk[k] > 0)
            add_line(R, g, k ? "BF16" : "FP8", k ? "bf16_tflops" : "fp8_tflops", src, pk[k], pk[k] * 1e3 / hbm,
                     pk[k], R->xmax, pk[k]);
    const kb_gpu *gp = measured ? NULL : kb_gpu_find(R->gl[g]);
    if (gp && gp->l2_gbs.v > 0 && top > 0) /* the L2 roof of --counters rows (hierarchical roofline) */
        add_line(R, g, "L2", "l2_gbs", src, gp->l2_gbs.v, R->xmin, R->xmin * gp->l2_gbs.v / 1e3,
                 top * 1e3 / gp->l2_gbs.v, top);
    if (!measured && d->link_gbs > 0 && d->fp8_tflops > 0) {
        double xr = d->fp8_tflops * 1e3 / d->link_gbs;
        add_line(R, g, "network", "link_gbs", src, d->link_gbs, R->xmin, R->xmin * d->link_gbs / 1e3, xr,
                 xr * d->link_gbs / 1e3);
    }
}

static void roof_lines(roof *R)
{
    for (int g = 0; g < R->ng; g++) {
        ceiling_set(R, g, 0);
        ceiling_set(R, g, 1);
    }
}

/* ---- phase 4: the files ---------------------------------------------------------- */
static int put_points(FILE *f, void *arg)
{
    const roof *R = arg;
    const kb_rowset *s = R->P->s;
    fprintf(f, "# roofline points: intensity_flop_per_byte tflops shape gpu op impl source\n"
               "# one block (index) per (gpu, op, impl, source); see %s.gp\n\n", R->name);
    for (int b = 0; b < R->nb; b++) {
        const kb_row *r = &s->r[R->blocks[b].first];
        const char *src = R->blocks[b].measured ? "measured" : "projected";
        fprintf(f, "# block %d: gpu=%s op=%s impl=%s source=%s\n", b, r->gpu, r->op, r->impl, src);
        for (int j = R->blocks[b].first; j < s->n; j++) {
            const kb_row *q = &s->r[j];
            if (strcmp(q->gpu, r->gpu) || strcmp(q->op, r->op) || strcmp(q->impl, r->impl) ||
                kb_row_is_measured(q) != R->blocks[b].measured || !is_point(q))
                continue;
            fprintf(f, "%.6g %.6g %s %s %s %s %s\n", kbr_row_intensity(q), kbr_row_tflops(q), q->shape, q->gpu,
                    q->op, q->impl, src);
        }
        fprintf(f, "\n\n");
    }
    return ferror(f) ? -1 : 0;
}

static int put_ceilings(FILE *f, void *arg)
{
    const roof *R = arg;
    fprintf(f, "# roofline ceilings: x (FLOP/byte) y (TFLOP/s); one block per line segment\n"
               "# HBM: y = x * GB/s / 1000; tensor cores: y = peak; network: y = x * link GB/s / 1000\n\n");
    for (int i = 0; i < R->nl; i++) {
        const cline *l = &R->lines[i];
        fprintf(f, "# ceiling gpu=%s kind=%s value=%.6g source=%s\n%.6g %.6g\n%.6g %.6g\n\n\n", R->gl[l->g], l->key,
                l->v, l->src, l->x0, l->y0, l->x1, l->y1);
    }
    return ferror(f) ? -1 : 0;
}

static int same_ceiling(const cline *a, const cline *b)
{
    return !strcmp(a->kind, b->kind) && !strcmp(a->src, b->src) && fabs(a->v - b->v) < 1e-9;
}

/* Peak labels, one per distinct (kind, source, value), just right of the ridge;
 * a label that would sit on another (peaks within 25%) goes below its line. */
static void script_labels(FILE *f, const roof *R)
{
    int nlab = 0;
    double placed[MAX_LINES];
    for (int i = 0; i < R->nl; i++) {
        const cline *l = &R->lines[i];
        if (!strcmp(l->kind, "HBM") || !strcmp(l->kind, "L2") || !strcmp(l->kind, "network")) continue;
        int dup = 0;
        for (int j = 0; j < i && !dup; j++) dup = same_ceiling(&R->lines[j], l);
        if (dup) continue;
        double y = l->v * 1.3; /* clear of the points on the roof (ps 1.6) */
        for (int k = 0; k < nlab; k++)
            if (fabs(log(placed[k] / y)) < log(1.25)) y = l->v / 1.3;
        placed[nlab] = y;
        fprintf(f, "set label %d \"%s %.0f TFLOP/s (%s)\" at %g,%g left front font \",9\" tc rgb \"%s\"\n", ++nlab,
                l->kind, l->v, l->src, l->x0 * 1.4, y, kbr_gpu_colors[l->g % 4]);
    }
}

/* Ceilings: dashed datasheet (dt 2), solid measured, L2 roof dt 3, network roof dotted-dashed;
 * colour = GPU, later GPUs drawn thinner on top, so identical ceilings stay
 * visible.  One legend entry per ceiling: the same (kind, source, value) on
 * several GPUs is one entry naming them all. */
static void script_ceilings(FILE *f, const roof *R)
{
    fprintf(f, "  keyentry with lines lc rgb \"white\" title \"ceilings (colour = GPU; dashed = datasheet, solid = "
               "measured):\", \\\n");
    for (int i = 0; i < R->nl; i++) {
        const cline *l = &R->lines[i];
        int ds = !strcmp(l->src, "datasheet"), net = !strcmp(l->kind, "network"), first = 1;
        char gpus[200] = "", title[300];
        for (int j = 0; j < R->nl; j++)
            if (same_ceiling(&R->lines[j], l)) {
                if (j < i) first = 0;
                size_t n = strlen(gpus);
                snprintf(gpus + n, sizeof gpus - n, "%s%s", n ? ", " : "", R->gl[R->lines[j].g]);
            }
        if (net) snprintf(title, sizeof title, "%s network roof, link %.0f GB/s/dir (datasheet)", gpus, l->v);
        else if (!strcmp(l->kind, "HBM") || !strcmp(l->kind, "L2"))
            snprintf(title, sizeof title, "%s %s %.0f GB/s (%s)", gpus, l->kind, l->v, l->src);
        else snprintf(title, sizeof title, "%s %s %.0f TFLOP/s (%s)", gpus, l->kind, l->v, l->src);
        fprintf(f, "  \"%s_ceilings.dat\" index %d with lines lw %.1f dt %s lc rgb \"%s\" ", R->name, i,
                (net ? 1.5 : 3.5) / (1 + l->g), net ? "4" : !strcmp(l->kind, "L2") ? "3" : ds ? "2" : "1",
                kbr_gpu_colors[l->g % 4]);
        if (first) fprintf(f, "title \"%s\", \\\n", title);
        else fprintf(f, "notitle, \\\n");
    }
}

/* Points, then the legend: operators (colour), implementations (marker), fill. */
static void script_points(FILE *f, const roof *R)
{
    const plotctx *P = R->P;
    for (int b = 0; b < R->nb; b++)
        fprintf(f, "  \"%s_points.dat\" index %d using 1:2 with points pt %d ps 1.6 lw 1.5 lc rgb \"%s\" notitle, \\\n",
                R->name, b, kbr_marker(R->blocks[b].impl, R->blocks[b].measured), kbr_op_color(P->ops.s[R->blocks[b].op]));
    fprintf(f, "  keyentry with points pt -1 lc rgb \"white\" title \"operators:\", \\\n");
    for (int o = 0; o < P->ops.n; o++) {
        int used = 0;
        for (int b = 0; b < R->nb && !used; b++) used = R->blocks[b].op == o;
        if (used)
            fprintf(f, "  keyentry with points pt 7 ps 1.5 lc rgb \"%s\" title \"%s\", \\\n", kbr_op_color(P->ops.s[o]),
                    P->ops.s[o]);
    }
    fprintf(f, "  keyentry with points pt -1 lc rgb \"white\" title \"implementations:\", \\\n");
    for (int m = 0; m < R->impls.n; m++)
        fprintf(f, "  keyentry with points pt %d ps 1.5 lc rgb \"#333333\" title \"%s\", \\\n", kbr_marker(m, 1),
                R->impls.s[m]);
    fprintf(f, "  keyentry with points pt 7 ps 1.5 lc rgb \"#333333\" title \"filled = measured\", \\\n"
               "  keyentry with points pt 6 ps 1.5 lc rgb \"#333333\" title \"hollow = projected\"\n");
}

static int put_script(FILE *f, void *arg)
{
    const roof *R = arg;
    kbr_gp_preamble(f, R->name, 1500, 900, R->gpu ? "roofline of one GPU" : "roofline, GPUs overlaid");
    fprintf(f, "set title \"Roofline - %s: %d points (colour = operator, marker = implementation, "
               "filled = measured, hollow = projected)%s\"\n",
            R->gpu ? R->gpu : "all GPUs overlaid", R->npts,
            R->npts && !R->nmeas ? "\\nevery point is a projection (kbench model roofline floors): nothing measured" : "");
    fprintf(f, "set logscale xy\nset xrange [%g:%g]\nset yrange [%g:%g]\n", R->xmin, R->xmax, R->ymin, R->ymax);
    fprintf(f, "set xlabel \"arithmetic intensity (FLOP / byte of HBM; network roof: FLOP / byte over links)\"\n"
               "set ylabel \"TFLOP/s\"\nset format x \"%%g\"\nset format y \"%%g\"\n"
               "set key outside right top vertical Left reverse samplen 3 spacing 1.1 box\n");
    script_labels(f, R);
    fprintf(f, "plot \\\n");
    script_ceilings(f, R);
    kbr_script_traffic(f, R->name, R->ntraffic);
    script_points(f, R);
    return ferror(f) ? -1 : 0;
}

int kbr_write_roofline(plotctx *P, const char *gpu, char *name, size_t namelen)
{
    roof *R = calloc(1, sizeof *R);
    if (!R) return KB_EXIT_IO;
    if (gpu) snprintf(name, namelen, "roofline_%s", gpu);
    else snprintf(name, namelen, "roofline");
    *R = (roof){.gpu = gpu, .name = name, .P = P};
    roof_ceilings(R, P);
    roof_range(R, P->s);
    int rc = roof_blocks(R, P) ? KB_EXIT_IO : 0;
    roof_lines(R);
    char fn[256];
    snprintf(fn, sizeof fn, "%s_points.dat", name);
    if (!rc) rc = kbr_plot_file(P, fn, put_points, R);
    snprintf(fn, sizeof fn, "%s_ceilings.dat", name);
    if (!rc) rc = kbr_plot_file(P, fn, put_ceilings, R);
    if (!rc && (R->ntraffic = kbr_write_traffic(P, name, keep_row, R)) < 0) rc = KB_EXIT_IO;
    snprintf(fn, sizeof fn, "%s.gp", name);
    if (!rc) rc = kbr_plot_file(P, fn, put_script, R);
    free(R->blocks);
    kbr_sl_free(&R->impls);
    free(R);
    return rc;
}
