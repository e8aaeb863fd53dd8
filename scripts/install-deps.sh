#!/usr/bin/env bash
# install-deps.sh [--need-gnuplot] - check kbench's build prerequisites; on
# Debian/Ubuntu as root install what is missing with apt-get, otherwise print
# the exact command.  The CUDA toolkit itself is never installed here.
# Honours CMAKE_PREFIX_PATH (e.g. .deps/ from scripts/stage-deps.sh on
# offline GPU machines).
set -u
need_gnuplot=0
[ "${1:-}" = "--need-gnuplot" ] && need_gnuplot=1

nvcc_bin=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
if [ ! -x "$nvcc_bin" ]; then
  echo "kbench: the CUDA toolkit (nvcc) was not found: install CUDA 13.0+ and put its bin/ on PATH" >&2
  exit 1
fi

have_header() { # have_header HEADER: in /usr/include or a CMAKE_PREFIX_PATH entry
  [ -e "/usr/include/$1" ] && return 0
  local IFS=:
  for p in ${CMAKE_PREFIX_PATH:-}; do [ -e "$p/include/$1" ] && return 0; done
  return 1
}

missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v ninja >/dev/null || missing+=(ninja-build)
have_header benchmark/benchmark.h || missing+=(libbenchmark-dev)
have_header jansson.h || missing+=(libjansson-dev)
have_header csv.h || missing+=(libcsv-dev)
have_header gsl/gsl_statistics_double.h || missing+=(libgsl-dev)
have_header md4c-html.h || missing+=(libmd4c-dev libmd4c-html0-dev)
if [ $need_gnuplot -eq 1 ]; then command -v gnuplot >/dev/null || missing+=(gnuplot-nox); fi

[ ${#missing[@]} -eq 0 ] && exit 0
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "kbench: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/tmp/kbench-apt.log 2>&1 || {
    echo "kbench: apt-get failed (log: /tmp/kbench-apt.log); run: $cmd" >&2; tail -5 /tmp/kbench-apt.log >&2; exit 1; }
  exit 0
fi
echo "kbench: missing prerequisites: ${missing[*]}; run: sudo $cmd" >&2
echo "        (offline GPU machine: run scripts/stage-deps.sh on a build machine and carry .deps/)" >&2
exit 1
