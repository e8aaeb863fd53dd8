/* cmd_compare.c - `kbench compare BASE.csv NEW.csv`: the regression gate.
 *
 * Rows are matched by (op, impl, shape, dtype) (plus gpu when the files hold
 * several GPUs) through sorted indexes (kbr_index.h).  For each pair with
 * times on both sides:
 *   change = new.time_us / base.time_us - 1
 *   significant =
 *     Mann-Whitney U (two-sided; exact for small samples without ties, else
 *     normal approximation with tie + continuity correction, kbr_stats.h) on
 *     per-repetition samples, p < alpha, when both rows have >= 2 samples
 *     (CSV column samples_us, or Google Benchmark JSON via --json) and their
 *     counts can reach alpha; else the min/max ranges do not overlap (rows
 *     whose samples were too few: one warning line); else (no spread
 *     recorded at all) the threshold alone decides.
 *   REGRESSION = change > threshold AND significant; IMPROVED mirrors it;
 *   NOISE = beyond the threshold but not significant; SAME otherwise.
 * Also flagged: FAIL (NEW row failed verification), MISSING (a baseline row
 * with a time that NEW lacks, or NEW skipped).  NEW rows absent from the
 * baseline are listed as NEW (informational).
 * Refused as bad input (kbr_gate.h): invalid times, duplicate keys (unless
 * --duplicates last), measured against projected rows; unknown enum values
 * and over-wide text (the reader).
 * Exit: 0 nothing flagged, 1 regression / FAIL / MISSING, 2 bad input (incl.
 * GPU mismatch without --allow-gpu-mismatch), 4 I/O error.
 * --update-baseline copies NEW to <baseline-dir>/<gpu>.csv (whole or not at
 * all) when the comparison passed (or --force) and NEW is fit to be a
 * baseline; with only NEW given it just writes the baseline. */
#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/report/csv_table.h"
#include "bench/report/kb_cmds.h"
#include "bench/report/kbr_gate.h"
#include "bench/report/kbr_index.h"
#include "bench/report/kbr_opts.h"
#include "bench/report/kbr_stats.h"

enum { ST_FAIL, ST_MISSING, ST_REGRESSION, ST_NOISE, ST_SAME, ST_IMPROVED, ST_NEW, ST_INFO };
static const char *const st_name[] = {"FAIL", "MISSING", "REGRESSION", "NOISE",
                                      "SAME", "IMPROVED", "NEW", "INFO"};

typedef struct cmp_line {
    const kb_row *b, *n;
    int st;
    double change, p;
    char test[40];
} cmp_line;

static const char usage[] = "usage: kbench compare BASE.csv NEW.csv [--threshold 5%] [--alpha 0.01] "
                            "[--json NEW.json BASE.json] [--allow-gpu-mismatch] [--duplicates error|last] "
                            "[--update-baseline [--force]] [--baseline-dir DIR] [--format text|md|json] "
                            "[--filter 'OP/IMPL/SHAPE glob']   ('-' for one CSV: standard input)";

/* "5%" -> 0.05, "0.05" -> 0.05; a bare number >= 1 ("5", "1") is refused:
 * it could mean a percentage or a fraction. */
static int parse_threshold(const char *s, void *dst)
{
    double *out = dst;
    size_t l = strlen(s);
    int pct = l && s[l - 1] == '%';
    char *buf = malloc(l + 1);
    if (!buf) return -1;
    memcpy(buf, s, l + 1);
    if (pct) buf[l - 1] = 0;
    double v;
    int bad = kb_parse_num(buf, &v) != 0 || !(v >= 0) || isinf(v) || (!pct && v >= 1);
    free(buf);
    if (bad) return -1;
    *out = pct ? v / 100 : v;
    return 0;
}

/* ---- Google Benchmark JSON: per-repetition samples --------------------- */
static double unit_to_us(const char *u)
{
    if (!u || !strcmp(u, "ns")) return 1e-3;
    if (!strcmp(u, "us")) return 1;
    if (!strcmp(u, "ms")) return 1e3;
    if (!strcmp(u, "s")) return 1e6;
    return NAN;
}

/* Attach samples from a Google Benchmark JSON file to the rows of `set`
 * (benchmark name "op/impl/shape[/...]", run_type "iteration" entries). */
