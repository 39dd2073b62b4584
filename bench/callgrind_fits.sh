#!/bin/sh
# Instructions per warm fit of the fit bench's lmm cases under callgrind: the bench run with
# PARSIM_BENCH_FITS=110 minus the run with 10 (setup cancels), divided by 100.
# Usage: bench/callgrind_fits.sh [BENCH_BINARY]   (default: builds and uses the fit bench)
set -e
bin=$1
if [ -z "$bin" ]; then
  bin=$(cargo bench -p parsim-lmm --bench fit --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1)
fi
for case in seed0_ri seed0_rs sleepstudy penicillin; do
  count() {
    PARSIM_BENCH_FITS=$1 PARSIM_BENCH_CASE=$case valgrind --tool=callgrind \
      --callgrind-out-file=/dev/null "$bin" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | tail -1
  }
  few=$(count 10); many=$(count 110)
  echo "$case $(( (many - few) / 100 )) instructions per fit"
done
