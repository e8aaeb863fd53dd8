/* The GPU tests' isolation (tests/kbtest_gpu.h) without a GPU: a sequence of
 * items where one hangs, one segfaults and one fails a check must cost those
 * items only: the later items still run, each failure counts once, and a
 * hang costs about its timeout. */
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include "kbtest_gpu.h"

static char marks[] = "/tmp/kbtest_gpu_XXXXXX";

static void item(void *arg, int i)
{
    (void)arg;
    FILE *f = fopen(marks, "a"); /* which items ran, in the parent's eyes */
    if (f) { fprintf(f, "%d", i); fclose(f); }
    if (i == 1) sleep(30);          /* hang: killed after the timeout  */
    if (i == 2) raise(SIGSEGV);     /* crash                           */
    if (i == 3) KBT_CHECK(1 == 2);  /* a failed check in a child       */
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void)
{
    close(mkstemp(marks));
    const kbt_seq q = {.what = "fake", .item = item};
    double t0 = now();
    kbt_isolated_seq(&q, NULL, 5, 1);
    double took = now() - t0;
    int failed = kbt_fail_, passed = kbt_pass_;
    kbt_fail_ = kbt_pass_ = 0;
    FILE *f = fopen(marks, "r");
    char ran[16] = "";
    if (f) { if (!fgets(ran, sizeof ran, f)) ran[0] = 0; fclose(f); }
    unlink(marks);
    printf("items ran: %s, %d failed checks, %d passed, %.1f s\n", ran, failed, passed, took);
    KBT_STREQ(ran, "01234");     /* every item ran, each once          */
    KBT_CHECK(failed == 3);      /* hang, crash, the child with a FAIL */
    KBT_CHECK(passed == 0);
    KBT_CHECK(took < 5);         /* the hang cost ~1 s, not 30         */
    /* a clean sequence passes as one check */
    memcpy(marks + strlen(marks) - 6, "XXXXXX", 6);
    close(mkstemp(marks));
    const kbt_seq ok = {.what = "clean", .item = item};
    int p0 = kbt_pass_, f0 = kbt_fail_;
    kbt_isolated_seq(&ok, NULL, 1, 5);
    unlink(marks);
    KBT_CHECK(kbt_fail_ == f0 && kbt_pass_ == p0 + 1);
    return kbt_done("test_kbtest_gpu");
}
