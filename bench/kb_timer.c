#include <cupti.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kb_timer.h"

static kb_timer_kind kind = KB_TIMER_EVENTS;
static cudaEvent_t ev_start, ev_stop;
static int events_ready;

const char *kb_timer_name(kb_timer_kind k) { return k == KB_TIMER_CUPTI ? "cupti" : "events"; }

/* ---- CUPTI activity buffers ----------------------------------------------- */
typedef struct span { uint32_t corr; uint64_t start, end; } span;
typedef struct extc { uint32_t corr; uint64_t id; } extc;
static span *spans;
static size_t n_spans, cap_spans;
static extc *exts;
static size_t n_exts, cap_exts;
static uint64_t sample_id;
/* CUPTI may deliver buffers on its own thread. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
#define BUF_SIZE (1u << 20)

static void push_span(uint32_t corr, uint64_t s, uint64_t e)
{
    if (n_spans == cap_spans) {
        cap_spans = cap_spans ? 2 * cap_spans : 1024;
        spans = realloc(spans, cap_spans * sizeof *spans);
    }
    spans[n_spans++] = (span){corr, s, e};
}

static void push_ext(uint32_t corr, uint64_t id)
{
    if (n_exts == cap_exts) {
        cap_exts = cap_exts ? 2 * cap_exts : 1024;
        exts = realloc(exts, cap_exts * sizeof *exts);
    }
    exts[n_exts++] = (extc){corr, id};
}

static void CUPTIAPI buf_requested(uint8_t **buffer, size_t *size, size_t *max_records)
{
    *buffer = aligned_alloc(8, BUF_SIZE);
    *size = *buffer ? BUF_SIZE : 0;
    *max_records = 0;
}

static void CUPTIAPI buf_completed(CUcontext ctx, uint32_t stream, uint8_t *buffer, size_t size,
                                   size_t valid)
{
    CUpti_Activity *rec = NULL;
    pthread_mutex_lock(&lock);
    while (cuptiActivityGetNextRecord(buffer, valid, &rec) == CUPTI_SUCCESS) {
        switch (rec->kind) {
        case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL:
        case CUPTI_ACTIVITY_KIND_KERNEL: {
            const CUpti_ActivityKernel10 *k = (const CUpti_ActivityKernel10 *)rec;
            push_span(k->correlationId, k->start, k->end);
            break;
        }
        case CUPTI_ACTIVITY_KIND_MEMCPY: {
            const CUpti_ActivityMemcpy6 *m = (const CUpti_ActivityMemcpy6 *)rec;
            push_span(m->correlationId, m->start, m->end);
            break;
        }
        case CUPTI_ACTIVITY_KIND_MEMCPY2: {
            const CUpti_ActivityMemcpyPtoP4 *m = (const CUpti_ActivityMemcpyPtoP4 *)rec;
            push_span(m->correlationId, m->start, m->end);
            break;
        }
        case CUPTI_ACTIVITY_KIND_MEMSET: {
            const CUpti_ActivityMemset4 *m = (const CUpti_ActivityMemset4 *)rec;
            push_span(m->correlationId, m->start, m->end);
            break;
        }
        case CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION: {
            const CUpti_ActivityExternalCorrelation *x = (const CUpti_ActivityExternalCorrelation *)rec;
            if (x->externalKind == CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0)
                push_ext(x->correlationId, x->externalId);
            break;
        }
        default:
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    free(buffer);
}

static int cupti_start(char *why, size_t whylen)
{
    const CUpti_ActivityKind kinds[] = {
        CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, CUPTI_ACTIVITY_KIND_MEMCPY, CUPTI_ACTIVITY_KIND_MEMCPY2,
        CUPTI_ACTIVITY_KIND_MEMSET, CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION,
    };
    CUptiResult r = cuptiActivityRegisterCallbacks(buf_requested, buf_completed);
    for (size_t i = 0; r == CUPTI_SUCCESS && i < sizeof kinds / sizeof kinds[0]; i++)
        r = cuptiActivityEnable(kinds[i]);
    if (r != CUPTI_SUCCESS) {
        const char *msg = NULL;
        cuptiGetResultString(r, &msg);
        snprintf(why, whylen, "CUPTI activity API unavailable (%s): using CUDA events", msg ? msg : "?");
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) cuptiActivityDisable(kinds[i]);
        return -1;
    }
    return 0;
}

kb_status kb_timer_init(kb_timer_kind want, kb_timer_kind *got, char *why, size_t whylen)
{
    why[0] = 0;
    if (!events_ready) {
        KB_CUDA_TRY(cudaEventCreate(&ev_start));
        KB_CUDA_TRY(cudaEventCreate(&ev_stop));
        events_ready = 1;
    }
    kind = KB_TIMER_EVENTS;
    if (want == KB_TIMER_CUPTI && cupti_start(why, whylen) == 0) kind = KB_TIMER_CUPTI;
    *got = kind;
    return KB_OK;
}

kb_status kb_timer_sample(kb_launch_fn fn, void *ctx, cudaStream_t s, double *seconds)
{
    *seconds = 0;
    if (kind == KB_TIMER_EVENTS) {
        KB_CUDA_TRY(cudaEventRecord(ev_start, s));
        KB_TRY(fn(ctx, s));
        KB_CUDA_TRY(cudaEventRecord(ev_stop, s));
        KB_CUDA_TRY(cudaEventSynchronize(ev_stop));
        float ms = 0;
        KB_CUDA_TRY(cudaEventElapsedTime(&ms, ev_start, ev_stop));
        *seconds = ms * 1e-3;
        return KB_OK;
    }
    uint64_t id = ++sample_id, popped = 0;
    pthread_mutex_lock(&lock);
    n_spans = n_exts = 0;
    pthread_mutex_unlock(&lock);
    cuptiActivityPushExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, id);
    kb_status st = fn(ctx, s);
    cuptiActivityPopExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, &popped);
    if (st != KB_OK) return st;
    KB_CUDA_TRY(cudaStreamSynchronize(s));
    KB_CUDA_TRY(cudaDeviceSynchronize()); /* multi-stream/multi-GPU launches */
    if (cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED) != CUPTI_SUCCESS)
        return kb_error("cuptiActivityFlushAll failed");
    uint64_t lo = UINT64_MAX, hi = 0;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n_spans; i++) {
        int mine = 0;
        for (size_t j = 0; j < n_exts && !mine; j++) mine = exts[j].corr == spans[i].corr && exts[j].id == id;
        if (!mine) continue;
        if (spans[i].start < lo) lo = spans[i].start;
        if (spans[i].end > hi) hi = spans[i].end;
    }
    pthread_mutex_unlock(&lock);
    if (hi <= lo) return kb_error("CUPTI recorded no device activity for the launch");
    *seconds = (double)(hi - lo) * 1e-9;
    return KB_OK;
}

void kb_timer_shutdown(void)
{
    if (kind == KB_TIMER_CUPTI) {
        cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
        cuptiActivityDisable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
        cuptiActivityDisable(CUPTI_ACTIVITY_KIND_MEMCPY);
        cuptiActivityDisable(CUPTI_ACTIVITY_KIND_MEMCPY2);
        cuptiActivityDisable(CUPTI_ACTIVITY_KIND_MEMSET);
        cuptiActivityDisable(CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION);
    }
    if (events_ready) {
        cudaEventDestroy(ev_start);
        cudaEventDestroy(ev_stop);
        events_ready = 0;
    }
    free(spans);
    free(exts);
    spans = NULL;
    exts = NULL;
    n_spans = cap_spans = n_exts = cap_exts = 0;
}
