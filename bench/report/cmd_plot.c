/* cmd_plot.c - `kbench plot [RESULTS.csv...] [--out plots/] [--format png,svg,txt]
 *               [--pair A,B] [--claim CLAIM.csv] [--sweep SWEEP.csv]`
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
 *   <B>_vs_<A>.gp          per op and configuration (loopback, EP<n> intra-node,
 *                          EP<n> across nodes), GPU B's time relative to GPU A's
 *                          (--pair A,B, default KBR_PAIR_DEFAULT: h800-sxm_vs_h100-sxm)
 *   bandwidth_<gpu>.gp     operators without FLOPs (hbm, fp8_quant, moe_dispatch,
 *                          moe_combine) and loopback rows: GB/s and % of the HBM
 *                          roof per shape, HBM ceilings datasheet and measured
 *   comm_<gpu>.gp          communication ops: link GB/s vs message size with the
 *                          nominal and practical link ceilings (not on the roofline)
 *   claim.gp               --claim: GPU-hours per 1e12 tokens per scenario and GPU
 *   claim_sweep.gp         --sweep: step time vs NVLink (and IB) GB/s, GPUs marked
 * RESULTS.csv may be left out when --claim or --sweep is given.
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
    "usage: kbench plot [RESULTS.csv...] [--out plots/] [--format png,svg,txt] [--pair " KBR_PAIR_DEFAULT "] "
    "[--claim CLAIM.csv] [--sweep SWEEP.csv]";

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

typedef struct plot_args { const char *out, *formats, *pair, *claim, *sweep; int first; } plot_args;

/* Options into a and o.  0, KBR_OPTS_HELP or KB_EXIT_USAGE (line printed). */
static int parse_args(int argc, char **argv, plot_args *a, kbr_plot_opts *o)
{
    const kbr_opt opts[] = {
        {"out", 'o', KBR_OPT_STR, &a->out, 0, 0, NULL, NULL},
        {"format", 'f', KBR_OPT_STR, &a->formats, 0, 0, NULL, NULL},
        {"pair", 0, KBR_OPT_STR, &a->pair, 0, 0, NULL, NULL},
        {"claim", 0, KBR_OPT_STR, &a->claim, 0, 0, NULL, NULL},
        {"sweep", 0, KBR_OPT_STR, &a->sweep, 0, 0, NULL, NULL},
    };
    int rc = kbr_opts_parse("plot", argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), usage, &a->first);
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
    if (a->first >= argc && !a->claim && !a->sweep) {
        fprintf(stderr, "kbench plot: no RESULTS.csv (or --claim / --sweep) given\n");
        return KB_EXIT_USAGE;
    }
    o->out_dir = a->out;
    return 0;
}

/* The rows, then the claim CSVs; 0 or an exit code with err. */
static int load_all(int argc, char **argv, const plot_args *a, kb_rowset *s, kbr_claim *c, kbr_sweep *w, char *err,
                    size_t errlen)
{
    static const char *const need[] = {"flops", "bytes", NULL};
    int rc = 0;
    for (int i = a->first; i < argc && !rc; i++) rc = kb_rows_load(s, argv[i], need, err, errlen);
    if (!rc) rc = kb_rows_check_enums(s, err, errlen);
    if (!rc && a->first < argc && s->n == 0) {
        snprintf(err, errlen, "no data rows in the given CSV file%s", argc - a->first > 1 ? "s" : "");
        rc = KB_EXIT_USAGE;
    }
    if (!rc && a->claim) rc = kbr_claim_load(c, a->claim, err, errlen);
    if (!rc && a->sweep) rc = kbr_sweep_load(w, a->sweep, err, errlen);
    return rc;
}

int kb_cmd_plot(int argc, char **argv)
{
    plot_args a = {.out = "plots", .formats = "png,svg", .pair = KBR_PAIR_DEFAULT};
    kbr_plot_opts o = {0};
    int rc = parse_args(argc, argv, &a, &o);
    if (rc) return rc == KBR_OPTS_HELP ? 0 : rc;
    kb_rowset s = {0};
    kbr_claim c = {0};
    kbr_sweep w = {0};
    char err[1500];
    rc = load_all(argc, argv, &a, &s, &c, &w, err, sizeof err);
    o.claim = a.claim ? &c : NULL;
    o.sweep = a.sweep ? &w : NULL;
    if (!rc) rc = kbr_plot_render(&s, &o, NULL, err, sizeof err);
    if (rc) fprintf(stderr, "kbench plot: %s\n", err);
    kb_rows_free(&s);
    kbr_claim_free(&c);
    kbr_sweep_free(&w);
    return rc;
}
