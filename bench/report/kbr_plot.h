/* kbr_plot.h - the plot library: what `kbench plot` and `kbench report` share.
 *
 *   ceilings    a GPU's datasheet ceilings and the ones its rows measured,
 *               both through bench/kb_roofline.h (kbench's one roofline);
 *   the pair    the two GPUs compared side by side (--pair A,B), as data;
 *   charts      kbr_plot_render: every chart of a rowset into a folder.
 * Pure C over kb_rowset; no CUDA. */
#ifndef KBR_PLOT_H
#define KBR_PLOT_H
/* The longest output directory path the plot and report commands accept
 * (their file paths are built in fixed buffers: refused, never cut). */
#define KBR_MAX_DIR 1000
#include <stddef.h>
#include "bench/kb_roofline.h"
#include "bench/report/csv_table.h"
#include "bench/report/kbr_claim.h"

/* ---- ceilings -------------------------------------------------------------- */
/* datasheet: kb_ceil_from_gpu(g, 0) (nominal link); measured: a copy of it to
 * which every measured, non-failed, timed row that kb_ceil_kind() names a
 * ceiling was applied with kb_ceil_measured() (measured.measured says which). */
typedef struct kbr_ceils {
    int has_datasheet;
    kb_ceil datasheet, measured;
} kbr_ceils;
int kbr_ceilings(const kb_rowset *s, const char *gpu, kbr_ceils *c); /* -1: nothing known */

/* Communication ops: ep_dispatch, ep_combine, alltoall, and any op with a row
 * that moves link bytes (link_bytes > 0) or is network-bound.  They are drawn
 * on the communication chart (GB/s vs message size), not on the roofline. */
int kbr_is_comm_op(const kb_rowset *s, const char *op);
/* The configuration a row measures, from its dims: "loopback" (one GPU,
 * loopback=1), "EP<n> intra-node" (ranks <= 8), "EP<n> across nodes"
 * (ranks > 8), or "" (no ranks: a single-GPU kernel).  Sums never mix two. */
const char *kbr_row_config(const kb_row *r, char *buf, size_t n);
/* kbench model's row of a link-bound op at the nominal link rate: the pair
 * and the roll-up use the practical one ("roofline-practical-link"). */
#define KBR_NOMINAL_LINK_IMPL "roofline-nominal-link"

/* Rows of op hbm / peak measure ceilings: no point, no per-op chart, no pair line. */
int kbr_is_ceiling_op(const char *op);
double kbr_row_intensity(const kb_row *r); /* flops / bytes               */
double kbr_row_tflops(const kb_row *r);    /* flops / time                */
/* --counters rows (bench/report/kbr_plot_traffic.c): flops / dram_bytes (the
 * measured_intensity column when flops are unknown); has it a positive one? */
double kbr_row_dram_intensity(const kb_row *r);
int kbr_row_has_traffic(const kb_row *r);
/* The row's pct_roof column when present, else kb_roof_pct of its floor at
 * the datasheet ceilings, as the column means (c->measured when the GPU has
 * no table row). */
double kbr_row_pct_roof(const kb_row *r, const kbr_ceils *c);

/* ---- defaults: the only GPU slugs written in bench/report ----------------------- */
/* The GPUs compared side by side when --pair is not given. */
#define KBR_PAIR_DEFAULT "h100-sxm,h800-sxm"
/* The GPU of the DeepSeek-V3 report's GPU-hours (the roll-up's anchor) and its
 * rental rate there; the other default price is an assumption, not a quote. */
#define KBR_ANCHOR_GPU "h800-sxm"
#define KBR_PRICES_DEFAULT KBR_ANCHOR_GPU "=2.0,h100-sxm=2.5"
/* The GPU the claim CSV's ratio_vs_h100 and comm_ratio_vs_h100 divide by. */
#define KBR_CLAIM_REF_GPU "h100-sxm"

/* ---- the pair ---------------------------------------------------------------- */
typedef struct kbr_gpu_pair { const kb_gpu *a, *b; } kbr_gpu_pair;
/* "A,B": two different slugs of the GPU table.  0, or -1 with one line in err. */
int kbr_pair_parse(const char *arg, kbr_gpu_pair *p, char *err, size_t errlen);

/* Best time of (op, shape) on gpu among measured+passed rows (want_measured)
 * or projected rows; NaN if none.  *impl (optional) names the winner. */
double kbr_best_time(const kb_rowset *s, const char *op, const char *shape, const char *gpu,
                     int want_measured, const char **impl);

