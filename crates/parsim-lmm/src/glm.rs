//! Generalised linear models fitted by iteratively reweighted least squares, as R's `glm.fit`:
//! binomial and Poisson families ([`Family`]), 0/1 responses, `cbind(successes, failures)`,
//! proportions with prior weights, offsets on the link scale; Wald z inference with model-based or
//! CR1 cluster-robust standard errors (`sandwich::vcovCL(type = "HC1")`); aliased columns as R
//! reports them (NA); separation reported as its own status.

use crate::data::{ColumnRef, Columns};
use crate::dense::{backward_solve, cholesky_small, forward_solve, inverse_from_cholesky};
use crate::design::{numeric_value, Contrast};
use crate::error::{FitError, ModelError};
use crate::family::{Distribution, Family, Link};
use crate::formula::{Arith, Formula};
use crate::frame::{self, ModelFrame};
use crate::lmm::aliased_columns;
use crate::ols::{cr1_sandwich, encode_cluster, fill_design, non_finite, Cluster, Shape};
use crate::pls::dot;
use crate::simd::avx2_dispatch;
use statrs::distribution::{ContinuousCDF, Normal};
use std::collections::BTreeMap;

/// Options of a GLM fit.
#[derive(Clone, Debug, PartialEq)]
pub struct GlmOptions {
    /// Distribution and link.
    pub family: Family,
    /// Cluster column for CR1 cluster-robust standard errors; None for model-based ones.
    pub cluster: Option<String>,
    /// Column of prior weights (R's `glm(weights =)`): with a proportion response, the trials.
    pub weights: Option<String>,
    /// Coding of categorical variables (by formula label) other than treatment contrasts.
    pub contrasts: BTreeMap<String, Contrast>,
    /// Confidence level of the Wald intervals (0.95).
    pub ci_level: f64,
    /// Convergence: |Δdeviance|/(|deviance| + 0.1) below this (R's `epsilon`; 1e-12 here, tighter
    /// than R's default 1e-8, so that estimates are converged to about 1e-10 of their SE).
    pub tolerance: f64,
    /// Most IRLS iterations (R's `maxit`).
    pub max_iterations: usize,
}

impl Default for GlmOptions {
    fn default() -> Self {
        GlmOptions {
            family: Family::canonical(Distribution::Binomial),
            cluster: None,
            weights: None,
            contrasts: BTreeMap::new(),
            ci_level: 0.95,
            tolerance: 1e-12,
            max_iterations: 100,
        }
    }
}

/// How an IRLS fit ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GlmStatus {
    /// The deviance converged and the maximum-likelihood estimate exists.
    #[default]
    Converged,
    /// The iteration limit was reached first.
    NotConverged,
    /// (Quasi-)complete separation: the linear predictors of some observations run off towards
    /// the boundary of the mean's range (probability 0 or 1, or a Poisson mean of 0) where their
    /// responses lie, so the likelihood has no maximum and the estimates (and SEs) are artefacts
    /// of where the iteration stopped (R warns "fitted probabilities numerically 0 or 1
    /// occurred" and reports them as a fit).
    Separation,
}

impl GlmStatus {
    /// The status as a word: `converged`, `not_converged` or `separation` (the JSON output's and
    /// the Python results' `status`).
    pub fn name(self) -> &'static str {
        match self {
            GlmStatus::Converged => "converged",
            GlmStatus::NotConverged => "not_converged",
            GlmStatus::Separation => "separation",
        }
    }
}

/// A coefficient of a GLM with Wald z inference.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GlmCoefficient {
    /// Column name as R prints it.
    pub term: String,
    /// Estimate (NaN when aliased, R's NA).
    pub estimate: f64,
    /// Standard error: CR1 when a cluster column was given, model-based otherwise.
    pub se: f64,
    /// z = estimate / se.
    pub z: f64,
    /// Two-sided p-value of z against the standard normal.
    pub p_value: f64,
    /// Lower end of the Wald interval.
    pub ci_lower: f64,
    /// Upper end of the Wald interval.
    pub ci_upper: f64,
    /// A linear combination of earlier columns, not estimated (R's NA).
    pub aliased: bool,
}

