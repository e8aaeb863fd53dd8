/* Spec table integrity, device name -> slug detection, user JSON overrides. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench/kb_specs.h"
#include "kbtest.h"

static const char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/kb_specs_XXXXXX");
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void check_table(void)
{
    int n, nk;
    const kb_gpu *g = kb_gpus(&n);
    const kb_fig_key *k = kb_fig_keys(&nk);
    KBT_CHECK(n >= 6 && nk == 16); /* the six of gpus.md, and any row added since; 13 figures + ib_* + l2_gbs */
    int l2 = -1;
    for (int f = 0; f < nk; f++)
        if (!strcmp(k[f].name, "l2_gbs")) l2 = f;
    KBT_CHECK(l2 >= 0); /* --counters' L2 roof: unknown in every built-in row (no sourced figure) */
    for (int i = 0; l2 >= 0 && i < n; i++) KBT_CHECK(kb_gpu_fig(&g[i], &k[l2])->conf == '-');
    const char *want[] = {"h100-sxm", "h100-pcie", "h800-sxm", "h800-pcie", "h200-sxm", "h20"};
    for (int i = 0; i < 6; i++) KBT_CHECK(kb_gpu_find(want[i]) != NULL);
    for (int i = 0; i < n; i++) {
        /* every figure that is known carries a confidence and a source; the
         * others read as unknown, not as zeroed memory */
        for (int f = 0; f < nk; f++) {
            const kb_fig *x = kb_gpu_fig(&g[i], &k[f]);
            if (x->v > 0) KBT_CHECK(strchr("PSM", x->conf) && x->src && *x->src);
            else KBT_CHECK(x->conf == '-' && x->src && !strcmp(x->src, "unknown"));
        }
        KBT_CHECK(g[i].sms.v > 0 && g[i].hbm_gbs.v > 0 && g[i].l2_mb.v > 0);
        /* detection checks more than the name: the SM count and a memory range */
        KBT_CHECK(g[i].mem_gb_min > 0 && g[i].mem_gb_max > g[i].mem_gb_min);
        /* dense FP8 is twice dense BF16 on Hopper (within rounding of the datasheets) */
        KBT_NEAR(g[i].fp8_tflops.v, 2 * g[i].bf16_tflops.v, 0.002);
        /* per-direction nominal link = half the bidirectional figure */
        KBT_NEAR(g[i].link_gbs_nominal.v, g[i].nvlink_bidir_gbs.v / 2, 1e-9);
        if (g[i].link_gbs_practical.v > 0) KBT_CHECK(g[i].link_gbs_practical.v < g[i].link_gbs_nominal.v);
        /* the NIC: practical below nominal; CX7 400 Gb/s = 50 GB/s per direction where known */
        if (g[i].ib_gbs_practical.v > 0) KBT_CHECK(g[i].ib_gbs_practical.v < g[i].ib_gbs_nominal.v);
        if (g[i].ib_gbs_nominal.v > 0) KBT_NEAR(g[i].ib_gbs_nominal.v, 400.0 / 8, 1e-12);
    }
    /* the key table names the members: the JSON key "hbm_gbs" is g->hbm_gbs */
    KBT_STREQ(k[6].name, "hbm_gbs");
    KBT_CHECK(kb_gpu_fig(&g[0], &k[6]) == &g[0].hbm_gbs);
    /* H800 = H100 SXM5 except NVLink (and FP64) */
    const kb_gpu *h100 = kb_gpu_find("h100-sxm"), *h800 = kb_gpu_find("h800-sxm");
    KBT_CHECK(h800->sms.v == h100->sms.v && h800->fp8_tflops.v == h100->fp8_tflops.v);
    KBT_CHECK(h800->bf16_tflops.v == h100->bf16_tflops.v && h800->hbm_gbs.v == h100->hbm_gbs.v);
    KBT_CHECK(h800->l2_mb.v == h100->l2_mb.v && h800->mem_gb.v == h100->mem_gb.v);
    KBT_NEAR(h100->nvlink_bidir_gbs.v, 900, 0);
    KBT_NEAR(h800->nvlink_bidir_gbs.v, 400, 0);
    KBT_NEAR(h800->link_gbs_practical.v, 160, 0);
    KBT_NEAR(h100->link_gbs_practical.v, 370, 0);
    KBT_CHECK(h800->fp64_tflops.v < 2 && h100->fp64_tflops.v > 30);
    KBT_CHECK(kb_gpu_find("a100") == NULL);
}

