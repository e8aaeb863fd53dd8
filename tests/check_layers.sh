#!/usr/bin/env bash
# Layers point one way: bench -> reference -> kernels; the CSV-reading room
# (bench/report) and the plain-C base (row schema, roofline, GPU table,
# utilities) never see CUDA.  Every quoted include names its layer from the
# repository root.  Prints each violation; exit 1 if any.
# usage: check_layers.sh SRC_DIR
set -uo pipefail
cd "$1" || exit 2
base='bench/(kb_row|kb_io|kb_roofline|kb_specs)\.h'
bad=0
check() { # FILE ALLOWED_REGEX WHY
  local f=$1 allowed=$2 why=$3
  while IFS= read -r inc; do
    [[ $inc =~ ^($allowed)$ ]] && continue
    echo "$f: #include \"$inc\": $why"
    bad=1
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
}
no_cuda() { # FILE WHY
  if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<(cuda|cupti|cublas|nccl)' "$1"; then
    echo "$1: includes a CUDA header: $2"
    bad=1
  fi
}
for f in $(find kernels -name '*.h' -o -name '*.cuh' -o -name '*.c' -o -name '*.cu'); do
  check "$f" 'kernels/.*' "kernels include only kernels/ headers"
done
for f in $(find reference -name '*.h' -o -name '*.c' -o -name '*.cu'); do
  check "$f" '(reference|kernels)/.*' "reference includes only reference/ and kernels/ headers"
done
for f in $(find bench/report -name '*.h' -o -name '*.c'); do
  check "$f" "bench/report/.*|$base" "bench/report reads CSVs only: its own headers and the plain-C base"
  no_cuda "$f" "bench/report never links CUDA"
done
for f in bench/kb_row.[ch] bench/kb_io.[ch] bench/kb_roofline.[ch] bench/kb_specs.[ch]; do
  check "$f" "$base" "the plain-C base includes only itself"
  no_cuda "$f" "the plain-C base is shared with bench/report"
done
for f in $(find bench -name '*.h' -o -name '*.c' -o -name '*.cu' -o -name '*.cc'); do
  check "$f" '(bench|reference|kernels)/.*' "name the layer: \"bench/...\", \"reference/...\" or \"kernels/...\""
done
[ $bad = 0 ] && echo "check_layers: every include points down the layers"
exit $bad
