/* kb_run.c - the in-process case runner: for each selected (op, shape): set
 * up once; for each implementation: poison, launch, verify, then (if it
 * passed) warm up and time repetitions through Google Benchmark with
 * device-side time; one CSV row per (op, impl, shape), flushed as it
 * finishes.  It runs `kbench run --isolate none` (and MPI mode) directly, and
 * every worker of the orchestrator (bench/kb_orch.c) in worker mode: then
 * rows, phases and ceilings go to the orchestrator as messages
 * (bench/kb_worker.h) instead of the CSV and stdout. */
#include <gsl/gsl_sort.h>
#include <jansson.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench/kb_row.h"
#include "bench/kb_clock.h"
#include "bench/kb_counters.h"
#include "bench/kb_gbench.h"
#include "bench/kb_mpi.h"
#include "bench/kb_orch.h"
#include "bench/kb_roofline.h"
#include "bench/kb_run.h"
#include "bench/kb_specs.h"
#include "bench/kb_summary.h"
#include "bench/kb_worker.h"

/* ---- selection helpers ------------------------------------------------------ */
int kb_in_list(const char *list, const char *name)
{
    if (!list || !*list) return 1;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

unsigned kb_parse_sets(const char *s)
{
    unsigned m = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "full")) m |= KB_SET_FULL;
        else if (!strcmp(t, "quick")) m |= KB_SET_QUICK;
        else if (!strcmp(t, "small")) m |= KB_SET_SMALL;
        else if (!strcmp(t, "all")) m |= KB_SET_FULL | KB_SET_QUICK | KB_SET_SMALL;
        else return 0;
    }
    return m;
}

/* ---- name checks ------------------------------------------------------------ */
/* Does operator `op` know `name`?  One predicate per kind of list. */
typedef int (*kb_knows_fn)(const kb_op *op, const char *name);

static int op_named(const kb_op *op, const char *name) { return !strcmp(op->name, name); }

static int op_has_impl(const kb_op *op, const char *name)
{
    for (int j = 0; j < op->n_impls; j++)
        if (!strcmp(op->impls[j].name, name)) return 1;
    return 0;
}

static int op_has_shape(const kb_op *op, const char *label)
{
    int ns = 0;
    const kb_shape *sh = op->shapes(&ns);
    for (int k = 0; k < ns; k++)
        if (!strcmp(sh[k].label, label)) return 1;
    return 0;
}

/* Every name in the comma list `names` must be known to one of the operators
 * selected by `ops` (NULL = all); else one line naming the first unknown one
 * and -1.  `scope` and `see` finish that line. */
static int check_names(const char *ops, const char *names, kb_knows_fn knows, const char *what, const char *scope,
                       const char *see)
{
    if (!names) return 0;
    char *buf = strdup(names); /* any length: never cut */
    if (!buf) return -1;
    int nops;
    const kb_op *const *all = kb_ops(&nops);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int found = 0;
        for (int i = 0; i < nops && !found; i++) found = kb_in_list(ops, all[i]->name) && knows(all[i], t);
        if (!found) {
            fprintf(stderr, "kbench: unknown %s '%s'%s (see `%s`)\n", what, t, scope, see);
            free(buf);
            return -1;
        }
    }
    free(buf);
    return 0;
}

int kb_check_op_list(const char *list)
{
    return check_names(NULL, list, op_named, "operator", "", "kbench list");
}

int kb_check_impl_list(const char *ops, const char *impls)
{
    return check_names(ops, impls, op_has_impl, "implementation", " for the selected operators", "kbench list");
}

int kb_check_shape_list(const char *ops, const char *labels)
{
    return check_names(ops, labels, op_has_shape, "shape", " for the selected operators", "kbench list --verbose");
}

int kb_have_device(char *why, size_t n)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        snprintf(why, n, "%s", cudaGetErrorString(e));
        return 0;
    }
    if (count == 0) {
        snprintf(why, n, "cudaGetDeviceCount reports 0 devices");
        return 0;
    }
    return 1;
}

int kb_use_device(int want)
{
    char why[256];
    int count = 0;
    if (!kb_have_device(why, sizeof why)) { /* no device at all: 3 before any --device check */
        fprintf(stderr, "kbench: no CUDA device: %s (use `kbench model` for projections)\n", why);
        return KB_EXIT_NO_DEVICE;
    }
    cudaGetDeviceCount(&count);
    if (want >= count) {
        fprintf(stderr, "kbench: --device %d: only %d CUDA device(s) here (0..%d)\n", want, count, count - 1);
        return KB_EXIT_USAGE;
    }
    cudaError_t e = cudaSetDevice(want < 0 ? 0 : want);
    if (e != cudaSuccess) {
        fprintf(stderr, "kbench: no CUDA device: device %d: %s\n", want < 0 ? 0 : want, cudaGetErrorString(e));
        return KB_EXIT_NO_DEVICE;
    }
    return KB_EXIT_OK;
}

json_t *kb_timing_meta(const kb_run_opts *o)
{
    const kb_adapt *a = &o->adapt;
    if (!a->on) return json_pack("{s:s, s:i}", "mode", "fixed", "reps", o->reps);
    return json_pack("{s:s, s:f, s:f, s:i, s:i, s:f, s:s}", "mode", "adaptive", "min_time_s", a->min_time_s,
                     "max_noise_pct", 100 * a->max_noise, "min_reps", a->min_reps, "max_reps", a->max_reps,
                     "timeout_s", kb_adapt_timeout(a), "noise", "relative sd of the samples (cv)");
}

/* ---- one timed case ------------------------------------------------------------ */
/* --graph: the launch captured once into a CUDA graph, replayed per sample. */
static kb_status graph_launch(void *exec, cudaStream_t s)
{
    KB_CUDA_TRY(cudaGraphLaunch((cudaGraphExec_t)exec, s));
    return KB_OK;
}

