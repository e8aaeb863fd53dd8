/* kbr_report_sec.c - the report's sections other than the roll-up
 * (kbr_report_rollup.c): title, failures, run metadata, best implementation,
 * measured traffic (--counters rows), the GPU pair side by side, plots.  Numbers come from the rows only. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/report/kbr_index.h"
#include "bench/report/kbr_report.h"
#include "bench/report/kbr_stats.h"

/* ---- prices and GPUs ------------------------------------------------------------- */
int kbr_prices_parse(kbr_prices *ps, const char *arg, const char *why)
{
    char buf[512];
    if (strlen(arg) >= sizeof buf) return -1; /* refused, never cut */
    kb_strlcpy(buf, arg, sizeof buf);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(t, '=');
        double v;
        if (!eq || eq == t || kb_parse_num(eq + 1, &v) != 0 || !(v >= 0) || isinf(v)) return -1;
        *eq = 0;
        if (strlen(t) >= sizeof ps->p[0].gpu) return -1; /* no GPU slug is that long */
        int i;
        for (i = 0; i < ps->n; i++)
            if (!strcmp(ps->p[i].gpu, t)) break;
        if (i == ps->n) {
            if (ps->n == KBR_MAX_PRICES) return -1;
            ps->n++;
        }
        kb_strlcpy(ps->p[i].gpu, t, sizeof ps->p[i].gpu);
        ps->p[i].usd = v;
        ps->p[i].why = why;
    }
    return 0;
}

const kbr_price *kbr_price_for(const kbr_prices *ps, const char *gpu)
{
    for (int i = 0; i < ps->n; i++)
        if (!strcmp(ps->p[i].gpu, gpu)) return &ps->p[i];
    return NULL;
}

int kbr_gpus_in(const kb_rowset *s, const char **out, int max)
{
    int n = 0;
    for (int i = 0; i < s->n; i++) {
        int seen = 0;
        for (int j = 0; j < n && !seen; j++) seen = !strcmp(out[j], s->r[i].gpu);
        if (!seen && n < max) out[n++] = s->r[i].gpu;
    }
    return n;
}

/* ---- title and failures ------------------------------------------------------------ */
void kbr_sec_title(kbr_report *R)
{
    char stamp[64];
    kb_utc_stamp(stamp, sizeof stamp, 0);
    doc_h(&R->d, 1, "kbench report");
    doc_p(&R->d, "Generated %s by kbench report from %d row%s in %d file%s. Numbers come from the CSVs only; "
                 "projected rows are roofline floors, not measurements.",
          stamp, R->s.n, R->s.n == 1 ? "" : "s", R->s.nfiles, R->s.nfiles == 1 ? "" : "s");
}

void kbr_sec_failures(kbr_report *R)
{
    doc *d = &R->d;
    const kb_rowset *s = &R->s;
    int nf = 0;
    for (int i = 0; i < s->n; i++) nf += !strcmp(s->r[i].verified, "fail");
    doc_h(d, 2, "Verification failures: %d", nf);
    if (!nf) { doc_p(d, "None: every measured row passed (or was skipped)."); return; }
    static const char *const hdr[] = {"op", "impl", "shape", "GPU", "err", "note"};
    doc_table(d, 6, hdr);
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        if (strcmp(r->verified, "fail")) continue;
        char e[32];
        if (isfinite(r->err)) snprintf(e, sizeof e, "%.3g", r->err);
        else snprintf(e, sizeof e, "-");
        const char *row[] = {r->op, r->impl, r->shape, r->gpu, e, r->note};
        doc_row(d, 6, row);
    }
    doc_table_end(d);
}

/* ---- run metadata ------------------------------------------------------------------ */
static const char *json_str(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "?";
}

/* `kbench run` writes STEM.meta.json beside STEM.csv: device, driver and
 * runtime versions, timer, ceilings used.  Returns 1 if one was shown. */