impl GlmCoefficient {
    /// A coefficient named `term`, not yet estimated.
    pub(crate) fn named(term: &str) -> GlmCoefficient {
        GlmCoefficient {
            term: term.to_string(),
            ..GlmCoefficient::default()
        }
    }

    /// Sets the estimate `b` with standard error `se` and its Wald z test and interval
    /// (`quantile`: the standard normal's upper quantile of the interval's level).
    pub(crate) fn set_wald(&mut self, b: f64, se: f64, quantile: f64) {
        self.estimate = b;
        self.se = se;
        self.z = b / se;
        self.p_value = 2.0 * Normal::standard().sf(self.z.abs());
        self.ci_lower = b - quantile * se;
        self.ci_upper = b + quantile * se;
        self.aliased = false;
    }
}

/// The standard normal's upper quantile for a two-sided interval of level `level`.
pub(crate) fn wald_quantile(level: f64) -> f64 {
    Normal::standard().inverse_cdf(0.5 + level / 2.0)
}

/// A fitted GLM.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GlmFit {
    /// Coefficients, every column of the model matrix (aliased ones NaN).
    pub coefficients: Vec<GlmCoefficient>,
    /// The family fitted.
    pub family: Option<Family>,
    /// Residual deviance Σ dᵢ.
    pub deviance: f64,
    /// Deviance of the model with the intercept (and offset) alone.
    pub null_deviance: f64,
    /// Log-likelihood (R's `logLik`).
    pub loglik: f64,
    /// AIC = −2 log L + 2·rank.
    pub aic: f64,
    /// BIC = −2 log L + log(nobs)·rank.
    pub bic: f64,
    /// Observations with positive prior weight.
    pub nobs: usize,
    /// Estimated (non-aliased) coefficients.
    pub rank: usize,
    /// nobs − rank.
    pub df_residual: usize,
    /// nobs − intercept.
    pub df_null: usize,
    /// IRLS iterations.
    pub iterations: usize,
    /// How the iteration ended.
    pub status: GlmStatus,
    /// Observations whose linear predictor was still running off (separated ones).
    pub diverging: usize,
    /// Number of clusters when CR1 standard errors were computed.
    pub nclusters: Option<usize>,
    /// Covariance of the estimated coefficients behind `se` (CR1 or model-based), rank×rank
    /// column-major over the non-aliased coefficients.
    pub vcov: Vec<f64>,
    /// Model-based covariance (X′WX)⁻¹, rank×rank column-major.
    pub model_vcov: Vec<f64>,
}

/// The response of a GLM, in R's terms after `family$initialize`.
#[derive(Default)]
pub(crate) struct Response {
    /// y: the proportion of successes (binomial) or the count (Poisson).
    pub y: Vec<f64>,
    /// Prior weights (times the trials of a cbind response).
    pub wt: Vec<f64>,
    /// R's m of the binomial log-density: the trials of a cbind response, else the prior weight.
    pub trials: Vec<f64>,
    /// Offset on the link scale.
    pub offset: Vec<f64>,
    /// Scratch for the failures column and offsets.
    pub scratch: Vec<f64>,
    spare: Vec<Vec<f64>>,
}

/// The IRLS workspace: one fit of X (n×p, column-major) to a response, reused across fits.
#[derive(Default)]
pub(crate) struct Irls {
    pub eta: Vec<f64>,
    /// η before the last iteration's update.
    eta_before: Vec<f64>,
    pub mu: Vec<f64>,
    /// Working weights W and working response z of the current iteration.
    w: Vec<f64>,
    z: Vec<f64>,
    /// W times a column of X.
    wx: Vec<f64>,
    /// Estimated coefficients over the kept columns, then the previous ones.
    pub beta: Vec<f64>,
    beta_old: Vec<f64>,
    /// Columns of X kept (not aliased).
    pub kept: Vec<usize>,
    /// X′WX over all columns, then over the kept ones (factored), X′Wz.
    xtwx: Vec<f64>,
    pub chol: Vec<f64>,
    xtwz: Vec<f64>,
    column: Vec<f64>,
}