static kb_status capture(const kb_impl *im, void *ctx, cudaStream_t s, cudaGraphExec_t *exec)
{
    cudaGraph_t g = NULL;
    KB_CUDA_TRY(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    kb_status st = im->launch(ctx, s);
    cudaError_t e = cudaStreamEndCapture(s, &g);
    cudaGetLastError();
    if (st != KB_OK || e != cudaSuccess) {
        if (g) cudaGraphDestroy(g);
        return kb_skip("not capturable into a CUDA graph (%s)", st != KB_OK ? kb_last_message() : cudaGetErrorString(e));
    }
    e = cudaGraphInstantiate(exec, g, 0);
    cudaGraphDestroy(g);
    if (e != cudaSuccess) {
        *exec = NULL;
        cudaGetLastError();
        return kb_skip("graph instantiation failed: %s", cudaGetErrorString(e));
    }
    /* The first launch of an executable graph uploads it: do it here, untimed. */
    e = cudaGraphLaunch(*exec, s);
    if (e == cudaSuccess) e = cudaStreamSynchronize(s);
    if (e != cudaSuccess) {
        cudaGraphExecDestroy(*exec);
        *exec = NULL;
        return kb_error("first graph launch failed: %s", cudaGetErrorString(e));
    }
    return KB_OK;
}


typedef struct tcase {
    kb_timing t;       /* launch (the impl's launcher, or graph_launch), stream, flush, batch, block */
    int reps;          /* samples per batch: --reps */
    kb_sample *batch;  /* the batch measured and not yet all handed to Google Benchmark */
    int n_batch, next;
    double *samples;   /* every sample handed on, us */
    uint64_t *clk, *ns; /* and its clock stamps (kb_timer.h) */
    int n, cap;
    int failed;        /* a sample failed: the row fails even if earlier samples were kept */
    char note[192];    /* what the timing changed, for the row's note */
} tcase;

static kb_status grow(tcase *c)
{
    if (c->n < c->cap) return KB_OK;
    int cap = c->cap ? 2 * c->cap : 64;
    double *p = realloc(c->samples, (size_t)cap * sizeof *p);
    if (p) c->samples = p;
    uint64_t *k = p ? realloc(c->clk, (size_t)cap * sizeof *k) : NULL;
    if (k) c->clk = k;
    uint64_t *q = k ? realloc(c->ns, (size_t)cap * sizeof *q) : NULL;
    if (q) c->ns = q;
    if (!q) return kb_error("out of memory storing samples");
    c->cap = cap;
    return KB_OK;
}

/* One attempt at a batch of c->reps samples; every rank runs every step
 * (MPI: ranks start each sample together; not timed).  *again: measure the
 * batch again (CUPTI fell back to events, or the blocking kernel deadlocked
 * and is now off). */
static kb_status batch_once(tcase *c, int *again)
{
    kb_status st = KB_OK;
    int deadlock = 0, retry = 0;
    memset(c->batch, 0, (size_t)c->reps * sizeof *c->batch); /* no flag left from an earlier attempt */
    kb_timer_begin();
    for (int i = 0; i < c->reps; i++) {
        kb_mpi_barrier();
        if (st == KB_OK) st = kb_timer_sample(&c->t, &c->batch[i]);
        deadlock |= c->batch[i].deadlock;
    }
    if (st == KB_OK) st = kb_timer_end(&c->t, c->batch, c->reps, &retry);
    int mine = deadlock && c->t.block;
    deadlock = kb_mpi_max_int(mine);
    if (deadlock) { /* that sample failed; the case goes on without the blocking kernel */
        c->t.block = 0;
        snprintf(c->note, sizeof c->note, "the launch waits for the device while it is enqueued (the blocking "
                 "kernel timed out after %.0f s): timed without it, launch gaps included", KB_BLOCK_TIMEOUT_S);
        if (mine) st = KB_OK;
    }
    *again = kb_mpi_max_int(st == KB_OK && (retry || deadlock));
    return st;
}

/* Measure a batch of samples: retried when the timer or the blocking kernel
 * changed under it; then the per-sample MPI reduction (max over ranks). */
static kb_status measure_batch(tcase *c)
{
    kb_status st = KB_OK;
    int again = 1;
    for (int attempt = 0; attempt < 3 && again && st == KB_OK; attempt++) st = batch_once(c, &again);
    if (st == KB_OK && again) st = kb_error("the timer gave no time for a sample");
    for (int i = 0; i < c->reps; i++) {
        kb_status r = kb_mpi_reduce_sample(st, &c->batch[i].seconds); /* MPI: every rank, every sample */
        if (st == KB_OK) st = r;
    }
    c->n_batch = st == KB_OK ? c->reps : 0;
    c->next = 0;
    return st;
}

/* Google Benchmark's iteration: the next sample of the batch (measured a
 * batch at a time: one CUPTI flush per batch). */
static kb_status sample(void *u, double *sec)
{
    tcase *c = u;
    kb_status st = c->next < c->n_batch ? KB_OK : measure_batch(c);
    if (st == KB_OK) st = grow(c);
    if (st != KB_OK) {
        c->failed = 1;
        return st;
    }
    const kb_sample *s = &c->batch[c->next++];
    *sec = s->seconds;
    c->samples[c->n] = s->seconds * 1e6;
    c->clk[c->n] = s->clk;
    c->ns[c->n++] = s->ns;
    return KB_OK;
}

static void free_case(tcase *c)
{
    free(c->batch);
    free(c->samples);
    free(c->clk);
    free(c->ns);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A CUDA error that survives a second synchronise means the context is gone;
 * lost_error names it (cudaGetErrorName) once it is. */
static const char *lost_error;
static int context_lost(void)
{
    cudaGetLastError();
    cudaError_t e = cudaDeviceSynchronize();
    if (e != cudaSuccess && !lost_error) lost_error = cudaGetErrorName(e);
    return e != cudaSuccess;
}

/* ---- the run ---------------------------------------------------------------- */
typedef struct run_state {
    const kb_run_opts *o;
    /* the device */
    int dev, count, multi_gpu;
    struct cudaDeviceProp prop;
    int sm_khz, mem_khz, bus_bits;
    kb_gpu gpu;
    kb_ceil sheet;       /* datasheet (or --specs) ceilings: pct_roof */
    kb_ceil ceil;        /* achievable: the datasheet's, replaced by measured ones (pct_roof_achievable) */
    /* what every case shares */
    const char *timer_name;
    cudaStream_t stream;
    void *flush_buf;
    size_t flush_bytes;
    /* outputs: the CSV (or, in worker mode, the message fd) */
    kb_out out;
    int wfd; /* worker mode: the orchestrator's message fd; -1 otherwise */
    int n_pass, n_fail, n_skip;
    kb_summary sum; /* the rows written: the end-of-run lines */
} run_state;

void kb_case_row(kb_row *r, const kb_op *op, const kb_shape *s, const kb_impl *im, const char *slug)
{
    kb_row_init(r);
    snprintf(r->op, sizeof r->op, "%s", op->name);
    snprintf(r->impl, sizeof r->impl, "%s", im->name);
    snprintf(r->shape, sizeof r->shape, "%s", s->label);
    snprintf(r->dtype, sizeof r->dtype, "%s", s->dtype);
    kb_shape_dims(op, s, r->dims, sizeof r->dims);
    snprintf(r->gpu, sizeof r->gpu, "%s", slug);
    snprintf(r->source, sizeof r->source, "measured");
    snprintf(r->impl_kind, sizeof r->impl_kind, "%s", im->kind == KB_IMPL_LIB ? "lib" : "hand");
    r->flops = op->flops ? op->flops(s) : 0;
    r->bytes = op->bytes ? op->bytes(s) : 0;
    r->link_bytes = op->link_bytes ? op->link_bytes(s) : 0;
    r->intensity = r->bytes > 0 ? r->flops / r->bytes : 0;
    r->reps = 0;
}

static void fill_identity(run_state *rs, kb_row *r, const kb_op *op, const kb_shape *s, const kb_impl *im)
{
    kb_case_row(r, op, s, im, rs->gpu.slug);
    snprintf(r->timer, sizeof r->timer, "%s", kb_timer_name(kb_timer_active()));
}

/* Worker mode: `start OP IMPL SHAPE PHASE` before each phase of a case. */
static void phase(const run_state *rs, const kb_op *op, const kb_shape *s, const kb_impl *im, const char *ph)
{
    if (rs->wfd >= 0) kb_wk_send(rs->wfd, "start %s %s %s %s", op->name, im->name, s->label, ph);
}

void kb_print_row(const kb_row *r)
{
    char dram[48] = ""; /* --counters: what crossed HBM against the declared minimum */
    if (isfinite(r->traffic_ratio)) snprintf(dram, sizeof dram, "  DRAM %.2fx declared", r->traffic_ratio);
    if (!strcmp(r->verified, "pass") && !isnan(r->time_us))
        printf("kbench: %-18s %-22s %-28s PASS  %10.2f us  %8.1f TFLOP/s %8.1f GB/s  %5.1f%% of %s roof%s\n",
               r->op, r->impl, r->shape, r->time_us, r->tflops, r->gbps, r->pct_roof, r->bound, dram);
    else
        printf("kbench: %-18s %-22s %-28s %s  %s\n", r->op, r->impl, r->shape,
               !strcmp(r->verified, "fail") ? "FAIL" : "SKIP", r->note);
    fflush(stdout);
}

static void emit(run_state *rs, kb_row *r)
{
    if (rs->wfd >= 0) { /* worker mode: the orchestrator writes and prints it */
        if (kb_wk_send_row(rs->wfd, r)) fprintf(stderr, "kbench worker: cannot send a row\n");
        return;
    }
    if (kb_mpi_rank()) return; /* MPI mode: rank 0 writes the rows */
    kb_counters_seen(r); /* --counters: the run's one line when they are off */
    kb_summary_add(&rs->sum, r);
    if (kb_csv_write(&rs->out.csv, r)) fprintf(stderr, "kbench: writing %s.partial failed\n", rs->out.csv_path);
    kb_print_row(r);
}

/* A row that did not pass: `verified` (NULL: leave it), the note (prefix +
 * the last message), counted as a skip or a failure, written. */
static void not_passed(run_state *rs, kb_row *r, kb_status st, const char *verified, const char *prefix)
{
    if (verified) kb_strlcpy(r->verified, verified, sizeof r->verified);
    char *note = kb_strdupf("%s%s%s%s", prefix, kb_last_message(), lost_error ? "; CUDA context lost: " : "",
                            lost_error ? lost_error : "");
    kb_row_note(r->note, sizeof r->note, note ? note : prefix); /* cut: ends in "..." */
    free(note);
    if (st == KB_SKIP) rs->n_skip++;
    else rs->n_fail++;
    emit(rs, r);
}

void kb_row_stats(kb_row *r, double *us, int n)
{
    gsl_sort(us, 1, (size_t)n);
    r->reps = n;
    r->time_us = gsl_stats_median_from_sorted_data(us, 1, (size_t)n);
    r->time_us_min = us[0];
    r->time_us_max = us[n - 1];
    double mean = gsl_stats_mean(us, 1, (size_t)n);
    r->cv = n > 1 && mean > 0 ? gsl_stats_sd_m(us, 1, (size_t)n, mean) / mean : 0;
}

static void roof(run_state *rs, kb_row *r, const kb_op *op, const kb_shape *s)
{
    /* one GPU: nothing crosses a link */
    kb_roofline_row(r, &rs->sheet, &rs->ceil, kb_shape_peak(op, s), rs->multi_gpu);
}

/* The ceilings operators feed the rest of the run (the rule: kb_roofline.h). */
static void update_ceilings(run_state *rs, const kb_op *op, const kb_shape *s, const kb_row *r)
{
    kb_peak pk = kb_shape_peak(op, s);
    unsigned kind = kb_ceil_kind(op->name, s->label, pk, (s->sets & KB_SHAPE_HOT_L2) != 0);
    kb_ceil_measured(&rs->ceil, kind, kind == KB_CEIL_HBM ? r->gbps : r->tflops);
    if (kind && rs->wfd >= 0) kb_wk_send_ceil(rs->wfd, &rs->ceil); /* later workers start from these */
}

/* Samples of this shape run with a warm L2 (no flush between them). */
static int keeps_l2(const run_state *rs, const kb_shape *s)
{
    return (s->sets & KB_SHAPE_HOT_L2) || rs->o->flush == KB_FLUSH_NONE;
}

/* ---- one implementation on one shape, in phases ------------------------------ */
/* 1. Correctness first: poison, launch once, verify.  MPI: every rank
 * launches together and all agree on the outcome. */
static kb_status verify_once(run_state *rs, const kb_op *op, const kb_impl *im, void *ctx, kb_row *r)
{
    kb_status st = kb_mpi_agree(op->poison ? op->poison(ctx, rs->stream) : KB_OK);
    if (st == KB_OK) st = im->launch(ctx, rs->stream);
    if (st == KB_OK) {
        cudaError_t e = cudaStreamSynchronize(rs->stream);
        if (e == cudaSuccess) e = cudaDeviceSynchronize();
        if (e != cudaSuccess) st = kb_error("launch failed: %s", cudaGetErrorString(e));
    }
    st = kb_mpi_agree(st);
    if (st != KB_OK) return st;
    const char *metric = "";
    double err = NAN;
    st = op->verify ? op->verify(ctx, &err, &metric) : kb_error("operator has no verify()");
    st = kb_mpi_agree_err(st, &err, metric); /* MPI: "wrong" summed over ranks */
    r->err = err;
    kb_strlcpy(r->err_metric, metric, sizeof r->err_metric);
    if (st == KB_OK && isnan(err)) st = kb_error("verify returned a NaN error");
    return st;
}

/* 2. Warm-up: at least 3 launches and warmup_ms of device work.  MPI: rank 0's
 * clock decides, and every rank leaves the loop together (a rank that stopped
 * alone on an error would leave the others waiting in a collective). */
static kb_status warm_up(run_state *rs, const kb_impl *im, void *ctx)
{
    kb_status st = KB_OK;
    double t0 = now_s();
    for (int i = 0;; i++) {
        int more = kb_mpi_root_int(i < 3 || now_s() - t0 < rs->o->warmup_ms * 1e-3); /* every rank calls it */
        if (!kb_mpi_min_int(st == KB_OK && more)) break;
        st = im->launch(ctx, rs->stream);
        if (st == KB_OK && i % 8 == 7 && cudaStreamSynchronize(rs->stream) != cudaSuccess)
            st = kb_error("warm-up launch failed");
    }
    if (st == KB_OK && cudaDeviceSynchronize() != cudaSuccess) st = kb_error("warm-up failed");
    return kb_mpi_agree(st);
}

/* --graph: time replays of a captured graph; if the launch cannot be
 * captured, the note says why and plain launches are timed. */
static kb_status use_graph(run_state *rs, const kb_impl *im, void *ctx, tcase *c, kb_row *r, cudaGraphExec_t *exec)
{
    if (capture(im, ctx, rs->stream, exec) == KB_OK) {
        c->t.fn = graph_launch;
        c->t.ctx = *exec;
        return KB_OK;
    }
    char *note = kb_strdupf("timed without a graph: %s", kb_last_message());
    kb_row_note(r->note, sizeof r->note, note ? note : "timed without a graph");
    free(note);
    return context_lost() ? kb_error("graph capture broke the context") : KB_OK;
}

/* Append "; text" (or text) to the row's note (cut with "..." if long). */
static void add_note(kb_row *r, const char *text)
{
    if (!text || !*text) return;
    char *note = kb_strdupf("%s%s%s", r->note, *r->note ? "; " : "", text);
    if (note) kb_row_note(r->note, sizeof r->note, note);
    free(note);
}

/* --hot: one warm, unflushed sample decides (kb_hot_batch); a launch shorter
 * than KB_HOT_BELOW_US is timed in batches of back-to-back launches on a warm L2. */
static kb_status choose_batch(tcase *c, kb_row *r)
{
    kb_sample one = {0};
    tcase p = *c;
    p.reps = 1;
    p.batch = &one;
    p.t.flush_buf = NULL;
    p.t.batch = 1;
    kb_status st = measure_batch(&p);
    c->t.block = p.t.block; /* a deadlock found here holds for the case */
    memcpy(c->note, p.note, sizeof c->note);
    int batch = kb_hot_batch(one.seconds * 1e6); /* MPI: the max over ranks: every rank picks the same */
    if (st != KB_OK || batch == 1) return st;
    c->t.batch = batch;
    c->t.flush_buf = NULL;
    char note[128];
    snprintf(note, sizeof note, "hot: batches of %d back-to-back launches on a warm L2, time / %d", c->t.batch,
             c->t.batch);
    add_note(r, note);
    return KB_OK;
}

/* Google Benchmark drives the samples (each iteration hands on one). */
static kb_status run_benchmark(run_state *rs, const kb_op *op, const kb_shape *s, const kb_impl *im, kb_row *r,
                               tcase *c)
{
    char name[256];
    snprintf(name, sizeof name, "%s/%s/%s/%s", op->name, im->name, s->label, s->dtype);
    kb_gb_register(name, c->reps, r->flops, r->bytes, sample, c);
    kb_clear_message();
    kb_gb_run();
    if (c->failed) return kb_error("timing failed: %s", kb_last_message());
    if (c->n == 0) return kb_skip("not timed: filtered out by --benchmark_filter");
    return KB_OK;
}

/* Adaptive timing (kb_adapt.h): batches of samples until the rule stops;
 * they stay in c->batch for Google Benchmark to hand on, c->reps of them
 * (its iteration count).  MPI: rank 0's batch sizes and decision. */
static kb_status adapt_samples(run_state *rs, tcase *c, kb_row *r)
{
    const kb_adapt *a = &rs->o->adapt;
    double *sec = NULL, t0 = now_s();
    int n = 0;
    kb_adapt_stop why = KB_ADAPT_MORE;
    kb_status st = KB_OK;
    while (st == KB_OK && why == KB_ADAPT_MORE) {
        int k = kb_mpi_root_int(kb_adapt_batch(a, sec, n, now_s() - t0));
        kb_sample *all = realloc(c->batch, (size_t)(n + k) * sizeof *all);
        double *d = all ? realloc(sec, (size_t)(n + k) * sizeof *d) : NULL;
        if (all) c->batch = all;
        if (d) sec = d;
        if (!d) st = kb_error("out of memory for %d samples", n + k);
        if (st != KB_OK) break;
        tcase b = *c; /* this batch: the k samples after the first n */
        b.batch = all + n;
        b.reps = k;
        st = measure_batch(&b);
        c->t.block = b.t.block; /* a deadlock found here holds for the case */
        memcpy(c->note, b.note, sizeof c->note);
        for (int i = 0; i < k && st == KB_OK; i++) sec[n + i] = all[n + i].seconds;
        n += st == KB_OK ? k : 0;
        why = (kb_adapt_stop)kb_mpi_root_int(kb_adapt_check(a, sec, n, now_s() - t0));
    }
    char note[200];
    if (st == KB_OK) kb_adapt_note(a, why, sec, n, note, sizeof note);
    if (st == KB_OK) add_note(r, note);
    free(sec);
    c->reps = c->n_batch = n; /* Google Benchmark hands these on first */
    c->next = 0;
    return st;
}

/* 3. Timed repetitions through Google Benchmark into c->samples (the caller
 * frees them: free_case). */
static kb_status time_samples(run_state *rs, const kb_op *op, const kb_shape *s, const kb_impl *im, void *ctx,
                              kb_row *r, tcase *c)
{
    *c = (tcase){.t = {.fn = im->launch, .ctx = ctx, .stream = rs->stream, .batch = 1, .block = 1},
                 .reps = rs->o->reps};
    const int adapt = rs->o->adapt.on; /* then adapt_samples allocates the batch */
    c->batch = adapt ? NULL : calloc((size_t)c->reps, sizeof *c->batch);
    cudaGraphExec_t exec = NULL;
    kb_status st = c->batch || adapt ? KB_OK : kb_error("out of memory for %d samples", c->reps);
    if (st == KB_OK && rs->o->graph) st = use_graph(rs, im, ctx, c, r, &exec);
    if (!keeps_l2(rs, s)) {
        c->t.flush_buf = rs->flush_buf;
        c->t.flush_bytes = rs->flush_bytes;
    }
    if (st == KB_OK && rs->o->hot) st = choose_batch(c, r);
    if (st == KB_OK && adapt) st = adapt_samples(rs, c, r);
    if (st == KB_OK) st = run_benchmark(rs, op, s, im, r, c);
    /* CUPTI may have fallen back to events during the first batch */
    snprintf(r->timer, sizeof r->timer, "%s%s%s", kb_timer_name(kb_timer_active()), exec ? "-graph" : "",
             c->t.batch > 1 ? "-hot" : "");
    kb_strlcpy(r->flush, c->t.flush_buf ? "l2" : "none", sizeof r->flush);
    add_note(r, c->note);
    if (exec) cudaGraphExecDestroy(exec);
    return st;
}

/* The SM clock under load (kb_clock.h): sm_clock_mhz and low_clock_samples;
 * --drop-low-clock leaves the low samples out of the statistics.  An error
 * when no sample is left. */
static kb_status judge_clock(run_state *rs, kb_row *r, tcase *c)
{
    int *keep = malloc((size_t)c->n * sizeof *keep);
    if (!keep) return kb_error("out of memory judging the SM clock");
    const double nominal = rs->sm_khz / 1e3;
    const int drop = rs->o->drop_low_clock, n = c->n;
    kb_clock_sum cs = kb_clock_summary(c->clk, c->ns, n, nominal, drop, keep);
    r->sm_clock_mhz = cs.mhz;
    r->low_clock_samples = cs.n_low;
    int kept = 0;
    for (int i = 0; i < n; i++)
        if (keep[i]) c->samples[kept++] = c->samples[i];
    free(keep);
    c->n = kept;
    if (cs.n_low) {
        char note[160];
        snprintf(note, sizeof note, "%d of %d samples ran below %.0f%% of the %.0f MHz SM clock (%s)", cs.n_low, n,
                 100 * KB_LOW_CLOCK_FRAC, nominal, drop ? "dropped" : "kept: --drop-low-clock drops them");
        add_note(r, note);
    }
    return kept ? KB_OK : kb_error("every sample ran below %.0f%% of the SM clock (--drop-low-clock)",
                                   100 * KB_LOW_CLOCK_FRAC);
}

/* 4. Epilogue: statistics, roofline, op metrics; the row is written and a
 * ceiling operator's result becomes the roof of the rows after it. */
static void finish_row(run_state *rs, const kb_op *op, const kb_shape *s, kb_row *r, const tcase *c)
{
    double *sorted = malloc((size_t)c->n * sizeof *sorted);
    memcpy(sorted, c->samples, (size_t)c->n * sizeof *sorted);
    kb_row_stats(r, sorted, c->n);
    free(sorted);
    r->samples_us = c->samples;
    r->n_samples = c->n;
    roof(rs, r, op, s);
    if (op->metrics) op->metrics(s, r->time_us * 1e-6, r->metrics, sizeof r->metrics);
    rs->n_pass++;
    emit(rs, r);
    update_ceilings(rs, op, s, r);
}

/* One row.  Returns -1 if the CUDA context is lost (the run must stop). */
static int run_impl(run_state *rs, const kb_op *op, const kb_shape *s, const kb_impl *im, void *ctx)
{
    kb_row r;
    fill_identity(rs, &r, op, s, im);
    kb_strlcpy(r.flush, keeps_l2(rs, s) ? "none" : "l2", sizeof r.flush);
    kb_clear_message();
    phase(rs, op, s, im, "verify");
    kb_status st = verify_once(rs, op, im, ctx, &r);
    if (st != KB_OK) {
        int lost = context_lost(); /* before the row: its note names the error */
        not_passed(rs, &r, st, st == KB_SKIP ? "skip" : "fail", "");
        return lost ? -1 : 0;
    }
    kb_strlcpy(r.verified, "pass", sizeof r.verified);
    if (op->note) op->note(ctx, r.note, sizeof r.note); /* e.g. which cuBLASLt algorithm ran */
    tcase c = {0};
    phase(rs, op, s, im, "warm-up");
    st = warm_up(rs, im, ctx);
    if (st == KB_OK) phase(rs, op, s, im, "timing");
    if (st == KB_OK) st = time_samples(rs, op, s, im, ctx, &r, &c);
    if (st == KB_OK) st = judge_clock(rs, &r, &c);
    if (st == KB_OK && rs->o->counters) { /* after the samples, in another process (kb_counters.h) */
        phase(rs, op, s, im, "counters");
        kb_counters_case(rs->o, op, s, im, keeps_l2(rs, s), &r);
    }
    int rc = 0;
    if (st == KB_SKIP) { /* verified, deliberately not timed */
        not_passed(rs, &r, st, NULL, "");
    } else if (st != KB_OK) {
        rc = context_lost() ? -1 : 0;
        not_passed(rs, &r, st, "fail", "verified, then: ");
    } else {
        finish_row(rs, op, s, &r, &c);
    }
    free_case(&c);
    return rc;
}

/* ---- the operators and shapes -------------------------------------------------- */
int kb_case_selected(const kb_run_opts *o, const kb_op *op, const kb_shape *s, const kb_impl *im)
{
    if (!kb_in_list(o->ops, op->name) || !kb_in_list(o->impls, im->name)) return 0;
    return o->shape_labels ? kb_in_list(o->shape_labels, s->label) : (s->sets & o->sets) != 0;
}

/* Worker mode: exactly the cases given; else the options' selection less the
 * resumed rows. */
static int select_case(const run_state *rs, const kb_op *op, const kb_shape *s, const kb_impl *im)
{
    if (rs->wfd >= 0) {
        char key[256];
        snprintf(key, sizeof key, "%s/%s/%s", op->name, im->name, s->label);
        return rs->o->worker_cases && kb_in_list(rs->o->worker_cases, key);
    }
    return kb_case_selected(rs->o, op, s, im) && !kb_out_has(&rs->out, op->name, im->name, s->label);
}

/* The first selected implementation of this shape, or -1 if none. */
static int first_impl(const run_state *rs, const kb_op *op, const kb_shape *s)
{
    for (int j = 0; j < op->n_impls; j++)
        if (select_case(rs, op, s, &op->impls[j])) return j;
    return -1;
}

/* Set up once per shape, every selected implementation on it, tear down.  A
 * failed setup gives every selected implementation a row saying why.
 * Returns -1 if the CUDA context is lost. */
static int run_shape(run_state *rs, const kb_op *op, const kb_shape *s, int first)
{
    void *ctx = NULL;
    kb_clear_message();
    phase(rs, op, s, &op->impls[first], "setup");
    kb_status st = op->setup ? op->setup(s, &ctx) : kb_error("operator has no setup()");
    /* Setups use the legacy stream and pageable copies (a pageable H2D copy
     * may return before its DMA lands); the timed stream is non-blocking and
     * does not wait for them: everything of the setup finishes here. */
    cudaError_t e = st == KB_OK ? cudaDeviceSynchronize() : cudaSuccess;
    if (e != cudaSuccess) {
        if (op->teardown) op->teardown(ctx);
        st = kb_error("setup's device work failed: %s", cudaGetErrorString(e));
    }
    kb_status agreed = kb_mpi_agree(st); /* MPI: every rank takes the same path */
    if (agreed != KB_OK && st == KB_OK && op->teardown) op->teardown(ctx);
    if (agreed != KB_OK) {
        int lost = context_lost();
        for (int j = 0; j < op->n_impls; j++) {
            if (!select_case(rs, op, s, &op->impls[j])) continue;
            kb_row r;
            fill_identity(rs, &r, op, s, &op->impls[j]);
            not_passed(rs, &r, agreed, agreed == KB_SKIP ? "skip" : "fail", "setup: ");
        }
        return lost ? -1 : 0;
    }
    int lost = 0;
    for (int j = 0; j < op->n_impls && !lost; j++)
        if (select_case(rs, op, s, &op->impls[j])) lost = run_impl(rs, op, s, &op->impls[j], ctx) < 0;
    if (op->teardown && !lost) op->teardown(ctx);
    return lost ? -1 : 0;
}

/* Every selected (op, shape) in registry order; 1 if the context was lost. */
static int run_ops(run_state *rs)
{
    int nops;
    const kb_op *const *ops = kb_ops(&nops);
    for (int i = 0; i < nops; i++) {
        const kb_op *op = ops[i];
        if (!kb_mpi_op_allowed(op->name)) continue;
        int ns = 0;
        const kb_shape *shapes = kb_op_shapes(op, &ns);
        for (int k = 0; k < ns; k++) {
            int first = first_impl(rs, op, &shapes[k]);
            if (first >= 0 && run_shape(rs, op, &shapes[k], first) < 0) return 1;
        }
    }
    return 0;
}

/* ---- open: device, GPU row, timer, stream, flush buffer, outputs --------------- */
/* The device (MPI: one per rank) and its table row.  KB_EXIT_OK or the exit code. */
static int open_device(run_state *rs)
{
    char why[256];
    if (!kb_mpi_min_int(kb_have_device(why, sizeof why))) { /* MPI: every rank needs one */
        if (!kb_mpi_rank()) fprintf(stderr, "kbench: no CUDA device: %s (use `kbench model` for projections)\n", why);
        return KB_EXIT_NO_DEVICE;
    }
    cudaGetDeviceCount(&rs->count);
    if (kb_mpi_active() && rs->o->device >= 0) {
        if (!kb_mpi_rank()) fprintf(stderr, "kbench: --device: not in MPI mode (each rank takes local rank %% GPUs)\n");
        return KB_EXIT_USAGE;
    }
    int rc = kb_mpi_active() ? KB_EXIT_OK : kb_use_device(rs->o->device); /* --device N, else 0 */
    if (rc) return rc;
    rs->dev = kb_mpi_active() ? kb_mpi_select_device(rs->count) : rs->o->device < 0 ? 0 : rs->o->device;
    rs->multi_gpu = rs->count > 1;
    struct cudaDeviceProp *p = &rs->prop;
    if (cudaGetDeviceProperties(p, rs->dev) != cudaSuccess) {
        fprintf(stderr, "kbench: no CUDA device: cudaGetDeviceProperties failed\n");
        return KB_EXIT_NO_DEVICE;
    }
    cudaDeviceGetAttribute(&rs->mem_khz, cudaDevAttrMemoryClockRate, rs->dev);
    cudaDeviceGetAttribute(&rs->bus_bits, cudaDevAttrGlobalMemoryBusWidth, rs->dev);
    cudaDeviceGetAttribute(&rs->sm_khz, cudaDevAttrClockRate, rs->dev);
    double hbm_derived = 2.0 * rs->mem_khz * 1e3 * rs->bus_bits / 8 / 1e9;
    char miss[256];
    if (!kb_gpu_from_props(p->name, p->multiProcessorCount, p->totalGlobalMem / 1e9, p->l2CacheSize / 1048576.0,
                           hbm_derived, &rs->gpu, miss, sizeof miss))
        fprintf(stderr, "kbench: warning: GPU '%s' %s; using a row derived from its properties (slug %s, "
                        "no tensor-core peaks: add it with --specs FILE)\n", p->name, miss, rs->gpu.slug);
    rs->sheet = rs->ceil = kb_ceil_from_gpu(&rs->gpu, 1);
    if (rs->wfd >= 0) return KB_EXIT_OK; /* worker mode: the orchestrator prints the device */
    printf("kbench: device %d: %s (%s), %d SMs, %.0f MB L2, %.1f GB, max SM clock %d MHz, %d GPU(s)\n", rs->dev,
           p->name, rs->gpu.slug, p->multiProcessorCount, p->l2CacheSize / 1048576.0, p->totalGlobalMem / 1e9,
           rs->sm_khz / 1000, rs->count);
    return KB_EXIT_OK;
}

static int open_timer(run_state *rs)
{
    char why[256];
    kb_timer_kind tk;
    if (kb_timer_init(rs->o->timer, &tk, why, sizeof why) != KB_OK) {
        fprintf(stderr, "kbench: timer: %s\n", kb_last_message());
        kb_timer_shutdown();
        return KB_EXIT_IO;
    }
    if (*why) fprintf(stderr, "kbench: warning: %s\n", why);
    rs->timer_name = kb_timer_name(tk);
    if (rs->o->flush == KB_FLUSH_ROTATE)
        fprintf(stderr, "kbench: warning: --flush rotate: no operator provides rotated input sets yet; "
                        "flushing L2 between samples instead (the CSV flush column says l2)\n");
    return KB_EXIT_OK;
}

/* The stream every case runs on and the buffer whose memset flushes L2. */
static int open_buffers(run_state *rs)
{
    if (cudaStreamCreateWithFlags(&rs->stream, cudaStreamNonBlocking) != cudaSuccess) {
        fprintf(stderr, "kbench: cannot create a CUDA stream: %s\n", cudaGetErrorString(cudaGetLastError()));
        rs->stream = NULL;
        return KB_EXIT_IO;
    }
    /* read (kb_dev_flush_l2) before each sample: zeros, written once here */
    rs->flush_bytes = 2 * (size_t)(rs->prop.l2CacheSize > 0 ? rs->prop.l2CacheSize : 64 << 20);
    if (rs->o->flush != KB_FLUSH_NONE &&
        (cudaMalloc(&rs->flush_buf, rs->flush_bytes) != cudaSuccess ||
         cudaMemset(rs->flush_buf, 0, rs->flush_bytes) != cudaSuccess || cudaDeviceSynchronize() != cudaSuccess)) {
        fprintf(stderr, "kbench: cannot allocate the %zu-byte L2 flush buffer\n", rs->flush_bytes);
        if (rs->flush_buf) cudaFree(rs->flush_buf);
        rs->flush_buf = NULL;
        return KB_EXIT_IO;
    }
    return KB_EXIT_OK;
}

/* <out or results/<gpu>>/<stamp>-<pid>.csv, .json (or --benchmark_out),
 * .meta.json, or the --resume file's; rank 0 opens the CSV (kb_out_open).
 * Worker mode: no files of its own but the Google Benchmark JSON the
 * orchestrator names; the ceilings it was given replace the datasheet's. */
static int open_outputs(run_state *rs)
{
    if (rs->wfd >= 0) {
        kb_ceil m = {0};
        if (rs->o->worker_ceil && !kb_wk_parse_ceil(rs->o->worker_ceil, ',', &m)) kb_wk_apply_ceil(&rs->ceil, &m);
        const char *gb = kb_gb_out_path();
        if (gb && strlen(gb) >= sizeof rs->out.json_path) {
            fprintf(stderr, "kbench run: --benchmark_out: path of %zu characters is too long\n", strlen(gb));
            return KB_EXIT_USAGE;
        }
        if (gb) memcpy(rs->out.json_path, gb, strlen(gb) + 1);
        return KB_EXIT_OK;
    }
    char dflt[64];
    snprintf(dflt, sizeof dflt, "results/%s", rs->gpu.slug); /* slug: 32 characters at most */
    return kb_mpi_rank() ? 0 : kb_out_open(&rs->out, rs->o->out ? rs->o->out : dflt, rs->o->resume, kb_gb_out_path());
}

/* Timer, flush buffer, stream: what open_timer and open_buffers took. */
static void release(run_state *rs)
{
    kb_timer_shutdown();
    if (rs->flush_buf) cudaFree(rs->flush_buf);
    if (rs->stream) cudaStreamDestroy(rs->stream);
}

static int open_run(run_state *rs)
{
    int rc = open_device(rs);
    if (!rc) rc = open_timer(rs);
    if (rc) return rc;
    int early = open_buffers(rs);
    if (!early) early = open_outputs(rs);
    if ((early = kb_mpi_max_int(early))) { /* MPI: every rank leaves together */
        release(rs);
        return early;
    }
    if (rs->wfd >= 0) return KB_EXIT_OK;
    const kb_adapt *a = &rs->o->adapt;
    char reps[160];
    if (a->on) snprintf(reps, sizeof reps, "adaptive %d..%d repetitions (noise <= %.3g%%, min-time %.3g s)", a->min_reps,
                        a->max_reps, 100 * a->max_noise, a->min_time_s);
    else snprintf(reps, sizeof reps, "%d repetitions", rs->o->reps);
    printf("kbench: timer %s, L2 flush %s, %s; rows -> %s\n", rs->timer_name,
           rs->o->flush == KB_FLUSH_NONE ? "off" : "on", reps, rs->out.csv_path);
    if (kb_mpi_active())
        printf("kbench: MPI mode, %d ranks (one GPU each): only ep_dispatch, ep_combine, alltoall run\n", kb_mpi_size());
    return KB_EXIT_OK;
}

/* ---- close: CSV, Google Benchmark JSON, meta, summary, exit code ---------------- */
/* Several GPUs: the topology the communication rows ran on. */
static json_t *topology(void)
{
    char topo[8192];
    size_t len = 0;
    FILE *f = popen("nvidia-smi topo -m 2>&1", "r");
    if (f) {
        len = fread(topo, 1, sizeof topo - 1, f);
        pclose(f);
    }
    topo[len] = 0;
    return json_string(len ? topo : "unavailable (nvidia-smi topo -m failed)");
}

/* What the rows cannot say per row. */
static json_t *meta_json(const run_state *rs)
{
    const struct cudaDeviceProp *p = &rs->prop;
    int drv = 0, rt = 0;
    cudaDriverGetVersion(&drv);
    cudaRuntimeGetVersion(&rt);
    json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:i, s:f, s:f, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:s, s:i}",
                          "kbench_version", KBENCH_VERSION, "git_sha", KB_GIT_SHA, "gpu", rs->gpu.slug,
                          "device_name", p->name, "sms", p->multiProcessorCount, "l2_mb", p->l2CacheSize / 1048576.0,
                          "memory_gb", p->totalGlobalMem / 1e9, "max_sm_clock_mhz", rs->sm_khz / 1000,
                          "memory_clock_mhz", rs->mem_khz / 1000, "memory_bus_bits", rs->bus_bits, "cuda_driver", drv,
                          "cuda_runtime", rt, "gpus_present", rs->count, "timer", rs->timer_name, "flush",
                          rs->o->flush == KB_FLUSH_NONE ? "none" : "l2", "reps", rs->o->reps);
    json_t *c = json_pack("{s:f, s:f, s:f, s:s, s:s, s:s}", "fp8_tflops", rs->ceil.fp8_tflops, "bf16_tflops",
                          rs->ceil.bf16_tflops, "hbm_gbs", rs->ceil.hbm_gbs, "fp8_source",
                          kb_ceil_source(&rs->ceil, KB_CEIL_FP8), "bf16_source",
                          kb_ceil_source(&rs->ceil, KB_CEIL_BF16), "hbm_source",
                          kb_ceil_source(&rs->ceil, KB_CEIL_HBM));
    char bus[32] = "";
    cudaDeviceGetPCIBusId(bus, sizeof bus, rs->dev);
    json_object_set_new(m, "device_index", json_integer(rs->dev));
    json_object_set_new(m, "pci_bus_id", json_string(bus));
    json_object_set_new(m, "timing", kb_timing_meta(rs->o));
    if (rs->o->adapt.on) json_object_set_new(m, "reps", json_null()); /* adaptive: "timing" says how many */
    json_object_set_new(m, "graph", json_boolean(rs->o->graph));
    json_object_set_new(m, "hot", json_boolean(rs->o->hot));
    json_object_set_new(m, "drop_low_clock", json_boolean(rs->o->drop_low_clock));
    json_object_set_new(m, "counters", kb_counters_meta(rs->o->counters));
    if (kb_mpi_active()) json_object_set_new(m, "mpi_ranks", json_integer(kb_mpi_size()));
    if (rs->count > 1) json_object_set_new(m, "topology", topology());
    json_object_set_new(m, "ceilings", c);
    return m;
}

