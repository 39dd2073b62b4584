"""Keeps what it is given past its call, in several ways: the data set itself, one column, a numpy view of
a column, and a view held in a reference cycle that only the garbage collector frees. At every call it
reports how many of the objects kept at earlier calls have changed since they were kept, so that a worker
that wrote the next data set over memory a kept object still uses would show; and the first and last
values of each column, so that the data set itself is checked against parsim's."""

import numpy as np

# (object, its values when kept), the last few calls' worth.
kept = []


class Cycle:
    """A view that only the garbage collector frees (a statsmodels model and its results are such)."""

    def __init__(self, values):
        self.values = values
        self.me = self


def values(obj):
    if isinstance(obj, Cycle):
        return obj.values.copy()
    if isinstance(obj, dict):
        return np.concatenate([np.asarray(v, dtype=float) for v in obj.values()])
    return np.array(obj, dtype=float, copy=True)


def analyse(data, condition, rng):
    changed = sum(not np.array_equal(values(obj), before) for obj, before in kept)
    out = {"changed": float(changed), "kept": float(len(kept))}
    for name in ("x", "y"):
        column = np.asarray(data[name])
        out[f"first_{name}"] = float(column[0])
        out[f"last_{name}"] = float(column[-1])
    y = data["y"]
    for obj in (data, y, np.asarray(y)[::3], Cycle(np.asarray(data["x"]))):
        kept.append((obj, values(obj)))
    del kept[:-16]
    return out
