// mla_decode_cublas.cu - unfused cuBLAS reference for MLA decode: what a user
// without a fused kernel would run.
//   1. gather: the pages of each sequence -> contiguous K [b, max_s, 576] BF16
//      (FP8 cache: dequantised to BF16 on the way); padding rows stay zero;
//   2. S = Q K^T: cublasGemmStridedBatchedEx, BF16 in, FP32 out and compute,
//      S [b, s_q*h_q, max_s];
//   3. softmax kernel: scale, causal mask, row max/sum, lse, P [b, rows, max_s]
//      BF16 (masked = 0);
//   4. O = P V: cublasGemmStridedBatchedEx, V = first 512 columns of K (ld 576),
//      BF16 out straight into o.
// "cublas_unfused" runs 1-4; "cublas_unfused_nogather" runs 2-4 on K gathered
// once at setup.  Memory: K 2*b*max_s*576, S 4*b*rows*max_s, P 2*b*rows*max_s
// bytes (b=128, max_s=64K, rows=256: 9.7 + 8.6 + 4.3 GB).
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <stdint.h>
#include <stdlib.h>
#include "kernels/mla_decode/mla_decode.h"
#include "kernels/mla_decode/mla_layout.h"

namespace {
struct cublas_state {
    cublasHandle_t h;
    __nv_bfloat16 *k;  // [b, max_s, 576]
    float *s;          // [b, rows, max_s]
    __nv_bfloat16 *p;  // [b, rows, max_s]
    int max_s;         // padded to a multiple of 64
    bool oom;          // buffers did not fit: the launchers skip
    double need_gb;
};

// grid (pages of the longest sequence, b); 256 threads copy/dequantise one page.
__global__ void gather_kernel(const mla_decode_args a, __nv_bfloat16 *k, int max_s)
{
    const int bi = blockIdx.y, pg = blockIdx.x;
    const int len = a.seqlens[bi];
    if (pg * MLA_PAGE >= len) return;
    const int page = a.block_table[(size_t)bi * a.max_blocks + pg];
    __nv_bfloat16 *dst = k + ((size_t)bi * max_s + (size_t)pg * MLA_PAGE) * MLA_D_QK;
    if (!a.fp8kv) {
        const uint4 *src = reinterpret_cast<const uint4 *>(a.kv + (size_t)page * MLA_PAGE * MLA_D_QK);
        uint4 *d = reinterpret_cast<uint4 *>(dst);
        for (int i = threadIdx.x; i < MLA_PAGE * MLA_D_QK / 8; i += blockDim.x) d[i] = src[i];
        return;
    }
    for (int i = threadIdx.x; i < MLA_PAGE * MLA_D_QK; i += blockDim.x) {
        int r = i / MLA_D_QK, c = i % MLA_D_QK;
        const uint8_t *tok = a.kv_fp8 + ((size_t)page * MLA_PAGE + r) * MLA_FP8_TOKEN_BYTES;
        float v;
        if (c < MLA_D_V) {
            __nv_fp8_e4m3 e;
            e.__x = tok[c];
            v = float(e) * reinterpret_cast<const float *>(tok + MLA_FP8_SCALE_OFF)[c / 128];
        } else {
            v = __bfloat162float(reinterpret_cast<const __nv_bfloat16 *>(tok + MLA_FP8_ROPE_OFF)[c - MLA_D_V]);
        }
        dst[i] = __float2bfloat16(v);
    }
}

// grid (rows, b), 256 threads: one row of S -> P and lse.
__global__ void softmax_kernel(const mla_decode_args a, const float *s, __nv_bfloat16 *p, int max_s)
{
    const int row = blockIdx.x, bi = blockIdx.y, rows = a.s_q * a.h_q;
    const int len = a.seqlens[bi];
    const int limit = mla_row_limit(row, rows, a.h_q, a.s_q, len, len);
    const float sc = a.softmax_scale * 1.4426950408889634f;
    const float *sr = s + ((size_t)bi * rows + row) * max_s;
    __nv_bfloat16 *pr = p + ((size_t)bi * rows + row) * max_s;
    __shared__ float red[32];
    float m = -INFINITY;
    for (int t = threadIdx.x; t < limit; t += blockDim.x) m = fmaxf(m, sr[t] * sc);
    for (int o = 16; o; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = m;
    __syncthreads();
    m = -INFINITY;
    for (int i = 0; i < (int)blockDim.x / 32; i++) m = fmaxf(m, red[i]);
    __syncthreads();
    const float mu = m == -INFINITY ? 0.f : m;
    float l = 0.f;
    for (int t = threadIdx.x; t < limit; t += blockDim.x) l += exp2f(sr[t] * sc - mu);
    for (int o = 16; o; o >>= 1) l += __shfl_xor_sync(0xffffffffu, l, o);
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = l;
    __syncthreads();
    l = 0.f;
    for (int i = 0; i < (int)blockDim.x / 32; i++) l += red[i];
    const float inv = l > 0.f ? 1.f / l : 0.f;
    for (int t = threadIdx.x; t < max_s; t += blockDim.x)
        pr[t] = __float2bfloat16(t < limit ? exp2f(sr[t] * sc - mu) * inv : 0.f);
    if (threadIdx.x == 0)
        a.lse[mla_lse_index(bi, a.h_q, a.s_q, row)] = mla_lse_nat(mu, l);
}

cublasOperation_t op(int trans) { return trans ? CUBLAS_OP_T : CUBLAS_OP_N; }

kb_status cublas_err(cublasStatus_t st, const char *what)
{
    return kb_error("cuBLAS %s failed: status %d", what, (int)st);
}

kb_status run(const mla_decode_args *a, cudaStream_t stream, bool gather)
{
    cublas_state *cs = static_cast<cublas_state *>(a->cublas_state);
    if (!cs) return kb_error("cuBLAS reference not initialised");
    if (cs->oom) return kb_skip("cuBLAS reference needs %.1f GB of buffers", cs->need_gb);
    const int rows = a->s_q * a->h_q, ms = cs->max_s;
    if (gather) {
        gather_kernel<<<dim3((unsigned)(ms / MLA_PAGE), (unsigned)a->b), 256, 0, stream>>>(*a, cs->k, ms);
        KB_CUDA_TRY(cudaGetLastError());
    }
    cublasStatus_t st = cublasSetStream(cs->h, stream);
    if (st != CUBLAS_STATUS_SUCCESS) return cublas_err(st, "SetStream");
    const float one = 1.f, zero = 0.f;
    // S^T (col-major max_s x rows) = K (op T of col-major 576 x max_s) * Q (576 x rows)
    const mla_gemm g1 = mla_cublas_qk(rows, ms);
    st = cublasGemmStridedBatchedEx(cs->h, op(g1.trans_a), op(g1.trans_b), g1.m, g1.n, g1.k, &one, cs->k, CUDA_R_16BF,
                                    g1.lda, g1.stride_a, a->q, CUDA_R_16BF, g1.ldb, g1.stride_b, &zero, cs->s,
                                    CUDA_R_32F, g1.ldc, g1.stride_c, a->b, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    if (st != CUBLAS_STATUS_SUCCESS) return cublas_err(st, "GemmStridedBatchedEx (QK^T)");
    softmax_kernel<<<dim3((unsigned)rows, (unsigned)a->b), 256, 0, stream>>>(*a, cs->s, cs->p, ms);
    KB_CUDA_TRY(cudaGetLastError());
    // O^T (col-major 512 x rows) = V (first 512 rows of col-major 576 x max_s) * P^T (max_s x rows)
    const mla_gemm g2 = mla_cublas_pv(rows, ms);
    st = cublasGemmStridedBatchedEx(cs->h, op(g2.trans_a), op(g2.trans_b), g2.m, g2.n, g2.k, &one, cs->k, CUDA_R_16BF,
                                    g2.lda, g2.stride_a, cs->p, CUDA_R_16BF, g2.ldb, g2.stride_b, &zero, a->o,
                                    CUDA_R_16BF, g2.ldc, g2.stride_c, a->b, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    if (st != CUBLAS_STATUS_SUCCESS) return cublas_err(st, "GemmStridedBatchedEx (PV)");
    return KB_OK;
}
} // namespace

extern "C" kb_status mla_cublas_init(mla_decode_args *a, cudaStream_t stream)
{
    cublas_state *cs = static_cast<cublas_state *>(calloc(1, sizeof(cublas_state)));
    if (!cs) return kb_error("out of host memory");
    a->cublas_state = cs;
    cs->max_s = (a->max_seqlen + MLA_PAGE - 1) / MLA_PAGE * MLA_PAGE;
    const size_t rows = (size_t)a->s_q * a->h_q;
    const size_t ks = (size_t)a->b * cs->max_s * MLA_D_QK * 2, ss = (size_t)a->b * rows * cs->max_s;
    cublasStatus_t st = cublasCreate(&cs->h);
    if (st != CUBLAS_STATUS_SUCCESS) return cublas_err(st, "Create");
    cs->need_gb = (double)(ks + ss * 6) / 1e9;
    if (cudaMalloc((void **)&cs->k, ks) != cudaSuccess || cudaMalloc((void **)&cs->s, ss * sizeof(float)) != cudaSuccess ||
        cudaMalloc((void **)&cs->p, ss * 2) != cudaSuccess) {
        (void)cudaGetLastError(); // clear the allocation error; the launchers skip
        cudaFree(cs->k);
        cudaFree(cs->s);
        cudaFree(cs->p);
        cs->k = nullptr;
        cs->s = nullptr;
        cs->p = nullptr;
        cs->oom = true;
        return KB_OK;
    }
    // zero padding rows (finite: 0 * pad must not make NaN in P V)
    KB_CUDA_TRY(cudaMemsetAsync(cs->k, 0, ks, stream));
    gather_kernel<<<dim3((unsigned)(cs->max_s / MLA_PAGE), (unsigned)a->b), 256, 0, stream>>>(*a, cs->k, cs->max_s);
    KB_CUDA_TRY(cudaGetLastError());
    KB_CUDA_TRY(cudaStreamSynchronize(stream));
    return KB_OK;
}

extern "C" void mla_cublas_free(mla_decode_args *a)
{
    cublas_state *cs = static_cast<cublas_state *>(a->cublas_state);
    if (!cs) return;
    if (cs->h) cublasDestroy(cs->h);
    cudaFree(cs->k);
    cudaFree(cs->s);
    cudaFree(cs->p);
    free(cs);
    a->cublas_state = NULL;
}

extern "C" kb_status mla_decode_cublas_unfused(void *ctx, cudaStream_t stream)
{
    return run(static_cast<const mla_decode_args *>(ctx), stream, true);
}

extern "C" kb_status mla_decode_cublas_unfused_nogather(void *ctx, cudaStream_t stream)
{
    return run(static_cast<const mla_decode_args *>(ctx), stream, false);
}
