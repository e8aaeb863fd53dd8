/* fp8_gemm_v3_map.h - the index, address and bookkeeping code of fp8_gemm_v3
 * (shared-memory carve-up, TMA boxes and coordinates, expect_tx bytes, wgmma
 * matrix descriptors, pipeline stage/phase walk, accumulator fragment
 * positions, scale and output indexing) as plain functions, so that the
 * kernel and the host emulation test (tests/test_fp8_gemm_v3_emu.c) run the
 * very same code.  Plain C when not compiled by nvcc.
 *
 * Tile: BLOCK_M x BLOCK_N output, BLOCK_K = 128 = one scale block = one
 * 128-byte E4M3 row per tile row in shared memory (TMA 128B swizzle).
 * Threads: BLOCK_M / 64 math warpgroups (threads 0 .. BLOCK_M*2-1), then one
 * producer warpgroup.
 */
#ifndef FP8_GEMM_V3_MAP_H
#define FP8_GEMM_V3_MAP_H
#include <stddef.h>
#include <stdint.h>
#include "kernels/fp8_gemm/fp8_gemm_v3_sched.h"

#ifdef __CUDACC__
#define FP8_V3_CE __host__ __device__ __forceinline__ constexpr
#else
#define FP8_V3_CE static inline
#endif

/* ---- configuration ------------------------------------------------------------ */
#define FP8_V3_BK 128               /* K per stage (bytes per tile row)               */
/* NOTES: deep rings for the narrow decode tiles: at M <= 64 only B streams
 * from HBM, and one SM needs ~25 KB in flight (3.35 TB/s x ~1 us latency / 132
 * SMs, Little's law): 6 stages of a 64x32 tile's 4 KB B box, 12 of 64x16.
 * Wide tiles are bound by the 227 KB first (128x160: 6 stages). */
#define FP8_V3_MAX_STAGES 16
#define FP8_V3_SMEM_BUDGET (227 * 1024) /* H100: 232448 B opt-in dynamic smem per block */
#define FP8_V3_SMEM_ALIGN 1024      /* 128B swizzle pattern repeats every 8 x 128 B   */
#define FP8_V3_PRODUCER_THREADS 128
#define FP8_V3_PRODUCER_REGS 40     /* setmaxnreg.dec (2 math warpgroups only)        */
#define FP8_V3_MATH_REGS 232        /* setmaxnreg.inc: 40*128 + 232*256 = 64512       */

FP8_V3_CE int fp8_v3_math_wgs(int bm) { return bm / 64; }
FP8_V3_CE int fp8_v3_math_threads(int bm) { return bm / 64 * 128; }
FP8_V3_CE int fp8_v3_math_warps(int bm) { return bm / 64 * 4; }
FP8_V3_CE int fp8_v3_threads(int bm) { return bm / 64 * 128 + FP8_V3_PRODUCER_THREADS; }
FP8_V3_CE int fp8_v3_stage_a(int bm) { return bm * FP8_V3_BK; }
FP8_V3_CE int fp8_v3_stage_b(int bn) { return bn * FP8_V3_BK; }
FP8_V3_CE int fp8_v3_stage_bytes(int bm, int bn) { return (bm + bn) * FP8_V3_BK; }
FP8_V3_CE int fp8_v3_stages(int bm, int bn)
{
    return (FP8_V3_SMEM_BUDGET - FP8_V3_SMEM_ALIGN - 16 * FP8_V3_MAX_STAGES) / fp8_v3_stage_bytes(bm, bn) <
                   FP8_V3_MAX_STAGES
               ? (FP8_V3_SMEM_BUDGET - FP8_V3_SMEM_ALIGN - 16 * FP8_V3_MAX_STAGES) / fp8_v3_stage_bytes(bm, bn)
               : FP8_V3_MAX_STAGES;
}
/* dynamic shared memory: alignment slack + stage ring + full/empty mbarriers */
FP8_V3_CE int fp8_v3_smem_bytes(int bm, int bn)
{
    return FP8_V3_SMEM_ALIGN + fp8_v3_stages(bm, bn) * fp8_v3_stage_bytes(bm, bn) + 16 * fp8_v3_stages(bm, bn);
}

/* ---- shared-memory carve-up (byte offsets from the aligned base) ----------------- */
/* bytes to skip from the dynamic smem start (shared-window address) to 1024 B */
FP8_V3_CE uint32_t fp8_v3_smem_pad(uint32_t raw_addr) { return (FP8_V3_SMEM_ALIGN - (raw_addr & 1023u)) & 1023u; }
FP8_V3_CE uint32_t fp8_v3_off_a(int bm, int bn, int stage) { return (void)bn, (uint32_t)(stage * fp8_v3_stage_a(bm)); }
FP8_V3_CE uint32_t fp8_v3_off_b(int bm, int bn, int stage)
{
    return (uint32_t)(fp8_v3_stages(bm, bn) * fp8_v3_stage_a(bm) + stage * fp8_v3_stage_b(bn));
}
FP8_V3_CE uint32_t fp8_v3_off_full(int bm, int bn, int stage)
{
    return (uint32_t)(fp8_v3_stages(bm, bn) * fp8_v3_stage_bytes(bm, bn) + 8 * stage);
}
FP8_V3_CE uint32_t fp8_v3_off_empty(int bm, int bn, int stage)
{
    return (uint32_t)(fp8_v3_stages(bm, bn) * fp8_v3_stage_bytes(bm, bn) + 8 * fp8_v3_stages(bm, bn) + 8 * stage);
}
/* the 64-row A sub-tile math warpgroup wg multiplies starts wg * 64 rows in */
FP8_V3_CE uint32_t fp8_v3_off_a_wg(int wg) { return (uint32_t)(wg * 64 * FP8_V3_BK); }

