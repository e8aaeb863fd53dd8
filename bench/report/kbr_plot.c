/* kbr_plot.c - the plot library's driver (kbr_plot_render) and its per-op and
 * pair charts; the roofline is in kbr_plot_roof.c.  Each chart is a gnuplot
 * script NAME.gp plus data NAME*.dat, rendered inside the output folder with
 * `gnuplot -e 'fmt="png"' NAME.gp` so that a user can edit and re-render it. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/report/kbr_index.h"
#include "bench/report/kbr_plot_int.h"

const char *const kbr_op_colors[10] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                       "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
const char *const kbr_gpu_colors[4] = {"#000000", "#b22222", "#1e5aa8", "#2e8b57"};

/* The one op -> colour table: an operator has the same colour in every chart
 * (roofline, bandwidth, communication), whatever else the data holds. */
static const struct { const char *op, *rgb; } op_color_table[] = {
    {"fp8_gemm", "#1f77b4"},    {"fp8_gemm_grouped", "#17becf"}, {"fp8_quant", "#9467bd"},
    {"mla_decode", "#ff7f0e"},  {"moe_route", "#8c564b"},        {"moe_dispatch", "#2ca02c"},
    {"moe_combine", "#d62728"}, {"ep_dispatch", "#e377c2"},      {"ep_combine", "#bcbd22"},
    {"alltoall", "#7f7f7f"},    {"hbm", "#393b79"},              {"peak", "#000000"},
};
/* Operators not in the table: a hash of the name into colours the table does not use. */
static const char *const op_color_spare[8] = {"#637939", "#8c6d31", "#843c39", "#7b4173",
                                              "#3182bd", "#e6550d", "#31a354", "#756bb1"};

const char *kbr_op_color(const char *op)
{
    for (size_t i = 0; i < sizeof op_color_table / sizeof op_color_table[0]; i++)
        if (!strcmp(op_color_table[i].op, op)) return op_color_table[i].rgb;
    unsigned h = 2166136261u; /* FNV-1a: the same name, the same colour, on every run */
    for (const char *p = op; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    return op_color_spare[h % 8];
}

/* (hollow, filled) gnuplot point types, one pair per implementation of a chart:
 * circle, square, up and down triangle, diamond, pentagon; then plus, cross,
 * star (no hollow form: the same for both); a tenth implementation repeats. */
static const int marker_pt[][2] = {{6, 7}, {4, 5}, {8, 9}, {10, 11}, {12, 13}, {14, 15}, {1, 1}, {2, 2}, {3, 3}};

int kbr_marker(int impl, int filled)
{
    int n = (int)(sizeof marker_pt / sizeof marker_pt[0]);
    return marker_pt[(impl < 0 ? 0 : impl) % n][filled ? 1 : 0];
}

/* ---- small helpers ------------------------------------------------------------- */
int kbr_sl_find(const strlist *l, const char *s)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->s[i], s)) return i;
    return -1;
}

int kbr_sl_add(strlist *l, const char *s)
{
    int i = kbr_sl_find(l, s);
    if (i >= 0) return i;
    char **p = realloc(l->s, (size_t)(l->n + 1) * sizeof *p);
    if (!p) return -1;
    l->s = p;
    if (!(l->s[l->n] = strdup(s))) return -1;
    return l->n++;
}

void kbr_sl_free(strlist *l)
{
    for (int i = 0; i < l->n; i++) free(l->s[i]);
    free(l->s);
    l->s = NULL;
    l->n = 0;
}

int kbr_is_ceiling_op(const char *op) { return !strcmp(op, "hbm") || !strcmp(op, "peak"); }

int kbr_plot_file(plotctx *P, const char *file, kb_write_fn fn, void *arg)
{
    char path[1200];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", P->o->out_dir, file) >= sizeof path) {
        snprintf(P->err, sizeof P->err, "%.60s.../%s: path longer than %zu characters", P->o->out_dir, file,
                 sizeof path - 1);
        return KB_EXIT_USAGE;
    }
    return kb_write_atomic(path, fn, arg, P->err, sizeof P->err) ? KB_EXIT_IO : 0;
}

