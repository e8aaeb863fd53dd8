/* fp8_common.c - shared by op_fp8_gemm.c, op_fp8_gemm_grouped.c and
 * op_fp8_quant.c: group-row builders, napkin math, GEMM setup / poison /
 * verify / teardown.  See fp8_common.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cuda_runtime_api.h>
#include "bench/ops/fp8_common.h"
#include "bench/ops/op_common.h"
#include "reference/fp8_gemm_cpu.h"

_Static_assert(offsetof(fp8_gemm_ctx, args) == 0, "kb.h: the op's args struct must be the ctx's first member");

/* ---- group rows ------------------------------------------------------------ */
void fp8_route_counts(int groups, int64_t total, uint64_t seed, int *counts)
{
    double w[FP8_MAX_GROUPS], frac[FP8_MAX_GROUPS], sum = 0;
    kb_rng r;
    kb_rng_seed(&r, seed);
    for (int g = 0; g < groups; g++) {
        w[g] = exp(0.6 * kb_rng_normal(&r));
        sum += w[g];
    }
    int64_t given = 0;
    for (int g = 0; g < groups; g++) {
        double e = (double)total * w[g] / sum;
        counts[g] = (int)floor(e);
        frac[g] = e - floor(e);
        given += counts[g];
    }
    /* Largest remainders get the leftover tokens (ties: lower index). */
    while (given < total) {
        int best = 0;
        for (int g = 1; g < groups; g++)
            if (frac[g] > frac[best]) best = g;
        counts[best]++;
        frac[best] = -1;
        given++;
    }
}

void fp8_masked_counts(int groups, int m_max, uint64_t seed, int *counts)
{
    kb_rng r;
    kb_rng_seed(&r, seed);
    int lo = (m_max + 1) / 2;
    for (int g = 0; g < groups; g++) counts[g] = lo + (int)(kb_rng_next(&r) % (uint64_t)(m_max - lo + 1));
}

int64_t fp8_contig_layout(int groups, const int *counts, int *seg_start, int32_t *group_idx)
{
    int64_t row = 0;
    for (int g = 0; g < groups; g++) {
        int64_t padded = fp8_round_up(counts[g], 128);
        if (seg_start) seg_start[g] = (int)row;
        if (group_idx)
            for (int64_t i = 0; i < padded; i++) group_idx[row + i] = i < counts[g] ? g : -1;
        row += padded;
    }
    return row;
}

int fp8_gemm_group_rows(const char *op, const kb_shape *s, int *counts)
{
    int layout = (int)s->d[FP8_D_LAYOUT], m = (int)s->d[FP8_D_M], g = (int)s->d[FP8_D_G];
    if (layout == FP8_GEMM_DENSE || g < 1) {
        counts[0] = m;
        return 1;
    }
    if (g > FP8_MAX_GROUPS) g = FP8_MAX_GROUPS;
    uint64_t seed = kb_seed_for(op, s) ^ 0x6e7265706c61ull;
    if (s->d[FP8_D_DIST] == FP8_DIST_EQUAL)
        for (int i = 0; i < g; i++) counts[i] = m;
    else if (layout == FP8_GEMM_CONTIGUOUS)
        fp8_route_counts(g, (int64_t)g * m, seed, counts);
    else
        fp8_masked_counts(g, m, seed, counts);
    return g;
}

/* ---- napkin math ----------------------------------------------------------- */
static double valid_rows(const char *op, const kb_shape *s)
{
    int counts[FP8_MAX_GROUPS];
    int g = fp8_gemm_group_rows(op, s, counts);
    double rows = 0;
    for (int i = 0; i < g; i++) rows += counts[i];
    return rows;
}

double fp8_gemm_flops(const char *op, const kb_shape *s)
{
    return 2.0 * valid_rows(op, s) * (double)s->d[FP8_D_N] * (double)s->d[FP8_D_K];
}

double fp8_gemm_bytes(const char *op, const kb_shape *s)
{
    double rows = valid_rows(op, s), n = (double)s->d[FP8_D_N], k = (double)s->d[FP8_D_K];
    double g = s->d[FP8_D_LAYOUT] == FP8_GEMM_DENSE ? 1.0 : (double)s->d[FP8_D_G];
    double nb = (double)fp8_ceil_div(s->d[FP8_D_N], 128), kb = k / 128;
    return rows * k + g * n * k + 2.0 * rows * n + 4.0 * (rows * kb + g * nb * kb);
}

