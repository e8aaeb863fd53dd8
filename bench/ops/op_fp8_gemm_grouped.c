/* op_fp8_gemm_grouped.c - grouped FP8 GEMM for the MoE experts (DeepGEMM's
 * contiguous and masked layouts, kernels/fp8_gemm/fp8_gemm.h).
 *
 *   contiguous (prefill/training): tokens sorted by expert, each segment padded
 *     to a multiple of 128, group_idx per row; labels contig_g{G}_m{M}_n_k
 *     (equal segments of M) and contig_route_... (same G*M tokens split by a
 *     routing-like distribution: unequal, padded segments);
 *   masked (decode): A [G, m_max, K], valid counts drawn uniformly in
 *     [m_max/2, m_max]; rows past them must keep their poison.
 * Dims FP8_D_* as in bench/ops/fp8_common.h (layout, m, n, k, g, dist).
 *
 * Napkin math (fp8_common.c): FLOPs = 2 * valid rows * N * K; bytes = valid
 * rows * (K + 2N + 4K/128) + G * (NK + 4 ceil(N/128) K/128).  E.g. contiguous
 * G=4, M=8192, (4096,7168): 1.92 TFLOP over 0.47 GB (~4100 FLOP/B);
 * masked G=32, m_max=256, (7168,2048): ~100 FLOP/B, memory-bound on the
 * 32 expert weights.
 */
#include <stdio.h>
#include "bench/ops/fp8_common.h"
#include "bench/ops/op_common.h"
#include "kernels/fp8_gemm/fp8_gemm_v1.h"
#include "kernels/fp8_gemm/fp8_gemm_v3.h"

#define OP "fp8_gemm_grouped"

static const int64_t contig[6][4] = {/* G, M per group, N, K */
                                     {4, 8192, 4096, 7168}, {4, 8192, 7168, 2048}, {8, 4096, 4096, 7168},
                                     {8, 4096, 7168, 2048}, {32, 1024, 4096, 7168}, {32, 1024, 7168, 2048}};
static const int64_t masked_gm[4][2] = {{1, 1024}, {2, 512}, {4, 256}, {32, 256}};
static const int64_t masked_nk[2][2] = {{4096, 7168}, {7168, 2048}};

static void add(kb_shape_table *t, const char *prefix, unsigned sets, int layout, int64_t g, int64_t m, int64_t n,
                int64_t k, int dist)
{
    char label[64];
    snprintf(label, sizeof label, "%s_g%lld_m%lld_n%lld_k%lld", prefix, (long long)g, (long long)m, (long long)n,
             (long long)k);
    fp8_gemm_shape_add(t, label, sets, layout, m, n, k, g, dist);
}

static void build_shapes(kb_shape_table *t)
{
    for (int i = 0; i < 6; i++) {
        const int64_t *c = contig[i];
        unsigned q_eq = (i == 0) ? KB_SET_QUICK : 0, q_rt = (i == 3) ? KB_SET_QUICK : 0;
        add(t, "contig", KB_SET_FULL | q_eq, FP8_GEMM_CONTIGUOUS, c[0], c[1], c[2], c[3], FP8_DIST_EQUAL);
        add(t, "contig_route", KB_SET_FULL | q_rt, FP8_GEMM_CONTIGUOUS, c[0], c[1], c[2], c[3], FP8_DIST_DRAWN);
    }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 2; j++) {
            unsigned q = ((i == 2 && j == 0) || (i == 3 && j == 1)) ? KB_SET_QUICK : 0;
            add(t, "masked", KB_SET_FULL | q, FP8_GEMM_MASKED, masked_gm[i][0], masked_gm[i][1], masked_nk[j][0],
                masked_nk[j][1], FP8_DIST_DRAWN);
        }
    /* Small, fully CPU-checked: equal, unequal (padding rows), masked. */
    add(t, "contig", KB_SET_SMALL, FP8_GEMM_CONTIGUOUS, 2, 128, 256, 512, FP8_DIST_EQUAL);
    add(t, "contig_route", KB_SET_SMALL, FP8_GEMM_CONTIGUOUS, 2, 192, 256, 512, FP8_DIST_DRAWN);
    add(t, "masked", KB_SET_SMALL, FP8_GEMM_MASKED, 2, 128, 256, 512, FP8_DIST_DRAWN);
}

FP8_GEMM_OP_CALLBACKS(OP)

static const kb_impl impls[] = {
    {"cublaslt_blk", KB_IMPL_LIB, fp8_gemm_lib_blk, "cuBLASLt FP8 VEC128 x BLK128x128, one call per group"},
    {"cublaslt_tensor", KB_IMPL_LIB, fp8_gemm_lib_tensor, "cuBLASLt FP8 per-tensor scales, one call per group"},
    {"cublas_bf16", KB_IMPL_LIB, fp8_gemm_lib_bf16, "cuBLASLt BF16 on dequantised inputs, one call per group"},
    {"v1", KB_IMPL_HAND, fp8_gemm_v1, "one thread per output, CUDA cores (contiguous + masked)"},
    {"v2", KB_IMPL_HAND, fp8_gemm_v2, "mma.sync m16n8k32 E4M3, 4-stage cp.async (contiguous + masked)"},
    {"v3", KB_IMPL_HAND, fp8_gemm_v3_grouped, "Hopper: TMA + mbarrier pipeline, wgmma m64nNk32 E4M3, persistent (contiguous + masked)"},
};

const kb_op kb_op_fp8_gemm_grouped = {
    .name = OP,
    .what = "grouped FP8 GEMM for MoE experts: contiguous (prefill) and masked (decode) layouts",
    FP8_GEMM_OP_FIELDS,
    KB_IMPLS(impls),
};
