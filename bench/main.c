/* main.c - the `kbench` command line.  See README.md for the contract. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/kb.h"
#include "bench/kb_axis.h"
#include "bench/claim_model.h"
#include "bench/report/kb_cmds.h"
#include "bench/kb_gbench.h"
#include "bench/kb_mpi.h"
#include "bench/kb_run.h"
#include "bench/kb_specs.h"

static const char usage[] =
    "usage: kbench <command> [options]\n"
    "  list    [--op A,B] [--shapes SET] [--verbose] [--json]  operators, implementations, shape sets\n"
    "  run     [--op A,B] [--impl X,Y] [--shapes SET | --shape LABEL,...] [--quick] [--out DIR] [--reps N]\n"
    "          [--flush l2|rotate|none] [--timer cupti|events] [--warmup-ms MS] [--graph] [--benchmark_* ...]\n"
    "          [--hot] [--drop-low-clock]  --hot: launches under 20 us timed as back-to-back batches (warm L2);\n"
    "          --drop-low-clock: samples below 75% of the nominal SM clock left out of the statistics\n"
    "          [--min-time S] [--max-noise PCT] [--min-reps N] [--max-reps N]  adaptive timing instead of --reps:\n"
    "          batches of samples until n >= min-reps (10), summed time >= min-time (0) and cv <= max-noise (0.5%),\n"
    "          else up to max-reps (1000) or 15 s + 2 x min-time (the row's note says so); [--device N] CUDA device\n"
    "          [--isolate none|op|impl|case] [--case-timeout SECONDS] [--resume FILE]\n"
    "                                                   verify and time on the current GPU\n"
    "          --isolate: which cases share a worker process (default impl: one per op and implementation;\n"
    "          none: all in this process); --case-timeout: a case making no progress for this long is killed\n"
    "          (default 60 s + 50x its roofline time; notes 'hang: no progress for N s in PHASE',\n"
    "          'crashed: SIGSEGV in PHASE', 'lost context: cudaError... in PHASE'); --resume FILE: skip the\n"
    "          rows of FILE (a CSV or its .partial) and append the rest to it.  Device spin waits (mbarrier,\n"
    "          EP flags) trap after KB_SPIN_TIMEOUT_MS (build option, default 4000 ms, 0 = unbounded),\n"
    "          printing what they waited for: the case fails with a 'lost context' note.  --counters: one more\n"
    "          launch per case under Nsight Compute (ncu, or $KBENCH_NCU): DRAM and L2 bytes into dram_bytes ...\n"
    "  model   [--gpu h100-sxm,h800-sxm] [--op A,B] [--shapes SET] [--out FILE]\n"
    "                                                   roofline projections, no GPU needed\n"
    "  specs   [--gpu NAME] [--json] [--device N]       the device table with sources\n"
    "  compare BASE.csv NEW.csv [...]                   regression gate (see README)\n"
    "  plot    RESULTS.csv... [...]                     gnuplot roofline and comparison charts\n"
    "  report  RESULTS.csv... [...]                     markdown/HTML report with cost roll-up\n"
    "  claim   [RESULTS.csv...] --out FILE.csv [...]    DeepSeek-V3 cost per GPU type, no GPU needed (README)\n"
    "  help, --help, CMD --help; --version\n"
    "common: --specs FILE (or $KBENCH_SPECS), before or after the command, adds or overrides GPUs from a JSON\n"
    "        file; every option at most once, never with an empty value\n"
    "SET: full (default) | quick | small | all, comma-separated\n"
    "--axis NAME=V | V1,V2,... | LO:HI:xF | LO:HI:+S  (list, run, model; repeatable; one --op): ad-hoc shapes,\n"
    "       the product of the axes over a base shape (--shape LABEL, else the first of --shapes); NAME: a dim\n"
    "       of the op (`kbench list --json`); suffixes K/M/G/T = 2^10/2^20/2^30/2^40\n"
    "exit codes: 0 ok, 1 failure or regression, 2 usage/bad input, 3 no CUDA device, 4 I/O error,\n"
    "            5 device lost (run: no recovery after a hang/crash; rows so far kept, --resume continues)\n";

static int bad(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "kbench%s%s: ", *cmd ? " " : "", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (kbench --help)\n");
    return KB_EXIT_USAGE;
}

static const char *global_specs; /* --specs before the command (take_globals) */
static int load_specs(const char *cmd, const char *path)
{
    if (!path && global_specs) return 0; /* loaded already, in place of $KBENCH_SPECS */
    if (!path) path = getenv("KBENCH_SPECS");
    if (!path || !*path) return 0;
    char err[512];
    if (kb_specs_load(path, err, sizeof err)) {
        fprintf(stderr, "kbench %s: --specs %s\n", cmd, err);
        return -1;
    }
    return 0;
}

