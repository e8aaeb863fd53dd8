/* op_hbm.c - the HBM and L2 bandwidth ceilings.
 * Dims (op_common.h): mode = hbm_mode, bytes = buffer bytes, passes (L2 read).
 * Napkin math: read moves bytes*passes, write bytes, copy 2*bytes (read+write,
 * as nvbench and the datasheets count a copy).  The copy rate is the HBM
 * ceiling later rows of the same run are judged against. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/hbm/hbm.h"
#include "bench/kb.h"
#include "bench/ops/op_common.h"

#define MiB (1024.0 * 1024.0)
#define GiB (1024.0 * MiB)

typedef struct hbm_ctx {
    hbm_args a;           /* first member: what the launchers see */
    uint64_t expect;      /* expected device sum after a correct launch */
    uint64_t *dsum;       /* scratch for verification sums */
} hbm_ctx;

static kb_shape_table table;

static void add(kb_shape_table *t, const char *label, hbm_mode m, double bytes, int passes, unsigned sets)
{
    const int64_t d[KB_MAX_DIMS] = {[HBM_D_MODE] = m, [HBM_D_BYTES] = (int64_t)bytes, [HBM_D_PASSES] = passes};
    kb_shape_add(t, sets, "u8", d, "%s", label);
}

static void build_shapes(kb_shape_table *t)
{
    const unsigned fq = KB_SET_FULL | KB_SET_QUICK;
    add(t, "read_2GiB", HBM_READ, 2 * GiB, 1, fq);
    add(t, "write_2GiB", HBM_WRITE, 2 * GiB, 1, fq);
    add(t, "copy_2GiB", HBM_COPY, 2 * GiB, 1, fq);
    add(t, "l2read_16MiB_x64", HBM_L2_READ, 16 * MiB, 64, fq | KB_SHAPE_HOT_L2);
    add(t, "read_64MiB", HBM_READ, 64 * MiB, 1, KB_SET_SMALL);
    add(t, "write_64MiB", HBM_WRITE, 64 * MiB, 1, KB_SET_SMALL);
    add(t, "copy_64MiB", HBM_COPY, 64 * MiB, 1, KB_SET_SMALL);
    add(t, "l2read_4MiB_x8", HBM_L2_READ, 4 * MiB, 8, KB_SET_SMALL | KB_SHAPE_HOT_L2);
}

static const kb_shape *shapes(int *n) { return kb_op_table(&table, build_shapes, n); }

static double flops(const kb_shape *s) { return 0; }

static double bytes(const kb_shape *s)
{
    double b = (double)s->d[HBM_D_BYTES];
    switch ((hbm_mode)s->d[HBM_D_MODE]) {
    case HBM_COPY: return 2 * b;
    case HBM_L2_READ: return b * (double)s->d[HBM_D_PASSES];
    default: return b;
    }
}

/* --axis shapes: the kernels move whole 16-byte vectors; passes repeat an
 * L2 read only; an L2 read is timed warm, so its base is an l2read shape. */
static int check(const kb_shape *s, char *why, size_t n)
{
    const int64_t mode = s->d[HBM_D_MODE], passes = s->d[HBM_D_PASSES];
    const int l2 = mode == HBM_L2_READ;
    if (kb_check_dim("hbm", "mode", mode, HBM_READ, HBM_L2_READ, 1, why, n)) return 1;
    if (l2 != !!(s->sets & KB_SHAPE_HOT_L2))
        return -kb_shape_refuse(why, n, "hbm: mode=%lld: %s", (long long)mode,
                                l2 ? "an L2 read needs an l2read base shape (--shape l2read_16MiB_x64)"
                                   : "the l2read base shape is for mode=3 only (pick e.g. --shape read_2GiB)");
    return kb_check_dim("hbm", "bytes", s->d[HBM_D_BYTES], 16, (int64_t)1 << 40, 16, why, n) ||
           kb_check_dim("hbm", "passes", passes, 1, l2 ? 1 << 20 : 1, 1, why, n);
}

static void teardown(void *p)
{
    hbm_ctx *c = p;
    if (!c) return;
    const void *dev[] = {c->a.src, c->a.dst, c->a.sum, c->dsum};
    kb_op_free(c, dev, KB_OP_LEN(dev), NULL, 0);
}

/* Expected device sum after a correct launch: the source words summed on the
 * host (times the passes of an L2 read), or the written pattern. */
