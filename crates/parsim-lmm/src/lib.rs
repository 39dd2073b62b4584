//! Linear mixed models with lme4 formulas, matching lme4, fast; OLS beside them.
//!
//! The pipeline follows lme4's modules and MixedModels.jl's types:
//! [`Formula`] (lme4 syntax) → model structure (fixed-effects columns, random-effects terms with
//! their relative covariance templates Λ) → profiled deviance of θ → bounded optimizer → fitted
//! model with post-fit checks and lmerTest's Satterthwaite degrees of freedom.

mod data;
#[allow(dead_code)] // the fitters using it land next
mod design;
mod error;
mod formula;

pub use data::{ColumnRef, Columns, CsvError, DataFrame};
pub use error::{FitError, ModelError};
pub use formula::{Formula, FormulaError};
