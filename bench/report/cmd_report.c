/* cmd_report.c - `kbench report RESULTS.csv... [--claim CLAIM.csv] [--sweep SWEEP.csv]
 *                 [--out results/report.md] [--no-plots] [--plots DIR] [--pair A,B]
 *                 [--ep-prefill 32] [--ep-decode 64] [--tokens 4096] [--batch 128] [--ctx 4096]`
 *
 * Writes a Markdown report and an HTML twin (same name, .html) with the plots
 * (rendered by the plot library, kbr_plot_render, into <out dir>/plots/ or
 * --plots) embedded as data: URIs.  The sections are a table (below), each a
 * function of the loaded state (kbr_report.h): what DeepSeek-V3 costs on
 * H800, H100 and H200 (first; from `kbench claim`'s CSV, --claim, with its
 * charts, --sweep; without --claim it says how to make one); verification failures;
 * run metadata; best implementation per (op, shape, GPU) with TFLOP/s, GB/s,
 * % of roof and speedup over the best library reference; the --pair GPUs side
 * by side (only the (op, shape) rows that differ, a summary per op, every row
 * in pair_<B>_vs_<A>.csv beside the report); the DeepSeek-V3 kernel roll-up (kbr_rollup.h) per GPU; the plots.  Both
 * files are written whole or not at all: a failure leaves the previous report.
 * Exit: 0 ok, 2 bad input/usage, 4 I/O error. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/report/kb_cmds.h"
#include "bench/report/kbr_opts.h"
#include "bench/report/kbr_report.h"

/* The report, in order. */
static const struct section {
    const char *name;
    void (*fn)(kbr_report *R);
} sections[] = {
    {"title", kbr_sec_title},       {"claim", kbr_sec_claim},
    {"failures", kbr_sec_failures}, {"metadata", kbr_sec_metadata},
    {"best", kbr_sec_best},         {"traffic", kbr_sec_traffic},   {"pair", kbr_sec_pair},
    {"rollup", kbr_sec_rollup},
    {"plots", kbr_sec_plots},
};

#define KB_STR_(x) #x
#define KB_STR(x) KB_STR_(x)

static const char usage[] =
    "usage: kbench report RESULTS.csv... [--claim CLAIM.csv] [--sweep SWEEP.csv] [--out results/report.md] [--no-plots] "
    "[--plots DIR] [--pair " KBR_PAIR_DEFAULT "] [--ep-prefill N] [--ep-decode N] [--tokens N] [--batch N] [--ctx N]";

typedef struct report_args {
    const char *out, *plots, *pair;
    int no_plots, first;
    char md[1100], html[1100], dir[1024];
} report_args;

static void defaults(kbr_report *R, report_args *a)
{
    *a = (report_args){.out = "results/report.md", .pair = KBR_PAIR_DEFAULT};
    kbr_cfg_default(&R->cfg);
}

