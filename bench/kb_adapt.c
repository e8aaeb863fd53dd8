/* kb_adapt.c - the stopping rule of adaptive timing (kb_adapt.h). */
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "bench/kb_adapt.h"
#include "bench/kb_io.h"

/* ---- the options ------------------------------------------------------------ */
int kb_adapt_option(kb_adapt *a, const char *opt, const char *arg, char *err, size_t n)
{
    long long v;
    double x;
    char *end = NULL;
    a->on = 1;
    if (!strcmp(opt, "--min-reps") || !strcmp(opt, "--max-reps")) {
        if (kb_parse_int(arg, 2, KB_ADAPT_REPS_CAP, &v)) {
            snprintf(err, n, "%s: expected a whole number in 2..%d, got '%s'", opt, KB_ADAPT_REPS_CAP, arg);
            return -1;
        }
        *(!strcmp(opt, "--min-reps") ? &a->min_reps : &a->max_reps) = (int)v;
        return 0;
    }
    x = strtod(arg, &end);
    int pct = !strcmp(opt, "--max-noise");
    if (pct && end && *end == '%') end++; /* "0.5%" as well as "0.5" */
    if (end == arg || *end || !isfinite(x) || x <= 0 || x > (pct ? 100 : 86400)) {
        snprintf(err, n, "%s: expected %s, got '%s'", opt, pct ? "a percentage in (0, 100]" : "seconds in (0, 86400]",
                 arg);
        return -1;
    }
    if (pct) a->max_noise = x / 100;
    else a->min_time_s = x;
    return 0;
}

int kb_adapt_resolve(kb_adapt *a, char *err, size_t n)
{
    if (!a->on) return 0;
    if (a->min_reps && a->max_reps && a->min_reps > a->max_reps) {
        snprintf(err, n, "--min-reps %d is more than --max-reps %d", a->min_reps, a->max_reps);
        return -1;
    }
    const int lo = KB_ADAPT_DEF_MIN_REPS, hi = KB_ADAPT_DEF_MAX_REPS;
    if (!a->min_reps) a->min_reps = a->max_reps && a->max_reps < lo ? a->max_reps : lo;
    if (!a->max_reps) a->max_reps = a->min_reps > hi ? a->min_reps : hi;
    if (a->max_noise <= 0) a->max_noise = KB_ADAPT_DEF_MAX_NOISE;
    return 0;
}

double kb_adapt_timeout(const kb_adapt *a) { return KB_ADAPT_TIMEOUT_S + 2 * a->min_time_s; }

/* ---- the rule --------------------------------------------------------------- */
double kb_adapt_noise(const double *sec, int n)
{
    if (n < 2) return 0;
    double mean = gsl_stats_mean(sec, 1, (size_t)n);
    return mean > 0 ? gsl_stats_sd_m(sec, 1, (size_t)n, mean) / mean : 0;
}

static double timed(const double *sec, int n)
{
    double t = 0;
    for (int i = 0; i < n; i++) t += sec[i];
    return t;
}

kb_adapt_stop kb_adapt_check(const kb_adapt *a, const double *sec, int n, double wall_s)
{
    if (n >= a->min_reps && timed(sec, n) >= a->min_time_s && kb_adapt_noise(sec, n) <= a->max_noise)
        return KB_ADAPT_DONE;
    if (n >= a->max_reps) return KB_ADAPT_MAX_REPS;
    if (wall_s >= kb_adapt_timeout(a)) return KB_ADAPT_TIMEOUT;
    return KB_ADAPT_MORE;
}

int kb_adapt_batch(const kb_adapt *a, const double *sec, int n, double wall_s)
{
    if (n < a->min_reps) return a->min_reps - n;
    double want = fmax(a->min_reps, n / 2);
    double t = timed(sec, n), mean = t / n;
    if (t < a->min_time_s && mean > 0) want = fmax(want, ceil((a->min_time_s - t) / mean));
    if (wall_s > 0) want = fmin(want, ceil((kb_adapt_timeout(a) - wall_s) / (wall_s / n))); /* ends near the guard */
    return (int)fmax(1, fmin(want, a->max_reps - n));
}

void kb_adapt_note(const kb_adapt *a, kb_adapt_stop why, const double *sec, int n, char *buf, size_t len)
{
    *buf = 0;
    if (why == KB_ADAPT_DONE || why == KB_ADAPT_MORE) return;
    char noise[96] = "", time[96] = "", reps[64] = "";
    double cv = kb_adapt_noise(sec, n), t = timed(sec, n);
    if (cv > a->max_noise) snprintf(noise, sizeof noise, "noise %.3g%% > target %.3g%%", 100 * cv, 100 * a->max_noise);
    if (t < a->min_time_s) snprintf(time, sizeof time, "timed %.3g s < min-time %.3g s", t, a->min_time_s);
    if (n < a->min_reps) snprintf(reps, sizeof reps, "min-reps %d not reached", a->min_reps);
    const char *sep1 = *noise && (*time || *reps) ? ", " : "", *sep2 = *time && *reps ? ", " : "";
    if (why == KB_ADAPT_MAX_REPS)
        snprintf(buf, len, "%s%s%s%s%s after %d reps (max-reps)", noise, sep1, time, sep2, reps, n);
    else
        snprintf(buf, len, "%s%s%s%s%s after %d reps (timeout %.3g s)", noise, sep1, time, sep2, reps, n,
                 kb_adapt_timeout(a));
}
