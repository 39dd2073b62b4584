#!/usr/bin/env python3
"""parsim from Python against the Python packages a user would otherwise reach for (run by
bench/python.sh, which makes the venv and installs the freshly built parsim wheel into it).

1. One fit per call on seed0 (the seed's replication 0: 5,000 rows, 5 groups), a random intercept
   (RI: response ~ X + (1 | group)) and a random slope (RS: response ~ X + (1 + X | group)), REML:
   - parsim native: the same fit in Rust alone, timed inside the extension (no conversion, no result
     object): the baseline of what a call from Python adds;
   - parsim.lmer(...) (a new model per call), m.refit(df) (the model's workspace reused), with a
     pandas DataFrame and with a dict of numpy arrays;
   - statsmodels MixedLM (smf.mixedlm(..., groups=df["group"], re_formula=...).fit(), the blog's call);
   - mixedlm's lmer (PyPI `mixedlm`, Rust-backed).
   parsim's native and Python timings alternate, ROUNDS rounds of REPEATS calls each: medians and
   ranges over the rounds. The overhead of a Python call is its median minus native's median.
2. The blog's study: parsim.Study("examples/seed-study-blog.toml").run() (500 replications, every
   core) against bench/seed_blog.py joblib (the blog's joblib script, every core), RUNS alternating runs.

Environment: ROUNDS (9), REPEATS (200), PEER_REPEATS (5), RUNS (3).
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import parsim

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = int(os.environ.get("ROUNDS", 9))
REPEATS = int(os.environ.get("REPEATS", 200))
PEER_REPEATS = int(os.environ.get("PEER_REPEATS", 5))
RUNS = int(os.environ.get("RUNS", 3))

MODELS = {
    "RI": ("response ~ X + (1 | group)", None),
    "RS": ("response ~ X + (1 + X | group)", "~X"),
}


def per_call(f, repeats, clock=time.perf_counter):
    started = clock()
    for _ in range(repeats):
        f()
    return (clock() - started) / repeats


def cpu_per_call(f, repeats):
    """CPU time of this thread per call: parsim fits on the calling thread, so this is robust to a
    loaded host where wall time is not (the overhead figures use it)."""
    return per_call(f, repeats, time.thread_time)


def spread(values, scale=1e6):
    v = sorted(x * scale for x in values)
    return statistics.median(v), v[0], v[-1]


def fmt(m):
    return f"{m[0]:10.1f} µs  ({m[1]:.1f} to {m[2]:.1f})"


def bench_fits():
    study = parsim.Study(ROOT / "examples" / "seed-study.toml")
    df = study.data(replication=0)[["response", "X", "group"]]
    arrays = {k: df[k].to_numpy() for k in df.columns}
    rows = []
    for name, (formula, re_formula) in MODELS.items():
        m = parsim.lmer(formula, df)
        model = m._model
        timings = {k: [] for k in ["native", "refit dict", "refit pandas", "lmer pandas"]}
        cpu = {k: [] for k in timings}
        for _ in range(ROUNDS):
            m.refit(arrays)  # the buffers hold seed0 for the native timing
            calls = {
                "native": (lambda: model._native_fit_seconds(REPEATS), 1, REPEATS),
                "refit dict": (lambda: m.refit(arrays), REPEATS, 1),
                "refit pandas": (lambda: m.refit(df), REPEATS, 1),
                "lmer pandas": (lambda: parsim.lmer(formula, df), max(REPEATS // 4, 1), 1),
            }
            for label, (f, repeats, inner) in calls.items():
                timings[label].append(per_call(f, repeats) / inner)
                cpu[label].append(cpu_per_call(f, repeats) / inner)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import statsmodels.formula.api as smf

            sm = [per_call(lambda: smf.mixedlm("response ~ X", df, groups=df["group"], re_formula=re_formula).fit(), 1)
                  for _ in range(PEER_REPEATS)]
            import mixedlm

            mixedlm.lmer(formula, df)  # warm-up (imports, caches)
            ml = [per_call(lambda: mixedlm.lmer(formula, df), 1) for _ in range(PEER_REPEATS)]
        print(f"\n{name}: {formula} on seed0 (5,000 rows), REML, per call: median (range over rounds)")
        for label, values in timings.items():
            print(f"  parsim {label:<13} {fmt(spread(values))}")
        print(f"  statsmodels MixedLM  {fmt(spread(sm))}")
        print(f"  mixedlm lmer         {fmt(spread(ml))}")
        print("  CPU time of the calling thread per call: median (range)")
        for label, values in cpu.items():
            print(f"  parsim {label:<13} {fmt(spread(values))}")
        for label in ["refit dict", "refit pandas", "lmer pandas"]:
            overhead = [p - n for p, n in zip(cpu[label], cpu["native"])]
            print(f"  Python call adds ({label}): {fmt(spread(overhead))} of CPU to the native fit")
        best_parsim = min(spread(timings["lmer pandas"])[0], spread(timings["refit pandas"])[0])
        fastest_peer = min(spread(sm)[0], spread(ml)[0])
        print(f"  ratio fastest other package / parsim.lmer (pandas, new model): "
              f"{fastest_peer / spread(timings['lmer pandas'])[0]:.0f}x; / refit (pandas): "
              f"{fastest_peer / spread(timings['refit pandas'])[0]:.0f}x")
        rows.append((name, best_parsim, fastest_peer))
    return rows


def bench_study():
    study = parsim.Study(ROOT / "examples" / "seed-study-blog.toml")
    ours, blogs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(RUNS):
            started = time.perf_counter()
            study.run(out=Path(tmp) / f"run{i}", progress=False)
            ours.append(time.perf_counter() - started)
            out = subprocess.run([sys.executable, str(ROOT / "bench" / "seed_blog.py"), "joblib"],
                                 check=True, capture_output=True, text=True).stdout
            blogs.append(json.loads(out.strip().splitlines()[-1])["seconds"])
    o, b = spread(ours, 1), spread(blogs, 1)
    print("\nThe blog's study (500 replications of response ~ X + (1 | group), every core), wall time:")
    print(f"  parsim.Study(...).run()   {o[0]:8.3f} s  ({o[1]:.3f} to {o[2]:.3f})")
    print(f"  blog's joblib script      {b[0]:8.3f} s  ({b[1]:.3f} to {b[2]:.3f})")
    print(f"  ratio joblib / parsim: {b[0] / o[0]:.0f}x")


if __name__ == "__main__":
    print(f"parsim {parsim.__version__}, Python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    bench_fits()
    bench_study()
