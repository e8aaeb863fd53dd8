/* claim_model.c - the assumptions, the exchange, the pipeline and the step
 * arithmetic of `kbench claim` (see claim_model.h). */
#include "bench/claim_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/kb_io.h"
#include "bench/report/kbr_v3.h"

#define V3 "V3 report (arXiv 2412.19437)"
/* ---- the assumptions as data ---------------------------------------------------------- */
static const claim_assume assumes[CA_N] = {
    [CA_NODES] = {"nodes", 256, "nodes", V3 ": 2048 H800 in nodes of 8"},
    [CA_GPUS_PER_NODE] = {"gpus_per_node", 8, "GPUs", V3 ": 8 GPUs per node, NVLink + NVSwitch inside"},
    [CA_PP] = {"pp", 16, "stages", V3 " 3.2: 16-way pipeline parallelism (DualPipe)"},
    [CA_EP_TRAIN] = {"ep_train", 64, "GPUs", V3 " 3.2: 64-way expert parallelism across 8 nodes"},
    [CA_SEQ_LEN] = {"seq_len", 4096, "tokens", V3 " 4.2: sequence length 4K"},
    [CA_BATCH_SEQS] = {"batch_seqs", 15360, "sequences", V3 " 4.2: batch 15360 after the first 469B tokens"},
    [CA_MICRO_TOKENS] = {"micro_tokens", 4096, "tokens",
                         "assumption: one 4K sequence per micro-batch per GPU (the report does not give it)"},
    [CA_LAYERS_DENSE] = {"layers_dense", 3, "layers", "V3 config: first_k_dense_replace = 3"},
    [CA_LAYERS_MOE] = {"layers_moe", 58, "layers", "V3 config: 61 layers, 58 of them MoE"},
    [CA_MTP_DEPTH] = {"mtp_depth", 1, "modules", V3 " 4.2: MTP depth 1 (one MoE block, a projection, the shared head)"},
    [CA_COMM_SMS] = {"comm_sms", 20, "SMs", V3 " 3.2.2: 20 of 132 SMs drive communication"},
    [CA_EXPOSED_US] = {"exposed_us", 5, "us",
                       "assumption: latency left exposed per all-to-all under overlap (launch + IB round trip)"},
    [CA_DISPATCH_BYTES] = {"dispatch_bytes", KB_V3_DISPATCH_FP8_B, "bytes", "DeepEP normal mode: FP8 token + 56 FP32 scales"},
    [CA_DISPATCH_LL_BYTES] = {"dispatch_ll_bytes", KB_V3_DISPATCH_LL_B, "bytes", "DeepEP low latency: 7168 + 7168/128*4 + 16"},
    [CA_COMBINE_BYTES] = {"combine_bytes", KB_V3_COMBINE_B, "bytes", V3 " 3.3: combine in BF16 (7168 x 2)"},
    [CA_GRAD_BYTES] = {"grad_bytes", 4, "bytes", V3 " 3.3.4: gradients for accumulation kept in FP32"},
    [CA_PARAM_BYTES] = {"param_bytes", 2, "bytes", "assumption: ZeRO-1 all-gathers BF16 parameters"},
    [CA_EP_PREFILL] = {"ep_prefill", 32, "GPUs", V3 " 3.4.1: prefill unit 4 nodes, EP32"},
    [CA_PREFILL_TOKENS] = {"prefill_tokens", 4096, "tokens", "assumption: prefill chunk per GPU (as kbench report)"},
    [CA_EP_DECODE] = {"ep_decode", 256, "GPUs",
                      V3 " 3.4.2: EP320, one expert per GPU; the 64 redundant/shared-expert GPUs left out"},
    [CA_DECODE_BATCH] = {"decode_batch", 128, "sequences", "DeepEP low-latency setting: 128 tokens per rank"},
    [CA_DECODE_CTX] = {"decode_ctx", 4096, "tokens", "assumption: context of every decoded sequence"},
    [CA_GATE_TOKENS] = {"gate_tokens", 4096, "tokens", "simulated tokens per gate run (seeded)"},
    [CA_GATE_SEED] = {"gate_seed", 1, "", "seed of the standard-normal gate logits"},
    [CA_EFF_GEMM_COMPUTE] = {"eff_deepgemm_compute", 0.65, "of floor",
                             "DeepGEMM README (H800): 1127-1520 TFLOPS at M=4096, grouped 1214-1346, of 1979"},
    [CA_EFF_GEMM_MEMORY] = {"eff_deepgemm_memory", 0.60, "of floor",
                            "DeepGEMM README (H800) M=64 rows: 206-336 TFLOPS, 50-80% of their HBM floor"},
    [CA_EFF_BF16_COMPUTE] = {"eff_flashmla_compute", 0.67, "of floor",
                             "FlashMLA README (H800): 660 TFLOPS compute-bound of 989 BF16"},
    [CA_EFF_MEMORY] = {"eff_flashmla_memory", 0.90, "of floor", "FlashMLA README (H800): 3000 GB/s memory-bound of 3350"},
    [CA_REPORT_GPU_HOURS_PER_TTOK] = {"report_gpu_hours_per_ttok", 2664e3 / 14.8, "GPU-hours",
                                      V3 ": 2664K H800 GPU-hours of pre-training for 14.8T tokens"},
    [CA_ACTIVE_PARAMS] = {"active_params", 37e9, "parameters", V3 ": 37B activated per token (6 x 37B estimate)"},
};

