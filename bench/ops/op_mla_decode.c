/* op_mla_decode.c - MLA decode over a paged KV cache (FlashMLA semantics).
 *
 * Semantics and layouts: kernels/mla_decode/mla_decode.h.
 *
 * Shape dims (MLA_D_*, bench/ops/op_common.h): b, sk = mean s_k, hq = h_q,
 *   sq = s_q, pattern = length pattern (0: ~Normal(s_k, s_k/2) clipped,
 *   1: "skew", one 16*s_k sequence and short others), fp8kv = 1 for the FP8
 *   KV cache (dtype "fp8kv"), else 0.
 * Per-sequence lengths come from mla_decode_gen_seqlens(b, s_k, s_q, pattern)
 * (seeded by the dims), so flops()/bytes() are exact and reproducible.
 *
 * Napkin math (per shape, S = sum of seqlens, R = b*s_q*h_q query rows):
 *   FLOPs = 2*s_q*h_q*S*(576 + 512)   (QK^T over 576, PV over 512)
 *   bytes = 2*(S*576 + R*(576 + 512)) (KV once, q in, o out; bf16)
 *         = 656*S + 2*R*(576 + 512)   (fp8kv: 656 B per cached token)
 *   Intensity ~ 2*h_q*s_q FLOP/B (bf16): memory-bound while h_q*s_q <= ~64,
 *   compute-bound for h_q*s_q >= ~128 on an H100/H800 (989 TFLOPS / 3.35 TB/s).
 *   Example b=128, s_k=4096, h_q=16, s_q=1 (S ~ 128*4096): ~0.60 GB, ~180 us at
 *   3.35 TB/s.
 *
 * Sets (documented choice, not the full 4*5*4*2*2 = 320 cross product):
 *   FULL:  (a) the model grid from deepseek-v3.md: b=128 x s_k {4096, 8192,
 *          16384, 32768} x h_q {16, 32, 64, 128} x s_q {1, 2}, bf16 (32);
 *          (b) batch / short-context sweep: b {1, 16, 64} x s_k {1024, 8192}
 *          x h_q {16, 128}, s_q 1, plus b=128, s_k=1024, h_q {16, 128} x s_q
 *          {1, 2} (16); (c) skew: b=64, s_k=4096, h_q {16, 128}, s_q 1 and
 *          b=128, s_k=1024, h_q 64, s_q 2 (3); (d) fp8kv: b=128 x s_k {4096,
 *          8192} x h_q {16, 64, 128} x s_q {1, 2} (12).  Every listed value of
 *          b, s_k, h_q, s_q and both dtypes appear.
 *   QUICK: 8 of the above (memory-bound, compute-bound, b=128 s_k=8192
 *          against the cuBLAS baselines, skew, b=1, fp8kv).
 *   SMALL: b=2 s_k=200 h_q=16 s_q {1, 2} (bf16, fp8kv), b=3 s_k=300 h_q=128
 *          s_q=2 bf16, b=4 s_k=64 skew h_q=32 s_q=1, and pattern 2 ("empty":
 *          sequence 1 has seqlen 0, o = 0 and lse = -inf there) b=3 s_k=200
 *          h_q=16 s_q=2 bf16 and s_q=1 fp8kv: every output is checked.
 *
 * Cache tails: setup fills the slots past seqlen in each sequence's last page
 * with NaN (bytes 0xff: NaN as BF16, E4M3 and FP32 scales), as a real serving
 * cache may hold there; every implementation must keep them out of P V, and
 * the full NaN scan in verify catches one that does not.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/kb.h"
#include "bench/ops/op_common.h"
#include "kernels/mla_decode/mla_decode.h"
#include "kernels/mla_decode/mla_layout.h"
#include "reference/mla_decode_cpu.h"

static kb_shape_table table;

/* Adding a label again (a quick shape that is also in full) merges the sets. */
static void add(kb_shape_table *t, int b, int sk, int h, int sq, int pattern, int fp8, unsigned sets)
{
    const int64_t d[KB_MAX_DIMS] = {[MLA_D_B] = b,   [MLA_D_SK] = sk,           [MLA_D_HQ] = h,
                                    [MLA_D_SQ] = sq, [MLA_D_PATTERN] = pattern, [MLA_D_FP8KV] = fp8};
    static const char *const pat_sfx[] = {"", "_skew", "_empty"};
    kb_shape_add(t, sets, fp8 ? "fp8kv" : "bf16", d, "b%d_sk%d_h%d_sq%d%s%s", b, sk, h, sq, pat_sfx[pattern],
                 fp8 ? "_fp8kv" : "");
}

