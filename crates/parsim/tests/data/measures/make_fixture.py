"""Reference values of every performance measure and its Monte Carlo SE, computed independently with numpy/scipy
straight from Morris, White & Crowther (2019) Table 6, for `tests/measures_fixture.rs`.

Run: python3 make_fixture.py > measures_fixture.json   (numpy 2.x, scipy 1.x; seeded, so reproducible)
"""

import json

import numpy as np
from scipy import stats


def none_if_nan(x):
    x = float(x)
    return None if not np.isfinite(x) else x


def intervals(est, se, df, ci_lo, ci_hi, level):
    """t (df) or normal (df NaN) intervals from the SE; the reported interval where the SE is missing."""
    q = np.where(np.isnan(df), stats.norm.ppf(1 - (1 - level) / 2),
                 stats.t.ppf(1 - (1 - level) / 2, np.where(np.isnan(df), 1.0, df)))
    lo = np.where(np.isnan(se), ci_lo, est - q * se)
    hi = np.where(np.isnan(se), ci_hi, est + q * se)
    return lo, hi


def p_values(est, se, df, p_reported):
    z = np.abs(est / se)
    p = np.where(np.isnan(df), 2 * stats.norm.sf(z), 2 * stats.t.sf(z, np.where(np.isnan(df), 1.0, df)))
    return np.where(np.isnan(se), p_reported, p)


def measures(rows, level, alpha):
    est, se, df, lo_r, hi_r, p_r, truth = (np.array([r[k] for r in rows], dtype=float) for k in
                                          ("estimate", "se", "df", "ci_lower", "ci_upper", "p_value", "truth"))
    failed = int(np.sum(~np.isfinite(est)))
    keep = np.isfinite(est)
    est, se, df, lo_r, hi_r, p_r, truth = (a[keep] for a in (est, se, df, lo_r, hi_r, p_r, truth))
    theta = truth[0]
    n = len(est)
    mean = est.mean()
    out = {"used": n, "failed": failed}
    out["bias"] = (mean - theta, np.sqrt(np.sum((est - mean) ** 2) / (n * (n - 1))))
    if theta != 0:
        rel = (est - theta) / theta
        out["relbias"] = (100 * rel.mean(), 100 * rel.std(ddof=1) / np.sqrt(n))
    else:
        out["relbias"] = (np.nan, np.nan)  # undefined when θ = 0
    empse = est.std(ddof=1)
    out["empse"] = (empse, empse / np.sqrt(2 * (n - 1)))
    err2 = (est - theta) ** 2
    mse = err2.mean()
    mse_mcse = np.sqrt(np.sum((err2 - mse) ** 2) / (n * (n - 1)))
    out["mse"] = (mse, mse_mcse)
    out["rmse"] = (np.sqrt(mse), mse_mcse / (2 * np.sqrt(mse)))
    v = se[~np.isnan(se)] ** 2
    nv = len(v)
    modse = np.sqrt(v.mean())
    out["modelse"] = (modse, np.sqrt(v.var(ddof=1) / (4 * nv * modse ** 2)))
    ratio = modse / empse
    out["relerror"] = (100 * (ratio - 1),
                       100 * ratio * np.sqrt(v.var(ddof=1) / (4 * nv * modse ** 4) + 1 / (2 * (n - 1))))
    lo, hi = intervals(est, se, df, lo_r, hi_r, level)
    has_ci = ~np.isnan(lo)
    lo, hi = lo[has_ci], hi[has_ci]
    nc = len(lo)

    def prop(hits, m):
        c = hits.mean()
        return (100 * c, 100 * np.sqrt(c * (1 - c) / m))

    out["cover"] = prop((lo <= theta) & (theta <= hi), nc)
    out["becover"] = prop((lo <= mean) & (mean <= hi), nc)
    width = hi - lo
    out["width"] = (width.mean(), width.std(ddof=1) / np.sqrt(nc))
    p = p_values(est, se, df, p_r)
    p = p[~np.isnan(p)]
    out["power"] = prop(p <= alpha, len(p))
    return {k: (v if isinstance(v, int) else [none_if_nan(v[0]), none_if_nan(v[1])]) for k, v in out.items()}


