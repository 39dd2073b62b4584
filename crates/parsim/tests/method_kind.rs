//! A new kind of method, registered by implementing the method contract alone: the sample mean of a
//! column with its standard error and a t interval. It runs in a study beside a built-in method, through
//! the same runner, store and measures, none of which knows of it.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use parsim::method::{
    ColumnRole, ColumnUse, Context, Estimates, FitFailure, Method, MethodKind, MethodSpec,
    MethodTable, Outcome, Registry, TermKind,
};
use parsim::run::{run, RunOptions};
use parsim::store::{Results, Store};
use parsim::study::Study;
use parsim_lmm::{student_t, ColumnRef, Columns};

/// `model = "mean"`: the mean of `column`, named by the term `term`.
struct MeanKind;

#[derive(Debug)]
struct MeanSpec {
    column: String,
    span: std::ops::Range<usize>,
    term: String,
    level: f64,
}

struct MeanMethod {
    column: String,
    term: String,
    level: f64,
}

impl MethodKind for MeanKind {
    fn name(&self) -> &str {
        "mean"
    }

    fn keys(&self) -> &[&str] {
        &["column", "term"]
    }

    fn configure(&self, table: &mut MethodTable<'_, '_>) -> Option<Arc<dyn MethodSpec>> {
        let span = table.span_of("column");
        let Some(column) = table.string("column") else {
            if !table.has("column") {
                table.missing("column", "e.g. column = \"y\"");
            }
            return None;
        };
        let term = table.string("term").unwrap_or_else(|| "mean".to_string());
        Some(Arc::new(MeanSpec {
            column,
            span,
            term,
            level: table.level(),
        }))
    }
}

impl MethodSpec for MeanSpec {
    fn model(&self) -> &str {
        "mean"
    }

    fn formula(&self) -> Option<&str> {
        None
    }

    fn describe(&self) -> String {
        format!("mean of {}", self.column)
    }

    fn columns(&self) -> Vec<ColumnUse> {
        vec![ColumnUse {
            name: self.column.clone(),
            span: self.span.clone(),
            role: ColumnRole::Variable,
        }]
    }

    fn build(&self) -> Result<Box<dyn Method>, String> {
        Ok(Box::new(MeanMethod {
            column: self.column.clone(),
            term: self.term.clone(),
            level: self.level,
        }))
    }
}

impl Method for MeanMethod {
    fn fit(
        &mut self,
        data: &dyn Columns,
        _context: &mut Context<'_>,
        estimates: &mut Estimates<'_>,
    ) -> Result<Outcome, FitFailure> {
        let Some(ColumnRef::Float(x)) = data.column(&self.column) else {
            return Err(FitFailure::new(format!(
                "no numeric column {}",
                self.column
            )));
        };
        if x.len() < 2 {
            return Err(FitFailure::new("fewer than two values"));
        }
        let (mean, se) = mean_and_se(x);
        let df = (x.len() - 1) as f64;
        let q = student_t::upper_quantile((1.0 - self.level) / 2.0, df);
        let e = estimates.push(&self.term, TermKind::Fixed, mean);
        e.se = Some(se);
        e.df = Some(df);
        e.ci_lower = Some(mean - q * se);
        e.ci_upper = Some(mean + q * se);
        e.p_value = Some(student_t::two_sided_p(mean / se, df));
        Ok(Outcome::OK)
    }
}

fn mean_and_se(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let ss: f64 = x.iter().map(|v| (v - mean).powi(2)).sum();
    (mean, (ss / (n - 1.0) / n).sqrt())
}

const STUDY: &str = r#"
[study]
name = "mean-kind"
replications = 40
seed = 11

[parameters]
mu = [0.0, 0.5]
n = 30

[data]
program = """
y = normal(mu, 1.0, n)
x = normal(0.0, 1.0, n)
"""

[methods.average]
model = "mean"
column = "y"
term = "mu"

[methods.ols]
model = "ols"
formula = "y ~ 1"

[estimands]
mu = "mu"
"(Intercept)" = "mu"
"#;

