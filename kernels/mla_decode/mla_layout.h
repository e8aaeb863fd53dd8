/* mla_layout.h - the index/address maps and the small per-row math of the MLA
 * decode kernels, in one place so that the CUDA kernels and the host
 * emulation test (tests/test_mla_emu.c, plain C) run the SAME code:
 *   - v2: ldmatrix row addresses, mma.sync m16n8k16 accumulator -> (row, key /
 *     column) maps, the P-tile store;
 *   - v3: shared-memory offsets of the tiles, TMA box placement, wgmma
 *     descriptor start offsets / LBO / SBO and the descriptor encoding, the
 *     swizzled P store, the wgmma accumulator map;
 *   - both: causal limit, online-softmax rescaling, lse, combine math, the
 *     lse / partial-slot indexing;
 *   - the cuBLAS baseline's GEMM parameters (column-major conventions).
 * Everything here is pure integer / float arithmetic (no intrinsics). */
#ifndef MLA_LAYOUT_H
#define MLA_LAYOUT_H
#include <math.h>
#include <stdint.h>
#include "kernels/mla_decode/mla_decode.h"

#ifdef __CUDACC__
#define MLA_FN static __host__ __device__ __forceinline__
#else
#define MLA_FN static inline
#endif

/* ------------------------------------------------------------------------ */
/* Shared by v2 and v3                                                      */
/* ------------------------------------------------------------------------ */

/* Keys [0, limit) of the segment [., end) that query row R (R = i*h_q + h of
 * its sequence; rows >= nrows are padding) may see: causal for s_q > 1,
 * query i sees the first len - s_q + 1 + i keys. */
MLA_FN int mla_row_limit(int R, int nrows, int h_q, int s_q, int len, int end)
{
    const int qi = R < nrows ? R / h_q : s_q - 1;
    const int vis = len - s_q + 1 + qi;
    return end < vis ? end : vis;
}

/* Keys a kernel may bring into shared memory as cache data: t < end (the
 * segment's end, <= seqlen).  A tile or page is loaded whole, so the slots
 * past seqlen in the last page arrive too; they hold whatever the cache holds
 * there (NaN/Inf is normal in real serving), and although their P is 0, 0 *
 * NaN = NaN in P V.  So every kernel zero-fills keys t >= end in shared
 * memory instead (as FlashMLA does), never multiplies them. */
MLA_FN int mla_key_loaded(int t, int end) { return t < end; }

/* Masked, scaled score in the log2 domain. */
MLA_FN float mla_masked_score(float s, int t, int limit, float scale_log2)
{
    return t < limit ? s * scale_log2 : -INFINITY;
}

/* Online softmax: fold a tile's row max (log2 domain) into the running max
 * *m.  Returns alpha (the factor for the old sum / accumulators); *m_use is
 * the offset to subtract from the tile's scores before exp2 (0 while every
 * key so far is masked, so that exp2(-inf - 0) = 0 and never NaN). */
MLA_FN float mla_softmax_rescale(float *m, float tile_max, float *m_use)
{
    const float m_new = fmaxf(*m, tile_max);
    *m_use = m_new == -INFINITY ? 0.f : m_new;
    const float alpha = exp2f(*m - *m_use);
    *m = m_new;
    return alpha;
}

/* Natural-log lse of a row from its running max m (log2 domain) and sum l. */
MLA_FN float mla_lse_nat(float m, float l)
{
    return l > 0.f ? (m + log2f(l)) * 0.6931471805599453f : -INFINITY;
}

/* lse [b, h_q, s_q] index of query row R of sequence bi. */
MLA_FN size_t mla_lse_index(int bi, int h_q, int s_q, int R)
{
    return ((size_t)bi * h_q + (size_t)(R % h_q)) * (size_t)s_q + (size_t)(R / h_q);
}

/* Partial of query row R in slot `slot`: o_accum[(slot*nrows + R)*512 + d],
 * lse_accum[slot*nrows + R]. */
MLA_FN size_t mla_accum_row(int slot, int nrows, int R) { return (size_t)slot * (size_t)nrows + (size_t)R; }

/* Packed schedule (mla_sched_pack): where the segments and the per-sequence
 * split bookkeeping start. */
MLA_FN const int32_t *mla_packed_segs(const int32_t *packed, int num_parts) { return packed + num_parts + 1; }
MLA_FN const int32_t *mla_packed_split_off(const int32_t *packed, int num_parts, int num_segs)
{
    return packed + num_parts + 1 + 4 * num_segs;
}
MLA_FN const int32_t *mla_packed_n_split(const int32_t *packed, int num_parts, int num_segs, int b)
{
    return packed + num_parts + 1 + 4 * num_segs + b;
}

/* Combine of n partials lse[i*stride]: the merged lse (natural log). */
MLA_FN float mla_combine_lse(int n, const float *lse, size_t stride)
{
    float m = -INFINITY;
    for (int i = 0; i < n; i++) m = fmaxf(m, lse[(size_t)i * stride]);
    if (m == -INFINITY) return -INFINITY;
    float sum = 0.f;
    for (int i = 0; i < n; i++) {
        const float l = lse[(size_t)i * stride];
        if (l != -INFINITY) sum += expf(l - m);
    }
    return m + logf(sum);
}
/* Weight of a partial with lse l in a merged row of lse tot (0 if empty). */
MLA_FN float mla_combine_weight(float l, float tot) { return l == -INFINITY ? 0.f : expf(l - tot); }

/* ------------------------------------------------------------------------ */
/* v2: mma.sync m16n8k16 BF16, ldmatrix, padded smem rows                   */
/* ------------------------------------------------------------------------ */
#define MLA_V2_ROWS 64            /* query rows per CTA          */
#define MLA_V2_TK 32              /* keys per tile               */
#define MLA_V2_QSTR (MLA_D_QK + 8) /* 584 bf16 = 1168 B per row  */
#define MLA_V2_PSTR (MLA_V2_TK + 8) /* 40 bf16 = 80 B per P row   */

/* Warp w of 8: row tile rt = w % 4 (16 rows), key / column half kh = w / 4. */

/* ldmatrix.x4 row addresses (element offsets into the tile) that `lane`
 * supplies; lanes 8j..8j+7 give the 8 rows of matrix j. */
/* A = Q [64 x 576] (row-major), k-step kk (16 columns). */
MLA_FN int mla_v2_q_ldsm(int rt, int lane, int kk)
{
    return (rt * 16 + (lane & 15)) * MLA_V2_QSTR + (lane >> 4) * 8 + kk * 16;
}
/* B = K^T from the K tile [32 keys x 576]: keys kh*16..+16, k-step kk;
 * registers {b0, b1} = n-tile 0 (keys +0..7), {b2, b3} = n-tile 1 (+8..15). */
MLA_FN int mla_v2_k_ldsm(int kh, int lane, int kk)
{
    const int mi = lane >> 3;
    return (kh * 16 + (mi >> 1) * 8 + (lane & 7)) * MLA_V2_QSTR + (mi & 1) * 8 + kk * 16;
}
/* A = P [64 x 32] (row-major, PSTR), k-step ks (16 keys). */
MLA_FN int mla_v2_p_ldsm(int rt, int lane, int ks)
{
    return (rt * 16 + (lane & 15)) * MLA_V2_PSTR + ks * 16 + (lane >> 4) * 8;
}
/* B = V from the K tile (ldmatrix .trans): keys ks*16..+16, columns
 * kh*256 + np*16 ..+16; {b0, b1} = columns +0..7, {b2, b3} = +8..15. */
MLA_FN int mla_v2_v_ldsm(int kh, int lane, int ks, int np)
{
    const int mi = lane >> 3;
    return (ks * 16 + (mi & 1) * 8 + (lane & 7)) * MLA_V2_QSTR + kh * 256 + (mi >> 1) * 8 + np * 16;
}
/* Accumulator element e (0..3) of an m16n8 fragment held by `lane`: row in
 * the 16-row tile and column in the 8-column n-tile (PTX ISA m16n8k16 D). */
MLA_FN int mla_mma_c_row(int lane, int e) { return (lane >> 2) + 8 * (e >> 1); }
MLA_FN int mla_mma_c_col(int lane, int e) { return (lane & 3) * 2 + (e & 1); }
/* S fragment s[n][e] of warp (rt, kh): tile row and key in the 32-key tile. */
MLA_FN int mla_v2_s_row(int rt, int lane, int e) { return rt * 16 + mla_mma_c_row(lane, e); }
MLA_FN int mla_v2_s_key(int kh, int lane, int n, int e) { return kh * 16 + n * 8 + mla_mma_c_col(lane, e); }
/* O fragment acc[n][e] of warp (rt, kh): output column (row as mla_v2_s_row). */
MLA_FN int mla_v2_o_col(int kh, int lane, int n, int e) { return kh * 256 + n * 8 + mla_mma_c_col(lane, e); }
/* Row tile rt (16 rows) of head group grp holds at least one real query row
 * (rows >= nrows are padding).  A warp whose row tile is all padding (s_q*h_q
 * = 16: 3 of the 4 row tiles) skips its MMAs and ldmatrix loads. */
