"""A method that misbehaves in every way a user's method can, chosen by the unit's own stream: the
test knows each unit's bucket from the same stream in Rust."""

import os
import time
import warnings

import numpy as np


class ConvergenceWarning(UserWarning):
    """Named as statsmodels names its warning: the worker recognises the name."""


def analyse(data, condition, rng):
    bucket = int(rng.random() * 6)
    y = np.asarray(data["y"], dtype=float)
    print("bucket", bucket)
    if bucket == 1:
        raise ValueError(f"bucket one ({y.size} rows)")
    if bucket == 2:
        os._exit(3)
    if bucket == 3:
        time.sleep(60)
    if bucket == 4:
        # Not a result, or a number no double holds.
        return "not a result" if condition["mu"] == 0 else {"mean": 10**400}
    if bucket == 5:
        warnings.warn("iteration limit reached", ConvergenceWarning)
    return {"mean": (y.mean(), y.std(ddof=1) / np.sqrt(y.size), y.size - 1)}
