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

#include "kernels/moe/moe.h"

#ifdef __CUDACC__
#define MOE_HD static __host__ __device__ __forceinline__
#else
#define MOE_HD static inline
#endif
#ifdef __CUDA_ARCH__
#define MOE_UNROLL _Pragma("unroll")
#else
#define MOE_UNROLL
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
 * call it per thread; v2 reproduces it warp-parallel with the same ops).
 * Written without index-addressed scratch arrays (scores are recomputed, the
 * k-th pick is the best one ranked after the (k-1)-th) so that a GPU thread
 * running it needs no local memory. */
MOE_HD float moe_sel_score(const float *logits, const float *bias, int e)
{
    return moe_add(moe_sigmoid(logits[e]), bias[e]);
}

MOE_HD void moe_select_token(const float *logits, const float *bias, int32_t *idx, float *w)
{
    float gs[MOE_N_GROUPS];
    MOE_UNROLL
    for (int g = 0; g < MOE_N_GROUPS; g++) {
        float m1 = -INFINITY, m2 = -INFINITY; /* top-2 values, with multiplicity */
        for (int e = g * 32; e < g * 32 + 32; e++) {
            float v = moe_sel_score(logits, bias, e);
            if (v > m1) {
                m2 = m1;
                m1 = v;
            } else if (v > m2) {
                m2 = v;
            }
        }
        gs[g] = moe_add(m1, m2);
    }
    unsigned keep = 0;
    for (int r = 0; r < MOE_TOPK_GROUPS; r++) {
        int best = -1;
        float bv = 0.0f;
        MOE_UNROLL
        for (int g = 0; g < MOE_N_GROUPS; g++)
            if (!(keep >> g & 1u) && (best < 0 || gs[g] > bv)) {
                best = g;
                bv = gs[g];
            }
        keep |= 1u << best;
    }
    float pv = INFINITY, sum = 0.0f;
    int pe = -1;
    for (int k = 0; k < MOE_TOPK; k++) {
        int best = -1;
        float bv = 0.0f;
        for (int e = 0; e < MOE_N_EXPERTS; e++) {
            if (!(keep >> (e >> 5) & 1u)) continue;
            float v = moe_sel_score(logits, bias, e);
            if (v > pv || (v == pv && e <= pe)) continue; /* ranked before the last pick */
            if (best < 0 || v > bv) {
                best = e;
                bv = v;
            }
        }
        idx[k] = best;
        pv = bv;
        pe = best;
        sum = moe_add(sum, moe_sigmoid(logits[best]));
    }
    for (int k = 0; k < MOE_TOPK; k++) w[k] = moe_mul(moe_div(moe_sigmoid(logits[idx[k]]), sum), MOE_ROUTE_SCALE);
}

#endif
