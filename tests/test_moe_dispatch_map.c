/* test_moe_dispatch_map.c - host emulation of the persistent cooperative
 * dispatch kernel (moe_dispatch_v2.cu), block by block and lane by lane,
 * through the kernel's own index functions (kernels/moe/moe_dispatch_map.h):
 *   A. block token ranges + per-block expert histograms,
 *   B. (after the grid barrier) totals, padded offsets, per-block bases, the
 *      grid-strided group_idx fill with the kernel's binary search,
 *   C. warp-0 ranking, 32 slots at a time (__match_any_sync emulated here),
 *   D. the copy: 128 teams of 8 lanes, each lane 16 elements at moe_dv2_col,
 *      one 16-byte store (E4M3; BF16: two) per destination row, one scale per
 *      (row, group) at moe_scale_index.  E4M3 packing emulates the PTX
 *      definition of cvt.rn.satfinite.e4m3x2.f32 d, a, b (a -> upper byte,
 *      b -> lower; cuda_fp8.hpp passes a = x.y, b = x.x).
 * Checks, against the CPU layout builder and quantiser (reference/moe_cpu.c):
 *   layouts exact; every byte of every real row written exactly once per
 *   destination; padding rows and their scales keep the poison; every vector
 *   access 16-byte aligned and in bounds; one scale per (row, group); grid
 *   and dynamic shared memory of every shape of the op table within the
 *   cooperative-launch limits; the largest byte offset needs 64-bit math.
 * Data is fully emulated at small shapes (hidden 1024 and 7168); at the op's
 * large shapes only addresses / coverage are (the rows would not fit in RAM).
 * This emulates the CUDA code's arithmetic; GPU behaviour is unverified. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kbtest.h"
#include "bench/kb.h"
#include "reference/moe_cpu.h"
#include "kernels/moe/moe.h"
#include "kernels/moe/moe_dispatch_map.h"
#include "kernels/moe/moe_math.h"

typedef struct emu {
    /* inputs */
    int t, k, topk, e, fmt, m_cap, m_max, n_sm, with_data;
    const uint16_t *x;
    const int32_t *idx;
    /* outputs (poisoned before) */
    int32_t *counts, *offsets, *group_idx, *row_of;
    uint8_t *out;      /* with_data only */
    float *sa;         /* with_data, E4M3 formats */
    uint8_t *cover;    /* writes per (row, 128-group), all modes */
    uint8_t *gi_cover; /* writes per group_idx row */
    size_t out_rows, max_off;
    int bad_align, bad_bounds, bad_scale_idx;
} emu;

static uint32_t cvt_e4m3x2(float a, float b) /* PTX: a -> bits 15:8, b -> 7:0 */
{
    return ((uint32_t)kb_f32_to_e4m3(a) << 8) | kb_f32_to_e4m3(b);
}

