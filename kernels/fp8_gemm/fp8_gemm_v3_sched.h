/* fp8_gemm_v3_sched.h - host-side tile scheduling of the v3 (Hopper) FP8 GEMM:
 * the block-size choice per shape (wave quantisation on the device's SMs) and
 * the tile counts the persistent grid is sized from.  Plain C, no CUDA, so it
 * is unit-tested on machines without a GPU (tests/test_fp8_gemm_v3_sched.c).
 */
#ifndef FP8_GEMM_V3_SCHED_H
#define FP8_GEMM_V3_SCHED_H
#include <stdint.h>
#include "fp8_gemm/fp8_gemm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The (BLOCK_M, BLOCK_N) pairs compiled into fp8_gemm_v3.cu: BLOCK_M in
 * {64, 128} (one or two math warpgroups of 64 rows), BLOCK_N in
 * {64, 96, 128, 160} (the wgmma N; 160 is the widest whose FP32 wgmma
 * accumulator plus promoted accumulator, 2 x 80 registers, stays well inside
 * the 232 registers a math thread gets). */
#define FP8_GEMM_V3_N_BM 2
#define FP8_GEMM_V3_N_BN 4
extern const int fp8_gemm_v3_block_ms[FP8_GEMM_V3_N_BM];
extern const int fp8_gemm_v3_block_ns[FP8_GEMM_V3_N_BN];

typedef struct fp8_gemm_v3_cfg {
    int block_m, block_n;
    int64_t m_tiles;   /* tiles along M, summed over groups (host estimate for masked/contiguous) */
    int64_t n_tiles;   /* tiles along N per group                         */
    int64_t tiles;     /* m_tiles * n_tiles                               */
    int64_t waves;     /* ceil(tiles / num_sms)                           */
    double cost;       /* waves * tile_cost(block_m, block_n): what is minimised */
    int grid;          /* persistent CTAs: min(num_sms, upper bound on tiles), >= 1 */
} fp8_gemm_v3_cfg;

static inline int64_t fp8_gemm_v3_cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Relative time of one tile: its MMA work (block_m * block_n per 128-K
 * step) plus a fixed per-row/column term for loading the operands, scales
 * and promotion (32 * (block_m + block_n)), which makes small tiles pay for
 * their lower arithmetic intensity. */
double fp8_gemm_v3_tile_cost(int block_m, int block_n);

/* Evaluate one (block_m, block_n) for a shape: layout, m (rows; m_max when
 * masked), n, num_groups, masked_m_host (masked only, may be NULL: then every
 * group counts m_max rows), num_sms.  Returns 0, or -1 on bad arguments. */
int fp8_gemm_v3_eval(fp8_gemm_layout layout, int m, int n, int num_groups,
                     const int32_t *masked_m_host, int num_sms,
                     int block_m, int block_n, fp8_gemm_v3_cfg *out);

/* Pick the compiled (block_m, block_n) of least cost (ties: larger block_m,
 * then larger block_n).  Contiguous layouts need block_m to divide 128 (both
 * candidates do).  Returns 0, or -1 on bad arguments. */
int fp8_gemm_v3_choose(fp8_gemm_layout layout, int m, int n, int num_groups,
                       const int32_t *masked_m_host, int num_sms, fp8_gemm_v3_cfg *out);

#ifdef __cplusplus
}
#endif
#endif