/* Options, then what they must satisfy together.  0 / KBR_OPTS_HELP / 2. */
static int parse_args(int argc, char **argv, kbr_report *R, report_args *a)
{
    const kbr_opt opts[] = {
        {"out", 'o', KBR_OPT_STR, &a->out, 0, 0, NULL, NULL},
        {"claim", 0, KBR_OPT_STR, &R->claim_path, 0, 0, NULL, NULL},
        {"sweep", 0, KBR_OPT_STR, &R->sweep_path, 0, 0, NULL, NULL},
        {"no-plots", 0, KBR_OPT_FLAG, &a->no_plots, 0, 0, NULL, NULL},
        {"plots", 0, KBR_OPT_STR, &a->plots, 0, 0, NULL, NULL},
        {"pair", 0, KBR_OPT_STR, &a->pair, 0, 0, NULL, NULL},
        {"ep-prefill", 0, KBR_OPT_INT, &R->cfg.ep_prefill, 1, 256, NULL, NULL},
        {"ep-decode", 0, KBR_OPT_INT, &R->cfg.ep_decode, 1, 256, NULL, NULL},
        {"tokens", 0, KBR_OPT_INT, &R->cfg.prefill_tokens, 1, 1 << 20, NULL, NULL},
        {"batch", 0, KBR_OPT_INT, &R->cfg.decode_batch, 1, 1 << 16, NULL, NULL},
        {"ctx", 0, KBR_OPT_INT, &R->cfg.decode_ctx, 1, 1 << 22, NULL, NULL},
    };
    int rc = kbr_opts_parse("report", argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), usage, &a->first);
    if (rc) return rc;
    char err[256];
    const char *bad = NULL;
    size_t ol = strlen(a->out);
    if (256 % R->cfg.ep_prefill || 256 % R->cfg.ep_decode) bad = "--ep-prefill/--ep-decode must divide the 256 experts";
    else if (a->first >= argc) bad = "no RESULTS.csv given";
    else if (ol < 4 || strcmp(a->out + ol - 3, ".md")) bad = "--out must name a .md file";
    else if (ol > KBR_MAX_DIR || (a->plots && strlen(a->plots) > KBR_MAX_DIR))
        bad = "--out or --plots path longer than " KB_STR(KBR_MAX_DIR) " characters";
    else if (kbr_pair_parse(a->pair, &R->pair, err, sizeof err)) bad = err;
    if (bad) fprintf(stderr, "kbench report: %s\n", bad);
    return bad ? KB_EXIT_USAGE : 0;
}

/* DIR/NAME.md, DIR/NAME.html, DIR/plots (or --plots). */
static void out_paths(kbr_report *R, report_args *a)
{
    size_t ol = strlen(a->out);
    kb_strlcpy(a->md, a->out, sizeof a->md);
    snprintf(a->html, sizeof a->html, "%.*s.html", (int)(ol - 3), a->out);
    kb_strlcpy(a->dir, a->out, sizeof a->dir);
    char *slash = strrchr(a->dir, '/');
    if (slash) *slash = 0;
    else snprintf(a->dir, sizeof a->dir, ".");
    if (a->plots) kb_strlcpy(R->plots, a->plots, sizeof R->plots);
    else snprintf(R->plots, sizeof R->plots, "%s/plots", a->dir);
}

/* The plots folder as the report links it: relative to the report's folder. */
static void plots_link(kbr_report *R, const char *dir)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    snprintf(R->relp, sizeof R->relp, "plots");
    if (!realpath(dir, ra) || !realpath(R->plots, rb)) return;
    size_t i = 0, cut = 0, l = 0;
    while (ra[i] && ra[i] == rb[i]) { if (ra[i] == '/') cut = i; i++; }
    if (!ra[i] && (rb[i] == '/' || !rb[i])) cut = i; /* plots inside dir (or equal) */
    R->relp[0] = 0;
    for (const char *q = ra + cut; *q && l < sizeof R->relp; q++)
        if (*q == '/') l += (size_t)snprintf(R->relp + l, sizeof R->relp - l, "../");
    if (l < sizeof R->relp)
        l += (size_t)snprintf(R->relp + l, sizeof R->relp - l, "%s", rb[cut] == '/' ? rb + cut + 1 : rb + cut);
    if (l >= sizeof R->relp) kb_strlcpy(R->relp, R->plots, sizeof R->relp); /* too deep to link relatively: as given */
    if (!R->relp[0]) snprintf(R->relp, sizeof R->relp, ".");
}

