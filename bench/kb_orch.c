/* kb_orch.c - `kbench run` as an orchestrator of worker processes (see
 * kb_orch.h for the design, kb_worker.h for the protocol).  Nothing here
 * calls CUDA: device facts come from the probe worker. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bench/kb_axis.h"
#include "bench/kb_counters.h"
#include "bench/kb_gbench.h"
#include "bench/kb_orch.h"
#include "bench/kb_summary.h"
#include "bench/kb_worker.h"

enum { PROBE_FIRST_S = 120, PROBE_HEALTH_S = 30, GRACE_MS = 1000 };

typedef struct ocase {
    const kb_op *op;
    const kb_shape *s;
    const kb_impl *im;
    int group; /* cases of one group share a worker */
    int done;  /* has its row */
} ocase;

typedef struct orch {
    const kb_run_opts *o;
    ocase *c;
    int n, n_groups;
    const char *exe;
    kb_ceil ceil;  /* the probe's datasheet figures, then what workers measured */
    json_t *meta;  /* the probe's device facts */
    char slug[32], why[256];
    kb_out out;
    int n_workers, n_json, stop;
    kb_summary sum; /* passed / failed / skipped, #wrong, bus bandwidth */
} orch;

/* One worker process and what it said. */
typedef struct worker {
    pid_t pid;
    int fd, probe;
    char *buf;
    size_t len, cap;
    int *cases, ncases;
    int cur;         /* case of the last `start`, -1 before one */
    char phase[24];
    double progress; /* monotonic time of the last message */
    double limit;    /* the deadline in force when it expired */
    int done, device, status, hung;
    char lost[64];
} worker;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- the cases -------------------------------------------------------------- */
static void add_case(orch *O, const kb_op *op, const kb_shape *s, const kb_impl *im, int group)
{
    if (O->n % 64 == 0) {
        ocase *p = realloc(O->c, (size_t)(O->n + 64) * sizeof *p);
        if (!p) abort();
        O->c = p;
    }
    O->c[O->n++] = (ocase){.op = op, .s = s, .im = im, .group = group};
}

/* Every selected case not in the resumed file, grouped by --isolate (an
 * implementation's shapes in table order). */
static void collect_cases(orch *O)
{
    int nops, g = -1;
    const kb_op *const *ops = kb_ops(&nops);
    for (int i = 0; i < nops; i++) {
        const kb_op *op = ops[i];
        if (O->o->isolate == KB_ISOLATE_OP) g++;
        for (int j = 0; j < op->n_impls; j++) {
            if (O->o->isolate == KB_ISOLATE_IMPL) g++;
            int ns = 0;
            const kb_shape *sh = kb_op_shapes(op, &ns);
            for (int k = 0; k < ns; k++) {
                const kb_impl *im = &op->impls[j];
                if (!kb_case_selected(O->o, op, &sh[k], im) || kb_out_has(&O->out, op->name, im->name, sh[k].label))
                    continue;
                add_case(O, op, &sh[k], im, O->o->isolate == KB_ISOLATE_CASE ? ++g : g);
            }
        }
    }
    O->n_groups = g + 1;
}

static int find_case(const worker *w, const orch *O, const char *op, const char *impl, const char *shape)
{
    for (int i = 0; i < w->ncases; i++) {
        const ocase *c = &O->c[w->cases[i]];
        if (!strcmp(c->op->name, op) && !strcmp(c->im->name, impl) && !strcmp(c->s->label, shape)) return w->cases[i];
    }
    return -1;
}

/* ---- rows --------------------------------------------------------------------- */
static void put_row(orch *O, kb_row *r)
{
    if (kb_csv_write(&O->out.csv, r)) fprintf(stderr, "kbench: writing %s.partial failed\n", O->out.csv_path);
    kb_counters_seen(r); /* --counters off: one line, and later workers are told */
    kb_print_row(r);
    kb_summary_add(&O->sum, r);
}

