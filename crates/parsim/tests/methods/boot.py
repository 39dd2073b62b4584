"""A method that uses everything it is given: the data, the condition and the unit's own stream."""

import numpy as np


def setup():
    # Runs once per worker process; state kept between calls is the method's own business.
    global calls
    calls = 0


def analyse(data, condition, rng):
    global calls
    calls += 1
    # User output goes to standard error; it must not disturb the frames on standard output.
    print("fitting", condition, "call", calls)
    y = np.asarray(data["y"], dtype=float)
    boot = np.array([rng.choice(y, y.size).mean() for _ in range(20)])
    return [
        {"term": "mean", "estimate": y.mean(), "se": boot.std(ddof=1)},
        {
            "term": "shift",
            "estimate": y.mean() - condition["mu"],
            "se": y.std(ddof=1) / np.sqrt(y.size),
            "df": y.size - 1,
        },
        {"term": "draw", "estimate": rng.random()},
    ]
