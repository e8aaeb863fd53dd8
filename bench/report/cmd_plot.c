/* cmd_plot.c - `kbench plot RESULTS.csv... [--out plots/] [--format png,svg,txt]`
 *
 * Reads result CSVs only (measured and/or projected rows) and writes, into the
 * --out directory, one gnuplot script (NAME.gp) plus its data files (NAME*.dat)
 * per chart, then renders each script with `gnuplot -e 'fmt="png"' NAME.gp`
 * (run inside the --out directory, so a user can edit and re-render by hand):
 *
 *   roofline.gp            every GPU in the data overlaid (H100 and H800 ...)
 *   roofline_<gpu>.gp      one per GPU
 *       log-log FLOP/byte vs TFLOP/s; ceilings FP8 + BF16 tensor cores, HBM,
 *       and the network roof (FLOP per link byte x link bandwidth) for
 *       communication ops; datasheet ceilings dashed, measured ones solid
 *       (op `hbm` impl *copy* -> gbps; op `peak` impls *fp8* / *bf16* ->
 *       tflops); a point per (op, impl, shape): colour = op, marker = impl,
 *       filled = measured, hollow = projected; legend outside the data.
 *   op_<op>_<gpu>.gp       measured rows of one op: speedup of each
 *       hand-written impl over the best library reference per shape (bars) and
 *       % of roofline per shape and impl.
 *   h800_vs_h100.gp        per op, H800 time relative to H100 (sum over the
 *       shapes both have): measured H100 vs projected H800.
 *
 * --format txt renders with gnuplot's dumb terminal to stdout.
 * Exit: 0 ok, 2 bad input/usage, 4 I/O error or gnuplot missing. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/report/csv_table.h"
#include "bench/report/kb_cmds.h"
#include "bench/report/kbr_plot.h"
#include "bench/kb_specs.h"

/* ---- ceilings ------------------------------------------------------------ */
struct ceil {
    double fp8_tflops, bf16_tflops, hbm_gbs, link_gbs_nominal, link_gbs_practical;
};

/* Datasheet ceilings from the device table (bench/kb_specs.h, which also
 * takes the user's --specs file). */
static int ceilings_for(const char *gpu_slug, struct ceil *out)
{
    memset(out, 0, sizeof *out);
    const kb_gpu *g = kb_gpu_find(gpu_slug);
    if (!g) return -1;
    out->fp8_tflops = g->f[KB_F_FP8].v;
    out->bf16_tflops = g->f[KB_F_BF16].v;
    out->hbm_gbs = g->f[KB_F_HBM_GBS].v;
    out->link_gbs_nominal = g->f[KB_F_LINK_NOMINAL].v;
    out->link_gbs_practical = g->f[KB_F_LINK_PRACTICAL].v;
    return 0;
}

int kbr_ceilings(const kb_rowset *s, const char *gpu, kbr_ceil *c)
{
    memset(c, 0, sizeof *c);
    struct ceil d;
    c->has_datasheet = ceilings_for(gpu, &d) == 0;
    if (c->has_datasheet) {
        c->ds_fp8 = d.fp8_tflops;
        c->ds_bf16 = d.bf16_tflops;
        c->ds_hbm = d.hbm_gbs;
        c->ds_link = d.link_gbs_nominal;
        c->ds_link_practical = d.link_gbs_practical;
    }
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        if (strcmp(r->gpu, gpu) || !kb_row_is_measured(r) || strcmp(r->verified, "fail") == 0 ||
            !kb_row_has_time(r))
            continue;
        /* the ceilings `kbench run` measures: hbm copy_* shapes (HBM, not the L2
         * shapes), peak fp8_* / bf16_* shapes */
        if (!strcmp(r->op, "hbm") && !strncmp(r->shape, "copy", 4)) {
            double g = isfinite(r->gbps) ? r->gbps : r->bytes / r->time_us / 1e3;
            if (isfinite(g) && g > c->m_hbm) c->m_hbm = g;
        } else if (!strcmp(r->op, "peak")) {
            double t = isfinite(r->tflops) ? r->tflops : r->flops / r->time_us / 1e6;
            if (!isfinite(t)) continue;
            if (!strncmp(r->shape, "fp8", 3) && t > c->m_fp8) c->m_fp8 = t;
            if (!strncmp(r->shape, "bf16", 4) && t > c->m_bf16) c->m_bf16 = t;
        }
    }
    return c->has_datasheet || c->m_hbm > 0 || c->m_fp8 > 0 || c->m_bf16 > 0 ? 0 : -1;
}