static void build_shapes(kb_shape_table *t)
{
    const unsigned F = KB_SET_FULL, Q = KB_SET_QUICK | KB_SET_FULL, S = KB_SET_SMALL;
    static const int sks[] = {4096, 8192, 16384, 32768}, hs[] = {16, 32, 64, 128};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            for (int sq = 1; sq <= 2; sq++) add(t, 128, sks[i], hs[j], sq, 0, 0, F);
    static const int bs[] = {1, 16, 64};
    for (int i = 0; i < 3; i++) {
        add(t, bs[i], 1024, 16, 1, 0, 0, F);
        add(t, bs[i], 1024, 128, 1, 0, 0, F);
        add(t, bs[i], 8192, 16, 1, 0, 0, F);
        add(t, bs[i], 8192, 128, 1, 0, 0, F);
    }
    for (int sq = 1; sq <= 2; sq++) {
        add(t, 128, 1024, 16, sq, 0, 0, F);
        add(t, 128, 1024, 128, sq, 0, 0, F);
    }
    add(t, 64, 4096, 16, 1, 1, 0, F);
    add(t, 64, 4096, 128, 1, 1, 0, F);
    add(t, 128, 1024, 64, 2, 1, 0, F);
    static const int fh[] = {16, 64, 128};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int sq = 1; sq <= 2; sq++) add(t, 128, i ? 8192 : 4096, fh[j], sq, 0, 1, F);
    /* quick (also in full) */
    add(t, 128, 4096, 16, 1, 0, 0, Q);
    add(t, 128, 8192, 16, 1, 0, 0, Q);
    add(t, 128, 8192, 128, 2, 0, 0, Q);
    add(t, 128, 8192, 64, 1, 0, 0, Q);
    add(t, 64, 4096, 16, 1, 1, 0, Q);
    add(t, 1, 8192, 128, 1, 0, 0, Q);
    add(t, 128, 4096, 16, 1, 0, 1, Q);
    add(t, 128, 8192, 128, 2, 0, 1, Q);
    /* small, CPU-checkable */
    add(t, 2, 200, 16, 1, 0, 0, S);
    add(t, 2, 200, 16, 2, 0, 0, S);
    add(t, 2, 200, 16, 1, 0, 1, S);
    add(t, 2, 200, 16, 2, 0, 1, S);
    add(t, 3, 300, 128, 2, 0, 0, S);
    add(t, 4, 64, 32, 1, 1, 0, S);
    /* an empty sequence (seqlen 0) between two others: o = 0, lse = -inf */
    add(t, 3, 200, 16, 2, 2, 0, S);
    add(t, 3, 200, 16, 1, 2, 1, S);
}

static const kb_shape *shapes(int *n) { return kb_op_table(&table, build_shapes, n); }

static int64_t sum_seqlens(const kb_shape *s)
{
    int b = (int)s->d[MLA_D_B];
    int32_t *len = malloc((size_t)b * sizeof(int32_t));
    if (!len) return 0;
    mla_decode_gen_seqlens(b, (int)s->d[MLA_D_SK], (int)s->d[MLA_D_SQ], (int)s->d[MLA_D_PATTERN], len);
    int64_t sum = 0;
    for (int i = 0; i < b; i++) sum += len[i];
    free(len);
    return sum;
}

static double flops(const kb_shape *s)
{
    return 2.0 * (double)s->d[MLA_D_SQ] * (double)s->d[MLA_D_HQ] * (double)sum_seqlens(s) * (MLA_D_QK + MLA_D_V);
}

