/* test_fp8_gemm_v3_tmap.c - fp8_gemm_v3's host caches are per device
 * (kernels/fp8_gemm/fp8_gemm_v3_tmap.h), and its launchers refuse a NULL
 * context before touching CUDA.  No GPU needed. */
#include <string.h>
#include "kbtest.h"
#include "kernels/fp8_gemm/fp8_gemm_v3.h"
#include "kernels/fp8_gemm/fp8_gemm_v3_tmap.h"

static void fill(unsigned char *m, unsigned char v) { memset(m, v, FP8_V3_TMAP_BYTES); }

static void test_tmap_keying(void)
{
    static fp8_v3_tmap_cache c; /* zeroed, as the kernel's static one */
    unsigned char m0[FP8_V3_TMAP_BYTES], m1[FP8_V3_TMAP_BYTES], out[FP8_V3_TMAP_BYTES];
    static const char buf[64];
    const fp8_v3_tmap_key k0 = {0, buf, 4096, 7168, 64}, k1 = {1, buf, 4096, 7168, 64};
    fill(m0, 0xA0);
    fill(m1, 0xB1);
    KBT_CHECK(!fp8_v3_tmap_find(&c, &k0, out));
    fp8_v3_tmap_put(&c, &k0, m0);
    /* same pointer, dims and box on device 1: not device 0's map */
    KBT_CHECK(!fp8_v3_tmap_find(&c, &k1, out));
    fp8_v3_tmap_put(&c, &k1, m1);
    KBT_CHECK(fp8_v3_tmap_find(&c, &k0, out) && out[0] == 0xA0 && out[127] == 0xA0);
    KBT_CHECK(fp8_v3_tmap_find(&c, &k1, out) && out[0] == 0xB1 && out[127] == 0xB1);
    KBT_CHECK(c.used == 2);
    /* every other key field also separates entries */
    fp8_v3_tmap_key k = k0;
    k.box_rows = 128; KBT_CHECK(!fp8_v3_tmap_find(&c, &k, out));
    k = k0; k.rows = 4097; KBT_CHECK(!fp8_v3_tmap_find(&c, &k, out));
    k = k0; k.cols = 7296; KBT_CHECK(!fp8_v3_tmap_find(&c, &k, out));
    k = k0; k.ptr = buf + 16; KBT_CHECK(!fp8_v3_tmap_find(&c, &k, out));
    /* 32 slots: 30 more keys fill it (32 used); the 33rd replaces slot 0
     * (k0), the 34th slot 1 (k1) */
    for (int i = 0; i < 30; i++) {
        k = k0;
        k.rows = 100 + (uint64_t)i;
        fp8_v3_tmap_put(&c, &k, m0);
    }
    KBT_CHECK(c.used == 32 && fp8_v3_tmap_find(&c, &k0, out) && fp8_v3_tmap_find(&c, &k1, out));
    k = k0; k.rows = 1000; fp8_v3_tmap_put(&c, &k, m1);
    KBT_CHECK(!fp8_v3_tmap_find(&c, &k0, out) && fp8_v3_tmap_find(&c, &k1, out));
    k = k0; k.rows = 1001; fp8_v3_tmap_put(&c, &k, m1);
    KBT_CHECK(!fp8_v3_tmap_find(&c, &k1, out) && fp8_v3_tmap_find(&c, &k, out));
}

static void test_dev_flags(void)
{
    static fp8_v3_dev_flags f;
    KBT_CHECK(!fp8_v3_dev_flag(&f, 0) && !fp8_v3_dev_flag(&f, 1));
    fp8_v3_dev_flag_set(&f, 0);
    KBT_CHECK(fp8_v3_dev_flag(&f, 0) && !fp8_v3_dev_flag(&f, 1)); /* device 1 still needs its attribute */
    fp8_v3_dev_flag_set(&f, 1);
    KBT_CHECK(fp8_v3_dev_flag(&f, 1));
    fp8_v3_dev_flag_set(&f, -1);
    fp8_v3_dev_flag_set(&f, FP8_V3_MAX_DEVICES);
    KBT_CHECK(!fp8_v3_dev_flag(&f, -1) && !fp8_v3_dev_flag(&f, FP8_V3_MAX_DEVICES));
}

/* The launchers check ctx before any CUDA call, so this runs without a GPU. */
static void test_null_ctx(void)
{
    KBT_CHECK(fp8_gemm_v3_grouped(NULL, 0) == KB_FAIL);
    KBT_CHECK(strstr(kb_last_message(), "fp8_gemm_v3_grouped: null ctx") != NULL);
    KBT_CHECK(fp8_gemm_v3(NULL, 0) == KB_FAIL);
    KBT_CHECK(fp8_gemm_v3_contig(NULL, 0) == KB_FAIL);
    KBT_CHECK(fp8_gemm_v3_masked(NULL, 0) == KB_FAIL);
    KBT_CHECK(fp8_gemm_v3_run(NULL, 0, 0, 0) == KB_FAIL);
    /* a dense context is a skip for the grouped entry, still without CUDA */
    fp8_gemm_args a;
    memset(&a, 0, sizeof a);
    a.layout = FP8_GEMM_DENSE;
    KBT_CHECK(fp8_gemm_v3_grouped(&a, 0) == KB_SKIP);
}

int main(void)
{
    test_tmap_keying();
    test_dev_flags();
    test_null_ctx();
    return kbt_done("test_fp8_gemm_v3_tmap");
}
