// ep_dev.cuh - device steps of the dispatch copy shared by the hand-written
// kernel (ep_v1.cu: writes into the peers' receive buffers) and the NCCL
// reference's pack kernel (reference/ep_nccl.cu: writes into its send buffer):
// one warp per token, lane d speaks for destination rank d.
#ifndef EP_DEV_CUH
#define EP_DEV_CUH
#include <stdint.h>
#include "kernels/ep/ep.h"
#include "kernels/ep/ep_layout.h"

// Lane d < N reads token t's key for destination d (kd, -1: not sent there)
// and its destination row pos = base[kd] + slot (-1 when not sent).  Returns
// the ballot of the destinations the token goes to (every lane gets it).
__device__ __forceinline__ unsigned ep_token_dests(const int32_t *key, const int32_t *slot, const int *base, int N,
                                                   int t, int lane, int &kd, int &pos)
{
    kd = -1;
    pos = -1;
    if (lane < N) {
        kd = key[(size_t)t * N + lane];
        if (kd >= 0) pos = base[kd] + slot[(size_t)t * N + lane];
    }
    return __ballot_sync(0xffffffffu, kd >= 0);
}

// The 16-byte metadata record lane `lane` (a destination of token t of rank
// r, key kd) writes after the payload.
__device__ __forceinline__ ep_meta ep_dispatch_meta(int r, int t, int slot_base_t, unsigned mask, int lane, int kd)
{
    ep_meta mt;
    mt.src_rank = r;
    mt.src_token = t;
    mt.comb_slot = ep_comb_slot(slot_base_t, mask, lane);
    mt.key = kd;
    return mt;
}
#endif