MLA_FN int mla_v2_tile_live(int rt, int grp, int nrows) { return grp * MLA_V2_ROWS + rt * 16 < nrows; }

/* Element offset of P[row][key] in the P tile (the store of two BF16 at a
 * time starts at an even key). */
MLA_FN int mla_v2_p_off(int row, int key) { return row * MLA_V2_PSTR + key; }

/* FP8 KV (v2): a raw 656-byte token becomes one BF16 K row in 72 chunks of
 * 8 values (16 B).  Chunk c < 64: 8 e4m3 latents at byte 8c, times the FP32
 * scale of their 128-value group; chunk c >= 64: 8 BF16 rope values copied. */
MLA_FN int mla_fp8_chunk_is_rope(int c) { return c >= MLA_D_V / 8; }
MLA_FN int mla_fp8_chunk_src(int c) { return c < MLA_D_V / 8 ? c * 8 : MLA_FP8_ROPE_OFF + (c - MLA_D_V / 8) * 16; }
MLA_FN int mla_fp8_chunk_scale(int c) { return MLA_FP8_SCALE_OFF + 4 * (c * 8 / 128); }

/* ------------------------------------------------------------------------ */
/* v3: wgmma BF16, TMA pages, 128-byte swizzle                              */
/* ------------------------------------------------------------------------ */
#define MLA_V3_BOX 8192                    /* one TMA box: 64 rows x 128 B        */
#define MLA_V3_BOX_COLS 64                 /* BF16 columns per box (128 B)        */
#define MLA_V3_NBOX (MLA_D_QK / 64)        /* 9 boxes per 576-wide tile           */
#define MLA_V3_TILE (MLA_V3_NBOX * MLA_V3_BOX) /* 73728: Q tile or one KV page    */
#define MLA_V3_OFF_Q 0
#define MLA_V3_OFF_KV MLA_V3_TILE          /* 2 stages                            */
#define MLA_V3_OFF_P (3 * MLA_V3_TILE)
#define MLA_V3_OFF_RED (MLA_V3_OFF_P + MLA_V3_BOX) /* red_max[2][64], red_sum[2][64] */
#define MLA_V3_OFF_BAR (MLA_V3_OFF_RED + 1024)     /* 3 mbarriers                    */
#define MLA_V3_SMEM_USED (MLA_V3_OFF_BAR + 64)
#define MLA_V3_SMEM_BYTES (MLA_V3_SMEM_USED + 1024) /* + slack to align the base to 1024 */
#define MLA_V3_SW128_SPAN 128              /* bytes of one swizzled row           */
#define MLA_V3_KSTEP_BYTES 32              /* k16 BF16 step inside a K-major row  */
/* K-major SW128 (Q, K, P): SBO = 8 rows x 128 B; LBO unused (encoded 1). */
#define MLA_V3_KMAJ_LBO 16
#define MLA_V3_KMAJ_SBO 1024
/* MN-major SW128 (V): LBO = next 64 columns (next box), SBO = next 8 keys. */
#define MLA_V3_MN_LBO MLA_V3_BOX
#define MLA_V3_MN_SBO 1024

/* TMA tensor maps (q as [b*s_q*h_q, 576], the cache as [num_blocks*64, 576],
 * BF16, SWIZZLE_128B): global row stride (bytes, must be a multiple of 16),
 * box = 64 columns (128 B: <= the 128-B swizzle span) x 64 rows (<= 256). */
#define MLA_V3_TMAP_GSTRIDE (MLA_D_QK * 2)
#define MLA_V3_TMAP_BOX_INNER 64
#define MLA_V3_TMAP_BOX_ROWS 64

/* TMA: box c of a tile covers columns [64c, 64c + 64) and lands at c*BOX. */
MLA_FN int mla_v3_box_dst(int c) { return c * MLA_V3_BOX; }
MLA_FN int mla_v3_box_col(int c) { return c * MLA_V3_BOX_COLS; }

