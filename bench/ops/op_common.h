/* op_common.h - what every operator file shares beyond bench/kb.h: the
 * shapes() body (a kb_shape_table built once), the setup skeleton (allocate
 * the context, run the op's build phases, tear down on any failure), and the
 * named shape dimensions of the operators without a family header (the FP8
 * family names its dims in fp8_common.h, the EP family in ep_shapes.h).
 * Tests include this to read shapes by name. */
#ifndef OP_COMMON_H
#define OP_COMMON_H
#include <stddef.h>
#include "bench/kb.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- named shape dimensions (kb_shape.d[]) -------------------------------- */
/* hbm: mode (hbm_mode), buffer bytes, passes over it (L2 read). */
enum { HBM_D_MODE = 0, HBM_D_BYTES, HBM_D_PASSES };
/* peak: square size n, 1 for FP8 (else BF16). */
enum { PEAK_D_N = 0, PEAK_D_FP8 };
/* mla_decode: batch, mean s_k, h_q, s_q, length pattern (0 normal, 1 skew),
 * FP8 KV cache (dtype "fp8kv"). */
enum { MLA_D_B = 0, MLA_D_SK, MLA_D_HQ, MLA_D_SQ, MLA_D_PATTERN, MLA_D_FP8KV };
/* moe_route: tokens, routing (0 uniform, 1 skewed). */
enum { ROUTE_D_T = 0, ROUTE_D_SKEW };
/* moe_dispatch / moe_combine: tokens, local experts, routing (0 uniform,
 * 1 skewed), output format (dispatch only: moe_dispatch_fmt). */
enum { MOE_D_T = 0, MOE_D_E, MOE_D_SKEW, MOE_D_FMT };

/* ---- shapes() --------------------------------------------------------------
 * Fill *t once through build (kb_shape_add), then hand out the table. */
static inline const kb_shape *kb_op_table(kb_shape_table *t, void (*build)(kb_shape_table *t), int *n)
{
    if (!t->n) build(t);
    *n = t->n;
    return t->s;
}

/* ---- setup() ---------------------------------------------------------------
 * calloc a context of ctx_bytes, run build(ctx, s) (the op's named phases,
 * each returning on its first error without cleaning up), and on anything but
 * KB_OK tear the half-built context down, so no phase needs its own cleanup.
 * *out = the context on KB_OK, else NULL. */
kb_status kb_op_setup(const kb_shape *s, void **out, size_t ctx_bytes, kb_status (*build)(void *ctx, const kb_shape *s),
                      void (*teardown)(void *ctx));

/* ---- teardown() ------------------------------------------------------------
 * The common end of every teardown: cudaFree the n_dev device pointers, free()
 * the n_host host pointers, then free() the context itself (NULL entries are
 * fine).  KB_OP_LEN counts an array's entries. */
#define KB_OP_LEN(a) (sizeof(a) / sizeof((a)[0]))
void kb_op_free(void *ctx, const void *const *dev, size_t n_dev, void *const *host, size_t n_host);

/* ---- check() ---------------------------------------------------------------
 * The usual constraint of kb_op.check (bench/kb.h): 0 if lo <= v <= hi and v
 * is a multiple of mult (mult > 1), else 1 with "OP: NAME=V is not a
 * multiple of MULT" (checked first, for v > 0) or "OP: NAME=V is outside
 * LO..HI" in why[n]. */
int kb_check_dim(const char *op, const char *name, int64_t v, int64_t lo, int64_t hi, int64_t mult, char *why,
                 size_t n);
/* Is the shape's dtype `want`?  0, else 1 with "OP: DIM=V needs dtype WANT,
 * the base shape's is DTYPE (pick a base with --shape)" in why[n]. */
int kb_check_dtype(const char *op, const kb_shape *s, const char *dim, int64_t v, const char *want, char *why,
                   size_t n);

#ifdef __cplusplus
}
#endif
#endif