static int load_gbench_json(const char *path, kb_rowset *set, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        FILE *f = fopen(path, "rb");
        if (!f) {
            snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
            return KB_EXIT_IO;
        }
        fclose(f);
        snprintf(err, errlen, "%s: bad JSON at line %d: %s", path, je.line, je.text);
        return KB_EXIT_USAGE;
    }
    json_t *bm = json_object_get(root, "benchmarks");
    if (!json_is_array(bm)) {
        snprintf(err, errlen, "%s: no 'benchmarks' array (not Google Benchmark JSON)", path);
        json_decref(root);
        return KB_EXIT_USAGE;
    }
    /* reset samples of every row we will attach to, then append */
    int *touched = calloc((size_t)set->n + 1, sizeof *touched);
    if (!touched) { json_decref(root); snprintf(err, errlen, "out of memory"); return KB_EXIT_IO; }
    size_t i;
    json_t *e;
    json_array_foreach(bm, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *rt = json_string_value(json_object_get(e, "run_type"));
        json_t *jt = json_object_get(e, "real_time");
        if (!name || (rt && strcmp(rt, "iteration") != 0) || !json_is_number(jt)) continue;
        double us = json_number_value(jt) *
                    unit_to_us(json_string_value(json_object_get(e, "time_unit")));
        if (!isfinite(us)) continue;
        char op[64], impl[96], shape[128];
        const char *s1 = strchr(name, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
        if (!s1 || !s2) continue;
        const char *s3 = strchr(s2 + 1, '/');
        snprintf(op, sizeof op, "%.*s", (int)(s1 - name), name);
        snprintf(impl, sizeof impl, "%.*s", (int)(s2 - s1 - 1), s1 + 1);
        snprintf(shape, sizeof shape, "%.*s", (int)(s3 ? s3 - s2 - 1 : (long)strlen(s2 + 1)), s2 + 1);
        /* kbench names its benchmarks op/impl/shape/dtype; Google Benchmark
         * appends /iterations:N/manual_time (and /repeats:N) */
        char dtype[64] = "";
        if (s3) {
            const char *s4 = strchr(s3 + 1, '/');
            snprintf(dtype, sizeof dtype, "%.*s", (int)(s4 ? s4 - s3 - 1 : (long)strlen(s3 + 1)), s3 + 1);
            if (strchr(dtype, ':') || !strcmp(dtype, "manual_time") || !strcmp(dtype, "real_time")) dtype[0] = 0;
        }
        for (int r = 0; r < set->n; r++) {
            kb_row *x = &set->r[r];
            if (strcmp(x->op, op) || strcmp(x->impl, impl) || strcmp(x->shape, shape)) continue;
            if (dtype[0] && strcmp(x->dtype, dtype)) continue;
            if (!touched[r]) { free(x->samples_us); x->samples_us = NULL; x->n_samples = 0; touched[r] = 1; }
            double *q = realloc(x->samples_us, (size_t)(x->n_samples + 1) * sizeof *q);
            if (!q) continue;
            x->samples_us = q;
            x->samples_us[x->n_samples++] = us;
        }
    }
    free(touched);
    json_decref(root);
    return 0;
}

/* ---- GPU sets ------------------------------------------------------------ */
/* The distinct GPUs of s, comma-separated, in a malloc'd string (NULL when
 * out of memory); *count receives how many. */
static char *gpu_list(const kb_rowset *s, int *count)
{
    size_t len = 0, cap = 64;
    char *buf = malloc(cap);
    *count = 0;
    for (int i = 0; buf && i < s->n; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) seen = !strcmp(s->r[j].gpu, s->r[i].gpu);
        if (seen) continue;
        size_t need = len + strlen(s->r[i].gpu) + 2;
        char *p = need > cap ? realloc(buf, cap = 2 * need) : buf;
        if (!p) { free(buf); return NULL; }
        buf = p;
        len += (size_t)sprintf(buf + len, "%s%s", *count ? "," : "", s->r[i].gpu);
        ++*count;
    }
    if (buf && !*count) buf[0] = 0;
    return buf;
}

static int same_gpu_sets(const kb_rowset *a, const kb_rowset *b)
{
    for (int k = 0; k < 2; k++) {
        const kb_rowset *x = k ? b : a, *y = k ? a : b;
        for (int i = 0; i < x->n; i++) {
            int found = 0;
            for (int j = 0; j < y->n && !found; j++) found = !strcmp(x->r[i].gpu, y->r[j].gpu);
            if (!found) return 0;
        }
    }
    return 1;
}

/* ---- baseline update ----------------------------------------------------- */
static int copy_file(FILE *out, void *src_path)
{
    FILE *in = fopen(src_path, "rb");
    if (!in) return -1;
    char buf[65536];
    size_t n;
    int bad = 0;
    while (!bad && (n = fread(buf, 1, sizeof buf, in)) > 0) bad = fwrite(buf, 1, n, out) != n;
    bad |= ferror(in);
    fclose(in);
    return bad ? -1 : 0;
}

