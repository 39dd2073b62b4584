"""Per-fit time of the Python GLMM peers of issue 19 (glmm, mixedlm) on its three data sets:
cbpp, the cluster-randomised trial and VerbAgg, Laplace, warm (one fit first), in-process.
Prints `tool name median min max` lines (milliseconds) for bench/glmm.sh.
Usage: python glmm_peers.py DATA_DIR"""

import statistics
import sys
import time
import warnings

import pandas as pd

data_dir = sys.argv[1]
REPEATS = {"cbpp": 7, "crt": 7, "verbagg": 3}


def load():
    cbpp = pd.read_csv(f"{data_dir}/cbpp_laplace.csv")
    cbpp["period"] = cbpp["period"].astype(str)
    cbpp["herd"] = cbpp["herd"].astype(str)
    crt = pd.read_csv(f"{data_dir}/crt_logit_seed1.csv")
    crt["cluster"] = crt["cluster"].astype(str)
    verb = pd.read_csv(f"{data_dir}/verbagg_crossed.csv")
    return {
        "cbpp": (cbpp, "cbind(incidence, failures) ~ period + (1 | herd)"),
        "crt": (crt, "y ~ trt + x + (1 | cluster)"),
        "verbagg": (verb, "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)"),
    }


def timed(name, fit):
    fit()
    times = []
    for _ in range(REPEATS[name]):
        start = time.perf_counter()
        fit()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), min(times), max(times)


def glmm_fit(data, formula):
    import glmm

    cols = {c: data[c].to_numpy() for c in data.columns}
    return lambda: glmm.fit(cols, formula, family="binomial")


def mixedlm_fit(data, formula):
    import mixedlm
    from mixedlm.families import Binomial

    if formula.startswith("cbind"):
        # mixedlm's formulas have no cbind: a proportion with the trials as weights (R's other form).
        data = data.assign(prop=data.incidence / data["size"])
        formula = formula.replace("cbind(incidence, failures)", "prop")
        return lambda: mixedlm.glmer(formula, data, family=Binomial(), weights=data["size"].to_numpy())
    return lambda: mixedlm.glmer(formula, data, family=Binomial())


def main():
    warnings.simplefilter("ignore")
    cases = load()
    for tool, make in [("glmm", glmm_fit), ("mixedlm", mixedlm_fit)]:
        for name, (data, formula) in cases.items():
            try:
                m, lo, hi = timed(name, make(data, formula))
                print(f"{tool} {name} {m:.4f} {lo:.4f} {hi:.4f}", flush=True)
            except Exception as e:  # a peer that cannot fit a case is reported, not fatal
                print(f"# {tool} {name} failed: {type(e).__name__}: {e}", file=sys.stderr)


main()
