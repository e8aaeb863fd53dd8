/* op_moe_dispatch.c - permute tokens into expert order for the grouped GEMM,
 * FP8-quantised (1x128) on the way (semantics and layouts: kernels/moe/moe.h).
 *
 * Shapes (MOE_D_*, op_common.h): t tokens, e local experts (256 = no EP,
 * 32 = EP8, 8 = EP32), skew = routing (0 uniform, 1 skewed), fmt = output
 * format (moe_dispatch_fmt: 0 E4M3 contiguous, 1 BF16 contiguous, 2 E4M3 masked).
 *
 * Routing (generated on the host at setup, seeded): every token picks 8
 * distinct global experts of 256, uniformly or skewed (experts 3, 40, 77, 150
 * weigh 32x the others: each is picked by roughly half the tokens).  With E
 * local experts the T tokens stand for what one EP rank holds after the
 * all-to-all and every slot is served locally by expert (global % E): the GPU
 * handles exactly R = 8T rows, and segments are 256/E times longer than
 * without EP, as on a real EP rank (rank 0 of the skewed case holds the hot
 * experts: the worst-loaded rank, which sets the step time).  A token may
 * thus send two slots to one local expert; rows are per slot, so that is
 * harmless.  Slots with topk_idx = -1 (expert elsewhere) are supported by
 * every implementation and by the layout builder, but not generated here, so
 * that byte counts are exact.
 *
 * Napkin math (moe_dispatch_bytes in reference/moe_cpu.c): T=4096 E4M3:
 * x 58.7 MB read once + 32768 rows x (7168 + 224 B scales) written + maps
 * = 301 MB, ~0.1 ms at 3 TB/s.  No FLOPs counted (KB_PEAK_NONE).
 *
 * Verification: counts, offsets, group_idx and row_of must equal the CPU
 * layout builder's exactly (every implementation produces ascending slot order
 * inside a segment); rows of sampled slots (all slots when R <= 8192, else
 * 4096 seeded) against moe_quant_row_cpu: BF16 bit-exact, E4M3 codes equal or
 * adjacent (+-1 code, same sign: tolerates a rounding-tie corner of the
 * hardware cvt), scales within 1e-6 relative; every real row scanned for
 * NaN/Inf; E4M3 scales of padding rows must still hold the poison (padding
 * never written).  Metric "wrong" = number of failing elements.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cuda_runtime_api.h>
#include "bench/kb.h"
#include "bench/ops/op_common.h"
#include "reference/moe_cpu.h"
#include "kernels/moe/moe.h"

typedef struct dispatch_ctx {
    moe_dispatch_args a; /* first member */
    uint64_t seed;
    int64_t m_total;     /* contiguous: reference m_total */
    size_t out_rows;     /* rows allocated in out          */
    size_t sa_elems;
    uint16_t *h_x;       /* [T, K]        */
    int32_t *h_idx;      /* [T, 8] local  */
    int32_t *h_counts, *h_offsets, *h_row, *h_gidx;
} dispatch_ctx;

static const int disp_T[] = {128, 512, 4096, 16384};
static const int disp_E[] = {256, 32, 8};
static const char *const fmt_sfx[] = {"", "_bf16", "_masked"};
static const char *const fmt_dtype[] = {"e4m3", "bf16", "e4m3masked"};

static kb_shape_table table;

static void add(kb_shape_table *t, int T, int E, int skew, int fmt, unsigned sets)
{
    const int64_t d[KB_MAX_DIMS] = {[MOE_D_T] = T, [MOE_D_E] = E, [MOE_D_SKEW] = skew, [MOE_D_FMT] = fmt};
    kb_shape_add(t, sets, fmt_dtype[fmt], d, "t%d_e%d_%s%s", T, E, skew ? "skewed" : "uniform", fmt_sfx[fmt]);
}

