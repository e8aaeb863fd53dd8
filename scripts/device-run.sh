#!/usr/bin/env bash
# device-run.sh [--budget SECONDS] [--resume] [--phases LIST] [-- KBENCH RUN ARGS]
#
# One budgeted call on an offline GPU machine (README "Running on an offline GPU
# machine").  Phases, in this order, each run under `timeout -k 5 N` with
# N = min(the phase's cap, what is left of the budget - the packing reserve):
#   facts     env.txt: nvidia-smi (clocks, ECC, power), nvcc, cmake, gcc, ninja,
#             compute-sanitizer, ncu, where CUPTI/cuBLAS/NCCL are
#   build     kbench only (-DKB_WERROR=OFF), build.log straight into $OUT
#   small     every (op, impl) at the small shapes: verify + 3 timed reps,
#             isolated (kbench run --isolate impl --case-timeout ...)
#   tests     the GPU ctests that add coverage beyond `small`, under timeouts
#   sanitize  compute-sanitizer memcheck on each hand-written (op, impl) that
#             crashed or failed in `small`, then memcheck/racecheck/synccheck on
#             the Hopper kernels (fp8_gemm v3, mla_decode v3) at one shape
#             where the stage ring wraps
#   quick     the quick set, isolated, the v1 (CUDA-core) anchors last
#   pack      always, also on TERM/INT: at most 7 files at the top of $OUT,
#             rewritten as the run goes; summary.txt is printed last
# $OUT (default ./device-out): env.txt build.log summary.txt small.csv quick.csv
# incidents.csv logs.tar.gz (kbench/ctest/sanitizer logs, JSON, meta).
#
# --budget SECONDS  wall time of the whole call (default 540); 25 s of it are
#                   kept for packing (DEVRUN_RESERVE)
# --phases LIST     comma-separated subset of facts,build,small,tests,sanitize,quick
# --resume          on a still-warm machine: skip the phases already done and
#                   continue the interrupted kbench run (--resume FILE.partial)
# -- ARGS           extra `kbench run` arguments for small and quick (e.g. --op hbm)
# Environment: KBENCH_BIN (use this kbench, build nothing), DEVRUN_WORK (state,
# default build-devrun/), DEVRUN_BUILD_DIR (default build/), DEVRUN_CAP_<PHASE>
# (seconds), DEVRUN_CASE_TIMEOUT (default 30), DEVRUN_SANITIZER, DEVRUN_SAN_FP8 /
# DEVRUN_SAN_MLA (shape labels), DEVRUN_TESTS (ctest regex).
# Exit: 0 all ran and passed, 1 something failed or was cut, 2 usage, 3 no CUDA device.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD

usage() { sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
budget=${DEVRUN_BUDGET:-540}
resume=0
phases=facts,build,small,tests,sanitize,quick
run_args=()
while [ $# -gt 0 ]; do
  case $1 in
    --budget) [ $# -ge 2 ] || usage; budget=$2; shift 2 ;;
    --budget=*) budget=${1#*=}; shift ;;
    --phases) [ $# -ge 2 ] || usage; phases=$2; shift 2 ;;
    --phases=*) phases=${1#*=}; shift ;;
    --resume) resume=1; shift ;;
    --) shift; run_args=("$@"); break ;;
    -h|--help) usage ;;
    *) echo "device-run: unknown argument '$1' (kbench run arguments go after --)" >&2; exit 2 ;;
  esac
done
case $budget in ''|*[!0-9]*) echo "device-run: --budget wants whole seconds, got '$budget'" >&2; exit 2 ;; esac
for p in ${phases//,/ }; do
  case $p in facts|build|small|tests|sanitize|quick) ;; *) echo "device-run: unknown phase '$p'" >&2; exit 2 ;; esac
done
want() { case ",$phases," in *",$1,"*) return 0 ;; esac; return 1; }

OUT=${OUT:-$ROOT/device-out}
W=${DEVRUN_WORK:-$ROOT/build-devrun}
B=${DEVRUN_BUILD_DIR:-$ROOT/build}
reserve=${DEVRUN_RESERVE:-25}
case_timeout=${DEVRUN_CASE_TIMEOUT:-30}
t0=$(date +%s)
deadline=$((t0 + budget))
mkdir -p "$OUT" || exit 2
[ $resume = 1 ] || rm -rf "$W"
mkdir -p "$W/logs" "$W/keep"
# a resumed call gets a fresh $OUT: bring back what the earlier call wrote there
for f in env.txt build.log; do [ -e "$OUT/$f" ] || [ ! -e "$W/keep/$f" ] || cp "$W/keep/$f" "$OUT/$f"; done
[ -e "$W/started" ] || date -u +%Y-%m-%dT%H:%M:%SZ >"$W/started"
echo "call $(date -u +%Y-%m-%dT%H:%M:%SZ) budget $budget s phases $phases resume $resume args ${run_args[*]:-}" >>"$W/calls"

