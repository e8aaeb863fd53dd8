/* kb_counters_child.c - the CUDA side of `kbench run --counters`
 * (bench/kb_counters.h): the parent's pass after a case is timed, and the
 * profiled child ncu runs. */
#include <nvtx3/nvToolsExt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench/kb_axis.h"
#include "bench/kb_counters.h"
#include "bench/kb_mpi.h"
#include "bench/kb_run.h"

/* Why this case gets no counters before ncu is even started ("" if none). */
static const char *not_profiled(const kb_op *op, const kb_shape *s)
{
    if (kb_mpi_active()) return "counters off: not collected in MPI mode";
    /* ncu replays one kernel at a time: a kernel waiting on a peer's flags would never see them */
    if (op->link_bytes && op->link_bytes(s) > 0) return "counters: not collected for communication operators";
    return "";
}

void kb_counters_case(const kb_run_opts *o, const kb_op *op, const kb_shape *s, const kb_impl *im, int keep_l2,
                      kb_row *r)
{
    kb_counters c = {.n_kernels = 0};
    if (o->counters_off && !kb_counters_off()) kb_counters_set_off(o->counters_off);
    const char *skip = not_profiled(op, s);
    char exe[PATH_MAX], key[256], dev[16];
    snprintf(dev, sizeof dev, "%d", o->device);
    ssize_t n = *skip ? -1 : readlink("/proc/self/exe", exe, sizeof exe - 1); /* ncu's own would be ncu */
    if (*skip) {
        snprintf(c.note, sizeof c.note, "%s", skip);
    } else if (n <= 0) {
        snprintf(c.note, sizeof c.note, "counters: cannot name the kbench executable");
    } else {
        exe[n] = 0;
        snprintf(key, sizeof key, "%s/%s/%s", op->name, im->name, s->label);
        const char *ax[2 * KB_MAX_DIMS + 4]; /* --axis shapes: the child rebuilds the same list */
        kb_counters_req q = {.exe = exe, .key = key, .specs = o->specs, .device = o->device >= 0 ? dev : NULL,
                             .keep_l2 = keep_l2,
                             .timeout_s = KB_COUNTERS_TIMEOUT_S, .args = ax,
                             .n_args = kb_axes_argv(ax, 2 * KB_MAX_DIMS + 4)};
        kb_counters_collect(&q, &c);
    }
    kb_counters_fill(r, &c);
}

/* ---- the child under ncu ------------------------------------------------------- */
/* The case named "OP/IMPL/SHAPE": 0, or -1 after one line. */
static int find_case(const char *key, const kb_op **op, const kb_shape **s, const kb_impl **im)
{
    int nops, ns;
    const kb_op *const *ops = kb_ops(&nops);
    for (int i = 0; i < nops; i++) {
        const kb_shape *sh = kb_op_shapes(ops[i], &ns);
        for (int k = 0; k < ns; k++)
            for (int j = 0; j < ops[i]->n_impls; j++) {
                char name[256];
                snprintf(name, sizeof name, "%s/%s/%s", ops[i]->name, ops[i]->impls[j].name, sh[k].label);
                if (strcmp(name, key)) continue;
                *op = ops[i], *s = &sh[k], *im = &ops[i]->impls[j];
                return 0;
            }
    }
    fprintf(stderr, "kbench: --counters-case: no case '%s'\n", key);
    return -1;
}

/* One launch and its completion. */
static kb_status launch_sync(const kb_impl *im, void *ctx, cudaStream_t st)
{
    kb_status rc = im->launch(ctx, st);
    if (rc == KB_OK && cudaStreamSynchronize(st) != cudaSuccess) rc = kb_error("launch failed");
    return rc;
}

/* Set up, launch once outside the range (module loading, library
 * heuristics), once inside it, tear down.  Writes nothing but errors. */
int kb_counters_child(const kb_run_opts *o)
{
    const kb_op *op;
    const kb_shape *s;
    const kb_impl *im;
    char range[256];
    if (find_case(o->counters_case, &op, &s, &im)) return KB_EXIT_USAGE;
    int dev = kb_use_device(o->device); /* the run's --device (else 0) */
    if (dev) return dev;
    cudaStream_t st;
    if (cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking) != cudaSuccess) return KB_EXIT_IO;
    void *ctx = NULL;
    kb_status rc = op->setup ? op->setup(s, &ctx) : kb_error("operator has no setup()");
    int set_up = rc == KB_OK;
    if (rc == KB_OK) rc = launch_sync(im, ctx, st);
    if (rc == KB_OK) {
        kb_counters_range(range, sizeof range, op->name, im->name, s->label);
        nvtxRangePushA(range);
        rc = launch_sync(im, ctx, st);
        nvtxRangePop();
    }
    if (rc != KB_OK) fprintf(stderr, "kbench: --counters-case %s: %s\n", o->counters_case, kb_last_message());
    if (set_up && op->teardown) op->teardown(ctx);
    cudaStreamDestroy(st);
    return rc == KB_OK ? KB_EXIT_OK : KB_EXIT_FAIL;
}