static void run_emulation(emu *m)
{
    const int T = m->t, K = m->k, E = m->e, topk = m->topk, nb = K / MOE_QBLOCK;
    const int masked = m->fmt == MOE_FMT_E4M3_MASKED, elt = m->fmt == MOE_FMT_BF16 ? 2 : 1;
    const int G = moe_dv2_grid(T, m->n_sm);
    int32_t *cnt_mat = calloc((size_t)G * E, 4);
    int32_t **srow = calloc((size_t)G, sizeof *srow);
    /* ---- A ---- */
    for (int b = 0; b < G; b++) {
        int tb, te;
        moe_dv2_block_tokens(T, G, b, &tb, &te);
        srow[b] = malloc(moe_dv2_smem_bytes(T, G, topk) + 4);
        for (int i = tb * topk; i < te * topk; i++) {
            int ex = m->idx[i];
            srow[b][i - tb * topk] = ex;
            if (ex >= 0 && ex < E) cnt_mat[(size_t)b * E + ex]++;
        }
    }
    /* ---- B, C, D per block ---- */
    int32_t off_s[MOE_MAX_LOCAL_EXPERTS + 1], cnt_s[MOE_MAX_LOCAL_EXPERTS], base[MOE_MAX_LOCAL_EXPERTS];
    for (int b = 0; b < G; b++) {
        int tb, te;
        moe_dv2_block_tokens(T, G, b, &tb, &te);
        const int s0 = tb * topk, s1 = te * topk;
        for (int ex = 0; ex < E; ex++) {
            int32_t pre = 0, tot = 0;
            for (int c = 0; c < G; c++) {
                pre += c < b ? cnt_mat[(size_t)c * E + ex] : 0;
                tot += cnt_mat[(size_t)c * E + ex];
            }
            cnt_s[ex] = tot;
            base[ex] = pre;
        }
        off_s[0] = 0;
        for (int ex = 0; ex < E; ex++) off_s[ex + 1] = off_s[ex] + moe_pad_rows(cnt_s[ex], MOE_ALIGN);
        for (int ex = 0; ex < E; ex++) base[ex] += masked ? ex * m->m_max : off_s[ex];
        if (b == 0) {
            for (int ex = 0; ex < E; ex++) m->counts[ex] = cnt_s[ex];
            if (!masked)
                for (int ex = 0; ex <= E; ex++) m->offsets[ex] = off_s[ex];
        }
        if (!masked)
            for (int tid = 0; tid < MOE_DV2_THREADS; tid++)
                for (int r = b * MOE_DV2_THREADS + tid; r < m->m_cap; r += G * MOE_DV2_THREADS) {
                    m->group_idx[r] = moe_group_of_row(off_s, cnt_s, E, r);
                    m->gi_cover[r]++;
                }
        /* C: warp 0 */
        for (int i0 = s0; i0 < s1; i0 += 32) {
            int ev[32], rv[32];
            for (int lane = 0; lane < 32; lane++) {
                int i = i0 + lane;
                ev[lane] = i < s1 ? srow[b][i - s0] : -1;
                if (ev[lane] >= E) ev[lane] = -1;
            }
            unsigned same[32];
            for (int lane = 0; lane < 32; lane++) {
                same[lane] = 0;
                for (int q = 0; q < 32; q++) same[lane] |= (unsigned)(ev[q] == ev[lane]) << q;
            }
            for (int lane = 0; lane < 32; lane++)
                rv[lane] = ev[lane] >= 0 ? base[ev[lane]] + moe_rank_in_warp(same[lane], lane) : -1;
            for (int lane = 0; lane < 32; lane++)
                if (ev[lane] >= 0 && moe_rank_in_warp(same[lane], lane) == 0) base[ev[lane]] += moe_rank_count(same[lane]);
            for (int lane = 0; lane < 32; lane++)
                if (i0 + lane < s1) {
                    srow[b][i0 + lane - s0] = rv[lane];
                    m->row_of[i0 + lane] = rv[lane];
                }
        }
        /* D: 128 teams x 8 lanes */
        const int n_items = (te - tb) * nb;
        const size_t out_bytes = m->out_rows * (size_t)K * elt, x_bytes = (size_t)T * K * 2;
        for (int team = 0; team < MOE_DV2_NTEAM; team++)
            for (int it = team; it < n_items; it += MOE_DV2_NTEAM) {
                const int t = tb + moe_dv2_item_token(it, nb), g = moe_dv2_item_group(it, nb);
                const int32_t *rows = srow[b] + (size_t)(t - tb) * topk;
                float amax = 0.0f, f[MOE_DV2_TEAM][MOE_DV2_ELEMS];
                for (int tl = 0; tl < MOE_DV2_TEAM; tl++) {
                    size_t col = moe_dv2_col(g, tl), src = ((size_t)t * K + col) * 2;
                    m->bad_align += src % 16 != 0;
                    m->bad_bounds += src + 32 > x_bytes || col + MOE_DV2_ELEMS > (size_t)(g + 1) * MOE_QBLOCK;
                    if (m->with_data)
                        for (int j = 0; j < MOE_DV2_ELEMS; j++) {
                            f[tl][j] = kb_bf16_to_f32(m->x[(size_t)t * K + col + j]);
                            float a = f[tl][j] < 0 ? -f[tl][j] : f[tl][j];
                            amax = a > amax ? a : amax;
                        }
                }
                float scale = 0, inv = 0;
                if (m->with_data && m->fmt != MOE_FMT_BF16) moe_quant_scale(amax, &scale, &inv);
                for (int kk = 0; kk < topk; kk++) {
                    const int r = rows[kk];
                    if (r < 0) continue;
                    m->cover[(size_t)r * nb + g]++;
                    for (int tl = 0; tl < MOE_DV2_TEAM; tl++) {
                        size_t col = moe_dv2_col(g, tl), dst = ((size_t)r * K + col) * elt;
                        m->bad_align += dst % 16 != 0;
                        m->bad_bounds += dst + (size_t)MOE_DV2_ELEMS * elt > out_bytes;
                        if (dst + (size_t)MOE_DV2_ELEMS * elt > m->max_off) m->max_off = dst + (size_t)MOE_DV2_ELEMS * elt;
                        if (!m->with_data || dst + (size_t)MOE_DV2_ELEMS * elt > out_bytes) continue;
                        if (elt == 2) {
                            memcpy(m->out + dst, m->x + (size_t)t * K + col, 32);
                            continue;
                        }
                        uint32_t packed[4];
                        for (int j = 0; j < 4; j++) {
                            uint32_t lo = cvt_e4m3x2(moe_mul(f[tl][4 * j + 1], inv), moe_mul(f[tl][4 * j], inv));
                            uint32_t hi = cvt_e4m3x2(moe_mul(f[tl][4 * j + 3], inv), moe_mul(f[tl][4 * j + 2], inv));
                            packed[j] = lo | (hi << 16);
                        }
                        for (int j = 0; j < 16; j++) m->out[dst + j] = (uint8_t)(packed[j / 4] >> (8 * (j % 4)));
                        if (tl == 0) {
                            size_t si = moe_scale_index(masked, r, g, nb, m->m_cap, m->m_max);
                            size_t sn = masked ? (size_t)E * nb * m->m_max : (size_t)nb * m->m_cap;
                            if (si >= sn) m->bad_scale_idx++;
                            else m->sa[si] = scale;
                        }
                    }
                }
            }
    }
    for (int b = 0; b < G; b++) free(srow[b]);
    free(srow);
    free(cnt_mat);
}

