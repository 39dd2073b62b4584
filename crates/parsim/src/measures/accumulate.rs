//! Per (condition, method, term) accumulators of every performance measure, and the pairwise accumulator of
//! relative precision. Each is pushed one replication at a time and merged without the raw rows.

use parsim_lmm::student_t;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use super::moments::{CoMoments, Moments, Proportion};
use super::{MeasureKind, Replicate, SettingsError, Value};

impl Replicate {
    fn usable_se(&self) -> Option<f64> {
        self.se.filter(|se| se.is_finite() && *se >= 0.0)
    }
}

/// Confidence intervals and tests at a chosen level and alpha, recomputed from (estimate, se, df) so the
/// level is a choice made at summary time: t with `df` degrees of freedom, or normal when `df` is absent.
/// A method that reports an interval or p-value without an SE is taken as reported.
#[derive(Debug, Clone)]
pub struct IntervalRule {
    level: f64,
    alpha: f64,
    /// The last (df, quantile) computed: df is usually constant (OLS) or repeated, and the t quantile is costly.
    cached: Option<(u64, f64)>,
    normal_quantile: f64,
}

impl IntervalRule {
    /// A rule for intervals of coverage `level` and tests at `alpha`, both in (0, 1).
    pub fn new(level: f64, alpha: f64) -> Result<Self, SettingsError> {
        check_probability("level", level)?;
        check_probability("alpha", alpha)?;
        let normal = Normal::standard();
        Ok(IntervalRule {
            level,
            alpha,
            cached: None,
            normal_quantile: normal.inverse_cdf(upper_tail(level)),
        })
    }

    /// The interval's level.
    pub fn level(&self) -> f64 {
        self.level
    }

    /// The tests' alpha.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// The two-sided critical value for `df` degrees of freedom (`None`: normal); NaN when df is not positive.
    pub fn critical_value(&mut self, df: Option<f64>) -> f64 {
        let Some(df) = df.filter(|d| !is_effectively_normal(*d)) else {
            return self.normal_quantile;
        };
        if df.is_nan() || df <= 0.0 {
            return f64::NAN;
        }
        if let Some((bits, q)) = self.cached {
            if bits == df.to_bits() {
                return q;
            }
        }
        let q = student_t::upper_quantile((1.0 - self.level) / 2.0, df);
        self.cached = Some((df.to_bits(), q));
        q
    }

    /// The replication's interval at this level, or `None` when it has neither an SE nor a reported interval.
    pub fn interval(&mut self, r: &Replicate) -> Option<(f64, f64)> {
        match r.usable_se() {
            Some(se) => {
                let half = self.critical_value(r.df) * se;
                half.is_finite()
                    .then_some((r.estimate - half, r.estimate + half))
            }
            None => match (r.ci_lower, r.ci_upper) {
                (Some(l), Some(u)) if l.is_finite() && u.is_finite() => Some((l, u)),
                _ => None,
            },
        }
    }

    /// Two-sided p-value of H0: term = 0, or `None` when neither an SE nor a reported p-value exists.
    pub fn p_value(&self, r: &Replicate) -> Option<f64> {
        match r.usable_se() {
            Some(se) => {
                let t = (r.estimate / se).abs();
                if t.is_nan() {
                    return None;
                }
                match r.df.filter(|d| !is_effectively_normal(*d)) {
                    Some(df) if df > 0.0 => Some(student_t::two_sided_p(t, df)),
                    Some(_) => None,
                    None => Some(2.0 * Normal::standard().sf(t)),
                }
            }
            None => r.p_value.filter(|p| p.is_finite()),
        }
    }

    /// Whether H0: term = 0 is rejected at alpha.
    pub fn rejects(&self, r: &Replicate) -> Option<bool> {
        self.p_value(r).map(|p| p <= self.alpha)
    }
}

/// Beyond this many degrees of freedom the t and normal quantiles agree to about 1e-7: use the normal there
/// (and for infinite df, which is what a method reports for a normal reference).
fn is_effectively_normal(df: f64) -> bool {
    df.is_infinite() && df > 0.0 || df > 1e7
}

fn upper_tail(level: f64) -> f64 {
    1.0 - (1.0 - level) / 2.0
}

fn check_probability(name: &'static str, value: f64) -> Result<(), SettingsError> {
    if value > 0.0 && value < 1.0 {
        Ok(())
    } else {
        Err(SettingsError::Probability { name, value })
    }
}

