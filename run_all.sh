#!/usr/bin/env bash
# kbench main entry point.
#   ./run_all.sh        build; on a GPU run the full suite, else project H100 vs H800;
#                       then render plots and the report
#   ./run_all.sh test   build and run the tests (what CI runs; no GPU needed)
# Environment: KBENCH_RUN_ARGS extra arguments for `kbench run` (e.g. "--quick"),
#              CMAKE_PREFIX_PATH for staged dependencies (scripts/stage-deps.sh).
set -uo pipefail
cd "$(dirname "$0")"
mode=${1:-all}
case $mode in
  all|test) ;;
  *) echo "usage: ./run_all.sh [test]" >&2; exit 2 ;;
esac
export PATH=$PATH:/usr/local/cuda/bin

need=""; [ "$mode" = test ] && need=--need-gnuplot
scripts/install-deps.sh $need || exit 1

gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build "${gen[@]}" -DCMAKE_BUILD_TYPE=Release >/tmp/kbench-configure.log 2>&1 ||
    { cat /tmp/kbench-configure.log; echo "kbench: cmake configure failed" >&2; exit 1; }
  grep -E 'kbench: NCCL' /tmp/kbench-configure.log || true
fi
# ptxas -v output goes to build/build.log; warnings are errors
cmake --build build -j"$(nproc)" >build.log 2>&1 || { tail -40 build.log; echo "kbench: build failed (full log: build.log)" >&2; exit 1; }
grep -E 'spill stores|Local memory' build.log | grep -v ' 0 bytes spill stores, 0 bytes spill loads' | head -5 || true

if [ "$mode" = test ]; then
  cd build && exec ctest --output-on-failure -j2
fi

kb=./build/kbench
rc=0
# The GPUs to model: H100 and H800 (the pair) plus every GPU with measured rows
# in results/*/ CSVs (not model rows, not CI baselines) that the GPU table
# knows, so a measured H200 row projects onto the H100/H800 through floors
# computed the same way on both sides.
model_gpus() {
  local gpus=h100-sxm,h800-sxm f g csvs=()
  for f in results/*/*.csv; do
    case $f in results/model/*|results/baselines/*) ;; *) [ -f "$f" ] && csvs+=("$f") ;; esac
  done
  [ ${#csvs[@]} -gt 0 ] &&
    for g in $(awk -F, 'FNR == 1 { c = m = 0; for (i = 1; i <= NF; i++) { if ($i == "gpu") c = i; if ($i == "source") m = i }; next }
                        c && m && $m == "measured" { print $c }' "${csvs[@]}" | sort -u); do
      case ,$gpus, in *,"$g",*) ;; *) "$kb" specs --gpu "$g" >/dev/null 2>&1 && gpus=$gpus,$g ;; esac
    done
  echo "$gpus"
}
if "$kb" specs | grep -q '^current GPU: none'; then
  echo "kbench: no CUDA GPU on this machine: projecting H100 vs H800 with the roofline model instead of measuring"
  gpus=$(model_gpus)
  [ "$gpus" = h100-sxm,h800-sxm ] || echo "kbench: modelling $gpus (GPUs with measured rows too)"
  "$kb" model --gpu "$gpus" --out results/model/h100_vs_h800.csv || exit $?
  inputs=(results/model/h100_vs_h800.csv)
else
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p results/logs
  log=results/logs/run-$stamp.log
  { nvidia-smi 2>/dev/null; nvidia-smi topo -m 2>/dev/null; nvcc --version | tail -2; } >"$log" || true
  # shellcheck disable=SC2086
  "$kb" run ${KBENCH_RUN_ARGS:-} 2>&1 | tee -a "$log"
  rc=${PIPESTATUS[0]}
  gpus=$(model_gpus)
  echo "kbench: modelling $gpus"
  "$kb" model --gpu "$gpus" --out results/model/h100_vs_h800.csv || exit $?
  inputs=(results/model/h100_vs_h800.csv)
fi
# the DeepSeek-V3 cost model (README "kbench claim"): every measured CSV under
# results/*/ (not model rows, not CI baselines) times the layer terms it
# matches exactly; the rest come from roofline floors over published efficiencies
claim_csvs=()
for f in results/*/*.csv; do
  case $f in results/model/*|results/baselines/*) ;; *) [ -f "$f" ] && claim_csvs+=("$f") ;; esac
done
"$kb" claim ${claim_csvs[@]+"${claim_csvs[@]}"} --out results/model/claim.csv --sweep results/model/claim_sweep.csv ||
  rc=$((rc ? rc : $?))
# newest committed or just-measured run (not model rows, not CI baselines)
measured=$(ls -t results/*/*.csv 2>/dev/null | grep -vE '^results/(model|baselines)/' | head -1 || true)
[ -n "$measured" ] && inputs+=("$measured") && echo "kbench: measured rows from $measured"

# the DeepSeek-V3 cost model's CSVs (kbench claim), when written: the report's first section and its charts
claim=()
[ -f results/model/claim.csv ] && claim+=(--claim results/model/claim.csv)
[ -f results/model/claim_sweep.csv ] && claim+=(--sweep results/model/claim_sweep.csv)
# plots (gnuplot scripts, data and images in plots/) and the report (results/report.md + .html)
if ! command -v gnuplot >/dev/null; then
  echo "kbench: gnuplot not installed: plots skipped (render them elsewhere: kbench plot ${inputs[*]} ${claim[*]:-} --out plots/)"
  "$kb" report "${inputs[@]}" ${claim[@]+"${claim[@]}"} --no-plots --out results/report.md || rc=$((rc ? rc : $?))
else
  "$kb" report "${inputs[@]}" ${claim[@]+"${claim[@]}"} --plots plots --out results/report.md || rc=$((rc ? rc : $?))
fi
[ -f results/report.html ] && echo "kbench: open results/report.html (Markdown: results/report.md, charts: plots/)"
exit $rc
