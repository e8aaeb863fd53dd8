/* kb_timer.c - device time of the samples of a case: CUPTI activity records
 * correlated to each launch through an external correlation id, or CUDA
 * events; the flush, blocking kernel and clock stamps around each sample. */
#include <cupti.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/kb_cupti_log.h"
#include "bench/kb_timer.h"

static kb_timer_kind kind = KB_TIMER_EVENTS;
static cudaEvent_t ev_start, ev_stop;
static int events_ready, cupti_on;

/* Host-mapped: the blocking kernel's release flag and timeout mark, and the
 * clock stamps of the sample in flight (start: [0..1], end: [2..3]). */
typedef struct kb_gate {
    unsigned release, timed_out;
    unsigned long long stamp[4];
} kb_gate;
static kb_gate *gate_h, *gate_d; /* host and device views */
static unsigned *flush_sink;     /* device word the L2 flush never writes in practice */
static int n_sms;

const char *kb_timer_name(kb_timer_kind k) { return k == KB_TIMER_CUPTI ? "cupti" : "events"; }
kb_timer_kind kb_timer_active(void) { return kind; }

/* ---- CUPTI activity buffers ----------------------------------------------- */
static kb_cupti_log log_;
static uint64_t sample_id;
/* CUPTI delivers buffers on its own worker thread as well as inside
 * cuptiActivityFlushAll on ours. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
#define BUF_SIZE (4u << 20)

/* Device activity plus the external-correlation records.  The API kinds
 * (RUNTIME, DRIVER) are needed too: CUPTI emits an EXTERNAL_CORRELATION record
 * per API activity record made inside the pushed region, so without them no
 * correlation record appears (NVIDIA's cupti_external_correlation sample
 * enables RUNTIME "for CUPTI to provide correlation ids"). RUNTIME covers
 * cudaLaunchKernel/cudaGraphLaunch/cudaMemsetAsync, DRIVER covers libraries
 * that launch through cuLaunchKernel(Ex).  Their records are ignored. */
static const CUpti_ActivityKind kinds[] = {
    CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, CUPTI_ACTIVITY_KIND_MEMCPY, CUPTI_ACTIVITY_KIND_MEMCPY2,
    CUPTI_ACTIVITY_KIND_MEMSET, CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION, CUPTI_ACTIVITY_KIND_RUNTIME,
    CUPTI_ACTIVITY_KIND_DRIVER,
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

static void CUPTIAPI buf_requested(uint8_t **buffer, size_t *size, size_t *max_records)
{
    *buffer = aligned_alloc(8, BUF_SIZE); /* CUPTI needs 8-byte alignment */
    *size = *buffer ? BUF_SIZE : 0;
    *max_records = 0;
}

static void CUPTIAPI buf_completed(CUcontext ctx, uint32_t stream, uint8_t *buffer, size_t size, size_t valid)
{
    (void)size;
    CUpti_Activity *rec = NULL;
    size_t dropped = 0;
    if (cuptiActivityGetNumDroppedRecords(ctx, stream, &dropped) != CUPTI_SUCCESS) dropped = 0;
    pthread_mutex_lock(&lock);
    while (valid && cuptiActivityGetNextRecord(buffer, valid, &rec) == CUPTI_SUCCESS) kb_cupti_log_record(&log_, rec);
    log_.n_dropped += dropped;
    pthread_mutex_unlock(&lock);
    free(buffer);
}

static void cupti_stop(void)
{
    if (!cupti_on) return;
    for (size_t i = 0; i < N_KINDS; i++) cuptiActivityDisable(kinds[i]);
    cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED); /* hand back the buffers */
    cupti_on = 0;
}

static int cupti_start(char *why, size_t whylen)
{
    CUptiResult r = cuptiActivityRegisterCallbacks(buf_requested, buf_completed);
    cupti_on = r == CUPTI_SUCCESS;
    /* the device kinds and EXTERNAL_CORRELATION are required; RUNTIME and DRIVER
     * (the last two) are best effort: if neither works, the first sample finds no
     * correlation record and the timer falls back to events */
    for (size_t i = 0; r == CUPTI_SUCCESS && i < N_KINDS - 2; i++) r = cuptiActivityEnable(kinds[i]);
    if (r == CUPTI_SUCCESS)
        for (size_t i = N_KINDS - 2; i < N_KINDS; i++) cuptiActivityEnable(kinds[i]);
    if (r != CUPTI_SUCCESS) {
        const char *msg = NULL;
        cuptiGetResultString(r, &msg);
        snprintf(why, whylen, "CUPTI activity API unavailable (%s): using CUDA events", msg ? msg : "?");
        cupti_stop();
        return -1;
    }
    return 0;
}

