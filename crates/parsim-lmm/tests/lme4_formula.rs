//! The formula language against lme4 and lm: every case of `tests/data/lme4_formula` (made by its
//! `make.R` with R 4.2.2, lme4 1.1-31 at tight optimizer tolerances, lmerTest 3.1-3 for the
//! Satterthwaite df, and lm) fitted by parsim-lmm from the same CSV, formula, weights and contrasts.
//!
//! Mixed models, with the tolerances of the lme4 fixture tests: criterion at most 1e-6 above
//! lme4's (its optimum, tight BOBYQA); fixed effects within 1e-6 relative; SEs, θ, σ and variance
//! components within 5e-5 relative (1e-6 absolute for a zero); Satterthwaite df within 1e-4
//! relative; term, group and variance-component names exactly. The criterion at lme4's own θ
//! must equal lme4's to 1e-8 relative: that checks the criterion itself (with the weights'
//! log-determinant and offsets) apart from the optimizer.
//!
//! lm, which has no optimizer in between: estimates, SEs, σ and R² within 1e-8 relative (the
//! normal equations against R's QR on these well-conditioned designs differ by far less), the
//! residual df exactly. With an offset, R² is that of the model for y − offset (see make.R).

use std::collections::BTreeMap;
use std::path::PathBuf;

use parsim_lmm::{
    ColumnRef, Columns, Contrast, DataFrame, Formula, LmmFit, LmmFitter, LmmOptions, OlsFitter,
    OlsOptions,
};
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/lme4_formula")
}

fn read_json(name: &str) -> Value {
    let path = dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

const ESTIMATE: f64 = 1e-6;
const SCALE: f64 = 5e-5;
const DF: f64 = 1e-4;
const ZERO: f64 = 1e-6;
/// lm: normal equations against R's QR, both to rounding on these designs.
const LM: f64 = 1e-8;
/// The criterion at lme4's θ: the same function evaluated twice, to rounding.
const AT_THETA: f64 = 1e-8;

fn check_close(case: &str, what: &str, got: f64, want: f64, relative: f64) {
    let ok = if want == 0.0 {
        got.abs() <= ZERO
    } else {
        (got - want).abs() <= relative * want.abs()
    };
    assert!(
        ok,
        "{case}: {what}: got {got}, R {want} (relative deviation {:.3e} > {relative:e})",
        ((got - want) / want).abs()
    );
}

fn f64s(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().map(|x| x.as_f64().unwrap()).collect(),
        x => vec![x.as_f64().unwrap()],
    }
}

/// The case's data, with its `factors` marked, and its contrasts and weights.
fn inputs(
    want: &Value,
) -> (
    DataFrame,
    Formula,
    BTreeMap<String, Contrast>,
    Option<String>,
) {
    let path = dir().join(want["data"].as_str().unwrap());
    let mut data = DataFrame::read_csv(&path).unwrap();
    for f in want["factors"].as_array().unwrap() {
        data.set_factor(f.as_str().unwrap());
    }
    let mut contrasts = BTreeMap::new();
    if let Some(map) = want["contrasts"].as_object() {
        for (name, kind) in map {
            let kind = match kind.as_str().unwrap() {
                "sum" => Contrast::Sum,
                other => panic!("contrast {other}"),
            };
            contrasts.insert(name.clone(), kind);
        }
    }
    let formula = Formula::parse(want["formula"].as_str().unwrap()).unwrap();
    let weights = want["weights"].as_str().map(String::from);
    (data, formula, contrasts, weights)
}

