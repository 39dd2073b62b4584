//! Every measure and its Monte Carlo SE against values computed independently by numpy/scipy
//! (`tests/data/measures/make_fixture.py`, output committed beside it).

use parsim::measures::{
    IntervalRule, MeasureKind, PerformanceAccumulator, PrecisionAccumulator, Replicate, Value,
};
use serde_json::Value as Json;

fn fixture() -> Json {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/measures/measures_fixture.json"
    );
    let text = std::fs::read_to_string(path).expect("fixture present");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn number(v: &Json) -> Option<f64> {
    v.as_f64()
}

fn replicate(row: &Json) -> Replicate {
    Replicate {
        estimate: number(&row["estimate"]).unwrap_or(f64::NAN),
        se: number(&row["se"]),
        df: number(&row["df"]),
        ci_lower: number(&row["ci_lower"]),
        ci_upper: number(&row["ci_upper"]),
        p_value: number(&row["p_value"]),
        truth: number(&row["truth"]).expect("truth"),
    }
}

/// First and second pass over the rows, as the store-backed summary does.
fn accumulate(rows: &[Replicate], rule: &mut IntervalRule) -> PerformanceAccumulator {
    let mut acc = PerformanceAccumulator::default();
    for r in rows {
        acc.push(r, rule);
    }
    let mean = acc.mean_estimate();
    for r in rows {
        acc.push_bias_eliminated(r, mean, rule);
    }
    acc
}

/// Relative agreement of 1e-9: both sides are the same closed-form sums in double precision (Welford vs
/// numpy's pairwise sums differ by rounding only); the t quantiles come from statrs vs scipy, which agree
/// to ~1e-12, and no fixture interval end lies that close to θ or θ̄.
fn assert_close(name: &str, measure: &str, got: Option<f64>, want: Option<f64>) {
    match (got, want) {
        (None, None) => {}
        (Some(g), Some(w)) => {
            let tolerance = 1e-9 * w.abs().max(1e-12);
            assert!(
                (g - w).abs() <= tolerance,
                "{name}: {measure} = {g}, numpy says {w}"
            );
        }
        _ => panic!("{name}: {measure} = {got:?}, numpy says {want:?}"),
    }
}

fn check(name: &str, measure: &str, value: Value, expected: &Json) {
    assert_close(name, measure, value.estimate(), number(&expected[0]));
    assert_close(
        name,
        &format!("MCSE of {measure}"),
        value.mcse(),
        number(&expected[1]),
    );
}

#[test]
fn every_measure_and_mcse_matches_numpy() {
    let fixture = fixture();
    let cases = fixture["cases"].as_array().expect("cases");
    assert!(cases.len() >= 5);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let level = case["level"].as_f64().expect("level");
        let alpha = case["alpha"].as_f64().expect("alpha");
        let rows: Vec<Replicate> = case["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(replicate)
            .collect();
        let mut rule = IntervalRule::new(level, alpha).expect("valid level");
        let measures = accumulate(&rows, &mut rule).finish();
        let expected = &case["expected"];
        assert_eq!(
            measures.used,
            expected["used"].as_u64().expect("used"),
            "{name}: used"
        );
        assert_eq!(
            measures.failed,
            expected["failed"].as_u64().expect("failed"),
            "{name}: failed"
        );
        for kind in MeasureKind::ALL {
            // Relative precision pairs methods; the convergence rate is checked below from the counts.
            // The rejection rate (the fixture's `power`) is checked below under its names.
            if matches!(
                kind,
                MeasureKind::RelativePrecision
                    | MeasureKind::Convergence
                    | MeasureKind::Power
                    | MeasureKind::TypeIError
            ) {
                continue;
            }
            check(name, kind.key(), measures.get(kind), &expected[kind.key()]);
        }
        // The rejection rate is power where the truth is not 0, type I error where it is 0.
        let rejection = measures.get(MeasureKind::Rejection);
        check(name, "reject", rejection, &expected["power"]);
        let (named, other) = if measures.truth == 0.0 {
            (MeasureKind::TypeIError, MeasureKind::Power)
        } else {
            (MeasureKind::Power, MeasureKind::TypeIError)
        };
        assert_eq!(measures.get(named), rejection, "{name}: {named}");
        assert!(measures.get(other).estimate().is_none(), "{name}: {other}");
        // The share of replications with a usable estimate, a proportion with MCSE √(p(1 − p)/n).
        let n = (measures.used + measures.failed) as f64;
        let p = measures.used as f64 / n;
        let convergence = [100.0 * p, 100.0 * (p * (1.0 - p) / n).sqrt()];
        check(
            name,
            "conv",
            measures.get(MeasureKind::Convergence),
            &serde_json::json!(convergence),
        );
    }
}

#[test]
fn relative_precision_matches_numpy() {
    let fixture = fixture();
    for case in fixture["pairs"].as_array().expect("pairs") {
        let name = case["name"].as_str().expect("name");
        let reference: Vec<Option<f64>> = case["reference"]
            .as_array()
            .expect("ref")
            .iter()
            .map(number)
            .collect();
        let method: Vec<Option<f64>> = case["method"]
            .as_array()
            .expect("method")
            .iter()
            .map(number)
            .collect();
        let mut acc = PrecisionAccumulator::default();
        for (a, b) in reference.iter().zip(&method) {
            // Replications both completed only, as the store's join does.
            if let (Some(a), Some(b)) = (a, b) {
                acc.push(*a, *b);
            }
        }
        assert_eq!(
            acc.pairs.n,
            case["pairs"].as_u64().expect("pairs"),
            "{name}: pairs"
        );
        check(name, "relprec", acc.finish(), &case["relprec"]);
    }
}
