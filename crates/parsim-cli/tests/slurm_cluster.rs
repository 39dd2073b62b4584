//! The Slurm support against a real (one-node) Slurm cluster: a study as a 4-task job array, merged, equal to a
//! local run; then a task cancelled before it ran, reported by `parsim merge`, rerun with the command merge
//! prints, and the study complete with rows equal to a local run.
//!
//! Skipped unless `PARSIM_SLURM_TEST=1`, so that `cargo test` does not depend on Slurm. To run it:
//! ```text
//! scripts/slurm-local.sh start
//! PARSIM_SLURM_TEST=1 cargo test --release -p parsim --test slurm_cluster -- --nocapture
//! scripts/slurm-local.sh stop
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod common;
use common::{tempdir, BIN};

const REPLICATIONS: &str = "40";
/// A guard against a cluster that never runs the job (not a timing assertion).
const JOB_DEADLINE: Duration = Duration::from_secs(900);

fn enabled() -> bool {
    if std::env::var("PARSIM_SLURM_TEST").as_deref() == Ok("1") {
        return true;
    }
    eprintln!(
        "skipped: the Slurm test needs a cluster; run `scripts/slurm-local.sh start`, then \
         `PARSIM_SLURM_TEST=1 cargo test -p parsim --test slurm_cluster`"
    );
    false
}

/// The seed study (three methods on the blog's data); a small study of our own if it is not there.
fn study_file(dir: &Path) -> PathBuf {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed-study.toml");
    if seed.is_file() {
        return seed;
    }
    let path = dir.join("study.toml");
    std::fs::write(
        &path,
        r#"
[study]
name = "slurm-fallback"
replications = 40
seed = 0

[parameters]
N = [200, 400]
n_groups = 5
beta1 = -0.5

[data]
program = """
X = normal(0, 1, N)
group = integers(0, n_groups, N)
u = normal(0, 1, n_groups)
response = 10 + u[group] + beta1 * X + normal(0, 1, N)
"""

[methods.random_intercept]
model = "lmm"
formula = "response ~ X + (1 | group)"

[methods.ols]
model = "ols"
formula = "response ~ X"

[estimands]
X = "beta1"
"#,
    )
    .unwrap();
    path
}