fn compare_lmm(case: &str, fit: &LmmFit, want: &Value) {
    let fixef = want["fixef"].as_array().unwrap();
    let names: Vec<&str> = fit.coefficients.iter().map(|c| c.term.as_str()).collect();
    let want_names: Vec<&str> = fixef.iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert_eq!(names, want_names, "{case}: term names");
    for (coef, w) in fit.coefficients.iter().zip(fixef) {
        let t = &coef.term;
        check_close(
            case,
            &format!("estimate {t}"),
            coef.estimate,
            w["estimate"].as_f64().unwrap(),
            ESTIMATE,
        );
        check_close(
            case,
            &format!("se {t}"),
            coef.se,
            w["se"].as_f64().unwrap(),
            SCALE,
        );
        check_close(
            case,
            &format!("df {t}"),
            coef.df,
            w["df"].as_f64().unwrap(),
            DF,
        );
    }
    let theta = f64s(&want["theta"]);
    assert_eq!(fit.theta.len(), theta.len(), "{case}: θ length");
    for (i, (&got, &w)) in fit.theta.iter().zip(&theta).enumerate() {
        check_close(case, &format!("theta[{i}]"), got, w, SCALE);
    }
    check_close(
        case,
        "sigma",
        fit.sigma,
        want["sigma"].as_f64().unwrap(),
        SCALE,
    );
    let varcorr = want["varcorr"].as_array().unwrap();
    assert_eq!(fit.varcorr.len(), varcorr.len(), "{case}: varcorr rows");
    for (ours, w) in fit.varcorr.iter().zip(varcorr) {
        assert_eq!(
            ours.group,
            w["grp"].as_str().unwrap(),
            "{case}: varcorr group"
        );
        assert_eq!(ours.term1.as_deref(), w["var1"].as_str(), "{case}: var1");
        assert_eq!(ours.term2.as_deref(), w["var2"].as_str(), "{case}: var2");
        let what = format!("varcorr {} {:?} {:?}", ours.group, ours.term1, ours.term2);
        check_close(
            case,
            &what,
            ours.variance,
            w["vcov"].as_f64().unwrap(),
            SCALE,
        );
        check_close(
            case,
            &what,
            ours.sd_or_cor,
            w["sdcor"].as_f64().unwrap(),
            SCALE,
        );
    }
    let groups = want["ngroups"].as_object().unwrap();
    assert_eq!(fit.ngroups.len(), groups.len(), "{case}: {:?}", fit.ngroups);
    for (g, levels) in groups {
        let ours = fit.ngroups.iter().find(|(n, _)| n == g);
        let ours = ours.unwrap_or_else(|| panic!("{case}: no group {g}: {:?}", fit.ngroups));
        assert_eq!(
            ours.1 as u64,
            levels.as_u64().unwrap(),
            "{case}: levels of {g}"
        );
    }
    assert_eq!(fit.nobs as u64, want["nobs"].as_u64().unwrap());
    assert_eq!(
        fit.singular,
        want["singular"].as_bool().unwrap(),
        "{case}: singular"
    );
}

fn check_lmm(case: &str) {
    let want = read_json(case);
    assert_eq!(want["model"], "lmer");
    let (data, formula, contrasts, weights) = inputs(&want);
    let reml = want["REML"].as_bool().unwrap();
    let options = LmmOptions {
        reml,
        weights,
        contrasts,
        ..LmmOptions::default()
    };
    let mut fitter = LmmFitter::new(&formula, options).unwrap();
    let fit = fitter.fit(&data).unwrap().clone();
    let criterion = want[if reml { "REMLcrit" } else { "deviance" }]
        .as_f64()
        .unwrap();
    eprintln!(
        "{case}: criterion {:.10} vs lme4 {criterion:.10} (ours - lme4 = {:.2e})",
        fit.criterion,
        fit.criterion - criterion
    );
    assert!(
        fit.criterion <= criterion + 1e-6,
        "{case}: criterion {} above lme4's {criterion}",
        fit.criterion
    );
    assert!(fit.converged, "{case}: not converged: {:?}", fit.messages);
    compare_lmm(case, &fit, &want);
    for (what, value) in [("AIC", fit.aic), ("BIC", fit.bic), ("logLik", fit.loglik)] {
        check_close(
            case,
            what,
            value,
            want[what].as_f64().unwrap(),
            1e-8 + 1e-6 / value.abs(),
        );
    }
    let theta = f64s(&want["theta"]);
    let at = fitter.criterion_at(&theta).unwrap();
    check_close(case, "criterion at lme4's θ", at, criterion, AT_THETA);
}

fn check_lm(case: &str) {
    let want = read_json(case);
    assert_eq!(want["model"], "lm");
    let (data, formula, contrasts, weights) = inputs(&want);
    let options = OlsOptions {
        weights,
        contrasts,
        ..OlsOptions::default()
    };
    let mut fitter = OlsFitter::new(&formula, options).unwrap();
    let fit = fitter.fit(&data).unwrap();
    let fixef = want["fixef"].as_array().unwrap();
    let names: Vec<&str> = fit.coefficients.iter().map(|c| c.term.as_str()).collect();
    let want_names: Vec<&str> = fixef.iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert_eq!(names, want_names, "{case}: term names");
    for (coef, w) in fit.coefficients.iter().zip(fixef) {
        let t = &coef.term;
        check_close(
            case,
            &format!("estimate {t}"),
            coef.estimate,
            w["estimate"].as_f64().unwrap(),
            LM,
        );
        check_close(
            case,
            &format!("se {t}"),
            coef.se,
            w["se"].as_f64().unwrap(),
            LM,
        );
        assert_eq!(coef.df, w["df"].as_f64().unwrap(), "{case}: df {t}");
    }
    check_close(
        case,
        "sigma",
        fit.sigma,
        want["sigma"].as_f64().unwrap(),
        LM,
    );
    // With an offset, R 4.2.2's summary.lm takes R² from fitted values that include it; ours is
    // R² of the model for y − offset, which make.R computes from lm's fit beside summary's.
    let r_squared = match want["r_squared_offset_removed"].as_f64() {
        Some(r2) => r2,
        None => want["r_squared"].as_f64().unwrap(),
    };
    check_close(case, "R²", fit.r_squared, r_squared, LM);
    assert_eq!(fit.df_residual, want["df_residual"].as_f64().unwrap());
    assert_eq!(fit.nobs as u64, want["nobs"].as_u64().unwrap());
}

