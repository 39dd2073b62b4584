//! `parsim fit` with prior weights and contrasts, end to end: the JSON output against the lme4 and
//! lm reference fits of `tests/data/lme4_formula` (made by its make.R with lme4 1.1-31, lmerTest
//! 3.1-3), at the fixture tests' tolerances, and bad arguments refused with exit code 2.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_parsim");

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/lme4_formula")
}

fn reference(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join(format!("{name}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn fit(args: &[&str]) -> Output {
    let data = fixtures().join("data/schools.csv");
    Command::new(BIN)
        .arg("fit")
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The tolerances: estimates 1e-6 relative, SEs 5e-5, df 1e-4; the criterion 1e-6 absolute.
fn compare(name: &str, got: &Value, want: &Value) {
    let fixef = want["fixef"].as_array().unwrap();
    let ours = got["fixef"].as_array().unwrap();
    assert_eq!(ours.len(), fixef.len(), "{name}");
    for (o, w) in ours.iter().zip(fixef) {
        let term = w["name"].as_str().unwrap();
        assert_eq!(o["term"].as_str().unwrap(), term, "{name}: names as lme4's");
        for (field, theirs, tolerance) in [("estimate", "estimate", 1e-6), ("se", "se", 5e-5)] {
            let (g, w) = (o[field].as_f64().unwrap(), w[theirs].as_f64().unwrap());
            assert!(
                (g - w).abs() <= tolerance * w.abs(),
                "{name} {term} {field}: {g} vs {w}"
            );
        }
        if let (Some(g), Some(w)) = (o["df"].as_f64(), w["df"].as_f64()) {
            if want["model"].as_str() != Some("lm") {
                assert!((g - w).abs() <= 1e-4 * w, "{name} {term} df: {g} vs {w}");
            }
        }
    }
    for (ours, theirs) in [("reml_criterion", "REMLcrit"), ("deviance", "deviance")] {
        if let (Some(g), Some(w)) = (got[ours].as_f64(), want[theirs].as_f64()) {
            assert!((g - w).abs() <= 1e-6, "{name} {ours}: {g} vs {w}");
        }
    }
}

#[test]
fn weights_and_sum_contrasts_match_lme4() {
    let want = reference("schools_weights_sum");
    let formula = want["formula"].as_str().unwrap();
    let args = [
        "--formula",
        formula,
        "--weights",
        "w",
        "--contrasts",
        "a=sum",
        "--contrasts",
        "b=contr.sum",
        "--format",
        "json",
    ];
    let per_factor = fit(&args);
    compare("schools_weights_sum", &json(&per_factor), &want);
    // `--contrasts sum` codes every categorical variable of the formula so: the same fit.
    let all = fit(&[
        "--formula",
        formula,
        "--weights",
        "w",
        "--contrasts",
        "sum",
        "--format",
        "json",
    ]);
    assert_eq!(json(&all), json(&per_factor));
    // The text summary names the weights.
    let text = fit(&["--formula", formula, "--weights", "w", "--contrasts", "sum"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Weights: w") && text.contains("a1"), "{text}");
}

#[test]
fn weights_by_ml_and_reml_match_lme4() {
    for (name, ml) in [
        ("schools_weights_reml", false),
        ("schools_weights_ml", true),
    ] {
        let want = reference(name);
        let formula = want["formula"].as_str().unwrap();
        let mut args = vec!["--formula", formula, "--weights", "w", "--format", "json"];
        if ml {
            args.push("--ml");
        }
        compare(name, &json(&fit(&args)), &want);
    }
}

#[test]
fn weighted_least_squares_with_sum_contrasts_matches_lm() {
    let want = reference("lm_schools_weights");
    let formula = want["formula"].as_str().unwrap();
    let out = fit(&[
        "--formula",
        formula,
        "--weights",
        "w",
        "--contrasts",
        "a=sum",
        "--format",
        "json",
    ]);
    compare("lm_schools_weights", &json(&out), &want);
}

#[test]
fn bad_weights_and_contrasts_are_refused() {
    let formula = "y ~ x + a + (1 | district)";
    for (args, expect) in [
        (vec!["--weights", "wt"], "no column 'wt'"),
        (vec!["--contrasts", "a=helmert"], "sum or treatment"),
        (vec!["--contrasts", "x=sum"], "no categorical variable"),
        (vec!["--weights", "x"], "weight"),
    ] {
        let mut all = vec!["--formula", formula];
        all.extend(args.iter().copied());
        let out = fit(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expect), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
