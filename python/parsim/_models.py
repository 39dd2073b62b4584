"""``lmer``, ``ols``, ``glm`` and ``glmer``: lme4-exact (generalised) linear mixed models, least squares
and R's ``glm``, pandas in and out."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Union

import numpy as np
import pandas as pd

from . import _data, _parsim

_T_COEF = ["term", "estimate", "se", "df", "t", "p", "ci_lower", "ci_upper"]
_Z_COEF = ["term", "estimate", "se", "z", "p", "ci_lower", "ci_upper"]

Contrasts = Union[None, str, Mapping[str, str]]


class _Fit:
    """What the fitted models share: the model (for ``refit``), the native result, the table."""

    __slots__ = ("_model", "_native", "_coef", "_values")
    _COLUMNS = _T_COEF

    def __init__(self, model: Any, native: Any) -> None:
        self._model = model
        self._native = native
        self._coef: Optional[pd.DataFrame] = None
        self._values: Optional[Dict[str, Any]] = None

    def _value(self, name: str) -> Any:
        # Read from the native result at the first access: a refit in a loop pays for none of them.
        if self._values is None:
            self._values = self._native.values()
        return self._values[name]

    @property
    def formula(self) -> str:
        """The model's formula, as written."""
        return self._model.formula

    @property
    def coef(self) -> pd.DataFrame:
        """The coefficients: one row per term with ``term``, ``estimate``, ``se``, ``df``, ``t``,
        ``p`` (two-sided), ``ci_lower`` and ``ci_upper`` (at the model's ``level``)."""
        if self._coef is None:
            self._coef = pd.DataFrame(dict(zip(self._COLUMNS, self._native.coef_columns())))
        return self._coef.copy()

    @property
    def nobs(self) -> int:
        """Observations used (after rows with missing values were dropped)."""
        return self._value("nobs")

    @property
    def dropped_rows(self) -> int:
        """Rows dropped because a used column had a missing value."""
        return self._value("dropped_rows")

    @property
    def vcov(self) -> np.ndarray:
        """Covariance matrix of the coefficients (p × p)."""
        v = np.asarray(self._value("vcov"), dtype=np.float64)
        p = int(round(np.sqrt(v.size)))
        return v.reshape((p, p), order="F")

    def summary(self) -> str:
        """The text summary, as ``parsim fit`` prints it."""
        return self._native.summary()

    def __repr__(self) -> str:
        return self.summary()

    def _refit(self, data: Any) -> Any:
        cols, dropped, label = _data.columns(data, self._model.variables)
        return self._model.fit(cols, label, dropped)


class _Likelihood(_Fit):
    """A fit by (restricted) maximum likelihood: its log-likelihood and information criteria."""

    __slots__ = ()

    @property
    def loglik(self) -> float:
        """The log-likelihood (the REML criterion's, for a REML fit, as lme4's ``logLik``)."""
        return self._value("loglik")

    @property
    def aic(self) -> float:
        """Akaike's information criterion."""
        return self._value("aic")

    @property
    def bic(self) -> float:
        """The Bayesian information criterion."""
        return self._value("bic")


class _Mixed(_Likelihood):
    """What mixed models share: variance components, θ, the optimizer's report."""

    __slots__ = ()

    @property
    def varcorr(self) -> pd.DataFrame:
        """lme4's ``as.data.frame(VarCorr(m))``: ``grp``, ``var1``, ``var2``, ``vcov`` (variance or
        covariance) and ``sdcor`` (standard deviation or correlation); a linear model's residual
        last."""
        grp, var1, var2, vcov, sdcor = self._native.varcorr_columns()
        return pd.DataFrame({"grp": grp, "var1": var1, "var2": var2, "vcov": vcov, "sdcor": sdcor})

    @property
    def theta(self) -> np.ndarray:
        """lme4's θ: the relative covariance factors' lower triangles, column-major, term by term."""
        return np.asarray(self._value("theta"), dtype=np.float64)

    @property
    def criterion(self) -> float:
        """The optimised criterion: the REML criterion (REML fits), the deviance (ML fits of a
        linear model) or −2 log-likelihood (glmer)."""
        return self._value("criterion")

    @property
    def converged(self) -> bool:
        """Whether the optimizer converged (and, for lmer, the gradient check passed)."""
        return self._value("converged")

    @property
    def singular(self) -> bool:
        """lme4's ``isSingular``: a variance component is (close to) zero."""
        return self._value("singular")

    @property
    def ngroups(self) -> Dict[str, int]:
        """Levels of each grouping factor."""
        return dict(self._value("ngroups"))

    @property
    def evaluations(self) -> int:
        """Evaluations of the criterion the optimizer used."""
        return self._value("evaluations")

    @property
    def messages(self) -> List[str]:
        """The fit's notes and warnings (lme4's convergence messages)."""
        return list(self._value("messages"))


