#!/usr/bin/env bash
# parsim from Python (issue 21) against statsmodels' MixedLM, mixedlm's lmer (PyPI) and the blog's joblib
# script: per-call fits on seed0 (random intercept, random slope) and the blog's whole study. Prints
# medians, ranges and ratios (bench/python_bench.py says what each figure is).
#
#   bench/python.sh         makes target/bench-python-venv (statsmodels, joblib, mixedlm, maturin) once,
#                           builds the parsim wheel fresh and installs it there, then measures
# Environment: ROUNDS, REPEATS, PEER_REPEATS, RUNS (see bench/python_bench.py).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/bench-python-venv
if ! "$venv/bin/python" -c "import statsmodels, joblib, mixedlm, maturin, pandas" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q statsmodels joblib mixedlm maturin pandas numpy
fi
rm -rf target/bench-python-wheels
(cd python && "../$venv/bin/maturin" build --release --quiet --out ../target/bench-python-wheels)
"$venv/bin/pip" install -q --force-reinstall --no-deps target/bench-python-wheels/parsim-*.whl
exec "$venv/bin/python" bench/python_bench.py
