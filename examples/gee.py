"""GEE for a cluster-randomised trial with a binary outcome, with statsmodels: the `gee` and `gee_mancl`
methods of crt-gee.toml.

A binomial GEE with the identity link and an exchangeable working correlation estimates the risk
difference between the arms, the same estimand as the linear probability model it is compared with.
`analyse` uses the usual robust (sandwich) standard error; `analyse_bias_reduced` the Mancl-DeRouen
bias-reduced one, which suits few clusters.
"""

import warnings

import numpy as np
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import DomainWarning


def fit(data, cov_type):
    exog = sm.add_constant(np.asarray(data["treated"], dtype=float))
    with warnings.catch_warnings():
        # The identity link can leave [0, 1]; with these risks it does not, and statsmodels' warning
        # that it might would be stored with every fit. Other warnings are still recorded by parsim.
        warnings.simplefilter("ignore", DomainWarning)
        model = sm.GEE(
            np.asarray(data["y"], dtype=float),
            exog,
            groups=np.asarray(data["cluster"]),
            family=sm.families.Binomial(link=sm.families.links.Identity()),
            cov_struct=sm.cov_struct.Exchangeable(),
        )
        result = model.fit(cov_type=cov_type)
    # (estimate, se): no df, so parsim computes a normal (Wald z) interval and p-value, as GEE reports.
    return {
        "(Intercept)": (result.params[0], result.bse[0]),
        "treated": (result.params[1], result.bse[1]),
    }


def analyse(data, condition, rng):
    return fit(data, "robust")


def analyse_bias_reduced(data, condition, rng):
    return fit(data, "bias_reduced")
