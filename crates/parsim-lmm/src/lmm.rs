//! The mixed-model fitter: profiled REML/ML criterion, optimisation, post-fit checks, results.

use crate::blocked::Blocked;
use crate::data::Columns;
use crate::design::Contrast;
use crate::error::{FitError, ModelError};
use crate::formula::Formula;
use crate::frame::ModelFrame;
use crate::inference::{t_inference, Derivatives};
use crate::model::Structure;
use crate::optimize::Optimizer;
use std::collections::BTreeMap;

/// How fixed-effect t statistics are referred to a distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Inference {
    /// t with lmerTest's Satterthwaite degrees of freedom (the default).
    #[default]
    Satterthwaite,
    /// Wald z (df = ∞), as statsmodels reports.
    Normal,
}

/// Options of a mixed-model fit.
#[derive(Clone, Debug, PartialEq)]
pub struct LmmOptions {
    /// REML (true, lme4's default) or maximum likelihood.
    pub reml: bool,
    /// Reference distribution of the t statistics.
    pub inference: Inference,
    /// Confidence level of the intervals (0.95).
    pub ci_level: f64,
    /// Column of prior weights (lme4's `weights =`): observation i has residual variance σ²/wᵢ.
    /// Weights must be positive; the criterion includes −Σ log wᵢ, as lme4's.
    pub weights: Option<String>,
    /// Coding of categorical variables (by formula label: `Diet`, `factor(Diet)`) other than
    /// treatment contrasts, as R's `contrasts = list(Diet = "contr.sum")`.
    pub contrasts: BTreeMap<String, Contrast>,
}

impl Default for LmmOptions {
    fn default() -> Self {
        LmmOptions {
            reml: true,
            inference: Inference::Satterthwaite,
            ci_level: 0.95,
            weights: None,
            contrasts: BTreeMap::new(),
        }
    }
}

/// One fixed-effect coefficient.
#[derive(Clone, Debug, PartialEq)]
pub struct Coefficient {
    /// Term name as lme4 names it.
    pub term: String,
    /// Estimate.
    pub estimate: f64,
    /// Standard error.
    pub se: f64,
    /// Degrees of freedom of the t reference (f64::INFINITY for z).
    pub df: f64,
    /// estimate / se.
    pub t: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Lower confidence limit.
    pub ci_lower: f64,
    /// Upper confidence limit.
    pub ci_upper: f64,
}

impl Coefficient {
    /// A row for `term` whose numbers are set by the fit that fills it (workspaces are sized once).
    pub(crate) fn unfilled(term: &str) -> Coefficient {
        Coefficient {
            term: term.to_string(),
            estimate: 0.0,
            se: 0.0,
            df: 0.0,
            t: 0.0,
            p_value: 0.0,
            ci_lower: 0.0,
            ci_upper: 0.0,
        }
    }
}

/// One variance component row as lme4's `VarCorr` prints it.
#[derive(Clone, Debug, PartialEq)]
pub struct VarComp {
    /// Grouping factor (`group`, `Subject.1`) or `Residual`.
    pub group: String,
    /// Random-effect term (None for the residual).
    pub term1: Option<String>,
    /// Second term of a correlation (None for a variance).
    pub term2: Option<String>,
    /// Variance, or covariance when `term2` is set.
    pub variance: f64,
    /// Standard deviation, or correlation when `term2` is set (NaN if a variance is zero).
    pub sd_or_cor: f64,
}

