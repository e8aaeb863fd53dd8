/* test_ep_plan.c - the expert-parallel plan, byte counts, bandwidth formulas and
 * the H100/H800 projection against numbers worked out by hand (no GPU). */
#include <math.h>
#include <stdlib.h>
#include "kbtest.h"
#include "reference/ep_plan.h"
#include "bench/ops/ep_shapes.h"

#define IX(p, r, t, d) (((size_t)(r) * (p).tokens + (t)) * (p).n_ranks + (d))

/* N=2, E=8 (experts 0-3 on rank 0, 4-7 on rank 1), K=2, T=3 - worked by hand:
 *   rank 0: t0 {5,1} -> d0 key 1, d1 key 5; t1 {2,3} -> d0 key 2; t2 {6,4} -> d1 key 4
 *   rank 1: t0 {0,7} -> d0 key 0, d1 key 7; t1 {4,5} -> d1 key 4; t2 {3,1} -> d0 key 1
 *   rank 0 receives (key, src, token): (0,1,0) (1,0,0) (1,1,2) (2,0,1)
 *   rank 1 receives:                   (4,0,2) (4,1,1) (5,0,0) (7,1,0) */
static void test_small_plan(void)
{
    const int32_t idx[] = {5, 1, 2, 3, 6, 4, /* rank 0 */ 0, 7, 4, 5, 3, 1 /* rank 1 */};
    ep_plan p;
    KBT_CHECK(ep_plan_build(2, 3, 8, 2, idx, &p) == 0);
    /* keys */
    KBT_CHECK(p.key[IX(p, 0, 0, 0)] == 1 && p.key[IX(p, 0, 0, 1)] == 5);
    KBT_CHECK(p.key[IX(p, 0, 1, 0)] == 2 && p.key[IX(p, 0, 1, 1)] == -1);
    KBT_CHECK(p.key[IX(p, 0, 2, 0)] == -1 && p.key[IX(p, 0, 2, 1)] == 4);
    KBT_CHECK(p.key[IX(p, 1, 2, 0)] == 1 && p.key[IX(p, 1, 2, 1)] == -1);
    /* counts exchange rows */
    const int32_t cnt0[8] = {0, 1, 1, 0, 1, 1, 0, 0}, cnt1[8] = {1, 1, 0, 0, 1, 0, 0, 1};
    for (int e = 0; e < 8; e++) {
        KBT_CHECK(p.cnt[e] == cnt0[e]);
        KBT_CHECK(p.cnt[8 + e] == cnt1[e]);
    }
    /* send counts and receive counts */
    KBT_CHECK(p.send_count[0] == 2 && p.send_count[1] == 2 && p.send_count[2] == 2 && p.send_count[3] == 2);
    KBT_CHECK(p.recv_count[0] == 4 && p.recv_count[1] == 4);
    KBT_CHECK(p.comb_count[0] == 4 && p.comb_count[1] == 4);
    /* expert segments */
    KBT_CHECK(p.expert_offset[0] == 0 && p.expert_offset[1] == 1 && p.expert_offset[2] == 3 && p.expert_offset[3] == 4);
    KBT_CHECK(p.expert_count[1] == 2 && p.expert_count[3] == 0);
    KBT_CHECK(p.expert_offset[4] == 0 && p.expert_offset[5] == 2 && p.expert_offset[6] == 3 && p.expert_offset[7] == 3);
    /* receive positions */
    KBT_CHECK(p.pos[IX(p, 1, 0, 0)] == 0);
    KBT_CHECK(p.pos[IX(p, 0, 0, 0)] == 1);
    KBT_CHECK(p.pos[IX(p, 1, 2, 0)] == 2);
    KBT_CHECK(p.pos[IX(p, 0, 1, 0)] == 3);
    KBT_CHECK(p.pos[IX(p, 0, 2, 1)] == 0);
    KBT_CHECK(p.pos[IX(p, 1, 1, 1)] == 1);
    KBT_CHECK(p.pos[IX(p, 0, 0, 1)] == 2);
    KBT_CHECK(p.pos[IX(p, 1, 0, 1)] == 3);
    KBT_CHECK(p.pos[IX(p, 0, 1, 1)] == -1);
    /* inverse */
    KBT_CHECK(p.recv_src_rank[0 * 6 + 2] == 1 && p.recv_src_token[0 * 6 + 2] == 2);
    KBT_CHECK(p.recv_src_rank[1 * 6 + 3] == 1 && p.recv_src_token[1 * 6 + 3] == 0);
    /* combine slots: token-major, destinations increasing */
    KBT_CHECK(p.slot_base[0] == 0 && p.slot_base[1] == 2 && p.slot_base[2] == 3);
    KBT_CHECK(p.comb_slot[IX(p, 0, 0, 0)] == 0 && p.comb_slot[IX(p, 0, 0, 1)] == 1);
    KBT_CHECK(p.comb_slot[IX(p, 0, 2, 1)] == 3);
    KBT_CHECK(p.comb_slot[IX(p, 1, 2, 0)] == 3);
    /* NCCL layouts */
    KBT_CHECK(p.send_offset[0 * 2 + 1] == 2 && p.recv_offset[0 * 2 + 1] == 2 && p.recv_offset[1 * 2 + 0] == 0);
    /* summary */
    ep_plan_stats st = ep_plan_summary(&p);
    KBT_CHECK(st.pairs == 8 && st.remote_pairs == 4);
    KBT_CHECK(st.max_sent_remote == 2 && st.max_recv_remote == 2 && st.max_link == 2);
    KBT_CHECK(st.max_recv == 4 && st.max_sent == 4);
    KBT_NEAR(st.mean_ranks_per_token, 8.0 / 6.0, 1e-12);
    ep_plan_free(&p);

    /* bad input: expert out of range, duplicate expert in a token */
    const int32_t bad1[] = {8, 1, 2, 3, 6, 4, 0, 7, 4, 5, 3, 1};
    const int32_t bad2[] = {1, 1, 2, 3, 6, 4, 0, 7, 4, 5, 3, 1};
    KBT_CHECK(ep_plan_build(2, 3, 8, 2, bad1, &p) == -1);
    KBT_CHECK(ep_plan_build(2, 3, 8, 2, bad2, &p) == -1);
}

