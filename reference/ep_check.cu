// ep_check.cu - verification helper for alltoall: counts the 4-byte words of
// every receive chunk that differ from the chunk its source rank sent.  Runs on
// rank 0's device and reads the other ranks' buffers through peer access; in
// MPI mode on this process's device, checking its own receive buffer against
// the other ranks' send buffers regenerated from their seeds (a2a_seed).
#include <cuda_runtime.h>
#include <stdint.h>
#include "kernels/common/kb_fill.h"
#include "kernels/ep/ep.h"

namespace {
__global__ void a2a_compare_kernel(const uint32_t *recv, const uint32_t *send, long long words,
                                   unsigned long long *wrong)
{
    unsigned long long w = 0;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < words;
         i += (long long)gridDim.x * blockDim.x)
        w += recv[i] != send[i];
    for (int o = 16; o; o >>= 1) w += __shfl_xor_sync(0xffffffffu, w, o);
    if ((threadIdx.x & 31) == 0 && w) atomicAdd(wrong, w);
}
} // namespace

extern "C" kb_status ep_check_alltoall(const ep_args *a, uint64_t *wrong)
{
    const int N = a->n_ranks;
    const long long c = a->a2a_chunk, words = c / 4;
    int cur = 0;
    KB_CUDA_TRY(cudaGetDevice(&cur));
    KB_CUDA_TRY(cudaSetDevice(a->dev[0]));
    unsigned long long *dw = NULL, hw = 0;
    uint8_t *regen = NULL; // MPI mode: another rank's send buffer, rebuilt from its seed
    KB_CUDA_TRY(cudaMalloc(&dw, sizeof *dw));
    cudaError_t e = cudaMemset(dw, 0, sizeof *dw);
    if (e == cudaSuccess && a->mpi) e = cudaMalloc(&regen, (size_t)N * c);
    for (int d = ep_r_lo(a); d < ep_r_hi(a) && e == cudaSuccess; d++)
        for (int s = 0; s < N && e == cudaSuccess; s++) {
            // chunk s of d's receive buffer == chunk d of s's send buffer
            const uint8_t *send = a->tab.a2a_send[s];
            if (!ep_is_local(a, s)) {
                if (kb_dev_fill_f32((float *)regen, (size_t)N * c / 4, 1.0f, 2.0f,
                                    a->a2a_seed + (uint64_t)s * 0x9e37ull, 0) != KB_OK) {
                    e = cudaErrorUnknown;
                    break;
                }
                send = regen;
            }
            const uint32_t *rv = (const uint32_t *)(a->tab.a2a_recv[d] + s * c);
            const uint32_t *sv = (const uint32_t *)(send + d * c);
            long long blocks = (words + 255) / 256;
            a2a_compare_kernel<<<(unsigned)(blocks > 1024 ? 1024 : (blocks ? blocks : 1)), 256>>>(rv, sv, words, dw);
            e = cudaGetLastError();
        }
    if (e == cudaSuccess) e = cudaMemcpy(&hw, dw, sizeof hw, cudaMemcpyDeviceToHost);
    cudaFree(dw);
    if (regen) cudaFree(regen);
    cudaSetDevice(cur);
    if (e != cudaSuccess) return kb_error("ep_check_alltoall: %s", cudaGetErrorString(e));
    *wrong = hw;
    return KB_OK;
}
