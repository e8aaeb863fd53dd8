/* The SM clock under load (bench/kb_clock.h) from synthetic stamps: per-sample
 * clock, the 75%-of-nominal rule with the %globaltimer step allowance, and a
 * case's summary with and without --drop-low-clock; and --hot's batch size
 * (kb_hot_batch).  Values by hand. */
#include <math.h>
#include "bench/kb_clock.h"
#include "bench/kb_timer.h"
#include "kbtest.h"

int main(void)
{
    /* 1,980,000 cycles in 1,000,000 ns = 1980 MHz; no stamps: unknown */
    KBT_NEAR(kb_clock_mhz(1980000, 1000000), 1980, 1e-12);
    KBT_CHECK(isnan(kb_clock_mhz(5, 0)));

    /* nominal 1980 MHz: threshold 0.75 x 1980 = 1485 MHz */
    KBT_CHECK(!kb_clock_low(1980000, 1000000, 1980)); /* 1980 MHz */
    /* 100 us at 1000 MHz = 100,000 cycles: highest possible 100000 / 99000 ns = 1010 MHz < 1485 */
    KBT_CHECK(kb_clock_low(100000, 100000, 1980));
    /* 1486 MHz over 1 ms: 1,486,000 cycles, highest 1486000 / 999000 ns = 1487.5 MHz: not low */
    KBT_CHECK(!kb_clock_low(1486000, 1000000, 1980));
    /* 1400 MHz over 1 ms: highest 1400000 / 999000 = 1401.4 MHz: low */
    KBT_CHECK(kb_clock_low(1400000, 1000000, 1980));
    /* a 3 us sample reading 1200 MHz (3600 cycles / 3000 ns) may really be
     * 3600 / 2000 ns = 1800 MHz (one 1 us step): never flagged by rounding */
    KBT_CHECK(!kb_clock_low(3600, 3000, 1980));
    /* but 1000 cycles in 3000 ns is at most 500 MHz: low */
    KBT_CHECK(kb_clock_low(1000, 3000, 1980));
    /* an interval of one step or less, no stamps, no nominal clock: unknown, not low */
    KBT_CHECK(!kb_clock_low(10, 1000, 1980));
    KBT_CHECK(!kb_clock_low(0, 0, 1980));
    KBT_CHECK(!kb_clock_low(100000, 100000, 0));

    /* five samples: three at 1980 MHz (1 ms each), one at 1000 MHz (1 ms), one without stamps */
    const uint64_t clk[5] = {1980000, 1980000, 1000000, 1980000, 0};
    const uint64_t ns[5] = {1000000, 1000000, 1000000, 1000000, 0};
    int keep[5];
    kb_clock_sum s = kb_clock_summary(clk, ns, 5, 1980, 0, keep);
    KBT_CHECK(s.n_low == 1 && s.n_known == 4);
    /* kept: (3 x 1980000 + 1000000) cycles / 4 ms = 1735 MHz */
    KBT_NEAR(s.mhz, 1735, 1e-12);
    KBT_CHECK(keep[0] && keep[1] && keep[2] && keep[3] && keep[4]);
    s = kb_clock_summary(clk, ns, 5, 1980, 1, keep);
    KBT_CHECK(s.n_low == 1 && s.n_known == 3);
    KBT_NEAR(s.mhz, 1980, 1e-12); /* the low one dropped */
    KBT_CHECK(keep[0] && keep[1] && !keep[2] && keep[3] && keep[4]);
    /* no stamps at all: the clock is unknown (empty in the CSV) */
    const uint64_t z[2] = {0, 0};
    s = kb_clock_summary(z, z, 2, 1980, 1, keep);
    KBT_CHECK(isnan(s.mhz) && s.n_low == 0 && keep[0] && keep[1]);

    /* --hot batch sizes (kb_timer.h): 200 us / launch time, rounded up, 2..256;
     * 20 us and longer (or unknown: NaN) are not hot */
    KBT_CHECK(kb_hot_batch(3.0) == 67);  /* 200 / 3 = 66.7 */
    KBT_CHECK(kb_hot_batch(19.9) == 11); /* 200 / 19.9 = 10.05 */
    KBT_CHECK(kb_hot_batch(0.5) == 256); /* 400, capped */
    KBT_CHECK(kb_hot_batch(0) == 256);
    KBT_CHECK(kb_hot_batch(150.0 / 1.0) == 1);
    KBT_CHECK(kb_hot_batch(20.0) == 1);
    KBT_CHECK(kb_hot_batch(NAN) == 1);
    KBT_CHECK(kb_hot_batch(199.0 / 1.5 / 10) == 16); /* 13.27 us: 15.08 -> 16 */
    return kbt_done("test_clock");
}
