/* kb_cupti_log.h - the pure part of the CUPTI timer (no CUDA calls): collect
 * device-activity spans and external-correlation pairs from CUPTI activity
 * records, then turn the records of one external correlation id (one timed
 * sample) into its device time, or into the reason it has none.  Split out of
 * kb_timer.c so tests/test_cupti_log.c can feed it fake records built with
 * the documented CUDA 13 structs. */
#ifndef KB_CUPTI_LOG_H
#define KB_CUPTI_LOG_H
#include <cupti_activity.h>
#include <cupti_version.h>
#include <stddef.h>
#include <stdint.h>

/* CUpti_ActivityKernel10 (and the record structs below) are CUDA 13's: the
 * build refuses an older CUPTI (CMakeLists.txt checks at configure time too). */
#if !defined(CUPTI_API_VERSION) || CUPTI_API_VERSION < 130000
#error "kbench needs CUPTI from CUDA 13.0 or newer (CUpti_ActivityKernel10)"
#endif

/* The record structs this file reads, per CUDA 13 (CUPTI 13) cupti_activity.h:
 * CONCURRENT_KERNEL/KERNEL -> CUpti_ActivityKernel10, MEMCPY -> Memcpy6,
 * MEMCPY2 (peer) -> MemcpyPtoP4, MEMSET -> Memset4, EXTERNAL_CORRELATION ->
 * ExternalCorrelation (externalKind, externalId, correlationId). */
typedef struct kb_cupti_span { uint32_t corr; uint64_t start, end; } kb_cupti_span;
typedef struct kb_cupti_ext { uint32_t corr; uint64_t id; } kb_cupti_ext;

typedef struct kb_cupti_log {
    kb_cupti_span *spans; /* every device record, incomplete ones included */
    size_t n_spans, cap_spans;
    kb_cupti_ext *exts;
    size_t n_exts, cap_exts;
    size_t n_incomplete; /* device records with start 0 or end < start */
    size_t n_dropped;    /* records CUPTI reported dropped (buffer full) */
    int oom;             /* a record was lost for lack of memory */
} kb_cupti_log;

/* A device record that did not complete: no start, or an end before it (a
 * forced flush can hand such records over). */
static inline int kb_cupti_incomplete(const kb_cupti_span *s) { return s->start == 0 || s->end < s->start; }

/* Keep one record if it is device activity (complete or not) or a CUSTOM0
 * external correlation.  Returns 1 if kept, 0 if ignored (other kinds, API
 * records) or lost (oom). */
int kb_cupti_log_record(kb_cupti_log *l, const CUpti_Activity *rec);
void kb_cupti_log_reset(kb_cupti_log *l); /* forget records, keep memory */
void kb_cupti_log_free(kb_cupti_log *l);

/* What the records say about one external correlation id. */
typedef struct kb_cupti_result {
    size_t n_ext;      /* external-correlation records for the id (0: CUPTI did not correlate) */
    size_t matched;    /* device records of the launch */
    size_t incomplete; /* of those: start 0 or end < start */
    uint64_t lo, hi;   /* first start, last end of the complete ones (ns) */
} kb_cupti_result;
/* The results of the n consecutive ids first .. first + n - 1 (the samples of
 * a batch) in one pass; sorts l->exts by correlation id. */
void kb_cupti_log_spans(kb_cupti_log *l, uint64_t first, int n, kb_cupti_result *out);
kb_cupti_result kb_cupti_log_span(kb_cupti_log *l, uint64_t id); /* one id */

/* The sample's device time from its result: KB_CUPTI_OK and *seconds =
 * (hi - lo) / batch; KB_CUPTI_UNCORRELATED (no correlation record: the timer
 * falls back to events); KB_CUPTI_BAD with the reason in why (an incomplete
 * record among the launch's, or no device record): the sample fails, its
 * span is never silently shortened. */
enum { KB_CUPTI_OK = 0, KB_CUPTI_UNCORRELATED = 1, KB_CUPTI_BAD = -1 };
int kb_cupti_sample_time(const kb_cupti_result *r, int batch, double *seconds, char *why, size_t whylen);
#endif
