//! Performance measures of a simulation study, each with its Monte Carlo SE (Morris, White & Crowther 2019,
//! Table 6; `shared/notes/performance-measures.md`).
//!
//! Everything is computed by mergeable streaming accumulators ([`moments`]), so memory does not grow with
//! replications and shards merge without their raw rows ([`StudyAccumulator`]). Bias-eliminated coverage
//! needs θ̄, known only at the end: rather than keep every estimate, [`summarise`] reads the store twice (the
//! store makes a pass cheap): the first pass gives θ̄ per group, the second counts intervals covering it. Both
//! passes merge across shards; a shard's second pass just needs the merged θ̄
//! ([`accumulate_bias_eliminated`]). Relative precision pairs each method with the reference method on
//! replications both completed: the first pass reads rows in (condition, replication) order and pairs each
//! replication's estimates as they stream by.
//!
//! Units: relative bias, relative error in model SE, coverage, bias-eliminated coverage, rejection rate,
//! relative precision and the convergence rate are percentages; the other measures are in the units of the estimate.
//! Confidence intervals and p-values are recomputed from (estimate, SE, df) at the chosen level: t with the
//! stored df (Satterthwaite for mixed models, n − p or G − 1 for OLS), normal when df is NULL.

mod accumulate;
mod fits;
pub mod moments;
pub mod power;
mod summarise;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

pub use accumulate::{
    IntervalRule, PerformanceAccumulator, PerformanceMeasures, PrecisionAccumulator,
};
pub use fits::{FailureReason, FitCounts};
pub use summarise::{
    accumulate, accumulate_bias_eliminated, summarise, summarise_keeping, ConditionInfo, GroupId,
    StudyAccumulator, Summary, SummaryRow,
};

/// Errors of the measures: bad settings or an unreadable store.
#[derive(Debug, thiserror::Error)]
pub enum MeasuresError {
    /// Invalid summary settings.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The store could not be read.
    #[error("cannot read the results store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The store holds something that does not follow the schema.
    #[error("the results store is malformed: {0}")]
    Malformed(String),
}

/// Invalid summary settings (`[summary]` in the study file, or command-line options).
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// level/alpha outside (0, 1).
    #[error("`{name}` must be a probability strictly between 0 and 1, not {value}")]
    Probability {
        /// Setting name.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// The stored study's `[summary]` is invalid (read by the rules of the study file).
    #[error("the stored study file: {0}")]
    Study(#[from] crate::study::StudyError),
    /// The reference method is not a method of the study.
    #[error("unknown reference method `{name}`; the methods are: {methods}")]
    UnknownReference {
        /// The name given.
        name: String,
        /// The study's methods, comma separated.
        methods: String,
    },
    /// `--methods` or `--estimands` names one the results do not have.
    #[error("unknown {what} `{name}`; the results have: {known}")]
    UnknownName {
        /// `method` or `estimand`.
        what: &'static str,
        /// The name given.
        name: String,
        /// The names the results have, comma separated.
        known: String,
    },
    /// `--measures` names a measure that does not exist.
    #[error("unknown measure `{0}`; choose from: {names}", names = MeasureKind::names())]
    UnknownMeasure(String),
}

pub use crate::store::Replicate;
pub use crate::study::SummarySettings;

impl SummarySettings {
    /// These settings with the ones given instead (`parsim summary --level`, Python's
    /// `summary(level=...)`); check them with [`SummarySettings::validate`].
    pub fn overridden(
        self,
        level: Option<f64>,
        alpha: Option<f64>,
        reference: Option<String>,
    ) -> SummarySettings {
        SummarySettings {
            level: level.unwrap_or(self.level),
            alpha: alpha.unwrap_or(self.alpha),
            reference: reference.or(self.reference),
        }
    }

    /// Check level and alpha are probabilities.
    pub fn validate(&self) -> Result<(), SettingsError> {
        IntervalRule::new(self.level, self.alpha).map(|_| ())
    }
}

/// A measure's estimate and its Monte Carlo SE; NaN when not available (too few replications, no SEs, ...).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Value {
    /// The estimate.
    pub estimate: f64,
    /// Its Monte Carlo standard error.
    pub mcse: f64,
}

impl Value {
    /// A value; non-finite parts become NaN.
    pub fn new(estimate: f64, mcse: f64) -> Self {
        let finite = |x: f64| if x.is_finite() { x } else { f64::NAN };
        Value {
            estimate: finite(estimate),
            mcse: finite(mcse),
        }
    }

    /// Not available.
    pub fn missing() -> Self {
        Value {
            estimate: f64::NAN,
            mcse: f64::NAN,
        }
    }

    /// The estimate, or `None` when not available.
    pub fn estimate(&self) -> Option<f64> {
        (!self.estimate.is_nan()).then_some(self.estimate)
    }

    /// The MCSE, or `None` when not available.
    pub fn mcse(&self) -> Option<f64> {
        (!self.mcse.is_nan()).then_some(self.mcse)
    }
}

