//! The fragile lme4 cases of issues 17 and 18 (`tests/data/lme4_fragile`, made by its `make.R`
//! with lme4 1.1-31 and lmerTest 3.1-3 at lme4's optimum found with tight tolerances): large θ
//! (Oxboys' quadratic growth curves, a random slope with θ ≈ 100), θ near zero, an uncentred
//! calendar year with a random slope (lme4's default stops 168 units of REML above the optimum), a
//! fit on the boundary (correlation 1: singular, not "not converged") and a crossed design with a
//! small variance. Each is checked at lme4's θ (the whole chain θ → estimates, SEs, df) and at our
//! optimum, with the fixture tests' tolerances and df to 1e-4 relative.

use std::path::PathBuf;

mod common;

use common::{compare, criterion_of, read_json, reference_theta, DF_FRAGILE};
use parsim_lmm::{DataFrame, Formula, LmmFitter, LmmOptions};

fn check(name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/lme4_fragile");
    let want = read_json(dir.join(format!("{name}.json")));
    let data = DataFrame::read_csv(&dir.join(want["data"].as_str().unwrap())).unwrap();
    let formula = Formula::parse(want["formula"].as_str().unwrap()).unwrap();
    let mut fitter = LmmFitter::new(&formula, LmmOptions::default()).unwrap();
    let fit = fitter.fit(&data).unwrap().clone();
    let criterion = criterion_of(&want, true);
    let mut report = vec![format!(
        "criterion {:.10} vs lme4 {:.10} (ours - lme4 = {:.2e}), {} evaluations, {:?}",
        fit.criterion,
        criterion,
        fit.criterion - criterion,
        fit.evaluations,
        fit.messages
    )];
    eprintln!("{name}: {} θ {:?}", report[0], fit.theta);
    // At lme4's θ first: the derivatives (df) and the rest of the chain, independent of the optimizer.
    let at_reference = fitter.results_at(&reference_theta(&want)).unwrap().clone();
    let mut at_report = Vec::new();
    compare(
        &format!("{name} at lme4's θ"),
        &at_reference,
        &want,
        DF_FRAGILE,
        &mut at_report,
    );
    // Criterion no more than 1e-6 above lme4's tight optimum (lme4's own default fits stop up to
    // 168 above it here); below it is fine.
    assert!(
        fit.criterion <= criterion + 1e-6,
        "{name}: criterion {} above lme4's {} by {:.3e}",
        fit.criterion,
        criterion,
        fit.criterion - criterion
    );
    assert!(fit.converged, "{name}: not converged: {:?}", fit.messages);
    compare(name, &fit, &want, DF_FRAGILE, &mut report);
    report.push("at lme4's θ:".into());
    report.extend(at_report);
    println!("{name}:\n  {}", report.join("\n  "));
}

#[test]
#[ignore = "open (issue 18): our optimum is 1.5e-8 above lme4's (θ ~1e-6 off) and the df of age \
            there is 1.16e-4 off; at lme4's θ every quantity is within tolerance"]
fn oxboys() {
    check("oxboys");
}

#[test]
fn large_theta() {
    check("large_theta");
}

#[test]
fn near_zero_theta() {
    check("near_zero_theta");
}

#[test]
#[ignore = "open (issue 18 item 3b): without internal centring our fit stops 167 above the optimum, \
            and the df of an uncentred year need the centred parametrisation (lmerTest's own are 1190 \
            against the true 39)"]
fn year_slope() {
    check("year_slope");
}

#[test]
fn boundary_slope() {
    check("boundary_slope");
}

#[test]
#[ignore = "open: our optimum equals lme4's criterion to 4e-11 but θ₃ differs by 3e-5 along a flat \
            valley, so the item variance (σ²θ₃²) is 6.1e-5 off, against 5e-5"]
fn crossed_small() {
    check("crossed_small");
}

/// A random-slope fit whose correlation is 1 − 5e-10 (θ₃ = 1e-9, just off the boundary, as a
/// stored fit of issue 18 had): singular, converged, and its estimates kept (lme4's at θ₃ = 0, to
/// the fixture tolerances).
#[test]
fn boundary_slope_just_off_the_bound_is_singular_and_kept() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/lme4_fragile");
    let want = read_json(dir.join("boundary_slope.json"));
    let data = DataFrame::read_csv(&dir.join("boundary_slope.csv")).unwrap();
    let formula = Formula::parse(want["formula"].as_str().unwrap()).unwrap();
    let mut fitter = LmmFitter::new(&formula, LmmOptions::default()).unwrap();
    fitter.fit(&data).unwrap();
    let mut theta = reference_theta(&want);
    assert_eq!(theta[2], 0.0, "lme4's optimum is on the boundary");
    theta[2] = 1e-9;
    let fit = fitter.results_at(&theta).unwrap().clone();
    assert!(fit.singular && fit.converged, "{:?}", fit.messages);
    let correlation = fit.varcorr[2].sd_or_cor;
    assert!(
        (1.0 - correlation) < 1e-8 && correlation <= 1.0,
        "{correlation}"
    );
    for (coef, w) in fit
        .coefficients
        .iter()
        .zip(want["fixef"].as_array().unwrap())
    {
        let estimate = w["estimate"].as_f64().unwrap();
        assert!(
            (coef.estimate - estimate).abs() <= 1e-6 * estimate.abs(),
            "{}",
            coef.term
        );
    }
}
