/* kb.h - the kbench harness contract: what an operator provides and what the
 * harness gives it.  Host code is C11; device code lives in kernels/ and
 * reference/ behind C launchers.
 *
 * An operator (bench/ops/op_<name>.c) fills one `kb_op`:
 *   - shapes(): its shape table (data, model-realistic), each shape tagged
 *     with the sets it belongs to (full, quick, small);
 *   - flops()/bytes()/link_bytes(): napkin math per shape (bytes = minimum
 *     bytes that must cross HBM; link_bytes = bytes one rank sends over
 *     NVLink, communication ops only);
 *   - setup(): allocate, fill with seeded random data (never zeros), build the
 *     reference answer; returns an opaque context;
 *   - poison()/verify(): poison outputs before a run, compare after it;
 *   - its table of implementations: { name, kind, launcher } - one line each.
 * Convention: an op file names its static callbacks shapes, flops, bytes,
 * setup, poison, verify and teardown, so that its kb_op says KB_OP_FUNCS
 * (or KB_OP_GPU_FUNCS for the last four, when flops/bytes come from a family
 * helper) and holds little more than its name, peak, impls and dims.
 * The harness owns timing, statistics, CSV, roofline and the CLI.
 */
#ifndef KB_H
#define KB_H

#include <stddef.h>
#include <stdint.h>
#include <cuda_runtime_api.h>
#include "kernels/common/kb_base.h"
#include "kernels/common/kb_fill.h"
#include "bench/kb_roofline.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Status, messages, check macros (KB_CUDA_TRY, KB_CUBLAS_TRY, KB_NCCL_TRY,
 * KB_TRY and their _OR forms) and the host RNG: kernels/common/kb_base.h. */

/* ---- shapes --------------------------------------------------------------- */
enum {
    KB_SET_FULL = 1u << 0,  /* default: the model's real shapes            */
    KB_SET_QUICK = 1u << 1, /* representative subset, < 1 min per op on H100 */
    KB_SET_SMALL = 1u << 2, /* tiny shapes: GPU smoke tests, CPU-checkable */
    /* Not a set: the shape's working set is meant to stay in L2 (e.g. the L2
     * bandwidth ceiling), so the harness must not flush L2 between samples. */
    KB_SHAPE_HOT_L2 = 1u << 8
};

#define KB_MAX_DIMS 8
typedef struct kb_shape {
    char label[64];           /* unique within the op, e.g. "m4096_n7168_k16384" */
    char dtype[24];           /* e.g. "e4m3", "bf16", "e4m3kv"               */
    unsigned sets;            /* KB_SET_* mask                                */
    /* Named dimensions: each op declares an enum of positions (e.g.
     * MLA_D_B, MLA_D_SK) and reads s->d[MLA_D_B], never s->d[1]; kb_op.dims
     * names them for the CSV `dims` column. */
    int64_t d[KB_MAX_DIMS];
} kb_shape;

/* One shape table per operator, built once by its shapes() (bench/kb_shape.c).
 * kb_shape_add copies the label (printf-style, must fit kb_shape.label) and
 * dims; adding a label again with the same dtype and dims merges the sets
 * (a shape in both the full and the small set), with different dims it is a
 * programming error: a message on stderr and abort(). */
typedef struct kb_shape_table {
    kb_shape *s;
    int n, cap;
} kb_shape_table;
kb_shape *kb_shape_add(kb_shape_table *t, unsigned sets, const char *dtype, const int64_t d[KB_MAX_DIMS],
                       const char *label_fmt, ...) __attribute__((format(printf, 5, 6)));
/* "b=128;sk=4096;hq=128" from op->dims and s->d (dims without a name are
 * left out).  Returns buf. */
struct kb_op;
const char *kb_shape_dims(const struct kb_op *op, const kb_shape *s, char *buf, size_t n);

/* ---- implementations ------------------------------------------------------ */
typedef enum kb_impl_kind {
    KB_IMPL_HAND = 0, /* hand-written kernel in kernels/<op>/              */
    KB_IMPL_LIB = 1   /* library reference in reference/ (cuBLAS, CUB, NCCL) */
} kb_impl_kind;

/* A launcher: enqueue the whole operation on `stream` using the buffers in
 * `ctx` (the op's context, whose first member is the op's argument struct).
 * Must not synchronise unless the operation itself needs it. */
typedef kb_status (*kb_launch_fn)(void *ctx, cudaStream_t stream);

typedef struct kb_impl {
    const char *name;   /* "v1", "v3", "cublaslt_blk128", ...           */
    kb_impl_kind kind;
    kb_launch_fn launch;
    const char *what;   /* one line for `kbench list`                   */
} kb_impl;