static int meta_for(doc *d, const char *csv)
{
    size_t n = strlen(csv);
    if (n < 5 || strcmp(csv + n - 4, ".csv")) return 0;
    char *path = malloc(n + 8);
    if (!path) return 0;
    snprintf(path, n + 8, "%.*s.meta.json", (int)(n - 4), csv);
    json_t *m = json_load_file(path, 0, NULL);
    if (!m) { free(path); return 0; }
    json_t *c = json_object_get(m, "ceilings");
    long long drv = json_integer_value(json_object_get(m, "cuda_driver"));
    long long rt = json_integer_value(json_object_get(m, "cuda_runtime"));
    doc_li(d, "%s: %s, CUDA driver %lld.%lld, runtime %lld.%lld, max SM clock %lld MHz, timer %s; ceilings used: "
              "FP8 %.0f TFLOP/s (%s), BF16 %.0f TFLOP/s (%s), HBM %.0f GB/s (%s)",
           path, json_str(m, "device_name"), drv / 1000, drv % 1000 / 10, rt / 1000, rt % 1000 / 10,
           json_integer_value(json_object_get(m, "max_sm_clock_mhz")), json_str(m, "timer"),
           json_number_value(json_object_get(c, "fp8_tflops")), json_str(c, "fp8_source"),
           json_number_value(json_object_get(c, "bf16_tflops")), json_str(c, "bf16_source"),
           json_number_value(json_object_get(c, "hbm_gbs")), json_str(c, "hbm_source"));
    json_decref(m);
    free(path);
    return 1;
}

/* One line of the metadata table: what the rows of one GPU say about their run. */
static void meta_gpu_row(doc *d, const kb_rowset *s, const char *gpu, double *clk)
{
    int nm = 0, np = 0, nc = 0;
    const char *timer = "", *ver = "", *sha = "", *t0 = "", *t1 = "";
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        if (strcmp(r->gpu, gpu)) continue;
        if (kb_row_is_measured(r)) {
            nm++;
            if (r->timer[0]) timer = r->timer;
            if (clk && isfinite(r->sm_clock_mhz) && r->sm_clock_mhz > 0) clk[nc++] = r->sm_clock_mhz;
        } else np++;
        if (r->kbench_version[0]) ver = r->kbench_version;
        if (r->git_sha[0]) sha = r->git_sha;
        if (r->timestamp[0] && (!t0[0] || strcmp(r->timestamp, t0) < 0)) t0 = r->timestamp;
        if (r->timestamp[0] && strcmp(r->timestamp, t1) > 0) t1 = r->timestamp;
    }
    char a[16], b[16], c[32];
    snprintf(a, sizeof a, "%d", nm);
    snprintf(b, sizeof b, "%d", np);
    fnum(c, sizeof c, nc ? kbr_median(clk, nc) : NAN, 0);
    const char *row[] = {gpu, a, b, timer[0] ? timer : "-", c, ver, sha, t0, t1};
    doc_row(d, 9, row);
}

void kbr_sec_metadata(kbr_report *R)
{
    doc *d = &R->d;
    doc_h(d, 2, "Run metadata");
    int metas = 0;
    for (int i = 0; i < R->s.nfiles; i++) {
        doc_li(d, "input: %s", R->s.files[i]);
        metas += meta_for(d, R->s.files[i]);
    }
    const char *g[32];
    int ng = kbr_gpus_in(&R->s, g, 32);
    static const char *const hdr[] = {"GPU", "rows measured", "rows projected", "timer", "SM clock MHz (median)",
                                      "kbench", "git sha", "first timestamp", "last timestamp"};
    doc_table(d, 9, hdr);
    double *clk = malloc((size_t)R->s.n * sizeof *clk + 1);
    for (int k = 0; k < ng; k++) meta_gpu_row(d, &R->s, g[k], clk);
    free(clk);
    doc_table_end(d);
    if (!metas)
        doc_p(d, "Driver and CUDA versions: no `.meta.json` beside these CSVs (`kbench run` writes one per "
                 "run, beside its CSV).");
}

