//! Generalised linear mixed models as lme4's `glmer`: the Laplace approximation (nAGQ = 1),
//! adaptive Gauss-Hermite quadrature for one scalar random effect (nAGQ up to 25), and the fast
//! mode nAGQ = 0. Penalised iteratively reweighted least squares (PIRLS) drives the blocked
//! penalised least squares of [`crate::pls`] with working weights, as MixedModels.jl and lme4 do.
//!
//! glmer's conventions are kept: the Laplace criterion is −2 log p(y | û) (the family's `aic`
//! terms) + |û|² + log|L|², with L the factor of the expected (Fisher) information at the
//! conditional modes — for a non-canonical link this differs from an observed-information
//! Laplace (glmmTMB's); under adaptive quadrature the conditional density enters through the
//! deviance residuals, so that criterion is on lme4's other scale. The optimisation runs in lme4's
//! two stages: θ with β profiled by a joint PIRLS (nAGQ = 0, which stops there; before Newton's
//! stage 2, by quasi-Newton steps on that criterion's analytic gradient where θ's is analytic),
//! then (θ, β) with PIRLS over u. Standard errors come from the finite-difference Hessian of the
//! criterion in (θ, β), as lme4's `vcov` takes them. One scalar term with a canonical link (Laplace) skips
//! the two stages: Newton's method with the criterion's exact gradient and Hessian
//! ([`scalar`]) from the GLM's start, the two stages its fallback.

use crate::data::Columns;
use crate::dense::{
    backward_solve, cholesky_small, forward_solve, inverse_from_cholesky, symmetric_eigen,
};
use crate::design::{self, Contrast};
use crate::error::{FitError, ModelError};
use crate::family::{Distribution, Family, Link};
use crate::formula::{Arith, Formula};
use crate::frame::ModelFrame;
use crate::glm::{read_response, wald_quantile, GlmCoefficient, Irls, Problem, Response};
use crate::lmm::{aliased_columns, fill_varcorr, VarComp};
use crate::model::Structure;
use crate::ols::fill_design;
use crate::optimize::Optimizer;
use crate::pls::{scatter_add, Pls, TermShape};
use bobyqa::{Bobyqa, Config};
use scalar::ScalarLaplace;
use std::collections::BTreeMap;

mod scalar;

/// Largest number of quadrature points (glmer's limit).
pub const MAX_NAGQ: usize = 25;
/// θ diagonal elements below this make the fit singular (lme4's `isSingular` tolerance).
const SINGULAR_BELOW: f64 = 1e-4;
/// PIRLS stops when no element of its last step exceeds this (relative to 1 + |value|): Newton's
/// quadratic convergence puts the modes at rounding level one step later (lme4's `tolPwrss`
/// test on the deviance's change, even at the fixtures' 1e-12, stops earlier).
const PIRLS_STEP: f64 = 1e-11;
const PIRLS_ITERATIONS: usize = 60;
/// [`PIRLS_STEP`] of the coarse stage 1 that only gives Newton's stage 2 its start: the modes
/// then err by ~1e-6 and the criterion by as much (log|L|² moves to first order with them), below
/// the changes the search at [`STAGE1_TOLERANCE`] in θ compares (~1e-3 on the fixtures); it
/// spares a PIRLS iteration in some evaluations (against 1e-8: VerbAgg 94 -> 89 per fit, crt
/// 80 -> 76).
const COARSE_PIRLS_STEP: f64 = 1e-6;
/// A PIRLS step smaller than this (relative, as [`PIRLS_STEP`]) is taken whole without computing
/// the deviance for a line search: this close to the modes Newton's steps shrink quadratically
/// (the Hessian's perturbed evaluations start 1e-4 away).
const TRUSTED_STEP: f64 = 1e-3;
/// Most random-effects terms, and effects per term.
const MAX_TERMS: usize = 8;
const MAX_EFFECTS: usize = 8;
/// Step of the finite-difference Hessian of the criterion (lme4's `deriv12` delta).
const HESSIAN_STEP: f64 = 1e-4;

/// Options of a GLMM fit.
#[derive(Clone, Debug, PartialEq)]
pub struct GlmmOptions {
    /// Distribution and link.
    pub family: Family,
    /// Quadrature points: 0 (fast: θ with β profiled by PIRLS), 1 (Laplace), or up to 25
    /// (adaptive Gauss-Hermite, one scalar random effect only).
    pub nagq: usize,
    /// Column of prior weights.
    pub weights: Option<String>,
    /// Coding of categorical variables other than treatment contrasts.
    pub contrasts: BTreeMap<String, Contrast>,
    /// Confidence level of the Wald intervals.
    pub ci_level: f64,
}

impl Default for GlmmOptions {
    fn default() -> Self {
        GlmmOptions {
            family: Family::canonical(Distribution::Binomial),
            nagq: 1,
            weights: None,
            contrasts: BTreeMap::new(),
            ci_level: 0.95,
        }
    }
}

/// A fitted GLMM.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GlmmFit {
    /// Fixed effects.
    pub coefficients: Vec<GlmCoefficient>,
    /// Variance components (no residual row: the dispersion is 1).
    pub varcorr: Vec<VarComp>,
    /// Relative covariance factor, lme4's order.
    pub theta: Vec<f64>,
    /// The criterion minimised (glmer's −2 log-likelihood: Laplace, or quadrature's scale).
    pub criterion: f64,
    /// −criterion/2.
    pub loglik: f64,
    /// criterion + 2·(p + length(θ)).
    pub aic: f64,
    /// criterion + log(n)·(p + length(θ)).
    pub bic: f64,
    /// Σ of the squared deviance residuals at the conditional modes (glmer's `deviance()`).
    pub deviance: f64,
    /// Observations.
    pub nobs: usize,
    /// Levels per grouping factor.
    pub ngroups: Vec<(String, usize)>,
    /// Quadrature points used.
    pub nagq: usize,
    /// Whether the optimizer reached its tolerance and the Hessian is positive definite.
    pub converged: bool,
    /// Whether some θ diagonal element is below 1e-4.
    pub singular: bool,
    /// Criterion evaluations.
    pub evaluations: usize,
    /// PIRLS iterations over all evaluations (each one assembly and factorization).
    pub pirls_iterations: usize,
    /// Warnings.
    pub messages: Vec<String>,
    /// Covariance of the fixed effects, p×p column-major.
    pub vcov: Vec<f64>,
    /// Conditional modes of the spherical random effects u (b = Λu).
    pub u: Vec<f64>,
}

/// Per data shape: the structure, the model matrices and the PLS system.
struct Shape {
    structure: Structure,
    names: Vec<String>,
    system: System,
    optimizers: Optimizers,
    /// Per θ element, whether it is a template diagonal (bounded below by 0).
    diagonal: Vec<bool>,
}

/// The model matrices and the PLS system: everything the criterion reads and writes.
struct System {
    /// X column-major (n × p), and row-major for the updates observation by observation.
    x: Vec<f64>,
    x_rows: Vec<f64>,
    /// Per term, its Z rows (n × q, row-major), and the level codes.
    z: Vec<Vec<f64>>,
    codes: Vec<Vec<u32>>,
    /// Per term, Λ′zᵢ for every row (n × q, row-major), refreshed per θ.
    a: Vec<Vec<f64>>,
    shapes: Vec<TermShape>,
    pls: Pls,
}

/// The optimizers of the two stages, built once per shape: θ alone (stage 1, and stage 2 without
/// fixed effects), and BOBYQA over (θ, β) with its bounds.
struct Optimizers {
    theta: Optimizer,
    /// Stage 1 when Newton's stage 2 follows: coarse ([`STAGE1_TOLERANCE`]).
    coarse: Optimizer,
    joint: Option<Bobyqa>,
    lower: Vec<f64>,
    upper: Vec<f64>,
}

/// Buffers of the finite-difference Hessian.
#[derive(Default)]
struct HessianScratch {
    hessian: Vec<f64>,
    x: Vec<f64>,
    factor: Vec<f64>,
    inverse: Vec<f64>,
    column: Vec<f64>,
}

/// The state of the iteration: data, current u, β, η, μ and buffers.
#[derive(Default)]
struct State {
    /// The response as the GLM reads it.
    r: Response,
    u: Vec<f64>,
    u_old: Vec<f64>,
    beta: Vec<f64>,
    beta_old: Vec<f64>,
    eta: Vec<f64>,
    mu: Vec<f64>,
    scratch: Vec<f64>,
    /// offset + Xβ at β = `base_beta` ([`update_base`]): PIRLS over u moves only the rest of η.
    base: Vec<f64>,
    base_beta: Vec<f64>,
    /// Quadrature: per level, deviance sums and the accumulated integrand (per-level scratch of
    /// [`scalar_beta_gradient`] and [`moment_start`] too).
    dev0: Vec<f64>,
    devk: Vec<f64>,
    acc: Vec<f64>,
    /// Working weights and working response of the last assembly.
    weight: Vec<f64>,
    target: Vec<f64>,
    /// PIRLS iterations since the fit began.
    iterations: usize,
    /// PIRLS's convergence test in force ([`PIRLS_STEP`] or [`COARSE_PIRLS_STEP`]).
    pirls_step: f64,
    /// When positive, PIRLS also stops after taking a step below this ([`pirls`]), for
    /// evaluations whose criterion value is not used, only the gradient ([`GRADIENT_STEP`]).
    gradient_step: f64,
    /// Per observation, w′ᵢhᵢ of [`laplace_gradient`].
    lev: Vec<f64>,
    /// An observation's H⁻¹Uᵢ′ on its own rows ([`Pls::selected`]).
    own: Vec<f64>,
    /// Σ (−2 log p(yᵢ | μᵢ) − dᵢ(μᵢ)), which does not depend on μ when every binomial count is a
    /// whole number of its trials ([`saturated_constant`]); None otherwise.
    saturated: Option<f64>,
}

/// A reusable GLMM workspace.
pub struct GlmmFitter {
    formula: Formula,
    offsets: Vec<Arith>,
    options: GlmmOptions,
    frame: ModelFrame,
    shape: Option<Shape>,
    state: State,
    irls: Irls,
    nodes: Vec<(f64, f64)>,
    params: Vec<f64>,
    theta: Vec<f64>,
    hessian: HessianScratch,
    newton: NewtonScratch,
    varcorr: Vec<VarComp>,
    fit: GlmmFit,
    /// Whether one scalar term may skip lme4's two stages ([`scalar::newton`]); tests compare
    /// both paths.
    exact_newton: bool,
}

impl GlmmFitter {
    /// A fitter for `formula`, which must have random-effects terms.
    pub fn new(formula: &Formula, options: GlmmOptions) -> Result<GlmmFitter, ModelError> {
        if !formula.has_random_terms() {
            return Err(ModelError::NoRandomTerms);
        }
        if formula.has_counts_response() && options.family.distribution != Distribution::Binomial {
            return Err(ModelError::CountsResponse);
        }
        if options.nagq > MAX_NAGQ {
            return Err(ModelError::Frame(format!(
                "nAGQ must be at most {MAX_NAGQ}, not {}",
                options.nagq
            )));
        }
        if options.nagq > 1
            && (formula.random.len() != 1
                || formula.random[0].effects.terms.len()
                    + usize::from(formula.random[0].effects.intercept)
                    != 1)
        {
            return Err(ModelError::Frame(
                "nAGQ > 1 needs a single scalar random effect, such as (1 | g)".into(),
            ));
        }
        let (formula, offsets) = formula.without_offsets();
        Ok(GlmmFitter {
            formula,
            offsets,
            nodes: gauss_hermite(options.nagq.max(1)),
            options,
            frame: ModelFrame::default(),
            shape: None,
            state: State::default(),
            irls: Irls::default(),
            params: Vec::new(),
            theta: Vec::new(),
            hessian: HessianScratch::default(),
            newton: NewtonScratch::default(),
            varcorr: Vec::new(),
            fit: GlmmFit::default(),
            exact_newton: true,
        })
    }

    /// The options in force.
    pub fn options(&self) -> &GlmmOptions {
        &self.options
    }