/* The `fail` row of a case whose worker died, hung or lost its context. */
static void fail_row(orch *O, int ci, const char *note)
{
    ocase *c = &O->c[ci];
    kb_row r;
    kb_case_row(&r, c->op, c->s, c->im, O->slug);
    kb_strlcpy(r.verified, "fail", sizeof r.verified);
    kb_row_note(r.note, sizeof r.note, note);
    put_row(O, &r);
    c->done = 1;
}

static void msg_row(orch *O, worker *w, const char *csv)
{
    kb_row r;
    char err[256];
    if (kb_wk_parse_row(csv, &r, err, sizeof err)) {
        fprintf(stderr, "kbench: warning: a worker sent a bad row (%s): ignored\n", err);
        free(r.samples_us);
        return;
    }
    int ci = find_case(w, O, r.op, r.impl, r.shape);
    if (ci < 0 || O->c[ci].done) {
        fprintf(stderr, "kbench: warning: a worker sent a row for %s/%s/%s it was not given: ignored\n", r.op, r.impl,
                r.shape);
    } else {
        put_row(O, &r);
        O->c[ci].done = 1;
    }
    free(r.samples_us);
}

/* ---- messages --------------------------------------------------------------------- */
static void msg_device(orch *O, worker *w, const char *rest)
{
    const char *sp = strchr(rest, ' ');
    json_error_t je;
    json_t *m = sp ? json_loads(sp + 1, 0, &je) : NULL;
    if (!m) return;
    w->device = 1;
    if (O->meta) { /* a health probe: the facts are known */
        json_decref(m);
        return;
    }
    snprintf(O->slug, sizeof O->slug, "%.*s", (int)(sp - rest), rest);
    O->meta = m;
    json_t *c = json_object_get(m, "ceilings");
    O->ceil.fp8_tflops = json_number_value(json_object_get(c, "fp8_tflops"));
    O->ceil.bf16_tflops = json_number_value(json_object_get(c, "bf16_tflops"));
    O->ceil.hbm_gbs = json_number_value(json_object_get(c, "hbm_gbs"));
}

static void msg_start(orch *O, worker *w, char *rest)
{
    char *f[4], *save = NULL;
    int n = 0;
    for (char *t = strtok_r(rest, " ", &save); t && n < 4; t = strtok_r(NULL, " ", &save)) f[n++] = t;
    if (n < 4) return;
    w->cur = find_case(w, O, f[0], f[1], f[2]);
    kb_strlcpy(w->phase, f[3], sizeof w->phase);
    fprintf(stderr, "kbench: start %s/%s/%s %s\n", f[0], f[1], f[2], f[3]);
}

static void handle_line(orch *O, worker *w, char *line)
{
    char *rest = strchr(line, ' ');
    if (rest) *rest++ = 0;
    else rest = line + strlen(line);
    w->progress = now_s();
    if (!strcmp(line, "row")) msg_row(O, w, rest);
    else if (!strcmp(line, "start")) msg_start(O, w, rest);
    else if (!strcmp(line, "device")) msg_device(O, w, rest);
    else if (!strcmp(line, "done")) w->done = 1;
    else if (!strcmp(line, "lost")) kb_strlcpy(w->lost, *rest ? rest : "cudaErrorUnknown", sizeof w->lost);
    else if (!strcmp(line, "ceil")) {
        kb_ceil m = {0};
        if (!kb_wk_parse_ceil(rest, ' ', &m)) kb_wk_apply_ceil(&O->ceil, &m);
    } else fprintf(stderr, "kbench: warning: unknown worker message '%.40s': ignored\n", line);
}

/* Append what was read; handle every whole line. */
static void take_input(orch *O, worker *w, const char *data, size_t n)
{
    if (w->len + n + 1 > w->cap) {
        size_t cap = (w->len + n + 1) * 2;
        char *p = realloc(w->buf, cap);
        if (!p) abort();
        w->buf = p;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, data, n);
    w->len += n;
    size_t start = 0;
    for (size_t i = 0; i < w->len; i++) {
        if (w->buf[i] != '\n') continue;
        w->buf[i] = 0;
        handle_line(O, w, w->buf + start);
        start = i + 1;
    }
    memmove(w->buf, w->buf + start, w->len - start);
    w->len -= start;
}

