# fp8_gemm v3 (Hopper): the kernel's PTX must really use wgmma with E4M3
# operands (the decode tiles' n16 / n32 shapes among them), TMA tensor loads
# and mbarriers; ptxas must report no spills and no stack frame for any of its
# tile-size instantiations nor for the split-K reduce kernel, and no C7510.
add_test(NAME ptx_fp8_gemm_v3
  COMMAND ${CMAKE_SOURCE_DIR}/tests/check_kernel.sh ${KB_PTX_DIR} fp8_gemm_v3
    --ptx "wgmma.mma_async.*e4m3"
    --ptx "wgmma\\.mma_async\\.sync\\.aligned\\.m64n16k32\\.f32\\.e4m3\\.e4m3"
    --ptx "wgmma\\.mma_async\\.sync\\.aligned\\.m64n32k32\\.f32\\.e4m3\\.e4m3"
    --ptx "wgmma\\.mma_async\\.sync\\.aligned\\.m64n160k32\\.f32\\.e4m3\\.e4m3"
    --ptx "cp.async.bulk.tensor"
    --ptx "mbarrier"
    --ptx "setmaxnreg"
    --no-spill "fp8_gemm_v3_(kernel|reduce)"
    # C7510: a call in the kernel (the spin guard's printf) serialises every
    # wgmma; its timeout is the quiet one (KB_SPIN_QUIET, kb_spin.cuh)
    --no-ptxas "C7510")
# setmaxnreg: the 384-thread kernels must be allocated >= 168 registers per
# thread at launch (the pool the math warpgroups' setmaxnreg.inc 232 draws on).
add_test(NAME ptx_fp8_gemm_v3_regs
  COMMAND ${CMAKE_SOURCE_DIR}/tests/check_fp8_gemm_v3_regs.sh ${KB_PTX_DIR})