/// The outcome of [`Irls::run`].
pub(crate) struct IrlsEnd {
    pub deviance: f64,
    pub iterations: usize,
    pub converged: bool,
}

/// The data of one IRLS fit.
pub(crate) struct Problem<'a> {
    pub family: Family,
    pub x: &'a [f64],
    pub n: usize,
    pub p: usize,
    pub y: &'a [f64],
    pub wt: &'a [f64],
    pub offset: &'a [f64],
}

impl Problem<'_> {
    fn deviance(&self, mu: &[f64]) -> f64 {
        let n = self.n;
        self.family
            .distribution
            .deviance(&self.y[..n], &mu[..n], &self.wt[..n])
    }
}

impl Irls {
    /// Fits by IRLS from R's starting values, to |Δdev|/(|dev| + 0.1) < `tolerance`. Halves the
    /// step while the deviance is not finite, μ leaves its range or the deviance rises (R halves
    /// on the first two; the third only makes divergent starts converge, to the same optimum).
    pub fn run(&mut self, problem: &Problem, tolerance: f64, max_iterations: usize) -> IrlsEnd {
        let (n, p) = (problem.n, problem.p);
        let family = problem.family;
        for v in [
            &mut self.eta,
            &mut self.eta_before,
            &mut self.mu,
            &mut self.w,
            &mut self.z,
            &mut self.wx,
        ] {
            v.resize(n, 0.0);
        }
        for v in [&mut self.xtwx, &mut self.chol] {
            v.resize(p * p, 0.0);
        }
        for v in [&mut self.xtwz, &mut self.column] {
            v.resize(p, 0.0);
        }
        for i in 0..n {
            let mu = family.distribution.initial_mu(problem.y[i], problem.wt[i]);
            self.eta[i] = family.link.link(mu);
            self.mu[i] = mu;
        }
        let mut deviance = problem.deviance(&self.mu);
        self.kept.clear();
        let mut converged = false;
        let mut iterations = 0;
        while iterations < max_iterations {
            iterations += 1;
            self.eta_before.copy_from_slice(&self.eta);
            self.working(problem);
            if !self.solve(problem) {
                break;
            }
            let mut new = self.update_mu(problem);
            let mut halvings = 0;
            while iterations > 1
                && !(new.is_finite() && new <= deviance * (1.0 + 1e-12) + 1e-12)
                && halvings < 60
            {
                for (b, old) in self.beta.iter_mut().zip(&self.beta_old) {
                    *b = 0.5 * (*b + old);
                }
                new = self.update_mu(problem);
                halvings += 1;
            }
            let change = (new - deviance).abs() / (new.abs() + 0.1);
            deviance = new;
            if change < tolerance {
                converged = true;
                break;
            }
        }
        IrlsEnd {
            deviance,
            iterations,
            converged,
        }
    }

    /// W and z at the current η and μ.
    fn working(&mut self, problem: &Problem) {
        let family = problem.family;
        for i in 0..problem.n {
            let me = family.link.mu_eta(self.eta[i]);
            let var = family.distribution.variance(self.mu[i]);
            self.z[i] = self.eta[i] - problem.offset[i] + (problem.y[i] - self.mu[i]) / me;
            self.w[i] = problem.wt[i] * me * me / var;
        }
    }

    avx2_dispatch! {
    /// X′WX (all columns), for the aliasing check and the covariance, and X′Wz at the current
    /// weights: W times a column of X, then dot products in four interleaved sums (they
    /// vectorize).
    fn cross_products = cross_products_in / cross_products_avx2 (&mut self, problem: &Problem)
    }

