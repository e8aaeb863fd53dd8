/* test_mla_gpu.c - GPU test of every mla_decode implementation (setup, poison,
 * launch, verify against the CPU reference) on the SMALL shapes and on
 * pipeline shapes of the op's table.  Setup fills the cache slots past seqlen
 * with NaN, and the SMALL set has an empty sequence: verify fails a kernel
 * that lets a NaN tail into o, or that does not give o = 0, lse = -inf for a
 * row with no key (issue 14, items 11 and 12).
 *
 * The SMALL shapes have at most 5 pages per sequence, so v3's two-stage page
 * ring (one whole 64-token page per stage) barely turns.  The pipeline shapes
 * are chosen so that, in the split-KV schedule the kernels run, some CTA's
 * segment has more pages than stages (the ring wraps inside a segment) and
 * some CTA runs several segments (the ring's stage and phase carry from one
 * segment into the next).  Those properties are asserted first, on the host,
 * with the kernels' own scheduler (mla_sched_build over mla_decode_gen_seqlens
 * at 132 SMs, 64 query rows per CTA as the op's setup does), so they are
 * checked without a GPU; then SKIP (77) without a GPU.  On the GPU the
 * schedule each setup really built is checked again. */
#include <stdio.h>
#include <stdlib.h>
#include "bench/kb.h"
#include "bench/ops/op_common.h"
#include "kernels/mla_decode/mla_decode.h"
#include "kbtest_gpu.h"

extern const kb_op kb_op_mla_decode;

#define MLA_V3_STAGES 2 /* mla_decode_v3.cu: two KV pages in flight */
#define H200_SMS 132

/* Labels of the op's shape table (at 132 SMs, see the host check's output):
 *   b16_sk8192_h16_sq1        132 CTA columns, segments up to 17 pages, every output checked
 *                             (sum s_k x rows <= 2.5e6);
 *   b128_sk1024_h128_sq2      4 row groups (blockIdx.y 0..3) x 33 columns, every CTA runs
 *                             several 16-page sequences back to back;
 *   b64_sk4096_h16_sq1_skew   one 1024-page sequence split over many CTAs (combine), short
 *                             ones packed several per CTA;
 *   b128_sk4096_h16_sq1_fp8kv the FP8 cache (v1, v2; v3 is BF16 only and skips). */
static const char *const pipe_shapes[] = {"b16_sk8192_h16_sq1", "b128_sk1024_h128_sq2", "b64_sk4096_h16_sq1_skew",
                                          "b128_sk4096_h16_sq1_fp8kv"};
#define N_PIPE ((int)(sizeof pipe_shapes / sizeof pipe_shapes[0]))

typedef struct sched_facts { int max_seg_pages, multi_seg_ctas, parts; } sched_facts;

static sched_facts facts_of(const mla_sched *s)
{
    sched_facts f = {0, 0, s->num_parts};
    for (int p = 0; p < s->num_parts; p++) {
        f.multi_seg_ctas += s->part_off[p + 1] - s->part_off[p] >= 2;
        for (int g = s->part_off[p]; g < s->part_off[p + 1]; g++) {
            int pages = (s->seg[4 * g + 2] - s->seg[4 * g + 1] + MLA_PAGE - 1) / MLA_PAGE;
            f.max_seg_pages = pages > f.max_seg_pages ? pages : f.max_seg_pages;
        }
    }
    return f;
}

static void check_facts(const char *label, const char *where, sched_facts f)
{
    printf("%s (%s): %d CTA columns, longest segment %d pages (%d stages), %d CTAs with >= 2 segments\n", label, where,
           f.parts, f.max_seg_pages, MLA_V3_STAGES, f.multi_seg_ctas);
    KBT_CHECK(f.max_seg_pages > MLA_V3_STAGES);
    KBT_CHECK(f.multi_seg_ctas > 0);
}

static const kb_shape *find_shape(const char *label)
{
    int n = 0;
    const kb_shape *s = kb_op_mla_decode.shapes(&n);
    for (int i = 0; i < n; i++)
        if (!strcmp(s[i].label, label)) return &s[i];
    return NULL;
}

/* The schedule the op's setup builds for shape s on num_sms SMs, from the host. */
static void check_pipe_shape_host(const char *label, int num_sms)
{
    const kb_shape *s = find_shape(label);
    KBT_CHECK(s != NULL);
    if (!s) { printf("  no shape %s in the mla_decode table\n", label); return; }
    int b = (int)s->d[MLA_D_B], sq = (int)s->d[MLA_D_SQ], rows = sq * (int)s->d[MLA_D_HQ];
    int parts = num_sms / ((rows + 63) / 64);
    int32_t *len = malloc((size_t)b * sizeof(int32_t));
    mla_sched sc;
    mla_decode_gen_seqlens(b, (int)s->d[MLA_D_SK], sq, (int)s->d[MLA_D_PATTERN], len);
    KBT_CHECK(mla_sched_build(&sc, len, b, parts < 1 ? 1 : parts) == 0);
    check_facts(label, "host", facts_of(&sc));
    mla_sched_free(&sc);
    free(len);
}

