/* kbr_gate.h - the input checks of the regression gate (kbench compare):
 * what makes a results CSV unfit to compare or to become a baseline.  Each
 * check prints one line "kbench compare: FILE: ..." on stderr and returns
 * KB_EXIT_USAGE, or returns 0. */
#ifndef KBR_GATE_H
#define KBR_GATE_H
#include "bench/report/csv_table.h"

/* Timed rows must hold real times: a passing or projected row needs a finite
 * time_us > 0; any time_us, time_us_min/max or sample that is present must
 * be finite and > 0 (NaN, Inf, 0 or negative would make the row "untimed"
 * and its regression invisible). */
int kbr_gate_check_times(const kb_rowset *s, const char *path);

/* Rows sharing the key (op, impl, shape, dtype, gpu): an error naming both
 * rows, unless keep_last, when *superseded (malloc'd, one flag per row, may be
 * NULL when none) marks every row that a later one of its key replaces and
 * *n_superseded counts them. */
int kbr_gate_duplicates(const kb_rowset *s, const char *path, int keep_last, char **superseded, int *n_superseded);

/* A file fit to be a baseline: at least one measured, passing, timed row; no
 * failed rows; no projected rows. */
int kbr_gate_baseline_ok(const kb_rowset *s, const char *path);

/* "op/impl/shape [dtype] gpu" of r into buf. */
const char *kbr_gate_key(const kb_row *r, char *buf, size_t n);
#endif
