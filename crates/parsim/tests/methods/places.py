"""Reports each column's length and its values at the first, middle and last rows, then overwrites the
data set, so that one that shared memory with the next (a reused buffer or mapping) would show."""

import numpy as np


def analyse(data, condition, rng):
    out = {}
    for name in list(data):
        values = np.asarray(data[name])
        n = len(values)
        out[f"n_{name}"] = float(n)
        for place, i in (("first", 0), ("middle", n // 2), ("last", n - 1)):
            out[f"{place}_{name}"] = float(values[i])
        if type(data).__name__ == "DataFrame":
            data.loc[:, name] = -1
        else:
            values[:] = -1
    return out
