/* The CUPTI timer's record handling without a GPU: fake CUDA 13 activity
 * records built with the documented structs (Kernel10, Memcpy6, MemcpyPtoP4,
 * Memset4, ExternalCorrelation) fed through kb_cupti_log_record, then the span
 * of one external correlation id checked against hand-computed values. */
#include <string.h>
#include "bench/kb_cupti_log.h"
#include "kbtest.h"

/* One record of type T, the fields not named zero, fed as CUPTI hands it over. */
#define FEED(l, T, ...) kb_cupti_log_record((l), (const CUpti_Activity *)&(T){__VA_ARGS__})
#define CUSTOM0 CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0

static int kernel(kb_cupti_log *l, uint32_t corr, uint64_t s, uint64_t e)
{
    return FEED(l, CUpti_ActivityKernel10, .kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, .correlationId = corr,
                .start = s, .end = e);
}

static int ext(kb_cupti_log *l, CUpti_ExternalCorrelationKind kind, uint32_t corr, uint64_t id)
{
    return FEED(l, CUpti_ActivityExternalCorrelation, .kind = CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION,
                .externalKind = kind, .correlationId = corr, .externalId = id);
}

static int memset_rec(kb_cupti_log *l, uint32_t corr, uint64_t s, uint64_t e)
{
    return FEED(l, CUpti_ActivityMemset4, .kind = CUPTI_ACTIVITY_KIND_MEMSET, .correlationId = corr, .start = s,
                .end = e);
}

/* sample 7: a memset (corr 100) then two kernels (corr 101, 102); the L2
 * flush memset before it (corr 99) and a kernel of sample 6 (corr 98) must
 * not count.  Records arrive in any order, kernels before their ext. */
static void check_one_sample(kb_cupti_log *l)
{
    uint64_t lo, hi;
    size_t n_ext;
    KBT_CHECK(memset_rec(l, 99, 500, 990) == 1); /* the flush: outside the pushed region, no ext record */
    KBT_CHECK(memset_rec(l, 100, 1000, 1100) == 1);
    KBT_CHECK(kernel(l, 98, 200, 400) == 1);
    KBT_CHECK(kernel(l, 102, 1500, 2600) == 1);
    KBT_CHECK(kernel(l, 101, 1150, 1400) == 1);
    KBT_CHECK(ext(l, CUSTOM0, 98, 6) == 1);
    KBT_CHECK(ext(l, CUSTOM0, 100, 7) == 1);
    KBT_CHECK(ext(l, CUSTOM0, 101, 7) == 1);
    KBT_CHECK(ext(l, CUSTOM0, 102, 7) == 1);
    /* an API call with no device work inside the region (cudaGetLastError) */
    KBT_CHECK(ext(l, CUSTOM0, 103, 7) == 1);
    /* another tool's correlation kind with our id: ignored */
    KBT_CHECK(ext(l, CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM1, 98, 7) == 0);

    KBT_CHECK(kb_cupti_log_span(l, 7, &lo, &hi, &n_ext) == 3);
    KBT_CHECK(n_ext == 4);
    KBT_CHECK(lo == 1000 && hi == 2600); /* memset start .. last kernel end: 1.6 us */
    KBT_CHECK(kb_cupti_log_span(l, 6, &lo, &hi, &n_ext) == 1);
    KBT_CHECK(lo == 200 && hi == 400);
    /* an id CUPTI never correlated: n_ext 0 tells the timer to fall back */
    KBT_CHECK(kb_cupti_log_span(l, 8, &lo, &hi, &n_ext) == 0);
    KBT_CHECK(n_ext == 0);
}