/// A fitted linear mixed model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LmmFit {
    /// Fixed effects.
    pub coefficients: Vec<Coefficient>,
    /// Variance components: per term its variances, then covariances; the residual last.
    pub varcorr: Vec<VarComp>,
    /// Residual standard deviation.
    pub sigma: f64,
    /// Relative covariance factors, column-major lower triangles, term by term (lme4's order).
    pub theta: Vec<f64>,
    /// Log-likelihood (REML log-likelihood for REML fits).
    pub loglik: f64,
    /// REML criterion or deviance.
    pub criterion: f64,
    /// Whether the fit is REML.
    pub reml: bool,
    /// Akaike information criterion.
    pub aic: f64,
    /// Bayesian information criterion.
    pub bic: f64,
    /// Observations used.
    pub nobs: usize,
    /// Levels per grouping factor.
    pub ngroups: Vec<(String, usize)>,
    /// Whether the optimum passed the post-fit checks (gradient, Hessian, optimizer budget).
    pub converged: bool,
    /// lme4's isSingular: a template diagonal below 1e-4.
    pub singular: bool,
    /// Criterion evaluations by the optimizer.
    pub evaluations: usize,
    /// Notes on the fit (why it did not converge, ...).
    pub messages: Vec<String>,
    /// Covariance matrix of the fixed effects, p×p column-major.
    pub vcov: Vec<f64>,
    /// Largest absolute scaled gradient (H⁻¹g) of the criterion at the optimum, over interior θ.
    pub max_scaled_gradient: f64,
}

/// Restarts of the optimizer for a fit that fails the gradient check, at most.
const MAX_RESTARTS: usize = 3;

/// A converged fit whose quadratic model predicts a larger decrease than this takes the Newton step.
const POLISH_ABOVE: f64 = 1e-8;

/// A converged fit of several random-effects terms (whose optimum BOBYQA found by comparing
/// criteria) whose Newton step moves some θ element by more than this (relative to
/// max(|θᵢ|, 0.01)) takes it too, however small the decrease predicted: along a flat valley the
/// criterion cannot tell points apart (crossed_small: 4e-11 above lme4's optimum with θ₃ 3e-5
/// off, the item variance 6e-5), but the gradient, from differences at steps far above the
/// rounding noise, can. A tenth of lme4's tolerance on θ. (Fits on one grouping factor end with
/// Newton's method on such gradients; a further step there only moves within the df's noise.)
const POLISH_STEP: f64 = 5e-6;

/// The Newton step of the polish is kept unless the criterion rises by more than this, relative:
/// the criterion's rounding noise (up to 2e-11 relative at Oxboys' large θ), where a step the
/// gradient calls for is not worse; far below the 1e-6 to which the optimum is compared.
const POLISH_NOISE: f64 = 1e-10;

/// Whether a Newton step moves some θ element by more than [`POLISH_STEP`].
fn moves_theta(step: &[f64], theta: &[f64]) -> bool {
    step.iter()
        .zip(theta)
        .any(|(s, t)| s.abs() > POLISH_STEP * t.abs().max(0.01))
}

/// Several terms whose evaluation costs at most this ([`Blocked::evaluation_work`]) are cheap
/// enough for the optimizer's Newton iteration, as one term always is: next to them BOBYQA's own
/// work dominates (Penicillin, ~300: 0.93M instructions per fit with BOBYQA, 0.58M with Newton;
/// the nested bench, ~14,000, and the crossed, ~26,000, take more evaluations with Newton).
const CHEAP_EVALUATION: usize = 2_000;

/// lme4's isSingular tolerance: a template diagonal below this is on the boundary.
const SINGULAR_BELOW: f64 = 1e-4;

/// Criterion at θ, +∞ where the factorization fails.
fn objective(blocked: &mut Blocked, theta: &[f64], reml: bool, n: usize) -> f64 {
    let p = blocked.p;
    match blocked.evaluate(theta) {
        Some(c) if c.r2 > 0.0 => c.criterion(reml, n, p),
        _ => f64::INFINITY,
    }
}

/// Everything that depends on the data's shape, built once and reused across fits.
struct Workspace {
    structure: Structure,
    optimizer: Optimizer,
    derivatives: Derivatives,
    /// Which θ elements are template diagonals.
    diagonal: Vec<bool>,
    beta: Vec<f64>,
    column: Vec<f64>,
    /// A trial θ.
    point: Vec<f64>,
    xtx: Vec<f64>,
    /// Scratch of the map between the centred θ and the user's (see `centre`), and a contrast.
    scratch: Vec<f64>,
    contrast: Vec<f64>,
    /// Σ log wᵢ of the prior weights of the assembled data (0 without weights): lme4's criterion
    /// is the unweighted one of the √w-scaled data minus this.
    log_det_weights: f64,
}