/* ---- best implementation -------------------------------------------------------------- */
static int timed_pass(const kb_row *q) { return kb_row_is_measured(q) && kb_row_is_pass(q) && kb_row_has_time(q); }
/* Row i is the first timed, passing row of its (op, shape, gpu): the fastest
 * of them and the fastest library reference in *best and *lib. */
static int best_of_case(const kb_rowset *s, int i, const kb_row **best, const kb_row **lib)
{
    const kb_row *r = &s->r[i];
    if (!timed_pass(r) || kbr_is_ceiling_op(r->op)) return 0;
    int n;
    const kb_row *const *v = kbr_rows_of(s, r->op, r->shape, r->gpu, &n); /* in file order */
    *best = *lib = NULL;
    for (int j = 0; j < n; j++) {
        const kb_row *q = v[j];
        if (!timed_pass(q)) continue;
        if (!*best && q != r) return 0; /* an earlier row of the case */
        if (!*best || q->time_us < (*best)->time_us) *best = q;
        if (kb_row_is_lib(q, s->has_impl_kind) && (!*lib || q->time_us < (*lib)->time_us)) *lib = q;
    }
    return *best != NULL;
}

static void best_row(doc *d, const kb_rowset *s, const kb_row *best, const kb_row *lib)
{
    kbr_ceils c;
    kbr_ceilings(s, best->gpu, &c);
    char t[32], tf[32], gb[32], pr[32], sp[32];
    fnum(t, sizeof t, best->time_us, 2);
    fnum(tf, sizeof tf, best->flops > 0 ? kbr_row_tflops(best) : NAN, 1);
    fnum(gb, sizeof gb, best->bytes > 0 ? best->bytes / best->time_us / 1e3 : best->gbps, 0);
    fnum(pr, sizeof pr, kbr_row_pct_roof(best, &c), 1);
    if (lib) snprintf(sp, sizeof sp, "%.2fx", lib->time_us / best->time_us);
    else snprintf(sp, sizeof sp, "-");
    const char *row[] = {best->op, best->shape, best->gpu, best->impl, t, tf, gb, pr, sp,
                         lib ? lib->impl : "(none measured)"};
    doc_row(d, 10, row);
}

void kbr_sec_best(kbr_report *R)
{
    doc *d = &R->d;
    doc_h(d, 2, "Best implementation per operator and shape (measured)");
    static const char *const hdr[] = {"op", "shape", "GPU", "best impl", "time us", "TFLOP/s", "GB/s",
                                      "% roof", "speedup vs library", "library ref"};
    int any = 0;
    for (int i = 0; i < R->s.n; i++) {
        const kb_row *best, *lib;
        if (!best_of_case(&R->s, i, &best, &lib)) continue;
        if (!any) { doc_table(d, 10, hdr); any = 1; }
        best_row(d, &R->s, best, lib);
    }
    if (any) doc_table_end(d);
    else doc_p(d, "No measured rows that passed verification.");
}

/* ---- the pair side by side ------------------------------------------------------------ */
/* Measured sides over every (op, shape) of the pair: the heading says "projected" when none. */
static int pair_measured(const kbr_report *R)
{
    int n = 0;
    for (int i = 0; i < R->s.n; i++) {
        const kb_row *r = &R->s.r[i];
        kbr_pair_cell c;
        if (kbr_is_ceiling_op(r->op) || !kbr_first_of_shape(&R->s, r) || kbr_pair_shape(&R->s, r->op, r->shape, &R->pair, &c))
            continue;
        n += (c.a_src == KBR_SRC_MEASURED) + (c.b_src == KBR_SRC_MEASURED);
    }
    return n;
}

