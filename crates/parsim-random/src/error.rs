//! Errors of the crate: numpy's `ValueError`s, naming the argument.

/// A parameter or shape that numpy would reject with a `ValueError` (or, for an infinite uniform range, an
/// `OverflowError`). Returned before any draw is consumed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A parameter value outside its domain. `message` is numpy's own text, e.g. `"scale < 0"` or
    /// `"p < 0, p > 1 or p is NaN"`, and names the argument `arg`.
    #[error("{message}")]
    InvalidParameter {
        /// The argument's name, as in numpy's signature (`"scale"`, `"p"`, `"high - low"`, ...).
        arg: &'static str,
        /// numpy's message.
        message: String,
    },
    /// A vector parameter whose length neither equals the output's length (`size`) nor is 1.
    #[error("{arg} has length {len} but size is {size}")]
    Shape {
        /// The argument's name.
        arg: &'static str,
        /// The argument's length.
        len: usize,
        /// The output's length (numpy's `size`).
        size: usize,
    },
}

impl Error {
    /// An [`Error::InvalidParameter`] for `arg` with numpy's `message`.
    pub(crate) fn invalid(arg: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidParameter {
            arg,
            message: message.into(),
        }
    }
}