/* The blocking kernel's flag, the stamps and the flush's sink: once per run. */
static kb_status open_gate(void)
{
    if (gate_h) return KB_OK;
    int dev = 0;
    KB_CUDA_TRY(cudaGetDevice(&dev));
    KB_CUDA_TRY(cudaDeviceGetAttribute(&n_sms, cudaDevAttrMultiProcessorCount, dev));
    KB_CUDA_TRY(cudaHostAlloc((void **)&gate_h, sizeof *gate_h, cudaHostAllocMapped));
    memset(gate_h, 0, sizeof *gate_h);
    KB_CUDA_TRY(cudaHostGetDevicePointer((void **)&gate_d, gate_h, 0));
    KB_CUDA_TRY(cudaMalloc((void **)&flush_sink, sizeof *flush_sink));
    return KB_OK;
}

kb_status kb_timer_init(kb_timer_kind want, kb_timer_kind *got, char *why, size_t whylen)
{
    why[0] = 0;
    kind = KB_TIMER_EVENTS;
    /* CUPTI first, before the events below create the CUDA context. */
    if (want == KB_TIMER_CUPTI && !cupti_on && cupti_start(why, whylen) == 0) kind = KB_TIMER_CUPTI;
    if (want == KB_TIMER_CUPTI && cupti_on) kind = KB_TIMER_CUPTI;
    if (!events_ready) { /* also the fallback if CUPTI correlation fails at run time */
        KB_CUDA_TRY(cudaEventCreate(&ev_start));
        KB_CUDA_TRY(cudaEventCreate(&ev_stop));
        events_ready = 1;
    }
    KB_TRY(open_gate());
    *got = kind;
    return KB_OK;
}

/* CUPTI gave no correlation at all: say so once and time with events from
 * now on.  The batch in hand is measured again (kb_timer_end's retry). */
static int fell_back;
static void fall_back(const char *why)
{
    fprintf(stderr, "kbench: warning: %s; timing with CUDA events from here on (the CSV timer column says which)\n",
            why);
    cupti_stop();
    kind = KB_TIMER_EVENTS;
    fell_back = 1;
}

void kb_timer_begin(void)
{
    pthread_mutex_lock(&lock);
    kb_cupti_log_reset(&log_); /* earlier records (verify, warm-up) never match */
    pthread_mutex_unlock(&lock);
    fell_back = 0;
}

static kb_status launch_batch(const kb_timing *t)
{
    for (int b = 0; b < t->batch; b++) KB_TRY(t->fn(t->ctx, t->stream));
    return KB_OK;
}

/* The launch(es) between the stamps: events just around them, or the CUPTI
 * correlation region. */
static kb_status launch_timed(const kb_timing *t, kb_sample *out)
{
    if (kind == KB_TIMER_EVENTS) {
        KB_CUDA_TRY(cudaEventRecord(ev_start, t->stream));
        KB_TRY(launch_batch(t));
        KB_CUDA_TRY(cudaEventRecord(ev_stop, t->stream));
        return KB_OK;
    }
    out->id = ++sample_id;
    if (cuptiActivityPushExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, out->id) != CUPTI_SUCCESS) {
        fall_back("cuptiActivityPushExternalCorrelationId failed");
        return launch_batch(t); /* untimed: the batch is measured again */
    }
    kb_status st = launch_batch(t);
    uint64_t popped = 0;
    cuptiActivityPopExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, &popped);
    return st;
}

/* Everything of a sample up to the release of the blocking kernel. */
static kb_status enqueue(const kb_timing *t, kb_sample *out)
{
    if (t->flush_buf) KB_TRY(kb_dev_flush_l2(t->flush_buf, t->flush_bytes, n_sms, flush_sink, t->stream));
    if (t->block) KB_TRY(kb_dev_block(&gate_d->release, &gate_d->timed_out, KB_BLOCK_TIMEOUT_S, t->stream));
    KB_TRY(kb_dev_stamp(gate_d->stamp, n_sms, t->stream));
    KB_TRY(launch_timed(t, out));
    return kb_dev_stamp(gate_d->stamp + 2, n_sms, t->stream);
}

