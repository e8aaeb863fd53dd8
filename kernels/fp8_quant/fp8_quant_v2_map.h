/* fp8_quant_v2_map.h - the thread -> data maps of fp8_quant_v2.cu as plain
 * functions, shared by the kernels and the host emulation test
 * (tests/test_fp8_quant_v2_map.c), which checks for every shape of the
 * fp8_quant op table that each 8-element chunk is loaded (16 B) and stored
 * (8 B) exactly once, aligned and in bounds, and each scale written once.
 *   token (1x128): 16 threads per (row, 128-group), thread `sub` owns
 *     elements [sub*8, sub*8 + 8) of the group; 16 groups per 256 threads.
 *   block (128x128): one 256-thread block per tile; thread tid owns chunk
 *     i = tid + 256 j (j = 0..7): tile row i / 16, 8-element column i % 16. */
#ifndef FP8_QUANT_V2_MAP_H
#define FP8_QUANT_V2_MAP_H
#include <stddef.h>
#include <stdint.h>

#ifdef __CUDACC__
#define FQ2_FN static __host__ __device__ __forceinline__
#else
#define FQ2_FN static inline
#endif

enum { FQ2_THREADS = 256, FQ2_TPG = 16, FQ2_CHUNK = 8, FQ2_BLOCK_LOADS = 8 };

/* token mode ---------------------------------------------------------------- */
FQ2_FN int64_t fq2_token_threads(int rows, int cols) { return (int64_t)rows * (cols / 128) * FQ2_TPG; }
FQ2_FN int64_t fq2_token_group(int block, int tid) { return ((int64_t)block * FQ2_THREADS + tid) / FQ2_TPG; }
FQ2_FN int fq2_token_sub(int tid) { return tid % FQ2_TPG; }
/* element offset of the thread's 8 elements (x and q alike) */
FQ2_FN size_t fq2_token_off(int64_t group, int sub, int cols)
{
    const int kb = cols / 128;
    const int r = (int)(group / kb), b = (int)(group % kb);
    return (size_t)r * (size_t)cols + (size_t)b * 128u + (size_t)sub * FQ2_CHUNK;
}
/* scale index of group: s [cols/128, rows] (MN-major) */
FQ2_FN size_t fq2_token_scale(int64_t group, int rows, int cols)
{
    const int kb = cols / 128;
    return (size_t)(group % kb) * (size_t)rows + (size_t)(group / kb);
}
/* shuffle mask of the 16 lanes of the thread's group */
FQ2_FN unsigned fq2_token_mask(int tid) { return 0xffffu << (tid & 16); }

/* block mode ---------------------------------------------------------------- */
FQ2_FN int fq2_block_row(int rb, int tid, int j) { return rb * 128 + ((tid + FQ2_THREADS * j) >> 4); }
FQ2_FN size_t fq2_block_off(int row, int cb, int tid, int j, int cols)
{
    return (size_t)row * (size_t)cols + (size_t)cb * 128u + (size_t)((tid + FQ2_THREADS * j) & 15) * FQ2_CHUNK;
}
FQ2_FN size_t fq2_block_scale(int rb, int cb, int cols) { return (size_t)rb * (size_t)(cols / 128) + (size_t)cb; }

/* two e4m3x2 conversions (x0,x1) and (x2,x3) -> bytes x0 x1 x2 x3, little-endian */
FQ2_FN uint32_t fq2_pack(uint32_t lo, uint32_t hi) { return (lo & 0xffffu) | (hi << 16); }

#endif