enum { O_OP = 1, O_IMPL, O_SHAPES, O_QUICK, O_OUT, O_REPS, O_FLUSH, O_TIMER, O_WARMUP, O_GPU, O_SPECS, O_VERBOSE,
       O_GRAPH, O_SHAPE, O_ISOLATE, O_CASE_TIMEOUT, O_RESUME, O_WORKER_FD, O_WORKER_CEIL, O_WORKER_CASES,
       O_WORKER_PROBE, O_COUNTERS, O_COUNTERS_OFF, O_COUNTERS_CASE, O_HOT, O_DROP_LOW_CLOCK, O_JSON,
       O_MIN_TIME, O_MAX_NOISE, O_MIN_REPS, O_MAX_REPS, O_DEVICE, /* adaptive timing (bench/kb_adapt.h), --device */
       O_AXIS,
       O_END /* one past the last */ };
static const struct option longopts[] = {
    {"op", required_argument, 0, O_OP},         {"impl", required_argument, 0, O_IMPL},
    {"shapes", required_argument, 0, O_SHAPES}, {"quick", no_argument, 0, O_QUICK},
    {"out", required_argument, 0, O_OUT},       {"reps", required_argument, 0, O_REPS},
    {"flush", required_argument, 0, O_FLUSH},   {"timer", required_argument, 0, O_TIMER},
    {"warmup-ms", required_argument, 0, O_WARMUP}, {"gpu", required_argument, 0, O_GPU},
    {"specs", required_argument, 0, O_SPECS},   {"verbose", no_argument, 0, O_VERBOSE},
    {"graph", no_argument, 0, O_GRAPH},        {"shape", required_argument, 0, O_SHAPE},
    {"isolate", required_argument, 0, O_ISOLATE}, {"case-timeout", required_argument, 0, O_CASE_TIMEOUT},
    {"resume", required_argument, 0, O_RESUME},
    {"counters", no_argument, 0, O_COUNTERS}, /* README "Hardware counters" */
    {"hot", no_argument, 0, O_HOT},             {"drop-low-clock", no_argument, 0, O_DROP_LOW_CLOCK},
    {"json", no_argument, 0, O_JSON},
    {"min-time", required_argument, 0, O_MIN_TIME}, {"max-noise", required_argument, 0, O_MAX_NOISE},
    {"min-reps", required_argument, 0, O_MIN_REPS}, {"max-reps", required_argument, 0, O_MAX_REPS},
    {"device", required_argument, 0, O_DEVICE},
    {"axis", required_argument, 0, O_AXIS}, /* README "Ad-hoc shapes and sweeps" (bench/kb_axis.h) */
    /* worker mode (bench/kb_worker.h): not in the usage, the orchestrator's only */
    {"worker-fd", required_argument, 0, O_WORKER_FD}, {"worker-ceil", required_argument, 0, O_WORKER_CEIL},
    {"worker-cases", required_argument, 0, O_WORKER_CASES}, {"worker-probe", no_argument, 0, O_WORKER_PROBE},
    {"counters-off", required_argument, 0, O_COUNTERS_OFF}, {"counters-case", required_argument, 0, O_COUNTERS_CASE},
    {0, 0, 0, 0},
};

