//! What the command-line tests share: the binary, running it, and a scratch directory per test.
// Each test file uses its own part of this module.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The `parsim` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_parsim");

/// Runs `parsim args…` to completion.
pub fn parsim(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// [`parsim`], failing the test (with parsim's stderr) unless it succeeds.
pub fn parsim_ok(args: &[&str]) -> Output {
    let out = parsim(args);
    assert!(
        out.status.success(),
        "parsim {args:?}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// An empty directory for the test `name` of this test file, private to this process.
pub fn tempdir(name: &str) -> PathBuf {
    let file = env!("CARGO_CRATE_NAME");
    let dir = std::env::temp_dir().join(format!("parsim-{file}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
