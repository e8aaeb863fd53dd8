/* kb_counters.c - ncu's raw CSV page into counters, finding and running ncu
 * (see kb_counters.h).  Plain C and POSIX; the CUDA side of a profiled launch
 * is bench/kb_counters_child.c. */
#include "bench/kb_counters.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the raw page ------------------------------------------------------------- */
/* The metric columns the parser reads, in KB_COUNTERS_METRICS order. */
enum { M_DRAM_RD, M_DRAM_WR, M_L2, M_SM_PCT, M_TIME, N_METRICS };
static const char *const metric_name[N_METRICS] = {
    "dram__bytes_read.sum", "dram__bytes_write.sum", "lts__t_bytes.sum",
    "sm__throughput.avg.pct_of_peak_sustained_elapsed", "gpu__time_duration.sum"};

typedef struct unit { const char *name; double scale; } unit;
/* ncu's unit names (base, and the auto-scaled ones should --print-units be ignored) */
static const unit units[] = {{"byte", 1},     {"Kbyte", 1e3},   {"Mbyte", 1e6},   {"Gbyte", 1e9},
                             {"Tbyte", 1e12}, {"%", 1},         {"nsecond", 1e-9}, {"usecond", 1e-6},
                             {"msecond", 1e-3}, {"second", 1},  {"ns", 1e-9},     {"us", 1e-6},
                             {"ms", 1e-3},    {"s", 1},         {"", 1},          {NULL, 0}};

typedef struct page {
    char **f; /* the fields of the record being read */
    int nf, cap, oom;
    int nrec;            /* CSV records seen: 0 header, 1 units, then kernels */
    int ncols, col[N_METRICS];
    double scale[N_METRICS];
    double sum[N_METRICS], sm_weighted, sm_time;
    int n_kernels, bad_unit, bad_value;
    char what[96]; /* the metric/unit a problem is about */
} page;

static void on_field(void *s, size_t len, void *p)
{
    page *pg = p;
    if (pg->nf == pg->cap) {
        int cap = pg->cap ? 2 * pg->cap : 32;
        char **nf = realloc(pg->f, (size_t)cap * sizeof *nf);
        if (!nf) { pg->oom = 1; return; }
        pg->f = nf;
        pg->cap = cap;
    }
    char *v = malloc(len + 1);
    if (!v) { pg->oom = 1; return; }
    if (len) memcpy(v, s, len);
    v[len] = 0;
    pg->f[pg->nf++] = v;
}

static double unit_scale(const char *u)
{
    for (const unit *k = units; k->name; k++)
        if (!strcmp(k->name, u)) return k->scale;
    return NAN;
}

/* "1,234,567.5" -> 1234567.5; NaN for "n/a" and anything not a number. */
static double ncu_number(const char *s)
{
    char buf[64];
    size_t n = 0;
    for (; *s && n + 1 < sizeof buf; s++)
        if (*s != ',') buf[n++] = *s;
    buf[n] = 0;
    char *end;
    double v = strtod(buf, &end);
    return n && end != buf && *end == 0 && isfinite(v) ? v : NAN;
}

static void take_header(page *pg)
{
    pg->ncols = pg->nf;
    for (int m = 0; m < N_METRICS; m++) {
        pg->col[m] = -1;
        for (int i = 0; i < pg->nf; i++)
            if (!strcmp(pg->f[i], metric_name[m])) pg->col[m] = i;
    }
}

static void take_units(page *pg)
{
    for (int m = 0; m < N_METRICS; m++) {
        if (pg->col[m] < 0 || pg->col[m] >= pg->nf) continue;
        pg->scale[m] = unit_scale(pg->f[pg->col[m]]);
        if (isnan(pg->scale[m]) && !pg->bad_unit) {
            pg->bad_unit = 1;
            snprintf(pg->what, sizeof pg->what, "unit '%.24s' of %s", pg->f[pg->col[m]], metric_name[m]);
        }
    }
}

