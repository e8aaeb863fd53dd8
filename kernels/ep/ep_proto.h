/* ep_proto.h - the completion-flag protocol of the hand-written EP kernels
 * (kernels/ep/ep_v1.cu) as plain functions compiled for the GPU and for the
 * host: tests/test_ep_proto.c runs N simulated ranks x several launches
 * (graph replays, dropped launches, limited co-residency) through random
 * interleavings on top of these same rules and checks that no reader sees a
 * stale or partial buffer, no writer overwrites a buffer a peer still reads,
 * and nothing deadlocks.  No CUDA API here.
 *
 * Protocol (every flag lives in the RECEIVER's memory, ep_flags in ep.h; all
 * flags are monotonic and never reset):
 *   op start   barrier kernel, 1 CTA per rank: e = ep_proto_next_epoch(own
 *              epoch) is stored as the rank's op number (flags->epoch, read by
 *              every later kernel of the op: ep_proto_epoch), barrier[me] = e at
 *              every peer, then (several GPUs only, ep_proto_barrier_waits) wait
 *              until barrier[s] >= e for all s: every peer has finished its
 *              previous op, so its buffers may be overwritten.  The op number is
 *              a DEVICE counter, so host and device can never disagree (a graph
 *              replayed k times, or a launch whose kernels never ran, keeps
 *              every rank in step as long as each rank ran the same ops).
 *   counts     cnt_ready[src] = e after src's count row is stored (release);
 *              readers wait for >= ep_proto_want_epoch(e).
 *   data       every sender CTA adds 1 to done[src] at every peer after its
 *              stores (fence + barrier + release reduction); readers wait for
 *              done[s] >= ep_proto_want_blocks(e, blocks) for every sender s.
 * Loopback (N virtual ranks on one device): each phase is ONE launch for all
 * ranks, so a CTA only ever waits for flags set by an EARLIER launch on the
 * same stream (always already true); the barrier does not wait there (CTAs
 * of other virtual ranks in the same launch may not be resident yet). */
#ifndef EP_PROTO_H
#define EP_PROTO_H
#include "kernels/ep/ep_layout.h" /* EP_HD */

/* Op number of the next op, from the rank's own counter. */
EP_HD unsigned long long ep_proto_next_epoch(unsigned long long own_epoch) { return own_epoch + 1ull; }

/* The op number a kernel works for: `arg` when non-zero (a caller that keeps
 * its own count), else the device counter the op's barrier kernel stored. */
EP_HD unsigned long long ep_proto_epoch(unsigned long long arg, unsigned long long dev_epoch)
{
    return arg ? arg : dev_epoch;
}

/* Whether the barrier kernel waits for its peers (never inside one loopback launch). */
EP_HD int ep_proto_barrier_waits(int loopback) { return !loopback; }

/* Value a "= op number" flag (barrier, cnt_ready) must reach for op `epoch`. */
EP_HD unsigned long long ep_proto_want_epoch(unsigned long long epoch) { return epoch; }

/* Value a "+1 per finished sender CTA" counter (data_done, comb_done,
 * a2a_done) must reach for op `epoch` when every sender runs `blocks` CTAs. */
EP_HD unsigned long long ep_proto_want_blocks(unsigned long long epoch, int blocks)
{
    return epoch * (unsigned long long)blocks;
}

EP_HD int ep_proto_ready(unsigned long long flag, unsigned long long want) { return flag >= want; }

#endif
