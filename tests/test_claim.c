/* test_claim.c - the `kbench claim` model (bench/claim_model.h) against
 * numbers worked out by hand (each derivation in the comment above it). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/claim_model.h"
#include "bench/report/csv_table.h"
#include "kernels/moe/moe.h"
#include "reference/moe_cpu.h"
#include "tests/kbtest.h"

/* Tiny configuration: 16 experts, EP4 on nodes of 2 GPUs (2 nodes), 4
 * experts per GPU (GPU r: experts 4r..4r+3), top-3; token t starts on GPU t.
 *   t0 GPU0 {1,9,13} -> GPUs {0,2,3}: node1 by IB (lands on GPU2, forwards
 *      to GPU3: 1 NVLink); node0 is home and GPU0 is the target: 0.  ib 1, nvl 1, nodes 2
 *   t1 GPU1 {0,5,6}  -> GPUs {0,1}: home node, GPU0 by NVLink.        ib 0, nvl 1, nodes 1
 *   t2 GPU2 {0,4,12} -> GPUs {0,1,3}: node0 by IB (lands on GPU0, forwards
 *      to GPU1), home GPU3 by NVLink.                                  ib 1, nvl 2, nodes 2
 *   t3 GPU3 {2,3,7}  -> GPUs {0,1}: node0 by IB (lands on GPU1, forwards to GPU0). ib 1, nvl 1, nodes 1
 * Means: nodes 1.5, ib 0.75, nvl 1.25; x 7392 B: IB 5544 B, NVLink 9240 B per token.
 * Direct (decode): t0 ib 2; t1 nvl 1; t2 ib 2 + nvl 1; t3 ib 2 -> ib 1.5, nvl 0.5. */
static const int32_t tiny_idx[] = {1, 9, 13, 0, 5, 6, 0, 4, 12, 2, 3, 7};

static void test_tiny_hops(void)
{
    claim_hops h;
    KBT_CHECK(claim_hops_count(tiny_idx, 4, 3, 16, 4, 2, 0, &h) == 0);
    KBT_NEAR(h.target_nodes, 1.5, 1e-12);
    KBT_NEAR(h.ib_sends, 0.75, 1e-12);
    KBT_NEAR(h.nvl_sends, 1.25, 1e-12);
    double ib_b, nvl_b;
    claim_hop_bytes(&h, 7392, &ib_b, &nvl_b);
    KBT_NEAR(ib_b, 5544, 1e-12);
    KBT_NEAR(nvl_b, 9240, 1e-12);
    /* 1000 tokens of 1000 B, NVLink 100 GB/s, IB 10 GB/s: IB 750 B x 1000 / 1e10 = 75 us,
     * NVLink 1250 x 1000 / 1e11 = 12.5 us; pipelined 75 us, serial 87.5 us; breakeven 10 x 1.25/0.75 */
    KBT_NEAR(claim_exchange_s(&h, 1000, 1000, 100, 10, 0), 75e-6, 1e-9);
    KBT_NEAR(claim_exchange_s(&h, 1000, 1000, 100, 10, 1), 87.5e-6, 1e-9);
    KBT_NEAR(claim_nvlink_breakeven(&h, 10), 10 * 1.25 / 0.75, 1e-12);
    KBT_CHECK(claim_hops_count(tiny_idx, 4, 3, 16, 4, 2, 1, &h) == 0);
    KBT_NEAR(h.ib_sends, 1.5, 1e-12);
    KBT_NEAR(h.nvl_sends, 0.5, 1e-12);
    KBT_CHECK(claim_hops_count(tiny_idx, 4, 3, 16, 3, 2, 0, &h) == -1); /* EP3 does not divide 16 experts */
}

/* The gate itself: with EP64 over nodes of 8 one node holds one expert group,
 * so no token reaches more than 4 nodes (top-4 groups); EP8 is one node: no IB. */
