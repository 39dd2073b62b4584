//! Every kind of bad input gets a message naming the line and column of the study file (exit code 2 from
//! the binary, with the line shown and a caret).

use std::path::{Path, PathBuf};
use std::process::Command;

use parsim::study::{Study, StudyError};

const GOOD: &str = r#"[study]
name = "t"
replications = 5
seed = 1

[parameters]
N = 20
sd = [0.5, 1.0]

[data]
program = """
x = normal(0, 1, N)
g = integers(0, 4, N)
u = normal(0, sd, 4)
y = 1 + 2 * x + u[g] + normal(0, 1, N)
"""

[methods.mixed]
model = "lmm"
formula = "y ~ x + (1 | g)"

[methods.ols]
model = "ols"
formula = "y ~ x"
cluster = "g"

[estimands]
x = "2"
"(Intercept)" = "1"
"#;

fn load(text: &str) -> Result<Study, StudyError> {
    Study::from_source(Path::new("bad.toml"), text.to_string())
}

/// The diagnostics of a study that must fail to load (or, if it loads, to check).
fn errors(text: &str) -> Vec<parsim::diagnostic::Diagnostic> {
    let err = match load(text) {
        Err(e) => e,
        Ok(study) => match study.check() {
            Err(e) => e,
            Ok(_) => panic!("the study should be invalid:\n{text}"),
        },
    };
    let rendered = err.to_string();
    assert!(!err.diagnostics().is_empty());
    // Every rendering names the file, line and column, shows the line and a caret.
    for d in err.diagnostics() {
        assert!(
            rendered.contains(&format!("bad.toml:{}:{}", d.line, d.column)),
            "{rendered}"
        );
    }
    assert!(rendered.contains('^'), "{rendered}");
    err.diagnostics().to_vec()
}

fn first_error(text: &str) -> parsim::diagnostic::Diagnostic {
    errors(text).remove(0)
}