/* ---- TMA ------------------------------------------------------------------------- */
/* Boxes: [rows, 128 bytes] of the 2D E4M3 views A [rows_a, K], B [groups*N, K]. */
#define FP8_V3_BOX_INNER FP8_V3_BK
FP8_V3_CE uint32_t fp8_v3_box_rows_a(int bm) { return (uint32_t)bm; }
FP8_V3_CE uint32_t fp8_v3_box_rows_b(int bn) { return (uint32_t)bn; }
FP8_V3_CE uint64_t fp8_v3_rows_a(int layout, int m, int groups)
{
    return layout == FP8_GEMM_MASKED ? (uint64_t)groups * (uint64_t)m : (uint64_t)m;
}
FP8_V3_CE uint64_t fp8_v3_rows_b(int n, int groups) { return (uint64_t)groups * (uint64_t)n; }
/* Bytes the producer announces on the stage's full barrier: TMA counts every
 * byte of a box, out-of-bounds (zero-filled) ones included, so a stage always
 * receives the two full boxes. */
FP8_V3_CE uint32_t fp8_v3_tx_bytes(int bm, int bn) { return (uint32_t)fp8_v3_stage_bytes(bm, bn); }
/* coordinates {inner (K byte), outer (row)} of the stage's A and B boxes */
FP8_V3_HD void fp8_v3_tma_a_coord(const fp8_gemm_v3_tile *t, int kb, int *c0, int *c1)
{
    *c0 = kb * FP8_V3_BK;
    *c1 = t->a_row;
}
FP8_V3_HD void fp8_v3_tma_b_coord(const fp8_gemm_v3_params *p, const fp8_gemm_v3_tile *t, int kb, int *c0, int *c1)
{
    *c0 = kb * FP8_V3_BK;
    *c1 = t->g * p->n + t->n0;
}

/* ---- wgmma shared-memory matrix descriptor ----------------------------------------
 * K-major operand written by TMA with 128B swizzle: start address >> 4 (bits
 * 0-13), leading byte offset unused for swizzled K-major (0), stride byte
 * offset = 8 rows * 128 B = 1024 (bits 32-45, >> 4), base offset 0 (every
 * operand starts on a 1024-byte boundary), layout type 1 = 128B swizzle (bits
 * 62-63).  k32 step k (0..3) reads bytes 32k..32k+31 of every row: the start
 * address advances by 32 B = 2 in the >> 4 field (the hardware applies the
 * swizzle XOR to the full address, so the pattern stays anchored at 1024). */
FP8_V3_CE uint64_t fp8_v3_desc_sw128(uint32_t smem_addr)
{
    return (uint64_t)((smem_addr & 0x3FFFFu) >> 4) | ((uint64_t)(1024 >> 4) << 32) | ((uint64_t)1 << 62);
}
FP8_V3_CE uint64_t fp8_v3_desc_k(uint64_t desc, int k) { return desc + (uint64_t)((32 * k) >> 4); }

/* ---- pipeline: ring of stages, full (TMA -> math) and empty (math -> TMA) ---------- */
#define FP8_V3_FULL_ARRIVALS 1 /* the producer's arrive.expect_tx                 */
FP8_V3_CE int fp8_v3_empty_arrivals(int bm) { return fp8_v3_math_warps(bm); } /* lane 0 of every math warp */
/* parity the producer waits for on empty[stage] (the first round passes at
 * once: a fresh barrier's preceding phase counts as complete) and the math
 * warps on full[stage] */
FP8_V3_CE uint32_t fp8_v3_producer_parity(uint32_t phase) { return phase ^ 1u; }
FP8_V3_CE uint32_t fp8_v3_consumer_parity(uint32_t phase) { return phase; }
FP8_V3_HD void fp8_v3_pipe_next(int *stage, uint32_t *phase, int stages)
{
    if (++*stage == stages) {
        *stage = 0;
        *phase ^= 1u;
    }
}

/* ---- accumulator fragment (wgmma m64nNk32, f32 D) -----------------------------------
 * Math thread mt (0 .. BLOCK_M*2-1): warpgroup mt/128, warp (mt%128)/32, lane
 * mt%32.  Register i of its N/2 holds tile row fp8_v3_frag_row0 + fp8_v3_reg_row(i),
 * tile col fp8_v3_frag_col0 + fp8_v3_reg_col(i): registers 4j, 4j+1 are a column
 * pair of the first row, 4j+2, 4j+3 the same pair 8 rows down, in 8-column
 * chunk j. */
