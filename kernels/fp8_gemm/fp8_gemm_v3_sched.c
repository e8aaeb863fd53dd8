/* fp8_gemm_v3_sched.c - block-size choice for the v3 FP8 GEMM (see the header).
 *
 * NOTES: a persistent grid of one CTA per SM runs the tiles in waves of
 * num_sms; the last wave is usually partial, so the wall time is about
 * ceil(tiles / num_sms) * time(tile).  On 132 SMs this favours odd block
 * widths: M=4096, N=7168 with 128x128 tiles is 1792 tiles = 13.6 waves
 * (14 paid), with 128x160 it is 1440 tiles = 10.9 waves (11 paid).
 * Decode shapes (M <= 128) are the opposite problem: too few tiles.  Narrow
 * tiles (BLOCK_N 16, 32) raise the count (N = 2112: 132 tiles of 16), and
 * where even they leave most SMs idle (N = 576: 36 tiles of 16) split-K
 * multiplies the units (64x32 x 7 splits = 126) at the price of a reduce pass.
 */
#include "kernels/fp8_gemm/fp8_gemm_v3_sched.h"

const int fp8_gemm_v3_block_ms[FP8_GEMM_V3_N_BM] = {64, 128};
const int fp8_gemm_v3_block_ns[FP8_GEMM_V3_N_BN] = {16, 32, 64, 96, 128, 160};

double fp8_gemm_v3_tile_cost(int block_m, int block_n)
{
    return (double)block_m * block_n + 32.0 * (block_m + block_n);
}

/* m tiles the kernel walks (*mt) and the upper bound the grid is sized from (*mt_max). */
static int m_tiles_of(fp8_gemm_layout layout, int m, int num_groups, const int32_t *masked_m_host, int block_m,
                      int64_t *mt, int64_t *mt_max)
{
    switch (layout) {
    case FP8_GEMM_DENSE:
    case FP8_GEMM_CONTIGUOUS: /* padding tiles are counted: the host does not know group_idx */
        *mt = *mt_max = fp8_gemm_v3_cdiv(m, block_m);
        return 0;
    case FP8_GEMM_MASKED:
        *mt_max = (int64_t)num_groups * fp8_gemm_v3_cdiv(m, block_m);
        *mt = masked_m_host ? 0 : *mt_max;
        for (int g = 0; masked_m_host && g < num_groups; g++) {
            int64_t mg = masked_m_host[g] < 0 ? 0 : masked_m_host[g] > m ? m : masked_m_host[g];
            *mt += fp8_gemm_v3_cdiv(mg, block_m);
        }
        return 0;
    default:
        return -1;
    }
}

int fp8_gemm_v3_eval_k(fp8_gemm_layout layout, int m, int n, int k, int num_groups,
                       const int32_t *masked_m_host, int num_sms, int block_m, int block_n, int splits,
                       fp8_gemm_v3_cfg *out)
{
    if (!out || m < 1 || n < 1 || k < 128 || k % 128 || num_groups < 1 || num_sms < 1 || block_m < 1 ||
        block_n < 1 || splits < 1 || (splits > 1 && layout != FP8_GEMM_DENSE))
        return -1;
    int64_t m_tiles = 0, m_tiles_max = 0;
    if (m_tiles_of(layout, m, num_groups, masked_m_host, block_m, &m_tiles, &m_tiles_max) != 0) return -1;
    const int kb = k / 128, kbu = (int)fp8_gemm_v3_cdiv(kb, splits);
    out->block_m = block_m;
    out->block_n = block_n;
    out->kb_per_split = kbu;
    out->splits = (int)fp8_gemm_v3_cdiv(kb, kbu);
    out->m_tiles = m_tiles;
    out->n_tiles = fp8_gemm_v3_cdiv(n, block_n);
    out->tiles = m_tiles * out->n_tiles;
    out->units = out->tiles * out->splits;
    out->waves = fp8_gemm_v3_cdiv(out->units, num_sms);
    out->cost = (double)out->waves * kbu * fp8_gemm_v3_tile_cost(block_m, block_n);
    out->ws_bytes = 0;
    if (out->splits > 1) {
        const double mn = (double)m * n;
        out->cost += FP8_GEMM_V3_REDUCE_FIXED + 0.25 * (4.0 * out->splits + 2.0) * mn / num_sms;
        out->ws_bytes = (size_t)out->splits * (size_t)m * (size_t)n * sizeof(float);
    }
    int64_t upper = m_tiles_max * out->n_tiles * out->splits;
    out->grid = upper < num_sms ? (int)upper : num_sms;
    if (out->grid < 1) out->grid = 1;
    return 0;
}