/* Which options each command accepts. */
static int allowed(const char *cmd, int o)
{
    switch (o) {
    case O_SPECS: return 1;
    case O_OP: case O_SHAPES: return strcmp(cmd, "specs") != 0;
    case O_AXIS: return strcmp(cmd, "specs") != 0;
    case O_SHAPE: return strcmp(cmd, "specs") != 0; /* list, model: with --axis only (parse_options) */
    case O_GPU: return !strcmp(cmd, "model") || !strcmp(cmd, "specs");
    case O_VERBOSE: return !strcmp(cmd, "list");
    case O_JSON: return !strcmp(cmd, "list") || !strcmp(cmd, "specs");
    case O_OUT: return !strcmp(cmd, "run") || !strcmp(cmd, "model");
    case O_DEVICE: return !strcmp(cmd, "run") || !strcmp(cmd, "specs");
    default: return !strcmp(cmd, "run");
    }
}

/* `kbench CMD --help`: the usage lines of CMD (its line and the indented ones
 * after it) and the common lines, from the one usage text. */
static void cmd_usage(const char *cmd, FILE *f)
{
    size_t cl = strlen(cmd);
    int in = 0;
    fprintf(f, "usage: kbench %s [options]\n", cmd);
    for (const char *p = strchr(usage, '\n') + 1; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) + 1 : strlen(p);
        int is_cmd = len > 2 && p[0] == ' ' && p[1] == ' ' && p[2] != ' ';
        if (p[0] != ' ') in = 1; /* common lines, with their indented continuations */
        else if (is_cmd) in = !strncmp(p + 2, cmd, cl) && p[2 + cl] == ' ';
        if (in) fwrite(p, 1, len, f);
        p += len;
    }
}

/* Commands that need no option parsing of ours: help, version, and the
 * CSV readers (bench/report/, their own parsers).  Returns -1 if cmd is none
 * of these, else its exit code. */
static int simple_command(const char *cmd, int argc, char **argv)
{
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return KB_EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        return kb_print_version();
    }
    /* the readers' own parsers take no --specs: $KBENCH_SPECS (e.g. an l2_gbs for the L2 roof) */
    if ((!strcmp(cmd, "plot") || !strcmp(cmd, "report")) && load_specs(cmd, NULL)) return KB_EXIT_USAGE;
    if (!strcmp(cmd, "compare")) return kb_cmd_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "plot")) return kb_cmd_plot(argc - 1, argv + 1);
    if (!strcmp(cmd, "report")) return kb_cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "claim")) return kb_claim_main(argc - 1, argv + 1);
    return -1;
}

/* What the options of list/run/model/specs say. */
typedef struct cli {
    const char *cmd;
    kb_run_opts ro;
    const char *gpu, *specs, *shapes;
    int quick, verbose, json;
    char *axes[KB_MAX_DIMS]; /* --axis NAME=VALUES, repeatable */
    int n_axes;
} cli;

/* The isolation and worker options of `run`: 0, or the usage exit code. */
/* Keyword options: the value of `arg` in a NULL-terminated table; -1 if absent. */
typedef struct kw { const char *name; int value; } kw;
static const kw isolate_kw[] = {{"none", KB_ISOLATE_NONE}, {"op", KB_ISOLATE_OP}, {"impl", KB_ISOLATE_IMPL},
                                {"case", KB_ISOLATE_CASE}, {NULL, 0}};
static const kw flush_kw[] = {{"l2", KB_FLUSH_L2}, {"none", KB_FLUSH_NONE}, {"rotate", KB_FLUSH_ROTATE}, {NULL, 0}};
static const kw timer_kw[] = {{"cupti", KB_TIMER_CUPTI}, {"events", KB_TIMER_EVENTS}, {NULL, 0}};

static int keyword(const char *arg, const kw *k, int *out)
{
    for (; k->name; k++)
        if (!strcmp(arg, k->name)) {
            *out = k->value;
            return 0;
        }
    return -1;
}

/* A path option (--out, --resume): never empty, never longer than kbench
 * keeps (it is refused, not cut).  0, or the usage exit code after one line. */
