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