static void take_kernel(page *pg)
{
    double v[N_METRICS];
    for (int m = 0; m < N_METRICS; m++) {
        v[m] = pg->col[m] >= 0 && pg->col[m] < pg->nf ? ncu_number(pg->f[pg->col[m]]) * pg->scale[m] : NAN;
        if (m <= M_L2 && isnan(v[m]) && !pg->bad_value) {
            pg->bad_value = 1;
            snprintf(pg->what, sizeof pg->what, "%s", metric_name[m]);
        }
    }
    for (int m = 0; m <= M_L2; m++) pg->sum[m] += v[m];
    if (isfinite(v[M_SM_PCT]) && isfinite(v[M_TIME]) && v[M_TIME] > 0) {
        pg->sm_weighted += v[M_SM_PCT] * v[M_TIME];
        pg->sm_time += v[M_TIME];
    }
    pg->n_kernels++;
}

static void on_record(int c, void *p)
{
    (void)c;
    page *pg = p;
    if (!pg->oom && pg->nf) {
        if (pg->nrec == 0) take_header(pg);
        else if (pg->nrec == 1 && pg->nf == pg->ncols && !*pg->f[0]) take_units(pg); /* ID column: no unit */
        else if (pg->nf == pg->ncols) take_kernel(pg);
        pg->nrec++;
    }
    for (int i = 0; i < pg->nf; i++) free(pg->f[i]);
    pg->nf = 0;
}

/* ---- the log around it ------------------------------------------------------------ */
static int starts(const char *line, const char *prefix) { return !strncmp(line, prefix, strlen(prefix)); }

/* A line of ncu's own: remember the first error (and whether it is the
 * permission one) and whether it said it profiled nothing. */
typedef struct logscan { char err[160]; int perm, none; } logscan;
static void scan_line(logscan *ls, const char *line, size_t len)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
    if (strstr(buf, "ERR_NVGPUCTRPERM")) ls->perm = 1;
    if (starts(buf, "==WARNING== No kernels were profiled")) ls->none = 1;
    if (starts(buf, "==ERROR==") && !*ls->err) {
        const char *m = buf + strlen("==ERROR==");
        while (*m == ' ') m++;
        kb_strlcpy(ls->err, m, sizeof ls->err);
    }
}

/* Feed the CSV lines (those starting with '"': ncu quotes every field) to
 * libcsv, the others to scan_line.  0, or -1 on malformed CSV. */
static int read_log(const char *log, page *pg, logscan *ls)
{
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_APPEND_NULL) != 0) return -1;
    int rc = 0;
    for (const char *line = log; *line && !rc;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
        if (*line == '"') {
            if (csv_parse(&p, line, len, on_field, on_record, pg) != len) rc = -1;
            if (!nl && !rc && csv_fini(&p, on_field, on_record, pg) != 0) rc = -1;
        } else {
            scan_line(ls, line, len - (nl != NULL));
        }
        line += len;
    }
    if (!rc) csv_fini(&p, on_field, on_record, pg);
    csv_free(&p);
    for (int i = 0; i < pg->nf; i++) free(pg->f[i]);
    free(pg->f);
    return rc;
}

/* Why nothing was collected, from what the log held.  Returns c->note. */
static const char *why_none(kb_counters *c, const page *pg, const logscan *ls, int malformed)
{
    c->off = ls->perm;
    if (ls->perm)
        snprintf(c->note, sizeof c->note, "counters off: ERR_NVGPUCTRPERM, no permission to read GPU performance "
                                          "counters (README \"Hardware counters\")");
    else if (*ls->err) snprintf(c->note, sizeof c->note, "counters: ncu: %s", ls->err);
    else if (malformed || pg->oom) snprintf(c->note, sizeof c->note, "counters: ncu output not readable as CSV");
    else if (pg->bad_unit) snprintf(c->note, sizeof c->note, "counters: ncu: unknown %s", pg->what);
    else if (pg->bad_value) snprintf(c->note, sizeof c->note, "counters: ncu gave no value for %s", pg->what);
    else if (pg->nrec && pg->col[M_DRAM_RD] < 0) snprintf(c->note, sizeof c->note, "counters: ncu CSV has no %s column",
                                                          metric_name[M_DRAM_RD]);
    else if (ls->none || pg->nrec)
        snprintf(c->note, sizeof c->note, "counters: ncu profiled no kernel in the case's NVTX range");
    else snprintf(c->note, sizeof c->note, "counters: ncu wrote no CSV");
    return c->note;
}

