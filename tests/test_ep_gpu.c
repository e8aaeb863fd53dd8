/* test_ep_gpu.c - GPU smoke test of the expert-parallel operators: on the SMALL
 * shapes (and dispatch/combine at T=128, alltoall at 1 MB) every implementation
 * runs poison -> launch -> verify twice (the second launch exercises the
 * epoch-counted flags), and a poisoned output that no kernel wrote must FAIL
 * verification.  One GPU: loopback (N virtual ranks); NCCL skips there.
 * Each shape runs in forked children (one hung or crashing implementation
 * fails alone).  With >= 2 GPUs, ep_args_init's peer check (access and
 * native atomics) is compared with the attributes.  SKIP (77) without a GPU. */
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

/* With >= 2 GPUs: ep_args_init (2 ranks, one node) agrees with the peer
 * attributes of GPUs 0 and 1: KB_OK only with peer access and native atomics
 * both ways, else a skip naming the missing one (issue 14). */
static void peer_item(void *arg, int i)
{
    (void)arg;
    (void)i;
    int can01 = 0, can10 = 0, at01 = 0, at10 = 0;
    KBT_CHECK(cudaSetDevice(0) == cudaSuccess);
    cudaDeviceCanAccessPeer(&can01, 0, 1);
    cudaDeviceCanAccessPeer(&can10, 1, 0);
    cudaDeviceGetP2PAttribute(&at01, cudaDevP2PAttrNativeAtomicSupported, 0, 1);
    cudaDeviceGetP2PAttribute(&at10, cudaDevP2PAttrNativeAtomicSupported, 1, 0);
    ep_args a;
    memset(&a, 0, sizeof a);
    kb_status st = ep_args_init(&a, 2, 0);
    printf("peer 0<->1: access %d/%d, native atomics %d/%d: ep_args_init %s %s\n", can01, can10, at01, at10,
           st == KB_OK ? "ok" : st == KB_SKIP ? "skip" : "FAIL", st == KB_OK ? "" : kb_last_message());
    KBT_CHECK((can01 && can10 && at01 && at10) ? st == KB_OK : st == KB_SKIP);
    if (st == KB_SKIP) KBT_CHECK(strstr(kb_last_message(), can01 && can10 ? "atomics" : "peer access") != NULL);
    ep_args_free(&a);
}

int main(void)
{
    kbt_gpu g = kbt_gpu_probe();
    if (g.count == 0) {
        printf("SKIP: no GPU\n");
        return KBT_SKIP;
    }
    if (g.count >= 2) {
        const kbt_seq q = {.what = "peer check", .item = peer_item};
        kbt_isolated_seq(&q, NULL, 1, 30);
    }
    run_op("ep_dispatch");
    run_op("ep_combine");
    run_op("alltoall");
    return kbt_done("test_ep_gpu");
}
