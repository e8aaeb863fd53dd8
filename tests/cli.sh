#!/usr/bin/env bash
# cli.sh KBENCH - the command-line contract: usage errors (exit 2, one line
# naming the problem), `kbench run` without a GPU (exit 3, one clear line,
# fast), model/list/specs output.
set -u
kb=$1
. "$(dirname "$0")/cli_lib.sh"
"$kb" >/dev/null 2>&1; [ $? -eq 2 ] && ok || no "no arguments: exit code not 2"
sed -n 1p <<<"$("$kb" 2>&1)" | grep -q '^usage: kbench' && ok || no "no arguments: no usage line"
expect 2 "unknown command 'frobnicate'" -- frobnicate
expect 2 "unknown option '--bogus'"     -- run --bogus
expect 2 "--reps: expected a positive integer, got 'x'" -- run --reps x
expect 2 "--reps: expected a positive integer, got '0'" -- run --reps 0
expect 2 "--flush: expected l2, rotate or none, got 'sometimes'" -- run --flush sometimes
expect 2 "--timer: expected cupti or events, got 'ns'" -- run --timer ns
expect 2 "--shapes: expected full, quick, small or all, got 'huge'" -- model --shapes huge
expect 2 "unknown operator 'fp9_gemm'"  -- run --op fp9_gemm
expect 2 "unknown implementation 'v99'" -- run --op hbm --impl v99
expect 2 "option '--op' needs a value"  -- run --op
# the name checks (one generic checker): the whole line, the first unknown
# name of a list, and names that exist only for an operator not selected
expect 2 "^kbench: unknown operator 'fp9' \(see \`kbench list\`\)$" -- run --op hbm,fp9,fp10
expect 2 "^kbench: unknown implementation 'cublaslt_blk' for the selected operators \(see \`kbench list\`\)$" -- run --op hbm --impl v1,cublaslt_blk
expect 2 "^kbench: unknown shape 'copy_2GiB' for the selected operators \(see \`kbench list --verbose\`\)$" -- run --op fp8_gemm --shape copy_2GiB
expect 2 "unknown operator 'nope'"      -- model --op nope
expect 2 "--warmup-ms: expected a positive integer, got '1.5'" -- run --warmup-ms 1.5
expect 2 "--reps: expected a positive integer, got '1000001'" -- run --reps 1000001
expect 2 "unknown shape 'm3_n3_k3'"     -- run --op fp8_gemm --shape m3_n3_k3
expect 2 "does not apply"               -- model --shape copy_2GiB
expect 2 "unexpected argument 'extra'"  -- list extra
expect 2 "does not apply"               -- specs --reps 3
expect 2 "option '--hot' does not apply" -- model --hot
expect 2 "option '--drop-low-clock' does not apply" -- list --drop-low-clock
expect 2 "unknown GPU 'a100'"           -- model --gpu a100
expect 2 "unknown GPU 'a100'"           -- specs --gpu a100
expect 2 "unknown Google Benchmark flag" -- run --benchmark_frobnicate=1
# adaptive timing and --device (bench/kb_adapt.h): the option named, its value checked
expect 2 "^kbench run: --device: expected a device index 0..1023, got 'x'" -- run --device x
expect 2 "--device: expected a device index 0..1023, got '-1'" -- run --device -1
expect 2 "option '--device' needs a value" -- run --device
expect 2 "option '--device' does not apply" -- model --device 0
expect 2 "--max-noise: expected a percentage in \(0, 100\], got 'abc'" -- run --max-noise abc
expect 2 "--max-noise: expected a percentage in \(0, 100\], got '0'" -- run --max-noise 0
expect 2 "--min-time: expected seconds in \(0, 86400\], got '0'" -- run --min-time 0
expect 2 "--min-reps: expected a whole number in 2..1000000, got '1'" -- run --min-reps 1
expect 2 "--max-reps: expected a whole number in 2..1000000, got '1e3'" -- run --max-reps 1e3
expect 2 "--min-reps 20 is more than --max-reps 10" -- run --min-reps 20 --max-reps 10
expect 2 "--reps: fixed repetitions do not combine with --min-time" -- run --reps 5 --max-noise 1
expect 2 "option '--max-noise' does not apply" -- list --max-noise 1
expect 2 "option '--min-time' given twice" -- run --min-time 1 --min-time 2
echo '{"gpus":[{"slug":"x","hbm_gbs":"fast"}]}' > /tmp/kb_cli_specs.json
expect 2 'must be a number'             -- specs --specs /tmp/kb_cli_specs.json
KBENCH_SPECS=/nonexistent.json expect 2 'nonexistent.json' -- specs
rm -f /tmp/kb_cli_specs.json

