//! `parsim report DIR`: one self-contained page of the results. Checked here as text (contents, escaping,
//! nothing fetched from a network, the write); `tests/report/browser.py` opens the same pages in headless
//! Chromium (run by .ci/run). The long format other tools import (results.csv) is checked with R.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{parsim, tempdir};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/report")
        .join(name)
}

/// Run `study` into `out` with `replications` per condition (quiet); returns the run's exit code.
fn run(study: &Path, out: &Path, replications: u64) -> Option<i32> {
    let done = parsim(&[
        "run",
        study.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--replications",
        &replications.to_string(),
        "--jobs",
        "2",
        "--quiet",
    ]);
    done.status.code()
}

fn report(dir: &Path) -> Output {
    parsim(&["report", dir.to_str().unwrap()])
}

/// The page of the 12-condition design, written by `parsim report` (asserted to succeed).
fn page_of_design_12(name: &str) -> (PathBuf, String) {
    let dir = tempdir(name).join("out");
    assert_eq!(run(&fixture("design-12.toml"), &dir, 12), Some(0));
    let done = report(&dir);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let path = dir.join("report.html");
    assert_eq!(
        String::from_utf8_lossy(&done.stdout).trim(),
        path.to_str().unwrap()
    );
    let html = std::fs::read_to_string(&path).unwrap();
    (dir, html)
}

#[test]
fn the_page_holds_the_study_its_measures_and_every_figure() {
    let (dir, html) = page_of_design_12("contents");
    assert!(html.starts_with("<!DOCTYPE html>"));
    for id in [
        "contents",
        "study",
        "design",
        "methods",
        "estimands",
        "replay",
        "failures",
        "measures",
        "figures",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "no section {id}");
    }
    // The design grid: 12 conditions, each with its replications stored and asked.
    assert!(html.contains("12 per condition asked; 144 of 144 stored"));
    let grid = section(&html, "design");
    assert_eq!(grid.matches("<tr>").count(), 1 + 12);
    // Methods with their kind and options, as the study file gives them.
    assert!(html.contains("<td>ols_robust</td><td>ols</td><td>cluster = &quot;group&quot;; formula = &quot;y ~ x&quot;</td>"));
    // The replay command names the study file the results directory keeps.
    let study_copy = dir.join("study.toml");
    assert!(html.contains(&format!(
        "parsim data {} --condition 0 --replication 0",
        study_copy.display()
    )));
    // A table per estimand, each cell sortable by the number summary.csv holds.
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    let header: Vec<&str> = summary.lines().next().unwrap().split(',').collect();
    let bias_at = header.iter().position(|h| *h == "bias").unwrap();
    for line in summary.lines().skip(1) {
        let bias: f64 = line.split(',').nth(bias_at).unwrap().parse().unwrap();
        assert!(
            html.contains(&format!("data-v=\"{bias:e}\"")),
            "bias {bias} not in the page"
        );
    }
    let measures = section(&html, "measures");
    assert_eq!(
        measures.matches("<table").count(),
        4,
        "one table per estimand"
    );
    assert_eq!(
        measures.matches("<tr>").count(),
        summary.lines().count() - 1 + 4,
        "a row per (condition, method, estimand) and a heading per table"
    );
    // Every figure `parsim plot` draws is in the page, inline.
    let plots = dir.join("plots");
    let plotted = parsim(&[
        "plot",
        dir.to_str().unwrap(),
        "--out",
        plots.to_str().unwrap(),
    ]);
    assert!(plotted.status.success());
    let files = std::fs::read_dir(&plots).unwrap().count();
    assert!(files > 12);
    assert_eq!(html.matches("<figure id=").count(), files);
    assert_eq!(html.matches("<svg").count(), files);
    assert!(!html.contains("<?xml"), "an XML declaration inside HTML");
}

/// The page from the section with this id to the one that follows it.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let next = match id {
        "design" => "methods",
        "failures" => "measures",
        "measures" => "figures",
        other => panic!("no section after {other}"),
    };
    let start = html.find(&format!("<section id=\"{id}\">")).unwrap();
    let end = html.find(&format!("<section id=\"{next}\">")).unwrap();
    &html[start..end]
}