static int update_baseline(const char *newpath, const kb_rowset *ns, const char *dir)
{
    int ng, rc = 0;
    char *gpus = gpu_list(ns, &ng), *dst = NULL, *err = NULL;
    size_t dlen = strlen(dir) + (gpus ? strlen(gpus) : 0) + 8, elen = dlen + 1024;
    if (!gpus || !(dst = malloc(dlen)) || !(err = malloc(elen))) {
        fprintf(stderr, "kbench compare: out of memory\n");
        rc = KB_EXIT_IO;
    } else if (ng != 1) {
        fprintf(stderr, "kbench compare: %s: --update-baseline needs rows of exactly one GPU (found %s)\n",
                newpath, ng ? gpus : "none");
        rc = KB_EXIT_USAGE;
    } else if (kb_mkdirs(dir) != 0) {
        fprintf(stderr, "kbench compare: %s: cannot create directory: %s\n", dir, strerror(errno));
        rc = KB_EXIT_IO;
    } else {
        snprintf(dst, dlen, "%s/%s.csv", dir, gpus);
        if (kb_write_atomic(dst, copy_file, (void *)newpath, err, elen)) {
            fprintf(stderr, "kbench compare: %s\n", err);
            rc = KB_EXIT_IO;
        } else printf("baseline updated: %s\n", dst);
    }
    free(gpus);
    free(dst);
    free(err);
    return rc;
}

/* ---- the comparison ------------------------------------------------------ */
static int cmp_lines(const void *a, const void *b)
{
    const cmp_line *x = a, *y = b;
    int gx = x->st <= ST_MISSING ? 0 : x->st >= ST_NEW ? 2 : 1;
    int gy = y->st <= ST_MISSING ? 0 : y->st >= ST_NEW ? 2 : 1;
    if (gx != gy) return gx - gy;
    if (gx == 1 && x->change != y->change) return x->change < y->change ? 1 : -1;
    if (x->st != y->st) return x->st - y->st;
    return 0;
}

/* Min/max of a row: its samples when it has them, else time_us_min/max. */
static int row_range(const kb_row *r, double *lo, double *hi)
{
    *lo = r->time_us_min, *hi = r->time_us_max;
    for (int i = 0; i < r->n_samples; i++) {
        if (i == 0 || r->samples_us[i] < *lo) *lo = r->samples_us[i];
        if (i == 0 || r->samples_us[i] > *hi) *hi = r->samples_us[i];
    }
    return isfinite(*lo) && isfinite(*hi);
}

/* Significance: Mann-Whitney U when both rows have >= 2 samples and the
 * sample sizes can reach alpha; else the min/max ranges must not overlap;
 * else (no spread recorded) the threshold alone.  *few counts the rows whose
 * samples were too few for alpha. */
static int significant(cmp_line *L, double alpha, int *few)
{
    const kb_row *b = L->b, *n = L->n;
    double blo, bhi, nlo, nhi;
    int mwu = b->n_samples >= 2 && n->n_samples >= 2;
    if (mwu && kbr_mwu_min_p(b->n_samples, n->n_samples) >= alpha) mwu = 0, ++*few;
    if (mwu) {
        L->p = kbr_mwu_p(b->samples_us, b->n_samples, n->samples_us, n->n_samples, NULL);
        snprintf(L->test, sizeof L->test, "mwu p=%.1e", L->p);
        return L->p < alpha;
    }
    if (row_range(b, &blo, &bhi) && row_range(n, &nlo, &nhi)) {
        int sig = L->change > 0 ? nlo > bhi : nhi < blo;
        snprintf(L->test, sizeof L->test, "min/max %s", sig ? "apart" : "overlap");
        return sig;
    }
    snprintf(L->test, sizeof L->test, "threshold only");
    return 1;
}

static void classify(cmp_line *L, double thr, double alpha, int *few)
{
    L->change = L->n->time_us / L->b->time_us - 1;
    L->p = NAN;
    int sig = significant(L, alpha, few);
    if (L->change > thr) L->st = sig ? ST_REGRESSION : ST_NOISE;
    else if (L->change < -thr) L->st = sig ? ST_IMPROVED : ST_NOISE;
    else L->st = ST_SAME;
}

/* ---- the command, in phases ---------------------------------------------- */
typedef struct cmp_args {
    double thr, alpha;
    int allow_mismatch, update, force, dup_last, first, fmt;
    const char *json_new, *json_base, *bdir, *bpath, *npath, *filter;
} cmp_args;

static int parse_dups(const char *v, void *dst)
{
    int *last = dst;
    if (!strcmp(v, "error")) *last = 0;
    else if (!strcmp(v, "last")) *last = 1;
    else return -1;
    return 0;
}

static int parse_format(const char *v, void *dst)
{
    static const char *const names[] = {"text", "md", "json"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(v, names[i])) return *(int *)dst = i, 0;
    return -1;
}