# run without a GPU: one clear line, exit 3, within a few seconds
if "$kb" specs | grep -q '^current GPU: none'; then
  start=$(date +%s%N)
  err=$(timeout 20 "$kb" run --quick 2>&1 >/dev/null); rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  [ $rc -eq 3 ] && ok || no "run without GPU: exit $rc, want 3"
  grep -q '^kbench: no CUDA device: ' <<<"$err" && ok || no "run without GPU: message '$err'"
  [ "$(grep -c . <<<"$err")" -eq 1 ] && ok || no "run without GPU: more than one line: $err"
  [ $ms -lt 5000 ] && ok || no "run without GPU took $ms ms"
  # valid names pass the checks: the run gets as far as looking for a device
  for args in "--op hbm,fp8_gemm --impl v1,cublaslt_blk" "--shape copy_2GiB,m4096_n7168_k16384" "--reps 1000000 --warmup-ms 1" "--hot --drop-low-clock" \
              "--device 0" "--device 7 --isolate none" "--max-noise 0.5% --min-time 0.5 --min-reps 5 --max-reps 50"; do
    timeout 20 "$kb" run $args >/dev/null 2>&1; rc=$?
    [ $rc -eq 3 ] && ok || no "run $args without GPU: exit $rc, want 3"
  done
  # no device at all comes first: --device 7 is not refused, the run has no device (3), one line
  err=$(timeout 20 "$kb" run --device 7 2>&1 >/dev/null)
  grep -q '^kbench: no CUDA device: ' <<<"$err" && [ "$(grep -c . <<<"$err")" -eq 1 ] && ok || no "run --device 7 without GPU: '$err'"
  "$kb" specs --device 3 | grep -q '^current GPU: none' && ok || no "specs --device 3 without GPU"
else
  echo "note: a GPU is present: the no-GPU checks are covered by the GPU smoke test instead"
fi

# model: CSV on stdout, header first, projected rows only, for the GPUs asked
out=$("$kb" model --gpu h100-sxm,h800-sxm --shapes quick); rc=$?
[ $rc -eq 0 ] && ok || no "model exit $rc"
head -1 <<<"$out" | grep -q '^op,impl,shape,dtype,gpu,source,flops,bytes,intensity,time_us,' && ok || no "model header"
[ "$(tail -n +2 <<<"$out" | grep -vc ',projected,')" -eq 0 ] && ok || no "model rows not all projected"
[ "$(tail -n +2 <<<"$out" | grep -c ',h100-sxm,projected,')" -eq "$(tail -n +2 <<<"$out" | grep -c ',h800-sxm,projected,')" ] && ok || no "model: H100/H800 row counts differ"
tmpd=$(mktemp -d)
"$kb" model --out "$tmpd/m/model.csv" 2>/dev/null && [ -s "$tmpd/m/model.csv" ] && [ ! -e "$tmpd/m/model.csv.partial" ] && ok || no "model --out"
rm -rf "$tmpd"
# regenerated outputs change only when their content does: model and report
# twice, a second apart, give the same bytes (no write time, no build sha)
tmpd=$(mktemp -d)
"$kb" model --gpu h100-sxm,h800-sxm --shapes quick --out "$tmpd/a.csv" 2>/dev/null
"$kb" report "$tmpd/a.csv" --no-plots --out "$tmpd/a.md" >/dev/null 2>&1
sleep 1
"$kb" model --gpu h100-sxm,h800-sxm --shapes quick --out "$tmpd/b.csv" 2>/dev/null
"$kb" report "$tmpd/b.csv" --no-plots --out "$tmpd/b.md" >/dev/null 2>&1
cmp -s "$tmpd/a.csv" "$tmpd/b.csv" && ok || no "model twice: the CSVs differ"
sed 's/b\.csv/a.csv/g' "$tmpd/b.md" | cmp -s "$tmpd/a.md" - && ok || no "report twice: the reports differ"
grep -q 'No measured rows: nothing was verified' "$tmpd/a.md" && ok || no "report of projections claims verified rows"
rm -rf "$tmpd"
# list and specs
"$kb" list | grep -q '^fp8_gemm' && ok || no "list lacks fp8_gemm"
"$kb" list --op hbm --shapes quick | grep -q 'shape copy_2GiB' && ok || no "list --shapes lacks copy_2GiB"
"$kb" specs --gpu h800-sxm | grep -q 'link_gbs_practical .* 160 .*S' && ok || no "specs --gpu h800-sxm"
"$kb" --help | grep -q 'exit codes: 0 ok, 1 failure or regression, 2 usage/bad input, 3 no CUDA device' && ok || no "help lacks exit codes"
# `kbench run --help` is ours, not Google Benchmark's flag list
"$kb" run --help 2>&1 | grep -q '^usage: kbench run \[options\]' && ok || no "run --help does not print kbench run's usage"
# CMD --help: that command's lines and the common ones, not the other commands'
h=$("$kb" model --help)
grep -q '^  model ' <<<"$h" && grep -q '^exit codes:' <<<"$h" && ! grep -q '^  run ' <<<"$h" && ok || no "model --help: '$h'"
# global options before or after the command; both is a repeat
echo '{"gpus":[{"slug":"x9","name":"X9","fp8_tflops":2,"bf16_tflops":1,"fp32_tflops":1,"hbm_gbs":3,"link_gbs_nominal":1}]}' > /tmp/kb_cli_g.json
"$kb" --specs /tmp/kb_cli_g.json specs --gpu x9 >/dev/null 2>&1 && ok || no "--specs before the command"
"$kb" specs --specs /tmp/kb_cli_g.json --gpu x9 >/dev/null 2>&1 && ok || no "--specs after the command"
"$kb" --specs=/tmp/kb_cli_g.json model --gpu x9 --op hbm --shapes small | grep -q ',x9,projected,' && ok || no "--specs= before model"
expect 2 "option '--specs' given twice" -- --specs /tmp/kb_cli_g.json specs --specs /tmp/kb_cli_g.json
expect 2 "^kbench: option '--specs' needs a value" -- --specs
rm -f /tmp/kb_cli_g.json
"$kb" run --help >/dev/null 2>&1; [ $? -eq 0 ] && ok || no "run --help: exit code not 0"
# isolation options: documented in the usage, checked like the others
for w in '--isolate none|op|impl|case' '--case-timeout SECONDS' '--resume FILE' '5 device lost' \
         '[--min-time S] [--max-noise PCT] [--min-reps N] [--max-reps N]' '[--device N]'; do
  "$kb" run --help | grep -qF -- "$w" && ok || no "run --help lacks '$w'"
