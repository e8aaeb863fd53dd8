/* kb_clock.c - see kb_clock.h. */
#include "bench/kb_clock.h"

#include <math.h>

double kb_clock_mhz(uint64_t clk, uint64_t ns)
{
    return ns ? (double)clk / (double)ns * 1e3 : NAN;
}

int kb_clock_low(uint64_t clk, uint64_t ns, double nominal_mhz)
{
    if (!ns || !clk || !(nominal_mhz > 0) || (double)ns <= KB_GLOBALTIMER_STEP_NS) return 0;
    double highest = (double)clk / ((double)ns - KB_GLOBALTIMER_STEP_NS) * 1e3;
    return highest < KB_LOW_CLOCK_FRAC * nominal_mhz;
}

kb_clock_sum kb_clock_summary(const uint64_t *clk, const uint64_t *ns, int n, double nominal_mhz, int drop,
                              int *keep)
{
    kb_clock_sum s = {NAN, 0, 0};
    double cycles = 0, time = 0;
    for (int i = 0; i < n; i++) {
        int low = kb_clock_low(clk[i], ns[i], nominal_mhz);
        s.n_low += low;
        if (keep) keep[i] = !(drop && low);
        if ((drop && low) || !ns[i]) continue;
        s.n_known++;
        cycles += (double)clk[i];
        time += (double)ns[i];
    }
    if (time > 0) s.mhz = cycles / time * 1e3;
    return s;
}