/// The performance measures, in the order of Morris et al.'s Table 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureKind {
    /// θ̄ − θ.
    Bias,
    /// Relative bias, %.
    RelativeBias,
    /// Empirical SE.
    EmpiricalSe,
    /// Mean model-based SE.
    ModelSe,
    /// Relative % error in model SE.
    RelativeErrorModelSe,
    /// Mean squared error.
    Mse,
    /// Root mean squared error.
    Rmse,
    /// Coverage, %.
    Coverage,
    /// Bias-eliminated coverage, %.
    BiasEliminatedCoverage,
    /// Power, %: the rejection rate of H0: term = 0 where the true value is not 0 (not available elsewhere).
    Power,
    /// Type I error, %: the rejection rate of H0: term = 0 where the true value is 0 (not available elsewhere).
    TypeIError,
    /// The rejection rate of H0: term = 0 whatever the true value, %: the neutral name (not in [`ALL`],
    /// which shows it as power and type I error).
    ///
    /// [`ALL`]: MeasureKind::ALL
    Rejection,
    /// Mean confidence interval width.
    CiWidth,
    /// Relative % precision against the reference method.
    RelativePrecision,
    /// Convergence rate: % of replications with a usable estimate.
    Convergence,
}

impl MeasureKind {
    /// Every measure, in table order (the rejection rate as power and type I error).
    pub const ALL: [MeasureKind; 14] = [
        MeasureKind::Bias,
        MeasureKind::RelativeBias,
        MeasureKind::EmpiricalSe,
        MeasureKind::ModelSe,
        MeasureKind::RelativeErrorModelSe,
        MeasureKind::Mse,
        MeasureKind::Rmse,
        MeasureKind::Coverage,
        MeasureKind::BiasEliminatedCoverage,
        MeasureKind::Power,
        MeasureKind::TypeIError,
        MeasureKind::CiWidth,
        MeasureKind::RelativePrecision,
        MeasureKind::Convergence,
    ];

    /// Short name, as in rsimsum (used by `--measures` and as CSV column).
    pub fn key(self) -> &'static str {
        match self {
            MeasureKind::Bias => "bias",
            MeasureKind::RelativeBias => "relbias",
            MeasureKind::EmpiricalSe => "empse",
            MeasureKind::ModelSe => "modelse",
            MeasureKind::RelativeErrorModelSe => "relerror",
            MeasureKind::Mse => "mse",
            MeasureKind::Rmse => "rmse",
            MeasureKind::Coverage => "cover",
            MeasureKind::BiasEliminatedCoverage => "becover",
            MeasureKind::Power => "power",
            MeasureKind::TypeIError => "type1",
            MeasureKind::Rejection => "reject",
            MeasureKind::CiWidth => "width",
            MeasureKind::RelativePrecision => "relprec",
            MeasureKind::Convergence => "conv",
        }
    }

    /// Column heading for tables.
    pub fn heading(self) -> &'static str {
        match self {
            MeasureKind::Bias => "bias",
            MeasureKind::RelativeBias => "rel. bias %",
            MeasureKind::EmpiricalSe => "emp. SE",
            MeasureKind::ModelSe => "model SE",
            MeasureKind::RelativeErrorModelSe => "rel. error model SE %",
            MeasureKind::Mse => "MSE",
            MeasureKind::Rmse => "RMSE",
            MeasureKind::Coverage => "coverage %",
            MeasureKind::BiasEliminatedCoverage => "BE coverage %",
            MeasureKind::Power => "power %",
            MeasureKind::TypeIError => "type I error %",
            MeasureKind::Rejection => "rejection %",
            MeasureKind::CiWidth => "CI width",
            MeasureKind::RelativePrecision => "rel. precision %",
            MeasureKind::Convergence => "convergence %",
        }
    }

    /// The key measures a terminal shows: bias, empirical SE, coverage, power, type I error and the
    /// convergence rate (every measure is in the files).
    pub const KEY: [MeasureKind; 6] = [
        MeasureKind::Bias,
        MeasureKind::EmpiricalSe,
        MeasureKind::Coverage,
        MeasureKind::Power,
        MeasureKind::TypeIError,
        MeasureKind::Convergence,
    ];

    /// All short names, comma separated.
    pub fn names() -> String {
        MeasureKind::ALL
            .iter()
            .chain([&MeasureKind::Rejection])
            .map(|m| m.key())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Parse a comma-separated list such as `bias,cover,relerror` (`all` = every measure).
    pub fn parse_list(list: &str) -> Result<Vec<MeasureKind>, SettingsError> {
        let mut kinds = Vec::new();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if name.eq_ignore_ascii_case("all") {
                kinds.extend(MeasureKind::ALL);
                continue;
            }
            let kind: MeasureKind = name.parse()?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        Ok(kinds)
    }
}

impl FromStr for MeasureKind {
    type Err = SettingsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MeasureKind::ALL
            .into_iter()
            .chain([MeasureKind::Rejection])
            .find(|m| m.key().eq_ignore_ascii_case(s))
            .ok_or_else(|| SettingsError::UnknownMeasure(s.to_string()))
    }
}

impl fmt::Display for MeasureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}
