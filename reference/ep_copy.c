/* ep_copy.c - copy-engine baseline for alltoall: one cudaMemcpyPeerAsync per
 * (source, destination) chunk on the source rank's stream (loopback: plain
 * device-to-device cudaMemcpyAsync on the harness stream).  No SMs used. */
#include "kernels/ep/ep.h"

kb_status ep_copy_alltoall(void *ctx, cudaStream_t st);

kb_status ep_copy_alltoall(void *ctx, cudaStream_t st)
{
    ep_args *a = (ep_args *)ctx;
    const int N = a->n_ranks;
    const size_t c = (size_t)a->a2a_chunk;
    if (a->mpi) return kb_skip("multi-process mode: cudaMemcpyPeer needs all GPUs in one process; use the NCCL reference");
    if (a->loopback) {
        for (int r = 0; r < N; r++)
            for (int d = 0; d < N; d++)
                KB_CUDA_TRY(cudaMemcpyAsync(a->tab.a2a_recv[d] + r * c, a->tab.a2a_send[r] + d * c, c,
                                            cudaMemcpyDeviceToDevice, st));
        return KB_OK;
    }
    int cur = 0;
    KB_CUDA_TRY(cudaGetDevice(&cur));
    KB_TRY(ep_fork(a, st));
    for (int r = 0; r < N; r++) {
        KB_CUDA_TRY(cudaSetDevice(a->dev[r]));
        for (int d = 0; d < N; d++)
            KB_CUDA_TRY(cudaMemcpyPeerAsync(a->tab.a2a_recv[d] + r * c, a->dev[d], a->tab.a2a_send[r] + d * c,
                                            a->dev[r], c, a->stream[r]));
    }
    KB_CUDA_TRY(cudaSetDevice(cur));
    return ep_join(a, st);
}
