# spin.cmake - bounded device waits (README "Bounded device waits"; no GPU
# needed).  Every hand-written kernel that waits on an mbarrier or a flag reads
# %globaltimer in that loop, only after a failed try, and can trap
# (tests/check_spin_guard.sh).  moe_dispatch_v2 is exempt: its one wait is
# cooperative_groups' grid.sync() (NOTES in kernels/moe/moe_dispatch_v2.cu).  A
# KB_SPIN_TIMEOUT_MS=0 build is unbounded on purpose: no check there.
if(KB_SPIN_TIMEOUT_MS GREATER 0)
  add_test(NAME ptx_spin_guard COMMAND ${CMAKE_SOURCE_DIR}/tests/check_spin_guard.sh ${CMAKE_SOURCE_DIR} ${KB_PTX_DIR}
           --expect fp8_gemm_v3 --expect mla_decode_v3 --expect ep_v1 --expect hbm_fault
           --except moe_dispatch_v2)
endif()
# The test-only faults (kernels/hbm/hbm_fault.cu, always built): the hang waits
# on a flag with an acquire load, the crash stores to a bad address; no spills.
add_test(NAME ptx_hbm_fault COMMAND ${CMAKE_SOURCE_DIR}/tests/check_kernel.sh ${KB_PTX_DIR} hbm_fault
         --ptx "ld\\.acquire\\.gpu\\.global\\.u64" --ptx "st\\.volatile\\.global\\.u32" --no-spill)
# ... and `hbm` lists them only in a KB_FAULT_INJECT build.
add_test(NAME fault_impls_listed COMMAND $<TARGET_FILE:kbench> list --op hbm)
if(KB_FAULT_INJECT)
  set_tests_properties(fault_impls_listed PROPERTIES PASS_REGULAR_EXPRESSION "fault_hang[^\n]*\n[^\n]*fault_trap")
else()
  set_tests_properties(fault_impls_listed PROPERTIES FAIL_REGULAR_EXPRESSION "fault_")
endif()
