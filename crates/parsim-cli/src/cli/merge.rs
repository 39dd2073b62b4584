//! `parsim merge DIR`: merge the shard stores of a job array, report what is missing or failed.

use std::path::Path;
use std::process::ExitCode;

use parsim::merge::{self, MergeOptions, MergeReport};

use super::shards::{failure, live_job, shard_lines, ArrayArgs};
use super::Outcome;

/// Arguments of `parsim merge`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub array: ArrayArgs,
    /// Do not print the summary table.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Run `parsim merge`: exit 0 when the study is complete, 1 when units are missing (the merge is kept).
pub fn execute(args: Args) -> Outcome {
    merge_and_report(&args.array.dir, &args.array.options(), args.quiet)
}

/// Merge `dir`, print what was merged, what failed and what is missing, and the summary when complete.
pub fn merge_and_report(dir: &Path, options: &MergeOptions, quiet: bool) -> Outcome {
    let report = merge::merge(dir, options).map_err(failure)?;
    print_merge(&report);
    let survey = &report.survey;
    if !survey.is_complete() {
        return Ok(ExitCode::from(super::EXIT_FAILURE));
    }
    if let (Some(summary), false) = (&report.summary, quiet) {
        println!("{}", summary.table);
    }
    Ok(super::failed_everywhere_code(report.summary.as_ref()))
}

fn print_merge(report: &MergeReport) {
    let survey = &report.survey;
    let merged = report.copied.len();
    eprintln!(
        "merged {merged} shard store{} into {}:",
        if merged == 1 { "" } else { "s" },
        parsim::store::Store::path_in(&survey.dir).display()
    );
    eprint!("{}", shard_lines(survey, Some(&report.copied)));
    eprintln!(
        "{}: {} of {} units; results.csv: {} rows",
        if survey.is_complete() {
            "complete"
        } else {
            "incomplete"
        },
        survey.units_done(),
        survey.units(),
        report.csv_rows
    );
    eprint!("{}", survey.describe_failures());
    if let Some((job, counts)) = live_job(&survey.dir).filter(|(_, c)| c.active() > 0) {
        eprintln!("note: job {job} is not finished ({counts}): missing units may still come; merge again when it ends");
    }
    eprint!("{}", survey.describe_missing());
}
