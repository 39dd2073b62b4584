use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::study::Study;

const STUDY: &str = r#"
[study]
name = "slurm-unit"
replications = 10
seed = 1

[parameters]
N = [40, 70]
beta1 = 0.5

[data]
program = """
X = normal(0, 1, N)
response = beta1 * X + normal(0, 1, N)
"""

[methods.ols]
model = "ols"
formula = "response ~ X"
"#;

fn study() -> Study {
    Study::from_source(Path::new("unit.toml"), STUDY.to_string()).unwrap()
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("parsim-slurm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A stand-in for the parsim binary that prints its arguments, one a line.
fn echo_binary(dir: &Path) -> PathBuf {
    let path = dir.join("fake parsim");
    std::fs::write(&path, "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

fn options(dir: &Path, tasks: u64, replications: Option<u64>) -> SlurmOptions {
    SlurmOptions {
        tasks,
        out: dir.join("out"),
        replications,
        resources: Resources {
            partition: Some("short".into()),
            time: Some("0:30:00".into()),
            cpus_per_task: 3,
            mem: Some("2G".into()),
        },
        binary: echo_binary(dir),
    }
}

#[test]
fn script_asks_for_the_resources_and_runs_one_shard_per_task() {
    let dir = tempdir("script");
    let plan = prepare(&study(), &options(&dir, 4, Some(40))).unwrap();
    let out = dir.join("out").canonicalize().unwrap();
    assert_eq!(plan.out, out);
    assert_eq!((plan.tasks, plan.replications, plan.units), (4, 40, 80));
    let script = std::fs::read_to_string(plan.script_path()).unwrap();
    for line in [
        "#!/bin/bash",
        "#SBATCH --job-name=parsim-slurm-unit",
        "#SBATCH --array=0-3",
        "#SBATCH --cpus-per-task=3",
        "#SBATCH --partition=short",
        "#SBATCH --time=0:30:00",
        "#SBATCH --mem=2G",
        &format!("#SBATCH --output={}/slurm/task-%a.out", out.display()),
        "#SBATCH --open-mode=append",
    ] {
        assert!(
            script.lines().any(|l| l == line),
            "missing {line:?} in\n{script}"
        );
    }
    // Every #SBATCH line comes before the first command, or sbatch ignores it.
    let first_command = script
        .lines()
        .position(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap();
    assert!(script
        .lines()
        .skip(first_command)
        .all(|l| !l.starts_with("#SBATCH")));
    // The study is frozen beside the script.
    assert_eq!(
        std::fs::read_to_string(out.join("slurm/study.toml")).unwrap(),
        STUDY
    );
    let manifest = read_manifest(&out).unwrap().unwrap();
    assert_eq!(
        (manifest.tasks, manifest.replications, manifest.conditions),
        (4, 40, 2)
    );
    assert_eq!(manifest.study_hash, crate::run::study_hash(STUDY));
}

/// Run the script as Slurm would run task `task` and return the arguments it passes to parsim.
fn task_arguments(script: &Path, task: &str, cpus: Option<&str>) -> Vec<String> {
    let mut cmd = Command::new("bash");
    cmd.arg(script)
        .env("SLURM_ARRAY_TASK_ID", task)
        .env_remove("SLURM_CPUS_PER_TASK");
    if let Some(c) = cpus {
        cmd.env("SLURM_CPUS_PER_TASK", c);
    }
    let output = cmd.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The first line is the task's banner.
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(String::from)
        .collect()
}

#[test]
fn each_task_runs_its_shard_with_the_binary_and_the_frozen_study() {
    let dir = tempdir("task");
    let plan = prepare(&study(), &options(&dir, 4, Some(40))).unwrap();
    let args = task_arguments(&plan.script_path(), "2", Some("3"));
    let expected = [
        "run".to_string(),
        plan.study.display().to_string(),
        "--shard".into(),
        "3/4".into(),
        "--jobs".into(),
        "3".into(),
        "--out".into(),
        plan.out.join("shards/2").display().to_string(),
        "--quiet".into(),
        "--replications".into(),
        "40".into(),
    ];
    assert_eq!(args, expected);
    // The binary's path has a space: it survived quoting. Without SLURM_CPUS_PER_TASK, one worker.
    let args = task_arguments(&plan.script_path(), "0", None);
    assert_eq!((args[3].as_str(), args[5].as_str()), ("1/4", "1"));
    // Outside a job array the script refuses to run.
    let outside = Command::new("bash")
        .arg(plan.script_path())
        .env_remove("SLURM_ARRAY_TASK_ID")
        .output()
        .unwrap();
    assert!(!outside.status.success());
    assert!(String::from_utf8_lossy(&outside.stderr).contains("submit this script with sbatch"));
}

#[test]
fn default_replications_and_resources() {
    let dir = tempdir("defaults");
    let mut opts = options(&dir, 3, None);
    opts.resources = Resources::default();
    let plan = prepare(&study(), &opts).unwrap();
    assert_eq!(plan.replications, 10, "the study file's");
    let script = std::fs::read_to_string(plan.script_path()).unwrap();
    assert!(script.contains("#SBATCH --cpus-per-task=1\n"));
    assert!(
        !script.contains("--partition") && !script.contains("--time") && !script.contains("--mem")
    );
    assert!(script.contains("--replications 10"));
    // The tasks read the frozen copy, but resolve the methods' file names (a Python method's `file`)
    // beside the study file that was submitted.
    let directory = crate::study::study_directory(&study().path);
    assert!(directory.is_absolute());
    let export = format!(
        "export PARSIM_STUDY_DIR={}\n",
        super::script::quote(&directory)
    );
    assert!(script.contains(&export), "{script}");
}

#[test]
fn bad_splits_are_refused() {
    let dir = tempdir("bad");
    let err = prepare(&study(), &options(&dir, 0, None)).unwrap_err();
    assert!(
        err.to_string().contains("--tasks must be at least 1"),
        "{err}"
    );
    let err = prepare(&study(), &options(&dir, 21, None)).unwrap_err();
    assert!(
        err.to_string()
            .contains("--tasks 21 exceeds the study's 20 units"),
        "{err}"
    );
}

#[test]
fn a_directory_with_shards_of_another_split_is_refused() {
    let dir = tempdir("replan");
    prepare(&study(), &options(&dir, 4, None)).unwrap();
    // Replanning without any shard stored yet is fine, and so is the same split with other resources.
    prepare(&study(), &options(&dir, 5, None)).unwrap();
    let mut same = options(&dir, 5, None);
    same.resources.cpus_per_task = 8;
    prepare(&study(), &same).unwrap();
    // Once a task has stored something, another split is refused.
    let shard = shard_dir(&dir.join("out"), 0);
    std::fs::create_dir_all(&shard).unwrap();
    std::fs::write(shard.join("results.sqlite"), b"").unwrap();
    let err = prepare(&study(), &options(&dir, 4, None)).unwrap_err();
    assert!(matches!(err, SlurmError::PlanChanged { .. }));
    assert!(
        err.to_string()
            .contains("already holds a job array for 5 tasks (this plan has 4)"),
        "{err}"
    );
    let other =
        Study::from_source(Path::new("o.toml"), STUDY.replace("seed = 1", "seed = 2")).unwrap();
    let err = prepare(&other, &options(&dir, 5, None)).unwrap_err();
    assert!(
        err.to_string().contains("another study (slurm-unit, hash"),
        "{err}"
    );
}