/* graph launch: every kernel node carries the cudaGraphLaunch correlation id */
static void check_graph(kb_cupti_log *l)
{
    uint64_t lo, hi;
    size_t n_ext;
    kb_cupti_log_reset(l);
    KBT_CHECK(l->n_spans == 0 && l->n_exts == 0);
    KBT_CHECK(ext(l, CUSTOM0, 500, 9) == 1);
    KBT_CHECK(kernel(l, 500, 10000, 10300) == 1);
    KBT_CHECK(kernel(l, 500, 10320, 11000) == 1);
    KBT_CHECK(kernel(l, 500, 11010, 11500) == 1);
    KBT_CHECK(kb_cupti_log_span(l, 9, &lo, &hi, &n_ext) == 3);
    KBT_CHECK(lo == 10000 && hi == 11500 && n_ext == 1);
}

/* copies: memcpy and peer memcpy (MEMCPY2) with their CUDA 13 structs; then
 * what must not count: incomplete records, API records */
static void check_copies_and_noise(kb_cupti_log *l)
{
    uint64_t lo, hi;
    size_t n_ext;
    kb_cupti_log_reset(l);
    KBT_CHECK(FEED(l, CUpti_ActivityMemcpy6, .kind = CUPTI_ACTIVITY_KIND_MEMCPY, .correlationId = 600,
                   .start = 20000, .end = 20500) == 1);
    KBT_CHECK(FEED(l, CUpti_ActivityMemcpyPtoP4, .kind = CUPTI_ACTIVITY_KIND_MEMCPY2, .correlationId = 601,
                   .start = 20100, .end = 21700) == 1);
    KBT_CHECK(ext(l, CUSTOM0, 600, 10) == 1);
    KBT_CHECK(ext(l, CUSTOM0, 601, 10) == 1);
    KBT_CHECK(kb_cupti_log_span(l, 10, &lo, &hi, &n_ext) == 2);
    KBT_CHECK(lo == 20000 && hi == 21700);

    /* incomplete records (forced flush before completion: zero or inverted
     * timestamps) are skipped and counted, never widen the span to 0 */
    KBT_CHECK(kernel(l, 600, 0, 0) == 0);
    KBT_CHECK(kernel(l, 601, 30000, 29000) == 0);
    KBT_CHECK(l->n_incomplete == 2);
    KBT_CHECK(kb_cupti_log_span(l, 10, &lo, &hi, &n_ext) == 2);
    KBT_CHECK(lo == 20000 && hi == 21700);

    /* API records (RUNTIME/DRIVER are enabled only so CUPTI emits the
     * correlation records) are ignored */
    KBT_CHECK(FEED(l, CUpti_ActivityAPI, .kind = CUPTI_ACTIVITY_KIND_RUNTIME, .correlationId = 600, .start = 1,
                   .end = 99999) == 0);
    KBT_CHECK(FEED(l, CUpti_ActivityAPI, .kind = CUPTI_ACTIVITY_KIND_DRIVER, .correlationId = 600, .start = 1,
                   .end = 99999) == 0);
    KBT_CHECK(kb_cupti_log_span(l, 10, &lo, &hi, &n_ext) == 2);
    KBT_CHECK(lo == 20000 && hi == 21700);
}

/* growth past the first allocation keeps every record */
static void check_growth(kb_cupti_log *l)
{
    uint64_t lo, hi;
    size_t n_ext;
    kb_cupti_log_reset(l);
    for (uint32_t i = 0; i < 3000; i++) kernel(l, 1000 + i, 100000 + 10 * (uint64_t)i, 100005 + 10 * (uint64_t)i);
    for (uint32_t i = 0; i < 3000; i += 2) ext(l, CUSTOM0, 1000 + i, 11);
    KBT_CHECK(kb_cupti_log_span(l, 11, &lo, &hi, &n_ext) == 1500);
    KBT_CHECK(lo == 100000 && hi == 100005 + 10 * 2998);
    KBT_CHECK(!l->oom);
}

int main(void)
{
    kb_cupti_log l = {0};
    check_one_sample(&l);
    check_graph(&l);
    check_copies_and_noise(&l);
    check_growth(&l);
    kb_cupti_log_free(&l);
    KBT_CHECK(l.spans == NULL && l.n_spans == 0);
    return kbt_done("test_cupti_log");
}