int kb_counters_parse(const char *log, kb_counters *c)
{
    memset(c, 0, sizeof *c);
    c->dram_read = c->dram_write = c->l2_bytes = c->sm_pct = NAN;
    page pg = {.nrec = 0};
    for (int m = 0; m < N_METRICS; m++) pg.col[m] = -1, pg.scale[m] = 1;
    logscan ls = {{0}, 0, 0};
    int malformed = read_log(log ? log : "", &pg, &ls);
    if (ls.perm || malformed || pg.oom || pg.bad_unit || pg.bad_value || pg.n_kernels == 0 ||
        pg.col[M_DRAM_RD] < 0 || pg.col[M_DRAM_WR] < 0 || pg.col[M_L2] < 0) {
        why_none(c, &pg, &ls, malformed);
        return -1;
    }
    c->dram_read = pg.sum[M_DRAM_RD];
    c->dram_write = pg.sum[M_DRAM_WR];
    c->l2_bytes = pg.sum[M_L2];
    c->sm_pct = pg.sm_time > 0 ? pg.sm_weighted / pg.sm_time : NAN;
    c->n_kernels = pg.n_kernels;
    return 0;
}

/* ---- finding ncu ---------------------------------------------------------------- */
static int executable(const char *p)
{
    struct stat st;
    return !stat(p, &st) && S_ISREG(st.st_mode) && !access(p, X_OK);
}

/* `ncu` in a PATH folder: 0 and the path, else -1. */
static int on_path(char *out, size_t n)
{
    const char *path = getenv("PATH");
    char *dirs = strdup(path ? path : "");
    int rc = -1;
    for (char *save = NULL, *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d && rc; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, n, "%s/ncu", d);
        if (executable(out)) rc = 0;
    }
    free(dirs);
    return rc;
}

int kb_counters_find_ncu(char *out, size_t n)
{
    const char *env = getenv("KBENCH_NCU");
    if (env && *env) {
        if (executable(env) && strlen(env) < n) return snprintf(out, n, "%s", env), 0;
        snprintf(out, n, "KBENCH_NCU=%.100s is not an executable file", env);
        return -1;
    }
    if (!on_path(out, n)) return 0;
    if (executable("/usr/local/cuda/bin/ncu")) return snprintf(out, n, "/usr/local/cuda/bin/ncu"), 0;
    glob_t g;
    int found = 0;
    if (!glob("/opt/nvidia/nsight-compute/*/ncu", 0, NULL, &g)) { /* sorted: the last is the newest */
        for (size_t i = g.gl_pathc; i-- > 0 && !found;)
            if (executable(g.gl_pathv[i]) && strlen(g.gl_pathv[i]) < n)
                found = 1, snprintf(out, n, "%s", g.gl_pathv[i]);
        globfree(&g);
    }
    if (!found) snprintf(out, n, "ncu (Nsight Compute CLI) not found: set KBENCH_NCU or put ncu on PATH");
    return found ? 0 : -1;
}

void kb_counters_range(char *out, size_t n, const char *op, const char *impl, const char *shape)
{
    snprintf(out, n, "kbench %s %s %s", op, impl, shape);
}

/* ---- the run-wide reason ------------------------------------------------------------ */
static char off_why[200];
const char *kb_counters_off(void) { return *off_why ? off_why : NULL; }
void kb_counters_set_off(const char *why) { kb_strlcpy(off_why, why ? why : "", sizeof off_why); }

