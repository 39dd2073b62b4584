//! `parsim fit` (being built; see the issue tracker).

use super::{Failure, Outcome};

/// Arguments of `parsim fit`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `parsim fit`.
pub fn execute(_args: Args) -> Outcome {
    Err(Failure::failed("`parsim fit` is not built yet"))
}