class LmerResult(_Mixed):
    """A linear mixed model fitted by :func:`lmer`. ``print(m)`` shows the lmer-style summary."""

    __slots__ = ()

    @property
    def sigma(self) -> float:
        """The residual standard deviation."""
        return self._value("sigma")

    @property
    def reml(self) -> bool:
        """Whether the fit is by REML (else maximum likelihood)."""
        return self._value("reml")

    def refit(self, data: Any) -> "LmerResult":
        """The same model fitted to new data of the same columns, reusing this model's workspace
        (no allocation beyond the result once the buffers have grown to the data's size)."""
        return LmerResult(self._model, self._refit(data))


class _Generalised(_Likelihood):
    """What GLMs and GLMMs share: the family, the deviance, z tests."""

    __slots__ = ()
    _COLUMNS = _Z_COEF

    @property
    def coef(self) -> pd.DataFrame:
        """The coefficients: one row per term with ``term``, ``estimate``, ``se``, ``z``, ``p``
        (two-sided, normal) and the Wald interval ``ci_lower``, ``ci_upper`` (at the model's
        ``level``); an aliased term's values are NaN, as R's ``NA``."""
        return super().coef

    @property
    def family(self) -> str:
        """The family: ``binomial`` or ``poisson``."""
        return self._value("family")

    @property
    def link(self) -> str:
        """The link: ``logit``, ``probit``, ``cloglog`` or ``log``."""
        return self._value("link")

    @property
    def deviance(self) -> float:
        """The deviance (R's ``deviance(m)``: the residual deviance of a GLM, and of a GLMM
        lme4's conditional deviance at the modes of the random effects)."""
        return self._value("deviance")

    @property
    def status(self) -> str:
        """How the fit ended: ``converged``, ``not_converged``, or (a GLM) ``separation`` when the
        maximum-likelihood estimate does not exist (fitted probabilities of 0 or 1, or means of 0)."""
        return self._value("status")


class GlmResult(_Generalised):
    """A generalised linear model fitted by :func:`glm`. ``print(m)`` shows R's ``summary.glm``."""

    __slots__ = ()

    @property
    def null_deviance(self) -> float:
        """The deviance of the intercept-only model."""
        return self._value("null_deviance")

    @property
    def df_residual(self) -> int:
        """Residual degrees of freedom, n − rank."""
        return self._value("df_residual")

    @property
    def df_null(self) -> int:
        """Degrees of freedom of the null deviance."""
        return self._value("df_null")

    @property
    def iterations(self) -> int:
        """Fisher scoring (IRLS) iterations."""
        return self._value("iterations")

    @property
    def converged(self) -> bool:
        """Whether IRLS converged to an estimate that exists (``status == "converged"``)."""
        return self._value("converged")

    @property
    def nclusters(self) -> Optional[int]:
        """Clusters of the cluster-robust standard errors, if any."""
        return self._value("nclusters")

    def refit(self, data: Any) -> "GlmResult":
        """The same model fitted to new data of the same columns, reusing its workspace."""
        return GlmResult(self._model, self._refit(data))


class GlmerResult(_Generalised, _Mixed):
    """A generalised linear mixed model fitted by :func:`glmer`. ``print(m)`` shows glmer's
    summary."""

    __slots__ = ()

    @property
    def nagq(self) -> int:
        """Quadrature points: 1 (Laplace), more (adaptive Gauss-Hermite) or 0."""
        return self._value("nagq")

    def refit(self, data: Any) -> "GlmerResult":
        """The same model fitted to new data of the same columns, reusing its workspace."""
        return GlmerResult(self._model, self._refit(data))


class OlsResult(_Fit):
    """A linear model fitted by :func:`ols`. ``print(m)`` shows the lm-style summary."""

    __slots__ = ()

    @property
    def sigma(self) -> float:
        """The residual standard deviation."""
        return self._value("sigma")

    @property
    def df_residual(self) -> float:
        """Residual degrees of freedom, n − p."""
        return self._value("df_residual")

    @property
    def r_squared(self) -> float:
        """R² (centred when the model has an intercept)."""
        return self._value("r_squared")

    @property
    def nclusters(self) -> Optional[int]:
        """Clusters of the cluster-robust standard errors, if any."""
        return self._value("nclusters")

    def refit(self, data: Any) -> "OlsResult":
        """The same model fitted to new data of the same columns, reusing its workspace."""
        return OlsResult(self._model, self._refit(data))


