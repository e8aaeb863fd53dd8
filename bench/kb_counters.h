/* kb_counters.h - `kbench run --counters`: the bytes one launch really moved,
 * from the GPU's hardware counters, beside the minimum the operator declares
 * (README "Hardware counters").
 *
 * The tool: Nsight Compute's command line (ncu), not CUPTI's Range Profiler
 * in-process.  After a case is timed, the process that timed it (a worker, or
 * the `--isolate none` process) starts
 *
 *   ncu --csv --page raw --print-units base --metrics KB_COUNTERS_METRICS
 *       --nvtx --nvtx-include "kbench OP IMPL SHAPE/" --cache-control all|none
 *       --clock-control none --target-processes all
 *       KBENCH run --counters-case OP/IMPL/SHAPE
 *
 * with stdout and stderr into a log file, and waits for it (a deadline, its
 * process group killed on expiry).  The child (kb_counters_child) sets the
 * shape up, launches once untimed, then once more inside the NVTX push/pop
 * range "kbench OP IMPL SHAPE": only the kernels of that launch are profiled.
 * So counter collection never runs inside the timed samples (it is another
 * process, after them), and nothing kbench measures depends on ncu: a missing
 * tool or a permission error is a note, never a failed row.
 *
 * The columns (bench/kb_row.c): dram_bytes = dram__bytes_read.sum +
 * dram__bytes_write.sum, l2_bytes = lts__t_bytes.sum, both summed over every
 * kernel of the launch; measured_intensity = flops / dram_bytes;
 * traffic_ratio = dram_bytes / bytes (the declared minimum);
 * sm_throughput_pct = sm__throughput.avg.pct_of_peak_sustained_elapsed
 * averaged over the kernels weighted by gpu__time_duration.sum.  Empty when
 * not collected; then the note says why: "counters off: ..." for the whole
 * run (no ncu, no permission; later cases do not retry) or "counters: ..."
 * for this case only.
 *
 * The parser and the runner below are plain C (no CUDA): tests feed them
 * recorded ncu output (tests/fixtures/ncu_*.txt) and a fake ncu script. */
#ifndef KB_COUNTERS_H
#define KB_COUNTERS_H
#include <jansson.h>
#include <stddef.h>
#include "bench/kb_row.h"
#ifdef __cplusplus
extern "C" {
#endif

#define KB_COUNTERS_METRICS                                                                                  \
    "dram__bytes_read.sum,dram__bytes_write.sum,lts__t_bytes.sum,"                                           \
    "sm__throughput.avg.pct_of_peak_sustained_elapsed,gpu__time_duration.sum"
/* Seconds one profiled case may take (ncu start-up, the shape's setup with
 * its CPU reference, the replays) before its process group is killed. */
enum { KB_COUNTERS_TIMEOUT_S = 600 };

/* What ncu said about one launch. */
typedef struct kb_counters {
    double dram_read, dram_write, l2_bytes; /* bytes, summed over the kernels */
    double sm_pct;                          /* time-weighted mean; NaN if unknown */
    int n_kernels;                          /* kernel rows summed; 0: not collected */
    int off;                                /* the reason holds for the whole run */
    char note[200];                         /* why not collected ("" when collected) */
} kb_counters;

/* Parse ncu's log of one `--csv --page raw` run (the CSV and any ==PROF==,
 * ==WARNING==, ==ERROR== lines around it).  Every data row of the raw page is
 * one kernel: the metrics are summed (bytes) or time-weighted (SM %).  Units
 * come from the page's unit row (byte, Kbyte, ... ; nsecond, usecond, ...);
 * thousands separators are dropped.  Returns 0 when at least one kernel
 * carried every byte metric, else -1 with c->note (and c->off for a
 * permission error, ERR_NVGPUCTRPERM). */
int kb_counters_parse(const char *log, kb_counters *c);

/* The ncu to run: $KBENCH_NCU when set (it must be executable), else `ncu` on
 * PATH, /usr/local/cuda/bin/ncu, the newest /opt/nvidia/nsight-compute/ * /ncu.
 * 0 and the path in out, or -1 with a reason in out. */
int kb_counters_find_ncu(char *out, size_t n);

/* One profiled launch of a case.  exe: the kbench executable (absolute);
 * key: "OP/IMPL/SHAPE"; keep_l2: the case times with a warm L2 (no flush), so
 * ncu must not flush caches either; specs: --specs FILE or NULL; timeout_s:
 * the deadline.  Fills *c; 0 if collected. */
typedef struct kb_counters_req {
    const char *exe, *key, *specs;
    const char *device; /* --device N of the run, passed on; NULL: none */
    int keep_l2;
    double timeout_s;
    const char *const *args; /* more arguments for the child (--axis ...) */
    int n_args;
} kb_counters_req;
int kb_counters_collect(const kb_counters_req *q, kb_counters *c);

/* The NVTX range name of a case ("kbench OP IMPL SHAPE"). */
void kb_counters_range(char *out, size_t n, const char *op, const char *impl, const char *shape);

/* The run-wide reason counters are off (the first "counters off" seen, or
 * the one the orchestrator passed with --counters-off); NULL while none. */
const char *kb_counters_off(void);
void kb_counters_set_off(const char *why);

/* The row's columns from c (collected), or its note (not collected:
 * appended to any note already there, "; " between). */
void kb_counters_fill(kb_row *r, const kb_counters *c);
/* The process that writes rows calls this for each: the first "counters
 * off" note prints one line on stderr for the run (and is remembered for
 * later workers, kb_counters_off); a per-case "counters:" note one line
 * each. */
void kb_counters_seen(const kb_row *r);
/* The run's meta.json "counters" value: "off" (not asked for), "ncu"
 * (collected where the rows say), or the run-wide reason they were not.
 * A new reference. */
json_t *kb_counters_meta(int asked);
#ifdef __cplusplus
}
#endif
#endif
