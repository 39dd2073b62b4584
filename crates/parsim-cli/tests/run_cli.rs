//! End-to-end tests of `parsim run`: determinism across workers and shards, a real SIGKILL and resume,
//! Ctrl-C, failing methods, a changed study refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{parsim, tempdir, BIN};

/// A small study with a design factor, a mixed model and OLS.
fn study_text(replications: u64, extra_method: &str) -> String {
    format!(
        r#"
[study]
name = "e2e"
replications = {replications}
seed = 11

[parameters]
N = [40, 80]
n_groups = 4
beta1 = 0.3

[data]
program = """
X = normal(0, 1, N)
group = integers(0, n_groups, N)
single = integers(0, 1, N)
u = normal(0, 0.7, n_groups)
response = 2 + u[group] + beta1 * X + normal(0, 1, N)
"""

[methods.ri]
model = "lmm"
formula = "response ~ X + (1 | group)"

[methods.ols]
model = "ols"
formula = "response ~ X"
{extra_method}
[estimands]
X = "beta1"
"#
    )
}

fn write_study(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("study.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "parsim failed: {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every estimate and fit row, bit patterns of the numbers, sorted: what must not depend on how we ran.
fn rows(out_dir: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(out_dir.join("results.sqlite")).unwrap();
    let mut rows = Vec::new();
    let mut stmt = conn
        .prepare(
            "SELECT condition, replication, method, term, kind, estimate, se, df, ci_lower, ci_upper, p_value, truth \
             FROM estimates",
        )
        .unwrap();
    let mut q = stmt.query([]).unwrap();
    while let Some(r) = q.next().unwrap() {
        let mut line = format!(
            "{} {} {} {} {}",
            r.get::<_, i64>(0).unwrap(),
            r.get::<_, i64>(1).unwrap(),
            r.get::<_, String>(2).unwrap(),
            r.get::<_, String>(3).unwrap(),
            r.get::<_, String>(4).unwrap()
        );
        for i in 5..12 {
            let v: Option<f64> = r.get(i).unwrap();
            line.push_str(&format!(" {:?}", v.map(f64::to_bits)));
        }
        rows.push(line);
    }
    let mut stmt = conn
        .prepare("SELECT condition, replication, method, status, message, iterations FROM fits")
        .unwrap();
    let mut q = stmt.query([]).unwrap();
    while let Some(r) = q.next().unwrap() {
        rows.push(format!(
            "fit {} {} {} {} {:?} {}",
            r.get::<_, i64>(0).unwrap(),
            r.get::<_, i64>(1).unwrap(),
            r.get::<_, String>(2).unwrap(),
            r.get::<_, String>(3).unwrap(),
            r.get::<_, Option<String>>(4).unwrap(),
            r.get::<_, i64>(5).unwrap()
        ));
    }
    rows.sort();
    rows
}

fn stored_replications(out_dir: &Path) -> i64 {
    let Ok(conn) = rusqlite::Connection::open(out_dir.join("results.sqlite")) else {
        return 0;
    };
    conn.query_row("SELECT count(*) FROM replications", [], |r| r.get(0))
        .unwrap_or(0)
}

#[test]
fn same_rows_for_jobs_and_shards() {
    let dir = tempdir("determinism");
    let study = write_study(&dir, &study_text(30, ""));
    let s = study.to_str().unwrap();
    let out = |name: &str| dir.join(name).to_str().unwrap().to_string();
    ok(&parsim(&[
        "run",
        s,
        "--jobs",
        "1",
        "--quiet",
        "--out",
        &out("j1"),
    ]));
    ok(&parsim(&[
        "run",
        s,
        "--jobs",
        "2",
        "--quiet",
        "--out",
        &out("j2"),
    ]));
    for k in 1..=3 {
        ok(&parsim(&[
            "run",
            s,
            "--jobs",
            "2",
            "--quiet",
            "--shard",
            &format!("{k}/3"),
            "--out",
            &out(&format!("s{k}")),
        ]));
    }
    let reference = rows(&dir.join("j1"));
    assert_eq!(
        reference.len(),
        60 * 6 + 60 * 2,
        "60 replications: 6 estimates and 2 fits each"
    );
    assert_eq!(rows(&dir.join("j2")), reference);
    let mut merged: Vec<String> = (1..=3)
        .flat_map(|k| rows(&dir.join(format!("s{k}"))))
        .collect();
    merged.sort();
    assert_eq!(merged, reference);
    let csv = std::fs::read_to_string(dir.join("j1").join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 60 * 6);
    assert!(csv.starts_with("condition,N,replication,method,term,kind,status,estimate"));
}

/// Start a long run, wait until its first replications are committed, send `signal`, and return its output.
fn interrupt_run(study: &str, out: &str, signal: &str) -> Output {
    let child = Command::new(BIN)
        .args(["run", study, "--jobs", "1", "--out", out])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while stored_replications(Path::new(out)) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the run stored nothing in 2 minutes"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait_with_output().unwrap()
}

// Many replications, so that the run is still going when the first batch is committed.
const LONG: u64 = 20_000;

#[test]
fn sigkill_then_resume_gives_the_rows_of_an_uninterrupted_run() {
    let dir = tempdir("sigkill");
    let study = write_study(&dir, &study_text(LONG, ""));
    let s = study.to_str().unwrap();
    let killed = dir.join("killed");
    let out = interrupt_run(s, killed.to_str().unwrap(), "-KILL");
    assert!(!out.status.success());
    let partial = stored_replications(&killed);
    assert!(
        partial > 0 && partial < 2 * LONG as i64,
        "killed mid-run: {partial} stored"
    );
    // Every stored replication is whole: 2 fits each.
    let conn = rusqlite::Connection::open(killed.join("results.sqlite")).unwrap();
    let fits: i64 = conn
        .query_row("SELECT count(*) FROM fits", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fits, 2 * partial);
    drop(conn);

    let resumed = parsim(&["run", s, "--jobs", "2", "--out", killed.to_str().unwrap()]);
    ok(&resumed);
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("already stored"));
    let clean = dir.join("clean");
    ok(&parsim(&[
        "run",
        s,
        "--jobs",
        "2",
        "--quiet",
        "--out",
        clean.to_str().unwrap(),
    ]));
    assert_eq!(rows(&killed), rows(&clean));
}

/// A run stopped by `signal` exits with `code`, names the signal, keeps what it stored, and prints a
/// command that resumes it: run as printed, it completes the study.
fn stops_cleanly_and_resumes(name: &str, signal: &str, code: i32) {
    let dir = tempdir(name);
    let study = write_study(&dir, &study_text(LONG, ""));
    let out_dir = dir.join("out");
    let out = interrupt_run(study.to_str().unwrap(), out_dir.to_str().unwrap(), signal);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!("interrupted (SIG{})", &signal[1..])),
        "{stderr}"
    );
    let partial = stored_replications(&out_dir);
    assert!(partial > 0 && partial < 2 * LONG as i64, "{partial}");
    let resume = stderr
        .lines()
        .find_map(|l| l.strip_prefix("Resume with: "))
        .unwrap_or_else(|| panic!("no resume command: {stderr}"));
    let resumed = Command::new("sh").args(["-c", resume]).output().unwrap();
    ok(&resumed);
    let said = String::from_utf8_lossy(&resumed.stderr);
    assert!(
        said.contains(&format!("({partial} already stored)")),
        "{said}"
    );
    assert_eq!(stored_replications(&out_dir), 2 * LONG as i64);
}