done
"$kb" specs --help | grep -qF -- 'specs   [--gpu NAME] [--json] [--device N]' && ok || no "specs --help lacks --device"
expect 2 "--isolate: expected none, op, impl or case, got 'all'" -- run --isolate all
expect 2 "--case-timeout: expected whole seconds in 1..86400, got '0'" -- run --case-timeout 0
# repeated options and empty values are errors, named by the option
expect 2 "option '--op' given twice"          -- list --op hbm --op fp8_gemm
expect 2 "option '--out' has an empty value"  -- model --out=
expect 2 "does not apply"                     -- run --json
# --json: valid JSON with the same ops, impls and shapes as the text listing
if command -v python3 >/dev/null; then
  n_text=$("$kb" list --op hbm,fp8_gemm --shapes all --verbose | grep -c '^    shape ')
  n_json=$("$kb" list --op hbm,fp8_gemm --shapes all --json |
           python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(len(o["shapes"]) for o in d["ops"]))')
  [ -n "$n_json" ] && [ "$n_text" = "$n_json" ] && ok || no "list --json: $n_json shapes, text listing $n_text"
  "$kb" specs --json --gpu h800-sxm |
    python3 -c 'import json,sys; g=json.load(sys.stdin)["gpus"]; assert len(g)==1 and g[0]["slug"]=="h800-sxm" and g[0]["figures"]["link_gbs_practical"]["value"]==160' &&
    ok || no "specs --json --gpu h800-sxm"
else
  "$kb" list --json --op hbm | grep -q '"name": "hbm"' && ok || no "list --json"
fi
expect 2 "unknown GPU 'a100'" -- specs --json --gpu a100
# --version: kbench, the build's libraries and the runtime
v=$("$kb" --version)
grep -q '^kbench [0-9.]* (git [0-9a-f]*\|unknown)' <<<"$v" && ok || no "--version: first line '$v'"
grep -q '^built with: CUDA [0-9.]*, cuBLAS [0-9.]*, CUPTI API [0-9]*, Google Benchmark ' <<<"$v" && ok || no "--version: built-with line"
grep -q '^running with: CUDA runtime [0-9.]*, driver ' <<<"$v" && ok || no "--version: running-with line"
echo "cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
