/* kbr_gate.c - see kbr_gate.h. */
#include "bench/report/kbr_gate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/report/kbr_index.h"

const char *kbr_gate_key(const kb_row *r, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s/%s [%s] %s", r->op, r->impl, r->shape, r->dtype, r->gpu);
    return buf;
}

static int bad_time(double v) { return !isnan(v) && !(isfinite(v) && v > 0); }

/* The first invalid time of r: its column name, or NULL. */
static const char *invalid_time(const kb_row *r)
{
    int timed = kb_row_is_pass(r) || !kb_row_is_measured(r);
    if (bad_time(r->time_us) || (timed && isnan(r->time_us))) return "time_us";
    if (bad_time(r->time_us_min)) return "time_us_min";
    if (bad_time(r->time_us_max)) return "time_us_max";
    for (int i = 0; i < r->n_samples; i++)
        if (!(isfinite(r->samples_us[i]) && r->samples_us[i] > 0)) return "samples_us";
    return NULL;
}

int kbr_gate_check_times(const kb_rowset *s, const char *path)
{
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        const char *col = invalid_time(r);
        if (!col) continue;
        char k[400];
        fprintf(stderr, "kbench compare: %s: row %d (%s, %s %s): invalid %s %g (a timed row needs a finite "
                "time > 0)\n", path, r->line, kbr_gate_key(r, k, sizeof k), r->source, r->verified, col,
                !strcmp(col, "time_us") ? r->time_us : !strcmp(col, "time_us_min") ? r->time_us_min
                : !strcmp(col, "time_us_max") ? r->time_us_max : NAN);
        return KB_EXIT_USAGE;
    }
    return 0;
}

int kbr_gate_duplicates(const kb_rowset *s, const char *path, int keep_last, char **superseded, int *n_superseded)
{
    kbr_index x;
    *superseded = NULL;
    *n_superseded = 0;
    if (kbr_index_build(&x, s, kbr_key_gate_gpu)) return KB_EXIT_IO;
    int rc = 0;
    for (int i = 0; i + 1 < x.n && !rc; i++) {
        if (x.cmp(x.r[i], x.r[i + 1])) continue;
        if (!keep_last) {
            char k[400];
            fprintf(stderr, "kbench compare: %s: rows %d and %d have the same key %s (two runs in one file? "
                    "--duplicates last keeps the last)\n", path, x.r[i]->line, x.r[i + 1]->line,
                    kbr_gate_key(x.r[i], k, sizeof k));
            rc = KB_EXIT_USAGE;
        } else {
            if (!*superseded && !(*superseded = calloc((size_t)s->n, 1))) rc = KB_EXIT_IO;
            else (*superseded)[x.r[i] - s->r] = 1, ++*n_superseded;
        }
    }
    kbr_index_free(&x);
    if (rc) free(*superseded), *superseded = NULL;
    return rc;
}

int kbr_gate_baseline_ok(const kb_rowset *s, const char *path)
{
    int good = 0;
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        const char *why = !kb_row_is_measured(r) ? "is projected (a model, not a measurement)"
                          : !strcmp(r->verified, "fail") ? "failed verification" : NULL;
        if (why) {
            char k[400];
            fprintf(stderr, "kbench compare: %s: not a baseline: row %d (%s) %s\n", path, r->line,
                    kbr_gate_key(r, k, sizeof k), why);
            return KB_EXIT_USAGE;
        }
        good += kb_row_is_pass(r) && kb_row_has_time(r);
    }
    if (good) return 0;
    fprintf(stderr, "kbench compare: %s: not a baseline: no measured, passing, timed row\n", path);
    return KB_EXIT_USAGE;
}
