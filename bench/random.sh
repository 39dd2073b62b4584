#!/usr/bin/env bash
# Benchmarks parsim-random against numpy on this machine, both measured in this same run, and prints
# ns per draw (µs per replication) with the speed-up over numpy. numpy: `pip install numpy`; without it
# the numpy columns read n/a. Both sides report the fastest sample (criterion's sample.json; the
# script's fastest repeat): on a shared machine that is the figure least disturbed by other processes.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
cargo bench -p parsim-random --bench draws -- --noplot >&2
numpy_out="$(mktemp)"
trap 'rm -f "$numpy_out"' EXIT
python3 bench/numpy_random.py >"$numpy_out" || echo "(numpy timings unavailable)" >&2
python3 - "$target/criterion" "$numpy_out" <<'PY'
import json, os, sys
crit, numpy_file = sys.argv[1], sys.argv[2]
numpy, version = {}, "n/a"
for line in open(numpy_file):
    if line.startswith("# numpy"):
        version = line.split()[2]
    elif line.strip():
        name, value = line.split()
        numpy[name] = float(value)
# (criterion id, label, unit); one criterion iteration is one draw, one replication, or one seeding.
rows = [("draws/standard_normal", "standard_normal", "ns/draw"),
        ("draws/integers_0_5", "integers(0, 5)", "ns/draw"),
        ("draws/random", "random", "ns/draw"),
        ("draws/exponential", "exponential", "ns/draw"),
        ("draws/binomial_100_0.4", "binomial(100, 0.4)", "ns/draw"),
        ("draws/poisson_25", "poisson(25)", "ns/draw"),
        ("replication/gen_data_n5000", "replication N=5000", "µs"),
        ("replication/default_rng", "default_rng(seed)", "ns")]
print(f"{'benchmark':<22} {'unit':>8} {'parsim':>10} {'numpy ' + version:>14} {'speed-up':>9}")
for key, label, unit in rows:
    path = os.path.join(crit, key, "new", "sample.json")
    if not os.path.exists(path):
        continue
    sample = json.load(open(path))
    ns = min(t / i for t, i in zip(sample["times"], sample["iters"]))
    np_ns = numpy.get(key)
    scale = 1000.0 if unit == "µs" else 1.0
    np_txt = f"{np_ns / scale:.3f}" if np_ns else "n/a"
    ratio = f"{np_ns / ns:.2f}x" if np_ns else "n/a"
    print(f"{label:<22} {unit:>8} {ns / scale:>10.3f} {np_txt:>14} {ratio:>9}")
PY
