/* kbr_claim.h - reading the two CSVs `kbench claim` writes (the DeepSeek-V3
 * cost model): the report's first section and the claim charts read them
 * through here, never the rows of `kbench run`.
 *
 *   claim.csv        scenario,gpu,metric,value,unit,source
 *                    scenarios v3-train, ep8-intranode, v3-prefill, v3-decode;
 *                    metrics gpu_hours_per_ttok, usd_per_ttok, step_time_s,
 *                    ratio_vs_h100, comm_time_s, comm_ratio_vs_h100, ...,
 *                    assumptions assume.<name>, model terms term.<name>.time_s
 *   claim_sweep.csv  scenario,gpu,axis,gbps,step_time_s  (axis nvlink | ib)
 *
 * The headers must be exactly these; value, gbps and step_time_s are numbers.
 * Loaders return 0, KB_EXIT_USAGE (bad header, bad number, a field too long)
 * or KB_EXIT_IO with one line naming the file (and row) in err. */
#ifndef KBR_CLAIM_H
#define KBR_CLAIM_H
#include <stddef.h>

#define KBR_CLAIM_HEADER "scenario,gpu,metric,value,unit,source"
#define KBR_SWEEP_HEADER "scenario,gpu,axis,gbps,step_time_s"

typedef struct kbr_claim_row {
    char scenario[32], gpu[32], metric[96], unit[48];
    double value;
    char *source; /* free text, owned */
} kbr_claim_row;

typedef struct kbr_claim {
    kbr_claim_row *r;
    int n, cap;
} kbr_claim;

typedef struct kbr_sweep_row {
    char scenario[32], gpu[32], axis[16];
    double gbps, step_s;
} kbr_sweep_row;

typedef struct kbr_sweep {
    kbr_sweep_row *r;
    int n, cap;
} kbr_sweep;

int kbr_claim_load(kbr_claim *c, const char *path, char *err, size_t errlen);
void kbr_claim_free(kbr_claim *c);
/* The last row of (scenario, gpu, metric), or NULL. */
const kbr_claim_row *kbr_claim_get(const kbr_claim *c, const char *scenario, const char *gpu, const char *metric);
/* value of that row, NaN when absent. */
double kbr_claim_value(const kbr_claim *c, const char *scenario, const char *gpu, const char *metric);
/* Does the row's source say it was measured (begins with "measured")?
 * Everything else is a model number. */
int kbr_claim_measured(const kbr_claim_row *r);
/* Distinct values of the scenario (which = 0) or gpu (which = 1) column in
 * order of first appearance, leaving out "" and "-" and "all"; returns the count. */
int kbr_claim_keys(const kbr_claim *c, int which, const char **out, int max);

int kbr_sweep_load(kbr_sweep *s, const char *path, char *err, size_t errlen);
void kbr_sweep_free(kbr_sweep *s);
#endif
