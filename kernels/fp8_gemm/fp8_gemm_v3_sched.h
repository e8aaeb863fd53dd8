/* fp8_gemm_v3_sched.h - host-side tile scheduling of the v3 (Hopper) FP8 GEMM:
 * the block-size choice per shape (wave quantisation on the device's SMs) and
 * the tile counts the persistent grid is sized from.  Plain C, no CUDA, so it
 * is unit-tested on machines without a GPU (tests/test_fp8_gemm_v3_sched.c).
 */
#ifndef FP8_GEMM_V3_SCHED_H
#define FP8_GEMM_V3_SCHED_H
#include <stdint.h>
#include "kernels/fp8_gemm/fp8_gemm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The (BLOCK_M, BLOCK_N) pairs compiled into fp8_gemm_v3.cu: BLOCK_M in
 * {64, 128} (one or two math warpgroups of 64 rows), BLOCK_N in
 * {16, 32, 64, 96, 128, 160} (the wgmma N; 160 is the widest whose FP32 wgmma
 * accumulator plus promoted accumulator, 2 x 80 registers, stays well inside
 * the 232 registers a math thread gets; 16 and 32 are for decode shapes,
 * M <= 128, where 64-wide tiles leave most SMs idle: N = 576 is 9 tiles of
 * 64 on 132 SMs). */
#define FP8_GEMM_V3_N_BM 2
#define FP8_GEMM_V3_N_BN 6
extern const int fp8_gemm_v3_block_ms[FP8_GEMM_V3_N_BM];
extern const int fp8_gemm_v3_block_ns[FP8_GEMM_V3_N_BN];

/* Split-K (dense only): `splits` CTAs share one output tile, each over
 * kb_per_split consecutive 128-K blocks (the last one fewer), writing FP32
 * partials to the workspace; a second kernel sums them into D.  The per-128-K
 * scales are applied inside each split, as without splitting. */
#define FP8_GEMM_V3_MAX_SPLITS 16
#define FP8_GEMM_V3_SPLIT_MIN_KB 8 /* K blocks per split at least: the pipeline fills */
/* Cost of the reduce pass beyond its bytes: a dependent kernel launch and its
 * tail, taken as 16 K-blocks of a 64x64 tile (16 * 8192).  An assumption, to
 * calibrate on an H100 (unverified on GPU). */
#define FP8_GEMM_V3_REDUCE_FIXED 131072.0

typedef struct fp8_gemm_v3_cfg {
    int block_m, block_n;
    int splits;        /* K splits (1: none)                              */
    int kb_per_split;  /* 128-K blocks per split (the last split may have fewer) */
    int64_t m_tiles;   /* tiles along M, summed over groups (host estimate for masked/contiguous) */
    int64_t n_tiles;   /* tiles along N per group                         */
    int64_t tiles;     /* m_tiles * n_tiles                               */
    int64_t units;     /* tiles * splits: what the persistent CTAs walk    */
    int64_t waves;     /* ceil(units / num_sms)                           */
    double cost;       /* waves * kb_per_split * tile_cost(block_m, block_n)
                        * (+ the reduce pass when split): what is minimised */
    int grid;          /* persistent CTAs: min(num_sms, upper bound on units), >= 1 */
    size_t ws_bytes;   /* workspace the split-K partials need (0 unsplit)  */
} fp8_gemm_v3_cfg;

static inline int64_t fp8_gemm_v3_cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Relative time of one tile: its MMA work (block_m * block_n per 128-K
 * step) plus a fixed per-row/column term for loading the operands, scales
 * and promotion (32 * (block_m + block_n)), which makes small tiles pay for
 * their lower arithmetic intensity. */
double fp8_gemm_v3_tile_cost(int block_m, int block_n);

/* Evaluate one (block_m, block_n) for a shape: layout, m (rows; m_max when
 * masked), n, num_groups, masked_m_host (masked only, may be NULL: then every
 * group counts m_max rows), num_sms; cost per 128-K block (K = 128, no split).
 * Returns 0, or -1 on bad arguments. */
int fp8_gemm_v3_eval(fp8_gemm_layout layout, int m, int n, int num_groups,
                     const int32_t *masked_m_host, int num_sms,
                     int block_m, int block_n, fp8_gemm_v3_cfg *out);
