//! GLMs against R's `glm` (epsilon 1e-14) and `sandwich::vcovCL(type = "HC1")`: the
//! `tests/data/glmm/glm_*.json` fixtures of issue 19.

use std::path::{Path, PathBuf};

use parsim_lmm::{
    Columns, DataFrame, Distribution, Family, Formula, GlmFit, GlmFitter, GlmOptions, GlmStatus,
    Link,
};
use serde_json::Value;

/// Issue 19's tolerances for GLMs: estimates 1e-5 relative, SEs (model-based and CR1) 1e-5
/// relative. Both fits converge to ~1e-12 in deviance, so the estimates agree far closer; the
/// test asserts the bounds and prints the actual deviations.
const ESTIMATE: f64 = 1e-5;
const SE: f64 = 1e-5;
/// Deviance, log-likelihood and AIC are sums of ~600 terms computed the same way: 1e-8 absolute.
const LIKELIHOOD: f64 = 1e-8;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/glmm")
}

pub fn load(name: &str) -> (Value, DataFrame) {
    let text = std::fs::read_to_string(dir().join(format!("{name}.json"))).unwrap();
    let want: Value = serde_json::from_str(&text).unwrap();
    let factors: Vec<String> = match &want["factors"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_string()).collect(),
        _ => Vec::new(),
    };
    let path = dir().join(want["data"].as_str().unwrap());
    let data = DataFrame::read_csv_with_factors(&path, &factors).unwrap();
    (want, data)
}

fn family_of(want: &Value) -> Family {
    let d: Distribution = want["family"].as_str().unwrap().parse().unwrap();
    let l: Link = want["link"].as_str().unwrap().parse().unwrap();
    Family::new(d, Some(l)).unwrap()
}

fn close(what: &str, got: f64, want: f64, relative: f64) {
    let d = ((got - want) / want).abs();
    println!("  {what}: {got:.12e} vs R {want:.12e} ({d:.1e})");
    assert!(
        d <= relative,
        "{what}: {got} vs R {want} ({d:.2e} > {relative:e})"
    );
}

fn fit_case(name: &str) -> (Value, GlmFit) {
    let (want, data) = load(name);
    let mut formula = want["formula"].as_str().unwrap().to_string();
    if let Some(offset) = want["offset"].as_str() {
        formula.push_str(&format!(" + offset({offset})"));
    }
    let options = GlmOptions {
        family: family_of(&want),
        cluster: want["cluster"].as_str().map(str::to_string),
        ..GlmOptions::default()
    };
    let mut fitter = GlmFitter::new(&Formula::parse(&formula).unwrap(), options).unwrap();
    let fit = fitter.fit(&data).unwrap().clone();
    // A second fit on the same workspace gives the same bits.
    assert_eq!(fitter.fit(&data).unwrap(), &fit, "{name}: refit differs");
    (want, fit)
}

fn check(name: &str) {
    println!("{name}");
    let (want, fit) = fit_case(name);
    assert_eq!(fit.status, GlmStatus::Converged, "{name}");
    assert_eq!(fit.nobs as u64, want["nobs"].as_u64().unwrap());
    let fixef = want["fixef"].as_array().unwrap();
    assert_eq!(fit.coefficients.len(), fixef.len());
    let r = fit.rank;
    for (j, (c, w)) in fit.coefficients.iter().zip(fixef).enumerate() {
        assert_eq!(c.term, w["name"].as_str().unwrap());
        close(
            &format!("estimate {}", c.term),
            c.estimate,
            w["estimate"].as_f64().unwrap(),
            ESTIMATE,
        );
        let model_se = fit.model_vcov[j * r + j].sqrt();
        close(
            &format!("se {}", c.term),
            model_se,
            w["se"].as_f64().unwrap(),
            SE,
        );
        if want["cluster"].is_string() {
            let cr1 = want["cluster_se"][j].as_f64().unwrap();
            close(&format!("CR1 se {}", c.term), c.se, cr1, SE);
            assert!((c.z - c.estimate / cr1).abs() < 1e-4 * c.z.abs());
        } else {
            close(&format!("z {}", c.term), c.z, w["z"].as_f64().unwrap(), SE);
            close(
                &format!("p {}", c.term),
                c.p_value,
                w["p"].as_f64().unwrap(),
                1e-4,
            );
        }
    }
    for (field, got) in [
        ("deviance", fit.deviance),
        ("null_deviance", fit.null_deviance),
        ("logLik", fit.loglik),
        ("AIC", fit.aic),
    ] {
        let w = want[field].as_f64().unwrap();
        println!(
            "  {field}: {got:.12} vs R {w:.12} ({:.1e})",
            (got - w).abs()
        );
        assert!(
            (got - w).abs() < LIKELIHOOD,
            "{name}: {field} {got} vs R {w}"
        );
    }
}

#[test]
fn binomial_counts_match_r() {
    check("glm_cbpp_binomial");
}

#[test]
fn logit_with_cr1_matches_r_and_sandwich() {
    check("glm_logit_cr1_seed3");
}