void fp8_gemm_shape_add(kb_shape_table *t, const char *label, unsigned sets, int layout, int64_t m, int64_t n,
                        int64_t k, int64_t g, int dist)
{
    const int64_t d[KB_MAX_DIMS] = {[FP8_D_LAYOUT] = layout, [FP8_D_M] = m, [FP8_D_N] = n,
                                    [FP8_D_K] = k,           [FP8_D_G] = g, [FP8_D_DIST] = dist};
    kb_shape_add(t, sets, "e4m3", d, "%s", label);
}

/* kb_op.check of both GEMM operators: the layout of the operator, K a
 * multiple of the 128-wide scale block, N of 16 (fp8_gemm_setup; TMA rows of
 * 16 bytes), at most FP8_MAX_GROUPS groups, and every operand under 2^31
 * elements (int row/column indices in the kernels). */
int fp8_gemm_check(const char *op, const kb_shape *s, char *why, size_t n)
{
    const int64_t layout = s->d[FP8_D_LAYOUT], m = s->d[FP8_D_M], nn = s->d[FP8_D_N], k = s->d[FP8_D_K];
    const int64_t g = s->d[FP8_D_G], dist = s->d[FP8_D_DIST];
    const int dense = !strcmp(op, "fp8_gemm");
    if (dense && (layout != FP8_GEMM_DENSE || g != 1 || dist != FP8_DIST_EQUAL))
        return -kb_shape_refuse(why, n, "%s: dense only: layout=0, g=1, dist=0 (got layout=%lld g=%lld dist=%lld)", op,
                                (long long)layout, (long long)g, (long long)dist);
    if (!dense && kb_check_dim(op, "layout", layout, FP8_GEMM_CONTIGUOUS, FP8_GEMM_MASKED, 1, why, n)) return 1;
    if (kb_check_dim(op, "g", g, 1, FP8_MAX_GROUPS, 1, why, n) || kb_check_dim(op, "dist", dist, 0, 1, 1, why, n) ||
        kb_check_dim(op, "m", m, 1, 1 << 24, 1, why, n) || kb_check_dim(op, "n", nn, 16, 1 << 24, 16, why, n) ||
        kb_check_dim(op, "k", k, 128, 1 << 24, 128, why, n))
        return 1;
    const double rows = (double)g * (double)(layout == FP8_GEMM_CONTIGUOUS ? fp8_round_up(m, 128) + 128 : m);
    const double big = rows * (double)(nn > k ? nn : k), w = (double)g * (double)nn * (double)k;
    if (big >= 2147483648.0 || w >= 2147483648.0)
        return -kb_shape_refuse(why, n, "%s: m=%lld n=%lld k=%lld g=%lld: an operand of 2^31 elements or more", op,
                                (long long)m, (long long)nn, (long long)k, (long long)g);
    return 0;
}

/* ---- GPU setup: named phases, each returning on its first error; the caller
 * tears the half-built context down. ------------------------------------- */
static kb_status host_alloc(void **p, size_t n)
{
    *p = malloc(n ? n : 1);
    return *p ? KB_OK : kb_error("fp8_gemm setup: out of host memory (%zu bytes)", n);
}

/* Group rows: G, valid rows per group, their first row in A / D, and the
 * layout's row map (contiguous group_idx or masked valid counts). */
static kb_status plan_groups(fp8_gemm_ctx *c)
{
    const kb_shape *s = &c->shape;
    const int layout = (int)s->d[FP8_D_LAYOUT], m = (int)s->d[FP8_D_M];
    int counts[FP8_MAX_GROUPS];
    const int groups = fp8_gemm_group_rows(c->op_name, s, counts);
    c->groups = groups;
    if (layout == FP8_GEMM_CONTIGUOUS) {
        c->rows_total = (int)fp8_contig_layout(groups, counts, c->lib.seg_start, NULL);
        KB_TRY(host_alloc((void **)&c->h_group_idx, sizeof(int32_t) * (size_t)c->rows_total));
        fp8_contig_layout(groups, counts, NULL, c->h_group_idx);
    } else if (layout == FP8_GEMM_MASKED) {
        c->rows_total = groups * m;
        KB_TRY(host_alloc((void **)&c->h_masked_m, sizeof(int32_t) * (size_t)groups));
        for (int g = 0; g < groups; g++) {
            c->lib.seg_start[g] = g * m;
            c->h_masked_m[g] = counts[g];
        }
    } else {
        c->rows_total = m;
        c->lib.seg_start[0] = 0;
    }
    for (int g = 0; g < groups; g++) c->lib.seg_rows[g] = counts[g];
    return KB_OK;
}