    /// Fits the model to `data`.
    pub fn fit(&mut self, data: &dyn Columns) -> Result<&GlmmFit, FitError> {
        let n = data.nrows();
        if n == 0 {
            return Err(ModelError::NoRows.into());
        }
        self.frame
            .update(&self.formula, data, self.options.weights.as_deref())?;
        let view = self.frame.view(data);
        prepare(
            &mut self.shape,
            &mut self.state,
            &self.formula,
            &self.offsets,
            &self.options,
            &view,
            data,
            self.frame.weights(),
        )?;
        let Some(shape) = self.shape.as_mut() else {
            return Err(FitError::Numerical("no structure".into()));
        };
        let family = self.options.family;
        let st = &mut self.state;
        // Starting values: the GLM's β, u = 0.
        let p = shape.names.len();
        let problem = Problem {
            family,
            x: &shape.system.x,
            n,
            p,
            y: &st.r.y,
            wt: &st.r.wt,
            offset: &st.r.offset,
        };
        self.irls.run(&problem, 1e-10, 100);
        if self.irls.kept.len() != p {
            return Err(FitError::Numerical("the GLM start failed".into()));
        }
        st.beta.clone_from(&self.irls.beta);
        st.saturated = saturated_constant(&st.r, family, &self.irls.mu);
        st.u.clear();
        st.u.resize(shape.system.pls.q, 0.0);
        st.iterations = 0;
        let ntheta = shape.diagonal.len();
        self.theta.resize(ntheta, 0.0);
        let nagq = self.options.nagq;
        let Optimum {
            value,
            evaluations,
            budget_exhausted,
            newton_hessian,
            at_optimum,
            failed,
        } = Stages {
            system: &mut shape.system,
            optimizers: &mut shape.optimizers,
            st: &mut *st,
            family,
            nagq,
            theta: &mut self.theta,
            params: &mut self.params,
            hessian: &mut self.hessian,
            newton: &mut self.newton,
            nodes: &self.nodes,
            start: &self.irls.beta,
        }
        .run(self.exact_newton);
        let theta = &self.theta;
        let Some(value) = value else {
            return Err(FitError::Numerical(
                "the penalised least squares broke down at the optimum".into(),
            ));
        };
        if failed && !value.is_finite() {
            return Err(FitError::Numerical("PIRLS did not converge".into()));
        }
        // Covariance of β: lme4 inverts half the Hessian of the criterion in (θ, β) (nAGQ ≥ 1);
        // for nAGQ = 0 it has only the PIRLS information R_X′R_X.
        let fit = &mut self.fit;
        fit.messages.clear();
        let hessian_ok = if newton_hessian {
            vcov_from_hessian(&mut self.hessian, self.params.len(), ntheta, &mut fit.vcov)
        } else if nagq >= 1 {
            hessian_vcov(
                &mut shape.system,
                st,
                family,
                &self.nodes,
                &self.params,
                ntheta,
                &mut self.hessian,
                &mut fit.vcov,
            )
        } else {
            false
        };
        // Leave the state at the optimum (the Hessian moved it; the exact Newton's last
        // evaluation was the optimum's).
        st.beta.copy_from_slice(&self.params[ntheta..]);
        let nodes: &[(f64, f64)] = if nagq >= 1 { &self.nodes } else { &[] };
        if !at_optimum {
            let _ = criterion(&mut shape.system, st, family, theta, false, nodes);
        }
        if !hessian_ok {
            if nagq >= 1 {
                fit.messages.push(
                    "the Hessian of the criterion is not positive definite: standard errors from the PIRLS information".into(),
                );
            }
            pirls_vcov(&mut shape.system, st, family, &mut fit.vcov)?;
        }
        fit.nagq = nagq;
        fit.criterion = value;
        fit.loglik = -0.5 * value;
        let npar = (p + ntheta) as f64;
        fit.aic = value + 2.0 * npar;
        fit.bic = value + (n as f64).ln() * npar;
        fit.deviance = deviance(st, family);
        fit.nobs = n;
        fit.theta.clone_from(theta);
        fit.evaluations = evaluations;
        fit.pirls_iterations = st.iterations;
        fit.singular = theta
            .iter()
            .zip(&shape.diagonal)
            .any(|(t, &d)| d && *t < SINGULAR_BELOW);
        fit.converged = !budget_exhausted && (hessian_ok || nagq == 0);
        if budget_exhausted {
            fit.messages
                .push("the optimizer stopped before reaching its tolerance".into());
        }
        fit.u.clone_from(&st.u);
        let structure = &shape.structure;
        if fit.ngroups.len() != structure.factors.len() {
            fit.ngroups = structure
                .factors
                .iter()
                .map(|f| (f.label.clone(), 0))
                .collect();
        }
        for ((label, count), factor) in fit.ngroups.iter_mut().zip(&structure.factors) {
            if *label != factor.label {
                label.clone_from(&factor.label);
            }
            *count = factor.nlevels();
        }
        fill_varcorr(structure, theta, 1.0, &mut self.varcorr);
        let rows = self.varcorr.len() - 1;
        if fit.varcorr.len() != rows {
            fit.varcorr = self.varcorr[..rows].to_vec();
        }
        for (out, v) in fit.varcorr.iter_mut().zip(&self.varcorr) {
            out.variance = v.variance;
            out.sd_or_cor = v.sd_or_cor;
        }
        if fit.coefficients.len() != p {
            fit.coefficients = shape
                .names
                .iter()
                .map(|t| GlmCoefficient::named(t))
                .collect();
        }
        let quantile = wald_quantile(self.options.ci_level);
        for (j, c) in fit.coefficients.iter_mut().enumerate() {
            c.set_wald(st.beta[j], fit.vcov[j * p + j].sqrt(), quantile);
        }
        Ok(&self.fit)
    }
}

/// Where the optimisation of the criterion ended ([`Stages::run`]).
#[derive(Default)]
struct Optimum {
    /// The criterion there (None: the penalised least squares broke down).
    value: Option<f64>,
    evaluations: usize,
    /// Whether an optimizer stopped before reaching its tolerance.
    budget_exhausted: bool,
    /// Whether Newton's method converged: the Hessian it left gives the SEs.
    newton_hessian: bool,
    /// Whether the state already holds the optimum's modes (no final evaluation needed).
    at_optimum: bool,
    /// Whether PIRLS failed at some point of stage 1.
    failed: bool,
}

/// The optimisation of one fit, in lme4's stages: what each stage reads and moves.
struct Stages<'a> {
    system: &'a mut System,
    optimizers: &'a mut Optimizers,
    st: &'a mut State,
    family: Family,
    nagq: usize,
    /// θ, and (θ, β) as the optimizers of stage 2 see them.
    theta: &'a mut [f64],
    params: &'a mut Vec<f64>,
    hessian: &'a mut HessianScratch,
    newton: &'a mut NewtonScratch,
    nodes: &'a [(f64, f64)],
    /// The GLM's β, every stage's start.
    start: &'a [f64],
}

impl Stages<'_> {
    /// Minimises the criterion from the state's start (the GLM's β, u = 0): one scalar term by
    /// Newton's method with exact derivatives ([`scalar::newton`]) where it applies, else (or
    /// when it fails) lme4's two stages, stage 2 by Newton's method (Laplace, canonical link)
    /// or BOBYQA.
    fn run(mut self, exact_newton: bool) -> Optimum {
        let mut optimum = Optimum::default();
        let ntheta = self.theta.len();
        let p = self.st.beta.len();
        let newton = self.nagq == 1 && self.family.is_canonical() && p > 0;
        if newton
            && exact_newton
            && ScalarLaplace::applies(self.system, self.st, self.family, ntheta)
        {
            self.scalar_newton(&mut optimum);
        }
        if !optimum.newton_hessian {
            self.two_stages(newton, &mut optimum);
        }
        if self.nagq >= 1 && !optimum.newton_hessian {
            self.bobyqa(&mut optimum);
        }
        optimum
    }

    /// One scalar term: Newton's method with the exact derivatives straight from the GLM's β
    /// and lme4's θ = 1, without stage 1. On failure (a boundary fit, a Hessian not positive
    /// definite on the way) the state is back at the start for lme4's stages.
    fn scalar_newton(&mut self, optimum: &mut Optimum) {
        let ntheta = self.theta.len();
        self.st.pirls_step = PIRLS_STEP;
        self.params.clear();
        self.params.resize(ntheta, 1.0);
        self.params.extend_from_slice(&self.st.beta);
        let (converged, used) = scalar::newton(
            self.system,
            self.st,
            self.family,
            self.params,
            self.hessian,
            self.newton,
        );
        optimum.evaluations += used;
        match converged {
            Some(v) => {
                self.newton_converged(v, optimum);
                optimum.at_optimum = true;
            }
            None => {
                self.st.beta.copy_from_slice(self.start);
                self.st.u.fill(0.0);
            }
        }
    }

    /// Stage 1: θ with β profiled by a joint PIRLS (nAGQ = 0; coarse when Newton's method
    /// follows); then stage 2 by Newton's method where the criterion's gradient is analytic
    /// (Laplace, canonical link).
    fn two_stages(&mut self, newton: bool, optimum: &mut Optimum) {
        let ntheta = self.theta.len();
        let (system, st, family) = (&mut *self.system, &mut *self.st, self.family);
        let (stage1_optimizer, pirls_step) = if newton {
            (&mut self.optimizers.coarse, COARSE_PIRLS_STEP)
        } else {
            (&mut self.optimizers.theta, PIRLS_STEP)
        };
        st.pirls_step = pirls_step;
        // With θ's analytic gradient, quasi-Newton steps on the profiled criterion; BOBYQA
        // otherwise, or if they fail.
        let profiled = if newton && theta_gradient_is_analytic(system) {
            let lower = &self.optimizers.lower[..ntheta];
            for (t, l) in self.theta.iter_mut().zip(lower) {
                *t = if *l == 0.0 { 1.0 } else { 0.0 };
            }
            moment_start(system, st, family, self.theta);
            let (value, used) = profiled_stage(system, st, family, self.theta, lower, self.newton);
            optimum.evaluations += used;
            value
        } else {
            None
        };
        self.newton.seeded = false;
        if profiled.is_some() {
            optimum.value = profiled;
            let lower = &self.optimizers.lower[..ntheta];
            self.newton.seeded =
                seed_hessian(system, st, self.theta, lower, self.newton, self.hessian);
        } else {
            let failed = &mut optimum.failed;
            let stage1 = stage1_optimizer.minimize(
                |th| match criterion(system, st, family, th, true, &[]) {
                    Some(v) => v,
                    None => {
                        *failed = true;
                        f64::MAX
                    }
                },
                self.theta,
            );
            st.pirls_step = PIRLS_STEP;
            optimum.evaluations += stage1.evaluations;
            optimum.value = criterion(system, st, family, self.theta, true, &[]);
            optimum.budget_exhausted = stage1.budget_exhausted;
        }
        st.pirls_step = PIRLS_STEP;
        self.params.clear();
        self.params.extend_from_slice(self.theta);
        self.params.extend_from_slice(&st.beta);
        if newton {
            let (converged, used) = newton_stage(
                system,
                st,
                family,
                self.params,
                &self.optimizers.lower[..ntheta],
                self.hessian,
                self.newton,
            );
            optimum.evaluations += used;
            if let Some(v) = converged {
                self.newton_converged(v, optimum);
                optimum.budget_exhausted = false;
                // Its last evaluation was the optimum's.
                optimum.at_optimum = true;
            }
        }
    }

    /// Stage 2 by BOBYQA from wherever stage 1 or Newton's method stopped: (θ, β) with PIRLS
    /// over u (θ alone without fixed effects).
    fn bobyqa(&mut self, optimum: &mut Optimum) {
        let ntheta = self.theta.len();
        let (system, st, family, nodes) =
            (&mut *self.system, &mut *self.st, self.family, self.nodes);
        let Optimizers {
            theta: theta_only,
            joint,
            lower,
            upper,
            ..
        } = &mut *self.optimizers;
        let mut f = |x: &[f64]| {
            st.beta.copy_from_slice(&x[ntheta..]);
            criterion(system, st, family, &x[..ntheta], false, nodes).unwrap_or(f64::MAX)
        };
        match joint {
            Some(solver) => {
                let outcome = solver.minimize(&mut f, self.params, lower, upper);
                optimum.evaluations += outcome.n_eval;
                optimum.budget_exhausted = !matches!(
                    outcome.status,
                    bobyqa::Status::Converged | bobyqa::Status::FtolReached
                );
            }
            None => {
                let minimum = theta_only.minimize(&mut f, self.params);
                optimum.evaluations += minimum.evaluations;
                optimum.budget_exhausted = minimum.budget_exhausted;
            }
        }
        self.adopt_params();
        optimum.value = criterion(
            self.system,
            self.st,
            self.family,
            self.theta,
            false,
            self.nodes,
        );
    }

    /// Newton's method converged at `params` with criterion `value`.
    fn newton_converged(&mut self, value: f64, optimum: &mut Optimum) {
        optimum.value = Some(value);
        optimum.newton_hessian = true;
        self.adopt_params();
    }

    /// θ and β from `params` = (θ, β).
    fn adopt_params(&mut self) {
        let ntheta = self.theta.len();
        self.st.beta.copy_from_slice(&self.params[ntheta..]);
        self.theta.copy_from_slice(&self.params[..ntheta]);
    }
}

/// The response, weights and offset, and the structure (rebuilt when the shape changes).
#[allow(clippy::too_many_arguments)]
fn prepare(
    slot: &mut Option<Shape>,
    state: &mut State,
    formula: &Formula,
    offsets: &[Arith],
    options: &GlmmOptions,
    view: &dyn Columns,
    data: &dyn Columns,
    weights: Option<&[f64]>,
) -> Result<(), FitError> {
    let n = data.nrows();
    let reusable = match slot.as_mut() {
        Some(shape) => shape.structure.reencode(view)?,
        None => false,
    };
    if !reusable {
        *slot = Some(build_shape(formula, view, &options.contrasts)?);
    }
    let Some(shape) = slot.as_mut() else {
        return Err(FitError::Numerical("no structure".into()));
    };
    let structure = &shape.structure;
    fill_design(
        &structure.fixed,
        &structure.vars,
        structure.encoded(),
        view,
        n,
        &mut shape.system.x,
    );
    let (system, p) = (&mut shape.system, structure.fixed.width());
    system.x_rows.resize(n * p, 0.0);
    for (j, column) in system.x.chunks_exact(n.max(1)).enumerate() {
        for (i, &v) in column.iter().enumerate() {
            system.x_rows[i * p + j] = v;
        }
    }
    let mut crossing_changed = false;
    for (t, term) in structure.terms.iter().enumerate() {
        fill_rows(
            &term.design,
            structure,
            view,
            n,
            &mut shape.system.z[t],
            &mut state.scratch,
        );
        let codes = &structure.factors[term.factor].codes;
        if shape.system.codes[t] != *codes {
            shape.system.codes[t].clone_from(codes);
            crossing_changed = true;
        }
    }
    if crossing_changed {
        // The same levels met by other observations (another random assignment to clusters or
        // items): the PLS system's tables follow the codes.
        shape.system.pls.follow_codes(&shape.system.codes);
    }
    if !shape
        .system
        .x
        .iter()
        .chain(shape.system.z.iter().flatten())
        .all(|v| v.is_finite())
    {
        return Err(crate::ols::non_finite(&structure.vars, view));
    }
    read_response(
        &mut state.r,
        formula,
        offsets,
        options.family.distribution,
        &structure.vars.names[0],
        view,
        data,
        weights,
    )?;
    for v in [
        &mut state.eta,
        &mut state.mu,
        &mut state.lev,
        &mut state.base,
    ] {
        v.resize(n, 0.0);
    }
    // New data: offset + Xβ is stale whatever β.
    state.base_beta.clear();
    Ok(())
}

