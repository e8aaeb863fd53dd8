#!/usr/bin/env bash
# check_spin_guard.sh - every device-side wait in a hand-written kernel is
# bounded by the spin guard (kernels/common/kb_spin.cuh), and the guard is off
# the fast path (no GPU needed: reads the PTX the build keeps).
#   check_spin_guard.sh SRC_DIR PTX_DIR [--expect NAME]... [--except NAME]...
# Scans PTX_DIR/NAME.ptx for every kernels/**/NAME.cu.  A function (.entry or
# .func) waits if it has mbarrier.try_wait / mbarrier.test_wait or an acquire
# load (ld.acquire: flag waits).  Every such function must
#   - read %globaltimer and contain trap;
#   - try before it times: each %globaltimer read has a wait instruction between
#     it and the previous read (or the function start), so no wait reads the
#     timer before its first try.
#   --expect NAME  NAME.ptx must have at least one waiting function (the check
#                  cannot pass by finding nothing)
#   --except NAME  NAME's waits are exempt (say why where the test is added)
set -uo pipefail
src=$1 dir=$2
shift 2
declare -A except=() expect=()
while [ $# -gt 0 ]; do
  case $1 in
    --except) except[$2]=1; shift 2 ;;
    --expect) expect[$2]=1; shift 2 ;;
    *) echo "usage error: unknown argument $1"; exit 2 ;;
  esac
done
fails=0 nfiles=0
for cu in $(cd "$src" && find kernels -name '*.cu' | sort); do
  name=$(basename "$cu" .cu)
  ptx="$dir/$name.ptx"
  [ -f "$ptx" ] || { echo "FAIL: $ptx not found (was $cu built?)"; fails=$((fails + 1)); continue; }
  nfiles=$((nfiles + 1))
  out=$(awk -v name="$name" '
    function done_fn() {
      if (fn == "" || !waits) { fn = ""; return }
      nwait++
      if (!timer) { print "FAIL: " name ": " fn ": waits but never reads %globaltimer"; bad++ }
      if (!trap) { print "FAIL: " name ": " fn ": waits but has no trap;"; bad++ }
      if (early) { print "FAIL: " name ": " fn ": reads %globaltimer (line " early ") with no wait since the" \
                   " previous read: the timer is on the fast path"; bad++ }
      if (timer && trap && !early) print "ok: " name ": " fn ": " waits " wait instructions, " timer " timer reads, trap"
      fn = ""
    }
    /^[ \t]*\.extern/ { next }
    /(\.entry|\.func)[ \t]/ && !/;[ \t]*$/ {
      done_fn(); fn = $0; sub(/.*(\.entry|\.func)[ \t]+(\([^)]*\)[ \t]*)?/, "", fn); sub(/[( \t].*/, "", fn)
      waits = timer = trap = early = 0; armed = 0; depth = 0; body = 0; next }
    fn == "" { next }
    { line = $0; sub(/\/\/.*/, "", line)
      depth += gsub(/\{/, "{", line) - gsub(/\}/, "}", line); if (depth > 0) body = 1 }
    body && depth == 0 { done_fn(); next }
    /mbarrier\.(try_wait|test_wait)|ld\.acquire/ { waits++; armed = 1 }
    /%globaltimer/ { timer++; if (!armed && !early) early = NR; armed = 0 }
    /(^|[ \t;])trap;/ { trap++ }
    END { done_fn(); print "NWAIT " nwait + 0; exit bad > 0 }' "$ptx")
  rc=$?
  n=$(echo "$out" | sed -n 's/^NWAIT //p')
  if [ -n "${except[$name]:-}" ]; then
    echo "exempt: $name ($n waiting functions, not checked)"
    continue
  fi
  echo "$out" | grep -v '^NWAIT '
  [ $rc -eq 0 ] || fails=$((fails + 1))
  if [ -n "${expect[$name]:-}" ] && [ "${n:-0}" -eq 0 ]; then
    echo "FAIL: $name: expected waiting functions, found none"; fails=$((fails + 1))
  fi
done
for name in "${!expect[@]}"; do
  [ -f "$dir/$name.ptx" ] || { echo "FAIL: expected $name.ptx"; fails=$((fails + 1)); }
done
echo "check_spin_guard: $nfiles PTX files, $([ $fails -eq 0 ] && echo every wait bounded || echo "$fails FAILURES")"
[ $fails -eq 0 ]
