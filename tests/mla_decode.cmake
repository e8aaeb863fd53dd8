# mla_decode: PTX checks of the hand-written kernels (no GPU needed).
add_test(NAME ptx_mla_decode_v1 COMMAND ${CMAKE_SOURCE_DIR}/tests/check_kernel.sh ${KB_PTX_DIR} mla_decode_v1
         --no-spill mla_v1)
add_test(NAME ptx_mla_decode_v2 COMMAND ${CMAKE_SOURCE_DIR}/tests/check_kernel.sh ${KB_PTX_DIR} mla_decode_v2
         --ptx "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32" --ptx "ldmatrix.sync.aligned.*trans"
         --ptx "cp.async.cg.shared.global" --ptx "cvt.rn.f16x2.e4m3x2" --no-spill mla_v2)
add_test(NAME ptx_mla_decode_v3 COMMAND ${CMAKE_SOURCE_DIR}/tests/check_kernel.sh ${KB_PTX_DIR} mla_decode_v3
         --ptx "wgmma.mma_async.sync.aligned.m64n.*bf16" --ptx "cp.async.bulk.tensor" --ptx "mbarrier"
         --no-spill mla_v3
         # C7519: ptxas moved the accumulator rescale past wgmma.fence and injected
         # a warpgroup.arrive (the accumulators are fenced before it: issue 14)
         --no-ptxas "C7519"
         # C7510: a call (the spin guard's printf) would serialise every wgmma
         --no-ptxas "C7510")
add_test(NAME ptx_mla_decode_util COMMAND ${CMAKE_SOURCE_DIR}/tests/check_kernel.sh ${KB_PTX_DIR} mla_decode_util
         --no-spill combine)
