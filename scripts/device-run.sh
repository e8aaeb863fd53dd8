#!/usr/bin/env bash
# device-run.sh [KBENCH RUN ARGS...] - one call on an offline GPU machine:
# environment facts, build, GPU tests, `kbench run`, everything collected in
# $OUT (default ./device-out) as a few files:
#   env.txt        nvidia-smi, clocks, nvcc, libraries, CUPTI permission
#   test.log       configure + build + ctest (GPU tests run here)
#   run.log        kbench run output
#   *.csv *.json   the measured rows, Google Benchmark JSON, run metadata
#   all.tar.gz     all of the above plus ptxas output (build.log)
# Needs .deps/ from scripts/stage-deps.sh when the machine lacks the libraries.
# Example: scripts/device-run.sh --quick
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-$PWD/device-out}
mkdir -p "$out"
if [ -d .deps ]; then
  export CMAKE_PREFIX_PATH=$PWD/.deps${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
  export LD_LIBRARY_PATH=$PWD/.deps/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
export PATH=$PATH:/usr/local/cuda/bin
{
  date -u; nvidia-smi; nvidia-smi topo -m; nvidia-smi -q -d CLOCK,PERFORMANCE
  nvcc --version; ldconfig -p | grep -E 'cublas|cupti|nccl'
  echo "RmProfilingAdminOnly (1 = CUPTI counters need root):"
  grep -h RmProfilingAdminOnly /proc/driver/nvidia/params 2>/dev/null
  id -u
} >"$out/env.txt" 2>&1
{
  gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
  cmake -S . -B build "${gen[@]}" -DCMAKE_BUILD_TYPE=Release &&
    cmake --build build -j"$(nproc)" >build.log 2>&1 && echo "build ok" &&
    (cd build && ctest --output-on-failure -j1 --timeout 600)
} >"$out/test.log" 2>&1
echo "tests exit: $?" >>"$out/test.log"
./build/kbench run --out "$out" "$@" >"$out/run.log" 2>&1
rc=$?
echo "kbench run exit: $rc" >>"$out/run.log"
tar czf "$out/all.tar.gz" -C "$out" --exclude all.tar.gz . -C "$PWD" build.log 2>/dev/null
ls -la "$out"
exit $rc