/* Tail zero-fill of a page tile that starts at key t0 when the segment ends
 * at end < t0 + 64 (mla_key_loaded): rows r0 = end - t0 .. 63 of every box
 * are cleared, (64 - r0) * 8 chunks of 16 B per box, NBOX boxes.  The 128-B
 * swizzle only permutes the chunks inside a row, so clearing whole rows is
 * layout-independent.  Byte offset (in the tile) of chunk i. */
MLA_FN int mla_v3_tail_rows(int t0, int end)
{
    const int r0 = end - t0;
    return r0 >= MLA_PAGE ? 0 : MLA_PAGE - (r0 < 0 ? 0 : r0);
}
MLA_FN int mla_v3_tail_chunk_off(int t0, int end, int i)
{
    const int n = mla_v3_tail_rows(t0, end) * 8, r0 = MLA_PAGE - mla_v3_tail_rows(t0, end);
    return mla_v3_box_dst(i / n) + (r0 + (i % n) / 8) * MLA_V3_SW128_SPAN + (i % 8) * 16;
}

/* wgmma descriptor start offsets (bytes, relative to the tile) per k-step. */
/* A = Q [64 x 576], K-major, k-step kk of 36. */
MLA_FN int mla_v3_q_desc_off(int kk) { return (kk / 4) * MLA_V3_BOX + (kk % 4) * MLA_V3_KSTEP_BYTES; }
/* B = K rows [32 wg, 32 wg + 32) of the page, K-major, k-step kk. */
MLA_FN int mla_v3_k_desc_off(int wg, int kk)
{
    return (kk / 4) * MLA_V3_BOX + wg * 32 * MLA_V3_SW128_SPAN + (kk % 4) * MLA_V3_KSTEP_BYTES;
}
/* A = P [64 x 64 keys], K-major, k-step ks of 4. */
MLA_FN int mla_v3_p_desc_off(int ks) { return ks * MLA_V3_KSTEP_BYTES; }
/* B = V [keys, columns 256 wg ..+256), MN-major, keys 16 ks ..+16. */
MLA_FN int mla_v3_v_desc_off(int wg, int ks) { return 4 * wg * MLA_V3_BOX + ks * 16 * MLA_V3_SW128_SPAN; }

/* Shared memory matrix descriptor (PTX ISA "Matrix Descriptor Format"):
 * bits 0-13 start address >> 4, 16-29 LBO >> 4, 32-45 SBO >> 4, 49-51 base
 * offset (0: every swizzle atom is 1024-B aligned), 62-63 layout (1 = 128B
 * swizzle). */
MLA_FN uint64_t mla_desc_encode(uint32_t smem_addr, uint32_t lbo, uint32_t sbo)
{
    return (uint64_t)((smem_addr & 0x3FFFF) >> 4) | ((uint64_t)((lbo & 0x3FFFF) >> 4) << 16) |
           ((uint64_t)((sbo & 0x3FFFF) >> 4) << 32) | (1ull << 62);
}

/* Byte offset (in the 1024-B aligned P box) of P[row][key], key even: the
 * 16-B chunk key/8 of the 128-B row is XOR-swizzled with row % 8 (the layout
 * TMA SWIZZLE_128B writes and wgmma SW128 reads). */
MLA_FN int mla_v3_p_store_off(int row, int key) { return row * 128 + (((key >> 3) ^ (row & 7)) << 4) + (key & 7) * 2; }

/* wgmma m64nN f32 accumulator d[4i + e] of thread `tid128` (0..127) of the
 * warpgroup: row in the 64-row tile and column in the N columns. */
MLA_FN int mla_wg_acc_row(int tid128, int e) { return 16 * (tid128 >> 5) + ((tid128 & 31) >> 2) + 8 * (e >> 1); }
MLA_FN int mla_wg_acc_col(int tid128, int i, int e) { return 8 * i + (tid128 & 3) * 2 + (e & 1); }

/* ------------------------------------------------------------------------ */
/* cuBLAS baselines: column-major strided batched (padded) / grouped GEMMs   */
/* ------------------------------------------------------------------------ */
/* C (m x n, ldc) = op(A) (m x k) * op(B) (k x n), column-major, per batch. */
typedef struct mla_gemm {
    int trans_a, trans_b; /* 0: N, 1: T */
    int m, n, k;
    int lda, ldb, ldc;
    long long stride_a, stride_b, stride_c;
} mla_gemm;

/* S (row-major [rows, max_s] = column-major max_s x rows) = K Q^T per
 * sequence: A = gathered K [max_s, 576] row-major (= col-major 576 x max_s,
 * op T), B = q [rows, 576] row-major (= col-major 576 x rows, op N). */
