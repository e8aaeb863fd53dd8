/* kbr_rollup.h - DeepSeek-V3 model roll-up for `kbench report`: the operators
 * one layer runs, their napkin FLOPs/bytes, and per-token time and cost.
 * Pure functions (no files), tested in tests/test_cmd_report.c.
 *
 * Model (deepseek-v3.md): 61 layers = 3 dense + 58 MoE (the MTP module, the
 * embedding and the LM head are left out); hidden 7168; MLA with q_lora 1536,
 * kv_lora 512, 128 heads, qk 128+64, v 128; 256 routed experts (top-8, FFN
 * 2048) + 1 shared expert; dense FFN 18432.
 *
 * Per GPU, one layer's kernels (no cluster: the GPU-hours, cost and the
 * H800-vs-H100 verdict come from `kbench claim`, the report's first section):
 *   prefill: a chunk of T tokens per GPU (default 4096), attention data-
 *     parallel with all 128 heads, causal over the chunk, non-absorbed MLA
 *     (q_b / kv_b projections as FP8 GEMMs); experts spread over EP GPUs
 *     (default 32: 8 experts per GPU, 4096 tokens per expert, the DeepGEMM
 *     contiguous grouped shapes); FP8 dispatch 7392 B per (token, expert),
 *     BF16 combine 14336 B; the (EP-1)/EP remote share crosses the links
 *     (the roll-up takes these two terms from measured rows only and leaves
 *     them out of the kernel total: their cost is the claim model's).
 *   decode: B sequences (default 128) at context L (default 4096), one token
 *     each, absorbed MLA (MLA decode kernel + two BF16 absorb GEMMs); EP 64
 *     (4 experts per GPU, 256 tokens per expert: the masked grouped shapes);
 *     low-latency dispatch 7408 B per (token, expert), combine 14336 B.
 * Omitted from every layer (reasons the roll-up undercounts): RMSNorm, RoPE,
 * SwiGLU, activation quantisation, residual adds, softmax of the LM head. */
#ifndef KBR_ROLLUP_H
#define KBR_ROLLUP_H
#include "bench/kb_roofline.h"

typedef enum kbr_phase { KBR_PREFILL = 0, KBR_DECODE = 1 } kbr_phase;
typedef enum kbr_layer { KBR_DENSE = 0, KBR_MOE = 1 } kbr_layer;

#define KBR_LAYERS_DENSE 3
#define KBR_LAYERS_MOE 58
/* V3 report: 2664K H800 GPU-hours of pre-training for 14.8T tokens. */
#define KBR_ANCHOR_GPU_HOURS_PER_TTOK (2664e3 / 14.8)
/* training step ~ forward + backward ~ 3 x forward FLOPs (backward = 2x). */
#define KBR_TRAIN_FWD_MULT 3.0

typedef struct kbr_cfg {
    int prefill_tokens; /* per GPU                */
    int decode_batch;   /* sequences per GPU      */
    int decode_ctx;     /* context length         */
    int ep_prefill, ep_decode;
} kbr_cfg;
void kbr_cfg_default(kbr_cfg *c);

typedef struct kbr_term {
    const char *name;   /* "q_a+kv_a proj"                           */
    const char *op;     /* kbench op, or "-" when no op measures it   */
    const char *dtype;  /* the row's dtype column: "e4m3", "bf16", ... */
    char dims[128];     /* every dim of the op's rows, "layout=0;m=4096;n=2112;k=7168;g=1;dist=0" */
    kb_peak peak;       /* floor: kb_roof_of_msgs(ceilings, peak, flops, bytes, link_bytes, kb_link_messages(dims)) */
    double count;       /* calls per layer                           */
    double flops, bytes, link_bytes; /* per call                     */
} kbr_term;

/* Fill out[] with the terms of one layer; returns the count (<= max). */
int kbr_layer_terms(const kbr_cfg *c, kbr_phase ph, kbr_layer ly, kbr_term *out, int max);

/* Does `have` (a row's dims column, "name=value;...") hold every name=value
 * pair of `want`?  Values compare as numbers when both read as numbers. */
int kbr_dims_match(const char *want, const char *have);
/* May a row (op, dtype, dims) stand for term t?  Exact: the same op, the
 * same dtype and the same set of dims with the same values (an FP8-KV MLA row
 * is not the BF16 term; a masked row with drawn valid counts is not the
 * full-rows term). */
int kbr_term_matches(const kbr_term *t, const char *op, const char *dtype, const char *dims);
#endif
