"""Welch's two-sample t test with numpy alone: the `welch` method of welch-vs-student.toml.

parsim calls analyse(data, condition, rng) once per data set. `data` holds the data set's columns (a
pandas DataFrame, or a dict of numpy arrays when pandas is not installed: both index by name), `condition`
the condition's parameter values, `rng` the unit's own numpy Generator (unused: the test is not random).
"""

import numpy as np


def analyse(data, condition, rng):
    y = np.asarray(data["y"], dtype=float)
    treated = np.asarray(data["treated"]) == 1
    a, b = y[~treated], y[treated]
    # Each group's variance of its mean, from its own sample variance: no equal-variance assumption.
    va = a.var(ddof=1) / a.size
    vb = b.var(ddof=1) / b.size
    se = np.sqrt(va + vb)
    # Welch-Satterthwaite degrees of freedom.
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    # (estimate, se, df): parsim computes the t interval and p-value at the study's level.
    return {"treated": (b.mean() - a.mean(), se, df)}
