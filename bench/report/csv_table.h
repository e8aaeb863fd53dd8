/* csv_table.h - reading kbench result CSVs back (plot, compare, report).
 *
 * Two layers:
 *   csv_table  - a CSV streamed through libcsv: the header kept (columns looked
 *                up by name, extra columns tolerated), each data row handed
 *                to a callback and dropped;
 *   kb_rowset  - the rows of one or more results CSVs as kb_row (the one row
 *                schema, bench/kb_row.h): every column of kb_cols is read when
 *                the file has it; absent optional columns read as "" / NaN / 0.
 *
 * Errors: every loader returns 0, KB_EXIT_USAGE (bad input: missing column,
 * bad number, empty file, ragged row) or KB_EXIT_IO (cannot open/read) and
 * leaves a one-line message naming the file in `err`. */
#ifndef CSV_TABLE_H
#define CSV_TABLE_H
#include <stddef.h>
#include "bench/kb_io.h"
#include "bench/kb_row.h"

typedef struct csv_table {
    int ncols, nrows; /* nrows: data rows seen so far */
    char **cols;      /* header names                 */
} csv_table;

/* Streaming: the header into t, then each data row (1-based) to fn as it is
 * parsed, never kept (t->nrows counts them).  fn returns 0, or an exit code
 * that stops the load and is returned (fn wrote err).  path "-" reads
 * standard input (left open). */
typedef int (*csv_row_fn)(void *ctx, const csv_table *t, char *const *fields, int row);
int csv_table_stream(const char *path, csv_table *t, csv_row_fn fn, void *ctx, char *err, size_t errlen);
void csv_table_free(csv_table *t);
int csv_table_col(const csv_table *t, const char *name); /* -1 if absent */

typedef struct kb_rowset {
    kb_row *r;
    int n, cap;
    char **files;
    int nfiles;
    /* Optional columns present in at least one loaded file. */
    int has_impl_kind, has_samples;
    /* The rows by (op, shape, gpu) (kbr_index.h, kbr_rows_of), rebuilt by
     * each kb_rows_load; NULL when none was built. */
    struct kbr_index *osg;
} kb_rowset;

/* Append the rows of `path` to `set`.  Columns flagged KB_COL_REQUIRED must
 * be present; `extra_required` (NULL-terminated, may be NULL) names further
 * columns this caller needs.  0 / 2 / 4 + err. */
int kb_rows_load(kb_rowset *set, const char *path, const char *const *extra_required,
                 char *err, size_t errlen);
void kb_rows_free(kb_rowset *set);
/* The enum-like columns hold known values: source measured|projected,
 * verified pass|fail|skip, impl_kind hand|lib|model|"", bound
 * compute|memory|network|"".  0, or KB_EXIT_USAGE and "FILE: row N: column
 * 'verified': unknown value 'passed' (...)" in err.  plot, compare and report
 * call it after loading. */
int kb_rows_check_enums(const kb_rowset *set, char *err, size_t errlen);

/* Helpers on rows. */
int kb_row_is_measured(const kb_row *r);
int kb_row_is_pass(const kb_row *r);        /* verified == pass (projected rows: skip ok) */
int kb_row_has_time(const kb_row *r);       /* finite, > 0 */
/* Library reference?  impl_kind column when present ("lib"), else the impl
 * name convention: hand-written variants are "v<digit>...". */
int kb_row_is_lib(const kb_row *r, int has_impl_kind);
int kb_row_is_model(const kb_row *r);       /* impl_kind model or source projected */
#endif