/* N=8, E=256 (32 per rank), K=8, T=3, every rank routes the same way:
 *   t0 {0,1,2,40,41,200,201,202} -> ranks 0,1,6 (3 ranks: sent 3 times), keys 0,40,200
 *   t1 {3..10}                   -> rank 0 only, key 3
 *   t2 {0,50..56}                -> ranks 0 (key 0, second token of rank r with key 0), 1 (key 50)
 * rank 0 receives e0: 16 rows (r0t0 r0t2 r1t0 r1t2 ...), e3: 8 rows -> 24;
 * rank 1: e40: 8, e50: 8 -> 16; rank 6: e200: 8. */
static void test_three_ranks(void)
{
    enum { N = 8, T = 3, E = 256, K = 8 };
    static int32_t idx[N * T * K];
    const int32_t tok[T][K] = {{0, 1, 2, 40, 41, 200, 201, 202},
                               {3, 4, 5, 6, 7, 8, 9, 10},
                               {0, 50, 51, 52, 53, 54, 55, 56}};
    for (int r = 0; r < N; r++)
        for (int t = 0; t < T; t++)
            for (int k = 0; k < K; k++) idx[(r * T + t) * K + k] = tok[t][k];
    ep_plan p;
    KBT_CHECK(ep_plan_build(N, T, E, K, idx, &p) == 0);
    for (int r = 0; r < N; r++) {
        int sent = 0;
        for (int d = 0; d < N; d++) sent += p.pos[IX(p, r, 0, d)] >= 0;
        KBT_CHECK(sent == 3); /* 8 experts on 3 ranks: sent 3 times, not 8 */
        KBT_CHECK(p.send_count[r * N + 0] == 3 && p.send_count[r * N + 1] == 2 && p.send_count[r * N + 6] == 1);
        KBT_CHECK(p.send_count[r * N + 2] == 0);
        KBT_CHECK(p.pos[IX(p, r, 0, 0)] == 2 * r);
        KBT_CHECK(p.pos[IX(p, r, 2, 0)] == 2 * r + 1);
        KBT_CHECK(p.slot[IX(p, r, 2, 0)] == 1);
        KBT_CHECK(p.pos[IX(p, r, 1, 0)] == 16 + r);
        KBT_CHECK(p.pos[IX(p, r, 0, 1)] == r);
        KBT_CHECK(p.pos[IX(p, r, 2, 1)] == 8 + r);
        KBT_CHECK(p.pos[IX(p, r, 0, 6)] == r);
        KBT_CHECK(p.comb_slot[IX(p, r, 0, 6)] == 2 && p.slot_base[r * T + 2] == 4);
        KBT_CHECK(p.comb_count[r] == 6);
    }
    KBT_CHECK(p.recv_count[0] == 24 && p.recv_count[1] == 16 && p.recv_count[6] == 8 && p.recv_count[3] == 0);
    KBT_CHECK(p.expert_offset[3] == 16 && p.expert_count[0] == 16 && p.expert_offset[50] == 8);
    ep_plan_stats st = ep_plan_summary(&p);
    KBT_CHECK(st.pairs == 48);
    /* rank 0 sends 3 of its 6 rows to itself; ranks 1 and 6 keep 2 and 1 */
    KBT_CHECK(st.remote_pairs == 48 - 3 - 2 - 1);
    KBT_CHECK(st.max_sent_remote == 6);
    KBT_CHECK(st.max_recv_remote == 21 && st.max_link == 21 && st.max_recv == 24);
    ep_plan_free(&p);
}

