/* cmd_info.c - what kbench knows, for scripts: `kbench list --json`,
 * `kbench specs --json` and `kbench --version` (the versions it was built
 * with and the ones it runs with). */
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cupti.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#ifdef KB_HAVE_NCCL
#include <nccl.h>
#endif
#include "bench/kb.h"
#include "bench/kb_roofline.h"
#include "bench/kb_run.h"
#include "bench/kb_specs.h"

#ifndef KB_GIT_SHA
#define KB_GIT_SHA "unknown"
#endif
#ifndef KB_GBENCH_VERSION
#define KB_GBENCH_VERSION "unknown"
#endif

static int dump(json_t *root)
{
    int rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) ? KB_EXIT_IO : KB_EXIT_OK;
    json_decref(root);
    printf("\n");
    return fflush(stdout) ? KB_EXIT_IO : rc;
}

/* ---- list --json ------------------------------------------------------------ */
static json_t *sets_json(unsigned sets)
{
    json_t *a = json_array();
    if (sets & KB_SET_FULL) json_array_append_new(a, json_string("full"));
    if (sets & KB_SET_QUICK) json_array_append_new(a, json_string("quick"));
    if (sets & KB_SET_SMALL) json_array_append_new(a, json_string("small"));
    return a;
}

static json_t *shape_json(const kb_op *op, const kb_shape *s)
{
    json_t *dims = json_object();
    for (int d = 0; d < KB_MAX_DIMS; d++)
        if (op->dims[d]) json_object_set_new(dims, op->dims[d], json_integer((json_int_t)s->d[d]));
    json_t *o = json_pack("{s:s, s:s, s:o, s:o}", "label", s->label, "dtype", s->dtype, "sets", sets_json(s->sets),
                          "dims", dims);
    json_object_set_new(o, "flops", json_real(op->flops ? op->flops(s) : 0));
    json_object_set_new(o, "bytes", json_real(op->bytes ? op->bytes(s) : 0));
    return o;
}

static json_t *op_json(const kb_op *op, unsigned sets)
{
    json_t *impls = json_array(), *shapes = json_array();
    for (int j = 0; j < op->n_impls; j++)
        json_array_append_new(impls, json_pack("{s:s, s:s, s:s}", "name", op->impls[j].name, "kind",
                                               op->impls[j].kind == KB_IMPL_LIB ? "lib" : "hand", "what",
                                               op->impls[j].what ? op->impls[j].what : ""));
    int ns = 0;
    const kb_shape *sh = kb_op_shapes(op, &ns);
    for (int k = 0; k < ns; k++)
        if (sh[k].sets & sets) json_array_append_new(shapes, shape_json(op, &sh[k]));
    return json_pack("{s:s, s:s, s:s, s:o, s:o}", "name", op->name, "what", op->what ? op->what : "", "roof",
                     kb_peak_name(op->peak), "impls", impls, "shapes", shapes);
}

int kb_list_json(const char *ops, unsigned sets)
{
    int nops;
    const kb_op *const *all = kb_ops(&nops);
    json_t *arr = json_array();
    for (int i = 0; i < nops; i++)
        if (kb_in_list(ops, all[i]->name)) json_array_append_new(arr, op_json(all[i], sets));
    return dump(json_pack("{s:s, s:o}", "kbench", KBENCH_VERSION, "ops", arr));
}

/* ---- specs --json ----------------------------------------------------------- */
static json_t *gpu_json(const kb_gpu *g)
{
    int nk;
    const kb_fig_key *k = kb_fig_keys(&nk);
    json_t *figs = json_object();
    for (int i = 0; i < nk; i++) {
        const kb_fig *f = kb_gpu_fig(g, &k[i]);
        char conf[2] = {f->conf, 0};
        json_t *v = f->v > 0 ? json_real(f->v) : json_null();
        json_object_set_new(figs, k[i].name, json_pack("{s:o, s:s, s:s}", "value", v, "confidence", conf,
                                                       "source", f->src ? f->src : ""));
    }
    return json_pack("{s:s, s:s, s:s, s:o}", "slug", g->slug, "name", g->name, "match", g->match, "figures", figs);
}

int kb_specs_json(const char *gpu)
{
    int n;
    const kb_gpu *g = kb_gpus(&n);
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        if (!gpu || !strcmp(gpu, g[i].slug)) json_array_append_new(arr, gpu_json(&g[i]));
    if (gpu && json_array_size(arr) == 0) {
        json_decref(arr);
        fprintf(stderr, "kbench specs: unknown GPU '%s' (known: see `kbench specs`)\n", gpu);
        return KB_EXIT_USAGE;
    }
    return dump(json_pack("{s:s, s:o}", "kbench", KBENCH_VERSION, "gpus", arr));
}

/* ---- --version ---------------------------------------------------------------- */
/* CUDA's integer versions: 13000 -> "13.0". */
static const char *cuda_ver(int v, char *b, size_t n)
{
    if (v <= 0) snprintf(b, n, "none");
    else snprintf(b, n, "%d.%d", v / 1000, v % 1000 / 10);
    return b;
}

int kb_print_version(void)
{
    char a[16], b[16];
    int rt = 0, drv = 0, cbl = 0;
    cudaRuntimeGetVersion(&rt);
    if (cudaDriverGetVersion(&drv) != cudaSuccess) drv = 0;
    cublasGetProperty(MAJOR_VERSION, &cbl);
    printf("kbench %s (git %s)\n", KBENCH_VERSION, KB_GIT_SHA);
    printf("built with: CUDA %s, cuBLAS %d.%d.%d, CUPTI API %d, Google Benchmark %s, ", cuda_ver(CUDART_VERSION, a, sizeof a),
           CUBLAS_VER_MAJOR, CUBLAS_VER_MINOR, CUBLAS_VER_PATCH, CUPTI_API_VERSION, KB_GBENCH_VERSION);
#ifdef KB_HAVE_NCCL
    int nc = 0;
    ncclGetVersion(&nc);
    printf("NCCL %d.%d.%d (runs %d)\n", NCCL_MAJOR, NCCL_MINOR, NCCL_PATCH, nc);
#else
    printf("NCCL not built in\n");
#endif
    printf("running with: CUDA runtime %s, driver %s, cuBLAS major %d\n", cuda_ver(rt, a, sizeof a),
           drv ? cuda_ver(drv, b, sizeof b) : "none (no NVIDIA driver)", cbl);
    return KB_EXIT_OK;
}
