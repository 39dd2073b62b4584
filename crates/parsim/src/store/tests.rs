use std::sync::Arc;

use super::*;
use crate::store::export_csv;

fn study(toml: &str) -> StudyRecord {
    StudyRecord {
        name: "t".into(),
        toml: toml.into(),
        hash: format!("hash-of-{toml}"),
        conditions: vec![
            StoredCondition {
                index: 0,
                label: "N=10".into(),
                parameters: vec![("N".into(), 10.0), ("b".into(), 0.5)],
                stream: 7,
            },
            StoredCondition {
                index: 1,
                label: "N=20".into(),
                parameters: vec![("N".into(), 20.0), ("b".into(), 0.5)],
                stream: 1 << 62,
            },
        ],
        factors: vec!["N".into()],
        methods: vec![
            ("m1".into(), "lmm".into(), Some("y ~ x + (1 | g)".into())),
            ("m2".into(), "ols".into(), Some("y ~ x".into())),
        ],
    }
}

fn replication(c: usize, r: u64) -> ReplicationRecord {
    let est = |v: f64| Estimate {
        term: Arc::from("x"),
        kind: TermKind::Fixed,
        estimate: v,
        se: Some(0.1),
        df: None,
        ci_lower: Some(v - 0.196),
        ci_upper: Some(v + 0.196),
        p_value: Some(0.5),
        truth: Some(0.5),
    };
    ReplicationRecord {
        condition: c,
        replication: r,
        seconds: 0.001,
        partial: false,
        fits: vec![
            FitRecord {
                method: 0,
                status: FitStatus::Ok,
                message: None,
                iterations: 12,
                seconds: 0.0,
                estimates: vec![est(r as f64)],
            },
            FitRecord {
                method: 1,
                status: FitStatus::Error,
                message: Some("boom".into()),
                iterations: 0,
                seconds: 0.0,
                estimates: vec![],
            },
        ],
    }
}

#[test]
fn writes_resumes_and_exports() {
    let dir = tempdir("writes");
    let s = study("a");
    let mut store = Store::create_or_resume(&dir, &s, false).unwrap();
    store
        .write_batch(&[replication(0, 0), replication(1, 2)])
        .unwrap();
    // Writing a replication twice keeps the first copy and does not fail; a new replication written
    // beside it (in the same group of statements) is stored.
    store
        .write_batch(&[replication(0, 0), replication(0, 1)])
        .unwrap();
    drop(store);

    let store = Store::create_or_resume(&dir, &s, false).unwrap();
    let done = store.completed_units().unwrap();
    let stored: Vec<(usize, u64)> = done.iter().map(|u| (u.condition, u.replication)).collect();
    assert_eq!(stored, [(0, 0), (0, 1), (1, 2)]);
    assert_eq!(store.methods().unwrap(), vec!["m1", "m2"]);
    assert_eq!(store.factors().unwrap(), vec!["N"]);
    assert_eq!(store.conditions().unwrap(), s.conditions);
    let mut rows = Vec::new();
    store
        .for_each_line(&mut |e| rows.push((e.condition, e.replication, e.fit_status())))
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0], (0, 0, FitStatus::Ok));
    let counts = store.fit_counts().unwrap();
    assert!(counts.iter().any(|c| c.method == "m2"
        && c.status == FitStatus::Error
        && c.count == 1
        && c.condition == 1));

    // Every fit, in (condition, replication, method position) order, with its status and message.
    let mut fits = Vec::new();
    store
        .for_each_fit(&mut |f| {
            fits.push((
                f.condition,
                f.replication,
                f.method.to_string(),
                f.status,
                f.message.map(String::from),
                f.iterations,
            ))
        })
        .unwrap();
    let m = |name: &str| name.to_string();
    assert_eq!(fits.len(), 6);
    assert_eq!(fits[0], (0, 0, m("m1"), FitStatus::Ok, None, Some(12)));
    assert_eq!(
        fits[1],
        (0, 0, m("m2"), FitStatus::Error, Some(m("boom")), Some(0))
    );
    assert_eq!((fits[5].0, fits[5].1, fits[5].2.as_str()), (1, 2, "m2"));

    let csv = dir.join("results.csv");
    assert_eq!(export_csv(&store, &csv).unwrap(), 3);
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "condition,N,replication,method,term,kind,status,estimate,se,df,ci_lower,ci_upper,p_value,truth"
    );
    assert_eq!(
        lines.next().unwrap(),
        "0,10,0,m1,x,fixed,ok,0.0,0.1,,-0.196,0.196,0.5,0.5"
    );
}

#[test]
fn refuses_a_changed_study_and_sets_it_aside_when_fresh() {
    let dir = tempdir("changed");
    let mut store = Store::create_or_resume(&dir, &study("a"), false).unwrap();
    store.write_batch(&[replication(0, 0)]).unwrap();
    drop(store);
    let err = Store::create_or_resume(&dir, &study("b"), false)
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::StudyChanged { .. }), "{err}");
    assert!(err.to_string().contains("--fresh"));

    let store = Store::create_or_resume(&dir, &study("b"), true).unwrap();
    assert_eq!(store.replications_done().unwrap(), 0);
    let aside: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("results.") && n.ends_with(".sqlite") && n != STORE_FILE)
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    // The old results are intact in the file set aside.
    let conn = rusqlite::Connection::open(dir.join(&aside[0])).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM replications", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn missing_store_is_a_clear_error() {
    let dir = tempdir("missing");
    let err = Store::open_existing(&dir).err().unwrap();
    assert!(err.to_string().contains("parsim run"), "{err}");
}

#[test]
fn a_store_of_another_format_is_refused_clearly() {
    let dir = tempdir("format");
    let store = Store::create_or_resume(&dir, &study("a"), false).unwrap();
    // What a store written before `estimates.position` existed reports.
    store
        .connection()
        .execute_batch("PRAGMA user_version = 0;")
        .unwrap();
    drop(store);
    let err = Store::create_or_resume(&dir, &study("a"), false)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("store format 0") && err.contains("reads format 4") && err.contains("--fresh"),
        "{err}"
    );
    // --fresh sets it aside (never deletes it) and starts a new store.
    let store = Store::create_or_resume(&dir, &study("a"), true).unwrap();
    assert!(store.completed_units().unwrap().is_empty());
    let aside = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("results.2"))
        .count();
    assert_eq!(aside, 1);
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("parsim-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
