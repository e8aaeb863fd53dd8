# scripts/device-run.sh end to end without a GPU: a fake kbench that hangs,
# crashes and loses its context (tests/fake_kbench.sh), a stall killed at the
# budget, SIGTERM, --resume, and the real kbench on a machine with no GPU.
add_test(NAME device_run_script
  COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_device_run.sh $<TARGET_FILE:kbench> ${CMAKE_SOURCE_DIR})
set_tests_properties(device_run_script PROPERTIES TIMEOUT 90)
# kbench starts without LD_LIBRARY_PATH: every library resolves through the
# system or kbench's own RPATH (DT_RPATH, also for libgsl -> libgslcblas;
# DT_RUNPATH would not be transitive).  Skipped without ldd.
add_test(NAME kbench_libs_resolve
  COMMAND bash -c "command -v ldd >/dev/null || exit 77
    out=$(env -u LD_LIBRARY_PATH ldd \"$1\") || { echo \"$out\"; exit 1; }
    if grep 'not found' <<<\"$out\"; then echo 'kbench: libraries not found without LD_LIBRARY_PATH'; exit 1; fi
    if command -v readelf >/dev/null && readelf -d \"$1\" | grep -q RUNPATH; then
      echo 'kbench has DT_RUNPATH (not transitive): link with -Wl,--disable-new-dtags'; readelf -d \"$1\" | grep PATH; exit 1; fi
    echo \"all $(grep -c '=>' <<<\"$out\") libraries resolve\"" _ $<TARGET_FILE:kbench>)
set_tests_properties(kbench_libs_resolve PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 30)