/* The CUDA device names of the GPUs in the table (cudaDeviceProp.name),
 * their SM count and their memory in GB (totalGlobalMem / 1e9: N GiB reports
 * ~0.99 x N x 1.074 GB). */
static const struct { const char *name; int sms; double mem_gb; const char *slug; } real[] = {
    {"NVIDIA H100 80GB HBM3", 132, 85, "h100-sxm"}, {"NVIDIA H100 PCIe", 114, 85, "h100-pcie"},
    {"NVIDIA H800", 132, 85, "h800-sxm"},           {"NVIDIA H800 PCIe", 114, 85, "h800-pcie"},
    {"NVIDIA H200", 132, 150, "h200-sxm"},          {"NVIDIA H20", 78, 102, "h20"},
};
#define N_REAL (sizeof real / sizeof real[0])

/* Devices whose names the table's patterns take but that are other models:
 * no row may fit them, and the warning names the row they resemble. */
static const struct { const char *name; int sms; double mem_gb; const char *near, *why; } lookalike[] = {
    {"NVIDIA H100 NVL", 132, 100, "h100-sxm", "another model"},
    {"NVIDIA GH200 480GB", 132, 102, "h200-sxm", "another model"},
    {"NVIDIA GH200 480GB", 132, 154, "h200-sxm", "another model"},
    {"NVIDIA H200 NVL", 132, 150, "h200-sxm", "another model"},
    {"NVIDIA H100 80GB HBM3", 114, 85, "h100-sxm", "has 114 SMs, not 132"},
    {"NVIDIA H100 64GB HBM3", 132, 68.7, "h100-sxm", "has 68.7 GB of memory, not 79-90 GB"},
    {"NVIDIA H20", 78, 150, "h20", "has 150.0 GB of memory"},
};

static void check_lookalikes(void)
{
    kb_gpu row;
    char why[256];
    for (size_t i = 0; i < sizeof lookalike / sizeof lookalike[0]; i++) {
        why[0] = 0;
        KBT_CHECK(kb_gpu_from_props(lookalike[i].name, lookalike[i].sms, lookalike[i].mem_gb, 50, 3000, &row, why,
                                    sizeof why) == 0);
        char want[64];
        snprintf(want, sizeof want, "resembles %s ", lookalike[i].near);
        KBT_CHECK(strstr(why, want) && strstr(why, lookalike[i].why));
        if (!strstr(why, want) || !strstr(why, lookalike[i].why)) printf("  %s: %s\n", lookalike[i].name, why);
        KBT_CHECK(row.fp8_tflops.conf == '-' && row.sms.conf == 'D');
    }
    KBT_CHECK(kb_gpu_slug_for_name("NVIDIA H100 NVL", 100) == NULL);
    KBT_CHECK(kb_gpu_slug_for_name("NVIDIA GH200 480GB", 154) == NULL);
    KBT_CHECK(kb_gpu_from_props("NVIDIA A100-SXM4-80GB", 108, 85, 40, 2039, &row, why, sizeof why) == 0);
    KBT_STREQ(why, "is not in the device table");
}

