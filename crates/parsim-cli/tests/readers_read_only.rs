//! The readers (`summary`, `status`, `plot`) open the store read-only: they work on read-only files,
//! directories and mounts, as a user who does not own them, and leave the directory byte for byte as it
//! was (no new file: no `-wal` or `-shm` beside the store; every file's bytes and modification time
//! unchanged).
//!
//! Tests usually run as root, which ignores file permissions: there the readers run as the user
//! `nobody` (uid 65534), for whom `chmod a-w` holds, and once more on a read-only bind mount.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

const BIN: &str = env!("CARGO_BIN_EXE_parsim");

const STUDY: &str = r#"
[study]
name = "readonly"
replications = 12
seed = 5

[parameters]
N = [30, 60]
slope = 0.4

[data]
program = """
x = normal(0, 1, N)
y = 1 + slope * x + normal(0, 1, N)
"""

[methods.ols]
model = "ols"
formula = "y ~ x"

[estimands]
x = "slope"
"#;

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("parsim-ro-{name}-{}", std::process::id()));
    let _ = Command::new("chmod")
        .arg("-R")
        .arg("u+w")
        .arg(&dir)
        .stderr(std::process::Stdio::null())
        .status();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Reachable by `nobody`.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn is_root() -> bool {
    let id = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&id.stdout).trim() == "0"
}

/// Run parsim; as root, as `nobody`, so that file permissions hold.
fn reader(args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    if is_root() {
        cmd.uid(65534).gid(65534);
    }
    cmd.output().unwrap()
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every file under `dir`: its bytes, length and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path.clone());
            }
            let bytes = if meta.is_file() {
                std::fs::read(&path).unwrap()
            } else {
                Vec::new()
            };
            files.insert(path, (bytes, meta.modified().unwrap()));
        }
    }
    files
}

fn chmod(dir: &Path, mode: &str) {
    let status = Command::new("chmod")
        .args(["-R", mode])
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
}

/// A finished run's directory, made read-only.
fn finished_run(name: &str) -> (PathBuf, PathBuf) {
    let dir = tempdir(name);
    let study = dir.join("study-file.toml");
    std::fs::write(&study, STUDY).unwrap();
    let out = dir.join("out");
    let run = Command::new(BIN)
        .args([
            "run",
            study.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(["--quiet"])
        .output()
        .unwrap();
    ok(run, "run");
    // A writable place for the figures, outside the results directory.
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots).unwrap();
    std::fs::set_permissions(&plots, std::fs::Permissions::from_mode(0o777)).unwrap();
    (out, plots)
}

/// Every reader on `out`; returns the summary as CSV.
fn read_everything(out: &Path, plots: &Path) -> String {
    let d = out.to_str().unwrap();
    let csv = ok(reader(&["summary", d, "--format", "csv"]), "summary");
    ok(reader(&["summary", d, "--format", "json"]), "summary json");
    let status = ok(reader(&["status", d]), "status");
    assert!(status.contains("stored: 24 of 24 units"), "{status}");
    let figures = ok(
        reader(&["plot", d, "--out", plots.to_str().unwrap()]),
        "plot",
    );
    assert!(figures.contains(".svg"), "{figures}");
    csv
}

#[test]
fn readers_leave_a_read_only_directory_byte_for_byte_as_it_was() {
    let (out, plots) = finished_run("chmod");
    let expected = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    chmod(&out, "a-w");
    let before = snapshot(&out);
    let csv = read_everything(&out, &plots);
    // The summary read from the store is the one the run wrote beside it.
    assert_eq!(csv, expected);
    assert_eq!(snapshot(&out), before, "the readers changed the directory");
    chmod(&out, "u+w");
    let _ = std::fs::remove_dir_all(out.parent().unwrap());
}

#[test]
fn readers_work_on_a_read_only_mount() {
    if !is_root() {
        eprintln!("skipped: a bind mount needs root");
        return;
    }
    let (out, plots) = finished_run("mount");
    let mounted = out.with_file_name("mounted");
    std::fs::create_dir_all(&mounted).unwrap();
    let bind = Command::new("mount")
        .arg("--bind")
        .arg(&out)
        .arg(&mounted)
        .output()
        .unwrap();
    if !bind.status.success() {
        eprintln!(
            "skipped: mount --bind is not permitted here: {}",
            String::from_utf8_lossy(&bind.stderr)
        );
        return;
    }
    let remount = Command::new("mount")
        .args(["-o", "remount,ro,bind"])
        .arg(&mounted)
        .status()
        .unwrap();
    let result = std::panic::catch_unwind(|| {
        assert!(remount.success(), "remount read-only");
        assert!(
            std::fs::write(mounted.join("probe"), "x").is_err(),
            "the mount is read-only"
        );
        let before = snapshot(&out);
        read_everything(&mounted, &plots);
        assert_eq!(snapshot(&out), before, "the readers changed the directory");
    });
    let _ = Command::new("umount").arg(&mounted).status();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    let _ = std::fs::remove_dir_all(out.parent().unwrap());
}

/// A store of the previous format is read through an upgraded copy elsewhere, even when it cannot be
/// upgraded in place.
#[test]
fn a_read_only_store_of_the_previous_format_is_summarised() {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/stores/format2");
    let dir = tempdir("format2");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    for file in ["study.toml", "results.sqlite"] {
        std::fs::copy(fixture.join(file), out.join(file)).unwrap();
    }
    chmod(&out, "a-w");
    chmod(&out, "a+rX");
    let before = snapshot(&out);
    let csv = ok(
        reader(&["summary", out.to_str().unwrap(), "--format", "csv"]),
        "summary",
    );
    assert!(csv.contains("mixed"), "{csv}");
    let status = ok(reader(&["status", out.to_str().unwrap()]), "status");
    assert!(status.contains("stored: 12 of 20 units"), "{status}");
    assert_eq!(snapshot(&out), before, "the readers changed the directory");
    chmod(&out, "u+w");
    let _ = std::fs::remove_dir_all(&dir);
}
