#!/usr/bin/env bash
# stage-deps.sh [CHECKOUT] - copy the host libraries an offline GPU machine
# lacks (Google Benchmark, jansson, libcsv, GSL, md4c; headers, shared libraries,
# CMake package files) into CHECKOUT/.deps, laid out as an install prefix.
# On the GPU machine scripts/device-run.sh uses it by itself (run_all.sh after
# export CMAKE_PREFIX_PATH=$PWD/.deps): the build finds it there and kbench finds the libraries
# through its RPATH (no LD_LIBRARY_PATH).  Prints the size and the `carry`
# line for the device tool.
set -euo pipefail
root=$(cd "${1:-.}" && git rev-parse --show-toplevel)
dst=$root/.deps
arch=x86_64-linux-gnu
"$(cd "$(dirname "$0")" && pwd)/install-deps.sh"
rm -rf "$dst"
mkdir -p "$dst/include" "$dst/lib/$arch/cmake"
cp -a /usr/include/benchmark /usr/include/jansson.h /usr/include/jansson_config.h /usr/include/csv.h \
      /usr/include/gsl /usr/include/md4c.h /usr/include/md4c-html.h "$dst/include/"
cp -a /usr/lib/$arch/libbenchmark.so* /usr/lib/$arch/libbenchmark_main.a /usr/lib/$arch/libjansson.so* \
      /usr/lib/$arch/libcsv.so* /usr/lib/$arch/libgsl.so* /usr/lib/$arch/libgslcblas.so* \
      /usr/lib/$arch/libmd4c.so* /usr/lib/$arch/libmd4c-html.so* "$dst/lib/$arch/"
cp -a /usr/lib/$arch/cmake/benchmark "$dst/lib/$arch/cmake/"
excl=$(cd "$root" && git rev-parse --git-path info/exclude)
case $excl in /*) ;; *) excl=$root/$excl ;; esac
mkdir -p "$(dirname "$excl")"
grep -qx '/.deps/' "$excl" 2>/dev/null || echo '/.deps/' >> "$excl"
size=$(du -sh "$dst" | cut -f1)
echo "staged: $dst ($size; the tree that travels must stay under 64 MiB)"
echo "carry [\".deps\"]"
echo "on the GPU machine scripts/device-run.sh uses .deps by itself; for run_all.sh: export CMAKE_PREFIX_PATH=\$PWD/.deps"
echo "a kbench that still misses them (ldd: not found): export LD_LIBRARY_PATH=\$PWD/.deps/lib/$arch\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