/* ---- running ncu on one case ----------------------------------------------------------- */
typedef struct ncu_argv { char *a[64]; int n; char range[200], include[220], key[256]; } ncu_argv;
static void push(ncu_argv *v, const char *s)
{
    if (v->n < 63) v->a[v->n++] = (char *)s;
    v->a[v->n] = NULL;
}

/* ncu's command line (kb_counters.h). */
static void build_argv(ncu_argv *v, const char *ncu, const kb_counters_req *q)
{
    char op[64], impl[64], shape[128];
    kb_strlcpy(v->key, q->key, sizeof v->key);
    if (sscanf(q->key, "%63[^/]/%63[^/]/%127s", op, impl, shape) != 3) op[0] = impl[0] = shape[0] = 0;
    kb_counters_range(v->range, sizeof v->range, op, impl, shape);
    snprintf(v->include, sizeof v->include, "%s/", v->range); /* trailing '/': a push/pop range */
    const char *fixed[] = {"--csv", "--page", "raw", "--print-units", "base", "--metrics", KB_COUNTERS_METRICS,
                           "--nvtx", "--nvtx-include", v->include, "--cache-control", q->keep_l2 ? "none" : "all",
                           "--clock-control", "none", "--target-processes", "all"};
    push(v, ncu);
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) push(v, fixed[i]);
    push(v, q->exe), push(v, "run"), push(v, "--counters-case"), push(v, v->key);
    if (q->specs) push(v, "--specs"), push(v, q->specs);
    if (q->device) push(v, "--device"), push(v, q->device);
    for (int i = 0; i < q->n_args; i++) push(v, q->args[i]);
}

/* Our environment with LC_ALL=C (ncu's numbers in the C locale), built
 * before the fork: the child of a threaded (CUDA) process only execs.
 * malloc'd; NULL out of memory. */
extern char **environ;
static char **c_locale_env(void)
{
    size_t n = 0;
    while (environ[n]) n++;
    char **env = malloc((n + 2) * sizeof *env);
    if (!env) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LC_ALL=", 7)) env[k++] = environ[i];
    env[k++] = (char *)"LC_ALL=C";
    env[k] = NULL;
    return env;
}

/* In the child: own process group (killed whole at the deadline), killed if
 * kbench dies, no descriptor of ours but the log on stdout/stderr (a
 * worker's message pipe must not reach the profiled process).  Never returns. */
static void exec_ncu(char **argv, char **env, int logfd, pid_t parent)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0) dup2(nul, 0);
    dup2(logfd, 1);
    dup2(logfd, 2);
    for (int fd = 3; fd < 1024; fd++) close(fd);
    execve(argv[0], argv, env);
    static const char msg[] = "==ERROR== cannot start ncu\n";
    if (write(2, msg, sizeof msg - 1) < 0) _exit(127);
    _exit(127);
}

/* Wait for pid up to timeout_s; on expiry its process group is killed.
 * Returns 1 if it had to be killed; *st its wait status. */
static int wait_or_kill(pid_t pid, double timeout_s, int *st)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        pid_t r = waitpid(pid, st, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) return 0;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) * 1e-9 > timeout_s) break;
        poll(NULL, 0, 50);
    }
    kill(-pid, SIGKILL);
    while (waitpid(pid, st, 0) < 0 && errno == EINTR) {
    }
    return 1;
}

/* The whole log file as a string (malloc'd), or NULL. */
static char *slurp(int fd)
{
    struct stat st;
    if (fstat(fd, &st) || lseek(fd, 0, SEEK_SET) < 0) return NULL;
    size_t n = (size_t)st.st_size;
    char *s = malloc(n + 1);
    size_t got = 0;
    while (s && got < n) {
        ssize_t k = read(fd, s + got, n - got);
        if (k <= 0) break;
        got += (size_t)k;
    }
    if (s) s[got] = 0;
    return s;
}

/* Run ncu with its output into an unlinked temporary file; the log or NULL
 * (then c->note says why). */
