/* cmd_model.c - `kbench model` (analytic roofline of every op x shape x GPU,
 * no GPU needed), `kbench list` and `kbench specs`. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/kb_axis.h"
#include "bench/kb_row.h"
#include "bench/kb_roofline.h"
#include "bench/kb_run.h"
#include "bench/kb_specs.h"

static int model_row(kb_csv *csv, const kb_op *op, const kb_shape *s, const kb_gpu *g, int practical,
                      int has_link)
{
    kb_row r;
    kb_row_init(&r);
    /* a projection is a function of the model and the device table alone: no
     * write time or build sha, so re-running it changes no committed byte */
    r.git_sha[0] = r.timestamp[0] = 0;
    kb_ceil c = kb_ceil_from_gpu(g, practical);
    snprintf(r.op, sizeof r.op, "%s", op->name);
    snprintf(r.impl, sizeof r.impl, "%s", !has_link ? "roofline" : practical ? "roofline-practical-link"
                                                                             : "roofline-nominal-link");
    snprintf(r.shape, sizeof r.shape, "%s", s->label);
    snprintf(r.dtype, sizeof r.dtype, "%s", s->dtype);
    kb_shape_dims(op, s, r.dims, sizeof r.dims);
    snprintf(r.gpu, sizeof r.gpu, "%s", g->slug);
    snprintf(r.source, sizeof r.source, "projected");
    snprintf(r.impl_kind, sizeof r.impl_kind, "model");
    snprintf(r.timer, sizeof r.timer, "model");
    snprintf(r.verified, sizeof r.verified, "skip");
    snprintf(r.flush, sizeof r.flush, "n/a");
    r.flops = op->flops ? op->flops(s) : 0;
    r.bytes = op->bytes ? op->bytes(s) : 0;
    r.link_bytes = op->link_bytes ? op->link_bytes(s) : 0;
    r.intensity = r.bytes > 0 ? r.flops / r.bytes : 0;
    kb_peak pk = kb_shape_peak(op, s);
    kb_roof rf = kb_roof_of_msgs(&c, pk, r.flops, r.bytes, r.link_bytes, kb_link_messages(r.dims));
    r.time_us = r.time_us_min = r.time_us_max = rf.t_floor_s * 1e6;
    r.cv = 0;
    r.reps = 0;
    kb_roofline_row(&r, &c, NULL, pk, 1);
    r.pct_roof = 100;
    char lat[96] = "";
    if (rf.bound == KB_BOUND_NETWORK && rf.t_latency_s > 0 && rf.t_network_s == rf.t_latency_s)
        snprintf(lat, sizeof lat, "; latency-bound: %g us + %g us per peer (NCCL's model, kb_roofline.h)",
                 KB_LINK_ALPHA_LAUNCH_US, KB_LINK_ALPHA_PEER_US);
    snprintf(r.note, sizeof r.note, "roofline floor on datasheet ceilings%s%s%s", has_link ? "; link " : "",
             has_link ? (practical ? "practical per-direction bandwidth" : "nominal per-direction bandwidth") : "",
             lat);
    return kb_csv_write(csv, &r);
}

/* --gpu A,B into sel[]: the count, or -1 after one line. */
static int pick_gpus(const char *gpus, const kb_gpu **sel, int max)
{
    char *buf = strdup(gpus);
    int ng = buf ? 0 : -1;
    for (char *save = NULL, *t = buf ? strtok_r(buf, ",", &save) : NULL; t && ng >= 0;
         t = strtok_r(NULL, ",", &save)) {
        const kb_gpu *g = kb_gpu_find(t);
        if (!g) fprintf(stderr, "kbench model: unknown GPU '%s' (see `kbench specs`)\n", t);
        else if (ng == max) fprintf(stderr, "kbench model: --gpu: more than %d GPUs\n", max);
        if (!g || ng == max) ng = -1;
        else sel[ng++] = g;
    }
    free(buf);
    return ng;
}

