/* registry.c - every operator kbench knows, in run order.  The ceilings (hbm,
 * peak) come first so later rows can use the measured roofs of the same run.
 * Adding an operator: one bench/ops/op_<name>.c defining `kb_op_<name>` plus one
 * line in each of the two lists below. */
#include <string.h>
#include "bench/kb.h"

extern const kb_op kb_op_hbm, kb_op_peak;
extern const kb_op kb_op_fp8_quant, kb_op_fp8_gemm, kb_op_fp8_gemm_grouped;
extern const kb_op kb_op_mla_decode;
extern const kb_op kb_op_moe_route, kb_op_moe_dispatch, kb_op_moe_combine;
extern const kb_op kb_op_ep_dispatch, kb_op_ep_combine, kb_op_alltoall;

static const kb_op *const ops[] = {
    &kb_op_hbm,
    &kb_op_peak,
    &kb_op_fp8_quant,
    &kb_op_fp8_gemm,
    &kb_op_fp8_gemm_grouped,
    &kb_op_mla_decode,
    &kb_op_moe_route,
    &kb_op_moe_dispatch,
    &kb_op_moe_combine,
    &kb_op_ep_dispatch,
    &kb_op_ep_combine,
    &kb_op_alltoall,
};

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
