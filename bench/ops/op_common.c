/* op_common.c - the setup and teardown skeletons every operator shares
 * (op_common.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cuda_runtime_api.h>
#include "bench/ops/op_common.h"

kb_status kb_op_setup(const kb_shape *s, void **out, size_t ctx_bytes, kb_status (*build)(void *ctx, const kb_shape *s),
                      void (*teardown)(void *ctx))
{
    *out = NULL;
    void *c = calloc(1, ctx_bytes);
    if (!c) return kb_error("%s: out of host memory", s->label);
    kb_status st = build(c, s);
    if (st != KB_OK) {
        teardown(c);
        return st;
    }
    *out = c;
    return KB_OK;
}

void kb_op_free(void *ctx, const void *const *dev, size_t n_dev, void *const *host, size_t n_host)
{
    for (size_t i = 0; i < n_dev; i++) cudaFree((void *)dev[i]);
    for (size_t i = 0; i < n_host; i++) free(host[i]);
    free(ctx);
}

int kb_check_dim(const char *op, const char *name, int64_t v, int64_t lo, int64_t hi, int64_t mult, char *why,
                 size_t n)
{
    if (mult > 1 && v > 0 && v % mult)
        return -kb_shape_refuse(why, n, "%s: %s=%lld is not a multiple of %lld", op, name, (long long)v,
                                (long long)mult);
    if (v < lo || v > hi)
        return -kb_shape_refuse(why, n, "%s: %s=%lld is outside %lld..%lld", op, name, (long long)v, (long long)lo,
                                (long long)hi);
    return 0;
}

int kb_check_dtype(const char *op, const kb_shape *s, const char *dim, int64_t v, const char *want, char *why,
                   size_t n)
{
    if (!strcmp(s->dtype, want)) return 0;
    return -kb_shape_refuse(why, n, "%s: %s=%lld needs dtype %s, the base shape's is %s (pick a base with --shape)", op,
                            dim, (long long)v, want, s->dtype);
}
