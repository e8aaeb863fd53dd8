#!/usr/bin/env bash
# check_kernel.sh - assert what a compiled kernel really contains (no GPU needed).
#   check_kernel.sh PTX_DIR NAME [--arch sm_90a] [--ptx REGEX]... [--no-spill [KERNEL_REGEX]]
#   [--no-ptxas REGEX]...
# NAME is the basename of a CUDA file (kernels/<op>/NAME.cu); its PTX is kept by
# the build in PTX_DIR/NAME.ptx (nvcc -keep).
#   --ptx REGEX      the PTX must contain a line matching REGEX (grep -E)
#   --no-spill [RE]  re-assemble the PTX with ptxas -v; every entry function
#                    (or those whose mangled name matches RE) must report
#                    0 bytes stack frame and 0 bytes spill stores/loads.
#   --no-ptxas REGEX re-assemble the PTX with ptxas -v; no line of its output
#                    may match REGEX (grep -E), e.g. a performance note "C7519"
set -euo pipefail
dir=$1 name=$2; shift 2
arch=sm_90a
ptx="$dir/$name.ptx"
[ -f "$ptx" ] || { echo "FAIL: $ptx not found (was $name.cu built?)"; exit 1; }
fails=0
while [ $# -gt 0 ]; do
  case $1 in
    --arch) arch=$2; shift 2 ;;
    --ptx)
      if grep -Eq -- "$2" "$ptx"; then echo "ok: $name.ptx contains /$2/ ($(grep -Ec -- "$2" "$ptx") lines)"
      else echo "FAIL: $name.ptx has no line matching /$2/"; fails=$((fails+1)); fi
      shift 2 ;;
    --no-spill)
      re='.'
      if [ $# -gt 1 ] && [ "${2#--}" = "$2" ]; then re=$2; shift; fi
      shift
      ptxas_bin=$(command -v ptxas || echo /usr/local/cuda/bin/ptxas)
      log=$("$ptxas_bin" -arch="$arch" -v "$ptx" -o /dev/null 2>&1) || { echo "FAIL: ptxas failed on $ptx"; echo "$log"; exit 1; }
      bad=$(echo "$log" | awk -v re="$re" '
        /Compiling entry function/ { fn=$0; sub(/.*function .\047?/, "", fn); sub(/\047.*/, "", fn); want = (fn ~ re); n++ }
        /bytes stack frame/ && want {
          split($0, a, ","); sf=a[1]+0; gsub(/[^0-9 ]/, "", a[2]); gsub(/[^0-9 ]/, "", a[3]);
          if (sf != 0 || a[2]+0 != 0 || a[3]+0 != 0) print fn ": " $0; checked++ }
        END { if (checked == 0) print "NO_KERNEL_MATCHED" }')
      if [ -n "$bad" ]; then echo "FAIL: spills/local memory in $name:"; echo "$bad"; fails=$((fails+1))
      else echo "ok: $name: no spills, no stack frame (kernels matching /$re/)"; fi ;;
    --no-ptxas)
      ptxas_bin=$(command -v ptxas || echo /usr/local/cuda/bin/ptxas)
      log=$("$ptxas_bin" -arch="$arch" -v "$ptx" -o /dev/null 2>&1) || { echo "FAIL: ptxas failed on $ptx"; echo "$log"; exit 1; }
      if echo "$log" | grep -Eq -- "$2"; then
        echo "FAIL: ptxas output for $name matches /$2/:"; echo "$log" | grep -E -- "$2"; fails=$((fails+1))
      else echo "ok: ptxas output for $name has no line matching /$2/"; fi
      shift 2 ;;
    *) echo "usage error: unknown argument $1"; exit 2 ;;
  esac
done
[ $fails -eq 0 ]