/* One shape: build the CPU layout, emulate, compare.  Returns failures. */
static int check_shape(int T, int E, int skew, int fmt, int K, int with_data, int n_sm, size_t *max_off)
{
    const int topk = MOE_TOPK, nb = K / MOE_QBLOCK, masked = fmt == MOE_FMT_E4M3_MASKED;
    const size_t R = (size_t)T * topk;
    int bad = 0;
    emu m;
    memset(&m, 0, sizeof m);
    int32_t *idx = malloc(R * 4), *h_row = malloc(R * 4), h_cnt[256], h_off[257];
    moe_routing_random(0x5eed + (uint64_t)T * 7 + (uint64_t)E * 3 + (uint64_t)skew, T, E, skew, idx);
    if (T > 7) idx[7] = -1; /* a slot whose expert is on another GPU */
    const int64_t m_total = moe_layout_build(idx, T, topk, E, MOE_ALIGN, h_cnt, h_off, h_row);
    m.t = T;
    m.k = K;
    m.topk = topk;
    m.e = E;
    m.fmt = fmt;
    m.n_sm = n_sm;
    m.with_data = with_data;
    m.idx = idx;
    m.m_cap = (int)moe_layout_m_cap(T, topk, E, MOE_ALIGN);
    int32_t *h_gidx = malloc((size_t)m.m_cap * 4);
    if (masked) {
        int maxc = 0;
        for (int ex = 0; ex < E; ex++) maxc = h_cnt[ex] > maxc ? h_cnt[ex] : maxc;
        m.m_max = moe_pad_rows(maxc, MOE_ALIGN);
        bad += moe_layout_build_masked(idx, T, topk, E, m.m_max, h_cnt, h_row) < 0;
        m.out_rows = (size_t)E * m.m_max;
    } else {
        moe_layout_group_idx(h_cnt, h_off, E, h_gidx, m.m_cap);
        m.out_rows = (size_t)m.m_cap;
        bad += m_total > m.m_cap;
    }
    const int elt = fmt == MOE_FMT_BF16 ? 2 : 1;
    m.counts = malloc((size_t)E * 4);
    m.offsets = malloc((size_t)(E + 1) * 4);
    m.group_idx = malloc((size_t)m.m_cap * 4);
    m.row_of = malloc(R * 4);
    m.cover = calloc(m.out_rows * nb, 1);
    m.gi_cover = calloc((size_t)m.m_cap, 1);
    memset(m.counts, 0xff, (size_t)E * 4);
    memset(m.offsets, 0xff, (size_t)(E + 1) * 4);
    memset(m.group_idx, 0xff, (size_t)m.m_cap * 4);
    memset(m.row_of, 0xff, R * 4);
    uint16_t *x = NULL;
    size_t sa_n = masked ? (size_t)E * nb * m.m_max : (size_t)nb * m.m_cap;
    if (with_data) {
        x = malloc((size_t)T * K * 2);
        kb_rng r;
        kb_rng_seed(&r, 77 + (uint64_t)T);
        for (size_t i = 0; i < (size_t)T * K; i++) x[i] = kb_f32_to_bf16((float)(6.0 * kb_rng_uniform(&r) - 3.0));
        for (int tt = 0; tt < T; tt += 5) /* all-zero groups: amax clamps to 1e-4 */
            memset(x + (size_t)tt * K, 0, MOE_QBLOCK * 2);
        m.x = x;
        m.out = malloc(m.out_rows * K * elt);
        memset(m.out, 0xff, m.out_rows * K * elt);
        if (fmt != MOE_FMT_BF16) {
            m.sa = malloc(sa_n * 4);
            memset(m.sa, 0xff, sa_n * 4);
        }
    }
    /* launch limits of the cooperative kernel */
    const int G = moe_dv2_grid(T, n_sm);
    bad += G < 1 || G > n_sm || G > T;
    bad += moe_dv2_smem_bytes(T, G, topk) > MOE_DV2_SMEM_MAX;
    {
        int covered = 0, prev_te = 0, ok = 1;
        for (int b = 0; b < G; b++) {
            int tb, te;
            moe_dv2_block_tokens(T, G, b, &tb, &te);
            ok &= tb == prev_te && te >= tb && (size_t)(te - tb) * topk * 4 <= moe_dv2_smem_bytes(T, G, topk);
            covered += te - tb;
            prev_te = te;
        }
        bad += !ok || covered != T || prev_te != T;
    }

    run_emulation(&m);

    /* layouts */
    for (int ex = 0; ex < E; ex++) bad += m.counts[ex] != h_cnt[ex];
    for (size_t i = 0; i < R; i++) bad += m.row_of[i] != h_row[i];
    if (!masked) {
        for (int ex = 0; ex <= E; ex++) bad += m.offsets[ex] != h_off[ex];
        for (int r = 0; r < m.m_cap; r++) bad += m.group_idx[r] != h_gidx[r] || m.gi_cover[r] != 1;
    }
    bad += m.bad_align + m.bad_bounds + m.bad_scale_idx;
    /* coverage: real rows exactly once per group, padding never */
    size_t ncover_bad = 0;
    for (int ex = 0; ex < E; ex++) {
        size_t r0 = masked ? (size_t)ex * m.m_max : (size_t)h_off[ex];
        size_t r1 = masked ? r0 + m.m_max : (size_t)h_off[ex + 1];
        for (size_t r = r0; r < r1; r++)
            for (int g = 0; g < nb; g++) ncover_bad += m.cover[r * nb + g] != (r < r0 + (size_t)h_cnt[ex]);
    }
    bad += ncover_bad != 0;
    /* data */
    if (with_data) {
        uint8_t *q = malloc((size_t)K);
        float *sc = malloc((size_t)nb * 4);
        size_t wrong = 0;
        for (size_t s = 0; s < R; s++) {
            int r = h_row[s];
            if (r < 0) continue;
            const uint16_t *xr = x + (s / topk) * K;
            if (elt == 2) {
                wrong += memcmp(m.out + (size_t)r * K * 2, xr, (size_t)K * 2) != 0;
                continue;
            }
            moe_quant_row_cpu(xr, K, q, sc);
            wrong += memcmp(m.out + (size_t)r * K, q, (size_t)K) != 0;
            for (int g = 0; g < nb; g++) wrong += m.sa[moe_scale_index(masked, r, g, nb, m.m_cap, m.m_max)] != sc[g];
        }
        /* padding rows (and their scales) still poisoned */
        for (int ex = 0; ex < E; ex++) {
            size_t r0 = masked ? (size_t)ex * m.m_max : (size_t)h_off[ex];
            size_t r1 = masked ? r0 + m.m_max : (size_t)h_off[ex + 1];
            for (size_t r = r0 + (size_t)h_cnt[ex]; r < r1; r++) {
                for (size_t j = 0; j < (size_t)K * elt; j++) wrong += m.out[r * K * elt + j] != 0xff;
                if (m.sa)
                    for (int g = 0; g < nb; g++) {
                        uint32_t bits;
                        memcpy(&bits, &m.sa[moe_scale_index(masked, (int)r, g, nb, m.m_cap, m.m_max)], 4);
                        wrong += bits != 0xffffffffu;
                    }
            }
        }
        bad += wrong != 0;
        free(q);
        free(sc);
    }
    if (bad) printf("  dispatch emulation failed: T=%d E=%d skew=%d fmt=%d K=%d n_sm=%d (%d)\n", T, E, skew, fmt, K, n_sm, bad);
    if (max_off && m.max_off > *max_off) *max_off = m.max_off;
    free(idx); free(h_row); free(h_gidx); free(x);
    free(m.counts); free(m.offsets); free(m.group_idx); free(m.row_of); free(m.cover); free(m.gi_cover);
    free(m.out); free(m.sa);
    return bad;
}