static int check_path(const char *cmd, const char *opt, const char *arg)
{
    if (!*arg) {
        fprintf(stderr, "kbench %s: %s: empty path\n", cmd, opt);
        return KB_EXIT_USAGE;
    }
    if (strlen(arg) > KB_PATH_MAX) {
        fprintf(stderr, "kbench %s: %s: path of %zu characters (at most %d)\n", cmd, opt, strlen(arg),
                (int)KB_PATH_MAX);
        return KB_EXIT_USAGE;
    }
    return 0;
}

static int take_run_option(cli *a, int c, const char *arg)
{
    long long n;
    int v;
    switch (c) {
    case O_ISOLATE:
        if (keyword(arg, isolate_kw, &v)) return bad(a->cmd, "--isolate: expected none, op, impl or case, got '%s'", arg);
        a->ro.isolate = (kb_isolate)v;
        break;
    case O_CASE_TIMEOUT:
        if (kb_parse_int(arg, 1, 86400, &n))
            return bad(a->cmd, "--case-timeout: expected whole seconds in 1..86400, got '%s'", arg);
        a->ro.case_timeout = (double)n;
        break;
    case O_RESUME:
        if (check_path(a->cmd, "--resume", arg)) return KB_EXIT_USAGE;
        a->ro.resume = arg;
        break;
    case O_WORKER_FD:
        if (kb_parse_int(arg, 3, 1023, &n)) return bad(a->cmd, "--worker-fd: expected a descriptor, got '%s'", arg);
        a->ro.worker_fd = (int)n;
        break;
    case O_WORKER_CEIL: a->ro.worker_ceil = arg; break;
    case O_WORKER_CASES: a->ro.worker_cases = arg; break;
    case O_WORKER_PROBE: a->ro.worker_probe = 1; break;
    case O_COUNTERS: a->ro.counters = 1; break;
    case O_COUNTERS_OFF: a->ro.counters_off = arg; break;
    case O_COUNTERS_CASE: a->ro.counters_case = arg; break;
    case O_MIN_TIME: case O_MAX_NOISE: case O_MIN_REPS: case O_MAX_REPS: {
        static const char *const name[] = {"--min-time", "--max-noise", "--min-reps", "--max-reps"};
        char err[160];
        if (kb_adapt_option(&a->ro.adapt, name[c - O_MIN_TIME], arg, err, sizeof err)) return bad(a->cmd, "%s", err);
        break;
    }
    case O_DEVICE:
        if (kb_parse_int(arg, 0, 1023, &n))
            return bad(a->cmd, "--device: expected a device index 0..1023, got '%s'", arg);
        a->ro.device = (int)n;
        break;
    }
    return 0;
}

/* One option with its value: 0, or the usage exit code after one line. */
static int take_option(cli *a, int c, const char *arg)
{
    long long n;
    int v;
    switch (c) {
    case O_OP: a->ro.ops = arg; break;
    case O_IMPL: a->ro.impls = arg; break;
    case O_SHAPES: a->shapes = arg; break;
    case O_QUICK: a->quick = 1; break;
    case O_OUT:
        if (check_path(a->cmd, "--out", arg)) return KB_EXIT_USAGE;
        a->ro.out = arg;
        break;
    case O_REPS:
        if (kb_parse_int(arg, 1, 1000000, &n)) return bad(a->cmd, "--reps: expected a positive integer, got '%s'", arg);
        a->ro.reps = (int)n;
        break;
    case O_FLUSH:
        if (keyword(arg, flush_kw, &v)) return bad(a->cmd, "--flush: expected l2, rotate or none, got '%s'", arg);
        a->ro.flush = (kb_flush)v;
        break;
    case O_TIMER:
        if (keyword(arg, timer_kw, &v)) return bad(a->cmd, "--timer: expected cupti or events, got '%s'", arg);
        a->ro.timer = (kb_timer_kind)v;
        break;
    case O_WARMUP:
        if (kb_parse_int(arg, 1, 1000000, &n))
            return bad(a->cmd, "--warmup-ms: expected a positive integer, got '%s'", arg);
        a->ro.warmup_ms = (double)n;
        break;
    case O_GPU: a->gpu = arg; break;
    case O_SPECS:
        if (global_specs) return bad(a->cmd, "option '%s' given twice (before and after the command)", "--specs");
        a->specs = arg;
        break;
    case O_VERBOSE: a->verbose = 1; break;
    case O_JSON: a->json = 1; break;
    case O_GRAPH: a->ro.graph = 1; break;
    case O_HOT: a->ro.hot = 1; break;
    case O_DROP_LOW_CLOCK: a->ro.drop_low_clock = 1; break;
    case O_SHAPE: a->ro.shape_labels = arg; break;
    case O_AXIS:
        if (a->n_axes == KB_MAX_DIMS) return bad(a->cmd, "--axis: more than %s axes", "8");
        a->axes[a->n_axes++] = (char *)arg;
        break;
    default: return take_run_option(a, c, arg);
    }
    return 0;
}

