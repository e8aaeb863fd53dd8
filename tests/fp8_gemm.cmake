# fp8_gemm.cmake - what the FP8 kernels compile to (no GPU needed).
# v2 must use the Ampere-style FP8 tensor-core path (mma.sync m16n8k32 E4M3),
# cp.async multistage loads and ldmatrix, without spills; quant v2 must use
# 128-bit global loads; v1 kernels must not spill either.
add_test(NAME ptx_fp8_gemm_v2 COMMAND ${CMAKE_SOURCE_DIR}/tests/check_kernel.sh ${KB_PTX_DIR} fp8_gemm_v2
  --ptx "mma\\.sync\\.aligned\\.m16n8k32\\.row\\.col\\.f32\\.e4m3\\.e4m3\\.f32"
  --ptx "cp\\.async\\.cg\\.shared\\.global"
  --ptx "cp\\.async\\.wait_group"
  --ptx "ldmatrix\\.sync\\.aligned\\.m8n8\\.x4"
  --no-spill fp8_gemm_v2_kernel)
add_test(NAME ptx_fp8_gemm_v1 COMMAND ${CMAKE_SOURCE_DIR}/tests/check_kernel.sh ${KB_PTX_DIR} fp8_gemm_v1
  --ptx "cvt\\.rn\\.f16x2\\.e4m3x2"
  --no-spill fp8_gemm_v1_kernel)
add_test(NAME ptx_fp8_quant_v2 COMMAND ${CMAKE_SOURCE_DIR}/tests/check_kernel.sh ${KB_PTX_DIR} fp8_quant_v2
  --ptx "ld\\.global\\.nc\\.v4\\.u32"
  --ptx "cvt\\.rn\\.satfinite\\.e4m3x2\\.f32"
  --no-spill fp8_quant_v2)
add_test(NAME ptx_fp8_quant_v1 COMMAND ${CMAKE_SOURCE_DIR}/tests/check_kernel.sh ${KB_PTX_DIR} fp8_quant_v1
  --ptx "cvt\\.rn\\.satfinite\\.e4m3x2\\.f32"
  --no-spill fp8_quant_v1)