/// Replaces `from` by `to` in the good study (which must contain `from`).
fn edit(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

fn assert_error(
    text: &str,
    message: &str,
    line: usize,
    column: usize,
) -> parsim::diagnostic::Diagnostic {
    let all = errors(text);
    let Some(d) = all.iter().find(|d| d.message == message).cloned() else {
        panic!(
            "no diagnostic `{message}` among {:?}",
            all.iter().map(|d| &d.message).collect::<Vec<_>>()
        )
    };
    assert_eq!((d.line, d.column), (line, column), "position of: {message}");
    d
}

#[test]
fn the_good_study_is_valid() {
    let s = load(GOOD).unwrap();
    assert_eq!(s.conditions().len(), 2);
    let report = s.check().unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn toml_syntax() {
    let d = first_error(&edit("seed = 1", "seed = = 1"));
    assert!(d.message.starts_with("invalid TOML"), "{}", d.message);
    assert_eq!(d.line, 4);
}

#[test]
fn unknown_keys_and_sections_suggest() {
    let d = assert_error(
        &edit("replications = 5", "replicatons = 5"),
        "unknown key `replicatons` in [study]",
        3,
        1,
    );
    assert_eq!(d.notes[0], "did you mean `replications`?");
    let d = assert_error(
        &edit("[estimands]", "[estimand]"),
        "unknown key `estimand` in the study file",
        27,
        2,
    );
    assert_eq!(d.notes[0], "did you mean `estimands`?");
    let d = assert_error(
        &edit("cluster = \"g\"", "clustr = \"g\""),
        "unknown key `clustr` in [methods.ols]",
        25,
        1,
    );
    assert_eq!(d.notes[0], "did you mean `cluster`?");
    assert_error(
        &edit("model = \"ols\"", "model = \"ols\"\nreml = false"),
        "`reml` applies to model = \"lmm\" only",
        24,
        8,
    );
}

#[test]
fn missing_sections_and_keys() {
    let text = GOOD.replace("[data]\n", "[dat]\n");
    let err = load(&text).unwrap_err();
    let messages: Vec<&str> = err
        .diagnostics()
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert!(messages.contains(&"missing section [data]"), "{messages:?}");
    assert!(
        messages.contains(&"unknown key `dat` in the study file"),
        "{messages:?}"
    );
    assert_error(
        &edit("replications = 5\n", ""),
        "missing key `replications` in [study]",
        1,
        1,
    );
    assert_error(
        &edit("formula = \"y ~ x\"\n", ""),
        "missing key `formula` in [methods.ols]",
        22,
        10,
    );
}

#[test]
fn bad_values() {
    assert_error(
        &edit("replications = 5", "replications = 0"),
        "`replications` must be at least 1, got 0",
        3,
        16,
    );
    assert_error(
        &edit("seed = 1", "seed = \"one\""),
        "`seed` must be an integer, got a string",
        4,
        8,
    );
    let d = assert_error(
        &edit("seed = 1", "seed = 1\nstreams = \"keyd\""),
        "`streams` must be one of \"keyed\", \"per-replication-seed\", got \"keyd\"",
        5,
        11,
    );
    assert_eq!(d.notes[0], "did you mean `keyed`?");
    assert_error(
        &edit("sd = [0.5, 1.0]", "sd = []"),
        "parameter `sd` has an empty list of values",
        8,
        6,
    );
    assert_error(
        &edit("sd = [0.5, 1.0]", "sd = [0.5, \"a\"]"),
        "values of parameter `sd` must be numbers, got a string",
        8,
        12,
    );
    assert_error(
        &edit(
            "[estimands]",
            "[summary]\nreference = \"mixd\"\n\n[estimands]",
        ),
        "[summary] reference `mixd` is not a method of the study",
        28,
        13,
    );
    assert_error(
        &(GOOD.to_string() + "\n[summary]\nlevel = 95\n"),
        "`level` must be between 0 and 1 (exclusive), got 95",
        32,
        9,
    );
}

#[test]
fn program_errors_point_into_the_file() {
    let d = assert_error(
        &edit("y = 1 + 2 * x", "y = 1 + 2 * xx"),
        "unknown name `xx`",
        15,
        13,
    );
    assert_eq!(d.notes[0], "did you mean `x`?");
    let d = assert_error(
        &edit("normal(0, 1, N)\ng", "nromal(0, 1, N)\ng"),
        "unknown function `nromal`",
        12,
        5,
    );
    assert_eq!(d.notes[0], "did you mean `normal`?");
    assert_error(
        &edit("integers(0, 4, N)", "integers(0, 4, N, True, 1)"),
        "integers(low, high, size, endpoint) takes at most 4 arguments, got 5",
        13,
        29,
    );
    let d = assert_error(
        &edit("u = normal(0, sd, 4)", "u = normal(0, scal=sd, size=4)"),
        "normal(loc, scale, size) has no argument `scal`",
        14,
        15,
    );
    assert_eq!(d.notes[0], "did you mean `scale`?");
    assert_error(
        &edit("integers(0, 4, N)", "integers(0, 4.0, N)"),
        "`high` of integers() must be an integer, got a float",
        13,
        17,
    );
    assert_error(
        &edit("u = normal(0, sd, 4)", "u = normal(0, 1, sd)"),
        "`size` of normal() must be an integer, got a float",
        14,
        18,
    );
    assert_error(
        &edit("y = 1 + 2", "y = 1 +* 2"),
        "expected an expression, found `*`",
        15,
        8,
    );
}

#[test]
fn length_mismatch_is_found_by_check_per_condition() {
    // Fine in condition 0 (N = 4 = number of groups), wrong in condition 1.
    let text = edit("N = 20", "N = [4, 20]")
        .replace("u[g] + normal(0, 1, N)", "u[g] + normal(0, 1, N) + u");
    let d = assert_error(&text, "vectors of different lengths: 20 and 4", 15, 5);
    assert_eq!(d.notes[0], "while generating replication 0 of condition 2");
}

#[test]
fn index_out_of_range_names_the_replication_and_line() {
    let text = edit("g = integers(0, 4, N)", "g = integers(0, 5, N)");
    let study = load(&text).unwrap();
    let mut ws = study.program.workspace();
    let err = study.generate(&mut ws, 1, 3).unwrap_err();
    assert!(
        err.contains("is out of range for a vector of length 4"),
        "{err}"
    );
    assert!(err.contains("bad.toml:15:"), "{err}");
    assert!(
        err.contains("while generating replication 3 of condition 1"),
        "{err}"
    );
    assert!(err.contains("u[g]"), "{err}");
}

#[test]
fn invalid_distribution_parameters() {
    assert_error(
        &edit("sd = [0.5, 1.0]", "sd = [0.5, -1.0]"),
        "invalid `scale` for a normal draw: scale < 0",
        14,
        5,
    );
}

#[test]
fn non_finite_values_in_a_used_column() {
    let text = edit("y = 1 + 2 * x", "y = 1 / (g - g) + 2 * x");
    assert_error(
        &text,
        "`y` has a non-finite value (inf) in row 0, and a method uses this column",
        15,
        1,
    );
    // The same division in a column no method uses is allowed.
    let text = edit("y = 1 + 2 * x", "z = 1 / (g - g)\ny = 1 + 2 * x");
    load(&text).unwrap().check().unwrap();
}

#[test]
fn formulas_must_use_program_columns() {
    let d = assert_error(
        &edit("formula = \"y ~ x\"", "formula = \"y ~ xx\""),
        "method `ols` uses `xx`, which the data program does not define",
        24,
        16,
    );
    assert_eq!(d.notes[0], "did you mean `x`?");
    assert_error(
        &edit("cluster = \"g\"", "cluster = \"gg\""),
        "method `ols` clusters by `gg`, which is not a column of the data program",
        25,
        11,
    );
    assert_error(
        &edit("formula = \"y ~ x + (1 | g)\"", "formula = \"y ~ x\""),
        "method `mixed` is an lmm but its formula has no random-effect term",
        20,
        12,
    );
    let d = first_error(&edit("formula = \"y ~ x\"", "formula = \"y ~ x +\""));
    assert!(d.message.starts_with("invalid formula"), "{}", d.message);
    assert_eq!(d.line, 24);
}

#[test]
fn estimands_must_be_estimated_and_valid() {
    let d = assert_error(
        &edit("x = \"2\"", "X = \"2\""),
        "no method estimates the term `X`",
        28,
        1,
    );
    assert_eq!(d.notes[0], "did you mean `x`?");
    assert_error(
        &edit("x = \"2\"", "x = \"2 * sdd\""),
        "estimand `x`: unknown name `sdd`",
        28,
        10,
    );
    assert_error(
        &edit("x = \"2\"", "x = \"log(sd - 1)\""),
        "estimand `x` = \"log(sd - 1)\" has no finite value in condition 0: it evaluates to NaN",
        28,
        1,
    );
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_binary_exits_2_and_shows_the_caret() {
    let dir = std::env::temp_dir().join(format!("parsim-study-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(&file, edit("y = 1 + 2 * x", "y = 1 + 2 * xx")).unwrap();
    for sub in ["check", "data"] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_parsim"));
        cmd.arg(sub).arg(&file).current_dir(root());
        if sub == "data" {
            cmd.args(["--replication", "0"]);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{sub}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("error: unknown name `xx`"), "{err}");
        assert!(err.contains("bad.toml:15:13"), "{err}");
        assert!(err.contains("y = 1 + 2 * xx"), "{err}");
        assert!(err.contains("^^"), "{err}");
        assert!(err.contains("did you mean `x`?"), "{err}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_parsim"))
        .args(["check", "no/such/file.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    std::fs::remove_dir_all(&dir).ok();
}