MLA_FN mla_gemm mla_cublas_qk(int rows, int max_s)
{
    mla_gemm g = {1, 0, max_s, rows, MLA_D_QK, MLA_D_QK, MLA_D_QK, max_s,
                  (long long)max_s * MLA_D_QK, (long long)rows * MLA_D_QK, (long long)rows * max_s};
    return g;
}
/* O (row-major [rows, 512] = col-major 512 x rows) = V^T-view: A = first 512
 * columns of K [max_s, 576] (= col-major 512 x max_s, ld 576, op N), B = P
 * [rows, max_s] row-major (= col-major max_s x rows, op N). */
MLA_FN mla_gemm mla_cublas_pv(int rows, int max_s)
{
    mla_gemm g = {0, 0, MLA_D_V, rows, max_s, MLA_D_QK, max_s, MLA_D_V,
                  (long long)max_s * MLA_D_QK, (long long)rows * max_s, (long long)rows * MLA_D_V};
    return g;
}

/* Variable-length baseline (one GEMM per non-empty sequence, one cuBLAS
 * grouped call): sequence i keeps its keys at rows koff[i] .. of the gathered
 * K (koff = prefix sum of the page-rounded lengths ld_i = mla_cublas_ld(len_i))
 * and its scores at koff[i] * rows of S/P (row-major [rows, ld_i]).  The GEMMs
 * run over the real length len_i only (the rows past it are never read). */
MLA_FN int mla_cublas_ld(int len) { return (len + MLA_PAGE - 1) / MLA_PAGE * MLA_PAGE; }
/* S_i (col-major len x rows, ld ld_i) = K_i (op T of col-major 576 x len) Q_i. */
MLA_FN mla_gemm mla_cublas_qk_var(int rows, int len, int ld)
{
    mla_gemm g = {1, 0, len, rows, MLA_D_QK, MLA_D_QK, MLA_D_QK, ld, 0, 0, 0};
    return g;
}
/* O_i (col-major 512 x rows) = V_i (col-major 512 x len, ld 576) P_i^T
 * (col-major len x rows, ld ld_i). */
MLA_FN mla_gemm mla_cublas_pv_var(int rows, int len, int ld)
{
    mla_gemm g = {0, 0, MLA_D_V, rows, len, MLA_D_QK, ld, MLA_D_V, 0, 0, 0};
    return g;
}

/* What a cuBLAS baseline really executes for sequences of lengths lens[b],
 * rows = s_q*h_q query rows each: padded = every sequence computed at the
 * longest page-rounded length (strided batched), else each at its own length
 * (grouped).  flops: both GEMMs (2*rows*n*576 + 2*rows*n*512 per sequence of
 * n computed keys).  bytes (a model: every operand crosses HBM once, no cache
 * reuse): gather (cache pages read, tok_bytes per token, and written as BF16
 * K, 1152 B per stored row) when `gather`, QK^T (K read, q read, S written:
 * FP32 padded, BF16 varlen), softmax (S read, P written BF16), PV (V read,
 * 1024 B per key, P read, o written BF16). */
MLA_FN void mla_cublas_work(const int32_t *lens, int b, int rows, int padded, int gather, int tok_bytes,
                            double *flops, double *bytes)
{
    int max_ld = 0;
    for (int i = 0; i < b; i++) max_ld = mla_cublas_ld(lens[i]) > max_ld ? mla_cublas_ld(lens[i]) : max_ld;
    const double s_bytes = padded ? 4.0 : 2.0;
    double f = 0, by = 0;
    for (int i = 0; i < b; i++) {
        const double n = padded ? max_ld : lens[i], pages = mla_cublas_ld(lens[i]);
        if (gather) by += pages * tok_bytes + pages * 2.0 * MLA_D_QK;
        if (n == 0) { /* varlen, empty: no GEMM, the softmax kernel writes o = 0 */
            by += 2.0 * rows * MLA_D_V;
            continue;
        }
        f += 2.0 * rows * n * (MLA_D_QK + MLA_D_V);
        by += n * 2.0 * MLA_D_QK + 2.0 * rows * MLA_D_QK + rows * n * s_bytes; /* QK^T */
        by += rows * n * (s_bytes + 2.0);                                     /* softmax */
        by += n * 2.0 * MLA_D_V + rows * n * 2.0 + 2.0 * rows * MLA_D_V;     /* PV */
    }
    *flops = f;
    *bytes = by;
}

#endif
