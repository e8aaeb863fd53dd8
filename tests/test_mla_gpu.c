/* test_mla_gpu.c - GPU smoke test of every mla_decode implementation on the
 * SMALL shapes (setup, poison, launch, verify against the CPU reference).
 * Skips (77) without a GPU. */
#include <stdio.h>
#include "bench/kb.h"
#include "kbtest.h"

extern const kb_op kb_op_mla_decode;

int main(void)
{
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
        printf("test_mla_gpu: no GPU, skipped\n");
        return KBT_SKIP;
    }
    const kb_op *op = &kb_op_mla_decode;
    int n = 0;
    const kb_shape *s = op->shapes(&n);
    for (int i = 0; i < n; i++) {
        if (!(s[i].sets & KB_SET_SMALL)) continue;
        void *ctx = NULL;
        kb_status st = op->setup(&s[i], &ctx);
        KBT_CHECK(st == KB_OK);
        if (st != KB_OK) { printf("setup %s: %s\n", s[i].label, kb_last_message()); continue; }
        for (int k = 0; k < op->n_impls; k++) {
            KBT_CHECK(op->poison(ctx, 0) == KB_OK);
            st = op->impls[k].launch(ctx, 0);
            if (st == KB_SKIP) { printf("%s %s: skip (%s)\n", s[i].label, op->impls[k].name, kb_last_message()); continue; }
            KBT_CHECK(st == KB_OK);
            cudaError_t e = cudaDeviceSynchronize();
            KBT_CHECK(e == cudaSuccess);
            double err = 0;
            const char *metric = "";
            st = op->verify(ctx, &err, &metric);
            printf("%s %s %s: %s %.3g %s\n", s[i].label, s[i].dtype, op->impls[k].name, metric, err,
                   st == KB_OK ? "ok" : kb_last_message());
            KBT_CHECK(st == KB_OK);
        }
        op->teardown(ctx);
    }
    return kbt_done("test_mla_gpu");
}