impl Workspace {
    /// The workspace of `formula` on `data`, without the fixed-effects columns `dropped` (indices
    /// into the full model's columns, the intercept first).
    fn new(formula: &Formula, data: &Data<'_>, dropped: &[usize]) -> Result<Workspace, FitError> {
        let structure = Structure::build(
            formula,
            data.columns,
            dropped,
            data.contrasts,
            data.weights.is_some(),
        )?;
        let mut diagonal = Vec::new();
        for term in &structure.terms {
            let q = term.q();
            for j in 0..q {
                for i in j..q {
                    diagonal.push(i == j);
                }
            }
        }
        let p = structure.fixed.width();
        let k = diagonal.len();
        let one_term = structure.terms.len() == 1;
        let cheap = one_term || structure.blocked.evaluation_work() <= CHEAP_EVALUATION;
        Ok(Workspace {
            optimizer: if one_term {
                Optimizer::new(&diagonal, true)
            } else {
                Optimizer::new(&diagonal, cheap).for_several_terms()
            },
            // An expensive criterion takes its post-fit cross derivatives from half the points.
            derivatives: Derivatives::new(diagonal.len(), p, !cheap),
            diagonal,
            beta: vec![0.0; p],
            point: vec![0.0; k],
            column: vec![0.0; p],
            xtx: vec![0.0; p * p],
            scratch: Vec::new(),
            contrast: vec![0.0; p],
            log_det_weights: 0.0,
            structure,
        })
    }
}

/// One data set as a fit sees it: the columns (through the model frame when the formula computes
/// variables), the contrasts, and the prior weights with Σ log w.
struct Data<'a> {
    columns: &'a dyn Columns,
    contrasts: &'a BTreeMap<String, Contrast>,
    weights: Option<&'a [f64]>,
    log_det_weights: f64,
}

/// A reusable mixed-model workspace: build once per worker, fit many data sets of the same shape.
/// On the one-grouping-factor fast path, `fit` allocates nothing once warmed up.
pub struct LmmFitter {
    formula: Formula,
    options: LmmOptions,
    /// Boxed: the workspace is large and the fitter is moved around by callers.
    workspace: Option<Box<Workspace>>,
    /// For data sets whose fixed-effects matrix is rank deficient: the workspace without the aliased
    /// columns (their indices), kept for the next data set that drops the same ones.
    reduced: Option<(Vec<usize>, Box<Workspace>)>,
    /// Whether the last fit used `reduced`.
    used_reduced: bool,
    /// Computed variables, offsets and weights of the data set (unused for plain formulas).
    frame: ModelFrame,
    fit: LmmFit,
}

impl LmmFitter {
    /// A fitter for `formula`, which must have random-effects terms.
    pub fn new(formula: &Formula, options: LmmOptions) -> Result<LmmFitter, ModelError> {
        if !formula.has_random_terms() {
            return Err(ModelError::NoRandomTerms);
        }
        if formula.has_counts_response() {
            return Err(ModelError::CountsResponse);
        }
        Ok(LmmFitter {
            formula: formula.clone(),
            options,
            workspace: None,
            reduced: None,
            used_reduced: false,
            frame: ModelFrame::default(),
            fit: LmmFit::default(),
        })
    }

    /// The options in force.
    pub fn options(&self) -> &LmmOptions {
        &self.options
    }

