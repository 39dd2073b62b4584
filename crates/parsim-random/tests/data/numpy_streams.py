#!/usr/bin/env python3
"""Records SHA-256 digests of long numpy streams for tests/long_streams.rs.

Each stream is one call `getattr(np.random.default_rng(seed), method)(*args, size=1_000_000)`; the digest
is over the draws' little-endian 8-byte patterns (float64 bits or int64), for the first 100,000 draws
(checked in debug builds) and for all 1,000,000 (checked in release builds). Long streams reach the rare
branches (ziggurat tails, BTPE's Stirling test, PTRS's log-gamma test, Johnk's underflow path) that the
short fixture streams may miss.

Run with numpy 2.4.6 on x86_64 Linux: python3 numpy_streams.py > numpy_streams.csv
"""
import hashlib

import numpy as np

N_SHORT, N_LONG = 100_000, 1_000_000

STREAMS = [
    ("standard_normal", ()),
    ("normal", (1.5, 0.7)),
    ("random", ()),
    ("uniform", (-2.0, 3.0)),
    ("standard_exponential", ()),
    ("exponential", (2.5,)),
    ("integers", (0, 5)),
    ("integers", (-(2**40), 2**40)),
    ("integers", (7, 7 + 2**32)),
    ("integers", (-(2**63), 2**63 - 1)),
    ("integers_closed", (-3, 3)),
    ("integers_closed", (-(2**63), 2**63 - 1)),
    ("binomial", (20, 0.3)),
    ("binomial", (100, 0.4)),
    ("binomial", (1000, 0.3)),
    ("binomial", (100, 0.9)),
    ("binomial", (200, 0.8)),
    ("binomial", (10**9, 0.5)),
    ("poisson", (0.5,)),
    ("poisson", (3.0,)),
    ("poisson", (25.0,)),
    ("poisson", (1e4,)),
    ("poisson", (1e12,)),
    ("gamma", (0.5, 2.0)),
    ("gamma", (3.0, 1.0)),
    ("gamma", (1.0, 2.0)),
    ("gamma", (0.05, 1.0)),
    ("chisquare", (4.0,)),
    ("standard_t", (10.0,)),
    ("lognormal", (0.0, 0.5)),
    ("beta", (0.5, 0.7)),
    ("beta", (2.0, 5.0)),
    ("beta", (0.2, 1.0)),
    ("beta", (1e-5, 1e-5)),
    # Vector parameters, one value per draw, i = 0 .. N-1 (see `vector_params`): the binomial setup cache
    # switches between inversion and BTPE, Poisson between multiplication and PTRS, beta between Johnk
    # and the gamma ratio, and integers between ranges sharing the half-word buffer.
    ("binomial_cycle", ()),
    ("poisson_cycle", ()),
    ("normal_cycle", ()),
    ("beta_cycle", ()),
    ("integers_cycle", ()),
]


def vector_params(method, n):
    """The per-draw parameters of the *_cycle streams; tests/long_streams.rs builds the same ones."""
    i = np.arange(n)
    return {
        "binomial_cycle": lambda rng: rng.binomial(i % 200, 0.3),
        "poisson_cycle": lambda rng: rng.poisson((i % 50) * 0.5),
        "normal_cycle": lambda rng: rng.normal(i % 7, 1.0 + i % 3),
        "beta_cycle": lambda rng: rng.beta(0.5 + (i % 4) * 0.25, 0.75),
        "integers_cycle": lambda rng: rng.integers(-(i % 5), i % 7 + 1),
    }[method]


def draw(rng, method, args, n):
    if method.endswith("_cycle"):
        return vector_params(method, n)(rng)
    if method == "integers_closed":
        return rng.integers(*args, size=n, endpoint=True)
    return getattr(rng, method)(*args, size=n)


def main():
    print("seed,call,sha256_100k,sha256_1m")
    for seed, (method, args) in enumerate(STREAMS, start=1000):
        values = draw(np.random.default_rng(seed), method, args, N_LONG)
        raw = values.astype("<f8" if values.dtype.kind == "f" else "<i8").tobytes()
        short = hashlib.sha256(raw[: 8 * N_SHORT]).hexdigest()
        full = hashlib.sha256(raw).hexdigest()
        call = f"{method}({','.join(repr(a) for a in args)})"
        print(f'{seed},"{call}",{short},{full}')
    print(f"# numpy {np.__version__}")


if __name__ == "__main__":
    main()