/* ---- small helpers --------------------------------------------------------- */
static const char *const op_colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
static const char *const gpu_colors[] = {"#000000", "#b22222", "#1e5aa8", "#2e8b57"};
/* (hollow, filled) gnuplot point types: circle, square, up/down triangle, diamond, pentagon */
static const int marker_pt[][2] = {{6, 7}, {4, 5}, {8, 9}, {10, 11}, {12, 13}, {14, 15}};
#define NMARK ((int)(sizeof marker_pt / sizeof marker_pt[0]))

typedef struct strlist { char **s; int n; } strlist;
static int sl_find(const strlist *l, const char *s)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->s[i], s)) return i;
    return -1;
}
static int sl_add(strlist *l, const char *s)
{
    int i = sl_find(l, s);
    if (i >= 0) return i;
    char **p = realloc(l->s, (size_t)(l->n + 1) * sizeof *p);
    if (!p) return -1;
    l->s = p;
    l->s[l->n] = strdup(s);
    return l->n++;
}
static void sl_free(strlist *l)
{
    for (int i = 0; i < l->n; i++) free(l->s[i]);
    free(l->s);
    l->s = NULL;
    l->n = 0;
}

static FILE *open_out(const char *dir, const char *name, char *err, size_t errlen)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    return f;
}

int kbr_mkdirs(const char *dir)
{
    char tmp[1024];
    kb_strlcpy(tmp, dir, sizeof tmp);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0777) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST) return -1;
    return 0;
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
        snprintf(found, sizeof found, "%.*s/gnuplot", (int)len, path);
        if (len && access(found, X_OK) == 0) return found;
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

/* Terminal preamble shared by every script: fmt = png | svg | txt. */
static void gp_preamble(FILE *f, const char *name, int w, int h, const char *what)
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

/* ---- points ------------------------------------------------------------------ */
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

static int is_point(const kb_row *r)
{
    if (!strcmp(r->op, "hbm") || !strcmp(r->op, "peak")) return 0;
    if (!strcmp(r->verified, "fail")) return 0;
    double x = kbr_row_intensity(r), y = kbr_row_tflops(r);
    return isfinite(x) && x > 0 && isfinite(y) && y > 0;
}

typedef struct plotctx {
    const kb_rowset *s;
    const char *dir;
    strlist ops, impls, gpus;
    char err[1400];
} plotctx;

/* ---- roofline ------------------------------------------------------------- */
static void ceil_lines(FILE *cf, const char *gpu, const kbr_ceil *c, double xmin, double xmax,
                       int *blocks, char kind[][16], char srcs[][16], double vals[])
{
    /* one block per ceiling line: "x y" pairs, two points each */
    for (int m = 0; m < 2; m++) { /* 0 datasheet, 1 measured */
        double hbm = m ? (c->m_hbm > 0 ? c->m_hbm : c->ds_hbm) : c->ds_hbm;
        double pk[2] = {m ? c->m_fp8 : c->ds_fp8, m ? c->m_bf16 : c->ds_bf16};
        const char *pn[2] = {"fp8", "bf16"};
        const char *src = m ? "measured" : "datasheet";
        if (!(hbm > 0)) continue;
        double top = fmax(pk[0], pk[1]);
        if (!(top > 0)) top = m ? fmax(c->ds_fp8, c->ds_bf16) : 0;
        if (m ? c->m_hbm > 0 : 1) {
            double xr = top > 0 ? top * 1e3 / hbm : xmax;
            fprintf(cf, "# ceiling gpu=%s kind=hbm_gbs value=%.6g source=%s\n%.6g %.6g\n%.6g %.6g\n\n\n",
                    gpu, hbm, src, xmin, xmin * hbm / 1e3, xr, xr * hbm / 1e3);
            snprintf(kind[*blocks], 16, "HBM");
            snprintf(srcs[*blocks], 16, "%s", src);
            vals[(*blocks)++] = hbm;
        }
        for (int k = 0; k < 2; k++) {
            if (!(pk[k] > 0)) continue;
            double xr = pk[k] * 1e3 / hbm;
            fprintf(cf, "# ceiling gpu=%s kind=%s_tflops value=%.6g source=%s\n%.6g %.6g\n%.6g %.6g\n\n\n",
                    gpu, pn[k], pk[k], src, xr, pk[k], xmax, pk[k]);
            snprintf(kind[*blocks], 16, "%s", k ? "BF16" : "FP8");
            snprintf(srcs[*blocks], 16, "%s", src);
            vals[(*blocks)++] = pk[k];
        }
        if (!m && c->ds_link > 0 && c->ds_fp8 > 0) {
            double xr = c->ds_fp8 * 1e3 / c->ds_link;
            fprintf(cf, "# ceiling gpu=%s kind=link_gbs value=%.6g source=datasheet\n%.6g %.6g\n%.6g %.6g\n\n\n",
                    gpu, c->ds_link, xmin, xmin * c->ds_link / 1e3, xr, xr * c->ds_link / 1e3);
            snprintf(kind[*blocks], 16, "network");
            snprintf(srcs[*blocks], 16, "datasheet");
            vals[(*blocks)++] = c->ds_link;
        }
    }
}