/* Element counts of the operands. */
typedef struct fp8_sizes { size_t rows, a, b, sa, sb; } fp8_sizes;
static fp8_sizes sizes_of(const fp8_gemm_ctx *c)
{
    const int n = (int)c->shape.d[FP8_D_N], k = (int)c->shape.d[FP8_D_K];
    const size_t kb = (size_t)k / 128, nb = (size_t)fp8_ceil_div(n, 128), rows = (size_t)c->rows_total;
    return (fp8_sizes){rows, rows * k, (size_t)c->groups * n * k, rows * kb, (size_t)c->groups * nb * kb};
}

static kb_status alloc_device(fp8_gemm_ctx *c, fp8_sizes z)
{
    const int n = (int)c->shape.d[FP8_D_N];
    KB_CUDA_TRY(cudaMalloc((void **)&c->d_a, z.a));
    KB_CUDA_TRY(cudaMalloc((void **)&c->d_b, z.b));
    KB_CUDA_TRY(cudaMalloc((void **)&c->d_sa, z.sa * sizeof(float)));
    KB_CUDA_TRY(cudaMalloc((void **)&c->d_sb, z.sb * sizeof(float)));
    KB_CUDA_TRY(cudaMalloc((void **)&c->d_d, z.rows * n * sizeof(uint16_t)));
    KB_CUDA_TRY(cudaMalloc(&c->d_ws, FP8_GEMM_WORKSPACE_BYTES));
    if (c->h_group_idx) {
        KB_CUDA_TRY(cudaMalloc((void **)&c->d_group_idx, z.rows * sizeof(int32_t)));
        KB_CUDA_TRY(cudaMemcpy(c->d_group_idx, c->h_group_idx, z.rows * sizeof(int32_t), cudaMemcpyHostToDevice));
    }
    if (c->h_masked_m) {
        KB_CUDA_TRY(cudaMalloc((void **)&c->d_masked_m, (size_t)c->groups * sizeof(int32_t)));
        KB_CUDA_TRY(cudaMemcpy(c->d_masked_m, c->h_masked_m, (size_t)c->groups * sizeof(int32_t),
                               cudaMemcpyHostToDevice));
    }
    return KB_OK;
}

/* Inputs: BF16 with per-group magnitudes in tmp, quantised by the simple
 * kernel (the reference is computed from the resulting bytes and scales, so a
 * quantiser bug cannot hide a GEMM bug). */
static kb_status quantise_inputs(fp8_gemm_ctx *c, fp8_sizes z, uint16_t *tmp)
{
    const int layout = (int)c->shape.d[FP8_D_LAYOUT], m = (int)c->shape.d[FP8_D_M];
    const int n = (int)c->shape.d[FP8_D_N], k = (int)c->shape.d[FP8_D_K];
    const int kb = k / 128, nb = (int)fp8_ceil_div(n, 128);
    const uint64_t seed = kb_seed_for(c->op_name, &c->shape);
    KB_TRY(fp8_dev_gen_bf16(tmp, (int64_t)z.rows, k, 1, 128, seed ^ 0xa, 0));
    if (layout == FP8_GEMM_MASKED) {
        for (int g = 0; g < c->groups; g++) {
            fp8_quant_args q = {FP8_QUANT_TOKEN, m, k, tmp + (size_t)g * m * k, c->d_a + (size_t)g * m * k,
                                c->d_sa + (size_t)g * kb * m};
            KB_TRY(fp8_quant_v1(&q, 0));
        }
    } else {
        fp8_quant_args q = {FP8_QUANT_TOKEN, (int)z.rows, k, tmp, c->d_a, c->d_sa};
        KB_TRY(fp8_quant_v1(&q, 0));
    }
    KB_TRY(fp8_dev_gen_bf16(tmp, (int64_t)c->groups * n, k, 128, 128, seed ^ 0xb, 0));
    for (int g = 0; g < c->groups; g++) {
        fp8_quant_args q = {FP8_QUANT_BLOCK, n, k, tmp + (size_t)g * n * k, c->d_b + (size_t)g * n * k,
                            c->d_sb + (size_t)g * nb * kb};
        KB_TRY(fp8_quant_v1(&q, 0));
    }
    return KB_OK;
}

