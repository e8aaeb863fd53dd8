/* kbtest_gpu.h - GPU tests run their work in forked children, so one hung or
 * crashing implementation costs its own case, not the rest of the test (the
 * same contract as `kbench run --isolate`).  The parent never creates a CUDA
 * context (a context does not survive fork): it asks a child for the device
 * facts (kbt_gpu_probe) and runs every piece of GPU work through
 * kbt_isolated_seq.
 *
 * kbt_isolated_seq(q, arg, n, timeout_s): items 0..n-1 run in order in a
 * child, which first runs q->prepare(arg) (e.g. an operator's setup: once per
 * child) and announces each item on a pipe before starting it.  A child that
 * makes no progress for timeout_s seconds is killed (its process group,
 * SIGKILL) and the item it was on fails "hang"; one that dies by a signal
 * fails its item "crashed: SIG..."; either way a fresh child goes on with the
 * next item.  A child that ends normally passes when its own checks passed
 * (its FAIL lines are printed by the child); a child exiting 77 (from prepare
 * or an item: kbt_child_skip) skips the rest.  Returns 0 when every item
 * passed, KBT_SKIP when a child skipped, 1 otherwise. */
#ifndef KBTEST_GPU_H
#define KBTEST_GPU_H
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cuda_runtime_api.h>
#include "kbtest.h"

typedef struct kbt_gpu { int count, major, sms; } kbt_gpu;

/* Device count, compute capability major and SM count of device 0, found by a
 * child (count 0 when there is no usable GPU). */
static inline kbt_gpu kbt_gpu_probe(void)
{
    kbt_gpu g = {0, 0, 0};
    int fd[2];
    if (pipe(fd)) return g;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        kbt_gpu c = {0, 0, 0};
        if (cudaGetDeviceCount(&c.count) != cudaSuccess) c.count = 0;
        if (c.count > 0) {
            cudaDeviceGetAttribute(&c.major, cudaDevAttrComputeCapabilityMajor, 0);
            cudaDeviceGetAttribute(&c.sms, cudaDevAttrMultiProcessorCount, 0);
        }
        _exit(write(fd[1], &c, sizeof c) == (ssize_t)sizeof c ? 0 : 1);
    }
    close(fd[1]);
    if (pid < 0 || read(fd[0], &g, sizeof g) != (ssize_t)sizeof g) g.count = 0;
    close(fd[0]);
    if (pid > 0) waitpid(pid, NULL, 0);
    return g;
}

/* In a child: skip the rest of the sequence (the parent returns KBT_SKIP). */
static inline void kbt_child_skip(void)
{
    fflush(stdout);
    _exit(KBT_SKIP);
}

typedef struct kbt_seq {
    const char *what;                     /* names the run in messages      */
    int (*prepare)(void *arg);            /* in each child; 0 ok, 77 skip   */
    void (*item)(void *arg, int i);       /* in the child                   */
    void (*finish)(void *arg);            /* in the child, after its items  */
} kbt_seq;

static inline void kbt_seq_child(const kbt_seq *q, void *arg, int from, int n, int wfd)
{
    setpgid(0, 0);
    kbt_pass_ = kbt_fail_ = 0;
    int rc = q->prepare ? q->prepare(arg) : 0;
    if (rc) _exit(rc == KBT_SKIP ? KBT_SKIP : 1);
    for (int i = from; i < n; i++) {
        fflush(stdout);
        if (write(wfd, &i, sizeof i) != (ssize_t)sizeof i) _exit(1);
        q->item(arg, i);
    }
    if (q->finish) q->finish(arg);
    fflush(stdout);
    _exit(kbt_fail_ ? 1 : 0);
}

/* Waits for one child: *ended = 1 when it exited by itself (*status holds
 * its wait status).  Returns the last item it announced (-1: none yet). */
static inline int kbt_seq_wait(pid_t pid, int rfd, int timeout_s, int *status, int *ended, const char *what)
{
    int cur = -1;
    struct pollfd p = {.fd = rfd, .events = POLLIN};
    *ended = 0;
    for (;;) {
        int r = poll(&p, 1, timeout_s * 1000);
        if (r < 0) continue;
        if (r > 0) {
            int i;
            if (read(rfd, &i, sizeof i) == (ssize_t)sizeof i) { cur = i; continue; }
            waitpid(pid, status, 0); /* EOF: the child is gone */
            *ended = WIFEXITED(*status);
            if (!*ended) printf("FAIL %s: crashed: %s (item %d)\n", what, strsignal(WTERMSIG(*status)), cur);
            return cur;
        }
        printf("FAIL %s: hang: no progress for %d s (item %d); killed\n", what, timeout_s, cur);
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        waitpid(pid, status, 0);
        return cur;
    }
}

static inline int kbt_isolated_seq(const kbt_seq *q, void *arg, int n, int timeout_s)
{
    for (int from = 0; from < n;) {
        int fd[2];
        if (pipe(fd)) { KBT_CHECK(!"pipe"); return 1; }
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) { close(fd[0]); kbt_seq_child(q, arg, from, n, fd[1]); }
        close(fd[1]);
        if (pid < 0) { close(fd[0]); KBT_CHECK(!"fork"); return 1; }
        int status = 0, ended = 0, at = kbt_seq_wait(pid, fd[0], timeout_s, &status, &ended, q->what);
        close(fd[0]);
        if (ended) {
            if (WEXITSTATUS(status) == KBT_SKIP) {
                printf("%s: skipped by the child\n", q->what);
                return KBT_SKIP;
            }
            KBT_CHECK(WEXITSTATUS(status) == 0);
            return WEXITSTATUS(status) ? 1 : 0;
        }
        KBT_CHECK(!"an item hung or crashed");
        if (at < 0) return 1; /* died in prepare: nothing to go on with */
        from = at + 1;        /* a fresh child goes on with the next item */
    }
    return 1;
}
#endif