/* gpu == NULL: every GPU overlaid. */
static int write_roofline(plotctx *P, const char *gpu, char *name, size_t namelen)
{
    const kb_rowset *s = P->s;
    if (gpu) snprintf(name, namelen, "roofline_%s", gpu);
    else snprintf(name, namelen, "roofline");
    char fn[256];
    /* range */
    double xlo = INFINITY, xhi = 1000, ylo = 1e9, yhi = 0;
    int npts = 0;
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        if ((gpu && strcmp(r->gpu, gpu)) || !is_point(r)) continue;
        double x = kbr_row_intensity(r), y = kbr_row_tflops(r);
        xlo = fmin(xlo, x);
        xhi = fmax(xhi, x);
        ylo = fmin(ylo, y);
        yhi = fmax(yhi, y);
        npts++;
    }
    kbr_ceil cs[16];
    int ng = 0;
    const char *gl[16];
    for (int g = 0; g < P->gpus.n && ng < 16; g++) {
        if (gpu && strcmp(P->gpus.s[g], gpu)) continue;
        if (kbr_ceilings(s, P->gpus.s[g], &cs[ng]) != 0) continue;
        gl[ng++] = P->gpus.s[g];
    }
    for (int g = 0; g < ng; g++) {
        double top = fmax(fmax(cs[g].ds_fp8, cs[g].m_fp8), fmax(cs[g].ds_bf16, cs[g].m_bf16));
        double hb = fmax(cs[g].ds_hbm, cs[g].m_hbm);
        yhi = fmax(yhi, top);
        if (top > 0 && hb > 0) xhi = fmax(xhi, top * 1e3 / hb);
    }
    if (!isfinite(xlo)) xlo = 1;
    double xmin = pow(10, floor(log10(xlo / 2))), xmax = pow(10, ceil(log10(xhi * 1.5)));
    for (int g = 0; g < ng; g++) {
        double lb = cs[g].ds_link > 0 ? cs[g].ds_link : (cs[g].ds_hbm > 0 ? cs[g].ds_hbm : cs[g].m_hbm);
        if (lb > 0) ylo = fmin(ylo, xmin * lb / 1e3);
    }
    if (!(ylo < 1e9)) ylo = 1e-3;
    double ymin = pow(10, floor(log10(ylo))), ymax = pow(10, ceil(log10(fmax(yhi, ymin * 10) * 2)));

    /* points: one block per (gpu, op, impl, source) */
    snprintf(fn, sizeof fn, "%s_points.dat", name);
    FILE *pf = open_out(P->dir, fn, P->err, sizeof P->err);
    if (!pf) return KB_EXIT_IO;
    fprintf(pf, "# roofline points: intensity_flop_per_byte tflops shape gpu op impl source\n"
                "# one block (index) per (gpu, op, impl, source); see %s.gp\n\n", name);
    typedef struct blk { int op, impl, measured; char gpu[32]; } blk;
    blk *blocks = malloc((size_t)(s->n + 1) * sizeof *blocks);
    if (!blocks) { fclose(pf); return KB_EXIT_IO; }
    int nb = 0;
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        if ((gpu && strcmp(r->gpu, gpu)) || !is_point(r)) continue;
        int op = sl_find(&P->ops, r->op), im = sl_find(&P->impls, r->impl), me = kb_row_is_measured(r);
        int seen = 0;
        for (int b = 0; b < nb && !seen; b++)
            seen = blocks[b].op == op && blocks[b].impl == im && blocks[b].measured == me &&
                   !strcmp(blocks[b].gpu, r->gpu);
        if (seen) continue;
        blk *B = &blocks[nb++];
        B->op = op;
        B->impl = im;
        B->measured = me;
        kb_strlcpy(B->gpu, r->gpu, sizeof B->gpu);
        fprintf(pf, "# block %d: gpu=%s op=%s impl=%s source=%s\n", nb - 1, r->gpu, r->op, r->impl,
                me ? "measured" : "projected");
        for (int j = i; j < s->n; j++) {
            const kb_row *q = &s->r[j];
            if (strcmp(q->gpu, r->gpu) || strcmp(q->op, r->op) || strcmp(q->impl, r->impl) ||
                kb_row_is_measured(q) != me || !is_point(q))
                continue;
            fprintf(pf, "%.6g %.6g %s %s %s %s %s\n", kbr_row_intensity(q), kbr_row_tflops(q),
                    q->shape, q->gpu, q->op, q->impl, me ? "measured" : "projected");
        }
        fprintf(pf, "\n\n");
    }
    if (fclose(pf) != 0) { free(blocks); return KB_EXIT_IO; }

    /* ceilings */
    snprintf(fn, sizeof fn, "%s_ceilings.dat", name);
    FILE *cf = open_out(P->dir, fn, P->err, sizeof P->err);
    if (!cf) { free(blocks); return KB_EXIT_IO; }
    fprintf(cf, "# roofline ceilings: x (FLOP/byte) y (TFLOP/s); one block per line segment\n"
                "# HBM: y = x * GB/s / 1000; tensor cores: y = peak; network: y = x * link GB/s / 1000\n\n");
    int cb[16];
    char ckind[16][16][16], csrc[16][16][16];
    double cval[16][16];
    for (int g = 0; g < ng; g++) {
        cb[g] = 0;
        ceil_lines(cf, gl[g], &cs[g], xmin, xmax, &cb[g], ckind[g], csrc[g], cval[g]);
    }
    if (fclose(cf) != 0) { free(blocks); return KB_EXIT_IO; }

    /* script */
    snprintf(fn, sizeof fn, "%s.gp", name);
    FILE *f = open_out(P->dir, fn, P->err, sizeof P->err);
    if (!f) { free(blocks); return KB_EXIT_IO; }
    gp_preamble(f, name, 1500, 900, gpu ? "roofline of one GPU" : "roofline, GPUs overlaid");
    fprintf(f, "set title \"Roofline%s%s: %d points (colour = operator, marker = implementation, "
               "filled = measured, hollow = projected)\"\n",
            gpu ? " - " : " - ", gpu ? gpu : "all GPUs overlaid", npts);
    fprintf(f, "set logscale xy\nset xrange [%g:%g]\nset yrange [%g:%g]\n", xmin, xmax, ymin, ymax);
    fprintf(f, "set xlabel \"arithmetic intensity (FLOP / byte of HBM; network roof: FLOP / byte over links)\"\n"
               "set ylabel \"TFLOP/s\"\nset format x \"%%g\"\nset format y \"%%g\"\n"
               "set key outside right top vertical Left reverse samplen 3 spacing 1.1 box\n");
    /* ceiling labels (one per distinct kind/value/source), just right of the ridge */
    int nlab = 0;
    for (int g = 0; g < ng; g++)
        for (int b = 0; b < cb[g]; b++) {
            const char *k = ckind[g][b];
            if (!strcmp(k, "HBM") || !strcmp(k, "network")) continue;
            int dup = 0;
            for (int g2 = 0; g2 <= g && !dup; g2++)
                for (int b2 = 0; b2 < (g2 < g ? cb[g2] : b) && !dup; b2++)
                    dup = !strcmp(ckind[g2][b2], k) && !strcmp(csrc[g2][b2], csrc[g][b]) &&
                          fabs(cval[g2][b2] - cval[g][b]) < 1e-9;
            if (dup) continue;
            double hb = !strcmp(csrc[g][b], "measured") && cs[g].m_hbm > 0 ? cs[g].m_hbm : cs[g].ds_hbm;
            double xr = hb > 0 ? cval[g][b] * 1e3 / hb : xmin;
            fprintf(f, "set label %d \"%s %.0f TFLOP/s (%s)\" at %g,%g left front font \",9\" tc rgb \"%s\"\n",
                    ++nlab, k, cval[g][b], csrc[g][b], xr * 1.15, cval[g][b] * 1.12, gpu_colors[g % 4]);
        }
    fprintf(f, "plot \\\n");
    /* ceilings: dashed datasheet (dt 2), solid measured; network roof dotted-dashed */
    for (int g = 0; g < ng; g++)
        for (int b = 0; b < cb[g]; b++) {
            int ds = !strcmp(csrc[g][b], "datasheet");
            int net = !strcmp(ckind[g][b], "network");
            char title[160];
            if (net) snprintf(title, sizeof title, "%s network roof, link %.0f GB/s/dir (datasheet)", gl[g], cval[g][b]);
            else if (!strcmp(ckind[g][b], "HBM"))
                snprintf(title, sizeof title, "%s HBM %.0f GB/s (%s)", gl[g], cval[g][b], csrc[g][b]);
            else snprintf(title, sizeof title, "%s %s %.0f TFLOP/s (%s)", gl[g], ckind[g][b], cval[g][b], csrc[g][b]);
            int idx = 0;
            for (int g2 = 0; g2 < g; g2++) idx += cb[g2];
            /* later GPUs drawn thinner on top, so identical ceilings stay visible */
            fprintf(f, "  \"%s_ceilings.dat\" index %d with lines lw %.1f dt %s lc rgb \"%s\" title \"%s\", \\\n",
                    name, idx + b, (net ? 1.5 : 3.5) / (1 + g), net ? "4" : ds ? "2" : "1", gpu_colors[g % 4], title);
        }
    for (int b = 0; b < nb; b++) {
        int pt = marker_pt[blocks[b].impl % NMARK][blocks[b].measured];
        fprintf(f, "  \"%s_points.dat\" index %d using 1:2 with points pt %d ps 1.6 lw 1.5 lc rgb \"%s\" notitle, \\\n",
                name, b, pt, op_colors[blocks[b].op % 10]);
    }
    /* legend: operators (colour), implementations (marker), fill meaning */
    fprintf(f, "  keyentry with points pt -1 lc rgb \"white\" title \"operators:\", \\\n");
    for (int o = 0; o < P->ops.n; o++) {
        int used = 0;
        for (int b = 0; b < nb && !used; b++) used = blocks[b].op == o;
        if (used)
            fprintf(f, "  keyentry with points pt 7 ps 1.5 lc rgb \"%s\" title \"%s\", \\\n",
                    op_colors[o % 10], P->ops.s[o]);
    }
    fprintf(f, "  keyentry with points pt -1 lc rgb \"white\" title \"implementations:\", \\\n");
    for (int m = 0; m < P->impls.n; m++) {
        int used = 0;
        for (int b = 0; b < nb && !used; b++) used = blocks[b].impl == m;
        if (used)
            fprintf(f, "  keyentry with points pt %d ps 1.5 lc rgb \"#333333\" title \"%s\", \\\n",
                    marker_pt[m % NMARK][1], P->impls.s[m]);
    }
    fprintf(f, "  keyentry with points pt 7 ps 1.5 lc rgb \"#333333\" title \"filled = measured\", \\\n"
               "  keyentry with points pt 6 ps 1.5 lc rgb \"#333333\" title \"hollow = projected\"\n");
    free(blocks);
    return fclose(f) != 0 ? KB_EXIT_IO : 0;
}

