/* kb_specs.c - built-in GPU table (../shared/reference/gpus.md), user JSON
 * overrides (jansson) and detection of the current device. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include "bench/kb_specs.h"

static const char *const field_names[KB_F_COUNT] = {
    "sms", "fp8_tflops", "bf16_tflops", "tf32_tflops", "fp32_tflops", "fp64_tflops",
    "hbm_gbs", "mem_gb", "l2_mb", "nvlink_bidir_gbs", "link_gbs_nominal",
    "link_gbs_practical", "tdp_w",
};

const char *kb_gpu_field_name(kb_gpu_field f)
{
    return (f >= 0 && f < KB_F_COUNT) ? field_names[f] : "?";
}

#define P(v) {v, 'P', "NVIDIA datasheet"}
#define S(v, why) {v, 'S', why}
#define M(v, why) {v, 'M', why}
#define UNK {0, '-', "unknown"}

/* Order of figures: sms fp8 bf16 tf32 fp32 fp64 hbm mem l2 nvlink link_nom link_prac tdp */
static const kb_gpu builtin[] = {
    {"h100-sxm", "NVIDIA H100 SXM5 80GB",
     {P(132), P(1979), P(989), P(495), P(67), P(34), P(3350), P(80), P(50), P(900),
      S(450, "half of 900 GB/s bidirectional NVLink"),
      S(370, "NCCL maintainers: effective all-to-all per direction"), P(700)}},
    {"h100-pcie", "NVIDIA H100 PCIe 80GB",
     {P(114), P(1513), P(756), P(378), P(51), P(26), P(2000), P(80), P(50),
      P(600), S(300, "half of the 600 GB/s NVLink bridge"), UNK, P(350)}},
    {"h800-sxm", "NVIDIA H800 SXM5 80GB",
     {S(132, "DeepSeek trace deviceProperties"), S(1979, "= H100 SXM5 (same SMs and tensor cores)"),
      S(989, "FlashMLA deep-dive: 990"), S(495, "= H100 SXM5"), S(67, "= H100 SXM5"),
      S(1, "FP64 cut to ~1 TFLOPS"), S(3350, "= H100 SXM5 HBM3"), S(80, "= H100 SXM5"),
      S(50, "= H100 SXM5"), S(400, "NVLink cut from 900 to 400 GB/s"),
      S(200, "half of 400 GB/s bidirectional"), S(160, "DeepSeek V3 report: NVLink 160 GB/s achievable"),
      S(700, "= H100 SXM5")}},
    {"h800-pcie", "NVIDIA H800 PCIe 80GB",
     {S(114, "= H100 PCIe"), S(1513, "= H100 PCIe"), S(756, "= H100 PCIe"), S(378, "= H100 PCIe"),
      S(51, "= H100 PCIe"), S(0.8, "FP64 cut"), S(2000, "= H100 PCIe HBM2e"), S(80, "= H100 PCIe"),
      S(50, "= H100 PCIe"), S(400, "NVLink cut to 400 GB/s"), S(200, "half of 400 GB/s"), UNK,
      S(350, "= H100 PCIe")}},
    {"h200-sxm", "NVIDIA H200 SXM 141GB",
     {M(132, "kbench GPU machine, 2026-11"), P(1979), P(989), P(495), P(67), P(34), P(4800), P(141),
      M(60, "torch reports 60 MB"), P(900), S(450, "half of 900 GB/s bidirectional NVLink"),
      S(370, "as H100 SXM5 (same NVLink 4)"), P(700)}},
    {"h20", "NVIDIA H20 96GB",
     {S(78, "secondary sources"), S(296, "secondary sources"), S(148, "secondary sources"),
      S(74, "secondary sources"), S(44, "secondary sources"), S(1, "secondary sources"),
      S(4000, "secondary sources"), S(96, "secondary sources"), S(60, "secondary sources"),
      S(900, "secondary sources"), S(450, "half of 900 GB/s"), S(337, "measured by a third party"),
      S(400, "secondary sources")}},
};
#define N_BUILTIN ((int)(sizeof builtin / sizeof builtin[0]))
#define MAX_GPUS 64

static kb_gpu table[MAX_GPUS];
static int n_table = -1;

