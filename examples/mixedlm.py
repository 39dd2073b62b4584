"""The seed blog's analysis as a parsim method: statsmodels' MixedLM, `response ~ X` with a random
intercept per group (REML, statsmodels' defaults), exactly as the blog fitted each data set. Used by
seed-statsmodels.toml, beside parsim's own random-intercept model (lme4's `response ~ X + (1 | group)`).

A ConvergenceWarning from statsmodels is stored with the fit, which is then marked not converged.
"""

import statsmodels.formula.api as smf


def analyse(data, condition, rng):
    fit = smf.mixedlm("response ~ X", data, groups=data["group"]).fit()
    return [
        {"term": term, "estimate": fit.params[term], "se": fit.bse[term]}
        for term in ("Intercept", "X")
    ]
