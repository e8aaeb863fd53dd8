/* cmd_claim.c - `kbench claim`: the DeepSeek-V3 cost model's command line,
 * its CSV (scenario,gpu,metric,value,unit,source), the sensitivity sweep
 * (scenario,gpu,axis,gbps,step_time_s) and a table on stdout.  The model is
 * claim_model.h; this file only asks it and writes the answers down. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/claim_model.h"
#include "bench/kb_io.h"
#include "bench/report/csv_table.h"
#include "bench/report/kbr_opts.h"
#include "bench/report/kbr_report.h"

#define MAX_GPUS 8
#define PRICES_DEFAULT KBR_PRICES_DEFAULT ",h200-sxm=3.0"
#define REF_GPU "h100-sxm"

static const char usage[] =
    "usage: kbench claim [--gpu LIST] [--scenario LIST] [--price GPU=USD,...] [--nvlink GBPS] [--ib GBPS]\n"
    "                    [--overlap on|off] [--hops pipelined|serial] [--assume NAME=VALUE,...] [--specs FILE]\n"
    "                    [RESULTS.csv ...] --out FILE.csv [--sweep FILE.csv]\n"
    "  scenarios: v3-train, ep8-intranode, v3-prefill, v3-decode (default: all)\n"
    "  GPUs: default h800-sxm,h100-sxm,h200-sxm; assumptions: the assume.* rows of the output";

/* ---- output rows ---------------------------------------------------------------------- */
typedef struct orow {
    char scn[24], gpu[32], metric[64], unit[32];
    double v;
    char src[400];
} orow;
typedef struct orows { orow *r; int n, cap; } orows;

__attribute__((format(printf, 7, 8))) static void put(orows *o, const char *scn, const char *gpu, const char *metric,
                                                     double v, const char *unit, const char *fmt, ...)
{
    if (o->n == o->cap) {
        int cap = o->cap ? 2 * o->cap : 256;
        orow *r = realloc(o->r, (size_t)cap * sizeof *r);
        if (!r) return;
        o->r = r;
        o->cap = cap;
    }
    orow *w = &o->r[o->n++];
    kb_strlcpy(w->scn, scn, sizeof w->scn);
    kb_strlcpy(w->gpu, gpu, sizeof w->gpu);
    kb_strlcpy(w->metric, metric, sizeof w->metric);
    kb_strlcpy(w->unit, unit, sizeof w->unit);
    w->v = v;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->src, sizeof w->src, fmt, ap);
    va_end(ap);
}