    /// The profiled criterion (REML criterion or deviance) at `theta` for the data set of the last
    /// successful [`LmmFitter::fit`]: the deviance function of θ that the optimizer minimises
    /// (with prior weights, lme4's: less Σ log wᵢ, a constant the optimizer does without).
    /// None before a fit, for a θ of the wrong length, or where the factorization fails.
    pub fn criterion_at(&mut self, theta: &[f64]) -> Option<f64> {
        let ws = active(&mut self.workspace, &mut self.reduced, self.used_reduced)?;
        if theta.len() != ws.diagonal.len() {
            return None;
        }
        let n = ws.structure.nobs();
        let centring = &ws.structure.centring;
        centring.theta(theta, &mut ws.point, false, &mut ws.scratch);
        let value = objective(&mut ws.structure.blocked, &ws.point, self.options.reml, n);
        value.is_finite().then_some(value - ws.log_det_weights)
    }

    /// The full results (estimates, SEs, df, variance components...) at a given `theta` instead of
    /// the optimum, for the data set of the last successful [`LmmFitter::fit`]: e.g. to compare with
    /// another program at its θ. `converged` then only reports the gradient check at that θ.
    pub fn results_at(&mut self, theta: &[f64]) -> Result<&LmmFit, FitError> {
        let Some(ws) = active(&mut self.workspace, &mut self.reduced, self.used_reduced) else {
            return Err(FitError::Numerical(
                "results_at needs a fitted data set".into(),
            ));
        };
        if theta.len() != ws.diagonal.len() {
            return Err(FitError::Numerical(format!(
                "θ has {} elements, the model {}",
                theta.len(),
                ws.diagonal.len()
            )));
        }
        let centring = &ws.structure.centring;
        centring.theta(theta, &mut self.fit.theta, false, &mut ws.scratch);
        self.fit.messages.clear();
        self.fit.evaluations = 0;
        fill_results(ws, &self.options, &mut self.fit, false)?;
        to_user_scale(ws, &self.options, &mut self.fit);
        self.fit.theta.copy_from_slice(theta);
        Ok(&self.fit)
    }

    /// Fits the model to `data`. Columns of a rank-deficient fixed-effects matrix that are linear
    /// combinations of earlier ones are dropped, as lme4 does, and named in the fit's messages.
    pub fn fit(&mut self, data: &dyn Columns) -> Result<&LmmFit, FitError> {
        // Plain formulas read the data directly; others through the model frame.
        let plain = self.formula.is_plain() && self.options.weights.is_none();
        if !plain {
            self.frame
                .update(&self.formula, data, self.options.weights.as_deref())?;
        }
        let view = self.frame.view(data);
        let data = Data {
            columns: if plain { data } else { &view },
            contrasts: &self.options.contrasts,
            weights: self.frame.weights().filter(|_| !plain),
            log_det_weights: if plain {
                0.0
            } else {
                self.frame.log_det_weights()
            },
        };
        let rebuilt = prepare(&mut self.workspace, &self.formula, &data, &[])?;
        let Some(ws) = self.workspace.as_mut() else {
            return Err(FitError::Numerical("no workspace".into()));
        };
        let aliased = aliased_of(ws);
        if aliased.is_empty() {
            let switched = rebuilt || self.used_reduced;
            self.used_reduced = false;
            return fit_in(ws, &self.options, &mut self.fit, switched, None);
        }
        // lme4 drops the aliased columns and says so. The full workspace stays for the next data
        // set; the reduced one is kept for the next that drops the same columns.
        let names = ws.structure.fixed_names();
        let list: Vec<&str> = aliased.iter().map(|&j| names[j].as_str()).collect();
        let message = format!(
            "fixed-effect model matrix is rank deficient so dropping {} column(s) / coefficient(s): {}",
            aliased.len(),
            list.join(", ")
        );
        let mut slot = match self.reduced.take() {
            Some((dropped, reduced)) if dropped == aliased => Some(reduced),
            _ => None,
        };
        let rebuilt_reduced = prepare(&mut slot, &self.formula, &data, &aliased)?;
        let Some(mut reduced) = slot else {
            return Err(FitError::Numerical("no workspace".into()));
        };
        if !aliased_of(&mut reduced).is_empty() {
            return Err(rank_error(ws, &aliased));
        }
        let switched = rebuilt || rebuilt_reduced || !self.used_reduced;
        self.used_reduced = true;
        let (_, reduced) = self.reduced.insert((aliased, reduced));
        fit_in(
            reduced,
            &self.options,
            &mut self.fit,
            switched,
            Some(message),
        )
    }
}