static void test_helpers_by_hand(void)
{
    int tb, te;
    moe_dv2_block_tokens(16384, 132, 131, &tb, &te); /* tpb = 125: 131 * 125 = 16375 */
    KBT_CHECK(tb == 16375 && te == 16384);
    moe_dv2_block_tokens(200, 132, 100, &tb, &te); /* tpb = 2: blocks >= 100 empty */
    KBT_CHECK(tb == 200 && te == 200);
    KBT_CHECK(moe_dv2_grid(40, 132) == 40 && moe_dv2_grid(16384, 132) == 132 && moe_dv2_grid(0, 132) == 1);
    KBT_CHECK(moe_dv2_smem_bytes(16384, 132, 8) == 4000);
    KBT_CHECK(moe_dv2_col(55, 7) == 7152);                       /* last lane of the last group of 7168 */
    KBT_CHECK(moe_scale_index(0, 5, 2, 56, 1000, 0) == 2005);     /* [nb, m_cap] */
    KBT_CHECK(moe_scale_index(1, 261, 2, 56, 0, 256) == (size_t)(1 * 56 + 2) * 256 + 5); /* [E, nb, m_max] */
    KBT_CHECK(moe_rank_in_warp(0x8000000bu, 31) == 3 && moe_rank_in_warp(0x8000000bu, 0) == 0);
    KBT_CHECK(moe_rank_count(0x8000000bu) == 4);
    KBT_CHECK(moe_pad_rows(0, 128) == 0 && moe_pad_rows(1, 128) == 128 && moe_pad_rows(256, 128) == 256);
    /* group_idx search with empty segments: counts {2, 0, 3}, offsets {0, 128, 128, 256} */
    const int32_t cnt[3] = {2, 0, 3}, off[4] = {0, 128, 128, 256};
    KBT_CHECK(moe_group_of_row(off, cnt, 3, 0) == 0 && moe_group_of_row(off, cnt, 3, 1) == 0);
    KBT_CHECK(moe_group_of_row(off, cnt, 3, 2) == -1 && moe_group_of_row(off, cnt, 3, 127) == -1);
    KBT_CHECK(moe_group_of_row(off, cnt, 3, 128) == 2 && moe_group_of_row(off, cnt, 3, 130) == 2);
    KBT_CHECK(moe_group_of_row(off, cnt, 3, 131) == -1 && moe_group_of_row(off, cnt, 3, 300) == -1);
    /* team shuffle masks: 8 lanes, contain the thread, equal within a team */
    int bad = 0;
    for (int tid = 0; tid < MOE_DV2_THREADS; tid++) {
        unsigned mk = moe_dv2_team_mask(tid);
        bad += __builtin_popcount(mk) != 8 || !(mk >> (tid % 32) & 1u) ||
               mk != moe_dv2_team_mask(tid / MOE_DV2_TEAM * MOE_DV2_TEAM);
    }
    KBT_CHECK(bad == 0);
    /* E4M3 pair conversion order (PTX ISA): first source operand -> upper byte */
    KBT_CHECK(cvt_e4m3x2(448.0f, 1.0f) == 0x7e38u);
}