static int write_rows(FILE *f, void *arg)
{
    const orows *o = arg;
    fputs("scenario,gpu,metric,value,unit,source\n", f);
    for (int i = 0; i < o->n; i++) {
        const orow *r = &o->r[i];
        char v[40] = "";
        if (isfinite(r->v)) snprintf(v, sizeof v, "%.10g", r->v);
        kb_csv_field(f, r->scn);
        fputc(',', f);
        kb_csv_field(f, r->gpu);
        fprintf(f, ",%s,%s,", r->metric, v);
        kb_csv_field(f, r->unit);
        fputc(',', f);
        kb_csv_field(f, r->src);
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

/* ---- options --------------------------------------------------------------------------- */
typedef struct claim_args {
    claim_cfg cfg;
    kbr_prices ps;
    const char *gpus, *scns, *out, *sweep, *specs;
    int first;
    char err[256];
} claim_args;

static int gbps_opt(const char *v, void *dst)
{
    double x;
    if (kb_parse_num(v, &x) || !isfinite(x) || x <= 0) return -1;
    *(double *)dst = x;
    return 0;
}
static int overlap_opt(const char *v, void *dst)
{
    if (strcmp(v, "on") && strcmp(v, "off")) return -1;
    *(int *)dst = !strcmp(v, "on");
    return 0;
}
static int hops_opt(const char *v, void *dst)
{
    if (strcmp(v, "pipelined") && strcmp(v, "serial")) return -1;
    *(int *)dst = !strcmp(v, "serial");
    return 0;
}
static int price_opt(const char *v, void *ps) { return kbr_prices_parse(ps, v, "given with --price"); }
static char assume_err[256];
static int assume_opt(const char *v, void *cfg)
{
    return claim_cfg_assume(cfg, v, assume_err, sizeof assume_err);
}

static int parse_args(int argc, char **argv, claim_args *a)
{
    const kbr_opt opts[] = {
        {"gpu", 0, KBR_OPT_STR, &a->gpus, 0, 0, NULL, NULL},
        {"scenario", 0, KBR_OPT_STR, &a->scns, 0, 0, NULL, NULL},
        {"price", 0, KBR_OPT_FN, &a->ps, 0, 0, price_opt, "(GPU=USD_PER_HOUR,..., e.g. " PRICES_DEFAULT ")"},
        {"nvlink", 0, KBR_OPT_FN, &a->cfg.nvlink_gbs, 0, 0, gbps_opt, "(GB/s per direction, > 0)"},
        {"ib", 0, KBR_OPT_FN, &a->cfg.ib_gbs, 0, 0, gbps_opt, "(GB/s per direction, > 0)"},
        {"overlap", 0, KBR_OPT_FN, &a->cfg.overlap, 0, 0, overlap_opt, "(on or off)"},
        {"hops", 0, KBR_OPT_FN, &a->cfg.serial_hops, 0, 0, hops_opt, "(pipelined or serial)"},
        {"assume", 0, KBR_OPT_FN, &a->cfg, 0, 0, assume_opt, assume_err},
        {"out", 'o', KBR_OPT_STR, &a->out, 0, 0, NULL, NULL},
        {"sweep", 0, KBR_OPT_STR, &a->sweep, 0, 0, NULL, NULL},
        {"specs", 0, KBR_OPT_STR, &a->specs, 0, 0, NULL, NULL},
    };
    int rc = kbr_opts_parse("claim", argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), usage, &a->first);
    if (rc) return rc;
    const char *bad = NULL;
    if (!a->out) bad = "--out FILE.csv is required";
    else if (!*a->out || strlen(a->out) > KB_PATH_MAX) bad = "--out: empty or too long a path";
    else if (a->sweep && (!*a->sweep || strlen(a->sweep) > KB_PATH_MAX)) bad = "--sweep: empty or too long a path";
    else if (claim_cfg_check(&a->cfg, a->err, sizeof a->err)) bad = a->err;
    if (!bad) return 0;
    fprintf(stderr, "kbench claim: %s\n", bad);
    return KB_EXIT_USAGE;
}

/* ---- lists ------------------------------------------------------------------------------- */
/* "a,b" into GPUs / scenarios; -1 after one line naming the bad entry. */
static int pick_gpus(const char *list, const kb_gpu **g, int max)
{
    char buf[512];
    int n = 0;
    kb_strlcpy(buf, list, sizeof buf);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!(g[n] = kb_gpu_find(t))) return fprintf(stderr, "kbench claim: --gpu: unknown GPU '%s' (kbench specs)\n", t), -1;
        if (++n == max) return fprintf(stderr, "kbench claim: --gpu: more than %d GPUs\n", max - 1), -1;
    }
    return n ? n : (fprintf(stderr, "kbench claim: --gpu: empty list\n"), -1);
}

static int pick_scns(const char *list, int *on)
{
    char buf[256];
    int n = 0;
    kb_strlcpy(buf, list, sizeof buf);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save), n++) {
        int s = claim_scn_parse(t);
        if (s < 0)
            return fprintf(stderr, "kbench claim: --scenario: unknown '%s' (v3-train, ep8-intranode, v3-prefill, "
                                   "v3-decode)\n", t), -1;
        on[s] = 1;
    }
    return n ? 0 : (fprintf(stderr, "kbench claim: --scenario: empty list\n"), -1);
}

/* ---- rows of one evaluation ----------------------------------------------------------------- */
typedef struct ctx {
    const claim_args *a;
    const kb_rowset *rows;
    orows o;
    FILE *tab; /* the human-readable table */
} ctx;

/* "model: 3 terms measured, 0 scaled, 11 efficiency; NVLink 160 GB/s, IB 43 GB/s" */
static void model_src(const claim_eval *e, char *buf, size_t n)
{
    int k[3] = {0};
    for (int i = 0; i < e->nterms; i++) k[e->times[i].how]++;
    snprintf(buf, n, "model output: terms %d measured, %d scaled, %d efficiency; NVLink %g GB/s, IB %g GB/s", k[0],
             k[1], k[2], e->nvl_gbs, e->ib_gbs);
}