/// The workspace in `slot` made ready for `data` (re-encoded, or rebuilt when its shape differs;
/// validated and assembled). True when it was rebuilt.
fn prepare(
    slot: &mut Option<Box<Workspace>>,
    formula: &Formula,
    data: &Data<'_>,
    dropped: &[usize],
) -> Result<bool, FitError> {
    let mut reusable = match slot.as_mut() {
        Some(ws) => ws.structure.reencode(data.columns)?,
        None => false,
    };
    let mut rebuilt = false;
    // The fast path may find a changed level set only while accumulating: then rebuild once.
    loop {
        if !reusable {
            *slot = None;
            *slot = Some(Box::new(Workspace::new(formula, data, dropped)?));
            rebuilt = true;
        }
        let Some(ws) = slot.as_mut() else {
            return Err(FitError::Numerical("no workspace".into()));
        };
        ws.structure.validate()?;
        ws.log_det_weights = data.log_det_weights;
        if ws.structure.assemble(data.columns, data.weights)? {
            // A badly scaled column is centred (see `centre`): assembled again when its centre
            // changed, which the next data sets of a study then keep.
            if ws.structure.recentre(&mut ws.xtx) {
                ws.structure.assemble(data.columns, data.weights)?;
            }
            return Ok(rebuilt);
        }
        if !reusable {
            return Err(FitError::Numerical(
                "the grouping factor's levels could not be encoded".into(),
            ));
        }
        reusable = false;
    }
}

/// The workspace of the last fit.
fn active<'a>(
    workspace: &'a mut Option<Box<Workspace>>,
    reduced: &'a mut Option<(Vec<usize>, Box<Workspace>)>,
    used_reduced: bool,
) -> Option<&'a mut Workspace> {
    if used_reduced {
        reduced.as_mut().map(|(_, ws)| &mut **ws)
    } else {
        workspace.as_deref_mut()
    }
}

/// Optimizes θ in the assembled workspace `ws` and fills `fit` (reset first when the workspace is
/// not the one of the previous fit, `switched`); `note` is added to the fit's messages.
fn fit_in<'a>(
    ws: &mut Workspace,
    options: &LmmOptions,
    fit: &'a mut LmmFit,
    switched: bool,
    note: Option<String>,
) -> Result<&'a LmmFit, FitError> {
    if switched {
        *fit = LmmFit::default();
    }
    {
        let (reml, n) = (options.reml, ws.structure.nobs());
        // The objective is lme4's criterion plus Σ log w (prior weights): fit.criterion + offset.
        let offset = ws.log_det_weights;
        fit.theta.resize(ws.diagonal.len(), 0.0);
        fit.messages.clear();
        fit.messages.extend(note.clone());
        let blocked = &mut ws.structure.blocked;
        // Several terms: BOBYQA from a moment estimate (fewer evaluations than from lme4's
        // θ = 1); one term keeps its own search, which is cheap from anywhere.
        let moments = ws.structure.terms.len() > 1 && blocked.moment_start(n, &mut fit.theta);
        let criterion = |theta: &[f64]| objective(blocked, theta, reml, n);
        let minimum = if moments {
            ws.optimizer.minimize_from(criterion, &mut fit.theta)
        } else {
            ws.optimizer.minimize(criterion, &mut fit.theta)
        };
        if !minimum.value.is_finite() {
            return Err(FitError::Numerical(
                "the criterion is not finite at any θ tried".into(),
            ));
        }
        fit.evaluations = minimum.evaluations;
        fill_results(ws, options, fit, minimum.budget_exhausted)?;
        // A fit that fails the gradient check restarts from its best point (a fit that passes
        // costs nothing more); each restart that lowers the criterion is checked again.
        for _ in 0..MAX_RESTARTS {
            let (step, predicted) = ws.derivatives.newton_step();
            // Fits on one grouping factor end with Newton's method on these gradients already.
            let compared = ws.structure.terms.len() > 1;
            let moves = compared && moves_theta(step, &fit.theta);
            if fit.converged && predicted <= POLISH_ABOVE && !moves {
                break;
            }
            if fit.converged {
                // The gradient check passed but the quadratic model still predicts a measurable
                // decrease (Oxboys: 3e-8, θ 1e-5 off): take the Newton step, kept if it helps.
                let blocked = &mut ws.structure.blocked;
                for (i, x) in ws.point.iter_mut().enumerate() {
                    let lower = if ws.diagonal[i] {
                        0.0
                    } else {
                        f64::NEG_INFINITY
                    };
                    *x = (fit.theta[i] + step[i]).max(lower);
                }
                let value = objective(blocked, &ws.point, reml, n);
                fit.evaluations += 1;
                if value - offset >= fit.criterion + POLISH_NOISE * fit.criterion.abs().max(1.0) {
                    break;
                }
                fit.theta.copy_from_slice(&ws.point);
                fit.messages.clear();
                fit.messages.extend(note.clone());
                fill_results(ws, options, fit, minimum.budget_exhausted)?;
                continue;
            }
            let blocked = &mut ws.structure.blocked;
            let objective = |theta: &[f64]| objective(blocked, theta, reml, n);
            let Some(again) =
                ws.optimizer
                    .restart(objective, &mut fit.theta, fit.criterion + offset)
            else {
                break;
            };
            fit.evaluations += again.evaluations;
            if again.value - offset >= fit.criterion {
                break;
            }
            fit.messages.clear();
            fit.messages.extend(note.clone());
            fill_results(ws, options, fit, again.budget_exhausted)?;
        }
    }
    to_user_scale(ws, options, fit);
    Ok(fit)
}

