/* moe_math.h - the routing and quantisation arithmetic shared bit-for-bit by
 * the CPU reference (C) and every GPU implementation (CUDA).
 *
 * Exact agreement of topk_idx between implementations needs the selection
 * scores s = sigmoid(logit) to be the same bits everywhere.  Library expf
 * differs between glibc and CUDA (both ~1 ulp), so sigmoid is built here from
 * IEEE operations only: fmaf (correctly rounded in C99 and CUDA), + - * /
 * with round-to-nearest (device: __fadd_rn/__fmul_rn/__fdiv_rn, which are
 * never contracted into FMAs; host: plain C11 float ops, FLT_EVAL_METHOD 0,
 * and C11 mode compiles with -ffp-contract=off) and rintf.
 * NOTES: moe_exp is the Cephes expf scheme (Cody-Waite reduction, degree-5
 * minimax polynomial), ~1-2 ulp; the argument is clamped to [-87, 87] so the
 * 2^n scale stays a normal float.
 */
#ifndef MOE_MATH_H
#define MOE_MATH_H
#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define MOE_HD static __host__ __device__ __forceinline__
#else
#define MOE_HD static inline
#endif

MOE_HD float moe_add(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}

MOE_HD float moe_mul(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}

MOE_HD float moe_div(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fdiv_rn(a, b);
#else
    return a / b;
#endif
}

MOE_HD float moe_exp(float x)
{
    x = x > 87.0f ? 87.0f : (x < -87.0f ? -87.0f : x);
    float n = rintf(moe_mul(x, 1.44269504088896341f));
    float r = fmaf(n, -0.693359375f, x);   /* ln2 high part (exact in n*C1) */
    r = fmaf(n, 2.12194440e-4f, r);        /* ln2 low part                  */
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    float y = moe_add(fmaf(p, moe_mul(r, r), r), 1.0f);
    uint32_t bits = (uint32_t)((int)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return moe_mul(y, scale);
}

MOE_HD float moe_sigmoid(float logit)
{
    return moe_div(1.0f, moe_add(1.0f, moe_exp(-logit)));
}

/* 1x128 E4M3 quantisation: amax (already max|x|) -> scale stored with the
 * data, inv multiplied into x before the saturating E4M3 conversion. */
MOE_HD void moe_quant_scale(float amax, float *scale, float *inv)
{
    amax = amax < 1e-4f ? 1e-4f : amax;
    *scale = moe_div(amax, 448.0f);
    *inv = moe_div(448.0f, amax);
}

/* Group-limited top-k of one token over MOE_N_EXPERTS (= 256) experts.
 * logits [256], bias [256] -> idx [8] (descending s + bias, ties to the lower
 * expert), w [8].  The reference for every implementation (v1/lib kernels
 * call it per thread; v2 reproduces it warp-parallel with the same ops). */
MOE_HD void moe_select_token(const float *logits, const float *bias, int32_t *idx, float *w)
{
    float s[256], v[256];
    for (int e = 0; e < 256; e++) {
        s[e] = moe_sigmoid(logits[e]);
        v[e] = moe_add(s[e], bias[e]);
    }
    float gs[8];
    for (int g = 0; g < 8; g++) {
        int b1 = g * 32;
        for (int e = g * 32 + 1; e < g * 32 + 32; e++)
            if (v[e] > v[b1]) b1 = e;
        int b2 = -1;
        for (int e = g * 32; e < g * 32 + 32; e++)
            if (e != b1 && (b2 < 0 || v[e] > v[b2])) b2 = e;
        gs[g] = moe_add(v[b1], v[b2]);
    }
    unsigned keep = 0;
    for (int r = 0; r < 4; r++) {
        int best = -1;
        for (int g = 0; g < 8; g++)
            if (!(keep >> g & 1u) && (best < 0 || gs[g] > gs[best])) best = g;
        keep |= 1u << best;
    }
    uint32_t taken[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int k = 0; k < 8; k++) {
        int best = -1;
        for (int e = 0; e < 256; e++) {
            if (!(keep >> (e >> 5) & 1u) || (taken[e >> 5] >> (e & 31) & 1u)) continue;
            if (best < 0 || v[e] > v[best]) best = e;
        }
        taken[best >> 5] |= 1u << (best & 31);
        idx[k] = best;
    }
    float sum = 0.0f;
    for (int k = 0; k < 8; k++) sum = moe_add(sum, s[idx[k]]);
    for (int k = 0; k < 8; k++) w[k] = moe_mul(moe_div(s[idx[k]], sum), 2.5f);
}

#endif
