/* fp8_common.h - what the three FP8 operators (fp8_gemm, fp8_gemm_grouped,
 * fp8_quant) share: the GEMM context (args first, as kb.h demands), the
 * shape-dims convention, the group-row builders (contiguous padding, routing-
 * like segment sizes, masked valid counts), napkin math, and the common
 * setup/poison/verify of both GEMM operators.
 *
 * GEMM shape dims (FP8_D_*):
 *   layout (fp8_gemm_layout)   m: dense M; contiguous M per group (nominal);
 *   masked m_max               n, k   g: groups (1 for dense)
 *   dist: segment sizes: 0 = equal (M each), 1 = drawn (contiguous: routing-
 *        like distribution with the same total G*M; masked: valid counts
 *        uniform in [m_max/2, m_max]); seeded by kb_seed_for(op, shape).
 * Quantisation shape dims (FP8Q_D_*): mode (fp8_quant_mode), rows, cols.
 */
#ifndef FP8_COMMON_H
#define FP8_COMMON_H
#include <stddef.h>
#include <stdint.h>
#include "bench/kb.h"
#include "kernels/fp8_gemm/fp8_gemm.h"
#include "kernels/fp8_quant/fp8_quant.h"
#include "reference/fp8_gemm_cublaslt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FP8_MAX_GROUPS FP8_LIB_MAX_GROUPS
#define FP8_GEMM_WORKSPACE_BYTES ((size_t)32 << 20)

enum { FP8_D_LAYOUT = 0, FP8_D_M, FP8_D_N, FP8_D_K, FP8_D_G, FP8_D_DIST };
enum { FP8Q_D_MODE = 0, FP8Q_D_ROWS, FP8Q_D_COLS };
/* kb_op.dims of the two GEMM operators. */
#define FP8_GEMM_DIMS                                                                                          \
    {[FP8_D_LAYOUT] = "layout", [FP8_D_M] = "m", [FP8_D_N] = "n", [FP8_D_K] = "k", [FP8_D_G] = "g",          \
     [FP8_D_DIST] = "dist"}
enum { FP8_DIST_EQUAL = 0, FP8_DIST_DRAWN = 1 };

/* Which reference verify() compares against: the harness calls poison()
 * before every launch, which resets it to BLOCK; the per-tensor cuBLASLt
 * launcher fp8_gemm_lib_tensor (same E4M3 bytes, unit scales) sets TENSOR. */
enum { FP8_REF_BLOCK = 0, FP8_REF_TENSOR = 1 };

typedef struct fp8_gemm_ctx {
    fp8_gemm_args args;          /* FIRST member (kb.h contract)             */
    kb_shape shape;
    const char *op_name;
    int groups;                  /* G                                        */
    int rows_total;              /* rows of A and D (contig: padded sum; masked: G*m_max) */
    /* group segments (first row, valid rows): lib.seg_start, lib.seg_rows */
    int ref_mode;
    int lib_last;                /* FP8_LIB_* mode of the last launch, -1: not a cuBLASLt one */
    /* host copies for the CPU reference */
    uint8_t *h_a, *h_b;
    float *h_sa, *h_sb;
    int32_t *h_group_idx, *h_masked_m;
    uint16_t *h_d;
    /* device buffers (owned) */
    uint8_t *d_a, *d_b;
    float *d_sa, *d_sb;
    uint16_t *d_d;
    int32_t *d_group_idx, *d_masked_m;
    void *d_ws;
    /* the cuBLASLt baselines' arguments (reference/fp8_gemm_cublaslt.h):
     * operands bound at setup, extras built by fp8_gemm_lib_prepare() */
    fp8_gemm_lib_args lib;
} fp8_gemm_ctx;

/* ---- host helpers (no GPU; unit-tested) ---------------------------------- */
static inline int64_t fp8_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static inline int64_t fp8_round_up(int64_t a, int64_t b) { return fp8_ceil_div(a, b) * b; }
/* The cuBLASLt scale layouts (fp8_lib_sa_ld, fp8_lib_sa_layout):
 * reference/fp8_gemm_cublaslt.h. */

/* Routing-like segment sizes: expert loads w_g = exp(0.6 N(0,1)) (the
 * imbalance of a learned top-k router), counts = multinomial-style rounding
 * of total * w_g / sum w, summing exactly to total.  Deterministic in seed. */