const char *kbr_gnuplot_path(void)
{
    const char *env = getenv("KBENCH_GNUPLOT");
    if (env && *env) return access(env, X_OK) == 0 ? env : NULL;
    static char found[1100];
    const char *path = getenv("PATH");
    if (!path) path = "/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        int w = snprintf(found, sizeof found, "%.*s/gnuplot", (int)len, path);
        if (len && (size_t)w < sizeof found && access(found, X_OK) == 0) return found; /* a cut entry is no match */
        path += len + (colon ? 1 : 0);
    }
    return NULL;
}

/* Run `gnuplot -e 'fmt="FMT"' SCRIPT` inside dir.  0 / -1. */
static int run_gnuplot(const char *gp, const char *dir, const char *script, const char *fmt)
{
    char expr[64];
    snprintf(expr, sizeof expr, "fmt=\"%s\"", fmt);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (chdir(dir) != 0) _exit(127);
        execl(gp, "gnuplot", "-e", expr, script, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

void kbr_gp_preamble(FILE *f, const char *name, int w, int h, const char *what)
{
    fprintf(f,
            "# %s.gp - %s\n"
            "# Written by `kbench plot`; re-render by hand with\n"
            "#   gnuplot -e 'fmt=\"png\"' %s.gp     (or svg, txt)\n"
            "if (!exists(\"fmt\")) fmt = \"png\"\n"
            "if (fmt eq \"png\") { set terminal pngcairo size %d,%d font \"Sans,11\" noenhanced; set output \"%s.png\" }\n"
            "if (fmt eq \"svg\") { set terminal svg size %d,%d font \"Sans,11\" noenhanced background \"white\"; set output \"%s.svg\" }\n"
            "if (fmt eq \"txt\") { set terminal dumb size 130,42 noenhanced; set output }\n"
            "set datafile missing \"NaN\"\n"
            "set grid lc rgb \"#dddddd\"\n",
            name, what, name, w, h, name, w, h, name);
}

/* ---- per-op charts (measured rows of one GPU) ------------------------------------- */
typedef struct opchart {
    const plotctx *P;
    const char *op, *gpu, *name;
    strlist shapes, impls;
    kbr_ceils c;
    int any_lib, any_hand;
    int both;    /* a shape with a hand-written and a library row: a finite speedup */
    int any_pct; /* a finite % of roof (none when the GPU has no known ceiling) */
} opchart;

static int op_row(const opchart *C, const kb_row *r)
{
    return !strcmp(r->op, C->op) && !strcmp(r->gpu, C->gpu) && kb_row_is_measured(r) && kb_row_is_pass(r) &&
           kb_row_has_time(r);
}

/* The row of (shape, impl): the last one wins (reruns append). */
static const kb_row *op_hit(const opchart *C, const char *shape, const char *impl)
{
    const kb_row *hit = NULL;
    int n;
    const kb_row *const *v = kbr_rows_of(C->P->s, C->op, shape, C->gpu, &n); /* in file order */
    for (int i = 0; i < n; i++)
        if (op_row(C, v[i]) && !strcmp(v[i]->impl, impl)) hit = v[i];
    return hit;
}

static double op_best_lib(const opchart *C, const char *shape)
{
    double best = INFINITY;
    int n;
    const kb_row *const *v = kbr_rows_of(C->P->s, C->op, shape, C->gpu, &n);
    for (int i = 0; i < n; i++)
        if (op_row(C, v[i]) && kb_row_is_lib(v[i], C->P->s->has_impl_kind)) best = fmin(best, v[i]->time_us);
    return best;
}

/* Per shape and impl: time, % of roof, speedup over the best library reference. */
static int put_op_data(FILE *f, void *arg)
{
    const opchart *C = arg;
    fprintf(f, "# %s on %s, measured rows that passed verification\n# shape", C->op, C->gpu);
    for (int m = 0; m < C->impls.n; m++)
        fprintf(f, " %s_time_us %s_pct_roof %s_speedup_vs_lib", C->impls.s[m], C->impls.s[m], C->impls.s[m]);
    fprintf(f, "\n");
    for (int k = 0; k < C->shapes.n; k++) {
        double best_lib = op_best_lib(C, C->shapes.s[k]);
        fprintf(f, "%s", C->shapes.s[k]);
        for (int m = 0; m < C->impls.n; m++) {
            const kb_row *hit = op_hit(C, C->shapes.s[k], C->impls.s[m]);
            if (!hit) { fprintf(f, " NaN NaN NaN"); continue; }
            int lib = kb_row_is_lib(hit, C->P->s->has_impl_kind);
            double sp = (!lib && isfinite(best_lib)) ? best_lib / hit->time_us : NAN;
            double pr = kbr_row_pct_roof(hit, &C->c);
            fprintf(f, " %.6g", hit->time_us);
            if (isfinite(pr)) fprintf(f, " %.4g", pr); else fprintf(f, " NaN");
            if (isfinite(sp)) fprintf(f, " %.4g", sp); else fprintf(f, " NaN");
        }
        fprintf(f, "\n");
    }
    return ferror(f) ? -1 : 0;
}

static void put_op_speedup(FILE *f, const opchart *C)
{
    const kb_rowset *s = C->P->s;
    fprintf(f, "set title \"speedup of hand-written kernels over the best library reference (>1 = faster)\"\n"
               "set ylabel \"speedup (x)\"\n"
               "set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb \"#444444\" front\n"
               "plot ");
    int first = 1;
    for (int m = 0; m < C->impls.n; m++) {
        const kb_row *probe = NULL;
        for (int i = 0; i < s->n && !probe; i++)
            if (!strcmp(s->r[i].impl, C->impls.s[m]) && !strcmp(s->r[i].op, C->op)) probe = &s->r[i];
        if (!probe || kb_row_is_lib(probe, s->has_impl_kind)) continue;
        fprintf(f, "%s\"%s.dat\" using %d:xtic(1) title \"%s\" lc rgb \"%s\"", first ? "" : ", \\\n     ", C->name,
                2 + 3 * m + 2, C->impls.s[m], kbr_op_colors[m % 10]);
        first = 0;
    }
    fprintf(f, "\n");
}

static int put_op_script(FILE *f, void *arg)
{
    const opchart *C = arg;
    kbr_gp_preamble(f, C->name, 1300, 950, "per-operator speedup over the library reference and % of roofline");
    /* a panel without one finite value is an error in gnuplot ("x range is invalid"): left out, and said */
    int two = C->both;
    const char *why = two ? "" : C->any_lib && C->any_hand ? " - no speedup panel: no shape has both a hand-written and a library row"
                                                           : " - no speedup panel: needs both hand-written and library rows";
    fprintf(f, "set style data histograms\nset style histogram clustered gap 1\n"
               "set style fill solid 0.85 border -1\nset boxwidth 0.9\n"
               "set xtics rotate by -25 left font \",9\"\nset key outside right top\n"
               "set yrange [0:*]\nset multiplot layout %d,1 title \"%s on %s (measured)%s\"\n", two ? 2 : 1,
            C->op, C->gpu, why);
    if (two) put_op_speedup(f, C);
    fprintf(f, "unset arrow 1\nset title \"%% of roofline per shape (attainable = min(peak, intensity x HBM bandwidth))\"\n"
               "set ylabel \"%% of roof\"\nset yrange [0:110]\n");
    if (!C->any_pct) {
        fprintf(f, "set xrange [0:1]\nunset xtics\nset label 1 \"no %% of roof: no ceiling known for %s\" at graph 0.5,0.5 "
                   "center\nplot NaN notitle\nunset multiplot\n", C->gpu);
        return ferror(f) ? -1 : 0;
    }
    fprintf(f, "plot ");
    for (int m = 0; m < C->impls.n; m++)
        fprintf(f, "%s\"%s.dat\" using %d:xtic(1) title \"%s\" lc rgb \"%s\"", m ? ", \\\n     " : "", C->name,
                2 + 3 * m + 1, C->impls.s[m], kbr_op_colors[m % 10]);
    fprintf(f, "\nunset multiplot\n");
    return ferror(f) ? -1 : 0;
}

/* Shapes and impls of the chart, and whether both kinds of impl have a row. */
static void op_collect(opchart *C)
{
    for (int i = 0; i < C->P->s->n; i++) {
        const kb_row *r = &C->P->s->r[i];
        if (!op_row(C, r)) continue;
        kbr_sl_add(&C->shapes, r->shape);
        kbr_sl_add(&C->impls, r->impl);
    }
    for (int k = 0; k < C->shapes.n; k++)
        for (int m = 0; m < C->impls.n; m++) {
            const kb_row *hit = op_hit(C, C->shapes.s[k], C->impls.s[m]);
            int lib = hit && kb_row_is_lib(hit, C->P->s->has_impl_kind);
            C->any_lib |= lib;
            C->any_hand |= hit && !lib;
            C->any_pct |= hit && isfinite(kbr_row_pct_roof(hit, &C->c));
            C->both |= hit && !lib && isfinite(op_best_lib(C, C->shapes.s[k]));
        }
}

/* 0 written, -1 nothing to draw, KB_EXIT_IO. */
static int write_op_chart(plotctx *P, const char *op, const char *gpu, char *name, size_t namelen)
{
    snprintf(name, namelen, "op_%s_%s", op, gpu);
    opchart C = {.P = P, .op = op, .gpu = gpu, .name = name};
    kbr_ceilings(P->s, gpu, &C.c);
    op_collect(&C);
    int rc = -1;
    if (C.shapes.n) {
        char fn[256];
        snprintf(fn, sizeof fn, "%s.dat", name);
        rc = kbr_plot_file(P, fn, put_op_data, &C);
        snprintf(fn, sizeof fn, "%s.gp", name);
        if (!rc) rc = kbr_plot_file(P, fn, put_op_script, &C);
    }
    kbr_sl_free(&C.shapes);
    kbr_sl_free(&C.impls);
    return rc;
}

/* ---- the pair: B relative to A per operator and configuration ---------------------- */
typedef struct pairchart {
    const plotctx *P;
    const char *name;
    strlist bars;     /* "op\tconfig" per bar (kbr_row_config: loopback never sums with link rows) */
    int nmeas, nsides; /* measured sides of all bars, of 2 x bars */
} pairchart;

/* Each (op, configuration) both GPUs have, in row order. */
static int pair_bars(pairchart *C)
{
    const kb_rowset *s = C->P->s;
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        char cf[48], key[160];
        kbr_pair_sum ps;
        if (kbr_is_ceiling_op(r->op)) continue;
        kbr_row_config(r, cf, sizeof cf);
        snprintf(key, sizeof key, "%s\t%s", r->op, cf);
        if (kbr_sl_find(&C->bars, key) >= 0 || kbr_pair_op(s, r->op, cf, &C->P->o->pair, &ps) != 0) continue;
        if (kbr_sl_add(&C->bars, key) < 0) return -1;
        C->nmeas += ps.n_a_meas + ps.n_b_meas;
        C->nsides += 2 * ps.nshapes;
    }
    return 0;
}

static int put_pair_data(FILE *f, void *arg)
{
    const pairchart *C = arg;
    const char *a = C->P->o->pair.a->slug, *b = C->P->o->pair.b->slug;
    fprintf(f, "# per op and configuration (loopback, EP<n> intra-node, EP<n> across nodes; never mixed),\n"
               "# summed over the shapes both GPUs have; each side:\n"
               "# measured (passed) if present, else another GPU's measured row x (floor here / floor there),\n"
               "# floors of that row's counts at both datasheet ceilings, practical link (kbr_project_us),\n"
               "# else the projected floor at the practical link rate\n"
               "# bar a_rel b_rel a_us b_us ratio nshapes a_measured b_scaled b_measured  (a = %s, b = %s)\n",
            a, b);
    for (int i = 0; i < C->bars.n; i++) {
        char op[96], *cf;
        kbr_pair_sum ps;
        kb_strlcpy(op, C->bars.s[i], sizeof op);
        cf = strchr(op, '\t');
        *cf++ = 0;
        if (kbr_pair_op(C->P->s, op, cf, &C->P->o->pair, &ps) != 0) continue;
        if (*cf) fprintf(f, "\"%s (%s)\"", op, cf);
        else fprintf(f, "%s", op);
        fprintf(f, " 1 %.4f %.6g %.6g %.4f %d %d %d %d\n", ps.b_us / ps.a_us, ps.a_us, ps.b_us, ps.b_us / ps.a_us,
                ps.nshapes, ps.n_a_meas, ps.n_b_scaled, ps.n_b_meas);
    }
    return ferror(f) ? -1 : 0;
}

static int put_pair_script(FILE *f, void *arg)
{
    const pairchart *C = arg;
    const kb_gpu *a = C->P->o->pair.a, *b = C->P->o->pair.b;
    char how[160];
    if (!C->nmeas) snprintf(how, sizeof how, "projected: no bar is measured (roofline floors, practical link rate)");
    else snprintf(how, sizeof how, "%d of %d sides measured, the rest projected from a measured GPU by the "
                                   "roofline-floor ratio or by the model", C->nmeas, C->nsides);
    kbr_gp_preamble(f, C->name, 1300, 750, "time per operator and configuration, one GPU relative to another");
    fprintf(f, "set title \"%s vs %s: time per operator and configuration relative to %s (sum over shapes)\\n%s\"\n"
               "set style data histograms\nset style histogram clustered gap 1\n"
               "set style fill solid 0.85 border -1\nset boxwidth 0.9\nset yrange [0:*]\n"
               "set ylabel \"time relative to %s (1 = same)\"\nset xtics rotate by -25 left\n"
               "set key outside right top\n",
            b->name, a->name, a->slug, how, a->slug);
    fprintf(f, "plot \"%s.dat\" using 2:xtic(1) title \"%s\" lc rgb \"#1e5aa8\", \\\n"
               "     \"%s.dat\" using 3 title \"%s\" lc rgb \"#b22222\", \\\n"
               "     \"%s.dat\" using ($0+0.17):($3):(sprintf(\"x%%.2f\", $6)) with labels offset 0,0.8 font \",10\" notitle\n",
            C->name, a->name, C->name, b->name, C->name);
    return ferror(f) ? -1 : 0;
}

/* "<B>_vs_<A>": 0 written, -1 no (op, configuration) on both GPUs, KB_EXIT_IO. */
static int write_pair_chart(plotctx *P, char *name, size_t namelen)
{
    snprintf(name, namelen, "%s_vs_%s", P->o->pair.b->slug, P->o->pair.a->slug);
    pairchart C = {.P = P, .name = name};
    int rc = pair_bars(&C) ? KB_EXIT_IO : C.bars.n ? 0 : -1;
    char fn[256];
    snprintf(fn, sizeof fn, "%s.dat", name);
    if (!rc) rc = kbr_plot_file(P, fn, put_pair_data, &C);
    snprintf(fn, sizeof fn, "%s.gp", name);
    if (!rc) rc = kbr_plot_file(P, fn, put_pair_script, &C);
    kbr_sl_free(&C.bars);
    return rc;
}

/* ---- the driver ----------------------------------------------------------------- */
static void add_chart(kbr_chart_list *L, const char *name, kbr_chart_kind kind)
{
    if (L->n >= KBR_MAX_CHARTS) return;
    kb_strlcpy(L->c[L->n].name, name, sizeof L->c[0].name);
    L->c[L->n++].kind = kind;
}

/* Folds a writer's answer: 0 -> listed, -1 -> nothing to draw, else the error. */
static int take(int rc, kbr_chart_list *L, const char *name, kbr_chart_kind kind)
{
    if (rc == 0) add_chart(L, name, kind);
    return rc > 0 ? rc : 0;
}

/* Roofline overlay (only with several GPUs) and one per GPU; per-op charts;
 * the pair when both of its GPUs are in the data; bandwidth (zero-FLOP ops)
 * and communication per GPU; the
 * claim charts when their CSVs were given. */
static int write_charts(plotctx *P, kbr_chart_list *L)
{
    char nm[96];
    int rc = 0;
    if (P->gpus.n > 1) rc = take(kbr_write_roofline(P, NULL, nm, sizeof nm), L, nm, KBR_CHART_ROOFLINE);
    for (int g = 0; g < P->gpus.n && !rc; g++)
        rc = take(kbr_write_roofline(P, P->gpus.s[g], nm, sizeof nm), L, nm, KBR_CHART_ROOFLINE);
    for (int o = 0; o < P->ops.n && !rc; o++)
        for (int g = 0; g < P->gpus.n && !rc; g++)
            rc = take(write_op_chart(P, P->ops.s[o], P->gpus.s[g], nm, sizeof nm), L, nm, KBR_CHART_OP);
    const kbr_gpu_pair *pr = &P->o->pair;
    if (!rc && pr->a && pr->b && kbr_sl_find(&P->gpus, pr->a->slug) >= 0 && kbr_sl_find(&P->gpus, pr->b->slug) >= 0)
        rc = take(write_pair_chart(P, nm, sizeof nm), L, nm, KBR_CHART_PAIR);
    for (int g = 0; g < P->gpus.n && !rc; g++)
        rc = take(kbr_write_bandwidth(P, P->gpus.s[g], nm, sizeof nm), L, nm, KBR_CHART_BANDWIDTH);
    for (int g = 0; g < P->gpus.n && !rc && P->comm.n; g++)
        rc = take(kbr_write_comm(P, P->gpus.s[g], nm, sizeof nm), L, nm, KBR_CHART_COMM);
    if (!rc && P->o->claim) rc = take(kbr_write_claim(P, nm, sizeof nm), L, nm, KBR_CHART_CLAIM);
    if (!rc && P->o->sweep) rc = take(kbr_write_sweep(P, nm, sizeof nm), L, nm, KBR_CHART_SWEEP);
    return rc;
}

static int render_charts(plotctx *P, const char *gp, const kbr_chart_list *L)
{
    static const struct { unsigned bit; const char *fmt; } fm[] = {
        {KBR_FMT_PNG, "png"}, {KBR_FMT_SVG, "svg"}, {KBR_FMT_TXT, "txt"}};
    const char *dir = P->o->out_dir;
    for (int i = 0; i < L->n; i++) {
        char script[128];
        snprintf(script, sizeof script, "%s.gp", L->c[i].name);
        for (size_t k = 0; k < sizeof fm / sizeof fm[0]; k++) {
            if (!(P->o->formats & fm[k].bit)) continue;
            if (run_gnuplot(gp, dir, script, fm[k].fmt) != 0) {
                snprintf(P->err, sizeof P->err, "gnuplot failed on %s/%s (fmt=%s)", dir, script, fm[k].fmt);
                return KB_EXIT_IO;
            }
            if (fm[k].bit != KBR_FMT_TXT) printf("wrote %s/%s.%s\n", dir, L->c[i].name, fm[k].fmt);
        }
    }
    return 0;
}

static void collect_lists(plotctx *P)
{
    for (int i = 0; i < P->s->n; i++) {
        const kb_row *r = &P->s->r[i];
        if (!kbr_is_ceiling_op(r->op)) {
            kbr_sl_add(&P->ops, r->op);
            kbr_sl_add(&P->impls, r->impl);
        }
        kbr_sl_add(&P->gpus, r->gpu);
    }
    for (int o = 0; o < P->ops.n; o++)
        if (kbr_is_comm_op(P->s, P->ops.s[o])) kbr_sl_add(&P->comm, P->ops.s[o]);
}

int kbr_plot_render(const kb_rowset *s, const kbr_plot_opts *o, kbr_chart_list *out, char *err, size_t errlen)
{
    static kbr_chart_list scratch;
    kbr_chart_list *L = out ? out : &scratch;
    L->n = 0;
    int claim = (o->claim && o->claim->n) || (o->sweep && o->sweep->n);
    if (s->n == 0 && !claim) { snprintf(err, errlen, "no data rows"); return KB_EXIT_USAGE; }
    const char *gp = kbr_gnuplot_path();
    if (!gp) {
        snprintf(err, errlen, "gnuplot not found (install gnuplot-nox, or set KBENCH_GNUPLOT)");
        return KB_EXIT_IO;
    }
    if (strlen(o->out_dir) > KBR_MAX_DIR) { /* the chart paths below are built in fixed buffers */
        snprintf(err, errlen, "%.60s...: output directory path longer than %d characters", o->out_dir, KBR_MAX_DIR);
        return KB_EXIT_USAGE;
    }
    if (kb_mkdirs(o->out_dir) != 0) {
        snprintf(err, errlen, "%s: cannot create directory: %s", o->out_dir, strerror(errno));
        return KB_EXIT_IO;
    }
    plotctx P = {.s = s, .o = o};
    collect_lists(&P);
    int rc = write_charts(&P, L);
    if (!rc) rc = render_charts(&P, gp, L);
    if (rc) snprintf(err, errlen, "%s", P.err);
    kbr_sl_free(&P.ops);
    kbr_sl_free(&P.impls);
    kbr_sl_free(&P.gpus);
    kbr_sl_free(&P.comm);
    return rc;
}