#[test]
fn ctrl_c_stops_cleanly_with_130_and_prints_the_resume_command() {
    stops_cleanly_and_resumes("sigint", "-INT", 130);
}

#[test]
fn sigterm_stops_cleanly_with_143_and_prints_the_resume_command() {
    stops_cleanly_and_resumes("sigterm", "-TERM", 143);
}

#[test]
fn failing_method_is_stored_and_the_run_completes() {
    let dir = tempdir("failing");
    let extra =
        "\n[methods.one_level]\nmodel = \"lmm\"\nformula = \"response ~ X + (1 | single)\"\n";
    let study = write_study(&dir, &study_text(10, extra));
    let out_dir = dir.join("out");
    let out = parsim(&[
        "run",
        study.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    // Stored, then exit 3: the method failed on every replication of a condition.
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("one_level: 20 fits error"), "{stderr}");
    let conn = rusqlite::Connection::open(out_dir.join("results.sqlite")).unwrap();
    let (errors, ok_fits): (i64, i64) = conn
        .query_row(
            "SELECT sum(method = 'one_level' AND status = 'error' AND message LIKE '%level%'), \
             sum(method != 'one_level' AND status IN ('ok', 'singular')) FROM fits",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((errors, ok_fits), (20, 40));
}

#[test]
fn a_changed_study_is_refused_unless_fresh() {
    let dir = tempdir("changed");
    let study = write_study(&dir, &study_text(3, ""));
    let out_dir = dir.join("out");
    let o = out_dir.to_str().unwrap();
    ok(&parsim(&[
        "run",
        study.to_str().unwrap(),
        "--quiet",
        "--out",
        o,
    ]));
    let before = rows(&out_dir);
    std::fs::write(&study, study_text(3, "").replace("seed = 11", "seed = 12")).unwrap();
    let refused = parsim(&["run", study.to_str().unwrap(), "--quiet", "--out", o]);
    // An edit that changes what the stored rows mean is the user's to undo: exit 2, naming the edit.
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("the seed changed (11 → 12)") && stderr.contains("--fresh"),
        "{stderr}"
    );
    assert_eq!(rows(&out_dir), before, "nothing stored is lost or changed");

    ok(&parsim(&[
        "run",
        study.to_str().unwrap(),
        "--quiet",
        "--fresh",
        "--out",
        o,
    ]));
    assert_ne!(rows(&out_dir), before);
    let aside = std::fs::read_dir(&out_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with("results.2") && n.ends_with(".sqlite")
        })
        .count();
    assert_eq!(aside, 1, "the old store is kept aside");
}

#[test]
fn a_data_only_study_stores_its_replications() {
    let dir = tempdir("data-only");
    let text = study_text(5, "");
    let start = text.find("[methods.ri]").unwrap();
    let end = text.find("[estimands]").unwrap();
    let study = write_study(&dir, &format!("{}{}", &text[..start], &text[end..]));
    let out_dir = dir.join("out");
    ok(&parsim(&[
        "run",
        study.to_str().unwrap(),
        "--quiet",
        "--out",
        out_dir.to_str().unwrap(),
    ]));
    assert_eq!(stored_replications(&out_dir), 10);
    assert_eq!(
        rows(&out_dir),
        Vec::<String>::new(),
        "no fits, no estimates"
    );
}
