/* test_mla_emu.c - host emulation of the MLA decode kernels' data movement
 * and math, using the kernels' own index/address code (kernels/mla_decode/
 * mla_layout.h), no GPU needed:
 *   1. v2: ldmatrix (.x4, .trans) and mma.sync m16n8k16 BF16 emulated per the
 *      PTX ISA fragment layouts; S = Q K^T and O = P V over a whole tile with
 *      the kernel's row addresses and fragment maps equal plain matmuls;
 *   2. v3: TMA SWIZZLE_128B box writes and wgmma SW128 descriptor reads
 *      (K-major Q/K/P, MN-major V) emulated; S = Q K^T and O = P V through the
 *      kernel's descriptors, the swizzled P store and the accumulator map
 *      equal plain matmuls; tensor-map and shared-memory constraints; the
 *      zero-fill of the NaN slots past the end of a last page; v2's skip of
 *      all-padding row tiles;
 *   3. the split-KV flash loop (tiles of 32 / 64 keys, causal limit,
 *      online-softmax rescaling, lse, partial slots) + the combine, driven by
 *      the packed schedule exactly as the kernels read it, against the CPU
 *      reference (s_q = 1 and 2, split and unsplit, an empty sequence, NaN in
 *      the cache slots past seqlen);
 *   4. the cuBLAS baselines' column-major GEMM parameters compute S = Q K^T
 *      and O = P V on row-major buffers (padded strided batched; varlen per
 *      sequence at compact offsets, never reading the rows past a length). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "bench/kb.h"
#include "kbtest.h"
#include "kernels/mla_decode/mla_decode.h"
#include "kernels/mla_decode/mla_layout.h"
#include "reference/mla_decode_cpu.h"

static uint16_t bf(float x) { return kb_f32_to_bf16(x); }
static float fb(uint16_t h) { return kb_bf16_to_f32(h); }
static uint32_t pack2(uint16_t lo, uint16_t hi) { return (uint32_t)lo | ((uint32_t)hi << 16); }
static float lo16(uint32_t r) { return fb((uint16_t)(r & 0xffffu)); }
static float hi16(uint32_t r) { return fb((uint16_t)(r >> 16)); }

/* small integers: every product and sum below is exact in FP32 */
static float small_int(kb_rng *r) { return (float)((int)(kb_rng_next(r) % 7) - 3); }

/* ------------------------------------------------------------------------ */
/* PTX emulation: ldmatrix.sync.aligned.m8n8.x4[.trans].shared.b16           */
/* Lanes 8j..8j+7 supply the row addresses of matrix j; register j of lane t */
/* holds row t/4, columns 2(t%4), 2(t%4)+1 of matrix j (.trans: column t/4,  */
/* rows 2(t%4), 2(t%4)+1).  Returns 0 if a row address is not 16-B aligned.  */
/* ------------------------------------------------------------------------ */
static int emu_ldsm_x4(const uint16_t *sm, size_t sm_len, const int addr[32], int trans, uint32_t out[32][4])
{
    for (int l = 0; l < 32; l++)
        if (addr[l] < 0 || addr[l] % 8 != 0 || (size_t)addr[l] + 8 > sm_len) return 0;
    for (int j = 0; j < 4; j++)
        for (int t = 0; t < 32; t++) {
            uint16_t e0, e1;
            if (!trans) {
                const int row = addr[8 * j + t / 4];
                e0 = sm[row + 2 * (t % 4)];
                e1 = sm[row + 2 * (t % 4) + 1];
            } else {
                e0 = sm[addr[8 * j + 2 * (t % 4)] + t / 4];
                e1 = sm[addr[8 * j + 2 * (t % 4) + 1] + t / 4];
            }
            out[t][j] = pack2(e0, e1);
        }
    return 1;
}

/* mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 over a warp:
 * a[t][0..3], b[t][0..1], c[t][0..3] per the PTX ISA fragment layouts
 * (g = t/4, q = t%4): a0 = A[g][2q..], a1 = A[g+8][2q..], a2 = A[g][2q+8..],
 * a3 = A[g+8][2q+8..]; b0 = B[2q..][g], b1 = B[2q+8..][g]; c0,c1 = C[g][2q..],
 * c2,c3 = C[g+8][2q..]. */