static void build_shapes(kb_shape_table *t)
{
    for (int fmt = 0; fmt < 3; fmt++)
        for (int ti = 0; ti < 4; ti++)
            for (int ei = 0; ei < 3; ei++)
                for (int sk = 0; sk < 2; sk++) {
                    int T = disp_T[ti], E = disp_E[ei];
                    unsigned sets = KB_SET_FULL;
                    if (fmt == 0 && (T == 128 || T == 4096) && E != 8) sets |= KB_SET_QUICK;
                    if (fmt != 0 && T == 4096 && E == 256 && !sk) sets |= KB_SET_QUICK;
                    add(t, T, E, sk, fmt, sets);
                }
    for (int fmt = 0; fmt < 3; fmt++)
        for (int ei = 0; ei < 3; ei += 2)
            for (int sk = 0; sk < 2; sk++) add(t, 40, disp_E[ei], sk, fmt, KB_SET_SMALL);
}

static const kb_shape *shapes(int *n) { return kb_op_table(&table, build_shapes, n); }

static double flops(const kb_shape *s) { (void)s; return 0; }
static double bytes(const kb_shape *s) { return moe_dispatch_bytes((int)s->d[MOE_D_T], (int)s->d[MOE_D_E], (int)s->d[MOE_D_FMT]); }

/* --axis shapes: as moe_combine (E divides 256, T*8 rows of 7168 under 2^31
 * elements); fmt a moe_dispatch_fmt, and the dtype follows it. */
static int check(const kb_shape *s, char *why, size_t n)
{
    const int64_t e = s->d[MOE_D_E], fmt = s->d[MOE_D_FMT];
    if (kb_check_dim("moe_dispatch", "t", s->d[MOE_D_T], 1, 32768, 1, why, n) ||
        kb_check_dim("moe_dispatch", "e", e, 1, 256, 1, why, n) ||
        kb_check_dim("moe_dispatch", "skew", s->d[MOE_D_SKEW], 0, 1, 1, why, n) ||
        kb_check_dim("moe_dispatch", "fmt", fmt, MOE_FMT_E4M3, MOE_FMT_E4M3_MASKED, 1, why, n))
        return 1;
    if (256 % e) return -kb_shape_refuse(why, n, "moe_dispatch: e=%lld does not divide the 256 experts", (long long)e);
    return kb_check_dtype("moe_dispatch", s, "fmt", fmt, fmt_dtype[fmt], why, n);
}

static void teardown(void *p)
{
    dispatch_ctx *c = p;
    if (!c) return;
    const void *dev[] = {c->a.x, c->a.topk_idx, c->a.out, c->a.sa, c->a.counts, c->a.offsets, c->a.group_idx, c->a.row_of, c->a.workspace};
    void *host[] = {c->h_x, c->h_idx, c->h_counts, c->h_offsets, c->h_row, c->h_gidx};
    kb_op_free(c, dev, KB_OP_LEN(dev), host, KB_OP_LEN(host));
}