/* ---- per-op charts (measured rows of one GPU) ----------------------------------- */
double kbr_row_pct_roof(const kb_row *r, const kbr_ceil *c)
{
    if (isfinite(r->pct_roof)) return r->pct_roof;
    double hbm = c->m_hbm > 0 ? c->m_hbm : c->ds_hbm;
    int fp8 = strstr(r->dtype, "e4m3") || strstr(r->dtype, "fp8");
    double pk = fp8 ? (c->m_fp8 > 0 ? c->m_fp8 : c->ds_fp8) : (c->m_bf16 > 0 ? c->m_bf16 : c->ds_bf16);
    if (!kb_row_has_time(r)) return NAN;
    if (r->link_bytes > 0 && c->ds_link > 0) /* communication: % of nominal link bandwidth */
        return 100 * (r->link_bytes / r->time_us / 1e3) / c->ds_link;
    if (r->flops > 0 && r->bytes > 0 && pk > 0 && hbm > 0) {
        double att = fmin(pk, r->flops / r->bytes * hbm / 1e3);
        return 100 * (r->flops / r->time_us / 1e6) / att;
    }
    if (r->bytes > 0 && hbm > 0) return 100 * (r->bytes / r->time_us / 1e3) / hbm;
    return NAN;
}

static int write_op_chart(plotctx *P, const char *op, const char *gpu, char *name, size_t namelen)
{
    const kb_rowset *s = P->s;
    strlist shapes = {0}, impls = {0};
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        if (strcmp(r->op, op) || strcmp(r->gpu, gpu) || !kb_row_is_measured(r) || !kb_row_is_pass(r) ||
            !kb_row_has_time(r))
            continue;
        sl_add(&shapes, r->shape);
        sl_add(&impls, r->impl);
    }
    if (!shapes.n) { sl_free(&shapes); sl_free(&impls); return -1; }
    kbr_ceil c;
    kbr_ceilings(s, gpu, &c);
    snprintf(name, namelen, "op_%s_%s", op, gpu);
    char fn[256];
    snprintf(fn, sizeof fn, "%s.dat", name);
    FILE *df = open_out(P->dir, fn, P->err, sizeof P->err);
    if (!df) { sl_free(&shapes); sl_free(&impls); return KB_EXIT_IO; }
    /* per shape: for each impl time_us, pct_roof, speedup over best library ref */
    fprintf(df, "# %s on %s, measured rows that passed verification\n# shape", op, gpu);
    for (int m = 0; m < impls.n; m++)
        fprintf(df, " %s_time_us %s_pct_roof %s_speedup_vs_lib", impls.s[m], impls.s[m], impls.s[m]);
    fprintf(df, "\n");
    int any_lib = 0, any_hand = 0;
    for (int k = 0; k < shapes.n; k++) {
        double best_lib = INFINITY;
        for (int i = 0; i < s->n; i++) {
            const kb_row *r = &s->r[i];
            if (!strcmp(r->op, op) && !strcmp(r->gpu, gpu) && !strcmp(r->shape, shapes.s[k]) &&
                kb_row_is_measured(r) && kb_row_is_pass(r) && kb_row_has_time(r) &&
                kb_row_is_lib(r, s->has_impl_kind))
                best_lib = fmin(best_lib, r->time_us);
        }
        fprintf(df, "%s", shapes.s[k]);
        for (int m = 0; m < impls.n; m++) {
            const kb_row *hit = NULL;
            for (int i = 0; i < s->n; i++) {
                const kb_row *r = &s->r[i];
                if (!strcmp(r->op, op) && !strcmp(r->gpu, gpu) && !strcmp(r->shape, shapes.s[k]) &&
                    !strcmp(r->impl, impls.s[m]) && kb_row_is_measured(r) && kb_row_is_pass(r) &&
                    kb_row_has_time(r))
                    hit = r;
            }
            if (!hit) { fprintf(df, " NaN NaN NaN"); continue; }
            int lib = kb_row_is_lib(hit, s->has_impl_kind);
            any_lib |= lib;
            any_hand |= !lib;
            double sp = (!lib && isfinite(best_lib)) ? best_lib / hit->time_us : NAN;
            double pr = kbr_row_pct_roof(hit, &c);
            fprintf(df, " %.6g", hit->time_us);
            if (isfinite(pr)) fprintf(df, " %.4g", pr); else fprintf(df, " NaN");
            if (isfinite(sp)) fprintf(df, " %.4g", sp); else fprintf(df, " NaN");
        }
        fprintf(df, "\n");
    }
    fclose(df);
    snprintf(fn, sizeof fn, "%s.gp", name);
    FILE *f = open_out(P->dir, fn, P->err, sizeof P->err);
    if (!f) { sl_free(&shapes); sl_free(&impls); return KB_EXIT_IO; }
    gp_preamble(f, name, 1300, 950, "per-operator speedup over the library reference and % of roofline");
    int two = any_lib && any_hand;
    fprintf(f, "set style data histograms\nset style histogram clustered gap 1\n"
               "set style fill solid 0.85 border -1\nset boxwidth 0.9\n"
               "set xtics rotate by -25 left font \",9\"\nset key outside right top\n"
               "set yrange [0:*]\nset multiplot layout %d,1 title \"%s on %s (measured)%s\"\n", two ? 2 : 1,
            op, gpu, two ? "" : " - no speedup panel: needs both hand-written and library rows");
    if (two) {
        fprintf(f, "set title \"speedup of hand-written kernels over the best library reference (>1 = faster)\"\n"
                   "set ylabel \"speedup (x)\"\n"
                   "set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb \"#444444\" front\n"
                   "plot ");
        int first = 1;
        for (int m = 0; m < impls.n; m++) {
            const kb_row *probe = NULL;
            for (int i = 0; i < s->n && !probe; i++)
                if (!strcmp(s->r[i].impl, impls.s[m]) && !strcmp(s->r[i].op, op)) probe = &s->r[i];
            if (!probe || kb_row_is_lib(probe, s->has_impl_kind)) continue;
            fprintf(f, "%s\"%s.dat\" using %d:xtic(1) title \"%s\" lc rgb \"%s\"", first ? "" : ", \\\n     ",
                    name, 2 + 3 * m + 2, impls.s[m], op_colors[m % 10]);
            first = 0;
        }
        fprintf(f, "\n");
    }
    fprintf(f, "unset arrow 1\nset title \"%% of roofline per shape (attainable = min(peak, intensity x HBM bandwidth))\"\n"
               "set ylabel \"%% of roof\"\nset yrange [0:110]\nplot ");
    for (int m = 0; m < impls.n; m++)
        fprintf(f, "%s\"%s.dat\" using %d:xtic(1) title \"%s\" lc rgb \"%s\"", m ? ", \\\n     " : "", name,
                2 + 3 * m + 1, impls.s[m], op_colors[m % 10]);
    fprintf(f, "\nunset multiplot\n");
    sl_free(&shapes);
    sl_free(&impls);
    return fclose(f) != 0 ? KB_EXIT_IO : 0;
}

