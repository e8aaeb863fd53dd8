/* kb_timer.c - device time of one launch: CUPTI activity records correlated
 * to the launch through an external correlation id, or CUDA events. */
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
    *got = kind;
    return KB_OK;
}

static kb_status events_sample(kb_launch_fn fn, void *ctx, cudaStream_t s, double *seconds)
{
    KB_CUDA_TRY(cudaEventRecord(ev_start, s));
    KB_TRY(fn(ctx, s));
    KB_CUDA_TRY(cudaEventRecord(ev_stop, s));
    KB_CUDA_TRY(cudaEventSynchronize(ev_stop));
    float ms = 0;
    KB_CUDA_TRY(cudaEventElapsedTime(&ms, ev_start, ev_stop));
    *seconds = ms * 1e-3;
    return KB_OK;
}

/* CUPTI gave no correlation at all: say so once and time with events from
 * now on.  The sample in hand gets no time (NaN): the caller repeats it with
 * its L2 flush, rather than this file relaunching on a warm L2. */
static void fall_back(const char *why)
{
    fprintf(stderr, "kbench: warning: %s; timing with CUDA events from here on (the CSV timer column says which)\n",
            why);
    cupti_stop();
    kind = KB_TIMER_EVENTS;
}

kb_status kb_timer_sample(kb_launch_fn fn, void *ctx, cudaStream_t s, double *seconds)
{
    *seconds = 0;
    if (kind == KB_TIMER_EVENTS) return events_sample(fn, ctx, s, seconds);
    uint64_t id = ++sample_id, popped = 0;
    pthread_mutex_lock(&lock);
    kb_cupti_log_reset(&log_); /* earlier records (flush memset, warm-up) never match */
    pthread_mutex_unlock(&lock);
    if (cuptiActivityPushExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, id) != CUPTI_SUCCESS) {
        fall_back("cuptiActivityPushExternalCorrelationId failed");
        *seconds = NAN;
        return KB_OK;
    }
    kb_status st = fn(ctx, s);
    cuptiActivityPopExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, &popped);
    if (st != KB_OK) return st;
    KB_CUDA_TRY(cudaStreamSynchronize(s));
    KB_CUDA_TRY(cudaDeviceSynchronize()); /* work the launch put on other streams */
    if (cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED) != CUPTI_SUCCESS)
        return kb_error("cuptiActivityFlushAll failed");
    uint64_t lo, hi;
    size_t n_ext = 0;
    pthread_mutex_lock(&lock);
    size_t matched = kb_cupti_log_span(&log_, id, &lo, &hi, &n_ext);
    int oom = log_.oom;
    size_t incomplete = log_.n_incomplete, dropped = log_.n_dropped;
    pthread_mutex_unlock(&lock);
    if (oom) return kb_error("out of memory collecting CUPTI records");
    if (dropped) return kb_error("CUPTI dropped %zu activity records: the span may be short", dropped);
    if (n_ext == 0) { /* the launch went through no correlated API call: CUPTI is not correlating */
        fall_back("CUPTI produced no external-correlation record for a timed launch");
        *seconds = NAN;
        return KB_OK;
    }
    if (!matched || hi <= lo)
        return kb_error("CUPTI recorded no device activity for the launch (%zu incomplete records)", incomplete);
    *seconds = (double)(hi - lo) * 1e-9;
    return KB_OK;
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
    pthread_mutex_lock(&lock);
    kb_cupti_log_free(&log_);
    pthread_mutex_unlock(&lock);
}