static int dump_json(FILE *f, void *json) { return json_dumpf(json, f, JSON_INDENT(2)); }

/* <stamp>.meta.json beside the CSV, whole or not at all.  0 / -1. */
static int write_meta(const run_state *rs)
{
    char err[256];
    json_t *m = meta_json(rs);
    int rc = kb_write_atomic(rs->out.meta_path, dump_json, m, err, sizeof err);
    json_decref(m);
    return rc;
}

/* Rank 0 finishes the files; 0, or -1 if any could not be written.  Worker
 * mode: only the Google Benchmark JSON the orchestrator asked for. */
static int close_outputs(run_state *rs)
{
    if (kb_mpi_rank()) return 0;
    if (rs->wfd >= 0) return *rs->out.json_path ? kb_gb_write_json(rs->out.json_path) : 0;
    int rc = kb_out_close(&rs->out);
    if (rc) fprintf(stderr, "kbench: could not finish %s\n", rs->out.csv_path);
    if (kb_gb_write_json(rs->out.json_path)) {
        fprintf(stderr, "kbench: could not write %s\n", rs->out.json_path);
        rc = -1;
    }
    rs->timer_name = kb_timer_name(kb_timer_active()); /* after a CUPTI fallback: what the last rows used */
    if (write_meta(rs)) {
        fprintf(stderr, "kbench: could not write %s\n", rs->out.meta_path);
        rc = -1;
    }
    return rc;
}