if [ -d .deps ]; then
  export CMAKE_PREFIX_PATH=$ROOT/.deps${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
fi
export PATH=$PATH:/usr/local/cuda/bin
KB=${KBENCH_BIN:-$B/kbench}
[ -n "${KBENCH_BIN:-}" ] && case $KB in /*) ;; *) KB=$ROOT/$KB ;; esac

left() { echo $((deadline - $(date +%s) - reserve)); }
now() { date +%s; }
log() { echo "device-run: $*"; }
note() { printf '%s\t%s\n' "$1" "$2" >>"$W/notes.tsv"; }          # phase, line for summary.txt
incident() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$W/incidents.tsv"; } # phase op impl shape note
phase_rec() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$W/phases.tsv"; } # phase status seconds note

# step CAP LOG CMD...: CMD under `timeout -k 5 N` (N = min(CAP, budget left)),
# stdout+stderr appended to LOG; its exit code, 125 when no time was left.
# The child runs in the background so that TERM/INT reach our trap at once.
child=
step() {
  local cap=$1 logf=$2; shift 2
  local n; n=$(left)
  [ "$cap" -lt "$n" ] && n=$cap
  if [ "$n" -lt 2 ]; then echo "device-run: no time left for: $*" >>"$logf"; return 125; fi
  local what="$*"
  echo "device-run: [$(date -u +%H:%M:%S)] timeout $n s: ${what:0:300}" >>"$logf"
  timeout -k 5 "$n" "$@" >>"$logf" 2>&1 </dev/null &
  child=$!
  wait "$child"
  local rc=$?
  child=
  [ $rc = 124 ] || [ $rc = 137 ] && echo "device-run: killed after $n s (cap $cap s, budget left $(left) s)" >>"$logf"
  return $rc
}
cap() { # cap PHASE DEFAULT: DEVRUN_CAP_<PHASE> or DEFAULT
  local v; v=$(printenv "DEVRUN_CAP_$(echo "$1" | tr a-z A-Z)")
  echo "${v:-$2}"
}
done_phase() { [ $resume = 1 ] && [ -e "$W/done.$1" ]; }

# ---- CSV helpers (awk, quoted fields) -------------------------------------------
AWK_CSV='
function csvsplit(line, f,    n, i, c, q, cur) {
  n = 0; cur = ""; q = 0
  for (i = 1; i <= length(line); i++) {
    c = substr(line, i, 1)
    if (q) { if (c == "\"") { if (substr(line, i + 1, 1) == "\"") { cur = cur "\""; i++ } else q = 0 } else cur = cur c }
    else if (c == "\"") q = 1
    else if (c == ",") { f[++n] = cur; cur = "" }
    else cur = cur c
  }
  f[++n] = cur
  return n
}
function csvq(s) { if (s ~ /[",\n]/) { gsub(/"/, "\"\"", s); return "\"" s "\"" } return s }
function epoch(ts,    y, m, d, era, yoe, doy, doe) { # ISO 8601 UTC -> seconds (days from civil)
  if (ts !~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]/) return -1
  y = substr(ts, 1, 4) + 0; m = substr(ts, 6, 2) + 0; d = substr(ts, 9, 2) + 0
  if (m <= 2) y--
  era = int(y / 400); yoe = y - era * 400
  doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
  return ((era * 146097 + doe - 719468) * 86400) + substr(ts, 12, 2) * 3600 + substr(ts, 15, 2) * 60 + substr(ts, 18, 2)
}
'
# newest results CSV (finished or .partial) kbench wrote under DIR
csv_of() { ls -t "$1"/*.csv "$1"/*.csv.partial 2>/dev/null | head -1; }
rows_in() { local f; f=$(csv_of "$1"); [ -n "$f" ] && awk 'NR > 1 && NF' "$f" | wc -l || echo 0; }

# ---- packing: rewritten after every phase, and on EXIT/TERM/INT -------------------
write_csvs() {
  local p f
  for p in small quick; do
    f=$(csv_of "$W/$p")
    if [ -n "$f" ]; then cp "$f" "$OUT/.$p.csv.tmp" && mv "$OUT/.$p.csv.tmp" "$OUT/$p.csv"; fi
  done
  # incidents: the CSV fail rows whose note is a hang, a crash or a lost
  # context, then what the script itself saw (timeouts, exit 5)
  {
    echo "phase,op,impl,shape,note"
    for p in small quick; do
      f=$(csv_of "$W/$p"); [ -n "$f" ] || continue
      awk -v phase="$p" "$AWK_CSV"'
        NR == 1 { n = csvsplit($0, h); for (i = 1; i <= n; i++) col[h[i]] = i; next }
        NF {
          csvsplit($0, f); nt = f[col["note"]]
          if (f[col["verified"]] == "fail" && nt ~ /^(hang:|crashed:|lost context)/)
            print phase "," csvq(f[col["op"]]) "," csvq(f[col["impl"]]) "," csvq(f[col["shape"]]) "," csvq(nt)
        }' "$f"
    done
    [ ! -s "$W/incidents.tsv" ] || awk -F'\t' "$AWK_CSV"'{ print $1 "," csvq($2) "," csvq($3) "," csvq($4) "," csvq($5) }' "$W/incidents.tsv"
  } >"$OUT/.incidents.tmp"; mv "$OUT/.incidents.tmp" "$OUT/incidents.csv"
}

write_summary() {
  local final=${1:-0} p f
  {
    echo "kbench device-run: budget ${budget} s, used $(( $(now) - t0 )) s of this call; git $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown); started $(cat "$W/started")"
    [ -s "$W/gpu" ] && echo "gpu: $(cat "$W/gpu")"
    printf '%-9s %-18s %-22s %5s %5s %5s %8s %7s  %s\n' phase op impl pass fail skip incident seconds note
    for p in facts build small tests sanitize quick pack; do
      [ -s "$W/phases.tsv" ] && awk -F'\t' -v p="$p" '$1 == p { printf "%-9s %-18s %-22s %5s %5s %5s %8s %7s  %s\n", p, "-", "-", "", "", "", "", $3, $2 ($4 != "" ? ": " $4 : "") }' "$W/phases.tsv"
      case $p in
        small|quick)
          f=$(csv_of "$W/$p"); [ -n "$f" ] || continue
          awk -v phase="$p" "$AWK_CSV"'
            NR == 1 { n = csvsplit($0, h); for (i = 1; i <= n; i++) col[h[i]] = i; prev = -1; next }
            NF {
              csvsplit($0, f); k = f[col["op"]] SUBSEP f[col["impl"]]
              if (!(k in seen)) { seen[k] = 1; order[++m] = k }
              v = f[col["verified"]]; nt = f[col["note"]]
              if (v == "pass") ps[k]++; else if (v == "skip") sk[k]++; else fl[k]++
              if (v == "fail" && nt ~ /^(hang:|crashed:|lost context)/) inc[k]++
              t = epoch(f[col["timestamp"]])
              if (t >= 0 && prev >= 0 && t >= prev && t - prev < 3600) sec[k] += t - prev
              if (t >= 0) prev = t
            }
            END { for (i = 1; i <= m; i++) { k = order[i]; split(k, oi, SUBSEP)
                    printf "%-9s %-18s %-22s %5d %5d %5d %8d %7d\n", phase, oi[1], oi[2], ps[k], fl[k], sk[k], inc[k], sec[k] } }' "$f" ;;
        tests|sanitize)
          [ -s "$W/$p.tsv" ] && awk -F'\t' -v p="$p" '{ printf "%-9s %-18s %-22s %5s %5s %5s %8s %7s  %s\n", p, $1, $2, $3, $4, $5, $6, $7, $8 }' "$W/$p.tsv" ;;
      esac
    done
    local nf=0; [ -s "$OUT/incidents.csv" ] && nf=$(($(wc -l <"$OUT/incidents.csv") - 1))
    echo "incidents: $nf (incidents.csv)"
    [ "$nf" -gt 0 ] && tail -n +2 "$OUT/incidents.csv" | head -12 | sed 's/^/  /'
    for p in small quick; do
      f=$(csv_of "$W/$p"); [ -n "$f" ] || continue
      awk -v phase="$p" "$AWK_CSV"'
        NR == 1 { n = csvsplit($0, h); for (i = 1; i <= n; i++) col[h[i]] = i; next }
        NF { csvsplit($0, f); if (f[col["verified"]] == "fail" && ++nf <= 12)
               print "  FAIL " phase " " f[col["op"]] " " f[col["impl"]] " " f[col["shape"]] ": " substr(f[col["note"]], 1, 110) }
        END { if (nf > 12) print "  ... " nf - 12 " more failed rows in " phase ".csv" }' "$f"
    done
    [ -s "$W/notes.tsv" ] && cut -f2- "$W/notes.tsv"
    if [ "$final" = 1 ]; then
      echo "files: $(cd "$OUT" && ls -A | grep -v '^\.' | tr '\n' ' ')"
      echo "status: $(status_line)"
    else
      echo "status: running (phase ${cur_phase:-?})"
    fi
  } >"$OUT/.summary.tmp" && mv "$OUT/.summary.tmp" "$OUT/summary.txt"
}

status_line() {
  if [ -e "$W/no_gpu" ]; then echo "no CUDA device: $(cat "$W/no_gpu")"; return; fi
  local bad; bad=$(awk -F'\t' '!($1 in last) { order[++n] = $1 } { last[$1] = $2 ($4 != "" ? ": " $4 : "") }
    END { for (i = 1; i <= n; i++) if (last[order[i]] !~ /^(ok|skipped)/) print order[i] " (" last[order[i]] ")" }' "$W/phases.tsv" 2>/dev/null | paste -sd, -)
  [ -n "$bad" ] && echo "problems in: $bad" || echo "ok"
}

write_logs() {
  local p f max=$((15 * 1024 * 1024))
  for f in "$W"/logs/*; do # keep every log under the 16 MiB a file may have: head + tail
    [ -f "$f" ] && [ "$(stat -c %s "$f")" -gt $((max / 2)) ] &&
      { head -c $((max / 8)) "$f"; echo; echo "... [device-run: cut] ..."; tail -c $((max / 8)) "$f"; } >"$f.cut" && mv "$f.cut" "$f"
  done
  if [ -f "$OUT/build.log" ] && [ "$(stat -c %s "$OUT/build.log")" -gt "$max" ]; then
    { head -c $((max / 2)) "$OUT/build.log"; echo; echo "... [device-run: cut] ..."; tail -c $((max / 3)) "$OUT/build.log"; } >"$W/build.log.cut" &&
      mv "$W/build.log.cut" "$OUT/build.log"
  fi
  cp "$W/calls" "$W/logs/calls.txt" 2>/dev/null
  for p in small quick; do [ -d "$W/$p" ] && cp "$W/$p"/*.json "$W/logs/" 2>/dev/null; done
  tar czf "$OUT/.logs.tmp" -C "$W" logs 2>/dev/null && mv "$OUT/.logs.tmp" "$OUT/logs.tar.gz"
  for f in env.txt build.log; do [ -e "$OUT/$f" ] && cp "$OUT/$f" "$W/keep/$f"; done
}

checkpoint() { write_csvs; write_logs; write_summary 0; }

packed=0
pack() {
  [ $packed = 1 ] && return
  packed=1
  trap '' TERM INT
  if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; sleep 1; kill -KILL "$child" 2>/dev/null; fi
  local tp; tp=$(now)
  [ -n "${cur_phase:-}" ] && phase_rec "$cur_phase" "cut" "$((tp - phase_t0))" "interrupted (${why:-killed})"
  write_csvs; write_logs
  phase_rec pack ok "$(( $(now) - tp ))" ""
  write_summary 1
  cat "$OUT/summary.txt"
}
why=
trap 'why="SIGTERM"; exit 143' TERM
trap 'why="SIGINT"; exit 130' INT
trap 'pack' EXIT

begin() { cur_phase=$1; phase_t0=$(now); log "phase $1 ($(left) s left)"; }
finish() { # finish STATUS NOTE [done]
  phase_rec "$cur_phase" "$1" "$(( $(now) - phase_t0 ))" "${2:-}"
  [ "${3:-}" = done ] && touch "$W/done.$cur_phase"
  cur_phase=
  checkpoint
}
skip_phase() { phase_rec "$1" "skipped" 0 "$2"; }

# ---- 1. facts -----------------------------------------------------------------------
facts_body() {
  local T="timeout -k 2 20"
  echo "== date, host"; date -u; uname -a; echo "nproc $(nproc)"; free -g 2>/dev/null | head -2; id -u
  echo "== nvidia-smi"
  if command -v nvidia-smi >/dev/null; then
    $T nvidia-smi; $T nvidia-smi -L; $T nvidia-smi topo -m
    $T nvidia-smi -q -d CLOCK,PERFORMANCE,ECC,POWER,TEMPERATURE
    $T nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem,ecc.mode.current,power.limit --format=csv
  else echo "nvidia-smi: not found"; fi
  echo "== tools"
  for t in nvcc cmake gcc g++ ninja compute-sanitizer ncu python3; do
    if command -v "$t" >/dev/null; then echo "-- $t: $(command -v "$t")"; $T "$t" --version 2>&1 | head -4
    else echo "-- $t: not found"; fi
  done
  echo "== libraries (CUDA folder, ldconfig, Python wheels)"
  local cuda; cuda=$(dirname "$(dirname "$(command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)")")
  echo "CUDA folder: $cuda"
  ls -1 "$cuda"/lib64/libcupti.so* "$cuda"/extras/CUPTI/lib64/libcupti.so* "$cuda"/lib64/libcublas*.so* \
        "$cuda"/lib64/libnccl.so* "$cuda"/targets/*/lib/libcupti.so* 2>/dev/null | sed 's/^/  /'
  ldconfig -p 2>/dev/null | grep -E 'libcupti|libcublas|libnccl|libjansson|libcsv|libgsl|libbenchmark' | sed 's/^/  /'
  if command -v python3 >/dev/null; then
    local sp
    for sp in $($T python3 -c 'import site, sys; print(" ".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null); do
      [ -d "$sp/nvidia" ] && find "$sp/nvidia" -maxdepth 4 \( -name 'libcupti.so*' -o -name 'libnccl.so*' -o -name 'libcublas*.so*' -o -name 'cupti.h' -o -name 'nccl.h' \) 2>/dev/null | sed 's/^/  wheel: /'
    done
  fi
  [ -d .deps ] && echo "staged .deps: $(du -sh .deps | cut -f1)"
  echo "RmProfilingAdminOnly (1 = CUPTI counters need root): $(grep -h RmProfilingAdminOnly /proc/driver/nvidia/params 2>/dev/null || echo unknown)"
  echo "== kbench"
  echo "KBENCH_BIN=${KBENCH_BIN:-} -> $KB"
  [ -x "$KB" ] && $T "$KB" specs 2>&1 | grep -E '^current GPU' || echo "kbench not built yet"
}
phase_facts() {
  begin facts
  step "$(cap facts 45)" "$OUT/env.txt" bash -c "$(declare -f facts_body); KB='$KB'; facts_body"
  local rc=$?
  if command -v nvidia-smi >/dev/null; then
    timeout 10 nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1 >"$W/gpu.smi"
  else echo "nvidia-smi not found" >"$W/gpu.smi"; fi
  [ -s "$W/gpu.smi" ] && cp "$W/gpu.smi" "$W/gpu"
  finish "$([ $rc = 0 ] && echo ok || echo "exit $rc")" "env.txt" done
}

# ---- 2. build -----------------------------------------------------------------------
phase_build() {
  begin build
  if [ -n "${KBENCH_BIN:-}" ]; then
    echo "build skipped: KBENCH_BIN=$KBENCH_BIN" >>"$OUT/build.log"
    finish skipped "KBENCH_BIN set" done; return
  fi
  local gen=() rc
  command -v ninja >/dev/null && gen=(-G Ninja)
  step "$(cap build 360)" "$OUT/build.log" cmake -S . -B "$B" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DKB_WERROR=OFF
  rc=$?
  if [ $rc = 0 ]; then
    step "$(cap build 360)" "$OUT/build.log" cmake --build "$B" -j"$(nproc)" --target kbench
    rc=$?
  fi
  if [ $rc != 0 ]; then
    echo "device-run: build failed (exit $rc); first errors:"
    grep -m 12 -iE 'error|undefined reference|not found' "$OUT/build.log"
    note build "build failed (exit $rc): $(grep -m 1 -iE 'error|not found' "$OUT/build.log" | cut -c1-160)"
    finish "failed" "exit $rc, see build.log"; return
  fi
  if command -v ldd >/dev/null && ldd "$KB" 2>/dev/null | grep -q 'not found'; then
    local dirs
    dirs=$(ldd "$KB" | awk '/not found/ { print $1 }' | tr '\n' ' ')
    echo "device-run: $KB cannot resolve: $dirs"
    [ -d .deps ] && export LD_LIBRARY_PATH=$ROOT/.deps/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    note build "kbench needs: export LD_LIBRARY_PATH=$ROOT/.deps/lib/x86_64-linux-gnu:\$LD_LIBRARY_PATH (unresolved: $dirs)"
  fi
  finish ok "" done
}

# ---- GPU probe: kbench specs, or the exit code 3 of kbench run -----------------------
have_gpu() {
  [ -e "$W/no_gpu" ] && return 1
  [ -e "$W/gpu_ok" ] && return 0
  if [ ! -x "$KB" ]; then echo "kbench binary missing: $KB" >"$W/no_kb"; return 1; fi
  local line smi
  smi=$(cat "$W/gpu.smi" 2>/dev/null)
  line=$(timeout -k 2 30 "$KB" specs 2>&1 | grep -m1 '^current GPU:')
  echo "${line:-kbench specs printed no current GPU line}" >>"$W/logs/specs.log"
  case $line in
    "current GPU: none"*)
      echo "${line#current GPU: none}" | sed 's/^ *(no CUDA device: //; s/)$//' >"$W/no_gpu"
      echo "no CUDA device: $(cat "$W/no_gpu")${smi:+ [nvidia-smi: $smi]}" >"$W/gpu"
      return 1 ;;
  esac
  echo "${line#current GPU: }${smi:+ [nvidia-smi: $smi]}" >"$W/gpu"
  touch "$W/gpu_ok"
}
gpu_or_skip() { # gpu_or_skip PHASE: 0 if the phase may use the GPU
  if [ -e "$W/no_kb" ] || { [ ! -x "$KB" ] && echo "kbench binary missing: $KB" >"$W/no_kb"; }; then
    phase_rec "$1" failed 0 "$(cat "$W/no_kb")"; return 1; fi
  have_gpu && return 0
  skip_phase "$1" "no CUDA device"; return 1
}