static double bytes(const kb_shape *s)
{
    double S = (double)sum_seqlens(s);
    double rows = (double)s->d[MLA_D_B] * (double)s->d[MLA_D_SQ] * (double)s->d[MLA_D_HQ];
    double kv = s->d[MLA_D_FP8KV] ? (double)MLA_FP8_TOKEN_BYTES * S : 2.0 * MLA_D_QK * S;
    return kv + 2.0 * rows * (MLA_D_QK + MLA_D_V);
}

/* The work the cuBLAS baselines really execute, as multiples of the op's
 * FLOPs and bytes (mla_cublas_work: GEMM FLOPs, modelled HBM bytes of gather
 * + GEMMs + softmax), written into every row's metrics column:
 * padded_flops_x, padded_bytes_x (cublas_padded), varlen_flops_x,
 * varlen_bytes_x (cublas_varlen; 1.0 FLOPs: the real lengths). */
static void metrics(const kb_shape *s, double seconds, char *buf, size_t n)
{
    (void)seconds;
    const int b = (int)s->d[MLA_D_B], rows = (int)(s->d[MLA_D_SQ] * s->d[MLA_D_HQ]);
    const int tok = s->d[MLA_D_FP8KV] ? MLA_FP8_TOKEN_BYTES : 2 * MLA_D_QK;
    int32_t *len = malloc((size_t)b * sizeof(int32_t));
    if (!len) return;
    mla_decode_gen_seqlens(b, (int)s->d[MLA_D_SK], (int)s->d[MLA_D_SQ], (int)s->d[MLA_D_PATTERN], len);
    double pf, pb, vf, vb;
    mla_cublas_work(len, b, rows, 1, 1, tok, &pf, &pb);
    mla_cublas_work(len, b, rows, 0, 1, tok, &vf, &vb);
    free(len);
    const double f = flops(s), by = bytes(s);
    snprintf(buf, n, "padded_flops_x=%.3f;padded_bytes_x=%.3f;varlen_flops_x=%.3f;varlen_bytes_x=%.3f", pf / f, pb / by,
             vf / f, vb / by);
}

/* ---- GPU side -------------------------------------------------------------- */
typedef struct mla_ctx {
    mla_decode_args a;    /* first member: launchers cast ctx to it */
    int32_t *seqlens_h, *block_table_h;
    uint16_t *q_h;        /* host copy of q                         */
    void *cache_dev;      /* the allocation behind kv / kv_fp8      */
    int32_t *seqlens_d, *block_table_d, *sched_d;
    int nref;             /* checked rows                            */
    int *ref_batch, *ref_row; /* row = i*h_q + h                    */
    double *ref_o, *ref_lse;
    int full_check;
} mla_ctx;

/* --axis shapes: FlashMLA's h_q <= 128; sequences of at least max(s_q, 32)
 * keys (mla_decode_gen_seqlens) need s_k >= 32 and s_k >= s_q; the "empty"
 * pattern needs a second sequence; int token counts (pattern 1: one 16 s_k
 * sequence) stay under 2^31; the dtype follows fp8kv. */
static int check(const kb_shape *s, char *why, size_t n)
{
    const char *op = "mla_decode";
    const int64_t b = s->d[MLA_D_B], sk = s->d[MLA_D_SK], sq = s->d[MLA_D_SQ], pat = s->d[MLA_D_PATTERN];
    const int64_t fp8 = s->d[MLA_D_FP8KV];
    if (kb_check_dim(op, "b", b, pat == 2 ? 2 : 1, 4096, 1, why, n) || kb_check_dim(op, "sq", sq, 1, 16, 1, why, n) ||
        kb_check_dim(op, "sk", sk, sq > 32 ? sq : 32, 1 << 22, 1, why, n) ||
        kb_check_dim(op, "hq", s->d[MLA_D_HQ], 1, 128, 1, why, n) ||
        kb_check_dim(op, "pattern", pat, 0, 2, 1, why, n) || kb_check_dim(op, "fp8kv", fp8, 0, 1, 1, why, n))
        return 1;
    if ((double)b * (double)sk * 16 >= 2147483648.0)
        return -kb_shape_refuse(why, n, "%s: b=%lld sk=%lld: b*sk*16 keys reach 2^31", op, (long long)b, (long long)sk);
    return kb_check_dtype(op, s, "fp8kv", fp8, fp8 ? "fp8kv" : "bf16", why, n);
}

