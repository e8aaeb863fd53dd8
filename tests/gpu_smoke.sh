#!/usr/bin/env bash
# gpu_smoke.sh KBENCH OUTDIR - run every operator at its small shapes on the
# GPU (verify + a few timed repetitions).  Exit 77 (ctest SKIP) without a GPU.
kb=$1 out=$2
rm -rf "$out"
"$kb" run --shapes small --reps 3 --warmup-ms 5 --out "$out"
rc=$?
[ $rc -eq 3 ] && { echo "SKIP: no CUDA device"; exit 77; }
[ $rc -eq 0 ] || { echo "FAIL: kbench run exited $rc"; exit 1; }
csv=$(ls "$out"/*.csv 2>/dev/null | head -1)
[ -n "$csv" ] || { echo "FAIL: no CSV in $out"; exit 1; }
[ -z "$(ls "$out"/*.partial 2>/dev/null)" ] || { echo "FAIL: .partial left behind"; exit 1; }
n=$(tail -n +2 "$csv" | grep -c ',measured,')
[ "$n" -gt 0 ] || { echo "FAIL: no measured rows"; exit 1; }
echo "gpu_smoke: $n measured rows in $csv"
