/* fp8_gemm_cpu.c - CPU references for FP8 GEMM and quantisation (see .h).
 * Products of two E4M3 values and their 128-term block sums are exact in
 * double (4+4 significant bits, exponents within range), so the only rounding
 * is in the final scale multiplications. */
#include <math.h>
#include <string.h>
#include "reference/fp8_gemm_cpu.h"

static float e4m3_lut[256];
static int e4m3_lut_ready;

static void lut_init(void)
{
    if (e4m3_lut_ready) return;
    for (int i = 0; i < 256; i++) e4m3_lut[i] = kb_e4m3_to_f32((uint8_t)i);
    e4m3_lut_ready = 1;
}

double fp8_ref_dot(const uint8_t *a, const float *sa, size_t sa_stride,
                   const uint8_t *b, const float *sb, int k, int block_scaled)
{
    lut_init();
    double total = 0;
    for (int kb = 0; kb < k / 128; kb++) {
        double blk = 0;
        const uint8_t *pa = a + (size_t)kb * 128, *pb = b + (size_t)kb * 128;
        for (int i = 0; i < 128; i++) blk += (double)e4m3_lut[pa[i]] * (double)e4m3_lut[pb[i]];
        if (block_scaled) blk *= (double)sa[(size_t)kb * sa_stride] * (double)sb[kb];
        total += blk;
    }
    return total;
}

double fp8_gemm_ref_at(const fp8_gemm_args *h, int g, int m, int n, int block_scaled)
{
    const int kblocks = h->k / 128;
    const int nblocks = (h->n + 127) / 128;
    const uint8_t *a, *b;
    const float *sa, *sb;
    size_t sa_stride;
    switch (h->layout) {
    case FP8_GEMM_CONTIGUOUS:
        g = h->group_idx[m];
        if (g < 0) return NAN;
        /* fall through */
    case FP8_GEMM_DENSE:
        if (h->layout == FP8_GEMM_DENSE) g = 0;
        a = h->a + (size_t)m * h->k;
        sa = h->sa + m;
        sa_stride = (size_t)h->m;
        break;
    case FP8_GEMM_MASKED:
    default:
        a = h->a + ((size_t)g * h->m + m) * h->k;
        sa = h->sa + (size_t)g * kblocks * h->m + m;
        sa_stride = (size_t)h->m;
        break;
    }
    b = h->b + ((size_t)g * h->n + n) * h->k;
    sb = h->sb + ((size_t)g * nblocks + n / 128) * kblocks;
    return fp8_ref_dot(a, sa, sa_stride, b, sb, h->k, block_scaled);
}

void fp8_gemm_ref_dense(int m, int n, int k, const uint8_t *a, const float *sa,
                        const uint8_t *b, const float *sb, double *out)
{
    fp8_gemm_args h;
    memset(&h, 0, sizeof h);
    h.layout = FP8_GEMM_DENSE;
    h.m = m;
    h.n = n;
    h.k = k;
    h.num_groups = 1;
    h.a = a;
    h.sa = sa;
    h.b = b;
    h.sb = sb;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) out[(size_t)i * n + j] = fp8_gemm_ref_at(&h, 0, i, j, 1);
}

/* ---- quantisation ---------------------------------------------------------- */
float fp8_quant_scale(float amax)
{
    if (!(amax >= 1e-4f)) amax = 1e-4f;
    return amax / 448.0f;
}

float fp8_quant_ref_group(const uint16_t *x, int n, uint8_t *q)
{
    float amax = 0;
    for (int i = 0; i < n; i++) amax = fmaxf(amax, fabsf(kb_bf16_to_f32(x[i])));
    float s = fp8_quant_scale(amax);
    for (int i = 0; i < n; i++) q[i] = kb_f32_to_e4m3(kb_bf16_to_f32(x[i]) / s);
    return s;
}

void fp8_quant_ref_tokens(int rows, int cols, const uint16_t *x, uint8_t *q, float *s)
{
    for (int r = 0; r < rows; r++)
        for (int kb = 0; kb < cols / 128; kb++) {
            size_t off = (size_t)r * cols + (size_t)kb * 128;
            s[(size_t)kb * rows + r] = fp8_quant_ref_group(x + off, 128, q + off);
        }
}

float fp8_quant_ref_block(int rows, int cols, const uint16_t *x, int rb, int cb, uint8_t *q)
{
    float amax = 0;
    int r1 = rb * 128 + 128 < rows ? rb * 128 + 128 : rows;
    for (int r = rb * 128; r < r1; r++)
        for (int c = cb * 128; c < cb * 128 + 128; c++)
            amax = fmaxf(amax, fabsf(kb_bf16_to_f32(x[(size_t)r * cols + c])));
    float s = fp8_quant_scale(amax);
    for (int r = rb * 128; r < r1; r++)
        for (int c = cb * 128; c < cb * 128 + 128; c++)
            q[(size_t)r * cols + c] = kb_f32_to_e4m3(kb_bf16_to_f32(x[(size_t)r * cols + c]) / s);
    return s;
}

void fp8_quant_ref_blocks(int rows, int cols, const uint16_t *x, uint8_t *q, float *s)
{
    int rbs = (rows + 127) / 128, cbs = cols / 128;
    for (int rb = 0; rb < rbs; rb++)
        for (int cb = 0; cb < cbs; cb++)
            s[(size_t)rb * cbs + cb] = fp8_quant_ref_block(rows, cols, x, rb, cb, q);
}

/* Rank of a finite code on the number line: magnitude codes 0..126 are
 * monotonic in value, so rank = +-(code & 0x7f). */
int fp8_e4m3_ulp_dist(uint8_t a, uint8_t b)
{
    if ((a & 0x7f) == 0x7f || (b & 0x7f) == 0x7f) return 255;
    int ra = (a & 0x80) ? -(int)(a & 0x7f) : (int)(a & 0x7f);
    int rb = (b & 0x80) ? -(int)(b & 0x7f) : (int)(b & 0x7f);
    return ra > rb ? ra - rb : rb - ra;
}
