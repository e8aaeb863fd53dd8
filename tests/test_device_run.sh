#!/usr/bin/env bash
# test_device_run.sh KBENCH SRC_DIR - scripts/device-run.sh end to end without a
# GPU: with tests/fake_kbench.sh (hangs, crashes, a lost context, a real stall,
# SIGTERM, --resume) and with the real kbench (no CUDA device here).
# Every call must stay inside its --budget, leave at most 7 files in $OUT and
# print summary.txt last.
set -u
KB_REAL=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SRC=$(cd "$2" && pwd)
T=$(mktemp -d /tmp/kbdevrun.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
fails=0
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }

# fake compute-sanitizer
mkdir -p "$T/bin" "$T/build"
cat >"$T/bin/sanitizer" <<'EOF'
#!/usr/bin/env bash
tool=
while [ $# -gt 0 ]; do case $1 in --tool) tool=$2; shift 2 ;; --error-exitcode) shift 2 ;; *) break ;; esac; done
"$@"; rc=$?
n=0; [ "$tool" = racecheck ] && case " $* " in *" --op fp8_gemm "*) n=2 ;; esac
echo "========= ERROR SUMMARY: $n errors"
[ $n = 0 ] || exit 99
exit $rc
EOF
# fake GPU test binaries in the build dir: one passes, one hangs, one skips (77)
printf '#!/bin/sh\necho fp8 ok\n' >"$T/build/test_fp8_gpu"
printf '#!/bin/sh\nexec sleep 100\n' >"$T/build/test_mla_gpu"
printf '#!/bin/sh\necho no GPU; exit 77\n' >"$T/build/test_ep_gpu"
printf '#!/bin/sh\necho fails; exit 1\n' >"$T/build/test_fp8_gemm_v3_gpu"
chmod +x "$T"/build/test_*
export DEVRUN_TEST_TIMEOUT=2
chmod +x "$T/bin/sanitizer" "$SRC/tests/fake_kbench.sh"
export KBENCH_BIN=$SRC/tests/fake_kbench.sh DEVRUN_SANITIZER=$T/bin/sanitizer DEVRUN_BUILD_DIR=$T/build DEVRUN_RESERVE=3
unset OUT

# devrun NAME BUDGET ARGS...: runs the script with OUT/DEVRUN_WORK under $T; sets rc, took
devrun() {
  local name=$1 budget=$2; shift 2
  local t1; t1=$(date +%s)
  OUT=$T/out-$name DEVRUN_WORK=${WORK:-$T/work-$name} PATH=$T/bin:$PATH \
    timeout -k 2 $((budget + 10)) bash "$SRC/scripts/device-run.sh" --budget "$budget" "$@" >"$T/$name.stdout" 2>&1
  rc=$?
  took=$(($(date +%s) - t1))
  [ "$took" -le "$budget" ] || bad "$name: took $took s, budget $budget s"
}
# common checks on $OUT: at most 7 plain files, nothing left half-written, summary last
check_out() {
  local name=$1 n; local o=$T/out-$name
  n=$(find "$o" -mindepth 1 | wc -l)
  [ "$n" -le 7 ] || bad "$name: $n entries in OUT: $(ls -A "$o" | tr '\n' ' ')"
  [ -z "$(find "$o" -mindepth 1 ! -type f)" ] || bad "$name: non-file entries in OUT"
  [ -z "$(ls -A "$o" | grep '^\.')" ] || bad "$name: temporary files left: $(ls -A "$o" | grep '^\.')"
  [ -s "$o/summary.txt" ] || { bad "$name: no summary.txt"; return; }
  n=$(wc -l <"$o/summary.txt")
  tail -n "$n" "$T/$name.stdout" | cmp -s - "$o/summary.txt" || bad "$name: summary.txt is not the end of the output"
  tar tzf "$o/logs.tar.gz" >/dev/null 2>&1 || bad "$name: logs.tar.gz unreadable"
}
has() { grep -qF -- "$3" "$T/out-$1/$2" || bad "$1: $2 lacks '$3'"; }
rows() { tail -n +2 "$T/out-$1/$2" | grep -c .; }
nodup() { [ -z "$(tail -n +2 "$T/out-$1/$2" | cut -d, -f1-3 | sort | uniq -d)" ] || bad "$1: $2 has duplicate rows"; }

# 1. hangs, crashes and a lost context: recorded with their shapes, resumed past
FAKE_HANG="fp8_gemm:v3:s2" FAKE_CRASH="mla_decode:v1:q1" FAKE_LOST="fp8_gemm:v1:s3" FAKE_LOG=$T/incidents.calls \
  devrun incidents 40 --phases facts,build,small,tests,sanitize,quick
