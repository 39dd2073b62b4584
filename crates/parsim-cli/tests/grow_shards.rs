//! A study run as shards and merged, then grown with a factor level inside the design order (which
//! renumbers the conditions) and run and merged again, gives results.csv and summary.csv
//! byte-identical to the grown study run fresh on one machine: with replications split across
//! shards, and with a stopping rule (shards split by condition, and on one machine).

use std::path::{Path, PathBuf};

mod common;
use common::parsim_ok;

/// The study at levels `n` of N (and `g` of n_groups); with a stopping rule when `adaptive`.
fn study(n: &str, g: &str, adaptive: bool) -> String {
    let (replications, stopping) = match adaptive {
        true => (
            10,
            "[stopping]\nmcse = { bias = 0.03 }\nround = 10\nmax_replications = 60\n",
        ),
        false => (7, ""),
    };
    format!(
        r#"
[study]
name = "grow-shards"
replications = {replications}
seed = 7

[parameters]
N = [{n}]
n_groups = [{g}]

[data]
program = """
group = integers(0, n_groups, N)
x = normal(0, 1, N)
y = 1 + 0.5 * x + normal(0, 1, n_groups)[group] + normal(0, 1, N)
"""

[methods.ols]
model = "ols"
formula = "y ~ x"

{stopping}
[estimands]
x = "0.5"
"#
    )
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

/// Runs every shard of `study_file` into `dir/shards/K` (resuming what is there), then merges; with
/// no shards, runs the study into `dir` itself.
fn run_shards(study_file: &Path, dir: &Path, shards: u64) {
    if shards == 0 {
        let out = dir.to_str().unwrap();
        parsim_ok(&["run", study_file.to_str().unwrap(), "--out", out, "--quiet"]);
        return;
    }
    for k in 1..=shards {
        // Task k − 1 runs shard k of M into shards/(k − 1), as `parsim slurm` lays them out.
        let out = dir.join("shards").join((k - 1).to_string());
        parsim_ok(&[
            "run",
            study_file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--shard",
            &format!("{k}/{shards}"),
            "--quiet",
        ]);
    }
    parsim_ok(&["merge", dir.to_str().unwrap()]);
}

fn grown_shards_equal_a_fresh_run(name: &str, adaptive: bool, shards: u64) {
    let root =
        std::env::temp_dir().join(format!("parsim-growshards-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let write = |file: &str, text: String| -> PathBuf {
        let path = root.join(file);
        std::fs::write(&path, text).unwrap();
        path
    };
    let small = write("small.toml", study("40, 70", "4, 6", adaptive));
    let grown = write("grown.toml", study("40, 55, 70", "4, 5, 6", adaptive));
    let sharded = root.join("sharded");
    run_shards(&small, &sharded, shards);
    let before = read(&sharded, "results.csv");
    run_shards(&grown, &sharded, shards);
    let fresh = root.join("fresh");
    parsim_ok(&[
        "run",
        grown.to_str().unwrap(),
        "--out",
        fresh.to_str().unwrap(),
        "--quiet",
    ]);
    for file in ["results.csv", "summary.csv"] {
        assert!(
            read(&sharded, file) == read(&fresh, file),
            "{name}: {file} of the grown, sharded study differs from a fresh run"
        );
    }
    // Every row merged before the growth is still there (the grown design has 9 conditions, the
    // small one 4: the stored rows were renumbered, not dropped).
    let after = read(&sharded, "results.csv");
    assert!(after.lines().count() > before.lines().count());
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_grown_sharded_study_equals_a_fresh_run() {
    grown_shards_equal_a_fresh_run("plain", false, 3);
}

#[test]
fn a_grown_sharded_adaptive_study_equals_a_fresh_run() {
    grown_shards_equal_a_fresh_run("adaptive", true, 3);
}

/// On one machine: the decisions of a grown adaptive study read its stored rows by their new numbers.
#[test]
fn a_grown_adaptive_study_equals_a_fresh_run() {
    grown_shards_equal_a_fresh_run("one-machine", true, 0);
}