# kbench run --isolate and friends exist (older binaries: one process, no watchdog)
# (--case-timeout: small shapes DEVRUN_CASE_TIMEOUT, default 30 s; quick: kbench's
# own rule, 60 s + 50x the roofline time, unless DEVRUN_CASE_TIMEOUT is set)
iso_args() { # iso_args PHASE
  if "$KB" --help 2>&1 | grep -q -- '--isolate'; then
    if [ "${1:-}" = quick ] && [ -z "${DEVRUN_CASE_TIMEOUT:-}" ]; then echo "--isolate impl"
    else echo "--isolate impl --case-timeout $case_timeout"; fi
  else echo ""; fi
}

# kbench_run PHASE CAP ARGS...: `kbench run ARGS --out $W/PHASE`, continued with
# --resume after a lost device (exit 5) while the phase has time; 0 / 1 rows
# failed / other: the last exit code.
kbench_run() {
  local p=$1 capv=$2; shift 2
  local dir=$W/$p logf=$W/logs/$p.log rc tries=0 before after csv iso end
  mkdir -p "$dir"
  iso=$(iso_args "$p")
  [ -z "$iso" ] && note "$p" "$p: this kbench has no --isolate: one process, no case watchdog"
  end=$(( $(now) + capv ))
  while :; do
    csv=$(csv_of "$dir")
    before=$(rows_in "$dir")
    local extra=(); [ -n "$csv" ] && [ -n "$iso" ] && extra=(--resume "$csv")
    # shellcheck disable=SC2086
    step $((end - $(now))) "$logf" "$KB" run "$@" $iso --out "$dir" "${extra[@]}"
    rc=$?
    after=$(rows_in "$dir")
    echo "device-run: kbench run exit $rc, rows $before -> $after" >>"$logf"
    case $rc in
      3) grep -m1 'no CUDA device' "$logf" | sed 's/^kbench: no CUDA device: //' >"$W/no_gpu"
         [ -s "$W/no_gpu" ] || echo "kbench run exit 3" >"$W/no_gpu"
         echo "no CUDA device: $(cat "$W/no_gpu")" >"$W/gpu"; return 3 ;;
      5) incident "$p" - - - "device lost: kbench run exit 5 after $after rows"
         tries=$((tries + 1))
         if [ "$after" -gt "$before" ] && [ $tries -le 4 ] && [ $((end - $(now))) -gt 5 ] && [ "$(left)" -gt 5 ]; then
           log "$p: device lost (exit 5), resuming from $(csv_of "$dir")"; checkpoint; continue
         fi
         note "$p" "$p: device lost (exit 5) and no progress on resume: stopped"; return 5 ;;
      124|137) incident "$p" - - - "kbench run killed at the phase cap/budget after $after rows; last output: $(grep -v '^device-run:' "$logf" | tail -1 | cut -c1-150)"
         return $rc ;;
      125) incident "$p" - - - "no budget left to start"; return $rc ;;
    esac
    return $rc
  done
}

