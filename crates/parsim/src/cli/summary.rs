//! `parsim summary` (being built; see the issue tracker).

use super::{Failure, Outcome};

/// Arguments of `parsim summary`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `parsim summary`.
pub fn execute(_args: Args) -> Outcome {
    Err(Failure::failed("`parsim summary` is not built yet"))
}
