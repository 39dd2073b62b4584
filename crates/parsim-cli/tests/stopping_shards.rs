//! An adaptive study (`[stopping]`) gives the same rows with `--jobs 1`, `--jobs 2` and three shards run as
//! separate processes and merged, and each condition stops at the first whole round where its targets
//! hold (recomputed here from results.csv); the summary's rule and counts survive the merge.

use std::path::Path;

mod common;
use common::{parsim_ok, tempdir};

const ROUND: u64 = 20;
const BIAS_TARGET: f64 = 0.015;
const COVERAGE_TARGET: f64 = 0.03;

/// Three conditions whose estimates' spread differs (N = 40, 60, 80), so they need different numbers of
/// rounds: bias MCSE ≈ 1/√(N n) reaches 0.015 at n ≈ 110 for N = 40 but ≈ 55 for N = 80.
fn study_text() -> String {
    format!(
        r#"
[study]
name = "adaptive-shards"
replications = 10
seed = 5

[parameters]
N = [40, 60, 80]
beta1 = 0.4

[data]
program = """
X = normal(0, 1, N)
response = 1 + beta1 * X + normal(0, 1, N)
"""

[methods.ols]
model = "ols"
formula = "response ~ X"

[stopping]
mcse = {{ bias = {BIAS_TARGET}, coverage = {COVERAGE_TARGET} }}
round = {ROUND}
max_replications = 400

[estimands]
X = "beta1"
"#
    )
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

/// (estimate, covered) of each replication of condition `c`, in replication order, from results.csv.
fn estimates(csv: &str, c: usize) -> Vec<(u64, f64, bool)> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f[at("condition")] == c.to_string() && f[at("term")] == "X")
        .map(|f| {
            let x = |name: &str| f[at(name)].parse::<f64>().unwrap();
            let covered = x("ci_lower") <= x("truth") && x("truth") <= x("ci_upper");
            (x("replication") as u64, x("estimate"), covered)
        })
        .collect()
}

/// Whether both targets hold after the first `n` replications (Morris et al. 2019's MCSEs).
fn met(rows: &[(u64, f64, bool)], n: u64) -> bool {
    let first: Vec<&(u64, f64, bool)> = rows.iter().filter(|r| r.0 < n).collect();
    let k = first.len() as f64;
    let mean = first.iter().map(|r| r.1).sum::<f64>() / k;
    let var = first.iter().map(|r| (r.1 - mean).powi(2)).sum::<f64>() / (k - 1.0);
    let p = first.iter().filter(|r| r.2).count() as f64 / k;
    (var / k).sqrt() <= BIAS_TARGET && (p * (1.0 - p) / k).sqrt() <= COVERAGE_TARGET
}

#[test]
fn three_merged_shards_give_the_rows_of_one_machine_and_stop_within_a_round() {
    let dir = tempdir("run");
    let study = dir.join("study.toml");
    std::fs::write(&study, study_text()).unwrap();
    let s = study.to_str().unwrap();
    let out = |name: &str| dir.join(name).to_str().unwrap().to_string();
    for (jobs, name) in [("1", "j1"), ("2", "j2")] {
        parsim_ok(&["run", s, "--jobs", jobs, "--quiet", "--out", &out(name)]);
    }
    let array = dir.join("array");
    for k in 1..=3 {
        let shard = array.join("shards").join((k - 1).to_string());
        let shard = shard.to_str().unwrap();
        parsim_ok(&[
            "run",
            s,
            "--shard",
            &format!("{k}/3"),
            "--quiet",
            "--out",
            shard,
        ]);
    }
    let merged = parsim_ok(&["merge", array.to_str().unwrap()]);
    let printed = String::from_utf8_lossy(&merged.stdout);
    assert!(
        printed.contains("stopping rule: MCSE of bias = 0.015, coverage = 0.03"),
        "{printed}"
    );

    let j1 = dir.join("j1");
    for file in ["results.csv", "summary.csv", "stopping.csv"] {
        assert_eq!(
            read(&dir.join("j2"), file),
            read(&j1, file),
            "{file}: --jobs 2"
        );
        assert_eq!(
            read(&array, file),
            read(&j1, file),
            "{file}: three merged shards"
        );
    }

    let csv = read(&j1, "results.csv");
    let used = read(&j1, "stopping.csv");
    let mut counts = Vec::new();
    for line in used.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (c, n): (usize, u64) = (f[0].parse().unwrap(), f[1].parse().unwrap());
        assert_eq!(f[2], "targets", "{line}");
        let rows = estimates(&csv, c);
        assert_eq!(
            rows.len() as u64,
            n,
            "condition {c} stores exactly its rounds"
        );
        assert_eq!(n % ROUND, 0, "{line}");
        assert!(met(&rows, n), "{line}: targets not met at {n}");
        assert!(
            n == ROUND || !met(&rows, n - ROUND),
            "{line}: met a round earlier"
        );
        counts.push(n);
    }
    assert_eq!(counts.len(), 3);
    // The conditions needed different numbers of rounds: the split is not trivially uniform.
    assert!(counts[0] > counts[2], "{counts:?}");
}
