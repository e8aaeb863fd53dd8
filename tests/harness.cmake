# Harness device helpers (bench/kb_dev.cu): the clock stamps read %smid,
# %globaltimer and %clock64; the blocking kernel polls the host-mapped flag
# with a system-scope acquire load and times out on %globaltimer; the L2 flush
# reads through L2 (ld.global.cg) and never stores a line it read; no spills
# in the helper kernels.
add_test(NAME ptx_kb_dev COMMAND ${CMAKE_SOURCE_DIR}/tests/check_kernel.sh ${KB_PTX_DIR} kb_dev
         --ptx "mov.u64 %rd[0-9]+, %globaltimer" --ptx "mov.u64[[:space:]]+%rd[0-9]+, %clock64"
         --ptx "mov.u32[[:space:]]+%r[0-9]+, %smid" --ptx "ld\\.acquire\\.sys\\.global\\.u32"
         --ptx "ld\\.global\\.cg\\.v4\\.u32" --ptx "nanosleep" --no-spill)
