"""parsim: parallel Monte Carlo simulation studies of statistical methods, and lme4-exact linear
mixed models, from Python.

Models::

    m = parsim.lmer("Reaction ~ Days + (Days | Subject)", data=sleepstudy)
    m.coef, m.varcorr, m.sigma, m.theta, m.loglik, m.aic, m.bic, m.converged, m.singular
    print(m)
    m.refit(other_data)

Studies::

    study = parsim.Study("examples/seed-study.toml")
    study.check(); study.data(replication=0)
    res = study.run()
    res.estimates, res.summary(level=0.95), res.fits

See docs/python.md.
"""

from ._parsim import FitError, ParsimError, StudyError, __version__
from ._models import LmerResult, OlsResult, lmer, ols
from ._study import Check, Results, Study, results

__all__ = [
    "Check",
    "FitError",
    "LmerResult",
    "OlsResult",
    "ParsimError",
    "Results",
    "Study",
    "StudyError",
    "__version__",
    "lmer",
    "ols",
    "results",
]