fn registry() -> Registry {
    Registry::builtin().with(MeanKind)
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("parsim-kind-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn options(out: &Path) -> RunOptions {
    RunOptions {
        jobs: Some(2),
        out: out.to_path_buf(),
        replications: None,
        shard: None,
        fresh: false,
        stop: Arc::new(AtomicBool::new(false)),
    }
}

#[test]
fn a_registered_kind_runs_beside_a_built_in_one() {
    let study = Study::from_source_with(Path::new("mean.toml"), STUDY.into(), &registry())
        .expect("the study is valid with the mean kind registered");
    let report = study.check().expect("check fits the new kind too");
    let text = report.to_string();
    assert!(text.contains("average: mean of y  [terms: mu]"), "{text}");

    let out = tempdir("run");
    let done = run(&study, &options(&out)).unwrap();
    assert_eq!(done.units_completed, 80);
    assert!(done.failures.is_empty(), "{:?}", done.failures);

    // Each stored estimate is the mean of that replication's data set, as generated on its own.
    let store = Store::open_existing(&out).unwrap();
    let mut workspace = study.program.workspace();
    let mut checked = 0;
    store
        .for_each_line(&mut |e| {
            if e.method != "average" {
                return;
            }
            study
                .generate(&mut workspace, e.condition, e.replication)
                .unwrap();
            let data = workspace.data();
            let Some(ColumnRef::Float(y)) = data.variable("y") else {
                panic!("y is a float column")
            };
            let (mean, se) = mean_and_se(y);
            // The same arithmetic on the same numbers: equal to the last bit.
            assert_eq!(e.estimate(), mean);
            assert_eq!(e.se(), Some(se));
            assert_eq!(e.truth(), Some([0.0, 0.5][e.condition]));
            checked += 1;
        })
        .unwrap();
    assert_eq!(checked, 80);

    // The mean of y equals OLS's intercept of y ~ 1 and its SE (the same estimator), to rounding.
    let mut pairs = std::collections::HashMap::new();
    store
        .for_each_line(&mut |e| {
            let key = (e.condition, e.replication);
            let slot = pairs.entry(key).or_insert([f64::NAN; 4]);
            let at = if e.method == "average" { 0 } else { 2 };
            slot[at] = e.estimate();
            slot[at + 1] = e.se().unwrap_or(f64::NAN);
        })
        .unwrap();
    for ([mean, se, intercept, ols_se], key) in pairs.values().zip(pairs.keys()) {
        assert!((mean - intercept).abs() <= 1e-12, "{key:?}");
        assert!((se - ols_se).abs() <= 1e-12 * se.abs(), "{key:?}");
    }

    // The measures summarise the new kind's term like any other.
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let rows: Vec<&str> = summary
        .lines()
        .filter(|l| l.contains(",average,"))
        .collect();
    assert_eq!(rows.len(), 2, "one row per condition:\n{summary}");
}

#[test]
fn the_new_kinds_table_is_checked_like_any_other() {
    let broken = STUDY.replace("column = \"y\"", "colum = \"y\"").replace(
        "model = \"ols\"\nformula",
        "model = \"ols\"\ncolumn = \"y\"\nformula",
    );
    let err = Study::from_source_with(Path::new("mean.toml"), broken, &registry()).unwrap_err();
    let messages: Vec<&str> = err
        .diagnostics()
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        messages.contains(&"unknown key `colum` in [methods.average]"),
        "{messages:?}"
    );
    assert!(
        messages.contains(&"missing key `column` in [methods.average]"),
        "{messages:?}"
    );
    assert!(
        messages.contains(&"`column` applies to model = \"mean\" only"),
        "{messages:?}"
    );
    // Without the kind registered, `mean` is not a model.
    let err = Study::from_source(Path::new("mean.toml"), STUDY.into()).unwrap_err();
    assert!(
        err.to_string().contains(
            "`model` must be one of \"lmm\", \"ols\", \"glm\", \"glmm\", \"python\", \"r\", \"command\", got \"mean\""
        ),
        "{err}"
    );
}
