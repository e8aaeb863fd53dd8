/* kbr_plot_bw.c - the bandwidth chart of the plot library: the operators that
 * do no FLOPs (hbm, fp8_quant, moe_dispatch, moe_combine, and any other op no
 * row of which counts a FLOP) have no point on the roofline (FLOP per byte is
 * 0) and, unless they move link bytes, none on the communication chart; here
 * they are read as what they are, memory-bound copies:
 *
 *   x   one position per (op, shape), in row order (named per shape up to
 *       BW_MAX_TICS positions, else per operator with its range of positions)
 *   y   achieved GB/s = the op's minimum HBM bytes (`bytes`) / time
 *   y2  % of the HBM roof: GB/s / HBM GB/s x 100 (datasheet; measured when
 *       the GPU has no table row), the same scale as y
 * with the HBM ceilings drawn: datasheet dashed, measured (op hbm copy rows,
 * kbr_ceilings) solid.  Loopback rows of communication ops (one GPU, dim
 * loopback=1: HBM copies, never drawn on comm_<gpu>) are drawn here too.
 * One chart per GPU: bandwidth_<gpu>.{dat,gp} + bandwidth_<gpu>_ceilings.dat.
 * Phases: ops -> positions and blocks -> data, ceilings, script. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/report/kbr_plot_int.h"

typedef struct bw {
    const plotctx *P;
    const char *gpu, *name;
    kbr_ceils c;
    strlist flop_ops; /* ops with a row that counts FLOPs: on the roofline, not here */
    strlist xs;       /* "op shape" (+ " (loopback)") per x position */
    strlist keys;     /* "op impl source" per block, in order of first row */
    strlist impls;    /* the chart's implementations: marker = position here */
    double ymax;
} bw;

static int is_loopback(const kb_row *r)
{
    char cf[48];
    return !strcmp(kbr_row_config(r, cf, sizeof cf), "loopback");
}

/* A drawn row: this GPU, timed, not failed, minimum bytes counted, of a
 * zero-FLOP op that is not communication, or a communication op's loopback row. */
static int bw_point(const bw *C, const kb_row *r)
{
    if (strcmp(r->gpu, C->gpu) || !kb_row_has_time(r) || !strcmp(r->verified, "fail") || !(r->bytes > 0))
        return 0;
    if (kbr_sl_find(&C->P->comm, r->op) >= 0) return is_loopback(r);
    return kbr_sl_find(&C->flop_ops, r->op) < 0;
}

static double bw_gbps(const kb_row *r) { return r->bytes / r->time_us / 1e3; }

static void x_key(char *buf, size_t n, const kb_row *r)
{
    snprintf(buf, n, "%s %s%s", r->op, r->shape, is_loopback(r) ? " (loopback)" : "");
    for (char *q = buf; *q; q++)
        if (*q == '"' || *q == '\\') *q = '_'; /* a gnuplot string in the script */
}

static void block_key(char *buf, size_t n, const kb_row *r)
{
    snprintf(buf, n, "%s %s %s", r->op, r->impl, kb_row_is_measured(r) ? "measured" : "projected");
}

/* The HBM figure % of roof is read against: datasheet, else measured; 0 if none. */
static double roof_gbs(const bw *C)
{
    if (C->c.has_datasheet) return C->c.datasheet.hbm_gbs;
    return (C->c.measured.measured & KB_CEIL_HBM) ? C->c.measured.hbm_gbs : 0;
}

static double pct(double gbps, double roof) { return roof > 0 ? 100 * gbps / roof : NAN; }

static void put_num(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, " %.6g", v);
    else fprintf(f, " NaN");
}