static const char *opt_name(int c)
{
    for (const struct option *o = longopts; o->name; o++)
        if (o->val == c) return o->name;
    return "?";
}

static int takes_value(int c)
{
    for (const struct option *o = longopts; o->name; o++)
        if (o->val == c) return o->has_arg == required_argument;
    return 0;
}

/* getopt over the subcommand's argv, then the defaults that depend on what
 * was given (--quick, --shapes), then the names checked against the registry
 * and the --specs file loaded.  0, or the usage exit code. */
static int parse_options(cli *a, int argc, char **argv)
{
    int c, rc;
    char seen[O_END] = {0};
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == '?') {
            if (takes_value(optopt)) return bad(a->cmd, "option '%s' needs a value", argv[optind - 1]);
            return bad(a->cmd, "unknown option '%s'", argv[optind - 1]);
        }
        if (!allowed(a->cmd, c)) return bad(a->cmd, "option '--%s' does not apply to this command", opt_name(c));
        if (c > 0 && c < O_END && c != O_AXIS && seen[c]++) return bad(a->cmd, "option '--%s' given twice", opt_name(c));
        if (optarg && !*optarg) return bad(a->cmd, "option '--%s' has an empty value", opt_name(c));
        if ((rc = take_option(a, c, optarg))) return rc;
    }
    if (optind < argc) return bad(a->cmd, "unexpected argument '%s'", argv[optind]);
    if (a->shapes) {
        a->ro.sets = kb_parse_sets(a->shapes);
        if (!a->ro.sets) return bad(a->cmd, "--shapes: expected full, quick, small or all, got '%s'", a->shapes);
    } else if (a->quick) {
        a->ro.sets = KB_SET_QUICK;
    }
    char err[160];
    if (a->ro.adapt.on && seen[O_REPS])
        return bad(a->cmd, "--reps: fixed repetitions do not combine with %s",
                   "--min-time/--max-noise/--min-reps/--max-reps");
    if (kb_adapt_resolve(&a->ro.adapt, err, sizeof err)) return bad(a->cmd, "%s", err);
    if (!a->ro.reps) a->ro.reps = a->quick ? 10 : 30;
    a->ro.specs = a->specs;
    if (kb_check_op_list(a->ro.ops) || kb_check_impl_list(a->ro.ops, a->ro.impls) ||
        kb_check_shape_list(a->ro.ops, a->ro.shape_labels))
        return KB_EXIT_USAGE;
    /* --axis: the product over the base shape replaces the op's table; --shape named that base */
    if (a->n_axes && kb_axes_install(a->cmd, a->ro.ops, a->ro.shape_labels, a->ro.sets, a->axes, a->n_axes))
        return KB_EXIT_USAGE;
    if (a->n_axes) a->ro.shape_labels = NULL;
    else if (a->ro.shape_labels && strcmp(a->cmd, "run"))
        return bad(a->cmd, "option '%s' does not apply to this command without --axis", "--shape");
    return load_specs(a->cmd, a->specs) ? KB_EXIT_USAGE : 0;
}

