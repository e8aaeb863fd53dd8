# mpi.cmake - the optional MPI launch (KB_WITH_MPI, bench/kb_mpi.h); no GPU needed.
# mpi_default_no_symbols: a default (KB_WITH_MPI=OFF) kbench has no MPI symbol.
# mpi_smoke: when mpicc and mpirun are installed (CI has neither: SKIP 77),
#   configure ${CMAKE_BINARY_DIR}/mpi-build with -DKB_WITH_MPI=ON, build only
#   kbench and test_mpi, and check under `mpirun -np 2` (CUDA_VISIBLE_DEVICES=
#   hides any GPU): the EP shapes become ep2 (no loopback), rank 0 alone
#   prints, the status agreement / reductions (test_mpi) hold with two real
#   ranks, and `run` exits 3 (no device) on both ranks with one line from rank 0.
if(NOT KB_WITH_MPI)
  add_test(NAME mpi_default_no_symbols
           COMMAND ${CMAKE_SOURCE_DIR}/tests/mpi_test.sh nosym $<TARGET_FILE:kbench>)
  set_tests_properties(mpi_default_no_symbols PROPERTIES SKIP_RETURN_CODE ${KB_TEST_SKIP})
  add_test(NAME mpi_smoke
           COMMAND ${CMAKE_SOURCE_DIR}/tests/mpi_test.sh smoke ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/mpi-build
                   ${KB_CUDA_ARCH} "${CMAKE_PREFIX_PATH}")
  set_tests_properties(mpi_smoke PROPERTIES SKIP_RETURN_CODE ${KB_TEST_SKIP} TIMEOUT 1800)
endif()
