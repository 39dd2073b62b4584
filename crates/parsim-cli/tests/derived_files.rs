//! The derived files (results.csv, summary.csv, summary.md) are replaced together: when one cannot be
//! written (here a full disk: a size-limited tmpfs, as root), none is left, neither a scratch file nor
//! an old file that no longer matches the store; the store keeps everything; running the same command
//! again once there is room writes them all, as they were.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_parsim");

const STUDY: &str = r#"
[study]
name = "derived"
replications = 1000
seed = 3

[parameters]
N = [20, 40]
slope = 0.5

[data]
program = """
x = normal(0, 1, N)
y = slope * x + normal(0, 1, N)
"""

[methods.ols]
model = "ols"
formula = "y ~ x"

[estimands]
x = "slope"
"#;

fn run(study: &Path, out: &Path) -> Output {
    Command::new(BIN)
        .args([
            "run",
            study.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(["--quiet", "--jobs", "2"])
        .output()
        .unwrap()
}

fn available_bytes(dir: &Path) -> u64 {
    let df = Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&df.stdout);
    text.lines().nth(1).unwrap().trim().parse().unwrap()
}

fn stored(out: &Path) -> i64 {
    let conn = rusqlite::Connection::open(out.join("results.sqlite")).unwrap();
    conn.query_row("SELECT count(*) FROM replications", [], |r| r.get(0))
        .unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_full_disk_leaves_no_derived_file_that_disagrees() {
    let base = std::env::temp_dir().join(format!("parsim-derived-{}", std::process::id()));
    let disk = base.join("disk");
    std::fs::create_dir_all(&disk).unwrap();
    let study = base.join("study.toml");
    std::fs::write(&study, STUDY).unwrap();
    let mount = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
        .arg(&disk)
        .output()
        .unwrap();
    if !mount.status.success() {
        eprintln!(
            "skipped: mounting a small tmpfs is not permitted here: {}",
            String::from_utf8_lossy(&mount.stderr)
        );
        return;
    }
    let result = std::panic::catch_unwind(|| full_disk(&study, &disk));
    let _ = Command::new("umount").arg(&disk).status();
    let _ = std::fs::remove_dir_all(&base);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

fn full_disk(study: &Path, disk: &Path) {
    let out = disk.join("out");
    let first = run(study, &out);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let text = |name: &str| std::fs::read(out.join(name)).unwrap();
    let before: Vec<Vec<u8>> = ["results.csv", "summary.csv", "summary.md"]
        .map(text)
        .to_vec();
    assert!(
        before[0].len() > 200_000,
        "results.csv: {}",
        before[0].len()
    );

    // Fill the disk but for 64 kB: room for the store's bookkeeping, not for a new results.csv.
    let filler: PathBuf = disk.join("filler");
    let room = available_bytes(disk).saturating_sub(64 * 1024);
    std::fs::write(&filler, vec![0u8; room as usize]).unwrap();
    let again = run(study, &out);
    let said = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{said}");
    assert!(said.contains("No space left on device"), "{said}");
    // None of the derived files, no scratch file; the store whole.
    assert_eq!(
        names(&out),
        ["parsim.lock", "results.sqlite", "study.toml"],
        "{said}"
    );
    assert_eq!(stored(&out), 2000);

    // With room again, the same command writes them all, as they were.
    std::fs::remove_file(&filler).unwrap();
    let last = run(study, &out);
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );
    let after: Vec<Vec<u8>> = ["results.csv", "summary.csv", "summary.md"]
        .map(text)
        .to_vec();
    assert!(before == after, "the rewritten files differ");
}
