#!/usr/bin/env bash
# House style: short functions in named phases.  No function in bench/ may be
# longer than MAX lines, counted from the first line of its signature to its
# closing brace (functions open with "{" alone in column 0 and close with "}"
# in column 0, as every bench/ file is written).
# usage: check_function_length.sh SRC_DIR [MAX]
set -uo pipefail
cd "$1" || exit 2
max=${2:-80}
out=$(find bench -name '*.c' -o -name '*.cu' -o -name '*.cc' | sort | xargs awk -v max="$max" '
  FNR == 1 { sig = 0; open = 0 }
  /^[A-Za-z_]/ && !open { sig = FNR; name = $0 }
  /^\{/ && !open { open = 1; start = sig ? sig : FNR; next }
  /^\}/ && open {
    open = 0
    n = FNR - start + 1
    if (n > max) { sub(/\(.*/, "", name); printf "%s:%d: %d lines: %s\n", FILENAME, start, n, name }
    sig = 0
  }')
if [ -n "$out" ]; then
  echo "functions in bench/ longer than $max lines (split them into named phases):"
  echo "$out"
  exit 1
fi
echo "check_function_length: every function in bench/ is at most $max lines"
