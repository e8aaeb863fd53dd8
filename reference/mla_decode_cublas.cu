// mla_decode_cublas.cu - unfused cuBLAS baselines for MLA decode: what a user
// without a fused kernel would run.  Two ways to batch the variable lengths:
//
// varlen ("cublas_varlen", "cublas_varlen_nogather"): the fair baseline.
//   1. gather: the pages of each sequence -> K rows koff[i] .. koff[i] + ld_i
//      (ld_i = its length rounded up to a page, mla_cublas_ld; FP8 cache:
//      dequantised to BF16 on the way); the slots past seqlen are zero-filled;
//   2. S_i = Q_i K_i^T over the real length len_i: one cublasGemmGroupedBatchedEx
//      call, one group per non-empty sequence, BF16 in and out, FP32 compute;
//      S_i [rows, ld_i] BF16 at koff[i] * rows;
//   3. softmax kernel: scale, causal mask, row max/sum, lse, P in place (BF16);
//      an empty sequence gets o = 0, lse = -inf here (it has no GEMM);
//   4. O_i = P_i V_i: a second grouped call, BF16 out straight into o.
//   Work: exactly the op's FLOPs; S/P are BF16 (2 B per score each way).
//
// padded ("cublas_padded"): every sequence computed at the LONGEST length
// (one cublasGemmStridedBatchedEx per GEMM, FP32 scores, separate BF16 P):
// b * max_s keys instead of sum(len) - 2x the work at the normal length
// pattern, 30-60x at the skewed one - kept, labelled, as the naive baseline.
//
// "_nogather" runs 2-4 on K gathered once at setup.  The work each really does
// (FLOPs, modelled bytes) is mla_cublas_work (kernels/mla_decode/mla_layout.h),
// reported in the op's metrics column.  Memory: padded K 2*b*max_s*576, S
// 4*b*rows*max_s, P 2*b*rows*max_s bytes (b=128, max_s=64K, rows=256: 9.7 +
// 8.6 + 4.3 GB); varlen K 2*sum(ld)*576, S/P 2*rows*sum(ld).
// UNVERIFIED on a GPU (written without one).
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <stdint.h>
#include <stdlib.h>
#include "kernels/mla_decode/mla_decode.h"
#include "kernels/mla_decode/mla_layout.h"

