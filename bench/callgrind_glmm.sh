#!/bin/sh
# Instructions per warm GLMM fit (Laplace) on issue 19's data sets under callgrind: the glmm bench
# with PARSIM_BENCH_FITS=N+1 minus N=1 (setup and the first fit cancel), divided by N.
# Usage: bench/callgrind_glmm.sh [CASE...]   (cases: cbpp crt verbagg; default all; N=10, verbagg 2)
set -e
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
bin=$(cargo bench -p parsim-lmm --bench glmm --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1)
cases=${*:-cbpp crt verbagg}
for case in $cases; do
  n=10; [ "$case" = verbagg ] && n=2
  count() {
    PARSIM_BENCH_FITS=$1 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$case" 2>&1 |
      sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | tail -1
  }
  few=$(count 1); many=$(count $((n + 1)))
  echo "$case $(( (many - few) / n )) instructions per fit"
done
