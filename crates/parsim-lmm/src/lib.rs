//! Linear mixed models with lme4 formulas, matching lme4, fast; OLS beside them.
//!
//! The pipeline follows lme4's modules and MixedModels.jl's types:
//! [`Formula`] (lme4 and R syntax: `I()`, `log()`, `poly()`, `factor()`, `offset()`, `(a + b)^2`,
//! `%in%`, nested grouping factors) → model frame (`frame`: the computed variables, the response
//! less its offsets, prior weights) → model structure (`model`: fixed-effects columns, random-effects terms
//! with their relative covariance templates Λ, the blocks of A = [Z X y]′[Z X y]) → profiled
//! deviance of θ (`blocked`: blocked Cholesky; a badly scaled covariate centred internally and
//! reported on the user's scale, `centre`) → bounded optimizer (`optimize`: BOBYQA, Brent in
//! one dimension) → fitted model ([`LmmFit`]) with post-fit checks and lmerTest's Satterthwaite
//! degrees of freedom (`inference`).
//!
//! ```
//! use parsim_lmm::{DataFrame, Formula, LmmFitter, LmmOptions};
//! let csv = "y,g\n1.0,a\n1.4,a\n2.1,b\n2.3,b\n0.2,c\n0.9,c\n";
//! let data = DataFrame::parse_csv(csv, "example").unwrap();
//! let formula = Formula::parse("y ~ 1 + (1 | g)").unwrap();
//! let mut fitter = LmmFitter::new(&formula, LmmOptions::default()).unwrap();
//! let fit = fitter.fit(&data).unwrap();
//! assert_eq!(fit.coefficients[0].term, "(Intercept)");
//! ```

// Index loops mirror the matrix algebra of the blocked factorization; iterator chains would obscure it.
#![allow(clippy::needless_range_loop)]

mod blocked;
mod centre;
mod data;
mod dense;
mod design;
mod elementary;
mod error;
mod family;
mod formula;
mod frame;
mod glm;
mod glmm;
mod inference;
mod lmm;
mod model;
mod ols;
mod optimize;
mod pls;
mod simd;
pub mod student_t;
mod summary;
mod supernodal;

pub use data::{ColumnRef, Columns, CsvError, DataFrame};
pub use design::Contrast;
pub use error::{did_you_mean, unknown_column_note, FitError, ModelError};
pub use family::{Distribution, Family, FamilyError, Link};
pub use formula::{Formula, FormulaError};
pub use glm::{GlmCoefficient, GlmFit, GlmFitter, GlmOptions, GlmStatus};
pub use glmm::{GlmmFit, GlmmFitter, GlmmOptions, MAX_NAGQ};
pub use lmm::{Coefficient, Inference, LmmFit, LmmFitter, LmmOptions, VarComp};
pub use ols::{OlsFit, OlsFitter, OlsOptions};
pub use summary::{p_text, random_effects, SummaryHeader};
