# ep.cmake - PTX checks of the expert-parallel kernels (no GPU needed): the
# flags use system-scope release/acquire (peer memory over NVLink) and no
# kernel spills or keeps a stack frame.
add_test(NAME ptx_ep_v1 COMMAND ${CMAKE_SOURCE_DIR}/tests/check_kernel.sh ${KB_PTX_DIR} ep_v1
         --ptx "st\\.release\\.sys\\.global\\.u64"
         --ptx "ld\\.acquire\\.sys\\.global\\.u64"
         --ptx "red\\.release\\.sys\\.global\\.add\\.u64"
         --ptx "fence\\.sc\\.sys|membar\\.sys"
         --ptx "ld\\.global\\.nc\\.v4"
         --no-spill)
if(KB_HAVE_NCCL)
  add_test(NAME ptx_ep_nccl COMMAND ${CMAKE_SOURCE_DIR}/tests/check_kernel.sh ${KB_PTX_DIR} ep_nccl --no-spill)
endif()
