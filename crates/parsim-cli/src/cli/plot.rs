//! `parsim plot DIR`: figures of the results, one file each (the figures `parsim::plot::study_figures`
//! gives a report): per estimand, the estimates, the key measures of every condition, a nested-loop plot
//! of each key measure, power curves and zip plots; large figures come in pages (`_p2`).

use std::path::PathBuf;
use std::process::ExitCode;

use parsim::measures;
use parsim::plot::{self, ImageFormat, PlotError};

use super::summary::{measures_failure, open_results, settings};
use super::{Failure, Outcome};

/// Arguments of `parsim plot`.
#[derive(clap::Args)]
pub struct Args {
    /// Results directory of a run (holds results.sqlite).
    pub dir: PathBuf,
    /// Image format: svg or png.
    #[arg(long, default_value = "svg", value_parser = parse_format)]
    pub format: ImageFormat,
    /// Where to write the figures (default: DIR/plots).
    #[arg(long, value_name = "OUT")]
    pub out: Option<PathBuf>,
    /// Confidence level of the intervals (default: the study's [summary] level, else 0.95).
    #[arg(long, value_name = "L")]
    pub level: Option<f64>,
    #[command(flatten)]
    pub filter: super::summary::Filter,
}

fn parse_format(s: &str) -> Result<ImageFormat, String> {
    s.parse()
}

/// Run `parsim plot`.
pub fn execute(args: Args) -> Outcome {
    let store = open_results(&args.dir)?;
    let settings = settings(&store, args.level, None, None)?;
    let mut summary = measures::summarise(&store, Some(settings)).map_err(measures_failure)?;
    args.filter.apply(&mut summary)?;
    let out = args.out.unwrap_or_else(|| args.dir.join("plots"));
    let written = plot::plot_all(&store, &summary, &out, args.format).map_err(|e| match e {
        PlotError::Measures(e) => measures_failure(e),
        other => Failure::failed(other.to_string()),
    })?;
    for path in &written {
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
