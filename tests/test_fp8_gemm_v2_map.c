/* test_fp8_gemm_v2_map.c - host emulation of one 128x128x128 tile of
 * fp8_gemm_v2 using the kernel's own index maps (fp8_gemm_v2_map.h) and the
 * PTX ISA's definitions, written out here independently, of
 *   - ldmatrix.sync.aligned.m8n8.x4.b16: matrix q's 8 row addresses come from
 *     lanes 8q..8q+7; register q of lane l = bytes 4(l%4)..+3 of row l/4;
 *   - mma.m16n8k32 (8-bit A/B): A reg r byte b -> (row g + 8(r&1), k 4t + b +
 *     16(r>>1)); B reg r byte b -> (k 4t + b + 16r, n g); C elem e -> (row g +
 *     8(e>>1), col 2t + (e&1)), g = lane/4, t = lane%4.
 * Checks: producer covers every (row, chunk) once; swizzle conflict-free for
 * ldmatrix; every output written once; emulated tile == A * B^T exactly. */
#include <string.h>
#include "kbtest.h"
#include "bench/kb.h"
#include "kernels/fp8_gemm/fp8_gemm_v2_map.h"

static uint8_t A[128 * 128], B[128 * 128], sA[128 * 128], sB[128 * 128];
static double C[128 * 128], R[128 * 128];
static int written[128 * 128];
static float lut[256];

/* ldmatrix.x4 emulation: addr[l] = byte offset supplied by lane l. */
static void ldmatrix_x4(const uint8_t *smem, const uint32_t addr[32], uint32_t out[32][4])
{
    for (int l = 0; l < 32; l++)
        for (int q = 0; q < 4; q++) {
            const uint8_t *row = smem + addr[8 * q + l / 4];
            uint32_t v = 0;
            for (int b = 0; b < 4; b++) v |= (uint32_t)row[4 * (l % 4) + b] << (8 * b);
            out[l][q] = v;
        }
}

static int conflict_free(const uint32_t addr[32])
{
    for (int q = 0; q < 4; q++) {
        int seen = 0;
        for (int i = 0; i < 8; i++) seen |= 1 << ((addr[8 * q + i] >> 4) & 7);
        if (seen != 0xff) return 0;
    }
    return 1;
}

/* mma.m16n8k32 emulation for one warp: c[l][e] += A_frag * B_frag. */
static int mma(const uint32_t a[32][4], const uint32_t b[32][2], double c[32][4])
{
    double fa[16][32], fb[32][8];
    int seta[16][32] = {{0}}, setb[32][8] = {{0}}, ok = 1;
    for (int l = 0; l < 32; l++) {
        int g = l / 4, t = l % 4;
        for (int r = 0; r < 4; r++)
            for (int by = 0; by < 4; by++) {
                int row = g + 8 * (r & 1), k = 4 * t + by + 16 * (r >> 1);
                fa[row][k] = lut[(a[l][r] >> (8 * by)) & 0xff];
                seta[row][k]++;
            }
        for (int r = 0; r < 2; r++)
            for (int by = 0; by < 4; by++) {
                int k = 4 * t + by + 16 * r, n = g;
                fb[k][n] = lut[(b[l][r] >> (8 * by)) & 0xff];
                setb[k][n]++;
            }
    }
    for (int i = 0; i < 16; i++)
        for (int k = 0; k < 32; k++) ok &= seta[i][k] == 1;
    for (int k = 0; k < 32; k++)
        for (int n = 0; n < 8; n++) ok &= setb[k][n] == 1;
    for (int l = 0; l < 32; l++) {
        int g = l / 4, t = l % 4;
        for (int e = 0; e < 4; e++) {
            int row = g + 8 * (e >> 1), col = 2 * t + (e & 1);
            double s = 0;
            for (int k = 0; k < 32; k++) s += fa[row][k] * fb[k][col];
            c[l][e] += s;
        }
    }
    return ok;
}

