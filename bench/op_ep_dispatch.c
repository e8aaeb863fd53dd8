/* op_ep_dispatch.c - placeholder until the operator lands: registered, no shapes. */
#include <stddef.h>
#include "kb.h"

static const kb_shape *shapes(int *n)
{
    *n = 0;
    return NULL;
}

const kb_op kb_op_ep_dispatch = {
    .name = "ep_dispatch",
    .what = "(not implemented yet)",
    .shapes = shapes,
};
