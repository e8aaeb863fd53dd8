/* main.c - the `kbench` command line.  See README.md for the contract. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/kb.h"
#include "bench/report/kb_cmds.h"
#include "bench/kb_gbench.h"
#include "bench/kb_mpi.h"
#include "bench/kb_run.h"
#include "bench/kb_specs.h"

static const char usage[] =
    "usage: kbench <command> [options]\n"
    "  list    [--op A,B] [--shapes SET] [--verbose]    operators, implementations, shape sets\n"
    "  run     [--op A,B] [--impl X,Y] [--shapes SET | --shape LABEL,...] [--quick] [--out DIR] [--reps N]\n"
    "          [--flush l2|rotate|none] [--timer cupti|events] [--warmup-ms MS] [--graph] [--benchmark_* ...]\n"
    "                                                   verify and time on the current GPU\n"
    "  model   [--gpu h100-sxm,h800-sxm] [--op A,B] [--shapes SET] [--out FILE]\n"
    "                                                   roofline projections, no GPU needed\n"
    "  specs   [--gpu NAME]                             the device table with sources\n"
    "  compare BASE.csv NEW.csv [...]                   regression gate (see README)\n"
    "  plot    RESULTS.csv... [...]                     gnuplot roofline and comparison charts\n"
    "  report  RESULTS.csv... [...]                     markdown/HTML report with cost roll-up\n"
    "common: --specs FILE (or $KBENCH_SPECS) adds or overrides GPUs from a JSON file\n"
    "SET: full (default) | quick | small | all, comma-separated\n"
    "exit codes: 0 ok, 1 failure or regression, 2 usage/bad input, 3 no CUDA device, 4 I/O error\n";

static int bad(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "kbench %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (kbench --help)\n");
    return KB_EXIT_USAGE;
}

static int load_specs(const char *cmd, const char *path)
{
    if (!path) path = getenv("KBENCH_SPECS");
    if (!path || !*path) return 0;
    char err[512];
    if (kb_specs_load(path, err, sizeof err)) {
        fprintf(stderr, "kbench %s: --specs %s\n", cmd, err);
        return -1;
    }
    return 0;
}

static int parse_pos_int(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v <= 0 || v > 1000000) return -1;
    *out = (int)v;
    return 0;
}

enum { O_OP = 1, O_IMPL, O_SHAPES, O_QUICK, O_OUT, O_REPS, O_FLUSH, O_TIMER, O_WARMUP, O_GPU, O_SPECS, O_VERBOSE,
       O_GRAPH, O_SHAPE };
static const struct option longopts[] = {
    {"op", required_argument, 0, O_OP},         {"impl", required_argument, 0, O_IMPL},
    {"shapes", required_argument, 0, O_SHAPES}, {"quick", no_argument, 0, O_QUICK},
    {"out", required_argument, 0, O_OUT},       {"reps", required_argument, 0, O_REPS},
    {"flush", required_argument, 0, O_FLUSH},   {"timer", required_argument, 0, O_TIMER},
    {"warmup-ms", required_argument, 0, O_WARMUP}, {"gpu", required_argument, 0, O_GPU},
    {"specs", required_argument, 0, O_SPECS},   {"verbose", no_argument, 0, O_VERBOSE},
    {"graph", no_argument, 0, O_GRAPH},        {"shape", required_argument, 0, O_SHAPE},
    {0, 0, 0, 0},
};

/* Which options each command accepts. */
static int allowed(const char *cmd, int o)
{
    switch (o) {
    case O_SPECS: return 1;
    case O_OP: case O_SHAPES: return strcmp(cmd, "specs") != 0;
    case O_GPU: return !strcmp(cmd, "model") || !strcmp(cmd, "specs");
    case O_VERBOSE: return !strcmp(cmd, "list");
    case O_OUT: return !strcmp(cmd, "run") || !strcmp(cmd, "model");
    default: return !strcmp(cmd, "run");
    }
}

