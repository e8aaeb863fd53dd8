// kb_spin.cuh - the spin guard: every device-side wait loop (mbarrier
// try_wait, peer flags) gives up after KB_SPIN_TIMEOUT_MS, prints who waited
// for what (with KB_SPIN_QUIET: only records it, see below), and traps.  A
// trap is a sticky error: the launch fails, the process's CUDA context is
// lost, and `kbench run`'s isolation turns it into a fail row instead of a
// hung suite.
//
//   kb_spin spin;                                    // per wait: 1 register
//   while (!try_once()) kb_spin_mbar(spin, "full", stage, parity);
//
// The report (one thread prints two lines, then traps), e.g.:
//   kbench: spin timeout: block (3,0,0) thread 256 waited 4001 ms for mbarrier full stage 2 parity 1
//   kbench: spin timeout: KB_SPIN_TIMEOUT_MS=4000 exceeded, trap (a sticky error: ...)
// or, for a peer flag: "... waited 4001 ms for flag cnt_ready[5] >= 7".
// NOTES:
// - Off the fast path: the guard is called only after a failed try.  Its first
//   call reads %globaltimer once (starts the clock), later calls compare; a wait
//   that succeeds at once never reads the timer (tests/check_spin_guard.sh
//   checks the order in the PTX).
// - The clock is %globaltimer >> 20 (~1.05 ms ticks) in 32 bits, so the state
//   is one register (0 = not started; a started clock is made odd).
// - KB_SPIN_TIMEOUT_MS (CMake option, default 4000): 0 = unbounded (the guard
//   compiles to nothing).
// - KB_SPIN_QUIET (define it before the first include, in a file whose kernels
//   use wgmma): the timeout records the report in kb_spin_rep and traps without
//   printing.  Any call (vprintf) in a function makes ptxas serialise every
//   wgmma in it (note C7510); tests/fp8_gemm_v3.cmake and mla_decode.cmake
//   check ptxas prints no C7510.  The host cannot read the record after the
//   trap (device memory of a lost context): `kbench run` says only "lost
//   context"; cuda-gdb or a GPU core dump shows kb_spin_rep.
// - Without KB_SPIN_QUIET, one thread per module reports (it claims
//   kb_spin_rep with atomicCAS); others that time out wait until the report
//   is out, then trap too, so no early trap cuts the message off.  It calls
//   vprintf with its argument block in global memory: printf would build it
//   on the stack, a stack frame in every kernel that waits
//   (tests/check_kernel.sh --no-spill forbids those).
//   The argument-less printf after it makes nvcc declare vprintf in the module.
// - Everything is inlined and the cold path never returns, so nothing stays
//   live across its calls: no spills in the kernels that wait.
#ifndef KB_SPIN_CUH
#define KB_SPIN_CUH
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>

#ifndef KB_SPIN_TIMEOUT_MS
#define KB_SPIN_TIMEOUT_MS 4000
#endif
#define KB_SPIN_STR_(x) #x
#define KB_SPIN_STR(x) KB_SPIN_STR_(x)

// vprintf's argument block: each argument at its natural alignment, in order.
struct kb_spin_args {
    int bx, by, bz, tid;
    unsigned ms;
    const char *what;
    int stage;
    unsigned long long value;
};

struct kb_spin_report {
    unsigned claimed;
    kb_spin_args args;
};

// One per module (internal linkage): the first thread to time out claims it.
static __device__ kb_spin_report kb_spin_rep;

struct kb_spin {
    uint32_t t0 = 0; // start tick | 1, 0 = clock not started
};

__device__ __forceinline__ uint32_t kb_spin_tick()
{
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return (uint32_t)(t >> 20) | 1u;
}

// Who waited for what, into the module's report (both cold paths): inlined,
// never a call.
__device__ __forceinline__ kb_spin_args *kb_spin_record(kb_spin_report *r, uint32_t ticks, const char *what,
                                                         int stage, unsigned long long value)
{
    kb_spin_args *a = &r->args;
    a->bx = (int)blockIdx.x;
    a->by = (int)blockIdx.y;
    a->bz = (int)blockIdx.z;
    a->tid = (int)(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z));
    a->ms = (unsigned)(((unsigned long long)ticks << 20) / 1000000ull);
    a->what = what;
    a->stage = stage;
    a->value = value;
    return a;
}