static kb_status fill_inputs(fp8_gemm_ctx *c, fp8_sizes z)
{
    uint16_t *tmp = NULL;
    KB_CUDA_TRY(cudaMalloc((void **)&tmp, (z.a > z.b ? z.a : z.b) * sizeof(uint16_t)));
    kb_status st = quantise_inputs(c, z, tmp);
    cudaError_t e = cudaDeviceSynchronize();
    cudaFree(tmp);
    KB_TRY(st);
    KB_CUDA_TRY(e);
    return KB_OK;
}

/* *h = a new host copy of the n bytes at device address d. */
static kb_status download(void **h, const void *d, size_t n)
{
    KB_TRY(host_alloc(h, n));
    KB_CUDA_TRY(cudaMemcpy(*h, d, n, cudaMemcpyDeviceToHost));
    return KB_OK;
}

/* Host copies of the quantised operands for the CPU reference. */
static kb_status copy_reference_inputs(fp8_gemm_ctx *c, fp8_sizes z)
{
    const int n = (int)c->shape.d[FP8_D_N];
    KB_TRY(host_alloc((void **)&c->h_d, z.rows * n * sizeof(uint16_t)));
    KB_TRY(download((void **)&c->h_a, c->d_a, z.a));
    KB_TRY(download((void **)&c->h_b, c->d_b, z.b));
    KB_TRY(download((void **)&c->h_sa, c->d_sa, z.sa * sizeof(float)));
    KB_TRY(download((void **)&c->h_sb, c->d_sb, z.sb * sizeof(float)));
    return KB_OK;
}

/* The launchers' view: fp8_gemm_args over the device buffers. */
static void bind_args(fp8_gemm_ctx *c)
{
    const int layout = (int)c->shape.d[FP8_D_LAYOUT];
    fp8_gemm_args *a = &c->args;
    a->layout = (fp8_gemm_layout)layout;
    a->m = layout == FP8_GEMM_MASKED ? (int)c->shape.d[FP8_D_M] : c->rows_total;
    a->n = (int)c->shape.d[FP8_D_N];
    a->k = (int)c->shape.d[FP8_D_K];
    a->num_groups = c->groups;
    a->a = c->d_a;
    a->sa = c->d_sa;
    a->b = c->d_b;
    a->sb = c->d_sb;
    a->d = c->d_d;
    a->group_idx = c->d_group_idx;
    a->masked_m = c->d_masked_m;
    a->masked_m_host = c->h_masked_m;
    a->workspace = c->d_ws;
    a->workspace_bytes = FP8_GEMM_WORKSPACE_BYTES;
}

/* The cuBLASLt baselines' view of the same buffers (plan_groups filled
 * their group segments). */
static void bind_lib(fp8_gemm_ctx *c)
{
    const fp8_gemm_args *a = &c->args;
    fp8_gemm_lib_args *l = &c->lib;
    l->n = a->n, l->k = a->k, l->m = a->m, l->masked = a->layout == FP8_GEMM_MASKED;
    l->groups = c->groups, l->rows_total = c->rows_total;
    l->a = c->d_a, l->b = c->d_b, l->sa = c->d_sa, l->sb = c->d_sb, l->d = c->d_d;
    l->workspace = a->workspace, l->workspace_bytes = a->workspace_bytes;
}

static kb_status build(fp8_gemm_ctx *c)
{
    KB_TRY(plan_groups(c));
    const fp8_sizes z = sizes_of(c);
    KB_TRY(alloc_device(c, z));
    KB_TRY(fill_inputs(c, z));
    KB_TRY(copy_reference_inputs(c, z));
    bind_args(c);
    bind_lib(c);
    KB_TRY(fp8_gemm_lib_prepare(&c->lib, 0));
    KB_CUDA_TRY(cudaDeviceSynchronize());
    return KB_OK;
}