    #[inline(always)]
    fn cross_products_in(&mut self, problem: &Problem) {
        let (n, p, x) = (problem.n, problem.p, problem.x);
        let (w, z, wx) = (&self.w[..n], &self.z[..n], &mut self.wx[..n]);
        for j in 0..p {
            let xj = &x[j * n..(j + 1) * n];
            for ((o, &xv), &wv) in wx.iter_mut().zip(xj).zip(w) {
                *o = xv * wv;
            }
            self.xtwz[j] = dot(wx, z);
            for k in j..p {
                let v = dot(wx, &x[k * n..(k + 1) * n]);
                self.xtwx[j * p + k] = v;
                self.xtwx[k * p + j] = v;
            }
        }
    }

    /// The weighted least-squares step: β over the kept columns (found on the first iteration).
    fn solve(&mut self, problem: &Problem) -> bool {
        let p = problem.p;
        self.cross_products(problem);
        if self.kept.is_empty() {
            self.chol.copy_from_slice(&self.xtwx);
            let aliased = aliased_columns(&mut self.chol, p);
            self.kept.extend((0..p).filter(|j| !aliased.contains(j)));
            if self.kept.is_empty() {
                return false;
            }
            self.beta.clear();
            self.beta.resize(self.kept.len(), 0.0);
        }
        if !self.factor(p) {
            return false;
        }
        let r = self.kept.len();
        self.beta_old.clone_from(&self.beta);
        for (a, &j) in self.kept.iter().enumerate() {
            self.beta[a] = self.xtwz[j];
        }
        forward_solve(&self.chol, r, r, &mut self.beta);
        backward_solve(&self.chol, r, r, &mut self.beta);
        true
    }

    /// Cholesky factor of X′WX over the kept columns into `chol` (r×r).
    fn factor(&mut self, p: usize) -> bool {
        let r = self.kept.len();
        for (a, &j) in self.kept.iter().enumerate() {
            for (b, &k) in self.kept.iter().enumerate() {
                self.chol[a * r + b] = self.xtwx[j * p + k];
            }
        }
        cholesky_small(&mut self.chol, r)
    }

    /// η = Xβ + offset and μ from β; returns the deviance (infinite when μ is out of range).
    fn update_mu(&mut self, problem: &Problem) -> f64 {
        let n = problem.n;
        self.eta.copy_from_slice(problem.offset);
        for (a, &j) in self.kept.iter().enumerate() {
            let b = self.beta[a];
            for (e, x) in self.eta.iter_mut().zip(&problem.x[j * n..(j + 1) * n]) {
                *e += b * x;
            }
        }
        let family = problem.family;
        family.link.inverse_into(&self.eta, &mut self.mu);
        if !self.mu.iter().all(|&m| family.distribution.valid_mu(m)) {
            return f64::INFINITY;
        }
        problem.deviance(&self.mu)
    }

    /// (X′WX)⁻¹ over the kept columns at the final μ, r×r into `out`.
    pub fn covariance(&mut self, problem: &Problem, out: &mut Vec<f64>) -> bool {
        self.working(problem);
        self.cross_products(problem);
        if !self.factor(problem.p) {
            return false;
        }
        let r = self.kept.len();
        out.resize(r * r, 0.0);
        inverse_from_cholesky(&self.chol, r, r, out, &mut self.column);
        true
    }

    /// Observations whose linear predictor still moved by more than 0.1 in the last iteration.
    /// At a maximum the Newton steps vanish (quadratically); under separation the working
    /// response of an observation fitted towards the boundary where its response lies stays one
    /// unit beyond its η ((y − μ)/(dμ/dη) → ∓1 for the logit and log links), so its η keeps
    /// moving by about one per iteration however small the deviance change has become.
    pub fn diverging(&self) -> usize {
        self.eta
            .iter()
            .zip(&self.eta_before)
            .filter(|(a, b)| (*a - *b).abs() > 0.1)
            .count()
    }
}

