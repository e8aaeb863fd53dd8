/* kb_worker.h - the protocol between `kbench run` (the orchestrator,
 * bench/kb_orch.c) and its workers (the same binary in a hidden mode, or
 * $KBENCH_WORKER in tests).  Plain C, no CUDA: the orchestrator never touches
 * the device in isolated modes.
 *
 * Starting a worker.  The orchestrator forks, puts the child in its own
 * process group (so a kill reaches everything it started) and execs
 *
 *   WORKER run --worker-fd 3 [--worker-probe]
 *          [--worker-ceil FP8,BF16,HBM,MEASURED] [--worker-cases OP/IMPL/SHAPE,...]
 *          [--reps N] [--flush X] [--timer X] [--warmup-ms MS] [--graph] [--hot] [--drop-low-clock]
 *          [--counters [--counters-off WHY]]
 *          [--specs FILE] [--benchmark_* ...] [--benchmark_out=FILE]
 *
 * WORKER is /proc/self/exe, or $KBENCH_WORKER when set (any executable that
 * speaks this protocol: tests/fake_worker.c).  stdin is /dev/null, stdout and
 * stderr are the orchestrator's (human output still reaches the terminal);
 * the messages go on fd 3 only.
 *   --worker-probe   open the device, copy 4 KiB host -> device -> host and
 *                    compare (the health probe), send `device`, `done`, exit 0.
 *                    No device: the usual one line on stderr, exit 3.
 *   --worker-ceil    the ceilings measured so far by earlier workers (TFLOP/s,
 *                    TFLOP/s, GB/s, KB_CEIL_* bits): the bits set replace the
 *                    datasheet figures before the first case.
 *   --worker-cases   the cases to run, each once, in registry order (op, then
 *                    shape, then implementation).
 *   --counters-off   hardware counters are off for the run (an earlier worker
 *                    found no ncu or no permission: bench/kb_counters.h); the
 *                    rows say WHY without trying ncu again.
 *
 * Messages, worker -> orchestrator: one line each, words separated by one
 * space, '\n'-terminated (a line cut short by the worker's death is ignored):
 *   device SLUG JSON       device facts: the GPU table slug and the run-meta
 *                          object (bench/kb_run.c meta_json) on one line
 *   start OP IMPL SHAPE PHASE
 *                          before each phase of a case; PHASE is setup,
 *                          verify, warm-up, timing or counters (--counters:
 *                          the ncu pass after timing) (setup is reported for
 *                          the first case of a shape: its implementations
 *                          share it)
 *   row CSV                one finished row: a CSV record in kb_cols order
 *                          (bench/kb_row.h, RFC 4180 quoting); CR and LF
 *                          inside fields are sent as spaces
 *   ceil FP8 BF16 HBM MEASURED
 *                          the ceilings after a ceiling row (hbm/peak) changed
 *                          them; later workers start from these
 *   lost NAME              the CUDA context is gone (NAME = cudaGetErrorName of
 *                          the sticky error); the worker exits next
 *   done                   every case ran; the worker exits 0 next
 * Unknown message words are ignored (a one-line warning).
 *
 * The orchestrator's side: a row per case it received; a case named by the
 * last `start` that has no row when the worker dies, hangs or is lost gets a
 * `fail` row (README "Isolation, watchdog, resume"), and the cases without a
 * row go to a fresh worker. */
#ifndef KB_WORKER_H
#define KB_WORKER_H
#include <stddef.h>
#include "bench/kb_roofline.h"
#include "bench/kb_row.h"
#ifdef __cplusplus
extern "C" {
#endif

enum { KB_WORKER_FD = 3 }; /* the message fd a worker is given */

/* Write one message line (printf format, '\n' appended) to fd, whole or not
 * at all (one write(2) per line; EINTR retried).  0 / -1. */
int kb_wk_send(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* `row CSV` for r.  0 / -1. */
int kb_wk_send_row(int fd, const kb_row *r);
/* `ceil ...` for c.  0 / -1. */
int kb_wk_send_ceil(int fd, const kb_ceil *c);

/* Parse the CSV record of a `row` message (the text after "row ") into r
 * (kb_row_init first; every kb_cols column in order).  0, or -1 with a
 * reason in err. */
int kb_wk_parse_row(const char *csv, kb_row *r, char *err, size_t errlen);
/* Parse "FP8,BF16,HBM,MEASURED" (the --worker-ceil argument, or the words
 * of a `ceil` message with sep ' ') into c's measured figures.  0 / -1. */
int kb_wk_parse_ceil(const char *s, char sep, kb_ceil *c);
/* Apply the measured figures of m (its `measured` bits) to c. */
void kb_wk_apply_ceil(kb_ceil *c, const kb_ceil *m);
#ifdef __cplusplus
}
#endif
#endif