static void teardown(void *p)
{
    mla_ctx *c = p;
    if (!c) return;
    mla_cublas_free(&c->a);
    mla_sched_free(&c->a.sched);
    const void *dev[] = {c->cache_dev, c->a.q, c->a.o, c->a.lse, c->a.o_accum, c->a.lse_accum, c->seqlens_d, c->block_table_d, c->sched_d};
    void *host[] = {c->seqlens_h, c->block_table_h, c->q_h, c->ref_batch, c->ref_row, c->ref_o, c->ref_lse};
    kb_op_free(c, dev, KB_OP_LEN(dev), host, KB_OP_LEN(host));
}

/* Reference rows: every row at small problems, else a seeded sample of
 * (batch, row) pairs (8 batches incl. batch 0, 4 rows each). */
static kb_status build_reference(mla_ctx *c, uint64_t seed)
{
    mla_decode_args *a = &c->a;
    int rows = a->s_q * a->h_q;
    size_t tok_bytes = a->fp8kv ? MLA_FP8_TOKEN_BYTES : 2 * MLA_D_QK;
    c->full_check = (double)a->sum_seqlen * rows <= 2.5e6;
    kb_rng r;
    kb_rng_seed(&r, seed ^ 0x5eedull);
    int nb = c->full_check ? a->b : (a->b < 8 ? a->b : 8);
    int per = c->full_check ? rows : 4;
    c->nref = nb * per;
    c->ref_batch = malloc((size_t)c->nref * sizeof(int));
    c->ref_row = malloc((size_t)c->nref * sizeof(int));
    c->ref_o = malloc((size_t)c->nref * MLA_D_V * sizeof(double));
    c->ref_lse = malloc((size_t)c->nref * sizeof(double));
    if (!c->ref_batch || !c->ref_row || !c->ref_o || !c->ref_lse) return kb_error("mla_decode: out of host memory");
    int k = 0;
    for (int j = 0; j < nb; j++) {
        int bi = c->full_check ? j : (j == 0 ? 0 : (int)(kb_rng_next(&r) % (uint64_t)a->b));
        for (int t = 0; t < per; t++, k++) {
            c->ref_batch[k] = bi;
            /* always check the last row (latest query, last head) of batch 0 */
            c->ref_row[k] = c->full_check ? t : (j == 0 && t == 0 ? rows - 1 : (int)(kb_rng_next(&r) % (uint64_t)rows));
        }
    }
    /* compute per batch on a compact host copy of its pages */
    int npages_max = a->max_blocks;
    uint8_t *pages = malloc((size_t)npages_max * MLA_PAGE * tok_bytes);
    int32_t *ident = malloc((size_t)npages_max * sizeof(int32_t));
    if (!pages || !ident) {
        free(pages);
        free(ident);
        return kb_error("mla_decode: out of host memory for the reference");
    }
    for (int i = 0; i < npages_max; i++) ident[i] = i;
    int loaded = -1;
    const uint8_t *cache = c->cache_dev;
    for (k = 0; k < c->nref; k++) {
        int bi = c->ref_batch[k];
        int len = c->seqlens_h[bi];
        int np = (len + MLA_PAGE - 1) / MLA_PAGE;
        if (bi != loaded) {
            for (int p = 0; p < np; p++) {
                size_t page = (size_t)c->block_table_h[(size_t)bi * a->max_blocks + p];
                cudaError_t e = cudaMemcpy(pages + (size_t)p * MLA_PAGE * tok_bytes,
                                           cache + page * MLA_PAGE * tok_bytes, MLA_PAGE * tok_bytes,
                                           cudaMemcpyDeviceToHost);
                if (e != cudaSuccess) {
                    free(pages);
                    free(ident);
                    return kb_error("mla_decode reference copy: %s", cudaGetErrorString(e));
                }
            }
            loaded = bi;
        }
        int row = c->ref_row[k], i = row / a->h_q;
        const uint16_t *q = c->q_h + ((size_t)bi * rows + row) * MLA_D_QK;
        mla_cpu_attend(q, pages, a->fp8kv, ident, 0, len, len - a->s_q + 1 + i, a->softmax_scale,
                       c->ref_o + (size_t)k * MLA_D_V, &c->ref_lse[k]);
    }
    free(pages);
    free(ident);
    return KB_OK;
}