static void check_detection(void)
{
    /* each real device resolves to its row, at the edges of what it reports too */
    for (size_t i = 0; i < N_REAL; i++) {
        KBT_STREQ(kb_gpu_slug_for_name(real[i].name, real[i].mem_gb), real[i].slug);
        kb_gpu row;
        for (double d = -0.5; d <= 0.5; d += 0.5) {
            KBT_CHECK(kb_gpu_from_props(real[i].name, real[i].sms, real[i].mem_gb + d, 50, 3000, &row, NULL, 0) == 1);
            KBT_CHECK(!strcmp(row.slug, real[i].slug));
        }
    }
    /* each row fits its own device and none of the others */
    int n;
    const kb_gpu *g = kb_gpus(&n);
    for (int r = 0; r < n; r++) {
        int own = 0;
        for (size_t i = 0; i < N_REAL; i++) {
            int m = kb_gpu_matches(&g[r], real[i].name, real[i].sms, real[i].mem_gb);
            if (!strcmp(g[r].slug, real[i].slug)) own += m;
            else KBT_CHECK(!m);
        }
        KBT_CHECK(own == 1);
    }
    /* case does not matter; the H20 (96 GiB: ~102 GB) and the H200 (~150 GB)
     * are told apart by memory and SMs */
    KBT_STREQ(kb_gpu_slug_for_name("nvidia h100 pcie", 85), "h100-pcie");
    KBT_CHECK(!kb_gpu_matches(kb_gpu_find("h20"), "NVIDIA H20", 78, 141));
    KBT_CHECK(kb_gpu_slug_for_name("NVIDIA H20", 141) == NULL);
    KBT_CHECK(kb_gpu_slug_for_name("NVIDIA H200", 97) == NULL);
    KBT_CHECK(kb_gpu_slug_for_name("NVIDIA A100-SXM4-80GB", 85) == NULL);
    kb_gpu row;
    KBT_CHECK(kb_gpu_from_props("NVIDIA H100 80GB HBM3", 132, 85, 50, 3352, &row, NULL, 0) == 1);
    KBT_STREQ(row.slug, "h100-sxm");
    KBT_CHECK(kb_gpu_from_props("NVIDIA A100-SXM4-80GB", 108, 85, 40, 2039, &row, NULL, 0) == 0);
    KBT_STREQ(row.slug, "a100-sxm4-80gb");
    KBT_NEAR(row.sms.v, 108, 0);
    KBT_NEAR(row.hbm_gbs.v, 2039, 0);
    KBT_CHECK(row.hbm_gbs.conf == 'D' && row.fp8_tflops.v == 0 && row.fp8_tflops.conf == '-');
    check_lookalikes();
}

/* user file: override one figure, add a GPU that the run can detect */
static void check_user_file(void)
{
    char err[256] = "";
    int n0;
    kb_gpus(&n0);
    const char *p = write_tmp("{\"gpus\":[{\"slug\":\"h100-sxm\",\"hbm_gbs\":3000,\"source\":\"our copy test\"},"
                              "{\"slug\":\"x900\",\"name\":\"NVIDIA X900\",\"match\":\"*x900*\","
                              "\"fp8_tflops\":4500,\"bf16_tflops\":2250,\"fp32_tflops\":80,\"hbm_gbs\":8000,"
                              "\"link_gbs_nominal\":900}], \"$comment\":\"allowed\"}");
    KBT_CHECK(kb_specs_load(p, err, sizeof err) == 0);
    unlink(p);
    const kb_gpu *h100 = kb_gpu_find("h100-sxm"), *x900 = kb_gpu_find("x900");
    KBT_NEAR(h100->hbm_gbs.v, 3000, 0);
    KBT_CHECK(h100->hbm_gbs.conf == 'U');
    KBT_CHECK(strstr(h100->hbm_gbs.src, "our copy test") != NULL);
    KBT_NEAR(h100->fp8_tflops.v, 1979, 0); /* untouched */
    KBT_STREQ(h100->match, "*h100*");      /* untouched */
    KBT_CHECK(x900 != NULL);
    KBT_NEAR(x900->fp8_tflops.v, 4500, 0);
    KBT_CHECK(x900->tdp_w.conf == '-');
    KBT_STREQ(kb_gpu_slug_for_name("NVIDIA X900", 180), "x900");
    int n;
    kb_gpus(&n);
    KBT_CHECK(n == n0 + 1); /* the built-in rows + x900 */
    kb_specs_reset();
    KBT_NEAR(kb_gpu_find("h100-sxm")->hbm_gbs.v, 3350, 0);
    KBT_CHECK(kb_gpu_slug_for_name("NVIDIA X900", 180) == NULL);
}

