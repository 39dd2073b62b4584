#!/usr/bin/env python3
"""Reference draws of numpy's Generator.permutation, shuffle, choice and multivariate_normal for
tests/sampling.rs.

Each case is one fresh `np.random.default_rng(seed)` making the listed calls in order; the draws of all
its calls are concatenated on one line: `case;v1 v2 ...` (floats in shortest round-trip form). For
multivariate_normal the line `factor:case;...` holds numpy's factor matrix F (x = mean + z @ F.T), row
major, so that the methods numpy computes with LAPACK (svd, eigh) can be compared column by column.

Run with numpy 2.4.6 (OpenBLAS 0.3.31, Haswell kernels) on x86_64 Linux:
python3 numpy_sampling.py > numpy_sampling.txt
"""
import numpy as np


def show(values):
    return " ".join(repr(float(v)) if isinstance(v, (float, np.floating)) else str(int(v))
                    for v in np.ravel(values))


def case(name, seed, calls):
    rng = np.random.default_rng(seed)
    out = []
    for call in calls:
        out.extend(np.ravel(call(rng)))
    print(f"{name};{show(out)}")


# Permutations and shuffles (random_interval on the buffered 32-bit words).
case("permutation_10", 1, [lambda g: g.permutation(10)])
case("permutation_1", 1, [lambda g: g.permutation(1)])
case("permutation_1000", 2, [lambda g: g.permutation(1000)])
case("permutation_float", 3, [lambda g: g.permutation(np.arange(6) * 1.5)])
case("permutation_after_integers", 4,
     [lambda g: g.integers(0, 5, 3), lambda g: g.permutation(7), lambda g: g.integers(0, 9, 4)])
case("permutation_large_bound", 5, [lambda g: g.permutation(70000)[:50]])

# choice: with replacement (integers, or searchsorted of a cdf), without (Floyd, tail shuffle, p loop).
case("choice_replace", 6, [lambda g: g.choice(5, 20)])
case("choice_replace_array", 6, [lambda g: g.choice(np.array([10, 20, 30]), 8)])
case("choice_replace_p", 7, [lambda g: g.choice(4, 30, p=[0.1, 0.2, 0.3, 0.4])])
case("choice_scalar", 8, [lambda g: np.array([g.choice(9)]), lambda g: np.array([g.choice(9)])])
case("choice_floyd", 9, [lambda g: g.choice(100, 10, replace=False)])
case("choice_floyd_noshuffle", 9, [lambda g: g.choice(100, 10, replace=False, shuffle=False)])
case("choice_floyd_all", 10, [lambda g: g.choice(8, 8, replace=False)])
case("choice_tail", 11, [lambda g: g.choice(20000, 1000, replace=False)[:60]])
case("choice_floyd_big", 12, [lambda g: g.choice(20000, 300, replace=False)[:60]])
case("choice_tail_noshuffle", 13, [lambda g: g.choice(20000, 1000, replace=False, shuffle=False)[:60]])
case("choice_nonreplace_p", 14,
     [lambda g: g.choice(6, 4, replace=False, p=[0.05, 0.4, 0.3, 0.1, 0.1, 0.05])])
case("choice_float_array", 15, [lambda g: g.choice(np.array([0.5, 1.5, 2.5]), 5)])

# multivariate_normal: mean + standard_normal((size, d)) @ F.T.
def spd(seed, d):
    r = np.random.default_rng(1000 + seed)
    a = r.standard_normal((d, d + 2))
    return a @ a.T / (d + 2) + 0.1 * np.eye(d)


MVN = [
    ("mvn2", 20, np.array([1.0, -2.0]), np.array([[1.0, 0.3], [0.3, 0.5]]), 40),
    ("mvn2_corr", 21, np.array([0.0, 0.0]), np.array([[0.25, -0.09], [-0.09, 0.09]]), 40),
    ("mvn3", 22, np.array([0.5, 0.0, -1.0]), spd(3, 3), 30),
    ("mvn4", 23, np.zeros(4), spd(4, 4), 25),
    ("mvn6", 24, np.arange(6.0), spd(6, 6), 20),
]
for name, seed, mean, cov, size in MVN:
    for method in ("cholesky", "svd", "eigh"):
        label = f"{name}_{method}"
        print(f"cov:{label};{show(cov)}")
        print(f"mean:{label};{show(mean)}")
        case(label, seed, [lambda g: g.multivariate_normal(mean, cov, size, method=method)])
        if method == "cholesky":
            factor = np.linalg.cholesky(cov)
        elif method == "svd":
            u, s, vh = np.linalg.svd(cov)
            factor = u * np.sqrt(s)
        else:
            s, u = np.linalg.eigh(cov)
            factor = u * np.sqrt(abs(s))
        print(f"factor:{label};{show(factor)}")
case("mvn_nosize", 25, [lambda g: g.multivariate_normal([1.0, 2.0], [[2.0, 0.5], [0.5, 1.0]], method="cholesky")])