check_out incidents
[ "$rc" = 1 ] || bad "incidents: exit $rc, want 1"
has incidents incidents.csv 'small,fp8_gemm,v3,s2,hang: no progress for 30 s in timing'
has incidents incidents.csv 'quick,mla_decode,v1,q1,"crashed: SIGSEGV in verify, after 2 launches"'
has incidents incidents.csv 'small,fp8_gemm,v1,s3,lost context'
has incidents incidents.csv 'small,-,-,-,device lost: kbench run exit 5'
has incidents incidents.csv 'tests,test_mla_gpu,-,-,test killed: timeout after 2 s'
has incidents summary.txt 'test_ep_gpu        -                          0     0     1'
has incidents summary.txt 'test_fp8_gemm_v3_gpu -                          0     1     0        0       0  failed (exit 1)'
[ "$(rows incidents small.csv)" = 21 ] || bad "incidents: small.csv has $(rows incidents small.csv) rows, want 21 (7 impls x 3 shapes: resumed past the lost context)"
[ "$(rows incidents quick.csv)" = 14 ] || bad "incidents: quick.csv has $(rows incidents quick.csv) rows, want 14"
nodup incidents small.csv; nodup incidents quick.csv
grep -q -- '--resume .*small.*\.partial' "$T/incidents.calls" || bad "incidents: no kbench run --resume after exit 5"
grep -q -- '--isolate impl --case-timeout' "$T/incidents.calls" || bad "incidents: kbench run not isolated"
# quick: everything but v1 first, the v1 anchors in the resumed second run
[ "$(tail -n +2 "$T/out-incidents/quick.csv" | tail -6 | cut -d, -f2 | sort -u)" = v1 ] || bad "incidents: the v1 rows are not last in quick.csv"
has incidents summary.txt 'sanitize  fp8_gemm           v1 memcheck'
has incidents summary.txt 'v3 racecheck               0     1'
has incidents summary.txt 'small     fp8_gemm           v3                         2     1     0        1'
has incidents summary.txt 'test_fp8_gpu'
has incidents summary.txt 'build     -                  -'
has incidents env.txt '== nvidia-smi'
has incidents build.log 'build skipped: KBENCH_BIN'
[ "$fails" = 0 ] && ok "incidents (exit $rc, $took s)"

# 2. a real stall: killed at the budget, packed in time; then --resume finishes
f0=$fails
WORK=$T/work-stall FAKE_STALL="fp8_gemm:v3:q2" devrun stall 12 --phases small,quick
check_out stall
has stall incidents.csv 'quick,-,-,-,kbench run killed'
has stall summary.txt 'quick     -                  -'
[ "$(rows stall small.csv)" = 21 ] || bad "stall: small.csv incomplete"
q=$(rows stall quick.csv)
[ "$q" -lt 14 ] || bad "stall: quick.csv complete although stalled"
WORK=$T/work-stall FAKE_LOG=$T/stall.calls devrun stall2 20 --phases small,quick --resume
check_out stall2
[ "$(rows stall2 quick.csv)" = 14 ] || bad "stall2: quick.csv has $(rows stall2 quick.csv) rows after --resume, want 14"
nodup stall2 quick.csv
grep -q -- '--shapes small' "$T/stall.calls" && bad "stall2: --resume re-ran the finished small phase"
grep -q -- '--resume .*quick.*\.partial' "$T/stall.calls" || bad "stall2: the cut quick run was not continued from its .partial"
has stall2 summary.txt 'status: ok'
[ "$rc" = 0 ] || bad "stall2: exit $rc, want 0"
[ "$fails" = "$f0" ] && ok "stall + resume"

# 3. SIGTERM (the call's time limit): packs what exists, summary last
f0=$fails
( OUT=$T/out-term DEVRUN_WORK=$T/work-term FAKE_STALL="fp8_gemm:v3:q1" PATH=$T/bin:$PATH \
    exec bash "$SRC/scripts/device-run.sh" --budget 60 --phases small,quick >"$T/term.stdout" 2>&1 ) &
pid=$!
for _ in $(seq 50); do grep -qs 'stalls' "$T/work-term/logs/quick.log" && break; sleep 0.2; done
kill -TERM $pid
for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.2; done
kill -0 $pid 2>/dev/null && { bad "term: still running 10 s after SIGTERM"; kill -KILL $pid; }
wait $pid 2>/dev/null
check_out term
has term summary.txt 'interrupted (SIGTERM)'
[ "$(rows term small.csv)" = 21 ] || bad "term: small.csv not packed"
[ "$fails" = "$f0" ] && ok "SIGTERM"

# 4. no GPU (fake): exit 3, "no CUDA device", nothing run
f0=$fails
FAKE_GPU=none devrun nogpu 20
check_out nogpu
[ "$rc" = 3 ] || bad "nogpu: exit $rc, want 3"
has nogpu summary.txt 'no CUDA device'
[ ! -e "$T/out-nogpu/small.csv" ] || bad "nogpu: small.csv written"
[ "$fails" = "$f0" ] && ok "no GPU (fake)"

# 5. the real kbench without a GPU: finishes in seconds, says so
f0=$fails
if "$KB_REAL" specs 2>/dev/null | grep -q '^current GPU: none'; then
  KBENCH_BIN=$KB_REAL DEVRUN_SANITIZER= devrun real 60
  check_out real
  [ "$took" -le 30 ] || bad "real: took $took s"
  [ "$rc" = 3 ] || bad "real: exit $rc, want 3"
  has real summary.txt 'no CUDA device'
  has real env.txt '== tools'
  [ -s "$T/out-real/build.log" ] || bad "real: no build.log"
  [ "$fails" = "$f0" ] && ok "real kbench, no GPU ($took s)"
else
  echo "skip real kbench check: this machine has a GPU"
fi

# 6. usage errors
bash "$SRC/scripts/device-run.sh" --phases small,bogus >/dev/null 2>&1; rc=$?
[ "$rc" = 2 ] || bad "usage: --phases bogus exit $rc, want 2"
bash "$SRC/scripts/device-run.sh" --budget 5m >/dev/null 2>&1; rc=$?
[ "$rc" = 2 ] || bad "usage: --budget 5m exit $rc, want 2"

echo "test_device_run: $fails failed"
if [ "$fails" != 0 ]; then for f in "$T"/*.stdout; do echo "== $f"; tail -40 "$f"; done; fi
[ "$fails" = 0 ]
