//! `parsim report DIR`: one self-contained HTML page of the results, `DIR/report.html`.

use std::path::PathBuf;
use std::process::ExitCode;

use parsim::measures;
use parsim::page::{self, PageError};
use parsim::plot::PlotError;

use super::summary::{measures_failure, open_results, settings};
use super::{Failure, Outcome};

/// Arguments of `parsim report`.
#[derive(clap::Args)]
pub struct Args {
    /// Results directory of a run (holds results.sqlite); the page is written there as report.html.
    pub dir: PathBuf,
    /// Confidence level of the intervals (default: the study's [summary] level, else 0.95).
    #[arg(long, value_name = "L")]
    pub level: Option<f64>,
    /// Significance level of the tests of term = 0 (default: the study's [summary] alpha, else 0.05).
    #[arg(long, value_name = "A")]
    pub alpha: Option<f64>,
    /// Reference method for relative precision (default: the study's [summary] reference, else the first method).
    #[arg(long, value_name = "METHOD")]
    pub reference: Option<String>,
    #[command(flatten)]
    pub filter: super::summary::Filter,
}

/// Run `parsim report`.
pub fn execute(args: Args) -> Outcome {
    let store = open_results(&args.dir)?;
    let settings = settings(&store, args.level, args.alpha, args.reference)?;
    let mut summary = measures::summarise(&store, Some(settings)).map_err(measures_failure)?;
    args.filter.apply(&mut summary)?;
    let path = page::write_report(&args.dir, &store, &summary).map_err(|e| match e {
        PageError::Plot(plot) => match *plot {
            PlotError::Measures(e) => measures_failure(e),
            other => Failure::failed(other.to_string()),
        },
        other => Failure::failed(other.to_string()),
    })?;
    println!("{}", path.display());
    Ok(ExitCode::SUCCESS)
}
