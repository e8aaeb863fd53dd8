/* fp8_gemm_v3.h - v3: Hopper-native FP8 GEMM (TMA + mbarrier pipeline, wgmma,
 * persistent tile scheduler), dense and grouped (contiguous, masked).
 * ctx's first member is fp8_gemm_args (kernels/fp8_gemm/fp8_gemm.h).
 */
#ifndef FP8_GEMM_V3_H
#define FP8_GEMM_V3_H
#include "kernels/fp8_gemm/fp8_gemm.h"
#include "kernels/fp8_gemm/fp8_gemm_v3_sched.h"

#ifdef __cplusplus
extern "C" {
#endif

kb_status fp8_gemm_v3(void *ctx, cudaStream_t s);        /* layout FP8_GEMM_DENSE      */
kb_status fp8_gemm_v3_contig(void *ctx, cudaStream_t s); /* layout FP8_GEMM_CONTIGUOUS */
kb_status fp8_gemm_v3_masked(void *ctx, cudaStream_t s); /* layout FP8_GEMM_MASKED     */
kb_status fp8_gemm_v3_grouped(void *ctx, cudaStream_t s); /* contiguous or masked, by layout */

/* Any layout with a forced tile size (block_m in fp8_gemm_v3_block_ms,
 * block_n in fp8_gemm_v3_block_ns), unsplit; block_m = block_n = 0 picks the
 * tile and the K splits with fp8_gemm_v3_choose_k (splits only for dense
 * shapes and only within a->workspace_bytes), as the launchers above do.  Used
 * by the tests to run every compiled tile size.  The launchers above also
 * record their choice in args.chosen (the row note). */
kb_status fp8_gemm_v3_run(const fp8_gemm_args *a, cudaStream_t s, int block_m, int block_n);
/* The same with `splits` K splits forced (dense only; FP32 partials in
 * a->workspace, fp8_v3_ws_bytes; then a reduce kernel on the same stream). */
kb_status fp8_gemm_v3_run_split(const fp8_gemm_args *a, cudaStream_t s, int block_m, int block_n, int splits);

#ifdef __cplusplus
}
#endif
#endif
