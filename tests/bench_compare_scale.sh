#!/bin/sh
# bench_compare_scale.sh KBENCH [ROWS] - compare and report on a generated
# run history of ROWS rows (default 100000): prints how long each took (a
# benchmark, not a timed assertion) and asserts the results: one regression
# found among ROWS rows (exit 1), and a report written (exit 0).
set -u
KB=$1
N=${2:-100000}
T=$(mktemp -d /tmp/kbscale.XXXXXX)
trap 'rm -rf "$T"' EXIT
gen() { # gen SLOW_ROW: N rows, 20 ops x 10 impls x N/200 shapes; row SLOW_ROW 2x slower
    awk -v n="$N" -v slow="$1" 'BEGIN {
        print "op,impl,shape,dtype,gpu,source,flops,bytes,time_us,time_us_min,time_us_max,reps,verified,impl_kind"
        for (i = 0; i < n; i++) {
            op = "op" (i % 20); impl = (int(i / 20) % 10) ? "v" (int(i / 20) % 10) : "cublas"
            shape = "s" int(i / 200); t = 10 + (i % 97); f = (i == slow) ? 2 : 1
            printf "%s,%s,%s,e4m3,h100-sxm,measured,1e9,1e6,%g,%g,%g,10,pass,%s\n", op, impl, shape,
                   t * f, t * f * 0.99, t * f * 1.01, impl == "cublas" ? "lib" : "hand"
        }
    }'
}
gen -1 > "$T/base.csv"
gen 42 > "$T/new.csv"
now() { date +%s.%N; }
t0=$(now)
"$KB" compare "$T/base.csv" "$T/new.csv" > "$T/cmp.txt"
rc=$?
t1=$(now)
"$KB" report "$T/new.csv" --no-plots --out "$T/report.md" > "$T/rep.txt" 2>&1
rrc=$?
t2=$(now)
awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$N" \
    'BEGIN { printf "bench_compare_scale: %d rows: compare %.2f s, report %.2f s\n", n, b - a, c - b }'
fail=0
[ "$rc" -eq 1 ] || { echo "FAIL: compare exit $rc, want 1"; fail=1; }
grep -q "^summary: 1 regression, 0 verification failures, 0 missing, 0 improved, 0 noise, $((N - 1)) same" "$T/cmp.txt" ||
    { echo "FAIL: compare summary:"; grep '^summary' "$T/cmp.txt"; fail=1; }
grep -q "^REGRESSION .*op2/v2/s0 " "$T/cmp.txt" || { echo "FAIL: regression row not op2/v2/s0"; grep '^REGRESSION' "$T/cmp.txt"; fail=1; }
[ "$rrc" -eq 0 ] || { echo "FAIL: report exit $rrc"; tail -3 "$T/rep.txt"; fail=1; }
[ -s "$T/report.md" ] || { echo "FAIL: no report.md"; fail=1; }
exit $fail
