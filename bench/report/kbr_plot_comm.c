/* kbr_plot_comm.c - the communication chart of the plot library, read as
 * nccl-tests users read their output: achieved bandwidth vs message size,
 * log-x, with the GPU's link ceilings (nominal dashed, practical solid).
 * Communication ops do not share the roofline's x axis (FLOP per HBM byte):
 * kbr_plot_roof.c leaves them out and they are drawn here, one chart per GPU.
 *
 *   x  message size: the row's `bytes` dim when it has one (the all-to-all's
 *      per-rank size, nccl-tests' "size"), else its link bytes
 *   y  link bytes / time = GB/s per direction over the link (for the
 *      all-to-all, nccl-tests' busbw = algbw x (n-1)/n)
 * Loopback rows (one GPU, dim loopback=1) are HBM copies, never link
 * bandwidth: they are counted in the data file's header, not drawn.
 * Phases: rows -> blocks per (op, impl, source) -> data, ceilings, script. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/report/kbr_plot_int.h"

int kbr_is_comm_op(const kb_rowset *s, const char *op)
{
    if (!strcmp(op, "ep_dispatch") || !strcmp(op, "ep_combine") || !strcmp(op, "alltoall")) return 1;
    for (int i = 0; i < s->n; i++) {
        const kb_row *r = &s->r[i];
        if (strcmp(r->op, op)) continue;
        if ((isfinite(r->link_bytes) && r->link_bytes > 0) || !strcmp(r->bound, "network")) return 1;
    }
    return 0;
}

typedef struct comm {
    const plotctx *P;
    const char *gpu, *name;
    int nloop;         /* loopback rows left out */
    strlist keys;      /* "op impl source" per block, in order of first row */
    kb_ceil nominal, practical;
    double xlo, xhi;   /* message sizes drawn: one size alone gets a range around it */
} comm;

static int is_loopback(const kb_row *r)
{
    char cf[48];
    return !strcmp(kbr_row_config(r, cf, sizeof cf), "loopback");
}

/* A drawn row: a comm op of this GPU, timed, not failed, with link bytes, not loopback. */
static int comm_point(const comm *C, const kb_row *r)
{
    return !strcmp(r->gpu, C->gpu) && kbr_sl_find(&C->P->comm, r->op) >= 0 && kb_row_has_time(r) &&
           strcmp(r->verified, "fail") && isfinite(r->link_bytes) && r->link_bytes > 0 && !is_loopback(r);
}

static double msg_bytes(const kb_row *r)
{
    const char *p = strstr(r->dims, "bytes=");
    if (p && (p == r->dims || p[-1] == ';')) return strtod(p + 6, NULL);
    return r->link_bytes;
}

static void block_key(char *buf, size_t n, const kb_row *r)
{
    snprintf(buf, n, "%s %s %s", r->op, r->impl, kb_row_is_measured(r) ? "measured" : "projected");
}

static int put_comm_data(FILE *f, void *arg)
{
    const comm *C = arg;
    const kb_rowset *s = C->P->s;
    fprintf(f, "# communication on %s: message_bytes link_gbs_per_direction shape op impl source config\n"
               "# link GB/s = link_bytes / time (all-to-all: nccl-tests busbw); one block per (op, impl, source)\n"
               "# loopback rows left out (one-GPU HBM copies, not link bandwidth): %d\n\n",
            C->gpu, C->nloop);
    for (int b = 0; b < C->keys.n; b++) {
        fprintf(f, "# block %d: %s\n", b, C->keys.s[b]);
        for (int i = 0; i < s->n; i++) {
            const kb_row *r = &s->r[i];
            char key[200], cf[48];
            if (!comm_point(C, r)) continue;
            block_key(key, sizeof key, r);
            if (strcmp(key, C->keys.s[b])) continue;
            kbr_row_config(r, cf, sizeof cf);
            for (char *q = cf; *q; q++) if (*q == ' ') *q = '_';
            fprintf(f, "%.6g %.6g %s %s %s %s %s\n", msg_bytes(r), r->link_bytes / r->time_us / 1e3, r->shape, r->op,
                    r->impl, kb_row_is_measured(r) ? "measured" : "projected", cf);
        }
        fprintf(f, "\n\n");
    }
    return ferror(f) ? -1 : 0;
}

