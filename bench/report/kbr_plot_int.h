/* kbr_plot_int.h - internals shared by the chart writers of the plot library
 * (kbr_plot.c: the driver, per-op and pair charts; kbr_plot_roof.c: the
 * roofline; kbr_plot_comm.c: communication; kbr_plot_claim.c: claim charts).  Not for other callers: they use kbr_plot.h. */
#ifndef KBR_PLOT_INT_H
#define KBR_PLOT_INT_H
#include <stdio.h>
#include "bench/report/kbr_plot.h"

typedef struct strlist { char **s; int n; } strlist;
int kbr_sl_find(const strlist *l, const char *s);
int kbr_sl_add(strlist *l, const char *s); /* index; -1 out of memory */
void kbr_sl_free(strlist *l);

extern const char *const kbr_op_colors[10];
extern const char *const kbr_gpu_colors[4];
/* The gnuplot point type of a chart's impl-th implementation (0-based, in the
 * chart's own order): filled = measured, hollow = projected. */
int kbr_marker(int impl, int filled);
/* The operator's colour in every chart: a fixed table (kbr_plot.c), one place. */
const char *kbr_op_color(const char *op);

typedef struct plotctx {
    const kb_rowset *s;
    const kbr_plot_opts *o;
    strlist ops, impls, gpus; /* ops and impls leave out the ceiling rows (hbm, peak) */
    strlist comm;             /* the communication ops (kbr_is_comm_op): not on the roofline */
    char err[1400];
} plotctx;

/* Write o->out_dir/FILE whole or not at all through fn(f, arg); on failure
 * the reason is in P->err.  0 / KB_EXIT_IO. */
int kbr_plot_file(plotctx *P, const char *file, kb_write_fn fn, void *arg);
/* Terminal preamble shared by every script: fmt = png | svg | txt. */
void kbr_gp_preamble(FILE *f, const char *name, int w, int h, const char *what);

/* The roofline chart of one GPU, or of every GPU overlaid (gpu == NULL):
 * NAME_points.dat, NAME_ceilings.dat, NAME.gp.  0 / KB_EXIT_IO. */
int kbr_write_roofline(plotctx *P, const char *gpu, char *name, size_t namelen);
/* The communication chart of one GPU (kbr_plot_comm.c): comm_<gpu>.dat,
 * comm_<gpu>_ceilings.dat, comm_<gpu>.gp.  0 / -1 nothing to draw / KB_EXIT_IO. */
int kbr_write_comm(plotctx *P, const char *gpu, char *name, size_t namelen);
/* The bandwidth chart of one GPU (kbr_plot_bw.c): zero-FLOP ops, GB/s and %
 * of the HBM roof per shape: bandwidth_<gpu>.dat, bandwidth_<gpu>_ceilings.dat,
 * bandwidth_<gpu>.gp.  0 / -1 nothing to draw / KB_EXIT_IO. */
int kbr_write_bandwidth(plotctx *P, const char *gpu, char *name, size_t namelen);
/* The claim charts (kbr_plot_claim.c), from P->o->claim / P->o->sweep:
 * claim.{dat,gp}; claim_sweep.dat, claim_sweep_marks.dat, claim_sweep.gp. */
int kbr_write_claim(plotctx *P, char *name, size_t namelen);
int kbr_write_sweep(plotctx *P, char *name, size_t namelen);
/* Its measured-traffic layer (kbr_plot_traffic.c): NAME_traffic.dat over the
 * rows keep(chart, row) takes that carry counters; the number of rows (0: no
 * file), -1 on error (P->err); and the plot clauses for them (none if n <= 0). */
int kbr_write_traffic(plotctx *P, const char *name, int (*keep)(const void *, const kb_row *), const void *chart);
void kbr_script_traffic(FILE *f, const char *name, int n);
#endif
