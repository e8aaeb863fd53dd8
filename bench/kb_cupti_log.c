/* kb_cupti_log.c - see kb_cupti_log.h. */
#include <stdlib.h>
#include "bench/kb_cupti_log.h"

/* Room for element n of a doubling array of `size`-byte elements: arr itself,
 * or arr moved to a larger block (then *cap grows); NULL when out of memory
 * (arr is still valid). */
static void *room_for(void *arr, size_t n, size_t *cap, size_t size, size_t first)
{
    if (n < *cap) return arr;
    size_t c = *cap ? 2 * *cap : first;
    void *p = realloc(arr, c * size);
    if (p) *cap = c;
    return p;
}

static int push_span(kb_cupti_log *l, uint32_t corr, uint64_t s, uint64_t e)
{
    if (s == 0 || e < s) { /* not completed (or a forced flush caught it early) */
        l->n_incomplete++;
        return 0;
    }
    kb_cupti_span *p = room_for(l->spans, l->n_spans, &l->cap_spans, sizeof *p, 1024);
    if (!p) {
        l->oom = 1;
        return 0;
    }
    l->spans = p;
    l->spans[l->n_spans++] = (kb_cupti_span){corr, s, e};
    return 1;
}

static int push_ext(kb_cupti_log *l, uint32_t corr, uint64_t id)
{
    kb_cupti_ext *p = room_for(l->exts, l->n_exts, &l->cap_exts, sizeof *p, 256);
    if (!p) {
        l->oom = 1;
        return 0;
    }
    l->exts = p;
    l->exts[l->n_exts++] = (kb_cupti_ext){corr, id};
    return 1;
}

/* Device records of every kind carry correlationId, start and end, each
 * struct at its own offsets. */
#define SPAN_OF(l, T, rec)                                                                                    \
    push_span(l, ((const T *)(rec))->correlationId, ((const T *)(rec))->start, ((const T *)(rec))->end)

int kb_cupti_log_record(kb_cupti_log *l, const CUpti_Activity *rec)
{
    switch (rec->kind) {
    case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL:
    case CUPTI_ACTIVITY_KIND_KERNEL: return SPAN_OF(l, CUpti_ActivityKernel10, rec);
    case CUPTI_ACTIVITY_KIND_MEMCPY: return SPAN_OF(l, CUpti_ActivityMemcpy6, rec);
    case CUPTI_ACTIVITY_KIND_MEMCPY2: return SPAN_OF(l, CUpti_ActivityMemcpyPtoP4, rec);
    case CUPTI_ACTIVITY_KIND_MEMSET: return SPAN_OF(l, CUpti_ActivityMemset4, rec);
    case CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION: {
        const CUpti_ActivityExternalCorrelation *x = (const CUpti_ActivityExternalCorrelation *)rec;
        if (x->externalKind != CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0) return 0;
        return push_ext(l, x->correlationId, x->externalId);
    }
    default:
        return 0;
    }
}

void kb_cupti_log_reset(kb_cupti_log *l)
{
    l->n_spans = l->n_exts = l->n_incomplete = l->n_dropped = 0;
    l->oom = 0;
}

void kb_cupti_log_free(kb_cupti_log *l)
{
    free(l->spans);
    free(l->exts);
    *l = (kb_cupti_log){0};
}

size_t kb_cupti_log_span(const kb_cupti_log *l, uint64_t id, uint64_t *lo, uint64_t *hi, size_t *n_ext)
{
    size_t matched = 0, next = 0;
    *lo = UINT64_MAX;
    *hi = 0;
    for (size_t j = 0; j < l->n_exts; j++) next += l->exts[j].id == id;
    if (n_ext) *n_ext = next;
    if (!next) return 0;
    for (size_t i = 0; i < l->n_spans; i++) {
        int mine = 0;
        for (size_t j = 0; j < l->n_exts && !mine; j++)
            mine = l->exts[j].id == id && l->exts[j].corr == l->spans[i].corr;
        if (!mine) continue;
        matched++;
        if (l->spans[i].start < *lo) *lo = l->spans[i].start;
        if (l->spans[i].end > *hi) *hi = l->spans[i].end;
    }
    return matched;
}
