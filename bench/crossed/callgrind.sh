#!/bin/sh
# Instructions per criterion evaluation and per warm fit of the general bench's cases under callgrind:
# the difference of two runs of the bench (setup and the first fit cancel).
# Usage: bench/crossed/callgrind.sh [BENCH_BINARY] [CASES]   (default: builds the general bench; all cases)
set -e
bin=$1
if [ -z "$bin" ]; then
  bin=$(cargo bench -p parsim-lmm --bench general --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1)
fi
cases=${2:-crossed penicillin nested insteval}
count() {
  PARSIM_BENCH_CASE=$1 PARSIM_BENCH_MODE=$2 PARSIM_BENCH_COUNT=$3 RAYON_NUM_THREADS=1 \
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | tail -1
}
for case in $cases; do
  if [ "$case" = insteval ]; then evals=2; fits=1; else evals=20; fits=4; fi
  e0=$(count "$case" evals 0); e1=$(count "$case" evals "$evals")
  f0=$(count "$case" fits 0); f1=$(count "$case" fits "$fits")
  echo "$case $(( (e1 - e0) / evals )) instructions per evaluation, $(( (f1 - f0) / fits )) per warm fit"
done