static kb_status build(void *ctx, const kb_shape *s)
{
    dispatch_ctx *c = ctx;
    int T = (int)s->d[MOE_D_T], E = (int)s->d[MOE_D_E], K = MOE_HIDDEN;
    size_t R = (size_t)T * MOE_TOPK;
    moe_dispatch_args *a = &c->a;
    a->fmt = (moe_dispatch_fmt)s->d[MOE_D_FMT];
    a->t = T;
    a->hidden = K;
    a->topk = MOE_TOPK;
    a->n_experts = E;
    a->m_cap = (int)moe_layout_m_cap(T, MOE_TOPK, E, MOE_ALIGN);
    c->seed = kb_seed_for("moe_dispatch", s);
    c->h_x = malloc((size_t)T * K * 2);
    c->h_idx = malloc(R * 4);
    c->h_counts = malloc((size_t)E * 4);
    c->h_offsets = malloc((size_t)(E + 1) * 4);
    c->h_row = malloc(R * 4);
    c->h_gidx = malloc((size_t)a->m_cap * 4);
    if (!c->h_x || !c->h_idx || !c->h_counts || !c->h_offsets || !c->h_row || !c->h_gidx) {
        return kb_error("moe_dispatch setup: out of host memory");
    }
    moe_routing_random(c->seed ^ 0x0e0e, T, E, (int)s->d[MOE_D_SKEW], c->h_idx);
    c->m_total = moe_layout_build(c->h_idx, T, MOE_TOPK, E, MOE_ALIGN, c->h_counts, c->h_offsets, c->h_row);
    if (c->m_total < 0) {
        return kb_error("moe_dispatch setup: layout build failed");
    }
    int elt = a->fmt == MOE_FMT_BF16 ? 2 : 1;
    if (a->fmt == MOE_FMT_E4M3_MASKED) {
        int maxc = 0;
        for (int e = 0; e < E; e++) maxc = c->h_counts[e] > maxc ? c->h_counts[e] : maxc;
        a->m_max = (maxc + MOE_ALIGN - 1) / MOE_ALIGN * MOE_ALIGN;
        if (moe_layout_build_masked(c->h_idx, T, MOE_TOPK, E, a->m_max, c->h_counts, c->h_row) < 0) {
                return kb_error("moe_dispatch setup: masked layout build failed");
        }
        c->out_rows = (size_t)E * a->m_max;
        c->sa_elems = (size_t)E * (K / MOE_QBLOCK) * a->m_max;
    } else {
        moe_layout_group_idx(c->h_counts, c->h_offsets, E, c->h_gidx, a->m_cap);
        c->out_rows = (size_t)a->m_cap;
        c->sa_elems = a->fmt == MOE_FMT_E4M3 ? (size_t)(K / MOE_QBLOCK) * a->m_cap : 0;
    }
    void *p;
    KB_CUDA_TRY(cudaMalloc(&p, (size_t)T * K * 2)); a->x = p;
    KB_CUDA_TRY(cudaMalloc(&p, R * 4)); a->topk_idx = p;
    KB_CUDA_TRY(cudaMalloc(&a->out, c->out_rows * K * elt));
    if (c->sa_elems) KB_CUDA_TRY(cudaMalloc((void **)&a->sa, c->sa_elems * 4));
    KB_CUDA_TRY(cudaMalloc((void **)&a->counts, (size_t)E * 4));
    if (a->fmt != MOE_FMT_E4M3_MASKED) {
        KB_CUDA_TRY(cudaMalloc((void **)&a->offsets, (size_t)(E + 1) * 4));
        KB_CUDA_TRY(cudaMalloc((void **)&a->group_idx, (size_t)a->m_cap * 4));
    }
    KB_CUDA_TRY(cudaMalloc((void **)&a->row_of, R * 4));
    a->workspace_bytes = moe_dispatch_workspace_bytes(a);
    if (a->workspace_bytes) KB_CUDA_TRY(cudaMalloc(&a->workspace, a->workspace_bytes));
    if (kb_dev_fill_bf16((void *)a->x, (size_t)T * K, -3.0f, 3.0f, c->seed, 0) != KB_OK) {
        return KB_FAIL;
    }
    KB_CUDA_TRY(cudaMemcpy(c->h_x, a->x, (size_t)T * K * 2, cudaMemcpyDeviceToHost));
    KB_CUDA_TRY(cudaMemcpy((void *)a->topk_idx, c->h_idx, R * 4, cudaMemcpyHostToDevice));
    return KB_OK;
}

static kb_status setup(const kb_shape *s, void **out) { return kb_op_setup(s, out, sizeof(dispatch_ctx), build, teardown); }

static kb_status poison(void *p, cudaStream_t st)
{
    dispatch_ctx *c = p;
    moe_dispatch_args *a = &c->a;
    KB_TRY(kb_dev_poison(a->out, c->out_rows * a->hidden * (a->fmt == MOE_FMT_BF16 ? 2 : 1), st));
    if (c->sa_elems) KB_TRY(kb_dev_poison(a->sa, c->sa_elems * 4, st));
    KB_TRY(kb_dev_poison(a->counts, (size_t)a->n_experts * 4, st));
    if (a->offsets) KB_TRY(kb_dev_poison(a->offsets, (size_t)(a->n_experts + 1) * 4, st));
    if (a->group_idx) KB_TRY(kb_dev_poison(a->group_idx, (size_t)a->m_cap * 4, st));
    KB_TRY(kb_dev_poison(a->row_of, (size_t)a->t * a->topk * 4, st));
    return KB_OK;
}

