/* The adaptive timing rule (bench/kb_adapt.h) on synthetic sample streams,
 * every expected figure worked out by hand in the comments.  No GPU. */
#include <stdio.h>
#include <string.h>
#include "bench/kb_adapt.h"
#include "kbtest.h"

/* 2^-10 s: sums of it are exact, so min-time comparisons are exact too */
#define Q 0.0009765625

static kb_adapt defaults(void)
{
    kb_adapt a = {.on = 1};
    char err[128];
    kb_adapt_resolve(&a, err, sizeof err);
    return a;
}

/* n samples alternating 1.0 and 1.1 ms (n even): mean 1.05 ms, every
 * deviation 0.05 ms, so sd = sqrt(n * 0.0025 / (n - 1)) ms. */
static void noisy(double *s, int n)
{
    for (int i = 0; i < n; i++) s[i] = i % 2 ? 1.1e-3 : 1.0e-3;
}

static void test_options(void)
{
    kb_adapt a = {0};
    char err[160];
    KBT_CHECK(kb_adapt_option(&a, "--max-noise", "0.5%", err, sizeof err) == 0);
    KBT_NEAR(a.max_noise, 0.005, 1e-15);
    KBT_CHECK(a.on == 1);
    KBT_CHECK(kb_adapt_option(&a, "--max-noise", "2", err, sizeof err) == 0);
    KBT_NEAR(a.max_noise, 0.02, 1e-15);
    KBT_CHECK(kb_adapt_option(&a, "--max-noise", "abc", err, sizeof err) == -1);
    KBT_STREQ(err, "--max-noise: expected a percentage in (0, 100], got 'abc'");
    KBT_CHECK(kb_adapt_option(&a, "--max-noise", "0", err, sizeof err) == -1);
    KBT_CHECK(kb_adapt_option(&a, "--max-noise", "101", err, sizeof err) == -1);
    KBT_CHECK(kb_adapt_option(&a, "--min-time", "0.25", err, sizeof err) == 0);
    KBT_NEAR(a.min_time_s, 0.25, 0);
    KBT_CHECK(kb_adapt_option(&a, "--min-time", "0", err, sizeof err) == -1);
    KBT_STREQ(err, "--min-time: expected seconds in (0, 86400], got '0'");
    KBT_CHECK(kb_adapt_option(&a, "--min-time", "1s", err, sizeof err) == -1);
    KBT_CHECK(kb_adapt_option(&a, "--min-reps", "1", err, sizeof err) == -1);
    KBT_STREQ(err, "--min-reps: expected a whole number in 2..1000000, got '1'");
    KBT_CHECK(kb_adapt_option(&a, "--max-reps", "2.5", err, sizeof err) == -1);
    KBT_CHECK(kb_adapt_option(&a, "--max-reps", "50", err, sizeof err) == 0 && a.max_reps == 50);
}

static void test_resolve(void)
{
    char err[160];
    kb_adapt a = defaults(); /* nothing given but "on" */
    KBT_CHECK(a.min_reps == 10 && a.max_reps == 1000);
    KBT_NEAR(a.max_noise, 0.005, 0);
    KBT_NEAR(a.min_time_s, 0, 0);
    KBT_NEAR(kb_adapt_timeout(&a), 15, 0);
    a = (kb_adapt){.on = 1, .max_reps = 5}; /* min-reps follows a small max-reps down */
    KBT_CHECK(kb_adapt_resolve(&a, err, sizeof err) == 0 && a.min_reps == 5 && a.max_reps == 5);
    a = (kb_adapt){.on = 1, .min_reps = 2000}; /* max-reps follows a large min-reps up */
    KBT_CHECK(kb_adapt_resolve(&a, err, sizeof err) == 0 && a.min_reps == 2000 && a.max_reps == 2000);
    a = (kb_adapt){.on = 1, .min_reps = 20, .max_reps = 10};
    KBT_CHECK(kb_adapt_resolve(&a, err, sizeof err) == -1);
    KBT_STREQ(err, "--min-reps 20 is more than --max-reps 10");
    a = (kb_adapt){.on = 1, .min_time_s = 2.5};
    KBT_CHECK(kb_adapt_resolve(&a, err, sizeof err) == 0);
    KBT_NEAR(kb_adapt_timeout(&a), 20, 0); /* 15 + 2 x 2.5 */
    a = (kb_adapt){0}; /* off: untouched (fixed --reps) */
    KBT_CHECK(kb_adapt_resolve(&a, err, sizeof err) == 0 && a.min_reps == 0 && a.max_reps == 0);
}

static void test_noise(void)
{
    const double s[3] = {1, 2, 3}; /* mean 2, sd sqrt((1+0+1)/2) = 1 */
    KBT_NEAR(kb_adapt_noise(s, 3), 0.5, 1e-15);
    KBT_NEAR(kb_adapt_noise(s, 1), 0, 0);
    double z[10];
    noisy(z, 10); /* sd = sqrt(10 * 0.0025 / 9) = 0.0527046 ms; / 1.05 = 0.0501949 */
    KBT_NEAR(kb_adapt_noise(z, 10), 0.05019488, 1e-6);
}

