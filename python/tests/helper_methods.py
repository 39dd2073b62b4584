"""Methods for the study tests: top-level functions of an importable file, which parsim's worker
processes import by file and name."""

import time

import numpy as np


def welch(data, condition, rng):
    """Welch's test of the treated-minus-control mean, plus a draw from the unit's own stream (so
    the test sees that each unit's stream does not depend on the workers)."""
    y = np.asarray(data["y"], dtype=float)
    treated = np.asarray(data["treated"]) == 1
    a, b = y[~treated], y[treated]
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    return {"treated": (b.mean() - a.mean(), np.sqrt(va + vb), df), "noise": rng.normal()}


def slow_mean(data, condition, rng):
    """A method slow enough for a run to be interrupted in the middle."""
    time.sleep(0.02)
    return {"treated": (float(np.mean(data["y"])), 1.0)}


def failing(data, condition, rng):
    raise RuntimeError("this method always fails")
