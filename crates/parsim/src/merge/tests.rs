use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::*;
use crate::run::{run, RunOptions, Shard};
use crate::slurm::{prepare, Resources, SlurmOptions};
use rusqlite::Connection;

/// Two conditions, a mixed model and OLS: 2 × 10 = 20 units, small enough for debug builds.
fn study_text(seed: u64) -> String {
    crate::test_support::two_method_study("merge-unit", 10, seed)
}

fn study(seed: u64) -> Study {
    Study::from_source(Path::new("merge-unit.toml"), study_text(seed)).unwrap()
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("parsim-merge-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run_into(study: &Study, out: PathBuf, shard: Option<Shard>) {
    let options = RunOptions {
        jobs: Some(2),
        out,
        replications: None,
        shard,
        fresh: false,
        stop: Arc::new(AtomicBool::new(false)),
    };
    run(study, &options).unwrap();
}

/// Run shard k+1/m of `study` as array task k would, into `dir/shards/k`.
fn run_task(study: &Study, dir: &Path, k: u64, m: u64) {
    run_into(
        study,
        shard_dir(dir, k),
        Some(Shard {
            index: k + 1,
            count: m,
        }),
    );
}

/// Every fit and estimate row with the bit patterns of its numbers, sorted.
fn rows(dir: &Path) -> Vec<String> {
    let conn = Connection::open(dir.join(STORE_FILE)).unwrap();
    let mut out = Vec::new();
    for sql in [
        "SELECT condition, replication, method, status, coalesce(message, ''), iterations FROM fits",
        "SELECT condition, replication, method, term || ' ' || kind, estimate, se, truth FROM estimates",
    ] {
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        let mapped = stmt
            .query_map([], |r| {
                let mut line = String::new();
                for i in 0..n {
                    let v: rusqlite::types::Value = r.get(i)?;
                    line.push_str(&match v {
                        rusqlite::types::Value::Real(x) => format!("{:016x} ", x.to_bits()),
                        other => format!("{other:?} "),
                    });
                }
                Ok(line)
            })
            .unwrap();
        out.extend(mapped.map(Result::unwrap));
    }
    out.sort();
    out
}

fn reference_rows(study: &Study, name: &str) -> Vec<String> {
    let whole = tempdir(name);
    run_into(study, whole.clone(), None);
    rows(&whole)
}

#[test]
fn merged_shards_equal_a_single_run_and_merging_twice_changes_nothing() {
    let study = study(3);
    let reference = reference_rows(&study, "whole");
    // 20 units × (ri: 2 fixed + sd + sigma; ols: 2 fixed) estimates, plus 20 × 2 fits.
    assert_eq!(reference.len(), 20 * 6 + 20 * 2);

    let dir = tempdir("three");
    for k in 0..3 {
        run_task(&study, &dir, k, 3);
    }
    let first = merge(&dir, &MergeOptions::default()).unwrap();
    assert!(first.survey.is_complete());
    assert_eq!(first.survey.tasks, 3, "inferred from the shard directories");
    assert_eq!(first.copied, vec![(0, 7), (1, 7), (2, 6)]);
    assert_eq!(first.csv_rows, 20 * 6);
    assert_eq!(rows(&dir), reference);
    assert!(first.survey.describe_missing().is_empty());
    assert_eq!(
        std::fs::read_to_string(dir.join("study.toml")).unwrap(),
        study.source
    );
    let csv = std::fs::read_to_string(dir.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 20 * 6);

    let second = merge(&dir, &MergeOptions::default()).unwrap();
    assert_eq!(
        second.copied,
        vec![(0, 0), (1, 0), (2, 0)],
        "nothing new to copy"
    );
    assert_eq!(rows(&dir), reference);
    assert_eq!(
        std::fs::read_to_string(dir.join("results.csv")).unwrap(),
        csv
    );
    let finished: Option<String> = Connection::open(dir.join(STORE_FILE))
        .unwrap()
        .query_row("SELECT finished_at FROM study", [], |r| r.get(0))
        .unwrap();
    assert!(
        finished.is_some(),
        "a complete merge marks the study finished"
    );
}

#[test]
fn missing_task_is_reported_with_its_units_and_rerun_completes_the_study() {
    let study = study(5);
    let reference = reference_rows(&study, "whole-missing");
    let dir = tempdir("missing");
    // Task 1 of 4 never ran.
    for k in [0, 2, 3] {
        run_task(&study, &dir, k, 4);
    }
    let options = MergeOptions {
        tasks: Some(4),
        replications: None,
    };
    let report = merge(&dir, &options).unwrap();
    let survey = &report.survey;
    assert!(!survey.is_complete());
    // Units (c, r) with (c + r) % 4 == 1: condition 0 replications 1, 5, 9; condition 1 replications 0, 4, 8.
    let units = [(0, 1), (0, 5), (0, 9), (1, 0), (1, 4), (1, 8)];
    assert_eq!(
        survey.missing(),
        vec![MissingTask {
            task: 1,
            units: units.iter().map(|&(c, r)| Unit::new(c, r)).collect()
        }]
    );
    let text = survey.describe_missing();
    assert!(text.contains("missing: 6 of 20 units"), "{text}");
    assert!(text.contains("task 1 (shard 2/4; no store"), "{text}");
    assert!(
        text.contains("condition 0 (N=40): replications 1-9 (every 4th)"),
        "{text}"
    );
    assert!(
        text.contains("condition 1 (N=70): replications 0-8 (every 4th)"),
        "{text}"
    );
    // Without a batch script, the rerun is a `parsim run --shard`.
    assert_eq!(survey.rerun_commands().len(), 1);
    assert!(
        survey.rerun_commands()[0].contains("--shard 2/4 --replications 10 --out"),
        "{text}"
    );
    assert_eq!(
        rows(&dir).len(),
        14 * 8,
        "the merged store holds the 14 stored units"
    );

    run_task(&study, &dir, 1, 4);
    let report = merge(&dir, &options).unwrap();
    assert!(report.survey.is_complete());
    assert_eq!(report.copied, vec![(0, 0), (1, 6), (2, 0), (3, 0)]);
    assert_eq!(rows(&dir), reference);
}

#[test]
fn rerun_command_uses_the_batch_script_and_the_recorded_split() {
    let study = study(5);
    let dir = tempdir("planned");
    let fake_binary = dir.join("parsim-binary");
    std::fs::write(&fake_binary, "").unwrap();
    let options = SlurmOptions {
        tasks: 4,
        out: dir.clone(),
        replications: Some(6),
        resources: Resources::default(),
        binary: fake_binary,
    };
    let plan = prepare(&study, &options).unwrap();
    // Tasks 0 and 2 ran; 1 and 3 did not. The split (4 tasks, 6 replications) comes from array.json.
    let six = Study::from_source(Path::new("six.toml"), study.source.clone()).unwrap();
    for k in [0, 2] {
        let options = RunOptions {
            jobs: Some(1),
            out: shard_dir(&plan.out, k),
            replications: Some(6),
            shard: Some(Shard {
                index: k + 1,
                count: 4,
            }),
            fresh: false,
            stop: Arc::new(AtomicBool::new(false)),
        };
        run(&six, &options).unwrap();
    }
    let survey = survey(&plan.out, &MergeOptions::default()).unwrap();
    assert_eq!(
        (survey.tasks, survey.replications, survey.units()),
        (4, 6, 12)
    );
    assert_eq!(survey.units_done(), 6);
    let missing: Vec<u64> = survey.missing().iter().map(|m| m.task).collect();
    assert_eq!(missing, vec![1, 3]);
    let script = plan.out.join("slurm").join("parsim.sbatch");
    assert_eq!(
        survey.rerun_commands(),
        vec![format!("sbatch --array=1,3 {}", script.display())]
    );
    assert!(survey.merged.is_none(), "a survey writes nothing");
    assert!(!plan.out.join(STORE_FILE).exists());
}

#[test]
fn shards_of_different_studies_are_refused() {
    let dir = tempdir("mismatch");
    run_task(&study(5), &dir, 0, 2);
    run_task(&study(6), &dir, 1, 2);
    let err = merge(&dir, &MergeOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, MergeError::Mismatch { .. }), "{text}");
    assert!(
        text.contains("shards/0/results.sqlite: study merge-unit, hash"),
        "{text}"
    );
    assert!(
        text.contains(" * shards/1/results.sqlite"),
        "the odd one is marked: {text}"
    );
    assert!(!dir.join(STORE_FILE).exists(), "nothing merged");
}