static int kb_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return KB_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return KB_EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("kbench %s\n", KBENCH_VERSION);
        return KB_EXIT_OK;
    }
    if (!strcmp(cmd, "compare")) return kb_cmd_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "plot")) return kb_cmd_plot(argc - 1, argv + 1);
    if (!strcmp(cmd, "report")) return kb_cmd_report(argc - 1, argv + 1);
    if (strcmp(cmd, "list") && strcmp(cmd, "run") && strcmp(cmd, "model") && strcmp(cmd, "specs"))
        return bad("", "unknown command '%s'", cmd);

    /* argv for the subcommand: argv[0] = command name */
    int sargc = argc - 1;
    char **sargv = argv + 1;
    /* `kbench CMD --help`: ours (Google Benchmark's parser would print its own usage and exit) */
    for (int i = 1; i < sargc; i++)
        if (!strcmp(sargv[i], "--help") || !strcmp(sargv[i], "-h") || !strcmp(sargv[i], "-help")) {
            fputs(usage, stdout);
            return KB_EXIT_OK;
        }
    if (!strcmp(cmd, "run") && kb_gb_init(&sargc, sargv)) return KB_EXIT_USAGE;

    kb_run_opts ro = {.sets = KB_SET_FULL, .reps = 0, .flush = KB_FLUSH_L2, .timer = KB_TIMER_CUPTI,
                      .warmup_ms = 100};
    const char *gpu = NULL, *specs = NULL, *shapes = NULL;
    int quick = 0, verbose = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(sargc, sargv, "", longopts, NULL)) != -1) {
        if (c == '?') {
            if (optopt >= O_OP && optopt <= O_SHAPE)
                return bad(cmd, "option '%s' needs a value", sargv[optind - 1]);
            return bad(cmd, "unknown option '%s'", sargv[optind - 1]);
        }
        if (!allowed(cmd, c)) return bad(cmd, "option '%s' does not apply to this command", sargv[optind - 1]);
        switch (c) {
        case O_OP: ro.ops = optarg; break;
        case O_IMPL: ro.impls = optarg; break;
        case O_SHAPES: shapes = optarg; break;
        case O_QUICK: quick = 1; break;
        case O_OUT: ro.out = optarg; break;
        case O_REPS:
            if (parse_pos_int(optarg, &ro.reps)) return bad(cmd, "--reps: expected a positive integer, got '%s'", optarg);
            break;
        case O_FLUSH:
            if (!strcmp(optarg, "l2")) ro.flush = KB_FLUSH_L2;
            else if (!strcmp(optarg, "none")) ro.flush = KB_FLUSH_NONE;
            else if (!strcmp(optarg, "rotate")) ro.flush = KB_FLUSH_ROTATE;
            else return bad(cmd, "--flush: expected l2, rotate or none, got '%s'", optarg);
            break;
        case O_TIMER:
            if (!strcmp(optarg, "cupti")) ro.timer = KB_TIMER_CUPTI;
            else if (!strcmp(optarg, "events")) ro.timer = KB_TIMER_EVENTS;
            else return bad(cmd, "--timer: expected cupti or events, got '%s'", optarg);
            break;
        case O_WARMUP: {
            int ms;
            if (parse_pos_int(optarg, &ms)) return bad(cmd, "--warmup-ms: expected a positive integer, got '%s'", optarg);
            ro.warmup_ms = ms;
            break;
        }
        case O_GPU: gpu = optarg; break;
        case O_SPECS: specs = optarg; break;
        case O_VERBOSE: verbose = 1; break;
        case O_GRAPH: ro.graph = 1; break;
        case O_SHAPE: ro.shape_labels = optarg; break;
        }
    }
    if (optind < sargc) return bad(cmd, "unexpected argument '%s'", sargv[optind]);
    if (shapes) {
        ro.sets = kb_parse_sets(shapes);
        if (!ro.sets) return bad(cmd, "--shapes: expected full, quick, small or all, got '%s'", shapes);
    } else if (quick) {
        ro.sets = KB_SET_QUICK;
    }
    if (!ro.reps) ro.reps = quick ? 10 : 30;
    if (kb_check_op_list(ro.ops) || kb_check_impl_list(ro.ops, ro.impls) ||
        kb_check_shape_list(ro.ops, ro.shape_labels))
        return KB_EXIT_USAGE;
    if (load_specs(cmd, specs)) return KB_EXIT_USAGE;

    if (!strcmp(cmd, "list")) return kb_list(ro.ops, ro.sets, verbose || shapes != NULL);
    if (!strcmp(cmd, "specs")) return kb_specs_print(gpu);
    if (!strcmp(cmd, "model")) return kb_model(gpu, ro.ops, ro.sets, ro.out);
    return kb_run(&ro);
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