/* ---- the watchdog ------------------------------------------------------------------ */
/* Seconds without a message before the worker counts as hung (kb_orch.h). */
static double deadline(const orch *O, const worker *w)
{
    if (w->probe) return w->probe;
    if (!strcmp(w->phase, "counters")) return fmax(O->o->case_timeout, KB_COUNTERS_TIMEOUT_S + 60.0);
    if (O->o->case_timeout > 0) return O->o->case_timeout;
    if (w->cur < 0 || !strcmp(w->phase, "setup")) return 300;
    const ocase *c = &O->c[w->cur];
    double fl = c->op->flops ? c->op->flops(c->s) : 0, by = c->op->bytes ? c->op->bytes(c->s) : 0;
    kb_roof rf = kb_roof_of(&O->ceil, kb_shape_peak(c->op, c->s), fl, by, 0);
    double t = isfinite(rf.t_floor_s) ? rf.t_floor_s : 0;
    const kb_adapt *a = &O->o->adapt; /* adaptive: its guard ends the timing (kb_adapt_batch: a last batch near it) */
    if (a->on) return 60 + O->o->warmup_ms / 1000 + 2 * kb_adapt_timeout(a) + 50 * t * (a->min_reps + 4);
    return 60 + O->o->warmup_ms / 1000 + 50 * t * (O->o->reps + 4);
}

/* Read messages until the worker closes its end (0) or makes no progress
 * within the deadline (1). */
static int pump(orch *O, worker *w)
{
    w->progress = now_s();
    for (;;) {
        w->limit = deadline(O, w);
        double left = w->limit - (now_s() - w->progress);
        if (left <= 0) return 1;
        struct pollfd p = {.fd = w->fd, .events = POLLIN};
        int ms = left > 1e6 ? 1000000000 : (int)ceil(left * 1000);
        int rc = poll(&p, 1, ms);
        if (rc < 0 && errno != EINTR) return 0;
        if (rc <= 0) continue;
        char chunk[65536];
        ssize_t n = read(w->fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 0;
        take_input(O, w, chunk, (size_t)n);
    }
}

/* Has the worker exited?  (Not reaped: its pid keeps its group id taken.) */
static int exited(pid_t pid)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

/* Wait up to ms for the worker to exit; 1 if it did. */
static int wait_exit(pid_t pid, int ms)
{
    for (int t = 0; t < ms; t += 20) {
        if (exited(pid)) return 1;
        poll(NULL, 0, 20);
    }
    return exited(pid);
}

/* End the worker: after `grace_ms` to exit by itself (SIGTERM first when
 * `term`), SIGKILL to its whole process group; reaped.  Its wait status. */
static int end_worker(worker *w, int term, int grace_ms)
{
    if (term) kill(-w->pid, SIGTERM);
    wait_exit(w->pid, grace_ms);
    kill(-w->pid, SIGKILL); /* the group: anything it started goes too */
    int st = 0;
    while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR) {
    }
    close(w->fd);
    return st;
}

/* ---- starting a worker ------------------------------------------------------------- */
typedef struct argvb {
    char *a[128];
    int n;
    char bufs[6][160];
    char adapt[4][32], dev[16]; /* adapt_argv's values, --device N */
} argvb;

static void arg(argvb *b, const char *s)
{
    if (b->n < 126) b->a[b->n++] = (char *)s;
    b->a[b->n] = NULL;
}

/* --min-time, --max-noise (percent), --min-reps, --max-reps: resolved, all four. */
static void adapt_argv(argvb *b, const kb_adapt *a)
{
    snprintf(b->adapt[0], sizeof b->adapt[0], "%.17g", a->min_time_s);
    snprintf(b->adapt[1], sizeof b->adapt[1], "%.17g", 100 * a->max_noise);
    snprintf(b->adapt[2], sizeof b->adapt[2], "%d", a->min_reps);
    snprintf(b->adapt[3], sizeof b->adapt[3], "%d", a->max_reps);
    if (a->min_time_s > 0) arg(b, "--min-time"), arg(b, b->adapt[0]);
    arg(b, "--max-noise"), arg(b, b->adapt[1]), arg(b, "--min-reps"), arg(b, b->adapt[2]);
    arg(b, "--max-reps"), arg(b, b->adapt[3]);
}