const claim_assume *claim_assumes(void) { return assumes; }

void claim_cfg_default(claim_cfg *c)
{
    memset(c, 0, sizeof *c);
    for (int i = 0; i < CA_N; i++) c->a[i] = assumes[i].def;
    c->overlap = 1;
}

static int set_one(claim_cfg *c, const char *name, size_t len, const char *val, char *err, int errlen)
{
    for (int i = 0; i < CA_N; i++) {
        if (strlen(assumes[i].name) != len || strncmp(assumes[i].name, name, len)) continue;
        double v;
        if (kb_parse_num(val, &v) || !isfinite(v) || v < 0) {
            snprintf(err, (size_t)errlen, "--assume %s: expected a number >= 0, got '%s'", assumes[i].name, val);
            return -1;
        }
        c->a[i] = v;
        c->overridden[i] = 1;
        return 0;
    }
    snprintf(err, (size_t)errlen, "--assume: unknown assumption '%.*s' (see the assume.* rows)", (int)len, name);
    return -1;
}

int claim_cfg_assume(claim_cfg *c, const char *arg, char *err, int errlen)
{
    char buf[512];
    if (strlen(arg) >= sizeof buf) return snprintf(err, (size_t)errlen, "--assume: argument too long"), -1;
    kb_strlcpy(buf, arg, sizeof buf);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(t, '=');
        if (!eq || eq == t) return snprintf(err, (size_t)errlen, "--assume: expected NAME=VALUE, got '%s'", t), -1;
        if (set_one(c, t, (size_t)(eq - t), eq + 1, err, errlen)) return -1;
    }
    return 0;
}

/* An integer assumption in [lo, hi]? */
static int whole(const claim_cfg *c, claim_a i, double lo, double hi)
{
    double v = c->a[i];
    return v == floor(v) && v >= lo && v <= hi;
}

int claim_cfg_check(const claim_cfg *c, char *err, int errlen)
{
    static const claim_a ints[] = {CA_NODES, CA_GPUS_PER_NODE, CA_PP, CA_EP_TRAIN, CA_EP_PREFILL, CA_EP_DECODE,
                                   CA_SEQ_LEN, CA_BATCH_SEQS, CA_MICRO_TOKENS, CA_PREFILL_TOKENS, CA_DECODE_BATCH,
                                   CA_DECODE_CTX, CA_GATE_TOKENS, CA_COMM_SMS};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (!whole(c, ints[i], 1, 1e9))
            return snprintf(err, (size_t)errlen, "--assume %s: expected a whole number >= 1", assumes[ints[i]].name), -1;
    double gpn = c->a[CA_GPUS_PER_NODE];
    static const claim_a eps[] = {CA_EP_TRAIN, CA_EP_PREFILL, CA_EP_DECODE};
    for (int i = 0; i < 3; i++) {
        double ep = c->a[eps[i]];
        if (fmod(256, ep) || (ep > gpn ? fmod(ep, gpn) : fmod(gpn, ep)))
            return snprintf(err, (size_t)errlen, "--assume %s: must divide the 256 experts and fill whole nodes",
                            assumes[eps[i]].name), -1;
    }
    if (fmod(c->a[CA_PP], 2) || c->a[CA_PP] < 2)
        return snprintf(err, (size_t)errlen, "--assume pp: DualPipe needs an even number of stages"), -1;
    double gpus = c->a[CA_NODES] * gpn;
    if (fmod(gpus, c->a[CA_PP] * c->a[CA_EP_TRAIN]))
        return snprintf(err, (size_t)errlen, "--assume: nodes x gpus_per_node must be a multiple of pp x ep_train"), -1;
    for (int i = CA_EFF_GEMM_COMPUTE; i <= CA_EFF_MEMORY; i++)
        if (!(c->a[i] > 0 && c->a[i] <= 1))
            return snprintf(err, (size_t)errlen, "--assume %s: an efficiency in (0, 1]", assumes[i].name), -1;
    return 0;
}