static void test_gate_node_limited(void)
{
    enum { T = 512 };
    static float logits[T * MOE_N_EXPERTS], w[T * MOE_TOPK];
    static int32_t idx[T * MOE_TOPK];
    float bias[MOE_N_EXPERTS] = {0};
    srand(7);
    for (int i = 0; i < T * MOE_N_EXPERTS; i++) logits[i] = (float)rand() / RAND_MAX * 8 - 4;
    moe_route_select_cpu(logits, bias, T, idx, w);
    int over = 0;
    for (int t = 0; t < T; t++) {
        claim_hops one;
        claim_hops_count(idx + t * MOE_TOPK, 1, MOE_TOPK, MOE_N_EXPERTS, 64, 8, 0, &one);
        over += one.target_nodes > 4;
    }
    KBT_CHECK(over == 0);
    claim_hops h;
    KBT_CHECK(claim_gate_hops(64, 8, 0, 2048, 1, &h) == 0);
    KBT_CHECK(h.target_nodes > 1 && h.target_nodes <= 4);
    KBT_CHECK(h.ib_sends < h.target_nodes); /* the home node costs no IB copy */
    KBT_CHECK(claim_gate_hops(8, 8, 0, 2048, 1, &h) == 0);
    KBT_NEAR(h.target_nodes, 1, 1e-12);
    KBT_NEAR(h.ib_sends, 0, 1e-12);
    KBT_CHECK(h.nvl_sends > 0 && h.nvl_sends <= 7);
}

/* DualPipe README: (PP/2-1)(F&B+B-3W): PP16, F&B 3, B 2, W 1 -> 7 x 2 = 14;
 * 1F1B (PP-1)(F+B): F 1, B 2 -> 15 x 3 = 45. */
static void test_bubble(void)
{
    KBT_NEAR(claim_bubble_dualpipe(16, 3, 2, 1), 14, 1e-12);
    KBT_NEAR(claim_bubble_1f1b(16, 1, 2), 45, 1e-12);
    KBT_NEAR(claim_bubble_dualpipe(2, 3, 2, 1), 0, 1e-12);
}

/* A small training cluster where the arithmetic is short: 8 GPUs, PP2 (DualPipe
 * bubble (2/2-1)(...) = 0), 8000 tokens per step -> 4 pipelines of 2000 tokens,
 * micro-batches of 1000 -> 2 per step; one MoE layer of 1 ms compute, no
 * overlap, no exposed latency, no ZeRO-1; dispatch 1000 B, combine 2000 B.
 * step = 2 x (3 x 1 ms + 2 x (dispatch + combine)) / 2. */
static double small_step(const kb_gpu *g, const claim_hops *h)
{
    claim_cfg c;
    claim_cfg_default(&c);
    char err[128];
    KBT_CHECK(claim_cfg_assume(&c, "nodes=1,gpus_per_node=8,pp=2,batch_seqs=8,seq_len=1000,micro_tokens=1000,"
                                   "layers_dense=0,layers_moe=1,mtp_depth=0,exposed_us=0", err, sizeof err) == 0);
    c.overlap = 0;
    double nvl, ib;
    KBT_CHECK(claim_links(&c, g, &nvl, &ib) == 0);
    claim_in in = {.moe_s = 1e-3};
    in.disp_s = claim_exchange_s(h, 1000, 1000, nvl, ib, 0);
    in.comb_s = claim_exchange_s(h, 1000, 2000, nvl, ib, 0);
    claim_out o;
    claim_train_step(&c, &in, g->sms.v, &o);
    return o.step_s;
}

/* H800 (NVLink 160) vs H100 (NVLink 370), both IB 43 GB/s practical.
 * IB-bound (3 IB copies, 6 NVLink copies per token): IB 3/43 > NVLink 6/160 on
 * both, so x = 1000 x 3000/43e9 + 1000 x 6000/43e9 = 209.302 us on both:
 * step = 3 ms + 2 x 209.302 us = 3.418605 ms, NVLink does not move it.
 * NVLink-bound (0 IB, 5 NVLink): H800 x = 15e6/160e9 = 93.75 us -> 3.1875 ms;
 * H100 x = 15e6/370e9 = 40.54 us -> 3.081081 ms. */
