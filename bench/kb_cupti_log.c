/* kb_cupti_log.c - see kb_cupti_log.h. */
#include <stdio.h>
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

/* Every device record is kept, an incomplete one too: whether it belongs to a
 * timed launch is known only when the spans are computed, and there it fails
 * the sample. */
static int push_span(kb_cupti_log *l, uint32_t corr, uint64_t s, uint64_t e)
{
    kb_cupti_span *p = room_for(l->spans, l->n_spans, &l->cap_spans, sizeof *p, 1024);
    if (!p) {
        l->oom = 1;
        return 0;
    }
    l->spans = p;
    l->spans[l->n_spans] = (kb_cupti_span){corr, s, e};
    l->n_incomplete += kb_cupti_incomplete(&l->spans[l->n_spans]);
    l->n_spans++;
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

static int by_corr(const void *a, const void *b)
{
    uint32_t x = ((const kb_cupti_ext *)a)->corr, y = ((const kb_cupti_ext *)b)->corr;
    return x < y ? -1 : x > y;
}

/* The first ext record with this correlation id in the sorted array, or n. */
static size_t first_ext(const kb_cupti_ext *e, size_t n, uint32_t corr)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e[mid].corr < corr) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void add_span(kb_cupti_result *r, const kb_cupti_span *s)
{
    r->matched++;
    if (kb_cupti_incomplete(s)) {
        r->incomplete++;
        return;
    }
    if (s->start < r->lo) r->lo = s->start;
    if (s->end > r->hi) r->hi = s->end;
}

/* One pass over the spans: each finds its correlation records by binary
 * search (a batch of hot samples holds tens of thousands of records). */
void kb_cupti_log_spans(kb_cupti_log *l, uint64_t first, int n, kb_cupti_result *out)
{
    for (int i = 0; i < n; i++) out[i] = (kb_cupti_result){.lo = UINT64_MAX};
    if (l->n_exts) qsort(l->exts, l->n_exts, sizeof *l->exts, by_corr);
    for (size_t j = 0; j < l->n_exts; j++)
        if (l->exts[j].id >= first && l->exts[j].id - first < (uint64_t)n) out[l->exts[j].id - first].n_ext++;
    for (size_t i = 0; i < l->n_spans; i++) {
        const kb_cupti_span *s = &l->spans[i];
        for (size_t j = first_ext(l->exts, l->n_exts, s->corr); j < l->n_exts && l->exts[j].corr == s->corr; j++)
            if (l->exts[j].id >= first && l->exts[j].id - first < (uint64_t)n) add_span(&out[l->exts[j].id - first], s);
    }
}

kb_cupti_result kb_cupti_log_span(kb_cupti_log *l, uint64_t id)
{
    kb_cupti_result r;
    kb_cupti_log_spans(l, id, 1, &r);
    return r;
}

int kb_cupti_sample_time(const kb_cupti_result *r, int batch, double *seconds, char *why, size_t whylen)
{
    *seconds = 0;
    if (!r->n_ext) return KB_CUPTI_UNCORRELATED;
    if (r->incomplete) {
        snprintf(why, whylen, "%zu of the launch's %zu CUPTI records incomplete (start 0 or end < start)",
                 r->incomplete, r->matched);
        return KB_CUPTI_BAD;
    }
    if (!r->matched || r->hi <= r->lo) {
        snprintf(why, whylen, "CUPTI recorded no device activity for the launch");
        return KB_CUPTI_BAD;
    }
    *seconds = (double)(r->hi - r->lo) * 1e-9 / (batch > 0 ? batch : 1);
    return KB_CUPTI_OK;
}
