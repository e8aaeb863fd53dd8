/* kb_fill.h - device fills with seeded random data and the poison pattern
 * (kernels/common/kb_fill.cu): the lowest layer, so that references and
 * kernels can fill buffers too; bench/kb.h re-exports it. */
#ifndef KB_FILL_H
#define KB_FILL_H
#include <stddef.h>
#include <stdint.h>
#include <cuda_runtime_api.h>
#include "kernels/common/kb_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Uniform in [lo,hi), counter-based (value i depends only on (seed, i));
 * never zeros unless the range forces them. */
kb_status kb_dev_fill_f32(float *d, size_t n, float lo, float hi, uint64_t seed, cudaStream_t st);
kb_status kb_dev_fill_bf16(void *d, size_t n, float lo, float hi, uint64_t seed, cudaStream_t st);
/* Fill `bytes` with the poison pattern 0xFF (NaN for f32/bf16/e4m3). */
kb_status kb_dev_poison(void *d, size_t bytes, cudaStream_t st);

#ifdef __cplusplus
}
#endif
#endif
