#!/usr/bin/env bash
# ci_script_test.sh DRIVER SRC_DIR - tests scripts/ci-gpu-bench.sh with a fake
# kbench: `run` copies the fixture CSV named by $FAKE_RUN_CSV into --out and
# exits $FAKE_RUN_RC; plot/compare/report go to DRIVER (the real kbench).
set -u
DRIVER=$1
SRC=$2
FX=$SRC/tests/fixtures
T=$(mktemp -d /tmp/kbci.XXXXXX)
trap 'rm -rf "$T"' EXIT
cat > "$T/kbench" <<FAKE
#!/usr/bin/env bash
if [ "\$1" = run ]; then
    out=results
    while [ \$# -gt 0 ]; do [ "\$1" = --out ] && out=\$2; shift; done
    if [ -n "\${FAKE_RUN_CSV:-}" ]; then mkdir -p "\$out/h100-sxm"; cp "\$FAKE_RUN_CSV" "\$out/h100-sxm/20261124T080000Z.csv"; fi
    [ -z "\${FAKE_RUN_CSV:-}" ] && echo "no CUDA device: fake" >&2
    exit \${FAKE_RUN_RC:-0}
fi
exec "$DRIVER" "\$@"
FAKE
chmod +x "$T/kbench"
mkdir -p "$T/baselines"
cp "$FX/cmp_base.csv" "$T/baselines/h100-sxm.csv"
fails=0
check() { # name expected_rc [grep pattern in output]
    local name=$1 want=$2 pat=${3:-}
    local got out
    out=$(bash "$SRC/scripts/ci-gpu-bench.sh" --kbench "$T/kbench" --out "$T/out-$name" --baselines "$T/baselines" 2>&1)
    got=$?
    if [ "$got" != "$want" ]; then echo "FAIL $name: exit $got, want $want"; echo "$out" | tail -20; fails=$((fails+1)); return; fi
    if [ -n "$pat" ] && ! grep -q -- "$pat" <<<"$out"; then echo "FAIL $name: output lacks '$pat'"; echo "$out" | tail -20; fails=$((fails+1)); return; fi
    echo "ok   $name (exit $got)"
}
FAKE_RUN_CSV=$FX/cmp_base.csv FAKE_RUN_RC=0 check same 0 "no regression"
[ -s "$T/out-same/compare.txt" ] || { echo "FAIL same: no compare.txt"; fails=$((fails+1)); }
ls "$T/out-same/plots/"*.png >/dev/null 2>&1 || { echo "FAIL same: no plots"; fails=$((fails+1)); }
FAKE_RUN_CSV=$FX/cmp_new_slow.csv FAKE_RUN_RC=0 check slow 1 "REGRESSION"
FAKE_RUN_CSV=$FX/cmp_new_noise.csv FAKE_RUN_RC=0 check noise 0 "no regression"
FAKE_RUN_CSV=$FX/cmp_new_fail.csv FAKE_RUN_RC=3 check fail 1 "FAIL"
FAKE_RUN_CSV=$FX/cmp_base.csv FAKE_RUN_RC=3 check run_failed_only 1 "kbench run reported failures"
FAKE_RUN_CSV= FAKE_RUN_RC=3 check no_gpu 3 "wrote no CSV"
cp "$FX/cmp_wrong_gpu.csv" "$T/baselines/h100-sxm.csv"
FAKE_RUN_CSV=$FX/cmp_base.csv FAKE_RUN_RC=0 check gpu_mismatch 2 "GPU mismatch"
rm "$T/baselines/h100-sxm.csv"
FAKE_RUN_CSV=$FX/cmp_base.csv FAKE_RUN_RC=0 check no_baseline 0 "no baseline for h100-sxm"
bash "$SRC/scripts/ci-gpu-bench.sh" --bogus >/dev/null 2>&1; rc=$?
[ "$rc" = 2 ] && echo "ok   bad_argument (exit 2)" || { echo "FAIL bad_argument: exit $rc"; fails=$((fails+1)); }
# the workflow file must parse as YAML and call the script (python3-yaml when present)
if python3 -c 'import yaml' 2>/dev/null; then
    python3 - "$SRC/.github/workflows/gpu-bench.yml" <<'PY' || fails=$((fails+1))
import sys, yaml
w = yaml.safe_load(open(sys.argv[1]))
jobs = w["jobs"]; job = next(iter(jobs.values()))
assert "self-hosted" in job["runs-on"], "runs-on must include self-hosted"
runs = " ".join(s.get("run", "") for s in job["steps"])
assert "scripts/ci-gpu-bench.sh" in runs and "cmake --build" in runs, "steps must build and call the script"
assert any("upload-artifact" in s.get("uses", "") for s in job["steps"]), "no artifact upload"
print("ok   workflow yaml")
PY
else
    echo "skip workflow yaml check (python3-yaml missing)"
fi
echo "ci_script_test: $fails failed"
[ "$fails" = 0 ]
