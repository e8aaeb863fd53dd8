# moe.cmake - PTX checks for the MoE kernels (no GPU needed).
set(_kb_chk ${CMAKE_SOURCE_DIR}/tests/check_kernel.sh)
# v2 dispatch: 16-byte global loads and stores, fused E4M3 conversion, the
# grid-wide barrier of cg::this_grid().sync() compiled inline (release
# arrive + acquire spin; no -rdc needed), no spills.
add_test(NAME ptx_moe_dispatch_v2 COMMAND ${_kb_chk} ${KB_PTX_DIR} moe_dispatch_v2
  --ptx "atom\\.add\\.release\\.gpu"
  --ptx "ld\\.acquire\\.gpu"
  --ptx "ld\\.global(\\.nc)?\\.v4\\.(u32|b32)|ld\\.global(\\.nc)?\\.v2\\.(u64|b64)"
  --ptx "st\\.global\\.v4\\.(u32|b32)|st\\.global\\.v2\\.(u64|b64)"
  --ptx "cvt\\.rn\\.satfinite\\.e4m3x2\\.f32"
  --no-spill)
# v2 combine: 16-byte loads and stores, no spills.
add_test(NAME ptx_moe_combine_v2 COMMAND ${_kb_chk} ${KB_PTX_DIR} moe_combine_v2
  --ptx "ld\\.global(\\.nc)?\\.v4\\.(u32|b32)"
  --ptx "st\\.global\\.v4\\.(u32|b32)"
  --no-spill)
# v2 route: BF16 tensor-core MMA with FP32 accumulation, no spills.
add_test(NAME ptx_moe_route_v2 COMMAND ${_kb_chk} ${KB_PTX_DIR} moe_route_v2
  --ptx "(wmma\\.mma\\.sync|mma\\.sync)\\.aligned.*f32\\.bf16\\.bf16\\.f32"
  --ptx "ld\\.global\\.nc\\.v4"
  --no-spill)
# v1 kernels and the library references must at least have no spills in the
# GEMM / copy kernels (the FP32 gate GEMM of v1 keeps its tile in registers).
add_test(NAME ptx_moe_route_v1 COMMAND ${_kb_chk} ${KB_PTX_DIR} moe_route_v1 --ptx "fma\\.rn\\.f32" --no-spill)
add_test(NAME ptx_moe_dispatch_v1 COMMAND ${_kb_chk} ${KB_PTX_DIR} moe_dispatch_v1
  --ptx "cvt\\.rn\\.satfinite\\.e4m3x2\\.f32|cvt\\.rn\\.satfinite\\.e4m3\\.f32" --ptx "match\\.any\\.sync" --no-spill)
add_test(NAME ptx_moe_combine_v1 COMMAND ${_kb_chk} ${KB_PTX_DIR} moe_combine_v1 --no-spill)
# Library references: the gather kernel quantises with the same cvt; no spills anywhere.
add_test(NAME ptx_moe_lib COMMAND ${_kb_chk} ${KB_PTX_DIR} moe_lib
  --ptx "cvt\\.rn\\.satfinite\\.e4m3x2\\.f32|cvt\\.rn\\.satfinite\\.e4m3\\.f32" --no-spill)
