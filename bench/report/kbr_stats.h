/* kbr_stats.h - statistics for kbench compare/report (pure functions). */
#ifndef KBR_STATS_H
#define KBR_STATS_H

/* Two-sided Mann-Whitney U test.  Without ties and with at most
 * KBR_MWU_EXACT_MAX samples per side: the exact p-value (the U distribution
 * counted exactly, as scipy.stats.mannwhitneyu(method="exact")); otherwise the
 * normal approximation with tie and continuity correction (method=
 * "asymptotic").  Returns the p-value in [0,1]; *u (optional) receives U for
 * x.  With fewer than 1 sample on either side, or all values tied, returns 1. */
#define KBR_MWU_EXACT_MAX 25
double kbr_mwu_p(const double *x, int nx, const double *y, int ny, double *u);
/* The smallest two-sided p the exact test can give for these sample sizes,
 * 2 / C(nx+ny, nx): when it is >= alpha no data can be significant. */
double kbr_mwu_min_p(int nx, int ny);

/* Median of n values (copies; n >= 1), NaN when n == 0. */
double kbr_median(const double *v, int n);

/* Geometric mean of ratios r[i] > 0, NaN when n == 0. */
double kbr_geomean(const double *r, int n);
#endif
