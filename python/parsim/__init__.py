"""parsim: parallel Monte Carlo simulation studies of statistical methods, and lme4-exact linear and
generalised linear mixed models, from Python.

Models::

    m = parsim.lmer("Reaction ~ Days + (Days | Subject)", data=sleepstudy)
    m.coef, m.varcorr, m.sigma, m.theta, m.loglik, m.aic, m.bic, m.converged, m.singular
    print(m)
    m.refit(other_data)
    g = parsim.glm("y ~ trt + x", data, family="binomial", cluster="cluster")
    gm = parsim.glmer("cbind(incidence, failures) ~ period + (1 | herd)", cbpp, family="binomial")

Studies::

    study = parsim.Study("examples/seed-study.toml")
    study.check(); study.data(replication=0)
    res = study.run()
    res.estimates, res.summary(level=0.95), res.fits

See docs/python.md.
"""

from ._parsim import FitError, ParsimError, StudyError, __version__
from ._models import GlmerResult, GlmResult, LmerResult, OlsResult, glm, glmer, lmer, ols
from ._study import Check, Results, Study, results

__all__ = [
    "Check",
    "FitError",
    "GlmResult",
    "GlmerResult",
    "LmerResult",
    "OlsResult",
    "ParsimError",
    "Results",
    "Study",
    "StudyError",
    "__version__",
    "glm",
    "glmer",
    "lmer",
    "ols",
    "results",
]