macro_rules! cases {
    ($check:ident: $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $check(stringify!($name));
            }
        )*
    };
}

cases!(check_lmm:
    sleep_i_square,
    sleep_poly_ml,
    sleep_poly_raw,
    sleep_log_response,
    chick_factor_poly,
    chick_scale_log,
    chick_sum_contrasts,
    schools_nested,
    schools_crossing_power,
    schools_removal,
    schools_in_nest,
    schools_offset,
    schools_functions,
    schools_weights_reml,
    schools_weights_ml,
    schools_weights_sum,
    schools_sum_random,
);

cases!(check_lm:
    lm_sleep_poly,
    lm_chick_factor,
    lm_chick_poly_by_factor,
    lm_schools_weights,
    lm_schools_no_intercept,
);

/// Every JSON of the directory is a case above: a new fixture cannot go unchecked.
#[test]
fn every_fixture_is_checked() {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".json").map(String::from)
        })
        .collect();
    names.sort();
    assert_eq!(names.len(), 22, "{names:?}");
}

/// A fitter reused over data sets gives each the fit a new fitter gives it: the model frame's
/// buffers (computed columns, the response less its offset, weights) and the workspace follow
/// the data. Two data sets that differ in y, x, z, pos and w alternate, for the one-factor fast path
/// (computed columns read in place), the general path (two terms), OLS, and weighted fits.
#[test]
fn reused_fitters_follow_the_data() {
    let path = dir().join("data/schools.csv");
    let first = DataFrame::read_csv(&path).unwrap();
    // The second data set: y, x, z, pos and w changed (the factors' levels kept).
    let float = |name: &str| -> Vec<f64> {
        match first.column(name) {
            Some(ColumnRef::Float(v)) => v.to_vec(),
            other => panic!("{name}: {other:?}"),
        }
    };
    let (y, x, z, w) = (float("y"), float("x"), float("z"), float("w"));
    let second = first
        .clone()
        .with_float(
            "y",
            y.iter()
                .zip(&x)
                .map(|(y, x)| 1.3 * y + 0.2 * x * x)
                .collect(),
        )
        .with_float("x", x.iter().map(|x| x + 0.1).collect())
        .with_float("z", z.iter().rev().copied().collect())
        .with_float("pos", y.iter().map(|y| (0.3 * y).exp()).collect())
        .with_float("w", w.iter().rev().copied().collect());
    let lmm_cases = [
        ("y ~ poly(x, 2) + offset(z) + (scale(x) | district)", None),
        ("log(pos) ~ I(x^2) + a + (1 | district/school)", None),
        ("y ~ x + offset(z) + (1 | district)", Some("w")),
    ];
    for (formula, weights) in lmm_cases {
        let formula = Formula::parse(formula).unwrap();
        let options = LmmOptions {
            weights: weights.map(String::from),
            ..LmmOptions::default()
        };
        let mut reused = LmmFitter::new(&formula, options.clone()).unwrap();
        for data in [&first, &second, &first, &second] {
            let fresh = LmmFitter::new(&formula, options.clone())
                .unwrap()
                .fit(data)
                .unwrap()
                .clone();
            assert_eq!(reused.fit(data).unwrap(), &fresh, "{formula}");
        }
    }
    let formula = Formula::parse("y ~ poly(x, 3) * b + offset(z)").unwrap();
    let options = OlsOptions {
        weights: Some("w".into()),
        ..OlsOptions::default()
    };
    let mut reused = OlsFitter::new(&formula, options.clone()).unwrap();
    for data in [&first, &second, &first] {
        let mut fresh = OlsFitter::new(&formula, options.clone()).unwrap();
        assert_eq!(reused.fit(data).unwrap(), fresh.fit(data).unwrap());
    }
}