static void pair_intro(kbr_report *R)
{
    const kb_gpu *a = R->pair.a, *b = R->pair.b;
    kb_ceil ca = kb_ceil_from_gpu(a, 1), cb = kb_ceil_from_gpu(b, 1); /* practical link: the rate used */
    doc_h(&R->d, 2, "%s vs %s%s", b->slug, a->slug, pair_measured(R) ? "" : " (projected: nothing measured)");
    doc_p(&R->d, "Per (op, shape), on each GPU: its best measured time that passed; else another GPU's best "
                 "measured row projected onto it, t x floor(this GPU) / floor(measured GPU), both floors the "
                 "roofline floor of that row's own FLOPs, bytes and link bytes at the two GPUs' datasheet "
                 "ceilings (practical link rate); else its projected floor (`kbench model`, practical link rate, "
                 "as in the roll-up). Loopback rows (one GPU) and link rows are separate shapes. Datasheet ceilings "
                 "%s / %s: FP8 %.0f / %.0f TFLOP/s, HBM %.0f / %.0f GB/s, link (practical) %.0f / %.0f GB/s per direction; "
                 "an operator bound by a ceiling the two share does not move.",
          a->slug, b->slug, ca.fp8_tflops, cb.fp8_tflops, ca.hbm_gbs,
          cb.hbm_gbs, ca.link_gbs, cb.link_gbs);
}

/* The bound of (op, shape) as GPU B's rows say, else as row r says. */
static const char *pair_bound(const kb_rowset *s, const kb_row *r, const char *b)
{
    const char *bound = "";
    int n;
    const kb_row *const *v = kbr_rows_of(s, r->op, r->shape, b, &n);
    for (int j = 0; j < n; j++)
        if (v[j]->bound[0]) bound = v[j]->bound;
    return bound[0] ? bound : r->bound;
}

/* "measured", "<gpu> measured x floor ratio" or "projected". */
static void pair_src(char *buf, size_t n, kbr_pair_src src, const char *from)
{
    if (src == KBR_SRC_SCALED) snprintf(buf, n, "%s measured x floor ratio", from);
    else snprintf(buf, n, "%s", src == KBR_SRC_MEASURED ? "measured" : "projected");
}

void kbr_sec_pair(kbr_report *R)
{
    const char *a = R->pair.a->slug, *b = R->pair.b->slug;
    char h[5][72];
    snprintf(h[0], sizeof h[0], "%s us", a);
    snprintf(h[1], sizeof h[1], "%s source", a);
    snprintf(h[2], sizeof h[2], "%s us", b);
    snprintf(h[3], sizeof h[3], "%s source", b);
    snprintf(h[4], sizeof h[4], "%s / %s", b, a);
    const char *hdr[] = {"op", "shape", "bound", h[0], h[1], h[2], h[3], h[4]};
    pair_intro(R);
    int any = 0;
    for (int i = 0; i < R->s.n; i++) {
        const kb_row *r = &R->s.r[i];
        kbr_pair_cell c;
        if (kbr_is_ceiling_op(r->op) || !kbr_first_of_shape(&R->s, r) || kbr_pair_shape(&R->s, r->op, r->shape, &R->pair, &c))
            continue;
        char x[32], y[32], q[32], sa[72], sb[72];
        pair_src(sa, sizeof sa, c.a_src, c.a_from);
        pair_src(sb, sizeof sb, c.b_src, c.b_from);
        fnum(x, sizeof x, c.a_us, 2);
        fnum(y, sizeof y, c.b_us, 2);
        snprintf(q, sizeof q, "%.2fx", c.b_us / c.a_us);
        if (!any) { doc_table(&R->d, 8, hdr); any = 1; }
        const char *row[] = {r->op, r->shape, pair_bound(&R->s, r, b), x, sa, y, sb, q};
        doc_row(&R->d, 8, row);
    }
    if (any) doc_table_end(&R->d);
    else doc_p(&R->d, "No (op, shape) has rows for both %s and %s (run `kbench model --gpu %s,%s`).", a, b, a, b);
}

