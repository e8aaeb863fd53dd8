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
