#!/usr/bin/env python3
"""The seed's study exactly as the blog wrote it ("Running Parallel Simulation Studies in Python"):
500 data sets from gen_data (default_rng(idx)), each fitted with smf.mixedlm("response ~ X", df,
groups=df["group"]) (REML, statsmodels' defaults), either in the blog's serial loop or with
joblib.Parallel(n_jobs=-1).

Usage: seed_blog.py serial|joblib [--replications R] [--n N]
Prints one JSON line: {"mode", "seconds", "replications", "mean_bias", "jobs"}. The time is the wall time of
the study itself (the blog's loop or its joblib call), as the blog timed it; imports are not included.
"""
import argparse
import json
import os
import time
import warnings

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf


def gen_data(N, params):
    rng = np.random.default_rng(params["seed"])

    X = rng.normal(loc=0.0, scale=1.0, size=N)
    rand_group = rng.integers(low=0, high=params["n_groups"], size=N)

    random_intercept = rng.normal(loc=0.0, scale=params["intercept_sd"], size=params["n_groups"])
    random_slope = rng.normal(loc=0.0, scale=params["slope_sd"], size=params["n_groups"])
    noise = rng.normal(loc=0.0, scale=params["noise_sd"], size=N)

    response = (params["beta0"] + random_intercept[rand_group] +
                (params["beta1"] + random_slope[rand_group]) * X +
                noise)

    return pd.DataFrame({
        "response": response,
        "X": X,
        "group": rand_group,
        "random_intercept": random_intercept[rand_group],
        "random_slope": random_slope[rand_group]
    })


def run_simulation_thread(N, params, idx):
    # statsmodels warns on some fits (ConvergenceWarning); the blog ignored them, and printing 500 of them
    # from the workers would only add terminal time.
    warnings.simplefilter("ignore")
    params["seed"] = idx
    df = gen_data(N, params)
    model = smf.mixedlm("response ~ X", df, groups=df["group"])
    model_fit = model.fit()
    return params["beta1"] - model_fit.params["X"]


def blog_params():
    return {
        "seed": -1,
        "n_groups": 5,
        "beta0": 10,
        "beta1": -0.5,
        "intercept_sd": 1,
        "slope_sd": 0.25,
        "noise_sd": 1,
    }


def serial(N, n_iter):
    params = blog_params()
    bias = np.zeros(n_iter)
    for idx in range(n_iter):
        params["seed"] = idx
        df = gen_data(N, params)
        model = smf.mixedlm("response ~ X", df, groups=df["group"])
        model_fit = model.fit()
        bias[idx] = params["beta1"] - model_fit.params["X"]
    return bias


def parallel(N, n_iter):
    import joblib

    params = blog_params()
    bias = joblib.Parallel(n_jobs=-1)(  # all processors, as the blog did
        joblib.delayed(run_simulation_thread)(N, params, idx) for idx in range(n_iter)
    )
    return np.asarray(bias)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["serial", "joblib"])
    parser.add_argument("--replications", type=int, default=500)
    parser.add_argument("--n", type=int, default=5000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    study = serial if args.mode == "serial" else parallel
    start = time.perf_counter()
    bias = study(args.n, args.replications)
    seconds = time.perf_counter() - start
    print(json.dumps({
        "mode": args.mode,
        "seconds": seconds,
        "replications": args.replications,
        "mean_bias": float(np.mean(bias)),
        "jobs": 1 if args.mode == "serial" else os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
