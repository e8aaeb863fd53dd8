// hbm_fault.cu - test-only faults for checking that `kbench run` survives a
// hung and a crashed kernel (GPU needed).  Always built (the kernels are tiny
// and tests/spin.cmake checks their PTX); the `hbm` operator lists them as
// implementations only in a KB_FAULT_INJECT=ON build.
//   fault_hang  one warp spins on a flag nobody sets: the spin guard
//               (kernels/common/kb_spin.cuh) reports and traps after
//               KB_SPIN_TIMEOUT_MS; with KB_SPIN_TIMEOUT_MS=0 it hangs forever.
//   fault_trap  one thread writes to an unmapped address: an illegal-address
//               error, sticky like a trap.
#include <stdint.h>
#include "kernels/hbm/hbm.h"
#include "kernels/common/kb_spin.cuh"

namespace {
__device__ unsigned long long never_set; // zero-initialised; no code writes it

__device__ __forceinline__ unsigned long long ld_acquire_gpu(const unsigned long long *p)
{
    unsigned long long v;
    asm volatile("ld.acquire.gpu.global.u64 %0, [%1];" : "=l"(v) : "l"(p) : "memory");
    return v;
}

__global__ void fault_hang_kernel()
{
    kb_spin spin;
    while (ld_acquire_gpu(&never_set) == 0ull) kb_spin_flag(spin, "never_set", 0, 1ull);
}

__global__ void fault_trap_kernel(int *bad)
{
    if (threadIdx.x == 0) *(volatile int *)bad = 1;
}
} // namespace

extern "C" kb_status hbm_fault_hang(void *ctx, cudaStream_t s)
{
    fault_hang_kernel<<<1, 32, 0, s>>>();
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}

extern "C" kb_status hbm_fault_trap(void *ctx, cudaStream_t s)
{
    // A low address is never mapped on the device; passed in, so the compiler
    // cannot turn the store into something else.
    fault_trap_kernel<<<1, 32, 0, s>>>(reinterpret_cast<int *>(static_cast<uintptr_t>(0x100)));
    KB_CUDA_TRY(cudaGetLastError());
    return KB_OK;
}
