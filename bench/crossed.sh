#!/bin/sh
# Issue 18's comparison, in one run: seconds per fit of parsim (the general bench: the library a study
# runs, warm workspace) against glmm and mixedlm (PyPI, in a venv under target/) and lme4 (Debian's
# r-cran-lme4) on the DeBruine & Barr crossed design (replication 0 of examples/crossed-power.toml),
# Penicillin, a nested design and InstEval; then the 200-replication power study: `parsim run` on 2
# workers against a glmm loop over 2 joblib workers (the data sets read beforehand). Prints each
# peer's time and its ratio to parsim's (> 1: parsim is faster).
# Usage: bench/crossed.sh [--mixedlm-insteval]   (mixedlm on InstEval takes minutes: off by default)
set -e
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
data=target/crossed-data
venv=target/crossed-venv
penicillin=tests/data/lme4/data/penicillin.csv
mkdir -p "$data"
cargo build --release -q -p parsim-cli
bench=$(cargo bench -p parsim-lmm --bench general --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1)
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q glmm mixedlm joblib pandas
fi
Rscript -e 'library(lme4)' >/dev/null 2>&1 || { echo "R's lme4 is missing: apt-get install -y r-base-core r-cran-lme4" >&2; exit 1; }
[ -f "$data/rep199.csv" ] || for r in $(seq 0 199); do
  target/release/parsim data examples/crossed-power.toml -r "$r" -o "$data/rep$r.csv"
done
[ -f "$data/insteval.csv" ] || Rscript bench/crossed/data.R "$data"
out=target/crossed-bench.txt
: > "$out"
echo "== per fit (parsim: warm workspace, median of repeated fits)"
PARSIM_BENCH_DATA=$data "$bench" | tee "$out.parsim"
awk '{print "parsim", $1, $2 / 1e6, $10}' "$out.parsim" >> "$out"
"$venv/bin/python" bench/crossed/peers.py "$data" "$penicillin" "$@" | tee -a "$out"
Rscript bench/crossed/lme4_time.R "$data" "$penicillin" | tee -a "$out"
echo "== power study: 200 replications on 2 workers"
rm -rf target/crossed-power-run
start=$(date +%s.%N)
target/release/parsim run examples/crossed-power.toml -j 2 -q -o target/crossed-power-run
end=$(date +%s.%N)
echo "parsim power $(echo "$end - $start" | bc) -" | tee -a "$out"
"$venv/bin/python" bench/crossed/peers.py "$data" "$penicillin" power 2 | tee -a "$out"
echo "== ratios (peer time / parsim time)"
awk '$1 == "parsim" { p[$2] = $3 } $1 != "parsim" { t[$1 " " $2] = $3; c[$1 " " $2] = $2 }
  END { for (k in t) printf "%-20s %10.4f s   parsim %10.4f s   %6.2fx\n", k, t[k], p[c[k]], t[k] / p[c[k]] }' "$out" | sort