_DATA_DOC = """``data`` is a pandas or polars DataFrame or a dict of numpy arrays; string, categorical and
    boolean columns are factors (levels sorted as text, the first the reference), integer columns are
    numbers except as grouping factors. Rows with a missing value in a used column (or the weights)
    are dropped. ``weights`` names a column of prior weights (positive). ``contrasts`` codes
    categorical variables as R's ``contrasts =``: ``{"Diet": "contr.sum"}`` (or ``"sum"``,
    ``"treatment"``) per variable, or ``"sum"`` for all of them; treatment contrasts by default.
    ``level`` is the confidence level of ``coef``'s intervals. Raises :class:`FitError` for a bad
    formula or data that cannot be fitted, with the message ``parsim fit`` gives."""


def _fit(model: Any, data: Any) -> Any:
    cols, dropped, label = _data.columns(data, model.variables)
    return model.fit(cols, label, dropped)


def lmer(
    formula: str,
    data: Any,
    REML: bool = True,
    level: float = 0.95,
    weights: Optional[str] = None,
    contrasts: Contrasts = None,
) -> LmerResult:
    """Fit a linear mixed model as lme4's ``lmer`` does (lmerTest's Satterthwaite df).

    ``formula`` is in lme4's syntax, e.g. ``"Reaction ~ Days + (Days | Subject)"``. ``weights``
    gives observation i the residual variance σ²/wᵢ, as lmer's ``weights =``.
    """
    model = _parsim.Model.lmm(formula, bool(REML), float(level), weights, contrasts)
    return LmerResult(model, _fit(model, data))


def ols(
    formula: str,
    data: Any,
    cluster: Optional[str] = None,
    level: float = 0.95,
    weights: Optional[str] = None,
    contrasts: Contrasts = None,
) -> OlsResult:
    """Fit a linear model by least squares, as R's ``lm`` (weighted with ``weights``); with
    ``cluster`` (a column naming the clusters), cluster-robust CR1 standard errors with t on
    G − 1 df."""
    model = _parsim.Model.ols(formula, cluster, float(level), weights, contrasts)
    return OlsResult(model, _fit(model, data))


def glm(
    formula: str,
    data: Any,
    family: str = "binomial",
    link: Optional[str] = None,
    weights: Optional[str] = None,
    cluster: Optional[str] = None,
    contrasts: Contrasts = None,
    level: float = 0.95,
) -> GlmResult:
    """Fit a generalised linear model by IRLS, as R's ``glm``.

    ``family`` is ``"binomial"`` (a 0/1 response, a proportion with ``weights`` as the trials,
    or ``cbind(successes, failures) ~ ...``) or ``"poisson"``; ``link`` is the family's canonical
    link by default (``logit``; ``probit`` and ``cloglog`` for binomial; ``log`` for Poisson). An
    offset is a term of the formula: ``count ~ t + offset(log_exposure)``. With ``cluster``,
    cluster-robust CR1 standard errors (``sandwich::vcovCL(type = "HC1")``). ``m.status`` is
    ``separation`` when the maximum-likelihood estimate does not exist. Raises ``ValueError`` for an
    unknown family or link.
    """
    model = _parsim.Model.glm(formula, family, link, cluster, float(level), weights, contrasts)
    return GlmResult(model, _fit(model, data))


def glmer(
    formula: str,
    data: Any,
    family: str = "binomial",
    link: Optional[str] = None,
    nAGQ: int = 1,
    weights: Optional[str] = None,
    contrasts: Contrasts = None,
    level: float = 0.95,
) -> GlmerResult:
    """Fit a generalised linear mixed model by maximum likelihood, as lme4's ``glmer``.

    ``formula`` has random-effects terms, e.g. ``"cbind(incidence, failures) ~ period + (1 |
    herd)"``; ``family`` and ``link`` as for :func:`glm`. ``nAGQ`` is 1 (Laplace, the default),
    up to 25 (adaptive Gauss-Hermite quadrature, one scalar random effect) or 0 (the fast
    approximation).
    """
    model = _parsim.Model.glmm(formula, family, link, int(nAGQ), float(level), weights, contrasts)
    return GlmerResult(model, _fit(model, data))


for _f in (lmer, ols, glm, glmer):
    _f.__doc__ = (_f.__doc__ or "") + "\n    " + _DATA_DOC + "\n"
del _f
