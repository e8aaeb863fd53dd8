/* test_fp8_lib_status.c - what a cuBLASLt status does to a baseline row
 * (issue 14, item 9): only CUBLAS_STATUS_NOT_SUPPORTED is a skip; every other
 * error, and a heuristic that answers "success" with no algorithm, fails the
 * row.  And the row note names the algorithm that ran (cuBLASLt) or the tile
 * configuration (v3).  No GPU needed: plain functions. */
#include <string.h>
#include <cublasLt.h>
#include "kbtest.h"
#include "bench/ops/fp8_common.h"

static void test_outcome(void)
{
    KBT_CHECK(fp8_lib_status_outcome(CUBLAS_STATUS_SUCCESS) == KB_OK);
    KBT_CHECK(fp8_lib_status_outcome(CUBLAS_STATUS_NOT_SUPPORTED) == KB_SKIP);
    /* a misconfigured block-scaled call must not vanish as a skip */
    KBT_CHECK(fp8_lib_status_outcome(CUBLAS_STATUS_INVALID_VALUE) == KB_FAIL);
    KBT_CHECK(fp8_lib_status_outcome(CUBLAS_STATUS_ARCH_MISMATCH) == KB_FAIL);
    KBT_CHECK(fp8_lib_status_outcome(CUBLAS_STATUS_EXECUTION_FAILED) == KB_FAIL);
    KBT_CHECK(fp8_lib_status_outcome(CUBLAS_STATUS_NOT_INITIALIZED) == KB_FAIL);
    KBT_CHECK(fp8_lib_status_outcome(CUBLAS_STATUS_ALLOC_FAILED) == KB_FAIL);
    KBT_CHECK(fp8_lib_status_outcome(CUBLAS_STATUS_INTERNAL_ERROR) == KB_FAIL);
    KBT_CHECK(fp8_lib_status_outcome(-5) == KB_FAIL);

    KBT_CHECK(fp8_lib_heuristic_outcome(CUBLAS_STATUS_SUCCESS, 1) == KB_OK);
    KBT_CHECK(fp8_lib_heuristic_outcome(CUBLAS_STATUS_SUCCESS, 0) == KB_FAIL); /* "no heuristic result" */
    KBT_CHECK(fp8_lib_heuristic_outcome(CUBLAS_STATUS_NOT_SUPPORTED, 0) == KB_SKIP);
    KBT_CHECK(fp8_lib_heuristic_outcome(CUBLAS_STATUS_INVALID_VALUE, 0) == KB_FAIL);
    /* the failure message names the status (cublasLtGetStatusName, no GPU needed) */
    KBT_STREQ(cublasLtGetStatusName(CUBLAS_STATUS_INVALID_VALUE), "CUBLAS_STATUS_INVALID_VALUE");
}

static void test_notes(void)
{
    char buf[160];
    const fp8_lib_algo a = {.id = 66, .tile = 30, .stages = 22, .splitk = 1, .heur_index = 0, .heur_results = 1};
    KBT_STREQ(fp8_lib_algo_note(buf, sizeof buf, &a), "cuBLASLt algo 66 tile 30 stages 22 splitK 1 (heuristic #0 of 1)");

    /* the operator's note: the cuBLASLt mode that ran, else v3's choice, else nothing */
    static fp8_gemm_ctx c;
    char note[256] = "";
    c.lib_last = -1;
    fp8_gemm_note(&c, note, sizeof note);
    KBT_STREQ(note, "");
    c.args.chosen = (fp8_gemm_choice){.block_m = 64, .block_n = 32, .stages = 16, .splits = 7, .ctas = 126};
    fp8_gemm_note(&c, note, sizeof note);
    KBT_STREQ(note, "tile 64x32, 16 stages, split-K 7, 126 CTAs");
    c.lib_last = FP8_LIB_BLOCK;
    strcpy(c.lib.mode[FP8_LIB_BLOCK].algo, "cuBLASLt algo 1 tile 2 stages 3 splitK 1 (heuristic #0 of 1)");
    fp8_gemm_note(&c, note, sizeof note);
    KBT_STREQ(note, "cuBLASLt algo 1 tile 2 stages 3 splitK 1 (heuristic #0 of 1)");
}

int main(void)
{
    test_outcome();
    test_notes();
    return kbt_done("test_fp8_lib_status");
}
