# --axis on the command line: refusals (exit 2, one line), model/list sweeps.
# fake_worker: tests/isolate.cmake
add_test(NAME axis_cli COMMAND ${CMAKE_SOURCE_DIR}/tests/axis_cli.sh $<TARGET_FILE:kbench> $<TARGET_FILE:fake_worker>)
