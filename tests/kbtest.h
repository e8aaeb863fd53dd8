/* kbtest.h - the few assertions kbench's C tests use.  Each test program
 * prints one line per failed check and a closing "N passed, N failed" line;
 * exit 0 if all passed, 1 otherwise, KBT_SKIP (77, ctest SKIP) when it needs a
 * GPU and has none. */
#ifndef KBTEST_H
#define KBTEST_H
#include <math.h>
#include <stdio.h>
#include <string.h>

#define KBT_SKIP 77
static int kbt_pass_, kbt_fail_;

#define KBT_CHECK(cond)                                                          \
    do {                                                                         \
        if (cond) kbt_pass_++;                                                   \
        else { kbt_fail_++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } \
    } while (0)

/* |got - want| <= tol * max(1, |want|) */
#define KBT_NEAR(got, want, tol)                                                 \
    do {                                                                         \
        double g_ = (double)(got), w_ = (double)(want);                          \
        double s_ = fabs(w_) > 1 ? fabs(w_) : 1;                                 \
        if (fabs(g_ - w_) <= (tol) * s_) kbt_pass_++;                            \
        else { kbt_fail_++; printf("FAIL %s:%d: %s = %.17g, want %.17g (tol %g)\n", \
                                   __FILE__, __LINE__, #got, g_, w_, (double)(tol)); } \
    } while (0)

#define KBT_STREQ(got, want)                                                     \
    do {                                                                         \
        const char *g_ = (got), *w_ = (want);                                    \
        if (g_ && w_ && strcmp(g_, w_) == 0) kbt_pass_++;                        \
        else { kbt_fail_++; printf("FAIL %s:%d: %s = \"%s\", want \"%s\"\n",       \
                                   __FILE__, __LINE__, #got, g_ ? g_ : "(null)", w_); } \
    } while (0)

static inline int kbt_done(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, kbt_pass_, kbt_fail_);
    return kbt_fail_ ? 1 : 0;
}
#endif
