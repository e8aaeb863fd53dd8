/* registry.c - every operator kbench knows, in run order.  The ceilings (hbm,
 * peak) come first so later rows can use the measured roofs of the same run.
 * Adding an operator: one bench/ops/op_<name>.c defining `kb_op_<name>` plus
 * one X(<name>) line below. */
#include <string.h>
#include "bench/kb.h"

#define KB_OPERATORS(X)                                                        \
    X(hbm)                                                                     \
    X(peak)                                                                    \
    X(fp8_quant)                                                               \
    X(fp8_gemm)                                                                \
    X(fp8_gemm_grouped)                                                        \
    X(mla_decode)                                                              \
    X(moe_route)                                                               \
    X(moe_dispatch)                                                            \
    X(moe_combine)                                                             \
    X(ep_dispatch)                                                             \
    X(ep_combine)                                                              \
    X(alltoall)

#define KB_DECLARE(name) extern const kb_op kb_op_##name;
#define KB_ENTRY(name) &kb_op_##name,
KB_OPERATORS(KB_DECLARE)
static const kb_op *const ops[] = {KB_OPERATORS(KB_ENTRY)};

const kb_op *const *kb_ops(int *n)
{
    *n = (int)(sizeof ops / sizeof ops[0]);
    return ops;
}

const kb_op *kb_find_op(const char *name)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(ops[i]->name, name) == 0) return ops[i];
    return NULL;
}
