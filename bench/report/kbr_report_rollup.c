/* kbr_report_rollup.c - the report's DeepSeek-V3 roll-up section: per GPU, each
 * layer term's time (from the rows, matched by their dims column, else the
 * roofline formula), layer totals, throughput and cost (kbr_rollup.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench/report/kbr_report.h"

#define MAX_TERMS 32
#define MAX_RG 8

typedef struct term_val { double us; char src[96]; } term_val;

/* The roll-up's GPUs: the pair always (the formula needs no rows), then the
 * others of the data; ceil: datasheet with the practical link rate, since
 * all-to-all traffic does not reach the nominal one. */
typedef struct rollup {
    kbr_report *R;
    int ng;
    const char *gl[MAX_RG];
    kb_ceil ceil[MAX_RG];
    const kb_gpu *g[MAX_RG]; /* NULL: not in the GPU table */
    double layer_us[2][2][MAX_RG]; /* [phase][layer][gpu] */
} rollup;

static const char *const phase_name[2] = {"prefill", "decode"};
static const char *const layer_name[2] = {"dense", "MoE"};

/* ---- one term ------------------------------------------------------------------- */
/* Best measured (passed) and best projected row of a term on one GPU. */
static void term_rows(const kb_rowset *s, const kbr_term *t, const char *gpu, const kb_row **bm, const kb_row **bp)
{
    *bm = *bp = NULL;
    if (!strcmp(t->op, "-")) return;
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        if (strcmp(r->op, t->op) || strcmp(r->gpu, gpu) || !kb_row_has_time(r) || !kbr_dims_match(t->dims, r->dims))
            continue;
        if (kb_row_is_measured(r)) {
            if (kb_row_is_pass(r) && (!*bm || r->time_us < (*bm)->time_us)) *bm = r;
        } else if (!*bp || r->time_us < (*bp)->time_us) *bp = r;
    }
}

static double formula_us(const kbr_term *t, const kb_ceil *c)
{
    return kb_roof_of(c, t->peak, t->flops, t->bytes, t->link_bytes).t_floor_s * 1e6;
}

/* Term time on GPU k: its measured row; else another GPU's measured row
 * projected onto k (kbr_project_us: that row's own counts at both GPUs'
 * datasheet ceilings, so the two floors are computed the same way); else its
 * projected row; else the formula. */
static void resolve_term(const rollup *U, const kbr_term *t, int k, term_val *v)
{
    const kb_row *bm, *bp;
    term_rows(&U->R->s, t, U->gl[k], &bm, &bp);
    if (bm) { v->us = bm->time_us; snprintf(v->src, sizeof v->src, "measured (%s)", bm->impl); return; }
    for (int j = 0; j < U->ng; j++) {
        const kb_row *om, *op;
        if (j == k) continue;
        term_rows(&U->R->s, t, U->gl[j], &om, &op);
        double us = om ? kbr_project_us(om, U->g[j], U->g[k]) : NAN;
        if (!isfinite(us)) continue;
        v->us = us;
        snprintf(v->src, sizeof v->src, "%s measured (%s) x floor ratio", U->gl[j], om->impl);
        return;
    }
    if (bp) { v->us = bp->time_us; snprintf(v->src, sizeof v->src, "projected row"); }
    else if (U->g[k]) { v->us = formula_us(t, &U->ceil[k]); snprintf(v->src, sizeof v->src, "formula (datasheet)"); }
    else { v->us = NAN; snprintf(v->src, sizeof v->src, "n/a"); }
}

/* ---- phases of the section ---------------------------------------------------------- */
static void rollup_intro(doc *d, const kbr_cfg *cfg)
{
    doc_h(d, 2, "Model roll-up: DeepSeek-V3 (61 layers = 3 dense + 58 MoE)");
    doc_p(d, "Assumptions (kbr_rollup.h): per GPU, one layer's operators are summed with no overlap of "
             "communication and compute (DeepSeek overlaps them, so this is pessimistic there); each term "
             "takes the best measured row of that GPU that passed verification and whose dims column holds the "
             "term's dims, else another GPU's measured row scaled by the ratio of the two GPUs' roofline floors "
             "(both the floor of that row's own FLOPs, bytes and link bytes at each GPU's datasheet ceilings), "
             "else a projected row (`kbench model`), else the roofline floor at datasheet ceilings (FP8/BF16 "
             "peak, HBM, practical all-to-all link bandwidth per direction). Left out: RMSNorm, RoPE, SwiGLU, "
             "activation quantisation, embedding, LM head and the MTP module.");
    doc_li(d, "prefill: %d tokens per GPU, causal attention over the chunk, experts over EP%d "
              "(%d experts and %d tokens per expert per GPU)", cfg->prefill_tokens, cfg->ep_prefill,
           256 / cfg->ep_prefill, cfg->prefill_tokens * 8 * cfg->ep_prefill / 256);
    doc_li(d, "decode: %d sequences per GPU at %d context, 1 token each, absorbed MLA, EP%d "
              "(%d experts and %d tokens per expert per GPU)", cfg->decode_batch, cfg->decode_ctx,
           cfg->ep_decode, 256 / cfg->ep_decode, cfg->decode_batch * 8 * cfg->ep_decode / 256);
    doc_li(d, "training: %.0fx the prefill forward time per token (backward ~ 2x forward FLOPs); "
              "no recomputation, pipeline bubbles or optimizer step", KBR_TRAIN_FWD_MULT);
}

