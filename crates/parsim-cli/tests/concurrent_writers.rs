//! One writer per results directory: runs started at the same moment into one directory never lose or
//! mix results (the second is refused at once, exit 2, naming the first), and `--fresh` never
//! overwrites a store it set aside.

use std::path::Path;
use std::process::{Child, Command, Stdio};

mod common;
use common::tempdir;

const STUDY: &str = r#"[study]
name = "race"
replications = 400
seed = 3

[parameters]
N = 60

[data]
program = """
x = normal(0, 1, N)
y = 1 + 0.5 * x + normal(0, 1, N)
"""

[methods.ols]
model = "ols"
formula = "y ~ x"

[estimands]
x = "0.5"
"#;

fn spawn(study: &Path, out: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_parsim"))
        .arg("run")
        .arg(study)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("parsim starts")
}

/// Data lines of results.csv.
fn csv_rows(out: &Path) -> usize {
    std::fs::read_to_string(out.join("results.csv"))
        .map(|t| t.lines().count().saturating_sub(1))
        .unwrap_or(0)
}

#[test]
fn two_runs_started_together_never_lose_or_mix_results() {
    let dir = tempdir("pairs");
    let study = dir.join("study.toml");
    std::fs::write(&study, STUDY).unwrap();
    let mut refused = 0;
    for round in 0..20 {
        let out = dir.join(format!("out{round}"));
        let children = [spawn(&study, &out, &[]), spawn(&study, &out, &[])];
        for child in children {
            let done = child.wait_with_output().unwrap();
            let said = String::from_utf8_lossy(&done.stderr);
            match done.status.code() {
                Some(0) => {}
                Some(2) => {
                    refused += 1;
                    assert!(
                        said.contains("is being written by another parsim (")
                            && said.contains("wait for it to finish"),
                        "round {round}: {said}"
                    );
                }
                other => panic!("round {round}: exit {other:?}: {said}"),
            }
        }
        // Whoever won, the directory holds the whole study, once, and the files agree with the store.
        assert_eq!(
            csv_rows(&out),
            800,
            "round {round}: 400 replications × 2 terms"
        );
        let again = Command::new(env!("CARGO_BIN_EXE_parsim"))
            .arg("run")
            .arg(&study)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&again.stderr);
        assert!(
            said.contains("0 replications run (400 already stored)"),
            "round {round}: {said}"
        );
    }
    // Started together, the second usually finds the first at work (a tally, not a timing assertion).
    eprintln!("{refused} of 20 second runs were refused");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fresh_runs_in_one_second_keep_every_store_they_set_aside() {
    let dir = tempdir("fresh");
    let out = dir.join("out");
    let mut kept = 0;
    for seed in 0..3 {
        // A different study each time (another seed), so each run sets the previous store aside.
        let study = dir.join(format!("study{seed}.toml"));
        std::fs::write(&study, STUDY.replace("seed = 3", &format!("seed = {seed}"))).unwrap();
        let done = spawn(&study, &out, &["--fresh"])
            .wait_with_output()
            .unwrap();
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
        kept = std::fs::read_dir(&out)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with("results.")
                    && name.ends_with(".sqlite")
                    && name != "results.sqlite"
            })
            .count();
        assert_eq!(kept, seed, "every earlier store is kept beside the new one");
    }
    assert_eq!(kept, 2);
    // A store that is not a store (an empty file left by a crash) is set aside too, not deleted.
    std::fs::write(out.join("results.sqlite"), b"").unwrap();
    let study = dir.join("study0.toml");
    let done = spawn(&study, &out, &["--fresh"])
        .wait_with_output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert_eq!(csv_rows(&out), 800);
    let _ = std::fs::remove_dir_all(&dir);
}