# ---- 3. small: correctness first -----------------------------------------------------
phase_small() {
  done_phase small && return
  gpu_or_skip small || return
  begin small
  kbench_run small "$(cap small 240)" --shapes small --reps 3 --warmup-ms 5 "${run_args[@]}"
  local rc=$?
  case $rc in
    0) finish ok "" done ;;
    1) finish "done" "rows failed" done ;;
    3) finish skipped "no CUDA device" ;;
    *) finish "exit $rc" "" ;;
  esac
}

# ---- 4. GPU tests (beyond what the small pass covers; gpu_smoke repeats it) -----------
phase_tests() {
  done_phase tests && return
  gpu_or_skip tests || return
  begin tests
  # each test binary on its own under `timeout` (ctest --timeout does not
  # override the tests' TIMEOUT 600); exit 77 = skip, as in ctest
  local re=${DEVRUN_TESTS:-'^test_.*_gpu$'} per=${DEVRUN_TEST_TIMEOUT:-90} logf=$W/logs/tests.log
  local names=() n rc t1 end bad=0 cut=0 p f s h st
  mapfile -t names < <(ls tests/test_*.c 2>/dev/null | sed 's|^tests/||; s/\.c$//' | grep -E "$re")
  end=$(( $(now) + $(cap tests 150) ))
  if [ -z "${KBENCH_BIN:-}" ] && [ ${#names[@]} -gt 0 ]; then
    step $((end - $(now))) "$OUT/build.log" cmake --build "$B" -j"$(nproc)" --target "${names[@]}"
  fi
  for n in "${names[@]}"; do
    [ -x "$B/$n" ] || { printf '%s\t-\t0\t1\t0\t0\t0\tnot built\n' "$n" >>"$W/tests.tsv"; bad=1; continue; }
    [ $((end - $(now))) -lt $per ] && per=$((end - $(now)))
    t1=$(now)
    echo "== $n" >>"$logf"
    step "$per" "$logf" "$B/$n"
    rc=$?
    p=0 f=0 s=0 h=0
    case $rc in
      0) p=1; st=passed ;;
      77) s=1; st=skipped ;;
      124|137) f=1; h=1; st="timeout after $per s"; incident tests "$n" - - "test killed: timeout after $per s"; bad=1 ;;
      125) cut=1; break ;;
      *) f=1; st="failed (exit $rc)"; bad=1 ;;
    esac
    printf '%s\t-\t%d\t%d\t%d\t%d\t%d\t%s\n' "$n" $p $f $s $h "$(( $(now) - t1 ))" "$st" >>"$W/tests.tsv"
  done
  if [ $cut = 1 ]; then finish cut "budget spent"
  elif [ $bad = 1 ]; then finish failed "see logs/tests.log" done
  else finish ok "" done; fi
}

