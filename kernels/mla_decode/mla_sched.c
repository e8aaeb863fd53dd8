/* mla_sched.c - host side of split-KV MLA decode: the scheduling pass that
 * balances variable sequence lengths over the CTA columns (FlashMLA's
 * get_mla_metadata idea), and the deterministic sequence lengths of a shape.
 *
 * Scheduling: sequence i costs ceil(len_i/64) pages plus MLA_SCHED_FIXED per
 * segment.  With P parts, each part gets a budget of ceil(total/P) where
 * total = sum(pages_i) + (b + P)*FIXED (at most b + P - 1 segments).  Parts are filled in order, walking the
 * sequences in order and cutting a sequence at a page boundary when the
 * budget runs out; the last part takes whatever is left.  So every sequence
 * is covered exactly once by consecutive segments of whole pages (the last
 * one possibly partial), and no part exceeds the budget by more than
 * FIXED + 1 pages. */
#include <math.h>
#include <stdlib.h>
#include "kernels/mla_decode/mla_decode.h"

void mla_sched_free(mla_sched *s)
{
    free(s->part_off);
    free(s->seg);
    free(s->split_off);
    free(s->n_split);
    s->part_off = s->seg = s->split_off = s->n_split = NULL;
}

int mla_sched_build(mla_sched *s, const int32_t *seqlens, int b, int num_parts)
{
    s->b = b;
    s->num_parts = num_parts < 1 ? 1 : num_parts;
    int P = s->num_parts;
    /* total cost: pages plus the fixed cost of at most b + P segments (each
     * part cuts at most one sequence) */
    int64_t total = (int64_t)(b + P) * MLA_SCHED_FIXED;
    for (int i = 0; i < b; i++) total += (seqlens[i] + MLA_PAGE - 1) / MLA_PAGE;
    int64_t payload = (total + P - 1) / P;
    if (payload < MLA_SCHED_FIXED + 1) payload = MLA_SCHED_FIXED + 1;
    /* Upper bound on segments: each sequence once, plus one extra cut per part. */
    int max_segs = b + P + 1;
    s->part_off = calloc((size_t)P + 1, sizeof(int32_t));
    s->seg = calloc((size_t)max_segs * 4, sizeof(int32_t));
    s->split_off = calloc((size_t)(b > 0 ? b : 1), sizeof(int32_t));
    s->n_split = calloc((size_t)(b > 0 ? b : 1), sizeof(int32_t));
    if (!s->part_off || !s->seg || !s->split_off || !s->n_split) {
        mla_sched_free(s);
        return -1;
    }
    int bi = 0, page = 0, nseg = 0;
    /* skip empty sequences (length 0 has no page: no segment, n_split 0) */
    while (bi < b && seqlens[bi] <= 0) bi++;
    for (int p = 0; p < P; p++) {
        s->part_off[p] = nseg;
        int64_t budget = payload;
        while (bi < b && (budget > MLA_SCHED_FIXED || p == P - 1)) {
            int pages = (seqlens[bi] + MLA_PAGE - 1) / MLA_PAGE;
            int64_t take = pages - page;
            if (p < P - 1 && take > budget - MLA_SCHED_FIXED) take = budget - MLA_SCHED_FIXED;
            if (take < 1) take = 1;
            if (nseg >= max_segs) break; /* cannot happen: see bound above */
            int32_t *g = s->seg + 4 * nseg;
            g[0] = bi;
            g[1] = page * MLA_PAGE;
            int end = (page + (int)take) * MLA_PAGE;
            g[2] = end < seqlens[bi] ? end : seqlens[bi];
            g[3] = -1;
            nseg++;
            s->n_split[bi]++;
            budget -= take + MLA_SCHED_FIXED;
            page += (int)take;
            if (page >= pages) {
                page = 0;
                bi++;
                while (bi < b && seqlens[bi] <= 0) bi++;
            }
        }
    }
    s->part_off[P] = nseg;
    s->num_segs = nseg;
    /* partial slots for split sequences, in key order */
    int slots = 0;
    for (int i = 0; i < b; i++) {
        s->split_off[i] = slots;
        if (s->n_split[i] > 1) slots += s->n_split[i];
    }
    s->num_slots = slots;
    int k = 0, last_b = -1;
    for (int i = 0; i < nseg; i++) {
        int32_t *g = s->seg + 4 * i;
        if (g[0] != last_b) { k = 0; last_b = g[0]; }
        g[3] = s->n_split[g[0]] > 1 ? s->split_off[g[0]] + k : -1;
        k++;
    }
    return 0;
}

size_t mla_sched_packed_len(const mla_sched *s)
{
    return (size_t)s->num_parts + 1 + 4 * (size_t)s->num_segs + 2 * (size_t)s->b;
}

void mla_sched_pack(const mla_sched *s, int32_t *out)
{
    size_t k = 0;
    for (int i = 0; i <= s->num_parts; i++) out[k++] = s->part_off[i];
    for (int i = 0; i < 4 * s->num_segs; i++) out[k++] = s->seg[i];
    for (int i = 0; i < s->b; i++) out[k++] = s->split_off[i];
    for (int i = 0; i < s->b; i++) out[k++] = s->n_split[i];
}

void mla_decode_gen_seqlens(int b, int mean_sk, int s_q, int pattern, int32_t *out)
{
    kb_rng r;
    /* the seed depends on the shape's dims only (not on dtype), so bf16 and
     * fp8kv rows of one shape have the same lengths and the same FLOPs. */
    kb_rng_seed(&r, 0x6d6c61ull * 1000003ull + (uint64_t)b * 7919ull + (uint64_t)mean_sk * 104729ull +
                        (uint64_t)pattern * 15485863ull);
    int lo = s_q > 32 ? s_q : 32;
    if (pattern == 0 && b == 1) {
        out[0] = mean_sk;
        return;
    }
    for (int i = 0; i < b; i++) {
        const int skew = pattern == 1;
        double mu = !skew ? mean_sk : mean_sk / 4.0;
        double sd = !skew ? mean_sk / 2.0 : mean_sk / 8.0;
        int hi = !skew ? 2 * mean_sk : mean_sk / 2;
        double v = mu + sd * kb_rng_normal(&r);
        long x = lround(v);
        if (x < lo) x = lo;
        if (x > hi) x = hi;
        out[i] = (int32_t)x;
    }
    if (pattern == 1) out[0] = 16 * mean_sk;
    if (pattern == 2 && b >= 2) out[1] = 0; /* an empty sequence (no page) */
}