static int e4m3_close(uint8_t g, uint8_t c)
{
    if (g == c) return 1;
    if ((g & 0x7f) == 0x7f) return 0; /* NaN */
    return (g & 0x80) == (c & 0x80) && abs((int)(g & 0x7f) - (int)(c & 0x7f)) <= 1;
}

static int bf16_nonfinite(uint16_t h) { return (h & 0x7f80) == 0x7f80; }

/* ---- verify: named phases over one state; each returns KB_FAIL only when a
 * copy back fails, and counts wrong elements (the first one's message kept). */
typedef struct dispatch_check {
    const dispatch_ctx *c;
    int E, K, NB, elt, masked;
    size_t R, ld;        /* slots; rows per scale plane */
    size_t chunk_rows;
    int32_t *cnt, *off, *row, *gidx;
    float *sa, *sref;
    uint8_t *buf, *qref;
    size_t wrong;
    char msg[256];
} dispatch_check;

static void wrong_at(dispatch_check *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void wrong_at(dispatch_check *v, const char *fmt, ...)
{
    if (v->wrong++) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->msg, sizeof v->msg, fmt, ap);
    va_end(ap);
}

static kb_status copy_back(void *dst, const void *src, size_t n)
{
    if (cudaMemcpy(dst, src, n, cudaMemcpyDeviceToHost) != cudaSuccess)
        return kb_error("moe_dispatch verify: copy back failed");
    return KB_OK;
}

static kb_status check_alloc(dispatch_check *v)
{
    const dispatch_ctx *c = v->c;
    const moe_dispatch_args *a = &c->a;
    v->E = a->n_experts;
    v->K = a->hidden;
    v->NB = v->K / MOE_QBLOCK;
    v->R = (size_t)a->t * a->topk;
    v->elt = a->fmt == MOE_FMT_BF16 ? 2 : 1;
    v->masked = a->fmt == MOE_FMT_E4M3_MASKED;
    v->ld = v->masked ? (size_t)a->m_max : (size_t)a->m_cap;
    v->chunk_rows = (64u << 20) / ((size_t)v->K * v->elt);
    v->cnt = malloc((size_t)v->E * 4);
    v->off = malloc((size_t)(v->E + 1) * 4);
    v->row = malloc(v->R * 4);
    v->gidx = malloc((size_t)a->m_cap * 4);
    v->sa = c->sa_elems ? malloc(c->sa_elems * 4) : NULL;
    v->buf = malloc(v->chunk_rows * v->K * v->elt);
    v->qref = malloc((size_t)v->K);
    v->sref = malloc((size_t)v->NB * 4);
    if (!v->cnt || !v->off || !v->row || !v->gidx || (c->sa_elems && !v->sa) || !v->buf || !v->qref || !v->sref)
        return kb_error("moe_dispatch verify: out of host memory");
    return KB_OK;
}

static void check_free(dispatch_check *v)
{
    free(v->cnt);
    free(v->off);
    free(v->row);
    free(v->gidx);
    free(v->sa);
    free(v->buf);
    free(v->qref);
    free(v->sref);
}