kb_status kb_timer_sample(const kb_timing *t, kb_sample *out)
{
    *out = (kb_sample){0};
    memset(gate_h, 0, sizeof *gate_h);
    kb_status st = enqueue(t, out);
    __atomic_store_n(&gate_h->release, 1u, __ATOMIC_RELEASE); /* also after an error: never leave it spinning */
    cudaError_t e = cudaStreamSynchronize(t->stream);
    if (e == cudaSuccess) e = cudaDeviceSynchronize(); /* work the launch put on other streams */
    if (st != KB_OK) return st;
    KB_CUDA_TRY(e);
    if (__atomic_load_n(&gate_h->timed_out, __ATOMIC_ACQUIRE)) {
        out->deadlock = 1;
        return kb_error("deadlock: the blocking kernel timed out after %.0f s: the launch waits for the device "
                        "while it is enqueued", KB_BLOCK_TIMEOUT_S);
    }
    const unsigned long long *st4 = gate_h->stamp;
    if (st4[0] && st4[2] > st4[0] && st4[3] > st4[1]) {
        out->ns = st4[2] - st4[0];
        out->clk = st4[3] - st4[1];
    }
    if (kind == KB_TIMER_EVENTS && !fell_back) {
        float ms = 0;
        KB_CUDA_TRY(cudaEventElapsedTime(&ms, ev_start, ev_stop));
        out->seconds = ms * 1e-3 / t->batch;
    }
    return KB_OK;
}

int kb_hot_batch(double us)
{
    if (!(us < KB_HOT_BELOW_US)) return 1;
    double n = us > 0 ? ceil(KB_HOT_TARGET_US / us) : KB_HOT_MAX_BATCH;
    return n < 2 ? 2 : n > KB_HOT_MAX_BATCH ? KB_HOT_MAX_BATCH : (int)n;
}

/* Each sample's time from the records of the batch (s[0].id .. s[n-1].id). */
static kb_status resolve(const kb_timing *t, kb_sample *s, int n, int *retry)
{
    kb_cupti_result *res = malloc((size_t)n * sizeof *res);
    if (!res) return kb_error("out of memory resolving CUPTI records");
    pthread_mutex_lock(&lock);
    int oom = log_.oom;
    size_t dropped = log_.n_dropped;
    if (!oom && !dropped) kb_cupti_log_spans(&log_, s[0].id, n, res);
    pthread_mutex_unlock(&lock);
    kb_status st = KB_OK;
    if (oom) st = kb_error("out of memory collecting CUPTI records");
    else if (dropped) st = kb_error("CUPTI dropped %zu activity records: the spans may be short", dropped);
    char why[160];
    for (int i = 0; i < n && st == KB_OK && !*retry; i++) {
        int rc = kb_cupti_sample_time(&res[i], t->batch, &s[i].seconds, why, sizeof why);
        if (rc == KB_CUPTI_UNCORRELATED) { /* the launch went through no correlated API call */
            fall_back("CUPTI produced no external-correlation record for a timed launch");
            *retry = 1;
        } else if (rc == KB_CUPTI_BAD) {
            st = kb_error("sample %d of %d: %s", i + 1, n, why);
        }
    }
    free(res);
    return st;
}

kb_status kb_timer_end(const kb_timing *t, kb_sample *s, int n, int *retry)
{
    *retry = fell_back;
    if (*retry || kind == KB_TIMER_EVENTS || n <= 0) return KB_OK;
    KB_CUDA_TRY(cudaDeviceSynchronize());
    if (cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED) != CUPTI_SUCCESS)
        return kb_error("cuptiActivityFlushAll failed");
    return resolve(t, s, n, retry);
}

void kb_timer_shutdown(void)
{
    cupti_stop();
    kind = KB_TIMER_EVENTS;
    if (events_ready) {
        cudaEventDestroy(ev_start);
        cudaEventDestroy(ev_stop);
        events_ready = 0;
    }
    if (gate_h) cudaFreeHost(gate_h);
    if (flush_sink) cudaFree(flush_sink);
    gate_h = gate_d = NULL;
    flush_sink = NULL;
    pthread_mutex_lock(&lock);
    kb_cupti_log_free(&log_);
    pthread_mutex_unlock(&lock);
}
