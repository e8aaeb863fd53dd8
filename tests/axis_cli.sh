#!/usr/bin/env bash
# axis_cli.sh KBENCH FAKE_WORKER - `--axis` on the command line (README "Ad-hoc shapes and
# sweeps"): refusals exit 2 with one line naming the axis and the problem;
# model and list take the same axes; the napkin math of generated shapes is
# checked against numbers computed by hand below; the orchestrator hands the
# axes and the resolved base shape to its workers (tests/fake_worker.c behind
# a logging wrapper, no GPU needed).
set -u
kb=$1 fw=$2
. "$(dirname "$0")/cli_lib.sh"
expect 2 "^kbench model: --axis: needs exactly one operator \(--op NAME\)$" -- model --axis m=64
expect 2 "^kbench run: --axis: needs exactly one operator \(--op NAME\)$" -- run --op fp8_gemm,hbm --axis m=64
expect 2 "^kbench list: --axis q=1: fp8_gemm has no dim 'q' \(its dims: layout, m, n, k, g, dist\)$" -- list --op fp8_gemm --axis q=1
expect 2 "^kbench run: --axis: fp8_gemm: k=100 is not a multiple of 128$" -- run --op fp8_gemm --axis m=64 --axis k=2048,100
expect 2 "^kbench model: --axis: fp8_gemm: n=7000 is not a multiple of 16$" -- model --op fp8_gemm --axis n=7000
expect 2 "^kbench model: --axis m=1:8:y2: a range is LO:HI:xF \(geometric\) or LO:HI:\+S \(arithmetic\)$" -- model --op fp8_gemm --axis m=1:8:y2
expect 2 "^kbench model: --axis m=128: dim 'm' given twice$" -- model --op fp8_gemm --axis m=64 --axis m=128
expect 2 "^kbench model: --axis m=1x: '1x' is not a whole number" -- model --op fp8_gemm --axis m=1x
expect 2 "option '--axis' has an empty value" -- model --op fp8_gemm --axis=
expect 2 "option '--axis.*does not apply" -- specs --axis=m=1
expect 2 "--shape names one base shape with --axis" -- run --op fp8_gemm --shape m64_n7168_k2048,m1_n2112_k7168 --axis m=64
expect 2 "option '--shape' does not apply to this command without --axis" -- model --op hbm --shape copy_2GiB
expect 2 "^kbench run: --axis: alltoall: bytes=8 leaves chunks under 16 B for [0-9]+ ranks" -- run --op alltoall --axis bytes=8:1G:x2
expect 2 "^kbench list: --axis: hbm: mode=3: an L2 read needs an l2read base shape" -- list --op hbm --axis mode=3
expect 2 "^kbench model: --axis: more than 8 axes" -- model --op fp8_gemm --axis m=1 --axis m=2 --axis m=3 --axis m=4 --axis m=5 --axis m=6 --axis m=7 --axis m=8 --axis m=9
expect 2 "^kbench model: --axis: the axes make more than 4096 shapes$" -- model --op fp8_gemm --axis m=1:65:+1 --axis k=128:8192:+128

# model: 3 shapes x 2 GPUs; flops = 2 m n k by hand: 2*64*7168*2048 = 1879048192,
# 2*128*7168*2048 = 3758096384, 2*256*7168*2048 = 7516192768
out=$("$kb" model --op fp8_gemm --axis m=64:256:x2 --axis n=7168 --axis k=2048); rc=$?
[ $rc -eq 0 ] && ok || no "model with axes: exit $rc"
[ "$(tail -n +2 <<<"$out" | wc -l)" -eq 6 ] && ok || no "model with axes: $(tail -n +2 <<<"$out" | wc -l) rows, want 6"
for want in "layout0_m64_n7168_k2048_g1_dist0 1879048192" "layout0_m128_n7168_k2048_g1_dist0 3758096384" \
            "layout0_m256_n7168_k2048_g1_dist0 7516192768"; do
  set -- $want
  n=$(awk -F, -v s="$1" -v f="$2" '$3 == s && $7 == f && $4 == "e4m3"' <<<"$out" | wc -l)
  [ "$n" -eq 2 ] && ok || no "model with axes: $1 with flops $2: $n rows, want 2 (h100-sxm, h800-sxm)"