/// The results of a fit of centred columns (see `centre`) on the user's scale: β = Mβ̃,
/// Var(β̂) = M Var(β̃) M′ with the intercept's df those of its contrast, θ and the variance
/// components of the user's random-effects columns, the singular check on that θ. Nothing
/// changes when no column is centred.
fn to_user_scale(ws: &mut Workspace, options: &LmmOptions, fit: &mut LmmFit) {
    let structure = &ws.structure;
    let centring = &structure.centring;
    if !centring.active() {
        return;
    }
    let p = structure.fixed.width();
    // The intercept's df from the centred Var(β̃), before it is transformed.
    let df = match options.inference {
        Inference::Normal => f64::INFINITY,
        Inference::Satterthwaite => {
            centring.contrast(0, &mut ws.contrast);
            ws.derivatives
                .satterthwaite_df_contrast(&ws.contrast, &fit.vcov, p)
        }
    };
    centring.coefficients(&mut ws.beta);
    centring.covariance(&mut fit.vcov);
    for (j, coef) in fit.coefficients.iter_mut().enumerate() {
        let df = if j == 0 { df } else { coef.df };
        set_coefficient(coef, ws.beta[j], fit.vcov[j * p + j], df, options.ci_level);
    }
    centring.theta(&fit.theta, &mut ws.point, true, &mut ws.scratch);
    fit.theta.copy_from_slice(&ws.point);
    fit.singular = singular(&fit.theta, &ws.diagonal);
    fill_varcorr(structure, &fit.theta, fit.sigma, &mut fit.varcorr);
}

/// lme4's isSingular: some template diagonal below [`SINGULAR_BELOW`].
fn singular(theta: &[f64], diagonal: &[bool]) -> bool {
    theta
        .iter()
        .zip(diagonal)
        .any(|(t, &d)| d && *t < SINGULAR_BELOW)
}

/// A coefficient's numbers from its estimate, variance and df.
fn set_coefficient(coef: &mut Coefficient, estimate: f64, variance: f64, df: f64, level: f64) {
    let se = variance.sqrt();
    let (t, p_value, half) = t_inference(estimate, se, df, level);
    (coef.estimate, coef.se, coef.df, coef.t, coef.p_value) = (estimate, se, df, t, p_value);
    (coef.ci_lower, coef.ci_upper) = (estimate - half, estimate + half);
}

