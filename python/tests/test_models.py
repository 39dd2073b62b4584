"""parsim.lmer and parsim.ols against the lme4 reference fits the Rust tests use, and their data
handling (pandas, polars, dicts, factors, missing values, refit, errors)."""

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import parsim

ROOT = Path(__file__).resolve().parents[2]
LME4 = ROOT / "tests" / "data" / "lme4"
TIGHT = ROOT / "tests" / "data" / "lme4_tight"
FRAGILE = ROOT / "tests" / "data" / "lme4_fragile"

# The tolerances of crates/parsim-lmm/tests/common: relative for estimates (1e-6), for scales (SEs,
# θ, σ, variance components: 5e-5) and for Satterthwaite df (1e-3 on tests/data/lme4, 1e-4 on the
# fragile cases); 1e-6 absolute for a quantity that is zero. The criterion may not be more than 1e-6
# above lme4's optimum.
ESTIMATE, SCALE, ZERO = 1e-6, 5e-5, 1e-6
DF_FIXTURES, DF_FRAGILE = 1e-3, 1e-4

# The fragile cases the Rust tests check (crates/parsim-lmm/tests/lme4_fragile.rs; the others are
# open issues there, ignored).
FRAGILE_CASES = ["large_theta", "near_zero_theta", "boundary_slope"]


def read_data(path: Path) -> pd.DataFrame:
    # The same doubles the Rust tests parse: pandas before 3 parses exactly only when asked to.
    exact = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
    return pd.read_csv(path, **exact)


def within(got, want, relative):
    if want == 0:
        return abs(got) <= ZERO
    return abs(got - want) <= relative * abs(want)


def compare(name, fit, want, df_tolerance):
    def expect(what, got, w, relative):
        assert within(got, w, relative), f"{name}: {what}: got {got}, lme4 {w}"

    coef = fit.coef
    assert list(coef["term"]) == [f["name"] for f in want["fixef"]]
    for (_, row), w in zip(coef.iterrows(), want["fixef"]):
        expect(f"estimate {row.term}", row.estimate, w["estimate"], ESTIMATE)
        expect(f"se {row.term}", row.se, w["se"], SCALE)
        expect(f"df {row.term}", row.df, w["df"], df_tolerance)
        assert math.isclose(row.t, row.estimate / row.se, rel_tol=1e-12)
    theta = want["theta"] if isinstance(want["theta"], list) else [want["theta"]]
    assert len(fit.theta) == len(theta)
    for i, (got, w) in enumerate(zip(fit.theta, theta)):
        expect(f"theta[{i}]", got, w, SCALE)
    expect("sigma", fit.sigma, want["sigma"], SCALE)
    vc = fit.varcorr
    assert len(vc) == len(want["varcorr"])
    for (_, ours), w in zip(vc.iterrows(), want["varcorr"]):
        assert ours.grp == w["grp"]
        assert (ours.var1 if isinstance(ours.var1, str) else None) == w["var1"]
        assert (ours.var2 if isinstance(ours.var2, str) else None) == w["var2"]
        expect(f"vcov {ours.grp} {ours.var1} {ours.var2}", ours.vcov, w["vcov"], SCALE)
        expect(f"sdcor {ours.grp} {ours.var1} {ours.var2}", ours.sdcor, w["sdcor"], SCALE)
    assert fit.singular == want["singular"]


def fixture_cases():
    return sorted(p.stem for p in LME4.glob("*.json"))


@pytest.mark.parametrize("name", fixture_cases())
def test_lmer_matches_lme4_fixture(name):
    fixture = json.loads((LME4 / f"{name}.json").read_text())
    tight = TIGHT / f"{name}.json"
    # lme4's optimum: the tight refit where the fixture stopped short of it (see the Rust test).
    optimum = json.loads(tight.read_text()) if tight.exists() else fixture
    data = read_data(LME4 / fixture["data"])
    fit = parsim.lmer(fixture["formula"], data, REML=fixture["REML"])
    criterion = optimum["REMLcrit"] if fixture["REML"] else optimum["deviance"]
    assert fit.criterion <= criterion + 1e-6
    assert fit.converged, fit.messages
    assert fit.nobs == optimum["nobs"]
    assert fit.ngroups == optimum["ngroups"]
    for field, got in [("logLik", fit.loglik), ("AIC", fit.aic), ("BIC", fit.bic)]:
        assert abs(got - optimum[field]) < 1e-6, field
    compare(name, fit, optimum, DF_FIXTURES)


