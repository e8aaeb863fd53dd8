/* kbr_index.h - rows of a kb_rowset indexed by a key, in O(n log n).
 *
 * compare, plot and report look rows up by a key ((op, impl, shape, dtype
 * [, gpu]) for the gate, (op, shape, gpu) for the best implementation).  A
 * scan per lookup is quadratic in the rows: 100k rows (a run history kept in
 * one CSV) took minutes.  The index is the rows sorted by the key (a stable
 * merge sort: rows of one key keep their file order), searched by bisection. */
#ifndef KBR_INDEX_H
#define KBR_INDEX_H
#include "bench/report/csv_table.h"

/* Orders rows by a key: < 0, 0 (same key), > 0. */
typedef int (*kbr_key_cmp)(const kb_row *a, const kb_row *b);
int kbr_key_gate(const kb_row *a, const kb_row *b);     /* op, impl, shape, dtype      */
int kbr_key_gate_gpu(const kb_row *a, const kb_row *b); /* op, impl, shape, dtype, gpu */
int kbr_key_osg(const kb_row *a, const kb_row *b);      /* op, shape, gpu              */
int kbr_key_os(const kb_row *a, const kb_row *b);       /* op, shape: a prefix of osg  */
int kbr_key_op(const kb_row *a, const kb_row *b);       /* op: a prefix of osg         */

typedef struct kbr_index {
    const kb_row **r; /* the rows in key order; n of them */
    int n;
    kbr_key_cmp cmp;
} kbr_index;

/* 0, or -1 when out of memory (x is then empty). */
int kbr_index_build(kbr_index *x, const kb_rowset *s, kbr_key_cmp cmp);
void kbr_index_free(kbr_index *x);
/* The position in x->r of the first row with key's key, -1 if none; *count
 * (optional) receives how many rows share it (they follow, in file order). */
int kbr_index_find(const kbr_index *x, const kb_row *key, int *count);
/* The same by a prefix of the index's key (kbr_key_os or kbr_key_op of an
 * index by kbr_key_osg). */
int kbr_index_find_by(const kbr_index *x, const kb_row *key, kbr_key_cmp prefix, int *count);

/* The rows of s with this op (and shape, and gpu, unless NULL), through the
 * index kb_rows_load keeps in s->osg: rows of one (op, shape, gpu) in file
 * order; *count of them (0: none, or s has no index). */
const kb_row *const *kbr_rows_of(const kb_rowset *s, const char *op, const char *shape, const char *gpu,
                                 int *count);
/* Is r the first row (in file order) of its (op, shape)? */
int kbr_first_of_shape(const kb_rowset *s, const kb_row *r);
#endif