kb_status fp8_gemm_setup(const char *op, const kb_shape *s, void **out)
{
    *out = NULL;
    const int m = (int)s->d[FP8_D_M], n = (int)s->d[FP8_D_N], k = (int)s->d[FP8_D_K];
    if (k % 128 != 0 || n % 16 != 0 || m < 1)
        return kb_error("fp8_gemm setup: K must be a multiple of 128 and N of 16 (M=%d N=%d K=%d)", m, n, k);
    fp8_gemm_ctx *c = calloc(1, sizeof *c);
    if (!c) return kb_error("fp8_gemm setup: out of host memory");
    c->shape = *s;
    c->op_name = op;
    c->lib_last = -1;
    kb_status st = build(c);
    if (st != KB_OK) {
        fp8_gemm_teardown(c);
        return st;
    }
    *out = c;
    return KB_OK;
}

kb_status fp8_gemm_poison(void *ctx, cudaStream_t stream)
{
    fp8_gemm_ctx *c = ctx;
    c->ref_mode = FP8_REF_BLOCK;
    c->lib_last = -1;
    memset(&c->args.chosen, 0, sizeof c->args.chosen);
    return kb_dev_poison(c->d_d, (size_t)c->rows_total * c->args.n * sizeof(uint16_t), stream);
}

static kb_status lib_run(fp8_gemm_ctx *c, int mode, cudaStream_t stream)
{
    c->lib_last = mode;
    return fp8_gemm_cublaslt_run(&c->lib, mode, stream);
}

kb_status fp8_gemm_lib_blk(void *ctx, cudaStream_t stream) { return lib_run(ctx, FP8_LIB_BLOCK, stream); }

kb_status fp8_gemm_lib_tensor(void *ctx, cudaStream_t stream)
{
    fp8_gemm_ctx *c = ctx;
    KB_TRY(lib_run(c, FP8_LIB_TENSOR, stream));
    c->ref_mode = FP8_REF_TENSOR;
    return KB_OK;
}

kb_status fp8_gemm_lib_bf16(void *ctx, cudaStream_t stream) { return lib_run(ctx, FP8_LIB_BF16, stream); }

void fp8_gemm_note(void *ctx, char *buf, size_t n)
{
    const fp8_gemm_ctx *c = ctx;
    const fp8_gemm_choice *ch = &c->args.chosen;
    if (c->lib_last >= 0 && c->lib_last < FP8_LIB_NMODES && c->lib.mode[c->lib_last].algo[0])
        snprintf(buf, n, "%s", c->lib.mode[c->lib_last].algo);
    else if (ch->block_m > 0)
        snprintf(buf, n, "tile %dx%d, %d stages, split-K %d, %d CTAs", ch->block_m, ch->block_n, ch->stages,
                 ch->splits, ch->ctas);
}

void fp8_gemm_teardown(void *ctx)
{
    fp8_gemm_ctx *c = ctx;
    if (!c) return;
    fp8_gemm_lib_release(&c->lib);
    const void *dev[] = {c->d_a, c->d_b, c->d_sa, c->d_sb, c->d_d, c->d_group_idx, c->d_masked_m, c->d_ws};
    void *host[] = {c->h_a, c->h_b, c->h_sa, c->h_sb, c->h_d, c->h_group_idx, c->h_masked_m};
    kb_op_free(c, dev, KB_OP_LEN(dev), host, KB_OP_LEN(host));
}

/* ---- verify ------------------------------------------------------------------ */
static int row_valid(const fp8_gemm_ctx *c, int r)
{
    switch (c->args.layout) {
    case FP8_GEMM_CONTIGUOUS: return c->h_group_idx[r] >= 0;
    case FP8_GEMM_MASKED: return r % c->args.m < c->h_masked_m[r / c->args.m];
    default: return 1;
    }
}

/* Phase 1: rows a masked GEMM must not touch keep the poison; every valid
 * output is finite. */
static kb_status check_rows(const fp8_gemm_ctx *c)
{
    const int n = c->args.n;
    for (int r = 0; r < c->rows_total; r++) {
        const uint16_t *d = c->h_d + (size_t)r * n;
        if (!row_valid(c, r)) {
            if (c->args.layout != FP8_GEMM_MASKED) continue;
            for (int j = 0; j < n; j++)
                if (d[j] != 0xffff)
                    return kb_error("masked row written: group %d row %d col %d = 0x%04x (masked_m %d)",
                                    r / c->args.m, r % c->args.m, j, d[j], c->h_masked_m[r / c->args.m]);
            continue;
        }
        for (int j = 0; j < n; j++)
            if (!isfinite(kb_bf16_to_f32(d[j])))
                return kb_error("non-finite output at row %d col %d (0x%04x)", r, j, d[j]);
    }
    return KB_OK;
}

