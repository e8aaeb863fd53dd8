#!/usr/bin/env bash
# adapt_gpu.sh KBENCH OUTDIR - adaptive timing, --device and the end-of-run
# line on a real GPU (bench/kb_adapt.h; the rule itself: tests/test_adapt.c).
# Exit 77 (ctest SKIP) without a GPU.
set -u
kb=$1 out=$2
pass=0 fail=0
ok() { pass=$((pass+1)); }
no() { fail=$((fail+1)); echo "FAIL: $*"; }
rm -rf "$out"
case_=(--op hbm --impl v1 --shape copy_64MiB --warmup-ms 5 --case-timeout 60)
# column N of the row (fields before `note` hold no commas)
col() { awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next } { print $c }' "$1"; }

# 1. a loose target (50%): a copy kernel is far quieter, so it stops at min-reps
"$kb" run "${case_[@]}" --device 0 --min-reps 5 --max-reps 40 --max-noise 50 --out "$out/quiet" >"$out.quiet" 2>&1
rc=$?
[ $rc -eq 3 ] && { echo "SKIP: no CUDA device"; exit 77; }
csv=$(ls "$out"/quiet/*.csv 2>/dev/null)
[ $rc -eq 0 ] && [ -n "$csv" ] && ok || no "quiet run: exit $rc: $(tail -3 "$out.quiet")"
[ "$(col "$csv" reps)" = 5 ] && ok || no "quiet run: reps $(col "$csv" reps), want 5 (min-reps)"
! grep -q "noise" "$csv" && ok || no "quiet run: a noise note: $(tail -1 "$csv")"
meta=$(ls "$out"/quiet/*.meta.json)
grep -q '"mode": "adaptive"' "$meta" && grep -q '"device_index": 0' "$meta" && grep -Eq '"pci_bus_id": "[0-9a-fA-F]+:' "$meta" \
  && ok || no "meta: $(grep -E 'mode|device_index|pci_bus_id' "$meta")"
grep -Eq '^kbench: 1 passed, 0 failed, 0 skipped, #wrong 0 in 1 worker\(s\) -> ' "$out.quiet" && ok || no "summary: $(tail -1 "$out.quiet")"

# 2. an unreachable target (0.0001%): runs to max-reps and the note says so
"$kb" run "${case_[@]}" --min-reps 4 --max-reps 12 --max-noise 0.0001 --out "$out/noisy" >"$out.noisy" 2>&1
csv=$(ls "$out"/noisy/*.csv 2>/dev/null)
[ -n "$csv" ] && [ "$(col "$csv" reps)" = 12 ] && ok || no "noisy run: reps $(col "$csv" reps), want 12: $(tail -3 "$out.noisy")"
grep -Eq 'noise [0-9.e+-]+% > target 0.0001% after 12 reps \(max-reps\)' "$csv" && ok || no "noisy run: note: $(tail -1 "$csv")"

# 3. the same in-process (--isolate none)
"$kb" run "${case_[@]}" --isolate none --min-reps 4 --max-reps 12 --max-noise 0.0001 --out "$out/none" >"$out.none" 2>&1
csv=$(ls "$out"/none/*.csv 2>/dev/null)
[ -n "$csv" ] && [ "$(col "$csv" reps)" = 12 ] && ok || no "--isolate none: reps $(col "$csv" reps): $(tail -3 "$out.none")"
grep -Eq '^kbench: 1 passed, 0 failed, 0 skipped, #wrong 0 -> ' "$out.none" && ok || no "--isolate none summary: $(tail -1 "$out.none")"

# 4. --device past the last device: one line, exit 2
err=$("$kb" run "${case_[@]}" --device 1023 --out "$out/dev" 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] && grep -Eq '^kbench: --device 1023: only [0-9]+ CUDA device\(s\) here' <<<"$err" && ok || no "--device 1023: exit $rc, '$err'"
"$kb" specs --device 0 | grep -q '^current GPU: .*(device 0)' && ok || no "specs --device 0: $("$kb" specs --device 0 | tail -1)"

echo "adapt_gpu: $pass passed, $fail failed"
[ $fail -eq 0 ]
