# Adaptive timing, --device and the end-of-run line on a GPU (tests/adapt_gpu.sh); SKIP (77)
# without one.  The rule and the summary without a GPU: test_adapt, test_summary, cli, isolate.
add_test(NAME adapt_gpu COMMAND ${CMAKE_SOURCE_DIR}/tests/adapt_gpu.sh $<TARGET_FILE:kbench> ${CMAKE_BINARY_DIR}/adapt-gpu)
set_tests_properties(adapt_gpu PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120 LABELS gpu RESOURCE_LOCK gpu)