/// A reusable GLM workspace: build once, fit many data sets of the same shape.
pub struct GlmFitter {
    /// The formula less its offsets (kept on the link scale in `offsets`).
    formula: Formula,
    offsets: Vec<Arith>,
    options: GlmOptions,
    frame: ModelFrame,
    shape: Option<Shape>,
    cluster: Option<Cluster>,
    response: Response,
    x: Vec<f64>,
    ones: Vec<f64>,
    irls: Irls,
    null: Irls,
    scores: Vec<f64>,
    meat: Vec<f64>,
    fit: GlmFit,
}

impl GlmFitter {
    /// A fitter for `formula`, which must not have random-effects terms.
    pub fn new(formula: &Formula, options: GlmOptions) -> Result<GlmFitter, ModelError> {
        if formula.has_random_terms() {
            return Err(ModelError::RandomTermsInGlm);
        }
        if formula.has_counts_response() && options.family.distribution != Distribution::Binomial {
            return Err(ModelError::CountsResponse);
        }
        let (formula, offsets) = formula.without_offsets();
        Ok(GlmFitter {
            formula,
            offsets,
            options,
            frame: ModelFrame::default(),
            shape: None,
            cluster: None,
            response: Response::default(),
            x: Vec::new(),
            ones: Vec::new(),
            irls: Irls::default(),
            null: Irls::default(),
            scores: Vec::new(),
            meat: Vec::new(),
            fit: GlmFit::default(),
        })
    }

    /// The options in force.
    pub fn options(&self) -> &GlmOptions {
        &self.options
    }

    /// Fits the model to `data`.
    pub fn fit(&mut self, data: &dyn Columns) -> Result<&GlmFit, FitError> {
        let n = data.nrows();
        if n == 0 {
            return Err(ModelError::NoRows.into());
        }
        let plain = self.formula.is_plain() && self.options.weights.is_none();
        if !plain {
            self.frame
                .update(&self.formula, data, self.options.weights.as_deref())?;
        }
        let view = self.frame.view(data);
        let framed: &dyn Columns = if plain { data } else { &view };
        if Shape::refresh(
            &mut self.shape,
            &self.formula,
            framed,
            &self.options.contrasts,
        )? {
            self.fit.coefficients.clear();
        }
        let Some(shape) = self.shape.as_ref() else {
            return Err(FitError::Numerical("no design".into()));
        };
        let p = shape.design.width();
        fill_design(
            &shape.design,
            &shape.vars,
            &shape.encoded,
            framed,
            n,
            &mut self.x,
        );
        if !self.x.iter().all(|v| v.is_finite()) {
            return Err(non_finite(&shape.vars, framed));
        }
        let weights = self.frame.weights().filter(|_| !plain);
        read_response(
            &mut self.response,
            &self.formula,
            &self.offsets,
            self.options.family.distribution,
            &shape.vars.names[0],
            framed,
            data,
            weights,
        )?;
        let cluster = match &self.options.cluster {
            Some(name) => Some(encode_cluster(&mut self.cluster, name, data)?),
            None => None,
        };
        let problem = Problem {
            family: self.options.family,
            x: &self.x,
            n,
            p,
            y: &self.response.y,
            wt: &self.response.wt,
            offset: &self.response.offset,
        };
        let nobs = self.response.wt.iter().filter(|&&w| w > 0.0).count();
        if p >= nobs {
            return Err(FitError::TooFewObservations(format!(
                "{nobs} observations are too few for {p} coefficients"
            )));
        }
        let end = self.irls.run(
            &problem,
            self.options.tolerance,
            self.options.max_iterations,
        );
        if self.irls.kept.is_empty() || !end.deviance.is_finite() {
            return Err(FitError::Numerical(
                "the IRLS iteration broke down (X′WX is not positive definite)".into(),
            ));
        }
        let fit = &mut self.fit;
        if !self.irls.covariance(&problem, &mut fit.model_vcov) {
            return Err(FitError::Numerical(
                "X′WX is not positive definite at the estimate".into(),
            ));
        }
        let intercept = shape.design.intercept;
        fit.null_deviance = null_deviance(
            &problem,
            intercept,
            &mut self.ones,
            &mut self.null,
            self.options.tolerance,
            self.options.max_iterations,
        );
        let diverging = self.irls.diverging();
        fit.status = if diverging > 0 {
            GlmStatus::Separation
        } else if end.converged {
            GlmStatus::Converged
        } else {
            GlmStatus::NotConverged
        };
        fit.diverging = diverging;
        let rank = self.irls.kept.len();
        fit.vcov.clone_from(&fit.model_vcov);
        fit.nclusters = None;
        if let Some((codes, g)) = cluster {
            cluster_scores(&problem, &self.irls, codes, g, &mut self.scores);
            self.meat.resize(rank * rank, 0.0);
            cr1_sandwich(
                &fit.model_vcov,
                &self.scores,
                g,
                n,
                rank,
                &mut self.meat,
                &mut fit.vcov,
            );
            fit.nclusters = Some(g);
        }
        let d = self.options.family.distribution;
        let minus_two_ll: f64 = (0..n)
            .map(|i| {
                let r = &self.response;
                d.minus_two_log_density(r.y[i], self.irls.mu[i], r.wt[i], r.trials[i])
            })
            .sum();
        fit.family = Some(self.options.family);
        fit.deviance = end.deviance;
        fit.loglik = -0.5 * minus_two_ll;
        fit.aic = minus_two_ll + 2.0 * rank as f64;
        fit.bic = minus_two_ll + (nobs as f64).ln() * rank as f64;
        fit.nobs = nobs;
        fit.rank = rank;
        fit.df_residual = nobs - rank;
        fit.df_null = nobs - usize::from(intercept);
        fit.iterations = end.iterations;
        fill_coefficients(
            &shape.names,
            &self.irls,
            &fit.vcov,
            self.options.ci_level,
            &mut fit.coefficients,
        );
        Ok(&self.fit)
    }
}

