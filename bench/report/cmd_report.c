/* cmd_report.c - `kbench report RESULTS.csv... [--price GPU=USD,...]
 *                 [--out results/report.md] [--no-plots]
 *                 [--ep-prefill 32] [--ep-decode 64] [--tokens 4096] [--batch 128] [--ctx 4096]`
 *
 * Writes a Markdown report and an HTML twin (same name, .html) with the plots
 * (rendered by `kbench plot` into <out dir>/plots/) embedded as data: URIs.
 * Sections: run metadata; verification failures (first); best implementation
 * per (op, shape, GPU) with TFLOP/s, GB/s, % of roof and speedup over the best
 * library reference; H800 vs H100 side by side; the DeepSeek-V3 roll-up
 * (kbr_rollup.h) per GPU with each term's source (measured row, projected row
 * from `kbench model`, or the formula at datasheet ceilings), tokens/s per
 * GPU, $ per million tokens, and GPU-hours / $ per trillion training tokens
 * beside the V3 report's anchor.
 * Exit: 0 ok, 2 bad input/usage, 4 I/O error. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/report/csv_table.h"
#include "bench/report/kb_cmds.h"
#include "bench/report/kbr_plot.h"
#include "bench/report/kbr_rollup.h"
#include "bench/report/kbr_stats.h"

/* ---- prices ---------------------------------------------------------------- */
#define MAX_PRICES 16
typedef struct price { char gpu[32]; double usd; const char *why; } price;
typedef struct prices { price p[MAX_PRICES]; int n; } prices;

static void prices_default(prices *ps)
{
    ps->n = 2;
    ps->p[0] = (price){"h800-sxm", 2.0, "default: the V3 report's rental assumption"};
    ps->p[1] = (price){"h100-sxm", 2.5, "default: an assumption (typical cloud rate), not a quote"};
}

static int prices_parse(prices *ps, const char *arg)
{
    char buf[512];
    kb_strlcpy(buf, arg, sizeof buf);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(t, '=');
        double v;
        if (!eq || eq == t || kb_parse_num(eq + 1, &v) != 0 || !(v >= 0) || isinf(v)) return -1;
        *eq = 0;
        int i;
        for (i = 0; i < ps->n; i++)
            if (!strcmp(ps->p[i].gpu, t)) break;
        if (i == ps->n) {
            if (ps->n == MAX_PRICES) return -1;
            ps->n++;
        }
        kb_strlcpy(ps->p[i].gpu, t, sizeof ps->p[i].gpu);
        ps->p[i].usd = v;
        ps->p[i].why = "given with --price";
    }
    return 0;
}

static const price *price_for(const prices *ps, const char *gpu)
{
    for (int i = 0; i < ps->n; i++)
        if (!strcmp(ps->p[i].gpu, gpu)) return &ps->p[i];
    return NULL;
}

/* ---- document: Markdown + HTML at once ------------------------------------ */
typedef struct doc { FILE *md, *html; int in_list; } doc;

static void html_esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else fputc(*s, f);
    }
}

static void md_esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", f);
        else if (*s == '\n') fputc(' ', f);
        else fputc(*s, f);
    }
}

static void end_list(doc *d)
{
    if (!d->in_list) return;
    fputs("</ul>\n", d->html);
    fputs("\n", d->md);
    d->in_list = 0;
}

