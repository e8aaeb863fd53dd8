/* kbtest.h - the few assertions kbench's C tests use.  Each test program
 * prints one line per failed check and a closing "N passed, N failed" line;
 * exit 0 if all passed, 1 otherwise, KBT_SKIP (77, ctest SKIP) when it needs a
 * GPU and has none. */
#ifndef KBTEST_H
#define KBTEST_H
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define KBT_SKIP 77

/* The text of DIR/NAME (NAME alone when dir is NULL), "" when it cannot be
 * read; one static buffer (128 KiB), overwritten by the next call. */
static inline char *kbt_file_text(const char *dir, const char *name)
{
    static char buf[1 << 17];
    char p[512];
    snprintf(p, sizeof p, "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
    FILE *f = fopen(p, "r");
    buf[0] = 0;
    if (!f) return buf;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* The size of DIR/NAME in bytes, -1 when it does not exist. */
static inline long kbt_file_size(const char *dir, const char *name)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}
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
