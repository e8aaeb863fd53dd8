# `kbench run --counters` on a GPU (tests/test_counters_gpu.sh; named like the
# C GPU tests so scripts/device-run.sh runs it): skips (77)
# without a GPU, ncu or counter permission.  The parser and the ncu runner are
# tested without a GPU by test_counters, the plots and report by
# test_cmd_traffic.
add_test(NAME test_counters_gpu COMMAND ${CMAKE_SOURCE_DIR}/tests/test_counters_gpu.sh $<TARGET_FILE:kbench>)
set_tests_properties(test_counters_gpu PROPERTIES SKIP_RETURN_CODE ${KB_TEST_SKIP} LABELS gpu RESOURCE_LOCK gpu TIMEOUT 300)
