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
    kb_cupti_result r;
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

    r = kb_cupti_log_span(l, 7);
    KBT_CHECK(r.matched == 3);
    KBT_CHECK(r.n_ext == 4);
    KBT_CHECK(r.lo == 1000 && r.hi == 2600); /* memset start .. last kernel end: 1.6 us */
    r = kb_cupti_log_span(l, 6);
    KBT_CHECK(r.matched == 1);
    KBT_CHECK(r.lo == 200 && r.hi == 400);
    /* an id CUPTI never correlated: n_ext 0 tells the timer to fall back */
    r = kb_cupti_log_span(l, 8);
    KBT_CHECK(r.matched == 0);
    KBT_CHECK(r.n_ext == 0);
}

/* graph launch: every kernel node carries the cudaGraphLaunch correlation id */
static void check_graph(kb_cupti_log *l)
{
    kb_cupti_result r;
    kb_cupti_log_reset(l);
    KBT_CHECK(l->n_spans == 0 && l->n_exts == 0);
    KBT_CHECK(ext(l, CUSTOM0, 500, 9) == 1);
    KBT_CHECK(kernel(l, 500, 10000, 10300) == 1);
    KBT_CHECK(kernel(l, 500, 10320, 11000) == 1);
    KBT_CHECK(kernel(l, 500, 11010, 11500) == 1);
    r = kb_cupti_log_span(l, 9);
    KBT_CHECK(r.matched == 3);
    KBT_CHECK(r.lo == 10000 && r.hi == 11500 && r.n_ext == 1);
}

/* copies: memcpy and peer memcpy (MEMCPY2) with their CUDA 13 structs; then
 * what must not count: API records */
static void check_copies_and_noise(kb_cupti_log *l)
{
    kb_cupti_result r;
    kb_cupti_log_reset(l);
    KBT_CHECK(FEED(l, CUpti_ActivityMemcpy6, .kind = CUPTI_ACTIVITY_KIND_MEMCPY, .correlationId = 600,
                   .start = 20000, .end = 20500) == 1);
    KBT_CHECK(FEED(l, CUpti_ActivityMemcpyPtoP4, .kind = CUPTI_ACTIVITY_KIND_MEMCPY2, .correlationId = 601,
                   .start = 20100, .end = 21700) == 1);
    KBT_CHECK(ext(l, CUSTOM0, 600, 10) == 1);
    KBT_CHECK(ext(l, CUSTOM0, 601, 10) == 1);
    r = kb_cupti_log_span(l, 10);
    KBT_CHECK(r.matched == 2);
    KBT_CHECK(r.lo == 20000 && r.hi == 21700);

    /* API records (RUNTIME/DRIVER are enabled only so CUPTI emits the
     * correlation records) are ignored */
    KBT_CHECK(FEED(l, CUpti_ActivityAPI, .kind = CUPTI_ACTIVITY_KIND_RUNTIME, .correlationId = 600, .start = 1,
                   .end = 99999) == 0);
    KBT_CHECK(FEED(l, CUpti_ActivityAPI, .kind = CUPTI_ACTIVITY_KIND_DRIVER, .correlationId = 600, .start = 1,
                   .end = 99999) == 0);
    r = kb_cupti_log_span(l, 10);
    KBT_CHECK(r.matched == 2);
    KBT_CHECK(r.lo == 20000 && r.hi == 21700);
}

/* Incomplete records (start 0, or end < start: a forced flush caught them
 * early) are kept and counted; among a launch's records they fail the sample
 * with a reason instead of shortening its span; elsewhere they do not matter. */