static int parse_alpha(const char *v, void *dst)
{
    double *a = dst;
    return kb_parse_num(v, a) == 0 && *a > 0 && *a < 1 ? 0 : -1;
}

/* "--json NEW.json BASE.json" takes two values: pulled out before the table
 * parser, which knows one value per option.  av gets the rest. */
static int pull_json(int argc, char **argv, cmp_args *a, char **av, int *ac)
{
    *ac = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json")) { av[(*ac)++] = argv[i]; continue; }
        if (i + 2 >= argc) {
            fprintf(stderr, "kbench compare: --json needs two files: NEW.json BASE.json\n");
            return KB_EXIT_USAGE;
        }
        a->json_new = argv[i + 1];
        a->json_base = argv[i + 2];
        i += 2;
    }
    av[*ac] = NULL;
    return 0;
}

/* '-' is standard input: for one of the two files, and never for the file
 * --update-baseline copies. */
static int check_stdin(const cmp_args *a)
{
    if (a->bpath && !strcmp(a->bpath, "-") && !strcmp(a->npath, "-")) {
        fprintf(stderr, "kbench compare: only one of BASE.csv and NEW.csv can be '-' (standard input)\n");
        return KB_EXIT_USAGE;
    }
    if (a->update && !strcmp(a->npath, "-")) {
        fprintf(stderr, "kbench compare: --update-baseline copies NEW.csv: give it as a file, not '-'\n");
        return KB_EXIT_USAGE;
    }
    return 0;
}

static int parse_args(int argc, char **argv, cmp_args *a)
{
    const kbr_opt opts[] = {
        {"threshold", 0, KBR_OPT_FN, &a->thr, 0, 0, parse_threshold,
         "(a fraction below 1, e.g. 0.05, or a percentage with %, e.g. 5%)"},
        {"alpha", 0, KBR_OPT_FN, &a->alpha, 0, 0, parse_alpha, "(0 < alpha < 1)"},
        {"allow-gpu-mismatch", 0, KBR_OPT_FLAG, &a->allow_mismatch, 0, 0, NULL, NULL},
        {"update-baseline", 0, KBR_OPT_FLAG, &a->update, 0, 0, NULL, NULL},
        {"baseline-dir", 0, KBR_OPT_STR, &a->bdir, 0, 0, NULL, NULL},
        {"force", 0, KBR_OPT_FLAG, &a->force, 0, 0, NULL, NULL},
        {"duplicates", 0, KBR_OPT_FN, &a->dup_last, 0, 0, parse_dups, "(error or last)"},
        {"format", 0, KBR_OPT_FN, &a->fmt, 0, 0, parse_format, "(text, md or json)"},
        {"filter", 0, KBR_OPT_STR, &a->filter, 0, 0, NULL, NULL},
    };
    char **av = malloc((size_t)(argc + 1) * sizeof *av);
    int ac, rc = av ? pull_json(argc, argv, a, av, &ac) : KB_EXIT_IO;
    if (!rc) rc = kbr_opts_parse("compare", ac, av, opts, (int)(sizeof opts / sizeof *opts), usage, &a->first);
    int npos = ac - a->first;
    if (!rc && npos == 2) { a->bpath = av[a->first]; a->npath = av[a->first + 1]; }
    else if (!rc && npos == 1 && a->update) a->npath = av[a->first];
    else if (!rc) {
        fprintf(stderr, "kbench compare: need BASE.csv and NEW.csv (got %d file%s)\n", npos, npos == 1 ? "" : "s");
        rc = KB_EXIT_USAGE;
    }
    if (!rc) rc = check_stdin(a);
    free(av);
    return rc;
}

static int load_inputs(const cmp_args *a, kb_rowset *bs, kb_rowset *ns)
{
    char err[1200];
    int rc = kb_rows_load(ns, a->npath, NULL, err, sizeof err);
    if (!rc && a->bpath) rc = kb_rows_load(bs, a->bpath, NULL, err, sizeof err);
    if (!rc) rc = kb_rows_check_enums(ns, err, sizeof err);
    if (!rc) rc = kb_rows_check_enums(bs, err, sizeof err);
    if (!rc && a->json_new) rc = load_gbench_json(a->json_new, ns, err, sizeof err);
    if (!rc && a->json_base && a->bpath) rc = load_gbench_json(a->json_base, bs, err, sizeof err);
    if (rc) fprintf(stderr, "kbench compare: %s\n", err);
    else if (a->bpath && (bs->n == 0 || ns->n == 0)) {
        fprintf(stderr, "kbench compare: %s: no data rows\n", bs->n == 0 ? a->bpath : a->npath);
        rc = KB_EXIT_USAGE;
    }
    return rc;
}