static void put_terms(ctx *C, const char *sn, const char *gpu, const claim_eval *e)
{
    for (int i = 0; i < e->nterms; i++) {
        char m[64];
        snprintf(m, sizeof m, "term.%s.time_s", e->terms[i].name);
        put(&C->o, sn, gpu, m, e->times[i].s, "s", "%s", e->times[i].src);
    }
}

static void put_exchange(ctx *C, const char *sn, const char *gpu, const claim_eval *e, const char *ms)
{
    double ib_b, nvl_b;
    claim_hop_bytes(&e->hops, C->a->cfg.a[sn[3] == 'd' ? CA_DISPATCH_LL_BYTES : CA_DISPATCH_BYTES], &ib_b, &nvl_b);
    const char *gate = "the gate (reference/moe_cpu.c) on seeded normal logits";
    put(&C->o, sn, gpu, "hops.target_nodes", e->hops.target_nodes, "nodes/token", "%s", gate);
    put(&C->o, sn, gpu, "hops.ib_sends", e->hops.ib_sends, "copies/token", "%s", gate);
    put(&C->o, sn, gpu, "hops.nvl_sends", e->hops.nvl_sends, "copies/token", "%s", gate);
    put(&C->o, sn, gpu, "dispatch.ib_bytes_per_token", ib_b, "bytes", "%s", gate);
    put(&C->o, sn, gpu, "dispatch.nvl_bytes_per_token", nvl_b, "bytes", "%s", gate);
    put(&C->o, sn, gpu, "exchange.dispatch_s", e->in.disp_s, "s", "%s; one MoE layer, forward", ms);
    put(&C->o, sn, gpu, "exchange.combine_s", e->in.comb_s, "s", "%s; one MoE layer, forward", ms);
    put(&C->o, sn, gpu, "layer.moe_compute_s", e->in.moe_s, "s", "%s; all SMs, forward", ms);
    put(&C->o, sn, gpu, "layer.dense_compute_s", e->in.dense_s, "s", "%s; all SMs, forward", ms);
    if (isfinite(e->breakeven_gbps))
        put(&C->o, sn, gpu, "nvlink_breakeven_gbps", e->breakeven_gbps, "GB/s",
            "%s; IB x nvl_sends / ib_sends: below it NVLink bounds the exchange", ms);
}

static void put_costs(ctx *C, const char *sn, const char *gpu, const claim_eval *e, const claim_eval *ref,
                      const char *ms)
{
    const claim_out *o = &e->out;
    const kbr_price *p = kbr_price_for(&C->a->ps, gpu);
    double usd = p ? p->usd : NAN;
    const char *why = p ? p->why : "no price for this GPU (--price)";
    put(&C->o, sn, gpu, "step_time_s", o->step_s, "s", "%s", ms);
    put(&C->o, sn, gpu, "comm_time_s", o->comm_s, "s", "%s; the expert-parallel exchange per step, hidden or not", ms);
    put(&C->o, sn, gpu, "ratio_vs_h100", ref ? o->step_s / ref->out.step_s : NAN, "x", "%s; step time / " REF_GPU "'s", ms);
    put(&C->o, sn, gpu, "comm_ratio_vs_h100", ref ? o->comm_s / ref->out.comm_s : NAN, "x",
        "%s; exchange time / " REF_GPU "'s", ms);
    put(&C->o, sn, gpu, "flops_per_token", o->flops_per_token, "FLOP",
        "%s; %s, attention, LM head%s included", ms, sn[3] == 't' || sn[0] == 'e' ? "3 x forward" : "forward",
        sn[3] == 't' || sn[0] == 'e' ? " and MTP" : "");
    put(&C->o, sn, gpu, "tokens_per_s_per_gpu", o->tokens_per_s_per_gpu, "tokens/s", "%s", ms);
    put(&C->o, sn, gpu, "gpu_hours_per_ttok", o->gpu_hours_per_ttok, "GPU-hours", "%s; per 1e12 tokens", ms);
    put(&C->o, sn, gpu, "price_usd_per_gpu_hour", usd, "USD", "%s", why);
    put(&C->o, sn, gpu, "usd_per_ttok", o->gpu_hours_per_ttok * usd, "USD", "%s; price: %s", ms, why);
    put(&C->o, sn, gpu, "usd_per_mtok", o->gpu_hours_per_ttok * usd / 1e6, "USD", "%s; price: %s", ms, why);
    put(&C->o, sn, gpu, "link.nvlink_gbs", e->nvl_gbs, "GB/s", "%s",
        C->a->cfg.nvlink_gbs > 0 ? "--nvlink" : kb_gpu_find(gpu)->link_gbs_practical.src);
    put(&C->o, sn, gpu, "link.ib_gbs", e->ib_gbs, "GB/s", "%s",
        C->a->cfg.ib_gbs > 0 ? "--ib" : kb_gpu_find(gpu)->ib_gbs_practical.src);
}

