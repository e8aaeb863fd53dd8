/* The network term's latency part (issue 17 item 8), with the real
 * all-to-all operator's shapes and byte counts, against hand-computed floors.
 *
 * By hand, 8 ranks, H800 SXM practical link 160 GB/s per direction:
 *   latency = 3.6 us (NCCL Ring/LL baseLat) + 7 peers x 0.47 us = 6.89 us.
 *   1 KB per rank: chunk = floor(1024 / 8 / 16) x 16 = 128 B, link bytes =
 *     7 x 128 = 896 B -> 896 / 160e9 = 5.6 ns, so the floor is 6.89 us:
 *     latency-bound (it was 5.6 ns before).
 *   1 GiB per rank: chunk = 2^30 / 8 = 134217728 B (a multiple of 16), link
 *     bytes = 7 x 134217728 = 939524096 B -> 939524096 / 160e9 = 5872.0256 us:
 *     bandwidth-bound, the floor unchanged (within 0.1%) by the latency part.
 */
#include <math.h>
#include <string.h>
#include "bench/kb.h"
#include "bench/kb_roofline.h"
#include "bench/kb_row.h"
#include "bench/ops/ep_shapes.h"
#include "kbtest.h"

/* The floor of the all-to-all op at `bytes` per rank over 8 ranks, the way
 * `kbench run` / `kbench model` compute it (a row, its dims, kb_roofline_row). */
static kb_roof a2a_floor(const kb_op *op, const kb_ceil *c, long long bytes, int loopback, kb_row *row)
{
    kb_shape s;
    ep_make_a2a_shape(&s, bytes, 8, loopback, KB_SET_SMALL);
    kb_row_init(row);
    kb_shape_dims(op, &s, row->dims, sizeof row->dims);
    row->flops = op->flops ? op->flops(&s) : 0;
    row->bytes = op->bytes(&s);
    row->link_bytes = op->link_bytes(&s);
    return kb_roofline_row(row, c, NULL, KB_PEAK_NONE, 1);
}

int main(void)
{
    /* the message count from dims text */
    KBT_NEAR(kb_link_messages("bytes=1024;ranks=8;loopback=0"), 7, 0);
    KBT_NEAR(kb_link_messages("t=128;hidden=7168;e=256;k=8;ranks=16;loopback=0"), 15, 0);
    KBT_NEAR(kb_link_messages("bytes=1024;ranks=8;loopback=1"), 0, 0); /* one GPU: no link */
    KBT_NEAR(kb_link_messages("b=128;sk=4096"), 0, 0);                 /* no ranks dim */
    KBT_NEAR(kb_link_messages("xranks=8"), 0, 0);                      /* names match whole */
    KBT_NEAR(kb_link_messages("ranks=1"), 0, 0);
    KBT_NEAR(kb_link_messages("ranks=8x"), 0, 0); /* not a number */
    KBT_NEAR(kb_link_messages(""), 0, 0);
    KBT_NEAR(kb_link_messages(NULL), 0, 0);

    /* the constants are the sourced ones (kb_roofline.h) */
    KBT_NEAR(KB_LINK_ALPHA_LAUNCH_US, 3.6, 0);
    KBT_NEAR(KB_LINK_ALPHA_PEER_US, 0.47, 0);

    /* plain numbers: 896 link bytes, 7 messages, 160 GB/s */
    kb_roof r = kb_roofline_msgs(0, 2048, 896, 7, 0, 3350, 160);
    KBT_CHECK(r.bound == KB_BOUND_NETWORK);
    KBT_NEAR(r.t_latency_s, 6.89e-6, 1e-15);
    KBT_NEAR(r.t_floor_s, 6.89e-6, 1e-15);
    KBT_NEAR(kb_roofline(0, 2048, 896, 0, 3350, 160).t_floor_s, 5.6e-9, 1e-18); /* messages = 0: as before */
    /* no link bytes (one GPU, loopback): no latency part either */
    r = kb_roofline_msgs(0, 2048, 0, 7, 0, 3350, 160);
    KBT_CHECK(r.bound == KB_BOUND_MEMORY && r.t_latency_s == 0 && r.t_network_s == 0);

    /* the real op, H800 practical ceilings */
    const kb_op *op = kb_find_op("alltoall");
    KBT_CHECK(op != NULL && op->link_bytes != NULL);
    if (!op) return kbt_done("test_roofline_latency");
    kb_ceil c = kb_ceil_from_gpu(kb_gpu_find("h800-sxm"), 1);
    KBT_NEAR(c.link_gbs, 160, 0);
    kb_row row;
    r = a2a_floor(op, &c, 1024, 0, &row);
    KBT_NEAR(row.link_bytes, 896, 0);
    KBT_CHECK(strstr(row.dims, "ranks=8") != NULL);
    KBT_CHECK(r.bound == KB_BOUND_NETWORK);
    KBT_NEAR(r.t_floor_s, 6.89e-6, 1e-15);
    KBT_STREQ(row.bound, "network");
    /* a measured 10 us is 68.9% of that floor (it was 0.056%) */
    row.time_us = 10;
    kb_roofline_row(&row, &c, NULL, KB_PEAK_NONE, 1);
    KBT_NEAR(row.pct_roof, 68.9, 1e-9);
    /* count_link = 0 (a single-GPU run): neither the bytes nor the latency */
    r = kb_roofline_row(&row, &c, NULL, KB_PEAK_NONE, 0);
    KBT_CHECK(r.t_network_s == 0 && r.bound == KB_BOUND_MEMORY);

    r = a2a_floor(op, &c, 1073741824LL, 0, &row);
    KBT_NEAR(row.link_bytes, 939524096.0, 0);
    KBT_CHECK(r.bound == KB_BOUND_NETWORK);
    KBT_NEAR(r.t_floor_s, 939524096.0 / 160e9, 1e-15);
    kb_roof bw_only = kb_roof_of(&c, KB_PEAK_NONE, row.flops, row.bytes, row.link_bytes);
    KBT_CHECK(fabs(r.t_floor_s - bw_only.t_floor_s) <= 1e-3 * bw_only.t_floor_s);
    KBT_NEAR(r.t_floor_s * 1e6, 5872.0256, 1e-9);

    /* loopback shape: no link bytes, so no network term at all */
    r = a2a_floor(op, &c, 1024, 1, &row);
    KBT_CHECK(r.t_network_s == 0 && r.bound == KB_BOUND_MEMORY);
    return kbt_done("test_roofline_latency");
}