static int put_bw_data(FILE *f, void *arg)
{
    const bw *C = arg;
    const kb_rowset *s = C->P->s;
    double meas = (C->c.measured.measured & KB_CEIL_HBM) ? C->c.measured.hbm_gbs : 0;
    fprintf(f, "# bandwidth on %s: zero-FLOP operators (and loopback rows of communication ops)\n"
               "# x gbps pct_hbm_datasheet pct_hbm_measured bytes time_us op shape impl source\n"
               "# gbps = bytes / time_us / 1000 (the op's minimum HBM bytes); pct = 100 x gbps / HBM GB/s\n"
               "# one block per (op, impl, source); x = position of (op, shape) on the x axis\n\n",
            C->gpu);
    for (int b = 0; b < C->keys.n; b++) {
        fprintf(f, "# block %d: %s\n", b, C->keys.s[b]);
        for (int i = 0; i < s->n; i++) {
            const kb_row *r = &s->r[i];
            char key[200], xk[200];
            if (!bw_point(C, r)) continue;
            block_key(key, sizeof key, r);
            if (strcmp(key, C->keys.s[b])) continue;
            x_key(xk, sizeof xk, r);
            double g = bw_gbps(r);
            fprintf(f, "%d", kbr_sl_find(&C->xs, xk));
            put_num(f, g);
            put_num(f, C->c.has_datasheet ? pct(g, C->c.datasheet.hbm_gbs) : NAN);
            put_num(f, pct(g, meas));
            fprintf(f, " %.17g %.6g %s %s %s %s\n", r->bytes, r->time_us, r->op, r->shape, r->impl,
                    kb_row_is_measured(r) ? "measured" : "projected");
        }
        fprintf(f, "\n\n");
    }
    return ferror(f) ? -1 : 0;
}

static int put_bw_ceilings(FILE *f, void *arg)
{
    const bw *C = arg;
    fprintf(f, "# HBM ceilings of %s, GB/s: source value (measured: best op hbm copy row, kbr_ceilings)\n", C->gpu);
    if (C->c.has_datasheet) fprintf(f, "datasheet %.6g\n", C->c.datasheet.hbm_gbs);
    if (C->c.measured.measured & KB_CEIL_HBM) fprintf(f, "measured %.6g\n", C->c.measured.hbm_gbs);
    return ferror(f) ? -1 : 0;
}

/* More shapes than this: one x tic per operator (the shapes are in the data file). */
#define BW_MAX_TICS 30

/* One tic per operator, in the middle of its positions ("op shape" keys start with the op). */
static void script_op_tics(FILE *f, const bw *C)
{
    int n = 0;
    for (int x = 0; x < C->xs.n; x++) {
        size_t l = strcspn(C->xs.s[x], " ");
        int seen = 0, lo = x, hi = x;
        for (int y = 0; y < x && !seen; y++) seen = !strncmp(C->xs.s[y], C->xs.s[x], l + 1);
        if (seen) continue;
        for (int y = x + 1; y < C->xs.n; y++)
            if (!strncmp(C->xs.s[y], C->xs.s[x], l + 1)) hi = y;
        fprintf(f, "%s\"%.*s (%d..%d)\" %g", n++ ? ", " : "", (int)l, C->xs.s[x], lo, hi, (lo + hi) / 2.0);
    }
}

/* Axes: x positions named by (op, shape); GB/s left, % of the HBM roof right. */
static void script_axes(FILE *f, const bw *C, int nmeas)
{
    double roof = roof_gbs(C);
    fprintf(f, "set title \"Bandwidth on %s: operators without FLOPs, achieved GB/s of their minimum HBM bytes "
               "per shape%s\"\n",
            C->gpu, nmeas ? "" : " - projected, nothing measured");
    fprintf(f, "set xrange [-0.5:%g]\nset xtics nomirror rotate by -30 left font \",9\" (", C->xs.n - 0.5);
    if (C->xs.n <= BW_MAX_TICS)
        for (int x = 0; x < C->xs.n; x++) fprintf(f, "%s\"%s\" %d", x ? ", " : "", C->xs.s[x], x);
    else script_op_tics(f, C);
    fprintf(f, ")\nset yrange [0:%g]\nset ytics nomirror\n"
               "set ylabel \"GB/s (minimum HBM bytes / time)\"\n",
            C->ymax);
    if (roof > 0)
        fprintf(f, "set y2range [0:%g]\nset y2tics\nset y2label \"%% of the HBM roof (%s %.0f GB/s)\"\n",
                100 * C->ymax / roof, C->c.has_datasheet ? "datasheet" : "measured", roof);
    fprintf(f, "set key outside right top vertical Left reverse box\nset bmargin 10\n");
}