done
# the base shape: dims without an axis come from --shape (g=4 masked here)
out=$("$kb" model --gpu h100-sxm --op fp8_gemm_grouped --shape masked_g4_m256_n4096_k7168 --axis m=128,256); rc=$?
[ $rc -eq 0 ] && ok || no "model --shape base: exit $rc"
grep -q ',layout2_m128_n4096_k7168_g4_dist1,' <<<"$out" && ok || no "model --shape base: no layout2_m128_n4096_k7168_g4_dist1 row"

# list: 3 shapes of 1, 2 and 4 MiB (read: bytes = the buffer)
out=$("$kb" list --op hbm --axis bytes=1M:4M:x2); rc=$?
[ $rc -eq 0 ] && ok || no "list with axes: exit $rc"
[ "$(grep -c '^    shape ' <<<"$out")" -eq 3 ] && ok || no "list with axes: $(grep -c '^    shape ' <<<"$out") shapes, want 3"
grep -q '^  roof: memory; shapes: 3 from --axis$' <<<"$out" && ok || no "list with axes: summary line"
for b in 1048576 2097152 4194304; do
  grep -Eq "^    shape mode0_bytes${b}_passes1 +u8 .* ${b:0:1}\.[0-9]+e\+06 B$" <<<"$out" && ok || no "list with axes: no $b-byte shape"
done
if command -v python3 >/dev/null; then
  "$kb" list --op hbm --axis bytes=1M:4M:x2 --json |
    python3 -c 'import json,sys; s=json.load(sys.stdin)["ops"][0]["shapes"]; assert [x["dims"]["bytes"] for x in s]==[1048576,2097152,4194304], s' &&
    ok || no "list --json with axes"
fi
# run: valid axes pass the checks and the run gets as far as the device
if "$kb" specs | grep -q '^current GPU: none'; then
  timeout 20 "$kb" run --op fp8_gemm --axis m=64:256:x2 --axis n=7168 --axis k=2048 >/dev/null 2>&1; rc=$?
  [ $rc -eq 3 ] && ok || no "run with valid axes without GPU: exit $rc, want 3"
fi
# run through the orchestrator: 3 shapes x 2 hbm implementations, rows under
# the generated labels, and each worker told the axes and the base shape
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
printf '#!/usr/bin/env bash\nprintf "%%s\\n" "$*" >> %s/args\nexec %s "$@"\n' "$T" "$fw" > "$T/worker.sh"
chmod +x "$T/worker.sh"
KBENCH_WORKER=$T/worker.sh "$kb" run --op hbm --axis bytes=1M:4M:x2 --out "$T/out" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && ok || no "run with axes (fake worker): exit $rc ($(cat "$T/err"))"
csv=$(ls "$T"/out/*.csv 2>/dev/null | head -1)
for s in mode0_bytes1048576_passes1 mode0_bytes2097152_passes1 mode0_bytes4194304_passes1; do
  for i in v1 cudart; do
    [ -n "$csv" ] && grep -q "^hbm,$i,$s," "$csv" && ok || no "run with axes: no row hbm,$i,$s"
  done
done
n=$(grep -c -- '--worker-cases .* --op hbm --axis bytes=1M:4M:x2 --shape read_2GiB' "$T/args" 2>/dev/null)
[ "${n:-0}" -eq 2 ] && ok || no "run with axes: workers not given --axis and --shape: $(cat "$T/args")"
# the worker's own parser takes those arguments back (exit 3: no device, not 2: usage)
if "$kb" specs | grep -q '^current GPU: none'; then
  timeout 20 "$kb" run --worker-fd 3 --worker-cases hbm/v1/mode0_bytes1048576_passes1 --op hbm --axis bytes=1M:4M:x2 \
    --shape read_2GiB 3>/dev/null >/dev/null 2>&1; rc=$?
  [ $rc -eq 3 ] && ok || no "worker argv with axes: exit $rc, want 3"
fi
echo "axis_cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
