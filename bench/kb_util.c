/* kb_util.c - per-shape seeds, number conversions and error metrics shared by
 * every operator. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "bench/kb.h"

uint64_t kb_seed_for(const char *op, const kb_shape *s)
{
    /* FNV-1a over op name and shape label: stable across runs and machines. */
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = op; *p; p++) h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    h = (h ^ '/') * 0x100000001b3ull;
    for (const char *p = s->label; *p; p++) h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    for (const char *p = s->dtype; *p; p++) h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    return h;
}

/* ---- error metrics -------------------------------------------------------- */
size_t kb_count_nonfinite(const double *x, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += !isfinite(x[i]);
    return c;
}

double kb_diff_deepgemm(const double *x, const double *y, size_t n)
{
    double xy = 0, xx_yy = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) return NAN;
        xy += x[i] * y[i];
        xx_yy += x[i] * x[i] + y[i] * y[i];
    }
    if (xx_yy == 0) return 0;
    return 1.0 - 2.0 * xy / xx_yy;
}

double kb_cos_diff(const double *x, const double *y, size_t n)
{
    double xy = 0, xx = 0, yy = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) return NAN;
        xy += x[i] * y[i];
        xx += x[i] * x[i];
        yy += y[i] * y[i];
    }
    if (xx == 0 && yy == 0) return 0;
    if (xx == 0 || yy == 0) return 1;
    return 1.0 - xy / sqrt(xx * yy);
}

double kb_max_abs_err(const double *x, const double *y, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) return NAN;
        double d = fabs(x[i] - y[i]);
        if (d > m) m = d;
    }
    return m;
}