/* Layout, exact: counts, row_of; contiguous also offsets and group_idx. */
static kb_status check_layout(dispatch_check *v)
{
    const dispatch_ctx *c = v->c;
    const moe_dispatch_args *a = &c->a;
    KB_TRY(copy_back(v->cnt, a->counts, (size_t)v->E * 4));
    KB_TRY(copy_back(v->row, a->row_of, v->R * 4));
    for (int e = 0; e < v->E; e++)
        if (v->cnt[e] != c->h_counts[e]) wrong_at(v, "counts[%d] = %d, want %d", e, v->cnt[e], c->h_counts[e]);
    for (size_t i = 0; i < v->R; i++)
        if (v->row[i] != c->h_row[i]) wrong_at(v, "row_of[%zu] = %d, want %d", i, v->row[i], c->h_row[i]);
    if (v->masked) return KB_OK;
    KB_TRY(copy_back(v->off, a->offsets, (size_t)(v->E + 1) * 4));
    KB_TRY(copy_back(v->gidx, a->group_idx, (size_t)a->m_cap * 4));
    for (int e = 0; e <= v->E; e++)
        if (v->off[e] != c->h_offsets[e]) wrong_at(v, "offsets[%d] = %d, want %d", e, v->off[e], c->h_offsets[e]);
    for (int r = 0; r < a->m_cap; r++)
        if (v->gidx[r] != c->h_gidx[r]) wrong_at(v, "group_idx[%d] = %d, want %d", r, v->gidx[r], c->h_gidx[r]);
    return KB_OK;
}

/* First row of expert e's segment (masked: its plane). */
static size_t seg_first(const dispatch_check *v, int e)
{
    return v->masked ? (size_t)e * v->c->a.m_max : (size_t)v->c->h_offsets[e];
}

/* Scales: real rows finite and positive, padding rows still poisoned. */
static kb_status check_scales(dispatch_check *v)
{
    const dispatch_ctx *c = v->c;
    if (!v->sa) return KB_OK;
    KB_TRY(copy_back(v->sa, c->a.sa, c->sa_elems * 4));
    for (int e = 0; e < v->E; e++) {
        const size_t r0 = seg_first(v, e);
        const size_t r1 = v->masked ? r0 + c->a.m_max : (size_t)c->h_offsets[e + 1];
        for (int g = 0; g < v->NB; g++) {
            const float *plane = v->masked ? v->sa + ((size_t)e * v->NB + g) * v->ld - r0 : v->sa + (size_t)g * v->ld;
            for (size_t r = r0; r < r1; r++) {
                float x = plane[r];
                uint32_t bits;
                memcpy(&bits, &x, 4);
                if (r < r0 + (size_t)c->h_counts[e]) {
                    if (!(isfinite(x) && x > 0)) wrong_at(v, "scale of row %zu group %d = %g", r, g, x);
                } else if (bits != 0xffffffffu) {
                    wrong_at(v, "padding row %zu (expert %d) written: scale %g", r, e, x);
                }
            }
        }
    }
    return KB_OK;
}

/* Full NaN/Inf scan of the real rows, chunked. */
static kb_status scan_rows(dispatch_check *v)
{
    const dispatch_ctx *c = v->c;
    const size_t row_bytes = (size_t)v->K * v->elt;
    for (int e = 0; e < v->E; e++) {
        const size_t r0 = seg_first(v, e), n = (size_t)c->h_counts[e];
        for (size_t done_rows = 0; done_rows < n; done_rows += v->chunk_rows) {
            size_t nr = n - done_rows < v->chunk_rows ? n - done_rows : v->chunk_rows;
            KB_TRY(copy_back(v->buf, (const uint8_t *)c->a.out + (r0 + done_rows) * row_bytes, nr * row_bytes));
            size_t nan = 0;
            if (v->elt == 1) {
                for (size_t i = 0; i < nr * v->K; i++) nan += (v->buf[i] & 0x7f) == 0x7f;
            } else {
                const uint16_t *h = (const uint16_t *)v->buf;
                for (size_t i = 0; i < nr * v->K; i++) nan += bf16_nonfinite(h[i]);
            }
            if (nan) wrong_at(v, "%zu NaN/Inf in rows of expert %d", nan, e);
            v->wrong += nan ? nan - 1 : 0;
        }
    }
    return KB_OK;
}

