/* kbr_plot_traffic.c - the measured-traffic layer of the roofline chart
 * (`kbench run --counters` rows, bench/kb_counters.h): for each such row its
 * declared point (flops / bytes) and its measured point (flops / dram_bytes)
 * at the same TFLOP/s, joined by a line, and its L2 point (flops / l2_bytes)
 * for the L2 roof: a hierarchical roofline (Nsight Compute's, per level). */
#include <math.h>
#include <string.h>

#include "bench/report/kbr_plot_int.h"

double kbr_row_dram_intensity(const kb_row *r)
{
    if (r->flops > 0 && r->dram_bytes > 0) return r->flops / r->dram_bytes;
    return r->measured_intensity;
}

int kbr_row_has_traffic(const kb_row *r)
{
    double x = kbr_row_dram_intensity(r);
    return isfinite(x) && x > 0;
}

typedef struct traffic {
    const plotctx *P;
    int (*keep)(const void *, const kb_row *);
    const void *chart;
} traffic;

static void put_row(FILE *f, const kb_row *r, double x, const char *kind)
{
    fprintf(f, "%.6g %.6g %s %s %s %s %s\n", x, kbr_row_tflops(r), r->shape, r->gpu, r->op, r->impl, kind);
}

static int put_traffic(FILE *f, void *arg)
{
    const traffic *t = arg;
    const kb_rowset *s = t->P->s;
    fprintf(f, "# measured traffic (kbench run --counters): x (FLOP/byte) y (TFLOP/s) shape gpu op impl kind\n"
               "# index 0: per row, declared = flops / bytes and dram = flops / dram_bytes (one segment each)\n"
               "# index 1: l2 = flops / l2_bytes (against the L2 roof)\n\n");
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        if (!t->keep(t->chart, r) || !kbr_row_has_traffic(r)) continue;
        put_row(f, r, kbr_row_intensity(r), "declared");
        put_row(f, r, kbr_row_dram_intensity(r), "dram");
        fprintf(f, "\n");
    }
    fprintf(f, "\n");
    int nl2 = 0;
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        if (!t->keep(t->chart, r) || !kbr_row_has_traffic(r) || !(r->l2_bytes > 0) || !(r->flops > 0)) continue;
        put_row(f, r, r->flops / r->l2_bytes, "l2");
        nl2++;
    }
    if (!nl2) fprintf(f, "# (no row has l2_bytes)\nNaN NaN - - - - l2\n"); /* gnuplot needs a point in an index */
    return ferror(f) ? -1 : 0;
}

int kbr_write_traffic(plotctx *P, const char *name, int (*keep)(const void *, const kb_row *), const void *chart)
{
    int n = 0;
    for (int i = 0; i < P->s->n; i++) n += keep(chart, &P->s->r[i]) && kbr_row_has_traffic(&P->s->r[i]);
    if (!n) return 0;
    char fn[256];
    snprintf(fn, sizeof fn, "%s_traffic.dat", name);
    traffic t = {P, keep, chart};
    return kbr_plot_file(P, fn, put_traffic, &t) ? -1 : n;
}

void kbr_script_traffic(FILE *f, const char *name, int n)
{
    if (n <= 0) return;
    fprintf(f, "  \"%s_traffic.dat\" index 0 using 1:2 with linespoints pt 2 ps 1.3 lw 1.2 dt 3 lc rgb \"#444444\" "
               "title \"declared -> measured DRAM intensity (--counters)\", \\\n"
               "  \"%s_traffic.dat\" index 1 using 1:2 with points pt 1 ps 1.3 lc rgb \"#444444\" "
               "title \"L2 intensity (flops / l2 bytes)\", \\\n",
            name, name);
}