static kb_status expected_sum(hbm_ctx *c)
{
    hbm_args *a = &c->a;
    if (!a->src) {
        c->expect = a->pattern * (uint64_t)(a->bytes / 8);
        return KB_OK;
    }
    uint64_t *h = malloc(a->bytes);
    if (!h) return kb_error("out of host memory for %zu bytes", a->bytes);
    KB_CUDA_TRY_OR(cudaMemcpy(h, a->src, a->bytes, cudaMemcpyDeviceToHost), free(h));
    uint64_t sum = 0;
    for (size_t i = 0; i < a->bytes / 8; i++) sum += h[i];
    free(h);
    c->expect = a->mode == HBM_L2_READ ? sum * (uint64_t)a->passes : sum;
    return KB_OK;
}

static kb_status build(void *ctx, const kb_shape *s)
{
    hbm_ctx *c = ctx;
    hbm_args *a = &c->a;
    a->mode = (hbm_mode)s->d[HBM_D_MODE];
    a->bytes = (size_t)s->d[HBM_D_BYTES];
    a->passes = (int)s->d[HBM_D_PASSES];
    a->pattern = 0xa5a5a5a5a5a5a5a5ull;
    int dev = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&a->sms, cudaDevAttrMultiProcessorCount, dev);
    KB_CUDA_TRY(cudaMalloc((void **)&a->sum, sizeof(uint64_t)));
    KB_CUDA_TRY(cudaMalloc((void **)&c->dsum, sizeof(uint64_t)));
    if (a->mode != HBM_WRITE) KB_CUDA_TRY(cudaMalloc((void **)&a->src, a->bytes));
    if (a->mode == HBM_WRITE || a->mode == HBM_COPY) KB_CUDA_TRY(cudaMalloc(&a->dst, a->bytes));
    if (a->src) KB_TRY(kb_dev_fill_f32((float *)a->src, a->bytes / 4, -1.0f, 1.0f, kb_seed_for("hbm", s), 0));
    return expected_sum(c);
}

static kb_status setup(const kb_shape *s, void **out) { return kb_op_setup(s, out, sizeof(hbm_ctx), build, teardown); }

static kb_status poison(void *p, cudaStream_t s)
{
    hbm_ctx *c = p;
    KB_TRY(kb_dev_poison(c->a.sum, sizeof(uint64_t), s));
    if (c->a.dst) KB_TRY(kb_dev_poison(c->a.dst, c->a.bytes, s));
    return KB_OK;
}

static kb_status verify(void *p, double *err, const char **metric)
{
    hbm_ctx *c = p;
    uint64_t got = 0;
    *metric = "wrong";
    if (c->a.mode == HBM_READ || c->a.mode == HBM_L2_READ) {
        KB_CUDA_TRY(cudaMemcpy(&got, c->a.sum, sizeof got, cudaMemcpyDeviceToHost));
    } else {
        KB_TRY(hbm_device_sum(c->a.dst, c->a.bytes, c->a.sms, c->dsum, 0));
        KB_CUDA_TRY(cudaMemcpy(&got, c->dsum, sizeof got, cudaMemcpyDeviceToHost));
    }
    *err = got == c->expect ? 0 : 1;
    if (got != c->expect)
        return kb_error("checksum 0x%016llx, expected 0x%016llx", (unsigned long long)got,
                        (unsigned long long)c->expect);
    return KB_OK;
}

static const kb_impl impls[] = {
    {"v1", KB_IMPL_HAND, hbm_v1, "16-byte grid-stride read/write/copy, 4 loads in flight per thread"},
    {"cudart", KB_IMPL_LIB, hbm_cudart, "cudaMemcpyAsync (copy) / cudaMemsetAsync (write)"},
#ifdef KB_FAULT_INJECT /* test-only (CMake KB_FAULT_INJECT=ON): does `kbench run` survive these? */
    {"fault_hang", KB_IMPL_HAND, hbm_fault_hang,
     "TEST ONLY: waits on a flag nobody sets; traps after KB_SPIN_TIMEOUT_MS"},
    {"fault_trap", KB_IMPL_HAND, hbm_fault_trap, "TEST ONLY: writes to an illegal address (a sticky error)"},
#endif
};

const kb_op kb_op_hbm = {
    .name = "hbm",
    .what = "HBM read/write/copy bandwidth over 2 GiB buffers; L2 read bandwidth (16 MiB working set)",
    .peak = KB_PEAK_NONE,
    KB_OP_FUNCS,
    KB_IMPLS(impls),
    .dims = {[HBM_D_MODE] = "mode", [HBM_D_BYTES] = "bytes", [HBM_D_PASSES] = "passes"},
    .check = check,
};
