"""Seconds per fit of glmm and mixedlm on the cases of bench/crossed.sh, and the power study as a glmm
loop over joblib workers. Prints one line per measurement: `peer case seconds evaluations`.

Usage: python peers.py DATA_DIR PENICILLIN_CSV [power JOBS]
Each case is fitted once to warm up, then timed over repeats (median); grouping columns are strings.
"""

import statistics
import sys
import time
import warnings

import pandas as pd

warnings.simplefilter("ignore")

CASES = {
    "crossed": ("rep0.csv", "rt ~ cond + (1 + cond | subj) + (1 | item)", ["subj", "item"]),
    "penicillin": (None, "diameter ~ 1 + (1 | plate) + (1 | sample)", ["plate", "sample"]),
    "nested": ("nested.csv", "y ~ x + (1 | school/class)", ["school", "class"]),
    "insteval": ("insteval.csv", "y ~ 1 + (1 | s) + (1 | d) + (1 | dept)", ["s", "d", "dept"]),
}
FORMULA = CASES["crossed"][1]


def load(path, groups):
    data = pd.read_csv(path)
    for g in groups:
        data[g] = data[g].astype(str)
    return data


def timed(fit, repeats):
    fit()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fit()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def per_fit(data_dir, penicillin):
    import glmm
    import mixedlm

    for case, (file, formula, groups) in CASES.items():
        data = load(penicillin if file is None else f"{data_dir}/{file}", groups)
        big = case == "insteval"
        peers = {
            "glmm": lambda: glmm.fit(data, formula).n_eval,
            "mixedlm": lambda: mixedlm.lmer(formula, data),
        }
        for peer, fit in peers.items():
            if big and peer == "mixedlm" and "--mixedlm-insteval" not in sys.argv:
                continue
            seconds = timed(fit, 1 if big else 7)
            evaluations = peers["glmm"]() if peer == "glmm" else "-"
            print(f"{peer} {case} {seconds:.6f} {evaluations}", flush=True)


def fit_one(path):
    import glmm

    warnings.simplefilter("ignore")
    return glmm.fit(load(path, ["subj", "item"]), FORMULA).objective


def power(data_dir, jobs):
    from joblib import Parallel, delayed

    paths = [f"{data_dir}/rep{r}.csv" for r in range(200)]
    with Parallel(n_jobs=jobs) as parallel:
        parallel(delayed(fit_one)(p) for p in paths[:jobs])  # start the workers
        start = time.perf_counter()
        parallel(delayed(fit_one)(p) for p in paths)
        print(f"glmm power {time.perf_counter() - start:.6f} -", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[3] == "power":
        power(sys.argv[1], int(sys.argv[4]))
    else:
        per_fit(sys.argv[1], sys.argv[2])