/* The plot library on the rows already loaded; a failure is a note, not an error. */
static void render_plots(kbr_report *R, const report_args *a)
{
    char err[1400];
    kbr_plot_opts o = {.out_dir = R->plots, .formats = KBR_FMT_PNG | KBR_FMT_SVG, .pair = R->pair,
                       .claim = R->claim_path ? &R->claim : NULL, .sweep = R->sweep_path ? &R->sweep : NULL};
    if (a->no_plots) { snprintf(R->plot_note, sizeof R->plot_note, "Plots not rendered (--no-plots)."); return; }
    if (!kbr_gnuplot_path()) { snprintf(R->plot_note, sizeof R->plot_note, "Plots not rendered: gnuplot not found."); return; }
    if (kbr_plot_render(&R->s, &o, &R->charts, err, sizeof err) == 0) { R->plotted = 1; return; }
    snprintf(R->plot_note, sizeof R->plot_note, "Plots not rendered: %s.", err);
    fprintf(stderr, "kbench report: plots: %s\n", err);
}

static int write_report(kbr_report *R, const report_args *a)
{
    char err[1400];
    if (doc_open(&R->d, a->md, a->html, "kbench report", err, sizeof err)) {
        fprintf(stderr, "kbench report: %s\n", err);
        return KB_EXIT_IO;
    }
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) sections[i].fn(R);
    if (doc_commit(&R->d, err, sizeof err)) {
        fprintf(stderr, "kbench report: %s: %s\n", a->md, err);
        return KB_EXIT_IO;
    }
    printf("wrote %s and %s\n", a->md, a->html);
    return 0;
}

/* The pair section's full table beside the report (before it: the report names it). */
static int write_pair_csv(const kbr_report *R, const report_args *a)
{
    char name[160], path[1300], err[1400];
    kbr_pair_csv_name(&R->pair, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", a->dir, name);
    if (kbr_pair_csv_write(R, path, err, sizeof err) == KB_EXIT_IO) {
        fprintf(stderr, "kbench report: %s\n", err);
        return KB_EXIT_IO;
    }
    return 0;
}

/* --claim and --sweep; a file that cannot be read gets the command that writes it. */
static int load_claim(kbr_report *R, char *err, size_t errlen)
{
    int rc = 0;
    if (R->claim_path) rc = kbr_claim_load(&R->claim, R->claim_path, err, errlen);
    if (!rc && R->sweep_path) rc = kbr_sweep_load(&R->sweep, R->sweep_path, err, errlen);
    if (rc == KB_EXIT_IO && strlen(err) + 48 < errlen)
        strcat(err, " (`kbench claim --out FILE` writes it)");
    return rc;
}

static int run_report(kbr_report *R, report_args *a, int argc, char **argv)
{
    char err[1200];
    int rc = 0;
    for (int i = a->first; i < argc && !rc; i++) rc = kb_rows_load(&R->s, argv[i], NULL, err, sizeof err);
    if (!rc) rc = kb_rows_check_enums(&R->s, err, sizeof err);
    if (!rc) rc = load_claim(R, err, sizeof err);
    if (rc) { fprintf(stderr, "kbench report: %s\n", err); return rc; }
    out_paths(R, a);
    if (kb_mkdirs(a->dir) != 0 || (!a->no_plots && kb_mkdirs(R->plots) != 0)) {
        fprintf(stderr, "kbench report: %s: cannot create directory: %s\n", a->dir, strerror(errno));
        return KB_EXIT_IO;
    }
    render_plots(R, a);
    plots_link(R, a->dir);
    if ((rc = write_pair_csv(R, a)) != 0) return rc;
    return write_report(R, a);
}

int kb_cmd_report(int argc, char **argv)
{
    kbr_report *R = calloc(1, sizeof *R); /* the chart list is large: not on the stack */
    report_args a;
    if (!R) return KB_EXIT_IO;
    defaults(R, &a);
    int rc = parse_args(argc, argv, R, &a);
    if (rc == KBR_OPTS_HELP) rc = 0;
    else if (!rc) rc = run_report(R, &a, argc, argv);
    kb_rows_free(&R->s);
    kbr_claim_free(&R->claim);
    kbr_sweep_free(&R->sweep);
    free(R);
    return rc;
}
