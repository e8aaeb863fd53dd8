#!/usr/bin/env bash
# test_isolate.sh KBENCH FAKE_WORKER - `kbench run` as an orchestrator (bench/kb_orch.c),
# no GPU needed: KBENCH_WORKER points the real orchestrator at tests/fake_worker.c,
# which hangs, segfaults, reports a lost context or stops mid-row where told.
# Asserts the fail rows and their notes, that later cases still ran, the exit
# codes, the deadline, the health probe stop (exit 5), --resume of the .partial
# and of a finished CSV (no row twice), unique output names, no child left behind,
# --counters without ncu (one line, notes, later workers told).
set -u
kb=$1 fw=$2
pass=0 fail=0
ok() { pass=$((pass+1)); }
no() { fail=$((fail+1)); echo "FAIL: $*"; }
check() { if eval "$1"; then ok; else no "$2"; fi; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export KBENCH_WORKER=$fw
sel=(--op hbm,fp8_quant --shapes small)   # 16 cases: 2 ops x 2 impls x 4 shapes
ms() { echo $(( $(date +%s%N) / 1000000 )); }
# row OP IMPL SHAPE CSV: the row's line
row() { grep "^$1,$2,$3," "$4"; }
leftovers() { if pgrep -f "^$fw" >/dev/null; then no "$1: worker processes left behind: $(pgrep -af "^$fw")"; else ok; fi; }
dups() { cut -d, -f1-3 "$1" | sort | uniq -d; }

# 1. every fault in one run, --isolate impl (default)
t0=$(ms)
FAKE_HANG=hbm/v1/write_64MiB FAKE_SEGV=hbm/cudart/read_64MiB FAKE_LOST=fp8_quant/v1/tok_m200_k384 \
FAKE_MIDROW=fp8_quant/v2/blk_n256_k512 FAKE_LOG=$T/log1 \
  "$kb" run "${sel[@]}" --case-timeout 2 --out "$T/a" >"$T/out1" 2>"$T/err1"; rc=$?
t1=$(ms)
csv=$(ls "$T"/a/*.csv 2>/dev/null)
check '[ $rc -eq 1 ]' "faults: exit $rc, want 1 ($(cat "$T/err1"))"
check '[ $(echo "$csv" | grep -c .) -eq 1 ] && [ -z "$(ls "$T"/a/*.partial 2>/dev/null)" ]' "faults: want one CSV, no .partial: $(ls "$T/a")"
check '[ "$(tail -n +2 "$csv" | grep -c .)" -eq 16 ] && [ -z "$(dups "$csv")" ]' "faults: want 16 distinct rows"
check 'row hbm v1 write_64MiB "$csv" | grep -q ",fail,.*hang: no progress for 2 s in timing"' "hang row: $(row hbm v1 write_64MiB "$csv")"
check 'row hbm cudart read_64MiB "$csv" | grep -q ",fail,.*crashed: SIGSEGV in verify"' "segv row: $(row hbm cudart read_64MiB "$csv")"
check 'row fp8_quant v1 tok_m200_k384 "$csv" | grep -q ",fail,.*lost context: cudaErrorIllegalAddress in warm-up"' "lost row"
check 'row fp8_quant v2 blk_n256_k512 "$csv" | grep -q ",fail,.*crashed: worker exited with status 0 in timing"' \
  "mid-row: $(row fp8_quant v2 blk_n256_k512 "$csv")"
check '[ "$(tail -n +2 "$csv" | grep -c ",pass,")" -eq 12 ]' "faults: want 12 pass rows"
for c in "hbm v1 copy_64MiB" "hbm v1 l2read_4MiB_x8" "hbm cudart write_64MiB" "fp8_quant v1 blk_n256_k512" \
         "fp8_quant v2 blk_n192_k384"; do
  check "row $c \"\$csv\" | grep -q ',pass,'" "later case $c did not pass"
done
check 'grep -q "^kbench: start hbm/v1/write_64MiB timing$" "$T/err1"' "stderr does not name the hung case"
check 'grep -q "^kbench: hbm  *v1  *write_64MiB  *FAIL  hang" "$T/out1"' "stdout lacks the hang row line"
check '[ $(grep -c "^hbm/v1/write_64MiB$" "$T/log1") -eq 1 ]' "the hung case ran more than once"
check '[ $((t1 - t0)) -lt 8000 ]' "faults run took $((t1 - t0)) ms (one 2 s hang)"
# rows pass through the protocol intact (quotes, commas), ceilings reach later workers
check 'row hbm v1 read_64MiB "$csv" | grep -q "\"fake, \"\"q\"\" ceil=1979,989,3350,0\""' "first row note: $(row hbm v1 read_64MiB "$csv")"
check 'row fp8_quant v2 tok_m64_k512 "$csv" | grep -q "ceil=[0-9.e+]*,[0-9.e+]*,2500,4"' "measured HBM not passed on: $(row fp8_quant v2 tok_m64_k512 "$csv")"
check 'row hbm v1 read_64MiB "$csv" | grep -q ",10;11;12.5,*$"' "samples lost"
check 'grep -q "\"hbm_source\": \"measured\"" "$T"/a/*.meta.json && grep -q "\"hbm_gbs\": 2500" "$T"/a/*.meta.json' "meta ceilings"
check 'grep -q "\"isolate\": \"impl\"" "$T"/a/*.meta.json' "meta lacks isolate"
check 'grep -q "in 8 worker(s)" "$T/out1"' "want 8 workers (4 groups + 4 after faults): $(tail -1 "$T/out1")"
leftovers faults

# 2. the deadline: a hang (SIGTERM ignored) costs --case-timeout + the 1 s grace, no more
t0=$(ms)
FAKE_HANG=hbm/v1/read_64MiB "$kb" run --op hbm --impl v1 --shape read_64MiB --case-timeout 2 --out "$T/d" >/dev/null 2>&1; rc=$?
t1=$(ms)
check '[ $rc -eq 1 ]' "deadline: exit $rc"
check '[ $((t1 - t0)) -ge 1900 ] && [ $((t1 - t0)) -lt 4500 ]' "deadline: a 2 s hang took $((t1 - t0)) ms"
leftovers deadline

# 3. the device does not recover: exit 5, rows so far in .partial; --resume completes it
mkdir -p "$T/st"
FAKE_SEGV=hbm/v1/write_64MiB FAKE_STATE=$T/st FAKE_PROBE_FAIL_AFTER=2 \
  "$kb" run "${sel[@]}" --out "$T/b" >"$T/out3" 2>"$T/err3"; rc=$?
part=$(ls "$T"/b/*.csv.partial 2>/dev/null)
check '[ $rc -eq 5 ]' "device lost: exit $rc, want 5"
check 'grep -q "^kbench: the device did not recover (health probe: exit status 1): stopping" "$T/err3"' "device lost line: $(cat "$T/err3")"
check '[ -n "$part" ] && [ -z "$(ls "$T"/b/*.csv 2>/dev/null)" ]' "device lost: want only a .partial"
check '[ "$(tail -n +2 "$part" | grep -c .)" -eq 2 ]' "device lost: want 2 rows (read pass, write crashed)"
printf 'hbm,v1,copy_64MiB,u8,h1' >>"$part"   # as if killed mid-row
FAKE_LOG=$T/log3 "$kb" run "${sel[@]}" --resume "$part" >"$T/out3b" 2>&1; rc=$?
final=${part%.partial}
check '[ $rc -eq 1 ]' "resume: exit $rc, want 1 (the crashed row stays)"
check '[ -f "$final" ] && [ ! -e "$part" ]' "resume: $final not finished"
check '[ "$(tail -n +2 "$final" | grep -c .)" -eq 16 ] && [ -z "$(dups "$final")" ]' "resume: want 16 distinct rows: $(dups "$final")"
check '! grep -q "^hbm/v1/read_64MiB$\|^hbm/v1/write_64MiB$" "$T/log3" && [ $(grep -c . "$T/log3") -eq 14 ]' "resume re-ran rows"
check '[ "$(grep -c "^op,impl" "$final")" -eq 1 ]' "resume: header repeated"
leftovers resume

# 4. --resume of a finished CSV: rewritten with the old rows and the new ones
"$kb" run --op hbm --shapes small --out "$T/c" >/dev/null 2>&1; rc=$?
c=$(ls "$T"/c/*.csv)
check '[ $rc -eq 0 ] && [ "$(tail -n +2 "$c" | grep -c .)" -eq 8 ]' "clean run: exit $rc"
"$kb" run "${sel[@]}" --resume "$c" >/dev/null 2>&1; rc=$?
check '[ $rc -eq 0 ] && [ "$(tail -n +2 "$c" | grep -c .)" -eq 16 ] && [ -z "$(dups "$c")" ] && [ ! -e "$c.partial" ]' \
  "resume finished CSV: exit $rc, $(tail -n +2 "$c" | grep -c .) rows"
check '[ "$(ls "$T"/c/*.csv | grep -c .)" -eq 1 ]' "resume wrote a new file"

# 5. runs started together never share a name
for i in 1 2 3; do "$kb" run --op hbm --impl v1 --shapes small --out "$T/u" >/dev/null 2>&1 & done; wait
check '[ "$(ls "$T"/u/*.csv | grep -c .)" -eq 3 ] && [ "$(ls "$T"/u/*.meta.json | grep -c .)" -eq 3 ]' "concurrent runs collided: $(ls "$T/u")"

# 6. isolation granularity: workers per mode
for m in "op 2" "impl 4" "case 16"; do
  set -- $m
  "$kb" run "${sel[@]}" --isolate "$1" --out "$T/i$1" >"$T/out6" 2>&1
  check "grep -q 'in $2 worker(s)' '$T/out6'" "--isolate $1: want $2 workers: $(tail -1 "$T/out6")"
done

# 7. --counters with no ncu (the first worker finds none): one line for the run, every row keeps
# pass and says why in its note, and later workers are told (--counters-off) instead of retrying
FAKE_COUNTERS_OFF="no ncu (fake)" FAKE_LOG=$T/logc "$kb" run --op hbm --shapes small --counters --out "$T/cn" \
  >"$T/outc" 2>"$T/errc"; rc=$?
csv=$(ls "$T"/cn/*.csv 2>/dev/null)
check '[ $rc -eq 0 ] && [ "$(tail -n +2 "$csv" | grep -c ",pass,")" -eq 8 ]' "counters off: exit $rc, want 8 pass rows"
check '[ "$(grep -c "counters off" "$T/errc")" -eq 1 ] && grep -q "^kbench: warning: counters off: no ncu (fake); timing only from here on$" "$T/errc"' \
  "counters off: want one line: $(grep counters "$T/errc")"
check '[ "$(tail -n +2 "$csv" | grep -c "; counters off: no ncu (fake)")" -eq 8 ]' "counters off: every note says why"
check '[ "$(grep -c "^counters-off=none$" "$T/logc")" -eq 1 ] && [ "$(grep -c "^counters-off=counters off: no ncu (fake)$" "$T/logc")" -eq 1 ]' \
  "counters off: the second worker was not told: $(grep counters "$T/logc")"

# 9. adaptive timing and --device reach the workers (the probe: --device), the end-of-run lines:
# fake alltoall rows carry busbw 10, 20, 30 GB/s; the third fails with 7 wrong elements, so the
# average over the passed rows is (10 + 20) / 2 = 15.00 and #wrong is 7
a2a=(--op alltoall --impl v1 --shape b1024_ep8,b4096_ep8,b16384_ep8)
FAKE_ARGV=$T/argv9 FAKE_WRONG=alltoall/v1/b16384_ep8:7 "$kb" run "${a2a[@]}" --device 1 --max-noise 1 --min-time 0.25 \
  --out "$T/ad" >"$T/out9" 2>"$T/err9"; rc=$?
check '[ $rc -eq 1 ]' "adaptive: exit $rc, want 1 (one fail row): $(cat "$T/err9")"
check 'grep -q -- "--worker-probe .*--device 1$" "$T/argv9"' "probe lacks --device 1: $(cat "$T/argv9")"
check 'grep -- "--worker-cases" "$T/argv9" | grep -q -- " --min-time 0.25 --max-noise 1 --min-reps 10 --max-reps 1000 --warmup-ms 100 --device 1 "' \
  "worker lacks the adaptive options: $(grep -- --worker-cases "$T/argv9")"
check '! grep -- "--worker-cases" "$T/argv9" | grep -q -- "--reps"' "adaptive worker got --reps"
check 'grep -qx "# Avg bus bandwidth    : 15.00 GB/s  (alltoall, 2 rows)" "$T/out9"' "bus bandwidth line: $(grep Avg "$T/out9")"
check 'tail -1 "$T/out9" | grep -q "^kbench: 2 passed, 1 failed, 0 skipped, #wrong 7 in 1 worker(s) -> "' "summary: $(tail -1 "$T/out9")"
check 'grep -q "\"mode\": \"adaptive\"" "$T"/ad/*.meta.json && grep -q "\"max_noise_pct\": 1" "$T"/ad/*.meta.json && grep -q "\"reps\": null" "$T"/ad/*.meta.json' \
  "meta lacks the adaptive timing: $(grep -A8 timing "$T"/ad/*.meta.json)"
FAKE_ARGV=$T/argv9b "$kb" run --op hbm --impl v1 --shape copy_64MiB --reps 7 --out "$T/ad" >"$T/out9b" 2>&1
check 'grep -- "--worker-cases" "$T/argv9b" | grep -q -- " --reps 7 " && ! grep -q -- "--device\|--max-noise" "$T/argv9b"' "fixed reps: $(cat "$T/argv9b")"
check 'grep -q "\"reps\": 7" "$T"/ad/*.meta.json && grep -q "\"mode\": \"fixed\"" "$T"/ad/*.meta.json' "meta of a fixed run"
check 'grep -q "^kbench: 1 passed, 0 failed, 0 skipped, #wrong 0 in 1 worker(s)" "$T/out9b" && ! grep -q "Avg bus" "$T/out9b"' "summary: $(tail -2 "$T/out9b")"
err=$(FAKE_DEVICES=2 "$kb" run --op hbm --device 2 --out "$T/x" 2>&1 >/dev/null); rc=$?
check '[ $rc -eq 2 ] && [ "$err" = "kbench: --device 2: only 2 CUDA device(s) here (0..1)" ]' "--device 2 of 2: exit $rc, '$err'"

# 8. no device, usage errors, --isolate none (the in-process path)
err=$(FAKE_NODEV=1 "$kb" run "${sel[@]}" --out "$T/n" 2>&1 >/dev/null); rc=$?
check '[ $rc -eq 3 ] && [ "$err" = "kbench: no CUDA device: fake" ]' "no device: exit $rc, '$err'"
for a in "--isolate bogus" "--case-timeout 0" "--case-timeout x" "--resume $T/nonexistent.csv"; do
  "$kb" run --op hbm $a --out "$T/x" >/dev/null 2>&1; rc=$?
  check '[ $rc -eq 2 ]' "run $a: exit $rc, want 2"
done
"$kb" run --op hbm --isolate none --out "$T/x" >/dev/null 2>&1; rc=$?
check '[ $rc -eq 3 ]' "--isolate none without a GPU: exit $rc, want 3 (runs in-process, not the fake)"
leftovers end

echo "test_isolate: $pass passed, $fail failed"
[ $fail -eq 0 ]