/* What matching needs besides the rows: the BASE index by the matching key,
 * the rows a later one of their key supersedes (--duplicates last), and
 * the count of rows whose samples were too few for alpha. */
typedef struct match_ctx {
    const kb_rowset *bs, *ns;
    kbr_index bx;
    const char *bsup, *nsup;
    int few;
} match_ctx;

/* The BASE row matching n (the last of its key), or NULL. */
static const kb_row *base_for(const match_ctx *m, const kb_row *n)
{
    int count, at = kbr_index_find(&m->bx, n, &count);
    return at < 0 ? NULL : m->bx.r[at + count - 1];
}

/* A measured row against a projected one compares a measurement with a model. */
static int mixed_sources(const cmp_args *a, const kb_row *b, const kb_row *n)
{
    if (!b || !strcmp(b->source, n->source)) return 0;
    char k[400];
    fprintf(stderr, "kbench compare: %s: BASE %s row %d is %s, NEW %s row %d is %s: compare like with like\n",
            kbr_gate_key(n, k, sizeof k), a->bpath, b->line, b->source, a->npath, n->line, n->source);
    return 1;
}

static void match_new(match_ctx *m, const cmp_args *a, const kb_row *n, cmp_line *x)
{
    const kb_row *b = base_for(m, n);
    *x = (cmp_line){.b = b, .n = n, .change = NAN, .p = NAN};
    if (!strcmp(n->verified, "fail")) x->st = ST_FAIL, snprintf(x->test, sizeof x->test, "verification failed");
    else if (!b) x->st = ST_NEW, snprintf(x->test, sizeof x->test, "not in baseline");
    else if (kb_row_has_time(b) && !kb_row_has_time(n))
        x->st = ST_MISSING, snprintf(x->test, sizeof x->test, "no time in NEW (%s)", n->verified);
    else if (!kb_row_has_time(b) || !kb_row_has_time(n))
        x->st = ST_INFO, snprintf(x->test, sizeof x->test, "no time in BASE (%s)", b->verified);
    else classify(x, a->thr, a->alpha, &m->few);
}

/* --filter: fnmatch(3) on "op/impl/shape" (every row without a filter). */
static int kept(const cmp_args *a, const kb_row *r)
{
    if (!a->filter) return 1;
    char k[400];
    snprintf(k, sizeof k, "%s/%s/%s", r->op, r->impl, r->shape);
    return fnmatch(a->filter, k, 0) == 0;
}

/* One line per NEW row (FAIL, NEW, MISSING, INFO or classified), then the
 * baseline keys NEW lacks (each once).  Returns the count, or -1 (mixed
 * sources, reported) or -2 (out of memory). */
static int match_rows(match_ctx *m, int with_gpu, const cmp_args *a, cmp_line *L)
{
    const kb_rowset *bs = m->bs, *ns = m->ns;
    kbr_index nx;
    kbr_key_cmp key = with_gpu ? kbr_key_gate_gpu : kbr_key_gate;
    if (kbr_index_build(&m->bx, bs, key)) return -2;
    if (kbr_index_build(&nx, ns, key)) { kbr_index_free(&m->bx); return -2; }
    int nl = 0;
    for (int i = 0; i < ns->n && nl >= 0; i++) {
        if ((m->nsup && m->nsup[i]) || !kept(a, &ns->r[i])) continue;
        if (mixed_sources(a, base_for(m, &ns->r[i]), &ns->r[i])) nl = -1;
        else match_new(m, a, &ns->r[i], &L[nl++]);
    }
    for (int j = 0; j < bs->n && nl >= 0; j++) {
        const kb_row *b = &bs->r[j];
        if ((m->bsup && m->bsup[j]) || !kept(a, b) || base_for(m, b) != b || kbr_index_find(&nx, b, NULL) >= 0) continue;
        cmp_line *x = &L[nl++];
        *x = (cmp_line){.b = b, .change = NAN, .p = NAN, .st = kb_row_has_time(b) ? ST_MISSING : ST_INFO};
        snprintf(x->test, sizeof x->test, "%s", kb_row_has_time(b) ? "row missing in NEW" : "gone (baseline had no time)");
    }
    kbr_index_free(&m->bx);
    kbr_index_free(&nx);
    return nl;
}

static const char *line_op(const cmp_line *x) { return x->n ? x->n->op : x->b->op; }

/* The output formats: text (the terminal table), md (a pull-request comment),
 * json (CI annotations).  Every format carries the same facts. */
enum { FMT_TEXT, FMT_MD, FMT_JSON };

/* Geometric-mean change per op (NEW/BASE time - 1) over rows with times on
 * both sides: fn(op, change or NAN, rows, ctx) once per op, in line order. */
