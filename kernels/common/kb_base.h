/* kb_base.h - the lowest layer, shared by kernels, references and the
 * harness: the status every launcher, setup and verify returns, its message,
 * one generic status-check macro for every library (as ggml's CUDA_CHECK_GEN),
 * and the deterministic host RNG.  Kernels include this and kernels/ headers
 * only; bench/kb.h re-exports it. */
#ifndef KB_BASE_H
#define KB_BASE_H

#include <stdint.h>
#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status --------------------------------------------------------------- */
typedef enum kb_status {
    KB_OK = 0,
    KB_FAIL = 1,  /* error: message in kb_last_message() */
    KB_SKIP = 2   /* not applicable here (unsupported mode, no NCCL...): reason in kb_last_message() */
} kb_status;

/* Record a message and return KB_FAIL / KB_SKIP.  printf-style. */
kb_status kb_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
kb_status kb_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *kb_last_message(void);
void kb_clear_message(void);

/* ---- one check macro for every library -------------------------------------
 * KB_CHECK_GEN_OR(call, ok, strfn, cleanup): evaluate `call`; if it is not
 * `ok`, run `cleanup` (e.g. teardown(c), so nothing allocated so far leaks)
 * and return kb_error("file:line: call: strfn(status)").  Instances below;
 * each is valid where its library's header is included. */
#define KB_CHECK_GEN_OR(call, ok, strfn, cleanup)                              \
    do {                                                                       \
        __typeof__(call) kb_e_ = (call);                                       \
        if (kb_e_ != (ok)) {                                                   \
            cleanup;                                                           \
            return kb_error("%s:%d: %s: %s", __FILE__, __LINE__, #call,        \
                            strfn(kb_e_));                                     \
        }                                                                      \
    } while (0)
#define KB_CHECK_GEN(call, ok, strfn) KB_CHECK_GEN_OR(call, ok, strfn, (void)0)

#define KB_CUDA_TRY(call) KB_CHECK_GEN(call, cudaSuccess, cudaGetErrorString)
#define KB_CUDA_TRY_OR(call, cleanup) KB_CHECK_GEN_OR(call, cudaSuccess, cudaGetErrorString, cleanup)
#define KB_CUBLAS_TRY(call) KB_CHECK_GEN(call, CUBLAS_STATUS_SUCCESS, cublasGetStatusString)
#define KB_CUBLAS_TRY_OR(call, cleanup) KB_CHECK_GEN_OR(call, CUBLAS_STATUS_SUCCESS, cublasGetStatusString, cleanup)
#define KB_NCCL_TRY(call) KB_CHECK_GEN(call, ncclSuccess, ncclGetErrorString)
#define KB_NCCL_TRY_OR(call, cleanup) KB_CHECK_GEN_OR(call, ncclSuccess, ncclGetErrorString, cleanup)

/* Propagate a kb_status (running `cleanup` first in the _OR form). */
#define KB_TRY_OR(call, cleanup)                                               \
    do {                                                                       \
        kb_status kb_s_ = (call);                                              \
        if (kb_s_ != KB_OK) {                                                  \
            cleanup;                                                           \
            return kb_s_;                                                      \
        }                                                                      \
    } while (0)
#define KB_TRY(call) KB_TRY_OR(call, (void)0)

/* ---- deterministic host RNG (xoshiro256** seeded through splitmix64) ------ */
typedef struct kb_rng { uint64_t s[4]; } kb_rng;
void kb_rng_seed(kb_rng *r, uint64_t seed);
uint64_t kb_rng_next(kb_rng *r);
double kb_rng_uniform(kb_rng *r);                 /* [0,1)            */
double kb_rng_normal(kb_rng *r);                  /* N(0,1)           */

/* ---- host number conversions ------------------------------------------- */
/* bf16 / E4M3 host conversions (round to nearest even; E4M3 saturates to
 * +-448 like cvt.satfinite, NaN stays NaN). */
float kb_bf16_to_f32(uint16_t h);
uint16_t kb_f32_to_bf16(float f);
float kb_e4m3_to_f32(uint8_t v);
uint8_t kb_f32_to_e4m3(float f);

#ifdef __cplusplus
}
#endif
#endif /* KB_BASE_H */
