/* Spec table integrity, name -> slug mapping, user JSON overrides. */
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

int main(void)
{
    int n;
    const kb_gpu *g = kb_gpus(&n);
    KBT_CHECK(n == 6);
    const char *want[] = {"h100-sxm", "h100-pcie", "h800-sxm", "h800-pcie", "h200-sxm", "h20"};
    for (int i = 0; i < 6; i++) KBT_CHECK(kb_gpu_find(want[i]) != NULL);
    for (int i = 0; i < n; i++) {
        /* every figure that is known carries a confidence and a source */
        for (int f = 0; f < KB_F_COUNT; f++)
            if (g[i].f[f].v > 0) KBT_CHECK(strchr("PSM", g[i].f[f].conf) && g[i].f[f].src && *g[i].f[f].src);
        KBT_CHECK(g[i].f[KB_F_SMS].v > 0 && g[i].f[KB_F_HBM_GBS].v > 0 && g[i].f[KB_F_L2_MB].v > 0);
        /* dense FP8 is twice dense BF16 on Hopper (within rounding of the datasheets) */
        KBT_NEAR(g[i].f[KB_F_FP8].v, 2 * g[i].f[KB_F_BF16].v, 0.002);
        /* per-direction nominal link = half the bidirectional figure */
        KBT_NEAR(g[i].f[KB_F_LINK_NOMINAL].v, g[i].f[KB_F_NVLINK_BIDIR].v / 2, 1e-9);
        if (g[i].f[KB_F_LINK_PRACTICAL].v > 0)
            KBT_CHECK(g[i].f[KB_F_LINK_PRACTICAL].v < g[i].f[KB_F_LINK_NOMINAL].v);
    }
    /* H800 = H100 SXM5 except NVLink (and FP64) */
    const kb_gpu *h100 = kb_gpu_find("h100-sxm"), *h800 = kb_gpu_find("h800-sxm");
    const kb_gpu_field same[] = {KB_F_SMS, KB_F_FP8, KB_F_BF16, KB_F_HBM_GBS, KB_F_L2_MB, KB_F_MEM_GB};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) KBT_NEAR(h800->f[same[i]].v, h100->f[same[i]].v, 0);
    KBT_NEAR(h100->f[KB_F_NVLINK_BIDIR].v, 900, 0);
    KBT_NEAR(h800->f[KB_F_NVLINK_BIDIR].v, 400, 0);
    KBT_NEAR(h800->f[KB_F_LINK_PRACTICAL].v, 160, 0);
    KBT_NEAR(h100->f[KB_F_LINK_PRACTICAL].v, 370, 0);
    KBT_CHECK(h800->f[KB_F_FP64].v < 2 && h100->f[KB_F_FP64].v > 30);
    KBT_CHECK(kb_gpu_find("a100") == NULL);

    /* device names -> slugs */
    KBT_STREQ(kb_gpu_slug_for_name("NVIDIA H100 80GB HBM3", 85), "h100-sxm");
    KBT_STREQ(kb_gpu_slug_for_name("NVIDIA H100 PCIe", 85), "h100-pcie");
    KBT_STREQ(kb_gpu_slug_for_name("NVIDIA H800", 85), "h800-sxm");
    KBT_STREQ(kb_gpu_slug_for_name("NVIDIA H200", 150), "h200-sxm");
    KBT_STREQ(kb_gpu_slug_for_name("NVIDIA H20", 97), "h20");
    KBT_CHECK(kb_gpu_slug_for_name("NVIDIA A100-SXM4-80GB", 85) == NULL);
    kb_gpu row;
    KBT_CHECK(kb_gpu_from_props("NVIDIA H100 80GB HBM3", 132, 85, 50, 3352, &row) == 1);
    KBT_STREQ(row.slug, "h100-sxm");
    KBT_CHECK(kb_gpu_from_props("NVIDIA A100-SXM4-80GB", 108, 85, 40, 2039, &row) == 0);
    KBT_STREQ(row.slug, "a100-sxm4-80gb");
    KBT_NEAR(row.f[KB_F_SMS].v, 108, 0);
    KBT_NEAR(row.f[KB_F_HBM_GBS].v, 2039, 0);
    KBT_CHECK(row.f[KB_F_HBM_GBS].conf == 'D' && row.f[KB_F_FP8].v == 0);

    /* user file: override one figure, add a GPU */
    char err[256] = "";
    const char *p = write_tmp("{\"gpus\":[{\"slug\":\"h100-sxm\",\"hbm_gbs\":3000,\"source\":\"our copy test\"},"
                              "{\"slug\":\"b200\",\"name\":\"NVIDIA B200\",\"fp8_tflops\":4500,\"hbm_gbs\":8000}]}");
    KBT_CHECK(kb_specs_load(p, err, sizeof err) == 0);
    unlink(p);
    KBT_NEAR(kb_gpu_find("h100-sxm")->f[KB_F_HBM_GBS].v, 3000, 0);
    KBT_CHECK(kb_gpu_find("h100-sxm")->f[KB_F_HBM_GBS].conf == 'U');
    KBT_CHECK(strstr(kb_gpu_find("h100-sxm")->f[KB_F_HBM_GBS].src, "our copy test") != NULL);
    KBT_NEAR(kb_gpu_find("h100-sxm")->f[KB_F_FP8].v, 1979, 0); /* untouched */
    KBT_CHECK(kb_gpu_find("b200") != NULL);
    KBT_NEAR(kb_gpu_find("b200")->f[KB_F_FP8].v, 4500, 0);
    kb_gpus(&n);
    KBT_CHECK(n == 7);
    kb_specs_reset();
    KBT_NEAR(kb_gpu_find("h100-sxm")->f[KB_F_HBM_GBS].v, 3350, 0);

    /* bad files: one clear message each */
    const char *bad[][2] = {
        {"{\"gpus\":[{\"slug\":\"x\",\"hbm_gbs\":\"fast\"}]}", "must be a number"},
        {"{\"gpus\":[{\"slug\":\"x\",\"warp_drive\":1}]}", "unknown field \"warp_drive\""},
        {"{\"gpus\":[{\"hbm_gbs\":1}]}", "bad \"slug\""},
        {"{\"gpu\":[]}", "\"gpus\" array"},
        {"{\"gpus\":[", "bad JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = write_tmp(bad[i][0]);
        err[0] = 0;
        KBT_CHECK(kb_specs_load(p, err, sizeof err) == -1);
        KBT_CHECK(strstr(err, bad[i][1]) != NULL);
        if (!strstr(err, bad[i][1])) printf("  message was: %s\n", err);
        unlink(p);
        kb_specs_reset();
    }
    err[0] = 0;
    KBT_CHECK(kb_specs_load("/nonexistent/specs.json", err, sizeof err) == -1 && *err);
    return kbt_done("test_specs");
}
