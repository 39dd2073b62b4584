//! `parsim check` (being built; see the issue tracker).

use super::{Failure, Outcome};

/// Arguments of `parsim check`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `parsim check`.
pub fn execute(_args: Args) -> Outcome {
    Err(Failure::failed("`parsim check` is not built yet"))
}
