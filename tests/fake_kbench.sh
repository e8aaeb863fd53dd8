#!/usr/bin/env bash
# fake_kbench.sh - stands in for build/kbench in tests/test_device_run.sh.
# Emulates `kbench --help`, `specs`, `list` and `run` (the isolated
# orchestrator's results: one CSV row per case, fail rows with notes
# "hang: no progress for N s in PHASE" / "crashed: SIGSEGV in PHASE" /
# "lost context: ..." + exit 5, --out DIR, --resume FILE, exit 1 on a fail row).
# Cases: ops hbm{v1,cudart}, fp8_gemm{cublaslt_blk,v1,v3}, mla_decode{v1,v3};
# shapes small: s1 s2 s3, quick: q1 q2.  Behaviour from the environment, each a
# space-separated list of op:impl:shape:
#   FAKE_HANG   watchdog fires: fail row "hang: ..."      FAKE_CRASH  fail row "crashed: SIGSEGV ..."
#   FAKE_LOST   fail row "lost context" then exit 5 (leaves the .partial)
#   FAKE_STALL  really hangs (sleeps; only an outside timeout ends it)
#   FAKE_SLEEP  seconds per case (default 0.05); FAKE_GPU=none: no CUDA device
#   FAKE_LOG    file that gets one line per `run` call (its arguments)
set -u
ops="hbm fp8_gemm mla_decode"
impls_of() { case $1 in hbm) echo "v1 cudart" ;; fp8_gemm) echo "cublaslt_blk v1 v3" ;; mla_decode) echo "v1 v3" ;; esac; }
kind_of() { case $1 in v[0-9]*) echo hand ;; *) echo lib ;; esac; }
shapes_of() { case $1 in small) echo "s1 s2 s3" ;; quick) echo "q1 q2" ;; full) echo "f1 f2 f3 f4" ;; esac; }
in_list() { case ",$2," in *",$1,"*) return 0 ;; esac; return 1; }
has() { case " $2 " in *" $1 "*) return 0 ;; esac; return 1; }

cmd=${1:-}
shift
case $cmd in
  --help|-h|help)
    echo "usage: kbench <command> [options]"
    echo "  run [--op A,B] [--impl X,Y] [--shapes SET] [--isolate none|op|impl|case] [--case-timeout SECONDS] [--resume FILE]"
    exit 0 ;;
  specs)
    if [ "${FAKE_GPU:-}" = none ]; then echo "current GPU: none (no CUDA device: fake has none)"
    else echo "current GPU: NVIDIA H200 (fake), 132 SMs, max SM clock 1980 MHz -> h200-sxm"; fi
    exit 0 ;;
  list)
    for op in $ops; do
      echo "$op               fake operator"
      for im in $(impls_of "$op"); do printf '  %-4s %-26s fake\n' "$(kind_of "$im")" "$im"; done
    done
    exit 0 ;;
  run) ;;
  *) echo "fake kbench: unknown command '$cmd'" >&2; exit 2 ;;
esac

[ -n "${FAKE_LOG:-}" ] && echo "run $*" >>"$FAKE_LOG"
sel_op= sel_impl= sets=full out=results resume= shape=
while [ $# -gt 0 ]; do
  case $1 in
    --op) sel_op=$2; shift 2 ;;
    --impl) sel_impl=$2; shift 2 ;;
    --shapes) sets=$2; shift 2 ;;
    --shape) shape=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --resume) resume=$2; shift 2 ;;
    --isolate|--case-timeout|--reps|--warmup-ms|--timer) shift 2 ;;
    --quick) sets=quick; shift ;;
    *) echo "fake kbench: unknown option '$1'" >&2; exit 2 ;;
  esac
done
if [ "${FAKE_GPU:-}" = none ]; then echo "kbench: no CUDA device: fake has none" >&2; exit 3; fi

hdr="op,impl,shape,dtype,gpu,source,time_us,verified,timestamp,impl_kind,note"
if [ -n "$resume" ]; then
  [ -f "$resume" ] || { echo "kbench run: --resume $resume: No such file or directory" >&2; exit 2; }
  case $resume in
    *.partial) part=$resume; final=${resume%.partial} ;;
    *) part=$resume.partial; final=$resume; mv "$resume" "$part" ;;
  esac
  done_rows=$(awk -F, 'NR > 1 { print $1 ":" $2 ":" $3 }' "$part" | tr '\n' ' ')
else
  mkdir -p "$out"
  final=$out/$(date -u +%Y%m%dT%H%M%SZ)-$$.csv
  part=$final.partial
  echo "$hdr" >"$part"
  done_rows=
fi
echo "kbench: device NVIDIA H200 (fake); isolate impl; rows -> $final"
nf=0 np=0
row() { echo "$1,$2,$3,e4m3,h200-sxm,measured,$4,$5,$(date -u +%Y-%m-%dT%H:%M:%SZ),$(kind_of "$2"),$6" >>"$part"; }
for op in $ops; do
  [ -z "$sel_op" ] || in_list "$op" "$sel_op" || continue
  for im in $(impls_of "$op"); do
    [ -z "$sel_impl" ] || in_list "$im" "$sel_impl" || continue
    shs=$shape; [ -n "$shs" ] || for s in ${sets//,/ }; do shs="$shs $(shapes_of "$s")"; done
    for sh in $shs; do
      c=$op:$im:$sh
      has "$c" "$done_rows" && continue
      sleep "${FAKE_SLEEP:-0.05}"
      if has "$c" "${FAKE_STALL:-}"; then echo "fake kbench: $c stalls" >&2; sleep 1000; fi
      if has "$c" "${FAKE_HANG:-}"; then row "$op" "$im" "$sh" "" fail "hang: no progress for 30 s in timing"; nf=$((nf + 1))
      elif has "$c" "${FAKE_CRASH:-}"; then row "$op" "$im" "$sh" "" fail "\"crashed: SIGSEGV in verify, after 2 launches\""; nf=$((nf + 1))
      elif has "$c" "${FAKE_LOST:-}"; then
        row "$op" "$im" "$sh" "" fail "lost context: cudaErrorIllegalAddress in verify"
        echo "kbench: device lost after $c: rows so far in $part (kbench run --resume $part continues)" >&2
        exit 5
      else row "$op" "$im" "$sh" 12.5 pass ""; np=$((np + 1)); fi
    done
  done
done
mv "$part" "$final"
echo "kbench: $np passed, $nf failed, 0 skipped, #wrong 0 -> $final"
[ $nf = 0 ] || exit 1
