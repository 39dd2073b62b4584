//! A store written by the previous release (format 2, committed in tests/data/stores/format2) is upgraded
//! on first use: the original is kept beside it, `summary` reads it, and `run` resumes it to the same
//! rows, byte for byte, as a fresh run of the same study.

use std::path::{Path, PathBuf};
use std::process::Command;

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

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("parsim-upgrade-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
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

    // Summarising the old store upgrades it and keeps the original beside it, untouched.
    let summary = parsim(&["summary", d, "--format", "csv"]);
    assert!(String::from_utf8_lossy(&summary.stdout).contains("mixed"));
    // The store holds 6 of the study file's 10 replications per condition, and the summary says so.
    let said = String::from_utf8_lossy(&summary.stderr);
    assert!(
        said.contains("12 replications are stored of the 20 the study file asks for"),
        "{said}"
    );
    assert_eq!(store_facts(&dir.join("results.format2.sqlite")), (2, 12));
    assert_eq!(store_facts(&dir.join("results.sqlite")), (3, 12));

    // Resuming computes the 4 missing replications of each condition and no others.
    let run = parsim(&["run", study.to_str().unwrap(), "--out", d]);
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(
        said.contains("8 replications run (12 already stored)"),
        "{said}"
    );
    assert_eq!(store_facts(&dir.join("results.sqlite")), (3, 20));

    let fresh = tempdir("fresh");
    parsim(&[
        "run",
        study.to_str().unwrap(),
        "--out",
        fresh.to_str().unwrap(),
        "--quiet",
    ]);
    for file in ["results.csv", "summary.csv", "summary.md"] {
        assert_eq!(
            text(&dir.join(file)),
            text(&fresh.join(file)),
            "{file}: the upgraded and resumed store against a fresh run"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&fresh);
}
