#!/usr/bin/env bash
# gpu_smoke.sh KBENCH OUTDIR - run every operator at its small shapes on the
# GPU (verify + a few timed repetitions), each (op, impl) in its own worker
# process with a 30 s watchdog, so one hung or crashing implementation fails
# its own rows and the others still run.  Exit 77 (ctest SKIP) without a GPU.
kb=$1 out=$2
rm -rf "$out"
"$kb" run --shapes small --reps 3 --warmup-ms 5 --isolate impl --case-timeout 30 --out "$out"
rc=$?
[ $rc -eq 3 ] && { echo "SKIP: no CUDA device"; exit 77; }
if [ $rc -ne 0 ]; then
  echo "FAIL: kbench run exited $rc; failed rows:"
  grep -h ',fail,' "$out"/*.csv "$out"/*.partial 2>/dev/null | cut -d, -f1-3 | sed 's/^/  /'
  exit 1
fi
csv=$(ls "$out"/*.csv 2>/dev/null | head -1)
[ -n "$csv" ] || { echo "FAIL: no CSV in $out"; exit 1; }
[ -z "$(ls "$out"/*.partial 2>/dev/null)" ] || { echo "FAIL: .partial left behind"; exit 1; }
n=$(tail -n +2 "$csv" | grep -c ',measured,')
[ "$n" -gt 0 ] || { echo "FAIL: no measured rows"; exit 1; }
echo "gpu_smoke: $n measured rows in $csv"