/// The structure of a data shape, with aliased fixed-effects columns dropped as lme4 drops them.
fn build_shape(
    formula: &Formula,
    view: &dyn Columns,
    contrasts: &BTreeMap<String, Contrast>,
) -> Result<Shape, FitError> {
    let n = view.nrows();
    let mut structure = Structure::build(formula, view, &[], contrasts, true)?;
    let mut x = Vec::new();
    fill_design(
        &structure.fixed,
        &structure.vars,
        structure.encoded(),
        view,
        n,
        &mut x,
    );
    let p = structure.fixed.width();
    let mut xtx = vec![0.0; p * p];
    for j in 0..p {
        for k in 0..p {
            xtx[j * p + k] = (0..n).map(|i| x[j * n + i] * x[k * n + i]).sum();
        }
    }
    let aliased = aliased_columns(&mut xtx, p);
    if !aliased.is_empty() {
        structure = Structure::build(formula, view, &aliased, contrasts, true)?;
    }
    // glmer checks only that every grouping factor has two levels or more (its checks of
    // levels against observations are off for GLMMs: an observation-level effect is allowed).
    for factor in &structure.factors {
        if factor.nlevels() < 2 {
            return Err(FitError::OneLevel(factor.label.clone()));
        }
    }
    if structure.terms.len() > MAX_TERMS || structure.terms.iter().any(|t| t.q() > MAX_EFFECTS) {
        return Err(FitError::Numerical(format!(
            "at most {MAX_TERMS} random-effects terms of up to {MAX_EFFECTS} effects each are supported"
        )));
    }
    let mut offset = 0;
    let mut shapes = Vec::new();
    let mut diagonal = Vec::new();
    for term in &structure.terms {
        let q = term.q();
        let nlevels = structure.factors[term.factor].nlevels();
        shapes.push(TermShape { q, nlevels, offset });
        offset += q * nlevels;
        for j in 0..q {
            for i in j..q {
                diagonal.push(i == j);
            }
        }
    }
    let codes: Vec<Vec<u32>> = structure
        .terms
        .iter()
        .map(|t| structure.factors[t.factor].codes.clone())
        .collect();
    let refs: Vec<&[u32]> = codes.iter().map(Vec::as_slice).collect();
    let p = structure.fixed.width();
    let pls = Pls::new(shapes.clone(), &refs, p);
    let nterms = structure.terms.len();
    let k = diagonal.len() + p;
    let joint = if p == 0 {
        None
    } else {
        let mut config = Config::new(k);
        // θ and β are of order 1 at the start (stage 1's optimum).
        config.rho_begin = 0.02;
        config.rho_end = 1e-8;
        config.max_fun = 20_000 * k;
        Some(Bobyqa::new(k, config).map_err(|e| FitError::Numerical(format!("optimizer: {e:?}")))?)
    };
    let lower = diagonal
        .iter()
        .map(|&d| if d { 0.0 } else { f64::NEG_INFINITY })
        .chain(std::iter::repeat_n(f64::NEG_INFINITY, p))
        .collect();
    Ok(Shape {
        names: structure.fixed_names(),
        system: System {
            x: Vec::new(),
            x_rows: Vec::new(),
            z: vec![Vec::new(); nterms],
            a: structure
                .terms
                .iter()
                .map(|t| vec![0.0; n * t.q()])
                .collect(),
            codes,
            shapes,
            pls,
        },
        optimizers: Optimizers {
            theta: Optimizer::new(&diagonal, false),
            coarse: Optimizer::coarse(&diagonal, STAGE1_TOLERANCE),
            joint,
            lower,
            upper: vec![f64::INFINITY; k],
        },
        diagonal,
        structure,
    })
}

/// A term's Z rows, row-major (n × q).
fn fill_rows(
    design: &design::Design,
    structure: &Structure,
    view: &dyn Columns,
    n: usize,
    out: &mut Vec<f64>,
    column: &mut Vec<f64>,
) {
    let q = design.width();
    out.resize(n * q, 0.0);
    fill_design(
        design,
        &structure.vars,
        structure.encoded(),
        view,
        n,
        column,
    );
    for j in 0..q {
        for i in 0..n {
            out[i * q + j] = column[j * n + i];
        }
    }
}

/// Λ′zᵢ of every row and term at θ.
fn update_a(shape: &mut System, theta: &[f64]) {
    let mut k = 0;
    for (t, term) in shape.shapes.iter().enumerate() {
        let q = term.q;
        // Λ lower triangular, column-major from θ; a = Λ′z: a_j = Σ_{i ≥ j} Λ_ij z_i.
        let mut lam = [0.0; 64];
        let lam = if q * q <= 64 {
            &mut lam[..q * q]
        } else {
            return;
        };
        for j in 0..q {
            for i in j..q {
                lam[j * q + i] = theta[k];
                k += 1;
            }
        }
        let (z, a) = (&shape.z[t], &mut shape.a[t]);
        if q == 1 {
            // A scalar term: one product per row (a loop that vectorizes).
            let scale = lam[0];
            for (a, z) in a.iter_mut().zip(z) {
                *a = scale * z;
            }
            continue;
        }
        for (zr, ar) in z.chunks_exact(q).zip(a.chunks_exact_mut(q)) {
            for j in 0..q {
                ar[j] = (j..q).map(|i| lam[j * q + i] * zr[i]).sum();
            }
        }
    }
}

/// offset + Xβ into `st.base`, unless already there for this β.
fn update_base(shape: &System, st: &mut State) {
    if st.base_beta == st.beta {
        return;
    }
    let n = st.r.y.len();
    st.base.copy_from_slice(&st.r.offset);
    for (j, &b) in st.beta.iter().enumerate() {
        for (e, x) in st.base.iter_mut().zip(&shape.x[j * n..(j + 1) * n]) {
            *e += b * x;
        }
    }
    st.base_beta.clone_from(&st.beta);
}

/// η = offset + Xβ + Σ_t Λ′-scaled Z u, and μ.
fn update_eta(shape: &System, st: &mut State, family: Family) {
    let n = st.r.y.len();
    update_base(shape, st);
    st.eta.copy_from_slice(&st.base);
    for (t, term) in shape.shapes.iter().enumerate() {
        let q = term.q;
        let (a, codes) = (&shape.a[t][..n * q], &shape.codes[t][..n]);
        let u = &st.u[term.offset..term.offset + term.nlevels * q];
        if q == 1 {
            for ((e, &c), &a) in st.eta.iter_mut().zip(codes).zip(a) {
                *e += a * u[c as usize];
            }
            continue;
        }
        for i in 0..n {
            let u = &u[codes[i] as usize * q..][..q];
            let ar = &a[i * q..(i + 1) * q];
            st.eta[i] += ar.iter().zip(u).map(|(x, y)| x * y).sum::<f64>();
        }
    }
    family.link.inverse_into(&st.eta, &mut st.mu);
}

/// Σ deviance residuals + |u|² at the current μ and u.
fn penalised_deviance(st: &State, family: Family) -> f64 {
    deviance(st, family) + st.u.iter().map(|v| v * v).sum::<f64>()
}

fn deviance(st: &State, family: Family) -> f64 {
    family.distribution.deviance(&st.r.y, &st.mu, &st.r.wt)
}

/// The working weights wt·(dμ/dη)²/V(μ) and responses at the state's η and μ into `st.weight`
/// and `st.target`, the choice of a canonical family made once rather than per observation. The
/// responses η + (y − μ)/(dμ/dη) leave out the offset, and with β fixed (not `joint`) Xβ as well.
fn working_values(st: &mut State, family: Family, joint: bool) {
    #[inline(always)]
    fn pass(st: &mut State, family: Family, joint: bool) {
        let n = st.r.y.len();
        let fixed = if joint {
            &st.r.offset[..n]
        } else {
            &st.base[..n]
        };
        let (eta, mu, y, wt) = (&st.eta[..n], &st.mu[..n], &st.r.y[..n], &st.r.wt[..n]);
        let (weight, target) = (&mut st.weight[..n], &mut st.target[..n]);
        for i in 0..n {
            let me = family.link.mu_eta_at(eta[i], mu[i]);
            let var = family.distribution.variance(mu[i]);
            weight[i] = wt[i] * me * me / var;
            target[i] = eta[i] - fixed[i] + (y[i] - mu[i]) / me;
        }
    }
    const BINOMIAL: Family = Family {
        distribution: Distribution::Binomial,
        link: Link::Logit,
    };
    const POISSON: Family = Family {
        distribution: Distribution::Poisson,
        link: Link::Log,
    };
    match family {
        BINOMIAL => pass(st, BINOMIAL, joint),
        POISSON => pass(st, POISSON, joint),
        other => pass(st, other, joint),
    }
}

/// Accumulates and factors the PLS system at the current η and μ (working weights and
/// response); returns log|L_u|².
fn assemble(shape: &mut System, st: &mut State, family: Family, joint: bool) -> Option<f64> {
    let n = st.r.y.len();
    let p = st.beta.len();
    let nterms = shape.shapes.len();
    let pls = &mut shape.pls;
    pls.clear();
    st.weight.resize(n, 0.0);
    st.target.resize(n, 0.0);
    working_values(st, family, joint);
    if pls.is_scalar() {
        // Every term scalar: column by column (faster than observation by observation).
        st.scratch.resize(n, 0.0);
        pls.add_scalar(
            &shape.codes,
            &shape.a,
            &shape.x,
            &shape.x_rows,
            &st.weight,
            &st.target,
            &mut st.scratch,
            joint,
        );
        return pls.factor(joint);
    }
    let mut levels = [0u32; MAX_TERMS];
    for i in 0..n {
        let mut a: [&[f64]; MAX_TERMS] = [&[]; MAX_TERMS];
        for t in 0..nterms {
            let q = shape.shapes[t].q;
            levels[t] = shape.codes[t][i];
            a[t] = &shape.a[t][i * q..(i + 1) * q];
        }
        pls.add(
            i,
            &levels[..nterms],
            &a[..nterms],
            &shape.x_rows[i * p..(i + 1) * p],
            st.weight[i],
            st.target[i],
        );
    }
    pls.factor(joint)
}

/// PIRLS at θ (Λ′Z already updated): over (u, β) when `joint`, else over u with β fixed.
/// Returns log|L_u|² and the penalised deviance at the converged modes, the factor left at them.
fn pirls(shape: &mut System, st: &mut State, family: Family, joint: bool) -> Option<(f64, f64)> {
    update_eta(shape, st, family);
    // A start whose means overflow (a warm start far off): from u = 0 instead. Finite means
    // have a finite deviance, computed only when a line search or the result needs it.
    let finite =
        |st: &State| (st.eta.iter().chain(&st.mu)).fold(true, |all, v| all & v.is_finite());
    if !finite(st) {
        st.u.fill(0.0);
        update_eta(shape, st, family);
    }
    // The penalised deviance at the current modes, None until computed or after a step taken
    // without it.
    let mut pdev = None;
    let q = shape.pls.q;
    let p = st.beta.len();
    for _ in 0..PIRLS_ITERATIONS {
        st.iterations += 1;
        let logdet = assemble(shape, st, family, joint)?;
        shape.pls.solve();
        // Converged when the Newton step is at rounding level: the factor just formed is then
        // the modes' (lme4's L there). The Laplace criterion's log-determinant moves to first
        // order with u, so a deviance-change test (quadratic in the step) would leave ~1e-5
        // noise in it, and in the finite-difference Hessian.
        let x = &shape.pls.x;
        let mut moved = (0..q)
            .map(|j| (x[j] - st.u[j]).abs() / (1.0 + st.u[j].abs()))
            .fold(0.0, f64::max);
        if joint {
            moved = (0..p)
                .map(|j| (x[q + j] - st.beta[j]).abs() / (1.0 + st.beta[j].abs()))
                .fold(moved, f64::max);
        }
        if moved < st.pirls_step {
            let pdev = pdev.unwrap_or_else(|| penalised_deviance(st, family));
            return Some((logdet, pdev));
        }
        if moved < st.gradient_step {
            // The step puts the modes at rounding level (Newton's quadratic convergence); the
            // factor stays the step's start's, O(moved) off.
            st.u.copy_from_slice(&shape.pls.x[..q]);
            if joint {
                st.beta.copy_from_slice(&shape.pls.x[q..q + p]);
            }
            update_eta(shape, st, family);
            return Some((logdet, penalised_deviance(st, family)));
        }
        if moved < TRUSTED_STEP {
            // Within Newton's quadratic region: the full step, the deviance not computed.
            st.u.copy_from_slice(&shape.pls.x[..q]);
            if joint {
                st.beta.copy_from_slice(&shape.pls.x[q..q + p]);
            }
            update_eta(shape, st, family);
            pdev = None;
            continue;
        }
        let mut reference = pdev.unwrap_or_else(|| penalised_deviance(st, family));
        st.u_old.clone_from(&st.u);
        st.beta_old.clone_from(&st.beta);
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..30 {
            for j in 0..q {
                st.u[j] = st.u_old[j] + step * (shape.pls.x[j] - st.u_old[j]);
            }
            if joint {
                for j in 0..p {
                    st.beta[j] = st.beta_old[j] + step * (shape.pls.x[q + j] - st.beta_old[j]);
                }
            }
            update_eta(shape, st, family);
            let new = penalised_deviance(st, family);
            // A rise within rounding (1e-10 relative) is accepted: near the modes the deviance
            // changes by the step's square, below its own rounding, and refusing such steps
            // would leave u ~1e-6 off and its first-order noise in log|L|.
            if new.is_finite() && new <= reference + 1e-10 * reference.abs() {
                accepted = Some(new);
                break;
            }
            step *= 0.5;
        }
        let Some(new) = accepted else {
            // No decrease: at the minimum to rounding, where the factor was formed.
            st.u.clone_from(&st.u_old);
            st.beta.clone_from(&st.beta_old);
            update_eta(shape, st, family);
            return Some((logdet, reference));
        };
        reference = new;
        pdev = Some(reference);
    }
    // The factor at the last modes reached.
    let logdet = assemble(shape, st, family, joint)?;
    Some((
        logdet,
        pdev.unwrap_or_else(|| penalised_deviance(st, family)),
    ))
}