/* Per-sequence lengths, page counts and the block table: a seeded random
 * permutation of the pages (shuffled); unused entries point at page 0 (never
 * read). */
static kb_status plan_pages(mla_ctx *c, const kb_shape *s, uint64_t seed)
{
    mla_decode_args *a = &c->a;
    const int b = a->b;
    c->seqlens_h = malloc((size_t)b * sizeof(int32_t));
    if (!c->seqlens_h) return kb_error("mla_decode: out of host memory");
    mla_decode_gen_seqlens(b, (int)s->d[MLA_D_SK], a->s_q, (int)s->d[MLA_D_PATTERN], c->seqlens_h);
    int max_len = 0, nblocks = 0;
    int64_t sum = 0;
    for (int i = 0; i < b; i++) {
        if (c->seqlens_h[i] > max_len) max_len = c->seqlens_h[i];
        nblocks += (c->seqlens_h[i] + MLA_PAGE - 1) / MLA_PAGE;
        sum += c->seqlens_h[i];
    }
    a->max_seqlen = max_len;
    a->sum_seqlen = sum;
    a->max_blocks = (max_len + MLA_PAGE - 1) / MLA_PAGE;
    a->num_blocks = nblocks;
    c->block_table_h = calloc((size_t)b * a->max_blocks, sizeof(int32_t));
    int32_t *perm = malloc((size_t)nblocks * sizeof(int32_t));
    if (!c->block_table_h || !perm) return free(perm), kb_error("mla_decode: out of host memory");
    kb_rng r;
    kb_rng_seed(&r, seed);
    for (int i = 0; i < nblocks; i++) perm[i] = i;
    for (int i = nblocks - 1; i > 0; i--) {
        int j = (int)(kb_rng_next(&r) % (uint64_t)(i + 1));
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int bi = 0, k = 0; bi < b; bi++)
        for (int p = 0; p < (c->seqlens_h[bi] + MLA_PAGE - 1) / MLA_PAGE; p++)
            c->block_table_h[(size_t)bi * a->max_blocks + p] = perm[k++];
    free(perm);
    a->seqlens_host = c->seqlens_h;
    a->block_table_host = c->block_table_h;
    return KB_OK;
}

/* NaN (0xff bytes) in the slots past seqlen of every sequence's last page. */
static kb_status poison_tails(const mla_ctx *c, size_t tok_bytes)
{
    const mla_decode_args *a = &c->a;
    for (int bi = 0; bi < a->b; bi++) {
        const int len = c->seqlens_h[bi], used = len % MLA_PAGE;
        if (used == 0) continue; /* empty, or the last page is full */
        const size_t page = (size_t)c->block_table_h[(size_t)bi * a->max_blocks + len / MLA_PAGE];
        KB_CUDA_TRY(cudaMemset((uint8_t *)c->cache_dev + (page * MLA_PAGE + (size_t)used) * tok_bytes, 0xff,
                               (size_t)(MLA_PAGE - used) * tok_bytes));
    }
    return KB_OK;
}

/* q, the KV cache, outputs and the page maps on the device; random q and
 * cache (NaN past seqlen), q copied back for the reference. */