static void doc_h(doc *d, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void doc_h(doc *d, int level, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    end_list(d);
    fprintf(d->md, "%.*s %s\n\n", level, "######", buf);
    fprintf(d->html, "<h%d>", level);
    html_esc(d->html, buf);
    fprintf(d->html, "</h%d>\n", level);
}

static void doc_p(doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void doc_p(doc *d, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    end_list(d);
    fprintf(d->md, "%s\n\n", buf);
    fputs("<p>", d->html);
    html_esc(d->html, buf);
    fputs("</p>\n", d->html);
}

static void doc_li(doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void doc_li(doc *d, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (!d->in_list) { fputs("<ul>\n", d->html); d->in_list = 1; }
    fprintf(d->md, "- %s\n", buf);
    fputs("<li>", d->html);
    html_esc(d->html, buf);
    fputs("</li>\n", d->html);
}

static void doc_table(doc *d, int nc, const char *const *hdr)
{
    end_list(d);
    fputs("|", d->md);
    for (int i = 0; i < nc; i++) { fputc(' ', d->md); md_esc(d->md, hdr[i]); fputs(" |", d->md); }
    fputs("\n|", d->md);
    for (int i = 0; i < nc; i++) fputs("---|", d->md);
    fputs("\n", d->md);
    fputs("<table>\n<tr>", d->html);
    for (int i = 0; i < nc; i++) { fputs("<th>", d->html); html_esc(d->html, hdr[i]); fputs("</th>", d->html); }
    fputs("</tr>\n", d->html);
}

static void doc_row(doc *d, int nc, const char *const *cells)
{
    fputs("|", d->md);
    for (int i = 0; i < nc; i++) { fputc(' ', d->md); md_esc(d->md, cells[i]); fputs(" |", d->md); }
    fputs("\n", d->md);
    fputs("<tr>", d->html);
    for (int i = 0; i < nc; i++) { fputs("<td>", d->html); html_esc(d->html, cells[i]); fputs("</td>", d->html); }
    fputs("</tr>\n", d->html);
}

static void doc_table_end(doc *d)
{
    fputs("\n", d->md);
    fputs("</table>\n", d->html);
}

static void base64_file(FILE *out, const char *path)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    FILE *f = fopen(path, "rb");
    if (!f) return;
    unsigned char in[3];
    size_t n;
    while ((n = fread(in, 1, 3, f)) > 0) {
        unsigned v = (unsigned)in[0] << 16 | (n > 1 ? (unsigned)in[1] << 8 : 0) | (n > 2 ? in[2] : 0);
        fputc(b64[v >> 18 & 63], out);
        fputc(b64[v >> 12 & 63], out);
        fputc(n > 1 ? b64[v >> 6 & 63] : '=', out);
        fputc(n > 2 ? b64[v & 63] : '=', out);
    }
    fclose(f);
}

static void doc_img(doc *d, const char *alt, const char *rel, const char *abs)
{
    end_list(d);
    fprintf(d->md, "![%s](%s)\n\n", alt, rel);
    fprintf(d->html, "<figure><img alt=\"");
    html_esc(d->html, alt);
    fprintf(d->html, "\" src=\"data:image/png;base64,");
    base64_file(d->html, abs);
    fprintf(d->html, "\"><figcaption>");
    html_esc(d->html, alt);
    fprintf(d->html, "</figcaption></figure>\n");
}

/* ---- formatting ------------------------------------------------------------- */
static const char *fnum(char *buf, size_t n, double v, int prec)
{
    if (!isfinite(v)) snprintf(buf, n, "-");
    else snprintf(buf, n, "%.*f", prec, v);
    return buf;
}

/* ---- sections ---------------------------------------------------------------- */
static int gpus_in(const kb_rowset *s, const char **out, int max)
{
    int n = 0;
    for (int i = 0; i < s->n; i++) {
        int seen = 0;
        for (int j = 0; j < n && !seen; j++) seen = !strcmp(out[j], s->r[i].gpu);
        if (!seen && n < max) out[n++] = s->r[i].gpu;
    }
    return n;
}

/* `kbench run` writes STEM.meta.json beside STEM.csv: device, driver and
 * runtime versions, timer, ceilings used.  Returns 1 if one was shown. */
static int meta_for(doc *d, const char *csv)
{
    size_t n = strlen(csv);
    if (n < 5 || strcmp(csv + n - 4, ".csv")) return 0;
    char path[1200];
    snprintf(path, sizeof path, "%.*s.meta.json", (int)(n - 4), csv);
    json_t *m = json_load_file(path, 0, NULL);
    if (!m) return 0;
    const char *dev = json_string_value(json_object_get(m, "device_name"));
    const char *timer = json_string_value(json_object_get(m, "timer"));
    json_t *c = json_object_get(m, "ceilings");
    long long drv = json_integer_value(json_object_get(m, "cuda_driver"));
    long long rt = json_integer_value(json_object_get(m, "cuda_runtime"));
    doc_li(d, "%s: %s, CUDA driver %lld.%lld, runtime %lld.%lld, max SM clock %lld MHz, timer %s; ceilings used: "
              "FP8 %.0f TFLOP/s (%s), BF16 %.0f TFLOP/s (%s), HBM %.0f GB/s (%s)",
           path, dev ? dev : "?", drv / 1000, drv % 1000 / 10, rt / 1000, rt % 1000 / 10,
           json_integer_value(json_object_get(m, "max_sm_clock_mhz")), timer ? timer : "?",
           json_number_value(json_object_get(c, "fp8_tflops")),
           json_string_value(json_object_get(c, "fp8_source")) ? json_string_value(json_object_get(c, "fp8_source")) : "?",
           json_number_value(json_object_get(c, "bf16_tflops")),
           json_string_value(json_object_get(c, "bf16_source")) ? json_string_value(json_object_get(c, "bf16_source")) : "?",
           json_number_value(json_object_get(c, "hbm_gbs")),
           json_string_value(json_object_get(c, "hbm_source")) ? json_string_value(json_object_get(c, "hbm_source")) : "?");
    json_decref(m);
    return 1;
}

static void sec_metadata(doc *d, const kb_rowset *s, char **files, int nfiles)
{
    doc_h(d, 2, "Run metadata");
    int metas = 0;
    for (int i = 0; i < nfiles; i++) {
        doc_li(d, "input: %s", files[i]);
        metas += meta_for(d, files[i]);
    }
    const char *g[32];
    int ng = gpus_in(s, g, 32);
    static const char *const hdr[] = {"GPU", "rows measured", "rows projected", "timer", "SM clock MHz (median)",
                                      "kbench", "git sha", "first timestamp", "last timestamp"};
    doc_table(d, 9, hdr);
    for (int k = 0; k < ng; k++) {
        int nm = 0, np = 0, nc = 0;
        double *clk = malloc((size_t)s->n * sizeof *clk);
        const char *timer = "", *ver = "", *sha = "", *t0 = "", *t1 = "";
        for (int i = 0; i < s->n; i++) {
            const kb_row *r = &s->r[i];
            if (strcmp(r->gpu, g[k])) continue;
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
        free(clk);
        const char *row[] = {g[k], a, b, timer[0] ? timer : "-", c, ver, sha, t0, t1};
        doc_row(d, 9, row);
    }
    doc_table_end(d);
    if (!metas)
        doc_p(d, "Driver and CUDA versions: no `.meta.json` beside these CSVs (`kbench run` writes one per "
                 "run, beside its CSV).");
}

static void sec_failures(doc *d, const kb_rowset *s)
{
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

static void sec_best(doc *d, const kb_rowset *s)
{
    doc_h(d, 2, "Best implementation per operator and shape (measured)");
    static const char *const hdr[] = {"op", "shape", "GPU", "best impl", "time us", "TFLOP/s", "GB/s",
                                      "% roof", "speedup vs library", "library ref"};
    int any = 0;
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        if (!kb_row_is_measured(r) || !kb_row_is_pass(r) || !kb_row_has_time(r)) continue;
        if (!strcmp(r->op, "hbm") || !strcmp(r->op, "peak")) continue;
        int first = 1; /* first row of this (op, shape, gpu) */
        for (int j = 0; j < i && first; j++) {
            const kb_row *q = &s->r[j];
            first = !(kb_row_is_measured(q) && kb_row_is_pass(q) && kb_row_has_time(q) &&
                      !strcmp(q->op, r->op) && !strcmp(q->shape, r->shape) && !strcmp(q->gpu, r->gpu));
        }
        if (!first) continue;
        const kb_row *best = NULL, *lib = NULL;
        for (int j = i; j < s->n; j++) {
            const kb_row *q = &s->r[j];
            if (!(kb_row_is_measured(q) && kb_row_is_pass(q) && kb_row_has_time(q) &&
                  !strcmp(q->op, r->op) && !strcmp(q->shape, r->shape) && !strcmp(q->gpu, r->gpu)))
                continue;
            if (!best || q->time_us < best->time_us) best = q;
            if (kb_row_is_lib(q, s->has_impl_kind) && (!lib || q->time_us < lib->time_us)) lib = q;
        }
        if (!any) { doc_table(d, 10, hdr); any = 1; }
        kbr_ceil c;
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
    if (any) doc_table_end(d);
    else doc_p(d, "No measured rows that passed verification.");
}

static void sec_h800(doc *d, const kb_rowset *s)
{
    doc_h(d, 2, "H800 vs H100");
    doc_p(d, "Per (op, shape): H100 = best measured time that passed, else the projected floor; "
             "H800 = measured if present, else the measured H100 time scaled by the ratio of the two "
             "GPUs' roofline floors (projected rows), else the H800 floor. The H800 is an H100 with "
             "NVLink cut from 900 to 400 GB/s: compute- and HBM-bound operators do not move, "
             "communication does.");
    static const char *const hdr[] = {"op", "shape", "bound", "H100 us", "H100 source", "H800 us",
                                      "H800 source", "H800 / H100"};
    int any = 0;
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        if (!strcmp(r->op, "hbm") || !strcmp(r->op, "peak")) continue;
        int first = 1;
        for (int j = 0; j < i && first; j++)
            first = !(!strcmp(s->r[j].op, r->op) && !strcmp(s->r[j].shape, r->shape));
        if (!first) continue;
        double hm = kbr_best_time(s, r->op, r->shape, "h100-sxm", 1, NULL);
        double hp = kbr_best_time(s, r->op, r->shape, "h100-sxm", 0, NULL);
        double em = kbr_best_time(s, r->op, r->shape, "h800-sxm", 1, NULL);
        double ep = kbr_best_time(s, r->op, r->shape, "h800-sxm", 0, NULL);
        double h = isfinite(hm) ? hm : hp, e;
        const char *hs = isfinite(hm) ? "measured" : "projected", *es;
        if (isfinite(em)) { e = em; es = "measured"; }
        else if (isfinite(hm) && isfinite(hp) && isfinite(ep) && hp > 0) { e = hm * ep / hp; es = "H100 measured x floor ratio"; }
        else { e = ep; es = "projected"; }
        if (!isfinite(h) || !isfinite(e)) continue;
        const char *bound = "";
        for (int j = 0; j < s->n; j++)
            if (!strcmp(s->r[j].op, r->op) && !strcmp(s->r[j].shape, r->shape) && s->r[j].bound[0] &&
                !strcmp(s->r[j].gpu, "h800-sxm"))
                bound = s->r[j].bound;
        if (!bound[0]) bound = r->bound;
        char a[32], b[32], q[32];
        fnum(a, sizeof a, h, 2);
        fnum(b, sizeof b, e, 2);
        snprintf(q, sizeof q, "%.2fx", e / h);
        if (!any) { doc_table(d, 8, hdr); any = 1; }
        const char *row[] = {r->op, r->shape, bound, a, hs, b, es, q};
        doc_row(d, 8, row);
    }
    if (any) doc_table_end(d);
    else doc_p(d, "No (op, shape) has rows for both h100-sxm and h800-sxm (run `kbench model --gpu h100-sxm,h800-sxm`).");
}

/* ---- roll-up ------------------------------------------------------------------ */
typedef struct term_val { double us; char src[96]; } term_val;

/* Best measured (passed) and best projected row of a term on one GPU. */
static void term_rows(const kb_rowset *s, const kbr_term *t, const char *gpu, const kb_row **bm,
                      const kb_row **bp)
{
    *bm = *bp = NULL;
    if (!strcmp(t->op, "-")) return;
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        if (strcmp(r->op, t->op) || strcmp(r->gpu, gpu) || !kb_row_has_time(r) ||
            !kbr_label_match(t->shape, r->shape))
            continue;
        if (kb_row_is_measured(r)) {
            if (kb_row_is_pass(r) && (!*bm || r->time_us < (*bm)->time_us)) *bm = r;
        } else if (!*bp || r->time_us < (*bp)->time_us) *bp = r;
    }
}

/* Roofline floor of a term on a GPU: projected row, else the formula. */
static double term_floor(const kb_rowset *s, const kbr_term *t, const char *gpu, const kbr_gpu *g, int have_g)
{
    const kb_row *bm, *bp;
    term_rows(s, t, gpu, &bm, &bp);
    if (bp) return bp->time_us;
    return have_g ? kbr_floor_us(t, g) : NAN;
}

/* Term time on GPU k: its measured row; else another GPU's measured row scaled
 * by the ratio of the two roofline floors (how an H800 number is projected from
 * an H100 measurement); else its projected row; else the formula. */
static void resolve_term(const kb_rowset *s, const kbr_term *t, int k, const char *const *gl,
                         const kbr_gpu *gg, const int *have, int ng, term_val *v)
{
    const kb_row *bm, *bp;
    term_rows(s, t, gl[k], &bm, &bp);
    if (bm) { v->us = bm->time_us; snprintf(v->src, sizeof v->src, "measured (%s)", bm->impl); return; }
    double fk = term_floor(s, t, gl[k], &gg[k], have[k]);
    for (int j = 0; j < ng && isfinite(fk); j++) {
        if (j == k) continue;
        const kb_row *om, *op;
        term_rows(s, t, gl[j], &om, &op);
        double fj = term_floor(s, t, gl[j], &gg[j], have[j]);
        if (!om || !(fj > 0)) continue;
        v->us = om->time_us * fk / fj;
        snprintf(v->src, sizeof v->src, "%s measured (%s) x floor ratio", gl[j], om->impl);
        return;
    }
    if (bp) { v->us = bp->time_us; snprintf(v->src, sizeof v->src, "projected row"); }
    else if (have[k]) { v->us = kbr_floor_us(t, &gg[k]); snprintf(v->src, sizeof v->src, "formula (datasheet)"); }
    else { v->us = NAN; snprintf(v->src, sizeof v->src, "n/a"); }
}

#define MAX_TERMS 32
#define MAX_RG 8

static void sec_rollup(doc *d, const kb_rowset *s, const kbr_cfg *cfg, const prices *ps)
{
    doc_h(d, 2, "Model roll-up: DeepSeek-V3 (61 layers = 3 dense + 58 MoE)");
    doc_p(d, "Assumptions (kbr_rollup.h): per GPU, one layer's operators are summed with no overlap of "
             "communication and compute (DeepSeek overlaps them, so this is pessimistic there); each term "
             "takes the best measured row of that GPU that passed verification, else another GPU's measured "
             "row scaled by the ratio of the two GPUs' roofline floors, else a projected row "
             "(`kbench model`), else the roofline floor at datasheet ceilings (FP8/BF16 peak, HBM, "
             "practical all-to-all link bandwidth per direction). Left out: RMSNorm, RoPE, SwiGLU, "
             "activation quantisation, embedding, LM head and the MTP module.");
    doc_li(d, "prefill: %d tokens per GPU, causal attention over the chunk, experts over EP%d "
              "(%d experts and %d tokens per expert per GPU)", cfg->prefill_tokens, cfg->ep_prefill,
           256 / cfg->ep_prefill, cfg->prefill_tokens * 8 * cfg->ep_prefill / 256);
    doc_li(d, "decode: %d sequences per GPU at %d context, 1 token each, absorbed MLA, EP%d "
              "(%d experts and %d tokens per expert per GPU)", cfg->decode_batch, cfg->decode_ctx,
           cfg->ep_decode, 256 / cfg->ep_decode, cfg->decode_batch * 8 * cfg->ep_decode / 256);
    doc_li(d, "training: %.0fx the prefill forward time per token (backward ~ 2x forward FLOPs); "
              "no recomputation, pipeline bubbles or optimizer step", KBR_TRAIN_FWD_MULT);

    /* GPUs: h100-sxm and h800-sxm always (formula fallback), plus others in the data */
    const char *gl[MAX_RG];
    int ng = 0;
    gl[ng++] = "h100-sxm";
    gl[ng++] = "h800-sxm";
    const char *dg[32];
    int ndg = gpus_in(s, dg, 32);
    for (int i = 0; i < ndg && ng < MAX_RG; i++) {
        int seen = 0;
        for (int j = 0; j < ng && !seen; j++) seen = !strcmp(gl[j], dg[i]);
        if (!seen) gl[ng++] = dg[i];
    }
    kbr_gpu gg[MAX_RG];
    int have[MAX_RG];
    for (int k = 0; k < ng; k++) {
        kbr_ceil c;
        have[k] = kbr_ceilings(s, gl[k], &c) == 0 && c.has_datasheet;
        gg[k] = (kbr_gpu){c.ds_fp8, c.ds_bf16, c.ds_hbm, c.ds_link_practical};
    }
    double layer_us[2][2][MAX_RG]; /* [phase][layer][gpu] */
    static const char *const phn[2] = {"prefill", "decode"};
    static const char *const lyn[2] = {"dense", "MoE"};
    for (int ph = 0; ph < 2; ph++)
        for (int ly = 0; ly < 2; ly++) {
            kbr_term t[MAX_TERMS];
            int nt = kbr_layer_terms(cfg, (kbr_phase)ph, (kbr_layer)ly, t, MAX_TERMS);
            doc_h(d, 3, "%s, one %s layer (per GPU)", phn[ph], lyn[ly]);
            const char *hdr[4 + 2 * MAX_RG];
            char hb[2 * MAX_RG][48];
            hdr[0] = "term";
            hdr[1] = "op";
            hdr[2] = "shape";
            hdr[3] = "GFLOP";
            for (int k = 0; k < ng; k++) {
                snprintf(hb[2 * k], 48, "%s us", gl[k]);
                snprintf(hb[2 * k + 1], 48, "%s source", gl[k]);
                hdr[4 + 2 * k] = hb[2 * k];
                hdr[5 + 2 * k] = hb[2 * k + 1];
            }
            doc_table(d, 4 + 2 * ng, hdr);
            double sum[MAX_RG] = {0};
            for (int i = 0; i < nt; i++) {
                char cells[4 + 2 * MAX_RG][112];
                const char *row[4 + 2 * MAX_RG];
                snprintf(cells[0], 112, "%s", t[i].name);
                snprintf(cells[1], 112, "%s", t[i].op);
                snprintf(cells[2], 112, "%s", t[i].shape);
                fnum(cells[3], 112, t[i].flops * t[i].count / 1e9, 1);
                for (int k = 0; k < ng; k++) {
                    term_val v;
                    resolve_term(s, &t[i], k, gl, gg, have, ng, &v);
                    sum[k] += v.us * t[i].count;
                    fnum(cells[4 + 2 * k], 112, v.us * t[i].count, 1);
                    snprintf(cells[5 + 2 * k], 112, "%s", v.src);
                }
                for (int c = 0; c < 4 + 2 * ng; c++) row[c] = cells[c];
                doc_row(d, 4 + 2 * ng, row);
            }
            char cells[4 + 2 * MAX_RG][112];
            const char *row[4 + 2 * MAX_RG];
            snprintf(cells[0], 112, "layer total");
            cells[1][0] = cells[2][0] = cells[3][0] = 0;
            for (int k = 0; k < ng; k++) {
                layer_us[ph][ly][k] = sum[k];
                fnum(cells[4 + 2 * k], 112, sum[k], 1);
                cells[5 + 2 * k][0] = 0;
            }
            for (int c = 0; c < 4 + 2 * ng; c++) row[c] = cells[c];
            doc_row(d, 4 + 2 * ng, row);
            doc_table_end(d);
        }

    doc_h(d, 3, "Throughput and cost per GPU");
    static const char *const hdr2[] = {"phase", "GPU", "model step ms", "tokens per step", "tokens/s per GPU",
                                       "USD per GPU-hour", "USD per million tokens"};
    doc_table(d, 7, hdr2);
    for (int ph = 0; ph < 2; ph++)
        for (int k = 0; k < ng; k++) {
            const price *p = price_for(ps, gl[k]);
            kbr_totals tt;
            double tok = ph == 0 ? cfg->prefill_tokens : cfg->decode_batch;
            kbr_model_totals(layer_us[ph][0][k], layer_us[ph][1][k], tok, p ? p->usd : NAN, &tt);
            char a[32], b[32], c[32], e[32], f[32];
            fnum(a, sizeof a, tt.step_us / 1e3, 2);
            fnum(b, sizeof b, tok, 0);
            fnum(c, sizeof c, tt.tokens_per_s, 0);
            fnum(e, sizeof e, p ? p->usd : NAN, 2);
            fnum(f, sizeof f, tt.usd_per_mtok, 4);
            const char *row[] = {phn[ph], gl[k], a, b, c, e, f};
            doc_row(d, 7, row);
        }
    doc_table_end(d);

    doc_h(d, 3, "Training cost per trillion tokens (from the prefill roll-up)");
    static const char *const hdr3[] = {"GPU", "GPU-hours per 1T tokens", "USD per 1T tokens",
                                       "V3 report (H800)", "ratio roll-up / V3"};
    doc_table(d, 5, hdr3);
    double h800_ratio = NAN;
    for (int k = 0; k < ng; k++) {
        const price *p = price_for(ps, gl[k]);
        kbr_totals tt;
        kbr_model_totals(layer_us[0][0][k], layer_us[0][1][k], cfg->prefill_tokens, p ? p->usd : NAN, &tt);
        char a[32], b[32], c[32];
        fnum(a, sizeof a, tt.train_gpu_h_per_ttok, 0);
        fnum(b, sizeof b, tt.train_usd_per_ttok, 0);
        double ratio = tt.train_gpu_h_per_ttok / KBR_ANCHOR_GPU_HOURS_PER_TTOK;
        if (!strcmp(gl[k], "h800-sxm")) h800_ratio = ratio;
        snprintf(c, sizeof c, "%.3f", ratio);
        char anchor[32];
        snprintf(anchor, sizeof anchor, "%.0f", KBR_ANCHOR_GPU_HOURS_PER_TTOK);
        const char *row[] = {gl[k], a, b, anchor, c};
        doc_row(d, 5, row);
    }
    doc_table_end(d);
    doc_p(d, "Anchor: the V3 technical report's 2664K H800 GPU-hours of pre-training for 14.8T tokens = "
             "%.0f GPU-hours per trillion tokens (at $2/GPU-hour: $%.0f). The H800 roll-up gives %.2fx that. "
             "It is not expected to match: terms without a measured row are roofline floors at datasheet "
             "peaks (real kernels reach a fraction of them); the roll-up leaves out norms, RoPE, SwiGLU, "
             "quantisation, the embedding and LM head, MTP, recomputation, pipeline bubbles, the optimizer "
             "and data loading; it sums communication instead of overlapping it (DualPipe hides most of it) "
             "and puts all of it on NVLink at the practical per-direction rate, while EP%d spans nodes over "
             "InfiniBand (~50 GB/s); training uses 4K-token sequences with a different parallel layout.",
          KBR_ANCHOR_GPU_HOURS_PER_TTOK, KBR_ANCHOR_GPU_HOURS_PER_TTOK * 2.0, h800_ratio, cfg->ep_prefill);
    doc_h(d, 3, "Prices used");
    for (int i = 0; i < ps->n; i++) doc_li(d, "%s: $%.2f per GPU-hour (%s)", ps->p[i].gpu, ps->p[i].usd, ps->p[i].why);
}

/* ---- the command ------------------------------------------------------------------ */
static void usage_line(void)
{
    fprintf(stderr, "usage: kbench report RESULTS.csv... [--price GPU=USD_PER_HOUR,...] "
                    "[--out results/report.md] [--no-plots] [--plots DIR] [--ep-prefill N] [--ep-decode N] "
                    "[--tokens N] [--batch N] [--ctx N]\n");
}

static int parse_int_opt(const char *name, const char *v, int lo, int hi, int *out)
{
    double x;
    if (kb_parse_num(v, &x) != 0 || x != floor(x) || x < lo || x > hi) {
        fprintf(stderr, "kbench report: bad --%s '%s' (integer %d..%d)\n", name, v, lo, hi);
        return -1;
    }
    *out = (int)x;
    return 0;
}

int kb_cmd_report(int argc, char **argv)
{
    const char *out = "results/report.md";
    int no_plots = 0;
    const char *plots_opt = NULL; /* --plots DIR: render there, link relative to the report */
    prices ps;
    prices_default(&ps);
    kbr_cfg cfg;
    kbr_cfg_default(&cfg);
    static const struct option lo[] = {
        {"out", required_argument, 0, 'o'},       {"price", required_argument, 0, 'p'},
        {"no-plots", no_argument, 0, 'n'},        {"plots", required_argument, 0, 'P'},        {"ep-prefill", required_argument, 0, 'E'},
        {"ep-decode", required_argument, 0, 'D'}, {"tokens", required_argument, 0, 'T'},
        {"batch", required_argument, 0, 'B'},     {"ctx", required_argument, 0, 'C'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:h", lo, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'o': out = optarg; break;
        case 'p':
            if (prices_parse(&ps, optarg) != 0) {
                fprintf(stderr, "kbench report: bad --price '%s' (e.g. h800-sxm=2.0,h100-sxm=2.5)\n", optarg);
                return KB_EXIT_USAGE;
            }
            break;
        case 'n': no_plots = 1; break;
        case 'P': plots_opt = optarg; break;
        case 'E': bad = parse_int_opt("ep-prefill", optarg, 1, 256, &cfg.ep_prefill); break;
        case 'D': bad = parse_int_opt("ep-decode", optarg, 1, 256, &cfg.ep_decode); break;
        case 'T': bad = parse_int_opt("tokens", optarg, 1, 1 << 20, &cfg.prefill_tokens); break;
        case 'B': bad = parse_int_opt("batch", optarg, 1, 1 << 16, &cfg.decode_batch); break;
        case 'C': bad = parse_int_opt("ctx", optarg, 1, 1 << 22, &cfg.decode_ctx); break;
        case 'h': usage_line(); return 0;
        case ':':
            fprintf(stderr, "kbench report: option '%s' needs a value\n", argv[optind - 1]);
            return KB_EXIT_USAGE;
        default:
            fprintf(stderr, "kbench report: unknown option '%s'\n", argv[optind - 1]);
            return KB_EXIT_USAGE;
        }
        if (bad) return KB_EXIT_USAGE;
    }
    if (256 % cfg.ep_prefill || 256 % cfg.ep_decode) {
        fprintf(stderr, "kbench report: --ep-prefill/--ep-decode must divide the 256 experts\n");
        return KB_EXIT_USAGE;
    }
    if (optind >= argc) {
        fprintf(stderr, "kbench report: no RESULTS.csv given\n");
        return KB_EXIT_USAGE;
    }
    size_t ol = strlen(out);
    if (ol < 4 || strcmp(out + ol - 3, ".md")) {
        fprintf(stderr, "kbench report: --out must name a .md file (got '%s')\n", out);
        return KB_EXIT_USAGE;
    }
    kb_rowset s = {0};
    char err[1200];
    int rc = 0;
    for (int i = optind; i < argc && !rc; i++) rc = kb_rows_load(&s, argv[i], NULL, err, sizeof err);
    if (rc) { fprintf(stderr, "kbench report: %s\n", err); kb_rows_free(&s); return rc; }

    /* output paths: DIR/NAME.md, DIR/NAME.html, DIR/plots/ */
    char dir[1024], html[1100], plots[1100];
    kb_strlcpy(dir, out, sizeof dir);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    snprintf(html, sizeof html, "%.*s.html", (int)(ol - 3), out);
    snprintf(plots, sizeof plots, "%s/plots", dir);
    if (plots_opt) snprintf(plots, sizeof plots, "%s", plots_opt);
    if (kbr_mkdirs(dir) != 0 || kbr_mkdirs(plots) != 0) {
        fprintf(stderr, "kbench report: %s: cannot create directory: %s\n", dir, strerror(errno));
        kb_rows_free(&s);
        return KB_EXIT_IO;
    }

    /* plots first (kbench plot into DIR/plots) */
    char plot_note[256] = "";
    int plotted = 0;
    if (!no_plots) {
        if (!kbr_gnuplot_path()) {
            snprintf(plot_note, sizeof plot_note, "Plots not rendered: gnuplot not found.");
        } else {
            int pa = 0;
            char **pv = malloc((size_t)(argc + 8) * sizeof *pv);
            if (pv) {
                pv[pa++] = "plot";
                for (int i = optind; i < argc; i++) pv[pa++] = argv[i];
                pv[pa++] = "--out";
                pv[pa++] = plots;
                pv[pa++] = "--format";
                pv[pa++] = "png,svg";
                pv[pa] = NULL;
                int prc = kb_cmd_plot(pa, pv);
                free(pv);
                if (prc) snprintf(plot_note, sizeof plot_note, "Plots not rendered: kbench plot exited %d.", prc);
                else plotted = 1;
            }
        }
    } else {
        snprintf(plot_note, sizeof plot_note, "Plots not rendered (--no-plots).");
    }

    /* links in the report: the plots directory relative to the report's */
    char relp[1100] = "plots";
    {
        char ra[PATH_MAX], rb[PATH_MAX];
        if (realpath(dir, ra) && realpath(plots, rb)) {
            size_t i = 0, cut = 0;
            while (ra[i] && ra[i] == rb[i]) { if (ra[i] == '/') cut = i; i++; }
            if (!ra[i] && (rb[i] == '/' || !rb[i])) cut = i; /* plots inside dir (or equal) */
            size_t l = 0;
            relp[0] = 0;
            for (const char *q = ra + cut; *q; q++)
                if (*q == '/') l += (size_t)snprintf(relp + l, sizeof relp - l, "../");
            snprintf(relp + l, sizeof relp - l, "%s", rb[cut] == '/' ? rb + cut + 1 : rb + cut);
            if (!relp[0]) snprintf(relp, sizeof relp, ".");
        }
    }
    doc d = {0};
    d.md = fopen(out, "w");
    d.html = fopen(html, "w");
    if (!d.md || !d.html) {
        fprintf(stderr, "kbench report: %s: cannot write: %s\n", !d.md ? out : html, strerror(errno));
        if (d.md) fclose(d.md);
        if (d.html) fclose(d.html);
        kb_rows_free(&s);
        return KB_EXIT_IO;
    }
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>kbench report</title>\n"
          "<style>body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em}"
          "table{border-collapse:collapse;margin:1em 0;font-size:90%}"
          "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#eee}"
          "img{max-width:100%}figure{margin:1em 0}</style></head><body>\n", d.html);
    char stamp[64];
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    doc_h(&d, 1, "kbench report");
    doc_p(&d, "Generated %s by kbench report from %d row%s in %d file%s. Numbers come from the CSVs only; "
              "projected rows are roofline floors, not measurements.",
          stamp, s.n, s.n == 1 ? "" : "s", s.nfiles, s.nfiles == 1 ? "" : "s");
    sec_failures(&d, &s);
    sec_metadata(&d, &s, s.files, s.nfiles);
    sec_best(&d, &s);
    sec_h800(&d, &s);
    sec_rollup(&d, &s, &cfg, &ps);
    doc_h(&d, 2, "Plots");
    if (plotted) {
        static const char *const order[] = {"roofline", "roofline_h100-sxm", "roofline_h800-sxm", "h800_vs_h100"};
        for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
            char rel[256], abs[1400];
            snprintf(rel, sizeof rel, "%s/%s.png", relp, order[i]);
            snprintf(abs, sizeof abs, "%s/%s.png", plots, order[i]);
            FILE *f = fopen(abs, "rb");
            if (!f) continue;
            fclose(f);
            doc_img(&d, order[i], rel, abs);
        }
        /* per-op charts */
        for (int i = 0; i < s.n; i++) {
            int first = 1;
            for (int j = 0; j < i && first; j++)
                first = strcmp(s.r[j].op, s.r[i].op) || strcmp(s.r[j].gpu, s.r[i].gpu);
            if (!first) continue;
            char name[160], rel[256], abs[1400];
            snprintf(name, sizeof name, "op_%s_%s", s.r[i].op, s.r[i].gpu);
            snprintf(rel, sizeof rel, "%s/%s.png", relp, name);
            snprintf(abs, sizeof abs, "%s/%s.png", plots, name);
            FILE *f = fopen(abs, "rb");
            if (!f) continue;
            fclose(f);
            doc_img(&d, name, rel, abs);
        }
    } else {
        doc_p(&d, "%s", plot_note);
    }
    end_list(&d);
    fputs("</body></html>\n", d.html);
    int werr = ferror(d.md) || ferror(d.html);
    werr |= fclose(d.md) != 0;
    werr |= fclose(d.html) != 0;
    kb_rows_free(&s);
    if (werr) {
        fprintf(stderr, "kbench report: %s: write error\n", out);
        return KB_EXIT_IO;
    }
    printf("wrote %s and %s\n", out, html);
    return 0;
}
