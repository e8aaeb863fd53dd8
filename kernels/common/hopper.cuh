// hopper.cuh - the Hopper (sm_90a) PTX wrappers every TMA/wgmma kernel uses:
// mbarriers, TMA 2D tile loads, wgmma group fences, and the host-side lookup of
// cuTensorMapEncodeTiled through the runtime (so nothing links libcuda and the
// binary still loads on machines without a driver).
// NOTES: mbarrier waits spin on try_wait.parity, bounded by the spin guard
// (kernels/common/kb_spin.cuh: KB_SPIN_TIMEOUT_MS, then report and trap); a
// TMA load completes its bytes on the mbarrier given (expect_tx must announce
// the full box bytes, also for boxes that run past the tensor edge:
// out-of-bounds bytes are zero-filled and counted).
#ifndef KB_HOPPER_CUH
#define KB_HOPPER_CUH
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime.h>
#include <stdint.h>
#include "kernels/common/kb_spin.cuh"

__device__ __forceinline__ uint32_t smem_u32(const void *p)
{
    return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void mbar_init(uint64_t *bar, uint32_t count)
{
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(smem_u32(bar)), "r"(count) : "memory");
}

// One try: true once the phase with this parity has completed.
__device__ __forceinline__ bool mbar_try_wait(uint64_t *bar, uint32_t parity)
{
    uint32_t done;
    asm volatile("{\n"
                 ".reg .pred p;\n"
                 "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
                 "selp.u32 %0, 1, 0, p;\n"
                 "}\n"
                 : "=r"(done)
                 : "r"(smem_u32(bar)), "r"(parity)
                 : "memory");
    return done != 0;
}

// Wait for the phase with this parity; `what` and `stage` name the barrier in
// the report of a timeout (kb_spin.cuh: the guard runs only after a failed try).
__device__ __forceinline__ void mbar_wait(uint64_t *bar, uint32_t parity, const char *what, int stage)
{
    kb_spin spin;
    while (!mbar_try_wait(bar, parity)) kb_spin_mbar(spin, what, stage, parity);
}

__device__ __forceinline__ void mbar_arrive(uint64_t *bar)
{
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(smem_u32(bar)) : "memory");
}

__device__ __forceinline__ void mbar_arrive_expect_tx(uint64_t *bar, uint32_t bytes)
{
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(smem_u32(bar)), "r"(bytes)
                 : "memory");
}

// TMA: the box at tensor coordinates (c0 = inner, c1 = outer) into shared
// memory at dst, completing on bar.
__device__ __forceinline__ void tma_load_2d(void *dst, const CUtensorMap *map, uint64_t *bar, int c0, int c1)
{
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes"
                 " [%0], [%1, {%3, %4}], [%2];" ::"r"(smem_u32(dst)),
                 "l"(reinterpret_cast<uint64_t>(map)), "r"(smem_u32(bar)), "r"(c0), "r"(c1)
                 : "memory");
}

__device__ __forceinline__ void tma_prefetch_desc(const CUtensorMap *map)
{
    asm volatile("prefetch.tensormap [%0];" ::"l"(reinterpret_cast<uint64_t>(map)) : "memory");
}

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmma_wait0() { asm volatile("wgmma.wait_group.sync.aligned 0;" ::: "memory"); }

// Host: cuTensorMapEncodeTiled from the driver, or nullptr when unavailable.
static inline PFN_cuTensorMapEncodeTiled_v12000 kb_tensor_map_encoder()
{
    static PFN_cuTensorMapEncodeTiled_v12000 fn = nullptr;
    if (!fn) {
        void *ptr = nullptr;
        cudaDriverEntryPointQueryResult q = cudaDriverEntryPointSymbolNotFound;
        if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &ptr, 12000, cudaEnableDefault, &q) ==
                cudaSuccess &&
            q == cudaDriverEntryPointSuccess)
            fn = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(ptr);
    }
    return fn;
}
#endif
