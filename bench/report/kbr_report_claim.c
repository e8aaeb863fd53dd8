/* kbr_report_claim.c - the report's first section: what DeepSeek-V3 costs on
 * H800, H100 and H200, from the CSV `kbench claim` writes (kbr_claim.h).
 * Phases: intro -> the answer (what the NVLink cut costs, computed from the
 * rows) -> the cost table -> assumptions -> model terms.  Every number is a
 * model projection unless its row's source says measured; the report never
 * computes a cost of its own here, it only reads and compares claim rows. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench/report/kbr_report.h"

#define MAX_KEYS 16
#define TRAIN "v3-train"
#define EP8 "ep8-intranode"

/* A number as the section prints it: "-" when absent, whole above 1000, else 4 significant digits. */
static const char *sig(char *buf, size_t n, double v)
{
    if (!isfinite(v)) snprintf(buf, n, "-");
    else if (fabs(v) >= 1000) snprintf(buf, n, "%.0f", v);
    else snprintf(buf, n, "%.4g", v);
    return buf;
}

/* 2.606e+11 as "2.606e11": FLOP counts. */
static const char *kbr_claim_eng(char *buf, size_t n, double v)
{
    int e = v > 0 ? (int)floor(log10(v)) : 0;
    snprintf(buf, n, "%.4ge%d", v / pow(10, e), e);
    return buf;
}

/* A cell of (scenario, gpu, metric): its number, "(measured)" when its source says so. */
static const char *cell(char *buf, size_t n, const kbr_claim *c, const char *sc, const char *gpu, const char *metric)
{
    const kbr_claim_row *r = kbr_claim_get(c, sc, gpu, metric);
    char v[48];
    sig(v, sizeof v, r ? r->value : NAN);
    snprintf(buf, n, "%s%s", v, kbr_claim_measured(r) ? " (measured)" : "");
    return buf;
}

static void claim_missing(kbr_report *R)
{
    doc_p(&R->d, "No claim CSV given: this section needs the DeepSeek-V3 cost model's output. Produce it with "
                 "`kbench claim --out results/model/claim.csv` (no GPU needed; give measured result CSVs to "
                 "use measured kernel times), then `kbench report ... --claim results/model/claim.csv` "
                 "(`./run_all.sh` does both).");
}

/* ---- the answer ------------------------------------------------------------------- */
typedef struct answer {
    const kbr_claim *c;
    const char *a, *ref; /* the export GPU and the reference */
    int used, measured;  /* rows read, of them measured      */
} answer;

static double val(answer *A, const char *sc, const char *gpu, const char *metric)
{
    const kbr_claim_row *r = kbr_claim_get(A->c, sc, gpu, metric);
    if (!r) return NAN;
    A->used++;
    A->measured += kbr_claim_measured(r);
    return r->value;
}

static void answer_train(doc *d, answer *A)
{
    double r = val(A, TRAIN, A->a, "ratio_vs_h100"), ga = val(A, TRAIN, A->a, "gpu_hours_per_ttok");
    double gr = val(A, TRAIN, A->ref, "gpu_hours_per_ttok"), cr = val(A, TRAIN, A->a, "comm_ratio_vs_h100");
    double ua = val(A, TRAIN, A->a, "usd_per_ttok"), ur = val(A, TRAIN, A->ref, "usd_per_ttok");
    char s[6][48];
    if (!isfinite(r)) {
        doc_li(d, "No `%s` ratio_vs_h100 row for %s in the claim CSV: no answer for the V3 training layout.", TRAIN,
               A->a);
        return;
    }
    if (isfinite(ga / gr)) snprintf(s[5], 48, "%+.1f%%", 100 * (ga / gr - 1));
    else snprintf(s[5], 48, "-");
    doc_li(d, "V3 training layout (`%s`, EP64 across 8 nodes): an %s step takes %.2fx the %s's; %s vs %s GPU-hours "
              "per trillion tokens (%s), $%s vs $%s per trillion tokens; its expert exchange takes %sx the %s's.",
           TRAIN, A->a, r, A->ref, sig(s[0], 48, ga), sig(s[1], 48, gr), s[5], sig(s[2], 48, ua), sig(s[3], 48, ur),
           sig(s[4], 48, cr), A->ref);
}

static void answer_ep8(doc *d, answer *A)
{
    double r = val(A, EP8, A->a, "ratio_vs_h100"), cr = val(A, EP8, A->a, "comm_ratio_vs_h100");
    char s[48];
    if (!isfinite(r)) return;
    doc_li(d, "EP8 inside one node (`%s`), where all expert traffic is on NVLink: an %s step takes %.2fx the %s's, "
              "its exchange %sx.",
           EP8, A->a, r, A->ref, sig(s, sizeof s, cr));
}