/// Accumulates every single-method measure of one (condition, method, term).
///
/// Bias-eliminated coverage needs θ̄, known only once every replication has been seen, so it is filled by a
/// second pass ([`PerformanceAccumulator::push_bias_eliminated`]) with the θ̄ of the merged first pass. Both
/// passes are mergeable: shards merge their first passes, then count their second passes against the common θ̄.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PerformanceAccumulator {
    /// Replications whose fit failed or gave no usable estimate.
    pub failed: u64,
    /// The true value (`None` until a replication is pushed).
    pub truth: Option<f64>,
    /// Moments of θ̂ᵢ: bias, empirical SE.
    pub estimate: Moments,
    /// Moments of (θ̂ᵢ − θ)/θ (only when θ ≠ 0).
    pub relative_error: Moments,
    /// Moments of (θ̂ᵢ − θ)²: MSE.
    pub squared_error: Moments,
    /// Moments of V̂ᵢ = SEᵢ²: model SE.
    pub model_variance: Moments,
    /// Moments of the interval width Uᵢ − Lᵢ.
    pub width: Moments,
    /// Lᵢ ≤ θ ≤ Uᵢ.
    pub coverage: Proportion,
    /// pᵢ ≤ α.
    pub rejection: Proportion,
    /// Lᵢ ≤ θ̄ ≤ Uᵢ (second pass).
    pub bias_eliminated_coverage: Proportion,
}

impl PerformanceAccumulator {
    /// Add a replication with a usable fit; a non-finite estimate counts as failed.
    pub fn push(&mut self, r: &Replicate, rule: &mut IntervalRule) {
        if !r.estimate.is_finite() {
            self.failed += 1;
            return;
        }
        self.truth.get_or_insert(r.truth);
        let error = r.estimate - r.truth;
        self.estimate.push(r.estimate);
        self.squared_error.push(error * error);
        if r.truth != 0.0 {
            self.relative_error.push(error / r.truth);
        }
        if let Some(se) = r.usable_se() {
            self.model_variance.push(se * se);
        }
        if let Some((lower, upper)) = rule.interval(r) {
            self.width.push(upper - lower);
            self.coverage.push(lower <= r.truth && r.truth <= upper);
        }
        if let Some(reject) = rule.rejects(r) {
            self.rejection.push(reject);
        }
    }

    /// Count a replication whose fit failed (not converged or error).
    pub fn push_failed(&mut self) {
        self.failed += 1;
    }

    /// Second pass: count whether the replication's interval covers `mean_estimate` (θ̄ of the whole run).
    pub fn push_bias_eliminated(
        &mut self,
        r: &Replicate,
        mean_estimate: f64,
        rule: &mut IntervalRule,
    ) {
        if !r.estimate.is_finite() {
            return;
        }
        if let Some((lower, upper)) = rule.interval(r) {
            self.bias_eliminated_coverage
                .push(lower <= mean_estimate && mean_estimate <= upper);
        }
    }

    /// Merge another shard's accumulator of the same (condition, method, term).
    pub fn merge(&mut self, other: &PerformanceAccumulator) {
        self.failed += other.failed;
        if self.truth.is_none() {
            self.truth = other.truth;
        }
        self.estimate.merge(&other.estimate);
        self.relative_error.merge(&other.relative_error);
        self.squared_error.merge(&other.squared_error);
        self.model_variance.merge(&other.model_variance);
        self.width.merge(&other.width);
        self.coverage.merge(&other.coverage);
        self.rejection.merge(&other.rejection);
        self.bias_eliminated_coverage
            .merge(&other.bias_eliminated_coverage);
    }

    /// Replications used.
    pub fn used(&self) -> u64 {
        self.estimate.n
    }

    /// θ̄, the mean estimate (NaN when none), needed by the second pass.
    pub fn mean_estimate(&self) -> f64 {
        self.estimate.mean()
    }

    /// Every measure with its Monte Carlo SE (Morris, White & Crowther 2019, Table 6). Relative precision is
    /// not a single-method measure: it is NaN here and filled from a [`PrecisionAccumulator`].
    pub fn finish(&self) -> PerformanceMeasures {
        let n = self.estimate.n as f64;
        let bias = Value::new(
            self.estimate.mean() - self.truth.unwrap_or(f64::NAN),
            self.estimate.se_of_mean(),
        );
        let emp_se = self.estimate.variance().sqrt();
        let empirical_se = Value::new(emp_se, emp_se / (2.0 * (n - 1.0)).sqrt());
        let mse = self.squared_error.mean();
        let mse_mcse = self.squared_error.se_of_mean();
        let rmse = mse.sqrt();
        let n_se = self.model_variance.n as f64;
        let var_v = self.model_variance.variance();
        let mod_se = self.model_variance.mean().sqrt();
        let model_se = Value::new(mod_se, (var_v / (4.0 * n_se * mod_se * mod_se)).sqrt());
        let ratio = mod_se / emp_se;
        let relative_error_model_se = Value::new(
            100.0 * (ratio - 1.0),
            100.0
                * ratio
                * (var_v / (4.0 * n_se * mod_se.powi(4)) + 1.0 / (2.0 * (n - 1.0))).sqrt(),
        );
        PerformanceMeasures {
            used: self.estimate.n,
            failed: self.failed,
            truth: self.truth.unwrap_or(f64::NAN),
            mean_estimate: self.estimate.mean(),
            bias,
            relative_bias: Value::new(
                100.0 * self.relative_error.mean(),
                100.0 * self.relative_error.se_of_mean(),
            ),
            empirical_se,
            model_se,
            relative_error_model_se,
            mse: Value::new(mse, mse_mcse),
            rmse: Value::new(rmse, mse_mcse / (2.0 * rmse)),
            coverage: percent(&self.coverage),
            bias_eliminated_coverage: percent(&self.bias_eliminated_coverage),
            rejection: percent(&self.rejection),
            ci_width: Value::new(self.width.mean(), self.width.se_of_mean()),
            relative_precision: Value::missing(),
            convergence: percent(&Proportion {
                n: self.estimate.n + self.failed,
                hits: self.estimate.n,
            }),
        }
    }
}