int kb_model(const char *gpus, const char *ops, unsigned sets, const char *out)
{
    const kb_gpu *sel[32];
    int ng = pick_gpus(gpus ? gpus : "h100-sxm,h800-sxm", sel, 32);
    if (ng < 0) return KB_EXIT_USAGE;
    if (!out) out = "-";
    kb_csv csv;
    if (kb_csv_open(&csv, out, 0)) { /* rebuilt whole: a unique temporary, one fsync at the end */
        fprintf(stderr, "kbench model: cannot write %s: %s\n", out, strerror(errno));
        return KB_EXIT_IO;
    }
    int nops, rows = 0, bad = 0;
    const kb_op *const *all = kb_ops(&nops);
    for (int i = 0; i < nops; i++) {
        if (!kb_in_list(ops, all[i]->name)) continue;
        int ns = 0;
        const kb_shape *sh = kb_op_shapes(all[i], &ns);
        for (int k = 0; k < ns; k++) {
            if (!(sh[k].sets & sets)) continue;
            int has_link = all[i]->link_bytes && all[i]->link_bytes(&sh[k]) > 0;
            for (int g = 0; g < ng; g++) {
                bad |= model_row(&csv, all[i], &sh[k], sel[g], 0, has_link);
                rows++;
                if (has_link) {
                    bad |= model_row(&csv, all[i], &sh[k], sel[g], 1, has_link);
                    rows++;
                }
            }
        }
    }
    if (bad) {
        fprintf(stderr, "kbench model: writing %s failed: %s\n", out, strerror(errno));
        kb_afile_abort(&csv.af);
        return KB_EXIT_IO;
    }
    if (kb_csv_close(&csv)) {
        fprintf(stderr, "kbench model: cannot finish %s: %s\n", out, strerror(errno));
        return KB_EXIT_IO;
    }
    if (strcmp(out, "-")) fprintf(stderr, "kbench model: %d projected rows -> %s\n", rows, out);
    return KB_EXIT_OK;
}

int kb_list(const char *ops, unsigned sets, int show_shapes)
{
    int nops;
    const kb_op *const *all = kb_ops(&nops);
    for (int i = 0; i < nops; i++) {
        const kb_op *op = all[i];
        if (!kb_in_list(ops, op->name)) continue;
        int ns = 0, nf = 0, nq = 0, nsm = 0;
        const kb_shape *sh = kb_op_shapes(op, &ns);
        for (int k = 0; k < ns; k++) {
            nf += !!(sh[k].sets & KB_SET_FULL);
            nq += !!(sh[k].sets & KB_SET_QUICK);
            nsm += !!(sh[k].sets & KB_SET_SMALL);
        }
        printf("%-18s %s\n", op->name, op->what ? op->what : "");
        if (kb_axes_installed(op)) printf("  roof: %s; shapes: %d from --axis\n", kb_peak_name(op->peak), ns);
        else printf("  roof: %s; shapes: %d full, %d quick, %d small\n", kb_peak_name(op->peak), nf, nq, nsm);
        for (int j = 0; j < op->n_impls; j++)
            printf("  %-4s %-26s %s\n", op->impls[j].kind == KB_IMPL_LIB ? "lib" : "hand", op->impls[j].name,
                   op->impls[j].what ? op->impls[j].what : "");
        if (show_shapes)
            for (int k = 0; k < ns; k++)
                if (sh[k].sets & sets)
                    printf("    shape %-36s %-8s %12.4g FLOP %12.4g B\n", sh[k].label, sh[k].dtype,
                           op->flops ? op->flops(&sh[k]) : 0, op->bytes ? op->bytes(&sh[k]) : 0);
    }
    return KB_EXIT_OK;
}

static void fig(const kb_fig *f, const char *fmt)
{
    char b[32];
    if (f->v > 0) snprintf(b, sizeof b, fmt, f->v);
    else snprintf(b, sizeof b, "?");
    printf(" %7s(%c)", b, f->conf);
}

