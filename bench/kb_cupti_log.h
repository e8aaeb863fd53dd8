/* kb_cupti_log.h - the pure part of the CUPTI timer (no CUDA calls): collect
 * device-activity spans and external-correlation pairs from CUPTI activity
 * records, then compute the device span of one external correlation id.
 * Split out of kb_timer.c so tests/test_cupti_log.c can feed it fake records
 * built with the documented CUDA 13 structs. */
#ifndef KB_CUPTI_LOG_H
#define KB_CUPTI_LOG_H
#include <cupti_activity.h>
#include <stddef.h>
#include <stdint.h>

/* The record structs this file reads, per CUDA 13 (CUPTI 13) cupti_activity.h:
 * CONCURRENT_KERNEL/KERNEL -> CUpti_ActivityKernel10, MEMCPY -> Memcpy6,
 * MEMCPY2 (peer) -> MemcpyPtoP4, MEMSET -> Memset4, EXTERNAL_CORRELATION ->
 * ExternalCorrelation (externalKind, externalId, correlationId). */
typedef struct kb_cupti_span { uint32_t corr; uint64_t start, end; } kb_cupti_span;
typedef struct kb_cupti_ext { uint32_t corr; uint64_t id; } kb_cupti_ext;

typedef struct kb_cupti_log {
    kb_cupti_span *spans;
    size_t n_spans, cap_spans;
    kb_cupti_ext *exts;
    size_t n_exts, cap_exts;
    size_t n_incomplete; /* device records with no/invalid timestamps, skipped */
    size_t n_dropped;    /* records CUPTI reported dropped (buffer full) */
    int oom;             /* a record was lost for lack of memory */
} kb_cupti_log;

/* Keep one record if it is device activity or a CUSTOM0 external correlation.
 * Returns 1 if kept, 0 if ignored (other kinds, API records, incomplete). */
int kb_cupti_log_record(kb_cupti_log *l, const CUpti_Activity *rec);
void kb_cupti_log_reset(kb_cupti_log *l); /* forget records, keep memory */
void kb_cupti_log_free(kb_cupti_log *l);

/* Device span [*lo, *hi] (ns) of every kept device record whose correlationId
 * belongs to an external-correlation record with this id.  Returns the number
 * of device records matched; *n_ext = external-correlation records seen for
 * the id (0 means CUPTI did not correlate the region at all). */
size_t kb_cupti_log_span(const kb_cupti_log *l, uint64_t id, uint64_t *lo, uint64_t *hi, size_t *n_ext);
#endif
