//! `parsim merge` (being built; see the issue tracker).

use super::{Failure, Outcome};

/// Arguments of `parsim merge`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `parsim merge`.
pub fn execute(_args: Args) -> Outcome {
    Err(Failure::failed("`parsim merge` is not built yet"))
}
