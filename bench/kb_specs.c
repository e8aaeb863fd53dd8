/* kb_specs.c - built-in GPU table (../shared/reference/gpus.md), user JSON
 * overrides (jansson) and detection of the current device. */
#include <ctype.h>
#include <fnmatch.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "bench/kb_specs.h"
#include "bench/kb_io.h"

/* ---- the figures as data ---------------------------------------------------- */
/* The JSON key is the member's name: they cannot drift apart. */
#define KB_FIG_KEY(member) {#member, offsetof(kb_gpu, member)}
static const kb_fig_key fig_keys[] = {
    KB_FIG_KEY(sms),         KB_FIG_KEY(fp8_tflops),       KB_FIG_KEY(bf16_tflops),
    KB_FIG_KEY(tf32_tflops), KB_FIG_KEY(fp32_tflops),      KB_FIG_KEY(fp64_tflops),
    KB_FIG_KEY(hbm_gbs),     KB_FIG_KEY(mem_gb),           KB_FIG_KEY(l2_mb),
    KB_FIG_KEY(nvlink_bidir_gbs), KB_FIG_KEY(link_gbs_nominal), KB_FIG_KEY(link_gbs_practical),
    KB_FIG_KEY(tdp_w),
    KB_FIG_KEY(ib_gbs_nominal), KB_FIG_KEY(ib_gbs_practical),
    /* no built-in row knows it (no primary or measured figure yet): a --specs file gives it */
    KB_FIG_KEY(l2_gbs),
};
#define N_FIGS ((int)(sizeof fig_keys / sizeof fig_keys[0]))

const kb_fig_key *kb_fig_keys(int *n)
{
    *n = N_FIGS;
    return fig_keys;
}

const kb_fig *kb_gpu_fig(const kb_gpu *g, const kb_fig_key *k)
{
    return (const kb_fig *)((const char *)g + k->offset);
}

static kb_fig *fig_of(kb_gpu *g, const kb_fig_key *k) { return (kb_fig *)((char *)g + k->offset); }

static const kb_fig_key *fig_key_named(const char *name)
{
    for (int i = 0; i < N_FIGS; i++)
        if (!strcmp(fig_keys[i].name, name)) return &fig_keys[i];
    return NULL;
}

static const kb_fig unknown = {0, '-', "unknown"};

/* ---- the built-in rows ---------------------------------------------------------- */
#define P(v) {v, 'P', "NVIDIA datasheet"}
#define S(v, why) {v, 'S', why}
#define M(v, why) {v, 'M', why}
/* A figure left out of a row is unknown (ensure_table fills it in). */

/* Detection: "*h100*pcie*" is more specific than "*h100*", so a PCIe card
 * never lands on the SXM row whatever the order.  Every row also checks the
 * SM count (its `sms` figure) and the memory totalGlobalMem / 1e9 reports:
 * N GiB = N x 1.074 GB, of which the device reports ~99% (80 GiB -> ~85.0,
 * 96 GiB -> ~102, 141 GiB -> ~150).  That keeps an H100 NVL (132 SMs, ~100 GB)
 * off the H100 SXM row, a GH200 (132 SMs, ~102 or ~154 GB; `unlike` for the
 * latter) off the H200 row, and the H200 off the H20 row. */
#define MEM_80GIB .mem_gb_min = 79, .mem_gb_max = 90
/* One ConnectX-7 (400 Gb/s InfiniBand) per GPU, as in DeepSeek's H800 cluster;
 * the practical figure is DeepEP's measured bottleneck bandwidth (its EP32/64
 * figures, 58/51 GB/s, are "logical" and count node-local traffic too). */
#define IB_CX7 \
    .ib_gbs_nominal = S(50, "ConnectX-7 400 Gb/s per GPU (V3 report: IB 50 GB/s)"), \
    .ib_gbs_practical = S(43, "DeepEP docs/legacy.md: H800 + CX7, internode EP16 normal kernels 43 GB/s RDMA")