static void test_bottlenecks(void)
{
    const kb_gpu *h800 = kb_gpu_find("h800-sxm"), *h100 = kb_gpu_find("h100-sxm");
    KBT_CHECK(h800 && h100);
    if (!h800 || !h100) return;
    KBT_NEAR(h800->link_gbs_practical.v, 160, 0);
    KBT_NEAR(h100->link_gbs_practical.v, 370, 0);
    KBT_NEAR(h800->ib_gbs_practical.v, 43, 0);
    KBT_NEAR(h100->ib_gbs_practical.v, 43, 0);
    KBT_NEAR(h800->ib_gbs_nominal.v, 50, 0);
    claim_hops ib_bound = {3, 3, 6}, nvl_bound = {1, 0, 5};
    KBT_NEAR(small_step(h800, &ib_bound), 3.418604651162791e-3, 1e-12);
    KBT_NEAR(small_step(h100, &ib_bound), 3.418604651162791e-3, 1e-12);
    KBT_NEAR(small_step(h800, &nvl_bound), 3.1875e-3, 1e-12);
    KBT_NEAR(small_step(h100, &nvl_bound), 3.0810810810810814e-3, 1e-12);
}

/* The whole scenario: in v3-train the exchange is IB-bound, so NVLink 160 vs
 * 370 GB/s leaves it and the step (less the ZeRO-1 sync, whose in-node part
 * rides NVLink) unchanged; in ep8-intranode all of it is NVLink: 370/160 x. */
static void test_evaluate_links(void)
{
    claim_cfg c;
    claim_cfg_default(&c);
    const kb_gpu *h800 = kb_gpu_find("h800-sxm");
    static claim_eval a, b;
    char err[256];
    c.nvlink_gbs = 160;
    KBT_CHECK(claim_evaluate(&c, NULL, CLAIM_V3_TRAIN, h800, &a, err, sizeof err) == 0);
    c.nvlink_gbs = 370;
    KBT_CHECK(claim_evaluate(&c, NULL, CLAIM_V3_TRAIN, h800, &b, err, sizeof err) == 0);
    KBT_CHECK(a.hops.target_nodes <= 4 && a.breakeven_gbps < 160);
    KBT_NEAR(a.in.disp_s + a.in.comb_s, b.in.disp_s + b.in.comb_s, 1e-12);
    KBT_NEAR(a.out.step_s - a.out.zero1_s, b.out.step_s - b.out.zero1_s, 1e-12);
    KBT_CHECK(a.out.zero1_s > b.out.zero1_s);
    c.nvlink_gbs = 160;
    KBT_CHECK(claim_evaluate(&c, NULL, CLAIM_EP8_INTRANODE, h800, &a, err, sizeof err) == 0);
    c.nvlink_gbs = 370;
    KBT_CHECK(claim_evaluate(&c, NULL, CLAIM_EP8_INTRANODE, h800, &b, err, sizeof err) == 0);
    KBT_NEAR((a.in.disp_s + a.in.comb_s) / (b.in.disp_s + b.in.comb_s), 370.0 / 160, 1e-12);
    c.overlap = 0; /* exposed: the step moves by the exchange difference, n_micro x 58+1 layers x 2 / PP */
    KBT_CHECK(claim_evaluate(&c, NULL, CLAIM_EP8_INTRANODE, h800, &b, err, sizeof err) == 0);
    c.nvlink_gbs = 160;
    KBT_CHECK(claim_evaluate(&c, NULL, CLAIM_EP8_INTRANODE, h800, &a, err, sizeof err) == 0);
    double n_micro = 15360.0 * 4096 / (2048 / 16) / 4096, dx = (a.in.disp_s + a.in.comb_s) - (b.in.disp_s + b.in.comb_s);
    /* bubble: (PP/2-1)(F&B + B - 3W) grows by 7 x (2 dx + dx) x 59/16 per stage */
    double want = n_micro * 59 * 2 * dx / 16 + 7 * 3 * dx * 59 / 16 + (a.out.zero1_s - b.out.zero1_s);
    KBT_NEAR(a.out.step_s - b.out.step_s, want, 1e-9);
}

static kb_row mla_row(const char *gpu, const char *dtype, const char *dims, double us)
{
    kb_row r;
    kb_row_init(&r);
    snprintf(r.op, sizeof r.op, "mla_decode");
    snprintf(r.impl, sizeof r.impl, "v1");
    snprintf(r.shape, sizeof r.shape, "b128_sk4096_h128_sq1");
    snprintf(r.dtype, sizeof r.dtype, "%s", dtype);
    snprintf(r.gpu, sizeof r.gpu, "%s", gpu);
    snprintf(r.source, sizeof r.source, "measured");
    snprintf(r.verified, sizeof r.verified, "pass");
    snprintf(r.dims, sizeof r.dims, "%s", dims);
    r.time_us = us;
    /* FlashMLA formula for b=128, s_k=4096 each, h_q=128, s_q=1 */
    r.flops = 2.0 * 128 * (128.0 * 4096) * (576 + 512);
    r.bytes = 2.0 * (128.0 * 4096 * 576 + 128.0 * 128 * 576 + 128.0 * 128 * 512);
    return r;
}

