/* kbr_stats.c - Mann-Whitney U, median, geometric mean (see kbr_stats.h). */
#include "bench/report/kbr_stats.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct mwu_item { double v; int from_x; } mwu_item;

static int cmp_item(const void *a, const void *b)
{
    double x = ((const mwu_item *)a)->v, y = ((const mwu_item *)b)->v;
    return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Exact two-sided p of U = u for sample sizes m, n without ties: the counts
 * of U = 0..mn over the C(m+n, m) equally likely orders are the coefficients
 * of the Gaussian binomial [m+n choose m]_q = prod_i (1 - q^(n+i)) / (1 - q^i),
 * built factor by factor (each partial product is again a polynomial with
 * integer coefficients, exact in doubles for m, n <= KBR_MWU_EXACT_MAX). */
static double exact_p(int m, int n, double u)
{
    int top = m * n;
    double *c = calloc((size_t)top + 1, sizeof *c);
    if (!c) return NAN;
    c[0] = 1;
    for (int i = 1; i <= m; i++) {
        for (int k = top; k >= n + i; k--) c[k] -= c[k - n - i]; /* x (1 - q^(n+i)) */
        for (int k = i; k <= top; k++) c[k] += c[k - i];         /* / (1 - q^i)     */
    }
    double total = 0, lo = 0, hi = 0;
    for (int k = 0; k <= top; k++) {
        total += c[k];
        if (k <= u) lo += c[k];
        if (k >= u) hi += c[k];
    }
    free(c);
    double p = 2 * (lo < hi ? lo : hi) / total;
    return p > 1 ? 1 : p;
}

double kbr_mwu_min_p(int nx, int ny)
{
    if (nx < 1 || ny < 1) return 1.0;
    double c = 1; /* C(nx+ny, nx) */
    for (int i = 1; i <= nx; i++) c = c * (ny + i) / i;
    double p = 2 / c;
    return p > 1 ? 1 : p;
}

/* Sum of the ranks of x in x+y (average ranks over ties); *ties = sum(t^3 - t). */
static double rank_sum_x(const double *x, int nx, const double *y, int ny, double *ties)
{
    int n = nx + ny;
    mwu_item *it = malloc((size_t)n * sizeof *it);
    if (!it) return NAN;
    for (int i = 0; i < nx; i++) it[i] = (mwu_item){x[i], 1};
    for (int i = 0; i < ny; i++) it[nx + i] = (mwu_item){y[i], 0};
    qsort(it, (size_t)n, sizeof *it, cmp_item);
    double rx = 0;
    *ties = 0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && it[j + 1].v == it[i].v) j++;
        double rank = 0.5 * (double)(i + 1 + j + 1); /* ranks i+1 .. j+1 */
        double t = (double)(j - i + 1);
        *ties += t * t * t - t;
        for (int k = i; k <= j; k++)
            if (it[k].from_x) rx += rank;
        i = j + 1;
    }
    free(it);
    return rx;
}

double kbr_mwu_p(const double *x, int nx, const double *y, int ny, double *u)
{
    if (u) *u = NAN;
    if (nx < 1 || ny < 1) return 1.0;
    double ties, rx = rank_sum_x(x, nx, y, ny, &ties);
    if (isnan(rx)) return 1.0;
    double n1 = nx, n2 = ny, nn = nx + ny;
    double u1 = rx - n1 * (n1 + 1) / 2;
    if (u) *u = u1;
    if (ties == 0 && nx <= KBR_MWU_EXACT_MAX && ny <= KBR_MWU_EXACT_MAX) {
        double p = exact_p(nx, ny, u1);
        if (!isnan(p)) return p;
    }
    double mu = n1 * n2 / 2;
    double var = n1 * n2 / 12.0 * ((nn + 1) - ties / (nn * (nn - 1)));
    if (!(var > 0)) return 1.0;
    double z = (fabs(u1 - mu) - 0.5) / sqrt(var);
    if (z < 0) z = 0;
    double p = 2 * gsl_cdf_ugaussian_Q(z);
    return p > 1 ? 1 : p;
}

double kbr_median(const double *v, int n)
{
    if (n <= 0) return NAN;
    double *c = malloc((size_t)n * sizeof *c);
    if (!c) return NAN;
    memcpy(c, v, (size_t)n * sizeof *c);
    qsort(c, (size_t)n, sizeof *c, cmp_double);
    double m = (n % 2) ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
    free(c);
    return m;
}

double kbr_geomean(const double *r, int n)
{
    if (n <= 0) return NAN;
    double s = 0;
    for (int i = 0; i < n; i++) s += log(r[i]);
    return exp(s / n);
}