static kb_status alloc_fill(mla_ctx *c, uint64_t seed)
{
    mla_decode_args *a = &c->a;
    const int b = a->b, rows = a->s_q * a->h_q;
    const size_t nq = (size_t)b * rows * MLA_D_QK;
    const size_t tok_bytes = a->fp8kv ? MLA_FP8_TOKEN_BYTES : 2 * MLA_D_QK;
    const size_t ntok = (size_t)a->num_blocks * MLA_PAGE;
    void *qd = NULL;
    KB_CUDA_TRY(cudaMalloc(&qd, nq * 2));
    a->q = qd;
    KB_CUDA_TRY(cudaMalloc(&c->cache_dev, ntok * tok_bytes));
    KB_CUDA_TRY(cudaMalloc((void **)&a->o, (size_t)b * rows * MLA_D_V * 2));
    KB_CUDA_TRY(cudaMalloc((void **)&a->lse, (size_t)b * rows * sizeof(float)));
    KB_CUDA_TRY(cudaMalloc((void **)&c->seqlens_d, (size_t)b * sizeof(int32_t)));
    KB_CUDA_TRY(cudaMalloc((void **)&c->block_table_d, (size_t)b * a->max_blocks * sizeof(int32_t)));
    KB_CUDA_TRY(cudaMemcpy(c->seqlens_d, c->seqlens_h, (size_t)b * sizeof(int32_t), cudaMemcpyHostToDevice));
    KB_CUDA_TRY(cudaMemcpy(c->block_table_d, c->block_table_h, (size_t)b * a->max_blocks * sizeof(int32_t),
                           cudaMemcpyHostToDevice));
    a->seqlens = c->seqlens_d;
    a->block_table = c->block_table_d;
    KB_TRY(kb_dev_fill_bf16(qd, nq, -1.0f, 1.0f, seed + 1, 0));
    if (a->fp8kv) {
        a->kv_fp8 = c->cache_dev;
        KB_TRY(mla_fill_fp8kv(c->cache_dev, ntok, seed + 2, 0));
    } else {
        a->kv = c->cache_dev;
        KB_TRY(kb_dev_fill_bf16(c->cache_dev, ntok * MLA_D_QK, -1.0f, 1.0f, seed + 2, 0));
    }
    KB_CUDA_TRY(cudaDeviceSynchronize());
    KB_TRY(poison_tails(c, tok_bytes));
    c->q_h = malloc(nq * 2);
    if (!c->q_h) return kb_error("mla_decode: out of host memory");
    KB_CUDA_TRY(cudaMemcpy(c->q_h, qd, nq * 2, cudaMemcpyDeviceToHost));
    return KB_OK;
}

/* Split-KV schedule (v2, v3: 64 query rows per CTA, one CTA per SM) and its
 * accumulators. */
static kb_status schedule(mla_ctx *c)
{
    mla_decode_args *a = &c->a;
    const int rows = a->s_q * a->h_q;
    int dev = 0;
    KB_CUDA_TRY(cudaGetDevice(&dev));
    KB_CUDA_TRY(cudaDeviceGetAttribute(&a->num_sms, cudaDevAttrMultiProcessorCount, dev));
    int groups = (rows + 63) / 64;
    int parts = a->num_sms / groups;
    if (parts < 1) parts = 1;
    if (mla_sched_build(&a->sched, c->seqlens_h, a->b, parts) != 0) return kb_error("mla_decode: scheduler out of memory");
    size_t plen = mla_sched_packed_len(&a->sched);
    int32_t *packed = malloc(plen * sizeof(int32_t));
    if (!packed) return kb_error("mla_decode: out of host memory");
    mla_sched_pack(&a->sched, packed);
    cudaError_t e = cudaMalloc((void **)&c->sched_d, plen * sizeof(int32_t));
    if (e == cudaSuccess) e = cudaMemcpy(c->sched_d, packed, plen * sizeof(int32_t), cudaMemcpyHostToDevice);
    free(packed);
    if (e != cudaSuccess) return kb_error("mla_decode sched upload: %s", cudaGetErrorString(e));
    a->sched_dev = c->sched_d;
    a->accum_slots = a->sched.num_slots > 0 ? (size_t)a->sched.num_slots : 1;
    KB_CUDA_TRY(cudaMalloc((void **)&a->o_accum, a->accum_slots * rows * MLA_D_V * sizeof(float)));
    KB_CUDA_TRY(cudaMalloc((void **)&a->lse_accum, a->accum_slots * rows * sizeof(float)));
    return KB_OK;
}