static double prod_ratio(int a, int b, int k) /* C(a,k)/C(b,k) = prod (a-i)/(b-i) */
{
    double r = 1;
    for (int i = 0; i < k; i++) r *= (double)(a - i) / (b - i);
    return r;
}

static void test_expectation_and_routing(void)
{
    /* no group limit: 8 * (1 - C(224,8)/C(256,8)) = 5.2947 */
    KBT_NEAR(ep_expected_ranks(8, 256, 8, 1, 1), 8 * (1 - prod_ratio(224, 256, 8)), 1e-12);
    KBT_NEAR(ep_expected_ranks(8, 256, 8, 1, 1), 5.294652, 1e-6);
    /* 4 of 8 groups, groups = ranks: 4 * (1 - C(96,8)/C(128,8)) = 3.6290 */
    KBT_NEAR(ep_expected_ranks(8, 256, 8, 8, 4), 4 * (1 - prod_ratio(96, 128, 8)), 1e-12);
    KBT_NEAR(ep_expected_ranks(8, 256, 8, 8, 4), 3.629011, 1e-6);
    /* 4 ranks of 2 groups: j of its groups kept ~ C(2,j)C(6,4-j)/70 = 15/70, 40/70, 15/70 */
    double pn = 15.0 / 70 + 40.0 / 70 * prod_ratio(96, 128, 8) + 15.0 / 70 * prod_ratio(64, 128, 8);
    KBT_NEAR(ep_expected_ranks(4, 256, 8, 8, 4), 4 * (1 - pn), 1e-12);
    KBT_NEAR(ep_expected_ranks(4, 256, 8, 8, 4), 2.928210, 1e-6);
    KBT_CHECK(isnan(ep_expected_ranks(3, 256, 8, 8, 4))); /* 256 % 3 */

    /* seeded routing: 8 distinct experts in <= 4 groups, weights sum to 2.5,
     * mean destination ranks within 2% of the exact expectation */
    enum { N = 8, T = 1024, K = 8 };
    int32_t *idx = malloc(sizeof(int32_t) * N * T * K);
    float *w = malloc(sizeof(float) * N * T * K);
    KBT_CHECK(ep_route_uniform(42, N, T, 256, K, 8, 4, 2.5, idx, w) == 0);
    int bad = 0;
    for (int i = 0; i < N * T; i++) {
        unsigned groups = 0;
        double ws = 0;
        for (int k = 0; k < K; k++) {
            int e = idx[i * K + k];
            if (e < 0 || e >= 256) bad++;
            for (int k2 = 0; k2 < k; k2++) bad += idx[i * K + k2] == e;
            groups |= 1u << (e / 32);
            ws += w[i * K + k];
        }
        bad += __builtin_popcount(groups) > 4;
        bad += fabs(ws - 2.5) > 1e-5;
    }
    KBT_CHECK(bad == 0);
    ep_plan p;
    KBT_CHECK(ep_plan_build(N, T, 256, K, idx, &p) == 0);
    ep_plan_stats st = ep_plan_summary(&p);
    KBT_NEAR(st.mean_ranks_per_token, 3.629011, 0.02);
    KBT_CHECK(st.mean_ranks_per_token <= 4.0);
    /* every row of every receive buffer is owned by exactly one (rank, token) */
    int64_t filled = 0, total = 0;
    for (int d = 0; d < N; d++) {
        total += p.recv_count[d];
        for (int64_t q = 0; q < p.recv_count[d]; q++) filled += p.recv_src_rank[(size_t)d * N * T + q] >= 0;
    }
    KBT_CHECK(filled == total && total == st.pairs);
    ep_plan_free(&p);
    /* same seed, same routing */
    int32_t *idx2 = malloc(sizeof(int32_t) * N * T * K);
    KBT_CHECK(ep_route_uniform(42, N, T, 256, K, 8, 4, 2.5, idx2, NULL) == 0);
    KBT_CHECK(memcmp(idx, idx2, sizeof(int32_t) * N * T * K) == 0);
    free(idx);
    free(idx2);
    free(w);
    KBT_CHECK(ep_route_uniform(1, 8, 4, 256, 8, 8, 0, 2.5, NULL, NULL) == -1);
}