void fp8_route_counts(int groups, int64_t total, uint64_t seed, int *counts);
/* Masked valid counts: uniform integers in [ceil(m_max/2), m_max]. */
void fp8_masked_counts(int groups, int m_max, uint64_t seed, int *counts);
/* Contiguous layout: each segment padded to a multiple of 128; seg_start[g]
 * receives the first row of group g; group_idx (if non-NULL, length = the
 * returned total) receives g for valid rows, -1 for padding.  Returns the
 * total (padded) number of rows. */
int64_t fp8_contig_layout(int groups, const int *counts, int *seg_start, int32_t *group_idx);
/* Valid rows per group of a GEMM shape (dense: {M}); returns G. */
int fp8_gemm_group_rows(const char *op, const kb_shape *s, int *counts);

/* Napkin math, shared by both GEMM operators:
 *   FLOPs = 2 * (valid rows) * N * K
 *   bytes = valid rows * K (A, E4M3) + G * N * K (B, E4M3) + 2 * valid rows * N
 *           (D, BF16) + 4 * (valid rows * K/128 + G * ceil(N/128) * K/128) (scales) */
double fp8_gemm_flops(const char *op, const kb_shape *s);
double fp8_gemm_bytes(const char *op, const kb_shape *s);
/* kb_op.check of the two GEMM operators (op: their name). */
int fp8_gemm_check(const char *op, const kb_shape *s, char *why, size_t n);
/* Add a GEMM shape (dtype "e4m3") to an operator's table. */
void fp8_gemm_shape_add(kb_shape_table *t, const char *label, unsigned sets, int layout, int64_t m, int64_t n,
                        int64_t k, int64_t g, int dist);

/* ---- the body both GEMM operator files share --------------------------------
 * FP8_GEMM_OP_CALLBACKS(op): the static shapes() over `build_shapes` (the
 * file's table builder) and flops/bytes/setup/check bound to the operator's name;
 * FP8_GEMM_OP_FIELDS: every kb_op field but name, what and impls. */
#define FP8_GEMM_OP_CALLBACKS(op)                                                                              \
    static kb_shape_table table;                                                                               \
    static const kb_shape *shapes(int *n) { return kb_op_table(&table, build_shapes, n); }                     \
    static double flops(const kb_shape *s) { return fp8_gemm_flops(op, s); }                                  \
    static double bytes(const kb_shape *s) { return fp8_gemm_bytes(op, s); }                                  \
    static kb_status setup(const kb_shape *s, void **ctx) { return fp8_gemm_setup(op, s, ctx); }                \
    static int check(const kb_shape *s, char *why, size_t n) { return fp8_gemm_check(op, s, why, n); }
#define FP8_GEMM_OP_FIELDS                                                                                     \
    .peak = KB_PEAK_FP8, .shapes = shapes, .flops = flops, .bytes = bytes, .setup = setup,                    \
    .poison = fp8_gemm_poison, .verify = fp8_gemm_verify, .teardown = fp8_gemm_teardown, .note = fp8_gemm_note, .dims = FP8_GEMM_DIMS, \
    .check = check

/* ---- GPU side, shared by op_fp8_gemm.c and op_fp8_gemm_grouped.c --------- */
kb_status fp8_gemm_setup(const char *op, const kb_shape *s, void **ctx);
kb_status fp8_gemm_poison(void *ctx, cudaStream_t stream);
kb_status fp8_gemm_verify(void *ctx, double *err, const char **metric);
void fp8_gemm_teardown(void *ctx);
/* kb_op.note: the cuBLASLt algorithm, or the tile configuration, that the
 * verified launch ran. */
void fp8_gemm_note(void *ctx, char *buf, size_t n);

/* Device helpers (bench/fp8_dev.cu). */
/* x[r, c] = U(-1, 1) * 2^e(r/grp_rows, c/grp_cols), e in [-4, 3] per group, so
 * scales differ between groups and a kernel that mixes up scale indices fails. */
kb_status fp8_dev_gen_bf16(uint16_t *x, int64_t rows, int64_t cols, int grp_rows, int grp_cols,
                           uint64_t seed, cudaStream_t stream);

/* The cuBLASLt baselines as launchers on the GEMM context (they hand the
 * embedded fp8_gemm_lib_args to reference/fp8_gemm_cublaslt.cu); the
 * per-tensor one switches verify() to the unit-scale reference. */
kb_status fp8_gemm_lib_blk(void *ctx, cudaStream_t stream);
kb_status fp8_gemm_lib_tensor(void *ctx, cudaStream_t stream);
kb_status fp8_gemm_lib_bf16(void *ctx, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
