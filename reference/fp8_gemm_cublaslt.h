/* fp8_gemm_cublaslt.h - library baselines for fp8_gemm / fp8_gemm_grouped
 * (KB_IMPL_LIB).  The launchers take an fp8_gemm_lib_args (below), which the
 * operator's context embeds and fills at setup; the reference never sees the
 * operator's context.  Grouped layouts: one cuBLASLt call per group over its
 * valid rows (seg_start / seg_rows).  Algorithms come from
 * cublasLtMatmulAlgoGetHeuristic, once per (shape, group), on the first launch
 * (the harness's verification run), never inside the timed repetitions; the
 * one that ran is named in mode[].algo (the row note). */
#ifndef FP8_GEMM_CUBLASLT_H
#define FP8_GEMM_CUBLASLT_H
#include <stddef.h>
#include <stdint.h>
#include <cuda_runtime_api.h>
#include "kernels/common/kb_base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FP8_LIB_MAX_GROUPS 64
/* The three baselines, one index each into fp8_gemm_lib_args.mode[]. */
enum { FP8_LIB_BLOCK = 0, FP8_LIB_TENSOR = 1, FP8_LIB_BF16 = 2, FP8_LIB_NMODES = 3 };

/* Per-baseline state: plans are built on the first launch; a combination
 * cuBLASLt refuses (CUBLAS_STATUS_NOT_SUPPORTED) is remembered as KB_SKIP with
 * its reason, any other error as KB_FAIL with the status name. */
typedef struct fp8_gemm_lib_mode {
    int built;                   /* first launch done (plans + heuristic)      */
    kb_status status;            /* KB_OK, else KB_SKIP / KB_FAIL with `why`   */
    char why[256];
    char algo[160];              /* which algorithm ran (fp8_lib_algo_note), for the row note */
    int nplans;                  /* one per group with valid rows              */
} fp8_gemm_lib_mode;

/* What a cuBLASLt status means for the row: CUBLAS_STATUS_SUCCESS -> KB_OK;
 * CUBLAS_STATUS_NOT_SUPPORTED (this cuBLASLt / GPU cannot do the combination)
 * -> KB_SKIP; anything else (INVALID_VALUE: a misconfigured call, ...) ->
 * KB_FAIL, so a broken baseline never disappears from the tables as a skip. */
kb_status fp8_lib_status_outcome(int cublas_status);
/* The outcome of cublasLtMatmulAlgoGetHeuristic: its status as above, and a
 * successful call that returned no algorithm is a failure too (the
 * combination is not refused, the request found nothing to run). */
kb_status fp8_lib_heuristic_outcome(int cublas_status, int n_results);

/* The algorithm a plan runs, read back with cublasLtMatmulAlgoConfigGetAttribute. */
typedef struct fp8_lib_algo {
    int id;                      /* CUBLASLT_ALGO_CONFIG_ID                      */
    int tile;                    /* CUBLASLT_ALGO_CONFIG_TILE_ID (cublasLtMatmulTile_t) */
    int stages;                  /* CUBLASLT_ALGO_CONFIG_STAGES_ID (cublasLtMatmulStages_t) */
    int splitk;                  /* CUBLASLT_ALGO_CONFIG_SPLITK_NUM              */
    int heur_index;              /* index in the heuristic's answer (0 = its first choice) */
    int heur_results;            /* how many results the heuristic returned     */
} fp8_lib_algo;
/* "cuBLASLt algo 66 tile 30 stages 22 splitK 1 (heuristic #0 of 1)" into buf;
 * returns buf. */
const char *fp8_lib_algo_note(char *buf, size_t n, const fp8_lib_algo *a);

typedef struct fp8_gemm_lib_args {
    /* ---- filled by the operator before fp8_gemm_lib_prepare ------------- */
    int n, k;
    int m;                       /* leading dimension of sa (rows; masked: m_max) */
    int masked;                  /* sa is [G][K/128][m] (masked), else [K/128][m] */
    int groups;                  /* G (1 for dense)                              */
    int rows_total;              /* rows of A and D                              */
    int seg_start[FP8_LIB_MAX_GROUPS]; /* first row of group g in A / D           */
    int seg_rows[FP8_LIB_MAX_GROUPS];  /* valid rows of group g                   */
    const uint8_t *a, *b;        /* device E4M3 A [rows_total,K], B [G,N,K]      */
    const float *sa, *sb;        /* device scales (kernels/fp8_gemm/fp8_gemm.h)  */
    uint16_t *d;                 /* device BF16 D [rows_total,N]                 */
    void *workspace;
    size_t workspace_bytes;
    /* ---- built by fp8_gemm_lib_prepare, freed by fp8_gemm_lib_release ---- */
    float *lib_sa;               /* per group [K/128][fp8_lib_sa_ld(seg_rows[g])] */
    size_t lib_sa_off[FP8_LIB_MAX_GROUPS];
    float *lib_sb;               /* [G][ceil(N/128)][lib_sb_ld]                  */
    int lib_sb_ld;               /* round_up(K/128, 4)                           */
    uint16_t *a_bf16, *b_bf16;   /* dequantised A [rows_total,K], B [G,N,K]      */
    float *one;                  /* device 1.0f (per-tensor scales)              */
    fp8_gemm_lib_mode mode[FP8_LIB_NMODES];
    void *plans;                 /* cuBLASLt descriptors, owned by the reference */
} fp8_gemm_lib_args;

/* Leading dimension of a cuBLASLt CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F
 * scale tensor ([K/128][ld] FP32, rows contiguous) for an operand of `rows`
 * rows: rows rounded up to a multiple of 4, so that every K-block column is
 * 16-byte aligned (Transformer Engine's GEMM_READY 1D layout,
 * [ceil(K/128), round_up(M, 4)], which it hands to cuBLASLt unchanged;
 * PyTorch's stride(1) == M requirement is the same layout whenever M % 4 == 0,
 * the only case its tests exercise).  The padding entries are zero. */
static inline int64_t fp8_lib_sa_ld(int64_t rows) { return (rows + 3) / 4 * 4; }
/* Element offsets (off[g], FP32 elements) of the per-group VEC128 scale
 * blocks [kb][fp8_lib_sa_ld(rows[g])] packed back to back; returns the total.
 * Every block starts 16-byte aligned. */
size_t fp8_lib_sa_layout(int groups, const int *rows, int kb, size_t *off);

/* Build the library's extra buffers (padded scale copies, BF16 inputs) at
 * setup; free them and the cached plans at teardown (safe on a zeroed struct). */
kb_status fp8_gemm_lib_prepare(fp8_gemm_lib_args *l, cudaStream_t stream);
void fp8_gemm_lib_release(fp8_gemm_lib_args *l);

/* Run baseline `mode` (FP8_LIB_*) on `lib`:
 *   FP8_LIB_BLOCK:  FP8 with CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F (A, 1x128)
 *                   and CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F (B): the
 *                   DeepGEMM semantics;
 *   FP8_LIB_TENSOR: FP8 with per-tensor scalar scales (1.0) on the same E4M3
 *                   bytes: the no-scaling-overhead bound; the caller verifies
 *                   against the unit-scale sum;
 *   FP8_LIB_BF16:   BF16 GEMM (cuBLASLt, FP32 accumulate) on inputs dequantised
 *                   at setup. */
kb_status fp8_gemm_cublaslt_run(fp8_gemm_lib_args *lib, int mode, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
