# cli_lib.sh - sourced by the command-line tests (cli.sh, axis_cli.sh,
# claim_cli.sh): pass/fail counting and `expect`.  The caller sets kb (the
# kbench binary) and, for a subcommand's own tests, expect_cmd (e.g. claim).
pass=0 fail=0
ok() { pass=$((pass+1)); }
no() { fail=$((fail+1)); echo "FAIL: $*"; }
# expect CODE PATTERN -- ARGS...: the exit code, and (PATTERN not empty)
# exactly one stderr line, matching PATTERN
expect() {
  local code=$1 pat=$2; shift 3
  local err rc
  err=$("$kb" ${expect_cmd:+"$expect_cmd"} "$@" 2>&1 >/dev/null); rc=$?
  if [ $rc -ne "$code" ]; then no "kbench ${expect_cmd:-}$* -> exit $rc, want $code ($err)"; return; fi
  if ! grep -Eq -- "$pat" <<<"$err"; then no "kbench ${expect_cmd:-}$* -> stderr '$err' lacks /$pat/"; return; fi
  if [ -n "$pat" ] && [ "$(grep -c . <<<"$err")" -ne 1 ]; then no "kbench ${expect_cmd:-}$* -> more than one stderr line: $err"; return; fi
  ok
}
