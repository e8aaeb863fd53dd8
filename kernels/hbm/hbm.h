/* hbm.h - memory-ceiling kernels: read, write, copy over buffers far larger
 * than L2, and a read over a working set that stays in L2. */
#ifndef HBM_H
#define HBM_H
#include <stdint.h>
#include <stddef.h>
#include "kernels/common/kb_base.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef enum hbm_mode { HBM_READ = 0, HBM_WRITE = 1, HBM_COPY = 2, HBM_L2_READ = 3 } hbm_mode;

typedef struct hbm_args {
    hbm_mode mode;
    size_t bytes;        /* buffer size (READ/WRITE/L2_READ: src or dst; COPY: each) */
    int passes;          /* L2_READ: passes over the buffer per launch (1 otherwise)  */
    const void *src;     /* [bytes], 16-byte aligned                                  */
    void *dst;           /* [bytes] (WRITE, COPY)                                     */
    uint64_t *sum;       /* READ/L2_READ: [1] wrap-around sum of the 64-bit words read */
    uint64_t pattern;    /* WRITE: value of every 64-bit word                          */
    int sms;             /* grid = sms x blocks_per_sm                                 */
} hbm_args;

kb_status hbm_v1(void *ctx, cudaStream_t s);      /* vectorised 16-byte grid-stride kernels */
kb_status hbm_cudart(void *ctx, cudaStream_t s);  /* cudaMemcpyAsync / cudaMemsetAsync      */
/* Test-only faults (hbm_fault.cu; listed by the hbm operator in a
 * KB_FAULT_INJECT build): a kernel that waits forever (the spin guard traps it
 * after KB_SPIN_TIMEOUT_MS) and one that writes to an illegal address. */
kb_status hbm_fault_hang(void *ctx, cudaStream_t s);
kb_status hbm_fault_trap(void *ctx, cudaStream_t s);
/* Wrap-around sum of the 64-bit words of p[bytes] into *out (device), used to
 * verify copies and writes on the device. */
kb_status hbm_device_sum(const void *p, size_t bytes, int sms, uint64_t *out, cudaStream_t s);
#ifdef __cplusplus
}
#endif
#endif