/* ---- plots ------------------------------------------------------------------------------ */
void kbr_report_charts(kbr_report *R, kbr_chart_kind kind)
{
    if (!R->plotted) return;
    for (int i = 0; i < R->charts.n; i++) {
        const kbr_chart *c = &R->charts.c[i];
        if (c->kind != kind) continue;
        char rel[1300], abs[1300];
        snprintf(rel, sizeof rel, "%s/%s.png", R->relp, c->name);
        snprintf(abs, sizeof abs, "%s/%s.png", R->plots, c->name);
        doc_img(&R->d, c->name, rel, abs);
    }
}

/* The claim charts are in the first section; the rest here. */
void kbr_sec_plots(kbr_report *R)
{
    static const kbr_chart_kind order[] = {KBR_CHART_ROOFLINE, KBR_CHART_COMM, KBR_CHART_PAIR, KBR_CHART_OP};
    doc_h(&R->d, 2, "Plots");
    if (!R->plotted) { doc_p(&R->d, "%s", R->plot_note); return; }
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) kbr_report_charts(R, order[k]);
}

/* ---- measured traffic (--counters) ------------------------------------------------------ */
enum { TRAFFIC_ROWS = 10 };

static int by_ratio_desc(const void *a, const void *b)
{
    double x = (*(const kb_row *const *)a)->traffic_ratio, y = (*(const kb_row *const *)b)->traffic_ratio;
    return (x < y) - (x > y);
}

static void traffic_row(doc *d, const kb_row *r)
{
    char by[32], dr[32], tr[32], l2[32], mi[32], sm[32];
    fnum(by, sizeof by, r->bytes / 1e6, 2);
    fnum(dr, sizeof dr, r->dram_bytes / 1e6, 2);
    snprintf(tr, sizeof tr, "%.2fx", r->traffic_ratio);
    fnum(l2, sizeof l2, r->l2_bytes / 1e6, 2);
    fnum(mi, sizeof mi, kbr_row_has_traffic(r) ? kbr_row_dram_intensity(r) : NAN, 1);
    fnum(sm, sizeof sm, r->sm_throughput_pct, 1);
    const char *row[] = {r->op, r->impl, r->shape, r->gpu, by, dr, tr, l2, mi, sm};
    doc_row(d, 10, row);
}

/* The rows with the highest traffic_ratio (DRAM bytes over the declared
 * minimum).  No section when no row carries counters. */
void kbr_sec_traffic(kbr_report *R)
{
    const kb_rowset *s = &R->s;
    const kb_row **v = malloc((size_t)s->n * sizeof *v + 1);
    int n = 0;
    for (int i = 0; v && i < s->n; i++)
        if (kb_row_is_measured(&s->r[i]) && isfinite(s->r[i].traffic_ratio)) v[n++] = &s->r[i];
    if (n) {
        qsort(v, (size_t)n, sizeof *v, by_ratio_desc);
        doc *d = &R->d;
        doc_h(d, 2, "Measured traffic (hardware counters)");
        doc_p(d, "The %d row%s with the highest traffic_ratio = DRAM bytes the launch moved (ncu, `kbench run "
                 "--counters`) / the minimum bytes its operator declares: above 1, the kernel reads or writes "
                 "more than it must (re-reads, spills, partial sectors); below 1, data stayed in L2. "
                 "Bytes in MB (1e6).", n < TRAFFIC_ROWS ? n : TRAFFIC_ROWS, n == 1 ? "" : "s");
        static const char *const hdr[] = {"op", "impl", "shape", "GPU", "declared MB", "DRAM MB", "traffic ratio",
                                          "L2 MB", "measured FLOP/B", "SM %"};
        doc_table(d, 10, hdr);
        for (int i = 0; i < n && i < TRAFFIC_ROWS; i++) traffic_row(d, v[i]);
        doc_table_end(d);
    }
    free(v);
}