/// The fixed-effects columns of the assembled workspace that are linear combinations of earlier
/// ones (empty, without allocating, for a full-rank X).
fn aliased_of(ws: &mut Workspace) -> Vec<usize> {
    let p = ws.structure.fixed.width();
    ws.structure.blocked.xtx(&mut ws.xtx);
    aliased_columns(&mut ws.xtx, p)
}

/// The error when dropping the aliased columns did not give a full-rank X.
fn rank_error(ws: &Workspace, aliased: &[usize]) -> FitError {
    let names = ws.structure.fixed_names();
    let list: Vec<&str> = aliased.iter().map(|&j| names[j].as_str()).collect();
    FitError::RankDeficient(format!(
        "column(s) {} are linear combinations of earlier columns; remove them from the formula",
        list.join(", ")
    ))
}

/// Columns of X′X whose residual after projecting on the earlier (kept) columns is negligible.
pub(crate) fn aliased_columns(xtx: &mut [f64], p: usize) -> Vec<usize> {
    let mut aliased = Vec::new();
    for j in 0..p {
        let original = xtx[j * p + j];
        let mut d = original;
        for k in 0..j {
            if aliased.contains(&k) {
                continue;
            }
            d -= xtx[k * p + j] * xtx[k * p + j];
        }
        if d.is_nan() || d <= 1e-10 * original || original <= 0.0 {
            aliased.push(j);
            continue;
        }
        let d = d.sqrt();
        xtx[j * p + j] = d;
        for i in j + 1..p {
            let mut v = xtx[j * p + i];
            for k in 0..j {
                if !aliased.contains(&k) {
                    v -= xtx[k * p + i] * xtx[k * p + j];
                }
            }
            xtx[j * p + i] = v / d;
        }
    }
    aliased
}

/// Everything reported after the optimum: estimates, inference, variance components, checks.
fn fill_results(
    ws: &mut Workspace,
    options: &LmmOptions,
    fit: &mut LmmFit,
    budget_exhausted: bool,
) -> Result<(), FitError> {
    let log_det_weights = ws.log_det_weights;
    let structure = &mut ws.structure;
    let (n, p) = (structure.nobs(), structure.fixed.width());
    let reml = options.reml;
    let Some(c) = structure.blocked.evaluate(&fit.theta) else {
        return Err(FitError::Numerical(
            "the factorization failed at the optimum".into(),
        ));
    };
    let dof = if reml { (n - p) as f64 } else { n as f64 };
    let sigma2 = c.r2 / dof;
    let sigma = sigma2.sqrt();
    fit.criterion = c.criterion(reml, n, p) - log_det_weights;
    fit.reml = reml;
    fit.sigma = sigma;
    fit.nobs = n;
    fit.loglik = -fit.criterion / 2.0;
    let npar = (p + fit.theta.len() + 1) as f64;
    fit.aic = fit.criterion + 2.0 * npar;
    fit.bic = fit.criterion + npar * (n as f64).ln();
    structure.blocked.beta(&mut ws.beta);
    fit.vcov.resize(p * p, 0.0);
    structure.blocked.xvx_inverse(&mut fit.vcov, &mut ws.column);
    for v in &mut fit.vcov {
        *v *= sigma2;
    }
    // Derivatives of the criterion and of Var(β̂) (finite differences about θ̂; restores the
    // factorization, which beta and xvx_inverse above only read, so it is still at θ̂ here).
    let derivs = &mut ws.derivatives;
    derivs.compute(&mut structure.blocked, &fit.theta, c, sigma, reml, n);
    fit.singular = singular(&fit.theta, &ws.diagonal);
    fit.max_scaled_gradient = derivs.max_scaled_gradient(&ws.diagonal, &fit.theta, SINGULAR_BELOW);
    fit.converged = !budget_exhausted && fit.max_scaled_gradient < 1e-3;
    if budget_exhausted {
        fit.messages
            .push("the optimizer stopped before reaching its tolerance".into());
    }
    if fit.max_scaled_gradient >= 1e-3 {
        fit.messages.push(format!(
            "the scaled gradient at the optimum is {:.2e} (tolerance 1e-3)",
            fit.max_scaled_gradient
        ));
    }
    if fit.coefficients.len() != p {
        fit.coefficients = structure
            .fixed_names()
            .iter()
            .map(|t| Coefficient::unfilled(t))
            .collect();
    }
    for (j, coef) in fit.coefficients.iter_mut().enumerate() {
        let variance = fit.vcov[j * p + j];
        let df = match options.inference {
            Inference::Normal => f64::INFINITY,
            Inference::Satterthwaite => derivs.satterthwaite_df(j, &fit.vcov, p),
        };
        set_coefficient(coef, ws.beta[j], variance, df, options.ci_level);
    }
    fill_varcorr(structure, &fit.theta, sigma, &mut fit.varcorr);
    if fit.ngroups.is_empty() {
        for term in &structure.terms {
            let factor = &structure.factors[term.factor];
            if !fit.ngroups.iter().any(|(g, _)| *g == factor.label) {
                fit.ngroups.push((factor.label.clone(), factor.nlevels()));
            }
        }
    }
    Ok(())
}

