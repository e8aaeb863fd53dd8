# The rooms and layers (README "Layout"): every header compiles on its own;
# includes point one way (bench -> reference -> kernels) and the CSV-reading
# room never sees CUDA.
add_test(NAME headers_alone COMMAND ${CMAKE_SOURCE_DIR}/tests/check_headers.sh ${CMAKE_SOURCE_DIR}
         ${CMAKE_C_COMPILER} ${CMAKE_CXX_COMPILER} ${CMAKE_CUDA_COMPILER} ${KB_CUDA_ARCH}
         ${CUDAToolkit_INCLUDE_DIRS} ${CUDAToolkit_INCLUDE_DIRS}/../extras/CUPTI/include
         ${JANSSON_INCLUDE_DIR} ${CSV_INCLUDE_DIR} ${GSL_INCLUDE_DIR} ${NCCL_INCLUDE_DIR})
set_tests_properties(headers_alone PROPERTIES TIMEOUT 300)
add_test(NAME layers COMMAND ${CMAKE_SOURCE_DIR}/tests/check_layers.sh ${CMAKE_SOURCE_DIR})
# Short functions in named phases: nothing in bench/ longer than 80 lines.
add_test(NAME function_length COMMAND ${CMAKE_SOURCE_DIR}/tests/check_function_length.sh ${CMAKE_SOURCE_DIR} 80)
