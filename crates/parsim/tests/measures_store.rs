//! The store-backed summary equals the accumulators fed the same rows by hand, counts failures, honours the
//! study's `[summary]` settings and command-line overrides, and renders every format.

mod measures_support;

use measures_support::{create_store, generate, study_toml, Row, METHODS};
use parsim::measures::{
    summarise, summarise_keeping, IntervalRule, MeasureKind, PerformanceAccumulator,
    PrecisionAccumulator, Summary, SummarySettings,
};
use parsim::report::{self, Format};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("parsim-measures-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn rows_of<'a>(rows: &'a [Row], condition: usize, method: &str, term: &str) -> Vec<&'a Row> {
    rows.iter()
        .filter(|r| r.condition == condition && r.method == method && r.term == term)
        .collect()
}

fn failed_fits(rows: &[Row], condition: usize, method: &str) -> u64 {
    rows.iter()
        .filter(|r| r.condition == condition && r.method == method && r.term.is_empty())
        .count() as u64
}

/// Recompute one group's measures from the plain rows with the public accumulators.
fn by_hand(
    rows: &[Row],
    condition: usize,
    method: &str,
    term: &str,
    level: f64,
    alpha: f64,
) -> PerformanceAccumulator {
    let mut rule = IntervalRule::new(level, alpha).expect("rule");
    let mut acc = PerformanceAccumulator::default();
    let group = rows_of(rows, condition, method, term);
    for r in &group {
        acc.push(&r.replicate, &mut rule);
    }
    for _ in 0..failed_fits(rows, condition, method) {
        acc.push_failed();
    }
    let mean = acc.mean_estimate();
    for r in &group {
        acc.push_bias_eliminated(&r.replicate, mean, &mut rule);
    }
    acc
}

fn precision_by_hand(
    rows: &[Row],
    condition: usize,
    method: &str,
    term: &str,
    reference: &str,
) -> PrecisionAccumulator {
    let mut acc = PrecisionAccumulator::default();
    for r in rows_of(rows, condition, method, term) {
        let partner = rows_of(rows, condition, reference, term)
            .into_iter()
            .find(|p| p.replication == r.replication);
        if let Some(p) = partner {
            acc.push(p.replicate.estimate, r.replicate.estimate);
        }
    }
    acc
}

fn summary_of(
    name: &str,
    summary_toml: &str,
    settings: Option<SummarySettings>,
) -> (Vec<Row>, Summary, std::path::PathBuf) {
    let rows = generate(0, 200, 42);
    let dir = temp_dir(name);
    let connection = create_store(&dir, &rows, &study_toml(summary_toml));
    let summary = summarise(&connection, settings).expect("summary");
    (rows, summary, dir)
}

/// The second pass reads the rows the first kept, or (when there were more than it keeps, or none are
/// kept) the store again: the summary is the same to the last bit either way.
#[test]
fn the_second_pass_gives_the_same_summary_from_kept_rows_or_from_the_store() {
    let rows = generate(0, 200, 42);
    let dir = temp_dir("kept-rows");
    let connection = create_store(&dir, &rows, &study_toml(""));
    // JSON, so that equal NaNs (a measure with no data) compare equal; floats in shortest round-trip form.
    let summary = |kept_rows| {
        let s = summarise_keeping(&connection, None, kept_rows).expect("summary");
        serde_json::to_string(&s).expect("json")
    };
    let all = summary(usize::MAX);
    assert!(all.contains("coverage"), "{all}");
    assert_eq!(summary(0), all, "none kept: the store is read again");
    assert_eq!(
        summary(50),
        all,
        "more rows than kept: the store is read again"
    );
    assert_eq!(
        serde_json::to_string(&summarise(&connection, None).expect("summary")).expect("json"),
        all
    );
}

