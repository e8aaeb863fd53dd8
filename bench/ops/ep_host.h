/* ep_host.h - host glue shared by the EP operators (ep_dispatch, ep_combine,
 * alltoall; bench/ops/ep_host.c): mode and rank detection, ep_args set-up and
 * release, the per-rank poison loop, the shared ep_dispatch / ep_combine
 * setup from a shape, and the operators' common prologue.  Takes kb_shape,
 * so it lives in bench/; the kernels see only kernels/ep/ep.h. */
#ifndef EP_HOST_H
#define EP_HOST_H
#include <stddef.h>
#include <stdint.h>
#include "bench/kb.h"
#include "bench/ops/ep_shapes.h"
#include "kernels/ep/ep.h"
#include "reference/ep_plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Blocks per rank from KBENCH_EP_SMS (default 20, clamped to 1..1024). */
int ep_env_sms(void);
/* Ranks and mode for this machine: the GPUs present if >= 2 (KBENCH_EP_RANKS
 * may ask for fewer) and KBENCH_EP_LOOPBACK is not 1; else loopback with
 * KBENCH_EP_RANKS virtual ranks (default 8, at most EP_MAX_RANKS). */
void ep_env_ranks(int *n_ranks, int *loopback);
/* Ranks of the SMALL shapes: 4 in loopback, min(N, 4) on one node, N in MPI
 * mode (every process is a rank). */
int ep_small_ranks(int n_ranks, int loopback);
/* Prepare a (zeroed) ep_args for n ranks: devices, peer access, streams,
 * events, zeroed flags.  kb_skip when the machine cannot run the mode. */
kb_status ep_args_init(ep_args *a, int n_ranks, int loopback);
/* Can the flag protocol run from GPU dev_i to GPU dev_j?  It needs peer
 * access (cudaDeviceCanAccessPeer) and system-scope atomics on peer memory
 * (cudaDevP2PAttrNativeAtomicSupported: NVLink has them, PCIe-only peers do
 * not): KB_OK, else KB_SKIP naming the missing one.  ep_args_init queries both
 * for every ordered pair of the ranks' GPUs. */
kb_status ep_peer_check(int dev_i, int dev_j, int can_access, int native_atomics);
/* Copy a->tab to every device (call after the pointers are set). */
kb_status ep_tab_upload(ep_args *a);
void ep_args_free(ep_args *a);
/* Poison helper: for every rank this process owns, on that rank's device, after
 * and before a device sync (the ranks' streams do not order with the legacy
 * stream cudaMemset uses), call fn(a, r, user); the current device is restored
 * on every path. */
kb_status ep_on_rank_devices(ep_args *a, kb_status (*fn)(ep_args *a, int r, void *user), void *user);

/* Shared setup of ep_dispatch / ep_combine: ep_args_init from the shape (skips
 * when the machine does not match it), the seeded routing (host idx/w), the
 * plan, and the per-rank device buffers both ops use: topk_idx, topk_w, key,
 * slot, slot_base (uploaded from the plan), cnt_all, recv_meta (uploaded from
 * the plan: combine's handle; dispatch overwrites it).  Sets tab.recv_rows /
 * comb_rows.  Does not upload the table. */
typedef struct ep_moe_host {
    int32_t *idx; /* [N][T][K] */
    float *w;     /* [N][T][K] */
    ep_plan plan;
} ep_moe_host;
kb_status ep_setup_moe(ep_args *a, const kb_shape *s, ep_moe_host *h);
void ep_moe_host_free(ep_moe_host *h);
/* Host copy of rank d's expected metadata row p (from the plan). */
ep_meta ep_expected_meta(const ep_moe_host *h, int d, int64_t p);
/* The EP operators' verify prologue: metric "wrong", *err = NaN until
 * counted.  (A flag wait that times out traps on the device: a sticky error
 * the launch already reported, kernels/common/kb_spin.cuh.) */
kb_status ep_verify_begin(const ep_args *a, double *err, const char **metric);
/* The EP operators' poison(): ctx starts with its ep_args; fn runs per owned
 * rank through ep_on_rank_devices. */
kb_status ep_poison_ranks(void *ctx, kb_status (*fn)(ep_args *a, int r, void *user));
/* On rank r's device: fill n seeded uniform values in [lo, hi) into p (BF16
 * if bf16, else FP32), wait for it, and return to device 0 on every path. */
kb_status ep_fill_on_rank(ep_args *a, int r, void *p, size_t n, int bf16, float lo, float hi, uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif
