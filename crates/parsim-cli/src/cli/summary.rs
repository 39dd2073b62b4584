//! `parsim summary DIR`: performance measures with Monte Carlo SEs from a results directory.

use std::path::PathBuf;
use std::process::ExitCode;

use parsim::measures::{self, MeasureKind, SummarySettings};
use parsim::report::{self, Format};
use parsim::store::{Store, StoreError};

use super::{Failure, Outcome};

/// Arguments of `parsim summary`.
#[derive(clap::Args)]
pub struct Args {
    /// Results directory of a run (holds results.sqlite).
    pub dir: PathBuf,
    /// Output format: table (aligned text), csv, json or markdown.
    #[arg(long, default_value = "table", value_parser = parse_format)]
    pub format: Format,
    /// Measures to show, comma separated: bias, relbias, empse, modelse, relerror, mse, rmse, cover, becover,
    /// power, type1, width, relprec, conv, reject, or all (default: the key measures in a table, all in a
    /// file format).
    #[arg(long, value_name = "LIST")]
    pub measures: Option<String>,
    #[command(flatten)]
    pub filter: Filter,
    #[command(flatten)]
    pub settings: Settings,
}

/// The measures' settings a command may override (`parsim summary`, `parsim report`).
#[derive(clap::Args, Debug, Default)]
pub struct Settings {
    /// Confidence level of the intervals (default: the study's [summary] level, else 0.95).
    #[arg(long, value_name = "L")]
    pub level: Option<f64>,
    /// Significance level of the tests of term = 0 (default: the study's [summary] alpha, else 0.05).
    #[arg(long, value_name = "A")]
    pub alpha: Option<f64>,
    /// Reference method for relative precision (default: the study's [summary] reference, else the first method).
    #[arg(long, value_name = "METHOD")]
    pub reference: Option<String>,
}

impl Settings {
    /// The study's `[summary]` settings of `store` with these overrides.
    pub fn of(self, store: &Store) -> Result<SummarySettings, Failure> {
        settings(store, self.level, self.alpha, self.reference)
    }
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

/// Which methods and estimands to show (`parsim summary`, `parsim plot`).
#[derive(clap::Args, Debug, Default)]
pub struct Filter {
    /// Only these methods, comma separated (default: every method).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub methods: Option<Vec<String>>,
    /// Only these estimands (terms), comma separated (default: every estimand).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub estimands: Option<Vec<String>>,
}

impl Filter {
    /// Keep only the chosen methods and estimands of `summary`; an unknown name is an input error.
    pub fn apply(&self, summary: &mut measures::Summary) -> Result<(), Failure> {
        let trimmed = |list: &Option<Vec<String>>| {
            list.as_ref()
                .map(|l| l.iter().map(|s| s.trim().to_string()).collect::<Vec<_>>())
        };
        let (methods, estimands) = (trimmed(&self.methods), trimmed(&self.estimands));
        summary
            .retain(methods.as_deref(), estimands.as_deref())
            .map_err(|e| Failure::invalid(e.to_string()))
    }
}

/// Run `parsim summary`.
pub fn execute(args: Args) -> Outcome {
    let measures = args
        .measures
        .as_deref()
        .map(|list| {
            MeasureKind::parse_list(list).map_err(|e| Failure::invalid(format!("--measures: {e}")))
        })
        .transpose()?;
    let store = open_results(&args.dir)?;
    let settings = args.settings.of(&store)?;
    let mut summary = measures::summarise(&store, Some(settings)).map_err(measures_failure)?;
    args.filter.apply(&mut summary)?;
    match (measures, args.format) {
        // A terminal gets what fits a screen; the files and `--measures` have everything.
        (None, Format::Table) => {
            print!("{}", report::key_table(&summary, report::terminal_width()));
            eprintln!(
                "(key measures; every measure with --measures all or --format csv|json|markdown)"
            );
        }
        (measures, format) => {
            let measures = measures.unwrap_or_else(|| MeasureKind::ALL.to_vec());
            print!("{}", report::render(&summary, format, &measures));
        }
    }
    warn_if_unfinished(&store, &args.dir);
    Ok(ExitCode::SUCCESS)
}

/// Measures of a study that is not finished describe fewer replications than it asked for: say how
/// many are stored, of how many, and how to complete it.
fn warn_if_unfinished(store: &Store, dir: &std::path::Path) {
    let finished = store.is_finished().unwrap_or(true);
    let stored = store.replications_done().unwrap_or(0);
    let conditions = store.conditions().map(|c| c.len() as u64).unwrap_or(0);
    let asked = store
        .study()
        .ok()
        .and_then(|s| s.toml.parse::<toml::Table>().ok())
        .and_then(|t| t.get("study")?.get("replications")?.as_integer())
        .and_then(|r| u64::try_from(r).ok())
        .map(|r| r.saturating_mul(conditions));
    let of = asked.map_or(String::new(), |n| {
        format!(" of the {n} the study file asks for")
    });
    if !finished {
        eprintln!(
            "note: the run into {} did not finish: {stored} replications are stored{of}, and these \
             measures describe them. Run the same command again to complete it.",
            dir.display()
        );
    } else if asked.is_some_and(|n| stored < n) {
        eprintln!("note: {stored} replications are stored{of} (the run asked for fewer).");
    }
}

/// The study's `[summary]` settings with command-line overrides.
pub fn settings(
    store: &Store,
    level: Option<f64>,
    alpha: Option<f64>,
    reference: Option<String>,
) -> Result<SummarySettings, Failure> {
    let toml = store
        .study_toml()
        .map_err(|e| Failure::failed(e.to_string()))?;
    let settings = SummarySettings::from_study_toml(&toml)
        .map_err(|e| Failure::invalid(e.to_string()))?
        .overridden(level, alpha, reference);
    settings
        .validate()
        .map_err(|e| Failure::invalid(format!("{e} (--level / --alpha)")))?;
    Ok(settings)
}

/// Open the store of `dir` read-only (nothing in `dir` changes), with a message saying what to do when
/// there is none.
pub fn open_results(dir: &std::path::Path) -> Result<Store, Failure> {
    Store::open_read_only(dir).map_err(|e| match e {
        StoreError::Missing(_) => Failure::invalid(format!(
            "no results store in {}; give the directory a run wrote (`parsim run STUDY.toml --out DIR`)",
            dir.display()
        )),
        other => Failure::failed(other.to_string()),
    })
}

/// Invalid settings are the user's to fix (exit 2); an unreadable store is a failure (exit 1).
pub fn measures_failure(error: measures::MeasuresError) -> Failure {
    match error {
        measures::MeasuresError::Settings(e) => Failure::invalid(e.to_string()),
        other => Failure::failed(other.to_string()),
    }
}
