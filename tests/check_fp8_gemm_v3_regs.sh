#!/usr/bin/env bash
# check_fp8_gemm_v3_regs.sh PTX_DIR - setmaxnreg accounting of fp8_gemm_v3 (no GPU needed).
# The 384-thread kernels (BLOCK_M = 128: 2 math warpgroups + 1 producer) move
# registers with setmaxnreg: the producer warpgroup drops to 40, the math
# warpgroups rise to 232.  The per-CTA pool they draw from is what the launch
# allocated, ptxas's "Used N registers" x 384 threads; if it is less than
# 128*40 + 256*232 = 64512 (N < 168) setmaxnreg.inc waits forever (hang).
# ptxas must also not need more than 232 registers for those kernels.
set -euo pipefail
ptx="$1/fp8_gemm_v3.ptx"
[ -f "$ptx" ] || { echo "FAIL: $ptx not found"; exit 1; }
ptxas_bin=$(command -v ptxas || echo /usr/local/cuda/bin/ptxas)
log=$("$ptxas_bin" -arch=sm_90a -v "$ptx" -o /dev/null 2>&1)
echo "$log" | awk '
  /Compiling entry function/ { fn=$0; sub(/.*function .\047?/, "", fn); sub(/\047.*/, "", fn) }
  /Used [0-9]+ registers/ && fn ~ /fp8_gemm_v3_kernel/ {
    n = $0; sub(/.*Used /, "", n); n += 0; big = (fn ~ /kernelILi128E/); checked++
    if (big && (n * 384 < 128 * 40 + 256 * 232 || n > 232)) { print "FAIL: " fn ": " n " registers x 384 threads"; bad++ }
    else if (!big && n > 255) { print "FAIL: " fn ": " n " registers"; bad++ }
    else print "ok: " fn ": " n " registers" }
  END { if (checked != 12) { print "FAIL: expected 12 fp8_gemm_v3 kernels (2 BLOCK_M x 6 BLOCK_N), saw " checked; bad++ } exit bad > 0 }'
