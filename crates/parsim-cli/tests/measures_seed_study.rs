//! The seed study (examples/seed-study.toml, 500 replications, t intervals with Satterthwaite df): the
//! random-intercept model's standard error of the slope is far too small and its intervals cover far less than
//! 95%, while the random-slope model (the model that generated the data) covers 95% within Monte Carlo error.

use std::process::Command;

use parsim::measures::{summarise, SummaryRow};
use parsim::store::Store;

fn row<'a>(rows: &'a [SummaryRow], method: &str, term: &str) -> &'a SummaryRow {
    rows.iter()
        .find(|r| r.method == method && r.term == term)
        .unwrap_or_else(|| panic!("{method} {term} summarised"))
}

#[test]
fn random_intercept_model_misstates_the_slope_se_and_random_slope_model_covers() {
    let study = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/seed-study.toml"
    );
    let out = std::env::temp_dir().join(format!("parsim-seed-study-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let status = Command::new(env!("CARGO_BIN_EXE_parsim"))
        .args(["run", study, "--quiet", "--out"])
        .arg(&out)
        .status()
        .expect("parsim runs");
    assert!(status.success(), "parsim run failed");

    let store = Store::open_existing(&out).expect("store");
    let summary = summarise(&store, None).expect("summary");
    assert_eq!(
        summary.settings.reference.as_deref(),
        Some("random_slope"),
        "the study's [summary] reference"
    );
    let intercept_only = row(&summary.rows, "random_intercept", "X").measures;
    let random_slope = row(&summary.rows, "random_slope", "X").measures;
    assert_eq!((intercept_only.used, random_slope.used), (500, 500));

    assert!(
        intercept_only.relative_error_model_se.estimate < -50.0,
        "{:?}",
        intercept_only.relative_error_model_se
    );
    assert!(
        intercept_only.coverage.estimate < 50.0,
        "{:?}",
        intercept_only.coverage
    );
    let (cover, mcse) = (random_slope.coverage.estimate, random_slope.coverage.mcse);
    assert!(
        (cover - 95.0).abs() <= 3.0 * mcse,
        "random-slope coverage {cover} (MCSE {mcse})"
    );
    let _ = std::fs::remove_dir_all(&out);
}
