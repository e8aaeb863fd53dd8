/* fp8_gemm_v2_map.h - the index maps of fp8_gemm_v2 (shared-memory swizzle,
 * cp.async producer assignment, ldmatrix lane addresses, accumulator
 * fragment positions), as plain functions so that the kernel and a host-side
 * emulation test (tests/test_fp8_gemm_v2_map.c) use the very same code.
 * Tile: 128 x 128 x 128 (BM x BN x BK), 256 threads = 8 warps as 2 (M) x 4 (N),
 * warp tile 64 x 32 = 4 x 4 mma.m16n8k32; tile rows are 128 B (BK E4M3). */
#ifndef FP8_GEMM_V2_MAP_H
#define FP8_GEMM_V2_MAP_H
#include <stdint.h>

#ifdef __CUDACC__
#define V2_FN __host__ __device__ __forceinline__
#else
#define V2_FN static inline
#endif

enum { V2_BM = 128, V2_BN = 128, V2_BK = 128, V2_STAGES = 4, V2_THREADS = 256, V2_LOADS = 4 };

/* Byte offset of 16-byte chunk ch (0..7) of tile row r: chunks XOR-swizzled
 * by (r & 7) so the 8 row addresses of one ldmatrix 8x8 matrix (same chunk,
 * 8 consecutive rows) hit 8 different 16-byte bank groups. */
V2_FN uint32_t v2_swz(int r, int ch) { return (uint32_t)(r * 128 + ((ch ^ (r & 7)) << 4)); }

/* Producer: copy j (0..V2_LOADS-1) of thread tid moves chunk v2_load_chunk of
 * tile row v2_load_row (for A and B alike); 256 x 4 = 1024 = 128 rows x 8. */
V2_FN int v2_load_row(int tid, int j) { return (tid + V2_THREADS * j) >> 3; }
V2_FN int v2_load_chunk(int tid, int j) { return (tid + V2_THREADS * j) & 7; }

/* ldmatrix.x4 for the A fragment of m-tile mt, k32 step ks: lanes 0-7 address
 * rows 0-7 / k bytes 0-15, lanes 8-15 rows 8-15 / k 0-15, lanes 16-23 rows
 * 0-7 / k 16-31, lanes 24-31 rows 8-15 / k 16-31 -> registers a0..a3 of
 * mma.m16n8k32 (row g / g+8, k quads t*4 and 16+t*4). */
V2_FN int v2_a_row(int wm, int mt, int lane) { return wm * 64 + mt * 16 + (lane & 15); }
V2_FN int v2_a_chunk(int ks, int lane) { return ks * 2 + (lane >> 4); }

/* ldmatrix.x4 for the B fragments of n-tiles 2pr and 2pr+1: lanes 0-7 n rows
 * 0-7 / k 0-15 (b0 of tile 2pr), 8-15 n 0-7 / k 16-31 (b1 of 2pr), 16-23
 * n 8-15 / k 0-15 (b0 of 2pr+1), 24-31 n 8-15 / k 16-31 (b1 of 2pr+1). */
V2_FN int v2_b_row(int wn, int pr, int lane) { return wn * 32 + pr * 16 + (lane & 7) + ((lane >> 4) << 3); }
V2_FN int v2_b_chunk(int ks, int lane) { return ks * 2 + ((lane >> 3) & 1); }
/* ...so register q (0..3) of that ldmatrix.x4 is register v2_b_reg(q) of the
 * fragment of n-tile v2_b_tile(pr, q). */
V2_FN int v2_b_tile(int pr, int q) { return 2 * pr + (q >> 1); }
V2_FN int v2_b_reg(int q) { return q & 1; }

/* Accumulator element e (0..3) of m-tile mt, n-tile nt held by lane: its row
 * and column in the 128 x 128 block tile (c0,c1: row g; c2,c3: row g+8;
 * columns t*2, t*2+1). */
V2_FN int v2_c_row(int wm, int mt, int e, int lane) { return wm * 64 + mt * 16 + (lane >> 2) + (e >> 1) * 8; }
V2_FN int v2_c_col(int wn, int nt, int e, int lane) { return wn * 32 + nt * 8 + (lane & 3) * 2 + (e & 1); }

#undef V2_FN
#endif