/* Training only: the pipeline, ZeRO-1 and the calibration against the report. */
static void put_train(ctx *C, const char *sn, const char *gpu, const claim_eval *e, const char *ms)
{
    const claim_out *o = &e->out;
    const double *a = C->a->cfg.a;
    put(&C->o, sn, gpu, "flops_per_token_6n", 6 * a[CA_ACTIVE_PARAMS], "FLOP", "6 x active parameters (usual estimate)");
    put(&C->o, sn, gpu, "bubble_s", o->bubble_s, "s",
        "%s; DualPipe (PP/2-1)(F&B+B-3W), deepseek-ai/DualPipe README", ms);
    put(&C->o, sn, gpu, "bubble_1f1b_s", o->bubble_1f1b_s, "s", "%s; 1F1B (PP-1)(F+B) for comparison, not used", ms);
    put(&C->o, sn, gpu, "zero1_s", o->zero1_s, "s", "%s; reduce-scatter + all-gather, NVLink in node, IB across", ms);
    put(&C->o, sn, gpu, "tokens_per_step", o->tokens_per_step, "tokens", "batch_seqs x seq_len");
    if (strcmp(gpu, "h800-sxm") || strcmp(sn, "v3-train")) return;
    double rep = a[CA_REPORT_GPU_HOURS_PER_TTOK];
    put(&C->o, sn, gpu, "calib.report_gpu_hours_per_ttok", rep, "GPU-hours", "%s",
        claim_assumes()[CA_REPORT_GPU_HOURS_PER_TTOK].src);
    put(&C->o, sn, gpu, "calib.not_modelled_factor", rep / o->gpu_hours_per_ttok, "x",
        "report / model: not modelled (load imbalance, recomputation, optimizer step, I/O, failures, ...); never fitted");
}

static void print_scenario(FILE *f, const kbr_prices *ps, claim_scn s, const kb_gpu *const *g, int ng,
                           const claim_eval *ev, const claim_eval *ref);

static int eval_one(ctx *C, claim_scn s, const kb_gpu *g, claim_eval *e)
{
    char err[256];
    if (claim_evaluate(&C->a->cfg, C->rows, s, g, e, err, sizeof err) == 0) return 0;
    fprintf(stderr, "kbench claim: %s\n", err);
    return -1;
}

static int put_scenario(ctx *C, claim_scn s, const kb_gpu *const *g, int ng, claim_eval *ev)
{
    static claim_eval ref;
    const kb_gpu *h = kb_gpu_find(REF_GPU);
    int have_ref = h && eval_one(C, s, h, &ref) == 0;
    if (h && !have_ref) return -1;
    const char *sn = claim_scn_name(s);
    for (int i = 0; i < ng; i++) {
        claim_eval *e = &ev[i];
        char ms[160];
        if (eval_one(C, s, g[i], e)) return -1;
        model_src(e, ms, sizeof ms);
        put_costs(C, sn, g[i]->slug, e, have_ref ? &ref : NULL, ms);
        if (s == CLAIM_V3_TRAIN || s == CLAIM_EP8_INTRANODE) put_train(C, sn, g[i]->slug, e, ms);
        put_exchange(C, sn, g[i]->slug, e, ms);
        put_terms(C, sn, g[i]->slug, e);
    }
    print_scenario(C->tab, &C->a->ps, s, g, ng, ev, have_ref ? &ref : &ev[0]);
    for (int i = 0; i < ng && s == CLAIM_V3_TRAIN; i++)
        if (!strcmp(g[i]->slug, "h800-sxm"))
            fprintf(C->tab, "  calibration: V3 report %.0f H800 GPU-hours per 1e12 tokens, model %.0f: factor %.2f "
                            "not modelled (imbalance, recomputation, optimizer, I/O, failures; never fitted)\n",
                    C->a->cfg.a[CA_REPORT_GPU_HOURS_PER_TTOK], ev[i].out.gpu_hours_per_ttok,
                    C->a->cfg.a[CA_REPORT_GPU_HOURS_PER_TTOK] / ev[i].out.gpu_hours_per_ttok);
    return 0;
}

