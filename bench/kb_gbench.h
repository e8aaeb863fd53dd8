/* kb_gbench.h - C API over Google Benchmark 1.7.1 (bench/gbench_shim.cc).
 * kbench drives one benchmark per verified (op, impl, shape) with manual
 * (device) time; --benchmark_* flags pass through; all runs of a kbench run
 * are written as ONE Google Benchmark JSON document beside the CSV. */
#ifndef KB_GBENCH_H
#define KB_GBENCH_H
#include "bench/kb.h"
#ifdef __cplusplus
extern "C" {
#endif

/* One timed sample: seconds of device time, or a status != KB_OK. */
typedef kb_status (*kb_gb_sample_fn)(void *user, double *seconds);

/* Parse and remove --benchmark_* flags from argv (Google Benchmark's own
 * parser).  --benchmark_out=FILE is taken over: the JSON goes there instead of
 * the default path.  Returns 0, or -1 and prints one line for a bad flag. */
int kb_gb_init(int *argc, char **argv);
const char *kb_gb_out_path(void); /* user's --benchmark_out or NULL */
/* Register one benchmark; flops/bytes per iteration become rate counters. */
void kb_gb_register(const char *name, int iterations, double flops, double bytes,
                    kb_gb_sample_fn fn, void *user);
/* Run what is registered (honouring --benchmark_filter/_repetitions), then
 * clear the registry.  Returns the number of benchmarks run. */
int kb_gb_run(void);
/* Write every run so far as one JSON document (temp file + rename). 0/-1. */
int kb_gb_write_json(const char *path);
#ifdef __cplusplus
}
#endif
#endif