int fp8_gemm_v3_eval(fp8_gemm_layout layout, int m, int n, int num_groups,
                     const int32_t *masked_m_host, int num_sms,
                     int block_m, int block_n, fp8_gemm_v3_cfg *out)
{
    return fp8_gemm_v3_eval_k(layout, m, n, 128, num_groups, masked_m_host, num_sms, block_m, block_n, 1, out);
}

/* c beats best: lower cost; ties: larger block_m, larger block_n, fewer splits */
static int better(const fp8_gemm_v3_cfg *c, const fp8_gemm_v3_cfg *best)
{
    if (c->cost != best->cost) return c->cost < best->cost;
    if (c->block_m != best->block_m) return c->block_m > best->block_m;
    if (c->block_n != best->block_n) return c->block_n > best->block_n;
    return c->splits < best->splits;
}

int fp8_gemm_v3_choose_k(fp8_gemm_layout layout, int m, int n, int k, int num_groups,
                         const int32_t *masked_m_host, int num_sms, size_t ws_bytes, fp8_gemm_v3_cfg *out)
{
    if (!out) return -1;
    int found = 0;
    fp8_gemm_v3_cfg best = {0}, c;
    const int max_splits = layout != FP8_GEMM_DENSE ? 1 : FP8_GEMM_V3_MAX_SPLITS;
    for (int i = 0; i < FP8_GEMM_V3_N_BM; i++)
        for (int j = 0; j < FP8_GEMM_V3_N_BN; j++)
            for (int s = 1; s <= max_splits; s++) {
                if (fp8_gemm_v3_eval_k(layout, m, n, k, num_groups, masked_m_host, num_sms, fp8_gemm_v3_block_ms[i],
                                       fp8_gemm_v3_block_ns[j], s, &c) != 0)
                    return -1;
                if (c.splits != s) continue; /* the same split as an earlier s */
                if (s > 1 && (c.kb_per_split < FP8_GEMM_V3_SPLIT_MIN_KB || c.ws_bytes > ws_bytes)) continue;
                if (!found || better(&c, &best)) { best = c; found = 1; }
            }
    *out = best;
    return 0;
}

int fp8_gemm_v3_choose(fp8_gemm_layout layout, int m, int n, int num_groups,
                       const int32_t *masked_m_host, int num_sms, fp8_gemm_v3_cfg *out)
{
    return fp8_gemm_v3_choose_k(layout, m, n, 128, num_groups, masked_m_host, num_sms, 0, out);
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
    p->splits = 1;
    p->kb_per_split = p->kblocks;
    p->ws = NULL;
    p->sa = a->sa;
    p->sb = a->sb;
    p->d = a->d;
    p->group_idx = a->group_idx;
    p->masked_m = a->masked_m;
    return 0;
}

int fp8_gemm_v3_params_split(fp8_gemm_v3_params *p, int splits, float *ws)
{
    if (!p || splits < 1 || p->kblocks < 1) return -1;
    if (splits == 1) return 0;
    if (p->layout != FP8_GEMM_DENSE || !ws) return -1;
    p->kb_per_split = (p->kblocks + splits - 1) / splits;
    p->splits = (p->kblocks + p->kb_per_split - 1) / p->kb_per_split;
    p->ws = ws;
    return 0;
}