static kb_status build(void *ctx, const kb_shape *s)
{
    mla_ctx *c = ctx;
    mla_decode_args *a = &c->a;
    a->b = (int)s->d[MLA_D_B];
    a->h_q = (int)s->d[MLA_D_HQ];
    a->s_q = (int)s->d[MLA_D_SQ];
    a->fp8kv = (int)s->d[MLA_D_FP8KV];
    a->softmax_scale = (float)(1.0 / sqrt((double)MLA_D_QK));
    const uint64_t seed = kb_seed_for("mla_decode", s);
    KB_TRY(plan_pages(c, s, seed));
    KB_TRY(alloc_fill(c, seed));
    KB_TRY(schedule(c));
    KB_TRY(mla_cublas_init(a, 0));
    return build_reference(c, seed);
}

static kb_status setup(const kb_shape *s, void **out) { return kb_op_setup(s, out, sizeof(mla_ctx), build, teardown); }

static kb_status poison(void *p, cudaStream_t st)
{
    mla_ctx *c = p;
    mla_decode_args *a = &c->a;
    size_t rows = (size_t)a->b * a->s_q * a->h_q;
    KB_TRY(kb_dev_poison(a->o, rows * MLA_D_V * 2, st));
    KB_TRY(kb_dev_poison(a->lse, rows * sizeof(float), st));
    size_t r1 = (size_t)a->s_q * a->h_q;
    KB_TRY(kb_dev_poison(a->o_accum, a->accum_slots * r1 * MLA_D_V * sizeof(float), st));
    KB_TRY(kb_dev_poison(a->lse_accum, a->accum_slots * r1 * sizeof(float), st));
    return KB_OK;
}

/* o scale check: the cosine is blind to a wrong normalisation (o off by a
 * common factor, e.g. a wrong 1/l or combine weight), so also require
 * max|o - ref| <= 2e-2 * max|ref| over the checked rows (BF16 output and BF16
 * P round at ~4e-3 relative).  lse: mla_lse_err <= MLA_LSE_TOL
 * (reference/mla_decode_cpu.h). */
#define MLA_O_REL_TOL 2e-2

/* Full scan of both outputs: a row that sees no key (mla_cpu_visible = 0:
 * empty sequence) must hold o = 0 and lse = -inf exactly (the defined result,
 * not a non-finite error); every other row finite o and lse. */
static size_t scan_outputs(const mla_ctx *c, const uint16_t *o, const float *lse)
{
    const mla_decode_args *a = &c->a;
    const int rows = a->s_q * a->h_q;
    size_t bad = 0;
    for (int bi = 0; bi < a->b; bi++)
        for (int r = 0; r < rows; r++) {
            const int empty = mla_cpu_visible(c->seqlens_h[bi], a->s_q, r / a->h_q) == 0;
            const uint16_t *orow = o + ((size_t)bi * rows + r) * MLA_D_V;
            const float l = lse[mla_lse_index(bi, a->h_q, a->s_q, r)];
            for (int d = 0; d < MLA_D_V; d++) {
                const float x = kb_bf16_to_f32(orow[d]);
                bad += empty ? x != 0.0f : !isfinite(x);
            }
            bad += empty ? l != -INFINITY : !isfinite(l);
        }
    return bad;
}

/* Errors of the checked rows against the reference: cosine, max abs error
 * relative to max|ref|, worst lse error (and its row). */
typedef struct mla_errs { double cd, rel, lse; int lse_at; } mla_errs;

static mla_errs ref_errors(const mla_ctx *c, const uint16_t *o, const float *lse, double *got)
{
    const mla_decode_args *a = &c->a;
    mla_errs e = {NAN, NAN, 0, -1};
    for (int k = 0; k < c->nref; k++) {
        int bi = c->ref_batch[k], row = c->ref_row[k];
        size_t orow = (size_t)bi * a->s_q * a->h_q + row;
        for (int d = 0; d < MLA_D_V; d++) got[(size_t)k * MLA_D_V + d] = kb_bf16_to_f32(o[orow * MLA_D_V + d]);
        double el = mla_lse_err(lse[mla_lse_index(bi, a->h_q, a->s_q, row)], c->ref_lse[k]);
        if (!(el <= e.lse)) { e.lse = el; e.lse_at = k; }
    }
    const size_t n = (size_t)c->nref * MLA_D_V;
    e.cd = kb_cos_diff(got, c->ref_o, n);
    double ref_max = 0;
    for (size_t i = 0; i < n; i++) ref_max = fmax(ref_max, fabs(c->ref_o[i]));
    e.rel = kb_max_abs_err(got, c->ref_o, n) / (ref_max > 0 ? ref_max : 1.0);
    return e;
}

