/* op_common.c - the setup skeleton every operator shares (op_common.h). */
#include <stdlib.h>
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