/* --device N: checked before anything is printed (no device at all: the
 * "current GPU: none" line says so).  0, or the exit code after its line. */
static int specs_device(int device)
{
    char why[256];
    return device >= 0 && kb_have_device(why, sizeof why) ? kb_use_device(device) : 0;
}

int kb_specs_print(const char *gpu, int device)
{
    int n, rc = specs_device(device);
    if (rc) return rc;
    const kb_gpu *g = kb_gpus(&n);
    if (gpu) {
        const kb_gpu *row = kb_gpu_find(gpu);
        if (!row) {
            fprintf(stderr, "kbench specs: unknown GPU '%s' (known: see `kbench specs`)\n", gpu);
            return KB_EXIT_USAGE;
        }
        printf("%s: %s\n", row->slug, row->name);
        int nk;
        const kb_fig_key *k = kb_fig_keys(&nk);
        for (int i = 0; i < nk; i++) {
            const kb_fig *f = kb_gpu_fig(row, &k[i]);
            printf("  %-20s %10.4g  %c  %s\n", k[i].name, f->v, f->conf, f->src);
        }
        kb_ceil c = kb_ceil_from_gpu(row, 0);
        printf("  ridge point: FP8 %.0f FLOP/B, BF16 %.0f FLOP/B\n", kb_ridge_point(c.fp8_tflops, c.hbm_gbs),
               kb_ridge_point(c.bf16_tflops, c.hbm_gbs));
    } else {
        printf("%-10s %-24s %10s %10s %10s %10s %10s %10s %10s %10s\n", "slug", "name", "SMs", "FP8 TF",
               "BF16 TF", "HBM GB/s", "L2 MB", "NVL GB/s", "link/dir", "practical");
        for (int i = 0; i < n; i++) {
            printf("%-10s %-24.24s", g[i].slug, g[i].name);
            fig(&g[i].sms, "%.0f");
            fig(&g[i].fp8_tflops, "%.0f");
            fig(&g[i].bf16_tflops, "%.0f");
            fig(&g[i].hbm_gbs, "%.0f");
            fig(&g[i].l2_mb, "%.0f");
            fig(&g[i].nvlink_bidir_gbs, "%.0f");
            fig(&g[i].link_gbs_nominal, "%.0f");
            fig(&g[i].link_gbs_practical, "%.0f");
            printf("\n");
        }
        printf("confidence: P vendor datasheet, S secondary source, M measured on a kbench machine, "
               "U user file, D derived from device properties; `kbench specs --gpu SLUG` shows sources\n");
    }
    char why[256];
    const int dev = device < 0 ? 0 : device;
    if (kb_have_device(why, sizeof why)) {
        struct cudaDeviceProp p;
        if (cudaGetDeviceProperties(&p, dev) == cudaSuccess) {
            int sm_khz = 0, mem_khz = 0;
            cudaDeviceGetAttribute(&sm_khz, cudaDevAttrClockRate, dev);
            cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, dev);
            /* the run's own detection rule (name, SM count, memory) */
            kb_gpu row;
            char misfit[256] = "";
            int known = kb_gpu_from_props(p.name, p.multiProcessorCount, p.totalGlobalMem / 1e9,
                                          p.l2CacheSize / 1048576.0, 0, &row, misfit, sizeof misfit);
            printf("current GPU: %s (device %d), %d SMs, max SM clock %d MHz, memory clock %d MHz, %.0f MB L2, "
                   "%.1f GB -> ", p.name, dev, p.multiProcessorCount, sm_khz / 1000, mem_khz / 1000,
                   p.l2CacheSize / 1048576.0, p.totalGlobalMem / 1e9);
            if (known) printf("%s\n", row.slug);
            else printf("a row derived at run time: it %s\n", misfit);
        }
    } else {
        printf("current GPU: none (no CUDA device: %s)\n", why);
    }
    return KB_EXIT_OK;
}