def relative_precision(ref, meth):
    ref, meth = np.asarray(ref, dtype=float), np.asarray(meth, dtype=float)
    both = np.isfinite(ref) & np.isfinite(meth)
    a, b = ref[both], meth[both]
    n = len(a)
    ratio2 = (a.std(ddof=1) / b.std(ddof=1)) ** 2
    rho = np.corrcoef(a, b)[0, 1]
    return [100 * (ratio2 - 1), 200 * ratio2 * np.sqrt((1 - rho ** 2) / (n - 1))], n


def make_rows(rng, n, truth, bias, sd, se_mean, df_kind, missing_se=0, failed=0, level=0.95):
    est = truth + bias + sd * rng.standard_normal(n)
    se = se_mean * np.exp(0.2 * rng.standard_normal(n))
    if df_kind == "t":
        df = rng.uniform(3.0, 40.0, n)
    elif df_kind == "fixed":
        df = np.full(n, 17.0)
    else:
        df = np.full(n, np.nan)
    lo, hi = intervals(est, se, df, est, est, level)
    p = p_values(est, se, df, np.full(n, np.nan))
    rows = []
    for i in range(n):
        rows.append({"estimate": est[i], "se": se[i], "df": df[i], "ci_lower": lo[i], "ci_upper": hi[i],
                     "p_value": p[i], "truth": truth})
    for i in rng.choice(n, missing_se, replace=False):
        rows[i]["se"] = np.nan  # the method reported only its interval and p-value
    for i in rng.choice(n, failed, replace=False):
        rows[i]["estimate"] = np.nan
    return rows


def clean(rows):
    return [{k: none_if_nan(v) for k, v in r.items()} for r in rows]


def main():
    rng = np.random.default_rng(20190101)
    cases = []
    specs = [
        # name, n, truth, bias, sd, se_mean, df kind, missing se, failed, level, alpha
        ("t_satterthwaite_like", 60, -0.5, 0.02, 0.10, 0.08, "t", 0, 0, 0.95, 0.05),
        ("normal_small_se", 40, 2.0, -0.1, 0.30, 0.12, "z", 0, 0, 0.95, 0.05),
        ("fixed_df_level_90", 35, 1.0, 0.0, 0.25, 0.25, "fixed", 0, 0, 0.90, 0.10),
        ("missing_se_and_failed", 50, 0.3, 0.05, 0.20, 0.20, "t", 7, 4, 0.95, 0.05),
        ("null_truth_zero", 45, 0.0, 0.0, 0.5, 0.5, "z", 0, 0, 0.95, 0.05),
        ("two_replications", 2, 1.5, 0.0, 0.2, 0.2, "t", 0, 0, 0.95, 0.05),
    ]
    for name, n, truth, bias, sd, se_mean, df_kind, missing_se, failed, level, alpha in specs:
        rows = make_rows(rng, n, truth, bias, sd, se_mean, df_kind, missing_se, failed)
        expected = measures(rows, level, alpha)
        cases.append({"name": name, "level": level, "alpha": alpha, "rows": clean(rows), "expected": expected})

    pairs = []
    for name, n, rho, sd_ref, sd_meth, missing in [("correlated", 80, 0.7, 0.2, 0.15, 5),
                                                   ("weakly_correlated", 50, 0.1, 0.3, 0.35, 0)]:
        z1, z2 = rng.standard_normal(n), rng.standard_normal(n)
        ref = sd_ref * z1
        meth = sd_meth * (rho * z1 + np.sqrt(1 - rho ** 2) * z2)
        ref[rng.choice(n, missing, replace=False)] = np.nan
        meth[rng.choice(n, missing, replace=False)] = np.nan
        expected, used = relative_precision(ref, meth)
        pairs.append({"name": name, "reference": [none_if_nan(x) for x in ref],
                      "method": [none_if_nan(x) for x in meth], "pairs": used, "relprec": expected})
    print(json.dumps({"generator": "make_fixture.py", "numpy": np.__version__, "cases": cases, "pairs": pairs},
                     indent=1))


if __name__ == "__main__":
    main()
