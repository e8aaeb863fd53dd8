#!/usr/bin/env bash
# test_counters_gpu.sh KBENCH - `kbench run --counters` on a GPU: the hbm copy
# of 2 GiB (declared bytes 2 x 2^31: read once, written once) must show DRAM
# traffic close to its declared bytes: 0.95 <= traffic_ratio <= 1.10 (below 1
# by at most the L2 size: writes still in L2 when the kernel ends are not yet
# in DRAM, 60 MB / 4.29 GB = 1.4% on an H200).  Skips (77) without a GPU,
# without ncu, or without permission to read counters (the row's note says
# which); prints the figures for the record.
set -u
kb=$1
t=$(mktemp -d /tmp/kbcounters.XXXXXX)
trap 'rm -rf "$t"' EXIT
"$kb" run --op hbm --impl v1 --shape copy_2GiB --reps 3 --counters --out "$t" >"$t/out" 2>"$t/err"
rc=$?
if [ $rc -eq 3 ]; then echo "SKIP: no GPU ($(head -1 "$t/err"))"; exit 77; fi
csv=$(ls "$t"/*.csv 2>/dev/null | head -1)
[ -n "$csv" ] || { echo "FAIL: no CSV (rc $rc)"; cat "$t/err"; exit 1; }
# one field of the data row by column name (RFC 4180: the note may hold quoted commas; no python needed)
field() {
  awk -v want="$1" '
    function split_csv(line, out,   n, i, c, q, f) {
      n = 0; f = ""; q = 0
      for (i = 1; i <= length(line); i++) {
        c = substr(line, i, 1)
        if (q) { if (c == "\"") { if (substr(line, i + 1, 1) == "\"") { f = f c; i++ } else q = 0 } else f = f c }
        else if (c == "\"") q = 1
        else if (c == ",") { out[++n] = f; f = "" }
        else f = f c
      }
      out[++n] = f
      return n
    }
    NR == 1 { n = split_csv($0, h); for (i = 1; i <= n; i++) if (h[i] == want) col = i; next }
    NR == 2 { split_csv($0, v); if (col) print v[col]; exit }' "$csv"
}
note=$(field note)
ratio=$(field traffic_ratio)
echo "hbm v1 copy_2GiB: verified=$(field verified) time_us=$(field time_us) bytes=$(field bytes) dram_bytes=$(field dram_bytes) l2_bytes=$(field l2_bytes) traffic_ratio=$ratio sm_throughput_pct=$(field sm_throughput_pct) note='$note'"
if [ -z "$ratio" ]; then
  case "$note" in
    *"counters off"*) echo "SKIP: $note"; exit 77 ;;
  esac
  echo "FAIL: no counters and no run-wide reason: '$note'"; exit 1
fi
awk -v r="$ratio" 'BEGIN { exit !(r + 0 >= 0.95 && r + 0 <= 1.10) }' \
  && { echo "PASS: traffic_ratio $ratio"; exit 0; }
echo "FAIL: traffic_ratio $ratio outside [0.95, 1.10]"; exit 1
