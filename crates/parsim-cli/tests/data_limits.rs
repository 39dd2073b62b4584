//! The data one replication generates are bounded: a study whose largest condition would hold more
//! elements than the limit (or whose workers together would not fit in memory) is refused before
//! anything is written, exit 2, with the figure and the statement that crosses it.

use std::process::Output;

mod common;
use common::{parsim, tempdir};

fn study(sizes: &str, program: &str) -> String {
    format!(
        "[study]\nname = \"limits\"\nreplications = 3\nseed = 1\n\n[parameters]\nN = {sizes}\n\n\
         [data]\nprogram = \"\"\"\n{program}\"\"\"\n\n[methods.ols]\nmodel = \"ols\"\nformula = \"y ~ x\"\n"
    )
}

fn refused(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    stderr
}

#[test]
fn a_replication_over_the_element_limit_is_refused_before_the_run() {
    let dir = tempdir("elements");
    // Three vectors of 10^8 elements (2.4 GB) in the largest condition; the smaller one is fine. zeros
    // are quick to make, so the test costs a second, not the minute of 3·10^8 draws.
    let path = dir.join("study.toml");
    let text = study(
        "[10, 100_000_000]",
        "x = zeros(N)\nz = zeros(N)\nw = zeros(N)\ny = x + 1.0\n",
    );
    std::fs::write(&path, text).unwrap();
    let out = dir.join("out");
    let run = parsim(&[
        "run",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let said = refused(&run);
    assert!(
        said.contains("would hold 300000")
            && said.contains("more than the limit of 250000000 elements (2.0 GB) per replication"),
        "{said}"
    );
    // The statement that crossed it, with its line.
    assert!(
        said.contains("w = zeros(N)") && said.contains("13 │"),
        "{said}"
    );
    assert!(!out.exists(), "nothing is written");
    // `check` generates every condition and says the same.
    let check = parsim(&["check", path.to_str().unwrap()]);
    assert!(refused(&check).contains("more than the limit of 250000000 elements"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn workers_whose_data_do_not_fit_in_memory_are_refused_before_the_run() {
    let dir = tempdir("workers");
    let path = dir.join("study.toml");
    // 2·10^6 elements (16 MB) a worker; 65,535 workers need 1 TB, more than any machine running tests.
    std::fs::write(
        &path,
        study("[10, 1_000_000]", "x = normal(0.0, 1.0, N)\ny = x + 1.0\n"),
    )
    .unwrap();
    let out = dir.join("out");
    let run = parsim(&[
        "run",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--jobs",
        "65535",
    ]);
    let said = refused(&run);
    assert!(
        said.contains("one replication's data take 16 MB (condition 1, 2000")
            && said.contains("65535 workers need 1048")
            && said.contains("--jobs"),
        "{said}"
    );
    assert!(!out.exists(), "nothing is written");
    // With two workers it runs.
    let ok = parsim(&[
        "run",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--jobs",
        "2",
        "--quiet",
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
