#!/usr/bin/env bash
# test_files.sh KBENCH [FAKE_WORKER] - how `kbench model --out` writes its file: a device
# node, a FIFO or a symbolic link is never replaced by a regular file; ten
# writers of one path leave one complete run and all exit 0; an empty or
# over-long path is refused (exit 2, one line, nothing written); the whole
# file is fsync'd once, not once per row.  With FAKE_WORKER (no GPU needed):
# `kbench run --out` naming a file or a device is refused (exit 2), untouched.
set -u
kb=$1
fw=${2:-}
pass=0 fail=0
ok() { pass=$((pass+1)); }
no() { fail=$((fail+1)); echo "FAIL: $*"; }
t=$(mktemp -d /tmp/kbfiles.XXXXXX)
trap 'rm -rf "$t"' EXIT
cd "$t" || exit 1
"$kb" model --out ref.csv 2>/dev/null || { echo "FAIL: kbench model"; exit 1; }
rows=$(wc -l <ref.csv)
same() { [ -f "$1" ] && [ ! -L "$1" ] && cmp -s <(cut -d, -f1-23 ref.csv) <(cut -d, -f1-23 "$1"); }

# a FIFO (unprivileged): the reader gets the whole run; it stays a FIFO
mkfifo fifo
timeout 30 cat fifo >from_fifo & reader=$!
timeout 30 "$kb" model --out fifo 2>/dev/null; rc=$?
wait $reader
[ $rc -eq 0 ] && [ -p fifo ] && [ "$(wc -l <from_fifo)" -eq "$rows" ] && ok || no "FIFO --out: rc $rc, $(stat -c %F fifo)"

# a device node (root only): still the same device afterwards
if mknod null c 1 3 2>/dev/null; then
  "$kb" model --out null 2>/dev/null; rc=$?
  [ $rc -eq 0 ] && [ -c null ] && [ "$(stat -c %t,%T null)" = "1,3" ] && ok || no "device --out: rc $rc, $(stat -c %F null)"
else
  echo "note: mknod needs root: the device-node check is skipped"
fi

# a symbolic link (dangling, then to an existing file): followed, the link stays
mkdir sub && ln -s sub/target.csv link.csv
for i in 1 2; do
  "$kb" model --out link.csv 2>/dev/null; rc=$?
  [ $rc -eq 0 ] && [ -L link.csv ] && same sub/target.csv && ok || no "symlink --out ($i): rc $rc"
done

# ten writers of one path: every one exits 0, the file is one complete run
mkdir par
for i in $(seq 10); do ("$kb" model --out par/same.csv 2>/dev/null; echo $? >par.rc.$i) & done
wait
bad=$(cat par.rc.* | grep -vc '^0$')
[ "$bad" -eq 0 ] && ok || no "concurrent writers: $bad of 10 did not exit 0"
same par/same.csv && ok || no "concurrent writers: par/same.csv is not one complete run"
[ "$(ls -A par)" = "same.csv" ] && ok || no "concurrent writers: left $(ls -A par | tr '\n' ' ')"

# empty and over-long paths: exit 2, one line, nothing written anywhere
mkdir clean && cd clean
err=$("$kb" model --out '' 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] && [ "$err" = "kbench model: option '--out' has an empty value (kbench --help)" ] && ok || no "empty --out: rc $rc, '$err'"
long=$(printf 'd%.0s' $(seq 200))/$(printf 'e%.0s' $(seq 200))/$(printf 'f%.0s' $(seq 200))
long=$long/$long/xxxxxx.csv   # 1,216 characters
[ ${#long} -eq 1216 ] || no "test: long path is ${#long} characters"
err=$("$kb" model --out "$long" 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] && grep -q '^kbench model: --out: path of 1216 characters (at most 1024)$' <<<"$err" && ok \
  || no "1216-character --out: rc $rc, '$err'"
[ -z "$(ls -A)" ] && ok || no "refused --out left $(ls -A | head -3 | tr '\n' ' ')"
cd ..

# fsync: once for the whole file (+ once for its folder), not once per row
if command -v strace >/dev/null && strace -f -qq -e trace=none true 2>/dev/null; then
  n=$(strace -f -c -e trace=fsync,fdatasync "$kb" model --out s.csv 2>&1 >/dev/null | awk '$NF ~ /^f(data)?sync$/ {s += $4} END {print s + 0}')
  [ "$n" -ge 1 ] && [ "$n" -le 2 ] && ok || no "fsync count $n for $rows rows (want 1-2)"
else
  echo "note: strace not usable: the fsync count is not checked"
fi

# kbench run writes a folder of files: a regular file or a device as --out is refused
if [ -n "$fw" ]; then
  echo keep >afile
  for o in afile /dev/null; do
    err=$(KBENCH_WORKER=$fw "$kb" run --op hbm --impl v1 --shapes small --out $o 2>&1 >/dev/null); rc=$?
    [ $rc -eq 2 ] && grep -q "^kbench run: --out $o: not a folder" <<<"$err" && ok || no "run --out $o: rc $rc, '$err'"
  done
  [ "$(cat afile)" = keep ] && [ -c /dev/null ] && ok || no "run --out: the file or device was changed"
fi

echo "test_files: $pass passed, $fail failed"
[ $fail -eq 0 ]
