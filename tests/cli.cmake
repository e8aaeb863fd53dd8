add_test(NAME cli COMMAND ${CMAKE_SOURCE_DIR}/tests/cli.sh $<TARGET_FILE:kbench>)
# GPU smoke: every operator at its small shapes, verified and timed, each (op, impl) in
# its own worker with a 30 s watchdog (a hung implementation costs ~30 s and its own
# row, not the others'); SKIP (77) without a GPU.  The whole suite: 300 s, not 120.
add_test(NAME gpu_smoke COMMAND ${CMAKE_SOURCE_DIR}/tests/gpu_smoke.sh $<TARGET_FILE:kbench> ${CMAKE_BINARY_DIR}/gpu-smoke)
set_tests_properties(gpu_smoke PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 LABELS gpu RESOURCE_LOCK gpu)
