/* kbr_report.h - `kbench report` inside: the state its sections read and the
 * sections themselves.  cmd_report.c parses options, loads the CSVs, renders
 * the plots (kbr_plot_render) and writes the sections of its table in order;
 * each section is a function of this state only. */
#ifndef KBR_REPORT_H
#define KBR_REPORT_H
#include "bench/report/csv_table.h"
#include "bench/report/kbr_doc.h"
#include "bench/report/kbr_plot.h"
#include "bench/report/kbr_rollup.h"

#define KBR_MAX_PRICES 16
typedef struct kbr_price { char gpu[32]; double usd; const char *why; } kbr_price;
typedef struct kbr_prices { kbr_price p[KBR_MAX_PRICES]; int n; } kbr_prices;
/* "GPU=USD,..." into ps (later entries replace earlier ones); 0 / -1. */
int kbr_prices_parse(kbr_prices *ps, const char *arg, const char *why);
const kbr_price *kbr_price_for(const kbr_prices *ps, const char *gpu);

typedef struct kbr_report {
    doc d;
    kb_rowset s;
    kbr_cfg cfg;
    kbr_gpu_pair pair;
    /* `kbench claim`'s CSVs (--claim, --sweep); NULL path: not given */
    const char *claim_path, *sweep_path;
    kbr_claim claim;
    kbr_sweep sweep;
    /* plots: where they went, how the report links them, which were rendered */
    char plots[1100], relp[1100], plot_note[1500];
    int plotted;
    kbr_chart_list charts;
} kbr_report;

/* Distinct GPUs of the rows, in order of first appearance. */
int kbr_gpus_in(const kb_rowset *s, const char **out, int max);

/* Embed every rendered chart of one kind (nothing when plots were not rendered). */
void kbr_report_charts(kbr_report *R, kbr_chart_kind kind);

/* The pair section (kbr_report_pair.c): a cell whose ratio B/A lies within
 * 1 +- KBR_PAIR_EQUAL_TOL counts as equal; the section lists only the cells
 * that differ, with a summary per op and configuration, and every cell goes to
 * the CSV DIR/pair_<B>_vs_<A>.csv beside the report. */
#define KBR_PAIR_EQUAL_TOL 0.005
int kbr_pair_differs(double ratio);
void kbr_pair_csv_name(const kbr_gpu_pair *p, char *buf, size_t n); /* "pair_<B>_vs_<A>.csv" */
/* Write it whole or not at all: 0, -1 no cell (nothing written), KB_EXIT_IO (err set). */
int kbr_pair_csv_write(const kbr_report *R, const char *path, char *err, size_t errlen);

void kbr_sec_title(kbr_report *R);
void kbr_sec_claim(kbr_report *R); /* kbr_report_claim.c: the first section */
void kbr_sec_failures(kbr_report *R);
void kbr_sec_metadata(kbr_report *R);
void kbr_sec_best(kbr_report *R);
void kbr_sec_traffic(kbr_report *R); /* --counters rows: the highest traffic_ratio */
void kbr_sec_pair(kbr_report *R);
void kbr_sec_rollup(kbr_report *R);
void kbr_sec_plots(kbr_report *R);
#endif