int main(void)
{
    for (int i = 0; i < 256; i++) lut[i] = kb_e4m3_to_f32((uint8_t)i);
    kb_rng rng;
    kb_rng_seed(&rng, 12345);
    for (int i = 0; i < 128 * 128; i++) {
        uint8_t a, b;
        do a = (uint8_t)kb_rng_next(&rng); while ((a & 0x7f) == 0x7f);
        do b = (uint8_t)kb_rng_next(&rng); while ((b & 0x7f) == 0x7f);
        A[i] = a;
        B[i] = b;
    }
    /* producer: cp.async of 16-byte chunks into the swizzled tile */
    static int covered[128][8];
    memset(covered, 0, sizeof covered);
    for (int tid = 0; tid < V2_THREADS; tid++)
        for (int j = 0; j < V2_LOADS; j++) {
            int r = v2_load_row(tid, j), ch = v2_load_chunk(tid, j);
            covered[r][ch]++;
            memcpy(sA + v2_swz(r, ch), A + r * 128 + ch * 16, 16);
            memcpy(sB + v2_swz(r, ch), B + r * 128 + ch * 16, 16);
        }
    int cov_ok = 1;
    for (int r = 0; r < 128; r++)
        for (int ch = 0; ch < 8; ch++) cov_ok &= covered[r][ch] == 1;
    KBT_CHECK(cov_ok);

    int frag_ok = 1, bank_ok = 1;
    memset(written, 0, sizeof written);
    for (int warp = 0; warp < 8; warp++) {
        int wm = warp >> 2, wn = warp & 3;
        static double acc[4][4][32][4];
        memset(acc, 0, sizeof acc);
        for (int ks = 0; ks < V2_BK / 32; ks++) {
            uint32_t af[4][32][4], bf[4][32][2], addr[32], t[32][4];
            for (int mt = 0; mt < 4; mt++) {
                for (int l = 0; l < 32; l++) addr[l] = v2_swz(v2_a_row(wm, mt, l), v2_a_chunk(ks, l));
                bank_ok &= conflict_free(addr);
                ldmatrix_x4(sA, addr, af[mt]);
            }
            for (int pr = 0; pr < 2; pr++) {
                for (int l = 0; l < 32; l++) addr[l] = v2_swz(v2_b_row(wn, pr, l), v2_b_chunk(ks, l));
                bank_ok &= conflict_free(addr);
                ldmatrix_x4(sB, addr, t);
                for (int l = 0; l < 32; l++)
                    for (int q = 0; q < 4; q++) bf[v2_b_tile(pr, q)][l][v2_b_reg(q)] = t[l][q];
            }
            for (int mt = 0; mt < 4; mt++)
                for (int nt = 0; nt < 4; nt++) frag_ok &= mma(af[mt], bf[nt], acc[mt][nt]);
        }
        for (int mt = 0; mt < 4; mt++)
            for (int nt = 0; nt < 4; nt++)
                for (int l = 0; l < 32; l++)
                    for (int e = 0; e < 4; e++) {
                        int row = v2_c_row(wm, mt, e, l), col = v2_c_col(wn, nt, e, l);
                        C[row * 128 + col] = acc[mt][nt][l][e];
                        written[row * 128 + col]++;
                    }
    }
    KBT_CHECK(frag_ok);
    KBT_CHECK(bank_ok);
    int once = 1, same = 0;
    for (int i = 0; i < 128 * 128; i++) once &= written[i] == 1;
    KBT_CHECK(once);
    for (int m = 0; m < 128; m++)
        for (int n = 0; n < 128; n++) {
            double s = 0;
            for (int k = 0; k < 128; k++) s += (double)lut[A[m * 128 + k]] * (double)lut[B[n * 128 + k]];
            R[m * 128 + n] = s;
            same += C[m * 128 + n] == s;
        }
    KBT_CHECK(same == 128 * 128);
    /* The epilogue writes pairs (e, e+1) to adjacent columns of one row. */
    int pair_ok = 1;
    for (int l = 0; l < 32; l++)
        for (int e = 0; e < 4; e += 2)
            pair_ok &= v2_c_row(0, 1, e, l) == v2_c_row(0, 1, e + 1, l) &&
                       v2_c_col(1, 2, e + 1, l) == v2_c_col(1, 2, e, l) + 1 && (v2_c_col(1, 2, e, l) & 1) == 0;
    KBT_CHECK(pair_ok);
    return kbt_done("test_fp8_gemm_v2_map");
}
