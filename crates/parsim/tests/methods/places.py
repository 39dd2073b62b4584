"""Reports each column's length and its values at the first, middle and last rows, then overwrites the
data set and reshapes a DataFrame (its column index renamed, a column inserted and one dropped), so
that a data set that shared memory or pandas objects with the next (a reused buffer, mapping, index or
block placement) would show."""

import numpy as np


def analyse(data, condition, rng):
    if type(data).__name__ == "DataFrame" and data.columns.name is not None:
        raise ValueError(f"the data set's column index is named {data.columns.name!r}")
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
    if type(data).__name__ == "DataFrame":
        data.columns.name = "renamed"
        data.insert(0, "inserted", -1.0)
        del data[data.columns[1]]
    return out
