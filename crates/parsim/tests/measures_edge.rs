//! Edge cases give NaN (reported as NA / null), never a panic: one replication, zero variance, no SEs, no
//! replications, θ = 0, invalid degrees of freedom or levels.

use parsim::measures::{
    IntervalRule, MeasureKind, PerformanceAccumulator, PrecisionAccumulator, Replicate,
    SummarySettings,
};

fn rule() -> IntervalRule {
    IntervalRule::new(0.95, 0.05).expect("valid")
}

fn replicate(estimate: f64, se: Option<f64>, df: Option<f64>, truth: f64) -> Replicate {
    Replicate {
        estimate,
        se,
        df,
        ci_lower: None,
        ci_upper: None,
        p_value: None,
        truth,
    }
}

fn finish(rows: &[Replicate]) -> parsim::measures::PerformanceMeasures {
    let mut rule = rule();
    let mut acc = PerformanceAccumulator::default();
    rows.iter().for_each(|r| acc.push(r, &mut rule));
    let mean = acc.mean_estimate();
    rows.iter()
        .for_each(|r| acc.push_bias_eliminated(r, mean, &mut rule));
    acc.finish()
}

#[test]
fn no_replications_gives_nan_everywhere() {
    let m = finish(&[]);
    assert_eq!((m.used, m.failed), (0, 0));
    for kind in MeasureKind::ALL {
        assert!(
            m.get(kind).estimate().is_none() && m.get(kind).mcse().is_none(),
            "{kind}"
        );
    }
}

#[test]
fn one_replication_has_estimates_but_no_mcse() {
    let m = finish(&[replicate(1.2, Some(0.1), None, 1.0)]);
    assert_eq!(m.used, 1);
    assert!((m.bias.estimate - 0.2).abs() < 1e-12);
    assert!(m.bias.mcse().is_none(), "MCSE of bias needs n ≥ 2");
    assert!(m.empirical_se.estimate().is_none());
    assert!(m.relative_error_model_se.estimate().is_none());
    assert_eq!(m.coverage.estimate, 0.0, "[1.004, 1.396] misses 1.0");
    assert_eq!(m.coverage.mcse, 0.0);
    assert!((m.model_se.estimate - 0.1).abs() < 1e-15);
    assert!(m.model_se.mcse().is_none());
}

#[test]
fn zero_variance_estimates() {
    let rows: Vec<_> = (0..10)
        .map(|_| replicate(2.0, Some(0.5), Some(8.0), 2.0))
        .collect();
    let m = finish(&rows);
    assert_eq!(m.bias.estimate, 0.0);
    assert_eq!(m.bias.mcse, 0.0);
    assert_eq!(m.empirical_se.estimate, 0.0);
    assert!(
        m.relative_error_model_se.estimate().is_none(),
        "ModSE / 0 is not a number"
    );
    assert_eq!(m.rmse.estimate, 0.0);
    assert!(m.rmse.mcse().is_none(), "delta method divides by √MSE = 0");
    assert_eq!(m.coverage.estimate, 100.0);
    let mut p = PrecisionAccumulator::default();
    (0..10).for_each(|i| p.push(i as f64, 3.0));
    assert!(
        p.finish().estimate().is_none(),
        "precision against a constant method"
    );
}

#[test]
fn missing_standard_errors() {
    let rows: Vec<_> = (0..6)
        .map(|i| replicate(1.0 + 0.1 * i as f64, None, None, 1.0))
        .collect();
    let m = finish(&rows);
    assert_eq!(m.used, 6);
    assert!(m.bias.estimate().is_some());
    for kind in [
        MeasureKind::ModelSe,
        MeasureKind::RelativeErrorModelSe,
        MeasureKind::Coverage,
        MeasureKind::Rejection,
        MeasureKind::CiWidth,
        MeasureKind::BiasEliminatedCoverage,
    ] {
        assert!(
            m.get(kind).estimate().is_none(),
            "{kind} without SEs or intervals"
        );
    }
    // A reported interval is used when there is no SE.
    let with_ci: Vec<_> = rows
        .iter()
        .map(|r| Replicate {
            ci_lower: Some(r.estimate - 0.05),
            ci_upper: Some(r.estimate + 0.05),
            p_value: Some(0.01),
            ..*r
        })
        .collect();
    let m = finish(&with_ci);
    assert!(
        (m.coverage.estimate - 100.0 / 6.0).abs() < 1e-9,
        "{:?}",
        m.coverage
    );
    assert_eq!(m.rejection.estimate, 100.0);
    assert!((m.ci_width.estimate - 0.1).abs() < 1e-12);
}

