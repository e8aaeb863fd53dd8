/* test_ep_gpu.c - GPU smoke test of the expert-parallel operators: on the SMALL
 * shapes (and dispatch/combine at T=128, alltoall at 1 MB) every implementation
 * runs poison -> launch -> verify twice (the second launch exercises the
 * epoch-counted flags), and a poisoned output that no kernel wrote must FAIL
 * verification.  One GPU: loopback (N virtual ranks); NCCL skips there.
 * SKIP (77) without a GPU. */
#include <stdio.h>
#include <string.h>
#include <cuda_runtime_api.h>
#include "kbtest.h"
#include "bench/kb.h"
#include "bench/ops/ep_host.h"

static int wanted(const char *op, const kb_shape *s)
{
    if (s->sets & KB_SET_SMALL) return 1;
    if (strcmp(op, "alltoall") == 0) return s->d[EP_D_BYTES] == ((int64_t)1 << 20);
    return s->d[EP_D_TOKENS] == 128;
}

static void run_op(const char *name, cudaStream_t st)
{
    const kb_op *op = kb_find_op(name);
    int n = 0;
    const kb_shape *shapes = op->shapes(&n);
    for (int i = 0; i < n; i++) {
        const kb_shape *s = &shapes[i];
        if (!wanted(name, s)) continue;
        void *ctx = NULL;
        kb_status rc = op->setup(s, &ctx);
        if (rc == KB_SKIP) {
            printf("skip %s %s: %s\n", name, s->label, kb_last_message());
            continue;
        }
        KBT_CHECK(rc == KB_OK);
        if (rc != KB_OK) {
            printf("%s %s setup: %s\n", name, s->label, kb_last_message());
            continue;
        }
        double err = 0;
        const char *metric = "";
        /* negative control: nothing launched -> poisoned output must fail */
        KBT_CHECK(op->poison(ctx, st) == KB_OK);
        KBT_CHECK(cudaStreamSynchronize(st) == cudaSuccess);
        KBT_CHECK(op->verify(ctx, &err, &metric) == KB_FAIL);
        for (int k = 0; k < op->n_impls; k++) {
            for (int rep = 0; rep < 2; rep++) {
                KBT_CHECK(op->poison(ctx, st) == KB_OK);
                rc = op->impls[k].launch(ctx, st);
                if (rc == KB_SKIP) {
                    printf("skip %s %s %s: %s\n", name, s->label, op->impls[k].name, kb_last_message());
                    break;
                }
                KBT_CHECK(rc == KB_OK);
                KBT_CHECK(cudaStreamSynchronize(st) == cudaSuccess);
                rc = op->verify(ctx, &err, &metric);
                KBT_CHECK(rc == KB_OK);
                printf("%s %s %s rep %d: %s %s = %g\n", name, s->label, op->impls[k].name, rep,
                       rc == KB_OK ? "ok" : kb_last_message(), metric, err);
            }
        }
        op->teardown(ctx);
    }
}

int main(void)
{
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
        printf("SKIP: no GPU\n");
        return KBT_SKIP;
    }
    cudaStream_t st;
    KBT_CHECK(cudaStreamCreate(&st) == cudaSuccess);
    run_op("ep_dispatch", st);
    run_op("ep_combine", st);
    run_op("alltoall", st);
    cudaStreamDestroy(st);
    return kbt_done("test_ep_gpu");
}