/// y, the prior weights, R's binomial m and the offset of a data set, checked as R's
/// `family$initialize` checks them.
#[allow(clippy::too_many_arguments)]
pub(crate) fn read_response(
    r: &mut Response,
    formula: &Formula,
    offsets: &[Arith],
    distribution: Distribution,
    label: &str,
    framed: &dyn Columns,
    data: &dyn Columns,
    weights: Option<&[f64]>,
) -> Result<(), FitError> {
    let n = data.nrows();
    let response = frame::column(framed, label)?;
    if let ColumnRef::Text(_) = response {
        return Err(ModelError::NonNumericResponse(label.to_string()).into());
    }
    r.y.clear();
    r.y.extend((0..n).map(|i| numeric_value(response, i)));
    frame::check_finite(label, &r.y)?;
    r.wt.clear();
    match weights {
        Some(w) => r.wt.extend_from_slice(w),
        None => r.wt.resize(n, 1.0),
    }
    r.trials.clear();
    if let Some(failures) = &formula.failures {
        frame::evaluate(failures, data, n, &mut r.scratch, &mut r.spare)?;
        frame::check_finite(label, &r.scratch)?;
        for i in 0..n {
            let (s, f) = (r.y[i], r.scratch[i]);
            if s < 0.0 || f < 0.0 {
                return Err(bad_response(
                    label,
                    i,
                    "counts of successes and failures must not be negative",
                ));
            }
            let trials = s + f;
            r.y[i] = if trials > 0.0 { s / trials } else { 0.0 };
            r.wt[i] *= trials;
            r.trials.push(trials);
        }
    } else {
        for i in 0..n {
            let y = r.y[i];
            let bad = match distribution {
                Distribution::Binomial => (!(0.0..=1.0).contains(&y)).then_some(
                    "a binomial response must lie in [0, 1] (or be cbind(successes, failures))",
                ),
                Distribution::Poisson => {
                    (y < 0.0).then_some("a Poisson response must not be negative")
                }
            };
            if let Some(message) = bad {
                return Err(bad_response(label, i, message));
            }
        }
        r.trials.extend_from_slice(&r.wt);
    }
    r.offset.clear();
    r.offset.resize(n, 0.0);
    for arith in offsets {
        frame::evaluate(arith, data, n, &mut r.scratch, &mut r.spare)?;
        frame::check_finite("offset", &r.scratch)?;
        for (o, v) in r.offset.iter_mut().zip(&r.scratch) {
            *o += v;
        }
    }
    Ok(())
}