/* Global options before the command (`kbench --specs FILE model ...`): taken
 * out of argv and applied as if given after it.  0, or the usage exit code. */
static int take_globals(int *argc, char **argv)
{
    while (*argc > 1 && !strncmp(argv[1], "--specs", 7) && (argv[1][7] == 0 || argv[1][7] == '=')) {
        int eq = argv[1][7] == '=', used = eq ? 1 : 2;
        const char *v = eq ? argv[1] + 8 : *argc > 2 ? argv[2] : NULL;
        if (!v) return bad("", "option '%s' needs a value", "--specs");
        if (!*v) return bad("", "option '%s' has an empty value", "--specs");
        if (global_specs) return bad("", "option '%s' given twice", "--specs");
        global_specs = v;
        memmove(argv + 1, argv + 1 + used, (size_t)(*argc - used) * sizeof *argv); /* keeps argv[argc] = NULL */
        *argc -= used;
    }
    return 0;
}

static int kb_main(int argc, char **argv)
{
    if (take_globals(&argc, argv)) return KB_EXIT_USAGE;
    if (argc < 2) {
        fputs(usage, stderr);
        return KB_EXIT_USAGE;
    }
    if (global_specs && load_specs(argv[1], global_specs)) return KB_EXIT_USAGE;
    const char *cmd = argv[1];
    int rc = simple_command(cmd, argc, argv);
    if (rc >= 0) return rc;
    if (strcmp(cmd, "list") && strcmp(cmd, "run") && strcmp(cmd, "model") && strcmp(cmd, "specs"))
        return bad("", "unknown command '%s'", cmd);

    /* argv for the subcommand: argv[0] = command name */
    int sargc = argc - 1;
    char **sargv = argv + 1;
    /* `kbench CMD --help`: ours, that command's lines (Google Benchmark's parser would print its own usage) */
    for (int i = 1; i < sargc; i++)
        if (!strcmp(sargv[i], "--help") || !strcmp(sargv[i], "-h") || !strcmp(sargv[i], "-help")) {
            cmd_usage(cmd, stdout);
            return KB_EXIT_OK;
        }
    /* the --benchmark_* flags as given, for the workers (their JSON goes where the orchestrator says) */
    static char *gb_args[64];
    int n_gb = 0;
    for (int i = 1; i < sargc && n_gb < 64; i++)
        if (!strncmp(sargv[i], "--benchmark_", 12) && strncmp(sargv[i], "--benchmark_out", 15)) gb_args[n_gb++] = sargv[i];
    if (!strcmp(cmd, "run") && kb_gb_init(&sargc, sargv)) return KB_EXIT_USAGE;

    cli a = {.cmd = cmd,
             .ro = {.sets = KB_SET_FULL, .flush = KB_FLUSH_L2, .timer = KB_TIMER_CUPTI, .warmup_ms = 100,
                    .worker_fd = -1, .device = -1, .gb_args = gb_args, .n_gb_args = n_gb}};
    if ((rc = parse_options(&a, sargc, sargv))) return rc;
    if (a.json && !strcmp(cmd, "list")) return kb_list_json(a.ro.ops, a.ro.sets);
    if (a.json) return kb_specs_json(a.gpu);
    if (!strcmp(cmd, "list")) return kb_list(a.ro.ops, a.ro.sets, a.verbose || a.shapes != NULL || a.n_axes);
    if (!strcmp(cmd, "specs")) return kb_specs_print(a.gpu, a.ro.device);
    if (!strcmp(cmd, "model")) return kb_model(a.gpu, a.ro.ops, a.ro.sets, a.ro.out);
    return kb_run(&a.ro);
}

/* MPI launch (KB_WITH_MPI builds under mpirun/srun only): init/finalize around
 * the command; a no-op otherwise (bench/kb_mpi.h). */
int main(int argc, char **argv)
{
    if (kb_mpi_init(&argc, &argv)) return KB_EXIT_IO;
    int rc = kb_main(argc, argv);
    kb_mpi_finalize();
    return rc;
}