static void test_formulas(void)
{
    KBT_CHECK(ep_dispatch_row_bytes(7168) == 7408);
    KBT_CHECK(ep_dispatch_payload_bytes(7168) == 7392);
    KBT_CHECK(ep_combine_row_bytes(7168) == 14336);
    KBT_CHECK(ep_owner(31, 256, 8) == 0 && ep_owner(32, 256, 8) == 1 && ep_owner(255, 256, 8) == 7);
    KBT_CHECK(ep_first_expert(3, 256, 8) == 96 && ep_first_expert(8, 256, 8) == 256);
    /* nccl-tests: algbw = bytes / time, busbw = algbw (n-1)/n */
    KBT_NEAR(ep_algbw_gbs(1e9, 0.01), 100.0, 1e-12);
    KBT_NEAR(ep_busbw_gbs(100.0, 8), 87.5, 1e-12);
    KBT_NEAR(ep_busbw_gbs(100.0, 2), 50.0, 1e-12);
    /* DeepEP logical: 1000 rows x 7408 B in 1 ms = 7.408 GB/s */
    KBT_NEAR(ep_logical_gbs(1000, 7408, 1e-3), 7.408, 1e-12);
    KBT_NEAR(ep_alltoall_link_bytes(1073741824.0, 8), 939524096.0, 1e-12);
}