static void test_small_full(void)
{
    const int Ts[3] = {40, 130, 517}, Es[3] = {256, 32, 8};
    int bad = 0;
    for (int fmt = 0; fmt < 3; fmt++)
        for (int ti = 0; ti < 3; ti++)
            for (int ei = 0; ei < 3; ei++)
                for (int sk = 0; sk < 2; sk++) bad += check_shape(Ts[ti], Es[ei], sk, fmt, 1024, 1, 132, NULL);
    /* the real hidden size, and a grid with fewer SMs than tokens per block */
    for (int fmt = 0; fmt < 3; fmt++) {
        bad += check_shape(130, 32, 1, fmt, MOE_HIDDEN, 1, 132, NULL);
        bad += check_shape(517, 8, 1, fmt, MOE_HIDDEN, 1, 7, NULL);
    }
    KBT_CHECK(bad == 0);
}

/* Layouts for every shape of the op table; addresses / coverage for the
 * largest ones (T = 16384 at E = 256 and E = 8 skewed, every format). */
static void test_op_table(void)
{
    const kb_op *op = kb_find_op("moe_dispatch");
    KBT_CHECK(op != NULL);
    if (!op) return;
    int n = 0, bad = 0, big = 0;
    const kb_shape *s = op->shapes(&n);
    size_t max_off = 0;
    for (int i = 0; i < n; i++) {
        int T = (int)s[i].d[0], E = (int)s[i].d[1], sk = (int)s[i].d[2], fmt = (int)s[i].d[3];
        int addr = T == 16384 && ((E == 256 && !sk) || (E == 8 && sk));
        big += addr;
        if (T < 16384 || addr) bad += check_shape(T, E, sk, fmt, MOE_HIDDEN, 0, 132, addr ? &max_off : NULL);
    }
    KBT_CHECK(big == 6);
    KBT_CHECK(bad == 0);
    /* BF16 at T = 16384, E = 256: the rows written reach past 2^31 - 2^28
     * bytes and the buffer (m_cap = 163584 rows of 14336 B) past 2^31: byte
     * offsets must be (and are) computed in 64 bits */
    KBT_CHECK(max_off > (size_t)INT32_MAX - ((size_t)1 << 28));
    KBT_CHECK((size_t)moe_layout_m_cap(16384, 8, 256, 128) * MOE_HIDDEN * 2 > (size_t)INT32_MAX);
}

int main(void)
{
    test_helpers_by_hand();
    test_small_full();
    test_op_table();
    return kbt_done("test_moe_dispatch_map");
}