#ifdef KB_SPIN_QUIET
// The quiet cold path (KB_SPIN_QUIET), never returns: the first thread of the
// module to get here records who waited for what in kb_spin_rep (plain stores,
// a system fence), then every thread that times out traps at once.  No call:
// a call anywhere in a function makes ptxas serialise all of its wgmma (note
// C7510), so the kernels that use wgmma cannot print.  The record lives in
// device memory, which the host cannot read once the trap has lost the
// context: it is there for a debugger (cuda-gdb, compute-sanitizer) or a GPU
// core dump (CUDA_ENABLE_COREDUMP_ON_EXCEPTION=1): `print kb_spin_rep`.
__device__ __forceinline__ void kb_spin_fail(const char *fmt, uint32_t ticks, const char *what, int stage,
                                             unsigned long long value)
{
    (void)fmt;
    kb_spin_report *r = &kb_spin_rep;
    if (atomicCAS(&r->claimed, 0u, 1u) == 0u) {
        kb_spin_record(r, ticks, what, stage, value);
        __threadfence_system();
        *(volatile unsigned *)&r->claimed = 2u;
    }
    asm volatile("trap;");
    __builtin_unreachable();
}
#else
// The cold path, never returns: the first thread of the module to get here
// reports and traps; any other waits until the report is out, then traps too
// (the report's own trap usually ends the grid first).
__device__ __forceinline__ void kb_spin_fail(const char *fmt, uint32_t ticks, const char *what, int stage,
                                             unsigned long long value)
{
    kb_spin_report *r = &kb_spin_rep;
    if (atomicCAS(&r->claimed, 0u, 1u) == 0u) {
        kb_spin_args *a = kb_spin_record(r, ticks, what, stage, value);
        asm volatile("{\n"
                     ".param .b64 kb_fmt;\n"
                     ".param .b64 kb_args;\n"
                     ".param .b32 kb_ret;\n"
                     "st.param.b64 [kb_fmt], %0;\n"
                     "st.param.b64 [kb_args], %1;\n"
                     "call (kb_ret), vprintf, (kb_fmt, kb_args);\n"
                     "}\n" ::"l"(fmt),
                     "l"(a)
                     : "memory");
        printf("kbench: spin timeout: KB_SPIN_TIMEOUT_MS=" KB_SPIN_STR(KB_SPIN_TIMEOUT_MS)
               " exceeded, trap (a sticky error: this process's CUDA context is lost)\n");
        __threadfence();
        *(volatile unsigned *)&r->claimed = 2u;
    }
    while (*(volatile unsigned *)&r->claimed != 2u) __nanosleep(1000);
    asm volatile("trap;");
    __builtin_unreachable();
}
#endif

// Called after every failed try of a wait.
__device__ __forceinline__ void kb_spin_check(kb_spin &s, const char *fmt, const char *what, int stage,
                                              unsigned long long value)
{
#if KB_SPIN_TIMEOUT_MS > 0
    constexpr uint32_t kLimit = // ticks, rounded up
        (uint32_t)(((unsigned long long)KB_SPIN_TIMEOUT_MS * 1000000ull + (1u << 20) - 1) >> 20);
    const uint32_t now = kb_spin_tick();
    if (s.t0 == 0u) s.t0 = now;
    else if (now - s.t0 > kLimit) kb_spin_fail(fmt, now - s.t0, what, stage, value);
#endif
}

// An mbarrier phase wait: `what` names the barrier, stage its pipeline slot.
__device__ __forceinline__ void kb_spin_mbar(kb_spin &s, const char *what, int stage, uint32_t parity)
{
    kb_spin_check(s,
                  "kbench: spin timeout: block (%d,%d,%d) thread %d waited %u ms"
                  " for mbarrier %s stage %d parity %llu\n",
                  what, stage, parity);
}

// A flag wait: flag `what`[idx] to reach `want`.
__device__ __forceinline__ void kb_spin_flag(kb_spin &s, const char *what, int idx, unsigned long long want)
{
    kb_spin_check(s,
                  "kbench: spin timeout: block (%d,%d,%d) thread %d waited %u ms"
                  " for flag %s[%d] >= %llu\n",
                  what, idx, want);
}
#endif
