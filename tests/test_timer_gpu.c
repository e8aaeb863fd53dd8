/* test_timer_gpu.c - the timed-sample machinery on a GPU (bench/kb_timer.h,
 * bench/kb_dev.cu), through the `hbm` operator's v1 read kernel and a few
 * synthetic launchers; SKIP (77) without a GPU.  Each item prints what it
 * measured.
 *   0 flush:    an 8 MiB read after the read-only L2 flush is not slower than
 *               after a memset flush of the same buffer (whose dirty lines the
 *               read would pay to write back), and not faster than on a warm L2.
 *   1 clock:    every sample has stamps from SM 0; its clock is between 30%
 *               and 110% of the nominal clock; the stamps bracket the launch.
 *   2 block:    a launcher of 32 memsets with 200 us of host sleep between
 *               them: timed without the blocking kernel the span holds the
 *               6.4 ms of host gaps, with it the span is under 2 ms.
 *   3 deadlock: a launcher that synchronises its stream fails its sample
 *               with deadlock = 1 after the blocking kernel's timeout, and is
 *               timed without the blocking kernel.
 *   4 hot:      a 1 MiB read timed as batches of 64 back-to-back launches
 *               gives a positive per-launch time no longer than one launch
 *               timed alone (warm L2 both). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "bench/kb.h"
#include "bench/kb_clock.h"
#include "bench/kb_timer.h"
#include "bench/ops/op_common.h"
#include "kernels/hbm/hbm.h"
#include "kbtest_gpu.h"

extern const kb_op kb_op_hbm;

typedef struct env {
    cudaStream_t s;
    void *flush;
    size_t flush_bytes;
    int nominal_mhz;
} env;

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median seconds of n samples of t (memset_first: the old memset flush
 * queued before each sample); out (n) keeps the samples.  -1 on error. */
static double measure(const kb_timing *t, int n, kb_sample *out, const env *E, int memset_first)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int retry = 0;
        kb_timer_begin();
        for (int i = 0; i < n; i++) {
            if (memset_first) cudaMemsetAsync(E->flush, i & 0xff, E->flush_bytes, t->stream);
            if (kb_timer_sample(t, &out[i]) != KB_OK) return -1;
        }
        if (kb_timer_end(t, out, n, &retry) != KB_OK) return -1;
        if (retry) continue;
        double *v = malloc((size_t)n * sizeof *v);
        for (int i = 0; i < n; i++) v[i] = out[i].seconds;
        qsort(v, (size_t)n, sizeof *v, cmp_d);
        double med = v[n / 2];
        free(v);
        return med;
    }
    return -1;
}

static void *hbm_ctx(size_t bytes)
{
    kb_shape sh = {.label = "read_test", .dtype = "u8", .sets = KB_SET_SMALL};
    sh.d[HBM_D_MODE] = HBM_READ;
    sh.d[HBM_D_BYTES] = (int64_t)bytes;
    sh.d[HBM_D_PASSES] = 1;
    void *ctx = NULL;
    if (kb_op_hbm.setup(&sh, &ctx) != KB_OK) printf("FAIL hbm setup: %s\n", kb_last_message());
    cudaDeviceSynchronize();
    return ctx;
}

static kb_timing read_timing(void *ctx, const env *E)
{
    return (kb_timing){.fn = kb_op_hbm.impls[0].launch, .ctx = ctx, .stream = E->s, .batch = 1, .block = 1};
}

static void item_flush(env *E)
{
    enum { N = 21 };
    kb_sample s[N];
    void *ctx = hbm_ctx(8u << 20);
    kb_timing t = read_timing(ctx, E);
    double warm = measure(&t, N, s, E, 0), dirty = measure(&t, N, s, E, 1);
    t.flush_buf = E->flush;
    t.flush_bytes = E->flush_bytes;
    double clean = measure(&t, N, s, E, 0);
    printf("flush: 8 MiB read: warm L2 %.2f us, after memset flush %.2f us, after read flush %.2f us\n", warm * 1e6,
           dirty * 1e6, clean * 1e6);
    KBT_CHECK(warm > 0 && dirty > 0 && clean > 0);
    KBT_CHECK(clean <= dirty * 1.05);
    KBT_CHECK(clean >= warm * 0.95);
    kb_op_hbm.teardown(ctx);
}

static void item_clock(env *E)
{
    enum { N = 11 };
    kb_sample s[N];
    void *ctx = hbm_ctx(256u << 20); /* ~80 us per read */
    kb_timing t = read_timing(ctx, E);
    KBT_CHECK(measure(&t, N, s, E, 0) > 0);
    for (int i = 0; i < N; i++) {
        double mhz = kb_clock_mhz(s[i].clk, s[i].ns);
        printf("clock: sample %d: %.1f us, stamps %.1f us, %.0f MHz (nominal %d)\n", i, s[i].seconds * 1e6,
               s[i].ns * 1e-3, mhz, E->nominal_mhz);
        KBT_CHECK(s[i].ns > 0 && s[i].clk > 0);
        KBT_CHECK(mhz > 0.3 * E->nominal_mhz && mhz < 1.1 * E->nominal_mhz);
        KBT_CHECK(s[i].ns * 1e-9 >= s[i].seconds * 0.99);
    }
    kb_op_hbm.teardown(ctx);
}

