/* fp8_gemm_v3_sched.c - block-size choice for the v3 FP8 GEMM (see the header).
 *
 * NOTES: a persistent grid of one CTA per SM runs the tiles in waves of
 * num_sms; the last wave is usually partial, so the wall time is about
 * ceil(tiles / num_sms) * time(tile).  On 132 SMs this favours odd block
 * widths: M=4096, N=7168 with 128x128 tiles is 1792 tiles = 13.6 waves
 * (14 paid), with 128x160 it is 1440 tiles = 10.9 waves (11 paid).
 */
#include "kernels/fp8_gemm/fp8_gemm_v3_sched.h"

const int fp8_gemm_v3_block_ms[FP8_GEMM_V3_N_BM] = {64, 128};
const int fp8_gemm_v3_block_ns[FP8_GEMM_V3_N_BN] = {64, 96, 128, 160};

double fp8_gemm_v3_tile_cost(int block_m, int block_n)
{
    return (double)block_m * block_n + 32.0 * (block_m + block_n);
}

int fp8_gemm_v3_eval(fp8_gemm_layout layout, int m, int n, int num_groups,
                     const int32_t *masked_m_host, int num_sms,
                     int block_m, int block_n, fp8_gemm_v3_cfg *out)
{
    if (!out || m < 1 || n < 1 || num_groups < 1 || num_sms < 1 || block_m < 1 || block_n < 1)
        return -1;
    int64_t m_tiles = 0, m_tiles_max = 0;
    switch (layout) {
    case FP8_GEMM_DENSE:
    case FP8_GEMM_CONTIGUOUS: /* padding tiles are counted: the host does not know group_idx */
        m_tiles = m_tiles_max = fp8_gemm_v3_cdiv(m, block_m);
        break;
    case FP8_GEMM_MASKED:
        m_tiles_max = (int64_t)num_groups * fp8_gemm_v3_cdiv(m, block_m);
        if (masked_m_host) {
            for (int g = 0; g < num_groups; g++) {
                int64_t mg = masked_m_host[g] < 0 ? 0 : masked_m_host[g] > m ? m : masked_m_host[g];
                m_tiles += fp8_gemm_v3_cdiv(mg, block_m);
            }
        } else {
            m_tiles = m_tiles_max;
        }
        break;
    default:
        return -1;
    }
    out->block_m = block_m;
    out->block_n = block_n;
    out->m_tiles = m_tiles;
    out->n_tiles = fp8_gemm_v3_cdiv(n, block_n);
    out->tiles = m_tiles * out->n_tiles;
    out->waves = fp8_gemm_v3_cdiv(out->tiles, num_sms);
    out->cost = (double)out->waves * fp8_gemm_v3_tile_cost(block_m, block_n);
    int64_t upper = m_tiles_max * out->n_tiles;
    out->grid = upper < num_sms ? (int)upper : num_sms;
    if (out->grid < 1) out->grid = 1;
    return 0;
}

int fp8_gemm_v3_choose(fp8_gemm_layout layout, int m, int n, int num_groups,
                       const int32_t *masked_m_host, int num_sms, fp8_gemm_v3_cfg *out)
{
    int found = 0;
    fp8_gemm_v3_cfg best = {0}, c;
    for (int i = 0; i < FP8_GEMM_V3_N_BM; i++) {
        for (int j = 0; j < FP8_GEMM_V3_N_BN; j++) {
            if (fp8_gemm_v3_eval(layout, m, n, num_groups, masked_m_host, num_sms,
                                 fp8_gemm_v3_block_ms[i], fp8_gemm_v3_block_ns[j], &c) != 0)
                return -1;
            int better = !found || c.cost < best.cost ||
                         (c.cost == best.cost && (c.block_m > best.block_m ||
                          (c.block_m == best.block_m && c.block_n > best.block_n)));
            if (better) { best = c; found = 1; }
        }
    }
    if (!out) return -1;
    *out = best;
    return 0;
}

int fp8_gemm_v3_params_init(const fp8_gemm_args *a, int block_m, int block_n, fp8_gemm_v3_params *p)
{
    if (!a || !p || a->m < 1 || a->n < 1 || a->k < 128 || a->k % 128 || block_m < 1 || block_n < 1) return -1;
    const int groups = a->layout == FP8_GEMM_DENSE ? 1 : a->num_groups;
    if (groups < 1) return -1;
    p->layout = a->layout;
    p->m = a->m;
    p->n = a->n;
    p->k = a->k;
    p->num_groups = groups;
    p->block_m = block_m;
    p->block_n = block_n;
    p->m_tiles = (a->m + block_m - 1) / block_m;
    p->n_tiles = (a->n + block_n - 1) / block_n;
    p->kblocks = a->k / 128;
    p->nblocks = (a->n + 127) / 128;
    p->sa = a->sa;
    p->sb = a->sb;
    p->d = a->d;
    p->group_idx = a->group_idx;
    p->masked_m = a->masked_m;
    return 0;
}