/* ---- H800 vs H100 --------------------------------------------------------------- */
/* Best time for (op, shape) on gpu: measured pass rows first, then projected.
 * *src: "measured" | "projected". */
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

int kbr_h800_vs_h100(const kb_rowset *s, const char *op, kbr_pair *out)
{
    memset(out, 0, sizeof *out);
    strlist shapes = {0};
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->r[i].op, op)) sl_add(&shapes, s->r[i].shape);
    for (int k = 0; k < shapes.n; k++) {
        const char *sh = shapes.s[k];
        double h_meas = kbr_best_time(s, op, sh, "h100-sxm", 1, NULL);
        double h_proj = kbr_best_time(s, op, sh, "h100-sxm", 0, NULL);
        double e_meas = kbr_best_time(s, op, sh, "h800-sxm", 1, NULL);
        double e_proj = kbr_best_time(s, op, sh, "h800-sxm", 0, NULL);
        double h = isfinite(h_meas) ? h_meas : h_proj, e;
        if (!isfinite(h)) continue;
        if (isfinite(e_meas)) { e = e_meas; out->n_e_meas++; }
        else if (isfinite(h_meas) && isfinite(h_proj) && isfinite(e_proj) && h_proj > 0) {
            e = h_meas * e_proj / h_proj; /* measured H100 scaled by the roofline floor ratio */
            out->n_e_scaled++;
        } else if (isfinite(e_proj)) { e = e_proj; out->n_e_proj++; }
        else continue;
        if (isfinite(h_meas)) out->n_h_meas++;
        out->h100_us += h;
        out->h800_us += e;
        out->nshapes++;
    }
    sl_free(&shapes);
    return out->nshapes ? 0 : -1;
}