/* 32 small memsets with 200 us of host time between them. */
typedef struct gappy { void *buf; } gappy;
static kb_status gappy_launch(void *p, cudaStream_t s)
{
    gappy *g = p;
    for (int i = 0; i < 32; i++) {
        KB_CUDA_TRY(cudaMemsetAsync(g->buf, i, 4096, s));
        nanosleep(&(struct timespec){0, 200000}, NULL);
    }
    return KB_OK;
}

static void item_block(env *E)
{
    enum { N = 5 };
    kb_sample s[N];
    gappy g = {NULL};
    KBT_CHECK(cudaMalloc(&g.buf, 4096) == cudaSuccess);
    kb_timing t = {.fn = gappy_launch, .ctx = &g, .stream = E->s, .batch = 1, .block = 0};
    double open = measure(&t, N, s, E, 0);
    t.block = 1;
    double held = measure(&t, N, s, E, 0);
    printf("block: 32 memsets, 200 us host gaps: %.0f us without the blocking kernel, %.0f us with it\n",
           open * 1e6, held * 1e6);
    KBT_CHECK(open > 6.2e-3);
    KBT_CHECK(held > 0 && held < 2e-3);
    cudaFree(g.buf);
}

static kb_status syncing_launch(void *p, cudaStream_t s)
{
    KB_CUDA_TRY(cudaMemsetAsync(p, 1, 4096, s));
    KB_CUDA_TRY(cudaStreamSynchronize(s));
    KB_CUDA_TRY(cudaMemsetAsync(p, 2, 4096, s));
    return KB_OK;
}

static void item_deadlock(env *E)
{
    void *buf = NULL;
    KBT_CHECK(cudaMalloc(&buf, 4096) == cudaSuccess);
    kb_timing t = {.fn = syncing_launch, .ctx = buf, .stream = E->s, .batch = 1, .block = 1};
    kb_sample s;
    kb_timer_begin();
    kb_status st = kb_timer_sample(&t, &s);
    printf("deadlock: status %d, deadlock %d: %s\n", (int)st, s.deadlock, kb_last_message());
    KBT_CHECK(st != KB_OK && s.deadlock == 1);
    KBT_CHECK(strstr(kb_last_message(), "deadlock") != NULL);
    t.block = 0;
    kb_sample s2[3];
    KBT_CHECK(measure(&t, 3, s2, E, 0) > 0);
    cudaFree(buf);
}

static void item_hot(env *E)
{
    enum { N = 9 };
    kb_sample s[N];
    void *ctx = hbm_ctx(1u << 20);
    kb_timing t = read_timing(ctx, E);
    double one = measure(&t, N, s, E, 0);
    t.batch = 64;
    double hot = measure(&t, N, s, E, 0);
    printf("hot: 1 MiB read: %.2f us alone, %.2f us per launch in batches of 64\n", one * 1e6, hot * 1e6);
    KBT_CHECK(one > 0 && hot > 0 && hot <= one * 1.1);
    kb_op_hbm.teardown(ctx);
}

static env E_;

static int prepare(void *arg)
{
    env *E = arg;
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) return KBT_SKIP;
    char why[256];
    kb_timer_kind got;
    if (kb_timer_init(KB_TIMER_CUPTI, &got, why, sizeof why) != KB_OK) return 1;
    printf("timer: %s %s\n", kb_timer_name(got), why);
    int khz = 0, l2 = 0;
    cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, 0);
    cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0);
    E->nominal_mhz = khz / 1000;
    E->flush_bytes = 2 * (size_t)l2;
    if (cudaStreamCreateWithFlags(&E->s, cudaStreamNonBlocking) != cudaSuccess ||
        cudaMalloc(&E->flush, E->flush_bytes) != cudaSuccess || cudaMemset(E->flush, 0, E->flush_bytes) != cudaSuccess)
        return 1;
    return cudaDeviceSynchronize() == cudaSuccess ? 0 : 1;
}

static void item(void *arg, int i)
{
    env *E = arg;
    void (*const items[])(env *) = {item_flush, item_clock, item_block, item_deadlock, item_hot};
    items[i](E);
}

int main(void)
{
    kbt_gpu g = kbt_gpu_probe();
    if (g.count == 0) {
        printf("test_timer_gpu: no GPU: skipped\n");
        return KBT_SKIP;
    }
    const kbt_seq q = {"timer", prepare, item, NULL};
    int rc = kbt_isolated_seq(&q, &E_, 5, 60);
    if (rc == KBT_SKIP) return KBT_SKIP;
    return kbt_done("test_timer_gpu") || rc;
}