/* ---- the exchange ------------------------------------------------------------------------ */
void claim_hop_bytes(const claim_hops *h, double bytes_per_copy, double *ib_b, double *nvl_b)
{
    *ib_b = h->ib_sends * bytes_per_copy;
    *nvl_b = h->nvl_sends * bytes_per_copy;
}

double claim_exchange_s(const claim_hops *h, double tokens, double bytes_per_copy, double nvl_gbs, double ib_gbs,
                        int serial)
{
    double ib_b, nvl_b;
    claim_hop_bytes(h, bytes_per_copy, &ib_b, &nvl_b);
    double t_ib = ib_b > 0 ? tokens * ib_b / (ib_gbs * 1e9) : 0;
    double t_nvl = nvl_b > 0 ? tokens * nvl_b / (nvl_gbs * 1e9) : 0;
    return serial ? t_ib + t_nvl : fmax(t_ib, t_nvl);
}

double claim_nvlink_breakeven(const claim_hops *h, double ib_gbs)
{
    return h->ib_sends > 0 ? ib_gbs * h->nvl_sends / h->ib_sends : NAN;
}

/* ---- pipeline ------------------------------------------------------------------------------ */
double claim_bubble_dualpipe(double pp, double f_and_b, double b, double w) { return (pp / 2 - 1) * (f_and_b + b - 3 * w); }
double claim_bubble_1f1b(double pp, double f, double b) { return (pp - 1) * (f + b); }

double claim_chunk_s(double compute_s, double comm_s, double exposed_s, int overlap)
{
    return (overlap ? fmax(compute_s, comm_s) : compute_s + comm_s) + exposed_s;
}

/* ---- ZeRO-1 ---------------------------------------------------------------------------------- */
/* Parameters from the V3 config (deepseek-v3.md): attention per layer, dense
 * FFN, MoE (shared expert + gate; routed experts apart), embedding + head. */
#define P_ATTN                                                                                             \
    (KB_V3_HID * (KB_V3_Q_LORA + KB_V3_KV_LORA + KB_V3_ROPE) + KB_V3_Q_LORA * KB_V3_HEADS * (KB_V3_NOPE + KB_V3_ROPE) + \
     KB_V3_KV_LORA * KB_V3_HEADS * (KB_V3_NOPE + KB_V3_VDIM) + KB_V3_HEADS * KB_V3_VDIM * KB_V3_HID)
#define P_DENSE_FFN (3.0 * KB_V3_HID * KB_V3_DENSE_FFN)
#define P_EXPERT (3.0 * KB_V3_HID * KB_V3_MOE_FFN)
#define P_SHARED (P_EXPERT + KB_V3_N_EXPERTS * KB_V3_HID)
#define P_EMBED_HEAD (2.0 * KB_V3_VOCAB * KB_V3_HID)
#define P_MTP_PROJ (2.0 * KB_V3_HID * KB_V3_HID)

double claim_zero1_s(const claim_cfg *c, double nvl_gbs, double ib_gbs)
{
    const double *a = c->a;
    double moe = a[CA_LAYERS_MOE] + a[CA_MTP_DEPTH], gpn = a[CA_GPUS_PER_NODE], pp = a[CA_PP];
    double gpus = a[CA_NODES] * gpn, dp = gpus / pp, ep = a[CA_EP_TRAIN], dpe = dp / ep;
    double p_ne = ((a[CA_LAYERS_DENSE] + moe) * P_ATTN + a[CA_LAYERS_DENSE] * P_DENSE_FFN + moe * P_SHARED +
                   P_EMBED_HEAD + a[CA_MTP_DEPTH] * P_MTP_PROJ) / pp;
    double p_e = moe * 256 * P_EXPERT / (pp * ep);
    double bytes = a[CA_GRAD_BYTES] + a[CA_PARAM_BYTES]; /* reduce-scatter + all-gather */
    /* non-expert: DP over dp GPUs, hierarchical: NVLink in the node, then IB on 1/gpn of it */
    double in_node = dp < gpn ? dp : gpn, nodes = dp / in_node;
    double t = p_ne * bytes * ((in_node - 1) / in_node / (nvl_gbs * 1e9) + (nodes - 1) / nodes / in_node / (ib_gbs * 1e9));
    /* routed experts: dpe replicas, each in another EP group's nodes: IB only */
    t += p_e * bytes * (dpe - 1) / dpe / (ib_gbs * 1e9);
    return t;
}