static const kb_gpu builtin[] = {
    {.slug = "h100-sxm", .name = "NVIDIA H100 SXM5 80GB", .match = "*h100*", .unlike = "*nvl*", MEM_80GIB,
     .sms = P(132), .fp8_tflops = P(1979), .bf16_tflops = P(989), .tf32_tflops = P(495), .fp32_tflops = P(67),
     .fp64_tflops = P(34), .hbm_gbs = P(3350), .mem_gb = P(80), .l2_mb = P(50), .nvlink_bidir_gbs = P(900),
     .link_gbs_nominal = S(450, "half of 900 GB/s bidirectional NVLink"),
     .link_gbs_practical = S(370, "NCCL maintainers: effective all-to-all per direction"), .tdp_w = P(700),
     IB_CX7},
    {.slug = "h100-pcie", .name = "NVIDIA H100 PCIe 80GB", .match = "*h100*pcie*", MEM_80GIB,
     .sms = P(114), .fp8_tflops = P(1513), .bf16_tflops = P(756), .tf32_tflops = P(378), .fp32_tflops = P(51),
     .fp64_tflops = P(26), .hbm_gbs = P(2000), .mem_gb = P(80), .l2_mb = P(50), .nvlink_bidir_gbs = P(600),
     .link_gbs_nominal = S(300, "half of the 600 GB/s NVLink bridge"), .tdp_w = P(350)},
    {.slug = "h800-sxm", .name = "NVIDIA H800 SXM5 80GB", .match = "*h800*", .unlike = "*nvl*", MEM_80GIB,
     .sms = S(132, "DeepSeek trace deviceProperties"), .fp8_tflops = S(1979, "= H100 SXM5 (same SMs and tensor cores)"),
     .bf16_tflops = S(989, "FlashMLA deep-dive: 990"), .tf32_tflops = S(495, "= H100 SXM5"),
     .fp32_tflops = S(67, "= H100 SXM5"), .fp64_tflops = S(1, "FP64 cut to ~1 TFLOPS"),
     .hbm_gbs = S(3350, "= H100 SXM5 HBM3"), .mem_gb = S(80, "= H100 SXM5"), .l2_mb = S(50, "= H100 SXM5"),
     .nvlink_bidir_gbs = S(400, "NVLink cut from 900 to 400 GB/s"),
     .link_gbs_nominal = S(200, "half of 400 GB/s bidirectional"),
     .link_gbs_practical = S(160, "DeepSeek V3 report: NVLink 160 GB/s achievable"), .tdp_w = S(700, "= H100 SXM5"),
     IB_CX7},
    {.slug = "h800-pcie", .name = "NVIDIA H800 PCIe 80GB", .match = "*h800*pcie*", MEM_80GIB,
     .sms = S(114, "= H100 PCIe"), .fp8_tflops = S(1513, "= H100 PCIe"), .bf16_tflops = S(756, "= H100 PCIe"),
     .tf32_tflops = S(378, "= H100 PCIe"), .fp32_tflops = S(51, "= H100 PCIe"), .fp64_tflops = S(0.8, "FP64 cut"),
     .hbm_gbs = S(2000, "= H100 PCIe HBM2e"), .mem_gb = S(80, "= H100 PCIe"), .l2_mb = S(50, "= H100 PCIe"),
     .nvlink_bidir_gbs = S(400, "NVLink cut to 400 GB/s"), .link_gbs_nominal = S(200, "half of 400 GB/s"),
     .tdp_w = S(350, "= H100 PCIe")},
    {.slug = "h200-sxm", .name = "NVIDIA H200 SXM 141GB", .match = "*h200*", .unlike = "*gh200*|*nvl*",
     .mem_gb_min = 145, .mem_gb_max = 156,
     .sms = M(132, "kbench GPU machine, 2026-11"), .fp8_tflops = P(1979), .bf16_tflops = P(989),
     .tf32_tflops = P(495), .fp32_tflops = P(67), .fp64_tflops = P(34), .hbm_gbs = P(4800), .mem_gb = P(141),
     .l2_mb = M(60, "torch reports 60 MB"), .nvlink_bidir_gbs = P(900),
     .link_gbs_nominal = S(450, "half of 900 GB/s bidirectional NVLink"),
     .link_gbs_practical = S(370, "as H100 SXM5 (same NVLink 4)"), .tdp_w = P(700),
     IB_CX7},
    {.slug = "h20", .name = "NVIDIA H20 96GB", .match = "*h20*", .mem_gb_min = 98, .mem_gb_max = 106,
     .sms = S(78, "secondary sources"), .fp8_tflops = S(296, "secondary sources"),
     .bf16_tflops = S(148, "secondary sources"), .tf32_tflops = S(74, "secondary sources"),
     .fp32_tflops = S(44, "secondary sources"), .fp64_tflops = S(1, "secondary sources"),
     .hbm_gbs = S(4000, "secondary sources"), .mem_gb = S(96, "secondary sources"),
     .l2_mb = S(60, "secondary sources"), .nvlink_bidir_gbs = S(900, "secondary sources"),
     .link_gbs_nominal = S(450, "half of 900 GB/s"), .link_gbs_practical = S(337, "measured by a third party"),
     .tdp_w = S(400, "secondary sources")},
};
#define N_BUILTIN ((int)(sizeof builtin / sizeof builtin[0]))
#define MAX_GPUS 64

