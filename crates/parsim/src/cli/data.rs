//! `parsim data` (being built; see the issue tracker).

use super::{Failure, Outcome};

/// Arguments of `parsim data`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `parsim data`.
pub fn execute(_args: Args) -> Outcome {
    Err(Failure::failed("`parsim data` is not built yet"))
}
