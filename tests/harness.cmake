# Harness device helpers: the SM-clock probe reads %globaltimer (edge-aligned
# start) and %clock64; no spills in the helper kernels.
add_test(NAME ptx_kb_dev COMMAND ${CMAKE_SOURCE_DIR}/tests/check_kernel.sh ${KB_PTX_DIR} kb_dev
         --ptx "mov.u64 %rd[0-9]+, %globaltimer" --ptx "mov.u64[[:space:]]+%rd[0-9]+, %clock64"
         --ptx "setp.eq.s64[[:space:]]+%p[0-9]+, %rd[0-9]+, %rd[0-9]+" --no-spill)