/* ---- operators ------------------------------------------------------------ */
typedef struct kb_op {
    const char *name;        /* "fp8_gemm"                                 */
    const char *what;        /* one line for `kbench list`                 */
    kb_peak peak;
    /* Shape table; *n receives its length.  Static storage, built once.   */
    const kb_shape *(*shapes)(int *n);
    double (*flops)(const kb_shape *s);
    double (*bytes)(const kb_shape *s);      /* minimum HBM bytes           */
    double (*link_bytes)(const kb_shape *s); /* NULL unless communication   */
    /* GPU side (never called without a device). */
    kb_status (*setup)(const kb_shape *s, void **ctx);
    kb_status (*poison)(void *ctx, cudaStream_t stream);
    /* Compare the outputs of the last launch with the reference:
     * *err = the op's error metric, *metric = its name ("diff", "cos_diff",
     * "wrong"), return KB_OK if within threshold, KB_FAIL (with a message)
     * if not.  NaN/Inf in the output must fail. */
    kb_status (*verify)(void *ctx, double *err, const char **metric);
    void (*teardown)(void *ctx);
    const kb_impl *impls;
    int n_impls;             /* set both with KB_IMPLS(table)               */
    /* Optional: per-shape peak when one op mixes dtypes (NULL: use .peak). */
    kb_peak (*peak_for)(const kb_shape *s);
    /* Optional: op-specific figures for the CSV `metrics` column, written as
     * "name=value;name=value" from the measured median time (e.g. the
     * all-to-all's algbw/busbw, DeepEP's logical bandwidth). */
    void (*metrics)(const kb_shape *s, double seconds, char *buf, size_t n);
    /* Optional: a note for a row that passed verification, about the launch
     * just verified (e.g. which library algorithm or tile configuration ran);
     * written to the CSV `note` column.  Called right after verify(). */
    void (*note)(void *ctx, char *buf, size_t n);
    /* Names of the shape dimensions d[i], indexed by the op's dimension
     * enum ({[MLA_D_B] = "b", [MLA_D_SK] = "sk", ...}); NULL ends/skips. */
    const char *dims[KB_MAX_DIMS];
    /* Optional: is this shape one the op can set up (`--axis` shapes,
     * bench/kb_axis.h)?  0 if so, else non-zero with one line in why naming the
     * op, the dim and the constraint ("fp8_gemm: k=100 is not a multiple of
     * 128"), e.g. through kb_shape_refuse. */
    int (*check)(const kb_shape *s, char *why, size_t n);
} kb_op;

/* kb_op.check's refusal: the printf-style line into why[n]; returns -1. */
int kb_shape_refuse(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The kb_op callbacks of an op file that follows the naming convention above. */
#define KB_OP_GPU_FUNCS .setup = setup, .poison = poison, .verify = verify, .teardown = teardown
#define KB_OP_FUNCS .shapes = shapes, .flops = flops, .bytes = bytes, KB_OP_GPU_FUNCS

/* .impls and .n_impls of a kb_op from one static kb_impl array. */
#define KB_IMPLS(table) .impls = (table), .n_impls = (int)(sizeof(table) / sizeof((table)[0]))

/* The peak that bounds this shape: op->peak_for(s) when given, else op->peak. */
kb_peak kb_shape_peak(const kb_op *op, const kb_shape *s);

/* Registry (bench/registry.c): every operator, in run order. */
const kb_op *const *kb_ops(int *n);
const kb_op *kb_find_op(const char *name);
/* The shapes of op: the `--axis` list installed for it (bench/kb_axis.h), else
 * op->shapes().  Every command that walks shapes calls this. */
const kb_shape *kb_op_shapes(const kb_op *op, int *n);

/* ---- helpers for operators (bench/kb_util.c) ------------------------------ */
/* Seed per (op, shape): FNV-1a of the op name and shape label. */
uint64_t kb_seed_for(const char *op, const kb_shape *s);

/* Device fills and poison (kb_dev_fill_f32, kb_dev_fill_bf16, kb_dev_poison):
 * kernels/common/kb_fill.h. */

/* bf16 / E4M3 host conversions: kernels/common/kb_base.h. */

/* Error metrics (double accumulation).  Return NaN if either side holds a
 * NaN or Inf, so a poisoned output can never pass. */
double kb_diff_deepgemm(const double *x, const double *y, size_t n); /* 1-2*sum(xy)/sum(x^2+y^2) */
double kb_cos_diff(const double *x, const double *y, size_t n);      /* 1 - cos(x,y)            */
double kb_max_abs_err(const double *x, const double *y, size_t n);
size_t kb_count_nonfinite(const double *x, size_t n);

/* Thresholds per dtype (method.md): FP8 GEMM diff < 1e-3, MLA cos diff < 1e-5. */
#define KB_TOL_FP8_DIFF 1e-3
#define KB_TOL_MLA_COS 1e-5

#ifdef __cplusplus
}
#endif
#endif /* KB_H */