static void rollup_gpus(rollup *U)
{
    const char *dg[32];
    int ndg = kbr_gpus_in(&U->R->s, dg, 32);
    U->gl[U->ng++] = U->R->pair.a->slug;
    U->gl[U->ng++] = U->R->pair.b->slug;
    for (int i = 0; i < ndg && U->ng < MAX_RG; i++) {
        int seen = 0;
        for (int j = 0; j < U->ng && !seen; j++) seen = !strcmp(U->gl[j], dg[i]);
        if (!seen) U->gl[U->ng++] = dg[i];
    }
    for (int k = 0; k < U->ng; k++) {
        U->g[k] = kb_gpu_find(U->gl[k]);
        if (U->g[k]) U->ceil[k] = kb_ceil_from_gpu(U->g[k], 1);
    }
}

/* A table line: name, op, dims, GFLOP, then (us, source) per GPU. */
typedef struct tline { char cells[4 + 2 * MAX_RG][112]; } tline;
static void put_tline(doc *d, const tline *L, int nc)
{
    const char *row[4 + 2 * MAX_RG];
    for (int c = 0; c < nc; c++) row[c] = L->cells[c];
    doc_row(d, nc, row);
}

static void layer_header(const rollup *U, int ph, int ly)
{
    tline h = {{"term", "op", "dims", "GFLOP"}};
    for (int k = 0; k < U->ng; k++) {
        snprintf(h.cells[4 + 2 * k], 112, "%s us", U->gl[k]);
        snprintf(h.cells[5 + 2 * k], 112, "%s source", U->gl[k]);
    }
    const char *hdr[4 + 2 * MAX_RG];
    for (int c = 0; c < 4 + 2 * U->ng; c++) hdr[c] = h.cells[c];
    doc_h(&U->R->d, 3, "%s, one %s layer (per GPU)", phase_name[ph], layer_name[ly]);
    doc_table(&U->R->d, 4 + 2 * U->ng, hdr);
}

static void layer_table(rollup *U, int ph, int ly)
{
    kbr_term t[MAX_TERMS];
    int nt = kbr_layer_terms(&U->R->cfg, (kbr_phase)ph, (kbr_layer)ly, t, MAX_TERMS), nc = 4 + 2 * U->ng;
    double sum[MAX_RG] = {0};
    layer_header(U, ph, ly);
    for (int i = 0; i < nt; i++) {
        tline L;
        snprintf(L.cells[0], 112, "%s", t[i].name);
        snprintf(L.cells[1], 112, "%s", t[i].op);
        snprintf(L.cells[2], 112, "%s", t[i].dims);
        fnum(L.cells[3], 112, t[i].flops * t[i].count / 1e9, 1);
        for (int k = 0; k < U->ng; k++) {
            term_val v;
            resolve_term(U, &t[i], k, &v);
            sum[k] += v.us * t[i].count;
            fnum(L.cells[4 + 2 * k], 112, v.us * t[i].count, 1);
            snprintf(L.cells[5 + 2 * k], 112, "%s", v.src);
        }
        put_tline(&U->R->d, &L, nc);
    }
    tline tot = {{"layer total", "", "", ""}};
    for (int k = 0; k < U->ng; k++) {
        U->layer_us[ph][ly][k] = sum[k];
        fnum(tot.cells[4 + 2 * k], 112, sum[k], 1);
    }
    put_tline(&U->R->d, &tot, nc);
    doc_table_end(&U->R->d);
}

