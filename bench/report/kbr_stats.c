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

double kbr_mwu_p(const double *x, int nx, const double *y, int ny, double *u)
{
    if (u) *u = NAN;
    if (nx < 1 || ny < 1) return 1.0;
    int n = nx + ny;
    mwu_item *it = malloc((size_t)n * sizeof *it);
    if (!it) return 1.0;
    for (int i = 0; i < nx; i++) it[i] = (mwu_item){x[i], 1};
    for (int i = 0; i < ny; i++) it[nx + i] = (mwu_item){y[i], 0};
    qsort(it, (size_t)n, sizeof *it, cmp_item);
    /* average ranks over ties; accumulate sum(t^3 - t) */
    double rx = 0, ties = 0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && it[j + 1].v == it[i].v) j++;
        double rank = 0.5 * (double)(i + 1 + j + 1); /* ranks i+1 .. j+1 */
        double t = (double)(j - i + 1);
        ties += t * t * t - t;
        for (int k = i; k <= j; k++)
            if (it[k].from_x) rx += rank;
        i = j + 1;
    }
    free(it);
    double n1 = nx, n2 = ny, nn = n;
    double u1 = rx - n1 * (n1 + 1) / 2;
    if (u) *u = u1;
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
