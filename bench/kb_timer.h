/* kb_timer.h - device-side timing of one launch: CUPTI activity records of
 * every kernel/memcpy/memset the launch issued (span = max end - min start,
 * matched through an external correlation id pushed around the launch), or
 * CUDA events around it when CUPTI is unavailable. */
#ifndef KB_TIMER_H
#define KB_TIMER_H
#include "bench/kb.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef enum kb_timer_kind { KB_TIMER_CUPTI = 0, KB_TIMER_EVENTS = 1 } kb_timer_kind;

/* Start the timer.  Asking for CUPTI may give events (why says why). */
kb_status kb_timer_init(kb_timer_kind want, kb_timer_kind *got, char *why, size_t whylen);
const char *kb_timer_name(kb_timer_kind k);
/* The timer samples use now: CUPTI falls back to events (with a warning) if it
 * produces no correlation records at run time. */
kb_timer_kind kb_timer_active(void);
/* Time one launch; *seconds = device time.  KB_OK with *seconds = NaN: the
 * timer has just switched from CUPTI to events (see kb_timer_active) and this
 * sample has no time; repeat it (flush included). */
kb_status kb_timer_sample(kb_launch_fn fn, void *ctx, cudaStream_t s, double *seconds);
void kb_timer_shutdown(void);

/* Device helpers (kb_dev.cu). */
/* SM clock in MHz from clock64 vs %globaltimer over ~200 us on one SM
 * (started on a %globaltimer tick, so its ~1 us update step costs no accuracy). */
kb_status kb_dev_sm_clock_mhz(cudaStream_t s, double *mhz);
#ifdef __cplusplus
}
#endif
#endif
