"""``lmer`` and ``ols``: lme4-exact linear mixed models and least squares, pandas in and out."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np
import pandas as pd

from . import _data, _parsim

_COEF = ["term", "estimate", "se", "df", "t", "p", "ci_lower", "ci_upper"]


def _coef_frame(native: Any) -> pd.DataFrame:
    return pd.DataFrame(dict(zip(_COEF, native.coef_columns())))


class _Fit:
    """What the fitted models share: the model (for ``refit``), the native result, the table."""

    __slots__ = ("_model", "_native", "_coef", "_values")

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
            self._coef = _coef_frame(self._native)
        return self._coef.copy()

    @property
    def sigma(self) -> float:
        """The residual standard deviation."""
        return self._value("sigma")

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


class LmerResult(_Fit):
    """A linear mixed model fitted by :func:`lmer`. ``print(m)`` shows the lmer-style summary."""

    __slots__ = ()

    @property
    def varcorr(self) -> pd.DataFrame:
        """lme4's ``as.data.frame(VarCorr(m))``: ``grp``, ``var1``, ``var2``, ``vcov`` (variance or
        covariance) and ``sdcor`` (standard deviation or correlation); the residual last."""
        grp, var1, var2, vcov, sdcor = self._native.varcorr_columns()
        return pd.DataFrame({"grp": grp, "var1": var1, "var2": var2, "vcov": vcov, "sdcor": sdcor})

    @property
    def theta(self) -> np.ndarray:
        """lme4's θ: the relative covariance factors' lower triangles, column-major, term by term."""
        return np.asarray(self._value("theta"), dtype=np.float64)

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

    @property
    def criterion(self) -> float:
        """The REML criterion (REML fits) or the deviance (ML fits) at the optimum."""
        return self._value("criterion")

    @property
    def reml(self) -> bool:
        """Whether the fit is by REML (else maximum likelihood)."""
        return self._value("reml")

    @property
    def converged(self) -> bool:
        """Whether the optimizer converged and the gradient check passed."""
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
        """Evaluations of the profiled criterion the optimizer used."""
        return self._value("evaluations")

    @property
    def messages(self) -> List[str]:
        """The fit's notes and warnings (lme4's convergence messages)."""
        return list(self._value("messages"))

    def refit(self, data: Any) -> "LmerResult":
        """The same model fitted to new data of the same columns, reusing this model's workspace
        (no allocation beyond the result once the buffers have grown to the data's size)."""
        return LmerResult(self._model, self._refit(data))


class OlsResult(_Fit):
    """A linear model fitted by :func:`ols`. ``print(m)`` shows the lm-style summary."""

    __slots__ = ()

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


def lmer(formula: str, data: Any, REML: bool = True, level: float = 0.95) -> LmerResult:
    """Fit a linear mixed model as lme4's ``lmer`` does (lmerTest's Satterthwaite df).

    ``formula`` is in lme4's syntax, e.g. ``"Reaction ~ Days + (Days | Subject)"``. ``data`` is a
    pandas or polars DataFrame or a dict of numpy arrays; string, categorical and boolean columns
    are factors (levels sorted as text, the first the reference), integer columns are numbers
    except as grouping factors. Rows with a missing value in a used column are dropped.
    ``level`` is the confidence level of ``coef``'s intervals. Raises :class:`FitError` for a bad
    formula or data that cannot be fitted, with the message ``parsim fit`` gives.
    """
    model = _parsim.Model.lmm(formula, bool(REML), float(level))
    cols, dropped, label = _data.columns(data, model.variables)
    return LmerResult(model, model.fit(cols, label, dropped))


def ols(formula: str, data: Any, cluster: Optional[str] = None, level: float = 0.95) -> OlsResult:
    """Fit a linear model by least squares, as R's ``lm``; with ``cluster`` (a column naming the
    clusters), cluster-robust CR1 standard errors with t on G − 1 df. ``data`` as for
    :func:`lmer`. Raises :class:`FitError` as :func:`lmer` does."""
    model = _parsim.Model.ols(formula, cluster, float(level))
    cols, dropped, label = _data.columns(data, model.variables)
    return OlsResult(model, model.fit(cols, label, dropped))
