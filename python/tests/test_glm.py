"""parsim.glm and parsim.glmer against R's glm / sandwich and lme4's glmer fixtures the Rust tests
use (crates/parsim-lmm/tests/data/glmm, glmm_nagq0), and weights= and contrasts= in every model
against `parsim fit --format json` on the same data."""

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import parsim

ROOT = Path(__file__).resolve().parents[2]
GLMM = ROOT / "crates" / "parsim-lmm" / "tests" / "data" / "glmm"
NAGQ0 = ROOT / "crates" / "parsim-lmm" / "tests" / "data" / "glmm_nagq0"
SCHOOLS = ROOT / "tests" / "data" / "lme4_formula" / "data" / "schools.csv"
CBPP = GLMM / "data" / "glm_cbpp_binomial.csv"

# The tolerances of crates/parsim-lmm/tests/glm_fixtures.rs (issue 19's): GLM estimates and SEs
# (model-based and CR1) 1e-5 relative, z 1e-5 and p 1e-4 relative; deviance, null deviance,
# log-likelihood and AIC (sums of ~600 terms computed alike) 1e-8 absolute. Both fits converge to
# ~1e-12 in deviance, so the agreement is far closer than these bounds.
GLM_ESTIMATE, GLM_SE, GLM_P, LIKELIHOOD = 1e-5, 1e-5, 1e-4, 1e-8
# Those of crates/parsim-lmm/tests/glmm_fixtures.rs: the log-likelihood not below lme4's by more
# than 1e-6 (higher is a better optimum); estimates 1e-5 relative or 1e-3 of their SE (where the
# likelihood is flat); SEs 1e-3 relative (lme4's come from a finite-difference Hessian, step
# 1e-4); θ 1e-4 relative (absolute below 1, a singular fit's zero).
LOGLIK_BELOW, GLMM_ESTIMATE, GLMM_ESTIMATE_SE, GLMM_SE, THETA = 1e-6, 1e-5, 1e-3, 1e-3, 1e-4

GLM_CASES = sorted(p.stem for p in GLMM.glob("glm_*.json"))
GLMM_CASES = [(GLMM, p.stem) for p in sorted(GLMM.glob("*.json")) if not p.stem.startswith("glm_")]
GLMM_CASES += [(NAGQ0, p.stem) for p in sorted(NAGQ0.glob("*.json"))]


def read_csv(path: Path, factors=()) -> pd.DataFrame:
    # The same doubles the Rust tests parse: pandas before 3 parses exactly only when asked to.
    exact = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
    data = pd.read_csv(path, **exact)
    for name in factors:
        # The Rust tests' --factor: the column's values as text, levels sorted as text.
        data[name] = data[name].astype(str)
    return data


def load(directory: Path, name: str):
    want = json.loads((directory / f"{name}.json").read_text())
    factors = want.get("factors") or []
    factors = [factors] if isinstance(factors, str) else factors
    return want, read_csv(directory / want["data"], factors)


def test_the_fixture_lists_are_complete():
    # Every GLM and GLMM fixture of the Rust tests is checked here.
    assert GLM_CASES == ["glm_cbpp_binomial", "glm_logit_cr1_seed3", "glm_pois_offset_seed2"]
    assert len(GLMM_CASES) == 9


