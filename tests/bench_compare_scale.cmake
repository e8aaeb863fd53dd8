# 100k generated rows through compare and report: prints the time, asserts the results.
add_test(NAME bench_compare_scale COMMAND ${CMAKE_SOURCE_DIR}/tests/bench_compare_scale.sh $<TARGET_FILE:kbench> 100000)
set_tests_properties(bench_compare_scale PROPERTIES TIMEOUT 300)
