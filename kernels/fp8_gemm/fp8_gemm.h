/* fp8_gemm.h - arguments shared by every FP8 GEMM implementation (hand-written
 * kernels in kernels/fp8_gemm/, cuBLASLt references in reference/).
 *
 * DeepGEMM semantics ("NT"): D[m,n] = sum_kb sa[m,kb] * sb[n/128,kb] *
 * sum_{k in kb} A[m,k] * B[n,k], FP32 accumulation promoted once per 128-wide
 * K block, BF16 out.  K is a multiple of 128 at every model shape; N is not
 * always (2112, 576): sb has ceil(N/128) row blocks and the last one is partial.
 *
 * Layouts (all row-major, E4M3 stored as uint8_t, BF16 as uint16_t):
 *   dense:      A [M, K]            sa [K/128, M]  (MN-major, as DeepGEMM/TMA want)
 *               B [N, K]            sb [N/128, K/128]
 *               D [M, N]
 *   contiguous: A [M, K] holds G experts' rows back to back, each segment
 *               padded to a multiple of 128; group_idx [M] = expert of each row
 *               (-1 on padding rows, whose D rows are don't-care);
 *               B [G, N, K], sb [G, N/128, K/128]; sa [K/128, M]; D [M, N].
 *   masked:     A [G, m_max, K], sa [G, K/128, m_max], masked_m [G] valid rows
 *               per group; D [G, m_max, N]; rows >= masked_m[g] must not be
 *               written (verification checks they keep their poison).
 */
#ifndef FP8_GEMM_H
#define FP8_GEMM_H
#include <stdint.h>
#include <stddef.h>
#include "kernels/common/kb_base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fp8_gemm_layout {
    FP8_GEMM_DENSE = 0,
    FP8_GEMM_CONTIGUOUS = 1,
    FP8_GEMM_MASKED = 2
} fp8_gemm_layout;

/* What a tiled implementation chose for its last launch (0 = not reported). */
typedef struct fp8_gemm_choice {
    int block_m, block_n; /* output tile                                     */
    int stages;          /* shared-memory pipeline depth                      */
    int splits;          /* K splits (1: none)                                */
    int ctas;            /* persistent grid                                   */
} fp8_gemm_choice;

typedef struct fp8_gemm_args {
    fp8_gemm_layout layout;
    int m;               /* dense/contiguous: rows of A and D; masked: m_max  */
    int n, k;
    int num_groups;      /* 1 for dense                                       */
    const uint8_t *a;    /* see layouts above                                 */
    const float *sa;
    const uint8_t *b;
    const float *sb;
    uint16_t *d;
    const int32_t *group_idx; /* contiguous only, device [M]                  */
    const int32_t *masked_m;  /* masked only, device [G]                      */
    const int32_t *masked_m_host; /* masked only, host copy (for per-group library calls) */
    void *workspace;     /* device scratch an implementation may use          */
    size_t workspace_bytes;
    fp8_gemm_choice chosen; /* out: written by the launcher, for the row note */
} fp8_gemm_args;

#ifdef __cplusplus
}
#endif
#endif
