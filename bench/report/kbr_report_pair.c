/* kbr_report_pair.c - the report's "B vs A" section (the --pair GPUs side by
 * side) and its full table as a CSV beside the report.
 *
 * Each (op, shape) both GPUs have is one cell (kbr_pair_shape).  The section
 * shows a summary per op and configuration (shapes, how many are equal within
 * KBR_PAIR_EQUAL_TOL, geometric mean of B/A) and then only the rows that
 * differ; every row is in pair_<B>_vs_<A>.csv (kbr_pair_csv_write), written
 * whole or not at all, without timestamps: the same rows, the same bytes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/report/kbr_index.h"
#include "bench/report/kbr_report.h"

/* Row i opens a pair cell: the first row of its (op, shape), not a ceiling op, on both GPUs. */
static int pair_cell(const kb_rowset *s, const kbr_gpu_pair *p, int i, kbr_pair_cell *c)
{
    const kb_row *r = &s->r[i];
    return !kbr_is_ceiling_op(r->op) && kbr_first_of_shape(s, r) && kbr_pair_shape(s, r->op, r->shape, p, c) == 0;
}

int kbr_pair_differs(double ratio) { return !(fabs(ratio - 1) <= KBR_PAIR_EQUAL_TOL); }

static int pair_any(const kbr_report *R)
{
    kbr_pair_cell c;
    for (int i = 0; i < R->s.n; i++)
        if (pair_cell(&R->s, &R->pair, i, &c)) return 1;
    return 0;
}