typedef struct mla_case {
    const kb_op *op;
    const kb_shape *s;
    int pipe;
    void *ctx;
} mla_case;

/* Setup; pipe: check the schedule setup built (ctx's first member is
 * mla_decode_args). */
static int prepare(void *arg)
{
    mla_case *c = arg;
    kb_status st = c->op->setup(c->s, &c->ctx);
    if (st != KB_OK) { printf("setup %s: %s\n", c->s->label, kb_last_message()); return 1; }
    if (c->pipe) check_facts(c->s->label, "device", facts_of(&((const mla_decode_args *)c->ctx)->sched));
    return 0;
}

/* One implementation: poison, launch, verify. */
static void impl(void *arg, int k)
{
    mla_case *c = arg;
    const kb_impl *im = &c->op->impls[k];
    KBT_CHECK(c->op->poison(c->ctx, 0) == KB_OK);
    kb_status st = im->launch(c->ctx, 0);
    if (st == KB_SKIP) { printf("%s %s: skip (%s)\n", c->s->label, im->name, kb_last_message()); return; }
    KBT_CHECK(st == KB_OK);
    cudaError_t e = cudaDeviceSynchronize();
    KBT_CHECK(e == cudaSuccess);
    double err = 0;
    const char *metric = "";
    st = c->op->verify(c->ctx, &err, &metric);
    printf("%s %s %s: %s %.3g %s\n", c->s->label, c->s->dtype, im->name, metric, err,
           st == KB_OK ? "ok" : kb_last_message());
    KBT_CHECK(st == KB_OK);
}

static void finish(void *arg)
{
    mla_case *c = arg;
    c->op->teardown(c->ctx);
}

/* Each shape in forked children, its implementations in order: one that
 * hangs or crashes fails alone (tests/kbtest_gpu.h). */
static void run_shape(const kb_op *op, const kb_shape *s, int pipe)
{
    mla_case c = {op, s, pipe, NULL};
    const kbt_seq q = {.what = s->label, .prepare = prepare, .item = impl, .finish = finish};
    kbt_isolated_seq(&q, &c, op->n_impls, 60);
}

/* The SMALL shapes the GPU part runs exercise the NaN cache tails (setup
 * poisons the slots past seqlen: some last page must be partial) and an empty
 * sequence (o = 0, lse = -inf), in bf16 (every kernel) and fp8kv. */
static void check_small_cover(void)
{
    int n = 0, partial = 0, empty_bf16 = 0, empty_fp8 = 0;
    const kb_shape *s = kb_op_mla_decode.shapes(&n);
    for (int i = 0; i < n; i++) {
        if (!(s[i].sets & KB_SET_SMALL)) continue;
        const int b = (int)s[i].d[MLA_D_B];
        int32_t *len = malloc((size_t)b * sizeof(int32_t));
        mla_decode_gen_seqlens(b, (int)s[i].d[MLA_D_SK], (int)s[i].d[MLA_D_SQ], (int)s[i].d[MLA_D_PATTERN], len);
        for (int j = 0; j < b; j++) {
            partial += len[j] % MLA_PAGE != 0;
            empty_bf16 |= len[j] == 0 && !s[i].d[MLA_D_FP8KV];
            empty_fp8 |= len[j] == 0 && s[i].d[MLA_D_FP8KV];
        }
        free(len);
    }
    printf("small shapes: %d partial last pages (NaN tails), empty sequence bf16 %d fp8kv %d\n", partial, empty_bf16,
           empty_fp8);
    KBT_CHECK(partial > 0 && empty_bf16 && empty_fp8);
}

int main(void)
{
    check_small_cover();
    for (int i = 0; i < N_PIPE; i++) check_pipe_shape_host(pipe_shapes[i], H200_SMS);
    if (kbt_gpu_probe().count == 0) {
        printf("test_mla_gpu: no GPU, GPU part skipped\n");
        return kbt_fail_ ? kbt_done("test_mla_gpu") : KBT_SKIP;
    }
    const kb_op *op = &kb_op_mla_decode;
    int n = 0;
    const kb_shape *s = op->shapes(&n);
    for (int i = 0; i < n; i++)
        if (s[i].sets & KB_SET_SMALL) run_shape(op, &s[i], 0);
    for (int i = 0; i < N_PIPE; i++) {
        const kb_shape *p = find_shape(pipe_shapes[i]);
        if (p) run_shape(op, p, 1);
    }
    return kbt_done("test_mla_gpu");
}