static int write_h800_vs_h100(plotctx *P, char *name, size_t namelen)
{
    snprintf(name, namelen, "h800_vs_h100");
    char fn[256];
    snprintf(fn, sizeof fn, "%s.dat", name);
    FILE *df = open_out(P->dir, fn, P->err, sizeof P->err);
    if (!df) return KB_EXIT_IO;
    fprintf(df, "# per op, summed over the shapes both GPUs have:\n"
                "# H100 = best measured (passed) time, else projected floor;\n"
                "# H800 = measured if present, else measured H100 x (H800 floor / H100 floor), else H800 floor\n"
                "# op h100_rel h800_rel h100_us h800_us ratio nshapes h100_measured h800_scaled\n");
    int n = 0;
    for (int o = 0; o < P->ops.n; o++) {
        kbr_pair pr;
        if (!strcmp(P->ops.s[o], "hbm") || !strcmp(P->ops.s[o], "peak")) continue;
        if (kbr_h800_vs_h100(P->s, P->ops.s[o], &pr) != 0) continue;
        fprintf(df, "%s 1 %.4f %.6g %.6g %.4f %d %d %d\n", P->ops.s[o], pr.h800_us / pr.h100_us, pr.h100_us,
                pr.h800_us, pr.h800_us / pr.h100_us, pr.nshapes, pr.n_h_meas, pr.n_e_scaled);
        n++;
    }
    fclose(df);
    if (!n) return -1;
    snprintf(fn, sizeof fn, "%s.gp", name);
    FILE *f = open_out(P->dir, fn, P->err, sizeof P->err);
    if (!f) return KB_EXIT_IO;
    gp_preamble(f, name, 1300, 750, "H800 vs H100 time per operator");
    fprintf(f, "set title \"H800 SXM vs H100 SXM: time per operator relative to H100 (sum over shapes)\\n"
               "H100 measured where available; H800 projected (measured H100 x roofline-floor ratio)\"\n"
               "set style data histograms\nset style histogram clustered gap 1\n"
               "set style fill solid 0.85 border -1\nset boxwidth 0.9\nset yrange [0:*]\n"
               "set ylabel \"time relative to H100 (1 = same)\"\nset xtics rotate by -25 left\n"
               "set key outside right top\n"
               "plot \"%s.dat\" using 2:xtic(1) title \"H100 SXM\" lc rgb \"#1e5aa8\", \\\n"
               "     \"%s.dat\" using 3 title \"H800 SXM\" lc rgb \"#b22222\", \\\n"
               "     \"%s.dat\" using ($0+0.17):($3):(sprintf(\"x%%.2f\", $6)) with labels offset 0,0.8 font \",10\" notitle\n",
            name, name, name);
    return fclose(f) != 0 ? KB_EXIT_IO : 0;
}