static kb_gpu table[MAX_GPUS];
static int n_table = -1;

static void fill_unknown(kb_gpu *g)
{
    for (int i = 0; i < N_FIGS; i++)
        if (!fig_of(g, &fig_keys[i])->conf) *fig_of(g, &fig_keys[i]) = unknown;
}

static void ensure_table(void)
{
    if (n_table >= 0) return;
    memcpy(table, builtin, sizeof builtin);
    n_table = N_BUILTIN;
    for (int i = 0; i < n_table; i++) fill_unknown(&table[i]);
}

void kb_specs_reset(void) { n_table = -1; }

const kb_gpu *kb_gpus(int *n)
{
    ensure_table();
    *n = n_table;
    return table;
}

const kb_gpu *kb_gpu_find(const char *slug)
{
    ensure_table();
    for (int i = 0; i < n_table; i++)
        if (strcmp(table[i].slug, slug) == 0) return &table[i];
    return NULL;
}

/* ---- user file ----------------------------------------------------------------- */
/* User-file strings must outlive the json tree: keep copies here. */
static char user_src[MAX_GPUS][128];

/* The ceilings the model uses (kb_roofline): a new GPU must give them all. */
static const char *const required[] = {"fp8_tflops", "bf16_tflops", "fp32_tflops", "hbm_gbs", "link_gbs_nominal",
                                       NULL};

const char *const *kb_specs_required(void) { return required; }