/* The same for depth k (a multiple of 128) and `splits` K splits (dense
 * only; the effective count is ceil(kb / ceil(kb / splits)), so no split is
 * empty).  cost = waves * kb_per_split * tile_cost, plus for splits > 1 the
 * reduce pass: FP8_GEMM_V3_REDUCE_FIXED + its bytes (4 splits M N read, 2 M N
 * written) at 1/4 unit per byte spread over the SMs (the tile cost's load
 * term prices a 128-byte row at 32).  Returns 0, or -1 on bad arguments. */
int fp8_gemm_v3_eval_k(fp8_gemm_layout layout, int m, int n, int k, int num_groups,
                       const int32_t *masked_m_host, int num_sms, int block_m, int block_n, int splits,
                       fp8_gemm_v3_cfg *out);

/* Pick the compiled (block_m, block_n) of least cost (ties: larger block_m,
 * then larger block_n), K = 128, no split.  Contiguous layouts need block_m
 * to divide 128 (both candidates do).  Returns 0, or -1 on bad arguments. */
int fp8_gemm_v3_choose(fp8_gemm_layout layout, int m, int n, int num_groups,
                       const int32_t *masked_m_host, int num_sms, fp8_gemm_v3_cfg *out);
/* The same over (block_m, block_n, splits) for depth k: splits > 1 only for
 * dense shapes, with at least FP8_GEMM_V3_SPLIT_MIN_KB K blocks per split, at
 * most FP8_GEMM_V3_MAX_SPLITS, and partials within ws_bytes (0: no split).
 * Ties also prefer fewer splits. */
int fp8_gemm_v3_choose_k(fp8_gemm_layout layout, int m, int n, int k, int num_groups,
                         const int32_t *masked_m_host, int num_sms, size_t ws_bytes, fp8_gemm_v3_cfg *out);

/* Kernel parameters for a launch with tile (block_m, block_n) (struct below);
 * used by the launcher and by the host emulation test.  Returns 0, or -1 on
 * bad arguments (K not a multiple of 128, ...). */
struct fp8_gemm_v3_params;
int fp8_gemm_v3_params_init(const fp8_gemm_args *a, int block_m, int block_n, struct fp8_gemm_v3_params *p);
/* Make p (from params_init) a split-K launch of `splits` (effective count as
 * in fp8_gemm_v3_eval_k) with FP32 partials in ws (fp8_v3_ws_bytes).  Dense
 * only.  Returns 0, or -1 on bad arguments. */
int fp8_gemm_v3_params_split(struct fp8_gemm_v3_params *p, int splits, float *ws);

/* ---- the device tile walk, shared with the host tests -------------------------
 * Every CTA of the persistent grid walks tile indices blockIdx.x,
 * blockIdx.x + gridDim.x, ...; producer and math threads run the same walk so
 * they see the same tile sequence.  Compiled as host+device code in
 * fp8_gemm_v3.cu and as plain C in tests/test_fp8_gemm_v3_sched.c. */
#ifdef __CUDACC__
#define FP8_V3_HD static __host__ __device__ __forceinline__
#else
#define FP8_V3_HD static inline
#endif
#if defined(__CUDA_ARCH__)
#define FP8_V3_LOAD(p) __ldg(p)
#else
#define FP8_V3_LOAD(p) (*(p))
#endif

/* Raster: tiles come in groups of FP8_GEMM_V3_GROUP_M m-tiles; within a group
 * the m index runs fastest, so consecutive CTAs share B tiles and a wave of
 * 132 tiles touches ~16 A row-blocks and ~8 B column-blocks (L2 reuse). */
#define FP8_GEMM_V3_GROUP_M 16

/* Kernel parameters (by value).  m = m_max when masked. */
typedef struct fp8_gemm_v3_params {
    int layout;             /* fp8_gemm_layout                                  */
    int m, n, k;
    int num_groups;
    int block_m, block_n;   /* the kernel's template tile (checked by the launcher) */
    int m_tiles, n_tiles;   /* m_tiles: dense/contiguous; n_tiles: per group     */
    int kblocks;            /* k / 128                                          */
    int nblocks;            /* ceil(n / 128): rows of sb per group              */
    int splits;             /* K splits (1: none; dense only)                   */
    int kb_per_split;       /* 128-K blocks per split                           */
    const float *sa, *sb;
    uint16_t *d;
    float *ws;              /* split-K: FP32 partials [splits, m, n]            */
    const int32_t *group_idx, *masked_m;
} fp8_gemm_v3_params;

