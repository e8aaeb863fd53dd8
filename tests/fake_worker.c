/* fake_worker.c - a stand-in for `kbench run --worker-fd 3 ...` that speaks
 * the worker protocol (bench/kb_worker.h) without a GPU, so that
 * tests/test_isolate.sh can drive the real orchestrator through
 * $KBENCH_WORKER.  Every case passes (a row with 3 samples and the note
 * `fake, "q" ceil=<--worker-ceil>`) unless the environment names it:
 *   FAKE_HANG=OP/IMPL/SHAPE   in `timing`: ignores SIGTERM, forks a sleeping
 *                             child (same process group) and sleeps forever
 *   FAKE_SEGV=...             SIGSEGV in `verify`
 *   FAKE_LOST=...             `lost cudaErrorIllegalAddress` in `warm-up`, exit 5
 *   FAKE_MIDROW=...           half a `row` line in `timing`, then exit 0
 *   FAKE_NODEV=1              the probe: "kbench: no CUDA device: fake", exit 3
 *   FAKE_PROBE_FAIL_AFTER=N   with FAKE_STATE=DIR: probe number N and later fail
 *   FAKE_LOG=FILE             one line per case started ("OP/IMPL/SHAPE")
 *   FAKE_COUNTERS_OFF=WHY     with --counters: rows note "counters off: WHY" as a
 *                             worker with no ncu would, unless --counters-off R
 *                             (the orchestrator's) came: then "R"; FAKE_LOG
 *                             gets "counters-off=R" per worker
 *   FAKE_ARGV=FILE            one line per worker (probe too): its arguments
 *   FAKE_DEVICES=N            the probe refuses --device >= N as kbench does (exit 2)
 *   FAKE_WRONG=OP/IMPL/SHAPE:N that row fails with err N, err_metric "wrong"
 * Case hbm/IMPL/copy_64MiB sends `ceil 0 0 2500 4` (a measured HBM ceiling).
 * The k-th alltoall row of a worker: err_metric "wrong", err 0, metrics
 * "busbw_gbps=<10 k>" (the end-of-run bus bandwidth line). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench/kb_row.h"
#include "bench/kb_worker.h"

static int fd = 3;
static int n_alltoall; /* alltoall rows so far */
static int counters;
static const char *counters_off;

static int is(const char *var, const char *key)
{
    const char *v = getenv(var);
    return v && !strcmp(v, key);
}

static int probe(int device)
{
    const char *nd = getenv("FAKE_DEVICES");
    if (nd && device >= atoi(nd)) {
        fprintf(stderr, "kbench: --device %d: only %d CUDA device(s) here (0..%d)\n", device, atoi(nd), atoi(nd) - 1);
        return 2;
    }
    if (getenv("FAKE_NODEV")) {
        fprintf(stderr, "kbench: no CUDA device: fake\n");
        return 3;
    }
    const char *dir = getenv("FAKE_STATE"), *after = getenv("FAKE_PROBE_FAIL_AFTER");
    if (dir && after) {
        char path[1024];
        int n = 0;
        snprintf(path, sizeof path, "%s/probes", dir);
        FILE *f = fopen(path, "r");
        if (f) {
            if (fscanf(f, "%d", &n) != 1) n = 0;
            fclose(f);
        }
        if ((f = fopen(path, "w"))) fprintf(f, "%d\n", ++n), fclose(f);
        if (n >= atoi(after)) return 1;
    }
    kb_wk_send(fd, "device h100-sxm {\"gpu\":\"h100-sxm\",\"device_name\":\"Fake H100\",\"sms\":132,"
                   "\"ceilings\":{\"fp8_tflops\":1979,\"bf16_tflops\":989,\"hbm_gbs\":3350}}");
    kb_wk_send(fd, "done");
    return 0;
}