static void test_shapes(void)
{
    kb_shape s;
    /* SMALL: T=16, H=256, 4 ranks, loopback */
    ep_make_shape(&s, 16, 256, 4, 1, KB_SET_SMALL, "e4m3");
    KBT_STREQ(s.label, "t16_h256_ep4_loopback");
    KBT_CHECK(ep_shape_is_loopback(&s));
    ep_plan_stats st;
    KBT_CHECK(ep_shape_stats(&s, &st) == 0);
    KBT_CHECK(st.pairs >= 64 && st.pairs <= 64 * 4);
    /* dispatch: 4 ranks x 16 tokens x (256 FP8 + 2*4 scales + 8*4 ids) + pairs x (256 + 8 + 16) */
    KBT_NEAR(ep_dispatch_bytes(&s), 4.0 * 16 * (256 + 8 + 32) + st.pairs * 280.0, 1e-12);
    KBT_NEAR(ep_dispatch_link_bytes(&s), st.max_link * 280.0, 1e-12);
    /* combine: 4 x 16 x (512 + 64) + pairs x 512; flops 2*256 per row */
    KBT_NEAR(ep_combine_bytes(&s), 4.0 * 16 * (512 + 64) + st.pairs * 512.0, 1e-12);
    KBT_NEAR(ep_combine_link_bytes(&s), st.max_link * 512.0, 1e-12);
    KBT_NEAR(ep_combine_flops(&s), 512.0 * st.pairs, 1e-12);
    /* per-rank HBM bytes of the loopback shape: the busiest rank */
    KBT_NEAR(ep_dispatch_rank_bytes(&s), 16.0 * (256 + 8 + 32) + st.max_recv * 280.0, 1e-12);
    KBT_NEAR(ep_combine_rank_bytes(&s), 16.0 * (512 + 64) + st.max_recv * 512.0, 1e-12);
    /* same label routes the same for the combine shape (dtype ignored) */
    kb_shape c = s;
    snprintf(c.dtype, sizeof c.dtype, "bf16");
    KBT_CHECK(ep_route_seed(&c) == ep_route_seed(&s));
    /* several GPUs: the busiest rank */
    kb_shape m;
    ep_make_shape(&m, 16, 256, 4, 0, KB_SET_SMALL, "e4m3");
    KBT_STREQ(m.label, "t16_h256_ep4");
    ep_plan_stats sm;
    KBT_CHECK(ep_shape_stats(&m, &sm) == 0);
    KBT_NEAR(ep_dispatch_bytes(&m), 16.0 * (256 + 8 + 32) + sm.max_recv * 280.0, 1e-12);

    /* the model shape: T=4096, EP8 - deterministic and close to the expectation */
    kb_shape big;
    ep_make_shape(&big, 4096, 7168, 8, 1, KB_SET_FULL, "e4m3");
    ep_plan_stats sb;
    KBT_CHECK(ep_shape_stats(&big, &sb) == 0);
    KBT_NEAR(sb.mean_ranks_per_token, 3.629011, 0.01);
    double b1 = ep_dispatch_bytes(&big), b2 = ep_dispatch_bytes(&big);
    KBT_CHECK(b1 == b2 && b1 > 0);
    KBT_NEAR(ep_dispatch_link_bytes(&big), sb.max_link * 7408.0, 1e-12);
    /* logical bytes: every received row, all 8 loopback ranks */
    KBT_NEAR(ep_dispatch_logical_bytes(&big), sb.pairs * 7408.0, 1e-12);
    KBT_NEAR(ep_combine_logical_bytes(&big), sb.pairs * 14336.0, 1e-12);
    printf("info: %s: %.3f ranks/token, busiest link %lld rows = %.1f MB\n", big.label, sb.mean_ranks_per_token,
           (long long)sb.max_link, sb.max_link * 7408.0 / 1e6);
    /* remote rows per rank ~ 4096 * 3.63 * 7/8 = 13008; busiest within 5% of it */
    KBT_NEAR((double)sb.max_link, 4096 * 3.629011 * 7 / 8, 0.05);

    /* alltoall: 1 GB per rank on 8 ranks -> chunk 2^27; loopback HBM = 8 ranks x 2 x 2^30 */
    kb_shape a;
    ep_make_a2a_shape(&a, (int64_t)1 << 30, 8, 1, KB_SET_FULL);
    KBT_STREQ(a.label, "b1073741824_ep8_loopback");
    KBT_CHECK(ep_a2a_chunk(&a) == (int64_t)1 << 27);
    KBT_NEAR(ep_a2a_bytes(&a), 17179869184.0, 1e-12);
    KBT_NEAR(ep_a2a_link_bytes(&a), 939524096.0, 1e-12);
    ep_make_a2a_shape(&a, 1024, 3, 0, KB_SET_FULL); /* 1024/3 = 341 -> 336 (16 B multiple) */
    KBT_CHECK(ep_a2a_chunk(&a) == 336);
    KBT_NEAR(ep_a2a_bytes(&a), 2.0 * 3 * 336, 1e-12);
    KBT_NEAR(ep_a2a_link_bytes(&a), 2.0 * 336, 1e-12);
}

int main(void)
{
    test_small_plan();
    test_three_ranks();
    test_expectation_and_routing();
    test_formulas();
    test_shapes();
    return kbt_done("test_ep_plan");
}
