/* kbr_plot_claim.c - the two charts of `kbench claim`'s output (kbr_claim.h):
 *
 *   claim        GPU-hours per 1e12 training tokens, a bar per GPU, clustered
 *                per scenario (the scenarios that have the metric);
 *   claim_sweep  step time vs NVLink GB/s per direction (left) and vs
 *                InfiniBand GB/s per direction (right), a line per (scenario,
 *                GPU); on the NVLink panel each GPU is marked at its datasheet
 *                per-direction NVLink (the device table's link_gbs_nominal:
 *                H800 200 = 400 both ways, H100/H200 450 = 900 both ways), the
 *                step time there read off its own line.
 * Titles say "model, projected" unless every number drawn is a measured row. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/report/kbr_plot_int.h"

#define MAX_K 16
#define GPH "gpu_hours_per_ttok"

/* " 1.5" or " NaN" (gnuplot's missing value, set by kbr_gp_preamble). */
static void put_val(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, " %.6g", v);
    else fprintf(f, " NaN");
}

/* ---- the claim chart ------------------------------------------------------------------ */
typedef struct claimchart {
    const kbr_claim *c;
    const char *name;
    const char *sc[MAX_K], *gpu[MAX_K];
    int nsc, ng, nmeas, nval;
} claimchart;

static void claim_collect(claimchart *C)
{
    const char *sc[MAX_K];
    int n = kbr_claim_keys(C->c, 0, sc, MAX_K);
    C->ng = kbr_claim_keys(C->c, 1, C->gpu, MAX_K);
    for (int s = 0; s < n; s++) {
        int any = 0;
        for (int g = 0; g < C->ng; g++) {
            const kbr_claim_row *r = kbr_claim_get(C->c, sc[s], C->gpu[g], GPH);
            if (!r) continue;
            any = 1;
            C->nval++;
            C->nmeas += kbr_claim_measured(r);
        }
        if (any) C->sc[C->nsc++] = sc[s];
    }
}

static int put_claim_data(FILE *f, void *arg)
{
    const claimchart *C = arg;
    fprintf(f, "# GPU-hours per 1e12 training tokens (kbench claim, metric %s); NaN = no row\n# scenario", GPH);
    for (int g = 0; g < C->ng; g++) fprintf(f, " %s", C->gpu[g]);
    fprintf(f, "\n");
    for (int s = 0; s < C->nsc; s++) {
        fprintf(f, "%s", C->sc[s]);
        for (int g = 0; g < C->ng; g++) put_val(f, kbr_claim_value(C->c, C->sc[s], C->gpu[g], GPH));
        fprintf(f, "\n");
    }
    return ferror(f) ? -1 : 0;
}

static int put_claim_script(FILE *f, void *arg)
{
    const claimchart *C = arg;
    kbr_gp_preamble(f, C->name, 1200, 700, "DeepSeek-V3 GPU-hours per 1e12 training tokens (kbench claim)");
    fprintf(f, "set title \"DeepSeek-V3: GPU-hours per 1e12 training tokens per scenario and GPU (%s)\"\n"
               "set style data histograms\nset style histogram clustered gap 1\n"
               "set style fill solid 0.85 border -1\nset boxwidth 0.9\nset yrange [0:*]\n"
               "set ylabel \"GPU-hours per 1e12 tokens\"\nset key outside right top\nplot ",
            C->nmeas == C->nval ? "measured" : C->nmeas ? "model; some terms measured" : "model, projected");
    for (int g = 0; g < C->ng; g++)
        fprintf(f, "%s\"%s.dat\" using %d%s title \"%s\" lc rgb \"%s\"", g ? ", \\\n     " : "", C->name, g + 2,
                g ? "" : ":xtic(1)", C->gpu[g], kbr_gpu_colors[(g + 1) % 4]);
    for (int g = 0; g < C->ng; g++) /* the value over each bar */
        fprintf(f, ", \\\n     \"%s.dat\" using ($0+(%d-%d/2.0+0.5)/(%d+1)):%d:(sprintf(\"%%.0f\", $%d)) "
                   "with labels offset 0,0.7 font \",9\" notitle",
                C->name, g, C->ng, C->ng, g + 2, g + 2);
    fprintf(f, "\n");
    return ferror(f) ? -1 : 0;
}

