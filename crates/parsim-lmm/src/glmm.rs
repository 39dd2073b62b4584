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
//! two stages: θ with β profiled by a joint PIRLS (nAGQ = 0, which stops there), then (θ, β) with
//! PIRLS over u. Standard errors come from the finite-difference Hessian of the criterion in
//! (θ, β), as lme4's `vcov` takes them.

use crate::data::Columns;
use crate::dense::{cholesky_small, inverse_from_cholesky, symmetric_eigen};
use crate::design::{self, Contrast};
use crate::error::{FitError, ModelError};
use crate::family::{Distribution, Family};
use crate::formula::{Arith, Formula};
use crate::frame::ModelFrame;
use crate::glm::{read_response, wald_quantile, GlmCoefficient, Irls, Problem, Response};
use crate::lmm::{aliased_columns, fill_varcorr, VarComp};
use crate::model::Structure;
use crate::ols::fill_design;
use crate::optimize::Optimizer;
use crate::pls::{Pls, TermShape};
use bobyqa::{Bobyqa, Config};
use std::collections::BTreeMap;

/// Largest number of quadrature points (glmer's limit).
pub const MAX_NAGQ: usize = 25;
/// θ diagonal elements below this make the fit singular (lme4's `isSingular` tolerance).
const SINGULAR_BELOW: f64 = 1e-4;
/// PIRLS stops when no element of its last step exceeds this (relative to 1 + |value|): Newton's
/// quadratic convergence puts the modes at rounding level one step later (lme4's `tolPwrss`
/// test on the deviance's change, even at the fixtures' 1e-12, stops earlier).
const PIRLS_STEP: f64 = 1e-11;
const PIRLS_ITERATIONS: usize = 60;
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
    x: Vec<f64>,
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
    /// Quadrature: per level, deviance sums and the accumulated integrand.
    dev0: Vec<f64>,
    devk: Vec<f64>,
    acc: Vec<f64>,
    /// One row of X.
    xrow: Vec<f64>,
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
    varcorr: Vec<VarComp>,
    fit: GlmmFit,
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
            varcorr: Vec::new(),
            fit: GlmmFit::default(),
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
        st.u.clear();
        st.u.resize(shape.system.pls.q, 0.0);
        let ntheta = shape.diagonal.len();
        // Stage 1: θ with β profiled (nAGQ = 0).
        let theta = &mut self.theta;
        theta.resize(ntheta, 0.0);
        let mut failed = false;
        let stage1 = shape.optimizers.theta.minimize(
            |th| match criterion(&mut shape.system, st, family, th, true, &[]) {
                Some(v) => v,
                None => {
                    failed = true;
                    f64::MAX
                }
            },
            theta,
        );
        let mut evaluations = stage1.evaluations;
        let mut value = criterion(&mut shape.system, st, family, theta, true, &[]);
        let mut budget_exhausted = stage1.budget_exhausted;
        let nagq = self.options.nagq;
        self.params.clear();
        self.params.extend_from_slice(theta);
        self.params.extend_from_slice(&st.beta);
        if nagq >= 1 {
            // Stage 2: (θ, β), PIRLS over u (θ alone without fixed effects).
            let nodes = &self.nodes;
            let Optimizers {
                theta: theta_only,
                joint,
                lower,
                upper,
            } = &mut shape.optimizers;
            let mut f = |x: &[f64]| {
                st.beta.copy_from_slice(&x[ntheta..]);
                criterion(&mut shape.system, st, family, &x[..ntheta], false, nodes)
                    .unwrap_or(f64::MAX)
            };
            match joint {
                Some(solver) => {
                    let outcome = solver.minimize(&mut f, &mut self.params, lower, upper);
                    evaluations += outcome.n_eval;
                    budget_exhausted = !matches!(
                        outcome.status,
                        bobyqa::Status::Converged | bobyqa::Status::FtolReached
                    );
                }
                None => {
                    let minimum = theta_only.minimize(&mut f, &mut self.params);
                    evaluations += minimum.evaluations;
                    budget_exhausted = minimum.budget_exhausted;
                }
            }
            st.beta.copy_from_slice(&self.params[ntheta..]);
            theta.copy_from_slice(&self.params[..ntheta]);
            value = criterion(&mut shape.system, st, family, theta, false, nodes);
        }
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
        let hessian_ok = if nagq >= 1 {
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
        // Leave the state at the optimum (the Hessian moved it).
        st.beta.copy_from_slice(&self.params[ntheta..]);
        let nodes: &[(f64, f64)] = if nagq >= 1 { &self.nodes } else { &[] };
        let _ = criterion(&mut shape.system, st, family, theta, false, nodes);
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
    for (t, term) in structure.terms.iter().enumerate() {
        fill_rows(
            &term.design,
            structure,
            view,
            n,
            &mut shape.system.z[t],
            &mut state.scratch,
        );
        shape.system.codes[t].clone_from(&structure.factors[term.factor].codes);
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
    for v in [&mut state.eta, &mut state.mu] {
        v.resize(n, 0.0);
    }
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
        for (zr, ar) in z.chunks_exact(q).zip(a.chunks_exact_mut(q)) {
            for j in 0..q {
                ar[j] = (j..q).map(|i| lam[j * q + i] * zr[i]).sum();
            }
        }
    }
}

