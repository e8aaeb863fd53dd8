/* The CUPTI timer's record handling without a GPU: fake CUDA 13 activity
 * records built with the documented structs (Kernel10, Memcpy6, MemcpyPtoP4,
 * Memset4, ExternalCorrelation) fed through kb_cupti_log_record, then the span
 * of one external correlation id checked against hand-computed values. */
#include <string.h>
#include "bench/kb_cupti_log.h"
#include "kbtest.h"

static int kernel(kb_cupti_log *l, uint32_t corr, uint64_t s, uint64_t e)
{
    CUpti_ActivityKernel10 k;
    memset(&k, 0, sizeof k);
    k.kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
    k.correlationId = corr;
    k.start = s;
    k.end = e;
    return kb_cupti_log_record(l, (const CUpti_Activity *)&k);
}

static int ext(kb_cupti_log *l, CUpti_ExternalCorrelationKind kind, uint32_t corr, uint64_t id)
{
    CUpti_ActivityExternalCorrelation x;
    memset(&x, 0, sizeof x);
    x.kind = CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION;
    x.externalKind = kind;
    x.correlationId = corr;
    x.externalId = id;
    return kb_cupti_log_record(l, (const CUpti_Activity *)&x);
}

int main(void)
{
    kb_cupti_log l = {0};
    uint64_t lo, hi;
    size_t n_ext;

    /* sample 7: a memset (corr 100) then two kernels (corr 101, 102); the L2
     * flush memset before it (corr 99) and a kernel of sample 6 (corr 98) must
     * not count.  Records arrive in any order, kernels before their ext. */
    CUpti_ActivityMemset4 ms;
    memset(&ms, 0, sizeof ms);
    ms.kind = CUPTI_ACTIVITY_KIND_MEMSET;
    ms.correlationId = 99; /* the flush: outside the pushed region, no ext record */
    ms.start = 500;
    ms.end = 990;
    KBT_CHECK(kb_cupti_log_record(&l, (const CUpti_Activity *)&ms) == 1);
    ms.correlationId = 100;
    ms.start = 1000;
    ms.end = 1100;
    KBT_CHECK(kb_cupti_log_record(&l, (const CUpti_Activity *)&ms) == 1);
    KBT_CHECK(kernel(&l, 98, 200, 400) == 1);
    KBT_CHECK(kernel(&l, 102, 1500, 2600) == 1);
    KBT_CHECK(kernel(&l, 101, 1150, 1400) == 1);
    KBT_CHECK(ext(&l, CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, 98, 6) == 1);
    KBT_CHECK(ext(&l, CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, 100, 7) == 1);
    KBT_CHECK(ext(&l, CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, 101, 7) == 1);
    KBT_CHECK(ext(&l, CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, 102, 7) == 1);
    /* an API call with no device work inside the region (cudaGetLastError) */
    KBT_CHECK(ext(&l, CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, 103, 7) == 1);
    /* another tool's correlation kind with our id: ignored */
    KBT_CHECK(ext(&l, CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM1, 98, 7) == 0);

    KBT_CHECK(kb_cupti_log_span(&l, 7, &lo, &hi, &n_ext) == 3);
    KBT_CHECK(n_ext == 4);
    KBT_CHECK(lo == 1000 && hi == 2600); /* memset start .. last kernel end: 1.6 us */
    KBT_CHECK(kb_cupti_log_span(&l, 6, &lo, &hi, &n_ext) == 1);
    KBT_CHECK(lo == 200 && hi == 400);
    /* an id CUPTI never correlated: n_ext 0 tells the timer to fall back */
    KBT_CHECK(kb_cupti_log_span(&l, 8, &lo, &hi, &n_ext) == 0);
    KBT_CHECK(n_ext == 0);

    /* graph launch: every kernel node carries the cudaGraphLaunch correlation id */
    kb_cupti_log_reset(&l);
    KBT_CHECK(l.n_spans == 0 && l.n_exts == 0);
    KBT_CHECK(ext(&l, CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, 500, 9) == 1);
    KBT_CHECK(kernel(&l, 500, 10000, 10300) == 1);
    KBT_CHECK(kernel(&l, 500, 10320, 11000) == 1);
    KBT_CHECK(kernel(&l, 500, 11010, 11500) == 1);
    KBT_CHECK(kb_cupti_log_span(&l, 9, &lo, &hi, &n_ext) == 3);
    KBT_CHECK(lo == 10000 && hi == 11500 && n_ext == 1);

    /* copies: memcpy and peer memcpy (MEMCPY2) with their CUDA 13 structs */
    kb_cupti_log_reset(&l);
    CUpti_ActivityMemcpy6 mc;
    memset(&mc, 0, sizeof mc);
    mc.kind = CUPTI_ACTIVITY_KIND_MEMCPY;
    mc.correlationId = 600;
    mc.start = 20000;
    mc.end = 20500;
    KBT_CHECK(kb_cupti_log_record(&l, (const CUpti_Activity *)&mc) == 1);
    CUpti_ActivityMemcpyPtoP4 pp;
    memset(&pp, 0, sizeof pp);
    pp.kind = CUPTI_ACTIVITY_KIND_MEMCPY2;
    pp.correlationId = 601;
    pp.start = 20100;
    pp.end = 21700;
    KBT_CHECK(kb_cupti_log_record(&l, (const CUpti_Activity *)&pp) == 1);
    KBT_CHECK(ext(&l, CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, 600, 10) == 1);
    KBT_CHECK(ext(&l, CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, 601, 10) == 1);
    KBT_CHECK(kb_cupti_log_span(&l, 10, &lo, &hi, &n_ext) == 2);
    KBT_CHECK(lo == 20000 && hi == 21700);

    /* incomplete records (forced flush before completion: zero or inverted
     * timestamps) are skipped and counted, never widen the span to 0 */
    KBT_CHECK(kernel(&l, 600, 0, 0) == 0);
    KBT_CHECK(kernel(&l, 601, 30000, 29000) == 0);
    KBT_CHECK(l.n_incomplete == 2);
    KBT_CHECK(kb_cupti_log_span(&l, 10, &lo, &hi, &n_ext) == 2);
    KBT_CHECK(lo == 20000 && hi == 21700);

    /* API records (RUNTIME/DRIVER are enabled only so CUPTI emits the
     * correlation records) are ignored */
    CUpti_ActivityAPI api;
    memset(&api, 0, sizeof api);
    api.kind = CUPTI_ACTIVITY_KIND_RUNTIME;
    api.correlationId = 600;
    api.start = 1;
    api.end = 99999;
    KBT_CHECK(kb_cupti_log_record(&l, (const CUpti_Activity *)&api) == 0);
    api.kind = CUPTI_ACTIVITY_KIND_DRIVER;
    KBT_CHECK(kb_cupti_log_record(&l, (const CUpti_Activity *)&api) == 0);
    KBT_CHECK(kb_cupti_log_span(&l, 10, &lo, &hi, &n_ext) == 2);
    KBT_CHECK(lo == 20000 && hi == 21700);

    /* growth past the first allocation keeps every record */
    kb_cupti_log_reset(&l);
    for (uint32_t i = 0; i < 3000; i++) kernel(&l, 1000 + i, 100000 + 10 * (uint64_t)i, 100005 + 10 * (uint64_t)i);
    for (uint32_t i = 0; i < 3000; i += 2) ext(&l, CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, 1000 + i, 11);
    KBT_CHECK(kb_cupti_log_span(&l, 11, &lo, &hi, &n_ext) == 1500);
    KBT_CHECK(lo == 100000 && hi == 100005 + 10 * 2998);
    KBT_CHECK(!l.oom);
    kb_cupti_log_free(&l);
    KBT_CHECK(l.spans == NULL && l.n_spans == 0);
    return kbt_done("test_cupti_log");
}
