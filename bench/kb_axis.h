/* kb_axis.h - ad-hoc shapes and sweeps: `--axis NAME=VALUES` (README "Ad-hoc
 * shapes and sweeps").  The harness owns the grammar, the product and the
 * labels; each operator owns its constraints (kb_op.check).
 *
 * Grammar of one axis (NAME = a name of the operator's kb_op.dims):
 *   NAME=V             one value
 *   NAME=V1,V2,...     a list, in the order given
 *   NAME=LO:HI:xF      geometric: LO, LO*F, LO*F^2, ... <= HI (F >= 2, LO >= 1)
 *   NAME=LO:HI:+S      arithmetic: LO, LO+S, ... <= HI (S >= 1)
 * Values are whole numbers >= 0 with an optional suffix K, M, G or T (either
 * case) = 2^10, 2^20, 2^30, 2^40, as nccl-tests reads -b/-e (1G = 1073741824).
 *
 * The shapes are the cartesian product of the axes (the first axis varies
 * slowest) over a base shape: the one named by --shape LABEL, else the first
 * shape of the operator's table in the chosen sets (--shapes, default full).
 * Dims without an axis keep the base's values; dtype and the hot-L2 flag are
 * the base's; every generated shape is in every set.  Its label names every
 * named dim in kb_op.dims order ("layout0_m64_n7168_k2048_g1_dist0"); a label
 * over 63 characters keeps its first 54 and ends in "_" and 8 hex digits of a
 * hash of the whole.  Each shape must pass op->check.
 */
#ifndef KB_AXIS_H
#define KB_AXIS_H
#include <stddef.h>
#include <stdint.h>
#include "bench/kb.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KB_AXIS_MAX_VALUES 4096 /* values of one axis      */
#define KB_AXIS_MAX_SHAPES 4096 /* shapes of the product   */

typedef struct kb_axis {
    int dim;    /* position in op->dims */
    int n;      /* values               */
    int64_t *v; /* malloc'd             */
} kb_axis;

/* One value ("64", "1M"): 0, or -1 with the reason in why. */
int kb_axis_value(const char *s, int64_t *out, char *why, size_t n);
/* One "NAME=VALUES" of op: 0, or -1 with a one-line reason in why. */
int kb_axis_parse(const kb_op *op, const char *spec, kb_axis *ax, char *why, size_t n);
void kb_axis_free(kb_axis *ax);
/* The generated label of a shape of op (buf of at least 64 bytes). */
void kb_axis_label(const kb_op *op, const kb_shape *s, char *buf, size_t n);
/* The product of ax[0..nax) over base into t (emptied first), each shape
 * checked by op->check: 0, or -1 with a one-line reason in why. */
int kb_axis_product(const kb_op *op, const kb_shape *base, const kb_axis *ax, int nax, kb_shape_table *t, char *why,
                    size_t n);

/* The CLI side.  kb_axes_install: parse the --axis specs of command `cmd`
 * for the single operator `ops` over the base (`shape`: one label or NULL;
 * `sets`), and make the result the shape table of that operator for the rest
 * of the process (the spec strings are kept by pointer: pass argv's).  0, or
 * KB_EXIT_USAGE after one line on stderr; a failure leaves any earlier list. */
int kb_axes_install(const char *cmd, const char *ops, const char *shape, unsigned sets, char *const *specs,
                    int nspecs);
/* kb_op_shapes(op, &n) (bench/kb.h) hands out the installed list. */
/* Is the installed list op's?  1 or 0. */
int kb_axes_installed(const kb_op *op);
/* The arguments that rebuild the installed list in a worker or a profiled
 * child ("--op" OP "--axis" SPEC ... "--shape" BASE), into out[max]; returns how many
 * (0 when no axes are installed). */
int kb_axes_argv(const char **out, int max);

#ifdef __cplusplus
}
#endif
#endif