__attribute__((format(printf, 3, 4))) static int fail(char *err, int errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, (size_t)errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* The row a user entry names: the existing one, or a new row of unknowns
 * (NULL when the table is full). */
static kb_gpu *row_for_slug(const char *slug)
{
    kb_gpu *row = (kb_gpu *)kb_gpu_find(slug);
    if (row || n_table >= MAX_GPUS) return row;
    row = &table[n_table++];
    memset(row, 0, sizeof *row);
    kb_strlcpy(row->slug, slug, sizeof row->slug);
    kb_strlcpy(row->name, slug, sizeof row->name);
    fill_unknown(row);
    return row;
}

/* One key of an entry: a string field, or a figure from the key table. */
static int load_key(kb_gpu *row, const char *key, json_t *val, const char *src, const char *where, char *err,
                    int errlen)
{
    if (!strcmp(key, "slug") || !strcmp(key, "source") || !strcmp(key, "$comment")) return 0;
    if (!strcmp(key, "name")) {
        if (!json_is_string(val)) return fail(err, errlen, "%s: field \"name\" must be a string", where);
        kb_strlcpy(row->name, json_string_value(val), sizeof row->name);
        return 0;
    }
    if (!strcmp(key, "match")) {
        if (!json_is_string(val) || strlen(json_string_value(val)) >= sizeof row->match)
            return fail(err, errlen, "%s: field \"match\" must be a pattern of at most %zu characters", where,
                        sizeof row->match - 1);
        kb_strlcpy(row->match, json_string_value(val), sizeof row->match);
        return 0;
    }
    const kb_fig_key *k = fig_key_named(key);
    if (!k) return fail(err, errlen, "%s: unknown field \"%s\"", where, key);
    double v = json_number_value(val);
    if (!json_is_number(val) || !isfinite(v) || v <= 0) /* 0 is not "unknown": leave the field out */
        return fail(err, errlen, "%s: field \"%s\" must be a number > 0", where, key);
    *fig_of(row, k) = (kb_fig){v, 'U', src};
    return 0;
}

/* A GPU the table did not have must give every ceiling the model uses. */
static int check_new(const kb_gpu *row, const char *where, char *err, int errlen)
{
    for (const char *const *r = required; *r; r++)
        if (kb_gpu_fig(row, fig_key_named(*r))->conf != 'U')
            return fail(err, errlen,
                        "%s: new GPU lacks field \"%s\" (a new GPU gives fp8_tflops, bf16_tflops, "
                        "fp32_tflops, hbm_gbs and link_gbs_nominal)", where, *r);
    return 0;
}

/* gpus[i]: find or add its row, then take every key.  seen: the slugs of
 * this file so far. */
static int load_entry(const char *path, size_t i, json_t *g, json_t *seen, char *err, int errlen)
{
    const char *slug = json_string_value(json_object_get(g, "slug"));
    if (!json_is_object(g) || !slug || !*slug || strlen(slug) >= sizeof table[0].slug)
        return fail(err, errlen, "%s: gpus[%zu]: missing or bad \"slug\"", path, i);
    if (json_object_get(seen, slug)) return fail(err, errlen, "%s: gpu \"%s\" appears twice", path, slug);
    json_object_set_new(seen, slug, json_true());
    int is_new = kb_gpu_find(slug) == NULL;
    kb_gpu *row = row_for_slug(slug);
    if (!row) return fail(err, errlen, "%s: too many GPUs (max %d)", path, MAX_GPUS);
    int slot = (int)(row - table);
    const char *src = json_string_value(json_object_get(g, "source"));
    snprintf(user_src[slot], sizeof user_src[slot], "user file %s%s%s", path, src ? ": " : "", src ? src : "");
    char where[160];
    snprintf(where, sizeof where, "%s: gpu \"%s\"", path, slug);
    const char *key;
    json_t *val;
    json_object_foreach(g, key, val)
        if (load_key(row, key, val, user_src[slot], where, err, errlen)) return -1;
    return is_new ? check_new(row, where, err, errlen) : 0;
}

/* The top level: an object of "gpus" (an array) and maybe "$comment". */
static int check_top(const char *path, json_t *root, char *err, int errlen)
{
    if (!json_is_array(json_object_get(root, "gpus")))
        return fail(err, errlen, "%s: expected an object with a \"gpus\" array", path);
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
        if (strcmp(key, "gpus") && strcmp(key, "$comment"))
            return fail(err, errlen, "%s: unknown top-level key \"%s\" (expected \"gpus\")", path, key);
    return 0;
}

/* A file that fails leaves the table as it was. */
static kb_gpu saved[MAX_GPUS];
static char saved_src[MAX_GPUS][128];

int kb_specs_load(const char *path, char *err, int errlen)
{
    ensure_table();
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) return fail(err, errlen, "%s:%d: bad JSON: %s", path, je.line, je.text);
    int rc = check_top(path, root, err, errlen), n_saved = n_table;
    memcpy(saved, table, sizeof table);
    memcpy(saved_src, user_src, sizeof user_src);
    json_t *seen = json_object(), *g;
    size_t i;
    json_array_foreach(rc ? NULL : json_object_get(root, "gpus"), i, g) {
        if ((rc = load_entry(path, i, g, seen, err, errlen))) break;
    }
    if (rc) {
        memcpy(table, saved, sizeof table);
        memcpy(user_src, saved_src, sizeof user_src);
        n_table = n_saved;
    }
    json_decref(seen);
    json_decref(root);
    return rc;
}

/* ---- detection ------------------------------------------------------------------ */
static void lower(char *dst, const char *src, size_t n)
{
    size_t j = 0;
    for (; src[j] && j + 1 < n; j++) dst[j] = (char)tolower((unsigned char)src[j]);
    dst[j] = 0;
}

/* Does the lower-case name match pattern pat (case-insensitively)? */
static int name_fits(const char *pat, const char *lname)
{
    char p[64];
    lower(p, pat, sizeof p);
    return fnmatch(p, lname, 0) == 0;
}

/* Does the row's name pattern take the device name? */
static int name_matches(const kb_gpu *g, const char *lname)
{
    return g->match[0] && name_fits(g->match, lname);
}

/* What keeps a row whose pattern takes the name from fitting the device:
 * 0, or 1 with the reason in why. */
