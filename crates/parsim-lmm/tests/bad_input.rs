//! Bad input gets a clear error naming the column or term, never a panic.

use parsim_lmm::{
    Contrast, DataFrame, FitError, Formula, LmmFitter, LmmOptions, ModelError, OlsFitter,
    OlsOptions,
};
use proptest::prelude::*;

fn text(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| s.to_string()).collect()
}

/// 12 rows, 3 groups of 4, a covariate and a response with group effects.
fn frame() -> DataFrame {
    let x: Vec<f64> = (0..12).map(|i| (i as f64 * 0.7).sin()).collect();
    let y: Vec<f64> = (0..12)
        .map(|i| 1.0 + x[i] + [0.5, -0.3, 0.1][i / 4] + 0.2 * (i as f64 * 1.3).cos())
        .collect();
    DataFrame::default()
        .with_float("y", y)
        .with_float("x", x.clone())
        .with_float("x2", x.iter().map(|v| 2.0 * v).collect())
        .with_int("g", (0..12).map(|i| i / 4).collect())
        .with_int("one", vec![7; 12])
        .with_int("row", (0..12).collect())
        .with_text(
            "label",
            text(&["a", "b", "c", "a", "b", "c", "a", "b", "c", "a", "b", "c"]),
        )
        .with_float("flat", vec![3.0; 12])
}

fn lmm_error(formula: &str, data: &DataFrame) -> FitError {
    let formula = Formula::parse(formula).unwrap();
    let mut fitter = LmmFitter::new(&formula, LmmOptions::default()).unwrap();
    fitter.fit(data).unwrap_err()
}

#[test]
fn unknown_column_suggests_the_closest_name() {
    let err = lmm_error("y ~ xx + (1 | g)", &frame());
    assert_eq!(
        err,
        FitError::Model(ModelError::UnknownColumn {
            name: "xx".into(),
            suggestion: Some("x".into())
        })
    );
    assert_eq!(err.to_string(), "unknown column 'xx' (did you mean 'x'?)");
}

#[test]
fn malformed_formula_points_at_the_offending_byte() {
    let text = "y ~ x + (1 | g";
    let err = Formula::parse(text).unwrap_err();
    assert_eq!(err.offset, text.len());
    assert!(err.to_string().starts_with("expected ')'"), "{err}");
    assert_eq!(
        err.caret(text).lines().nth(1),
        Some(format!("{}^", " ".repeat(text.len())).as_str())
    );
}

#[test]
fn non_numeric_response_is_refused() {
    let err = lmm_error("label ~ x + (1 | g)", &frame());
    assert_eq!(
        err,
        FitError::Model(ModelError::NonNumericResponse("label".into()))
    );
}

#[test]
fn one_level_grouping_factor_is_refused() {
    assert_eq!(
        lmm_error("y ~ x + (1 | one)", &frame()),
        FitError::OneLevel("one".into())
    );
}