/* Below the break-even, NVLink (not InfiniBand) bounds the V3 exchange: is the H800's link below it? */
static void answer_breakeven(doc *d, answer *A)
{
    double be = val(A, TRAIN, A->a, "nvlink_breakeven_gbps");
    const kb_gpu *g = kb_gpu_find(A->a);
    char s[48];
    if (!isfinite(be) || !g || !(g->link_gbs_nominal.v > 0)) return;
    double link = g->link_gbs_practical.v > 0 ? g->link_gbs_practical.v : g->link_gbs_nominal.v;
    doc_li(d, "NVLink bounds the V3 exchange only below %s GB/s per direction; the %s achieves %.0f GB/s per "
              "direction (datasheet %.0f), %s.",
           sig(s, sizeof s, be), A->a, link, g->link_gbs_nominal.v,
           link >= be ? "above it: in the V3 layout InfiniBand, the same on all three GPUs, bounds the exchange, "
                        "not the NVLink cut"
                      : "below it: the NVLink cut does bound the exchange in the V3 layout");
}

/* The model beside the V3 report: GPU-hours per 1e12 tokens and FLOPs per
 * token, and the factor between model and report, printed, never fitted. */
static void answer_calib(doc *d, answer *A)
{
    double model = val(A, TRAIN, A->a, "gpu_hours_per_ttok"), rep = val(A, TRAIN, A->a, "calib.report_gpu_hours_per_ttok");
    double f = val(A, TRAIN, A->a, "calib.not_modelled_factor");
    double fl = val(A, TRAIN, A->a, "flops_per_token"), fl6 = val(A, TRAIN, A->a, "flops_per_token_6n");
    char s[4][48];
    if (isfinite(model) && isfinite(rep) && isfinite(f))
        doc_li(d, "Calibration: the model gives %s %s GPU-hours per trillion training tokens; the V3 report's 2.664M "
                  "GPU-hours for 14.8T tokens are %s per trillion, %.2fx the model. That factor is not modelled "
                  "(load imbalance, recomputation, optimizer, I/O, failures) and never fitted.",
               sig(s[0], 48, model), A->a, sig(s[1], 48, rep), f);
    if (isfinite(fl) && isfinite(fl6))
        doc_li(d, "FLOPs per training token in the model: %s (3 x forward with attention, LM head and MTP), beside the "
                  "usual 6 x 37B = %s.", kbr_claim_eng(s[2], 48, fl), kbr_claim_eng(s[3], 48, fl6));
}

static void claim_answer(kbr_report *R)
{
    answer A = {.c = &R->claim, .a = KBR_ANCHOR_GPU, .ref = KBR_CLAIM_REF_GPU};
    doc *d = &R->d;
    doc_h(d, 3, "What the NVLink cut costs (%s vs %s)", A.a, A.ref);
    answer_train(d, &A);
    answer_ep8(d, &A);
    answer_breakeven(d, &A);
    answer_calib(d, &A);
    doc_p(d, "%s", A.used && A.measured == A.used
                       ? "Every number above comes from rows the claim CSV marks measured."
                       : "Projected by the model (kbench claim), not measured: unverified on GPU.");
}

/* ---- the cost table ----------------------------------------------------------------- */
static const char *const cost_metric[] = {"gpu_hours_per_ttok", "usd_per_ttok",   "step_time_s",
                                          "ratio_vs_h100",      "comm_time_s",    "comm_ratio_vs_h100",
                                          "tokens_per_s_per_gpu", "usd_per_mtok"};
#define NCOST ((int)(sizeof cost_metric / sizeof cost_metric[0]))

static void claim_table(kbr_report *R, const char *const *sc, int nsc, const char *const *gpu, int ng)
{
    static const char *const hdr[2 + NCOST] = {
        "scenario", "GPU", "GPU-hours per 1e12 tokens", "USD per 1e12 tokens", "step time s", "step vs H100",
        "comm time s", "comm vs H100", "tokens/s per GPU", "USD per 1e6 tokens"};
    doc_h(&R->d, 3, "Cost per scenario and GPU (model, projected unless marked measured)");
    doc_table(&R->d, 2 + NCOST, hdr);
    for (int s = 0; s < nsc; s++)
        for (int g = 0; g < ng; g++) {
            char buf[NCOST][64];
            const char *row[2 + NCOST] = {sc[s], gpu[g]};
            int any = 0;
            for (int m = 0; m < NCOST; m++) {
                any |= kbr_claim_get(&R->claim, sc[s], gpu[g], cost_metric[m]) != NULL;
                row[2 + m] = cell(buf[m], sizeof buf[m], &R->claim, sc[s], gpu[g], cost_metric[m]);
            }
            if (any) doc_row(&R->d, 2 + NCOST, row);
        }
    doc_table_end(&R->d);
}

