/* kbr_stats.h - statistics for kbench compare/report (pure functions). */
#ifndef KBR_STATS_H
#define KBR_STATS_H

/* Two-sided Mann-Whitney U test, normal approximation with tie correction and
 * continuity correction (as scipy.stats.mannwhitneyu(method="asymptotic")).
 * Returns the p-value in [0,1]; *u (optional) receives U for x.  With fewer
 * than 1 sample on either side, or all values tied, returns 1. */
double kbr_mwu_p(const double *x, int nx, const double *y, int ny, double *u);

/* Median of n values (copies; n >= 1), NaN when n == 0. */
double kbr_median(const double *v, int n);

/* Geometric mean of ratios r[i] > 0, NaN when n == 0. */
double kbr_geomean(const double *r, int n);
#endif