fn bad_response(label: &str, row: usize, message: &str) -> FitError {
    FitError::Transform {
        term: label.to_string(),
        message: format!("row {}: {message}", row + 1),
    }
}

/// R's null deviance: of μ = g⁻¹(offset) without an intercept; with one, of the intercept-only
/// fit (the weighted mean of y when there is no offset).
fn null_deviance(
    problem: &Problem,
    intercept: bool,
    ones: &mut Vec<f64>,
    irls: &mut Irls,
    tolerance: f64,
    max_iterations: usize,
) -> f64 {
    let n = problem.n;
    let link: Link = problem.family.link;
    let d = problem.family.distribution;
    if !intercept {
        return (0..n)
            .map(|i| {
                d.deviance_residual(problem.y[i], link.inverse(problem.offset[i]), problem.wt[i])
            })
            .sum();
    }
    if problem.offset.iter().all(|&o| o == 0.0) {
        let total: f64 = problem.wt.iter().sum();
        let mean = (0..n).map(|i| problem.wt[i] * problem.y[i]).sum::<f64>() / total;
        return (0..n)
            .map(|i| d.deviance_residual(problem.y[i], mean, problem.wt[i]))
            .sum();
    }
    ones.resize(n, 1.0);
    let null = Problem {
        x: ones,
        p: 1,
        ..*problem
    };
    irls.run(&null, tolerance, max_iterations).deviance
}

/// Each cluster's score Σᵢ wtᵢ(yᵢ − μᵢ)·(dμ/dη)ᵢ/V(μᵢ)·xᵢ over the kept columns (sandwich's
/// `estfun.glm`, dispersion 1).
fn cluster_scores(problem: &Problem, irls: &Irls, codes: &[u32], g: usize, scores: &mut Vec<f64>) {
    let (n, r) = (problem.n, irls.kept.len());
    scores.clear();
    scores.resize(g * r, 0.0);
    let family = problem.family;
    for i in 0..n {
        let mu = irls.mu[i];
        let e = problem.wt[i] * (problem.y[i] - mu) * family.link.mu_eta(irls.eta[i])
            / family.distribution.variance(mu);
        let s = &mut scores[codes[i] as usize * r..(codes[i] as usize + 1) * r];
        for (a, &j) in irls.kept.iter().enumerate() {
            s[a] += problem.x[j * n + i] * e;
        }
    }
}

/// Estimates with Wald z inference from `vcov` (over the kept columns); aliased columns NaN.
fn fill_coefficients(
    names: &[String],
    irls: &Irls,
    vcov: &[f64],
    ci_level: f64,
    out: &mut Vec<GlmCoefficient>,
) {
    if out.len() != names.len() {
        *out = names.iter().map(|t| GlmCoefficient::named(t)).collect();
    }
    let quantile = wald_quantile(ci_level);
    let r = irls.kept.len();
    for c in out.iter_mut() {
        c.estimate = f64::NAN;
        c.se = f64::NAN;
        c.z = f64::NAN;
        c.p_value = f64::NAN;
        c.ci_lower = f64::NAN;
        c.ci_upper = f64::NAN;
        c.aliased = true;
    }
    for (a, &j) in irls.kept.iter().enumerate() {
        out[j].set_wald(irls.beta[a], vcov[a * r + a].sqrt(), quantile);
    }
}