#[test]
fn the_page_needs_no_network() {
    let (_, html) = page_of_design_12("offline");
    for fetching in [
        "src=", "<link", "@import", "url(", "<iframe", "<object", "<embed",
    ] {
        assert!(
            !html.contains(fetching),
            "the page fetches something: {fetching}"
        );
    }
    // Links stay on the page; the only URLs are the SVG namespace names, which are never fetched.
    for (at, _) in html.match_indices("href=\"") {
        let target = &html[at + 6..];
        assert!(
            target.starts_with('#'),
            "a link off the page: {}",
            &target[..40]
        );
    }
    let urls = html.matches("http://").count() + html.matches("https://").count();
    let namespaces = html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
        + html
            .matches("xmlns:xlink=\"http://www.w3.org/1999/xlink\"")
            .count();
    assert_eq!(urls, namespaces, "a URL that is not an SVG namespace");
    assert_eq!(html.matches("<script").count(), 1);
    assert_eq!(html.matches("<style").count(), 1);
    assert!(html.contains("@media print"));
}

#[test]
fn user_text_is_escaped() {
    let dir = tempdir("escape");
    let study = std::fs::read_to_string(fixture("design-12.toml"))
        .unwrap()
        .replace(
            "name = \"report-12\"",
            // Study names are letters, digits, `.`, `_` and `-`; the file's text and method names are free.
            "name = \"report-escape\"\n# </pre><script>alert('x')</script><img onerror=alert(1)> & \"co\"",
        )
        .replace("[methods.ols_robust]", "[methods.\"ols<b>\"]")
        // A method that fails every fit: its message reaches the failures table.
        + "\n[methods.one_level]\nmodel = \"lmm\"\nformula = \"y ~ x + (1 | one)\"\n";
    let study = study.replace(
        "x = normal(0.0, 1.0, n)",
        "x = normal(0.0, 1.0, n)\none = zeros(n)",
    );
    let path = dir.join("study.toml");
    std::fs::write(&path, study).unwrap();
    let out = dir.join("out");
    // Exit 3: a method failed on every replication; everything is stored.
    assert_eq!(run(&path, &out, 4), Some(3));
    let done = report(&out);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("<script>alert"));
    assert!(!html.contains("<img"));
    assert!(!html.contains("ols<b>"));
    assert_eq!(html.matches("<script").count(), 1);
    assert!(html.contains(
        "# &lt;/pre&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img onerror=alert(1)&gt; &amp; &quot;co&quot;"
    ));
    assert!(html.contains("<td>ols&lt;b&gt;</td>"));
    // The failures: per method, then per condition with the message.
    let failures = section(&html, "failures");
    assert!(
        failures.contains("<strong>one_level</strong>: 48 of 48 fits in 12 conditions; every fit failed in 12 conditions"),
        "{failures}"
    );
    assert_eq!(failures.matches("<tr>").count(), 1 + 12);
    assert!(
        failures.contains("error: grouping factor &#39;one&#39; has only one level"),
        "{failures}"
    );
}

#[test]
fn a_directory_without_a_store_is_bad_input() {
    let dir = tempdir("nostore");
    let done = report(&dir);
    assert_eq!(done.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(stderr.contains("no results store in"), "{stderr}");
    assert!(
        std::fs::read_dir(&dir).unwrap().next().is_none(),
        "something was written"
    );
    let missing = dir.join("missing");
    assert_eq!(report(&missing).status.code(), Some(2));
    assert!(!missing.exists());
}

#[test]
fn the_page_is_written_whole_or_not_at_all_and_the_store_is_only_read() {
    let (dir, _) = page_of_design_12("atomic");
    let store = std::fs::read(dir.join("results.sqlite")).unwrap();
    std::fs::write(dir.join("report.html"), "old").unwrap();
    assert!(report(&dir).status.success());
    assert!(std::fs::read_to_string(dir.join("report.html"))
        .unwrap()
        .starts_with("<!DOCTYPE html>"));
    assert_eq!(std::fs::read(dir.join("results.sqlite")).unwrap(), store);
    // A page that cannot be put in place (a directory holds its name): exit 1, nothing half-written.
    std::fs::remove_file(dir.join("report.html")).unwrap();
    std::fs::create_dir_all(dir.join("report.html/blocked")).unwrap();
    let done = report(&dir);
    assert_eq!(done.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&done.stderr).contains("cannot write"));
    assert!(!dir.join("report.html.partial").exists());
    assert!(dir.join("report.html/blocked").is_dir());
}