/* The MLA decode term takes only a bf16 row with exactly its dims. */
static void test_term_match(void)
{
    claim_cfg c;
    claim_cfg_default(&c);
    claim_term t[8];
    int n = claim_terms(CLAIM_ATTN_DECODE, 128, 4096, 1, 1024, t, 8), k = -1;
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i].name, "attn.mla_decode")) k = i;
    KBT_CHECK(k >= 0);
    if (k < 0) return;
    KBT_STREQ(t[k].dims, "b=128;sk=4096;hq=128;sq=1;pattern=0;fp8kv=0");
    const kb_gpu *h800 = kb_gpu_find("h800-sxm");
    kb_row rows[3] = {mla_row("h800-sxm", "e4m3kv", t[k].dims, 100),
                      mla_row("h800-sxm", "bf16", "b=128;sk=4096;hq=128;sq=1;pattern=0;fp8kv=0;extra=1", 90)};
    kb_rowset rs = {.r = rows, .n = 2};
    claim_time tm;
    claim_term_time(&c, &rs, &t[k], h800, &tm);
    KBT_CHECK(tm.how == CLAIM_EFFICIENCY); /* dtype mismatch and extra dims refused */
    KBT_CHECK(!claim_row_fits(&t[k], &rows[0]));
    rows[2] = mla_row("h100-sxm", "bf16", t[k].dims, 200);
    rs.n = 3;
    claim_term_time(&c, &rs, &t[k], h800, &tm); /* H100 row, same floors on H800: x 1 */
    KBT_CHECK(tm.how == CLAIM_SCALED);
    KBT_NEAR(tm.s, 200e-6, 1e-12);
    claim_term_time(&c, &rs, &t[k], kb_gpu_find("h100-sxm"), &tm);
    KBT_CHECK(tm.how == CLAIM_MEASURED);
    KBT_NEAR(tm.s, 200e-6, 1e-12);
    KBT_CHECK(strstr(tm.src, "bf16") != NULL);
}

/* No row: floor / efficiency.  FP8 GEMM 4096 x 2112 x 7168: 124017180672 FLOP,
 * compute-bound at 1979 TFLOP/s: 62.6666 us; / 0.65 (DeepGEMM) = 96.4101 us. */
static void test_efficiency(void)
{
    claim_cfg c;
    claim_cfg_default(&c);
    claim_term t[8];
    int n = claim_terms(CLAIM_ATTN_TRAIN, 4096, 0, 4, 8192, t, 8);
    KBT_CHECK(n == 5);
    KBT_STREQ(t[0].dims, "layout=0;m=4096;n=2112;k=7168;g=1;dist=0");
    claim_time tm;
    claim_term_time(&c, NULL, &t[0], kb_gpu_find("h800-sxm"), &tm);
    KBT_CHECK(tm.how == CLAIM_EFFICIENCY);
    KBT_NEAR(tm.s, 9.641013773234344e-05, 1e-9);
    KBT_CHECK(strstr(tm.src, "DeepGEMM") != NULL);
}

static void test_cfg(void)
{
    claim_cfg c;
    char err[256];
    claim_cfg_default(&c);
    KBT_CHECK(claim_cfg_check(&c, err, sizeof err) == 0);
    KBT_CHECK(claim_cfg_assume(&c, "nope=1", err, sizeof err) == -1);
    KBT_CHECK(strstr(err, "nope") != NULL);
    KBT_CHECK(claim_cfg_assume(&c, "pp=x", err, sizeof err) == -1);
    KBT_CHECK(claim_cfg_assume(&c, "ep_train=48", err, sizeof err) == 0);
    KBT_CHECK(claim_cfg_check(&c, err, sizeof err) == -1); /* 48 does not divide 256 */
}

int main(void)
{
    test_tiny_hops();
    test_gate_node_limited();
    test_bubble();
    test_bottlenecks();
    test_evaluate_links();
    test_term_match();
    test_efficiency();
    test_cfg();
    return kbt_done("test_claim");
}
