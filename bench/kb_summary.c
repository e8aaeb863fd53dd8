/* kb_summary.c - the end-of-run lines (kb_summary.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "bench/kb_summary.h"

/* The value of "busbw_gbps=" in a metrics text; NaN when absent. */
static double busbw(const char *metrics)
{
    static const char key[] = "busbw_gbps=";
    for (const char *p = strstr(metrics, key); p; p = strstr(p + 1, key))
        if (p == metrics || p[-1] == ';') return strtod(p + sizeof key - 1, NULL);
    return NAN;
}

static void add_bw(kb_summary *s, const char *op, double gbps)
{
    int i = 0;
    while (i < s->n_bw && strcmp(s->bw[i].op, op)) i++;
    if (i == KB_SUMMARY_BW_OPS) return;
    if (i == s->n_bw) kb_strlcpy(s->bw[s->n_bw++].op, op, sizeof s->bw[0].op);
    s->bw[i].sum_gbps += gbps;
    s->bw[i].n++;
}

void kb_summary_add(kb_summary *s, const kb_row *r)
{
    int pass = !strcmp(r->verified, "pass");
    if (!strcmp(r->verified, "fail")) s->n_fail++;
    else if (!strcmp(r->verified, "skip")) s->n_skip++;
    else s->n_pass++;
    if (!strcmp(r->err_metric, "wrong") && isfinite(r->err)) s->wrong += r->err;
    double bw = busbw(r->metrics);
    if (pass && isfinite(bw)) add_bw(s, r->op, bw);
}

void kb_summary_print(FILE *f, const kb_summary *s, const char *where, const char *dest)
{
    for (int i = 0; i < s->n_bw; i++)
        fprintf(f, "# Avg bus bandwidth    : %.2f GB/s  (%s, %d row%s)\n", s->bw[i].sum_gbps / s->bw[i].n, s->bw[i].op,
                s->bw[i].n, s->bw[i].n == 1 ? "" : "s");
    fprintf(f, "kbench: %d passed, %d failed, %d skipped, #wrong %.0f%s -> %s\n", s->n_pass, s->n_fail, s->n_skip,
            s->wrong, where, dest);
}
