/* test_ep_gpu.c - GPU smoke test of the expert-parallel operators: on the SMALL
 * shapes (and dispatch/combine at T=128, alltoall at 1 MB) every implementation
 * runs poison -> launch -> verify twice (the second launch exercises the
 * epoch-counted flags), and a poisoned output that no kernel wrote must FAIL
 * verification.  One GPU: loopback (N virtual ranks); NCCL skips there.
 * Each shape runs in forked children (one hung or crashing implementation
 * fails alone).  SKIP (77) without a GPU. */
#include <stdio.h>
#include <string.h>
#include <cuda_runtime_api.h>
#include "kbtest_gpu.h"
#include "bench/kb.h"
#include "bench/ops/ep_host.h"

static int wanted(const char *op, const kb_shape *s)
{
    if (s->sets & KB_SET_SMALL) return 1;
    if (strcmp(op, "alltoall") == 0) return s->d[EP_D_BYTES] == ((int64_t)1 << 20);
    return s->d[EP_D_TOKENS] == 128;
}

typedef struct ep_case {
    const kb_op *op;
    const kb_shape *s;
    void *ctx;
    cudaStream_t st;
} ep_case;

/* Setup, then the negative control: nothing launched -> the poisoned output
 * must fail verification. */
static int prepare(void *arg)
{
    ep_case *c = arg;
    kb_status rc = c->op->setup(c->s, &c->ctx);
    if (rc == KB_SKIP) {
        printf("skip %s %s: %s\n", c->op->name, c->s->label, kb_last_message());
        return KBT_SKIP;
    }
    if (rc != KB_OK || cudaStreamCreate(&c->st) != cudaSuccess) {
        printf("%s %s setup: %s\n", c->op->name, c->s->label, kb_last_message());
        return 1;
    }
    double err = 0;
    const char *metric = "";
    KBT_CHECK(c->op->poison(c->ctx, c->st) == KB_OK);
    KBT_CHECK(cudaStreamSynchronize(c->st) == cudaSuccess);
    KBT_CHECK(c->op->verify(c->ctx, &err, &metric) == KB_FAIL);
    return 0;
}

/* One implementation, twice (the second launch exercises the epoch-counted flags). */
static void impl(void *arg, int k)
{
    ep_case *c = arg;
    const kb_impl *im = &c->op->impls[k];
    for (int rep = 0; rep < 2; rep++) {
        double err = 0;
        const char *metric = "";
        KBT_CHECK(c->op->poison(c->ctx, c->st) == KB_OK);
        kb_status rc = im->launch(c->ctx, c->st);
        if (rc == KB_SKIP) {
            printf("skip %s %s %s: %s\n", c->op->name, c->s->label, im->name, kb_last_message());
            return;
        }
        KBT_CHECK(rc == KB_OK);
        KBT_CHECK(cudaStreamSynchronize(c->st) == cudaSuccess);
        rc = c->op->verify(c->ctx, &err, &metric);
        KBT_CHECK(rc == KB_OK);
        printf("%s %s %s rep %d: %s %s = %g\n", c->op->name, c->s->label, im->name, rep,
               rc == KB_OK ? "ok" : kb_last_message(), metric, err);
    }
}

static void finish(void *arg)
{
    ep_case *c = arg;
    c->op->teardown(c->ctx);
    cudaStreamDestroy(c->st);
}

/* Each shape in forked children, its implementations in order (tests/kbtest_gpu.h). */
static void run_op(const char *name)
{
    const kb_op *op = kb_find_op(name);
    int n = 0;
    const kb_shape *shapes = op->shapes(&n);
    for (int i = 0; i < n; i++) {
        if (!wanted(name, &shapes[i])) continue;
        ep_case c = {op, &shapes[i], NULL, NULL};
        const kbt_seq q = {.what = shapes[i].label, .prepare = prepare, .item = impl, .finish = finish};
        kbt_isolated_seq(&q, &c, op->n_impls, 45);
    }
}

int main(void)
{
    if (kbt_gpu_probe().count == 0) {
        printf("SKIP: no GPU\n");
        return KBT_SKIP;
    }
    run_op("ep_dispatch");
    run_op("ep_combine");
    run_op("alltoall");
    return kbt_done("test_ep_gpu");
}