/// Σᵢ (−2 log p(yᵢ | μᵢ) − dᵢ(μᵢ)) at valid means `mu`: a constant in μ (the saturated model's
/// −2 log-likelihood) for the Poisson, and for the binomial when each count mᵢyᵢ and its trials
/// mᵢ are whole numbers, as R's log-density rounds them (else None: the log-density is summed).
/// Computing it once saves a log-gamma per observation and evaluation.
fn saturated_constant(r: &Response, family: Family, mu: &[f64]) -> Option<f64> {
    let d = family.distribution;
    let mut sum = 0.0;
    for i in 0..r.y.len() {
        let (y, wt, m) = (r.y[i], r.wt[i], r.trials[i]);
        if d == Distribution::Binomial {
            let count = m * y;
            let whole = |v: f64| (v - v.round()).abs() <= 1e-12 * m.abs().max(1.0);
            if !(whole(count) && whole(m)) {
                return None;
            }
        }
        sum += d.minus_two_log_density(y, mu[i], wt, m) - d.deviance_residual(y, mu[i], wt);
    }
    sum.is_finite().then_some(sum)
}

/// The criterion at θ (and the state's β unless `joint`): Laplace (or nAGQ = 0 with `joint`), or
/// adaptive quadrature with `nodes` of more than one point.
fn criterion(
    shape: &mut System,
    st: &mut State,
    family: Family,
    theta: &[f64],
    joint: bool,
    nodes: &[(f64, f64)],
) -> Option<f64> {
    update_a(shape, theta);
    let (logdet, pdev) = pirls(shape, st, family, joint)?;
    if nodes.len() > 1 {
        return Some(quadrature(shape, st, family, nodes));
    }
    // −2 log p(y | û) + |û|²: the deviance plus its constant when it has one.
    let conditional = match st.saturated {
        Some(constant) => pdev + constant,
        None => {
            let d = family.distribution;
            let u2: f64 = st.u.iter().map(|v| v * v).sum();
            (0..st.r.y.len())
                .map(|i| d.minus_two_log_density(st.r.y[i], st.mu[i], st.r.wt[i], st.r.trials[i]))
                .sum::<f64>()
                + u2
        }
    };
    Some(conditional + logdet)
}

/// lme4's adaptive Gauss-Hermite criterion for one scalar term: per level l, with û the mode and
/// σ = 1/L_ll, −2 log[σ Σ_k ω_k exp(−½(D_l(û + σz_k) + (û + σz_k)² − z_k²))], D_l the level's
/// deviance residuals; summed over levels.
fn quadrature(shape: &mut System, st: &mut State, family: Family, nodes: &[(f64, f64)]) -> f64 {
    let n = st.r.y.len();
    let nl = shape.shapes[0].nlevels;
    let d = family.distribution;
    let codes = &shape.codes[0];
    st.dev0.clear();
    st.dev0.resize(nl, 0.0);
    for i in 0..n {
        st.dev0[codes[i] as usize] += d.deviance_residual(st.r.y[i], st.mu[i], st.r.wt[i]);
    }
    st.u_old.clone_from(&st.u);
    st.acc.clear();
    st.acc.resize(nl, 0.0);
    st.devk.resize(nl, 0.0);
    let a = &shape.a[0];
    for &(z, w) in nodes {
        st.devk.fill(0.0);
        for i in 0..n {
            let l = codes[i] as usize;
            let sd = 1.0 / shape.pls.first_diagonal(l);
            let eta = st.eta[i] + a[i] * sd * z;
            let mu = family.link.inverse(eta);
            st.devk[l] += d.deviance_residual(st.r.y[i], mu, st.r.wt[i]);
        }
        for l in 0..nl {
            let sd = 1.0 / shape.pls.first_diagonal(l);
            let u0 = st.u_old[l];
            let uk = u0 + sd * z;
            let exponent = -0.5 * (st.devk[l] - st.dev0[l] + uk * uk - u0 * u0 - z * z);
            st.acc[l] += w * exponent.exp();
        }
    }
    (0..nl)
        .map(|l| {
            let sd = 1.0 / shape.pls.first_diagonal(l);
            let u0 = st.u_old[l];
            st.dev0[l] + u0 * u0 - 2.0 * (sd * st.acc[l]).ln()
        })
        .sum()
}

/// (X′V⁻¹X)⁻¹ from a joint PIRLS factorization at the current θ (the information of β given θ).
fn pirls_vcov(
    shape: &mut System,
    st: &mut State,
    family: Family,
    vcov: &mut Vec<f64>,
) -> Result<(), FitError> {
    let p = st.beta.len();
    let q = shape.pls.q;
    vcov.resize(p * p, 0.0);
    assemble(shape, st, family, true)
        .ok_or_else(|| FitError::Numerical("the PIRLS information is singular".into()))?;
    // Column j of H⁻¹'s β block: solve H x = e_{q+j}.
    for j in 0..p {
        shape.pls.x.fill(0.0);
        shape.pls.x[q + j] = 1.0;
        shape.pls.solve();
        for i in 0..p {
            vcov[j * p + i] = shape.pls.x[q + i];
        }
    }
    Ok(())
}

/// lme4's covariance of β: the β block of (H/2)⁻¹, H the central-difference Hessian of the
/// criterion in (θ, β) at `params`. False when H is not positive definite.
#[allow(clippy::too_many_arguments)]
fn hessian_vcov(
    shape: &mut System,
    st: &mut State,
    family: Family,
    nodes: &[(f64, f64)],
    params: &[f64],
    ntheta: usize,
    scratch: &mut HessianScratch,
    vcov: &mut Vec<f64>,
) -> bool {
    let k = params.len();
    let HessianScratch { hessian, x, .. } = scratch;
    x.clear();
    x.extend_from_slice(params);
    let f = |x: &[f64], st: &mut State, shape: &mut System| {
        st.beta.copy_from_slice(&x[ntheta..]);
        criterion(shape, st, family, &x[..ntheta], false, nodes).unwrap_or(f64::NAN)
    };
    let f0 = f(x, st, shape);
    hessian.resize(k * k, 0.0);
    let h = HESSIAN_STEP;
    for i in 0..k {
        x[i] = params[i] + h;
        let plus = f(x, st, shape);
        x[i] = params[i] - h;
        let minus = f(x, st, shape);
        x[i] = params[i];
        hessian[i * k + i] = (plus - 2.0 * f0 + minus) / (h * h);
        for j in 0..i {
            let mut corner = |si: f64, sj: f64, st: &mut State, shape: &mut System| {
                x[i] = params[i] + si * h;
                x[j] = params[j] + sj * h;
                let v = f(x, st, shape);
                x[i] = params[i];
                x[j] = params[j];
                v
            };
            let v = (corner(1.0, 1.0, st, shape)
                - corner(1.0, -1.0, st, shape)
                - corner(-1.0, 1.0, st, shape)
                + corner(-1.0, -1.0, st, shape))
                / (4.0 * h * h);
            hessian[i * k + j] = v;
            hessian[j * k + i] = v;
        }
    }
    vcov_from_hessian(scratch, k, ntheta, vcov)
}

/// lme4's covariance of β from the Hessian H in `scratch` (k×k over (θ, β)): the β block of
/// (H/2)⁻¹ = 2H⁻¹. False when H is not positive definite.
fn vcov_from_hessian(
    scratch: &mut HessianScratch,
    k: usize,
    ntheta: usize,
    vcov: &mut Vec<f64>,
) -> bool {
    let p = k - ntheta;
    let HessianScratch {
        hessian,
        factor,
        inverse,
        column,
        ..
    } = scratch;
    factor.clone_from(hessian);
    if !cholesky_small(factor, k) {
        return false;
    }
    inverse.resize(k * k, 0.0);
    column.resize(k, 0.0);
    inverse_from_cholesky(factor, k, k, inverse, column);
    vcov.resize(p * p, 0.0);
    for j in 0..p {
        for i in 0..p {
            vcov[j * p + i] = 2.0 * inverse[(ntheta + j) * k + ntheta + i];
        }
    }
    vcov.iter().all(|v| v.is_finite())
}

/// The Newton step −H⁻¹g into `step` from the Hessian H (k×k) and gradient g, through H's
/// Cholesky factor in `factor`; returns the Newton decrement g′H⁻¹g, None when H is not positive
/// definite.
fn newton_step(
    hessian: &[f64],
    factor: &mut [f64],
    gradient: &[f64],
    step: &mut [f64],
) -> Option<f64> {
    let k = gradient.len();
    factor.copy_from_slice(hessian);
    if !cholesky_small(factor, k) {
        return None;
    }
    for (s, g) in step.iter_mut().zip(gradient) {
        *s = -g;
    }
    forward_solve(factor, k, k, step);
    backward_solve(factor, k, k, step);
    Some(-step.iter().zip(gradient).map(|(s, g)| s * g).sum::<f64>())
}

/// Backtracking along `step` from `params`: trial = params + scale·step for `scale`, then
/// halved up to [`NEWTON_HALVINGS`] times, until the criterion `at(trial)` does not exceed `f0`
/// (to rounding: 1e-10 relative). Returns that value with `trial` left there; None when no
/// trial decreases it (or `at` fails at every one).
fn backtrack(
    params: &[f64],
    step: &[f64],
    mut scale: f64,
    f0: f64,
    trial: &mut [f64],
    mut at: impl FnMut(&[f64]) -> Option<f64>,
) -> Option<f64> {
    for _ in 0..=NEWTON_HALVINGS {
        for ((t, x), s) in trial.iter_mut().zip(params).zip(step) {
            *t = x + scale * s;
        }
        match at(trial) {
            Some(f) if f <= f0 + 1e-10 * f0.abs() => return Some(f),
            _ => scale *= 0.5,
        }
    }
    None
}

/// Buffers of stage 2 by Newton's method.
#[derive(Default)]
struct NewtonScratch {
    /// The criterion's gradient in (θ, β).
    gradient: Vec<f64>,
    /// Its β part at a point moved by ±h in one parameter.
    plus: Vec<f64>,
    minus: Vec<f64>,
    step: Vec<f64>,
    trial: Vec<f64>,
    /// The conditional modes at the current point: every nearby PIRLS starts from them.
    centre: Vec<f64>,
    /// ∂û/∂(θ, β) at the centre ([`mode_slopes`]): column j (q values) for parameter j.
    slopes: Vec<f64>,
    /// Twice the information of β given θ (p×p), then its Cholesky factor.
    information: Vec<f64>,
    /// The exact derivatives of one scalar term's criterion.
    scalar: ScalarLaplace,
    /// Stage 1's Hessian in θ of the profiled criterion ([`profiled_stage`]), and its factor.
    profiled: Vec<f64>,
    profiled_factor: Vec<f64>,
    /// Whether the Hessian's θ columns hold [`seed_hessian`]'s estimate: Newton's stage 2 then
    /// starts with BFGS updates instead of measuring them.
    seeded: bool,
}

/// PIRLS's early stop where only the gradient is used (the Hessian's columns from gradient
/// differences at points 1e-4 away, [`newton_stage`]): the modes predicted from their slopes
/// are then 1e-11 (β) to 3e-8 (θ) off on VerbAgg, one step puts them at rounding level, and the
/// gradient taken with the factor from before that step errs by O(step) relative in its
/// log-determinant's share: ~1e-6 of the Hessian, against the forward differences' 1e-4. Saves
/// the factorization that would only confirm convergence (VerbAgg: 8 of 62 PIRLS iterations).
const GRADIENT_STEP: f64 = 1e-7;

/// Steps in β alone before the first Hessian ([`newton_stage`]).
const BETA_STEPS: usize = 3;