/* ---- projection of a measured row onto another GPU ----------------------------
 * The one rule (pair section, pair chart and roll-up): a measured row of GPU
 * X projects onto GPU Y (same op, same shape) as
 *     t_Y = t_X x floor_Y / floor_X
 * where both floors are computed the same way: the roofline floor of the
 * row's own flops, bytes and link_bytes (peak by its dtype) at that GPU's
 * datasheet ceilings with the practical link rate (kb_ceil_from_gpu(g, 1):
 * a measured all-to-all does not reach the nominal one).  A memory-bound row
 * moves by the HBM ratio, a compute-bound one by the peak ratio. */
double kbr_row_floor_us(const kb_row *r, const kb_gpu *g); /* 0 when the row counts nothing */
/* NaN when either GPU is NULL, the row has no time, or a floor is 0. */
double kbr_project_us(const kb_row *r, const kb_gpu *from, const kb_gpu *to);

/* One (op, shape) on both GPUs of the pair; each side: its best measured time
 * that passed; else another GPU's best measured row projected onto it
 * (kbr_project_us; the other pair GPU first, else the first GPU of the rows
 * with one, e.g. a measured h200-sxm for an h100-sxm,h800-sxm pair); else
 * its projected row.  0, or -1 when either side is missing. */
typedef enum kbr_pair_src { KBR_SRC_MEASURED = 0, KBR_SRC_SCALED, KBR_SRC_PROJECTED } kbr_pair_src;
typedef struct kbr_pair_cell {
    double a_us, b_us;
    kbr_pair_src a_src, b_src;
    const char *a_from, *b_from; /* KBR_SRC_SCALED: the GPU whose measured row was projected */
} kbr_pair_cell;
int kbr_pair_shape(const kb_rowset *s, const char *op, const char *shape, const kbr_gpu_pair *p,
                   kbr_pair_cell *out);

/* The same summed over the shapes of one op and one configuration
 * (kbr_row_config: loopback rows never add to link rows) that both sides have. */
typedef struct kbr_pair_sum {
    double a_us, b_us;
    int nshapes, n_a_meas, n_a_scaled, n_a_proj, n_b_meas, n_b_scaled, n_b_proj;
} kbr_pair_sum;
int kbr_pair_op(const kb_rowset *s, const char *op, const char *config, const kbr_gpu_pair *p,
                kbr_pair_sum *out); /* -1: none */

/* ---- charts ------------------------------------------------------------------ */
enum { KBR_FMT_PNG = 1u << 0, KBR_FMT_SVG = 1u << 1, KBR_FMT_TXT = 1u << 2 };
typedef enum kbr_chart_kind {
    KBR_CHART_ROOFLINE = 0, KBR_CHART_OP, KBR_CHART_PAIR,
    KBR_CHART_CLAIM, /* "claim": GPU-hours per 1e12 tokens per scenario and GPU (kbr_plot_claim.c)  */
    KBR_CHART_SWEEP, /* "claim_sweep": step time vs NVLink / IB GB/s, the GPUs marked            */
    KBR_CHART_COMM,  /* "comm_<gpu>": comm ops, achieved GB/s vs message size (kbr_plot_comm.c) */
    KBR_CHART_BANDWIDTH /* "bandwidth_<gpu>": zero-FLOP ops, GB/s and % of HBM roof per shape (kbr_plot_bw.c) */
} kbr_chart_kind;
typedef struct kbr_chart {
    char name[96]; /* file stem in out_dir: "roofline_h100-sxm", "h800-sxm_vs_h100-sxm" */
    kbr_chart_kind kind;
} kbr_chart;
#define KBR_MAX_CHARTS 256

typedef struct kbr_plot_opts {
    const char *out_dir; /* at most KBR_MAX_DIR characters: longer is refused */
    unsigned formats;     /* KBR_FMT_* */
    kbr_gpu_pair pair;    /* its chart "<B>_vs_<A>" when both are in the data */
    const kbr_claim *claim; /* optional: `kbench claim`'s CSV -> the claim chart  */
    const kbr_sweep *sweep; /* optional: its sweep CSV -> the sensitivity chart   */
} kbr_plot_opts;
typedef struct kbr_chart_list { kbr_chart c[KBR_MAX_CHARTS]; int n; } kbr_chart_list;

/* Write every chart's NAME.gp and NAME*.dat into o->out_dir (each whole or
 * not at all) and render them with gnuplot.  `out` (optional) lists the
 * charts rendered.  0, or KB_EXIT_USAGE (no rows, no claim, no sweep) /
 * KB_EXIT_IO (gnuplot missing or failing, cannot write) with one line in err. */
int kbr_plot_render(const kb_rowset *s, const kbr_plot_opts *o, kbr_chart_list *out, char *err, size_t errlen);

const char *kbr_gnuplot_path(void); /* $KBENCH_GNUPLOT or gnuplot on PATH; NULL if missing */
#endif