#[test]
fn a_run_names_the_page_and_drops_a_page_that_no_longer_matches_its_store() {
    let (dir, _) = page_of_design_12("stale");
    let done = parsim(&[
        "run",
        fixture("design-12.toml").to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
        "--replications",
        "14",
        "--jobs",
        "2",
    ]);
    assert!(done.status.success());
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        stdout.contains(&format!("parsim report {}", dir.display())),
        "{stdout}"
    );
    assert!(
        !dir.join("report.html").exists(),
        "a page of 12 replications beside 14"
    );
}

#[test]
fn results_csv_is_the_long_format_r_reads_and_its_bias_is_parsims() {
    let dir = tempdir("long").join("out");
    assert_eq!(run(&fixture("design-12.toml"), &dir, 30), Some(0));
    let done = Command::new("Rscript")
        .arg(fixture("long_format.R"))
        .arg(&dir)
        .args(["n", "effect"])
        .output()
        .expect("Rscript (r-base-core, installed by .ci/run)");
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    // 12 conditions × (4 estimands of the mixed model + 2 of OLS with a true value).
    assert!(stdout.contains("bias: 72 groups"), "{stdout}");
    assert!(stdout.contains("cover: 48 groups equal"), "{stdout}");
}

#[test]
fn the_options_choose_estimands_methods_and_settings_as_for_summary() {
    let (dir, _) = page_of_design_12("options");
    let d = dir.to_str().unwrap();
    let done = parsim(&[
        "report",
        d,
        "--estimands",
        "x",
        "--methods",
        "ols_robust",
        "--level",
        "0.9",
    ]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let measures = section(&html, "measures");
    assert_eq!(measures.matches("<table").count(), 1);
    assert_eq!(measures.matches("<tr>").count(), 1 + 12);
    assert!(!measures.contains("random_intercept"));
    assert!(html.contains("90% confidence intervals"));
    // Bad input, as for `parsim summary`: exit 2, and the page written before stays.
    for bad in [&["--level", "2"][..], &["--estimands", "nope"][..]] {
        let done = parsim(&[&["report", d][..], bad].concat());
        assert_eq!(done.status.code(), Some(2), "{bad:?}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("report.html")).unwrap(),
        html
    );
}

#[test]
fn a_page_of_many_conditions_stays_small_and_folds_its_paged_figures() {
    // 30 × 30 = 900 conditions.
    let dir = tempdir("many");
    let study = dir.join("study.toml");
    let levels = |step: f64| {
        (0..30)
            .map(|i| format!("{}", 20.0 + step * i as f64))
            .collect::<Vec<_>>()
            .join(", ")
    };
    std::fs::write(
        &study,
        format!(
            r#"
[study]
name = "many"
replications = 2
seed = 900

[parameters]
n = [{}]
effect = [{}]

[data]
program = """
x = normal(0.0, 1.0, n)
y = (effect - 20) * x + normal(0.0, 1.0, n)
"""

[methods.ols]
model = "ols"
formula = "y ~ x"

[estimands]
x = "effect - 20"
"#,
            levels(1.0),
            levels(0.1)
        ),
    )
    .unwrap();
    let out = dir.join("out");
    assert_eq!(run(&study, &out, 2), Some(0));
    assert!(report(&out).status.success());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    // The catalogue bounds a large design's pages (the first 240 conditions per paged figure): the
    // page stays a few megabytes, and a figure of several pages starts folded.
    assert!(html.len() < 20_000_000, "{} bytes", html.len());
    assert!(
        html.contains("id=\"figure-nested_loop_bias_x\""),
        "the nested-loop plots are drawn"
    );
    let folded = html.matches("<details class=\"figures-group\">").count();
    assert!(folded >= 2, "{folded} groups folded");
}