@pytest.mark.parametrize("name", FRAGILE_CASES)
def test_lmer_matches_lme4_fragile(name):
    want = json.loads((FRAGILE / f"{name}.json").read_text())
    fit = parsim.lmer(want["formula"], read_data(FRAGILE / want["data"]))
    assert fit.criterion <= want["REMLcrit"] + 1e-6
    compare(name, fit, want, DF_FRAGILE)


def test_summary_is_the_cli_text(parsim_bin):
    """print(m) is `parsim fit`'s text, but for the data's name."""
    path = LME4 / "data" / "sleepstudy.csv"
    formula = "Reaction ~ Days + (Days | Subject)"
    cli = subprocess.run(
        [parsim_bin, "fit", str(path), "--formula", formula, "--ml"],
        check=True, capture_output=True, text=True,
    ).stdout
    ours = repr(parsim.lmer(formula, read_data(path), REML=False))
    assert ours == cli.replace(f"   Data: {path}\n", "   Data: pandas DataFrame\n")
    cli = subprocess.run(
        [parsim_bin, "fit", str(path), "--formula", "Reaction ~ Days"],
        check=True, capture_output=True, text=True,
    ).stdout
    ours = str(parsim.ols("Reaction ~ Days", read_data(path)))
    assert ours == cli.replace(f"   Data: {path}\n", "   Data: pandas DataFrame\n")


def seed0():
    return read_data(LME4 / "data" / "seed0.csv")


def test_dict_polars_and_pandas_give_the_same_fit():
    data = seed0()
    formula = "response ~ X + (1 + X | group)"
    want = parsim.lmer(formula, data)
    as_dict = parsim.lmer(formula, {k: data[k].to_numpy() for k in data.columns})
    pd.testing.assert_frame_equal(as_dict.coef, want.coef)
    assert list(as_dict.theta) == list(want.theta)
    pl = pytest.importorskip("polars")
    as_polars = parsim.lmer(formula, pl.from_pandas(data))
    pd.testing.assert_frame_equal(as_polars.coef, want.coef)


def test_refit_equals_a_fresh_fit():
    a = seed0()
    b = read_data(LME4 / "data" / "seed1.csv")
    m = parsim.lmer("response ~ X + (1 | group)", a)
    refit = m.refit(b)
    fresh = parsim.lmer("response ~ X + (1 | group)", b)
    pd.testing.assert_frame_equal(refit.coef, fresh.coef)
    assert refit.sigma == fresh.sigma and list(refit.theta) == list(fresh.theta)
    # The first result is unchanged by the refit.
    pd.testing.assert_frame_equal(m.coef, parsim.lmer("response ~ X + (1 | group)", a).coef)
    o = parsim.ols("response ~ X", a, cluster="group")
    pd.testing.assert_frame_equal(o.refit(b).coef, parsim.ols("response ~ X", b, cluster="group").coef)
    assert o.nclusters == 5


def test_string_and_categorical_columns_are_factors():
    data = read_data(LME4 / "data" / "dyestuff.csv")
    want = parsim.lmer("Yield ~ 1 + (1 | Batch)", data)
    for column in (data["Batch"].astype("category"), data["Batch"].astype("string")):
        got = parsim.lmer("Yield ~ 1 + (1 | Batch)", data.assign(Batch=column))
        pd.testing.assert_frame_equal(got.coef, want.coef)
    # Integer codes of a grouping factor are a factor too.
    codes = data.assign(Batch=data["Batch"].astype("category").cat.codes.astype("int64"))
    pd.testing.assert_frame_equal(parsim.lmer("Yield ~ 1 + (1 | Batch)", codes).coef, want.coef)
    # A string fixed effect gets R's treatment contrasts, named as R names them.
    sleep = read_data(LME4 / "data" / "sleepstudy.csv")
    sleep["late"] = np.where(sleep["Days"] >= 5, "yes", "no")
    assert list(parsim.ols("Reaction ~ late", sleep).coef["term"]) == ["(Intercept)", "lateyes"]
    sleep["flag"] = sleep["Days"] >= 5
    assert list(parsim.ols("Reaction ~ flag", sleep).coef["term"]) == ["(Intercept)", "flagTRUE"]