fn run(program: &str, args: &[&str]) -> Output {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    eprintln!(
        "$ {program} {}\n{}{}[exit {}]",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        out.status.code().map_or("signal".into(), |c| c.to_string())
    );
    out
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "command failed: {:?}", out.status);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every fit and estimate row with the bit patterns of its numbers, sorted.
fn rows(dir: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(dir.join("results.sqlite")).unwrap();
    let mut out = Vec::new();
    for sql in [
        "SELECT condition, replication, method, status, message, iterations FROM fits",
        "SELECT condition, replication, method, term, kind, estimate, se, df, ci_lower, ci_upper, p_value, truth \
         FROM estimates",
    ] {
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        let mapped = stmt
            .query_map([], |r| {
                let mut line = String::new();
                for i in 0..n {
                    line.push_str(&match r.get::<_, rusqlite::types::Value>(i)? {
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

/// Poll squeue until no task of `job` is left (what `parsim slurm --wait` does).
fn wait_for(job: &str) {
    let started = Instant::now();
    loop {
        let out = Command::new("squeue")
            .args([
                "-h",
                "-j",
                job,
                "-t",
                "PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED",
            ])
            .output()
            .unwrap();
        if out.status.success() && out.stdout.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        assert!(
            started.elapsed() < JOB_DEADLINE,
            "job {job} did not finish; is the cluster up (sinfo)?"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// (stored, owned, new) from a `  task K (shard K+1/M): S of O units stored[, N new]` line.
fn task_line(text: &str, task: u64) -> (u64, u64, Option<u64>) {
    let head = format!("task {task} (shard {}/4): ", task + 1);
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix(head.as_str()))
        .unwrap_or_else(|| panic!("{text}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[0], numbers[1], numbers.get(2).copied())
}

/// `sbatch ... --parsable`'s job id.
fn job_id(stdout: &str) -> String {
    stdout.trim().split(';').next().unwrap().to_string()
}

#[test]
fn job_array_equals_a_local_run_and_a_cancelled_task_is_rerun() {
    if !enabled() {
        return;
    }
    let dir = tempdir("cluster");
    let study = study_file(&dir);
    let local = dir.join("local");
    ok(&run(
        BIN,
        &[
            "run",
            path(&study),
            "--replications",
            REPLICATIONS,
            "--out",
            path(&local),
            "--quiet",
        ],
    ));
    let reference = rows(&local);
    assert!(!reference.is_empty());

    // 1. The study as a 4-task array: submitted, waited for, merged.
    let array = dir.join("array");
    let out = run(
        BIN,
        &[
            "slurm",
            path(&study),
            "--tasks",
            "4",
            "--replications",
            REPLICATIONS,
            "--out",
            path(&array),
            "--submit",
            "--wait",
        ],
    );
    let stdout = ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let job = stdout.lines().next().unwrap().trim().to_string();
    assert!(
        job.chars().all(|c| c.is_ascii_digit()) && !job.is_empty(),
        "job id first on stdout: {stdout}"
    );
    for k in 0..4 {
        assert!(
            stderr.contains(&format!("task {k}: COMPLETED, exit code 0:0")),
            "{stderr}"
        );
    }
    assert!(stderr.contains("complete: "), "{stderr}");
    assert_eq!(
        rows(&array),
        reference,
        "the merged array equals the local run"
    );
    assert_eq!(
        std::fs::read(array.join("results.csv")).unwrap(),
        std::fs::read(local.join("results.csv")).unwrap(),
        "results.csv byte for byte"
    );
    assert!(array.join("summary.csv").is_file());

    // 2. A fault: the array held, task 2 cancelled before it could start, then released.
    let fault = dir.join("fault");
    let planned = [
        "slurm",
        path(&study),
        "--tasks",
        "4",
        "--replications",
        REPLICATIONS,
        "--out",
        path(&fault),
    ];
    ok(&run(BIN, &planned));
    let script = fault.join("slurm/parsim.sbatch");
    let job = job_id(&ok(&run(
        "sbatch",
        &["--parsable", "--hold", path(&script)],
    )));
    ok(&run("scancel", &[&format!("{job}_2")]));
    ok(&run("scontrol", &["release", &job]));
    wait_for(&job);

    let status = run(BIN, &["status", path(&fault)]);
    let status_text = ok(&status);
    assert!(
        status_text.contains("task 2 (shard 3/4): no store"),
        "{status_text}"
    );
    let (stored, owned, _) = task_line(&status_text, 1);
    assert!(owned > 0 && stored == owned, "{status_text}");

    let merged = run(BIN, &["merge", path(&fault)]);
    assert_eq!(merged.status.code(), Some(1), "an incomplete merge exits 1");
    let report = String::from_utf8_lossy(&merged.stderr).into_owned();
    assert!(report.contains("task 2 (shard 3/4; no store"), "{report}");
    let rerun = format!("sbatch --array=2 {}", script.display());
    let rerun_line = report
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("sbatch "))
        .unwrap();
    assert_eq!(
        rerun_line, rerun,
        "merge names the task and the command that reruns it"
    );
    assert!(rows(&fault).len() < reference.len());

    // 3. The command merge printed, as a user would run it; then the study is complete and equal.
    let words: Vec<&str> = rerun_line.split_whitespace().collect();
    let mut args = vec!["--parsable"];
    args.extend(&words[1..]);
    let job = job_id(&ok(&run("sbatch", &args)));
    wait_for(&job);
    let merged = run(BIN, &["merge", path(&fault), "--quiet"]);
    ok(&merged);
    let report = String::from_utf8_lossy(&merged.stderr).into_owned();
    let (stored, owned, new) = task_line(&report, 2);
    assert!(
        owned > 0 && stored == owned && new == Some(owned),
        "task 2's units merged now: {report}"
    );
    assert_eq!(
        rows(&fault),
        reference,
        "after the rerun the study equals the local run"
    );

    // Merging again changes nothing.
    ok(&run(BIN, &["merge", path(&fault), "--quiet"]));
    assert_eq!(rows(&fault), reference);
    let _ = std::fs::remove_dir_all(&dir);
}