/// σ²ΛΛ′ per term as lme4's VarCorr rows (variances, then covariances), then the residual.
pub(crate) fn fill_varcorr(
    structure: &Structure,
    theta: &[f64],
    sigma: f64,
    out: &mut Vec<VarComp>,
) {
    let rows: usize = structure
        .terms
        .iter()
        .map(|t| t.q() * (t.q() + 1) / 2)
        .sum::<usize>()
        + 1;
    if out.len() != rows {
        out.clear();
        for term in &structure.terms {
            let names = term.design.names();
            for name in &names {
                out.push(VarComp {
                    group: term.label.clone(),
                    term1: Some(name.clone()),
                    term2: None,
                    variance: 0.0,
                    sd_or_cor: 0.0,
                });
            }
            for j in 0..names.len() {
                for i in j + 1..names.len() {
                    out.push(VarComp {
                        group: term.label.clone(),
                        term1: Some(names[j].clone()),
                        term2: Some(names[i].clone()),
                        variance: 0.0,
                        sd_or_cor: 0.0,
                    });
                }
            }
        }
        out.push(VarComp {
            group: "Residual".into(),
            term1: None,
            term2: None,
            variance: 0.0,
            sd_or_cor: 0.0,
        });
    }
    let mut row = 0;
    let mut offset = 0;
    let sigma2 = sigma * sigma;
    for term in &structure.terms {
        let q = term.q();
        let template = &theta[offset..offset + q * (q + 1) / 2];
        // Λ[i][j] for i ≥ j from the column-major lower triangle.
        let lam = |i: usize, j: usize| -> f64 {
            if i < j {
                return 0.0;
            }
            let start: usize = (0..j).map(|c| q - c).sum();
            template[start + (i - j)]
        };
        let cov = |a: usize, b: usize| -> f64 {
            sigma2 * (0..q).map(|k| lam(a, k) * lam(b, k)).sum::<f64>()
        };
        for j in 0..q {
            let v = cov(j, j);
            out[row].variance = v;
            out[row].sd_or_cor = v.sqrt();
            row += 1;
        }
        for j in 0..q {
            for i in j + 1..q {
                let c = cov(i, j);
                out[row].variance = c;
                // Clamped: at the boundary rounding can put |c| a few ulps above the product.
                out[row].sd_or_cor = (c / (cov(i, i) * cov(j, j)).sqrt()).clamp(-1.0, 1.0);
                row += 1;
            }
        }
        offset += q * (q + 1) / 2;
    }
    out[row].variance = sigma2;
    out[row].sd_or_cor = sigma;
}