/* ---- steps -------------------------------------------------------------------------------------- */
/* Compute slows down by sms / (sms - comm_sms) when communication overlaps it. */
static double sm_factor(const claim_cfg *c, double sms)
{
    return c->overlap && sms > c->a[CA_COMM_SMS] ? sms / (sms - c->a[CA_COMM_SMS]) : 1;
}

void claim_train_step(const claim_cfg *c, const claim_in *in, double sms, claim_out *o)
{
    const double *a = c->a;
    double k = sm_factor(c, sms), pp = a[CA_PP], gpus = a[CA_NODES] * a[CA_GPUS_PER_NODE];
    double ld = a[CA_LAYERS_DENSE], lm = a[CA_LAYERS_MOE] + a[CA_MTP_DEPTH];
    double cd = in->dense_s * k, cm = in->moe_s * k, cx = in->extra_s * k, x = in->disp_s + in->comb_s;
    double exposed = 4 * a[CA_EXPOSED_US] * 1e-6; /* dispatch + combine, forward + backward */
    memset(o, 0, sizeof *o);
    o->tokens_per_step = a[CA_BATCH_SEQS] * a[CA_SEQ_LEN];
    double n_micro = o->tokens_per_step / (gpus / pp) / a[CA_MICRO_TOKENS];
    /* one forward + one backward chunk per micro-batch, balanced over the stages */
    double fb = (ld * claim_chunk_s(3 * cd, 0, 0, c->overlap) + lm * claim_chunk_s(3 * cm, 2 * x, exposed, c->overlap) +
                 3 * cx) / pp;
    double compute = (ld * cd + lm * cm + cx) / pp, comm = lm * x / pp;
    double f = compute + comm, b = 2 * compute + comm, w = compute;
    o->bubble_s = claim_bubble_dualpipe(pp, fb, b, w);
    o->bubble_1f1b_s = claim_bubble_1f1b(pp, f, b);
    o->comm_s = n_micro * 2 * comm;
    o->zero1_s = in->zero1_s;
    o->step_s = n_micro * fb + o->bubble_s + o->zero1_s;
    o->flops_per_token = 3 * in->fwd_flops;
    o->tokens_per_s_per_gpu = o->tokens_per_step / o->step_s / gpus;
    o->gpu_hours_per_ttok = 1e12 / o->tokens_per_s_per_gpu / 3600;
}

void claim_serve_step(const claim_cfg *c, const claim_in *in, double sms, double tokens, claim_out *o)
{
    const double *a = c->a;
    double k = sm_factor(c, sms), x = in->disp_s + in->comb_s;
    double exposed = 2 * a[CA_EXPOSED_US] * 1e-6; /* dispatch + combine */
    memset(o, 0, sizeof *o);
    o->tokens_per_step = tokens;
    o->step_s = a[CA_LAYERS_DENSE] * in->dense_s * k +
                a[CA_LAYERS_MOE] * claim_chunk_s(in->moe_s * k, x, exposed, c->overlap) + in->extra_s * k;
    o->comm_s = a[CA_LAYERS_MOE] * x;
    o->flops_per_token = in->fwd_flops;
    o->tokens_per_s_per_gpu = tokens / o->step_s;
    o->gpu_hours_per_ttok = 1e12 / o->tokens_per_s_per_gpu / 3600;
}

int claim_links(const claim_cfg *c, const kb_gpu *g, double *nvl, double *ib)
{
    *nvl = c->nvlink_gbs > 0 ? c->nvlink_gbs : g->link_gbs_practical.v > 0 ? g->link_gbs_practical.v
                                                                           : g->link_gbs_nominal.v;
    *ib = c->ib_gbs > 0 ? c->ib_gbs : g->ib_gbs_practical.v > 0 ? g->ib_gbs_practical.v : g->ib_gbs_nominal.v;
    return *nvl > 0 && *ib > 0 ? 0 : -1;
}

static const char *const scn_names[CLAIM_NSCN] = {"v3-train", "ep8-intranode", "v3-prefill", "v3-decode"};
const char *claim_scn_name(claim_scn s) { return scn_names[s]; }
int claim_scn_parse(const char *name)
{
    for (int i = 0; i < CLAIM_NSCN; i++)
        if (!strcmp(name, scn_names[i])) return i;
    return -1;
}
