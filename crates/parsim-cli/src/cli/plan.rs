//! `parsim plan DIR`: from a pilot run, the replications each `[stopping]` target needs.

use std::path::PathBuf;
use std::process::ExitCode;

use parsim::run::{self, RunError};

use super::{Failure, Outcome};

/// Arguments of `parsim plan`.
#[derive(clap::Args)]
pub struct Args {
    /// The results directory of a pilot run of a study with a [stopping] section.
    pub dir: PathBuf,
}

/// Run `parsim plan`: reads the store, changes nothing.
pub fn execute(args: Args) -> Outcome {
    let table = run::plan(&args.dir).map_err(|e| match e {
        RunError::Store(_) => Failure::failed(e.to_string()),
        _ => Failure::invalid(e.to_string()),
    })?;
    print!("{table}");
    Ok(ExitCode::SUCCESS)
}