/* "op/impl/shape,..." of the worker's cases (malloc'd). */
static char *case_list(const orch *O, const worker *w)
{
    size_t n = 1;
    for (int i = 0; i < w->ncases; i++) n += sizeof O->c[0].op->name + 160 + 64;
    char *s = malloc(n), *p = s;
    if (!s) abort();
    *p = 0;
    for (int i = 0; i < w->ncases; i++) {
        const ocase *c = &O->c[w->cases[i]];
        p += sprintf(p, "%s%s/%s/%s", i ? "," : "", c->op->name, c->im->name, c->s->label);
    }
    return s;
}

/* The worker's command line (kb_worker.h); `cases` may be NULL (probe). */
static void worker_argv(orch *O, argvb *b, const char *cases, const char *json)
{
    const kb_run_opts *o = O->o;
    static const char *flush[] = {"l2", "none", "rotate"};
    snprintf(b->dev, sizeof b->dev, "%d", o->device);
    arg(b, O->exe), arg(b, "run"), arg(b, "--worker-fd"), arg(b, "3");
    if (!cases) {
        arg(b, "--worker-probe");
        arg(b, "--timer"), arg(b, o->timer == KB_TIMER_EVENTS ? "events" : "cupti");
        if (o->specs) arg(b, "--specs"), arg(b, o->specs);
        if (o->device >= 0) arg(b, "--device"), arg(b, b->dev);
        return;
    }
    snprintf(b->bufs[0], sizeof b->bufs[0], "%.17g,%.17g,%.17g,%u", O->ceil.fp8_tflops, O->ceil.bf16_tflops,
             O->ceil.hbm_gbs, O->ceil.measured);
    snprintf(b->bufs[1], sizeof b->bufs[1], "%d", o->reps);
    snprintf(b->bufs[2], sizeof b->bufs[2], "%.0f", o->warmup_ms);
    arg(b, "--worker-ceil"), arg(b, b->bufs[0]), arg(b, "--worker-cases"), arg(b, cases);
    if (o->adapt.on) adapt_argv(b, &o->adapt); /* instead of --reps */
    else arg(b, "--reps"), arg(b, b->bufs[1]);
    arg(b, "--warmup-ms"), arg(b, b->bufs[2]);
    if (o->device >= 0) arg(b, "--device"), arg(b, b->dev);
    arg(b, "--flush"), arg(b, flush[o->flush]);
    arg(b, "--timer"), arg(b, o->timer == KB_TIMER_EVENTS ? "events" : "cupti");
    if (o->graph) arg(b, "--graph");
    if (o->counters) arg(b, "--counters");
    if (o->counters && kb_counters_off()) arg(b, "--counters-off"), arg(b, kb_counters_off());
    if (o->hot) arg(b, "--hot");
    if (o->drop_low_clock) arg(b, "--drop-low-clock");
    if (o->specs) arg(b, "--specs"), arg(b, o->specs);
    for (int i = 0; i < o->n_gb_args; i++) arg(b, o->gb_args[i]);
    const char *ax[2 * KB_MAX_DIMS + 4]; /* --axis shapes: the worker rebuilds the same list */
    for (int i = 0, n = kb_axes_argv(ax, 2 * KB_MAX_DIMS + 4); i < n; i++) arg(b, ax[i]);
    arg(b, json);
}

/* In the child: own process group, killed with the orchestrator, messages on
 * fd 3, stdin from /dev/null, not an MPI process; exec.  Never returns. */
static void child(char **argv, int wfd, pid_t parent)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0) dup2(nul, 0);
    if (wfd == KB_WORKER_FD) fcntl(wfd, F_SETFD, 0);
    else dup2(wfd, KB_WORKER_FD);
    const char *mpi[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_NTASKS"};
    for (int i = 0; i < 4; i++) unsetenv(mpi[i]);
    execv(argv[0], argv);
    fprintf(stderr, "kbench: cannot start the worker %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static int spawn(orch *O, worker *w, char **argv)
{
    int p[2];
    if (pipe(p)) return -1;
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) child(argv, p[1], parent);
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return -1;
    }
    setpgid(pid, pid); /* also here: no window in which a kill of the group misses it */
    w->pid = pid;
    w->fd = p[0];
    w->cur = -1;
    O->n_workers += !w->probe; /* probes are not counted */
    return 0;
}