/// Relative accuracy in θ of stage 1 when Newton's method follows: it needs a start, not the
/// nAGQ = 0 optimum, and converges from this one in as many iterations as from a tight one
/// (fixtures: VerbAgg 101 -> 79 evaluations, crt 40 -> 37, cbpp 49 -> 45 against 1e-7 and 1e-6).
const STAGE1_TOLERANCE: f64 = 1e-2;

/// Most Newton iterations of stage 2 before BOBYQA takes over.
const NEWTON_ITERATIONS: usize = 8;
/// Stage 2 stops when the Newton decrement g′H⁻¹g (twice the predicted decrease of the
/// criterion) is below this, after taking that last step (which Newton's quadratic convergence
/// puts ~1e-12 from the optimum in the criterion). The Hessian at hand, kept for the SEs, is then
/// ~1e-3 (in its own metric) from the optimum's: on the fixtures the SEs stay within 4e-5 of
/// lme4's (VerbAgg, saving a fourth Hessian), against a tolerance of 1e-3.
const NEWTON_DECREMENT: f64 = 1e-6;
/// Step halvings tried when a full Newton step does not lower the criterion.
const NEWTON_HALVINGS: usize = 6;

/// Stage 2 (Laplace, canonical link, β present) by Newton's method from stage 1's optimum in
/// `params` = (θ, β), k = nθ + p parameters. The gradient in β is analytic ([`laplace_gradient`]);
/// in θ too except for one scalar term:
/// - θ's gradient by finite differences (one scalar term): per iteration the gradient and Hessian
///   at the point, ∂/∂θ and the θθ block from the criterion's central differences (lme4's step),
///   the β rows of H from central differences of the β-gradient, in all 1 + 2k + 2nθ(nθ − 1)
///   evaluations against 2k² + 1 for a Hessian of criterion values alone.
/// - the analytic gradient: the first Hessian takes θ's columns from forward differences of the
///   gradient (or from stage 1's estimate when `ns.seeded`, [`seed_hessian`]) and the β block
///   from stage 1's 2X′V⁻¹X; later iterations update it by BFGS (one
///   evaluation each), and once the decrement is small the whole Hessian is measured (k
///   evaluations) for the last step and the SEs.
///
/// On success, `params` holds the optimum, the Hessian there is left in `hs` for the SEs, and the
/// criterion is returned; None (a non-positive-definite Hessian, no decrease, or no convergence)
/// hands over to BOBYQA from the best point reached. Steps stop at θ's bounds `lower`. Also
/// returns the evaluations used.
fn newton_stage(
    system: &mut System,
    st: &mut State,
    family: Family,
    params: &mut [f64],
    lower: &[f64],
    hs: &mut HessianScratch,
    ns: &mut NewtonScratch,
) -> (Option<f64>, usize) {
    let ntheta = lower.len();
    let k = params.len();
    let p = k - ntheta;
    let mut evaluations = 0;
    let NewtonScratch {
        gradient,
        plus,
        minus,
        step,
        trial,
        centre,
        slopes,
        information,
        ..
    } = ns;
    for v in [
        &mut *gradient,
        &mut *step,
        &mut *trial,
        &mut *plus,
        &mut *minus,
    ] {
        v.resize(k, 0.0);
    }
    // Whether the gradient's θ part is analytic ([`laplace_gradient`]): the Hessian is then
    // measured by forward differences of the gradient alone (or updated by BFGS).
    let analytic = theta_gradient_is_analytic(system);
    hs.hessian.resize(k * k, 0.0);
    hs.factor.resize(k * k, 0.0);
    // Stage 1 left the joint factorization at its optimum: 2X′V⁻¹X approximates the criterion's
    // Hessian in β there (the log-determinant adds a little curvature). With the analytic
    // gradient it stands for the β block of the first Hessian; otherwise its factor serves the
    // steps in β alone below.
    information.resize(p * p, 0.0);
    let have_information = system.pls.beta_information(information) && {
        information.iter_mut().for_each(|v| *v *= 2.0);
        true
    };
    let quasi = have_information && !analytic && cholesky_small(information, p);
    let mut eval = |system: &mut System, x: &[f64], st: &mut State, grad: &mut [f64]| {
        evaluations += 1;
        st.beta.copy_from_slice(&x[ntheta..]);
        let value = criterion(system, st, family, &x[..ntheta], false, &[])?;
        laplace_gradient(system, st, family, grad, &x[..ntheta]);
        value.is_finite().then_some(value)
    };
    let h = HESSIAN_STEP;
    let Some(mut f0) = eval(system, params, st, gradient) else {
        return (None, evaluations);
    };
    // The Laplace optimum in β differs from stage 1's mostly through the log-determinant's
    // gradient: a few quasi-Newton steps in β with that Hessian (one evaluation each, against
    // 1 + 2k for a Hessian) leave the first Newton iteration closer, often sparing one.
    for _ in 0..BETA_STEPS * usize::from(quasi) {
        let (g, s) = (&gradient[ntheta..], &mut step[ntheta..]);
        for (s, g) in s.iter_mut().zip(g) {
            *s = -g;
        }
        forward_solve(information, p, p, s);
        backward_solve(information, p, p, s);
        let decrement: f64 = -s.iter().zip(g).map(|(s, g)| s * g).sum::<f64>();
        if decrement < NEWTON_DECREMENT {
            break;
        }
        trial.copy_from_slice(params);
        for (t, s) in trial[ntheta..].iter_mut().zip(s.iter()) {
            *t += *s;
        }
        centre.clone_from(&st.u);
        mode_slopes(system, st, ntheta, k, slopes);
        predict_modes(&mut st.u, centre, slopes, params, trial);
        match eval(system, trial, st, plus) {
            Some(f) if f < f0 => {
                f0 = f;
                params.copy_from_slice(trial);
                gradient.copy_from_slice(plus);
            }
            _ => {
                // Back to the point's modes and factor.
                st.u.clone_from(centre);
                if eval(system, params, st, gradient).is_none() {
                    return (None, evaluations);
                }
                break;
            }
        }
    }
    // The Hessian's columns to measure at the next point: all of them without the analytic
    // gradient; with it, θ's columns first (the β block from the information), then BFGS updates
    // from the gradients of the steps, and all of them again once the decrement is small, so
    // that the Hessian kept for the SEs is measured.
    let mut columns = if analytic && have_information {
        if ns.seeded {
            0
        } else {
            ntheta
        }
    } else {
        k
    };
    let iterations = if analytic {
        2 * NEWTON_ITERATIONS
    } else {
        NEWTON_ITERATIONS
    };
    for _ in 0..iterations {
        // Derivatives at `params` (the state is at its modes): the modes' slopes in the
        // parameters whose columns are measured; for a step that moves the others too, the modes'
        // response along it once it is known ([`mode_response`]).
        let (measured, bfgs) = (columns == k, columns == 0);
        centre.clone_from(&st.u);
        if !bfgs {
            mode_slopes(system, st, ntheta, columns, slopes);
        }
        let hessian = &mut hs.hessian;
        trial.copy_from_slice(params);
        for j in 0..columns {
            // PIRLS at +h starts from the centre's modes moved along their slope (or the modes
            // themselves), at −h from their reflection through the centre (2û − û₊): both
            // off by O(h²), one iteration fewer.
            let mut side = |x: f64, out: &mut [f64], st: &mut State| {
                trial[j] = x;
                let v = eval(system, trial, st, out);
                trial[j] = params[j];
                v
            };
            predict_along(&mut st.u, centre, slopes, j, h);
            // Only the gradient counts at +h when it is analytic.
            st.gradient_step = if analytic { GRADIENT_STEP } else { 0.0 };
            let fp = side(params[j] + h, plus, st);
            st.gradient_step = 0.0;
            let Some(fp) = fp else {
                return (None, evaluations);
            };
            if analytic {
                // Forward differences of the analytic gradient: error O(h) ≈ 1e-4 relative
                // (the fixtures' SEs move by < 1e-4 against lme4's, tolerance 1e-3), half the
                // evaluations of central ones.
                for i in 0..k {
                    hessian[j * k + i] = (plus[i] - gradient[i]) / h;
                }
                continue;
            }
            for (u, c) in st.u.iter_mut().zip(centre.iter()) {
                *u = 2.0 * c - *u;
            }
            let Some(fm) = side(params[j] - h, minus, st) else {
                return (None, evaluations);
            };
            for i in ntheta..k {
                hessian[j * k + i] = (plus[i] - minus[i]) / (2.0 * h);
            }
            if j < ntheta {
                gradient[j] = (fp - fm) / (2.0 * h);
                hessian[j * k + j] = (fp - 2.0 * f0 + fm) / (h * h);
            }
        }
        // The θθ block's off-diagonal from criterion values at the corners.
        let corners = if analytic { 0 } else { ntheta };
        for i in 0..corners {
            for j in 0..i {
                let mut corner = |si: f64, sj: f64, st: &mut State| {
                    trial[i] = params[i] + si * h;
                    trial[j] = params[j] + sj * h;
                    st.u.clone_from(centre);
                    let v = eval(system, trial, st, plus);
                    trial[i] = params[i];
                    trial[j] = params[j];
                    v
                };
                let (Some(a), Some(b), Some(c), Some(d)) = (
                    corner(1.0, 1.0, st),
                    corner(1.0, -1.0, st),
                    corner(-1.0, 1.0, st),
                    corner(-1.0, -1.0, st),
                ) else {
                    return (None, evaluations);
                };
                hessian[j * k + i] = (a - b - c + d) / (4.0 * h * h);
            }
        }
        // β's columns unmeasured: the θ rows from θ's columns, the β block from the information.
        for j in columns.max(ntheta)..k {
            for i in 0..k {
                hessian[j * k + i] = if i < ntheta {
                    hessian[i * k + j]
                } else {
                    information[(j - ntheta) * p + i - ntheta]
                };
            }
        }
        // Next: BFGS updates with the analytic gradient, a measured Hessian otherwise.
        columns = if analytic { 0 } else { k };
        // Symmetric: the rows from gradient differences are measured in every column (both
        // triangles averaged); θ's rows from criterion values only in the θθ block's lower
        // triangle.
        for j in 0..k {
            for i in 0..j {
                let (upper, lower) = (hessian[j * k + i], hessian[i * k + j]);
                let v = if i >= ntheta || analytic {
                    0.5 * (upper + lower)
                } else {
                    lower
                };
                hessian[j * k + i] = v;
                hessian[i * k + j] = v;
            }
        }
        let Some(decrement) = newton_step(hessian, &mut hs.factor, gradient, step) else {
            return (None, evaluations);
        };
        if decrement < NEWTON_DECREMENT && !measured {
            // Back to the point's modes and factor if θ's columns moved them, then measure all.
            if !bfgs {
                st.u.clone_from(centre);
                if eval(system, params, st, gradient).is_none() {
                    return (None, evaluations);
                }
            }
            columns = k;
            continue;
        }
        let done = decrement < NEWTON_DECREMENT;
        // A step decreasing the criterion, halved while it does not, and never leaving θ's
        // bounds (off-diagonal elements have none): an element it would take below its bound
        // stops there. A scalar term's criterion is even in its θ, so its bound is a stationary
        // point, the optimum of a singular fit, which Newton's method then reaches (else its
        // Hessian there is not positive definite and BOBYQA takes over). The gradient is kept if
        // the step is taken.
        for j in 0..ntheta {
            step[j] = step[j].max(lower[j] - params[j]);
        }
        // One solve for the step's direction alone, at the centre after a BFGS update, else at
        // the last column's point 1e-4 away (a start for PIRLS, O(1e-4) off in its slope).
        let along = !measured;
        if along {
            slopes.resize(centre.len(), 0.0);
            mode_response(system, st, ntheta, |j| step[j], false, slopes);
        }
        let searched = backtrack(params, step, 1.0, f0, trial, |trial| {
            if along {
                predict_step(&mut st.u, centre, slopes, params, step, trial);
            } else {
                predict_modes(&mut st.u, centre, slopes, params, trial);
            }
            eval(system, trial, st, plus)
        });
        let Some(f) = searched else {
            return (None, evaluations);
        };
        f0 = f;
        if done {
            params.copy_from_slice(trial);
            return (Some(f0), evaluations);
        }
        if analytic {
            bfgs_update(&mut hs.hessian, k, params, trial, gradient, plus, minus);
        }
        params.copy_from_slice(trial);
        gradient.copy_from_slice(plus);
    }
    (None, evaluations)
}

/// Step of the forward differences of the profiled gradient that start stage 1's Hessian
/// ([`profiled_stage`]), in log θ for a diagonal element, else in θ.
const PROFILED_STEP: f64 = 1e-3;
/// Most quasi-Newton iterations of [`profiled_stage`].
const PROFILED_ITERATIONS: usize = 12;
/// [`profiled_stage`] stops when the Newton decrement (about twice the criterion's excess over
/// stage 1's optimum) falls below this: stage 2 needs only a start, and the nAGQ = 0 optimum is
/// itself ~1% in θ from Laplace's (VerbAgg). On the fixtures 0.2 to 1 need the fewest
/// evaluations (against 1e-2: VerbAgg 23 -> 22, grouseticks 25 -> 23, pois_slope 31 -> 29, the
/// boundary cases 19/21 -> 15/16), 3 more than 1e-2 on VerbAgg (24).
const PROFILED_DECREMENT: f64 = 0.5;

