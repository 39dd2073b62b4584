//! `parsim run` (being built; see the issue tracker).

use super::{Failure, Outcome};

/// Arguments of `parsim run`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `parsim run`.
pub fn execute(_args: Args) -> Outcome {
    Err(Failure::failed("`parsim run` is not built yet"))
}
