//! `parsim plot` (being built; see the issue tracker).

use super::{Failure, Outcome};

/// Arguments of `parsim plot`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `parsim plot`.
pub fn execute(_args: Args) -> Outcome {
    Err(Failure::failed("`parsim plot` is not built yet"))
}
