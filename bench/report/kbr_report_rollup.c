/* kbr_report_rollup.c - the report's DeepSeek-V3 roll-up section: per GPU, each
 * layer term's time (from the rows, matched by their dims column, else the
 * roofline formula), layer totals, throughput and cost (kbr_rollup.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench/report/kbr_report.h"

#define MAX_TERMS 32
#define MAX_RG 8

typedef struct term_val { double us; char src[220]; } term_val;

/* The roll-up's GPUs: the pair always (the formula needs no rows), then the
 * others of the data; ceil: datasheet with the practical link rate, since
 * all-to-all traffic does not reach the nominal one. */
typedef struct rollup {
    kbr_report *R;
    int ng;
    const char *gl[MAX_RG];
    kb_ceil ceil[MAX_RG];
    const kb_gpu *g[MAX_RG]; /* NULL: not in the GPU table */
} rollup;

static const char *const phase_name[2] = {"prefill", "decode"};
static const char *const layer_name[2] = {"dense", "MoE"};

/* ---- one term ------------------------------------------------------------------- */
/* The expert-parallel exchange: its cluster cost is the claim model's. */
static int is_comm_term(const kbr_term *t) { return t->link_bytes > 0; }

/* Best measured (passed) and best projected row of a term on one GPU: the
 * match is exact in op, dtype and dims (kbr_term_matches); kbench model's
 * nominal-link rows are skipped (the practical link rate, as in the pair). */
static void term_rows(const kb_rowset *s, const kbr_term *t, const char *gpu, const kb_row **bm, const kb_row **bp)
{
    *bm = *bp = NULL;
    if (!strcmp(t->op, "-")) return;
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        if (strcmp(r->gpu, gpu) || !kb_row_has_time(r) || !kbr_term_matches(t, r->op, r->dtype, r->dims)) continue;
        if (kb_row_is_measured(r)) {
            if (kb_row_is_pass(r) && (!*bm || r->time_us < (*bm)->time_us)) *bm = r;
        } else if (strcmp(r->impl, KBR_NOMINAL_LINK_IMPL) && (!*bp || r->time_us < (*bp)->time_us)) *bp = r;
    }
}

/* "what: shape, dtype, GFLOP" - the row a term used, as printed. */
static void row_used(term_val *v, const char *what, const kb_row *r)
{
    snprintf(v->src, sizeof v->src, "%.96s: %.56s, %.16s, %.1f GFLOP", what, r->shape, r->dtype, r->flops / 1e9);
}

static double formula_us(const kbr_term *t, const kb_ceil *c)
{
    return kb_roof_of_msgs(c, t->peak, t->flops, t->bytes, t->link_bytes, kb_link_messages(t->dims)).t_floor_s * 1e6;
}

/* Another GPU's measured row projected onto k (kbr_project_us: that row's own
 * counts at both GPUs' datasheet ceilings).  1 when one was found. */
static int scaled_term(const rollup *U, const kbr_term *t, int k, term_val *v)
{
    for (int j = 0; j < U->ng; j++) {
        const kb_row *om, *op;
        if (j == k) continue;
        term_rows(&U->R->s, t, U->gl[j], &om, &op);
        double us = om ? kbr_project_us(om, U->g[j], U->g[k]) : NAN;
        if (!isfinite(us)) continue;
        char what[96];
        snprintf(what, sizeof what, "%.31s measured %.40s x floor ratio", U->gl[j], om->impl);
        v->us = us;
        row_used(v, what, om);
        return 1;
    }
    return 0;
}

/* Term time on GPU k: its measured row; else (not for the exchange, whose
 * rows may cross other links) another GPU's measured row scaled; else its
 * projected row; else the formula.  The exchange takes a measured row of
 * this GPU only: no NVLink-rate floor stands for a cluster exchange. */
static void resolve_term(const rollup *U, const kbr_term *t, int k, term_val *v)
{
    const kb_row *bm, *bp;
    char what[80];
    term_rows(&U->R->s, t, U->gl[k], &bm, &bp);
    if (bm) {
        snprintf(what, sizeof what, "measured %.63s", bm->impl);
        v->us = bm->time_us;
        row_used(v, what, bm);
    } else if (is_comm_term(t)) {
        v->us = NAN;
        snprintf(v->src, sizeof v->src, "not measured: the claim section models the exchange");
    } else if (!scaled_term(U, t, k, v)) {
        v->us = bp ? bp->time_us : U->g[k] ? formula_us(t, &U->ceil[k]) : NAN;
        if (bp) row_used(v, "projected row", bp);
        else snprintf(v->src, sizeof v->src, "%s", U->g[k] ? "formula (datasheet)" : "n/a");
    }
}

