//! `parsim run` checks what `parsim check` checks before any work (exit 2, nothing written); a method that
//! fails on every replication of a condition is stored, shown in every summary format with its failures
//! and most common message, and makes the run exit 3; the convergence rate is a measure with its MCSE.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{parsim, tempdir};

/// `k` groups: with one level (k = 1) the random-intercept model cannot be fitted; OLS can.
fn study_text(parameters: &str, program_extra: &str, estimands_extra: &str) -> String {
    format!(
        r#"
[study]
name = "checked"
replications = 20
seed = 11

[parameters]
N = 40
beta1 = 0.3
{parameters}

[data]
program = """
X = normal(0, 1, N)
group = integers(0, k, N)
u = normal(0, 0.7, k)
response = 2 + u[group] + beta1 * X + normal(0, 1, N)
{program_extra}
"""

[methods.ri]
model = "lmm"
formula = "response ~ X + (1 | group)"

[methods.ols]
model = "ols"
formula = "response ~ X"

[estimands]
X = "beta1"
{estimands_extra}
"#
    )
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `run` and `check` of `text` both exit 2 with the same diagnostic containing `expected`; `run` writes
/// nothing.
fn refused_like_check(name: &str, text: &str, expected: &str) {
    let dir = tempdir(name);
    let study = dir.join("study.toml");
    std::fs::write(&study, text).unwrap();
    let out_dir = dir.join("out");
    let run = parsim(&[
        "run",
        study.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let check = parsim(&["check", study.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert_eq!(check.status.code(), Some(2), "{}", stderr(&check));
    assert!(stderr(&run).contains(expected), "{}", stderr(&run));
    assert_eq!(
        stderr(&run),
        stderr(&check),
        "run reports what check reports"
    );
    assert!(
        !out_dir.exists(),
        "nothing is written before the check passes"
    );
}

#[test]
fn a_negative_sd_in_a_later_condition_is_refused_before_any_work() {
    let text = study_text("k = 4\nsd = [1, -1]", "noise = normal(0, sd, N)", "");
    refused_like_check("negative-sd", &text, "scale < 0");
}

#[test]
fn an_infinite_column_is_refused_before_any_work() {
    let text = study_text("k = 4\nz = [1, 0]", "w = X / z", "")
        .replace("formula = \"response ~ X\"", "formula = \"response ~ w\"");
    // X / 0 is -inf or inf by the sign of row 0's X: either is the diagnostic.
    refused_like_check("infinite", &text, "inf) in row 0");
}

#[test]
fn an_estimand_no_method_estimates_is_refused_before_any_work() {
    let text = study_text("k = 4", "", "Z = \"beta1\"");
    refused_like_check("estimand", &text, "no method estimates the term `Z`");
}

fn run_failing(dir: &Path) -> (Output, PathBuf) {
    let study = dir.join("study.toml");
    std::fs::write(&study, study_text("k = [4, 1]", "", "")).unwrap();
    let out_dir = dir.join("out");
    let run = parsim(&[
        "run",
        study.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    (run, out_dir)
}

const MESSAGE: &str = "grouping factor 'group' has only one level";

#[test]
fn a_method_failing_every_replication_of_a_condition_exits_3_after_storing_everything() {
    let dir = tempdir("failing");
    let (run, out_dir) = run_failing(&dir);
    assert_eq!(run.status.code(), Some(3), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("method `ri` failed on every replication of condition 1 (k=1)"),
        "{}",
        stderr(&run)
    );
    let conn = rusqlite::Connection::open(out_dir.join("results.sqlite")).unwrap();
    let (fits, errors): (i64, i64) = conn
        .query_row(
            "SELECT count(*), sum(status = 'error' AND condition = 1 AND method = 'ri') FROM fits",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((fits, errors), (80, 20), "every fit is stored");
    assert!(out_dir.join("results.csv").exists());

    // Every format shows the failed method in its condition, with its count and message.
    let text = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        text.contains("ri in k=1: every fit failed (20 of 20)") && text.contains(MESSAGE),
        "{text}"
    );
    let csv = std::fs::read_to_string(out_dir.join("summary.csv")).unwrap();
    let row = csv
        .lines()
        .find(|l| l.starts_with("1,1,ri,"))
        .expect("the failed method's row is kept");
    assert!(row.contains(",0,20,") && row.contains(MESSAGE), "{row}");
    let markdown = std::fs::read_to_string(out_dir.join("summary.md")).unwrap();
    assert!(
        markdown.contains("| k=1 | ri | 20 | 20 | 0 (0) | error: grouping factor"),
        "{markdown}"
    );
    let json = parsim(&["summary", out_dir.to_str().unwrap(), "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let fits = json["fits"].as_array().unwrap();
    let failed = fits
        .iter()
        .find(|f| f["condition"] == 1 && f["method"] == "ri")
        .unwrap();
    assert_eq!(failed["all_failed"], true);
    assert_eq!(failed["failed"], 20);
    assert_eq!(failed["reasons"][0]["count"], 20);
    assert!(failed["reasons"][0]["message"]
        .as_str()
        .unwrap()
        .contains(MESSAGE));
    // Resuming the finished run computes nothing and still says so.
    let again = parsim(&[
        "run",
        dir.join("study.toml").to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(again.status.code(), Some(3));
}

#[test]
fn the_convergence_rate_is_a_measure_with_its_mcse() {
    let dir = tempdir("convergence");
    let (_, out_dir) = run_failing(&dir);
    let csv = parsim(&[
        "summary",
        out_dir.to_str().unwrap(),
        "--format",
        "csv",
        "--measures",
        "conv",
    ]);
    let csv = String::from_utf8_lossy(&csv.stdout).into_owned();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("condition,k,method,term,truth,used,failed,conv,conv_mcse,failures")
    );
    let rows: Vec<&str> = lines.collect();
    // All 20 fits usable: 100% with MCSE √(1·0/20) = 0; none usable: 0% with MCSE 0.
    assert!(rows.contains(&"0,4,ri,X,0.3,20,0,100,0,"), "{csv}");
    assert!(
        rows.iter()
            .any(|r| r.starts_with("1,1,ri,X,0.3,0,20,0,0,error:")),
        "{csv}"
    );
}
