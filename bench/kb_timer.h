/* kb_timer.h - device-side timing of the samples of one case.  Each sample:
 * the L2 flush (a read of 2x L2), the blocking kernel that holds the stream
 * while the host enqueues, a clock stamp, the launch (`batch` launches back
 * to back in hot mode), a clock stamp, the release; then the host waits.  The
 * time is the span of the CUPTI activity records of everything the launch
 * issued (max end - min start, matched through an external correlation id
 * pushed around it; the flush, blocking kernel and stamps are outside the
 * pushed region), or CUDA events recorded just around the launch when CUPTI
 * is unavailable.  CUPTI records are collected with one forced flush per
 * batch of samples (kb_timer_end), not one per sample. */
#ifndef KB_TIMER_H
#define KB_TIMER_H
#include "bench/kb.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef enum kb_timer_kind { KB_TIMER_CUPTI = 0, KB_TIMER_EVENTS = 1 } kb_timer_kind;

/* NOTES: the blocking kernel gives up after this long.  Enqueuing even a
 * thousand-kernel launch takes milliseconds, so a timeout means the launch
 * waited for the device while enqueuing (a synchronising launcher): a
 * deadlock with the blocking kernel, which the timeout breaks. */
#define KB_BLOCK_TIMEOUT_S 2.0

/* NOTES: --hot times launches shorter than KB_HOT_BELOW_US as batches of
 * back-to-back launches on a warm L2 (time / batch), each batch about
 * KB_HOT_TARGET_US long: a few-us launch is then no longer dominated by the
 * globaltimer step, the CUPTI record overhead and the front-end's ramp-up.
 * At most KB_HOT_MAX_BATCH launches: all of them are queued behind the
 * blocking kernel, and a full launch queue (about a thousand pending
 * launches) would block the host: a deadlock until the blocking kernel's
 * timeout (then the case goes on without it, and says so). */
#define KB_HOT_BELOW_US 20.0
#define KB_HOT_TARGET_US 200.0
#define KB_HOT_MAX_BATCH 256
/* Launches per sample for a launch of `us` microseconds under --hot: 1 (not
 * hot) from KB_HOT_BELOW_US up, else KB_HOT_TARGET_US / us rounded up, within
 * 2 .. KB_HOT_MAX_BATCH. */
int kb_hot_batch(double us);

/* Start the timer.  Asking for CUPTI may give events (why says why). */
kb_status kb_timer_init(kb_timer_kind want, kb_timer_kind *got, char *why, size_t whylen);
const char *kb_timer_name(kb_timer_kind k);
/* The timer samples use now: CUPTI falls back to events (with a warning) if it
 * produces no correlation records at run time. */
kb_timer_kind kb_timer_active(void);
void kb_timer_shutdown(void);

/* What the samples of one case share. */
typedef struct kb_timing {
    kb_launch_fn fn;
    void *ctx;
    cudaStream_t stream;
    const void *flush_buf; /* read before each sample (L2 flush); NULL: no flush */
    size_t flush_bytes;
    int batch;             /* launches per sample, back to back (hot mode); >= 1 */
    int block;             /* hold the stream with the blocking kernel while enqueuing */
} kb_timing;

/* One sample.  seconds: device time per launch (set by kb_timer_sample for
 * events, by kb_timer_end for CUPTI); clk, ns: SM 0's clock64 cycles and
 * %globaltimer ns between the stamps around the launch (0 when SM 0 ran no
 * stamp block); deadlock: the blocking kernel timed out (the sample failed). */
typedef struct kb_sample {
    double seconds;
    uint64_t clk, ns;
    uint64_t id; /* CUPTI external correlation id */
    int deadlock;
} kb_sample;

/* A batch of samples: kb_timer_begin, kb_timer_sample for each, kb_timer_end. */
void kb_timer_begin(void);
/* Run one sample and wait for it.  An error fails the sample (a failed
 * launch; out->deadlock: the blocking kernel timed out). */
kb_status kb_timer_sample(const kb_timing *t, kb_sample *out);
/* One forced CUPTI flush, then each sample's time from its records.  KB_OK;
 * KB_OK with *retry: the timer fell back to events during the batch, measure
 * it again; an error naming the first sample whose records are bad
 * (incomplete records fail the sample rather than shorten its span). */
kb_status kb_timer_end(const kb_timing *t, kb_sample *s, int n, int *retry);

/* Device helpers (kb_dev.cu). */
/* Read `bytes` of buf (a multiple of 16) on ~4 blocks per SM; sink: 4 device
 * bytes never written in practice. */
kb_status kb_dev_flush_l2(const void *buf, size_t bytes, int sms, unsigned *sink, cudaStream_t s);
/* out[0] = %globaltimer, out[1] = clock64 of SM 0 (one 1-thread block per SM). */
kb_status kb_dev_stamp(unsigned long long *out, int sms, cudaStream_t s);
/* The blocking kernel: spins until *release != 0 (host-mapped) or timeout_s;
 * then *timed_out = 1. */
kb_status kb_dev_block(const unsigned *release, unsigned *timed_out, double timeout_s, cudaStream_t s);
#ifdef __cplusplus
}
#endif
#endif
