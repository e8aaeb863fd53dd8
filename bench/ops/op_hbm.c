/* op_hbm.c - the HBM and L2 bandwidth ceilings.
 * d[0] = hbm_mode, d[1] = buffer bytes, d[2] = passes (L2 read).
 * Napkin math: read moves bytes*passes, write bytes, copy 2*bytes (read+write,
 * as nvbench and the datasheets count a copy).  The copy rate is the HBM
 * ceiling later rows of the same run are judged against. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/hbm/hbm.h"
#include "bench/kb.h"

#define MiB (1024.0 * 1024.0)
#define GiB (1024.0 * MiB)

typedef struct hbm_ctx {
    hbm_args a;           /* first member: what the launchers see */
    uint64_t expect;      /* expected device sum after a correct launch */
    uint64_t *dsum;       /* scratch for verification sums */
} hbm_ctx;

static kb_shape table[16];
static int n_table;

static void add(const char *label, hbm_mode m, double bytes, int passes, unsigned sets)
{
    kb_shape *s = &table[n_table++];
    memset(s, 0, sizeof *s);
    snprintf(s->label, sizeof s->label, "%s", label);
    snprintf(s->dtype, sizeof s->dtype, "u8");
    s->sets = sets;
    s->d[0] = m;
    s->d[1] = (int64_t)bytes;
    s->d[2] = passes;
}

static const kb_shape *shapes(int *n)
{
    if (!n_table) {
        const unsigned fq = KB_SET_FULL | KB_SET_QUICK;
        add("read_2GiB", HBM_READ, 2 * GiB, 1, fq);
        add("write_2GiB", HBM_WRITE, 2 * GiB, 1, fq);
        add("copy_2GiB", HBM_COPY, 2 * GiB, 1, fq);
        add("l2read_16MiB_x64", HBM_L2_READ, 16 * MiB, 64, fq | KB_SHAPE_HOT_L2);
        add("read_64MiB", HBM_READ, 64 * MiB, 1, KB_SET_SMALL);
        add("write_64MiB", HBM_WRITE, 64 * MiB, 1, KB_SET_SMALL);
        add("copy_64MiB", HBM_COPY, 64 * MiB, 1, KB_SET_SMALL);
        add("l2read_4MiB_x8", HBM_L2_READ, 4 * MiB, 8, KB_SET_SMALL | KB_SHAPE_HOT_L2);
    }
    *n = n_table;
    return table;
}

static double flops(const kb_shape *s) { return 0; }

static double bytes(const kb_shape *s)
{
    double b = (double)s->d[1];
    switch ((hbm_mode)s->d[0]) {
    case HBM_COPY: return 2 * b;
    case HBM_L2_READ: return b * (double)s->d[2];
    default: return b;
    }
}

static void teardown(void *p)
{
    hbm_ctx *c = p;
    if (!c) return;
    cudaFree((void *)c->a.src);
    cudaFree(c->a.dst);
    cudaFree(c->a.sum);
    cudaFree(c->dsum);
    free(c);
}

static kb_status setup(const kb_shape *s, void **out)
{
    hbm_ctx *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c) return kb_error("out of host memory");
    hbm_args *a = &c->a;
    a->mode = (hbm_mode)s->d[0];
    a->bytes = (size_t)s->d[1];
    a->passes = (int)s->d[2];
    a->pattern = 0xa5a5a5a5a5a5a5a5ull;
    int dev = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&a->sms, cudaDevAttrMultiProcessorCount, dev);
#define CU(call) KB_CUDA_TRY_OR(call, teardown(c))
    CU(cudaMalloc((void **)&a->sum, sizeof(uint64_t)));
    CU(cudaMalloc((void **)&c->dsum, sizeof(uint64_t)));
    if (a->mode != HBM_WRITE) CU(cudaMalloc((void **)&a->src, a->bytes));
    if (a->mode == HBM_WRITE || a->mode == HBM_COPY) CU(cudaMalloc(&a->dst, a->bytes));
    if (a->src) {
        KB_TRY_OR(kb_dev_fill_f32((float *)a->src, a->bytes / 4, -1.0f, 1.0f, kb_seed_for("hbm", s), 0), teardown(c));
        /* expected sum of the source words, computed on the host */
        uint64_t *h = malloc(a->bytes);
        if (!h) {
            size_t want = a->bytes;
            teardown(c);
            return kb_error("out of host memory for %zu bytes", want);
        }
        KB_CUDA_TRY_OR(cudaMemcpy(h, a->src, a->bytes, cudaMemcpyDeviceToHost), (free(h), teardown(c)));
        uint64_t sum = 0;
        for (size_t i = 0; i < a->bytes / 8; i++) sum += h[i];
        free(h);
        c->expect = a->mode == HBM_L2_READ ? sum * (uint64_t)a->passes : sum;
    } else {
        c->expect = a->pattern * (uint64_t)(a->bytes / 8);
    }
#undef CU
    *out = c;
    return KB_OK;
}

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
};

const kb_op kb_op_hbm = {
    .name = "hbm",
    .what = "HBM read/write/copy bandwidth over 2 GiB buffers; L2 read bandwidth (16 MiB working set)",
    .peak = KB_PEAK_NONE,
    .shapes = shapes,
    .flops = flops,
    .bytes = bytes,
    .setup = setup,
    .poison = poison,
    .verify = verify,
    .teardown = teardown,
    .impls = impls,
    .n_impls = sizeof impls / sizeof impls[0],
};