#[test]
fn poisson_with_offset_matches_r() {
    check("glm_pois_offset_seed2");
}

#[test]
fn proportions_with_weights_are_the_counts_fit() {
    // R: glm(incidence/size ~ period, weights = size) is the cbind fit (same estimates, SEs and
    // deviance; the log-likelihood too, since m = the weights).
    let (want, data) = load("glm_cbpp_binomial");
    let sizes: Vec<f64> = (0..data.nrows())
        .map(|i| match data.column("size").unwrap() {
            parsim_lmm::ColumnRef::Int(v) => v[i] as f64,
            parsim_lmm::ColumnRef::Float(v) => v[i],
            _ => unreachable!(),
        })
        .collect();
    let data = data.with_float("w", sizes);
    let options = GlmOptions {
        weights: Some("w".into()),
        ..GlmOptions::default()
    };
    let formula = Formula::parse("I(incidence / size) ~ period").unwrap();
    let mut fitter = GlmFitter::new(&formula, options).unwrap();
    let fit = fitter.fit(&data).unwrap();
    for (c, w) in fit
        .coefficients
        .iter()
        .zip(want["fixef"].as_array().unwrap())
    {
        close(
            &c.term,
            c.estimate,
            w["estimate"].as_f64().unwrap(),
            ESTIMATE,
        );
    }
    assert!((fit.loglik - want["logLik"].as_f64().unwrap()).abs() < LIKELIHOOD);
}

#[test]
fn aliased_columns_are_na_as_in_r() {
    // x2 = 2·x: R's glm reports x2 as NA and fits the rest; rank 2, AIC with 2 parameters.
    let (_, data) = load("glm_logit_cr1_seed3");
    let x: Vec<f64> = (0..data.nrows())
        .map(|i| match data.column("x").unwrap() {
            parsim_lmm::ColumnRef::Float(v) => 2.0 * v[i],
            _ => unreachable!(),
        })
        .collect();
    let data = data.with_float("x2", x);
    let full = Formula::parse("y ~ x + x2").unwrap();
    let mut fitter = GlmFitter::new(&full, GlmOptions::default()).unwrap();
    let fit = fitter.fit(&data).unwrap().clone();
    assert_eq!(fit.rank, 2);
    assert!(fit.coefficients[2].aliased && fit.coefficients[2].estimate.is_nan());
    let reduced = Formula::parse("y ~ x").unwrap();
    let mut fitter = GlmFitter::new(&reduced, GlmOptions::default()).unwrap();
    let small = fitter.fit(&data).unwrap();
    assert!((fit.coefficients[1].estimate - small.coefficients[1].estimate).abs() < 1e-12);
    assert!((fit.aic - small.aic).abs() < 1e-9);
}

#[test]
fn separation_is_its_own_status() {
    // y = 1 exactly when x > 0: complete separation; R's estimates run off and it warns.
    let x: Vec<f64> = (0..40).map(|i| f64::from(i) - 19.5).collect();
    let y: Vec<f64> = x.iter().map(|&v| f64::from(u8::from(v > 0.0))).collect();
    let data = DataFrame::default().with_float("x", x).with_float("y", y);
    let formula = Formula::parse("y ~ x").unwrap();
    let mut fitter = GlmFitter::new(&formula, GlmOptions::default()).unwrap();
    let fit = fitter.fit(&data).unwrap();
    assert_eq!(fit.status, GlmStatus::Separation);
    // A Poisson count that is zero throughout one level of a factor: its coefficient is −∞.
    let g: Vec<String> = (0..40).map(|i| ["a", "b"][i % 2].to_string()).collect();
    let count: Vec<f64> = (0..40)
        .map(|i| {
            if i % 2 == 1 {
                0.0
            } else {
                (i % 5) as f64 + 1.0
            }
        })
        .collect();
    let data = DataFrame::default()
        .with_text("g", g)
        .with_float("count", count);
    let options = GlmOptions {
        family: Family::canonical(Distribution::Poisson),
        ..GlmOptions::default()
    };
    let mut fitter = GlmFitter::new(&Formula::parse("count ~ g").unwrap(), options).unwrap();
    assert_eq!(fitter.fit(&data).unwrap().status, GlmStatus::Separation);
}

#[test]
fn bad_responses_are_errors() {
    let data = DataFrame::default()
        .with_float("x", vec![0.0, 1.0, 2.0, 3.0])
        .with_float("y", vec![0.0, 1.0, 2.0, 1.0]);
    let formula = Formula::parse("y ~ x").unwrap();
    let mut fitter = GlmFitter::new(&formula, GlmOptions::default()).unwrap();
    let message = fitter.fit(&data).unwrap_err().to_string();
    assert!(
        message.contains("row 3") && message.contains("[0, 1]"),
        "{message}"
    );
    assert!(GlmFitter::new(
        &Formula::parse("y ~ x + (1 | g)").unwrap(),
        GlmOptions::default()
    )
    .is_err());
}