/// Stage 1 where θ's gradient is analytic and Newton's stage 2 follows: the nAGQ = 0 criterion
/// (β profiled by the joint PIRLS) minimised over θ from `theta` ([`moment_start`]) by
/// quasi-Newton steps on [`profiled_gradient`], in log θ for the diagonal elements (bounded
/// below by 0: the criterion is convex in log θ far more widely than in θ, where a variance's
/// profile bends down when it is large), the first Hessian by forward differences of the
/// gradient, BFGS updates after.
/// Returns the criterion at the point left in `theta` (the state at its modes and joint factor)
/// and the evaluations used; None when the iteration fails (a Hessian not positive definite, no
/// decrease, or no convergence), for BOBYQA to take over.
fn profiled_stage(
    system: &mut System,
    st: &mut State,
    family: Family,
    theta: &mut [f64],
    lower: &[f64],
    ns: &mut NewtonScratch,
) -> (Option<f64>, usize) {
    let m = theta.len();
    let mut evaluations = 0;
    let NewtonScratch {
        gradient,
        plus,
        minus,
        step,
        trial,
        centre: point,
        slopes: at,
        profiled: hessian,
        profiled_factor: factor,
        ..
    } = ns;
    for v in [
        &mut *gradient,
        &mut *step,
        &mut *trial,
        &mut *plus,
        &mut *minus,
        &mut *point,
        &mut *at,
    ] {
        v.resize(m, 0.0);
    }
    hessian.resize(m * m, 0.0);
    factor.resize(m * m, 0.0);
    // The optimisation's coordinates: log θⱼ where θⱼ ≥ 0, θⱼ otherwise.
    let logged = |j: usize| lower[j] == 0.0;
    for j in 0..m {
        if logged(j) && theta[j] <= 0.0 {
            return (None, 0);
        }
        point[j] = if logged(j) { theta[j].ln() } else { theta[j] };
    }
    // The criterion and its gradient in those coordinates at x (θ left in `at`).
    let mut eval = |system: &mut System, x: &[f64], st: &mut State, grad: &mut [f64]| {
        evaluations += 1;
        for j in 0..m {
            at[j] = if logged(j) { x[j].exp() } else { x[j] };
        }
        let value = criterion(system, st, family, at, true, &[])?;
        profiled_gradient(system, st, family, at, grad);
        for j in 0..m {
            if logged(j) {
                grad[j] *= at[j];
            }
        }
        value.is_finite().then_some(value)
    };
    let Some(mut f0) = eval(system, point, st, gradient) else {
        return (None, evaluations);
    };
    trial.copy_from_slice(point);
    for j in 0..m {
        let h = PROFILED_STEP;
        trial[j] = point[j] + h;
        if eval(system, trial, st, plus).is_none() {
            return (None, evaluations);
        }
        trial[j] = point[j];
        for i in 0..m {
            hessian[j * m + i] = (plus[i] - gradient[i]) / h;
        }
    }
    for j in 0..m {
        for i in 0..j {
            let v = 0.5 * (hessian[j * m + i] + hessian[i * m + j]);
            hessian[j * m + i] = v;
            hessian[i * m + j] = v;
        }
    }
    // Whether the state holds the point's modes (not a perturbed point's).
    let mut at_point = false;
    for _ in 0..PROFILED_ITERATIONS {
        let Some(decrement) = newton_step(hessian, factor, gradient, step) else {
            return (None, evaluations);
        };
        if decrement < PROFILED_DECREMENT {
            if !at_point && eval(system, point, st, plus).is_none() {
                return (None, evaluations);
            }
            for j in 0..m {
                theta[j] = if logged(j) { point[j].exp() } else { point[j] };
            }
            return (Some(f0), evaluations);
        }
        let searched = backtrack(point, step, 1.0, f0, trial, |trial| {
            eval(system, trial, st, plus)
        });
        let Some(f) = searched else {
            return (None, evaluations);
        };
        f0 = f;
        bfgs_update(hessian, m, point, trial, gradient, plus, minus);
        point.copy_from_slice(trial);
        gradient.copy_from_slice(plus);
        at_point = true;
    }
    (None, evaluations)
}

/// A start for stage 1 from the GLM's means (the state's β, u = 0): for a scalar term t with
/// Sₗ = Σ zᵢ wtᵢ(yᵢ − μᵢ) and Wₗ = Σ zᵢ² wtᵢ V(μᵢ) over its level l, Var Sₗ ≈ Wₗ + σ²Wₗ²
/// (canonical link), whence σ² ≈ Σ (Sₗ² − Wₗ) / Σ Wₗ²; θₜ = σ, at least [`MOMENT_FLOOR`]. Other
/// terms keep lme4's start.
fn moment_start(system: &mut System, st: &mut State, family: Family, theta: &mut [f64]) {
    st.u.fill(0.0);
    update_eta(system, st, family);
    let n = st.r.y.len();
    let d = family.distribution;
    let mut k = 0;
    for (t, shape) in system.shapes.iter().enumerate() {
        let q = shape.q;
        if q != 1 {
            k += q * (q + 1) / 2;
            continue;
        }
        let (s, w) = (&mut st.dev0, &mut st.devk);
        s.clear();
        s.resize(shape.nlevels, 0.0);
        w.clear();
        w.resize(shape.nlevels, 0.0);
        for i in 0..n {
            let l = system.codes[t][i] as usize;
            let z = system.z[t][i];
            s[l] += z * st.r.wt[i] * (st.r.y[i] - st.mu[i]);
            w[l] += z * z * st.r.wt[i] * d.variance(st.mu[i]);
        }
        let excess: f64 = s.iter().zip(w.iter()).map(|(s, w)| s * s - w).sum();
        let scale: f64 = w.iter().map(|w| w * w).sum();
        if scale > 0.0 && excess.is_finite() {
            theta[k] = (excess / scale).max(MOMENT_FLOOR * MOMENT_FLOOR).sqrt();
        }
        k += 1;
    }
}

/// Smallest θ of [`moment_start`].
const MOMENT_FLOOR: f64 = 0.1;

/// The θ columns of the Laplace criterion's Hessian in (θ, β) estimated at the end of stage 1
/// ([`profiled_stage`], the state at its joint modes and factor) into `hs`, for Newton's stage 2
/// to start from without measuring them: with C = 2X′V⁻¹X (the β block) and S = dβ̂/dθ (the joint
/// modes' response, [`mode_response`]), the βθ block −CS and the θθ block F + S′CS, F stage 1's
/// Hessian of the profiled criterion (BFGS, in log θ for the diagonal elements: back in θ,
/// Fᵢⱼ = (F^logᵢⱼ − δᵢⱼ gᵢ^log)/(θᵢθⱼ)). False when the joint factor is not at hand.
fn seed_hessian(
    system: &mut System,
    st: &State,
    theta: &[f64],
    lower: &[f64],
    ns: &mut NewtonScratch,
    hs: &mut HessianScratch,
) -> bool {
    let (m, p, q) = (theta.len(), st.beta.len(), system.pls.q);
    let k = m + p;
    let NewtonScratch {
        gradient,
        slopes,
        information,
        profiled,
        ..
    } = ns;
    information.resize(p * p, 0.0);
    if !system.pls.beta_information(information) {
        return false;
    }
    slopes.resize(m * (q + p), 0.0);
    for (j, column) in slopes.chunks_exact_mut(q + p).enumerate() {
        let unit = |i: usize| if i == j { 1.0 } else { 0.0 };
        mode_response(system, st, m, unit, true, column);
    }
    let s = |b: usize, j: usize| slopes[j * (q + p) + q + b];
    let c = |a: usize, b: usize| 2.0 * information[b * p + a];
    hs.hessian.resize(k * k, 0.0);
    let scale = |i: usize| if lower[i] == 0.0 { theta[i] } else { 1.0 };
    for j in 0..m {
        for r in 0..p {
            hs.hessian[j * k + m + r] = -(0..p).map(|b| c(r, b) * s(b, j)).sum::<f64>();
        }
        for i in 0..m {
            let mut f = profiled[j * m + i];
            if i == j && lower[i] == 0.0 {
                f -= gradient[i];
            }
            f /= scale(i) * scale(j);
            let scs: f64 = (0..p)
                .map(|a| s(a, i) * (0..p).map(|b| c(a, b) * s(b, j)).sum::<f64>())
                .sum();
            hs.hessian[j * k + i] = f + scs;
        }
    }
    true
}

/// The BFGS update of the Hessian approximation `hessian` (k×k) for the step from `from` to `to`
/// with gradients `g_from`, `g_to`: with s = to − from, y = g_to − g_from,
/// H + yy′/(y′s) − Hs(Hs)′/(s′Hs), skipped when y′s ≤ 0 (no positive curvature to keep H positive
/// definite). `hs` is scratch of length k.
fn bfgs_update(
    hessian: &mut [f64],
    k: usize,
    from: &[f64],
    to: &[f64],
    g_from: &[f64],
    g_to: &[f64],
    hs: &mut [f64],
) {
    let s = |i: usize| to[i] - from[i];
    let y = |i: usize| g_to[i] - g_from[i];
    let ys: f64 = (0..k).map(|i| y(i) * s(i)).sum();
    for (i, v) in hs.iter_mut().enumerate().take(k) {
        *v = (0..k).map(|j| hessian[j * k + i] * s(j)).sum();
    }
    let shs: f64 = (0..k).map(|i| s(i) * hs[i]).sum();
    if !(ys > 0.0 && shs > 0.0) {
        return;
    }
    for j in 0..k {
        for i in 0..k {
            hessian[j * k + i] += y(i) * y(j) / ys - hs[i] * hs[j] / shs;
        }
    }
}

/// ∂û/∂(θ, β) at the state's modes (canonical link), into `slopes` (column j for parameter j,
/// one value per element of u); other structures than one scalar term by
/// [`general_mode_slopes`], for the first `count` parameters (one scalar term: all, cheaply).
/// For one scalar term, with aᵢ = θzᵢ, rᵢ = wtᵢ(yᵢ − μᵢ), the working weights Wᵢ and
/// Dₗ = 1 + Σ aᵢ²Wᵢ over level l, the modes solve uₗ = Σ aᵢrᵢ, whence
/// ∂uₗ/∂βⱼ = −Σ aᵢWᵢxᵢⱼ / Dₗ and ∂uₗ/∂θ = (Σ zᵢrᵢ − θuₗ Σ Wᵢzᵢ²) / Dₗ. A PIRLS started from
/// û + Δ·∂û is O(|Δ|²) from its modes.
fn mode_slopes(
    system: &mut System,
    st: &State,
    ntheta: usize,
    count: usize,
    slopes: &mut Vec<f64>,
) {
    slopes.clear();
    if system.shapes.len() != 1 || system.shapes[0].q != 1 || ntheta != 1 {
        return general_mode_slopes(system, st, ntheta, count, slopes);
    }
    let n = st.r.y.len();
    let nl = system.shapes[0].nlevels;
    let p = st.beta.len();
    slopes.resize((1 + p) * nl, 0.0);
    let (codes, a, z) = (&system.codes[0][..n], &system.a[0][..n], &system.z[0][..n]);
    let (w, y, mu, wt) = (&st.weight[..n], &st.r.y[..n], &st.mu[..n], &st.r.wt[..n]);
    let (theta_column, beta_columns) = slopes.split_at_mut(nl);
    // θ: Σ zᵢrᵢ − θuₗ Σ Wᵢzᵢ² = Σ zᵢ(rᵢ − aᵢWᵢuₗ).
    for i in 0..n {
        let l = codes[i] as usize;
        theta_column[l] += z[i] * (wt[i] * (y[i] - mu[i]) - a[i] * w[i] * st.u[l]);
    }
    for (j, column) in beta_columns.chunks_exact_mut(nl).enumerate() {
        let x = &system.x[j * n..(j + 1) * n];
        for i in 0..n {
            column[codes[i] as usize] -= a[i] * w[i] * x[i];
        }
    }
    for column in slopes.chunks_exact_mut(nl) {
        for (l, s) in column.iter_mut().enumerate() {
            let diagonal = system.pls.first_diagonal(l);
            *s /= diagonal * diagonal;
        }
    }
}

/// [`mode_slopes`] for any other structure, by solves with the factor at the modes
/// ([`mode_response`] per parameter), for the first `count` parameters only.
fn general_mode_slopes(
    system: &mut System,
    st: &State,
    ntheta: usize,
    count: usize,
    slopes: &mut Vec<f64>,
) {
    if system.pls.is_scalar() {
        return scalar_terms_mode_slopes(system, st, count, slopes);
    }
    let (q, k) = (system.pls.q, ntheta + st.beta.len());
    slopes.resize(count.min(k) * q, 0.0);
    for (j, column) in slopes.chunks_exact_mut(q).enumerate() {
        let unit = |i: usize| if i == j { 1.0 } else { 0.0 };
        mode_response(system, st, ntheta, unit, false, column);
    }
}