static kb_status verify(void *p, double *err, const char **metric)
{
    mla_ctx *c = p;
    mla_decode_args *a = &c->a;
    *metric = "cos_diff";
    *err = NAN;
    size_t rows = (size_t)a->b * a->s_q * a->h_q;
    uint16_t *o = malloc(rows * MLA_D_V * 2);
    float *lse = malloc(rows * sizeof(float));
    double *got = malloc((size_t)c->nref * MLA_D_V * sizeof(double));
    if (!o || !lse || !got) {
        free(o); free(lse); free(got);
        return kb_error("mla_decode verify: out of host memory");
    }
    cudaError_t ce = cudaMemcpy(o, a->o, rows * MLA_D_V * 2, cudaMemcpyDeviceToHost);
    if (ce == cudaSuccess) ce = cudaMemcpy(lse, a->lse, rows * sizeof(float), cudaMemcpyDeviceToHost);
    if (ce != cudaSuccess) {
        free(o); free(lse); free(got);
        return kb_error("mla_decode verify copy: %s", cudaGetErrorString(ce));
    }
    const size_t bad = scan_outputs(c, o, lse);
    const mla_errs e = ref_errors(c, o, lse, got);
    free(o); free(lse); free(got);
    *err = e.cd;
    if (bad) return kb_error("%zu wrong values in o/lse (non-finite, or not o = 0, lse = -inf on a row with no key)", bad);
    if (!(e.cd < KB_TOL_MLA_COS)) return kb_error("cos diff %.3g >= %.0e (%d rows checked)", e.cd, KB_TOL_MLA_COS, c->nref);
    if (!(e.rel <= MLA_O_REL_TOL))
        return kb_error("o max error %.3g of max|ref| > %.0e (wrong scale?)", e.rel, MLA_O_REL_TOL);
    if (!(e.lse <= MLA_LSE_TOL))
        return kb_error("lse error %.3g > %.0e at batch %d row %d", e.lse, MLA_LSE_TOL,
                        e.lse_at >= 0 ? c->ref_batch[e.lse_at] : -1, e.lse_at >= 0 ? c->ref_row[e.lse_at] : -1);
    return KB_OK;
}

static const kb_impl impls[] = {
    {"v1", KB_IMPL_HAND, mla_decode_v1, "fused, one CTA per (sequence, 8 query rows), online softmax, FP32 CUDA cores"},
    {"v2", KB_IMPL_HAND, mla_decode_v2, "mma.sync BF16, split-KV (balanced scheduler) + lse combine; bf16 and fp8kv"},
    {"v3", KB_IMPL_HAND, mla_decode_v3, "Hopper wgmma BF16, TMA page tiles, double buffering, same scheduler (bf16 only)"},
    {"cublas_varlen", KB_IMPL_LIB, mla_decode_cublas_varlen, "gather pages + cuBLAS grouped QK^T over the real lengths + softmax kernel + grouped PV (BF16 scores)"},
    {"cublas_varlen_nogather", KB_IMPL_LIB, mla_decode_cublas_varlen_nogather, "as cublas_varlen, pages gathered at setup (not timed)"},
    {"cublas_padded", KB_IMPL_LIB, mla_decode_cublas_padded, "PADDED: every sequence at the longest length (b*max_s keys, metrics padded_flops_x), FP32 scores; naive baseline"},
};

const kb_op kb_op_mla_decode = {
    .name = "mla_decode",
    .what = "MLA decode over a paged KV cache (FlashMLA semantics), bf16 and FP8 KV",
    .peak = KB_PEAK_BF16,
    KB_OP_FUNCS,
    KB_IMPLS(impls),
    .metrics = metrics,
    .dims = {[MLA_D_B] = "b", [MLA_D_SK] = "sk", [MLA_D_HQ] = "hq", [MLA_D_SQ] = "sq", [MLA_D_PATTERN] = "pattern",
             [MLA_D_FP8KV] = "fp8kv"},
    .check = check,
};