FP8_V3_CE int fp8_v3_frag_row0(int mt) { return (mt / 128) * 64 + ((mt % 128) / 32) * 16 + (mt % 32) / 4; }
FP8_V3_CE int fp8_v3_frag_col0(int mt) { return (mt % 4) * 2; }
FP8_V3_CE int fp8_v3_reg_row(int i) { return ((i >> 1) & 1) * 8; }
FP8_V3_CE int fp8_v3_reg_col(int i) { return (i >> 2) * 8 + (i & 1); }

/* ---- scales ------------------------------------------------------------------------
 * A tile of BLOCK_N columns from n0 covers at most two 128-column sb blocks
 * (n0 is a multiple of 16 and n0 % 128 + BLOCK_N <= 256 for every compiled
 * BLOCK_N): tile columns < fp8_v3_sb_split(n0) use block n0/128, the rest
 * block n0/128 + 1.  The split is a multiple of 16, so it is decided per
 * 8-column chunk. */
/* n0 runs over multiples of BLOCK_N, so n0 % 128 takes every multiple of
 * gcd(BLOCK_N, 128) below 128: two blocks suffice iff BLOCK_N <= 128 + gcd. */
FP8_V3_CE int fp8_v3_gcd128(int bn)
{
    return bn % 128 == 0 ? 128 : bn % 64 == 0 ? 64 : bn % 32 == 0 ? 32 : bn % 16 == 0 ? 16 : 8;
}
/* bn % 16: the B box is bn 128-byte rows, a multiple of the 1024-byte swizzle
 * atom (8 rows, the descriptor's SBO) from bn % 8 on; wgmma E4M3 takes any N
 * that is a multiple of 8; 16 keeps the sb split on 16-column chunks. */
FP8_V3_CE int fp8_v3_bn_ok(int bn) { return bn % 16 == 0 && bn <= 256 && bn <= 128 + fp8_v3_gcd128(bn); }
FP8_V3_CE int fp8_v3_sb_split(int n0) { return FP8_V3_BK - n0 % FP8_V3_BK; }
FP8_V3_CE int fp8_v3_reg_second(int i, int split) { return (i >> 2) * 8 >= split; }
/* sa element (row, kb) of group g (dense/contiguous: sa [K/128, M]; masked:
 * sa [G, K/128, m_max]); row is clamped into the group (rows past M / m_max
 * are never stored). */
FP8_V3_HD size_t fp8_v3_sa_index(const fp8_gemm_v3_params *p, int g, int kb, int row)
{
    const int r = row < p->m - 1 ? row : p->m - 1;
    const size_t base = p->layout == FP8_GEMM_MASKED ? (size_t)g * p->kblocks * p->m : 0;
    return base + (size_t)kb * p->m + r;
}
/* sb element (nb, kb) of group g: sb [G, ceil(N/128), K/128]; nb is clamped to
 * the last block (tile columns past N are never stored). */
FP8_V3_HD size_t fp8_v3_sb_index(const fp8_gemm_v3_params *p, int g, int nb, int kb)
{
    const int b = nb < p->nblocks - 1 ? nb : p->nblocks - 1;
    return ((size_t)g * p->nblocks + b) * p->kblocks + kb;
}

/* ---- epilogue: BF16 pairs (tile row r, tile cols c, c+1; c even) -------------------- */
FP8_V3_HD int fp8_v3_store_ok(const fp8_gemm_v3_params *p, const fp8_gemm_v3_tile *t, int r, int c)
{
    return t->m0 + r < t->row_lim && t->n0 + c < p->n;
}
FP8_V3_HD size_t fp8_v3_d_index(const fp8_gemm_v3_params *p, const fp8_gemm_v3_tile *t, int r, int c)
{
    const size_t row = (p->layout == FP8_GEMM_MASKED ? (size_t)t->g * p->m : 0) + (size_t)(t->m0 + r);
    return row * p->n + (size_t)(t->n0 + c);
}

/* ---- split-K: FP32 partials [splits, m, n], then D = bf16(sum over splits) ---------- */
FP8_V3_CE size_t fp8_v3_ws_bytes(int splits, int m, int n) { return (size_t)splits * (size_t)m * (size_t)n * 4u; }
/* partial of (tile row r, tile col c) of a dense unit in split t->split */
FP8_V3_HD size_t fp8_v3_ws_index(const fp8_gemm_v3_params *p, const fp8_gemm_v3_tile *t, int r, int c)
{
    return ((size_t)t->split * p->m + (size_t)(t->m0 + r)) * p->n + (size_t)(t->n0 + c);
}
/* the reduce pass: element e of D [m, n] (row-major) sums ws[s * m * n + e] */
FP8_V3_CE size_t fp8_v3_reduce_src(int split, int m, int n, size_t e) { return (size_t)split * m * n + e; }

#undef FP8_V3_CE
#endif