static void ensure_table(void)
{
    if (n_table >= 0) return;
    memcpy(table, builtin, sizeof builtin);
    n_table = N_BUILTIN;
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

/* User-file strings must outlive the json tree: keep copies here. */
static char user_src[MAX_GPUS][128];

int kb_specs_load(const char *path, char *err, int errlen)
{
    ensure_table();
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        snprintf(err, (size_t)errlen, "%s:%d: bad JSON: %s", path, je.line, je.text);
        return -1;
    }
    int rc = -1;
    json_t *gpus = json_object_get(root, "gpus");
    if (!json_is_array(gpus)) {
        snprintf(err, (size_t)errlen, "%s: expected an object with a \"gpus\" array", path);
        goto out;
    }
    size_t i;
    json_t *g;
    json_array_foreach(gpus, i, g) {
        const char *slug = json_string_value(json_object_get(g, "slug"));
        if (!json_is_object(g) || !slug || !*slug || strlen(slug) >= sizeof table[0].slug) {
            snprintf(err, (size_t)errlen, "%s: gpus[%zu]: missing or bad \"slug\"", path, i);
            goto out;
        }
        kb_gpu *row = (kb_gpu *)kb_gpu_find(slug);
        if (!row) {
            if (n_table >= MAX_GPUS) {
                snprintf(err, (size_t)errlen, "%s: too many GPUs (max %d)", path, MAX_GPUS);
                goto out;
            }
            row = &table[n_table++];
            memset(row, 0, sizeof *row);
            snprintf(row->slug, sizeof row->slug, "%s", slug);
            snprintf(row->name, sizeof row->name, "%s", slug);
            for (int f = 0; f < KB_F_COUNT; f++) row->f[f] = (kb_fig){0, '-', "unknown"};
        }
        int slot = (int)(row - table);
        const char *src = json_string_value(json_object_get(g, "source"));
        snprintf(user_src[slot], sizeof user_src[slot], "user file %s%s%s", path, src ? ": " : "",
                 src ? src : "");
        const char *name = json_string_value(json_object_get(g, "name"));
        if (name) snprintf(row->name, sizeof row->name, "%s", name);
        const char *key;
        json_t *val;
        json_object_foreach(g, key, val) {
            if (!strcmp(key, "slug") || !strcmp(key, "name") || !strcmp(key, "source")) continue;
            int f;
            for (f = 0; f < KB_F_COUNT; f++)
                if (!strcmp(key, field_names[f])) break;
            if (f == KB_F_COUNT) {
                snprintf(err, (size_t)errlen, "%s: gpu \"%s\": unknown field \"%s\"", path, slug, key);
                goto out;
            }
            if (!json_is_number(val) || json_number_value(val) < 0) {
                snprintf(err, (size_t)errlen, "%s: gpu \"%s\": field \"%s\" must be a number >= 0",
                         path, slug, key);
                goto out;
            }
            row->f[f] = (kb_fig){json_number_value(val), 'U', user_src[slot]};
        }
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == n) return 1;
    }
    return 0;
}

const char *kb_gpu_slug_for_name(const char *dev_name, double mem_gb)
{
    int pcie = contains_ci(dev_name, "pcie");
    if (contains_ci(dev_name, "H100")) return pcie ? "h100-pcie" : "h100-sxm";
    if (contains_ci(dev_name, "H800")) return pcie ? "h800-pcie" : "h800-sxm";
    if (contains_ci(dev_name, "H200")) return "h200-sxm";
    if (contains_ci(dev_name, "H20") && mem_gb > 90 && mem_gb < 100) return "h20";
    return NULL;
}

int kb_gpu_from_props(const char *dev_name, int sms, double mem_gb, double l2_mb,
                      double hbm_gbs_derived, kb_gpu *out)
{
    const char *slug = kb_gpu_slug_for_name(dev_name, mem_gb);
    const kb_gpu *row = slug ? kb_gpu_find(slug) : NULL;
    if (row) {
        *out = *row;
        return 1;
    }
    memset(out, 0, sizeof *out);
    /* Slug from the device name: lower case, runs of non-alnum -> '-'. */
    size_t j = 0;
    const char *p = dev_name;
    if (!strncmp(p, "NVIDIA ", 7)) p += 7;
    for (; *p && j + 1 < sizeof out->slug; p++) {
        if (isalnum((unsigned char)*p)) out->slug[j++] = (char)tolower((unsigned char)*p);
        else if (j && out->slug[j - 1] != '-') out->slug[j++] = '-';
    }
    while (j && out->slug[j - 1] == '-') j--;
    out->slug[j] = 0;
    snprintf(out->name, sizeof out->name, "%s", dev_name);
    for (int f = 0; f < KB_F_COUNT; f++) out->f[f] = (kb_fig){0, '-', "unknown"};
    out->f[KB_F_SMS] = (kb_fig){sms, 'D', "device properties"};
    out->f[KB_F_MEM_GB] = (kb_fig){mem_gb, 'D', "device properties"};
    out->f[KB_F_L2_MB] = (kb_fig){l2_mb, 'D', "device properties"};
    out->f[KB_F_HBM_GBS] = (kb_fig){hbm_gbs_derived, 'D', "2 x memory clock x bus width"};
    return 0;
}
