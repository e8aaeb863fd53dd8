/* kb_adapt.h - adaptive timing, nvbench-style: `kbench run --min-time S
 * --max-noise PCT --min-reps N --max-reps N` (README "Adaptive timing").
 * Plain C, no CUDA: the run path (bench/kb_run.c) measures, this decides.
 *
 *   batches   a case is timed in batches of samples, one CUPTI flush per
 *             batch (bench/kb_timer.h): first min-reps samples, then each
 *             batch half the samples so far (at least min-reps, at least
 *             the samples the min-time still needs at the mean so far),
 *             never past max-reps nor, at the wall-clock time per sample
 *             so far, past the guard.
 *   stop      after each batch: DONE when n >= min-reps, the summed sample
 *             time >= min-time and the noise <= max-noise; else MAX_REPS
 *             at max-reps, TIMEOUT when the timing has run for
 *             kb_adapt_timeout() wall-clock seconds; else MORE.
 *   noise     the relative standard deviation of the samples so far
 *             (sample sd / mean, the row's cv column), as nvbench's
 *             max-noise: it does not shrink with more samples, so a
 *             noisy launch runs to max-reps or the timeout and its row
 *             says so (kb_adapt_note).
 *   defaults  with any of the four options given, the others default to
 *             min-time 0, max-noise 0.5% (nvbench's), min-reps 10,
 *             max-reps 1000 (raised to min-reps when only that is given);
 *             with none, --reps N fixed samples as before. */
#ifndef KB_ADAPT_H
#define KB_ADAPT_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif

#define KB_ADAPT_DEF_MIN_REPS 10
#define KB_ADAPT_DEF_MAX_REPS 1000
#define KB_ADAPT_DEF_MAX_NOISE 0.005 /* nvbench's default max-noise, 0.5% */
#define KB_ADAPT_REPS_CAP 1000000 /* as --reps */
/* NOTES: the guard: nvbench's default timeout (15 s) plus twice the
 * min-time (the flush, stamps and launch gaps between samples are not
 * counted in the timed sum, but take wall-clock time). */
#define KB_ADAPT_TIMEOUT_S 15.0

typedef struct kb_adapt {
    int on;            /* any of the options given: adaptive, --reps refused */
    double min_time_s; /* summed sample (device) time, seconds; 0: none     */
    double max_noise;  /* relative sd target, a fraction (0.005 = 0.5%)     */
    int min_reps, max_reps;
} kb_adapt;

typedef enum kb_adapt_stop { KB_ADAPT_MORE = 0, KB_ADAPT_DONE, KB_ADAPT_MAX_REPS, KB_ADAPT_TIMEOUT } kb_adapt_stop;

/* One option of the four ("--min-time" etc.) and its text: 0, or -1 with a
 * one-line message naming the option in err. */
int kb_adapt_option(kb_adapt *a, const char *opt, const char *arg, char *err, size_t n);
/* After the options: the defaults of those not given; -1 with err when
 * --min-reps > --max-reps. */
int kb_adapt_resolve(kb_adapt *a, char *err, size_t n);
/* Wall-clock seconds after which the timing of a case stops. */
double kb_adapt_timeout(const kb_adapt *a);
/* Relative standard deviation (sample sd / mean) of sec[0..n); 0 for n < 2. */
double kb_adapt_noise(const double *sec, int n);
/* The rule after a batch: samples sec[0..n) in seconds, wall_s of timing. */
kb_adapt_stop kb_adapt_check(const kb_adapt *a, const double *sec, int n, double wall_s);
/* Samples in the next batch after n (kb_adapt_check said MORE), wall_s
 * into the timing: at most what the wall-clock guard leaves at the wall
 * time per sample so far (the flush and launch gaps included), at least 1. */
int kb_adapt_batch(const kb_adapt *a, const double *sec, int n, double wall_s);
/* The row's note when a target was not reached ("" for DONE), e.g.
 * "noise 2.3% > target 0.5% after 1000 reps (max-reps)". */
void kb_adapt_note(const kb_adapt *a, kb_adapt_stop why, const double *sec, int n, char *buf, size_t len);
#ifdef __cplusplus
}
#endif
#endif
