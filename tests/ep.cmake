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
# Every grouped NCCL exchange goes through ep_nccl_group / nccl_group
# (reference/ep_nccl.cu), which ends the group on every error path
# (tests/test_ep_nccl_group.c): ncclGroupStart( is called in that one place.
add_test(NAME nccl_group_one_place COMMAND bash -c
  "hits=$(grep -rn --include=*.cu --include=*.c --include=*.cc --include=*.cuh --include=*.h 'ncclGroupStart(' bench reference kernels); echo \"$hits\"; [ $(echo \"$hits\" | grep -c .) -eq 1 ] && echo \"$hits\" | grep -q 'KB_NCCL_TRY(ncclGroupStart())'"
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
