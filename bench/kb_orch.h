/* kb_orch.h - `kbench run` as an orchestrator: the cases run in worker
 * processes (the same binary in worker mode, bench/kb_worker.h), never in
 * this one, which does not touch CUDA at all; a watchdog per case; a health
 * probe after a hang or crash; resume from a CSV.  README "Isolation,
 * watchdog, resume".
 *
 *   processes   --isolate op|impl|case: one worker per operator, per
 *               (operator, implementation) (the default) or per case.  A
 *               first worker (--worker-probe) reports the device facts; a
 *               worker that dies, hangs or loses its context costs the case
 *               it was in (a `fail` row saying why) and its remaining cases
 *               go to a fresh worker after a health probe.
 *   deadline    per phase of a case ("no progress for N s"): --case-timeout
 *               S, or by default 60 s + warm-up (--warmup-ms) + 50 x the
 *               roofline floor of the case x (reps + 4); 300 s for worker
 *               start-up and setup (CPU references of large shapes).  On
 *               expiry: SIGTERM to the worker's process group, 1 s grace,
 *               SIGKILL, reaped.
 *   exit codes  0 all passed, 1 any fail row (hang and crash rows too), 3 no
 *               device (the probe worker's line), 4 I/O, 5 the device did not
 *               recover (KB_EXIT_DEVICE_LOST: one line, the rows so far in
 *               FILE.partial, resumable).
 *   seam        $KBENCH_WORKER names the worker executable (tests use
 *               tests/fake_worker.c); default /proc/self/exe. */
#ifndef KB_ORCH_H
#define KB_ORCH_H
#include <stddef.h>
#include "bench/kb_row.h"
#include "bench/kb_run.h"
#include "bench/report/csv_table.h"
#ifdef __cplusplus
extern "C" {
#endif

int kb_orch_run(const kb_run_opts *o);

/* ---- outputs (bench/kb_orch_out.c), shared with --isolate none ------------
 * New run: <dir>/<UTC stamp>-<pid>.csv (+ .json, .meta.json), the name
 * reserved with O_EXCL on its .partial and never an existing file, so runs
 * started in the same second never collide.  --resume FILE: FILE.csv.partial
 * is cut back to its last whole line and appended to; a finished FILE.csv is
 * rewritten (old rows, then the new ones) through FILE.csv.partial; both are
 * renamed to FILE.csv at the end.  The rows already there are `old`. */
typedef struct kb_out {
    /* room for a KB_PATH_MAX folder or --resume file and the names kbench
     * adds; a name that would not fit is refused, never cut */
    char csv_path[KB_PATH_MAX + 128], json_path[KB_PATH_MAX + 128], meta_path[KB_PATH_MAX + 128];
    kb_csv csv;
    kb_rowset old;
    int old_fail; /* old rows with verified=fail */
} kb_out;
/* dir: the output folder (new runs; something there that is not a folder,
 * or a name too long, is a usage error); resume: NULL or the file; json:
 * NULL or the --benchmark_out path that replaces the .json name.
 * KB_EXIT_OK, or KB_EXIT_USAGE / KB_EXIT_IO after one line on stderr. */
int kb_out_open(kb_out *out, const char *dir, const char *resume, const char *json);
/* Is (op, impl, shape) among the resumed rows? */
int kb_out_has(const kb_out *out, const char *op, const char *impl, const char *shape);
/* Commit the CSV (rename into place) and free the old rows.  0 / -1. */
int kb_out_close(kb_out *out);
/* The run stopped: flush and close, leaving FILE.csv.partial for --resume. */
void kb_out_keep_partial(kb_out *out);
#ifdef __cplusplus
}
#endif
#endif
