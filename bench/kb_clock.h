/* kb_clock.h - the SM clock under load, from the stamps around each timed
 * sample (kb_timer.h: SM 0's clock64 cycles and %globaltimer ns between a
 * stamp before and one after the launch), and the rule that flags a sample
 * that ran throttled.  Plain C, no CUDA (tests/test_clock.c). */
#ifndef KB_CLOCK_H
#define KB_CLOCK_H
#include <stdint.h>

/* NOTES: nvbench's rule: a sample whose clock is below 75% of the nominal
 * (the device's maximum) SM clock ran throttled.  %globaltimer advances in
 * steps (up to ~1 us on the GPUs we know), so the interval of a short sample
 * is known to one step only: a sample is flagged when even the highest clock
 * its stamps allow (interval less one step) is below the threshold, so a
 * short, unthrottled sample is never flagged by rounding. */
#define KB_LOW_CLOCK_FRAC 0.75
#define KB_GLOBALTIMER_STEP_NS 1000.0

/* Clock of one sample, MHz (cycles / ns x 1e3); NaN when unknown (0 ns). */
double kb_clock_mhz(uint64_t clk, uint64_t ns);
/* 1 when the sample surely ran below KB_LOW_CLOCK_FRAC x nominal_mhz (see
 * NOTES); 0 when not, or when unknown (no stamps, no nominal clock). */
int kb_clock_low(uint64_t clk, uint64_t ns, double nominal_mhz);

/* The clock of a case: mhz = sum of cycles / sum of ns over the samples kept
 * that have stamps (NaN if none); n_low = samples flagged low among all. */
typedef struct kb_clock_sum {
    double mhz;
    int n_low, n_known;
} kb_clock_sum;
/* Over n samples (clk[i], ns[i]); drop: low samples are left out of mhz and
 * keep[i] = 0 for them (keep may be NULL when drop is 0). */
kb_clock_sum kb_clock_summary(const uint64_t *clk, const uint64_t *ns, int n, double nominal_mhz, int drop,
                              int *keep);
#endif