/* "claim": 0 written, -1 no gpu_hours_per_ttok row, KB_EXIT_IO. */
int kbr_write_claim(plotctx *P, char *name, size_t namelen)
{
    snprintf(name, namelen, "claim");
    claimchart C = {.c = P->o->claim, .name = name};
    claim_collect(&C);
    if (!C.nsc) return -1;
    int rc = kbr_plot_file(P, "claim.dat", put_claim_data, &C);
    return rc ? rc : kbr_plot_file(P, "claim.gp", put_claim_script, &C);
}

/* ---- the sensitivity chart ------------------------------------------------------------ */
typedef struct sweepchart {
    const kbr_sweep *w;
    const char *name;
    strlist lines; /* "axis scenario gpu" in order of first row */
} sweepchart;

static void line_key(char *buf, size_t n, const kbr_sweep_row *r)
{
    snprintf(buf, n, "%s %s %s", r->axis, r->scenario, r->gpu);
}

/* The rows of one line, sorted by GB/s.  Returns the count (caller frees *out). */
static int line_rows(const sweepchart *C, const char *key, kbr_sweep_row **out)
{
    int n = 0;
    *out = malloc((size_t)(C->w->n + 1) * sizeof **out);
    if (!*out) return 0;
    for (int i = 0; i < C->w->n; i++) {
        char k[128];
        line_key(k, sizeof k, &C->w->r[i]);
        if (!strcmp(k, key)) (*out)[n++] = C->w->r[i];
    }
    for (int i = 1; i < n; i++) /* insertion sort: a sweep is short */
        for (int j = i; j > 0 && (*out)[j - 1].gbps > (*out)[j].gbps; j--) {
            kbr_sweep_row t = (*out)[j];
            (*out)[j] = (*out)[j - 1];
            (*out)[j - 1] = t;
        }
    return n;
}

/* Step time at x on a sorted line, linear between its points; NaN outside. */
static double interp(const kbr_sweep_row *v, int n, double x)
{
    for (int i = 0; i + 1 < n; i++)
        if (x >= v[i].gbps && x <= v[i + 1].gbps) {
            double d = v[i + 1].gbps - v[i].gbps;
            return d > 0 ? v[i].step_s + (x - v[i].gbps) / d * (v[i + 1].step_s - v[i].step_s) : v[i].step_s;
        }
    return n == 1 && v[0].gbps == x ? v[0].step_s : NAN;
}

static int put_sweep_data(FILE *f, void *arg)
{
    const sweepchart *C = arg;
    fprintf(f, "# step time (s) vs link GB/s per direction (kbench claim sweep); one block per line\n\n");
    for (int l = 0; l < C->lines.n; l++) {
        kbr_sweep_row *v;
        int n = line_rows(C, C->lines.s[l], &v);
        fprintf(f, "# block %d: %s\n", l, C->lines.s[l]);
        for (int i = 0; i < n; i++) fprintf(f, "%.6g %.6g\n", v[i].gbps, v[i].step_s);
        fprintf(f, "\n\n");
        free(v);
    }
    return ferror(f) ? -1 : 0;
}

/* Where a GPU sits on the sweep's axis: the per-direction NVLink the model
 * uses for it (kbench claim's default, the device table's achievable
 * link_gbs_practical), else the datasheet's per direction; 0 unknown. */
static double mark_gbs(const kb_gpu *g)
{
    return g->link_gbs_practical.v > 0 ? g->link_gbs_practical.v : g->link_gbs_nominal.v;
}

/* One mark per NVLink line: its GPU's achievable per-direction NVLink. */
static int put_sweep_marks(FILE *f, void *arg)
{
    const sweepchart *C = arg;
    fprintf(f, "# marks: each GPU at the NVLink GB/s per direction the model uses for it (device table\n"
               "# link_gbs_practical, else link_gbs_nominal),\n"
               "# step time read off its own line (NaN: outside the sweep)\n"
               "# scenario gpu axis gbps step_time_s nvlink_both_directions_gbs\n");
    for (int l = 0; l < C->lines.n; l++) {
        char axis[16], sc[32], gpu[32];
        if (sscanf(C->lines.s[l], "%15s %31s %31s", axis, sc, gpu) != 3 || strcmp(axis, "nvlink")) continue;
        const kb_gpu *g = kb_gpu_find(gpu);
        if (!g || !(mark_gbs(g) > 0)) continue;
        kbr_sweep_row *v;
        int n = line_rows(C, C->lines.s[l], &v);
        fprintf(f, "%s %s nvlink", sc, gpu);
        put_val(f, mark_gbs(g));
        put_val(f, interp(v, n, mark_gbs(g)));
        put_val(f, g->nvlink_bidir_gbs.v);
        fprintf(f, "\n");
        free(v);
    }
    return ferror(f) ? -1 : 0;
}

