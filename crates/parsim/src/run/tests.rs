use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::*;

fn study_text() -> String {
    crate::test_support::two_method_study("runner-unit", 12, 7)
}

fn options(out: PathBuf, jobs: usize, shard: Option<Shard>) -> RunOptions {
    RunOptions {
        jobs: Some(jobs),
        out,
        replications: None,
        shard,
        fresh: false,
        stop: Arc::new(AtomicBool::new(false)),
    }
}

fn rows(dir: &Path) -> Vec<String> {
    let store = Store::open_existing(dir).unwrap();
    let mut out = Vec::new();
    store
        .for_each_line(&mut |e| {
            out.push(format!(
                "{} {} {} {} {:?} {:x} {:?} {:?}",
                e.condition,
                e.replication,
                e.method,
                e.term,
                e.fit_status(),
                e.estimate().to_bits(),
                e.se().map(f64::to_bits),
                e.truth()
            ))
        })
        .unwrap();
    out.sort();
    out
}

/// Whether the store records the study as finished (every unit stored).
fn finished(dir: &Path) -> bool {
    let store = Store::open_existing(dir).unwrap();
    let at: Option<String> = store
        .connection()
        .query_row("SELECT finished_at FROM study", [], |r| r.get(0))
        .unwrap();
    at.is_some()
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("parsim-run-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn same_rows_for_any_number_of_workers_and_shards() {
    let study = Study::from_source(Path::new("unit.toml"), study_text()).unwrap();
    let one = tempdir("jobs1");
    let report = run(&study, &options(one.clone(), 1, None)).unwrap();
    assert_eq!(report.units_completed, 24);
    let two = tempdir("jobs2");
    run(&study, &options(two.clone(), 2, None)).unwrap();
    let sharded = tempdir("shards");
    for k in 1..=3 {
        run(
            &study,
            &options(sharded.clone(), 2, Some(Shard { index: k, count: 3 })),
        )
        .unwrap();
        assert_eq!(finished(&sharded), k == 3, "after shard {k} of 3");
    }
    assert!(finished(&one) && finished(&two));
    let reference = rows(&one);
    // 24 replications x (2 fixed + sd + sigma for the LMM, 2 fixed for OLS)
    assert_eq!(reference.len(), 24 * 6);
    assert_eq!(rows(&two), reference);
    assert_eq!(rows(&sharded), reference);

    // Running again computes nothing and changes nothing.
    let again = run(&study, &options(one.clone(), 2, None)).unwrap();
    assert_eq!((again.units_completed, again.units_already_stored), (0, 24));
    assert_eq!(rows(&one), reference);
    assert!(one.join("results.csv").is_file());
}

#[test]
fn a_run_removes_the_scratch_files_an_interrupted_one_left() {
    let study = Study::from_source(Path::new("unit.toml"), study_text()).unwrap();
    let dir = tempdir("leftovers");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["results.csv.partial", "study.toml.partial"] {
        std::fs::write(dir.join(name), vec![b'x'; 1 << 16]).unwrap();
    }
    run(&study, &options(dir.clone(), 1, None)).unwrap();
    assert!(!dir.join("results.csv.partial").exists());
    assert!(!dir.join("study.toml.partial").exists());
    assert!(dir.join("results.csv").is_file());
}

#[test]
fn a_signal_in_the_end_phase_keeps_the_store_and_writes_no_derived_file() {
    let study = Study::from_source(Path::new("unit.toml"), study_text()).unwrap();
    let dir = tempdir("end-signal");
    run(&study, &options(dir.clone(), 2, None)).unwrap();
    let reference = rows(&dir);
    // Everything is stored, so this run goes straight to its end phase, with the signal already
    // received: it reads nothing further, keeps every stored row, and leaves no derived file that could
    // disagree with the store (nor the old ones).
    let stopped = options(dir.clone(), 2, None);
    stopped.stop.store(true, Ordering::Relaxed);
    let report = run(&study, &stopped).unwrap();
    assert!(report.interrupted);
    assert!(report.summary.is_none());
    assert_eq!(rows(&dir), reference);
    for name in crate::store::DERIVED_FILES {
        assert!(!dir.join(name).exists(), "{name} kept");
        assert!(
            !dir.join(format!("{name}.partial")).exists(),
            "{name}.partial kept"
        );
    }
    // The next run writes them.
    let again = run(&study, &options(dir.clone(), 2, None)).unwrap();
    assert!(!again.interrupted && again.summary.is_some());
    assert!(dir.join("results.csv").is_file() && dir.join("summary.csv").is_file());
}

#[test]
fn a_store_read_stops_soon_after_the_signal() {
    let study = Study::from_source(Path::new("unit.toml"), study_text()).unwrap();
    let dir = tempdir("interrupt-read");
    run(&study, &options(dir.clone(), 1, None)).unwrap();
    let store = Store::open_existing(&dir).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    store.interrupt_when(Arc::clone(&stop));
    let mut lines = 0;
    store.for_each_line(&mut |_| lines += 1).unwrap();
    assert_eq!(lines, 24 * 6);
    stop.store(true, Ordering::Relaxed);
    // SQLite's progress handler ends the query: an error, not a silent half of the rows.
    let mut after = 0;
    assert!(store.for_each_line(&mut |_| after += 1).is_err());
    assert!(after < lines);
    let wrapped = Interruptible::new(&store, &stop);
    assert!(matches!(
        wrapped.for_each_usable(&mut |_| {}),
        Err(StoreError::Interrupted)
    ));
}

fn load(text: &str) -> Study {
    Study::from_source(Path::new("grow.toml"), text.to_string()).unwrap()
}

/// The grown study's text: more replications, a level appended to the first factor, a new method, a new
/// estimand, and comments.
fn grown_text() -> String {
    crate::test_support::two_method_study("grow", 5, 3)
        .replace("N = [40, 70]", "N = [40, 70, 90]   # a new level")
        .replace(
            "[estimands]\n",
            "[estimands]\n# the intercept too\n\"(Intercept)\" = \"1\"\n",
        )
}

#[test]
fn a_grown_study_stores_the_rows_of_the_same_study_run_fresh() {
    let base = crate::test_support::two_method_study("grow", 3, 3);
    let base = base.replace(
        "[methods.ols]\nmodel = \"ols\"\nformula = \"response ~ X\"\n",
        "",
    );
    let grown_dir = tempdir("grown");
    run(&load(&base), &options(grown_dir.clone(), 2, None)).unwrap();
    let stored = rows(&grown_dir);
    let report = run(&load(&grown_text()), &options(grown_dir.clone(), 2, None)).unwrap();
    // 2 conditions × 2 new replications + 1 new condition × 5, whole; 6 stored units gain the ols fit.
    assert_eq!(report.units_completed, 9);
    assert_eq!(report.units_already_stored, 6);
    let fresh_dir = tempdir("grown-fresh");
    run(&load(&grown_text()), &options(fresh_dir.clone(), 1, None)).unwrap();
    let grown = rows(&grown_dir);
    assert_eq!(grown, rows(&fresh_dir));
    let csv = |d: &Path| std::fs::read(d.join("results.csv")).unwrap();
    assert_eq!(csv(&grown_dir), csv(&fresh_dir));
    assert!(finished(&grown_dir));
    // Every stored row is kept as it was, except that the new estimand's truth is filled in.
    let strip = |row: &String| row.rsplit_once(' ').unwrap().0.to_string();
    let kept: Vec<String> = grown.iter().map(strip).collect();
    assert!(stored.iter().map(strip).all(|row| kept.contains(&row)));
    // Run again: nothing to do.
    let again = run(&load(&grown_text()), &options(grown_dir.clone(), 2, None)).unwrap();
    assert_eq!(again.units_completed, 0);
}

/// The rows of `rows(dir)` with each condition's number replaced by its parameters' values: what a row
/// means, whatever number its condition has.
fn rows_by_values(dir: &Path) -> Vec<String> {
    let conditions = Store::open_existing(dir).unwrap().conditions().unwrap();
    let mut out: Vec<String> = rows(dir)
        .into_iter()
        .map(|row| {
            let (c, rest) = row.split_once(' ').unwrap();
            let c: usize = c.parse().unwrap();
            format!("{:?} {rest}", conditions[c].parameters)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn levels_inserted_inside_the_design_order_give_the_rows_of_a_fresh_run() {
    let base = crate::test_support::two_method_study("inside", 2, 5)
        .replace("n_groups = 5", "n_groups = [4, 6]");
    let dir = tempdir("inside");
    run(&load(&base), &options(dir.clone(), 2, None)).unwrap();
    let before = rows_by_values(&dir);
    // A level inside the first factor's order and one inside the second's: every stored condition but
    // the first moves in the design order.
    let grown = base
        .replace("N = [40, 70]", "N = [40, 55, 70]")
        .replace("n_groups = [4, 6]", "n_groups = [4, 5, 6]");
    let report = run(&load(&grown), &options(dir.clone(), 2, None)).unwrap();
    assert_eq!(
        (report.units_completed, report.units_already_stored),
        (10, 8)
    );
    let fresh = tempdir("inside-fresh");
    run(&load(&grown), &options(fresh.clone(), 1, None)).unwrap();
    for file in ["results.csv", "summary.csv"] {
        let read = |d: &Path| std::fs::read(d.join(file)).unwrap();
        assert!(read(&dir) == read(&fresh), "{file}: grown against fresh");
    }
    assert_eq!(rows(&dir), rows(&fresh));
    // Every stored row is kept, under its condition's new number.
    let after = rows_by_values(&dir);
    assert!(before.iter().all(|row| after.contains(row)));
    assert_eq!(after.len(), before.len() * 9 / 4);
    let conditions = Store::open_existing(&dir).unwrap().conditions().unwrap();
    let numbered: Vec<(usize, f64, f64)> = conditions
        .iter()
        .map(|c| (c.index, c.parameters[0].1, c.parameters[1].1))
        .collect();
    let design: Vec<(usize, f64, f64)> = [40.0, 55.0, 70.0]
        .iter()
        .flat_map(|&n| [4.0, 5.0, 6.0].map(move |g| (n, g)))
        .enumerate()
        .map(|(i, (n, g))| (i, n, g))
        .collect();
    assert_eq!(
        numbered, design,
        "the store numbers its conditions in design order"
    );
    // Run again: nothing to do.
    let again = run(&load(&grown), &options(dir.clone(), 2, None)).unwrap();
    assert_eq!(again.units_completed, 0);
}

#[test]
fn an_edit_that_changes_stored_rows_is_refused_naming_it() {
    let base = crate::test_support::two_method_study("refuse", 2, 9);
    let dir = tempdir("refuse");
    run(&load(&base), &options(dir.clone(), 1, None)).unwrap();
    let cases = [
        (
            base.replace("seed = 9", "seed = 10"),
            "the seed changed (9 → 10)",
        ),
        (
            base.replace("+ normal(0, 1, N)", "+ normal(0, 2, N)"),
            "the data program changed",
        ),
        (
            base.replace(
                "formula = \"response ~ X\"",
                "formula = \"response ~ X\"\ncluster = \"group\"",
            ),
            "the options of method `ols` changed",
        ),
        (
            base.replace("beta1 = -0.5", "beta1 = -0.25"),
            "parameter `beta1` changed (-0.5 → -0.25)",
        ),
        (
            base.replace("X = \"beta1\"", "X = \"2 * beta1\""),
            "estimand `X` changed",
        ),
        (
            base.replace("N = [40, 70]", "N = [40]"),
            "no longer in the design",
        ),
    ];
    for (text, want) in cases {
        let err = run(&load(&text), &options(dir.clone(), 1, None)).unwrap_err();
        assert!(matches!(err, RunError::StudyChanged { .. }), "{err}");
        let message = err.to_string();
        assert!(
            message.contains(want) && message.contains("--fresh"),
            "{message}"
        );
    }
    // Comments, spacing and the program's line breaks keep the meaning: nothing to compute.
    let reformatted = base.replace("[study]", "# a comment\n[study]").replace(
        "X = normal(0, 1, N)",
        "# draw X\nX = normal(0,1,\n    N)  # rows",
    );
    let rows_before = rows(&dir);
    let report = run(&load(&reformatted), &options(dir.clone(), 1, None)).unwrap();
    assert_eq!(report.units_completed, 0);
    assert_eq!(rows(&dir), rows_before);
}

fn adaptive_text() -> String {
    crate::test_support::two_method_study("adaptive", 1000, 21).replace(
        "[estimands]",
        "[stopping]\nmcse = { bias = 0.02, coverage = 0.03 }\nestimands = [\"X\"]\nround = 20\nmax_replications = 400\n\n[estimands]",
    )
}

#[test]
fn a_stopping_rule_gives_the_same_rows_for_any_jobs_and_stops_within_a_round_of_its_targets() {
    let study = load(&adaptive_text());
    let one = tempdir("adaptive-1");
    let report = run(&study, &options(one.clone(), 1, None)).unwrap();
    let two = tempdir("adaptive-2");
    run(&study, &options(two.clone(), 2, None)).unwrap();
    assert_eq!(rows(&one), rows(&two));
    assert!(finished(&one));
    let summary = report.summary.unwrap().table;
    assert!(
        summary.contains("stopping rule: MCSE of bias = 0.02, coverage = 0.03"),
        "{summary}"
    );
    // Each condition stopped at the first whole round where every (method, X) met both targets, and
    // no later: recomputed here from the stored rows.
    let store = Store::open_existing(&one).unwrap();
    let rule = study.stopping.clone().unwrap();
    let used = std::fs::read_to_string(one.join("stopping.csv")).unwrap();
    let mut cells: std::collections::HashMap<(usize, String), Vec<(u64, crate::store::Replicate)>> =
        Default::default();
    store
        .for_each_usable(&mut |u| {
            if u.term == "X" {
                cells
                    .entry((u.condition, u.method.to_string()))
                    .or_default()
                    .push((u.replication, u.replicate));
            }
        })
        .unwrap();
    for line in used.lines().skip(1) {
        let parts: Vec<&str> = line.split(',').collect();
        let (c, n): (usize, u64) = (parts[0].parse().unwrap(), parts[1].parse().unwrap());
        let met = |n: u64| {
            cells
                .iter()
                .filter(|((cc, _), _)| *cc == c)
                .all(|(_, cell)| {
                    rule.targets
                        .iter()
                        .all(|&(m, t)| stopping::mcse(m, 0.05, cell, n).is_some_and(|x| x <= t))
                })
        };
        assert!(n % 20 == 0 && n <= 400, "{line}");
        assert!(n == 400 || met(n), "{line}: targets not met at {n}");
        assert!(n == 20 || !met(n - 20), "{line}: met a round earlier");
        let stored = store
            .completed_units()
            .unwrap()
            .iter()
            .filter(|u| u.condition == c)
            .count() as u64;
        assert_eq!(stored, n, "{line}");
    }
    // Resuming an adaptive study that is complete computes nothing.
    let again = run(&study, &options(one.clone(), 2, None)).unwrap();
    assert_eq!(again.units_completed, 0);
    // Shards split the conditions: shard 2/2 runs condition 1 to the same rounds, with the same rows.
    let shard: Shard = "2/2".parse().unwrap();
    let part = tempdir("adaptive-shard");
    let report = run(&study, &options(part.clone(), 1, Some(shard))).unwrap();
    assert!(report.summary.is_none(), "a shard's summary is the merge's");
    let whole: Vec<String> = rows(&one)
        .into_iter()
        .filter(|r| r.starts_with("1 "))
        .collect();
    assert_eq!(rows(&part), whole);
}
