/* kb_run.h - `kbench run`, `kbench model`, `kbench list`, `kbench specs`. */
#ifndef KB_RUN_H
#define KB_RUN_H
#include "bench/kb.h"
#include "bench/kb_adapt.h"
#include "bench/kb_io.h" /* exit codes */
#include "bench/kb_timer.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef enum kb_flush { KB_FLUSH_L2 = 0, KB_FLUSH_NONE = 1, KB_FLUSH_ROTATE = 2 } kb_flush;
/* --isolate: which cases share a worker process (README "Isolation, watchdog,
 * resume"); NONE runs every case in this process (the only mode in MPI mode). */
typedef enum kb_isolate { KB_ISOLATE_IMPL = 0, KB_ISOLATE_NONE, KB_ISOLATE_OP, KB_ISOLATE_CASE } kb_isolate;

typedef struct kb_run_opts {
    const char *ops;    /* comma list, NULL = all */
    const char *impls;  /* comma list, NULL = all */
    const char *shape_labels; /* comma list of shape labels, NULL = all of the sets */
    unsigned sets;      /* KB_SET_* */
    const char *out;    /* output directory (default results/<gpu>) */
    int reps;
    kb_adapt adapt;     /* --min-time/--max-noise/--min-reps/--max-reps (adapt.on: instead of reps) */
    int device;         /* --device N; -1: not given (device 0; MPI mode: the rank's) */
    kb_flush flush;
    kb_timer_kind timer;
    double warmup_ms;
    int graph;          /* capture each launch into a CUDA graph and time its replays */
    int hot;            /* --hot: launches under 20 us timed as back-to-back batches, warm L2 */
    int drop_low_clock; /* --drop-low-clock: samples below 75% of the nominal SM clock left out */
    const char *specs;  /* --specs FILE (passed on to workers)                   */
    /* isolation (the orchestrator, bench/kb_orch.c) */
    kb_isolate isolate;
    double case_timeout; /* --case-timeout seconds; 0 = the model's rule          */
    const char *resume;  /* --resume FILE (a CSV or its .partial)                 */
    char **gb_args;      /* the --benchmark_* arguments as given (for workers)    */
    int n_gb_args;
    /* worker mode (hidden options, bench/kb_worker.h); worker_fd < 0: not one */
    int worker_fd;
    int worker_probe;
    const char *worker_ceil, *worker_cases;
    /* --counters (bench/kb_counters.h): profile one more launch per case
     * with ncu; counters_off: the run-wide reason they are off (hidden, from
     * the orchestrator); counters_case: this process is the profiled child */
    int counters;
    const char *counters_off, *counters_case;
} kb_run_opts;

/* Parse "full|quick|small|all" (comma list allowed) into a KB_SET_* mask; 0 if bad. */
unsigned kb_parse_sets(const char *s);
/* Is `name` in the comma list (NULL list = everything)? */
int kb_in_list(const char *list, const char *name);
/* Check every name of a comma list exists (ops, or impls of the chosen ops);
 * on error print one line and return -1. */
int kb_check_op_list(const char *list);
int kb_check_impl_list(const char *ops, const char *impls);
int kb_check_shape_list(const char *ops, const char *labels);

/* `kbench run`: isolated modes go to the orchestrator (kb_orch_run), worker
 * mode and --isolate none run the cases in this process. */
int kb_run(const kb_run_opts *o);
/* The identity columns of a measured row for (op, shape, impl) on GPU `slug`:
 * names, dtype, dims, source, impl_kind, flops, bytes, link_bytes. */
struct kb_row;
void kb_case_row(struct kb_row *r, const kb_op *op, const kb_shape *s, const kb_impl *im, const char *slug);
/* Does the run select (op, shape, impl): --op, --impl, --shape or --shapes? */
int kb_case_selected(const kb_run_opts *o, const kb_op *op, const kb_shape *s, const kb_impl *im);
/* The one stdout line of a finished row ("kbench: op impl shape PASS ..."). */
void kb_print_row(const struct kb_row *r);
/* Sort us[n] in place and fill reps, time_us (median), min, max and cv
 * (sample standard deviation / mean) of a row. */
void kb_row_stats(struct kb_row *r, double *us, int n);
int kb_model(const char *gpus, const char *ops, unsigned sets, const char *out);
int kb_list(const char *ops, unsigned sets, int show_shapes);
int kb_specs_print(const char *gpu, int device); /* device: the "current GPU" line's (-1: 0) */
/* bench/cmd_info.c: `list --json`, `specs --json` (stdout) and `--version`. */
int kb_list_json(const char *ops, unsigned sets);
int kb_specs_json(const char *gpu);
int kb_print_version(void);
/* Probe for a CUDA device: 1 if usable; else 0 and a reason. */
int kb_have_device(char *why, size_t n);
/* --device: make `want` (-1: device 0) current.  KB_EXIT_OK; or after one
 * line on stderr KB_EXIT_NO_DEVICE (none at all: checked first) or
 * KB_EXIT_USAGE (want >= the device count). */
int kb_use_device(int want);
/* The run's meta.json "timing": reps or the adaptive targets (a new reference). */
struct json_t;
struct json_t *kb_timing_meta(const kb_run_opts *o);
/* `--counters`: the profiled pass of one case after its timing (a child
 * under ncu, bench/kb_counters_child.c) into r's counter columns or note;
 * `--counters-case OP/IMPL/SHAPE`: that child.  keep_l2: timed warm. */
void kb_counters_case(const kb_run_opts *o, const kb_op *op, const kb_shape *s, const kb_impl *im, int keep_l2,
                      struct kb_row *r);
int kb_counters_child(const kb_run_opts *o);
#ifdef __cplusplus
}
#endif
#endif
