//! `parsim status` (being built; see the issue tracker).

use super::{Failure, Outcome};

/// Arguments of `parsim status`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `parsim status`.
pub fn execute(_args: Args) -> Outcome {
    Err(Failure::failed("`parsim status` is not built yet"))
}
