//! A study whose lmm and ols methods have prior weights and sum-to-zero contrasts (`weights =
//! "w"`, `contrasts = { "factor(arm)" = "sum" }`): the terms are named as lme4 names them, the
//! same in `parsim check`, results.csv and the summary; wrong keys are located, exit 2.

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{tempdir, BIN};

fn study(methods_extra: &str, contrasts: &str) -> String {
    format!(
        r#"
[study]
name = "weights"
replications = 3
seed = 5

[parameters]
N = 120
beta1 = 0.3

[data]
program = """
X = normal(0, 1, N)
arm = integers(0, 3, N)
group = integers(0, 6, N)
w = uniform(0.5, 2, N)
u = normal(0, 0.7, 6)
response = 2 + u[group] + beta1 * X + 0.2 * arm + normal(0, 1, N) / sqrt(w)
"""

[methods.mixed]
model = "lmm"
formula = "response ~ X + factor(arm) + (1 | group)"
weights = "w"
contrasts = {contrasts}
{methods_extra}
[methods.ls]
model = "ols"
formula = "response ~ X + factor(arm)"
weights = "w"
contrasts = {{ "factor(arm)" = "contr.sum" }}

[estimands]
X = "beta1"
"factor(arm)1" = "-0.2"
"#
    )
}

fn parsim(dir: &Path, text: &str, args: &[&str]) -> Output {
    let path = dir.join("study.toml");
    std::fs::write(&path, text).unwrap();
    Command::new(BIN)
        .args(args)
        .arg(&path)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn weighted_sum_contrast_terms_are_named_alike_everywhere() {
    let dir = tempdir("run");
    let text = study("", r#"{ "factor(arm)" = "sum" }"#);
    let check = parsim(&dir, &text, &["check"]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        stdout.contains("lmm (REML, Satterthwaite t, weights w, sum contrasts for factor(arm))")
            && stdout.contains(
                "[terms: (Intercept), X, factor(arm)1, factor(arm)2, sd__(Intercept)|group, sigma]"
            )
            && stdout.contains("ols (weights w, sum contrasts for factor(arm))"),
        "{stdout}"
    );
    let out = dir.join("out");
    let run = parsim(
        &dir,
        &text,
        &["run", "--quiet", "--out", out.to_str().unwrap()],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let results = std::fs::read_to_string(out.join("results.csv")).unwrap();
    for method in ["mixed", "ls"] {
        for term in ["factor(arm)1", "factor(arm)2"] {
            let rows = results
                .lines()
                .filter(|l| l.contains(&format!(",{method},{term},fixed,ok,")))
                .count();
            assert_eq!(rows, 3, "{method} {term}:\n{results}");
        }
    }
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    for method in ["mixed", "ls"] {
        assert!(
            summary.contains(&format!("0,{method},factor(arm)1,-0.2,3,0")),
            "{summary}"
        );
    }
}

#[test]
fn wrong_contrasts_and_weights_are_located() {
    let dir = tempdir("errors");
    for (contrasts, extra, expect) in [
        (
            r#"{ "factor(arm)" = "helmert" }"#,
            "",
            "must be \"sum\" or \"treatment\"",
        ),
        (r#""sum""#, "", "must be a table"),
        (r#"{ "factor(arm)" = "sum" }"#, "weights = 3\n", "string"),
    ] {
        let text = study(extra, contrasts).replacen(
            "weights = \"w\"\n",
            "",
            usize::from(!extra.is_empty()),
        );
        let out = parsim(&dir, &text, &["check"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{contrasts}: {stderr}");
        assert!(
            stderr.contains(expect) && stderr.contains("study.toml:"),
            "{contrasts}: {stderr}"
        );
    }
    let text = study("", r#"{ "factor(arm)" = "sum" }"#).replacen(
        "weights = \"w\"",
        "weights = \"wt\"",
        1,
    );
    let out = parsim(&dir, &text, &["check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`wt`, which the data program does not define"),
        "{stderr}"
    );
}