static void put_assumptions(ctx *C)
{
    const claim_cfg *c = &C->a->cfg;
    const claim_assume *as = claim_assumes();
    for (int i = 0; i < CA_N; i++) {
        char m[64];
        snprintf(m, sizeof m, "assume.%s", as[i].name);
        if (c->overridden[i])
            put(&C->o, "all", "all", m, c->a[i], as[i].unit, "--assume override (default %g: %s)", as[i].def, as[i].src);
        else
            put(&C->o, "all", "all", m, c->a[i], as[i].unit, "%s", as[i].src);
    }
    put(&C->o, "all", "all", "assume.overlap", c->overlap, "on=1", "%s",
        c->overlap ? "DualPipe: per chunk max(compute, comm) + exposed latency; comm SMs taken from compute"
                   : "--overlap off: compute + comm per chunk");
    put(&C->o, "all", "all", "assume.hops_serial", c->serial_hops, "serial=1", "%s",
        c->serial_hops ? "--hops serial: IB then NVLink (a naive kernel)" : "IB and NVLink hops pipelined: max(IB, NVLink)");
}

/* ---- the sweep: step time vs NVLink and vs IB bandwidth --------------------------------------- */
typedef struct sweep_arg { const claim_args *a; const kb_rowset *rows; const kb_gpu *const *g; int ng; } sweep_arg;

static int write_sweep(FILE *f, void *arg)
{
    const sweep_arg *S = arg;
    static const claim_scn scn[] = {CLAIM_V3_TRAIN, CLAIM_EP8_INTRANODE};
    static const char *const axis[] = {"nvlink", "ib"};
    /* GB/s per direction: NVLink 50..900 (H800 400 and H100 900 both ways inside); IB 5..100 (ConnectX-7
     * 50, ConnectX-8 100 per GPU: where the NIC, not NVLink, moves the V3 step) */
    static const int sweep_lo[] = {50, 5}, sweep_hi[] = {900, 100};
    fputs("scenario,gpu,axis,gbps,step_time_s\n", f);
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < S->ng; i++)
            for (int ax = 0; ax < 2; ax++)
                for (int gb = sweep_lo[ax]; gb <= sweep_hi[ax]; gb += sweep_lo[ax]) {
                    claim_cfg c = S->a->cfg;
                    static claim_eval e;
                    char err[256];
                    *(ax ? &c.ib_gbs : &c.nvlink_gbs) = gb;
                    if (claim_evaluate(&c, S->rows, scn[s], S->g[i], &e, err, sizeof err)) return -1;
                    fprintf(f, "%s,%s,%s,%d,%.10g\n", claim_scn_name(scn[s]), S->g[i]->slug, axis[ax], gb, e.out.step_s);
                }
    return ferror(f) ? -1 : 0;
}

/* ---- the table on stdout ------------------------------------------------------------------------ */
static void print_scenario(FILE *f, const kbr_prices *ps, claim_scn s, const kb_gpu *const *g, int ng,
                           const claim_eval *ev, const claim_eval *ref)
{
    fprintf(f, "\n%s  (hops per token: %.2f target nodes, %.2f IB copies, %.2f NVLink copies)\n", claim_scn_name(s),
            ev[0].hops.target_nodes, ev[0].hops.ib_sends, ev[0].hops.nvl_sends);
    fprintf(f, "  %-10s %10s %12s %8s %10s %8s %10s %11s %10s  %s\n", "gpu", "step s", "GPU-h/Ttok", "vs H100",
            "comm s", "comm x", "NVL brk", "tok/s/GPU", "USD/Mtok", "terms (meas/scaled/eff)");
    for (int i = 0; i < ng; i++) {
        const claim_eval *e = &ev[i];
        int k[3] = {0};
        const kbr_price *p = kbr_price_for(ps, g[i]->slug);
        for (int j = 0; j < e->nterms; j++) k[e->times[j].how]++;
        fprintf(f, "  %-10s %10.4g %12.4g %8.3f %10.4g %8.3f %10.4g %11.5g %10.4g  %d/%d/%d\n", g[i]->slug,
                e->out.step_s, e->out.gpu_hours_per_ttok, e->out.step_s / ref->out.step_s, e->out.comm_s,
                e->out.comm_s / ref->out.comm_s, e->breakeven_gbps, e->out.tokens_per_s_per_gpu,
                p ? e->out.gpu_hours_per_ttok * p->usd / 1e6 : NAN, k[0], k[1], k[2]);
    }
}