/* ---- assumptions and terms -------------------------------------------------------------- */
static int is_assume(const kbr_claim_row *r) { return !strncmp(r->metric, "assume.", 7); }
static int is_term(const kbr_claim_row *r)
{
    size_t l = strlen(r->metric);
    return !strncmp(r->metric, "term.", 5) && l > 12 && !strcmp(r->metric + l - 7, ".time_s");
}

/* "v3-train / h800-sxm", or what of it is given. */
static int is_all(const char *k) { return !k[0] || !strcmp(k, "-") || !strcmp(k, "all"); }
static const char *scope(char *buf, size_t n, const kbr_claim_row *r)
{
    const char *sc = is_all(r->scenario) ? "" : r->scenario, *g = is_all(r->gpu) ? "" : r->gpu;
    snprintf(buf, n, "%s%s%s", sc, sc[0] && g[0] ? " / " : "", g);
    if (!buf[0]) snprintf(buf, n, "all");
    return buf;
}

static void claim_assumptions(kbr_report *R)
{
    static const char *const hdr[] = {"assumption", "scope", "value", "unit", "source"};
    int any = 0;
    doc_h(&R->d, 3, "Assumptions (override them with `kbench claim` options)");
    for (int i = 0; i < R->claim.n; i++) {
        const kbr_claim_row *r = &R->claim.r[i];
        if (!is_assume(r)) continue;
        char v[48], sc[80];
        const char *row[] = {r->metric + 7, scope(sc, sizeof sc, r), sig(v, sizeof v, r->value), r->unit, r->source};
        if (!any++) doc_table(&R->d, 5, hdr);
        doc_row(&R->d, 5, row);
    }
    if (any) doc_table_end(&R->d);
    else doc_p(&R->d, "The claim CSV lists no `assume.*` rows.");
}

static void claim_terms(kbr_report *R)
{
    static const char *const hdr[] = {"term", "scenario", "GPU", "time s", "source (row used or efficiency anchor)"};
    int any = 0;
    doc_h(&R->d, 3, "Model terms (per step, model unless the source says measured)");
    for (int i = 0; i < R->claim.n; i++) {
        const kbr_claim_row *r = &R->claim.r[i];
        if (!is_term(r)) continue;
        char name[96], v[48];
        snprintf(name, sizeof name, "%.*s", (int)(strlen(r->metric) - 12), r->metric + 5);
        const char *row[] = {name, r->scenario, r->gpu, sig(v, sizeof v, r->value), r->source};
        if (!any++) doc_table(&R->d, 5, hdr);
        doc_row(&R->d, 5, row);
    }
    if (any) doc_table_end(&R->d);
    else doc_p(&R->d, "The claim CSV lists no `term.*.time_s` rows.");
}

void kbr_sec_claim(kbr_report *R)
{
    doc_h(&R->d, 2, "What DeepSeek-V3 costs on H800, H100 and H200");
    if (!R->claim_path) { claim_missing(R); return; }
    const char *sc[MAX_KEYS], *gpu[MAX_KEYS];
    int nsc = kbr_claim_keys(&R->claim, 0, sc, MAX_KEYS), ng = kbr_claim_keys(&R->claim, 1, gpu, MAX_KEYS);
    doc_p(&R->d, "From `%s`, written by `kbench claim`: a model of DeepSeek-V3's training layout (2048 GPUs, EP64 "
                 "across nodes: expert traffic crosses InfiniBand once per target node, then NVLink) and its "
                 "serving deployments. These are model numbers (projected), not measurements, unless marked "
                 "measured; nothing here has run on a GPU. Ratios are over the %s in the same scenario.",
          R->claim_path, KBR_CLAIM_REF_GPU);
    claim_answer(R);
    claim_table(R, sc, nsc, gpu, ng);
    claim_assumptions(R);
    claim_terms(R);
    kbr_report_charts(R, KBR_CHART_CLAIM);
    kbr_report_charts(R, KBR_CHART_SWEEP);
}
