/* test_fp8_gpu.c - GPU smoke test of the FP8 operators: every implementation
 * on every SMALL shape goes through poison -> launch -> verify (the CPU
 * reference, full comparison).  Skips (77) without a GPU.  Library rows may
 * skip (unsupported scale mode) but must never fail.  Each shape runs in a
 * forked child, its implementations in order; one that hangs or crashes
 * fails alone and a fresh child goes on with the next (tests/kbtest_gpu.h).
 * A passing cuBLASLt row's note names the algorithm, a v3 row's its tile. */
#include <cuda_runtime_api.h>
#include "kbtest_gpu.h"
#include "bench/kb.h"

typedef struct fp8_case {
    const kb_op *op;
    const kb_shape *s;
    void *ctx;
} fp8_case;

static int prepare(void *arg)
{
    fp8_case *c = arg;
    kb_status st = c->op->setup(c->s, &c->ctx);
    if (st != KB_OK) printf("%s %s setup: %s\n", c->op->name, c->s->label, kb_last_message());
    return st == KB_OK ? 0 : 1;
}

static void impl(void *arg, int j)
{
    fp8_case *c = arg;
    const kb_impl *im = &c->op->impls[j];
    double err = 0;
    const char *metric = "";
    kb_status st = c->op->poison(c->ctx, 0);
    if (st == KB_OK) st = im->launch(c->ctx, 0);
    if (st == KB_OK) st = cudaStreamSynchronize(0) == cudaSuccess ? KB_OK : kb_error("sync failed");
    if (st == KB_OK) st = c->op->verify(c->ctx, &err, &metric);
    printf("%-18s %-34s %-16s %s %s=%.3g %s\n", c->op->name, c->s->label, im->name,
           st == KB_OK ? "ok  " : st == KB_SKIP ? "skip" : "FAIL", metric, err, st == KB_OK ? "" : kb_last_message());
    KBT_CHECK(st == KB_OK || (st == KB_SKIP && im->kind == KB_IMPL_LIB));
    /* a passing row's note says what ran: the cuBLASLt algorithm, v3's tile */
    char note[256] = "";
    if (st == KB_OK && c->op->note) c->op->note(c->ctx, note, sizeof note);
    if (st == KB_OK && c->op->note) printf("    note: %s\n", note);
    if (st == KB_OK && im->kind == KB_IMPL_LIB && c->op->note) KBT_CHECK(strncmp(note, "cuBLASLt algo ", 14) == 0);
    if (st == KB_OK && !strcmp(im->name, "v3")) KBT_CHECK(strncmp(note, "tile ", 5) == 0);
}

static void finish(void *arg)
{
    fp8_case *c = arg;
    c->op->teardown(c->ctx);
}

int main(void)
{
    if (kbt_gpu_probe().count == 0) {
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
            fp8_case c = {op, &sh[i], NULL};
            const kbt_seq q = {.what = sh[i].label, .prepare = prepare, .item = impl, .finish = finish};
            kbt_isolated_seq(&q, &c, op->n_impls, 45);
        }
    }
    return kbt_done("test_fp8_gpu");
}