namespace {
struct padded_bufs {
    __nv_bfloat16 *k; // [b, max_s, 576]
    float *s;         // [b, rows, max_s]
    __nv_bfloat16 *p; // [b, rows, max_s]
    int max_s;        // padded to a multiple of 64
    bool oom;
    double need_gb;
};

// Grouped GEMM arguments of the varlen path, built once at setup: host arrays
// per group (one group = one non-empty sequence) and the device pointer arrays.
struct varlen_bufs {
    __nv_bfloat16 *k, *s; // K [sum ld, 576], S/P [rows * sum ld] (P in place)
    int64_t *koff_d;      // [b] first K row of each sequence (device)
    int ng;               // groups (non-empty sequences)
    cublasOperation_t *ta[2], *tb[2];
    int *m[2], *n[2], *kk[2], *lda[2], *ldb[2], *ldc[2], *gsize;
    float *alpha, *beta;
    const void **dA[2], **dB[2]; // device arrays of device pointers
    void **dC[2];
    bool oom;
    double need_gb;
};

struct cublas_state {
    cublasHandle_t h;
    padded_bufs pad;
    varlen_bufs var;
};

// grid (pages of the longest sequence, b); 256 threads copy/dequantise one
// page to K rows koff[bi] (varlen) or bi*max_s (koff NULL, padded) + 64 pg.
// Rows past seqlen (the tail of the last page: NaN is normal there) are
// written as zeros: P = 0 there, but 0 * NaN = NaN in P V.
__global__ void gather_kernel(const mla_decode_args a, const int64_t *koff, __nv_bfloat16 *k, int max_s)
{
    const int bi = blockIdx.y, pg = blockIdx.x;
    const int len = a.seqlens[bi];
    if (pg * MLA_PAGE >= len) return;
    const int page = a.block_table[(size_t)bi * a.max_blocks + pg];
    const int64_t row0 = (koff ? koff[bi] : (int64_t)bi * max_s) + (int64_t)pg * MLA_PAGE;
    __nv_bfloat16 *dst = k + row0 * MLA_D_QK;
    const int live = len - pg * MLA_PAGE; // keys of this page below seqlen (>= 1)
    if (!a.fp8kv) {
        const uint4 *src = reinterpret_cast<const uint4 *>(a.kv + (size_t)page * MLA_PAGE * MLA_D_QK);
        uint4 *d = reinterpret_cast<uint4 *>(dst);
        for (int i = threadIdx.x; i < MLA_PAGE * MLA_D_QK / 8; i += blockDim.x)
            d[i] = mla_key_loaded(i / (MLA_D_QK / 8), live) ? src[i] : make_uint4(0, 0, 0, 0);
        return;
    }
    for (int i = threadIdx.x; i < MLA_PAGE * MLA_D_QK; i += blockDim.x) {
        int r = i / MLA_D_QK, c = i % MLA_D_QK;
        const uint8_t *tok = a.kv_fp8 + ((size_t)page * MLA_PAGE + r) * MLA_FP8_TOKEN_BYTES;
        float v = 0.f; // slots past seqlen stay 0
        if (mla_key_loaded(r, live)) {
            if (c < MLA_D_V) {
                __nv_fp8_e4m3 e;
                e.__x = tok[c];
                v = float(e) * reinterpret_cast<const float *>(tok + MLA_FP8_SCALE_OFF)[c / 128];
            } else {
                v = __bfloat162float(reinterpret_cast<const __nv_bfloat16 *>(tok + MLA_FP8_ROPE_OFF)[c - MLA_D_V]);
            }
        }
        dst[i] = __float2bfloat16(v);
    }
}

__device__ __forceinline__ float to_f(float x) { return x; }
__device__ __forceinline__ float to_f(__nv_bfloat16 x) { return __bfloat162float(x); }

// One row of scores sr[0..n) -> P pr[0..n) (may alias sr: every read of the
// first two passes is done before the barrier that precedes the writes) and
// lse; keys >= limit are masked (P = 0), no visible key gives lse = -inf.
template <typename TS>
__device__ void softmax_row(const mla_decode_args &a, const TS *sr, __nv_bfloat16 *pr, int n, int limit, int bi,
                            int row)
{
    const float sc = a.softmax_scale * 1.4426950408889634f;
    __shared__ float red[32];
    float m = -INFINITY;
    for (int t = threadIdx.x; t < limit; t += blockDim.x) m = fmaxf(m, to_f(sr[t]) * sc);
    for (int o = 16; o; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = m;
    __syncthreads();
    m = -INFINITY;
    for (int i = 0; i < (int)blockDim.x / 32; i++) m = fmaxf(m, red[i]);
    __syncthreads();
    const float mu = m == -INFINITY ? 0.f : m;
    float l = 0.f;
    for (int t = threadIdx.x; t < limit; t += blockDim.x) l += exp2f(to_f(sr[t]) * sc - mu);
    for (int o = 16; o; o >>= 1) l += __shfl_xor_sync(0xffffffffu, l, o);
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = l;
    __syncthreads();
    l = 0.f;
    for (int i = 0; i < (int)blockDim.x / 32; i++) l += red[i];
    const float inv = l > 0.f ? 1.f / l : 0.f;
    for (int t = threadIdx.x; t < n; t += blockDim.x) {
        const float x = t < limit ? exp2f(to_f(sr[t]) * sc - mu) * inv : 0.f;
        pr[t] = __float2bfloat16(x);
    }
    if (threadIdx.x == 0) a.lse[mla_lse_index(bi, a.h_q, a.s_q, row)] = mla_lse_nat(mu, l);
}

// grid (rows, b), 256 threads: padded S (FP32) -> P (BF16), all max_s keys.
__global__ void softmax_padded_kernel(const mla_decode_args a, const float *s, __nv_bfloat16 *p, int max_s)
{
    const int row = blockIdx.x, bi = blockIdx.y, rows = a.s_q * a.h_q;
    const int len = a.seqlens[bi];
    const size_t off = ((size_t)bi * rows + row) * max_s;
    softmax_row(a, s + off, p + off, max_s, mla_row_limit(row, rows, a.h_q, a.s_q, len, len), bi, row);
}

// grid (rows, b), 256 threads: varlen S_i (BF16) -> P_i in place, len_i keys;
// an empty sequence has no GEMM: o = 0 and lse = -inf are written here.
__global__ void softmax_varlen_kernel(const mla_decode_args a, const int64_t *koff, __nv_bfloat16 *s)
{
    const int row = blockIdx.x, bi = blockIdx.y, rows = a.s_q * a.h_q;
    const int len = a.seqlens[bi];
    if (len == 0) {
        __nv_bfloat16 *orow = reinterpret_cast<__nv_bfloat16 *>(a.o) + ((size_t)bi * rows + row) * MLA_D_V;
        for (int d = threadIdx.x; d < MLA_D_V; d += blockDim.x) orow[d] = __float2bfloat16(0.f);
        if (threadIdx.x == 0) a.lse[mla_lse_index(bi, a.h_q, a.s_q, row)] = -INFINITY;
        return;
    }
    __nv_bfloat16 *sr = s + (size_t)koff[bi] * rows + (size_t)row * mla_cublas_ld(len);
    softmax_row(a, sr, sr, len, mla_row_limit(row, rows, a.h_q, a.s_q, len, len), bi, row);
}

cublasOperation_t op(int trans) { return trans ? CUBLAS_OP_T : CUBLAS_OP_N; }

kb_status cublas_err(cublasStatus_t st, const char *what)
{
    if (st == CUBLAS_STATUS_NOT_SUPPORTED) return kb_skip("cuBLAS %s: not supported here", what);
    return kb_error("cuBLAS %s failed: %s", what, cublasGetStatusString(st));
}

kb_status run_padded(const mla_decode_args *a, cublas_state *cs, cudaStream_t stream, bool gather)
{
    const padded_bufs &pb = cs->pad;
    if (pb.oom) return kb_skip("cuBLAS padded baseline needs %.1f GB of buffers", pb.need_gb);
    const int rows = a->s_q * a->h_q, ms = pb.max_s;
    if (gather) {
        gather_kernel<<<dim3((unsigned)(ms / MLA_PAGE), (unsigned)a->b), 256, 0, stream>>>(*a, nullptr, pb.k, ms);
        KB_CUDA_TRY(cudaGetLastError());
    }
    const float one = 1.f, zero = 0.f;
    // S^T (col-major max_s x rows) = K (op T of col-major 576 x max_s) * Q (576 x rows)
    const mla_gemm g1 = mla_cublas_qk(rows, ms);
    cublasStatus_t st = cublasGemmStridedBatchedEx(
        cs->h, op(g1.trans_a), op(g1.trans_b), g1.m, g1.n, g1.k, &one, pb.k, CUDA_R_16BF, g1.lda, g1.stride_a, a->q,
        CUDA_R_16BF, g1.ldb, g1.stride_b, &zero, pb.s, CUDA_R_32F, g1.ldc, g1.stride_c, a->b, CUBLAS_COMPUTE_32F,
        CUBLAS_GEMM_DEFAULT);
    if (st != CUBLAS_STATUS_SUCCESS) return cublas_err(st, "GemmStridedBatchedEx (QK^T)");
    softmax_padded_kernel<<<dim3((unsigned)rows, (unsigned)a->b), 256, 0, stream>>>(*a, pb.s, pb.p, ms);
    KB_CUDA_TRY(cudaGetLastError());
    // O^T (col-major 512 x rows) = V (first 512 rows of col-major 576 x max_s) * P^T (max_s x rows)
    const mla_gemm g2 = mla_cublas_pv(rows, ms);
    st = cublasGemmStridedBatchedEx(cs->h, op(g2.trans_a), op(g2.trans_b), g2.m, g2.n, g2.k, &one, pb.k, CUDA_R_16BF,
                                    g2.lda, g2.stride_a, pb.p, CUDA_R_16BF, g2.ldb, g2.stride_b, &zero, a->o,
                                    CUDA_R_16BF, g2.ldc, g2.stride_c, a->b, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    if (st != CUBLAS_STATUS_SUCCESS) return cublas_err(st, "GemmStridedBatchedEx (PV)");
    return KB_OK;
}

// One grouped call (gemm 0: QK^T, 1: PV), every group one sequence.
cublasStatus_t grouped(cublas_state *cs, int g)
{
    varlen_bufs &v = cs->var;
    return cublasGemmGroupedBatchedEx(cs->h, v.ta[g], v.tb[g], v.m[g], v.n[g], v.kk[g], v.alpha, v.dA[g], CUDA_R_16BF,
                                      v.lda[g], v.dB[g], CUDA_R_16BF, v.ldb[g], v.beta, v.dC[g], CUDA_R_16BF, v.ldc[g],
                                      v.ng, v.gsize, CUBLAS_COMPUTE_32F);
}

kb_status run_varlen(const mla_decode_args *a, cublas_state *cs, cudaStream_t stream, bool gather)
{
    varlen_bufs &v = cs->var;
    if (v.oom) return kb_skip("cuBLAS varlen baseline needs %.1f GB of buffers", v.need_gb);
    const int rows = a->s_q * a->h_q;
    const unsigned pages = (unsigned)mla_cublas_ld(a->max_seqlen) / MLA_PAGE;
    if (gather && pages) {
        gather_kernel<<<dim3(pages, (unsigned)a->b), 256, 0, stream>>>(*a, v.koff_d, v.k, 0);
        KB_CUDA_TRY(cudaGetLastError());
    }
    if (v.ng) {
        cublasStatus_t st = grouped(cs, 0);
        if (st != CUBLAS_STATUS_SUCCESS) return cublas_err(st, "GemmGroupedBatchedEx (QK^T)");
    }
    softmax_varlen_kernel<<<dim3((unsigned)rows, (unsigned)a->b), 256, 0, stream>>>(*a, v.koff_d, v.s);
    KB_CUDA_TRY(cudaGetLastError());
    if (v.ng) {
        cublasStatus_t st = grouped(cs, 1);
        if (st != CUBLAS_STATUS_SUCCESS) return cublas_err(st, "GemmGroupedBatchedEx (PV)");
    }
    return KB_OK;
}

kb_status run(const mla_decode_args *a, cudaStream_t stream, bool varlen, bool gather)
{
    cublas_state *cs = static_cast<cublas_state *>(a->cublas_state);
    if (!cs) return kb_error("cuBLAS reference not initialised");
    if (a->max_seqlen == 0) return kb_skip("every sequence is empty");
    cublasStatus_t st = cublasSetStream(cs->h, stream);
    if (st != CUBLAS_STATUS_SUCCESS) return cublas_err(st, "SetStream");
    return varlen ? run_varlen(a, cs, stream, gather) : run_padded(a, cs, stream, gather);
}

// Allocation that may fail for size: clears the error, the launchers skip.
bool try_alloc(void **p, size_t bytes)
{
    if (cudaMalloc(p, bytes) == cudaSuccess) return true;
    (void)cudaGetLastError();
    *p = nullptr;
    return false;
}

kb_status init_padded(const mla_decode_args *a, padded_bufs &pb, cudaStream_t stream)
{
    pb.max_s = mla_cublas_ld(a->max_seqlen);
    const size_t rows = (size_t)a->s_q * a->h_q;
    const size_t ks = (size_t)a->b * pb.max_s * MLA_D_QK * 2, ss = (size_t)a->b * rows * pb.max_s;
    pb.need_gb = (double)(ks + ss * 6) / 1e9;
    if (!try_alloc((void **)&pb.k, ks) || !try_alloc((void **)&pb.s, ss * sizeof(float)) ||
        !try_alloc((void **)&pb.p, ss * 2)) {
        pb.oom = true;
        return KB_OK;
    }
    // rows past each sequence's pages stay zero (finite: 0 * pad must not make NaN in P V)
    KB_CUDA_TRY(cudaMemsetAsync(pb.k, 0, ks, stream));
    if (pb.max_s)
        gather_kernel<<<dim3((unsigned)(pb.max_s / MLA_PAGE), (unsigned)a->b), 256, 0, stream>>>(*a, nullptr, pb.k,
                                                                                                  pb.max_s);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}

// Host arrays of the grouped calls and the device pointer arrays.
kb_status init_varlen_args(const mla_decode_args *a, varlen_bufs &v, const int64_t *koff)
{
    const int rows = a->s_q * a->h_q, ng = v.ng;
    const void **hA[2], **hB[2];
    void **hC[2];
    for (int g = 0; g < 2; g++) {
        v.ta[g] = (cublasOperation_t *)calloc((size_t)ng + 1, sizeof(cublasOperation_t));
        v.tb[g] = (cublasOperation_t *)calloc((size_t)ng + 1, sizeof(cublasOperation_t));
        int **ints[6] = {&v.m[g], &v.n[g], &v.kk[g], &v.lda[g], &v.ldb[g], &v.ldc[g]};
        for (int i = 0; i < 6; i++) *ints[i] = (int *)calloc((size_t)ng + 1, sizeof(int));
        hA[g] = (const void **)calloc((size_t)ng + 1, sizeof(void *));
        hB[g] = (const void **)calloc((size_t)ng + 1, sizeof(void *));
        hC[g] = (void **)calloc((size_t)ng + 1, sizeof(void *));
    }
    v.gsize = (int *)calloc((size_t)ng + 1, sizeof(int));
    v.alpha = (float *)calloc((size_t)ng + 1, sizeof(float));
    v.beta = (float *)calloc((size_t)ng + 1, sizeof(float));
    kb_status st = KB_OK;
    for (int g = 0; g < 2 && st == KB_OK; g++)
        if (!v.ta[g] || !v.tb[g] || !v.m[g] || !v.n[g] || !v.kk[g] || !v.lda[g] || !v.ldb[g] || !v.ldc[g] || !hA[g] ||
            !hB[g] || !hC[g])
            st = kb_error("cuBLAS varlen: out of host memory");
    if (st == KB_OK && (!v.gsize || !v.alpha || !v.beta)) st = kb_error("cuBLAS varlen: out of host memory");
    for (int bi = 0, i = 0; bi < a->b && st == KB_OK; bi++) {
        const int len = a->seqlens_host[bi], ld = mla_cublas_ld(len);
        if (!len) continue;
        const mla_gemm gm[2] = {mla_cublas_qk_var(rows, len, ld), mla_cublas_pv_var(rows, len, ld)};
        __nv_bfloat16 *k = v.k + koff[bi] * MLA_D_QK, *s = v.s + koff[bi] * rows;
        const void *A[2] = {k, k}, *B[2] = {a->q + (size_t)bi * rows * MLA_D_QK, s};
        void *C[2] = {s, a->o + (size_t)bi * rows * MLA_D_V};
        for (int g = 0; g < 2; g++) {
            v.ta[g][i] = op(gm[g].trans_a);
            v.tb[g][i] = op(gm[g].trans_b);
            v.m[g][i] = gm[g].m, v.n[g][i] = gm[g].n, v.kk[g][i] = gm[g].k;
            v.lda[g][i] = gm[g].lda, v.ldb[g][i] = gm[g].ldb, v.ldc[g][i] = gm[g].ldc;
            hA[g][i] = A[g], hB[g][i] = B[g], hC[g][i] = C[g];
        }
        v.gsize[i] = 1, v.alpha[i] = 1.f, v.beta[i] = 0.f;
        i++;
    }
    for (int g = 0; g < 2 && st == KB_OK; g++) {
        const size_t pb = (size_t)(ng + 1) * sizeof(void *);
        if (cudaMalloc((void **)&v.dA[g], pb) != cudaSuccess || cudaMalloc((void **)&v.dB[g], pb) != cudaSuccess ||
            cudaMalloc((void **)&v.dC[g], pb) != cudaSuccess || cudaMemcpy(v.dA[g], hA[g], pb, cudaMemcpyHostToDevice) ||
            cudaMemcpy(v.dB[g], hB[g], pb, cudaMemcpyHostToDevice) || cudaMemcpy(v.dC[g], hC[g], pb, cudaMemcpyHostToDevice))
            st = kb_error("cuBLAS varlen: pointer arrays: %s", cudaGetErrorString(cudaGetLastError()));
    }
    for (int g = 0; g < 2; g++) {
        free(hA[g]);
        free(hB[g]);
        free(hC[g]);
    }
    return st;
}

kb_status init_varlen(const mla_decode_args *a, varlen_bufs &v, cudaStream_t stream)
{
    const size_t rows = (size_t)a->s_q * a->h_q;
    int64_t *koff = (int64_t *)malloc((size_t)a->b * sizeof(int64_t));
    if (!koff) return kb_error("cuBLAS varlen: out of host memory");
    int64_t tot = 0;
    v.ng = 0;
    for (int bi = 0; bi < a->b; bi++) {
        koff[bi] = tot;
        tot += mla_cublas_ld(a->seqlens_host[bi]);
        v.ng += a->seqlens_host[bi] > 0;
    }
    const size_t ks = (size_t)tot * MLA_D_QK * 2, ss = (size_t)tot * rows * 2;
    v.need_gb = (double)(ks + ss) / 1e9;
    kb_status st = KB_OK;
    if (!try_alloc((void **)&v.k, ks ? ks : 16) || !try_alloc((void **)&v.s, ss ? ss : 16)) {
        v.oom = true;
    } else if (cudaMalloc((void **)&v.koff_d, (size_t)a->b * sizeof(int64_t)) != cudaSuccess ||
               cudaMemcpy(v.koff_d, koff, (size_t)a->b * sizeof(int64_t), cudaMemcpyHostToDevice) != cudaSuccess) {
        st = kb_error("cuBLAS varlen: offsets: %s", cudaGetErrorString(cudaGetLastError()));
    } else {
        st = init_varlen_args(a, v, koff);
        const unsigned pages = (unsigned)mla_cublas_ld(a->max_seqlen) / MLA_PAGE;
        if (st == KB_OK && pages) {
            gather_kernel<<<dim3(pages, (unsigned)a->b), 256, 0, stream>>>(*a, v.koff_d, v.k, 0);
            if (cudaGetLastError() != cudaSuccess) st = kb_error("cuBLAS varlen: gather launch failed");
        }
    }
    free(koff);
    return st;
}

void free_varlen(varlen_bufs &v)
{
    cudaFree(v.k);
    cudaFree(v.s);
    cudaFree(v.koff_d);
    for (int g = 0; g < 2; g++) {
        free(v.ta[g]), free(v.tb[g]), free(v.m[g]), free(v.n[g]), free(v.kk[g]);
        free(v.lda[g]), free(v.ldb[g]), free(v.ldc[g]);
        cudaFree(v.dA[g]), cudaFree(v.dB[g]), cudaFree(v.dC[g]);
    }
    free(v.gsize), free(v.alpha), free(v.beta);
}
} // namespace

extern "C" kb_status mla_cublas_init(mla_decode_args *a, cudaStream_t stream)
{
    cublas_state *cs = static_cast<cublas_state *>(calloc(1, sizeof(cublas_state)));
    if (!cs) return kb_error("out of host memory");
    a->cublas_state = cs;
    KB_CUBLAS_TRY(cublasCreate(&cs->h));
    KB_TRY(init_varlen(a, cs->var, stream));
    KB_TRY(init_padded(a, cs->pad, stream));
    KB_CUDA_TRY(cudaStreamSynchronize(stream));
    return KB_OK;
}

extern "C" void mla_cublas_free(mla_decode_args *a)
{
    cublas_state *cs = static_cast<cublas_state *>(a->cublas_state);
    if (!cs) return;
    if (cs->h) cublasDestroy(cs->h);
    cudaFree(cs->pad.k);
    cudaFree(cs->pad.s);
    cudaFree(cs->pad.p);
    free_varlen(cs->var);
    free(cs);
    a->cublas_state = NULL;
}

extern "C" kb_status mla_decode_cublas_varlen(void *ctx, cudaStream_t stream)
{
    return run(static_cast<const mla_decode_args *>(ctx), stream, true, true);
}

extern "C" kb_status mla_decode_cublas_varlen_nogather(void *ctx, cudaStream_t stream)
{
    return run(static_cast<const mla_decode_args *>(ctx), stream, true, false);
}

extern "C" kb_status mla_decode_cublas_padded(void *ctx, cudaStream_t stream)
{
    return run(static_cast<const mla_decode_args *>(ctx), stream, false, true);
}
