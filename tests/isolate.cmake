# The orchestrator of `kbench run` (bench/kb_orch.c) without a GPU: the real
# kbench with KBENCH_WORKER pointing at a fake worker that hangs, crashes,
# loses its context and stops mid-row (tests/test_isolate.sh).
add_executable(fake_worker ${CMAKE_SOURCE_DIR}/tests/fake_worker.c)
target_compile_options(fake_worker PRIVATE ${KB_C_WARN})
target_link_libraries(fake_worker PRIVATE kbcore kbreport)
set_target_properties(fake_worker PROPERTIES LINKER_LANGUAGE CXX)
add_test(NAME isolate COMMAND ${CMAKE_SOURCE_DIR}/tests/test_isolate.sh $<TARGET_FILE:kbench> $<TARGET_FILE:fake_worker>)
set_tests_properties(isolate PROPERTIES TIMEOUT 120)
