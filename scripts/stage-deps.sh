#!/usr/bin/env bash
# stage-deps.sh [CHECKOUT] - copy the host libraries an offline GPU machine
# lacks (Google Benchmark, jansson, libcsv, GSL; headers, shared libraries,
# CMake package files) into CHECKOUT/.deps, laid out as an install prefix.
# On the GPU machine:
#   export CMAKE_PREFIX_PATH=$PWD/.deps LD_LIBRARY_PATH=$PWD/.deps/lib/x86_64-linux-gnu:$LD_LIBRARY_PATH
#   ./run_all.sh
set -euo pipefail
root=$(cd "${1:-.}" && git rev-parse --show-toplevel)
dst=$root/.deps
arch=x86_64-linux-gnu
"$root/scripts/install-deps.sh"
rm -rf "$dst"
mkdir -p "$dst/include" "$dst/lib/$arch/cmake"
cp -a /usr/include/benchmark /usr/include/jansson.h /usr/include/jansson_config.h /usr/include/csv.h \
      /usr/include/gsl "$dst/include/"
cp -a /usr/lib/$arch/libbenchmark.so* /usr/lib/$arch/libbenchmark_main.a /usr/lib/$arch/libjansson.so* \
      /usr/lib/$arch/libcsv.so* /usr/lib/$arch/libgsl.so* /usr/lib/$arch/libgslcblas.so* "$dst/lib/$arch/"
cp -a /usr/lib/$arch/cmake/benchmark "$dst/lib/$arch/cmake/"
excl=$(cd "$root" && git rev-parse --git-path info/exclude)
case $excl in /*) ;; *) excl=$root/$excl ;; esac
mkdir -p "$(dirname "$excl")"
grep -qx '/.deps/' "$excl" 2>/dev/null || echo '/.deps/' >> "$excl"
du -sh "$dst" | sed 's/^/staged: /'
