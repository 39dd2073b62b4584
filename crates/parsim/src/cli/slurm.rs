//! `parsim slurm` (being built; see the issue tracker).

use super::{Failure, Outcome};

/// Arguments of `parsim slurm`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `parsim slurm`.
pub fn execute(_args: Args) -> Outcome {
    Err(Failure::failed("`parsim slurm` is not built yet"))
}