/* ---- phases of the section ---------------------------------------------------------- */
static void rollup_intro(doc *d, const kbr_cfg *cfg)
{
    doc_h(d, 2, "Model roll-up: DeepSeek-V3 kernel times per layer (61 layers = 3 dense + 58 MoE)");
    doc_p(d, "Per GPU, the kernels of one layer and their sum. Each term takes the best measured row of that GPU "
             "that passed verification and matches the term exactly (same op, same dtype, the same dims with the "
             "same values; the row used is printed: shape, dtype, GFLOP), else another GPU's measured row scaled "
             "by the ratio of the two GPUs' roofline floors (both the floor of that row's own FLOPs, bytes and "
             "link bytes at each GPU's datasheet ceilings), else a projected row (`kbench model`, practical link "
             "rate), else the roofline floor at datasheet ceilings. Left out: RMSNorm, RoPE, SwiGLU, activation "
             "quantisation, embedding, LM head and the MTP module.");
    doc_p(d, "No cluster-level verdict here: GPU-hours, cost and the H800-vs-H100 comparison are the first "
             "section's (`kbench claim`), which models the expert-parallel exchange as it runs in the V3 layout "
             "(InfiniBand across nodes, then NVLink) and its overlap with compute. This roll-up would price all "
             "of that traffic at NVLink rates, so its EP all-to-all terms show measured rows only and stay out of "
             "the kernel total.");
    doc_li(d, "prefill: %d tokens per GPU, causal attention over the chunk, experts over EP%d "
              "(%d experts and %d tokens per expert per GPU)", cfg->prefill_tokens, cfg->ep_prefill,
           256 / cfg->ep_prefill, cfg->prefill_tokens * 8 * cfg->ep_prefill / 256);
    doc_li(d, "decode: %d sequences per GPU at %d context, 1 token each, absorbed MLA (BF16 KV cache), EP%d "
              "(%d experts and %d tokens per expert per GPU, every row valid)", cfg->decode_batch, cfg->decode_ctx,
           cfg->ep_decode, 256 / cfg->ep_decode, cfg->decode_batch * 8 * cfg->ep_decode / 256);
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

/* A table line: name, op, dtype, dims, GFLOP, then (us, source) per GPU. */
#define NFIX 5
#define CELL 224
typedef struct tline { char cells[NFIX + 2 * MAX_RG][CELL]; } tline;
static void put_tline(doc *d, const tline *L, int nc)
{
    const char *row[NFIX + 2 * MAX_RG];
    for (int c = 0; c < nc; c++) row[c] = L->cells[c];
    doc_row(d, nc, row);
}

static void layer_header(const rollup *U, int ph, int ly)
{
    static tline h = {{"term", "op", "dtype", "dims", "GFLOP"}};
    for (int k = 0; k < U->ng; k++) {
        snprintf(h.cells[NFIX + 2 * k], CELL, "%s us", U->gl[k]);
        snprintf(h.cells[NFIX + 1 + 2 * k], CELL, "%s source", U->gl[k]);
    }
    const char *hdr[NFIX + 2 * MAX_RG];
    for (int c = 0; c < NFIX + 2 * U->ng; c++) hdr[c] = h.cells[c];
    doc_h(&U->R->d, 3, "%s, one %s layer (per GPU)", phase_name[ph], layer_name[ly]);
    doc_table(&U->R->d, NFIX + 2 * U->ng, hdr);
}

/* One term's line; its time is added to sum[] unless it is the exchange. */
static void term_line(const rollup *U, const kbr_term *t, tline *L, double *sum)
{
    snprintf(L->cells[0], CELL, "%s%s", t->name, is_comm_term(t) ? " (not in the total)" : "");
    snprintf(L->cells[1], CELL, "%s", t->op);
    snprintf(L->cells[2], CELL, "%s", t->dtype ? t->dtype : "-");
    snprintf(L->cells[3], CELL, "%s", t->dims);
    fnum(L->cells[4], CELL, t->flops * t->count / 1e9, 1);
    for (int k = 0; k < U->ng; k++) {
        term_val v;
        resolve_term(U, t, k, &v);
        if (!is_comm_term(t)) sum[k] += v.us * t->count;
        fnum(L->cells[NFIX + 2 * k], CELL, v.us * t->count, 1);
        snprintf(L->cells[NFIX + 1 + 2 * k], CELL, "%s", v.src);
    }
}

static void layer_table(rollup *U, int ph, int ly)
{
    static tline L; /* large: not on the stack */
    kbr_term t[MAX_TERMS];
    int nt = kbr_layer_terms(&U->R->cfg, (kbr_phase)ph, (kbr_layer)ly, t, MAX_TERMS), nc = NFIX + 2 * U->ng;
    double sum[MAX_RG] = {0};
    layer_header(U, ph, ly);
    for (int i = 0; i < nt; i++) {
        term_line(U, &t[i], &L, sum);
        put_tline(&U->R->d, &L, nc);
    }
    memset(&L, 0, sizeof L);
    snprintf(L.cells[0], CELL, "kernel total (no EP exchange)");
    for (int k = 0; k < U->ng; k++) fnum(L.cells[NFIX + 2 * k], CELL, sum[k], 1);
    put_tline(&U->R->d, &L, nc);
    doc_table_end(&U->R->d);
}

void kbr_sec_rollup(kbr_report *R)
{
    rollup U = {.R = R};
    rollup_intro(&R->d, &R->cfg);
    rollup_gpus(&U);
    for (int ph = 0; ph < 2; ph++)
        for (int ly = 0; ly < 2; ly++) layer_table(&U, ph, ly);
}
