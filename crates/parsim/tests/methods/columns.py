"""Reports what the data set looks like to a method: each column's sum (added in index order, so a
DataFrame's column and a numpy array give the same bits), its dtype, whether data is a DataFrame, and
the order of the columns. Then it overwrites every value, so that a data set that shared memory with
the next one (a reused buffer) would show in the next call's sums."""

import numpy as np


def analyse(data, condition, rng):
    out = {"frame": float(type(data).__name__ == "DataFrame")}
    for i, name in enumerate(data):
        values = np.asarray(data[name])
        out[f"sum_{name}"] = float(np.add.reduce(values.astype(float)))
        out[f"int_{name}"] = float(values.dtype.kind == "i")
        out[f"position_{name}"] = float(i)
        blank = 0 if values.dtype.kind == "i" else np.nan
        if out["frame"]:
            data.loc[:, name] = blank  # in place: pandas writes into the frame's own block
        else:
            values[:] = blank
    return out