/* ---- a worker's life and its outcome --------------------------------------------------- */
static const char *signame(int sig, char *buf, size_t n)
{
    static const struct { int sig; const char *name; } t[] = {
        {SIGSEGV, "SIGSEGV"}, {SIGBUS, "SIGBUS"}, {SIGABRT, "SIGABRT"}, {SIGFPE, "SIGFPE"},
        {SIGILL, "SIGILL"},   {SIGKILL, "SIGKILL"}, {SIGTERM, "SIGTERM"}, {SIGPIPE, "SIGPIPE"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i].sig == sig) return t[i].name;
    snprintf(buf, n, "signal %d", sig);
    return buf;
}

/* Why the worker ended abnormally, as a row note ("" if it did not). */
static void outcome(const worker *w, int hung, int st, const char *ph, char *note, size_t n)
{
    char sb[32];
    *note = 0;
    if (hung) snprintf(note, n, "hang: no progress for %.0f s in %s", w->limit, ph);
    else if (*w->lost) snprintf(note, n, "lost context: %s in %s", w->lost, ph);
    else if (WIFSIGNALED(st)) snprintf(note, n, "crashed: %s in %s", signame(WTERMSIG(st), sb, sizeof sb), ph);
    else if (!w->done) snprintf(note, n, "crashed: worker exited with status %d in %s", WEXITSTATUS(st), ph);
}

/* The culprit of an abnormal end: the case of the last `start` without a
 * row, else the first case without one (-1: none left). */
static int culprit(const orch *O, const worker *w)
{
    if (w->cur >= 0 && !O->c[w->cur].done) return w->cur;
    for (int i = 0; i < w->ncases; i++)
        if (!O->c[w->cases[i]].done) return w->cases[i];
    return -1;
}

/* Run one worker to its end.  Returns 1 if it ended abnormally (hang,
 * crash, lost context, exit without `done`), else 0. */