fn percent(p: &Proportion) -> Value {
    Value::new(100.0 * p.estimate(), 100.0 * p.mcse())
}

/// Pairs (θ̂ of the reference method, θ̂ of the method) over replications both completed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PrecisionAccumulator {
    /// x = reference method's estimate, y = this method's estimate.
    pub pairs: CoMoments,
}

impl PrecisionAccumulator {
    /// Add one replication both methods completed.
    pub fn push(&mut self, reference_estimate: f64, estimate: f64) {
        if reference_estimate.is_finite() && estimate.is_finite() {
            self.pairs.push(reference_estimate, estimate);
        }
    }

    /// Merge another shard's pairs.
    pub fn merge(&mut self, other: &PrecisionAccumulator) {
        self.pairs.merge(&other.pairs);
    }

    /// Relative % precision of the method against the reference, 100[(EmpSE_ref/EmpSE)² − 1], with MCSE
    /// 200 (EmpSE_ref/EmpSE)² √[(1 − ρ²)/(n − 1)].
    pub fn finish(&self) -> Value {
        let ratio2 = self.pairs.variance_x() / self.pairs.variance_y();
        let rho = self.pairs.correlation();
        let n = self.pairs.n as f64;
        Value::new(
            100.0 * (ratio2 - 1.0),
            200.0 * ratio2 * ((1.0 - rho * rho).max(0.0) / (n - 1.0)).sqrt(),
        )
    }
}

/// Every measure of one (condition, method, term). Percentages: relative bias, relative error in model SE,
/// coverage, bias-eliminated coverage, rejection and relative precision. Unavailable values are NaN (JSON null).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PerformanceMeasures {
    /// Replications used (fit ok or singular, finite estimate).
    pub used: u64,
    /// Replications failed (not converged, error, or no finite estimate).
    pub failed: u64,
    /// The true value θ.
    pub truth: f64,
    /// θ̄.
    pub mean_estimate: f64,
    /// θ̄ − θ.
    pub bias: Value,
    /// 100 × mean of (θ̂ᵢ − θ)/θ.
    pub relative_bias: Value,
    /// Standard deviation of θ̂ᵢ.
    pub empirical_se: Value,
    /// √(mean SEᵢ²).
    pub model_se: Value,
    /// 100 (ModSE/EmpSE − 1).
    pub relative_error_model_se: Value,
    /// Mean squared error.
    pub mse: Value,
    /// √MSE.
    pub rmse: Value,
    /// % of intervals covering θ.
    pub coverage: Value,
    /// % of intervals covering θ̄.
    pub bias_eliminated_coverage: Value,
    /// % of tests rejecting H0: term = 0 at alpha: power where θ ≠ 0, type I error where θ = 0.
    pub rejection: Value,
    /// Mean interval width.
    pub ci_width: Value,
    /// Relative % precision against the reference method.
    pub relative_precision: Value,
    /// % of replications with a usable estimate of the term (the fit converged and gave a finite value).
    pub convergence: Value,
}

impl PerformanceMeasures {
    /// The value of one measure.
    pub fn get(&self, kind: MeasureKind) -> Value {
        match kind {
            MeasureKind::Bias => self.bias,
            MeasureKind::RelativeBias => self.relative_bias,
            MeasureKind::EmpiricalSe => self.empirical_se,
            MeasureKind::ModelSe => self.model_se,
            MeasureKind::RelativeErrorModelSe => self.relative_error_model_se,
            MeasureKind::Mse => self.mse,
            MeasureKind::Rmse => self.rmse,
            MeasureKind::Coverage => self.coverage,
            MeasureKind::BiasEliminatedCoverage => self.bias_eliminated_coverage,
            MeasureKind::Power if self.truth != 0.0 && !self.truth.is_nan() => self.rejection,
            MeasureKind::TypeIError if self.truth == 0.0 => self.rejection,
            MeasureKind::Power | MeasureKind::TypeIError => Value::missing(),
            MeasureKind::Rejection => self.rejection,
            MeasureKind::CiWidth => self.ci_width,
            MeasureKind::RelativePrecision => self.relative_precision,
            MeasureKind::Convergence => self.convergence,
        }
    }
}