/* Worker mode: the last message (`lost NAME` or `done`); the exit code. */
static int close_worker(run_state *rs, int lost, int rc)
{
    if (lost) {
        kb_wk_send(rs->wfd, "lost %s", lost_error ? lost_error : "cudaErrorUnknown");
        return KB_EXIT_DEVICE_LOST;
    }
    release(rs);
    kb_wk_send(rs->wfd, "done");
    return rc ? KB_EXIT_IO : rs->n_fail ? KB_EXIT_FAIL : KB_EXIT_OK;
}

static int close_run(run_state *rs, int lost)
{
    int rc = close_outputs(rs);
    if (rs->wfd >= 0) return close_worker(rs, lost, rc);
    if (lost) fprintf(stderr, "kbench: CUDA context lost (%s): stopping; the rows so far are in %s\n",
                      lost_error ? lost_error : "unknown error", rs->out.csv_path);
    if (!lost) release(rs); /* a lost context: leave CUPTI and the device alone, the process is ending */
    int n_fail = rs->n_fail + rs->out.old_fail; /* --resume: the file's verdict */
    if (!kb_mpi_rank()) {
        char dest[sizeof rs->out.csv_path + sizeof rs->out.json_path + 8];
        snprintf(dest, sizeof dest, "%s (+ %s)", rs->out.csv_path, rs->out.json_path);
        kb_summary_print(stdout, &rs->sum, "", dest);
    }
    /* MPI mode: one exit code on every rank (DEVICE_LOST 5 > IO 4 > FAIL 1 > OK 0, as below) */
    return kb_mpi_max_int(lost ? KB_EXIT_DEVICE_LOST : rc ? KB_EXIT_IO : n_fail ? KB_EXIT_FAIL : KB_EXIT_OK);
}

