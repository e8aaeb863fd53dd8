/* cmd_plot.c - `kbench plot RESULTS.csv... [--out plots/] [--format png,svg,txt]
 *               [--pair A,B]`
 *
 * Reads result CSVs only (measured and/or projected rows) and writes, into the
 * --out directory, one gnuplot script (NAME.gp) plus its data files (NAME*.dat)
 * per chart, then renders each with gnuplot (the plot library, kbr_plot.h,
 * which `kbench report` calls too):
 *
 *   roofline.gp            every GPU in the data overlaid (when several)
 *   roofline_<gpu>.gp      one per GPU: ceilings (datasheet dashed, measured
 *                          solid) and a point per (op, impl, shape)
 *   op_<op>_<gpu>.gp       measured rows of one op: speedup of each hand-written
 *                          impl over the best library reference, % of roofline
 *   <B>_vs_<A>.gp          per op, GPU B's time relative to GPU A's (--pair A,B,
 *                          default KBR_PAIR_DEFAULT: h800-sxm_vs_h100-sxm)
 *
 * --format txt renders with gnuplot's dumb terminal to stdout.
 * Exit: 0 ok, 2 bad input/usage, 4 I/O error or gnuplot missing. */
#include <stdio.h>
#include <string.h>

#include "bench/report/csv_table.h"
#include "bench/report/kb_cmds.h"
#include "bench/report/kbr_opts.h"
#include "bench/report/kbr_plot.h"

static const char usage[] =
    "usage: kbench plot RESULTS.csv... [--out plots/] [--format png,svg,txt] [--pair " KBR_PAIR_DEFAULT "]";

/* "png,svg" -> KBR_FMT_PNG | KBR_FMT_SVG; 0 for an unknown name. */
static unsigned parse_formats(const char *arg, char *bad, size_t badlen)
{
    static const struct { const char *name; unsigned bit; } fm[] = {
        {"png", KBR_FMT_PNG}, {"svg", KBR_FMT_SVG}, {"txt", KBR_FMT_TXT}};
    char buf[128];
    unsigned bits = 0;
    if (strlen(arg) >= sizeof buf) { snprintf(bad, badlen, "%.40s...", arg); return 0; }
    kb_strlcpy(buf, arg, sizeof buf);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        unsigned b = 0;
        for (size_t k = 0; k < sizeof fm / sizeof fm[0]; k++)
            if (!strcmp(t, fm[k].name)) b = fm[k].bit;
        if (!b) { kb_strlcpy(bad, t, badlen); return 0; }
        bits |= b;
    }
    return bits;
}

typedef struct plot_args { const char *out, *formats, *pair; int first; } plot_args;

/* Options into a and o.  0, KBR_OPTS_HELP or KB_EXIT_USAGE (line printed). */
static int parse_args(int argc, char **argv, plot_args *a, kbr_plot_opts *o)
{
    const kbr_opt opts[] = {
        {"out", 'o', KBR_OPT_STR, &a->out, 0, 0, NULL, NULL},
        {"format", 'f', KBR_OPT_STR, &a->formats, 0, 0, NULL, NULL},
        {"pair", 0, KBR_OPT_STR, &a->pair, 0, 0, NULL, NULL},
    };
    int rc = kbr_opts_parse("plot", argc, argv, opts, 3, usage, &a->first);
    if (rc) return rc;
    char bad[128] = "", err[256];
    if (!(o->formats = parse_formats(a->formats, bad, sizeof bad))) {
        fprintf(stderr, "kbench plot: unknown format '%s' (png, svg, txt)\n", bad);
        return KB_EXIT_USAGE;
    }
    if (kbr_pair_parse(a->pair, &o->pair, err, sizeof err)) {
        fprintf(stderr, "kbench plot: %s\n", err);
        return KB_EXIT_USAGE;
    }
    if (a->first >= argc) {
        fprintf(stderr, "kbench plot: no RESULTS.csv given\n");
        return KB_EXIT_USAGE;
    }
    o->out_dir = a->out;
    return 0;
}

int kb_cmd_plot(int argc, char **argv)
{
    plot_args a = {.out = "plots", .formats = "png,svg", .pair = KBR_PAIR_DEFAULT};
    kbr_plot_opts o = {0};
    int rc = parse_args(argc, argv, &a, &o);
    if (rc) return rc == KBR_OPTS_HELP ? 0 : rc;
    static const char *const need[] = {"flops", "bytes", NULL};
    kb_rowset s = {0};
    char err[1500];
    for (int i = a.first; i < argc && !rc; i++) rc = kb_rows_load(&s, argv[i], need, err, sizeof err);
    if (!rc) rc = kb_rows_check_enums(&s, err, sizeof err);
    if (!rc && s.n == 0) {
        snprintf(err, sizeof err, "no data rows in the given CSV file%s", argc - a.first > 1 ? "s" : "");
        rc = KB_EXIT_USAGE;
    }
    if (!rc) rc = kbr_plot_render(&s, &o, NULL, err, sizeof err);
    if (rc) fprintf(stderr, "kbench plot: %s\n", err);
    kb_rows_free(&s);
    return rc;
}
