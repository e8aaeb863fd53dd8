/* op_common.c - the setup and teardown skeletons every operator shares
 * (op_common.h). */
#include <stdlib.h>
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