static int put_comm_ceilings(FILE *f, void *arg)
{
    const comm *C = arg;
    fprintf(f, "# link ceilings of %s, GB/s per direction (datasheet): kind value\n"
               "nominal %.6g\npractical %.6g\n",
            C->gpu, C->nominal.link_gbs, C->practical.link_gbs);
    return ferror(f) ? -1 : 0;
}

static int put_comm_script(FILE *f, void *arg)
{
    const comm *C = arg;
    kbr_gp_preamble(f, C->name, 1300, 800, "communication: achieved link bandwidth vs message size");
    int nmeas = 0;
    for (int b = 0; b < C->keys.n; b++) nmeas += strstr(C->keys.s[b], " measured") != NULL;
    fprintf(f, "set title \"Communication on %s: bandwidth per direction over the link vs message size%s\"\n"
               "set logscale x 2\nset format x \"%%.0b%%B\"\nset yrange [0:%g]\n"
               "set xlabel \"message size (bytes per rank; EP ops: link bytes)\"\n"
               "set ylabel \"GB/s per direction (link bytes / time = busbw)\"\n"
               "set key outside right top vertical Left reverse box\n",
            C->gpu, nmeas ? "" : " - projected, nothing measured", C->nominal.link_gbs * 1.25);
    if (C->xlo == C->xhi) fprintf(f, "set xrange [%g:%g]\n", C->xlo / 2, C->xhi * 2);
    fprintf(f, "plot \\\n");
    fprintf(f, "  %g with lines dt 2 lw 2 lc rgb \"#444444\" title \"link nominal %.0f GB/s/dir (datasheet)\", \\\n"
               "  %g with lines dt 1 lw 2 lc rgb \"#888888\" title \"link practical %.0f GB/s/dir (datasheet)\"",
            C->nominal.link_gbs, C->nominal.link_gbs, C->practical.link_gbs, C->practical.link_gbs);
    for (int b = 0; b < C->keys.n; b++) {
        char op[64];
        sscanf(C->keys.s[b], "%63s", op);
        int meas = strstr(C->keys.s[b], " measured") != NULL;
        fprintf(f, ", \\\n  \"%s.dat\" index %d using 1:2 with linespoints pt %d ps 1.4 lw 1.5 %s lc rgb \"%s\" title \"%s\"",
                C->name, b, meas ? 7 : 6, meas ? "dt 1" : "dt 3", kbr_op_color(op), C->keys.s[b]);
    }
    fprintf(f, "\n");
    return ferror(f) ? -1 : 0;
}

/* "comm_<gpu>": 0 written, -1 nothing to draw (or the GPU is not in the table), KB_EXIT_IO. */
int kbr_write_comm(plotctx *P, const char *gpu, char *name, size_t namelen)
{
    const kb_gpu *g = kb_gpu_find(gpu);
    if (!g) return -1;
    snprintf(name, namelen, "comm_%s", gpu);
    comm C = {.P = P, .gpu = gpu, .name = name, .nominal = kb_ceil_from_gpu(g, 0), .practical = kb_ceil_from_gpu(g, 1),
              .xlo = INFINITY, .xhi = 0};
    for (int i = 0; i < P->s->n; i++) {
        const kb_row *r = &P->s->r[i];
        char key[200];
        if (!strcmp(r->gpu, gpu) && kbr_sl_find(&P->comm, r->op) >= 0 && is_loopback(r)) C.nloop++;
        if (!comm_point(&C, r)) continue;
        block_key(key, sizeof key, r);
        if (kbr_sl_add(&C.keys, key) < 0) { kbr_sl_free(&C.keys); return KB_EXIT_IO; }
        C.xlo = fmin(C.xlo, msg_bytes(r)), C.xhi = fmax(C.xhi, msg_bytes(r));
    }
    int rc = -1;
    if (C.keys.n) {
        char fn[256];
        snprintf(fn, sizeof fn, "%s.dat", name);
        rc = kbr_plot_file(P, fn, put_comm_data, &C);
        snprintf(fn, sizeof fn, "%s_ceilings.dat", name);
        if (!rc) rc = kbr_plot_file(P, fn, put_comm_ceilings, &C);
        snprintf(fn, sizeof fn, "%s.gp", name);
        if (!rc) rc = kbr_plot_file(P, fn, put_comm_script, &C);
    }
    kbr_sl_free(&C.keys);
    return rc;
}