@pytest.mark.parametrize("name", GLM_CASES)
def test_glm_matches_r(name):
    want, data = load(GLMM, name)
    formula = want["formula"]
    if isinstance(want.get("offset"), str):
        formula += f" + offset({want['offset']})"
    cluster = want["cluster"] if isinstance(want.get("cluster"), str) else None
    fit = parsim.glm(formula, data, family=want["family"], link=want["link"], cluster=cluster)
    assert fit.status == "converged" and fit.converged
    assert fit.nobs == want["nobs"]
    assert (fit.family, fit.link) == (want["family"], want["link"])
    coef = fit.coef
    assert list(coef.columns) == ["term", "estimate", "se", "z", "p", "ci_lower", "ci_upper"]
    assert list(coef["term"]) == [f["name"] for f in want["fixef"]]
    for (_, row), w in zip(coef.iterrows(), want["fixef"]):
        assert math.isclose(row.estimate, w["estimate"], rel_tol=GLM_ESTIMATE), (name, row.term)
        if cluster is not None:
            j = list(coef["term"]).index(row.term)
            assert math.isclose(row.se, want["cluster_se"][j], rel_tol=GLM_SE), (name, row.term)
            assert nclusters_ok(fit)
        else:
            assert math.isclose(row.se, w["se"], rel_tol=GLM_SE), (name, row.term)
            assert math.isclose(row.z, w["z"], rel_tol=GLM_SE), (name, row.term)
            assert math.isclose(row.p, w["p"], rel_tol=GLM_P), (name, row.term)
        # Wald intervals at 95%: estimate ± 1.959964 se.
        assert math.isclose(row.ci_upper - row.estimate, 1.959963984540054 * row.se, rel_tol=1e-12)
    for field, got in [
        ("deviance", fit.deviance),
        ("null_deviance", fit.null_deviance),
        ("logLik", fit.loglik),
        ("AIC", fit.aic),
    ]:
        assert abs(got - want[field]) < LIKELIHOOD, (name, field, got, want[field])
    # The same model on the same data through the reused workspace: the same numbers.
    pd.testing.assert_frame_equal(fit.refit(data).coef, coef)


def nclusters_ok(fit) -> bool:
    return isinstance(fit.nclusters, int) and fit.nclusters > 1


@pytest.mark.parametrize("directory,name", GLMM_CASES, ids=[n for _, n in GLMM_CASES])
def test_glmer_matches_lme4(directory, name):
    want, data = load(directory, name)
    fit = parsim.glmer(want["formula"], data, family=want["family"], link=want["link"], nAGQ=want["nAGQ"])
    assert fit.loglik >= want["logLik"] - LOGLIK_BELOW, (name, fit.loglik, want["logLik"])
    coef = fit.coef
    assert list(coef["term"]) == [f["name"] for f in want["fixef"]]
    for (_, row), w in zip(coef.iterrows(), want["fixef"]):
        d = abs(row.estimate - w["estimate"])
        assert d <= GLMM_ESTIMATE * abs(w["estimate"]) or d <= GLMM_ESTIMATE_SE * w["se"], (name, row.term)
        assert abs(row.se - w["se"]) <= GLMM_SE * w["se"], (name, row.term)
    theta = want["theta"] if isinstance(want["theta"], list) else [want["theta"]]
    assert len(fit.theta) == len(theta)
    for got, w in zip(fit.theta, theta):
        assert abs(got - w) <= THETA * max(abs(w), 1.0), (name, got, w)
    assert fit.singular == want["singular"]
    assert fit.nagq == want["nAGQ"]
    assert fit.status == ("converged" if fit.converged else "not_converged")
    assert fit.criterion == pytest.approx(-2 * fit.loglik, rel=1e-12)
    assert set(fit.varcorr["grp"]) == set(fit.ngroups)
    again = fit.refit(data)
    pd.testing.assert_frame_equal(again.coef, coef)
    assert list(again.theta) == list(fit.theta)