static void test_rule(void)
{
    kb_adapt a = defaults();
    double s[1000], z[20];
    char note[160];
    for (int i = 0; i < 1000; i++) s[i] = Q;
    /* quiet: stops at min-reps, not before */
    KBT_CHECK(kb_adapt_check(&a, s, 9, 0.1) == KB_ADAPT_MORE);
    KBT_CHECK(kb_adapt_check(&a, s, 10, 0.1) == KB_ADAPT_DONE);
    kb_adapt_note(&a, KB_ADAPT_DONE, s, 10, note, sizeof note);
    KBT_STREQ(note, "");
    /* noisy (5.02% > 0.5%): goes on */
    noisy(z, 20);
    KBT_CHECK(kb_adapt_check(&a, z, 10, 0.1) == KB_ADAPT_MORE);
    /* max-reps 20: 20 noisy samples stop there; sd = sqrt(20 * 0.0025 / 19)
     * = 0.0512989 ms, / 1.05 = 4.886% */
    kb_adapt m = {.on = 1, .max_reps = 20};
    kb_adapt_resolve(&m, note, sizeof note);
    KBT_CHECK(kb_adapt_check(&m, z, 20, 0.1) == KB_ADAPT_MAX_REPS);
    kb_adapt_note(&m, KB_ADAPT_MAX_REPS, z, 20, note, sizeof note);
    KBT_STREQ(note, "noise 4.89% > target 0.5% after 20 reps (max-reps)");
    /* a looser target (6%) is met by the same stream: done at min-reps */
    m.max_noise = 0.06;
    KBT_CHECK(kb_adapt_check(&m, z, 10, 0.1) == KB_ADAPT_DONE);
    /* the wall-clock guard: 15 s with no min-time */
    KBT_CHECK(kb_adapt_check(&a, z, 10, 14.9) == KB_ADAPT_MORE);
    KBT_CHECK(kb_adapt_check(&a, z, 10, 15.0) == KB_ADAPT_TIMEOUT);
    kb_adapt_note(&a, KB_ADAPT_TIMEOUT, z, 10, note, sizeof note);
    KBT_STREQ(note, "noise 5.02% > target 0.5% after 10 reps (timeout 15 s)");
    /* a slow launch: 3 quiet samples when the guard expires */
    kb_adapt_note(&a, KB_ADAPT_TIMEOUT, s, 3, note, sizeof note);
    KBT_STREQ(note, "min-reps 10 not reached after 3 reps (timeout 15 s)");
}

static void test_min_time(void)
{
    char note[200];
    kb_adapt a = {.on = 1, .min_time_s = 20 * Q}; /* 0.01953125 s: 20 quiet samples of Q */
    kb_adapt_resolve(&a, note, sizeof note);
    double s[1000];
    for (int i = 0; i < 1000; i++) s[i] = Q;
    KBT_CHECK(kb_adapt_check(&a, s, 10, 0.1) == KB_ADAPT_MORE); /* quiet, 10 reps, but 10 Q < 20 Q */
    KBT_CHECK(kb_adapt_batch(&a, s, 10, 0.1) == 10);             /* the 10 samples still missing */
    KBT_CHECK(kb_adapt_check(&a, s, 19, 0.1) == KB_ADAPT_MORE);
    KBT_CHECK(kb_adapt_check(&a, s, 20, 0.1) == KB_ADAPT_DONE);
    /* min-time cut short by max-reps: both unmet targets in the note */
    kb_adapt b = {.on = 1, .min_time_s = 1, .max_reps = 20};
    kb_adapt_resolve(&b, note, sizeof note);
    double z[20];
    noisy(z, 20); /* 20 samples, 21 ms */
    KBT_CHECK(kb_adapt_check(&b, z, 20, 0.1) == KB_ADAPT_MAX_REPS);
    kb_adapt_note(&b, KB_ADAPT_MAX_REPS, z, 20, note, sizeof note);
    KBT_STREQ(note, "noise 4.89% > target 0.5%, timed 0.021 s < min-time 1 s after 20 reps (max-reps)");
    KBT_NEAR(kb_adapt_timeout(&b), 17, 0); /* 15 + 2 x 1 */
}

static void test_batches(void)
{
    kb_adapt a = defaults();
    double s[1000];
    for (int i = 0; i < 1000; i++) s[i] = i % 2 ? 1.1e-3 : 1.0e-3;
    KBT_CHECK(kb_adapt_batch(&a, s, 0, 0) == 10);     /* first: min-reps */
    KBT_CHECK(kb_adapt_batch(&a, s, 4, 0.1) == 6);    /* up to min-reps */
    KBT_CHECK(kb_adapt_batch(&a, s, 10, 0.1) == 10);  /* max(10, 10/2) */
    KBT_CHECK(kb_adapt_batch(&a, s, 100, 1) == 50);   /* half the samples so far */
    KBT_CHECK(kb_adapt_batch(&a, s, 990, 1) == 10);   /* never past max-reps (495 wanted) */
    /* the guard (15 s): 100 samples took 10 s of wall time, 0.1 s each: 5 s left = 50 more */
    KBT_CHECK(kb_adapt_batch(&a, s, 100, 10) == 50);
    KBT_CHECK(kb_adapt_batch(&a, s, 100, 14) == 8);   /* 0.14 s each, 1 s left: ceil(7.14) = 8 */
    /* min-time 1 s at a 1.05 ms mean after 100 samples (0.105 s): ceil(0.895 / 0.00105) = 853 */
    kb_adapt t = {.on = 1, .min_time_s = 1};
    char err[64];
    kb_adapt_resolve(&t, err, sizeof err);
    KBT_CHECK(kb_adapt_batch(&t, s, 100, 1) == 853);
    /* ... unless the guard (17 s) comes first: 100 samples in 16 s, 0.16 s each, 1 s left: ceil(6.25) = 7 */
    KBT_CHECK(kb_adapt_batch(&t, s, 100, 16) == 7);
    KBT_CHECK(kb_adapt_batch(&t, s, 100, 30) == 1);   /* past the guard: still at least 1 */
}

int main(void)
{
    test_options();
    test_resolve();
    test_noise();
    test_rule();
    test_min_time();
    test_batches();
    return kbt_done("test_adapt");
}