typedef void (*geo_fn)(const char *op, double change, int nrows, void *ctx);
static void each_geomean(const cmp_line *L, int nl, geo_fn fn, void *ctx)
{
    double *ratios = malloc((size_t)nl * sizeof *ratios + 1);
    for (int i = 0; ratios && i < nl; i++) {
        int first = 1, nr = 0;
        for (int j = 0; j < i && first; j++) first = strcmp(line_op(&L[i]), line_op(&L[j])) != 0;
        if (!first) continue;
        for (int j = i; j < nl; j++)
            if (isfinite(L[j].change) && !strcmp(line_op(&L[i]), line_op(&L[j]))) ratios[nr++] = 1 + L[j].change;
        fn(line_op(&L[i]), nr ? kbr_geomean(ratios, nr) - 1 : NAN, nr, ctx);
    }
    free(ratios);
}

static void geo_text(const char *op, double ch, int nr, void *ctx)
{
    (void)ctx;
    if (nr) printf("  %-20s %+7.2f%%  (%d rows)\n", op, 100 * ch, nr);
    else printf("  %-20s       -   (no comparable rows)\n", op);
}

static void geo_md(const char *op, double ch, int nr, void *ctx)
{
    (void)ctx;
    if (nr) printf("| %s | %+.2f%% | %d |\n", op, 100 * ch, nr);
    else printf("| %s | - | 0 |\n", op);
}

static void geo_json(const char *op, double ch, int nr, void *ctx)
{
    json_t *o = json_pack("{s:s, s:i}", "op", op, "rows", nr);
    json_object_set_new(o, "geomean_change", nr ? json_real(ch) : json_null());
    json_array_append_new(ctx, o);
}

/* The cells of one line, as text. */
typedef struct line_cells {
    char ch[16], bt[24], nt[24];
    const kb_row *k;
} line_cells;

static line_cells cells_of(const cmp_line *x)
{
    line_cells c = {"-", "-", "-", x->n ? x->n : x->b};
    if (isfinite(x->change)) snprintf(c.ch, sizeof c.ch, "%+.1f%%", 100 * x->change);
    if (x->b && kb_row_has_time(x->b)) snprintf(c.bt, sizeof c.bt, "%.3f", x->b->time_us);
    if (x->n && kb_row_has_time(x->n)) snprintf(c.nt, sizeof c.nt, "%.3f", x->n->time_us);
    return c;
}

static void summary_line(const int *counts, const char *pre, const char *post)
{
    printf("%ssummary: %d regression%s, %d verification failure%s, %d missing, %d improved, "
           "%d noise, %d same, %d new%s\n", pre,
           counts[ST_REGRESSION], counts[ST_REGRESSION] == 1 ? "" : "s", counts[ST_FAIL],
           counts[ST_FAIL] == 1 ? "" : "s", counts[ST_MISSING], counts[ST_IMPROVED], counts[ST_NOISE],
           counts[ST_SAME], counts[ST_NEW], post);
}

static void print_text(const cmp_line *L, int nl, int with_gpu, const int *counts)
{
    printf("%-10s %8s %12s %12s  %-22s %s\n", "status", "change", "base_us", "new_us", "test",
           "op/impl/shape [dtype]");
    for (int i = 0; i < nl; i++) {
        line_cells c = cells_of(&L[i]);
        printf("%-10s %8s %12s %12s  %-22s %s/%s/%s [%s]%s%s\n", st_name[L[i].st], c.ch, c.bt, c.nt, L[i].test,
               c.k->op, c.k->impl, c.k->shape, c.k->dtype, with_gpu ? " " : "", with_gpu ? c.k->gpu : "");
    }
    printf("\ngeometric-mean change per op (NEW/BASE time):\n");
    each_geomean(L, nl, geo_text, NULL);
    summary_line(counts, "\n", "");
}

/* Markdown: the summary first (what a reviewer reads), then the flagged and
 * changed lines (SAME rows are counted, not listed), then the per-op means. */
static void print_md(const cmp_line *L, int nl, int with_gpu, const int *counts)
{
    summary_line(counts, "**kbench compare** ", "");
    printf("\n| status | change | base µs | new µs | test | op/impl/shape | dtype |%s\n|---|---:|---:|---:|---|---|---|%s\n",
           with_gpu ? " gpu |" : "", with_gpu ? "---|" : "");
    for (int i = 0; i < nl; i++) {
        if (L[i].st == ST_SAME) continue;
        line_cells c = cells_of(&L[i]);
        printf("| %s | %s | %s | %s | %s | `%s/%s/%s` | %s |%s%s%s\n", st_name[L[i].st], c.ch, c.bt, c.nt, L[i].test,
               c.k->op, c.k->impl, c.k->shape, c.k->dtype, with_gpu ? " " : "", with_gpu ? c.k->gpu : "",
               with_gpu ? " |" : "");
    }
    printf("\n| op | geometric-mean change | rows |\n|---|---:|---:|\n");
    each_geomean(L, nl, geo_md, NULL);
}

