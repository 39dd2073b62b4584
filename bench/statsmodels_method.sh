#!/usr/bin/env bash
# The blog's own analysis run by parsim (issue 20): statsmodels' MixedLM as a parsim Python method
# (examples/mixedlm.py, the study examples/seed-statsmodels.toml with its one statsmodels method) against
# the blog's script with joblib (bench/seed_blog.py joblib: gen_data + smf.mixedlm per replication,
# joblib.Parallel(n_jobs=-1)). Both fit the same 500 data sets with the same statsmodels on every core;
# what differs is everything around the fit: data generation, process handling, storage.
#
#   bench/statsmodels_method.sh     builds parsim in release if needed, makes a venv with numpy, pandas,
#                                   statsmodels and joblib (bench/out/venv, as bench/run.sh does), and
#                                   times each RUNS times (default 3), alternating
#
# Whole-process wall time each (interpreter start-up and imports included for both), the median and the
# range of the runs; and the blog's printed mean bias of X beside the same mean from parsim's store,
# which must agree: the data sets are the same to the bit.
# Environment: RUNS (3), REPLICATIONS (500), PARSIM (target/release/parsim), VENV (bench/out/venv).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
REPLICATIONS=${REPLICATIONS:-500}
PARSIM=${PARSIM:-target/release/parsim}
VENV=${VENV:-bench/out/venv}
OUT=bench/out/statsmodels
mkdir -p "$OUT"
if ! "$VENV/bin/python" -c 'import numpy, pandas, statsmodels, joblib' 2>/dev/null; then
  python3 -m venv "$VENV" && "$VENV/bin/python" -m pip install -q numpy pandas statsmodels joblib
fi
PY="$(cd "$(dirname "$VENV/bin/python")" && pwd)/python"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q --bin parsim

# The example with only its statsmodels method, the venv's python and the replications asked.
"$PY" - "$OUT/study.toml" "$PY" "$REPLICATIONS" <<'PYEOF'
import os, sys
path, python, replications = sys.argv[1:]
src = open("examples/seed-statsmodels.toml").read()
src = src[: src.index("[methods.random_intercept]")] + src[src.index("[estimands]"):]
src = src.replace('file = "mixedlm.py"', f'file = "{os.path.abspath("examples/mixedlm.py")}"\npython = "{python}"')
src = src.replace("replications = 500", f"replications = {replications}")
open(path, "w").write(src)
PYEOF

: >"$OUT/times.txt"
for run in $(seq "$RUNS"); do
  rm -rf "$OUT/results"
  start=$(date +%s.%N)
  "$PARSIM" run "$OUT/study.toml" --quiet --out "$OUT/results"
  end=$(date +%s.%N)
  echo "parsim $start $end" >>"$OUT/times.txt"
  start=$(date +%s.%N)
  "$PY" bench/seed_blog.py joblib --replications "$REPLICATIONS" >"$OUT/blog.json"
  end=$(date +%s.%N)
  echo "blog $start $end" >>"$OUT/times.txt"
done

"$PY" - "$OUT" <<'PYEOF'
import json, sqlite3, statistics, sys
out = sys.argv[1]
times = {}
for line in open(f"{out}/times.txt"):
    who, start, end = line.split()
    times.setdefault(who, []).append(float(end) - float(start))
conn = sqlite3.connect(f"{out}/results/results.sqlite")
fits = conn.execute("SELECT status, count(*) FROM fits GROUP BY status").fetchall()
(parsim_bias,) = conn.execute(
    "SELECT avg(-0.5 - estimate) FROM estimates WHERE method = 'statsmodels' AND term = 'X'"
).fetchone()
blog = json.load(open(f"{out}/blog.json"))
p, b = statistics.median(times["parsim"]), statistics.median(times["blog"])
print(f"{'':<44}{'median':>9}{'range':>20}")
for who, label in (("parsim", "parsim, statsmodels MixedLM as a method"), ("blog", "the blog's script, joblib(n_jobs=-1)")):
    t = times[who]
    print(f"{label:<44}{statistics.median(t):>8.2f} s{min(t):>10.2f} - {max(t):.2f} s")
print(f"blog / parsim: {b / p:.2f}x  ({blog['replications']} replications, {blog['jobs']} cores, {len(times['parsim'])} runs each, alternating)")
print(f"mean bias of X: parsim {parsim_bias:.15g}, blog {blog['mean_bias']:.15g}; parsim's fits by status: {dict(fits)}")
PYEOF
