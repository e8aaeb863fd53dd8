/* kb_summary.h - the end-of-run lines of `kbench run`, as nccl-tests users
 * look for them (README "End-of-run lines"):
 *
 *   # Avg bus bandwidth    : 123.45 GB/s  (alltoall, 9 rows)
 *   kbench: 42 passed, 1 failed, 3 skipped, #wrong 17 in 4 worker(s) -> FILE
 *
 * #wrong: the sum of `err` over the rows whose err_metric is "wrong" (wrong
 * elements, nccl-tests' #wrong), passed or failed.  The bus bandwidth line:
 * one per operator whose rows carry "busbw_gbps=" in `metrics` (the
 * all-to-all sweep), the mean over its passed rows.  Plain C, no CUDA. */
#ifndef KB_SUMMARY_H
#define KB_SUMMARY_H
#include <stdio.h>
#include "bench/kb_row.h"
#ifdef __cplusplus
extern "C" {
#endif

#define KB_SUMMARY_BW_OPS 8

typedef struct kb_summary {
    int n_pass, n_fail, n_skip;
    double wrong; /* wrong elements over the "wrong" rows */
    struct { char op[32]; double sum_gbps; int n; } bw[KB_SUMMARY_BW_OPS];
    int n_bw;
} kb_summary;

/* Count one finished row. */
void kb_summary_add(kb_summary *s, const kb_row *r);
/* The bus bandwidth lines, then "kbench: P passed, F failed, S skipped,
 * #wrong W<where> -> <dest>\n" (where: e.g. " in 4 worker(s)", or ""). */
void kb_summary_print(FILE *f, const kb_summary *s, const char *where, const char *dest);
#ifdef __cplusplus
}
#endif
#endif
