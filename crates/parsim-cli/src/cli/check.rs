//! `parsim check STUDY.toml`: validate a study without running it and show its design.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{check_study, load_study, Outcome};

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
    let report = check_study(&study)?;
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}
