// kb_dev.cu - the harness's device helpers around each timed sample (the
// seeded fills and the poison live in kernels/common/kb_fill.cu):
//   - the L2 flush: a read of a buffer of 2x the L2 size, which leaves L2 full
//     of clean lines (a memset would leave ~L2-size of dirty lines whose
//     write-back the next timed kernel would pay);
//   - the clock stamps: %globaltimer and SM 0's clock64, before and after a
//     sample, so the SM clock is known under load, per sample;
//   - the blocking kernel: holds the stream until the host has enqueued the
//     whole launch (so the host's enqueue gaps are not timed), spinning on a
//     host-mapped flag with a timeout (a launch that waits for the device
//     while enqueuing would otherwise deadlock with it).
#include <stdint.h>
#include "bench/kb.h"
#include "bench/kb_timer.h"

namespace {
__device__ __forceinline__ unsigned long long global_ns()
{
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}

// NOTES: 16-byte loads, a grid-stride loop over the whole buffer; the XOR of
// everything read is stored only when it equals `key`, which the host picks so
// that it never does in practice: the loads cannot be optimised away and
// nothing is written (no dirty line).
__global__ void flush_read(const uint4 *__restrict__ buf, size_t n, unsigned key, unsigned *sink)
{
    unsigned acc = 0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint4 v = __ldcg(buf + i); // L2 only: the flush is about L2
        acc ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    if (acc == key) *sink = acc;
}

// One block per SM, one thread each; the block that runs on SM 0 writes
// %globaltimer and its clock64 (clock64 is per SM: both stamps of a sample
// must come from the same SM to be subtracted).
__global__ void stamp(unsigned long long *out)
{
    unsigned smid;
    asm volatile("mov.u32 %0, %%smid;" : "=r"(smid));
    if (smid != 0) return;
    out[0] = global_ns();
    out[1] = clock64();
}

// Spins until the host sets *release (an acquire load at system scope: the
// flag lives in host memory) or timeout_ns pass; a timeout is written to
// *timed_out for the host to find.
__global__ void block_stream(const unsigned *release, unsigned *timed_out, unsigned long long timeout_ns)
{
    unsigned long long t0 = global_ns();
    for (;;) {
        unsigned r;
        asm volatile("ld.acquire.sys.global.u32 %0, [%1];" : "=r"(r) : "l"(release) : "memory");
        if (r) return;
        if (global_ns() - t0 > timeout_ns) {
            *timed_out = 1;
            return;
        }
        __nanosleep(1000);
    }
}
} // namespace

extern "C" kb_status kb_dev_flush_l2(const void *buf, size_t bytes, int sms, unsigned *sink, cudaStream_t s)
{
    flush_read<<<(unsigned)(sms > 0 ? 4 * sms : 512), 512, 0, s>>>((const uint4 *)buf, bytes / sizeof(uint4),
                                                                    0x9e3779b9u, sink);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}

extern "C" kb_status kb_dev_stamp(unsigned long long *out, int sms, cudaStream_t s)
{
    stamp<<<(unsigned)(sms > 0 ? sms : 1), 1, 0, s>>>(out);
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}

extern "C" kb_status kb_dev_block(const unsigned *release, unsigned *timed_out, double timeout_s, cudaStream_t s)
{
    block_stream<<<1, 1, 0, s>>>(release, timed_out, (unsigned long long)(timeout_s * 1e9));
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}