static int run_one(orch *O, worker *w, char **argv)
{
    if (spawn(O, w, argv)) {
        fprintf(stderr, "kbench: cannot start a worker: %s\n", strerror(errno));
        return 1;
    }
    int hung = w->hung = pump(O, w);
    int st = w->status = end_worker(w, hung, hung ? GRACE_MS : 10000);
    free(w->buf);
    if (w->probe) return !(w->device && w->done && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    int ci = culprit(O, w);
    char note[256];
    outcome(w, hung, st, ci >= 0 && ci == w->cur ? w->phase : "worker start-up", note, sizeof note);
    if (ci >= 0 && *note) fail_row(O, ci, note);
    for (int i = 0; w->done && i < w->ncases; i++) /* said done, sent no row: never loop on it */
        if (!O->c[w->cases[i]].done) fail_row(O, w->cases[i], "no row from the worker");
    return *note != 0;
}

/* The probe worker: device facts at the start, the health probe after an
 * abnormal end.  0 if the device answered; else why in O->why. */
static int probe(orch *O, int limit_s)
{
    worker w = {.probe = limit_s};
    argvb b = {.n = 0};
    worker_argv(O, &b, NULL, NULL);
    if (!run_one(O, &w, b.a)) return 0;
    if (WIFEXITED(w.status) && (WEXITSTATUS(w.status) == KB_EXIT_NO_DEVICE || WEXITSTATUS(w.status) == KB_EXIT_USAGE))
        return WEXITSTATUS(w.status); /* no device, --device N too large: the worker said so in one line */
    char sb[32];
    if (w.hung) snprintf(O->why, sizeof O->why, "no answer within %d s", limit_s);
    else if (WIFSIGNALED(w.status)) snprintf(O->why, sizeof O->why, "%s", signame(WTERMSIG(w.status), sb, sizeof sb));
    else if (WEXITSTATUS(w.status)) snprintf(O->why, sizeof O->why, "exit status %d", WEXITSTATUS(w.status));
    else snprintf(O->why, sizeof O->why, "no device facts");
    return -1;
}

/* One worker over the cases of group g still without a row. */
static int run_group_once(orch *O, int g)
{
    worker w = {0};
    w.cases = malloc((size_t)O->n * sizeof *w.cases);
    if (!w.cases) abort();
    for (int i = 0; i < O->n; i++)
        if (O->c[i].group == g && !O->c[i].done) w.cases[w.ncases++] = i;
    char *cases = case_list(O, &w), json[sizeof O->out.json_path + 32];
    snprintf(json, sizeof json, "--benchmark_out=%s.w%d", O->out.json_path, O->n_json++);
    argvb b = {.n = 0};
    worker_argv(O, &b, cases, json);
    int bad = run_one(O, &w, b.a);
    free(cases);
    free(w.cases);
    return bad;
}

static int pending(const orch *O)
{
    for (int i = 0; i < O->n; i++)
        if (!O->c[i].done) return 1;
    return 0;
}

/* Every group until its cases have rows; after an abnormal end the health
 * probe runs before the next worker, and a device that does not answer
 * stops the run (O->stop). */
static void run_groups(orch *O)
{
    for (int g = 0; g < O->n_groups && !O->stop; g++) {
        for (;;) {
            int left = 0;
            for (int i = 0; i < O->n && !left; i++) left = O->c[i].group == g && !O->c[i].done;
            if (!left) break;
            if (run_group_once(O, g) && pending(O) && probe(O, PROBE_HEALTH_S)) {
                O->stop = 1;
                break;
            }
        }
    }
}

/* ---- open and close --------------------------------------------------------------- */
static int open_orch(orch *O)
{
    O->exe = getenv("KBENCH_WORKER");
    if (!O->exe || !*O->exe) O->exe = "/proc/self/exe";
    int rc = probe(O, PROBE_FIRST_S);
    if (rc == KB_EXIT_NO_DEVICE || rc == KB_EXIT_USAGE) return rc; /* the worker said so in one line */
    if (rc || !O->meta) {
        fprintf(stderr, "kbench: the device probe failed (%s)\n", rc ? O->why : "no device facts");
        return KB_EXIT_DEVICE_LOST;
    }
    char dflt[64];
    snprintf(dflt, sizeof dflt, "results/%s", O->slug); /* slug: 32 characters at most */
    if ((rc = kb_out_open(&O->out, O->o->out ? O->o->out : dflt, O->o->resume, kb_gb_out_path()))) return rc;
    collect_cases(O);
    static const char *iso[] = {"impl", "none", "op", "case"};
    json_t *m = O->meta;
    printf("kbench: device %lld: %s (%s), %lld SMs; isolate %s, %d case(s)%s; rows -> %s\n",
           (long long)json_integer_value(json_object_get(m, "device_index")),
           json_string_value(json_object_get(m, "device_name")), O->slug,
           (long long)json_integer_value(json_object_get(m, "sms")), iso[O->o->isolate], O->n,
           O->out.old.n ? " not yet in the resumed file" : "", O->out.csv_path);
    return KB_EXIT_OK;
}

/* The workers' Google Benchmark JSON files (<json>.wN) as one document:
 * the first one's context, every one's benchmarks.  Removes the parts. */
static json_t *merge_json(const orch *O)
{
    json_t *all = NULL;
    for (int k = 0; k < O->n_json; k++) {
        char part[sizeof O->out.json_path + 16];
        snprintf(part, sizeof part, "%s.w%d", O->out.json_path, k);
        json_t *j = json_load_file(part, 0, NULL);
        remove(part);
        if (!j) continue;
        if (!all) {
            all = j;
            continue;
        }
        json_array_extend(json_object_get(all, "benchmarks"), json_object_get(j, "benchmarks"));
        json_decref(j);
    }
    return all ? all : json_pack("{s:{}, s:[]}", "context", "benchmarks");
}

/* The probe's device facts + the ceilings the rows used + how it ran. */
static json_t *meta_json(const orch *O)
{
    static const char *iso[] = {"impl", "none", "op", "case"};
    json_t *m = json_deep_copy(O->meta);
    const kb_ceil *c = &O->ceil;
    json_object_set_new(m, "ceilings",
                        json_pack("{s:f, s:f, s:f, s:s, s:s, s:s}", "fp8_tflops", c->fp8_tflops, "bf16_tflops",
                                  c->bf16_tflops, "hbm_gbs", c->hbm_gbs, "fp8_source",
                                  kb_ceil_source(c, KB_CEIL_FP8), "bf16_source",
                                  kb_ceil_source(c, KB_CEIL_BF16), "hbm_source",
                                  kb_ceil_source(c, KB_CEIL_HBM)));
    json_object_set_new(m, "hot", json_boolean(O->o->hot)); /* the probe ran without the timing options */
    json_object_set_new(m, "reps", O->o->adapt.on ? json_null() : json_integer(O->o->reps)); /* adaptive: "timing" */
    json_object_set_new(m, "timing", kb_timing_meta(O->o));
    json_object_set_new(m, "drop_low_clock", json_boolean(O->o->drop_low_clock));
    json_object_set_new(m, "isolate", json_string(iso[O->o->isolate]));
    json_object_set_new(m, "workers", json_integer(O->n_workers));
    json_object_set_new(m, "counters", kb_counters_meta(O->o->counters));
    json_object_set_new(m, "case_timeout_s", O->o->case_timeout > 0 ? json_real(O->o->case_timeout) : json_string("model"));
    if (O->o->resume) json_object_set_new(m, "resumed_from", json_string(O->o->resume));
    return m;
}

static int dump_json(FILE *f, void *json) { return json_dumpf(json, f, JSON_INDENT(2)); }

/* JSON and meta, whole or not at all; the CSV renamed into place, or left as
 * .partial (resumable) when the run stopped.  0 / -1. */
static int close_files(orch *O)
{
    char err[512];
    int rc = 0;
    json_t *j = merge_json(O), *m = meta_json(O);
    if (kb_write_atomic(O->out.json_path, dump_json, j, err, sizeof err)) rc = -1, fprintf(stderr, "kbench: %s\n", err);
    if (kb_write_atomic(O->out.meta_path, dump_json, m, err, sizeof err)) rc = -1, fprintf(stderr, "kbench: %s\n", err);
    json_decref(j);
    json_decref(m);
    if (O->stop) {
        kb_out_keep_partial(&O->out);
    } else if (kb_out_close(&O->out)) {
        fprintf(stderr, "kbench: could not finish %s\n", O->out.csv_path);
        rc = -1;
    }
    return rc;
}

static int close_orch(orch *O)
{
    int old_fail = O->out.old_fail;
    if (O->stop)
        fprintf(stderr, "kbench: the device did not recover (health probe: %s): stopping; the rows so far are in "
                        "%s.partial (kbench run --resume %s.partial continues)\n", O->why, O->out.csv_path,
                O->out.csv_path);
    int rc = close_files(O);
    char where[48], dest[sizeof O->out.csv_path + sizeof O->out.json_path + 16];
    snprintf(where, sizeof where, " in %d worker(s)", O->n_workers);
    snprintf(dest, sizeof dest, "%s%s (+ %s)", O->out.csv_path, O->stop ? ".partial" : "", O->out.json_path);
    kb_summary_print(stdout, &O->sum, where, dest);
    json_decref(O->meta);
    free(O->c);
    if (O->stop) return KB_EXIT_DEVICE_LOST;
    return rc ? KB_EXIT_IO : O->sum.n_fail + old_fail ? KB_EXIT_FAIL : KB_EXIT_OK;
}

int kb_orch_run(const kb_run_opts *o)
{
    orch O = {.o = o};
    int rc = open_orch(&O);
    if (rc) {
        json_decref(O.meta);
        return rc;
    }
    run_groups(&O);
    return close_orch(&O);
}