/// η = offset + Xβ + Σ_t Λ′-scaled Z u, and μ.
fn update_eta(shape: &System, st: &mut State, family: Family) {
    let n = st.r.y.len();
    let p = st.beta.len();
    st.eta.copy_from_slice(&st.r.offset);
    for j in 0..p {
        let b = st.beta[j];
        for (e, x) in st.eta.iter_mut().zip(&shape.x[j * n..(j + 1) * n]) {
            *e += b * x;
        }
    }
    for (t, term) in shape.shapes.iter().enumerate() {
        let q = term.q;
        let (a, codes) = (&shape.a[t], &shape.codes[t]);
        for i in 0..n {
            let u = &st.u[term.offset + codes[i] as usize * q..][..q];
            let ar = &a[i * q..(i + 1) * q];
            st.eta[i] += ar.iter().zip(u).map(|(x, y)| x * y).sum::<f64>();
        }
    }
    for (m, &e) in st.mu.iter_mut().zip(&st.eta) {
        *m = family.link.inverse(e);
    }
}

/// Σ deviance residuals + |u|² at the current μ and u.
fn penalised_deviance(st: &State, family: Family) -> f64 {
    deviance(st, family) + st.u.iter().map(|v| v * v).sum::<f64>()
}

fn deviance(st: &State, family: Family) -> f64 {
    let d = family.distribution;
    (0..st.r.y.len())
        .map(|i| d.deviance_residual(st.r.y[i], st.mu[i], st.r.wt[i]))
        .sum()
}

/// Accumulates and factors the PLS system at the current η and μ (working weights and
/// response); returns log|L_u|².
fn assemble(shape: &mut System, st: &mut State, family: Family, joint: bool) -> Option<f64> {
    let n = st.r.y.len();
    let p = st.beta.len();
    let nterms = shape.shapes.len();
    let pls = &mut shape.pls;
    pls.clear();
    let mut levels = [0u32; MAX_TERMS];
    let xrow = &mut st.xrow;
    xrow.resize(p, 0.0);
    for i in 0..n {
        let me = family.link.mu_eta(st.eta[i]);
        let var = family.distribution.variance(st.mu[i]);
        let w = st.r.wt[i] * me * me / var;
        // Working response without the offset; with β fixed, less Xβ as well.
        let mut target = st.eta[i] - st.r.offset[i] + (st.r.y[i] - st.mu[i]) / me;
        for j in 0..p {
            xrow[j] = shape.x[j * n + i];
            if !joint {
                target -= st.beta[j] * xrow[j];
            }
        }
        let mut a: [&[f64]; MAX_TERMS] = [&[]; MAX_TERMS];
        for t in 0..nterms {
            let q = shape.shapes[t].q;
            levels[t] = shape.codes[t][i];
            a[t] = &shape.a[t][i * q..(i + 1) * q];
        }
        pls.add(i, &levels[..nterms], &a[..nterms], &xrow[..p], w, target);
    }
    pls.factor(joint)
}

/// PIRLS at θ (Λ′Z already updated): over (u, β) when `joint`, else over u with β fixed.
/// Returns log|L_u|² at the converged modes, the factor left at them.
fn pirls(shape: &mut System, st: &mut State, family: Family, joint: bool) -> Option<f64> {
    update_eta(shape, st, family);
    let mut pdev = penalised_deviance(st, family);
    if !pdev.is_finite() {
        st.u.fill(0.0);
        update_eta(shape, st, family);
        pdev = penalised_deviance(st, family);
    }
    let q = shape.pls.q;
    let p = st.beta.len();
    for _ in 0..PIRLS_ITERATIONS {
        assemble(shape, st, family, joint)?;
        shape.pls.solve();
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
            if new.is_finite() && new <= pdev + 1e-10 * pdev.abs() {
                accepted = Some(new);
                break;
            }
            step *= 0.5;
        }
        let Some(new) = accepted else {
            // No decrease: at the minimum to rounding.
            st.u.clone_from(&st.u_old);
            st.beta.clone_from(&st.beta_old);
            update_eta(shape, st, family);
            break;
        };
        pdev = new;
        // Converged when the Newton step is at rounding level: the Laplace criterion's
        // log-determinant moves to first order with u, so a deviance-change test (quadratic in
        // the step) would leave ~1e-5 noise in it, and in the finite-difference Hessian.
        let moved = (0..q)
            .map(|j| (st.u[j] - st.u_old[j]).abs() / (1.0 + st.u[j].abs()))
            .chain((0..p).map(|j| (st.beta[j] - st.beta_old[j]).abs() / (1.0 + st.beta[j].abs())))
            .fold(0.0, f64::max);
        if moved < PIRLS_STEP {
            break;
        }
    }
    // The factor at the converged modes (lme4's L there).
    assemble(shape, st, family, joint)
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
    let logdet = pirls(shape, st, family, joint)?;
    if nodes.len() > 1 {
        return Some(quadrature(shape, st, family, nodes));
    }
    let d = family.distribution;
    let conditional: f64 = (0..st.r.y.len())
        .map(|i| d.minus_two_log_density(st.r.y[i], st.mu[i], st.r.wt[i], st.r.trials[i]))
        .sum();
    let u2: f64 = st.u.iter().map(|v| v * v).sum();
    Some(conditional + u2 + logdet)
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
    let p = k - ntheta;
    let HessianScratch {
        hessian,
        x,
        factor,
        inverse,
        column,
    } = scratch;
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
    // (H/2)⁻¹ = 2H⁻¹.
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
    use super::gauss_hermite;

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