static int put_bw_script(FILE *f, void *arg)
{
    const bw *C = arg;
    int nmeas = 0;
    for (int b = 0; b < C->keys.n; b++) nmeas += strstr(C->keys.s[b], " measured") != NULL;
    kbr_gp_preamble(f, C->name, 1400, 850, "bandwidth of the operators without FLOPs: GB/s and % of the HBM roof");
    script_axes(f, C, nmeas);
    fprintf(f, "plot \\\n");
    if (C->c.has_datasheet)
        fprintf(f, "  %g with lines dt 2 lw 2 lc rgb \"#444444\" title \"HBM %.0f GB/s (datasheet)\", \\\n",
                C->c.datasheet.hbm_gbs, C->c.datasheet.hbm_gbs);
    if (C->c.measured.measured & KB_CEIL_HBM)
        fprintf(f, "  %g with lines dt 1 lw 2 lc rgb \"#888888\" title \"HBM %.0f GB/s (measured)\", \\\n",
                C->c.measured.hbm_gbs, C->c.measured.hbm_gbs);
    for (int b = 0; b < C->keys.n; b++) {
        char op[64], impl[64];
        sscanf(C->keys.s[b], "%63s %63s", op, impl);
        int meas = strstr(C->keys.s[b], " measured") != NULL;
        fprintf(f, "  \"%s.dat\" index %d using 1:2 with points pt %d ps 1.8 lw 1.5 lc rgb \"%s\" title \"%s\"%s\n",
                C->name, b, kbr_marker(kbr_sl_find(&C->impls, impl), meas), kbr_op_color(op), C->keys.s[b],
                b + 1 < C->keys.n ? ", \\" : "");
    }
    return ferror(f) ? -1 : 0;
}

/* Ops with a row that counts FLOPs, then the positions, blocks and impls of the drawn rows. */
static int bw_collect(bw *C)
{
    const kb_rowset *s = C->P->s;
    for (int i = 0; i < s->n; i++)
        if (s->r[i].flops > 0 && kbr_sl_add(&C->flop_ops, s->r[i].op) < 0) return -1;
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        char key[200];
        if (!bw_point(C, r)) continue;
        x_key(key, sizeof key, r);
        if (kbr_sl_add(&C->xs, key) < 0 || kbr_sl_add(&C->impls, r->impl) < 0) return -1;
        block_key(key, sizeof key, r);
        if (kbr_sl_add(&C->keys, key) < 0) return -1;
        C->ymax = fmax(C->ymax, bw_gbps(r));
    }
    C->ymax = fmax(C->ymax, fmax(C->c.datasheet.hbm_gbs, C->c.measured.hbm_gbs)) * 1.15;
    return 0;
}

/* "bandwidth_<gpu>": 0 written, -1 nothing to draw, KB_EXIT_IO. */
int kbr_write_bandwidth(plotctx *P, const char *gpu, char *name, size_t namelen)
{
    snprintf(name, namelen, "bandwidth_%s", gpu);
    bw C = {.P = P, .gpu = gpu, .name = name};
    kbr_ceilings(P->s, gpu, &C.c);
    int rc = bw_collect(&C) ? KB_EXIT_IO : C.keys.n ? 0 : -1;
    char fn[256];
    snprintf(fn, sizeof fn, "%s.dat", name);
    if (!rc) rc = kbr_plot_file(P, fn, put_bw_data, &C);
    snprintf(fn, sizeof fn, "%s_ceilings.dat", name);
    if (!rc) rc = kbr_plot_file(P, fn, put_bw_ceilings, &C);
    snprintf(fn, sizeof fn, "%s.gp", name);
    if (!rc) rc = kbr_plot_file(P, fn, put_bw_script, &C);
    kbr_sl_free(&C.flop_ops);
    kbr_sl_free(&C.xs);
    kbr_sl_free(&C.keys);
    kbr_sl_free(&C.impls);
    return rc;
}