def cli_json(parsim_bin, path, formula, *args):
    out = subprocess.run(
        [parsim_bin, "fit", str(path), "--formula", formula, "--format", "json", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def cli_text(parsim_bin, path, formula, *args):
    out = subprocess.run(
        [parsim_bin, "fit", str(path), "--formula", formula, *args], check=True, capture_output=True, text=True
    ).stdout
    return out.replace(f"   Data: {path}\n", "   Data: pandas DataFrame\n")


def same_fixef(fit, cli, statistic):
    # The same library code on the same doubles (pandas parses the CSV exactly as the CLI): the
    # numbers are equal, bit for bit (serde_json prints doubles round-trip exact).
    coef = fit.coef
    assert list(coef["term"]) == [f["term"] for f in cli["fixef"]]
    for (_, row), c in zip(coef.iterrows(), cli["fixef"]):
        assert row.estimate == c["estimate"] and row.se == c["se"], row.term
        assert getattr(row, statistic) == c[statistic] and row.p == c["p"], row.term


# Each model with prior weights and sum contrasts, as `parsim fit --weights --contrasts`: one case
# per model kind, the contrasts given per variable (a dict, R's names or short ones) and for all.
WEIGHTED = {
    "lmer": (SCHOOLS, (), "y ~ x * a + b + (1 | district/school)", "w", {}, "t"),
    "ols": (SCHOOLS, (), "y ~ (a + b + x)^2 + offset(z) + scale(z)", "w", {}, "t"),
    "glm": (CBPP, ("period",), "I(incidence / size) ~ period", "size", {"family": "binomial"}, "z"),
    "glmer": (CBPP, ("period",), "I(incidence / size) ~ period + (1 | herd)", "size", {"family": "binomial"}, "z"),
}


@pytest.mark.parametrize("kind", list(WEIGHTED))
def test_weights_and_contrasts_equal_the_cli(parsim_bin, kind):
    path, factors, formula, weights, options, statistic = WEIGHTED[kind]
    data = read_csv(path, factors)
    fit_fn = getattr(parsim, kind)
    flags = [a for f in factors for a in ("--factor", f)] + ["--weights", weights, "--contrasts", "sum"]
    if "family" in options:
        flags += ["--family", options["family"]]
    cli = cli_json(parsim_bin, path, formula, *flags)
    fit = fit_fn(formula, data, weights=weights, contrasts="sum", **options)
    same_fixef(fit, cli, statistic)
    assert fit.nobs == cli["nobs"]
    if "loglik" in cli:
        assert fit.loglik == cli["loglik"]
    # Per variable: the same coding named one by one (R's names and the short ones).
    categorical = {"lmer": ["a", "b"], "ols": ["a", "b"], "glm": ["period"], "glmer": ["period"]}[kind]
    named = {v: ("contr.sum" if i % 2 else "sum") for i, v in enumerate(categorical)}
    pd.testing.assert_frame_equal(fit_fn(formula, data, weights=weights, contrasts=named, **options).coef, fit.coef)
    # Sum contrasts name the levels but the last (a1, ...), unlike treatment contrasts.
    plain = fit_fn(formula, data, weights=weights, **options)
    assert list(plain.coef["term"]) != list(fit.coef["term"])
    # print(m) is `parsim fit`'s text, the weights line included.
    text = cli_text(parsim_bin, path, formula, *flags)
    assert str(fit) == text
    assert f"Weights: {weights}\n" in text
    # A refit reuses the workspace with the contrasts resolved at the first fit.
    pd.testing.assert_frame_equal(fit.refit(data).coef, fit.coef)


def test_weights_equal_the_lme4_reference():
    # lme4's own fit of the weighted, sum-coded model (tests/data/lme4_formula, made by make.R).
    want = json.loads((SCHOOLS.parent.parent / "schools_weights_sum.json").read_text())
    fit = parsim.lmer(want["formula"], read_csv(SCHOOLS), weights="w", contrasts=want["contrasts"])
    for (_, row), w in zip(fit.coef.iterrows(), want["fixef"]):
        assert row.term == w["name"]
        # crates/parsim-lmm/tests/common's tolerances: estimates 1e-6, SEs 5e-5, df 1e-3 relative.
        assert math.isclose(row.estimate, w["estimate"], rel_tol=1e-6)
        assert math.isclose(row.se, w["se"], rel_tol=5e-5)
        assert math.isclose(row.df, w["df"], rel_tol=1e-3)


def test_glm_and_glmer_summaries_are_the_cli_text(parsim_bin):
    data = read_csv(CBPP, ["period"])
    for formula in ["cbind(incidence, failures) ~ period", "cbind(incidence, failures) ~ period + (1 | herd)"]:
        kind = parsim.glmer if "|" in formula else parsim.glm
        text = cli_text(parsim_bin, CBPP, formula, "--factor", "period", "--family", "binomial")
        assert str(kind(formula, data, family="binomial")) == text
    text = cli_text(
        parsim_bin, CBPP, "cbind(incidence, failures) ~ period + (1 | herd)",
        "--factor", "period", "--family", "binomial", "--nagq", "9",
    )
    assert str(parsim.glmer("cbind(incidence, failures) ~ period + (1 | herd)", data, nAGQ=9)) == text
    assert "Adaptive Gauss-Hermite Quadrature, nAGQ = 9" in text


def test_proportions_with_weights_are_the_counts_fit():
    # R: glm(incidence/size ~ period, weights = size) is the cbind fit.
    data = read_csv(CBPP, ["period"])
    counts = parsim.glm("cbind(incidence, failures) ~ period", data)
    proportions = parsim.glm("I(incidence / size) ~ period", data, weights="size")
    for a, b in zip(counts.coef["estimate"], proportions.coef["estimate"]):
        assert math.isclose(a, b, rel_tol=1e-10)
    assert abs(counts.loglik - proportions.loglik) < 1e-8


def test_separation_is_its_own_status():
    x = np.arange(40) - 19.5
    fit = parsim.glm("y ~ x", {"x": x, "y": (x > 0).astype(np.float64)})
    assert fit.status == "separation" and not fit.converged
    assert "warning: separation" in str(fit)
    counts = np.where(np.arange(40) % 2 == 1, 0.0, np.arange(40) % 5 + 1.0)
    g = np.array(["a", "b"] * 20)
    assert parsim.glm("count ~ g", {"g": g, "count": counts}, family="poisson").status == "separation"


def test_bad_input_raises_located_errors():
    data = read_csv(CBPP, ["period"])
    with pytest.raises(parsim.FitError) as e:
        parsim.glm("cbind(incidence, failures) ~ period +", data)
    assert str(e.value).startswith("invalid formula: ")
    assert str(e.value).splitlines()[2].strip() == "^"
    with pytest.raises(parsim.FitError, match=r"no column 'incidense' \(did you mean 'incidence'\?\)"):
        parsim.glm("cbind(incidense, failures) ~ period", data)
    with pytest.raises(parsim.FitError, match="random-effects"):
        parsim.glm("cbind(incidence, failures) ~ period + (1 | herd)", data)
    with pytest.raises(parsim.FitError, match="random-effects term"):
        parsim.glmer("cbind(incidence, failures) ~ period", data)
    with pytest.raises(parsim.FitError, match="cbind"):
        parsim.glm("cbind(incidence, failures) ~ period", data, family="poisson")
    # A response outside [0, 1] names its row, as `parsim fit` does.
    with pytest.raises(parsim.FitError, match=r"^dict of arrays: y: row 3: a binomial response must lie in \[0, 1\]"):
        parsim.glm("y ~ x", {"x": np.arange(4.0), "y": np.array([0.0, 1.0, 2.0, 1.0])})
    with pytest.raises(parsim.FitError, match="pandas DataFrame: .*weight"):
        parsim.glm("I(incidence / size) ~ period", data.assign(size=-data["size"]), weights="size")
    with pytest.raises(parsim.FitError, match="no column 'sizes'"):
        parsim.glm("I(incidence / size) ~ period", data, weights="sizes")
    with pytest.raises(ValueError, match="gaussian"):
        parsim.glm("y ~ x", data, family="gaussian")
    with pytest.raises(ValueError, match="identity"):
        parsim.glm("cbind(incidence, failures) ~ period", data, link="identity")
    with pytest.raises(ValueError, match="the coding must be 'sum' or 'treatment'"):
        parsim.glm("cbind(incidence, failures) ~ period", data, contrasts={"period": "helmert"})
    with pytest.raises(TypeError, match="contrasts"):
        parsim.lmer("y ~ x + (1 | g)", data, contrasts=3)
