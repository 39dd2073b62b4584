#!/bin/sh
# Per-function instructions of N criterion evaluations of one case (callgrind, two runs differenced).
# Usage: bench/crossed/cgdiff.sh BENCH_BINARY CASE N
bin=$1; case=$2; n=$3; dir=${TMPDIR:-/tmp}
for c in 0 "$n"; do
  PARSIM_BENCH_CASE=$case PARSIM_BENCH_MODE=evals PARSIM_BENCH_COUNT=$c RAYON_NUM_THREADS=1 \
    valgrind --tool=callgrind --callgrind-out-file="$dir/cg.$c" "$bin" > /dev/null 2>&1
  callgrind_annotate "$dir/cg.$c" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) ([ 0-9.]*%)  \(.*\)$/\1\t\2/p' | tr -d , > "$dir/cg.$c.txt"
done
awk -F'\t' -v n="$n" 'NR==FNR { base[$2] = $1; next } { d = $1 - base[$2]; if (d / n > 2000) printf "%10d  %s\n", d / n, substr($2, 1, 150) }' \
  "$dir/cg.0.txt" "$dir/cg.$n.txt" | sort -rn | head -25
