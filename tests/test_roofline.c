/* Roofline math against hand-computed values. */
#include <math.h>
#include "bench/kb_roofline.h"
#include "bench/kb_row.h"
#include "kbtest.h"

int main(void)
{
    /* attainable = min(peak, AI x bw): 100 FLOP/B x 3350 GB/s = 335 TFLOP/s < 989 */
    KBT_NEAR(kb_attainable_tflops(989, 100, 3350), 335, 1e-12);
    KBT_NEAR(kb_attainable_tflops(989, 1000, 3350), 989, 1e-12);
    /* ridge points (method.md): FP8 1979/3.35 = 590.7 FLOP/B, BF16 989/3.35 = 295.2 */
    KBT_NEAR(kb_ridge_point(1979, 3350), 590.746268656716, 1e-9);
    KBT_NEAR(kb_ridge_point(989, 3350), 295.223880597015, 1e-9);
    KBT_CHECK(isinf(kb_ridge_point(989, 0)));

    /* FP8 GEMM M=4096, N=7168, K=16384 on H100 SXM: 2MNK = 962072674304 FLOP;
     * bytes = MK + NK + 2MN = 67108864 + 117440512 + 58720256 = 243269632.
     * compute 962072674304 / 1.979e15 = 486.1408157e-6 s; memory 72.618e-6 s */
    kb_roof r = kb_roofline(962072674304.0, 243269632.0, 0, 1979, 3350, 450);
    KBT_CHECK(r.bound == KB_BOUND_COMPUTE);
    KBT_NEAR(r.t_floor_s, 486.140815717029e-6, 1e-9);
    KBT_NEAR(r.t_memory_s, 72.6178e-6, 1e-5);
    KBT_NEAR(r.roof_tflops, 1979, 1e-9);

    /* M=64: 2*64*7168*16384 = 15032385536 FLOP; bytes 1048576+117440512+917504 = 119406592
     * memory 119406592/3.35e12 = 35.6437e-6 s > compute 7.596e-6 s -> memory bound,
     * roof = 15032385536 / 35.6437e-6 = 421.74 TFLOP/s */
    r = kb_roofline(15032385536.0, 119406592.0, 0, 1979, 3350, 450);
    KBT_CHECK(r.bound == KB_BOUND_MEMORY);
    KBT_NEAR(r.t_floor_s, 119406592.0 / 3.35e12, 1e-12);
    KBT_NEAR(r.roof_tflops, 421.7426, 1e-5);

    /* all-to-all: 0 FLOP, 100 MB through HBM, 60 MB over links:
     * H100 450 GB/s: network 133.33 us > memory 29.85 us; H800 200 GB/s: 300 us */
    r = kb_roofline(0, 100e6, 60e6, 1979, 3350, 450);
    KBT_CHECK(r.bound == KB_BOUND_NETWORK);
    KBT_NEAR(r.t_floor_s, 133.333333333e-6, 1e-9);
    r = kb_roofline(0, 100e6, 60e6, 1979, 3350, 200);
    KBT_NEAR(r.t_floor_s, 300e-6, 1e-9);
    KBT_NEAR(r.roof_tflops, 0, 0);
    /* pure copy: memory-bound, never "compute" */
    r = kb_roofline(0, 4e9, 0, 0, 3350, 0);
    KBT_CHECK(r.bound == KB_BOUND_MEMORY);
    KBT_NEAR(r.t_floor_s, 4e9 / 3.35e12, 1e-12);

    /* ceilings from the table; practical link falls back to nominal when unknown */
    kb_ceil c = kb_ceil_from_gpu(kb_gpu_find("h800-sxm"), 0);
    KBT_NEAR(c.link_gbs, 200, 0);
    c = kb_ceil_from_gpu(kb_gpu_find("h800-sxm"), 1);
    KBT_NEAR(c.link_gbs, 160, 0);
    c = kb_ceil_from_gpu(kb_gpu_find("h100-pcie"), 1);
    KBT_NEAR(c.link_gbs, 300, 0);
    KBT_NEAR(kb_ceil_peak(&c, KB_PEAK_FP8), 1513, 0);
    KBT_NEAR(kb_ceil_peak(&c, KB_PEAK_BF16), 756, 0);
    KBT_NEAR(kb_ceil_peak(&c, KB_PEAK_NONE), 0, 0);

    /* roof_source: "user" when the bound term's ceiling came from a --specs
     * file (confidence U), "measured" over both, else "datasheet" */
    kb_gpu g = *kb_gpu_find("h100-sxm");
    g.hbm_gbs.conf = 'U';
    g.fp8_tflops.conf = 'U';
    g.link_gbs_practical.conf = 'U';
    c = kb_ceil_from_gpu(&g, 1);
    KBT_CHECK(c.user == (KB_CEIL_HBM | KB_CEIL_FP8 | KB_CEIL_LINK) && c.measured == 0);
    kb_roof mem = kb_roof_of(&c, KB_PEAK_FP8, 15032385536.0, 119406592.0, 0);     /* M=64: memory-bound */
    kb_roof fp8 = kb_roof_of(&c, KB_PEAK_FP8, 962072674304.0, 243269632.0, 0);    /* compute-bound */
    kb_roof bf16 = kb_roof_of(&c, KB_PEAK_BF16, 962072674304.0, 243269632.0, 0);
    kb_roof fp32 = kb_roof_of(&c, KB_PEAK_FP32, 962072674304.0, 243269632.0, 0);
    kb_roof net = kb_roof_of(&c, KB_PEAK_NONE, 0, 100e6, 60e6);
    KBT_STREQ(kb_roof_source(&c, &mem, KB_PEAK_FP8), "user");
    KBT_STREQ(kb_roof_source(&c, &fp8, KB_PEAK_FP8), "user");
    KBT_STREQ(kb_roof_source(&c, &bf16, KB_PEAK_BF16), "datasheet");
    KBT_STREQ(kb_roof_source(&c, &fp32, KB_PEAK_FP32), "datasheet");
    KBT_STREQ(kb_roof_source(&c, &net, KB_PEAK_NONE), "user");
    kb_ceil_measured(&c, KB_CEIL_HBM, 3000);
    KBT_STREQ(kb_roof_source(&c, &mem, KB_PEAK_FP8), "measured");
    /* the nominal link is the user's only when it is the one used */
    c = kb_ceil_from_gpu(&g, 0);
    KBT_STREQ(kb_roof_source(&c, &net, KB_PEAK_NONE), "datasheet");
    g.fp32_tflops.conf = 'U';
    c = kb_ceil_from_gpu(&g, 0);
    KBT_STREQ(kb_roof_source(&c, &fp32, KB_PEAK_FP32), "user");
    /* two roofs: pct_roof against the datasheet, pct_roof_achievable against
     * the measured ceilings.  H100 SXM, FP8 GEMM M=64 (memory-bound, floor
     * 119406592 B / 3350 GB/s = 35.6437 us), measured HBM 2800 GB/s (floor
     * 42.6452 us), time 40 us: 89.11% of the datasheet roof, 106.61% of the
     * achievable one; the datasheet figure never exceeds 100% because a lower
     * measured rate replaced it. */
    kb_ceil sheet = kb_ceil_from_gpu(kb_gpu_find("h100-sxm"), 1), ach = sheet;
    kb_ceil_measured(&ach, KB_CEIL_HBM, 2800);
    kb_row row;
    kb_row_init(&row);
    row.flops = 15032385536.0;
    row.bytes = 119406592.0;
    row.link_bytes = 0;
    row.time_us = 40;
    kb_roofline_row(&row, &sheet, &ach, KB_PEAK_FP8, 0);
    KBT_NEAR(row.pct_roof, 100 * (119406592.0 / 3350e9) / 40e-6, 1e-12);
    KBT_NEAR(row.pct_roof, 89.1094, 1e-5);
    KBT_NEAR(row.pct_roof_achievable, 100 * (119406592.0 / 2800e9) / 40e-6, 1e-12);
    KBT_NEAR(row.pct_roof_achievable, 106.6130, 1e-5);
    KBT_STREQ(row.roof_source, "datasheet");
    KBT_STREQ(row.bound, "memory");
    /* the compute-bound M=4096 shape: its bound term (FP8) was not measured -> empty */
    row.flops = 962072674304.0;
    row.bytes = 243269632.0;
    row.time_us = 600;
    kb_roofline_row(&row, &sheet, &ach, KB_PEAK_FP8, 0);
    KBT_CHECK(isnan(row.pct_roof_achievable));
    KBT_NEAR(row.pct_roof, 100 * 486.140815717029 / 600, 1e-9);
    /* measured FP8 1400 TFLOP/s: floor 962072674304 / 1.4e15 = 687.19 us -> 114.53% */
    kb_ceil_measured(&ach, KB_CEIL_FP8, 1400);
    kb_roofline_row(&row, &sheet, &ach, KB_PEAK_FP8, 0);
    KBT_NEAR(row.pct_roof_achievable, 100 * (962072674304.0 / 1.4e15) / 600e-6, 1e-9);
    KBT_NEAR(row.pct_roof, 100 * 486.140815717029 / 600, 1e-9); /* unchanged by the measurement */
    /* the model passes no achievable ceilings: empty */
    kb_roofline_row(&row, &sheet, NULL, KB_PEAK_FP8, 0);
    KBT_CHECK(isnan(row.pct_roof_achievable));
    /* no time: neither */
    kb_row_init(&row);
    row.flops = 1e9;
    row.bytes = 1e6;
    kb_roofline_row(&row, &sheet, &ach, KB_PEAK_FP8, 0);
    KBT_CHECK(isnan(row.pct_roof) && isnan(row.pct_roof_achievable));

    /* the built-in rows are all datasheet */
    c = kb_ceil_from_gpu(kb_gpu_find("h200-sxm"), 1);
    KBT_CHECK(c.user == 0);
    return kbt_done("test_roofline");
}