static int misfit(const kb_gpu *g, const char *lname, int sms, double mem_gb, char *why, size_t n)
{
    char alt[sizeof g->unlike];
    kb_strlcpy(alt, g->unlike, sizeof alt);
    for (char *save = NULL, *p = strtok_r(alt, "|", &save); p; p = strtok_r(NULL, "|", &save))
        if (name_fits(p, lname)) return snprintf(why, n, "its name is that of another model (\"%s\")", p), 1;
    if (sms > 0 && g->sms.v > 0 && sms != (int)g->sms.v)
        return snprintf(why, n, "has %d SMs, not %.0f", sms, g->sms.v), 1;
    if (g->mem_gb_max > 0 && !(mem_gb > g->mem_gb_min && mem_gb < g->mem_gb_max))
        return snprintf(why, n, "has %.1f GB of memory, not %g-%g GB", mem_gb, g->mem_gb_min, g->mem_gb_max), 1;
    return 0;
}

int kb_gpu_matches(const kb_gpu *g, const char *dev_name, int sms, double mem_gb)
{
    char name[256], why[128];
    lower(name, dev_name, sizeof name);
    return name_matches(g, name) && !misfit(g, name, sms, mem_gb, why, sizeof why);
}

/* How specific a pattern is: its characters other than wildcards. */
static int specificity(const char *pat)
{
    int n = 0;
    for (; *pat; pat++) n += *pat != '*' && *pat != '?';
    return n;
}

/* The most specific row that fits the device, or NULL; *near: the most
 * specific row whose pattern takes the name, fitting or not. */
static const kb_gpu *detect(const char *dev_name, int sms, double mem_gb, const kb_gpu **near)
{
    ensure_table();
    char name[256], why[128];
    lower(name, dev_name, sizeof name);
    const kb_gpu *best = NULL;
    *near = NULL;
    for (int i = 0; i < n_table; i++) {
        const kb_gpu *g = &table[i];
        if (!name_matches(g, name)) continue;
        if (!*near || specificity(g->match) > specificity((*near)->match)) *near = g;
        if (!misfit(g, name, sms, mem_gb, why, sizeof why) &&
            (!best || specificity(g->match) > specificity(best->match)))
            best = g;
    }
    return best;
}

const char *kb_gpu_slug_for_name(const char *dev_name, double mem_gb)
{
    const kb_gpu *near, *g = detect(dev_name, 0, mem_gb, &near);
    return g ? g->slug : NULL;
}

/* Unknown GPU: slug from the device name (lower case, runs of non-alnum ->
 * '-'), figures from its properties, everything else unknown. */
static void derive_row(const char *dev_name, int sms, double mem_gb, double l2_mb, double hbm_gbs, kb_gpu *out)
{
    memset(out, 0, sizeof *out);
    size_t j = 0;
    const char *p = dev_name;
    if (!strncmp(p, "NVIDIA ", 7)) p += 7;
    for (; *p && j + 1 < sizeof out->slug; p++) {
        if (isalnum((unsigned char)*p)) out->slug[j++] = (char)tolower((unsigned char)*p);
        else if (j && out->slug[j - 1] != '-') out->slug[j++] = '-';
    }
    while (j && out->slug[j - 1] == '-') j--;
    out->slug[j] = 0;
    kb_strlcpy(out->name, dev_name, sizeof out->name);
    fill_unknown(out);
    out->sms = (kb_fig){sms, 'D', "device properties"};
    out->mem_gb = (kb_fig){mem_gb, 'D', "device properties"};
    out->l2_mb = (kb_fig){l2_mb, 'D', "device properties"};
    out->hbm_gbs = (kb_fig){hbm_gbs, 'D', "2 x memory clock x bus width"};
}

int kb_gpu_from_props(const char *dev_name, int sms, double mem_gb, double l2_mb,
                      double hbm_gbs_derived, kb_gpu *out, char *why, int whylen)
{
    const kb_gpu *near, *row = detect(dev_name, sms, mem_gb, &near);
    if (row) {
        *out = *row;
        return 1;
    }
    derive_row(dev_name, sms, mem_gb, l2_mb, hbm_gbs_derived, out);
    if (!why || whylen <= 0) return 0;
    char lname[256], miss[128];
    lower(lname, dev_name, sizeof lname);
    if (near && misfit(near, lname, sms, mem_gb, miss, sizeof miss))
        snprintf(why, (size_t)whylen, "resembles %s (%s) but %s", near->slug, near->name, miss);
    else
        snprintf(why, (size_t)whylen, "is not in the device table");
    return 0;
}