static json_t *json_line(const cmp_line *x)
{
    const kb_row *k = x->n ? x->n : x->b;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "status", st_name[x->st], "op", k->op, "impl",
                          k->impl, "shape", k->shape, "dtype", k->dtype, "gpu", k->gpu, "test", x->test);
    json_object_set_new(o, "change", isfinite(x->change) ? json_real(x->change) : json_null());
    json_object_set_new(o, "p", isfinite(x->p) ? json_real(x->p) : json_null());
    json_object_set_new(o, "base_us", x->b && kb_row_has_time(x->b) ? json_real(x->b->time_us) : json_null());
    json_object_set_new(o, "new_us", x->n && kb_row_has_time(x->n) ? json_real(x->n->time_us) : json_null());
    return o;
}

static void print_json(const cmp_args *v, const cmp_line *L, int nl, const int *counts)
{
    json_t *lines = json_array(), *geo = json_array(), *sum = json_object();
    for (int i = 0; i < nl; i++) json_array_append_new(lines, json_line(&L[i]));
    each_geomean(L, nl, geo_json, geo);
    for (int s = ST_FAIL; s <= ST_INFO; s++) json_object_set_new(sum, st_name[s], json_integer(counts[s]));
    json_t *root = json_pack("{s:s, s:s, s:f, s:f, s:o, s:o, s:o}", "base", v->bpath, "new", v->npath,
                             "threshold", v->thr, "alpha", v->alpha, "summary", sum, "geomean", geo, "lines", lines);
    json_object_set_new(root, "gate", json_string(counts[ST_REGRESSION] || counts[ST_FAIL] || counts[ST_MISSING]
                                                      ? "fail" : "pass"));
    json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
    printf("\n");
    json_decref(root);
}

/* GPU sets must agree (unless allowed); rows match per GPU when several.
 * -1 refused (reported), -2 out of memory, else whether they are equal. */
static int check_gpus(const cmp_args *a, const kb_rowset *bs, const kb_rowset *ns, char **bg, char **ng,
                      int *with_gpu)
{
    int nbg, nng, equal = same_gpu_sets(bs, ns);
    *bg = gpu_list(bs, &nbg);
    *ng = gpu_list(ns, &nng);
    if (!*bg || !*ng) return -2;
    if (!equal && !a->allow_mismatch) {
        fprintf(stderr, "kbench compare: GPU mismatch: %s is %s, %s is %s (use --allow-gpu-mismatch)\n", a->bpath,
                *bg, a->npath, *ng);
        return -1;
    }
    *with_gpu = equal && (nbg > 1 || nng > 1);
    return equal;
}

static void print_head(const cmp_args *a, const match_ctx *m, const char *bg, const char *ng, int equal)
{
    const char *q = a->fmt == FMT_MD ? "`" : "";
    printf("kbench compare: BASE %s%s%s (%s, %d rows) vs NEW %s%s%s (%s, %d rows)%s\n", q, a->bpath, q, bg, m->bs->n, q,
           a->npath, q, ng, m->ns->n, a->fmt == FMT_MD ? "  " : "");
    printf("threshold %.1f%%, alpha %g%s%s%s%s%s\n", a->thr * 100, a->alpha, equal ? "" : "  [GPU mismatch allowed]",
           a->filter ? ", filter " : "", a->filter ? q : "", a->filter ? a->filter : "", a->filter ? q : "");
    if (m->nsup || m->bsup) printf("duplicates: the last row of each key is compared (--duplicates last)\n");
    printf("\n");
}

/* Google Benchmark's compare.py: fewer than 9 repetitions make the result
 * unreliable.  One warning line for the lines whose smaller side has fewer. */
enum { REPS_RECOMMENDED = 9 };
static void warn_low_reps(const cmp_line *L, int nl)
{
    int low = 0;
    for (int i = 0; i < nl; i++) {
        if (!L[i].b || !L[i].n || !isfinite(L[i].change)) continue;
        int nb = L[i].b->n_samples ? L[i].b->n_samples : L[i].b->reps;
        int nn = L[i].n->n_samples ? L[i].n->n_samples : L[i].n->reps;
        low += (nb < nn ? nb : nn) < REPS_RECOMMENDED;
    }
    if (low)
        fprintf(stderr, "kbench compare: warning: %d compared row%s fewer than %d repetitions on one side: "
                "results unreliable (--reps %d or more recommended)\n", low, low == 1 ? " has" : "s have",
                REPS_RECOMMENDED, REPS_RECOMMENDED);
}