/* Measured sides over every (op, shape) of the pair: the heading says "projected" when none. */
static int pair_measured(const kbr_report *R)
{
    int n = 0;
    kbr_pair_cell c;
    for (int i = 0; i < R->s.n; i++)
        if (pair_cell(&R->s, &R->pair, i, &c)) n += (c.a_src == KBR_SRC_MEASURED) + (c.b_src == KBR_SRC_MEASURED);
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

/* ---- the summary per (op, configuration) ------------------------------------------------ */
typedef struct pair_group { const char *op; char cf[48]; int n, nequal; double logsum; } pair_group;

/* The groups in row order; their number, -1 out of memory (*out malloc'd). */
static int pair_groups(const kbr_report *R, pair_group **out)
{
    int ng = 0;
    pair_group *g = malloc((size_t)R->s.n * sizeof *g + 1);
    if (!(*out = g)) return -1;
    kbr_pair_cell c;
    for (int i = 0; i < R->s.n; i++) {
        const kb_row *r = &R->s.r[i];
        char cf[48];
        if (!pair_cell(&R->s, &R->pair, i, &c)) continue;
        kbr_row_config(r, cf, sizeof cf);
        int k = 0;
        while (k < ng && (strcmp(g[k].op, r->op) || strcmp(g[k].cf, cf))) k++;
        if (k == ng) {
            g[ng] = (pair_group){.op = r->op};
            kb_strlcpy(g[ng++].cf, cf, sizeof g[0].cf);
        }
        double q = c.b_us / c.a_us;
        g[k].n++;
        g[k].nequal += !kbr_pair_differs(q);
        g[k].logsum += log(q);
    }
    return ng;
}

static void pair_summary(kbr_report *R, int *ncells, int *ndiff)
{
    pair_group *g;
    int ng = pair_groups(R, &g);
    char q[96];
    snprintf(q, sizeof q, "geometric mean %s / %s", R->pair.b->slug, R->pair.a->slug);
    const char *hdr[] = {"op", "configuration", "shapes", "equal", "different", q};
    *ncells = *ndiff = 0;
    if (ng > 0) doc_table(&R->d, 6, hdr);
    for (int k = 0; k < ng; k++) {
        char n[16], e[16], d[16], gm[32];
        snprintf(n, sizeof n, "%d", g[k].n);
        snprintf(e, sizeof e, "%d", g[k].nequal);
        snprintf(d, sizeof d, "%d", g[k].n - g[k].nequal);
        snprintf(gm, sizeof gm, "%.3fx", exp(g[k].logsum / g[k].n));
        const char *row[] = {g[k].op, g[k].cf[0] ? g[k].cf : "single GPU", n, e, d, gm};
        doc_row(&R->d, 6, row);
        *ncells += g[k].n;
        *ndiff += g[k].n - g[k].nequal;
    }
    if (ng > 0) doc_table_end(&R->d);
    free(g);
}

/* ---- the rows that differ ------------------------------------------------------------------ */
static void pair_diff_rows(kbr_report *R)
{
    const char *a = R->pair.a->slug, *b = R->pair.b->slug;
    char h[5][72];
    snprintf(h[0], sizeof h[0], "%s us", a);
    snprintf(h[1], sizeof h[1], "%s source", a);
    snprintf(h[2], sizeof h[2], "%s us", b);
    snprintf(h[3], sizeof h[3], "%s source", b);
    snprintf(h[4], sizeof h[4], "%s / %s", b, a);
    const char *hdr[] = {"op", "shape", "bound", h[0], h[1], h[2], h[3], h[4]};
    int any = 0;
    kbr_pair_cell c;
    for (int i = 0; i < R->s.n; i++) {
        const kb_row *r = &R->s.r[i];
        if (!pair_cell(&R->s, &R->pair, i, &c) || !kbr_pair_differs(c.b_us / c.a_us)) continue;
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
}

void kbr_pair_csv_name(const kbr_gpu_pair *p, char *buf, size_t n)
{
    snprintf(buf, n, "pair_%s_vs_%s.csv", p->b->slug, p->a->slug);
}

void kbr_sec_pair(kbr_report *R)
{
    const char *a = R->pair.a->slug, *b = R->pair.b->slug;
    int ncells, ndiff;
    char csv[160];
    pair_intro(R);
    kbr_pair_csv_name(&R->pair, csv, sizeof csv);
    if (!pair_any(R)) {
        doc_p(&R->d, "No (op, shape) has rows for both %s and %s (run `kbench model --gpu %s,%s`).", a, b, a, b);
        return;
    }
    doc_p(&R->d, "Per operator and configuration: the shapes both GPUs have, how many are equal (%s / %s within "
                 "%.3f..%.3f, +-%.1f%%) and how many differ, and the geometric mean of %s / %s over them.",
          b, a, 1 - KBR_PAIR_EQUAL_TOL, 1 + KBR_PAIR_EQUAL_TOL, 100 * KBR_PAIR_EQUAL_TOL, b, a);
    pair_summary(R, &ncells, &ndiff);
    doc_p(&R->d, "Below, only the %d of %d (op, shape) rows that differ; every row, with its sources, is in `%s` "
                 "beside this report.", ndiff, ncells, csv);
    if (ndiff) pair_diff_rows(R);
    else doc_p(&R->d, "No row differs: every (op, shape) is equal on both GPUs.");
}

/* ---- the full table as CSV ------------------------------------------------------------------- */
static const char *src_name(kbr_pair_src s)
{
    return s == KBR_SRC_MEASURED ? "measured" : s == KBR_SRC_SCALED ? "scaled" : "projected";
}

static int put_pair_csv(FILE *f, void *arg)
{
    const kbr_report *R = arg;
    kbr_pair_cell c;
    fprintf(f, "op,shape,config,bound,gpu_a,a_us,a_source,a_scaled_from,gpu_b,b_us,b_source,b_scaled_from,"
               "ratio_b_over_a,differs\n");
    for (int i = 0; i < R->s.n; i++) {
        const kb_row *r = &R->s.r[i];
        char cf[48];
        if (!pair_cell(&R->s, &R->pair, i, &c)) continue;
        double q = c.b_us / c.a_us;
        const char *txt[] = {r->op, r->shape, kbr_row_config(r, cf, sizeof cf), pair_bound(&R->s, r, R->pair.b->slug),
                             R->pair.a->slug};
        for (int k = 0; k < 5; k++) {
            kb_csv_field(f, txt[k]);
            fputc(',', f);
        }
        fprintf(f, "%.6g,%s,", c.a_us, src_name(c.a_src));
        kb_csv_field(f, c.a_from ? c.a_from : "");
        fputc(',', f);
        kb_csv_field(f, R->pair.b->slug);
        fprintf(f, ",%.6g,%s,", c.b_us, src_name(c.b_src));
        kb_csv_field(f, c.b_from ? c.b_from : "");
        fprintf(f, ",%.6g,%d\n", q, kbr_pair_differs(q));
    }
    return ferror(f) ? -1 : 0;
}

int kbr_pair_csv_write(const kbr_report *R, const char *path, char *err, size_t errlen)
{
    if (!pair_any(R)) return -1;
    return kb_write_atomic(path, put_pair_csv, (void *)R, err, errlen) ? KB_EXIT_IO : 0;
}