typedef struct fp8_gemm_v3_tile {
    int m0;      /* first row of the tile within its group (dense/contiguous: row of A/D) */
    int n0;      /* first column                                        */
    int g;       /* group (0 for dense)                                 */
    int row_lim; /* rows m0 + r < row_lim are stored (M, or masked_m[g]) */
    int a_row;   /* row in A's 2D view (masked: g * m_max + m0)         */
    int split;   /* which K split (0 unsplit)                           */
    int kb0, kb1;/* the 128-K blocks [kb0, kb1) this unit multiplies    */
} fp8_gemm_v3_tile;

typedef struct fp8_gemm_v3_walk {
    long long iter;                 /* tiles taken so far by this CTA     */
    int grp, grp_m;                 /* masked: current group, its valid rows */
    long long grp_base, grp_tiles;  /* masked: tiles before grp; grp's tiles (-1: not read) */
} fp8_gemm_v3_walk;

FP8_V3_HD void fp8_gemm_v3_walk_init(fp8_gemm_v3_walk *w)
{
    w->iter = 0;
    w->grp = 0;
    w->grp_m = 0;
    w->grp_base = 0;
    w->grp_tiles = -1;
}

FP8_V3_HD void fp8_gemm_v3_raster(long long idx, int m_tiles, int n_tiles, int *mi, int *ni)
{
    long long per = (long long)FP8_GEMM_V3_GROUP_M * n_tiles;
    int gi = (int)(idx / per);
    int first = gi * FP8_GEMM_V3_GROUP_M;
    int gsz = m_tiles - first < FP8_GEMM_V3_GROUP_M ? m_tiles - first : FP8_GEMM_V3_GROUP_M;
    int local = (int)(idx - (long long)gi * per);
    *mi = first + local % gsz;
    *ni = local / gsz;
}

/* Next tile of CTA `cta` in a grid of `grid`; 0 when the CTA is done. */
FP8_V3_HD int fp8_gemm_v3_next(const fp8_gemm_v3_params *p, fp8_gemm_v3_walk *w, int cta, int grid,
                               fp8_gemm_v3_tile *t)
{
    const int bm = p->block_m, bn = p->block_n;
    for (;;) {
        long long idx = (long long)cta + w->iter * grid;
        int mi, ni;
        w->iter++;
        if (p->layout == FP8_GEMM_MASKED) {
            for (;;) {
                if (w->grp >= p->num_groups) return 0;
                if (w->grp_tiles < 0) {
                    int mg = FP8_V3_LOAD(p->masked_m + w->grp);
                    w->grp_m = mg < 0 ? 0 : mg > p->m ? p->m : mg;
                    w->grp_tiles = (long long)((w->grp_m + bm - 1) / bm) * p->n_tiles;
                }
                if (idx < w->grp_base + w->grp_tiles) break;
                w->grp_base += w->grp_tiles;
                w->grp_tiles = -1;
                w->grp++;
            }
            fp8_gemm_v3_raster(idx - w->grp_base, (w->grp_m + bm - 1) / bm, p->n_tiles, &mi, &ni);
            t->g = w->grp;
            t->m0 = mi * bm;
            t->n0 = ni * bn;
            t->row_lim = w->grp_m;
            t->a_row = w->grp * p->m + t->m0;
            t->split = 0;
            t->kb0 = 0;
            t->kb1 = p->kblocks;
            return 1;
        }
        /* split-K: the split is the slowest index, so a wave's CTAs share one
         * K range of A in L2 */
        const long long tiles = (long long)p->m_tiles * p->n_tiles;
        if (idx >= tiles * p->splits) return 0;
        t->split = (int)(idx / tiles);
        idx -= (long long)t->split * tiles;
        t->kb0 = t->split * p->kb_per_split;
        t->kb1 = t->kb0 + p->kb_per_split < p->kblocks ? t->kb0 + p->kb_per_split : p->kblocks;
        fp8_gemm_v3_raster(idx, p->m_tiles, p->n_tiles, &mi, &ni);
        t->m0 = mi * bm;
        t->n0 = ni * bn;
        t->row_lim = p->m;
        t->a_row = t->m0;
        t->g = 0;
        if (p->layout == FP8_GEMM_CONTIGUOUS) {
            int g = FP8_V3_LOAD(p->group_idx + t->m0);
            if (g < 0 || g >= p->num_groups) continue; /* padding-only tile */
            t->g = g;
        }
        return 1;
    }
}

#ifdef __cplusplus
}
#endif
#endif