/// The response of the modes to a move of (θ, β) along `direction` (its value per parameter),
/// Σⱼ directionⱼ ∂û/∂(θ, β)ⱼ, into `out` (q values), by one solve with the factor at the modes:
/// they solve U′d/2 + u = 0, so with W the working weights ∂û/∂βⱼ = −H⁻¹U′WXⱼ and, for θₖ (Λ's
/// element (r, c) of its term, ∂Uᵢ/∂θₖ = z_{i,r}e_c), ∂û/∂θₖ = −H⁻¹((∂U/∂θₖ)′d/2 + U′W(∂U/∂θₖ)û).
/// After a joint factorization (β profiled, `direction` in θ alone) the joint modes' response
/// (û, β̂), q + p values, with X′W(∂U/∂θₖ)û in β's rows.
fn mode_response(
    system: &mut System,
    st: &State,
    ntheta: usize,
    direction: impl Fn(usize) -> f64,
    joint: bool,
    out: &mut [f64],
) {
    let n = st.r.y.len();
    let (q, p) = (system.pls.q, st.beta.len());
    let nterms = system.shapes.len();
    // θ's elements as (term, row, column), and the direction's nonzero values.
    let mut elements = [(0, 0, 0, 0.0); MAX_TERMS * MAX_EFFECTS * (MAX_EFFECTS + 1) / 2];
    let mut element = (0, 0, 0);
    let mut count = 0;
    for j in 0..ntheta {
        let d = direction(j);
        if d != 0.0 && count < elements.len() {
            elements[count] = (element.0, element.1, element.2, d);
            count += 1;
        }
        element = next_theta_element(&system.shapes, element);
    }
    let elements = &elements[..count];
    let pls = &mut system.pls;
    pls.x.fill(0.0);
    for i in 0..n {
        // The change of ηᵢ at fixed u, and (∂U/∂θₖ)′d/2's entries.
        let mut change = 0.0;
        for &(t, r, c, d) in elements {
            let shape = system.shapes[t];
            let at = shape.offset + system.codes[t][i] as usize * shape.q + c;
            let z = d * system.z[t][i * shape.q + r];
            pls.x[at] -= z * st.r.wt[i] * (st.r.y[i] - st.mu[i]);
            change += z * st.u[at];
        }
        for j in 0..p {
            let d = direction(ntheta + j);
            if d != 0.0 {
                change += d * system.x[j * n + i];
            }
        }
        let wc = st.weight[i] * change;
        for t in 0..nterms {
            let shape = system.shapes[t];
            let at = shape.offset + system.codes[t][i] as usize * shape.q;
            let a = &system.a[t][i * shape.q..(i + 1) * shape.q];
            for (x, a) in pls.x[at..at + shape.q].iter_mut().zip(a) {
                *x += a * wc;
            }
        }
        if joint {
            for j in 0..p {
                pls.x[q + j] += system.x[j * n + i] * wc;
            }
        }
    }
    pls.solve();
    let rows = if joint { q + p } else { q };
    for (s, x) in out.iter_mut().zip(&pls.x[..rows]) {
        *s = -x;
    }
}

/// [`general_mode_slopes`] when every term is scalar (θₜ the one element of term t): each
/// right-hand side term by term over U's columns, the sums of a level in a register
/// ([`scatter_add`]), instead of observation by observation through every term's shape.
fn scalar_terms_mode_slopes(system: &mut System, st: &State, count: usize, slopes: &mut Vec<f64>) {
    let n = st.r.y.len();
    let (q, p, nterms) = (system.pls.q, st.beta.len(), system.shapes.len());
    slopes.resize(count.min(nterms + p) * q, 0.0);
    let (shapes, codes, a, z, x) = (
        &system.shapes,
        &system.codes,
        &system.a,
        &system.z,
        &system.x,
    );
    let (w, y, mu, wt, u) = (
        &st.weight[..n],
        &st.r.y[..n],
        &st.mu[..n],
        &st.r.wt[..n],
        &st.u[..],
    );
    let pls = &mut system.pls;
    for (j, column) in slopes.chunks_exact_mut(q).enumerate() {
        pls.x.fill(0.0);
        // U′W times the change of η at fixed u: Zₜû for θₜ (less (∂U/∂θₜ)′d/2), Xⱼ for βⱼ.
        let theta = (j < nterms).then(|| (&codes[j][..n], &z[j][..n], shapes[j].offset));
        let change = |i: usize| match theta {
            Some((codes, z, offset)) => z[i] * u[offset + codes[i] as usize],
            None => x[(j - nterms) * n + i],
        };
        if let Some((codes, z, offset)) = theta {
            scatter_add(
                &mut pls.x,
                n,
                |i| offset + codes[i] as usize,
                |i| -z[i] * wt[i] * (y[i] - mu[i]),
            );
        }
        for (t, shape) in shapes.iter().enumerate() {
            let (codes, a) = (&codes[t][..n], &a[t][..n]);
            scatter_add(
                &mut pls.x,
                n,
                |i| shape.offset + codes[i] as usize,
                |i| a[i] * (w[i] * change(i)),
            );
        }
        pls.solve();
        for (s, x) in column.iter_mut().zip(&pls.x[..q]) {
            *s = -x;
        }
    }
}

/// The θ element after (term, row, column) of Λ's templates, in θ's order (each term's lower
/// triangle column by column).
fn next_theta_element(
    shapes: &[TermShape],
    (t, r, c): (usize, usize, usize),
) -> (usize, usize, usize) {
    let q = shapes.get(t).map_or(0, |s| s.q);
    if r + 1 < q {
        (t, r + 1, c)
    } else if c + 1 < q {
        (t, c + 1, c + 1)
    } else {
        (t + 1, 0, 0)
    }
}

/// u = the centre's modes moved by the slopes along `to − from` (just the modes without slopes).
fn predict_modes(u: &mut [f64], centre: &[f64], slopes: &[f64], from: &[f64], to: &[f64]) {
    u.copy_from_slice(centre);
    if slopes.is_empty() {
        return;
    }
    let nl = centre.len();
    for (column, (t, f)) in slopes.chunks_exact(nl).zip(to.iter().zip(from)) {
        let delta = t - f;
        for (u, s) in u.iter_mut().zip(column) {
            *u += delta * s;
        }
    }
}

/// u = the centre's modes moved by `response` (theirs to `step`, [`mode_response`]) scaled as
/// `trial` is along `step` from `from`.
fn predict_step(
    u: &mut [f64],
    centre: &[f64],
    response: &[f64],
    from: &[f64],
    step: &[f64],
    trial: &[f64],
) {
    let Some(j) = (0..step.len()).max_by(|&a, &b| step[a].abs().total_cmp(&step[b].abs())) else {
        return u.copy_from_slice(centre);
    };
    let scale = if step[j] == 0.0 {
        0.0
    } else {
        (trial[j] - from[j]) / step[j]
    };
    for ((u, c), r) in u.iter_mut().zip(centre).zip(response) {
        *u = c + scale * r;
    }
}

/// u = the centre's modes moved by `delta` in parameter j ([`predict_modes`]).
fn predict_along(u: &mut [f64], centre: &[f64], slopes: &[f64], j: usize, delta: f64) {
    u.copy_from_slice(centre);
    let nl = centre.len();
    if let Some(column) = slopes.get(j * nl..(j + 1) * nl) {
        for (u, s) in u.iter_mut().zip(column) {
            *u += delta * s;
        }
    }
}

/// The gradient of the Laplace criterion (canonical link) in (θ, β) at the state's modes and
/// `theta` into `grad` (θ's values, then β's), after [`criterion`] with β fixed has left the factor L
/// of H = U′WU + I at û. Returns whether θ's part was computed: it needs the selected inverse of
/// H ([`Pls::prepare_leverage`]) and is left to finite differences for one scalar term (a branch
/// of its own, [`scalar_beta_gradient`]) and when that inverse is too large to keep.
///
/// With d the deviance's derivative in η (−2·wt(y − μ)), W the working weights, w′ their
/// derivative in η, hᵢ = UᵢH⁻¹Uᵢ′, v = w′∘h, r = H⁻¹U′v and c = d + v − W(Ur):
/// - β: the penalised deviance contributes X′d (û minimises it: the envelope theorem), and
///   log|H| contributes Σᵢ vᵢ ∂η̂ᵢ/∂β with ∂η̂/∂β = X − UH⁻¹U′WX, in all X′c.
/// - θₖ (Λ's element (r, c) in its term's template, so ∂Uᵢ/∂θₖ = z_{i,r}e_c on observation i's
///   level, and gₖ = (∂U/∂θₖ)û): the deviance gives d′gₖ; log|H| gives its explicit change
///   2 tr(H⁻¹U′W ∂U/∂θₖ) = 2 Σᵢ Wᵢ z_{i,r}(H⁻¹Uᵢ′)_c, and through W, with
///   ∂û/∂θₖ = −H⁻¹((∂U/∂θₖ)′d/2 + U′Wgₖ), Σᵢ vᵢ ∂η̂ᵢ/∂θₖ = v′gₖ − (Ur)′Wgₖ − ((∂U/∂θₖ)r)′d/2.
///   In all c′gₖ − ((∂U/∂θₖ)r)′d/2 + 2 Σᵢ Wᵢ z_{i,r}(H⁻¹Uᵢ′)_c.
fn laplace_gradient(
    system: &mut System,
    st: &mut State,
    family: Family,
    grad: &mut [f64],
    theta: &[f64],
) {
    if system.shapes.len() == 1 && system.shapes[0].q == 1 {
        scalar_beta_gradient(system, st, family, &mut grad[theta.len()..]);
        return;
    }
    terms_gradient(system, st, family, theta, grad, false);
}

/// The gradient in θ of the nAGQ = 0 criterion (β profiled: (û, β̂) the joint modes) into `grad`
/// (θ's values) after [`criterion`] with `joint` has left the joint factor at the modes, where
/// [`theta_gradient_is_analytic`]. As [`laplace_gradient`]'s θ part with β following θ: the
/// modes' joint response d(û, β̂)/dθₖ = −J⁻¹((∂U/∂θₖ)′d/2 + U′Wgₖ, X′Wgₖ), J the joint system,
/// so r = J⁻¹(U′v, X′v) from the joint factor and cᵢ = dᵢ + vᵢ − Wᵢ(Uᵢr_u + Xᵢr_β) (the
/// deviance's share is the envelope theorem's again; log|H| is H_uu's alone, as the criterion's).
fn profiled_gradient(
    system: &mut System,
    st: &mut State,
    family: Family,
    theta: &[f64],
    grad: &mut [f64],
) {
    terms_gradient(system, st, family, theta, grad, true);
}

/// [`laplace_gradient`] and [`profiled_gradient`] beyond one scalar term: `grad` holds θ's values
/// then (unless `profiled`) β's.
fn terms_gradient(
    system: &mut System,
    st: &mut State,
    family: Family,
    theta: &[f64],
    grad: &mut [f64],
    profiled: bool,
) {
    let n = st.r.y.len();
    let nterms = system.shapes.len();
    let (q, p) = (system.pls.q, st.beta.len());
    let (theta_grad, beta_grad) = grad.split_at_mut(theta.len());
    let d = family.distribution;
    let pls = &mut system.pls;
    let mut levels = [0u32; MAX_TERMS];
    // v, U′v into the solver's right-hand side, and θ's explicit term.
    pls.prepare_leverage();
    let analytic = pls.is_prepared();
    if analytic && pls.is_scalar() {
        scalar_terms_gradient(system, st, family, theta, grad, profiled);
        return;
    }
    pls.x.fill(0.0);
    theta_grad.fill(0.0);
    st.own.resize(system.shapes.iter().map(|t| t.q).sum(), 0.0);
    for i in 0..n {
        let mut a: [&[f64]; MAX_TERMS] = [&[]; MAX_TERMS];
        for t in 0..nterms {
            let q = system.shapes[t].q;
            levels[t] = system.codes[t][i];
            a[t] = &system.a[t][i * q..(i + 1) * q];
        }
        let (levels, a) = (&levels[..nterms], &a[..nterms]);
        let h = if analytic {
            pls.selected(i, levels, a, &mut st.own)
        } else {
            pls.leverage(i, levels, a)
        };
        let mu = st.mu[i];
        // Canonical link: dμ/dη = V(μ), so W = wt·V and w′ = wt·V′·V.
        let w = st.r.wt[i] * d.variance(mu);
        let v = w * d.variance_derivative(mu) * h;
        st.lev[i] = v;
        for t in 0..nterms {
            let shape = system.shapes[t];
            let at = shape.offset + levels[t] as usize * shape.q;
            for (x, av) in pls.x[at..at + shape.q].iter_mut().zip(a[t]) {
                *x += av * v;
            }
        }
        if analytic {
            let mut k = 0;
            let mut own = &st.own[..];
            for (t, shape) in system.shapes.iter().enumerate() {
                let q = shape.q;
                let z = &system.z[t][i * q..(i + 1) * q];
                for c in 0..q {
                    for zr in &z[c..] {
                        theta_grad[k] += 2.0 * w * zr * own[c];
                        k += 1;
                    }
                }
                own = &own[q..];
            }
        }
    }
    if profiled {
        add_beta_rows(&system.x, &st.lev[..n], &mut pls.x[q..q + p]);
    }
    // r = H⁻¹U′v (J⁻¹(U′v, X′v) when profiled), then per observation (Ur)ᵢ and cᵢ.
    pls.solve();
    beta_grad.fill(0.0);
    let r = &pls.x;
    for i in 0..n {
        let mut ur = 0.0;
        if profiled {
            ur = (0..p).map(|j| system.x[j * n + i] * r[q + j]).sum();
        }
        for t in 0..nterms {
            let shape = system.shapes[t];
            let at = shape.offset + system.codes[t][i] as usize * shape.q;
            let a = &system.a[t][i * shape.q..(i + 1) * shape.q];
            ur += a
                .iter()
                .zip(&r[at..at + shape.q])
                .map(|(a, r)| a * r)
                .sum::<f64>();
        }
        let (y, mu, wt) = (st.r.y[i], st.mu[i], st.r.wt[i]);
        let half_d = -wt * (y - mu);
        let coefficient = 2.0 * half_d + st.lev[i] - wt * d.variance(mu) * ur;
        for (j, g) in beta_grad.iter_mut().enumerate() {
            *g += system.x[j * n + i] * coefficient;
        }
        if analytic {
            let mut k = 0;
            for (t, shape) in system.shapes.iter().enumerate() {
                let q = shape.q;
                let at = shape.offset + system.codes[t][i] as usize * q;
                let z = &system.z[t][i * q..(i + 1) * q];
                for c in 0..q {
                    let change = coefficient * st.u[at + c] - half_d * r[at + c];
                    for zr in &z[c..] {
                        theta_grad[k] += zr * change;
                        k += 1;
                    }
                }
            }
        }
    }
}

