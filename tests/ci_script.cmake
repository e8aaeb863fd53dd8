# The CI regression-gate script (scripts/ci-gpu-bench.sh) with a fake kbench
# and fixture CSVs; also checks that the workflow YAML parses.
add_test(NAME ci_gpu_bench_script
  COMMAND bash ${CMAKE_SOURCE_DIR}/tests/ci_script_test.sh $<TARGET_FILE:kbench> ${CMAKE_SOURCE_DIR})
set_tests_properties(ci_gpu_bench_script PROPERTIES TIMEOUT 120)