static void rollup_throughput(const rollup *U)
{
    doc *d = &U->R->d;
    const kbr_cfg *cfg = &U->R->cfg;
    doc_h(d, 3, "Throughput and cost per GPU");
    static const char *const hdr[] = {"phase", "GPU", "model step ms", "tokens per step", "tokens/s per GPU",
                                      "USD per GPU-hour", "USD per million tokens"};
    doc_table(d, 7, hdr);
    for (int ph = 0; ph < 2; ph++)
        for (int k = 0; k < U->ng; k++) {
            const kbr_price *p = kbr_price_for(&U->R->ps, U->gl[k]);
            kbr_totals tt;
            double tok = ph == 0 ? cfg->prefill_tokens : cfg->decode_batch;
            kbr_model_totals(U->layer_us[ph][0][k], U->layer_us[ph][1][k], tok, p ? p->usd : NAN, &tt);
            char a[32], b[32], c[32], e[32], f[32];
            fnum(a, sizeof a, tt.step_us / 1e3, 2);
            fnum(b, sizeof b, tok, 0);
            fnum(c, sizeof c, tt.tokens_per_s, 0);
            fnum(e, sizeof e, p ? p->usd : NAN, 2);
            fnum(f, sizeof f, tt.usd_per_mtok, 4);
            const char *row[] = {phase_name[ph], U->gl[k], a, b, c, e, f};
            doc_row(d, 7, row);
        }
    doc_table_end(d);
}

/* Training cost per GPU; returns the anchor GPU's ratio to the V3 report. */
static double training_table(const rollup *U)
{
    doc *d = &U->R->d;
    static const char *const hdr[] = {"GPU", "GPU-hours per 1T tokens", "USD per 1T tokens",
                                      "V3 report (" KBR_ANCHOR_GPU ")", "ratio roll-up / V3"};
    double anchor_ratio = NAN;
    char anchor[32];
    snprintf(anchor, sizeof anchor, "%.0f", KBR_ANCHOR_GPU_HOURS_PER_TTOK);
    doc_table(d, 5, hdr);
    for (int k = 0; k < U->ng; k++) {
        const kbr_price *p = kbr_price_for(&U->R->ps, U->gl[k]);
        kbr_totals tt;
        kbr_model_totals(U->layer_us[0][0][k], U->layer_us[0][1][k], U->R->cfg.prefill_tokens, p ? p->usd : NAN, &tt);
        char a[32], b[32], c[32];
        fnum(a, sizeof a, tt.train_gpu_h_per_ttok, 0);
        fnum(b, sizeof b, tt.train_usd_per_ttok, 0);
        double ratio = tt.train_gpu_h_per_ttok / KBR_ANCHOR_GPU_HOURS_PER_TTOK;
        if (!strcmp(U->gl[k], KBR_ANCHOR_GPU)) anchor_ratio = ratio;
        snprintf(c, sizeof c, "%.3f", ratio);
        const char *row[] = {U->gl[k], a, b, anchor, c};
        doc_row(d, 5, row);
    }
    doc_table_end(d);
    return anchor_ratio;
}

static void rollup_training(const rollup *U)
{
    doc *d = &U->R->d;
    doc_h(d, 3, "Training cost per trillion tokens (from the prefill roll-up)");
    double ratio = training_table(U);
    doc_p(d, "Anchor: the V3 technical report's 2664K %s GPU-hours of pre-training for 14.8T tokens = "
             "%.0f GPU-hours per trillion tokens (at $2/GPU-hour: $%.0f). The %s roll-up gives %.2fx that. "
             "It is not expected to match: terms without a measured row are roofline floors at datasheet "
             "peaks (real kernels reach a fraction of them); the roll-up leaves out norms, RoPE, SwiGLU, "
             "quantisation, the embedding and LM head, MTP, recomputation, pipeline bubbles, the optimizer "
             "and data loading; it sums communication instead of overlapping it (DualPipe hides most of it) "
             "and puts all of it on NVLink at the practical per-direction rate, while EP%d spans nodes over "
             "InfiniBand (~50 GB/s); training uses 4K-token sequences with a different parallel layout.",
          KBR_ANCHOR_GPU, KBR_ANCHOR_GPU_HOURS_PER_TTOK, KBR_ANCHOR_GPU_HOURS_PER_TTOK * 2.0, KBR_ANCHOR_GPU, ratio,
          U->R->cfg.ep_prefill);
    doc_h(d, 3, "Prices used");
    for (int i = 0; i < U->R->ps.n; i++)
        doc_li(d, "%s: $%.2f per GPU-hour (%s)", U->R->ps.p[i].gpu, U->R->ps.p[i].usd, U->R->ps.p[i].why);
}

void kbr_sec_rollup(kbr_report *R)
{
    rollup U = {.R = R};
    rollup_intro(&R->d, &R->cfg);
    rollup_gpus(&U);
    for (int ph = 0; ph < 2; ph++)
        for (int ly = 0; ly < 2; ly++) layer_table(&U, ph, ly);
    rollup_throughput(&U);
    rollup_training(&U);
}