/* Phase 2: values against the CPU reference, all of them at small shapes
 * (full), a seeded random sample of 2048 at large ones. */
typedef struct fp8_cmp {
    int full, block_scaled;
    size_t cap, cnt;
    double *ref, *got;
    double worst;
    int wr, wc;
} fp8_cmp;

/* Output i of the comparison: (r, j); 0 if it lands on no valid row. */
static int pick_output(const fp8_gemm_ctx *c, const fp8_cmp *m, size_t i, kb_rng *rng, int *r, int *j)
{
    const int n = c->args.n;
    if (m->full) {
        *r = (int)(i / n);
        *j = (int)(i % n);
        return row_valid(c, *r);
    }
    int tries = 0;
    do *r = (int)(kb_rng_next(rng) % (uint64_t)c->rows_total);
    while (!row_valid(c, *r) && ++tries < 64);
    if (!row_valid(c, *r)) return 0;
    *j = (int)(kb_rng_next(rng) % (uint64_t)n);
    return 1;
}

static void compare_values(const fp8_gemm_ctx *c, fp8_cmp *m)
{
    fp8_gemm_args h = c->args; /* the CPU reference reads the host copies */
    h.a = c->h_a;
    h.sa = c->h_sa;
    h.b = c->h_b;
    h.sb = c->h_sb;
    h.group_idx = c->h_group_idx;
    h.masked_m = c->h_masked_m;
    const int masked = c->args.layout == FP8_GEMM_MASKED;
    kb_rng rng;
    kb_rng_seed(&rng, kb_seed_for(c->op_name, &c->shape) ^ 0x7665726966ull);
    m->worst = -1;
    for (size_t i = 0; i < m->cap; i++) {
        int r, j;
        if (!pick_output(c, m, i, &rng, &r, &j)) continue;
        const int g = masked ? r / c->args.m : 0, ml = masked ? r % c->args.m : r;
        const double ref = fp8_gemm_ref_at(&h, g, ml, j, m->block_scaled);
        const double got = kb_bf16_to_f32(c->h_d[(size_t)r * c->args.n + j]);
        const double e = fabs(ref - got) / (fabs(ref) + 1e-30);
        if (e > m->worst) {
            m->worst = e;
            m->wr = r;
            m->wc = j;
        }
        m->ref[m->cnt] = ref;
        m->got[m->cnt++] = got;
    }
}

kb_status fp8_gemm_verify(void *ctx, double *err, const char **metric)
{
    fp8_gemm_ctx *c = ctx;
    const int n = c->args.n, k = c->args.k, rows = c->rows_total;
    *metric = "diff";
    *err = NAN;
    KB_CUDA_TRY(cudaMemcpy(c->h_d, c->d_d, (size_t)rows * n * sizeof(uint16_t), cudaMemcpyDeviceToHost));
    KB_TRY(check_rows(c));

    fp8_cmp m = {.full = (double)rows * n * k <= (double)(1 << 27), .block_scaled = c->ref_mode == FP8_REF_BLOCK};
    m.cap = m.full ? (size_t)rows * n : 2048;
    m.ref = malloc(m.cap * sizeof(double));
    m.got = malloc(m.cap * sizeof(double));
    if (m.ref && m.got) compare_values(c, &m);
    const double diff = m.ref && m.got ? kb_diff_deepgemm(m.ref, m.got, m.cnt) : NAN;
    const int oom = !m.ref || !m.got;
    free(m.ref);
    free(m.got);
    if (oom) return kb_error("fp8_gemm verify: out of host memory");
    *err = diff;
    if (!(diff < KB_TOL_FP8_DIFF))
        return kb_error("diff %.3e >= %.0e over %zu %s outputs (%s reference; worst rel err %.3g at row %d col %d)",
                        diff, KB_TOL_FP8_DIFF, m.cnt, m.full ? "(all)" : "sampled",
                        m.block_scaled ? "block-scaled" : "per-tensor unit-scale", m.worst, m.wr, m.wc);
    return KB_OK;
}
