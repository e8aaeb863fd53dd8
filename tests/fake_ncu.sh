#!/bin/sh
# fake_ncu.sh - stands in for Nsight Compute's CLI in tests/test_counters.c
# (KBENCH_NCU=tests/fake_ncu.sh): writes its arguments, one a line, to
# $FAKE_NCU_ARGS, reports whether fd 3 reached it (a worker's message pipe
# must not), sleeps $FAKE_NCU_SLEEP seconds, prints the recorded ncu output
# $FAKE_NCU_OUT (stdout: where ncu writes its CSV) and exits $FAKE_NCU_RC.
if [ -n "${FAKE_NCU_ARGS:-}" ]; then
  for a in "$@"; do printf '%s\n' "$a"; done >"$FAKE_NCU_ARGS"
  if { true >&3; } 2>/dev/null; then echo "fd3=open" >>"$FAKE_NCU_ARGS"; else echo "fd3=closed" >>"$FAKE_NCU_ARGS"; fi
  echo "LC_ALL=${LC_ALL:-}" >>"$FAKE_NCU_ARGS"
fi
[ -n "${FAKE_NCU_SLEEP:-}" ] && sleep "$FAKE_NCU_SLEEP"
[ -n "${FAKE_NCU_OUT:-}" ] && cat "$FAKE_NCU_OUT"
exit "${FAKE_NCU_RC:-0}"
