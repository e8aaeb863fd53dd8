#!/usr/bin/env bash
# Every header compiles on its own (and twice: include guards), so no header
# leans on what its includer happened to include first.
#   .h   as C11 (the host code) and as C++17 (the .cu files include them too)
#   .cuh with nvcc for the build's architecture
# usage: check_headers.sh SRC_DIR CC CXX NVCC ARCH INCLUDE_DIR...
set -uo pipefail
src=$1 cc=$2 cxx=$3 nvcc=$4 arch=$5
shift 5
inc=(-I"$src")
for d in "$@"; do [ "$d" = /usr/include ] || inc+=(-isystem "$d"); done  # never re-add a default dir (breaks #include_next)
cd "$src" || exit 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0
while IFS= read -r h; do
  n=$((n + 1))
  printf '#include "%s"\n#include "%s"\n' "$h" "$h" >"$tmp/one.c"
  case $h in
    *.cuh)
      cp "$tmp/one.c" "$tmp/one.cu"
      "$nvcc" -std=c++17 -gencode=arch=compute_$arch,code=sm_$arch "${inc[@]}" -c "$tmp/one.cu" -o "$tmp/one.o" \
        >"$tmp/err" 2>&1 || { echo "FAIL $h (nvcc):"; head -5 "$tmp/err"; fail=1; } ;;
    *)
      "$cc" -std=c11 -fsyntax-only -Wall -Wextra -Werror -Wno-unused-function -D_POSIX_C_SOURCE=200809L \
        "${inc[@]}" -x c "$tmp/one.c" >"$tmp/err" 2>&1 || { echo "FAIL $h (C11):"; head -5 "$tmp/err"; fail=1; }
      "$cxx" -std=c++17 -fsyntax-only -Wall -Wextra -Werror -Wno-unused-function -D_POSIX_C_SOURCE=200809L \
        "${inc[@]}" -x c++ "$tmp/one.c" >"$tmp/err" 2>&1 || { echo "FAIL $h (C++17):"; head -5 "$tmp/err"; fail=1; } ;;
  esac
done < <(find bench kernels reference -name '*.h' -o -name '*.cuh' | sort)
echo "check_headers: $n headers, $([ $fail = 0 ] && echo all compile alone || echo FAILURES above)"
exit $fail
