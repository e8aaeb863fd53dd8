/* op_fp8_gemm.c - dense FP8 GEMM with DeepSeek-V3 fine-grained scaling.
 *
 * D[M,N] (BF16) = sum_kb sa[m,kb] * sb[n/128,kb] * sum_{k in kb} A[m,k] B[n,k]
 * A E4M3 [M,K] with 1x128 scales (MN-major [K/128, M]), B E4M3 [N,K] with
 * 128x128 block scales; semantics and layouts in kernels/fp8_gemm/fp8_gemm.h.
 *
 * Shapes: the nine (N,K) of DeepSeek-V3's FP8 linears x M in {1..8192}
 * (dims FP8_D_* in bench/ops/fp8_common.h: layout, m, n, k, g=1, dist).
 *
 * Napkin math (fp8_common.c): FLOPs = 2MNK; bytes = MK + NK (E4M3) + 2MN
 * (BF16 out) + 4(M K/128 + ceil(N/128) K/128) (scales).  E.g. M=4096,
 * (N,K)=(7168,16384): 962 GFLOP over 0.243 GB, 3960 FLOP/B, far right of the
 * H100 ridge (~590): compute-bound; at M=64: 2 x 64 FLOP per weight byte
 * (~126 FLOP/B): memory-bound on B.
 */
#include <stdio.h>
#include "bench/ops/fp8_common.h"
#include "bench/ops/op_common.h"
#include "kernels/fp8_gemm/fp8_gemm_v1.h"
#include "kernels/fp8_gemm/fp8_gemm_v3.h"

#define OP "fp8_gemm"

static const int64_t dense_nk[9][2] = {
    {2112, 7168}, {576, 7168}, {24576, 1536}, {32768, 512}, {7168, 16384},
    {4096, 7168}, {7168, 2048}, {36864, 7168}, {7168, 18432},
};
static const int64_t dense_m[9] = {1, 64, 128, 256, 512, 1024, 2048, 4096, 8192};

/* Quick: M in {128, 4096} at four (N,K) of distinct character. */
static unsigned quick(int64_t m, int64_t n, int64_t k)
{
    int nk = (n == 2112 && k == 7168) || (n == 24576 && k == 1536) || (n == 7168 && k == 16384) ||
             (n == 4096 && k == 7168);
    return nk && (m == 128 || m == 4096) ? KB_SET_QUICK : 0;
}

/* Small (fully CPU-checked): partial M tiles, N not a multiple of 128 (like
 * 2112 and 576), two and four K blocks. */
static const int64_t small_mnk[4][3] = {{64, 256, 512}, {128, 256, 512}, {256, 256, 512}, {80, 192, 384}};

static void add(kb_shape_table *t, unsigned sets, int64_t m, int64_t n, int64_t k)
{
    char label[64];
    snprintf(label, sizeof label, "m%lld_n%lld_k%lld", (long long)m, (long long)n, (long long)k);
    fp8_gemm_shape_add(t, label, sets, FP8_GEMM_DENSE, m, n, k, 1, FP8_DIST_EQUAL);
}

static void build_shapes(kb_shape_table *t)
{
    for (int i = 0; i < 9; i++)
        for (int j = 0; j < 9; j++) {
            int64_t m = dense_m[j], n = dense_nk[i][0], k = dense_nk[i][1];
            add(t, KB_SET_FULL | quick(m, n, k), m, n, k);
        }
    for (int i = 0; i < 4; i++) add(t, KB_SET_SMALL, small_mnk[i][0], small_mnk[i][1], small_mnk[i][2]);
}

FP8_GEMM_OP_CALLBACKS(OP)

static const kb_impl impls[] = {
    {"cublaslt_blk", KB_IMPL_LIB, fp8_gemm_lib_blk, "cuBLASLt FP8, VEC128 (A) x BLK128x128 (B) scales: same math"},
    {"cublaslt_tensor", KB_IMPL_LIB, fp8_gemm_lib_tensor, "cuBLASLt FP8, per-tensor scales: no-scaling bound"},
    {"cublas_bf16", KB_IMPL_LIB, fp8_gemm_lib_bf16, "cuBLASLt BF16 on dequantised inputs: no FP8"},
    {"v1", KB_IMPL_HAND, fp8_gemm_v1, "one thread per output, CUDA cores, promotion per 128-K block"},
    {"v2", KB_IMPL_HAND, fp8_gemm_v2, "mma.sync m16n8k32 E4M3, 128x128x128 tiles, 4-stage cp.async"},
    {"v3", KB_IMPL_HAND, fp8_gemm_v3, "Hopper: TMA + mbarrier pipeline, wgmma m64nNk32 E4M3, persistent, wave-aware tiles, split-K"},
};

const kb_op kb_op_fp8_gemm = {
    .name = OP,
    .what = "FP8 E4M3 GEMM, 1x128 x 128x128 block scales, BF16 out (DeepGEMM semantics)",
    FP8_GEMM_OP_FIELDS,
    KB_IMPLS(impls),
};
