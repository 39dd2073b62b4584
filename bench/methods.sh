#!/usr/bin/env bash
# The overhead of a method written in Python (issue 20): the seed study's data sets (5,000 rows, 6 columns)
# with a Python method that returns the mean of `response`, against the same study with the built-in
# equivalent (OLS of `response ~ 1`) and with no method at all. One worker (--jobs 1), so that the figures
# are per call, not shared between cores.
#
#   bench/methods.sh        builds parsim in release if needed, runs each study RUNS times (default 5)
#
# Studies: none (data only), builtin, python (np.mean(data["response"])), python-array (the same on
# np.asarray of the column), python-columns (python with columns = ["response"]), and two floors:
# python-constant (analyse returns a constant: the worker's own cost per call, the DataFrame built but
# not read) and echo (a command worker that answers every fit frame with a fixed outcome without
# reading it: the round trip alone, parsim writing the columns into the shared memory included).
# Per-call figures, each the median over the runs, and the range of the fit time:
#   fit time      the mean of the stored `seconds` of the method's fits: parsim encodes the data set,
#                 the worker decodes it, calls analyse(), and parsim reads the estimate back
#   median fit    their median, which the fits slowed down by other processes on a shared host (a few
#                 per cent of them, at several times the usual cost) do not move
#   overhead      (wall time of the study with the method - wall time of the data-only study) / units:
#                 everything the method adds to a replication, start-up of the worker included
# Environment: RUNS (5), REPLICATIONS (2000), PYTHON (python3; needs numpy), PARSIM (target/release/parsim).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
REPLICATIONS=${REPLICATIONS:-2000}
PYTHON=${PYTHON:-python3}
PARSIM=${PARSIM:-target/release/parsim}
OUT=bench/out/methods
mkdir -p "$OUT"
rm -f "$OUT/runs.txt"
# A path to the interpreter is made absolute (the study file's directory is what it would be relative
# to); its symlink is kept, since a venv's python finds its venv through it.
case "$PYTHON" in */*) PYTHON="$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")" ;; esac
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q --bin parsim

cat >"$OUT/mean.py" <<'EOF'
import numpy as np


def analyse(data, condition, rng):
    return {"mean": float(np.mean(data["response"]))}
EOF

# The same on the column's numpy array: what is left when pandas' own per-call costs (a Series' mean
# checks for missing values, builds a mask, ...) are taken out of the user's function.
cat >"$OUT/mean_array.py" <<'EOF'
import numpy as np


def analyse(data, condition, rng):
    return {"mean": float(np.mean(np.asarray(data["response"])))}
EOF

cat >"$OUT/constant.py" <<'EOF'
def analyse(data, condition, rng):
    return {"mean": 0.0}
EOF

# The floor of an exchange: takes up the shared memory file, so that parsim writes the columns there as
# for the Python worker, and answers each fit frame with the same outcome (docs/methods.md).
cat >"$OUT/echo.py" <<'EOF'
import os, struct

inp, out = os.fdopen(0, "rb"), os.fdopen(1, "wb")


def frame(kind, *parts):
    payload = kind + b"".join(parts)
    return struct.pack("<I", len(payload)) + payload


def text(s):
    return struct.pack("<I", len(s)) + s


def read():
    head = inp.read(4)
    return None if len(head) < 4 else inp.read(struct.unpack("<I", head)[0])


read()
out.write(frame(b"R", text(b"echo"), bytes([1])))
out.flush()
row = text(b"mean") + struct.pack("<B6d", 0, *[0.0] * 6)
outcome = frame(b"O", text(b"ok"), text(b""), struct.pack("<I", 1), row)
while read():
    out.write(outcome)
    out.flush()
EOF

# The seed study's parameters and data program, with one method table (or none).
"$PYTHON" - "$OUT" "$REPLICATIONS" "$PYTHON" <<'EOF'
import sys
out, replications, python = sys.argv[1], sys.argv[2], sys.argv[3]
src = open("examples/seed-study.toml").read()
head = src[: src.index("[methods.")].replace("replications = 500", f"replications = {replications}")
methods = {
    "none": "",
    "builtin": '[methods.mean]\nmodel = "ols"\nformula = "response ~ 1"\n',
    "python": f'[methods.mean]\nmodel = "python"\nfile = "mean.py"\npython = "{python}"\n',
    "python-array": f'[methods.mean]\nmodel = "python"\nfile = "mean_array.py"\npython = "{python}"\n',
    "python-columns": f'[methods.mean]\nmodel = "python"\nfile = "mean.py"\npython = "{python}"\n'
    'columns = ["response"]\n',
    "python-constant": f'[methods.mean]\nmodel = "python"\nfile = "constant.py"\npython = "{python}"\n',
    "echo": f'[methods.mean]\nmodel = "command"\ncommand = ["{python}", "echo.py"]\n',
}
for name, table in methods.items():
    open(f"{out}/{name}.toml", "w").write(head + table)
EOF

for run in $(seq "$RUNS"); do
  for study in none builtin python python-array python-columns python-constant echo; do
    rm -rf "$OUT/results-$study"
    start=$(date +%s.%N)
    "$PARSIM" run "$OUT/$study.toml" --jobs 1 --quiet --out "$OUT/results-$study"
    end=$(date +%s.%N)
    "$PYTHON" - "$OUT/results-$study/results.sqlite" "$study" "$start" "$end" >>"$OUT/runs.txt" <<'EOF'
import sqlite3, sys
db, study, start, end = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
conn = sqlite3.connect(db)
seconds = sorted(s for (s,) in conn.execute("SELECT seconds FROM fits"))
fit = sum(seconds) / len(seconds) if seconds else "nan"
median = seconds[len(seconds) // 2] if seconds else "nan"
units = conn.execute("SELECT count(*) FROM replications").fetchone()[0]
print(study, units, end - start, fit, median)
EOF
  done
done

"$PYTHON" - "$OUT/runs.txt" "$RUNS" <<'EOF'
import statistics, sys
studies = ("none", "builtin", "python", "python-array", "python-columns", "python-constant", "echo")
lines = [l.split() for l in open(sys.argv[1])][-len(studies) * int(sys.argv[2]):]
wall, fit, median, units = {}, {}, {}, {}
for study, n, w, f, m in lines:
    wall.setdefault(study, []).append(float(w))
    fit.setdefault(study, []).append(float(f))
    median.setdefault(study, []).append(float(m))
    units[study] = int(n)
base = statistics.median(wall["none"])
print(f"{'study':<16}{'wall (median)':>15}{'fit time per call':>20}{'median fit':>14}{'overhead per call':>20}")
for study in studies:
    w = statistics.median(wall[study])
    f = statistics.median(fit[study]) * 1e6
    m = statistics.median(median[study]) * 1e6
    over = (w - base) / units[study] * 1e6
    lo, hi = min(fit[study]) * 1e6, max(fit[study]) * 1e6
    mlo, mhi = min(median[study]) * 1e6, max(median[study]) * 1e6
    print(f"{study:<16}{w:>13.3f} s{f:>17.1f} us{m:>11.1f} us{over:>17.1f} us   "
          f"(fit {lo:.0f}-{hi:.0f} us, median {mlo:.0f}-{mhi:.0f} us)")
print(f"({units['none']} data sets of 5,000 rows; medians of {sys.argv[2]} runs; 1 worker)")
EOF
rm -f "$OUT/runs.txt"
