/* ep_args.c - per-rank helpers the EP kernels, the NCCL reference and the
 * operators' host glue share (kernels/ep/ep.h): tracked allocations on a
 * rank's device and the fork/join of the per-GPU streams around the harness
 * stream. */
#include <stdlib.h>
#include "kernels/ep/ep.h"

kb_status ep_alloc(ep_args *a, int r, size_t bytes, void **p)
{
    *p = NULL;
    if (a->n_alloc >= EP_MAX_ALLOCS) return kb_error("ep: too many allocations");
    int dev = a->loopback ? a->dev[0] : a->dev[r];
    KB_CUDA_TRY(cudaSetDevice(dev));
    cudaError_t e = cudaMalloc(p, bytes ? bytes : 16);
    KB_CUDA_TRY(cudaSetDevice(a->dev[0]));
    if (e != cudaSuccess)
        return kb_error("ep: cudaMalloc(%zu) on device %d: %s", bytes, dev, cudaGetErrorString(e));
    a->alloc_ptr[a->n_alloc] = *p;
    a->alloc_dev[a->n_alloc] = dev;
    a->n_alloc++;
    return KB_OK;
}

kb_status ep_fork(ep_args *a, cudaStream_t st)
{
    if (a->loopback) return KB_OK;
    KB_CUDA_TRY(cudaEventRecord(a->ev_fork, st));
    for (int r = ep_r_lo(a); r < ep_r_hi(a); r++) KB_CUDA_TRY(cudaStreamWaitEvent(a->stream[r], a->ev_fork, 0));
    return KB_OK;
}

kb_status ep_join(ep_args *a, cudaStream_t st)
{
    if (a->loopback) return KB_OK;
    for (int r = ep_r_lo(a); r < ep_r_hi(a); r++) {
        KB_CUDA_TRY(cudaEventRecord(a->ev_join[r], a->stream[r]));
        KB_CUDA_TRY(cudaStreamWaitEvent(st, a->ev_join[r], 0));
    }
    return KB_OK;
}

