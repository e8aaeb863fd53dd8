// kb_dev.cu - the SM-clock probe (the seeded fills and the poison moved to
// kernels/common/kb_fill.cu).
#include <stdint.h>
#include "bench/kb.h"
#include "bench/kb_timer.h"

namespace {
__global__ void clock_probe(unsigned long long *out, unsigned long long spin_ns)
{
    // %globaltimer counts ns but updates in steps (~1 us on recent GPUs): start
    // on a step edge: the loop below also ends on one, so the interval is exact
    // to a loop iteration instead of +-1 step (0.5% of 200 us).  clock64 counts
    // SM cycles.
    unsigned long long t_first, t0, t1, c0, c1;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t_first));
    do {
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    } while (t0 == t_first);
    c0 = clock64();
    do {
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t1));
    } while (t1 - t0 < spin_ns);
    c1 = clock64();
    out[0] = c1 - c0;
    out[1] = t1 - t0;
}
} // namespace

extern "C" kb_status kb_dev_sm_clock_mhz(cudaStream_t s, double *mhz)
{
    unsigned long long *d = nullptr, h[2] = {0, 0};
    *mhz = 0;
    KB_CUDA_TRY(cudaMalloc(&d, sizeof h));
    clock_probe<<<1, 1, 0, s>>>(d, 200000ull);
    cudaError_t e = cudaMemcpyAsync(h, d, sizeof h, cudaMemcpyDeviceToHost, s);
    if (e == cudaSuccess) e = cudaStreamSynchronize(s);
    cudaFree(d);
    KB_CUDA_TRY(e);
    if (h[1]) *mhz = (double)h[0] / (double)h[1] * 1e3;
    return KB_OK;
}