static void render(const cmp_args *a, const match_ctx *m, const cmp_line *L, int nl, int with_gpu, int *counts,
                   const char *bg, const char *ng, int equal)
{
    for (int i = 0; i < nl; i++) counts[L[i].st]++;
    if (a->fmt == FMT_JSON) print_json(a, L, nl, counts);
    else print_head(a, m, bg, ng, equal);
    if (a->fmt == FMT_TEXT) print_text(L, nl, with_gpu, counts);
    if (a->fmt == FMT_MD) print_md(L, nl, with_gpu, counts);
    if (m->few)
        fprintf(stderr, "kbench compare: warning: %d row%s had too few samples for alpha %g (the exact "
                "Mann-Whitney U cannot reach it): judged by their min/max ranges\n", m->few,
                m->few == 1 ? "" : "s", a->alpha);
    warn_low_reps(L, nl);
}

static int compare(const cmp_args *a, match_ctx *m)
{
    char *bg = NULL, *ng = NULL;
    int with_gpu, equal = check_gpus(a, m->bs, m->ns, &bg, &ng, &with_gpu), nl = -2;
    cmp_line *L = equal >= 0 ? calloc((size_t)(m->bs->n + m->ns->n) + 1, sizeof *L) : NULL;
    if (L) nl = match_rows(m, with_gpu, a, L);
    int counts[ST_INFO + 1] = {0}, rc = equal == -1 || nl == -1 ? KB_EXIT_USAGE : nl < 0 ? KB_EXIT_IO : 0;
    if (rc == KB_EXIT_IO) fprintf(stderr, "kbench compare: out of memory\n");
    if (!rc && nl == 0 && a->filter) {
        fprintf(stderr, "kbench compare: --filter '%s' matches no row\n", a->filter);
        rc = KB_EXIT_USAGE;
    }
    if (!rc) {
        qsort(L, (size_t)nl, sizeof *L, cmp_lines);
        render(a, m, L, nl, with_gpu, counts, bg, ng, equal);
        rc = (counts[ST_REGRESSION] || counts[ST_FAIL] || counts[ST_MISSING]) ? KB_EXIT_FAIL : 0;
    }
    free(L);
    free(bg);
    free(ng);
    return rc;
}

/* The input checks of kbr_gate.h on both files; the superseded flags into m. */
static int check_inputs(const cmp_args *a, kb_rowset *bs, kb_rowset *ns, match_ctx *m, char **bsup, char **nsup)
{
    int nb = 0, nn = 0, rc = kbr_gate_check_times(ns, a->npath);
    if (!rc && a->bpath) rc = kbr_gate_check_times(bs, a->bpath);
    if (!rc) rc = kbr_gate_duplicates(ns, a->npath, a->dup_last, nsup, &nn);
    if (!rc && a->bpath) rc = kbr_gate_duplicates(bs, a->bpath, a->dup_last, bsup, &nb);
    if (rc == KB_EXIT_IO) fprintf(stderr, "kbench compare: out of memory\n");
    *m = (match_ctx){.bs = bs, .ns = ns, .bsup = *bsup, .nsup = *nsup};
    return rc;
}

/* --update-baseline: only after a clean comparison (or --force), and only
 * with a file fit to be a baseline. */
static int maybe_update(const cmp_args *a, const kb_rowset *ns, const char *nsup, int rc)
{
    if (rc == KB_EXIT_FAIL && !a->force) {
        fprintf(stderr, "kbench compare: baseline not updated: NEW has regressions, failures or missing rows "
                "(--force updates anyway)\n");
        return rc;
    }
    if (rc != 0 && rc != KB_EXIT_FAIL) return rc;
    if (nsup) {
        fprintf(stderr, "kbench compare: %s: not a baseline: it holds duplicate rows\n", a->npath);
        return KB_EXIT_USAGE;
    }
    int urc = kbr_gate_baseline_ok(ns, a->npath);
    if (!urc) urc = update_baseline(a->npath, ns, a->bdir);
    return urc ? urc : rc;
}

int kb_cmd_compare(int argc, char **argv)
{
    cmp_args a = {.thr = 0.05, .alpha = 0.01, .bdir = "results/baselines"};
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc == KBR_OPTS_HELP ? 0 : rc;
    kb_rowset bs = {0}, ns = {0};
    char *bsup = NULL, *nsup = NULL;
    match_ctx m;
    rc = load_inputs(&a, &bs, &ns);
    if (!rc) rc = check_inputs(&a, &bs, &ns, &m, &bsup, &nsup);
    if (!rc && a.bpath) rc = compare(&a, &m);
    if (a.update) rc = maybe_update(&a, &ns, nsup, rc);
    free(bsup);
    free(nsup);
    kb_rows_free(&bs);
    kb_rows_free(&ns);
    return rc;
}