def test_rows_with_missing_values_are_dropped():
    data = seed0()
    complete = parsim.lmer("response ~ X + (1 | group)", data.iloc[3:])
    holes = data.copy()
    holes.loc[0, "X"] = np.nan
    holes.loc[1, "response"] = np.nan
    holes["group"] = holes["group"].astype("Int64")
    holes.loc[2, "group"] = pd.NA
    fit = parsim.lmer("response ~ X + (1 | group)", holes)
    assert fit.dropped_rows == 3 and fit.nobs == len(data) - 3
    pd.testing.assert_frame_equal(fit.coef, complete.coef)
    assert "(3 rows with missing values dropped)" in repr(fit)


def test_confidence_level():
    data = seed0()
    fit = parsim.lmer("response ~ X + (1 | group)", data, level=0.9)
    wide = parsim.lmer("response ~ X + (1 | group)", data)
    assert (fit.coef["ci_upper"] - fit.coef["ci_lower"] < wide.coef["ci_upper"] - wide.coef["ci_lower"]).all()
    with pytest.raises(ValueError, match="level must be between 0 and 1"):
        parsim.lmer("response ~ X + (1 | group)", data, level=95)


def test_bad_formula_raises_fit_error_with_a_caret():
    with pytest.raises(parsim.FitError) as e:
        parsim.lmer("response ~ X + (1 | )", seed0())
    assert str(e.value).startswith("invalid formula: ")
    assert str(e.value).splitlines()[1:] == ["  response ~ X + (1 | )", "                      ^"]


def test_unknown_column_raises_fit_error_with_a_suggestion():
    with pytest.raises(parsim.FitError, match=r"no column 'respons' \(did you mean 'response'\?\); the columns are: "):
        parsim.lmer("respons ~ X + (1 | group)", seed0())


def test_data_that_cannot_be_fitted_raise_fit_error():
    data = seed0()
    with pytest.raises(parsim.FitError, match="no random-effects term"):
        parsim.lmer("response ~ X", data)
    with pytest.raises(parsim.FitError, match="random-effects terms"):
        parsim.ols("response ~ X + (1 | group)", data)
    one = data.assign(group=0)
    with pytest.raises(parsim.FitError, match="pandas DataFrame: grouping factor 'group' has only one level"):
        parsim.lmer("response ~ X + (1 | group)", one)
    with pytest.raises(parsim.FitError, match="no rows without missing values"):
        parsim.lmer("response ~ X + (1 | group)", data.assign(X=np.nan))
    with pytest.raises(parsim.FitError, match="non-finite"):
        parsim.lmer("response ~ X + (1 | group)", data.assign(X=np.inf))
    with pytest.raises(TypeError, match="data must be a pandas or polars DataFrame or a dict"):
        parsim.lmer("response ~ X + (1 | group)", [1, 2, 3])
    assert issubclass(parsim.FitError, parsim.ParsimError)


def test_nullable_and_polars_missing_values_are_dropped():
    data = seed0()
    complete = parsim.lmer("response ~ X + (1 | group)", data.iloc[2:])
    nullable = data.astype({"X": "Float64"})
    nullable.loc[0, "X"] = pd.NA
    nullable.loc[1, "response"] = np.nan
    fit = parsim.lmer("response ~ X + (1 | group)", nullable)
    assert fit.dropped_rows == 2
    pd.testing.assert_frame_equal(fit.coef, complete.coef)
    pl = pytest.importorskip("polars")
    frame = pl.from_pandas(data).with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col("X")).alias("X"),
        pl.when(pl.int_range(pl.len()) == 1).then(None).otherwise(pl.col("group")).alias("group"),
    )
    fit = parsim.lmer("response ~ X + (1 | group)", frame)
    assert fit.dropped_rows == 2
    pd.testing.assert_frame_equal(fit.coef, complete.coef)


def test_text_factor_with_missing_values():
    data = read_data(LME4 / "data" / "dyestuff.csv")
    want = parsim.lmer("Yield ~ 1 + (1 | Batch)", data.iloc[1:])
    holes = data.astype({"Batch": object})
    holes.loc[0, "Batch"] = None
    got = parsim.lmer("Yield ~ 1 + (1 | Batch)", holes)
    assert got.dropped_rows == 1
    pd.testing.assert_frame_equal(got.coef, want.coef)
