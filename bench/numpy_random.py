#!/usr/bin/env python3
"""Times numpy's Generator on the draws benchmarked by `cargo bench -p parsim-random` (benches/draws.rs).

Prints one line per benchmark, `name ns_per_unit`, where the unit is one draw (arrays of BATCH draws,
as the Rust benchmark fills), or one whole replication of the seed study's gen_data (N = 5000) for
`replication/gen_data_n5000`. Exits with status 2 and a message when numpy is not installed.
"""
import sys
import time

try:
    import numpy as np
except ImportError:
    print("numpy is not installed (pip install numpy)", file=sys.stderr)
    sys.exit(2)

BATCH = 10_000
N_OBS = 5_000
N_GROUPS = 5


def best_ns(fn, loops, repeats=40):
    """Fastest over `repeats` of the mean time of `loops` calls, in ns (the least disturbed by other
    processes on a shared machine; the Rust side reports its fastest sample likewise)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        for _ in range(loops):
            fn()
        times.append((time.perf_counter_ns() - t0) / loops)
    return min(times)


def gen_data(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, N_OBS)
    g = rng.integers(0, N_GROUPS, N_OBS)
    a = rng.normal(0, 1, N_GROUPS)
    b = rng.normal(0, 0.25, N_GROUPS)
    e = rng.normal(0, 1, N_OBS)
    return x, g, a, b, e


def main():
    rng = np.random.default_rng(12345)
    draws = {
        "draws/standard_normal": lambda: rng.standard_normal(BATCH),
        "draws/integers_0_5": lambda: rng.integers(0, 5, BATCH),
        "draws/random": lambda: rng.random(BATCH),
        "draws/exponential": lambda: rng.exponential(1.0, BATCH),
        "draws/binomial_100_0.4": lambda: rng.binomial(100, 0.4, BATCH),
        "draws/poisson_25": lambda: rng.poisson(25.0, BATCH),
    }
    for name, fn in draws.items():
        print(f"{name} {best_ns(fn, 10) / BATCH:.4f}", flush=True)
    seeds = iter(range(1, 10**9))
    print(f"replication/gen_data_n5000 {best_ns(lambda: gen_data(next(seeds)), 20):.1f}", flush=True)
    print(f"replication/default_rng {best_ns(lambda: np.random.default_rng(next(seeds)), 200):.1f}")
    print(f"# numpy {np.__version__}", flush=True)


if __name__ == "__main__":
    main()
