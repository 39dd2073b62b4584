//! `parsim report DIR`: one self-contained HTML page of the results, `DIR/report.html`.

use std::path::PathBuf;
use std::process::ExitCode;

use parsim::measures;
use parsim::page::{self, PageError};
use parsim::plot::PlotError;

use super::summary::{measures_failure, open_results};
use super::{Failure, Outcome};

/// Arguments of `parsim report`.
#[derive(clap::Args)]
pub struct Args {
    /// Results directory of a run (holds results.sqlite); the page is written there as report.html.
    pub dir: PathBuf,
    #[command(flatten)]
    pub settings: super::summary::Settings,
    #[command(flatten)]
    pub filter: super::summary::Filter,
}

/// Run `parsim report`.
pub fn execute(args: Args) -> Outcome {
    let store = open_results(&args.dir)?;
    let settings = args.settings.of(&store)?;
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