/* One panel: the lines of one axis (plus, for NVLink, the marks; the first
 * scenario's marks labelled, each label stacked above the last so none overlap). */
static void sweep_panel(FILE *f, const sweepchart *C, const char *axis, const char *what)
{
    int first = 1, na = 0;
    fprintf(f, "set xlabel \"%s GB/s per direction\"\nset ylabel \"step time (s)\"\nunset arrow\n", what);
    for (int l = 0; l < C->lines.n && !strcmp(axis, "nvlink"); l++) {
        char ax[16], sc[32], gpu[32];
        const kb_gpu *g;
        if (sscanf(C->lines.s[l], "%15s %31s %31s", ax, sc, gpu) == 3 && !strcmp(ax, "nvlink") &&
            (g = kb_gpu_find(gpu)) && mark_gbs(g) > 0)
            fprintf(f, "set arrow %d from %g, graph 0 to %g, graph 1 nohead dt 3 lc rgb \"#999999\"\n", ++na,
                    mark_gbs(g), mark_gbs(g));
    }
    fprintf(f, "plot ");
    for (int l = 0; l < C->lines.n; l++) {
        if (strncmp(C->lines.s[l], axis, strlen(axis)) || C->lines.s[l][strlen(axis)] != ' ') continue;
        fprintf(f, "%s\"%s.dat\" index %d using 1:2 with linespoints pt 6 lw 2 lc rgb \"%s\" title \"%s\"",
                first ? "" : ", \\\n     ", C->name, l, kbr_op_colors[l % 10], C->lines.s[l] + strlen(axis) + 1);
        first = 0;
    }
    if (!strcmp(axis, "nvlink"))
        fprintf(f, ", \\\n     \"%s_marks.dat\" using 4:5 with points pt 7 ps 1.8 lc rgb \"#000000\" "
                   "title \"GPU at its achievable NVLink (the model's)\", \\\n"
                   "     \"%s_marks.dat\" using 4:($5 + 0.45 * ($0 + 1)):(strcol(1) eq \"v3-train\" ? "
                   "sprintf(\"%%s %%.0f/dir (datasheet %%.0f both)\", strcol(2), $4, $6) : \"\") "
                   "with labels left offset 0.5,0 font \",9\" notitle",
                C->name, C->name);
    fprintf(f, "\n");
}

static int put_sweep_script(FILE *f, void *arg)
{
    const sweepchart *C = arg;
    int has_ib = 0;
    for (int l = 0; l < C->lines.n; l++) has_ib |= !strncmp(C->lines.s[l], "ib ", 3);
    kbr_gp_preamble(f, C->name, has_ib ? 1600 : 1000, 700, "DeepSeek-V3 step time vs link bandwidth (kbench claim)");
    fprintf(f, "set key top right\nset yrange [0:*]\nset xrange [0:*]\nset offsets 0, 0, graph 0.1, 0\n"
               "set multiplot layout 1,%d title \"DeepSeek-V3 step time vs link bandwidth (model, projected)\"\n",
            has_ib ? 2 : 1);
    sweep_panel(f, C, "nvlink", "NVLink");
    if (has_ib) sweep_panel(f, C, "ib", "InfiniBand");
    fprintf(f, "unset multiplot\n");
    return ferror(f) ? -1 : 0;
}

/* "claim_sweep": 0 written, -1 no rows, KB_EXIT_IO. */
int kbr_write_sweep(plotctx *P, char *name, size_t namelen)
{
    snprintf(name, namelen, "claim_sweep");
    sweepchart C = {.w = P->o->sweep, .name = name};
    int rc = 0;
    for (int i = 0; i < C.w->n && !rc; i++) {
        char k[128];
        line_key(k, sizeof k, &C.w->r[i]);
        if (kbr_sl_add(&C.lines, k) < 0) rc = KB_EXIT_IO;
    }
    if (!rc && !C.lines.n) rc = -1;
    if (!rc) rc = kbr_plot_file(P, "claim_sweep.dat", put_sweep_data, &C);
    if (!rc) rc = kbr_plot_file(P, "claim_sweep_marks.dat", put_sweep_marks, &C);
    if (!rc) rc = kbr_plot_file(P, "claim_sweep.gp", put_sweep_script, &C);
    kbr_sl_free(&C.lines);
    return rc;
}
