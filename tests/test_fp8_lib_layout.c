/* test_fp8_lib_layout.c - the scale tensors the cuBLASLt block-scaled
 * reference (reference/fp8_gemm_cublaslt.cu) builds, checked on the host for
 * every shape of fp8_gemm and fp8_gemm_grouped:
 *   VEC128_32F (our A = cuBLASLt's B): per group [K/128][round_up(rows, 4)],
 *     blocks packed back to back from fp8_lib_sa_layout, each 16-byte
 *     aligned, columns 16-byte aligned, no overlap, ld >= rows;
 *   BLK128x128_32F (our B = cuBLASLt's A): [G][ceil(N/128)][round_up(K/128, 4)],
 *     every group's block 16-byte aligned.
 * Hand-computed cases first (M = 1 and unequal segments, where the padded
 * leading dimension differs from rows).  The layout cuBLASLt expects is the
 * one Transformer Engine feeds it ([ceil(K/128), round_up(M, 4)] and
 * [ceil(N/128), round_up(ceil(K/128), 4)]); no GPU ran it here. */
#include <stdlib.h>
#include "kbtest.h"
#include "bench/kb.h"
#include "bench/ops/fp8_common.h"

static void test_by_hand(void)
{
    KBT_CHECK(fp8_lib_sa_ld(1) == 4);
    KBT_CHECK(fp8_lib_sa_ld(4) == 4);
    KBT_CHECK(fp8_lib_sa_ld(1023) == 1024);
    KBT_CHECK(fp8_lib_sa_ld(8192) == 8192);
    const int rows[3] = {1, 130, 64};
    size_t off[3];
    /* K = 512: kb = 4; lds 4, 132, 64 -> offsets 0, 16, 544; total 800 */
    KBT_CHECK(fp8_lib_sa_layout(3, rows, 4, off) == 800);
    KBT_CHECK(off[0] == 0 && off[1] == 16 && off[2] == 544);
    /* weight scales: K = 7168 -> 56 (already a multiple of 4), K = 1536 -> 12, K = 640 -> 8 */
    KBT_CHECK(fp8_round_up(7168 / 128, 4) == 56 && fp8_round_up(1536 / 128, 4) == 12 && fp8_round_up(640 / 128, 4) == 8);
}

static int check_op(const char *name)
{
    const kb_op *op = kb_find_op(name);
    if (!op) return 1;
    int n = 0, bad = 0;
    const kb_shape *s = op->shapes(&n);
    for (int i = 0; i < n; i++) {
        int rows[FP8_MAX_GROUPS];
        size_t off[FP8_MAX_GROUPS];
        const int g = fp8_gemm_group_rows(name, &s[i], rows);
        const int kb = (int)(s[i].d[3] / 128), nb = (int)fp8_ceil_div(s[i].d[2], 128);
        const size_t total = fp8_lib_sa_layout(g, rows, kb, off);
        size_t end = 0;
        for (int q = 0; q < g; q++) {
            const int64_t ld = fp8_lib_sa_ld(rows[q]);
            bad += off[q] % 4 != 0;                 /* 16-byte aligned block        */
            bad += ld % 4 != 0 || ld < rows[q] || ld >= rows[q] + 4; /* columns 16-byte aligned */
            bad += off[q] != end;                   /* packed, no overlap           */
            end = off[q] + (size_t)kb * (size_t)ld;
        }
        bad += end != total;
        const int64_t sb_ld = fp8_round_up(kb, 4);
        for (int q = 0; q < g; q++) bad += ((size_t)q * nb * sb_ld) % 4 != 0;
    }
    return bad + (n == 0);
}

int main(void)
{
    test_by_hand();
    KBT_CHECK(check_op("fp8_gemm") == 0);
    KBT_CHECK(check_op("fp8_gemm_grouped") == 0);
    /* the op tables hold shapes where the padding matters: M = 1 (dense) and
     * drawn segment sizes that are not multiples of 4 (grouped) */
    int odd = 0;
    const char *ops[2] = {"fp8_gemm", "fp8_gemm_grouped"};
    for (int o = 0; o < 2; o++) {
        const kb_op *op = kb_find_op(ops[o]);
        int n = 0;
        const kb_shape *s = op ? op->shapes(&n) : NULL;
        for (int i = 0; i < n; i++) {
            int rows[FP8_MAX_GROUPS];
            int g = fp8_gemm_group_rows(ops[o], &s[i], rows);
            for (int q = 0; q < g; q++) odd += rows[q] % 4 != 0;
        }
    }
    KBT_CHECK(odd > 0);
    return kbt_done("test_fp8_lib_layout");
}