#[test]
fn more_random_effects_than_observations_is_refused() {
    let err = lmm_error("y ~ x + (1 | row)", &frame());
    assert!(
        matches!(err, FitError::TooManyRandomEffects { ref group, levels: 12, nobs: 12, .. } if group == "row"),
        "{err}"
    );
    // 3 levels x 2 effects against 4 rows.
    let small = DataFrame::default()
        .with_float("y", vec![1.0, 2.0, 4.0, 3.0])
        .with_float("x", vec![0.1, 0.5, 0.2, 0.9])
        .with_text("label", text(&["a", "b", "c", "a"]));
    let err = lmm_error("y ~ x + (1 + x | label)", &small);
    assert!(
        matches!(
            err,
            FitError::TooManyRandomEffects {
                total: 6,
                nobs: 4,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn rank_deficient_fixed_effects_drop_or_name_the_aliased_column() {
    // lme4 drops the aliased column x2 = 2x with a message; the fit equals the one without it.
    let lmm = |formula: &str, data: &DataFrame| {
        let formula = Formula::parse(formula).unwrap();
        let mut fitter = LmmFitter::new(&formula, LmmOptions::default()).unwrap();
        fitter.fit(data).unwrap().clone()
    };
    let dropped = lmm("y ~ x + x2 + (1 | g)", &frame());
    let without = lmm("y ~ x + (1 | g)", &frame());
    assert_eq!(dropped.coefficients, without.coefficients);
    assert_eq!(
        (dropped.criterion, &dropped.theta),
        (without.criterion, &without.theta)
    );
    assert!(
        dropped
            .messages
            .iter()
            .any(|m| m.contains("dropping 1 column") && m.ends_with(": x2")),
        "{:?}",
        dropped.messages
    );
    // A reused fitter follows data sets that are and are not rank deficient.
    let x2: Vec<f64> = (0..12)
        .map(|i| 2.0 * (i as f64 * 0.7).sin() + (i % 3) as f64)
        .collect();
    let full_rank = frame().with_float("x2", x2);
    let formula = Formula::parse("y ~ x + x2 + (1 | g)").unwrap();
    let mut fitter = LmmFitter::new(&formula, LmmOptions::default()).unwrap();
    for data in [&frame(), &full_rank, &frame(), &full_rank] {
        let reused = fitter.fit(data).unwrap().clone();
        assert_eq!(reused, lmm("y ~ x + x2 + (1 | g)", data));
    }
    let formula = Formula::parse("y ~ x + x2").unwrap();
    let err = OlsFitter::new(&formula, OlsOptions::default())
        .unwrap()
        .fit(&frame())
        .unwrap_err();
    assert!(
        matches!(&err, FitError::RankDeficient(m) if m.contains("x2")),
        "{err}"
    );
}

#[test]
fn constant_response_is_refused() {
    assert_eq!(
        lmm_error("flat ~ x + (1 | g)", &frame()),
        FitError::ConstantResponse("flat".into())
    );
}

#[test]
fn non_finite_values_name_column_and_row() {
    let mut x: Vec<f64> = (0..12).map(|i| i as f64).collect();
    x[4] = f64::NAN;
    let data = frame().with_float("x", x);
    let err = lmm_error("y ~ x + (1 | g)", &data);
    assert_eq!(
        err,
        FitError::NonFinite {
            column: "x".into(),
            row: 5
        }
    );
}

#[test]
fn model_kind_mismatch_is_refused() {
    let ols = Formula::parse("y ~ x").unwrap();
    assert_eq!(
        LmmFitter::new(&ols, LmmOptions::default()).err(),
        Some(ModelError::NoRandomTerms)
    );
    let lmm = Formula::parse("y ~ x + (1 | g)").unwrap();
    assert_eq!(
        OlsFitter::new(&lmm, OlsOptions::default()).err(),
        Some(ModelError::RandomTermsInOls)
    );
}

#[test]
fn formula_functions_fit_and_their_failures_are_named() {
    // The old parser said "unexpected character '^'" here: I() is now part of the language.
    let data = frame();
    let formula = Formula::parse("y ~ x + I(x^2) + (1 | g)").unwrap();
    let mut fitter = LmmFitter::new(&formula, LmmOptions::default()).unwrap();
    let fit = fitter.fit(&data).unwrap();
    assert_eq!(fit.coefficients[2].term, "I(x^2)");
    // x has 12 distinct values: degree 12 is one too many, as R's poly() says.
    let err = lmm_error("y ~ poly(x, 12) + (1 | g)", &data);
    assert!(
        matches!(&err, FitError::Transform { term, .. } if term == "poly(x, 12)"),
        "{err}"
    );
    // log(0) = −∞ (x = sin(0) in row 1) names the variable and the row.
    let err = lmm_error("y ~ log(x) + (1 | g)", &data);
    assert_eq!(
        err,
        FitError::NonFinite {
            column: "log(x)".into(),
            row: 1
        }
    );
    let err = lmm_error("y ~ I(label * 2) + (1 | g)", &data);
    assert_eq!(
        err,
        FitError::Model(ModelError::NonNumericColumn("label".into()))
    );
    let weighted = |weights: &str, contrasts: &[(&str, Contrast)]| {
        let options = LmmOptions {
            weights: Some(weights.into()),
            contrasts: contrasts.iter().map(|(n, c)| (n.to_string(), *c)).collect(),
            ..LmmOptions::default()
        };
        let formula = Formula::parse("y ~ x + label + (1 | g)").unwrap();
        LmmFitter::new(&formula, options)
            .unwrap()
            .fit(&data)
            .cloned()
    };
    let err = weighted("x", &[]).unwrap_err();
    assert!(
        matches!(&err, FitError::BadWeight { column, row: 1, value } if column == "x" && *value == 0.0),
        "{err}"
    );
    let err = weighted("one", &[("lable", Contrast::Sum)]).unwrap_err();
    assert_eq!(
        err,
        FitError::Model(ModelError::UnknownContrast("lable".into()))
    );
    // Unit weights give the unweighted fit (Σ log w = 0), through the general path instead of
    // the one-factor fast path: equal to rounding (1e-9 relative; sums in another order).
    let ones = DataFrame::default()
        .with_float("w", vec![1.0; 12])
        .with_float(
            "y",
            (0..12)
                .map(|i| 1.0 + (i as f64 * 0.9).cos() + (i / 4) as f64)
                .collect(),
        )
        .with_float("x", (0..12).map(|i| (i as f64 * 0.7).sin()).collect())
        .with_int("g", (0..12).map(|i| i / 4).collect());
    let formula = Formula::parse("y ~ x + (1 | g)").unwrap();
    let plain = LmmFitter::new(&formula, LmmOptions::default())
        .unwrap()
        .fit(&ones)
        .unwrap()
        .clone();
    let options = LmmOptions {
        weights: Some("w".into()),
        ..LmmOptions::default()
    };
    let unit = LmmFitter::new(&formula, options)
        .unwrap()
        .fit(&ones)
        .unwrap()
        .clone();
    assert!((plain.criterion - unit.criterion).abs() < 1e-9 * plain.criterion.abs());
    for (a, b) in plain.coefficients.iter().zip(&unit.coefficients) {
        assert!((a.estimate - b.estimate).abs() < 1e-9 * a.estimate.abs().max(1.0));
    }
}

#[test]
fn unsupported_formula_parts_point_at_themselves() {
    for (text, at, says) in [
        ("y ~ x + spline(x)", 8, "spline() is not supported"),
        ("y ~ I(x %% 2)", 8, "%% is not supported"),
        ("y ~ poly(x, k)", 12, "degree of poly()"),
        ("y ~ (x + g)^x", 12, "power of a formula term"),
        ("y ~ .", 4, "'.'"),
    ] {
        let err = Formula::parse(text).unwrap_err();
        assert_eq!(err.offset, at, "{text}: {err}");
        assert!(err.message.contains(says), "{text}: {err}");
    }
    let deep = format!("y ~ {}x{}", "(".repeat(1000), ")".repeat(1000));
    assert!(Formula::parse(&deep).is_err());
}

/// Token soup for formulas: names of the test frame, unknown names, operators, numbers, brackets.
fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "y",
        "x",
        "x2",
        "g",
        "label",
        "one",
        "zz",
        "~",
        "+",
        "-",
        "*",
        ":",
        "/",
        "|",
        "||",
        "(",
        ")",
        "0",
        "1",
        "2",
        " ",
        "`x`",
        "$",
        "é",
        "I(",
        "log(",
        "poly(",
        "factor(",
        "offset(",
        "scale(",
        "sqrt(",
        ",",
        "^",
        "%in%",
        "raw = TRUE",
        "=",
        "1e-3",
        "-1",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Parsing never panics; whatever parses, fitting returns a result or an error, never a panic.
    #[test]
    fn random_formulas_never_panic(tokens in prop::collection::vec(token(), 0..14)) {
        let text: String = tokens.concat();
        if let Ok(formula) = Formula::parse(&text) {
            let data = frame();
            let _ = formula.fixed_term_names(&data);
            if formula.has_random_terms() {
                if let Ok(mut fitter) = LmmFitter::new(&formula, LmmOptions::default()) {
                    let _ = fitter.fit(&data);
                }
            } else if let Ok(mut fitter) = OlsFitter::new(&formula, OlsOptions::default()) {
                let _ = fitter.fit(&data);
            }
        } else if let Err(e) = Formula::parse(&text) {
            prop_assert!(e.offset <= text.len());
        }
    }
}
