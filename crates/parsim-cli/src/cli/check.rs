//! `parsim check STUDY.toml`: validate a study without running it and show its design.

use std::path::PathBuf;
use std::process::ExitCode;

use parsim::study::StudyError;

use super::{load_study, Failure, Outcome};

/// Arguments of `parsim check`.
#[derive(clap::Args)]
pub struct Args {
    /// The study file (TOML).
    pub study: PathBuf,
}

/// Run `parsim check`: load (parse, names, arity, types, formula columns), generate replication 0 of every
/// condition, match estimands to the methods' terms, then print the design.
pub fn execute(args: Args) -> Outcome {
    let study = load_study(&args.study)?;
    let report = study.check().map_err(|e| match e {
        StudyError::Io { .. } => Failure::failed(e.to_string()),
        StudyError::Invalid { rendered, .. } => Failure::invalid(rendered),
    })?;
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}
