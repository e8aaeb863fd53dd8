/* kbr_plot.h - pieces of `kbench plot` that `kbench report` reuses. */
#ifndef KBR_PLOT_H
#define KBR_PLOT_H
#include "bench/report/csv_table.h"

/* Ceilings of one GPU: datasheet (ds_*) and measured in the loaded CSVs (m_*,
 * 0 when absent): op `hbm` impl *copy* -> gbps, op `peak` impls containing fp8 / bf16
 * -> tflops (measured rows that did not fail). */
typedef struct kbr_ceil {
    int has_datasheet;
    double ds_fp8, ds_bf16, ds_hbm, ds_link, ds_link_practical; /* TFLOP/s, GB/s */
    double m_fp8, m_bf16, m_hbm;
} kbr_ceil;
int kbr_ceilings(const kb_rowset *s, const char *gpu, kbr_ceil *c); /* -1: nothing known */

double kbr_row_intensity(const kb_row *r); /* flops / bytes               */
double kbr_row_tflops(const kb_row *r);    /* flops / time                */
double kbr_row_pct_roof(const kb_row *r, const kbr_ceil *c); /* pct_roof column or computed */

/* Best time of (op, shape) on gpu among measured+passed rows (want_measured)
 * or projected rows; NaN if none.  *impl (optional) names the winner. */
double kbr_best_time(const kb_rowset *s, const char *op, const char *shape, const char *gpu,
                     int want_measured, const char **impl);

/* H800 vs H100 for one op, summed over shapes present for both GPUs. */
typedef struct kbr_pair {
    double h100_us, h800_us;
    int nshapes, n_h_meas, n_e_meas, n_e_scaled, n_e_proj;
} kbr_pair;
int kbr_h800_vs_h100(const kb_rowset *s, const char *op, kbr_pair *out); /* -1: no shapes */

int kbr_mkdirs(const char *dir);
const char *kbr_gnuplot_path(void); /* $KBENCH_GNUPLOT or gnuplot on PATH; NULL if missing */
#endif
