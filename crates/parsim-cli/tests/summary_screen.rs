//! The terminal summary fits a screen (key measures of the estimands, one panel, a line per condition and
//! estimand row), the files keep every measure, the rejection rate is called power where the truth is not
//! 0 and type I error where it is 0, and `--methods` / `--estimands` filter `summary` and `plot`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_parsim");

/// 12 conditions (3 × 4, one with beta1 = 0), 3 methods, 11 estimand rows per condition.
const STUDY: &str = r#"
[study]
name = "twelve"
replications = 20
seed = 3

[parameters]
N = 200
n_groups = [5, 10, 20]
beta0 = 10
beta1 = [-0.5, -0.1, 0, 0.1]
intercept_sd = 1
slope_sd = 0.25
noise_sd = 1

[data]
program = """
X = normal(0, 1, N)
group = integers(0, n_groups, N)
u = normal(0, intercept_sd, n_groups)
v = normal(0, slope_sd, n_groups)
response = beta0 + u[group] + (beta1 + v[group]) * X + normal(0, noise_sd, N)
"""

[methods.random_intercept]
model = "lmm"
formula = "response ~ X + (1 | group)"

[methods.random_slope]
model = "lmm"
formula = "response ~ X + (1 + X | group)"

[methods.ols]
model = "ols"
formula = "response ~ X"
cluster = "group"

[estimands]
X = "beta1"
"(Intercept)" = "beta0"
"sd__(Intercept)|group" = "intercept_sd"
"sd__X|group" = "slope_sd"
sigma = "noise_sd"
"#;

fn parsim(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("COLUMNS")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The study run once per test binary's process into a fresh directory.
fn run(name: &str) -> (PathBuf, Output) {
    let dir = std::env::temp_dir().join(format!("parsim-screen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let study = dir.join("study.toml");
    std::fs::write(&study, STUDY).unwrap();
    let out = dir.join("out");
    let run = parsim(&[
        "run",
        study.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    (out, run)
}

fn csv_column(csv: &str, row_start: &str, column: &str) -> String {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = header.iter().position(|h| *h == column).unwrap();
    let row = lines.find(|l| l.starts_with(row_start)).unwrap();
    row.split(',').nth(at).unwrap().to_string()
}

#[test]
fn a_twelve_condition_run_prints_a_screen_of_key_measures() {
    let (out, run) = run("run");
    let printed = text(&run.stdout);
    let lines: Vec<&str> = printed.lines().collect();
    // 12 conditions × 11 estimand rows, a label line and a blank line per condition, and a few lines of
    // title, header and footer: one panel (the old table printed every measure in three panels).
    assert!(
        lines.len() <= 12 * 13 + 10,
        "{} lines:\n{printed}",
        lines.len()
    );
    assert!(lines.iter().all(|l| l.chars().count() <= 120), "{printed}");
    let header = lines.iter().find(|l| l.starts_with("method")).unwrap();
    for heading in ["bias", "emp. SE", "coverage %", "power/type I %"] {
        assert!(header.contains(heading), "{header}");
    }
    for hidden in ["MSE", "model SE", "CI width", "rel. precision"] {
        assert!(!printed.contains(hidden), "{hidden} is in the files only");
    }
    assert!(printed.contains("n_groups=20, beta1=0.1\n"), "{printed}");
    assert!(
        printed.contains("over 20 replications per condition"),
        "{printed}"
    );
    // The files have every measure.
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    for key in [
        "mse", "modelse", "width", "relprec", "becover", "power", "type1", "conv",
    ] {
        assert!(
            csv.lines().next().unwrap().split(',').any(|h| h == key),
            "{key}"
        );
    }
    // `parsim summary` shows the same screen; `--measures all` every measure.
    let summary = parsim(&["summary", out.to_str().unwrap()]);
    assert!(printed.starts_with(&text(&summary.stdout)), "{printed}");
    let all = parsim(&["summary", out.to_str().unwrap(), "--measures", "all"]);
    assert!(text(&all.stdout).contains("CI width"));
}

#[test]
fn rejection_is_power_where_the_truth_is_not_zero_and_type_i_error_where_it_is() {
    let (out, _) = run("names");
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    // Condition 2 is n_groups = 5, beta1 = 0; condition 0 has beta1 = -0.5.
    assert_eq!(csv_column(&csv, "2,5,0,random_slope,X,", "power"), "");
    assert!(!csv_column(&csv, "2,5,0,random_slope,X,", "type1").is_empty());
    assert!(!csv_column(&csv, "0,5,-0.5,random_slope,X,", "power").is_empty());
    assert_eq!(csv_column(&csv, "0,5,-0.5,random_slope,X,", "type1"), "");
    let markdown = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        markdown.contains("| power % | type I error % |"),
        "{markdown}"
    );
    assert!(!markdown.contains("rejection"), "{markdown}");
    // The neutral name stays available.
    let reject = parsim(&["summary", out.to_str().unwrap(), "--measures", "reject"]);
    assert!(text(&reject.stdout).contains("rejection %"));
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn methods_and_estimands_filter_summary_and_plot() {
    let (out, _) = run("filters");
    let o = out.to_str().unwrap();
    let csv = parsim(&[
        "summary",
        o,
        "--format",
        "csv",
        "--methods",
        "ols,random_slope",
        "--estimands",
        "X",
    ]);
    assert!(csv.status.success(), "{}", text(&csv.stderr));
    let csv = text(&csv.stdout);
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 12 * 2, "{csv}");
    assert!(rows
        .iter()
        .all(|r| r.contains(",X,") && !r.contains("random_intercept")));
    let table = text(&parsim(&["summary", o, "--methods", "ols"]).stdout);
    // OLS estimates neither variance component nor sigma.
    assert!(
        !table.contains("random_slope") && !table.contains("sigma"),
        "{table}"
    );

    let plots = out.join("filtered-plots");
    let plot = parsim(&[
        "plot",
        o,
        "--estimands",
        "X,sigma",
        "--methods",
        "random_slope",
        "--out",
        plots.to_str().unwrap(),
    ]);
    assert!(plot.status.success(), "{}", text(&plot.stderr));
    let names = files(&plots);
    assert!(names.iter().any(|n| n == "estimates_X.svg"), "{names:?}");
    assert!(
        names.iter().any(|n| n == "estimates_sigma.svg"),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.contains("Intercept")), "{names:?}");

    for (flag, name, says) in [
        ("--methods", "lmer", "unknown method `lmer`"),
        ("--estimands", "Y", "unknown estimand `Y`"),
    ] {
        for command in ["summary", "plot"] {
            let refused = parsim(&[command, o, flag, name]);
            assert_eq!(refused.status.code(), Some(2));
            assert!(
                text(&refused.stderr).contains(says),
                "{}",
                text(&refused.stderr)
            );
        }
    }
}
