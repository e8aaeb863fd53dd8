# scripts/device-run.sh end to end without a GPU: a fake kbench that hangs,
# crashes and loses its context (tests/fake_kbench.sh), a stall killed at the
# budget, SIGTERM, --resume, and the real kbench on a machine with no GPU.
add_test(NAME device_run_script
  COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_device_run.sh $<TARGET_FILE:kbench> ${CMAKE_SOURCE_DIR})
set_tests_properties(device_run_script PROPERTIES TIMEOUT 90)