static void emu_mma(float c[32][4], const uint32_t a[32][4], const uint32_t b[32][2])
{
    float A[16][16], B[16][8];
    for (int t = 0; t < 32; t++) {
        const int g = t / 4, q = t % 4;
        A[g][2 * q] = lo16(a[t][0]);
        A[g][2 * q + 1] = hi16(a[t][0]);
        A[g + 8][2 * q] = lo16(a[t][1]);
        A[g + 8][2 * q + 1] = hi16(a[t][1]);
        A[g][2 * q + 8] = lo16(a[t][2]);
        A[g][2 * q + 9] = hi16(a[t][2]);
        A[g + 8][2 * q + 8] = lo16(a[t][3]);
        A[g + 8][2 * q + 9] = hi16(a[t][3]);
        B[2 * q][g] = lo16(b[t][0]);
        B[2 * q + 1][g] = hi16(b[t][0]);
        B[2 * q + 8][g] = lo16(b[t][1]);
        B[2 * q + 9][g] = hi16(b[t][1]);
    }
    for (int t = 0; t < 32; t++) {
        const int g = t / 4, q = t % 4;
        for (int e = 0; e < 4; e++) {
            const int r = g + 8 * (e >> 1), col = 2 * q + (e & 1);
            double s = c[t][e];
            for (int k = 0; k < 16; k++) s += (double)A[r][k] * B[k][col];
            c[t][e] = (float)s;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* 1. v2 tile: S = Q K^T and O = P V through the kernel's maps               */
/* ------------------------------------------------------------------------ */
static void test_v2_tile(void)
{
    const int R = MLA_V2_ROWS, T = MLA_V2_TK;
    const size_t qlen = (size_t)R * MLA_V2_QSTR, klen = (size_t)T * MLA_V2_QSTR, plen = (size_t)R * MLA_V2_PSTR;
    uint16_t *qs = calloc(qlen, 2), *kt = calloc(klen, 2), *ps = calloc(plen, 2);
    float *P = malloc(sizeof(float) * R * T);
    double *Sref = malloc(sizeof(double) * R * T), *Oref = malloc(sizeof(double) * R * MLA_D_V);
    int *seen_s = calloc((size_t)R * T, sizeof(int)), *seen_o = calloc((size_t)R * MLA_D_V, sizeof(int));
    kb_rng rng;
    kb_rng_seed(&rng, 1234);
    for (int r = 0; r < R; r++)
        for (int d = 0; d < MLA_D_QK; d++) qs[r * MLA_V2_QSTR + d] = bf(small_int(&rng));
    for (int t = 0; t < T; t++)
        for (int d = 0; d < MLA_D_QK; d++) kt[t * MLA_V2_QSTR + d] = bf(small_int(&rng));
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) {
            double s = 0;
            for (int d = 0; d < MLA_D_QK; d++) s += (double)fb(qs[r * MLA_V2_QSTR + d]) * fb(kt[t * MLA_V2_QSTR + d]);
            Sref[r * T + t] = s;
            P[r * T + t] = small_int(&rng);
        }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < MLA_D_V; c++) {
            double o = 0;
            for (int t = 0; t < T; t++) o += (double)P[r * T + t] * fb(kt[t * MLA_V2_QSTR + c]);
            Oref[r * MLA_D_V + c] = o;
        }
    int aligned = 1, s_bad = 0, o_bad = 0;
    for (int w = 0; w < 8; w++) {
        const int rt = w & 3, kh = w >> 2;
        /* ---- S (the kernel's k-loop) ---- */
        float s[2][32][4];
        memset(s, 0, sizeof s);
        for (int kk = 0; kk < MLA_D_QK / 16; kk++) {
            int qa[32], kb[32];
            uint32_t a[32][4], bq[32][4], b01[32][2], b23[32][2];
            for (int l = 0; l < 32; l++) {
                qa[l] = mla_v2_q_ldsm(rt, l, kk);
                kb[l] = mla_v2_k_ldsm(kh, l, kk);
            }
            aligned &= emu_ldsm_x4(qs, qlen, qa, 0, a);
            aligned &= emu_ldsm_x4(kt, klen, kb, 0, bq);
            for (int l = 0; l < 32; l++) {
                b01[l][0] = bq[l][0];
                b01[l][1] = bq[l][1];
                b23[l][0] = bq[l][2];
                b23[l][1] = bq[l][3];
            }
            emu_mma(s[0], a, b01);
            emu_mma(s[1], a, b23);
        }
        for (int l = 0; l < 32; l++)
            for (int n = 0; n < 2; n++)
                for (int e = 0; e < 4; e++) {
                    const int row = mla_v2_s_row(rt, l, e), key = mla_v2_s_key(kh, l, n, e);
                    if (row < 0 || row >= R || key < 0 || key >= T) { s_bad++; continue; }
                    seen_s[row * T + key]++;
                    if (s[n][l][e] != (float)Sref[row * T + key]) s_bad++;
                }
        /* ---- P store: registers hold P at the S fragment positions ---- */
        for (int l = 0; l < 32; l++)
            for (int n = 0; n < 2; n++)
                for (int h = 0; h < 2; h++) {
                    const int row = mla_v2_s_row(rt, l, 2 * h), col = mla_v2_s_key(kh, l, n, 0);
                    const float p0 = P[mla_v2_s_row(rt, l, 2 * h) * T + mla_v2_s_key(kh, l, n, 2 * h)];
                    const float p1 = P[mla_v2_s_row(rt, l, 2 * h + 1) * T + mla_v2_s_key(kh, l, n, 2 * h + 1)];
                    ps[mla_v2_p_off(row, col)] = bf(p0);     /* bfloat162 store: low half */
                    ps[mla_v2_p_off(row, col) + 1] = bf(p1); /* high half */
                }
    }
    /* every warp stored its P before any PV (the kernel's __syncthreads) */
    for (int w = 0; w < 8; w++) {
        const int rt = w & 3, kh = w >> 2;
        float acc[32][32][4]; /* [n][lane][e] */
        memset(acc, 0, sizeof acc);
        for (int ks = 0; ks < T / 16; ks++) {
            int pa[32];
            uint32_t a[32][4];
            for (int l = 0; l < 32; l++) pa[l] = mla_v2_p_ldsm(rt, l, ks);
            aligned &= emu_ldsm_x4(ps, plen, pa, 0, a);
            for (int np = 0; np < 16; np++) {
                int vb[32];
                uint32_t bq[32][4], b01[32][2], b23[32][2];
                for (int l = 0; l < 32; l++) vb[l] = mla_v2_v_ldsm(kh, l, ks, np);
                aligned &= emu_ldsm_x4(kt, klen, vb, 1, bq);
                for (int l = 0; l < 32; l++) {
                    b01[l][0] = bq[l][0];
                    b01[l][1] = bq[l][1];
                    b23[l][0] = bq[l][2];
                    b23[l][1] = bq[l][3];
                }
                emu_mma(acc[2 * np], a, b01);
                emu_mma(acc[2 * np + 1], a, b23);
            }
        }
        for (int l = 0; l < 32; l++)
            for (int n = 0; n < 32; n++)
                for (int e = 0; e < 4; e++) {
                    const int row = mla_v2_s_row(rt, l, e), col = mla_v2_o_col(kh, l, n, e);
                    if (row < 0 || row >= R || col < 0 || col >= MLA_D_V) { o_bad++; continue; }
                    seen_o[row * MLA_D_V + col]++;
                    if (acc[n][l][e] != (float)Oref[row * MLA_D_V + col]) o_bad++;
                }
    }
    int cover_s = 1, cover_o = 1;
    for (int i = 0; i < R * T; i++) cover_s &= seen_s[i] == 1;
    for (int i = 0; i < R * MLA_D_V; i++) cover_o &= seen_o[i] == 1;
    KBT_CHECK(aligned);
    KBT_CHECK(s_bad == 0);
    KBT_CHECK(cover_s);
    KBT_CHECK(o_bad == 0);
    KBT_CHECK(cover_o);
    if (s_bad || o_bad) printf("v2 tile: %d wrong S, %d wrong O elements\n", s_bad, o_bad);
    /* padded rows: 16-B aligned rows, odd number of 16-B units (bank spread) */
    KBT_CHECK((MLA_V2_QSTR * 2) % 16 == 0 && ((MLA_V2_QSTR * 2 / 16) & 1) == 1);
    KBT_CHECK((MLA_V2_PSTR * 2) % 16 == 0 && ((MLA_V2_PSTR * 2 / 16) & 1) == 1);
    free(qs); free(kt); free(ps); free(P); free(Sref); free(Oref); free(seen_s); free(seen_o);
}

/* v2 FP8 KV: dequant_tile's chunk addressing (the raw tokens of a 32-key tile
 * are contiguous 656-byte rows) and its byte order (uint2 little-endian load,
 * 16-bit pairs, cvt.rn.f16x2.e4m3x2 puts the low byte in the low half,
 * bfloat162 low half first) give K[key][d] = e4m3(tok[d]) * scale[d / 128]
 * (rounded to BF16) and the rope copied, as mla_cpu_load_token. */
static void test_v2_fp8_dequant(void)
{
    const int T = MLA_V2_TK;
    uint8_t *raw = malloc((size_t)T * MLA_FP8_TOKEN_BYTES);
    uint16_t *kt = calloc((size_t)T * MLA_V2_QSTR, 2);
    kb_rng rng;
    kb_rng_seed(&rng, 4242);
    for (int key = 0; key < T; key++) {
        uint8_t *tok = raw + (size_t)key * MLA_FP8_TOKEN_BYTES;
        for (int d = 0; d < MLA_D_V; d++) {
            uint8_t x = (uint8_t)(kb_rng_next(&rng) & 0xff);
            if ((x & 0x7f) == 0x7f) x ^= 1; /* no NaN */
            tok[d] = x;
        }
        for (int g = 0; g < 4; g++) {
            const float sc = (float)(0.001 + 0.01 * kb_rng_uniform(&rng)) * (float)(g + 1);
            memcpy(tok + MLA_FP8_SCALE_OFF + 4 * g, &sc, 4);
        }
        for (int d = 0; d < 64; d++) {
            const uint16_t r = bf((float)(2 * kb_rng_uniform(&rng) - 1));
            memcpy(tok + MLA_FP8_ROPE_OFF + 2 * d, &r, 2);
        }
    }
    int aligned = MLA_FP8_TOKEN_BYTES % 16 == 0, bad = 0;
    for (int key = 0; key < T; key++) {
        const uint8_t *tok = raw + (size_t)key * MLA_FP8_TOKEN_BYTES;
        for (int c = 0; c < MLA_D_QK / 8; c++) {
            uint16_t out[8];
            const int src = mla_fp8_chunk_src(c);
            if (!mla_fp8_chunk_is_rope(c)) {
                const int so = mla_fp8_chunk_scale(c);
                aligned &= src % 8 == 0 && so % 4 == 0;
                float sc;
                memcpy(&sc, tok + so, 4);
                const uint32_t vx = (uint32_t)tok[src] | (uint32_t)tok[src + 1] << 8 | (uint32_t)tok[src + 2] << 16 |
                                    (uint32_t)tok[src + 3] << 24;
                const uint32_t vy = (uint32_t)tok[src + 4] | (uint32_t)tok[src + 5] << 8 |
                                    (uint32_t)tok[src + 6] << 16 | (uint32_t)tok[src + 7] << 24;
                const uint32_t w[4] = {vx & 0xffffu, vx >> 16, vy & 0xffffu, vy >> 16};
                for (int j = 0; j < 4; j++) {
                    out[2 * j] = bf(kb_e4m3_to_f32((uint8_t)(w[j] & 0xff)) * sc);
                    out[2 * j + 1] = bf(kb_e4m3_to_f32((uint8_t)(w[j] >> 8)) * sc);
                }
            } else {
                aligned &= src % 16 == 0;
                memcpy(out, tok + src, 16);
            }
            memcpy(kt + key * MLA_V2_QSTR + c * 8, out, 16);
        }
        double k[MLA_D_QK];
        mla_cpu_load_token(tok, 1, k);
        for (int d = 0; d < MLA_D_QK; d++) {
            const double g = fb(kt[key * MLA_V2_QSTR + d]);
            if (!(fabs(g - k[d]) <= fabs(k[d]) * (1.0 / 256))) bad++;
        }
    }
    KBT_CHECK(aligned);
    KBT_CHECK(bad == 0);
    if (bad) printf("fp8 dequant: %d wrong values\n", bad);
    free(raw);
    free(kt);
}

/* ------------------------------------------------------------------------ */
/* 2. v3: TMA SW128 writes vs wgmma SW128 descriptor reads                   */
/* ------------------------------------------------------------------------ */
#define SM_BASE 1024u /* shared address of the kernel's 1024-aligned smem base */
static uint8_t *g_sm;
static size_t g_sm_len;
static int g_emu_ok = 1;

static uint32_t sw128(uint32_t a) { return a ^ (((a >> 7) & 7u) << 4); }
static uint16_t sm_rd16(uint32_t addr)
{
    if (addr < SM_BASE || addr - SM_BASE + 2 > g_sm_len || (addr & 1)) { g_emu_ok = 0; return 0; }
    uint16_t v;
    memcpy(&v, g_sm + (addr - SM_BASE), 2);
    return v;
}
static void sm_wr16(uint32_t addr, uint16_t v)
{
    if (addr < SM_BASE || addr - SM_BASE + 2 > g_sm_len || (addr & 1)) { g_emu_ok = 0; return; }
    memcpy(g_sm + (addr - SM_BASE), &v, 2);
}

/* cp.async.bulk.tensor.2d ... tile, SWIZZLE_128B: box of BOX_ROWS rows x
 * BOX_INNER BF16 from a row-major global matrix (rows x 576, zero fill out of
 * bounds) to shared address dst.  The box row pitch in smem is the inner box
 * size (128 B); the 16-B chunk index of each 128-B row is XORed with the row
 * index mod 8; dst must be 1024-B aligned for SWIZZLE_128B. */
static void emu_tma_box(uint32_t dst, const uint16_t *g, int grows, int c0, int r0)
{
    if (dst % 1024 != 0) g_emu_ok = 0;
    for (int r = 0; r < MLA_V3_TMAP_BOX_ROWS; r++)
        for (int c = 0; c < MLA_V3_TMAP_BOX_INNER; c++) {
            const int gr = r0 + r, gc = c0 + c;
            const uint16_t v = (gr < grows && gc < MLA_D_QK) ? g[(size_t)gr * MLA_D_QK + gc] : 0;
            sm_wr16(dst + sw128((uint32_t)(r * MLA_V3_TMAP_BOX_INNER * 2 + c * 2)), v);
        }
}

/* Read element (mn, k) / (k, mn) of a wgmma shared-memory operand through its
 * descriptor (PTX ISA canonical layouts, 128B swizzle, base offset 0). */
static int desc_check(uint64_t d)
{
    const uint32_t start = (uint32_t)(d & 0x3FFF) << 4;
    return (d >> 62) == 1 && ((d >> 49) & 7) == 0 && ((start >> 7) & 7) == 0; /* base offset 0 needs this */
}
static uint16_t desc_kmajor(uint64_t d, int mn, int k)
{
    const uint32_t start = (uint32_t)(d & 0x3FFF) << 4, sbo = (uint32_t)((d >> 32) & 0x3FFF) << 4;
    /* ((8,m),(T,2k)):((8T,SBO),(1,T)) */
    return sm_rd16(sw128(start + (uint32_t)(mn / 8) * sbo + (uint32_t)(mn % 8) * 128 + (uint32_t)k * 2));
}
static uint16_t desc_mnmajor(uint64_t d, int k, int mn)
{
    const uint32_t start = (uint32_t)(d & 0x3FFF) << 4, lbo = (uint32_t)((d >> 16) & 0x3FFF) << 4,
                   sbo = (uint32_t)((d >> 32) & 0x3FFF) << 4;
    /* ((T,8,m),(8,k)):((1,T,LBO),(8T,SBO)) */
    return sm_rd16(sw128(start + (uint32_t)(mn / 64) * lbo + (uint32_t)(mn % 64) * 2 + (uint32_t)(k / 8) * sbo +
                         (uint32_t)(k % 8) * 128));
}
/* wgmma.mma_async m64nNk16 f32.bf16.bf16, A and B from shared memory:
 * D[64][N] += A[64][16] * B[16][N]; trans_b = 1: B is MN-major. */
static void emu_wgmma(float *D, int N, uint64_t da, uint64_t db, int trans_b)
{
    if (!desc_check(da) || !desc_check(db)) g_emu_ok = 0;
    float A[64][16];
    for (int m = 0; m < 64; m++)
        for (int k = 0; k < 16; k++) A[m][k] = fb(desc_kmajor(da, m, k));
    for (int n = 0; n < N; n++) {
        float B[16];
        for (int k = 0; k < 16; k++) B[k] = fb(trans_b ? desc_mnmajor(db, k, n) : desc_kmajor(db, n, k));
        for (int m = 0; m < 64; m++) {
            double s = D[m * N + n];
            for (int k = 0; k < 16; k++) s += (double)A[m][k] * B[k];
            D[m * N + n] = (float)s;
        }
    }
}

static void test_v3_tile(void)
{
    /* constraints: cuTensorMapEncodeTiled (global stride multiple of 16 B,
     * box inner bytes <= the 128-B swizzle span, box dims <= 256), smem
     * tiles 1024-B aligned, expect_tx = the bytes of the boxes, <= 227 KB */
    KBT_CHECK(MLA_V3_TMAP_GSTRIDE % 16 == 0);
    KBT_CHECK(MLA_V3_TMAP_BOX_INNER * 2 <= MLA_V3_SW128_SPAN);
    KBT_CHECK((MLA_V3_TMAP_BOX_INNER * 2) % 16 == 0);
    KBT_CHECK(MLA_V3_TMAP_BOX_INNER <= 256 && MLA_V3_TMAP_BOX_ROWS <= 256);
    KBT_CHECK(MLA_V3_TMAP_BOX_INNER * MLA_V3_TMAP_BOX_ROWS * 2 == MLA_V3_BOX);
    KBT_CHECK(MLA_V3_NBOX * MLA_V3_TMAP_BOX_INNER == MLA_D_QK);
    KBT_CHECK(MLA_V3_TILE == MLA_V3_NBOX * MLA_V3_BOX); /* expect_tx of a Q tile / page */
    KBT_CHECK(MLA_V3_TMAP_BOX_ROWS == MLA_PAGE);
    KBT_CHECK(MLA_V3_OFF_KV % 1024 == 0 && MLA_V3_OFF_P % 1024 == 0 && MLA_V3_TILE % 1024 == 0);
    KBT_CHECK(MLA_V3_OFF_BAR % 8 == 0);
    KBT_CHECK(MLA_V3_SMEM_BYTES <= 227 * 1024);

    const int N_ROWS = 64;
    g_sm_len = MLA_V3_SMEM_USED;
    g_sm = calloc(g_sm_len, 1);
    uint16_t *q = malloc((size_t)N_ROWS * MLA_D_QK * 2), *kv = malloc((size_t)2 * MLA_PAGE * MLA_D_QK * 2);
    float *P = malloc(sizeof(float) * 64 * 64);
    kb_rng rng;
    kb_rng_seed(&rng, 99);
    for (int i = 0; i < N_ROWS * MLA_D_QK; i++) q[i] = bf(small_int(&rng));
    for (int i = 0; i < 2 * MLA_PAGE * MLA_D_QK; i++) kv[i] = bf(small_int(&rng));
    for (int i = 0; i < 64 * 64; i++) P[i] = small_int(&rng);
    /* the kernel's TMA issue: Q tile, and page 1 of a 2-page cache into stage 1 */
    const int st = 1, page = 1;
    for (int c = 0; c < MLA_V3_NBOX; c++) {
        emu_tma_box(SM_BASE + MLA_V3_OFF_Q + (uint32_t)mla_v3_box_dst(c), q, N_ROWS, mla_v3_box_col(c), 0);
        emu_tma_box(SM_BASE + MLA_V3_OFF_KV + (uint32_t)(st * MLA_V3_TILE + mla_v3_box_dst(c)), kv, 2 * MLA_PAGE,
                    mla_v3_box_col(c), page * MLA_PAGE);
    }
    const uint16_t *K = kv + (size_t)page * MLA_PAGE * MLA_D_QK;
    const uint32_t qs = SM_BASE + MLA_V3_OFF_Q, kvs = SM_BASE + MLA_V3_OFF_KV + st * MLA_V3_TILE,
                   pss = SM_BASE + MLA_V3_OFF_P;
    int s_bad = 0, o_bad = 0, cover = 1;
    int *seen = calloc(64 * 256, sizeof(int));
    for (int wg = 0; wg < 2; wg++) {
        /* S_wg [64 x 32] */
        float S[64 * 32];
        memset(S, 0, sizeof S);
        for (int kk = 0; kk < MLA_D_QK / 16; kk++)
            emu_wgmma(S, 32, mla_desc_encode(qs + (uint32_t)mla_v3_q_desc_off(kk), MLA_V3_KMAJ_LBO, MLA_V3_KMAJ_SBO),
                      mla_desc_encode(kvs + (uint32_t)mla_v3_k_desc_off(wg, kk), MLA_V3_KMAJ_LBO, MLA_V3_KMAJ_SBO), 0);
        for (int r = 0; r < 64; r++)
            for (int n = 0; n < 32; n++) {
                double s = 0;
                for (int d = 0; d < MLA_D_QK; d++)
                    s += (double)fb(q[r * MLA_D_QK + d]) * fb(K[(size_t)(32 * wg + n) * MLA_D_QK + d]);
                if (S[r * 32 + n] != (float)s) s_bad++;
            }
        /* P store from the registers (accumulator map of S), as the kernel */
        for (int t = 0; t < 128; t++)
            for (int i = 0; i < 4; i++)
                for (int h = 0; h < 2; h++) {
                    const int r = mla_wg_acc_row(t, 2 * h), key = 32 * wg + mla_wg_acc_col(t, i, 0);
                    const float p0 = P[mla_wg_acc_row(t, 2 * h) * 64 + 32 * wg + mla_wg_acc_col(t, i, 2 * h)];
                    const float p1 = P[mla_wg_acc_row(t, 2 * h + 1) * 64 + 32 * wg + mla_wg_acc_col(t, i, 2 * h + 1)];
                    const uint32_t a = pss + (uint32_t)mla_v3_p_store_off(r, key);
                    if (a % 4) g_emu_ok = 0; /* bfloat162 store alignment */
                    sm_wr16(a, bf(p0));
                    sm_wr16(a + 2, bf(p1));
                }
    }
    for (int wg = 0; wg < 2; wg++) {
        float *O = calloc(64 * 256, sizeof(float));
        for (int ks = 0; ks < MLA_PAGE / 16; ks++)
            emu_wgmma(O, 256, mla_desc_encode(pss + (uint32_t)mla_v3_p_desc_off(ks), MLA_V3_KMAJ_LBO, MLA_V3_KMAJ_SBO),
                      mla_desc_encode(kvs + (uint32_t)mla_v3_v_desc_off(wg, ks), MLA_V3_MN_LBO, MLA_V3_MN_SBO), 1);
        /* accumulator registers -> (row, column) as the kernel's epilogue */
        memset(seen, 0, 64 * 256 * sizeof(int));
        for (int t = 0; t < 128; t++)
            for (int i = 0; i < 32; i++)
                for (int e = 0; e < 4; e++) {
                    const int r = mla_wg_acc_row(t, e), c = mla_wg_acc_col(t, i, e);
                    if (r < 0 || r >= 64 || c < 0 || c >= 256) { o_bad++; continue; }
                    seen[r * 256 + c]++;
                    double o = 0;
                    for (int key = 0; key < 64; key++)
                        o += (double)P[r * 64 + key] * fb(K[(size_t)key * MLA_D_QK + 256 * wg + c]);
                    if (O[r * 256 + c] != (float)o) o_bad++;
                }
        for (int i = 0; i < 64 * 256; i++) cover &= seen[i] == 1;
        free(O);
    }
    KBT_CHECK(g_emu_ok);
    KBT_CHECK(s_bad == 0);
    KBT_CHECK(o_bad == 0);
    KBT_CHECK(cover);
    if (s_bad || o_bad) printf("v3 tile: %d wrong S, %d wrong O elements\n", s_bad, o_bad);
    free(seen); free(q); free(kv); free(P); free(g_sm);
    g_sm = NULL;
}

/* v3 tail zero-fill: a page whose slots past the segment's end hold NaN is
 * TMA'd in, the kernel's chunk offsets clear the tail, then every K element
 * (K-major descriptors of S = Q K^T) and V element (MN-major descriptors of
 * O = P V) read through the kernel's descriptors is the cache value for keys
 * < end and exactly 0 past it. */
static int v3_tail_case(int t0, int end)
{
    const uint16_t NAN_BF16 = 0x7fc0;
    uint16_t *kv = malloc((size_t)MLA_PAGE * MLA_D_QK * 2);
    kb_rng rng;
    kb_rng_seed(&rng, (uint64_t)(end - t0 + 1000));
    for (int key = 0; key < MLA_PAGE; key++)
        for (int d = 0; d < MLA_D_QK; d++)
            kv[key * MLA_D_QK + d] = mla_key_loaded(t0 + key, end) ? bf(small_int(&rng) + 0.5f) : NAN_BF16;
    memset(g_sm, 0xff, g_sm_len);
    const uint32_t kvs = SM_BASE + MLA_V3_OFF_KV;
    for (int c = 0; c < MLA_V3_NBOX; c++) emu_tma_box(kvs + (uint32_t)mla_v3_box_dst(c), kv, MLA_PAGE, mla_v3_box_col(c), 0);
    /* the kernel's zero-fill: NBOX * tail_rows * 8 chunks of 16 B, each once */
    const int n = MLA_V3_NBOX * mla_v3_tail_rows(t0, end) * 8;
    int bad = 0;
    unsigned char *hit = calloc(MLA_V3_TILE / 16, 1);
    for (int i = 0; i < n; i++) {
        const int off = mla_v3_tail_chunk_off(t0, end, i);
        if (off < 0 || off + 16 > MLA_V3_TILE || off % 16 || hit[off / 16]++) { bad++; continue; }
        for (int b = 0; b < 16; b += 2) sm_wr16(kvs + (uint32_t)off + (uint32_t)b, 0);
    }
    for (int wg = 0; wg < 2; wg++) {
        for (int kk = 0; kk < MLA_D_QK / 16; kk++) {
            const uint64_t d = mla_desc_encode(kvs + (uint32_t)mla_v3_k_desc_off(wg, kk), MLA_V3_KMAJ_LBO, MLA_V3_KMAJ_SBO);
            for (int nn = 0; nn < 32; nn++)
                for (int k = 0; k < 16; k++) {
                    const int key = 32 * wg + nn, col = 16 * kk + k;
                    const uint16_t want = mla_key_loaded(t0 + key, end) ? kv[key * MLA_D_QK + col] : 0;
                    bad += desc_kmajor(d, nn, k) != want;
                }
        }
        for (int ks = 0; ks < MLA_PAGE / 16; ks++) {
            const uint64_t d = mla_desc_encode(kvs + (uint32_t)mla_v3_v_desc_off(wg, ks), MLA_V3_MN_LBO, MLA_V3_MN_SBO);
            for (int k = 0; k < 16; k++)
                for (int mn = 0; mn < 256; mn++) {
                    const int key = 16 * ks + k, col = 256 * wg + mn;
                    const uint16_t want = mla_key_loaded(t0 + key, end) ? kv[key * MLA_D_QK + col] : 0;
                    bad += desc_mnmajor(d, k, mn) != want;
                }
        }
    }
    free(hit);
    free(kv);
    return bad;
}

static void test_v3_tail(void)
{
    g_sm_len = MLA_V3_SMEM_USED;
    g_sm = calloc(g_sm_len, 1);
    g_emu_ok = 1;
    /* rows to clear: end - t0 = 1 -> 63, 37 -> 27, 63 -> 1, >= 64 -> none */
    KBT_CHECK(mla_v3_tail_rows(128, 129) == 63 && mla_v3_tail_rows(128, 165) == 27);
    KBT_CHECK(mla_v3_tail_rows(0, 63) == 1 && mla_v3_tail_rows(0, 64) == 0 && mla_v3_tail_rows(0, 300) == 0);
    KBT_CHECK(v3_tail_case(128, 129) == 0);
    KBT_CHECK(v3_tail_case(64, 101) == 0);
    KBT_CHECK(v3_tail_case(0, 63) == 0);
    KBT_CHECK(v3_tail_case(192, 256) == 0); /* full page: nothing cleared, nothing NaN */
    KBT_CHECK(g_emu_ok);
    free(g_sm);
    g_sm = NULL;
}

/* v2: a warp skips its MMAs when its 16-row tile is all padding; every real
 * row must still be in a live tile, and no padding-only tile may run. */
static void test_v2_live_tiles(void)
{
    static const int nrows_cases[] = {16, 32, 48, 64, 80, 128, 256, 17};
    int bad = 0, live_total = 0;
    for (size_t c = 0; c < sizeof nrows_cases / sizeof nrows_cases[0]; c++) {
        const int nrows = nrows_cases[c], groups = (nrows + MLA_V2_ROWS - 1) / MLA_V2_ROWS;
        for (int grp = 0; grp < groups; grp++)
            for (int rt = 0; rt < 4; rt++) {
                int real = 0;
                for (int r = 0; r < 16; r++) real += grp * MLA_V2_ROWS + rt * 16 + r < nrows;
                bad += (real > 0) != mla_v2_tile_live(rt, grp, nrows);
                live_total += mla_v2_tile_live(rt, grp, nrows);
            }
    }
    KBT_CHECK(bad == 0);
    /* by hand: 1 + 2 + 3 + 4 + (4 + 1) + 8 + 16 + 2 live tiles */
    KBT_CHECK(live_total == 41);
    /* s_q*h_q = 16 (the case): 1 live tile of 4 */
    KBT_CHECK(mla_v2_tile_live(0, 0, 16) && !mla_v2_tile_live(1, 0, 16) && !mla_v2_tile_live(3, 0, 16));
}

/* ------------------------------------------------------------------------ */
/* 3. split-KV flash loop + combine vs the CPU reference                    */
/* ------------------------------------------------------------------------ */
typedef struct emu_out {
    float *o;      /* [b, rows, 512] (bf16-rounded values) */
    float *lse;    /* [b, h_q, s_q] */
    float *o_acc;  /* [slots, rows, 512] */
    float *lse_acc;
} emu_out;

/* One CTA column's segment, as v2 (tk = 32) / v3 (tk = 64) run it for every
 * query row: scores in FP32 from BF16 inputs, masked by the causal limit, the
 * online softmax of mla_layout.h, P rounded to BF16 for P V. */
static void emu_segment(const uint16_t *q, const uint16_t *cache, const int32_t *bt_row, int bi, int begin, int end,
                        int slot, int len, int s_q, int h_q, float scale, int tk, emu_out *out)
{
    const int nrows = s_q * h_q;
    const float scale_log2 = scale * 1.4426950408889634f;
    float *acc = malloc(sizeof(float) * MLA_D_V), *s = malloc(sizeof(float) * (size_t)tk);
    static const uint16_t zero_key[MLA_D_QK]; /* a zero-filled shared-memory row */
    for (int R = 0; R < nrows; R++) {
        const uint16_t *qr = q + ((size_t)bi * nrows + R) * MLA_D_QK;
        const int limit = mla_row_limit(R, nrows, h_q, s_q, len, end);
        float m = -INFINITY, l = 0.f;
        for (int d = 0; d < MLA_D_V; d++) acc[d] = 0.f;
        for (int t0 = begin; t0 < end; t0 += tk) {
            float mx = -INFINITY;
            for (int j = 0; j < tk; j++) {
                const int t = t0 + j;
                /* keys past `end` inside the page (NaN-poisoned slots past
                 * seqlen in run_split) are zero-filled, as the kernels do */
                const uint16_t *k = mla_key_loaded(t, end) ? mla_cpu_token_ptr(cache, 0, bt_row, t) : zero_key;
                float dot = 0.f;
                for (int d = 0; d < MLA_D_QK; d++) dot += fb(qr[d]) * fb(k[d]);
                s[j] = mla_masked_score(dot, t, limit, scale_log2);
                mx = fmaxf(mx, s[j]);
            }
            float m_use;
            const float alpha = mla_softmax_rescale(&m, mx, &m_use);
            float sum = 0.f;
            for (int d = 0; d < MLA_D_V; d++) acc[d] *= alpha;
            for (int j = 0; j < tk; j++) {
                const float p = exp2f(s[j] - m_use);
                sum += p;
                const float pb = fb(bf(p));
                const uint16_t *k = mla_key_loaded(t0 + j, end) ? mla_cpu_token_ptr(cache, 0, bt_row, t0 + j) : zero_key;
                for (int d = 0; d < MLA_D_V; d++) acc[d] += pb * fb(k[d]);
            }
            l = l * alpha + sum;
        }
        const float inv = l > 0.f ? 1.f / l : 0.f;
        const float lse = mla_lse_nat(m, l);
        if (slot < 0) {
            for (int d = 0; d < MLA_D_V; d++)
                out->o[((size_t)bi * nrows + R) * MLA_D_V + d] = fb(bf(acc[d] * inv));
            out->lse[mla_lse_index(bi, h_q, s_q, R)] = lse;
        } else {
            for (int d = 0; d < MLA_D_V; d++) out->o_acc[mla_accum_row(slot, nrows, R) * MLA_D_V + d] = acc[d] * inv;
            out->lse_acc[mla_accum_row(slot, nrows, R)] = lse;
        }
    }
    free(acc);
    free(s);
}

/* The combine kernel's math per (sequence, row), reading the packed schedule. */
static void emu_combine(const int32_t *packed, int num_parts, int num_segs, int b, int s_q, int h_q, emu_out *out)
{
    const int rows = s_q * h_q;
    const int32_t *split_off = mla_packed_split_off(packed, num_parts, num_segs);
    const int32_t *n_split = mla_packed_n_split(packed, num_parts, num_segs, b);
    for (int bi = 0; bi < b; bi++)
        for (int row = 0; row < rows; row++) {
            const int n = n_split[bi];
            if (n == 1) continue;
            const int off = split_off[bi];
            const float tot = mla_combine_lse(n, out->lse_acc + mla_accum_row(off, rows, row), (size_t)rows);
            for (int d = 0; d < MLA_D_V; d++) {
                float acc = 0.f;
                for (int i = 0; i < n; i++) {
                    const float l = out->lse_acc[mla_accum_row(off + i, rows, row)];
                    if (l == -INFINITY) continue;
                    acc += mla_combine_weight(l, tot) * out->o_acc[mla_accum_row(off + i, rows, row) * MLA_D_V + d];
                }
                out->o[((size_t)bi * rows + row) * MLA_D_V + d] = fb(bf(acc));
            }
            out->lse[mla_lse_index(bi, h_q, s_q, row)] = tot;
        }
}

/* Runs the whole split-KV decode on the host for one problem and compares
 * with mla_decode_cpu.  Returns the number of mismatching rows. */
static int run_split(const int32_t *lens, int b, int s_q, int h_q, int num_parts, int tk, int *n_split_seqs)
{
    const int rows = s_q * h_q;
    const float scale = 0.0417f;
    int max_blocks = 1, nblocks = 0;
    for (int i = 0; i < b; i++) {
        const int np = (lens[i] + MLA_PAGE - 1) / MLA_PAGE;
        if (np > max_blocks) max_blocks = np;
        nblocks += np;
    }
    if (nblocks == 0) nblocks = 1;
    /* shuffled pages: page ids assigned in reverse, interleaved */
    int32_t *bt = calloc((size_t)b * max_blocks, sizeof(int32_t));
    for (int i = 0, k = 0; i < b; i++)
        for (int p = 0; p < (lens[i] + MLA_PAGE - 1) / MLA_PAGE; p++, k++)
            bt[(size_t)i * max_blocks + p] = (k * 7 + 3) % nblocks; /* nblocks not a multiple of 7 below */
    uint16_t *cache = malloc((size_t)nblocks * MLA_PAGE * MLA_D_QK * 2);
    uint16_t *q = malloc((size_t)b * rows * MLA_D_QK * 2);
    kb_rng rng;
    kb_rng_seed(&rng, (uint64_t)(b * 131 + s_q * 17 + h_q + num_parts * 1009 + tk));
    for (size_t i = 0; i < (size_t)nblocks * MLA_PAGE * MLA_D_QK; i++) cache[i] = bf((float)(2 * kb_rng_uniform(&rng) - 1));
    for (size_t i = 0; i < (size_t)b * rows * MLA_D_QK; i++) q[i] = bf((float)(4 * kb_rng_uniform(&rng) - 2));
    /* the slots past seqlen in each last page hold NaN (as in serving, and as
     * the op's setup poisons them): P = 0 there must not meet 0 * NaN */
    for (int i = 0; i < b; i++)
        for (int t = lens[i]; t % MLA_PAGE; t++) {
            uint16_t *k = (uint16_t *)mla_cpu_token_ptr(cache, 0, bt + (size_t)i * max_blocks, t);
            for (int d = 0; d < MLA_D_QK; d++) k[d] = 0x7fc0;
        }

    mla_sched sc;
    int bad = 0;
    if (mla_sched_build(&sc, lens, b, num_parts) != 0) return 1000;
    int32_t *packed = malloc(mla_sched_packed_len(&sc) * sizeof(int32_t));
    mla_sched_pack(&sc, packed);
    *n_split_seqs = 0;
    for (int i = 0; i < b; i++) *n_split_seqs += sc.n_split[i] > 1;
    emu_out out;
    const size_t slots = sc.num_slots > 0 ? (size_t)sc.num_slots : 1;
    out.o = malloc(sizeof(float) * (size_t)b * rows * MLA_D_V);
    out.lse = malloc(sizeof(float) * (size_t)b * rows);
    out.o_acc = malloc(sizeof(float) * slots * rows * MLA_D_V);
    out.lse_acc = malloc(sizeof(float) * slots * rows);
    for (size_t i = 0; i < (size_t)b * rows * MLA_D_V; i++) out.o[i] = NAN; /* poison */
    for (size_t i = 0; i < (size_t)b * rows; i++) out.lse[i] = NAN;
    for (size_t i = 0; i < slots * rows * MLA_D_V; i++) out.o_acc[i] = NAN;
    for (size_t i = 0; i < slots * rows; i++) out.lse_acc[i] = NAN;

    /* the kernels: CTA column p runs segments part_off[p] .. part_off[p+1] */
    const int32_t *segs = mla_packed_segs(packed, sc.num_parts);
    for (int p = 0; p < sc.num_parts; p++)
        for (int g = packed[p]; g < packed[p + 1]; g++) {
            const int bi = segs[4 * g], begin = segs[4 * g + 1], end = segs[4 * g + 2], slot = segs[4 * g + 3];
            emu_segment(q, cache, bt + (size_t)bi * max_blocks, bi, begin, end, slot, lens[bi], s_q, h_q, scale, tk,
                        &out);
        }
    emu_combine(packed, sc.num_parts, sc.num_segs, b, s_q, h_q, &out);

    double *ref_o = malloc(sizeof(double) * (size_t)b * rows * MLA_D_V), *ref_lse = malloc(sizeof(double) * (size_t)b * rows);
    mla_decode_cpu(q, cache, 0, bt, max_blocks, lens, b, s_q, h_q, scale, ref_o, ref_lse);
    double got[MLA_D_V];
    for (int bi = 0; bi < b; bi++)
        for (int R = 0; R < rows; R++) {
            const size_t row = (size_t)bi * rows + R;
            int ok = 1, zero_ref = 1;
            for (int d = 0; d < MLA_D_V; d++) {
                got[d] = out.o[row * MLA_D_V + d];
                ok &= isfinite(got[d]);
                zero_ref &= ref_o[row * MLA_D_V + d] == 0;
            }
            const double rl = ref_lse[mla_lse_index(bi, h_q, s_q, R)], gl = out.lse[mla_lse_index(bi, h_q, s_q, R)];
            if (zero_ref) { /* no visible key: o = 0, lse = -inf */
                for (int d = 0; d < MLA_D_V; d++) ok &= got[d] == 0;
                ok &= rl == -INFINITY && gl == -INFINITY;
            } else {
                /* direction (cosine) and scale (max error vs the row's max |o|:
                 * the cosine alone misses a wrong normalisation) */
                double mx = 0, err = 0;
                for (int d = 0; d < MLA_D_V; d++) {
                    mx = fmax(mx, fabs(ref_o[row * MLA_D_V + d]));
                    err = fmax(err, fabs(got[d] - ref_o[row * MLA_D_V + d]));
                }
                ok &= err <= 1e-2 * mx;
                ok &= kb_cos_diff(got, ref_o + row * MLA_D_V, MLA_D_V) < 1e-5;
                ok &= fabs(gl - rl) / (1.0 + 1e-2 * fabs(rl)) <= 1e-3;
            }
            if (!ok && bad < 3)
                printf("split emu mismatch: b=%d s_q=%d h_q=%d parts=%d tk=%d: seq %d row %d (lse %g vs %g)\n", b, s_q,
                       h_q, num_parts, tk, bi, R, gl, rl);
            bad += !ok;
        }
    free(ref_o); free(ref_lse);
    free(out.o); free(out.lse); free(out.o_acc); free(out.lse_acc);
    free(packed);
    mla_sched_free(&sc);
    free(bt); free(cache); free(q);
    return bad;
}

static void test_split_flash(void)
{
    /* lengths: partial last pages, a one-page sequence, s_q-sized, empty */
    const int32_t lens_a[5] = {300, 65, 64, 130, 2};
    const int32_t lens_b[4] = {257, 0, 33, 190};
    int nsplit = 0;
    /* v2 (32-key tiles) and v3 (64-key pages), s_q = 1 and 2, many parts (splits) and one part */
    KBT_CHECK(run_split(lens_a, 5, 2, 16, 9, MLA_V2_TK, &nsplit) == 0);
    KBT_CHECK(nsplit > 0);
    KBT_CHECK(run_split(lens_a, 5, 2, 16, 9, MLA_PAGE, &nsplit) == 0);
    KBT_CHECK(run_split(lens_a, 5, 1, 16, 9, MLA_V2_TK, &nsplit) == 0);
    KBT_CHECK(run_split(lens_a, 5, 2, 4, 1, MLA_V2_TK, &nsplit) == 0);
    KBT_CHECK(nsplit == 0);
    KBT_CHECK(run_split(lens_b, 4, 2, 8, 20, MLA_PAGE, &nsplit) == 0);
    KBT_CHECK(nsplit > 0);
    /* one long sequence cut into many one-page segments */
    const int32_t lens_c[1] = {64 * 9 + 5};
    KBT_CHECK(run_split(lens_c, 1, 2, 4, 40, MLA_V2_TK, &nsplit) == 0);
    KBT_CHECK(nsplit == 1);
    /* one-page segments: the last segment [64, 65) holds no key query 0 of
     * s_q = 2 may see (a partial with lse = -inf, every tile fully masked) */
    const int32_t lens_d[2] = {65, 129};
    KBT_CHECK(run_split(lens_d, 2, 2, 4, 40, MLA_PAGE, &nsplit) == 0);
    KBT_CHECK(nsplit == 2);
    KBT_CHECK(run_split(lens_d, 2, 2, 4, 40, MLA_V2_TK, &nsplit) == 0);
    /* the op's SMALL shapes with their real lengths and an H100's CTA columns
     * (132 SMs / row groups of 64, as bench/ops/op_mla_decode.c) */
    int32_t lens_e[4];
    mla_decode_gen_seqlens(2, 200, 2, 0, lens_e);
    KBT_CHECK(run_split(lens_e, 2, 2, 16, 132, MLA_V2_TK, &nsplit) == 0);
    KBT_CHECK(nsplit == 2);
    KBT_CHECK(run_split(lens_e, 2, 2, 16, 132, MLA_PAGE, &nsplit) == 0);
    mla_decode_gen_seqlens(3, 300, 2, 0, lens_e);
    KBT_CHECK(run_split(lens_e, 3, 2, 128, 132 / 4, MLA_PAGE, &nsplit) == 0);
    mla_decode_gen_seqlens(4, 64, 1, 1, lens_e);
    KBT_CHECK(run_split(lens_e, 4, 1, 32, 132, MLA_V2_TK, &nsplit) == 0);
}

/* ------------------------------------------------------------------------ */
/* 4. cuBLAS baseline: column-major strided batched GEMM parameters          */
/* ------------------------------------------------------------------------ */
/* cublasGemmStridedBatchedEx semantics: C_i = op(A_i) op(B_i), column-major,
 * X(r, c) = X[r + c*ld]; op T swaps the indices.  Also cuBLAS's argument
 * checks (lda >= rows of the stored A, ...). */
static int emu_gemm(const mla_gemm *g, int batch, const float *A, const float *B, float *C)
{
    const int a_rows = g->trans_a ? g->k : g->m, b_rows = g->trans_b ? g->n : g->k;
    if (g->lda < a_rows || g->ldb < b_rows || g->ldc < g->m) return 0;
    for (int bt = 0; bt < batch; bt++) {
        const float *a = A + bt * g->stride_a, *b = B + bt * g->stride_b;
        float *c = C + bt * g->stride_c;
        for (int i = 0; i < g->m; i++)
            for (int j = 0; j < g->n; j++) {
                double s = 0;
                for (int k = 0; k < g->k; k++) {
                    const float av = g->trans_a ? a[k + (size_t)i * g->lda] : a[i + (size_t)k * g->lda];
                    const float bv = g->trans_b ? b[j + (size_t)k * g->ldb] : b[k + (size_t)j * g->ldb];
                    s += (double)av * bv;
                }
                c[i + (size_t)j * g->ldc] = (float)s;
            }
    }
    return 1;
}

static void test_cublas_params(void)
{
    const int b = 3, rows = 6, ms = 128; /* max_s: a multiple of 64 */
    kb_rng rng;
    kb_rng_seed(&rng, 7);
    float *K = malloc(sizeof(float) * b * ms * MLA_D_QK), *Q = malloc(sizeof(float) * b * rows * MLA_D_QK);
    float *S = malloc(sizeof(float) * b * rows * ms), *P = malloc(sizeof(float) * b * rows * ms);
    float *O = malloc(sizeof(float) * b * rows * MLA_D_V);
    for (int i = 0; i < b * ms * MLA_D_QK; i++) K[i] = small_int(&rng);
    for (int i = 0; i < b * rows * MLA_D_QK; i++) Q[i] = small_int(&rng);
    for (int i = 0; i < b * rows * ms; i++) P[i] = small_int(&rng);
    const mla_gemm g1 = mla_cublas_qk(rows, ms), g2 = mla_cublas_pv(rows, ms);
    KBT_CHECK(emu_gemm(&g1, b, K, Q, S));
    KBT_CHECK(emu_gemm(&g2, b, K, P, O));
    int bad_s = 0, bad_o = 0;
    for (int bi = 0; bi < b; bi++)
        for (int r = 0; r < rows; r++) {
            /* S row-major [b, rows, max_s]: S[r][t] = q_r . k_t */
            for (int t = 0; t < ms; t++) {
                double s = 0;
                for (int d = 0; d < MLA_D_QK; d++)
                    s += (double)Q[((size_t)bi * rows + r) * MLA_D_QK + d] * K[((size_t)bi * ms + t) * MLA_D_QK + d];
                bad_s += S[((size_t)bi * rows + r) * ms + t] != (float)s;
            }
            /* o row-major [b, rows, 512]: o[r][d] = sum_t P[r][t] v_t[d], v = first 512 of k */
            for (int d = 0; d < MLA_D_V; d++) {
                double o = 0;
                for (int t = 0; t < ms; t++)
                    o += (double)P[((size_t)bi * rows + r) * ms + t] * K[((size_t)bi * ms + t) * MLA_D_QK + d];
                bad_o += O[((size_t)bi * rows + r) * MLA_D_V + d] != (float)o;
            }
        }
    KBT_CHECK(bad_s == 0);
    KBT_CHECK(bad_o == 0);
    free(K); free(Q); free(S); free(P); free(O);
}

/* Varlen baseline: one GEMM per sequence over its real length, at the
 * compact offsets (koff = prefix of the page-rounded lengths).  The K rows
 * past each length hold NaN: the GEMMs must never read them. */
static void test_cublas_varlen_params(void)
{
    enum { B = 3, ROWS = 3 };
    const int lens[B] = {100, 37, 64};
    int koff[B], tot = 0;
    for (int i = 0; i < B; i++) koff[i] = tot, tot += mla_cublas_ld(lens[i]);
    KBT_CHECK(tot == 128 + 64 + 64);
    kb_rng rng;
    kb_rng_seed(&rng, 11);
    float *K = malloc(sizeof(float) * tot * MLA_D_QK), *Q = malloc(sizeof(float) * B * ROWS * MLA_D_QK);
    float *S = malloc(sizeof(float) * tot * ROWS), *O = malloc(sizeof(float) * B * ROWS * MLA_D_V);
    for (int i = 0; i < B; i++)
        for (int t = 0; t < mla_cublas_ld(lens[i]); t++)
            for (int d = 0; d < MLA_D_QK; d++)
                K[((size_t)koff[i] + t) * MLA_D_QK + d] = t < lens[i] ? small_int(&rng) : NAN;
    for (int i = 0; i < B * ROWS * MLA_D_QK; i++) Q[i] = small_int(&rng);
    for (int i = 0; i < tot * ROWS; i++) S[i] = NAN;
    int bad_s = 0, bad_o = 0, nonfinite = 0;
    for (int i = 0; i < B; i++) {
        const int ld = mla_cublas_ld(lens[i]);
        const mla_gemm qk = mla_cublas_qk_var(ROWS, lens[i], ld), pv = mla_cublas_pv_var(ROWS, lens[i], ld);
        float *Ki = K + (size_t)koff[i] * MLA_D_QK, *Si = S + (size_t)koff[i] * ROWS;
        KBT_CHECK(emu_gemm(&qk, 1, Ki, Q + (size_t)i * ROWS * MLA_D_QK, Si));
        for (int r = 0; r < ROWS; r++)
            for (int t = 0; t < lens[i]; t++) {
                double x = 0;
                for (int d = 0; d < MLA_D_QK; d++)
                    x += (double)Q[((size_t)i * ROWS + r) * MLA_D_QK + d] * Ki[(size_t)t * MLA_D_QK + d];
                bad_s += Si[(size_t)r * ld + t] != (float)x;
                Si[(size_t)r * ld + t] = small_int(&rng); /* P, in place */
            }
        KBT_CHECK(emu_gemm(&pv, 1, Ki, Si, O + (size_t)i * ROWS * MLA_D_V));
        for (int r = 0; r < ROWS; r++)
            for (int d = 0; d < MLA_D_V; d++) {
                double x = 0;
                for (int t = 0; t < lens[i]; t++) x += (double)Si[(size_t)r * ld + t] * Ki[(size_t)t * MLA_D_QK + d];
                const float got = O[((size_t)i * ROWS + r) * MLA_D_V + d];
                nonfinite += !isfinite(got);
                bad_o += got != (float)x;
            }
    }
    KBT_CHECK(bad_s == 0);
    KBT_CHECK(bad_o == 0);
    KBT_CHECK(nonfinite == 0);
    free(K); free(Q); free(S); free(O);
}

int main(void)
{
    test_v2_tile();
    test_v2_fp8_dequant();
    test_v3_tile();
    test_v3_tail();
    test_v2_live_tiles();
    test_split_flash();
    test_cublas_params();
    test_cublas_varlen_params();
    return kbt_done("test_mla_emu");
}