#[test]
fn store_summary_equals_accumulators_fed_by_hand() {
    let (rows, summary, _) = summary_of("by-hand", "", None);
    assert_eq!(summary.factors, ["N", "sigma"]);
    assert_eq!(summary.methods, METHODS);
    assert_eq!(
        summary.settings.reference.as_deref(),
        Some("good"),
        "default reference is the first method"
    );
    // 4 conditions × 3 methods × 2 terms with a truth; the variance component has none.
    assert_eq!(summary.rows.len(), 24);
    assert_eq!(summary.terms(), ["(Intercept)", "X"]);
    for row in &summary.rows {
        let expected = by_hand(&rows, row.condition, &row.method, &row.term, 0.95, 0.05).finish();
        let relprec =
            precision_by_hand(&rows, row.condition, &row.method, &row.term, "good").finish();
        let mut expected = expected;
        expected.relative_precision = relprec;
        // Same rows, same order-independent sums: equal up to summation order (SQLite's scan order).
        for kind in MeasureKind::ALL {
            let (got, want) = (row.measures.get(kind), expected.get(kind));
            for (g, w) in [(got.estimate, want.estimate), (got.mcse, want.mcse)] {
                assert!(
                    (g.is_nan() && w.is_nan()) || (g - w).abs() <= 1e-10 * w.abs().max(1e-10),
                    "{} {} {}: {kind} {g} vs {w}",
                    row.condition,
                    row.method,
                    row.term
                );
            }
        }
        assert_eq!(row.measures.used, expected.used);
        assert_eq!(row.measures.failed, expected.failed);
    }
}

#[test]
fn failures_are_counted_and_flaws_are_visible() {
    let (_, summary, _) = summary_of("flaws", "", None);
    for row in summary.rows.iter().filter(|r| r.term == "X") {
        let m = &row.measures;
        match row.method.as_str() {
            "biased" => {
                // Replications 5, 28, ... fail to converge (mod 23) and 7, 38, ... error (mod 31).
                let failed = (0..200u64).filter(|r| r % 23 == 5 || r % 31 == 7).count() as u64;
                assert_eq!((m.used, m.failed), (200 - failed, failed));
            }
            // Singular fits are used.
            _ => assert_eq!((m.used, m.failed), (200, 0)),
        }
        if row.method == "naive" {
            // SEs half the truth: coverage far below 95% and relative error near -50%.
            assert!(
                m.coverage.estimate < 80.0,
                "naive coverage {:?}",
                m.coverage
            );
            assert!(
                (m.relative_error_model_se.estimate + 50.0).abs()
                    < 4.0 * m.relative_error_model_se.mcse + 5.0
            );
        }
        if row.method == "good" {
            assert!(
                (m.coverage.estimate - 95.0).abs() < 4.0 * m.coverage.mcse,
                "good coverage {:?}",
                m.coverage
            );
            assert_eq!(
                m.relative_precision.estimate, 0.0,
                "the reference against itself"
            );
        }
    }
}

#[test]
fn settings_come_from_the_study_and_can_be_overridden() {
    let (_, at_90, _) = summary_of(
        "level90",
        "[summary]\nlevel = 0.9\nalpha = 0.1\nreference = \"naive\"\n",
        None,
    );
    assert_eq!(
        at_90.settings,
        SummarySettings {
            level: 0.9,
            alpha: 0.1,
            reference: Some("naive".into())
        }
    );
    let (_, at_95, _) = summary_of("level95", "", None);
    let (_, overridden, _) = summary_of(
        "override",
        "[summary]\nlevel = 0.9\n",
        Some(SummarySettings {
            level: 0.95,
            alpha: 0.05,
            reference: None,
        }),
    );
    for ((a, b), c) in at_90.rows.iter().zip(&at_95.rows).zip(&overridden.rows) {
        assert!(
            a.measures.ci_width.estimate < b.measures.ci_width.estimate,
            "90% intervals are narrower"
        );
        assert_eq!(b.measures.coverage, c.measures.coverage);
    }
    let unknown = SummarySettings {
        reference: Some("nope".into()),
        ..SummarySettings::default()
    };
    let rows = generate(0, 5, 1);
    let connection = create_store(&temp_dir("unknown-ref"), &rows, &study_toml(""));
    let error = summarise(&connection, Some(unknown)).expect_err("unknown reference");
    assert!(
        error.to_string().contains("nope") && error.to_string().contains("good, naive, biased"),
        "{error}"
    );
    let bad = study_toml("[summary]\nlevel = 95\n");
    let connection = create_store(&temp_dir("bad-level"), &rows, &bad);
    let error = summarise(&connection, None).expect_err("level 95");
    assert!(error.to_string().contains("level"), "{error}");
}

