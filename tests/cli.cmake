add_test(NAME cli COMMAND ${CMAKE_SOURCE_DIR}/tests/cli.sh $<TARGET_FILE:kbench>)
# GPU smoke: every operator at its small shapes, verified and timed; SKIP (77) without a GPU.
add_test(NAME gpu_smoke COMMAND ${CMAKE_SOURCE_DIR}/tests/gpu_smoke.sh $<TARGET_FILE:kbench> ${CMAKE_BINARY_DIR}/gpu-smoke)
set_tests_properties(gpu_smoke PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900)
