/* test_ep_align.c - the preconditions the EP kernels' 16-byte vector accesses
 * and index math rely on, for EVERY shape the three EP operators register and
 * for every rank count 1..EP_MAX_RANKS (loopback and not):
 *   ep_v1 dispatch / NCCL pack+unpack: uint4 rows of H bytes at row * H, FP32
 *     scales at row * H/128, the NCCL record (payload | scales | meta) a
 *     multiple of 16 with the 16 B metadata at a 16 B offset;
 *   ep_v1 combine + reduce: uint4 rows of 2H bytes;
 *   alltoall (v1, memcpy, NCCL, check): uint4 at chunk r * c, c % 16 == 0;
 *   layout: E <= 1024 threads' worth of experts, K <= 8, N <= 32 lanes, the
 *     NCCL unpack's N x ceil(E/N) shared offsets <= EP_MAX_EXPERTS;
 *   64-bit byte offsets: the largest offset fits where the kernels compute it.
 * The same predicate rejects hand-made bad shapes (so it can fail). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kbtest.h"
#include "bench/kb.h"
#include "bench/ops/ep_host.h"

/* 0 if the MoE shape meets every precondition, else a reason. */
static const char *moe_bad(const kb_shape *s)
{
    const int64_t T = s->d[EP_D_TOKENS], H = s->d[EP_D_HIDDEN], E = s->d[EP_D_EXPERTS], K = s->d[EP_D_TOPK];
    const int64_t N = s->d[EP_D_RANKS];
    if (N < 1 || N > EP_MAX_RANKS || N > 32) return "ranks";
    if (E < N || E > EP_MAX_EXPERTS || E > 1024) return "experts";
    if (K < 1 || K > EP_MAX_TOPK || K > E) return "topk";
    if (H % 128) return "hidden % 128 (uint4 payload rows, 1x128 scales)";
    if ((H * 2) % 16) return "combine row not 16 B";
    const int64_t rec = (H + 4 * (H / 128) + EP_META_BYTES + 15) / 16 * 16; /* ep_nccl.cu */
    if (rec % 16 || rec < H + 4 * (H / 128) + EP_META_BYTES || (rec - EP_META_BYTES) % 16) return "nccl record";
    if (N * ((E + N - 1) / N) > EP_MAX_EXPERTS) return "nccl unpack offsets";
    /* rows per rank <= N*T; the kernels index rows with int and bytes with size_t */
    if (N * T > INT32_MAX / 2) return "rows overflow int";
    if ((double)N * T * rec > 9e18) return "bytes overflow";
    return NULL;
}

static const char *a2a_bad(const kb_shape *s)
{
    const int64_t N = s->d[EP_D_RANKS], c = ep_a2a_chunk(s);
    if (N < 1 || N > EP_MAX_RANKS) return "ranks";
    if (c % 16) return "chunk % 16";
    if (c < 16) return NULL; /* setup skips: "chunk below 16 B" */
    if (c * N > s->d[EP_D_BYTES]) return "chunks exceed the per-rank bytes";
    if ((double)N * c > 9e18) return "bytes overflow";
    return NULL;
}

int main(void)
{
    int bad = 0, n_shapes = 0;
    /* the shapes the registered operators really use on this machine */
    const char *ops[] = {"ep_dispatch", "ep_combine", "alltoall"};
    for (int o = 0; o < 3; o++) {
        const kb_op *op = kb_find_op(ops[o]);
        KBT_CHECK(op != NULL);
        if (!op) continue;
        int n = 0;
        const kb_shape *sh = op->shapes(&n);
        KBT_CHECK(n > 0);
        for (int i = 0; i < n; i++, n_shapes++) {
            const char *why = o < 2 ? moe_bad(&sh[i]) : a2a_bad(&sh[i]);
            if (why) {
                printf("%s %s: %s\n", ops[o], sh[i].label, why);
                bad++;
            }
        }
    }
    /* every rank count, loopback or not */
    for (int N = 1; N <= EP_MAX_RANKS; N++)
        for (int lb = 0; lb < 2; lb++) {
            kb_shape_table t = {0};
            ep_moe_shapes(&t, N, lb, ep_small_ranks(N, lb), "e4m3");
            const kb_shape *sh = t.s;
            for (int i = 0; i < t.n; i++, n_shapes++) {
                const char *why = moe_bad(&sh[i]);
                if (why) {
                    printf("moe N=%d %s: %s\n", N, sh[i].label, why);
                    bad++;
                }
            }
            free(t.s);
            for (int64_t b = 1024; b <= (int64_t)1 << 30; b *= 4, n_shapes++) {
                kb_shape a;
                ep_make_a2a_shape(&a, b, N, lb, KB_SET_FULL);
                const char *why = a2a_bad(&a);
                if (why) {
                    printf("a2a N=%d %s: %s\n", N, a.label, why);
                    bad++;
                }
            }
        }
    printf("%d shapes checked, %d bad\n", n_shapes, bad);
    KBT_CHECK(bad == 0);
    KBT_CHECK(n_shapes > 16 * 2 * 10);

    /* the predicates reject bad shapes */
    kb_shape s;
    ep_make_shape(&s, 128, 7168, 8, 0, KB_SET_FULL, "e4m3");
    KBT_CHECK(moe_bad(&s) == NULL);
    s.d[EP_D_HIDDEN] = 7168 + 64;
    KBT_CHECK(moe_bad(&s) != NULL);
    s.d[EP_D_HIDDEN] = 7168;
    s.d[EP_D_EXPERTS] = 1020; /* 16 x ceil(1020/16) = 1024: ok; 1021 on 16 ranks: 1024; 1009 on 16: 1024 */
    s.d[EP_D_RANKS] = 16;
    KBT_CHECK(moe_bad(&s) == NULL);
    s.d[EP_D_EXPERTS] = 1024;
    s.d[EP_D_RANKS] = 15; /* 15 x 69 = 1035 > 1024 */
    KBT_CHECK(moe_bad(&s) != NULL);
    kb_shape a;
    ep_make_a2a_shape(&a, (int64_t)1 << 30, 8, 0, KB_SET_FULL);
    KBT_CHECK(a2a_bad(&a) == NULL);
    KBT_CHECK(ep_a2a_chunk(&a) == (int64_t)1 << 27); /* by hand: 2^30 / 8 */
    a.d[EP_D_BYTES] = 1000; /* 1000 / 3 = 333 -> 320: still a multiple of 16 */
    a.d[EP_D_RANKS] = 3;
    KBT_CHECK(ep_a2a_chunk(&a) == 320 && a2a_bad(&a) == NULL);
    return kbt_done("test_ep_align");
}