/* ---- the command ------------------------------------------------------------------------------- */
static int load_rows(claim_args *a, int argc, char **argv, kb_rowset *rs)
{
    char err[512];
    const char *sp = a->specs ? a->specs : getenv("KBENCH_SPECS");
    if (sp && *sp && kb_specs_load(sp, err, sizeof err))
        return fprintf(stderr, "kbench claim: --specs %s\n", err), KB_EXIT_USAGE;
    for (int i = a->first; i < argc; i++) {
        int rc = kb_rows_load(rs, argv[i], NULL, err, sizeof err);
        if (rc) return fprintf(stderr, "kbench claim: %s\n", err), rc;
    }
    if (kb_rows_check_enums(rs, err, sizeof err)) return fprintf(stderr, "kbench claim: %s\n", err), KB_EXIT_USAGE;
    return 0;
}

static int run(claim_args *a, const kb_rowset *rs, const kb_gpu *const *g, int ng, const int *on)
{
    static claim_eval ev[MAX_GPUS];
    ctx C = {.a = a, .rows = rs, .tab = strcmp(a->out, "-") ? stdout : stderr};
    char err[600];
    int rc = 0;
    fprintf(C.tab, "kbench claim: DeepSeek-V3 cost model (model output%s; unverified on GPU)\n",
            rs->n ? ", measured rows where they match" : ", no measured rows: published efficiencies");
    put_assumptions(&C);
    for (int s = 0; s < CLAIM_NSCN && !rc; s++)
        if (on[s] && put_scenario(&C, (claim_scn)s, g, ng, ev)) rc = KB_EXIT_USAGE;
    if (!rc && kb_write_atomic(a->out, write_rows, &C.o, err, sizeof err))
        rc = (fprintf(stderr, "kbench claim: %s\n", err), KB_EXIT_IO);
    sweep_arg S = {a, rs, g, ng};
    if (!rc && a->sweep && kb_write_atomic(a->sweep, write_sweep, &S, err, sizeof err))
        rc = (fprintf(stderr, "kbench claim: %s\n", err), KB_EXIT_IO);
    if (!rc) fprintf(C.tab, "\nwrote %s (%d rows)%s%s\n", a->out, C.o.n, a->sweep ? " and " : "", a->sweep ? a->sweep : "");
    free(C.o.r);
    return rc;
}

int kb_claim_main(int argc, char **argv)
{
    static claim_args a;
    memset(&a, 0, sizeof a);
    claim_cfg_default(&a.cfg);
    kbr_prices_parse(&a.ps, PRICES_DEFAULT, "default: an assumption (typical cloud rate), not a quote");
    for (int i = 0; i < a.ps.n; i++)
        if (!strcmp(a.ps.p[i].gpu, "h800-sxm")) a.ps.p[i].why = "default: the V3 report's rental assumption ($2/GPU-hour)";
    a.gpus = "h800-sxm,h100-sxm,h200-sxm";
    a.scns = "v3-train,ep8-intranode,v3-prefill,v3-decode";
    int rc = parse_args(argc, argv, &a);
    if (rc == KBR_OPTS_HELP) return KB_EXIT_OK;
    if (rc) return rc;
    const kb_gpu *g[MAX_GPUS + 1];
    int on[CLAIM_NSCN] = {0}, ng;
    kb_rowset rs = {0};
    if ((rc = load_rows(&a, argc, argv, &rs))) goto done;
    if ((ng = pick_gpus(a.gpus, g, MAX_GPUS + 1)) < 0 || pick_scns(a.scns, on)) {
        rc = KB_EXIT_USAGE;
        goto done;
    }
    rc = run(&a, &rs, g, ng, on);
done:
    kb_rows_free(&rs);
    return rc;
}