/* --worker-probe: the device opens and a 4 KiB host -> device -> host copy
 * comes back intact (the health probe); then `device SLUG META` and `done`. */
static int worker_probe(run_state *rs)
{
    unsigned char in[4096], back[4096];
    for (size_t i = 0; i < sizeof in; i++) in[i] = (unsigned char)(i * 131u + 7u);
    void *d = NULL;
    cudaError_t e = cudaMalloc(&d, sizeof in);
    if (e == cudaSuccess) e = cudaMemcpy(d, in, sizeof in, cudaMemcpyHostToDevice);
    if (e == cudaSuccess) e = cudaMemcpy(back, d, sizeof in, cudaMemcpyDeviceToHost);
    if (d) cudaFree(d);
    if (e != cudaSuccess || memcmp(in, back, sizeof in)) {
        fprintf(stderr, "kbench: health probe: %s\n", e != cudaSuccess ? cudaGetErrorName(e) : "copy came back wrong");
        return KB_EXIT_DEVICE_LOST;
    }
    rs->timer_name = kb_timer_name(rs->o->timer);
    json_t *m = meta_json(rs);
    char *txt = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    int rc = txt && !kb_wk_send(rs->wfd, "device %s %s", rs->gpu.slug, txt) && !kb_wk_send(rs->wfd, "done");
    free(txt);
    return rc ? KB_EXIT_OK : KB_EXIT_IO;
}

int kb_run(const kb_run_opts *o)
{
    if (o->counters_case) return kb_counters_child(o); /* the profiled child under ncu */
    if (o->worker_fd < 0 && o->isolate != KB_ISOLATE_NONE) {
        if (!kb_mpi_active()) return kb_orch_run(o);
        if (!kb_mpi_rank()) printf("kbench: MPI mode: --isolate none (the ranks' collectives need one process each)\n");
    }
    run_state rs = {.o = o, .wfd = o->worker_fd};
    if (o->worker_probe) {
        int rc = open_device(&rs);
        return rc ? rc : worker_probe(&rs);
    }
    int rc = open_run(&rs);
    if (rc) return rc;
    int lost = run_ops(&rs);
    return close_run(&rs, lost);
}