#[test]
fn shards_of_different_parsim_versions_are_refused() {
    let study = study(5);
    let dir = tempdir("version");
    run_task(&study, &dir, 0, 2);
    run_task(&study, &dir, 1, 2);
    let shard = Connection::open(shard_dir(&dir, 1).join(STORE_FILE)).unwrap();
    shard
        .execute("UPDATE study SET parsim_version = '0.0.1-other'", [])
        .unwrap();
    drop(shard);
    let text = merge(&dir, &MergeOptions::default())
        .unwrap_err()
        .to_string();
    assert!(text.contains("parsim 0.0.1-other"), "{text}");
    assert!(
        text.contains("same study with the same parsim version"),
        "{text}"
    );
}

#[test]
fn a_merged_store_of_another_study_is_refused() {
    let dir = tempdir("merged-other");
    run_into(&study(9), dir.clone(), None);
    run_task(&study(5), &dir, 0, 1);
    let text = merge(&dir, &MergeOptions::default())
        .unwrap_err()
        .to_string();
    // Not a growth of the merged store's study: refused, naming the store and the edit.
    assert!(
        text.contains("results.sqlite holds results of another version"),
        "{text}"
    );
    assert!(text.contains("the seed changed (9 → 5)"), "{text}");
}

#[test]
fn only_units_with_a_completion_marker_are_copied() {
    let study = study(5);
    let dir = tempdir("markers");
    run_task(&study, &dir, 0, 1);
    // As if the shard had crashed mid-write of unit (1, 4): rows without their marker.
    let shard = Connection::open(shard_dir(&dir, 0).join(STORE_FILE)).unwrap();
    shard
        .execute(
            "DELETE FROM replications WHERE condition = 1 AND replication = 4",
            [],
        )
        .unwrap();
    drop(shard);
    let report = merge(&dir, &MergeOptions::default()).unwrap();
    assert_eq!(report.copied, vec![(0, 19)]);
    assert_eq!(
        report.survey.missing(),
        vec![MissingTask {
            task: 0,
            units: vec![Unit::new(1, 4)]
        }]
    );
    let conn = Connection::open(dir.join(STORE_FILE)).unwrap();
    let orphans: i64 = conn
        .query_row(
            "SELECT count(*) FROM estimates WHERE condition = 1 AND replication = 4",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
}

#[test]
fn failed_fits_are_counted_per_task() {
    let study = study(5);
    let dir = tempdir("failures");
    run_task(&study, &dir, 0, 2);
    run_task(&study, &dir, 1, 2);
    for (k, n) in [(0, 2), (1, 1)] {
        let shard = Connection::open(shard_dir(&dir, k).join(STORE_FILE)).unwrap();
        shard
            .execute(
                "UPDATE fits SET status = 'not_converged', message = 'max evaluations' WHERE method = 'ri' \
                 AND (condition, replication) IN \
                 (SELECT condition, replication FROM fits WHERE method = 'ri' LIMIT ?1)",
                [n],
            )
            .unwrap();
    }
    let survey = survey(&dir, &MergeOptions::default()).unwrap();
    assert_eq!(survey.failures.len(), 1);
    let f = &survey.failures[0];
    assert_eq!(
        (f.method.as_str(), f.status, f.count),
        ("ri", FitStatus::NotConverged, 3)
    );
    assert_eq!(f.per_task, vec![(0, 2), (1, 1)]);
    let text = survey.describe_failures();
    assert!(
        text.contains("ri: 3 not_converged (task 0: 2, task 1: 1); e.g. max evaluations"),
        "{text}"
    );
}

#[test]
fn no_shards_is_a_clear_error() {
    let dir = tempdir("empty");
    let text = merge(&dir, &MergeOptions::default())
        .unwrap_err()
        .to_string();
    assert!(text.contains("has no shard stores"), "{text}");
}

#[test]
fn compact_lists() {
    assert_eq!(compact_list(&[], false), "");
    assert_eq!(compact_list(&[4], false), "4");
    assert_eq!(compact_list(&[0, 1, 2, 3, 9], false), "0-3, 9");
    assert_eq!(compact_list(&[1, 5, 9, 13], false), "1-13 (every 4th)");
    assert_eq!(compact_list(&[1, 2, 5, 9], false), "1, 2, 5, 9");
    assert_eq!(compact_list(&[0, 2, 4, 10, 11, 12], true), "0-4:2,10-12");
    assert_eq!(compact_list(&[3, 14, 25], false), "3-25 (every 11th)");
    assert_eq!(compact_list(&[0, 21, 42], false), "0-42 (every 21st)");
}
