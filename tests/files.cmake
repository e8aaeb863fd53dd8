add_test(NAME files COMMAND ${CMAKE_SOURCE_DIR}/tests/test_files.sh $<TARGET_FILE:kbench> $<TARGET_FILE:fake_worker>)
set_tests_properties(files PROPERTIES TIMEOUT 120)
