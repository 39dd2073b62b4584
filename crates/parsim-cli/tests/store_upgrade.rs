//! A store written by the previous release (format 2, committed in tests/data/stores/format2) is upgraded
//! by the first writer: `summary` reads it as it is, and `run` keeps the original beside it and resumes
//! it to the same rows, byte for byte, as a fresh run of the same study drawing from the streams the old
//! store's conditions were drawn from (their numbers, which the upgrade records as their stream keys).

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::tempdir;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn parsim(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_parsim"))
        .args(args)
        .output()
        .expect("parsim runs");
    assert!(
        out.status.success(),
        "parsim {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// (format, stored replications) of a store file.
fn store_facts(path: &Path) -> (i64, i64) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let format = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let units = conn
        .query_row("SELECT count(*) FROM replications", [], |r| r.get(0))
        .unwrap();
    (format, units)
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_format_2_store_is_kept_upgraded_summarised_and_resumed() {
    let fixture = repo().join("tests/data/stores/format2");
    let dir = tempdir("resume");
    for file in ["study.toml", "results.sqlite"] {
        std::fs::copy(fixture.join(file), dir.join(file)).unwrap();
    }
    let (d, study) = (dir.to_str().unwrap(), dir.join("study.toml"));
    assert_eq!(store_facts(&dir.join("results.sqlite")), (2, 12));

    // Summarising reads the old store through an upgraded copy elsewhere: the directory is not touched.
    let summary = parsim(&["summary", d, "--format", "csv"]);
    assert!(String::from_utf8_lossy(&summary.stdout).contains("mixed"));
    // The store holds 6 of the study file's 10 replications per condition, and the summary says so.
    let said = String::from_utf8_lossy(&summary.stderr);
    assert!(
        said.contains("12 replications are stored of the 20 the study file asks for"),
        "{said}"
    );
    assert_eq!(store_facts(&dir.join("results.sqlite")), (2, 12));
    assert!(!dir.join("results.format2.sqlite").exists());

    // Resuming upgrades the store in place, keeping the original beside it, untouched; it computes
    // the 4 missing replications of each condition and no others.
    let run = parsim(&["run", study.to_str().unwrap(), "--out", d]);
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(
        said.contains("8 replications run (12 already stored)"),
        "{said}"
    );
    assert_eq!(store_facts(&dir.join("results.sqlite")), (4, 20));
    let conn = rusqlite::Connection::open(dir.join("results.sqlite")).unwrap();
    let streams: Vec<(i64, i64)> = conn
        .prepare("SELECT condition, stream FROM conditions ORDER BY condition")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        streams,
        [(0, 0), (1, 1)],
        "the old streams: the conditions' numbers"
    );
    drop(conn);
    assert_eq!(store_facts(&dir.join("results.format2.sqlite")), (2, 12));

    // A fresh run drawing from those streams: a new store whose conditions are given the old keys
    // before any replication is stored (a new store's keys are hashes of the values).
    let fresh = tempdir("fresh");
    let fresh_run = |replications: &str| {
        parsim(&[
            "run",
            study.to_str().unwrap(),
            "--out",
            fresh.to_str().unwrap(),
            "--replications",
            replications,
            "--quiet",
        ])
    };
    fresh_run("1");
    let conn = rusqlite::Connection::open(fresh.join("results.sqlite")).unwrap();
    conn.execute_batch(
        "DELETE FROM estimates; DELETE FROM fits; DELETE FROM replications;
         UPDATE conditions SET stream = condition;",
    )
    .unwrap();
    drop(conn);
    fresh_run("10");
    // The replications stored by the old release keep their values, which were computed with that
    // release's finite-difference Hessian for the Satterthwaite df: they differ from a fresh fit by
    // up to 2e-6 relative in df, 1e-6 in a CI bound. Rows computed by the resume must be identical.
    for file in ["results.csv", "summary.csv"] {
        let (resumed, fresh) = (text(&dir.join(file)), text(&fresh.join(file)));
        assert_close_tables(&resumed, &fresh, file);
    }
    assert_eq!(
        text(&dir.join("summary.md")),
        text(&fresh.join("summary.md")),
        "summary.md: the upgraded and resumed store against a fresh run"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&fresh);
}

/// Replications below this index were stored by the old release (tests/data/stores/format2/make.sh).
const STORED_REPLICATIONS: u32 = 6;

/// `resumed` against `fresh`, two CSV tables of the same rows and columns: equal text, except that
/// numbers in rows of a stored replication (results.csv) or in aggregates over them (summary.csv)
/// may differ by 1e-5 relative to max(1, |value|), five times the largest difference (2.1e-6).
fn assert_close_tables(resumed: &str, fresh: &str, file: &str) {
    let (a, b): (Vec<&str>, Vec<&str>) = (resumed.lines().collect(), fresh.lines().collect());
    assert_eq!(a.len(), b.len(), "{file}: row count");
    assert_eq!(a[0], b[0], "{file}: header");
    let replication = a[0].split(',').position(|c| c == "replication");
    for (row_a, row_b) in a.iter().zip(&b).skip(1) {
        let (fa, fb): (Vec<&str>, Vec<&str>) =
            (row_a.split(',').collect(), row_b.split(',').collect());
        assert_eq!(fa.len(), fb.len(), "{file}: {row_a} against {row_b}");
        let stored =
            replication.is_none_or(|r| fa[r].parse::<u32>().unwrap() < STORED_REPLICATIONS);
        if !stored {
            assert_eq!(row_a, row_b, "{file}: a replication computed by the resume");
            continue;
        }
        for (x, y) in fa.iter().zip(&fb) {
            if x == y {
                continue;
            }
            let (u, v): (f64, f64) = match (x.parse(), y.parse()) {
                (Ok(u), Ok(v)) => (u, v),
                _ => panic!("{file}: {x} against {y} in {row_a}"),
            };
            assert!(
                (u - v).abs() <= 1e-5 * u.abs().max(v.abs()).max(1.0),
                "{file}: {x} against {y} in {row_a}"
            );
        }
    }
}

/// `status` of a plain run's directory counts what the store holds against what the runs asked for
/// (recorded by the store, not the study file's default) and says how to complete it.
#[test]
fn status_of_a_partial_run_counts_against_what_it_asked_for() {
    let dir = tempdir("status");
    let study = repo().join("tests/data/stores/format2/study.toml");
    let (s, d) = (study.to_str().unwrap(), dir.to_str().unwrap());
    // Half of 30 replications per condition: shard 1 of 2 (the study file says 10).
    parsim(&[
        "run",
        s,
        "--out",
        d,
        "--replications",
        "30",
        "--shard",
        "1/2",
        "--quiet",
    ]);
    let out = parsim(&["status", d]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("2 conditions × 30 replications = 60 units"),
        "{said}"
    );
    assert!(said.contains("stored: 30 of 60 units (50.0%)"), "{said}");
    assert!(
        said.contains(&format!(
            "resume with: parsim run {d}/study.toml --out {d} --replications 30"
        )),
        "{said}"
    );
    parsim(&["run", s, "--out", d, "--replications", "30", "--quiet"]);
    let said = String::from_utf8_lossy(&parsim(&["status", d]).stdout).into_owned();
    assert!(
        said.contains("stored: 60 of 60 units (100.0%)") && !said.contains("resume"),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
