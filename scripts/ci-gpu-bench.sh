#!/usr/bin/env bash
# ci-gpu-bench.sh - the GPU regression gate (.github/workflows/gpu-bench.yml).
#
#   scripts/ci-gpu-bench.sh [--kbench build/kbench] [--out ci-out]
#                           [--baselines results/baselines] [--threshold 5%] [--alpha 0.01]
#
# 1. kbench run --quick --out OUT/run        (measures on this runner's GPU)
# 2. kbench compare BASELINES/<gpu>.csv NEW  (<gpu> = the gpu column of the new CSV)
# 3. kbench plot NEW --out OUT/plots         (artifacts; a plotting failure is only a warning)
# Everything lands in OUT: run/ (CSV + JSON), compare.txt, plots/, summary.txt.
# Exit: 0 no regression; 1 regression, verification failure or missing row;
# 2 bad input (e.g. GPU mismatch with the baseline); otherwise kbench run's
# own exit code when it produced no CSV (e.g. no CUDA device).
# No baseline for this GPU yet: exit 0 with a warning saying how to add one
# (kbench compare --update-baseline NEW.csv, then commit results/baselines/).
set -u -o pipefail

KBENCH=build/kbench
OUT=ci-out
BASELINES=results/baselines
THRESHOLD=5%
ALPHA=0.01
while [ $# -gt 0 ]; do
    case "$1" in
    --kbench) KBENCH=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --baselines) BASELINES=$2; shift 2 ;;
    --threshold) THRESHOLD=$2; shift 2 ;;
    --alpha) ALPHA=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "ci-gpu-bench.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
if [ ! -x "$KBENCH" ]; then
    echo "ci-gpu-bench.sh: kbench not found or not executable: $KBENCH" >&2
    exit 2
fi
mkdir -p "$OUT/run" || exit 4
summary() { echo "$*" | tee -a "$OUT/summary.txt"; }

# 1. measure
"$KBENCH" run --quick --out "$OUT/run"
run_rc=$?
# a finished CSV, or (exit 5: the device stopped mid-run) the rows kept in its .partial
NEW=$(find "$OUT/run" \( -name '*.csv' -o -name '*.csv.partial' \) -type f -printf '%T@ %p\n' 2>/dev/null |
      sort -n | tail -1 | cut -d' ' -f2-)
if [ -z "$NEW" ]; then
    summary "kbench run exited $run_rc and wrote no CSV: nothing to compare"
    [ "$run_rc" -ne 0 ] && exit "$run_rc"
    exit 2
fi
summary "kbench run exited $run_rc; results: $NEW"
[ "$run_rc" -eq 5 ] && summary "kbench run: the device stopped working mid-run; comparing the rows it kept"

# the GPU slug: the gpu column of the first data row
GPU=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "gpu") c = i; next }
               NR == 2 && c { print $c; exit }' "$NEW")
if [ -z "$GPU" ]; then
    summary "no gpu column / no data rows in $NEW"
    exit 2
fi

# 3. plots (before the verdict, so the artifacts exist either way)
if ! "$KBENCH" plot "$NEW" --out "$OUT/plots" > "$OUT/plot.log" 2>&1; then
    summary "warning: kbench plot failed (see plot.log)"
fi

# 2. compare
BASE="$BASELINES/$GPU.csv"
if [ ! -f "$BASE" ]; then
    summary "warning: no baseline for $GPU ($BASE): not gated. Add one with:"
    summary "  kbench compare --update-baseline --baseline-dir $BASELINES $NEW && git add $BASE"
    [ "$run_rc" -ne 0 ] && { summary "kbench run reported failures (exit $run_rc)"; exit 1; }
    exit 0
fi
"$KBENCH" compare "$BASE" "$NEW" --threshold "$THRESHOLD" --alpha "$ALPHA" 2>&1 | tee "$OUT/compare.txt"
cmp_rc=${PIPESTATUS[0]}
case $cmp_rc in
0) summary "compare: no regression against $BASE" ;;
1) summary "compare: REGRESSION or failure against $BASE (see compare.txt)" ;;
*) summary "compare: could not compare (exit $cmp_rc)" ;;
esac
if [ "$cmp_rc" -eq 0 ] && [ "$run_rc" -ne 0 ]; then
    summary "kbench run reported failures (exit $run_rc)"
    exit 1
fi
exit "$cmp_rc"
