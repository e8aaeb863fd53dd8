/* claim_eval.c - one scenario on one GPU for `kbench claim`: the layer terms
 * and their times, the gate's hop counts, the exchange, then the step
 * (claim_model.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench/claim_model.h"

/* The shape of a scenario, per GPU. */
typedef struct scn_shape {
    double T, ctx;     /* tokens per micro-batch (training) or per step; decode context */
    double ep;         /* expert-parallel group                                       */
    int direct;        /* decode: IB point-to-point, no NVLink forwarding             */
    int train;
    double disp_bytes;
} scn_shape;

static scn_shape shape_of(const claim_cfg *c, claim_scn s)
{
    const double *a = c->a;
    switch (s) {
    case CLAIM_V3_TRAIN: return (scn_shape){a[CA_MICRO_TOKENS], 0, a[CA_EP_TRAIN], 0, 1, a[CA_DISPATCH_BYTES]};
    case CLAIM_EP8_INTRANODE:
        return (scn_shape){a[CA_MICRO_TOKENS], 0, a[CA_GPUS_PER_NODE], 0, 1, a[CA_DISPATCH_BYTES]};
    case CLAIM_V3_PREFILL: return (scn_shape){a[CA_PREFILL_TOKENS], 0, a[CA_EP_PREFILL], 0, 0, a[CA_DISPATCH_BYTES]};
    default:
        return (scn_shape){a[CA_DECODE_BATCH], a[CA_DECODE_CTX], a[CA_EP_DECODE], 1, 0, a[CA_DISPATCH_LL_BYTES]};
    }
}

/* Add one part's terms to e (times resolved); returns its time and adds its FLOPs to *flops. */
static double part_time(const claim_cfg *c, const struct kb_rowset *rows, const kb_gpu *g, claim_eval *e,
                        claim_part p, const scn_shape *sh, double *flops)
{
    double gpe = 256 / sh->ep, m = sh->T * 8 / gpe, s = 0;
    claim_term t[8];
    int n = claim_terms(p, sh->T, sh->ctx, gpe, m, t, 8);
    *flops = 0;
    for (int i = 0; i < n; i++) {
        int k = e->nterms;
        for (int j = 0; j < e->nterms; j++)
            if (!strcmp(e->terms[j].name, t[i].name)) k = j; /* already there (attention in two layer kinds) */
        if (k == e->nterms && e->nterms < (int)(sizeof e->terms / sizeof e->terms[0])) {
            e->terms[k] = t[i];
            claim_term_time(c, rows, &t[i], g, &e->times[k]);
            e->nterms++;
        }
        if (k >= e->nterms) continue; /* no room: cannot happen with the parts above */
        s += e->times[k].s;
        *flops += t[i].flops;
    }
    return s;
}

/* Layer compute times and forward FLOPs per token. */
static void compute_terms(const claim_cfg *c, const struct kb_rowset *rows, const kb_gpu *g, claim_eval *e,
                          const scn_shape *sh)
{
    const double *a = c->a;
    double fa, fm, fd, fh, fp;
    claim_part attn = sh->ctx > 0 ? CLAIM_ATTN_DECODE : CLAIM_ATTN_TRAIN;
    double ta = part_time(c, rows, g, e, attn, sh, &fa);
    double tm = part_time(c, rows, g, e, CLAIM_MOE, sh, &fm);
    double td = part_time(c, rows, g, e, CLAIM_DENSE, sh, &fd);
    double th = part_time(c, rows, g, e, CLAIM_HEAD, sh, &fh);
    double tp = sh->train ? part_time(c, rows, g, e, CLAIM_MTP_PROJ, sh, &fp) : (fp = 0);
    double mtp = sh->train ? a[CA_MTP_DEPTH] : 0;
    e->in.dense_s = ta + td;
    e->in.moe_s = ta + tm;
    e->in.extra_s = th + mtp * (tp + th);
    e->in.fwd_flops = (a[CA_LAYERS_DENSE] * (fa + fd) + (a[CA_LAYERS_MOE] + mtp) * (fa + fm) + fh + mtp * (fp + fh)) /
                      sh->T;
}

int claim_evaluate(const claim_cfg *c, const struct kb_rowset *rows, claim_scn s, const kb_gpu *g, claim_eval *e,
                   char *err, int errlen)
{
    memset(e, 0, sizeof *e);
    scn_shape sh = shape_of(c, s);
    if (claim_links(c, g, &e->nvl_gbs, &e->ib_gbs))
        return snprintf(err, (size_t)errlen, "%s: NVLink or IB bandwidth unknown (give --nvlink/--ib or a --specs file)",
                        g->slug), -1;
    if (!(g->sms.v > 0)) return snprintf(err, (size_t)errlen, "%s: SM count unknown", g->slug), -1;
    if (claim_gate_hops((int)sh.ep, (int)c->a[CA_GPUS_PER_NODE], sh.direct, (int)c->a[CA_GATE_TOKENS],
                        (uint64_t)c->a[CA_GATE_SEED], &e->hops))
        return snprintf(err, (size_t)errlen, "%s: cannot place EP%.0f on nodes of %.0f", claim_scn_name(s), sh.ep,
                        c->a[CA_GPUS_PER_NODE]), -1;
    compute_terms(c, rows, g, e, &sh);
    e->in.disp_s = claim_exchange_s(&e->hops, sh.T, sh.disp_bytes, e->nvl_gbs, e->ib_gbs, c->serial_hops);
    e->in.comb_s = claim_exchange_s(&e->hops, sh.T, c->a[CA_COMBINE_BYTES], e->nvl_gbs, e->ib_gbs, c->serial_hops);
    e->breakeven_gbps = claim_nvlink_breakeven(&e->hops, e->ib_gbs);
    if (sh.train) {
        e->in.zero1_s = claim_zero1_s(c, e->nvl_gbs, e->ib_gbs);
        claim_train_step(c, &e->in, g->sms.v, &e->out);
    } else {
        claim_serve_step(c, &e->in, g->sms.v, sh.T, &e->out);
    }
    return 0;
}