/* One E4M3 row (in buf) against moe_quant_row_cpu: codes and scales. */
static void check_e4m3_row(dispatch_check *v, size_t slot, size_t rw, const uint16_t *xr)
{
    const size_t m_max = (size_t)v->c->a.m_max;
    moe_quant_row_cpu(xr, v->K, v->qref, v->sref);
    for (int j = 0; j < v->K; j++)
        if (!e4m3_close(v->buf[j], v->qref[j]))
            wrong_at(v, "slot %zu (row %zu) elem %d: e4m3 0x%02x, want 0x%02x", slot, rw, j, v->buf[j], v->qref[j]);
    const size_t e = v->masked ? rw / m_max : 0, rr = v->masked ? rw % m_max : rw;
    for (int g = 0; g < v->NB; g++) {
        float x = v->masked ? v->sa[(e * v->NB + g) * v->ld + rr] : v->sa[(size_t)g * v->ld + rr];
        if (!(fabsf(x - v->sref[g]) <= 1e-6f * v->sref[g]))
            wrong_at(v, "slot %zu group %d: scale %.8g, want %.8g", slot, g, x, v->sref[g]);
    }
}

/* Rows of sampled slots (all when R <= 8192, else 4096 seeded) against the CPU. */
static kb_status check_samples(dispatch_check *v)
{
    const dispatch_ctx *c = v->c;
    const size_t R = v->R, row_bytes = (size_t)v->K * v->elt;
    kb_rng r;
    kb_rng_seed(&r, c->seed ^ 0x5a5a);
    const size_t ns = R <= 8192 ? R : 4096;
    for (size_t i = 0; i < ns; i++) {
        const size_t slot = R <= 8192 ? i : (size_t)(kb_rng_next(&r) % R);
        const size_t rw = (size_t)c->h_row[slot];
        const uint16_t *xr = c->h_x + (slot / c->a.topk) * v->K;
        KB_TRY(copy_back(v->buf, (const uint8_t *)c->a.out + rw * row_bytes, row_bytes));
        if (v->elt == 1)
            check_e4m3_row(v, slot, rw, xr);
        else if (memcmp(v->buf, xr, (size_t)v->K * 2))
            wrong_at(v, "bf16 row of slot %zu differs from x", slot);
    }
    return KB_OK;
}

static kb_status run_checks(dispatch_check *v)
{
    KB_TRY(check_alloc(v));
    KB_TRY(check_layout(v));
    if (v->wrong) return KB_OK; /* rows are meaningless with a wrong layout */
    KB_TRY(check_scales(v));
    KB_TRY(scan_rows(v));
    return check_samples(v);
}

static kb_status verify(void *p, double *err, const char **metric)
{
    dispatch_check v = {.c = p};
    *metric = "wrong";
    *err = NAN;
    kb_status st = run_checks(&v);
    if (st == KB_OK) {
        *err = (double)v.wrong;
        if (v.wrong) st = kb_error("moe_dispatch: %zu wrong; first: %s", v.wrong, v.msg);
    }
    check_free(&v);
    return st;
}

static const kb_impl impls[] = {
    {"v1", KB_IMPL_HAND, moe_dispatch_v1, "chunk histograms + scan + warp-ordered ranks, then one block per slot copying/quantising with scalar accesses (x read 8x)"},
    {"v2", KB_IMPL_HAND, moe_dispatch_v2, "fused persistent kernel: count, grid sync, scan, rank and write; x read once, 16-byte loads/stores, quantisation in registers"},
    {"cub", KB_IMPL_LIB, moe_dispatch_cub, "CUB radix sort + histogram + scan, plain gather/quantise kernel per row"},
};

const kb_op kb_op_moe_dispatch = {
    .name = "moe_dispatch",
    .what = "MoE dispatch: permute T x 8 slots into padded expert segments, E4M3 1x128 quantised (or BF16 / masked)",
    .peak = KB_PEAK_NONE,
    KB_OP_FUNCS,
    KB_IMPLS(impls),
    .dims = {[MOE_D_T] = "t", [MOE_D_E] = "e", [MOE_D_SKEW] = "skew", [MOE_D_FMT] = "fmt"},
    .check = check,
};