static void one_case(const char *op, const char *impl, const char *shape, const char *ceil)
{
    char key[256];
    snprintf(key, sizeof key, "%s/%s/%s", op, impl, shape);
    const char *log = getenv("FAKE_LOG");
    FILE *lf = log ? fopen(log, "a") : NULL;
    if (lf) fprintf(lf, "%s\n", key), fclose(lf);
    kb_wk_send(fd, "start %s %s %s setup", op, impl, shape);
    kb_wk_send(fd, "start %s %s %s verify", op, impl, shape);
    if (is("FAKE_SEGV", key)) raise(SIGSEGV);
    kb_wk_send(fd, "start %s %s %s warm-up", op, impl, shape);
    if (is("FAKE_LOST", key)) {
        kb_wk_send(fd, "lost cudaErrorIllegalAddress");
        exit(5);
    }
    kb_wk_send(fd, "start %s %s %s timing", op, impl, shape);
    if (is("FAKE_HANG", key)) {
        signal(SIGTERM, SIG_IGN);
        if (fork() == 0) sleep(300), _exit(0); /* a child of its own: the group kill must take it too */
        for (;;) pause();
    }
    if (is("FAKE_MIDROW", key)) {
        dprintf(fd, "row %s,%s,%s,u8,h100-sx", op, impl, shape);
        exit(0);
    }
    kb_row r;
    kb_row_init(&r);
    kb_strlcpy(r.op, op, sizeof r.op), kb_strlcpy(r.impl, impl, sizeof r.impl), kb_strlcpy(r.shape, shape, sizeof r.shape);
    kb_strlcpy(r.gpu, "h100-sxm", sizeof r.gpu), kb_strlcpy(r.source, "measured", sizeof r.source);
    kb_strlcpy(r.verified, "pass", sizeof r.verified), kb_strlcpy(r.timer, "events", sizeof r.timer);
    snprintf(r.note, sizeof r.note, "fake, \"q\" ceil=%s", ceil ? ceil : "none");
    const char *why = getenv("FAKE_COUNTERS_OFF");
    if (counters && (counters_off || why)) { /* kb_counters_fill's note */
        size_t n = strlen(r.note);
        if (counters_off) snprintf(r.note + n, sizeof r.note - n, "; %s", counters_off);
        else snprintf(r.note + n, sizeof r.note - n, "; counters off: %s", why);
    }
    if (!strcmp(op, "alltoall")) {
        kb_strlcpy(r.err_metric, "wrong", sizeof r.err_metric);
        r.err = 0;
        snprintf(r.metrics, sizeof r.metrics, "algbw_gbps=1;busbw_gbps=%d;loopback=0", 10 * ++n_alltoall);
    }
    const char *wrong = getenv("FAKE_WRONG");
    size_t kl = strlen(key);
    if (wrong && !strncmp(wrong, key, kl) && wrong[kl] == ':') {
        kb_strlcpy(r.verified, "fail", sizeof r.verified), kb_strlcpy(r.err_metric, "wrong", sizeof r.err_metric);
        r.err = atof(wrong + kl + 1);
    }
    double s[3] = {10, 11, 12.5};
    r.samples_us = s, r.n_samples = 3, r.reps = 3, r.time_us = 11, r.time_us_min = 10, r.time_us_max = 12.5;
    kb_wk_send_row(fd, &r);
    if (!strcmp(op, "hbm") && !strcmp(shape, "copy_64MiB")) kb_wk_send(fd, "ceil 0 0 2500 4");
}

int main(int argc, char **argv)
{
    const char *cases = NULL, *ceil = NULL;
    int is_probe = 0, device = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--worker-fd") && i + 1 < argc) fd = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--worker-probe")) is_probe = 1;
        else if (!strcmp(argv[i], "--worker-cases") && i + 1 < argc) cases = argv[++i];
        else if (!strcmp(argv[i], "--worker-ceil") && i + 1 < argc) ceil = argv[++i];
        else if (!strcmp(argv[i], "--counters")) counters = 1;
        else if (!strcmp(argv[i], "--device") && i + 1 < argc) device = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--counters-off") && i + 1 < argc) counters_off = argv[++i];
    }
    const char *av = getenv("FAKE_ARGV");
    FILE *af = av ? fopen(av, "a") : NULL;
    for (int i = 1; af && i < argc; i++) fprintf(af, "%s%s", argv[i], i + 1 < argc ? " " : "\n");
    if (af) fclose(af);
    if (is_probe) return probe(device);
    const char *log = getenv("FAKE_LOG");
    FILE *lf = counters && log ? fopen(log, "a") : NULL;
    if (lf) fprintf(lf, "counters-off=%s\n", counters_off ? counters_off : "none"), fclose(lf);
    char *list = strdup(cases ? cases : "");
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *a = strchr(t, '/'), *b = a ? strchr(a + 1, '/') : NULL;
        if (!b) return 2;
        *a = *b = 0;
        one_case(t, a + 1, b + 1, ceil);
    }
    free(list);
    kb_wk_send(fd, "done");
    return 0;
}