/* bad files: one clear message each */
static void check_bad_files(void)
{
    const char *bad[][2] = {
        {"{\"gpus\":[{\"slug\":\"x\",\"hbm_gbs\":\"fast\"}]}", "must be a number > 0"},
        /* zero, negative or overflowing ceilings, even on a known GPU */
        {"{\"gpus\":[{\"slug\":\"h100-sxm\",\"hbm_gbs\":0}]}", "gpu \"h100-sxm\": field \"hbm_gbs\" must be a number > 0"},
        {"{\"gpus\":[{\"slug\":\"h100-sxm\",\"fp8_tflops\":-1}]}", "field \"fp8_tflops\" must be"},
        {"{\"gpus\":[{\"slug\":\"h100-sxm\",\"fp8_tflops\":1e999}]}", "bad JSON"},
        /* a new GPU gives every ceiling the model uses */
        {"{\"gpus\":[{\"slug\":\"x\",\"hbm_gbs\":8000}]}", "gpu \"x\": new GPU lacks field \"fp8_tflops\""},
        {"{\"gpus\":[{\"slug\":\"x\",\"fp8_tflops\":2,\"bf16_tflops\":1,\"fp32_tflops\":1,\"hbm_gbs\":1}]}",
         "lacks field \"link_gbs_nominal\""},
        {"{\"gpus\":[{\"slug\":\"h20\",\"hbm_gbs\":1},{\"slug\":\"h20\",\"l2_mb\":1}]}", "gpu \"h20\" appears twice"},
        {"{\"gpus\":[{\"slug\":\"h20\",\"hbm_gbs\":1,\"hbm_gbs\":2}]}", "duplicate"},
        {"{\"gpus\":[], \"gpu\":[]}", "unknown top-level key \"gpu\""},
        {"{\"gpus\":[{\"slug\":\"x\",\"name\":5}]}", "field \"name\" must be a string"},
        {"{\"gpus\":[{\"slug\":\"x\",\"warp_drive\":1}]}", "unknown field \"warp_drive\""},
        {"{\"gpus\":[{\"slug\":\"x\",\"match\":7}]}", "field \"match\" must be a pattern"},
        {"{\"gpus\":[{\"hbm_gbs\":1}]}", "bad \"slug\""},
        {"{\"gpu\":[]}", "\"gpus\" array"},
        {"{\"gpus\":[", "bad JSON"},
    };
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *p = write_tmp(bad[i][0]);
        err[0] = 0;
        KBT_CHECK(kb_specs_load(p, err, sizeof err) == -1);
        KBT_CHECK(strstr(err, bad[i][1]) != NULL && strstr(err, p) == err);
        if (!strstr(err, bad[i][1])) printf("  message was: %s\n", err);
        unlink(p);
        kb_specs_reset();
    }
    err[0] = 0;
    KBT_CHECK(kb_specs_load("/nonexistent/specs.json", err, sizeof err) == -1 && *err);
    /* a file that fails changes nothing, not even its entries before the error */
    int n0, n1;
    kb_gpus(&n0);
    const char *p = write_tmp("{\"gpus\":[{\"slug\":\"h100-sxm\",\"hbm_gbs\":1},"
                              "{\"slug\":\"y\",\"hbm_gbs\":1}]}");
    KBT_CHECK(kb_specs_load(p, err, sizeof err) == -1);
    unlink(p);
    kb_gpus(&n1);
    KBT_CHECK(n1 == n0 && kb_gpu_find("y") == NULL);
    KBT_NEAR(kb_gpu_find("h100-sxm")->hbm_gbs.v, 3350, 0);
    KBT_CHECK(kb_gpu_find("h100-sxm")->hbm_gbs.conf == 'P');
}

int main(void)
{
    check_table();
    check_detection();
    check_user_file();
    check_bad_files();
    return kbt_done("test_specs");
}
