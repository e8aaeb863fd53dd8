/* test_fp8_quant_v2_map.c - host emulation of fp8_quant_v2's thread -> data
 * maps (kernels/fp8_quant/fp8_quant_v2_map.h, the kernel's own functions)
 * over the launch grids the launcher uses, for every shape of the fp8_quant
 * op table (rows 1 .. 36864, partial 128-row blocks):
 *   every 8-element chunk read once with a 16-byte-aligned load and written
 *   once with an 8-byte-aligned store, in bounds; every scale written once,
 *   in bounds; the 16 lanes sharing a token group sit in one warp, agree on
 *   the shuffle mask and exit together; the packing puts x0..x3 in bytes
 *   0..3.  Emulates index arithmetic only: GPU behaviour is unverified. */
#include <stdlib.h>
#include <string.h>
#include "kbtest.h"
#include "bench/kb.h"
#include "kernels/fp8_quant/fp8_quant.h"
#include "kernels/fp8_quant/fp8_quant_v2_map.h"

static int check_token(int rows, int cols)
{
    const int kb = cols / 128;
    const size_t n = (size_t)rows * cols, nchunk = n / FQ2_CHUNK, ns = (size_t)rows * kb;
    uint8_t *cov = calloc(nchunk, 1), *scov = calloc(ns, 1);
    const int64_t threads = fq2_token_threads(rows, cols);
    const int blocks = (int)((threads + FQ2_THREADS - 1) / FQ2_THREADS);
    int bad = 0;
    for (int blk = 0; blk < blocks; blk++)
        for (int tid = 0; tid < FQ2_THREADS; tid++) {
            const int64_t gid = fq2_token_group(blk, tid);
            const int sub = fq2_token_sub(tid);
            /* the group's 16 lanes: same warp, same gid, same mask */
            const int lead = tid - sub;
            bad += lead / 32 != (lead + FQ2_TPG - 1) / 32 || fq2_token_group(blk, lead) != gid;
            const unsigned mk = fq2_token_mask(tid);
            bad += mk != fq2_token_mask(lead) || __builtin_popcount(mk) != FQ2_TPG || !(mk >> (tid % 32) & 1u);
            if (gid >= (int64_t)rows * kb) continue; /* exits: the whole group does */
            const size_t off = fq2_token_off(gid, sub, cols);
            bad += (off * 2) % 16 != 0 || off % 8 != 0 || off + FQ2_CHUNK > n;
            if (off + FQ2_CHUNK <= n && off % FQ2_CHUNK == 0) cov[off / FQ2_CHUNK]++;
            if (sub == 0) {
                const size_t si = fq2_token_scale(gid, rows, cols);
                if (si < ns) scov[si]++;
                else bad++;
                /* the scale of (row, group) belongs to the chunks of that row and group */
                bad += off / cols != si % (size_t)rows || (off % cols) / 128 != si / (size_t)rows;
            }
        }
    for (size_t i = 0; i < nchunk; i++) bad += cov[i] != 1;
    for (size_t i = 0; i < ns; i++) bad += scov[i] != 1;
    free(cov);
    free(scov);
    return bad;
}

static int check_block(int rows, int cols)
{
    const int kbn = cols / 128, rbn = (rows + 127) / 128;
    const size_t n = (size_t)rows * cols, nchunk = n / FQ2_CHUNK, ns = (size_t)rbn * kbn;
    uint8_t *cov = calloc(nchunk, 1), *scov = calloc(ns, 1);
    int bad = 0;
    for (int rb = 0; rb < rbn; rb++)
        for (int cb = 0; cb < kbn; cb++) {
            for (int tid = 0; tid < FQ2_THREADS; tid++)
                for (int j = 0; j < FQ2_BLOCK_LOADS; j++) {
                    const int r = fq2_block_row(rb, tid, j);
                    bad += r < rb * 128 || r >= rb * 128 + 128;
                    if (r >= rows) continue; /* guarded in both passes */
                    const size_t off = fq2_block_off(r, cb, tid, j, cols);
                    bad += (off * 2) % 16 != 0 || off % 8 != 0 || off + FQ2_CHUNK > n;
                    bad += (off % cols) / 128 != (size_t)cb || off / cols != (size_t)r;
                    if (off + FQ2_CHUNK <= n) cov[off / FQ2_CHUNK]++;
                }
            const size_t si = fq2_block_scale(rb, cb, cols);
            if (si < ns) scov[si]++;
            else bad++;
        }
    for (size_t i = 0; i < nchunk; i++) bad += cov[i] != 1;
    for (size_t i = 0; i < ns; i++) bad += scov[i] != 1;
    free(cov);
    free(scov);
    return bad;
}

int main(void)
{
    /* by hand */
    KBT_CHECK(fq2_token_threads(3, 384) == 144);
    KBT_CHECK(fq2_token_group(1, 17) == 17);                  /* (256 + 17) / 16 */
    KBT_CHECK(fq2_token_off(17, 5, 384) == 5 * 384 + 2 * 128 + 40); /* row 5, group 2 */
    KBT_CHECK(fq2_token_scale(17, 200, 384) == 2 * 200 + 5);
    KBT_CHECK(fq2_token_mask(20) == 0xffff0000u && fq2_token_mask(47) == 0x0000ffffu);
    KBT_CHECK(fq2_block_row(1, 255, 7) == 128 + 127 && fq2_block_row(0, 16, 0) == 1);
    KBT_CHECK(fq2_block_off(130, 2, 17, 0, 512) == (size_t)130 * 512 + 256 + 8);
    KBT_CHECK(fq2_block_scale(3, 1, 7168) == 3 * 56 + 1);
    KBT_CHECK(fq2_pack(0xaa0201u, 0x0403u) == 0x04030201u);

    const kb_op *op = kb_find_op("fp8_quant");
    KBT_CHECK(op != NULL);
    int n = 0, bad = 0, partial = 0, odd = 0;
    const kb_shape *s = op ? op->shapes(&n) : NULL;
    for (int i = 0; i < n; i++) {
        const int mode = (int)s[i].d[0], rows = (int)s[i].d[1], cols = (int)s[i].d[2];
        int b = mode == FP8_QUANT_TOKEN ? check_token(rows, cols) : check_block(rows, cols);
        if (b) printf("  fp8_quant v2 map: %s failed (%d)\n", s[i].label, b);
        bad += b;
        partial += mode == FP8_QUANT_BLOCK && rows % 128 != 0;
        odd += mode == FP8_QUANT_TOKEN && rows * (cols / 128) % FQ2_TPG != 0;
    }
    KBT_CHECK(n > 0);
    KBT_CHECK(partial > 0); /* N = 2112, 576 and the small 192-row shape exercise the tail */
    KBT_CHECK(odd > 0);     /* a last block with idle groups (e.g. M = 1) */
    KBT_CHECK(bad == 0);
    return kbt_done("test_fp8_quant_v2_map");
}