static void check_incomplete(kb_cupti_log *l)
{
    char why[160] = "";
    double sec = -1;
    kb_cupti_log_reset(l);
    KBT_CHECK(ext(l, CUSTOM0, 700, 20) == 1);
    KBT_CHECK(ext(l, CUSTOM0, 701, 20) == 1);
    KBT_CHECK(kernel(l, 700, 40000, 41000) == 1);
    KBT_CHECK(kernel(l, 701, 41100, 45000) == 1);
    KBT_CHECK(kernel(l, 702, 0, 0) == 1); /* uncorrelated (a flush): kept, not the launch's */
    kb_cupti_result r = kb_cupti_log_span(l, 20);
    KBT_CHECK(r.matched == 2 && r.incomplete == 0);
    KBT_CHECK(kb_cupti_sample_time(&r, 1, &sec, why, sizeof why) == KB_CUPTI_OK);
    KBT_NEAR(sec, 5000e-9, 1e-12); /* 45000 - 40000 ns */
    /* the launch's third kernel never completed: without the rule the span
     * would be the 5 us of the other two */
    KBT_CHECK(ext(l, CUSTOM0, 703, 20) == 1);
    KBT_CHECK(kernel(l, 703, 0, 0) == 1);
    KBT_CHECK(ext(l, CUSTOM0, 704, 20) == 1);
    KBT_CHECK(kernel(l, 704, 46000, 45500) == 1); /* end before start */
    KBT_CHECK(l->n_incomplete == 3);
    r = kb_cupti_log_span(l, 20);
    KBT_CHECK(r.matched == 4 && r.incomplete == 2);
    KBT_CHECK(r.lo == 40000 && r.hi == 45000);
    KBT_CHECK(kb_cupti_sample_time(&r, 1, &sec, why, sizeof why) == KB_CUPTI_BAD);
    KBT_STREQ(why, "2 of the launch's 4 CUPTI records incomplete (start 0 or end < start)");
    KBT_CHECK(sec == 0);
    /* no correlation record: the timer falls back; correlated but no device record: fails */
    r = kb_cupti_log_span(l, 21);
    KBT_CHECK(kb_cupti_sample_time(&r, 1, &sec, why, sizeof why) == KB_CUPTI_UNCORRELATED);
    KBT_CHECK(ext(l, CUSTOM0, 705, 22) == 1);
    r = kb_cupti_log_span(l, 22);
    KBT_CHECK(kb_cupti_sample_time(&r, 1, &sec, why, sizeof why) == KB_CUPTI_BAD);
    KBT_STREQ(why, "CUPTI recorded no device activity for the launch");
}

/* A batch: samples 30, 31, 32 resolved in one pass after one flush; a hot
 * sample of 4 back-to-back launches reports its span / 4. */
static void check_batch(kb_cupti_log *l)
{
    kb_cupti_result res[3];
    char why[160];
    double sec = 0;
    kb_cupti_log_reset(l);
    for (uint32_t k = 0; k < 4; k++) { /* sample 31: 4 launches, 2 us each, 0.5 us apart */
        KBT_CHECK(ext(l, CUSTOM0, 900 + k, 31) == 1);
        KBT_CHECK(kernel(l, 900 + k, 60000 + 2500 * (uint64_t)k, 62000 + 2500 * (uint64_t)k) == 1);
    }
    KBT_CHECK(kernel(l, 800, 50000, 53000) == 1);
    KBT_CHECK(ext(l, CUSTOM0, 800, 30) == 1);
    KBT_CHECK(ext(l, CUSTOM0, 1000, 32) == 1);
    KBT_CHECK(kernel(l, 1000, 80000, 80700) == 1);
    KBT_CHECK(ext(l, CUSTOM0, 1001, 33) == 1); /* the next batch's: out of range */
    KBT_CHECK(kernel(l, 1001, 1, 99999999) == 1);
    kb_cupti_log_spans(l, 30, 3, res);
    KBT_CHECK(res[0].matched == 1 && res[0].lo == 50000 && res[0].hi == 53000);
    KBT_CHECK(res[1].matched == 4 && res[1].n_ext == 4 && res[1].lo == 60000 && res[1].hi == 69500);
    KBT_CHECK(res[2].matched == 1 && res[2].lo == 80000 && res[2].hi == 80700);
    KBT_CHECK(kb_cupti_sample_time(&res[1], 4, &sec, why, sizeof why) == KB_CUPTI_OK);
    KBT_NEAR(sec, 9500e-9 / 4, 1e-12); /* (69500 - 60000) ns / 4 launches */
}

/* growth past the first allocation keeps every record */
static void check_growth(kb_cupti_log *l)
{
    kb_cupti_result r;
    kb_cupti_log_reset(l);
    for (uint32_t i = 0; i < 3000; i++) kernel(l, 1000 + i, 100000 + 10 * (uint64_t)i, 100005 + 10 * (uint64_t)i);
    for (uint32_t i = 0; i < 3000; i += 2) ext(l, CUSTOM0, 1000 + i, 11);
    r = kb_cupti_log_span(l, 11);
    KBT_CHECK(r.matched == 1500);
    KBT_CHECK(r.lo == 100000 && r.hi == 100005 + 10 * 2998);
    KBT_CHECK(!l->oom);
}

int main(void)
{
    kb_cupti_log l = {0};
    check_one_sample(&l);
    check_graph(&l);
    check_copies_and_noise(&l);
    check_incomplete(&l);
    check_batch(&l);
    check_growth(&l);
    kb_cupti_log_free(&l);
    KBT_CHECK(l.spans == NULL && l.n_spans == 0);
    return kbt_done("test_cupti_log");
}
