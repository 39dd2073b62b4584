//! `parsim summary` and `parsim plot` on a synthetic store: formats, options, and clear errors.

// The synthetic store of the library's measures tests, shared rather than copied.
#[path = "../../parsim/tests/measures_support/mod.rs"]
mod measures_support;

use std::process::Command;

use measures_support::{create_store, generate, study_toml};

fn parsim(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_parsim"))
        .args(args)
        .env("COLUMNS", "100")
        .output()
        .expect("runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn store(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("parsim-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    create_store(&dir, &generate(0, 60, 9), &study_toml(""));
    dir.to_string_lossy().into_owned()
}

#[test]
fn summary_formats_and_options() {
    let dir = store("summary");
    let (code, table, err) = parsim(&["summary", &dir]);
    assert_eq!(code, 0, "{err}");
    assert!(
        table.contains("Performance of synthetic") && table.contains("coverage %"),
        "{table}"
    );
    assert!(
        table.lines().all(|l| l.chars().count() <= 100),
        "wrapped to COLUMNS:\n{table}"
    );

    let (code, csv, err) = parsim(&[
        "summary",
        &dir,
        "--format",
        "csv",
        "--measures",
        "bias,cover",
        "--level",
        "0.9",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        csv.starts_with(
            "condition,N,sigma,method,term,truth,used,failed,bias,bias_mcse,cover,cover_mcse,failures\n"
        ),
        "{csv}"
    );

    let (code, json, err) = parsim(&["summary", &dir, "--format", "json", "--reference", "naive"]);
    assert_eq!(code, 0, "{err}");
    let value: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(value["settings"]["reference"], "naive");

    let (code, md, _) = parsim(&[
        "summary",
        &dir,
        "--format",
        "markdown",
        "--measures",
        "relerror",
    ]);
    assert_eq!(code, 0);
    assert!(md.contains("| rel. error model SE % |"), "{md}");
}

#[test]
fn summary_errors_say_what_to_fix() {
    let dir = store("errors");
    let (code, _, err) = parsim(&["summary", &dir, "--measures", "bias,coverage"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown measure `coverage`"), "{err}");
    let (code, _, err) = parsim(&["summary", &dir, "--level", "95"]);
    assert_eq!(code, 2);
    assert!(err.contains("level"), "{err}");
    let (code, _, err) = parsim(&["summary", &dir, "--reference", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown reference method `nope`"), "{err}");
    let (code, _, err) = parsim(&["summary", "/nonexistent/parsim-results"]);
    assert_eq!(code, 2);
    assert!(err.contains("no results store"), "{err}");
}

#[test]
fn plot_writes_png_files() {
    let dir = store("plot");
    let out = format!("{dir}/figures");
    let (code, listed, err) = parsim(&["plot", &dir, "--format", "png", "--out", &out]);
    assert_eq!(code, 0, "{err}");
    let files: Vec<&str> = listed.lines().collect();
    // Per term (2): estimates, the key measures, six nested-loop plots, power curves, zip plots.
    assert_eq!(files.len(), 20, "{listed}");
    assert!(files
        .iter()
        .all(|f| f.ends_with(".png") && std::path::Path::new(f).is_file()));
}
