/* claim_model.h - `kbench claim`: what a DeepSeek-V3 training step and V3
 * serving cost per GPU type, from kernel times and a two-hop interconnect.
 *
 * The model owns: the named assumptions (each with a value, a unit and its
 * source; printed and overridable); the per-token hop counts of the expert-
 * parallel exchange, from the real group-limited gate (reference/moe_cpu.h)
 * on seeded random scores; the per-layer compute terms and how each term's
 * time is found (measured row, another GPU's row scaled by the floor ratio,
 * or the roofline floor over a published efficiency); the step arithmetic
 * (DualPipe overlap and bubble, ZeRO-1 gradient sync).  cmd_claim.c owns the
 * command line and the CSV.  Plain C, no CUDA.
 *
 * Napkin (V3 layout, H800, defaults): one micro-batch of 4096 tokens per GPU,
 * one MoE layer forward ~5.7 TFLOP (~6 ms at ~1 PFLOP/s); its dispatch sends
 * each token over IB to ~3.2 remote nodes (7392 B each) and NVLink-forwards
 * ~7 copies: 4096 x 3.2 x 7392 B / 43 GB/s ~ 2.3 ms dispatch, ~4.4 ms
 * combine (BF16) - the report's ~1:1 computation-to-communication ratio. */
#ifndef CLAIM_MODEL_H
#define CLAIM_MODEL_H
#include <stdint.h>
#include "bench/kb_roofline.h"
#include "bench/kb_specs.h"
#ifdef __cplusplus
extern "C" {
#endif

/* ---- assumptions ---------------------------------------------------------------- */
/* Every number the model takes that is not a device figure or a kernel time.
 * Names are the `--assume NAME=VALUE` keys and the CSV metric `assume.NAME`. */
typedef enum claim_a {
    CA_NODES = 0, CA_GPUS_PER_NODE, CA_PP, CA_EP_TRAIN, CA_SEQ_LEN, CA_BATCH_SEQS, CA_MICRO_TOKENS,
    CA_LAYERS_DENSE, CA_LAYERS_MOE, CA_MTP_DEPTH, CA_COMM_SMS, CA_EXPOSED_US,
    CA_DISPATCH_BYTES, CA_DISPATCH_LL_BYTES, CA_COMBINE_BYTES, CA_GRAD_BYTES, CA_PARAM_BYTES,
    CA_EP_PREFILL, CA_PREFILL_TOKENS, CA_EP_DECODE, CA_DECODE_BATCH, CA_DECODE_CTX,
    CA_GATE_TOKENS, CA_GATE_SEED,
    CA_EFF_GEMM_COMPUTE, CA_EFF_GEMM_MEMORY, CA_EFF_BF16_COMPUTE, CA_EFF_MEMORY,
    CA_REPORT_GPU_HOURS_PER_TTOK, CA_ACTIVE_PARAMS,
    CA_N
} claim_a;

typedef struct claim_assume {
    const char *name;  /* "micro_tokens"            */
    double def;        /* default                   */
    const char *unit;  /* "tokens"                  */
    const char *src;   /* where the default is from */
} claim_assume;
const claim_assume *claim_assumes(void); /* CA_N entries, in enum order */

typedef struct claim_cfg {
    double a[CA_N];
    int overridden[CA_N];
    int overlap;        /* 1: DualPipe / two-micro-batch overlap; 0: none       */
    int serial_hops;    /* 1: IB then NVLink one after the other (a naive kernel) */
    double nvlink_gbs;  /* > 0: every GPU's NVLink per direction (--nvlink)      */
    double ib_gbs;      /* > 0: every GPU's IB per direction (--ib)              */
} claim_cfg;
void claim_cfg_default(claim_cfg *c);
/* "name=value[,name=value...]": 0, or -1 with a one-line reason in err. */
int claim_cfg_assume(claim_cfg *c, const char *arg, char *err, int errlen);
/* Check what the assumptions must satisfy together (EP divides the 256
 * experts and fits whole nodes, ...): 0, or -1 with the reason in err. */
int claim_cfg_check(const claim_cfg *c, char *err, int errlen);

/* ---- the exchange: two hops ----------------------------------------------------------
 * Per token, averaged over the simulated tokens:
 *   target_nodes  distinct nodes holding one of its experts;
 *   ib_sends      copies over InfiniBand: one per target node other than its
 *                 own (to the GPU with the same in-node index there), or, in
 *                 direct mode (decode), one per remote target GPU;
 *   nvl_sends     copies over NVLink: per target node, one per target GPU
 *                 other than the GPU the token arrived at (or started on). */
typedef struct claim_hops {
    double target_nodes, ib_sends, nvl_sends;
} claim_hops;
/* Count from a routing: idx [n_tokens, topk] global expert ids in
 * [0, n_experts); expert e lives on GPU e / (n_experts / ep); GPU r on node
 * r / gpn; token t starts on GPU t % ep.  0, or -1 when ep does not divide
 * n_experts or gpn does not divide ep. */
int claim_hops_count(const int32_t *idx, int n_tokens, int topk, int n_experts, int ep, int gpn, int direct,
                     claim_hops *out);
/* The same on the real gate (moe_route_select_cpu: 256 experts, 8 groups,
 * top-4 groups, top-8) over n_tokens seeded standard-normal logits, zero bias. */
int claim_gate_hops(int ep, int gpn, int direct, int n_tokens, uint64_t seed, claim_hops *out);
/* Bytes per token on each hop for one exchange of bytes_per_copy. */
void claim_hop_bytes(const claim_hops *h, double bytes_per_copy, double *ib_b, double *nvl_b);
/* Seconds for `tokens` tokens: pipelined max(IB, NVLink), serial the sum. */
double claim_exchange_s(const claim_hops *h, double tokens, double bytes_per_copy, double nvl_gbs, double ib_gbs,
                        int serial);
/* NVLink GB/s per direction below which NVLink, not IB, bounds the exchange:
 * ib_gbs x nvl_sends / ib_sends (NAN when no copy crosses IB). */
double claim_nvlink_breakeven(const claim_hops *h, double ib_gbs);

/* ---- pipeline ------------------------------------------------------------------------
 * DualPipe (deepseek-ai/DualPipe README, "Pipeline Bubbles and Memory Usage
 * Comparison"): bubble (PP/2 - 1)(F&B + B - 3W); 1F1B: (PP - 1)(F + B).  F:
 * forward chunk, B: full backward chunk, W: weight-backward chunk, F&B: a
 * forward and a backward chunk overlapped. */
double claim_bubble_dualpipe(double pp, double f_and_b, double b, double w);
double claim_bubble_1f1b(double pp, double f, double b);
/* One layer's chunk: overlapped max(compute, comm), else the sum; plus exposed. */
double claim_chunk_s(double compute_s, double comm_s, double exposed_s, int overlap);

/* ---- compute terms --------------------------------------------------------------------- */
typedef enum claim_anchor { CLAIM_ANCHOR_DEEPGEMM = 0, CLAIM_ANCHOR_FLASHMLA } claim_anchor;
typedef struct claim_term {
    char name[40];      /* "attn.q_a_kv_a"                                  */
    const char *op;     /* kbench op whose rows can time it, or "-"        */
    const char *dtype;  /* the dtype a row must have ("e4m3", "bf16")       */
    char dims[160];     /* the row's dims column exactly (every pair)       */
    kb_peak peak;
    claim_anchor anchor;
    double flops, bytes; /* per call                                         */
} claim_term;
typedef enum claim_part { CLAIM_ATTN_TRAIN = 0, CLAIM_ATTN_DECODE, CLAIM_MOE, CLAIM_DENSE, CLAIM_HEAD, CLAIM_MTP_PROJ }
    claim_part;
/* The terms of one part for T tokens per GPU (ctx: decode context; g, m:
 * experts per GPU and tokens per expert for CLAIM_MOE).  Returns the count. */
int claim_terms(claim_part part, double T, double ctx, double g, double m, claim_term *out, int max);

/* How a term's time was found. */
typedef enum claim_how { CLAIM_MEASURED = 0, CLAIM_SCALED, CLAIM_EFFICIENCY } claim_how;
typedef struct claim_time {
    double s;
    claim_how how;
    char src[320]; /* label, dtype, FLOPs and how */
} claim_time;
struct kb_rowset;
/* Time of term t on GPU g: the best passing measured row of g with the same
 * op, dtype and dims (every pair, both ways); else such a row of another GPU
 * scaled by the ratio of the two GPUs' roofline floors of that row; else the
 * floor over the anchor's efficiency.  A row whose dtype differs is never
 * taken.  rows may be NULL. */
void claim_term_time(const claim_cfg *c, const struct kb_rowset *rows, const claim_term *t, const kb_gpu *g,
                     claim_time *out);
/* Does row r time term t (op, dtype, dims exactly; measured, passed, timed)? */
struct kb_row;
int claim_row_fits(const claim_term *t, const struct kb_row *r);

/* ---- scenarios -------------------------------------------------------------------------- */
typedef enum claim_scn { CLAIM_V3_TRAIN = 0, CLAIM_EP8_INTRANODE, CLAIM_V3_PREFILL, CLAIM_V3_DECODE, CLAIM_NSCN }
    claim_scn;
const char *claim_scn_name(claim_scn s);
int claim_scn_parse(const char *name); /* -1 if unknown */

/* Per-GPU inputs of one scenario, per micro-batch (training) or per step
 * (serving), forward, all SMs. */
typedef struct claim_in {
    double dense_s, moe_s;    /* compute of one dense / MoE layer        */
    double extra_s;           /* LM head (+ MTP projection and head)      */
    double disp_s, comb_s;    /* the exchange of one MoE layer           */
    double zero1_s;           /* training: ZeRO-1 sync per step, exposed */
    double fwd_flops;         /* per token, forward                      */
} claim_in;
typedef struct claim_out {
    double step_s, comm_s, bubble_s, bubble_1f1b_s, zero1_s;
    double tokens_per_step;   /* training: the cluster's; serving: per GPU */
    double gpu_hours_per_ttok, tokens_per_s_per_gpu;
    double flops_per_token;   /* training: 3 x forward; serving: forward */
} claim_out;
/* Step arithmetic from resolved inputs (tests feed it by hand). */
void claim_train_step(const claim_cfg *c, const claim_in *in, double sms, claim_out *o);
void claim_serve_step(const claim_cfg *c, const claim_in *in, double sms, double tokens, claim_out *o);
/* ZeRO-1 gradient reduce-scatter + parameter all-gather per step, seconds. */
double claim_zero1_s(const claim_cfg *c, double nvl_gbs, double ib_gbs);

/* The links the model uses for g: the overrides, else the practical figures
 * (NVLink link_gbs_practical, IB ib_gbs_practical), else nominal.  0, or -1
 * when a figure is unknown. */
int claim_links(const claim_cfg *c, const kb_gpu *g, double *nvl_gbs, double *ib_gbs);

/* Everything for one scenario on one GPU.  terms/times (may be NULL) receive
 * the terms used and their times (max entries). */
typedef struct claim_eval {
    claim_in in;
    claim_out out;
    claim_hops hops;
    double nvl_gbs, ib_gbs, breakeven_gbps;
    int nterms;
    claim_term terms[24];
    claim_time times[24];
} claim_eval;
int claim_evaluate(const claim_cfg *c, const struct kb_rowset *rows, claim_scn s, const kb_gpu *g,
                   claim_eval *e, char *err, int errlen);

/* `kbench claim ...` (argv[0] = "claim"): the command (cmd_claim.c). */
int kb_claim_main(int argc, char **argv);
#ifdef __cplusplus
}
#endif
#endif