#[test]
fn non_finite_estimates_count_as_failed() {
    let m = finish(&[
        replicate(f64::NAN, Some(1.0), None, 0.0),
        replicate(0.5, Some(1.0), None, 0.0),
        replicate(-0.5, Some(1.0), None, 0.0),
    ]);
    assert_eq!((m.used, m.failed), (2, 1));
    assert!(
        m.relative_bias.estimate().is_none(),
        "relative bias is undefined for θ = 0"
    );
}

#[test]
fn intervals_follow_df_and_level() {
    let mut r = rule();
    // Normal and t quantiles (R: qnorm(0.975), qt(0.975, 10)).
    assert!((r.critical_value(None) - 1.959_963_984_540_054).abs() < 1e-12);
    assert!((r.critical_value(Some(10.0)) - 2.228_138_851_986_522).abs() < 1e-9);
    assert!((r.critical_value(Some(f64::INFINITY)) - 1.959_963_984_540_054).abs() < 1e-12);
    assert!(r.critical_value(Some(0.0)).is_nan());
    assert!(
        r.interval(&replicate(1.0, Some(1.0), Some(-3.0), 0.0))
            .is_none(),
        "df ≤ 0 gives no interval"
    );
    let p = r.p_value(&replicate(2.0, Some(1.0), None, 0.0)).expect("p");
    // statrs's normal tail is accurate to ~1e-11 relative (erfc), enough for comparing p with alpha.
    assert!(
        (p - 0.045_500_263_896_358_42).abs() < 1e-11,
        "2 * pnorm(-2) = {p}"
    );
    assert!(IntervalRule::new(1.0, 0.05).is_err());
    assert!(IntervalRule::new(0.95, 0.0).is_err());
    assert!(IntervalRule::new(f64::NAN, 0.05).is_err());
}

#[test]
fn summary_settings_parse_only_the_summary_table() {
    let toml = "[study]\nname = \"x\"\n[summary]\nlevel = 0.9\nreference = \"ols\"\n";
    let s = SummarySettings::from_study_toml(toml).expect("valid");
    assert_eq!(
        s,
        SummarySettings {
            level: 0.9,
            alpha: 0.05,
            reference: Some("ols".into())
        }
    );
    assert_eq!(
        SummarySettings::from_study_toml("[study]\n").expect("defaults"),
        SummarySettings::default()
    );
    for (bad, says) in [
        ("[summary]\nlevel = \"high\"\n", "level"),
        ("[summary]\nalpha = 2.0\n", "alpha"),
        ("[summary]\nlevels = 0.9\n", "unknown key `levels`"),
        ("[summary]\nreference = 3\n", "reference"),
        ("summary = 1\n", "table"),
        ("[summary\n", "TOML"),
    ] {
        let error = SummarySettings::from_study_toml(bad)
            .expect_err(bad)
            .to_string();
        assert!(error.contains(says), "{bad:?} gave {error:?}");
    }
}

#[test]
fn measure_lists_parse() {
    assert_eq!(
        MeasureKind::parse_list("bias, cover,bias").expect("valid"),
        [MeasureKind::Bias, MeasureKind::Coverage]
    );
    assert_eq!(
        MeasureKind::parse_list("all").expect("all"),
        MeasureKind::ALL
    );
    let error = MeasureKind::parse_list("bias,coverage")
        .expect_err("unknown")
        .to_string();
    assert!(
        error.contains("`coverage`") && error.contains("cover"),
        "{error}"
    );
}
