/* test_fp8_gpu.c - GPU smoke test of the FP8 operators: every implementation
 * on every SMALL shape goes through poison -> launch -> verify (the CPU
 * reference, full comparison).  Skips (77) without a GPU.  Library rows may
 * skip (unsupported scale mode) but must never fail. */
#include <cuda_runtime_api.h>
#include "kbtest.h"
#include "bench/kb.h"

int main(void)
{
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
        printf("test_fp8_gpu: no GPU, skipped\n");
        return KBT_SKIP;
    }
    const char *names[3] = {"fp8_quant", "fp8_gemm", "fp8_gemm_grouped"};
    for (int o = 0; o < 3; o++) {
        const kb_op *op = kb_find_op(names[o]);
        KBT_CHECK(op != NULL);
        if (!op) continue;
        int n;
        const kb_shape *sh = op->shapes(&n);
        for (int i = 0; i < n; i++) {
            if (!(sh[i].sets & KB_SET_SMALL)) continue;
            void *ctx = NULL;
            kb_status st = op->setup(&sh[i], &ctx);
            if (st != KB_OK) printf("%s %s setup: %s\n", op->name, sh[i].label, kb_last_message());
            KBT_CHECK(st == KB_OK);
            if (st != KB_OK) continue;
            for (int j = 0; j < op->n_impls; j++) {
                const kb_impl *im = &op->impls[j];
                double err = 0;
                const char *metric = "";
                st = op->poison(ctx, 0);
                if (st == KB_OK) st = im->launch(ctx, 0);
                if (st == KB_OK) st = cudaStreamSynchronize(0) == cudaSuccess ? KB_OK : kb_error("sync failed");
                if (st == KB_OK) st = op->verify(ctx, &err, &metric);
                printf("%-18s %-34s %-16s %s %s=%.3g %s\n", op->name, sh[i].label, im->name,
                       st == KB_OK ? "ok  " : st == KB_SKIP ? "skip" : "FAIL", metric, err,
                       st == KB_OK ? "" : kb_last_message());
                KBT_CHECK(st == KB_OK || (st == KB_SKIP && im->kind == KB_IMPL_LIB));
            }
            op->teardown(ctx);
        }
    }
    return kbt_done("test_fp8_gpu");
}