/* ---- the command ------------------------------------------------------------------ */
static void usage_line(void)
{
    fprintf(stderr, "usage: kbench plot RESULTS.csv... [--out plots/] [--format png,svg,txt]\n");
}

int kb_cmd_plot(int argc, char **argv)
{
    const char *out = "plots", *formats = "png,svg";
    static const struct option lo[] = {{"out", required_argument, 0, 'o'},
                                       {"format", required_argument, 0, 'f'},
                                       {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:f:h", lo, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'f': formats = optarg; break;
        case 'h': usage_line(); return 0;
        case ':':
            fprintf(stderr, "kbench plot: option '%s' needs a value\n", argv[optind - 1]);
            return KB_EXIT_USAGE;
        default:
            fprintf(stderr, "kbench plot: unknown option '%s'\n", argv[optind - 1]);
            return KB_EXIT_USAGE;
        }
    }
    int want_png = 0, want_svg = 0, want_txt = 0;
    {
        char buf[128];
        kb_strlcpy(buf, formats, sizeof buf);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (!strcmp(t, "png")) want_png = 1;
            else if (!strcmp(t, "svg")) want_svg = 1;
            else if (!strcmp(t, "txt")) want_txt = 1;
            else {
                fprintf(stderr, "kbench plot: unknown format '%s' (png, svg, txt)\n", t);
                return KB_EXIT_USAGE;
            }
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "kbench plot: no RESULTS.csv given\n");
        return KB_EXIT_USAGE;
    }
    const char *gp = kbr_gnuplot_path();
    if (!gp) {
        fprintf(stderr, "kbench plot: gnuplot not found (install gnuplot-nox, or set KBENCH_GNUPLOT)\n");
        return KB_EXIT_IO;
    }
    static const char *const need[] = {"flops", "bytes", NULL};
    kb_rowset s = {0};
    plotctx P = {.s = &s, .dir = out};
    int rc = 0;
    for (int i = optind; i < argc && !rc; i++) rc = kb_rows_load(&s, argv[i], need, P.err, sizeof P.err);
    if (rc) { fprintf(stderr, "kbench plot: %s\n", P.err); kb_rows_free(&s); return rc; }
    if (s.n == 0) {
        fprintf(stderr, "kbench plot: no data rows in the given CSV file%s\n", argc - optind > 1 ? "s" : "");
        kb_rows_free(&s);
        return KB_EXIT_USAGE;
    }
    if (kbr_mkdirs(out) != 0) {
        fprintf(stderr, "kbench plot: %s: cannot create directory: %s\n", out, strerror(errno));
        kb_rows_free(&s);
        return KB_EXIT_IO;
    }
    for (int i = 0; i < s.n; i++) {
        if (strcmp(s.r[i].op, "hbm") && strcmp(s.r[i].op, "peak")) sl_add(&P.ops, s.r[i].op);
        if (strcmp(s.r[i].op, "hbm") && strcmp(s.r[i].op, "peak")) sl_add(&P.impls, s.r[i].impl);
        sl_add(&P.gpus, s.r[i].gpu);
    }
    char names[256][96];
    int nn = 0;
    char nm[96];
    /* roofline: overlay (only when several GPUs) + one per GPU */
    if (P.gpus.n > 1) {
        rc = write_roofline(&P, NULL, nm, sizeof nm);
        if (!rc) kb_strlcpy(names[nn++], nm, sizeof names[0]);
    }
    for (int g = 0; g < P.gpus.n && !rc && nn < 250; g++) {
        rc = write_roofline(&P, P.gpus.s[g], nm, sizeof nm);
        if (!rc) kb_strlcpy(names[nn++], nm, sizeof names[0]);
    }
    for (int o = 0; o < P.ops.n && !rc; o++) {
        if (!strcmp(P.ops.s[o], "hbm") || !strcmp(P.ops.s[o], "peak")) continue;
        for (int g = 0; g < P.gpus.n && !rc && nn < 250; g++) {
            int r2 = write_op_chart(&P, P.ops.s[o], P.gpus.s[g], nm, sizeof nm);
            if (r2 == 0) kb_strlcpy(names[nn++], nm, sizeof names[0]);
            else if (r2 > 0) rc = r2;
        }
    }
    if (!rc && sl_find(&P.gpus, "h100-sxm") >= 0 && sl_find(&P.gpus, "h800-sxm") >= 0) {
        int r2 = write_h800_vs_h100(&P, nm, sizeof nm);
        if (r2 == 0) kb_strlcpy(names[nn++], nm, sizeof names[0]);
        else if (r2 > 0) rc = r2;
    }
    if (rc) fprintf(stderr, "kbench plot: %s\n", P.err);
    for (int i = 0; i < nn && !rc; i++) {
        char script[128];
        snprintf(script, sizeof script, "%s.gp", names[i]);
        const char *fm[3] = {want_png ? "png" : NULL, want_svg ? "svg" : NULL, want_txt ? "txt" : NULL};
        for (int k = 0; k < 3 && !rc; k++) {
            if (!fm[k]) continue;
            if (run_gnuplot(gp, out, script, fm[k]) != 0) {
                fprintf(stderr, "kbench plot: gnuplot failed on %s/%s (fmt=%s)\n", out, script, fm[k]);
                rc = KB_EXIT_IO;
            } else if (k < 2) {
                printf("wrote %s/%s.%s\n", out, names[i], fm[k]);
            }
        }
    }
    sl_free(&P.ops);
    sl_free(&P.impls);
    sl_free(&P.gpus);
    kb_rows_free(&s);
    return rc;
}