static char *run_ncu(const char *ncu, const kb_counters_req *q, kb_counters *c, int *status)
{
    char tmpl[] = "/tmp/kbench-ncu-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0) return snprintf(c->note, sizeof c->note, "counters: no temporary file: %s", strerror(errno)), NULL;
    unlink(tmpl);
    ncu_argv v = {.n = 0};
    build_argv(&v, ncu, q);
    char **env = c_locale_env();
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid(), pid = env ? fork() : -1;
    if (pid == 0) exec_ncu(v.a, env, fd, parent);
    free(env);
    int st = 0;
    if (pid < 0) snprintf(c->note, sizeof c->note, "counters: cannot start ncu: %s", strerror(errno));
    else setpgid(pid, pid);
    if (pid > 0 && wait_or_kill(pid, q->timeout_s, &st))
        snprintf(c->note, sizeof c->note, "counters: ncu did not finish within %g s (killed)", q->timeout_s);
    *status = st;
    char *log = *c->note ? NULL : slurp(fd);
    close(fd);
    if (!log && !*c->note) snprintf(c->note, sizeof c->note, "counters: cannot read ncu's output");
    return log;
}

int kb_counters_collect(const kb_counters_req *q, kb_counters *c)
{
    memset(c, 0, sizeof *c);
    c->dram_read = c->dram_write = c->l2_bytes = c->sm_pct = NAN;
    char ncu[512];
    if (kb_counters_off()) {
        snprintf(c->note, sizeof c->note, "%s", kb_counters_off());
        c->off = 1;
        return -1;
    }
    if (kb_counters_find_ncu(ncu, sizeof ncu)) {
        snprintf(c->note, sizeof c->note, "counters off: %.180s", ncu);
        c->off = 1;
    }
    int st = 0;
    char *log = c->off ? NULL : run_ncu(ncu, q, c, &st);
    int rc = log ? kb_counters_parse(log, c) : -1, silent = rc && log && !strcmp(c->note, "counters: ncu wrote no CSV");
    free(log);
    if (silent && WIFEXITED(st) && WEXITSTATUS(st))
        snprintf(c->note, sizeof c->note, "counters: ncu wrote no CSV (exit status %d)", WEXITSTATUS(st));
    else if (silent && WIFSIGNALED(st))
        snprintf(c->note, sizeof c->note, "counters: ncu wrote no CSV (killed by signal %d)", WTERMSIG(st));
    if (rc && c->off) kb_counters_set_off(c->note); /* no retry for the rest of this process */
    return rc;
}

/* ---- into the row ------------------------------------------------------------------------ */
void kb_counters_fill(kb_row *r, const kb_counters *c)
{
    if (c->n_kernels > 0) {
        r->dram_bytes = c->dram_read + c->dram_write;
        r->l2_bytes = c->l2_bytes;
        r->measured_intensity = r->dram_bytes > 0 && r->flops >= 0 ? r->flops / r->dram_bytes : NAN;
        r->traffic_ratio = r->bytes > 0 ? r->dram_bytes / r->bytes : NAN;
        r->sm_throughput_pct = c->sm_pct;
        return;
    }
    char *note = *r->note ? kb_strdupf("%s; %s", r->note, c->note) : NULL;
    kb_row_note(r->note, sizeof r->note, note ? note : c->note);
    free(note);
}

void kb_counters_seen(const kb_row *r)
{
    const char *off = strstr(r->note, "counters off: "), *one = strstr(r->note, "counters: ");
    static int warned; /* the one line of the run */
    if (off) {
        char why[200];
        snprintf(why, sizeof why, "%s", off);
        char *end = strchr(why, ';'); /* a later part of the note is not the reason */
        if (end) *end = 0;
        if (!kb_counters_off()) kb_counters_set_off(why);
        if (!warned++) fprintf(stderr, "kbench: warning: %s; timing only from here on\n", why);
    } else if (one) {
        fprintf(stderr, "kbench: warning: %s/%s/%s: %s\n", r->op, r->impl, r->shape, one);
    }
}

json_t *kb_counters_meta(int asked)
{
    return json_string(!asked ? "off" : kb_counters_off() ? kb_counters_off() : "ncu");
}