# ---- 5. compute-sanitizer --------------------------------------------------------------
san_one() { # san_one TOOL OP IMPL SHAPE CAP
  local tool=$1 op=$2 impl=$3 shape=$4 capv=$5 logf rc errs st t1
  logf=$W/logs/san-$tool-$op-$impl.log
  t1=$(now)
  local sel=(--shapes small); [ -n "$shape" ] && sel=(--shape "$shape")
  local iso=(); [ -n "$(iso_args)" ] && iso=(--isolate none)
  step "$capv" "$logf" "$SAN" --tool "$tool" --error-exitcode 99 "$KB" run "${iso[@]}" --op "$op" --impl "$impl" \
    "${sel[@]}" --reps 1 --warmup-ms 0 --timer events --out "$W/san"
  rc=$?
  errs=$(grep -Eo 'ERROR SUMMARY: [0-9]+' "$logf" | tail -1 | grep -Eo '[0-9]+$')
  case $rc in
    124|137) st="timeout"; incident sanitize "$op" "$impl" "${shape:-small}" "compute-sanitizer $tool killed after the cap" ;;
    125) st="no time"; return 125 ;;
    *) if [ "${errs:-0}" -gt 0 ] || [ $rc = 99 ]; then st="$tool: ${errs:-?} errors"; else st="$tool: clean (kbench exit $rc)"; fi ;;
  esac
  local clean=0 dirty=0 hung=0
  case $st in timeout) hung=1 ;; *clean*) clean=1 ;; *errors) dirty=1 ;; esac
  printf '%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n' "$op" "$impl $tool" $clean $dirty 0 $hung "$(( $(now) - t1 ))" \
    "${shape:-small} $st" >>"$W/sanitize.tsv"
}
phase_sanitize() {
  done_phase sanitize && return
  gpu_or_skip sanitize || return
  SAN=${DEVRUN_SANITIZER:-$(command -v compute-sanitizer)}
  if [ -z "$SAN" ]; then skip_phase sanitize "compute-sanitizer not found"; return; fi
  begin sanitize
  local per=${DEVRUN_SAN_CAP:-60} f targets
  f=$(csv_of "$W/small")
  # hand-written (op, impl) pairs that crashed or failed at the small shapes
  targets=$([ -n "$f" ] && awk "$AWK_CSV"'
    NR == 1 { n = csvsplit($0, h); for (i = 1; i <= n; i++) col[h[i]] = i; next }
    NF { csvsplit($0, f); k = f[col["op"]] " " f[col["impl"]]
         if (f[col["verified"]] == "fail" && (f[col["impl_kind"]] == "hand" || f[col["impl"]] ~ /^v[0-9]/) && !(k in s)) { s[k] = 1; print k } }' "$f")
  local op impl
  while read -r op impl; do
    [ -n "$op" ] || continue
    san_one memcheck "$op" "$impl" "" "$per" || break
  done <<<"$targets"
  # the Hopper kernels at a shape where the smem stage ring wraps (more k-blocks /
  # KV pages per CTA than stages), then fp8_gemm v3 at a decode shape the heuristic
  # splits over K (64x32 tiles, split-K 7: FP32 partials + the reduce kernel):
  # memcheck, then racecheck and synccheck
  local tool pair
  for tool in memcheck racecheck synccheck; do
    for pair in "fp8_gemm v3 ${DEVRUN_SAN_FP8:-m128_n2112_k7168}" "mla_decode v3 ${DEVRUN_SAN_MLA:-b128_sk4096_h16_sq1}" \
                "fp8_gemm v3 ${DEVRUN_SAN_FP8_SPLIT:-m64_n576_k7168}"; do
      set -- $pair
      [ "$(left)" -gt 10 ] || break 2
      san_one "$tool" "$1" "$2" "${3:-}" "$per" || break 2
    done
  done
  finish ok "" done
}

# ---- 6. quick timing, the v1 anchors last -------------------------------------------------
phase_quick() {
  done_phase quick && return
  gpu_or_skip quick || return
  begin quick
  local rc=0 impls=
  # every implementation name but v1 first, then the rest (--resume: the v1 rows)
  printf '%s\n' "${run_args[@]:-}" | grep -q -- '^--impl' ||
    impls=$(timeout -k 2 20 "$KB" list 2>/dev/null | awk '$1 == "hand" || $1 == "lib" { print $2 }' | grep -vx v1 | sort -u | paste -sd, -)
  if [ -n "$impls" ]; then
    kbench_run quick "$(cap quick 600)" --shapes quick "${run_args[@]}" --impl "$impls"
    rc=$?
    case $rc in 0|1) kbench_run quick "$(cap quick 600)" --shapes quick "${run_args[@]}"; rc=$? ;; esac
  else
    kbench_run quick "$(cap quick 600)" --shapes quick "${run_args[@]}"
    rc=$?
  fi
  case $rc in
    0) finish ok "" done ;;
    1) finish "done" "rows failed" done ;;
    3) finish skipped "no CUDA device" ;;
    *) finish "exit $rc" "" ;;
  esac
}

# ---- run --------------------------------------------------------------------------------
log "budget $budget s (packing reserve $reserve s), phases $phases, out $OUT, work $W"
checkpoint
for p in facts build small tests sanitize quick; do
  want "$p" || continue
  case $p in facts|build) done_phase "$p" && continue ;; esac
  if [ "$(left)" -lt 2 ]; then phase_rec "$p" cut 0 "budget spent"; continue; fi
  "phase_$p"
done
cur_phase=
rc=0
[ -e "$W/no_gpu" ] && rc=3
[ $rc = 0 ] && [ "$(status_line)" != ok ] && rc=1
exit $rc