#[test]
fn every_format_renders_and_finish_run_writes_files() {
    let (_, summary, dir) = summary_of("formats", "", None);
    let table = report::table(&summary, &MeasureKind::ALL, 100);
    assert!(
        table.lines().all(|l| l.chars().count() <= 100),
        "table fits the width:\n{table}"
    );
    assert!(
        table.contains("coverage %") && table.contains("naive"),
        "{table}"
    );
    let csv = report::render(
        &summary,
        Format::Csv,
        &[MeasureKind::Bias, MeasureKind::Coverage],
    );
    let header = csv.lines().next().expect("header");
    assert_eq!(
        header,
        "condition,N,sigma,method,term,truth,used,failed,bias,bias_mcse,cover,cover_mcse,failures"
    );
    assert_eq!(csv.lines().count(), 25);
    let json: serde_json::Value =
        serde_json::from_str(&report::render(&summary, Format::Json, &MeasureKind::ALL))
            .expect("valid JSON");
    assert_eq!(json["rows"].as_array().map(Vec::len), Some(24));
    assert!(json["rows"][0]["measures"]["cover"]["mcse"].is_number());
    let markdown = report::render(&summary, Format::Markdown, &[MeasureKind::Bias]);
    assert!(
        markdown.contains("| N | sigma | method | term | truth | used | failed | bias |"),
        "{markdown}"
    );

    let store = parsim::store::Store::open_existing(&dir).expect("reopen");
    // The summary files are written as scratch files of the derived set, in place once it commits.
    let files = parsim::store::Derived::new(&dir, &["summary.csv", "summary.md"]);
    let printed = report::finish_run(&files, &store).expect("finish run");
    files.commit().expect("commit");
    assert!(printed.table.contains("Performance of synthetic"));
    let written_csv = std::fs::read_to_string(dir.join("summary.csv")).expect("summary.csv");
    assert_eq!(written_csv.lines().count(), 25);
    assert!(std::fs::read_to_string(dir.join("summary.md"))
        .expect("summary.md")
        .contains("| method |"));
}

#[test]
fn a_method_that_failed_every_fit_is_reported_with_no_estimates() {
    let rows: Vec<Row> = generate(0, 30, 11)
        .into_iter()
        .map(|mut r| {
            if r.condition == 2 && r.method == "biased" {
                r.status = "error";
                r.term = "";
            }
            r
        })
        .collect();
    // One fit row per replication remains for the failed method (the generator wrote one per term).
    let connection = create_store(&temp_dir("all-failed"), &rows, &study_toml(""));
    let summary = summarise(&connection, None).expect("summary");
    let row = summary
        .rows
        .iter()
        .find(|r| r.condition == 2 && r.method == "biased" && r.term == "X")
        .expect("the failed method still has a row");
    assert_eq!((row.measures.used, row.measures.failed), (0, 30));
    assert_eq!(row.measures.truth, -0.5, "truth from the other methods");
    assert!(row.measures.bias.estimate().is_none() && row.measures.coverage.estimate().is_none());
    assert!(row.measures.relative_precision.estimate().is_none());
    let table = report::table(&summary, &MeasureKind::ALL, 120);
    assert!(table.contains("NA"), "{table}");
}