/// Whether [`laplace_gradient`] computes θ's part: not for one scalar term (its own branch), and
/// only where the selected inverse of H is small enough to keep ([`Pls::can_prepare`]).
fn theta_gradient_is_analytic(system: &System) -> bool {
    !(system.shapes.len() == 1 && system.shapes[0].q == 1) && system.pls.can_prepare()
}

/// [`laplace_gradient`] when every term is scalar (crossed or nested intercepts, the selected
/// inverse prepared), term by term over U's columns (each sum in a register: data sorted by a
/// factor would chain the additions of one level on its stores). With θₜ > 0, ∂U/∂θₜ = Uₜ/θₜ
/// turns the explicit term into a trace: 2 tr(H⁻¹U′WUₜ)/θₜ = 2(mₜ − Σ_{l in t} (H⁻¹)ₗₗ)/θₜ
/// (U′WU = H − I; mₜ levels), no pass over the observations.
fn scalar_terms_gradient(
    system: &mut System,
    st: &mut State,
    family: Family,
    theta: &[f64],
    grad: &mut [f64],
    profiled: bool,
) {
    let n = st.r.y.len();
    let (q, p) = (system.pls.q, st.beta.len());
    let nterms = system.shapes.len();
    let d = family.distribution;
    let (shapes, codes, a, z) = (&system.shapes, &system.codes, &system.a, &system.z);
    let (theta_grad, beta_grad) = grad.split_at_mut(theta.len());
    let pls = &mut system.pls;
    let (mut levels, mut values) = ([0u32; MAX_TERMS], [0.0; MAX_TERMS]);
    st.own.resize(nterms, 0.0);
    theta_grad.fill(0.0);
    let small_theta = theta.iter().any(|&t| t <= TRACE_THETA);
    // v = w′∘h (the leverages h all at once unless a θ is too small for the trace below; then
    // observation by observation with H⁻¹Uᵢ′), and U′v into the solver's right-hand side.
    if !small_theta {
        st.lev.resize(n, 0.0);
        pls.leverages_scalar(codes, a, &mut st.lev[..n]);
        let (mu, wt) = (&st.mu[..n], &st.r.wt[..n]);
        for ((lev, &mu), &wt) in st.lev[..n].iter_mut().zip(mu).zip(wt) {
            *lev *= wt * d.variance(mu) * d.variance_derivative(mu);
        }
    }
    let observations = if small_theta { 0..n } else { 0..0 };
    for i in observations {
        for t in 0..nterms {
            levels[t] = codes[t][i];
            values[t] = a[t][i];
        }
        let h = pls.selected_scalar(i, &levels[..nterms], &values[..nterms], &mut st.own);
        let mu = st.mu[i];
        st.lev[i] = st.r.wt[i] * d.variance(mu) * d.variance_derivative(mu) * h;
        // θₜ too small to divide by: the explicit term observation by observation,
        // 2 Σᵢ Wᵢ zᵢₜ (H⁻¹Uᵢ′)ₜ.
        let w = st.r.wt[i] * d.variance(mu);
        for (t, g) in theta_grad.iter_mut().enumerate() {
            if theta[t] <= TRACE_THETA {
                *g += 2.0 * w * z[t][i] * st.own[t];
            }
        }
    }
    pls.x.fill(0.0);
    for (t, shape) in shapes.iter().enumerate() {
        let (codes, a, lev) = (&codes[t][..n], &a[t][..n], &st.lev[..n]);
        scatter_add(
            &mut pls.x,
            n,
            |i| shape.offset + codes[i] as usize,
            |i| a[i] * lev[i],
        );
        if theta[t] > TRACE_THETA {
            theta_grad[t] = 2.0 * (shape.nlevels as f64 - pls.inverse_trace(t)) / theta[t];
        }
    }
    if profiled {
        add_beta_rows(&system.x, &st.lev[..n], &mut pls.x[q..q + p]);
    }
    // r = H⁻¹U′v (J⁻¹(U′v, X′v) when profiled), then cᵢ = dᵢ + vᵢ − Wᵢ(Ur)ᵢ (+ Wᵢ(Xr_β)ᵢ).
    pls.solve();
    let r = &pls.x;
    let coefficient = &mut st.scratch;
    coefficient.resize(n, 0.0);
    // (Ur)ᵢ term by term over U's columns (with X's part when β is profiled), then cᵢ.
    coefficient.fill(0.0);
    if profiled {
        for j in 0..p {
            let column = &system.x[j * n..(j + 1) * n];
            for (c, x) in coefficient.iter_mut().zip(column) {
                *c += x * r[q + j];
            }
        }
    }
    for (t, shape) in shapes.iter().enumerate() {
        let (a, codes, r) = (&a[t][..n], &codes[t][..n], &r[shape.offset..]);
        for ((c, &a), &code) in coefficient.iter_mut().zip(a).zip(codes) {
            *c += a * r[code as usize];
        }
    }
    let (y, mu, wt, lev) = (&st.r.y[..n], &st.mu[..n], &st.r.wt[..n], &st.lev[..n]);
    for (i, c) in coefficient.iter_mut().enumerate() {
        let ur = *c;
        *c = -2.0 * wt[i] * (y[i] - mu[i]) + lev[i] - wt[i] * d.variance(mu[i]) * ur;
    }
    // θₜ: c′(Zₜû) − (Zₜr)′d/2; β: X′c.
    let (y, mu, wt) = (&st.r.y[..n], &st.mu[..n], &st.r.wt[..n]);
    for (t, g) in theta_grad.iter_mut().enumerate() {
        let (codes, z) = (&codes[t][..n], &z[t][..n]);
        let offset = shapes[t].offset;
        let mut sum = 0.0;
        for i in 0..n {
            let at = offset + codes[i] as usize;
            sum += z[i] * (coefficient[i] * st.u[at] + wt[i] * (y[i] - mu[i]) * r[at]);
        }
        *g += sum;
    }
    for (j, g) in beta_grad.iter_mut().enumerate() {
        *g = system.x[j * n..(j + 1) * n]
            .iter()
            .zip(coefficient.iter())
            .map(|(x, c)| x * c)
            .sum();
    }
}

/// X′v into `out` (p values): β's rows of the right-hand side of [`profiled_gradient`]'s joint solve.
fn add_beta_rows(x: &[f64], v: &[f64], out: &mut [f64]) {
    let n = v.len();
    for (j, o) in out.iter_mut().enumerate() {
        *o = x[j * n..(j + 1) * n]
            .iter()
            .zip(v)
            .map(|(x, v)| x * v)
            .sum();
    }
}

/// θ elements at or below this take [`scalar_terms_gradient`]'s explicit term observation by
/// observation rather than as a trace divided by θ (whose cancellation error grows as 1/θ).
const TRACE_THETA: f64 = 1e-3;

/// β's part of [`laplace_gradient`] for one scalar term, where H_uu is diagonal (Lₗ² per level
/// l): hᵢ = (aᵢ/Lₗ)², (H⁻¹U′v)ₗ = Σ_{i in l} aᵢvᵢ / Lₗ².
fn scalar_beta_gradient(system: &mut System, st: &mut State, family: Family, grad: &mut [f64]) {
    let n = st.r.y.len();
    let d = family.distribution;
    let (codes, a) = (&system.codes[0][..n], &system.a[0][..n]);
    let (mu, wt, y) = (&st.mu[..n], &st.r.wt[..n], &st.r.y[..n]);
    let pls = &mut system.pls;
    let nl = system.shapes[0].nlevels;
    let r = &mut st.dev0;
    r.clear();
    r.resize(nl, 0.0);
    let lev = &mut st.lev[..n];
    for i in 0..n {
        let l = codes[i] as usize;
        let xi = a[i] / pls.first_diagonal(l);
        let v = wt[i] * d.variance_derivative(mu[i]) * d.variance(mu[i]) * xi * xi;
        lev[i] = v;
        r[l] += a[i] * v;
    }
    for (l, r) in r.iter_mut().enumerate() {
        let diagonal = pls.first_diagonal(l);
        *r /= diagonal * diagonal;
    }
    // The per-observation coefficient of X′, in `scratch`.
    let coefficient = &mut st.scratch;
    coefficient.resize(n, 0.0);
    for i in 0..n {
        coefficient[i] = -2.0 * wt[i] * (y[i] - mu[i]) + lev[i]
            - wt[i] * d.variance(mu[i]) * a[i] * r[codes[i] as usize];
    }
    for (j, g) in grad.iter_mut().enumerate() {
        *g = system.x[j * n..(j + 1) * n]
            .iter()
            .zip(coefficient.iter())
            .map(|(x, c)| x * c)
            .sum();
    }
}

/// Gauss-Hermite rule for the standard normal with `k` points (Golub-Welsch: the eigenvalues of
/// the Jacobi matrix of the probabilists' Hermite polynomials, weights the squared first
/// components of the eigenvectors): (node, weight), weights summing to 1.
fn gauss_hermite(k: usize) -> Vec<(f64, f64)> {
    if k == 1 {
        return vec![(0.0, 1.0)];
    }
    let mut j = vec![0.0; k * k];
    for i in 1..k {
        let b = (i as f64).sqrt();
        j[(i - 1) * k + i] = b;
        j[i * k + i - 1] = b;
    }
    let mut values = vec![0.0; k];
    let mut vectors = vec![0.0; k * k];
    symmetric_eigen(&mut j, k, &mut values, &mut vectors);
    let mut rule: Vec<(f64, f64)> = (0..k)
        .map(|c| (values[c], vectors[c * k] * vectors[c * k]))
        .collect();
    rule.sort_by(|a, b| a.0.total_cmp(&b.0));
    rule
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DataFrame;
    use std::path::Path;

    /// [`profiled_gradient`] against central differences of the nAGQ = 0 criterion (tight PIRLS,
    /// step 1e-5; they agree to 3e-6, within 1e-5 relative to 1 + |g|, where leaving out β's
    /// response to θ errs by 2 to 5 times g) on the crossed scalar terms' branch (VerbAgg) and the
    /// general one (a correlated slope beside a crossed term), away from the optimum so that the
    /// gradient is far from 0.
    #[test]
    fn profiled_gradient_matches_finite_differences() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let cases = [
            (
                "glmm/data/verbagg_crossed.csv",
                "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)",
                vec![1.1, 0.7],
            ),
            (
                "glmm_boundary/data/slope_crossed_logit.csv",
                "y ~ x + (1 + x | subject) + (1 | item)",
                vec![0.8, -0.3, 0.5, 0.6],
            ),
        ];
        for (file, formula, theta) in cases {
            let factors: Vec<String> = vec!["subject".into(), "item".into()];
            let data = DataFrame::read_csv_with_factors(&root.join(file), &factors).unwrap();
            let mut fitter =
                GlmmFitter::new(&Formula::parse(formula).unwrap(), GlmmOptions::default()).unwrap();
            fitter.fit(&data).unwrap();
            let shape = fitter.shape.as_mut().unwrap();
            let (system, st) = (&mut shape.system, &mut fitter.state);
            let family = fitter.options.family;
            assert!(theta_gradient_is_analytic(system));
            st.pirls_step = PIRLS_STEP;
            let mut f =
                |th: &[f64], st: &mut State| criterion(system, st, family, th, true, &[]).unwrap();
            let h = 1e-5;
            let mut numeric = vec![0.0; theta.len()];
            let mut x = theta.clone();
            for j in 0..theta.len() {
                x[j] = theta[j] + h;
                let plus = f(&x, st);
                x[j] = theta[j] - h;
                let minus = f(&x, st);
                x[j] = theta[j];
                numeric[j] = (plus - minus) / (2.0 * h);
            }
            criterion(system, st, family, &theta, true, &[]).unwrap();
            let mut analytic = vec![0.0; theta.len()];
            profiled_gradient(system, st, family, &theta, &mut analytic);
            for (a, n) in analytic.iter().zip(&numeric) {
                assert!(
                    (a - n).abs() < 1e-5 * (1.0 + n.abs()),
                    "{file}: {analytic:?} {numeric:?}"
                );
            }
            assert!(numeric.iter().any(|g| g.abs() > 1.0), "{file}: {numeric:?}");
        }
    }

    #[test]
    fn gauss_hermite_integrates_normal_moments() {
        for k in [2, 5, 25] {
            let rule = gauss_hermite(k);
            let moment = |m: i32| rule.iter().map(|(x, w)| w * x.powi(m)).sum::<f64>();
            assert!((moment(0) - 1.0).abs() < 1e-12, "{k}");
            assert!((moment(2) - 1.0).abs() < 1e-12, "{k}");
            if k >= 3 {
                assert!((moment(4) - 3.0).abs() < 1e-10, "{k}");
            }
        }
    }
}
