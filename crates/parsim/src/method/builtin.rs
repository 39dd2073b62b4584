//! The built-in methods: linear mixed models (`model = "lmm"`), ordinary least squares (`model =
//! "ols"`), generalised linear models (`model = "glm"`) and generalised linear mixed models
//! (`model = "glmm"`) from `parsim-lmm`, behind the method contract.

use std::fmt::Write;
use std::sync::Arc;

use std::collections::BTreeMap;

use parsim_lmm::{
    Coefficient, Columns, Contrast, Distribution, Family, Formula, GlmCoefficient, GlmFitter,
    GlmOptions, GlmStatus, GlmmFit, GlmmFitter, GlmmOptions, Inference, Link, LmmFit, LmmFitter,
    LmmOptions, OlsFitter, OlsOptions, VarComp, MAX_NAGQ,
};

use super::{
    ColumnRole, ColumnUse, Context, Estimates, FitFailure, FitStatus, Located, Method, MethodKind,
    MethodSpec, MethodTable, Outcome, TermKind,
};

/// `model = "lmm"`: a linear mixed model with an lme4 formula (`reml`, `inference`, `weights`,
/// `contrasts`).
#[derive(Debug, Clone, Copy, Default)]
pub struct LmmKind;

/// `model = "ols"`: ordinary least squares, with cluster-robust CR1 standard errors when `cluster` is
/// set (`weights`, `contrasts` as for `lmm`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OlsKind;

/// `model = "glm"`: a generalised linear model (`family`, `link`), with cluster-robust CR1 standard
/// errors when `cluster` is set.
#[derive(Debug, Clone, Copy, Default)]
pub struct GlmKind;

/// `model = "glmm"`: a generalised linear mixed model (`family`, `link`, `nagq`).
#[derive(Debug, Clone, Copy, Default)]
pub struct GlmmKind;

/// A configured model of `parsim-lmm`: its formula, the columns it reads and its options (which say
/// which model it is).
#[derive(Debug, Clone)]
struct FormulaSpec<O> {
    formula: Formula,
    columns: Vec<ColumnUse>,
    options: O,
}

/// What tells the built-in models apart: their options know their name, whether the formula must
/// have random terms, how `parsim check` describes them and how a worker's workspace is built.
trait ModelOptions: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// The kind's name.
    const MODEL: &'static str;
    /// Whether the formula must have random-effect terms (an lmm) or must not (an ols).
    const MIXED: bool;
    /// The kind to use for a formula with (or without) random terms instead.
    const TWIN: &'static str;
    /// The description after the method's name in `parsim check`.
    fn describe(&self) -> String;
    /// A worker's workspace for `formula` with these options.
    fn build(&self, formula: &Formula) -> Result<Box<dyn Method>, String>;
}

/// A formula read from a method's table: the parsed formula, the columns it names and where it is.
struct ReadFormula {
    formula: Formula,
    columns: Vec<ColumnUse>,
    span: std::ops::Range<usize>,
}

/// Read `formula` (reported where it is wrong or missing) and the columns it names.
fn formula(table: &mut MethodTable<'_, '_>) -> Option<ReadFormula> {
    let Some(text) = table.located("formula") else {
        if !table.has("formula") {
            table.missing("formula", "e.g. formula = \"y ~ x + (1 | g)\"");
        }
        return None;
    };
    match Formula::parse(&text.text) {
        Ok(formula) => Some(ReadFormula {
            columns: formula_columns(&formula, &text),
            span: text.whole(),
            formula,
        }),
        Err(e) => {
            let span = text.span(e.offset..e.offset + e.len);
            table.error(span, format!("invalid formula: {}", e.message));
            None
        }
    }
}

/// Every variable of the formula once, in order of appearance, located at its first mention.
fn formula_columns(formula: &Formula, text: &Located) -> Vec<ColumnUse> {
    let mut out: Vec<ColumnUse> = Vec::new();
    for name in formula.variables() {
        if out.iter().all(|c| c.name != name) {
            out.push(ColumnUse {
                span: text.word(&name),
                name,
                role: ColumnRole::Variable,
            });
        }
    }
    out
}

/// Whether the formula's random terms suit the kind: an lmm needs one, an ols must have none.
fn check_random_terms<O: ModelOptions>(
    table: &mut MethodTable<'_, '_>,
    formula: &Formula,
    span: std::ops::Range<usize>,
) -> bool {
    let (model, twin) = (O::MODEL, O::TWIN);
    let (message, note) = match (O::MIXED, formula.has_random_terms()) {
        (true, false) => (
            format!("is an {model} but its formula has no random-effect term"),
            format!("add a term such as `(1 | group)`, or use model = \"{twin}\""),
        ),
        (false, true) => (
            format!("is an {model} but its formula has random-effect terms"),
            format!("use model = \"{twin}\", or drop the `( | )` terms"),
        ),
        _ => return true,
    };
    let message = format!("method `{}` {message}", table.name());
    table.error(span, message).notes.push(note);
    false
}

impl MethodKind for LmmKind {
    fn name(&self) -> &str {
        LmmOptions::MODEL
    }

    fn keys(&self) -> &[&str] {
        &["formula", "reml", "inference", "weights", "contrasts"]
    }

    fn configure(&self, table: &mut MethodTable<'_, '_>) -> Option<Arc<dyn MethodSpec>> {
        let mut options = LmmOptions {
            ci_level: table.level(),
            ..LmmOptions::default()
        };
        if table.has("reml") {
            options.reml = table.bool("reml").unwrap_or(true);
        }
        if table.has("inference") {
            options.inference = match table.choice("inference", &["satterthwaite", "z"]) {
                Some(1) => Inference::Normal,
                _ => Inference::Satterthwaite,
            };
        }
        let (weights, contrasts) = weights_and_contrasts(table)?;
        options.weights = weights.as_ref().map(|w| w.name.clone());
        options.contrasts = contrasts;
        formula_spec(table, options, weights)
    }
}

impl MethodKind for OlsKind {
    fn name(&self) -> &str {
        OlsOptions::MODEL
    }

    fn keys(&self) -> &[&str] {
        &["formula", "cluster", "weights", "contrasts"]
    }

    fn configure(&self, table: &mut MethodTable<'_, '_>) -> Option<Arc<dyn MethodSpec>> {
        let mut options = OlsOptions {
            ci_level: table.level(),
            ..OlsOptions::default()
        };
        let cluster_span = table.span_of("cluster");
        options.cluster = table.string("cluster");
        let cluster = options.cluster.clone().map(|name| ColumnUse {
            name,
            span: cluster_span,
            role: ColumnRole::Cluster,
        });
        let (weights, contrasts) = weights_and_contrasts(table)?;
        options.weights = weights.as_ref().map(|w| w.name.clone());
        options.contrasts = contrasts;
        formula_spec(table, options, cluster.into_iter().chain(weights))
    }
}

/// The `weights` column (prior weights, as `weights =` of lmer and lm) and the `contrasts` per
/// categorical variable (`contrasts = { Diet = "sum" }`, as lme4's `contrasts = list(Diet =
/// "contr.sum")`; the rest keep treatment contrasts). None when either is wrong (reported).
fn weights_and_contrasts(
    table: &mut MethodTable<'_, '_>,
) -> Option<(Option<ColumnUse>, BTreeMap<String, Contrast>)> {
    let span = table.span_of("weights");
    let weights = table.string("weights").map(|name| ColumnUse {
        name,
        span,
        role: ColumnRole::Variable,
    });
    if table.has("weights") && weights.is_none() {
        return None;
    }
    let mut contrasts = BTreeMap::new();
    if !table.has("contrasts") {
        return Some((weights, contrasts));
    }
    // A value that is not a table of strings is reported by the reader.
    let entries = table.string_table("contrasts")?;
    let mut ok = true;
    for (name, value) in entries {
        match Contrast::from_r_name(&value.text) {
            Some(contrast) => {
                contrasts.insert(name, contrast);
            }
            None => {
                let message = format!(
                    "`contrasts.{name}` must be \"sum\" or \"treatment\" (contr.sum, contr.treatment), got \"{}\"",
                    value.text
                );
                table.error(value.whole(), message);
                ok = false;
            }
        }
    }
    ok.then_some((weights, contrasts))
}

impl MethodKind for GlmKind {
    fn name(&self) -> &str {
        GlmOptions::MODEL
    }

    fn keys(&self) -> &[&str] {
        &[
            "formula",
            "family",
            "link",
            "cluster",
            "weights",
            "contrasts",
        ]
    }

    fn configure(&self, table: &mut MethodTable<'_, '_>) -> Option<Arc<dyn MethodSpec>> {
        let family = family(table)?;
        let mut options = GlmOptions {
            family,
            ci_level: table.level(),
            cluster: table.string("cluster"),
            ..GlmOptions::default()
        };
        let cluster = options.cluster.clone().map(|name| ColumnUse {
            name,
            span: table.span_of("cluster"),
            role: ColumnRole::Cluster,
        });
        let (weights, contrasts) = weights_and_contrasts(table)?;
        options.weights = weights.as_ref().map(|w| w.name.clone());
        options.contrasts = contrasts;
        formula_spec(table, options, cluster.into_iter().chain(weights))
    }
}

impl MethodKind for GlmmKind {
    fn name(&self) -> &str {
        GlmmOptions::MODEL
    }

    fn keys(&self) -> &[&str] {
        &["formula", "family", "link", "nagq", "weights", "contrasts"]
    }

    fn configure(&self, table: &mut MethodTable<'_, '_>) -> Option<Arc<dyn MethodSpec>> {
        let family = family(table)?;
        let mut options = GlmmOptions {
            family,
            ci_level: table.level(),
            ..GlmmOptions::default()
        };
        if table.has("nagq") {
            match table.integer("nagq") {
                Some(k) if (0..=MAX_NAGQ as i64).contains(&k) => options.nagq = k as usize,
                Some(k) => {
                    let span = table.span_of("nagq");
                    table.error(
                        span,
                        format!("nagq = {k}: the quadrature points must be 0 (fast), 1 (Laplace) or up to {MAX_NAGQ}"),
                    );
                    return None;
                }
                None => return None,
            }
        }
        let (weights, contrasts) = weights_and_contrasts(table)?;
        options.weights = weights.as_ref().map(|w| w.name.clone());
        options.contrasts = contrasts;
        formula_spec(table, options, weights)
    }
}

/// `family` (required) and `link` (its canonical link when absent), checked together.
fn family(table: &mut MethodTable<'_, '_>) -> Option<Family> {
    if !table.has("family") {
        table.missing("family", "e.g. family = \"binomial\"");
        return None;
    }
    let distribution = match table.choice("family", &Distribution::NAMES)? {
        0 => Distribution::Binomial,
        _ => Distribution::Poisson,
    };
    let link = if table.has("link") {
        let index = table.choice("link", &Link::NAMES)?;
        Some(Link::NAMES[index].parse::<Link>().ok()?)
    } else {
        None
    };
    match Family::new(distribution, link) {
        Ok(family) => Some(family),
        Err(e) => {
            table.error_at("link", e.to_string());
            None
        }
    }
}

/// The spec of a table whose `options` are read: its formula (and the columns it names, then `extra`),
/// checked against the kind's need for random terms.
fn formula_spec<O: ModelOptions>(
    table: &mut MethodTable<'_, '_>,
    options: O,
    extra: impl IntoIterator<Item = ColumnUse>,
) -> Option<Arc<dyn MethodSpec>> {
    let ReadFormula {
        formula,
        mut columns,
        span,
    } = formula(table)?;
    table.point_at(span.clone());
    columns.extend(extra);
    check_random_terms::<O>(table, &formula, span).then(|| {
        Arc::new(FormulaSpec {
            formula,
            columns,
            options,
        }) as Arc<dyn MethodSpec>
    })
}

impl ModelOptions for LmmOptions {
    const MODEL: &'static str = "lmm";
    const MIXED: bool = true;
    const TWIN: &'static str = "ols";

    fn describe(&self) -> String {
        let criterion = if self.reml { "REML" } else { "ML" };
        let inference = match self.inference {
            Inference::Satterthwaite => "Satterthwaite t",
            Inference::Normal => "Wald z",
        };
        format!(
            "lmm ({criterion}, {inference}{})",
            weights_and_contrasts_text(&self.weights, &self.contrasts)
        )
    }

    fn build(&self, formula: &Formula) -> Result<Box<dyn Method>, String> {
        let fitter = LmmFitter::new(formula, self.clone()).map_err(|e| e.to_string())?;
        Ok(Box::new(MixedMethod {
            formula: formula.clone(),
            fitter,
        }))
    }
}

impl ModelOptions for OlsOptions {
    const MODEL: &'static str = "ols";
    const MIXED: bool = false;
    const TWIN: &'static str = "lmm";

    fn describe(&self) -> String {
        let extra = weights_and_contrasts_text(&self.weights, &self.contrasts);
        match &self.cluster {
            Some(c) => format!("ols (cluster-robust by {c}{extra})"),
            None if extra.is_empty() => "ols".to_string(),
            None => format!("ols ({})", extra.trim_start_matches(", ")),
        }
    }

    fn build(&self, formula: &Formula) -> Result<Box<dyn Method>, String> {
        let fitter = OlsFitter::new(formula, self.clone()).map_err(|e| e.to_string())?;
        Ok(Box::new(OlsMethod {
            formula: formula.clone(),
            contrasts: self.contrasts.clone(),
            fitter,
        }))
    }
}

/// `, weights w, sum contrasts for a, b` (empty without weights or non-default contrasts).
fn weights_and_contrasts_text(
    weights: &Option<String>,
    contrasts: &BTreeMap<String, Contrast>,
) -> String {
    let mut out = String::new();
    if let Some(w) = weights {
        let _ = write!(out, ", weights {w}");
    }
    let sum: Vec<&str> = contrasts
        .iter()
        .filter(|(_, c)| **c == Contrast::Sum)
        .map(|(name, _)| name.as_str())
        .collect();
    if !sum.is_empty() {
        let _ = write!(out, ", sum contrasts for {}", sum.join(", "));
    }
    out
}

impl ModelOptions for GlmOptions {
    const MODEL: &'static str = "glm";
    const MIXED: bool = false;
    const TWIN: &'static str = "glmm";

    fn describe(&self) -> String {
        match &self.cluster {
            Some(c) => format!("glm {} (cluster-robust by {c})", self.family),
            None => format!("glm {}", self.family),
        }
    }

    fn build(&self, formula: &Formula) -> Result<Box<dyn Method>, String> {
        let fitter = GlmFitter::new(formula, self.clone()).map_err(|e| e.to_string())?;
        Ok(Box::new(GlmMethod {
            formula: formula.clone(),
            fitter,
        }))
    }
}

impl ModelOptions for GlmmOptions {
    const MODEL: &'static str = "glmm";
    const MIXED: bool = true;
    const TWIN: &'static str = "glm";

    fn describe(&self) -> String {
        let approximation = match self.nagq {
            0 => "nAGQ = 0".to_string(),
            1 => "Laplace".to_string(),
            k => format!("adaptive Gauss-Hermite, {k} points"),
        };
        format!("glmm {} ({approximation}, Wald z)", self.family)
    }

    fn build(&self, formula: &Formula) -> Result<Box<dyn Method>, String> {
        let fitter = GlmmFitter::new(formula, self.clone()).map_err(|e| e.to_string())?;
        Ok(Box::new(MixedMethod {
            formula: formula.clone(),
            fitter,
        }))
    }
}

impl<O: ModelOptions> MethodSpec for FormulaSpec<O> {
    fn model(&self) -> &str {
        O::MODEL
    }

    fn formula(&self) -> Option<&str> {
        Some(self.formula.text())
    }

    fn describe(&self) -> String {
        self.options.describe()
    }

    fn columns(&self) -> Vec<ColumnUse> {
        self.columns.clone()
    }

    fn response(&self) -> Option<&str> {
        Some(self.formula.response())
    }

    fn build(&self) -> Result<Box<dyn Method>, String> {
        self.options.build(&self.formula)
    }
}

/// A worker's mixed-model workspace: an LMM's or a GLMM's fitter ([`MixedFitter`]).
struct MixedMethod<F> {
    formula: Formula,
    fitter: F,
}

/// What a mixed-model method needs of its fitter: a fit of the data set, its fixed effects as
/// estimates, its variance components and its status.
trait MixedFitter: Send + 'static {
    type Fit;
    fn fit_data(&mut self, data: &dyn Columns) -> Result<&Self::Fit, String>;
    /// The coding of the categorical variables, for the names of the fixed-effects terms.
    fn contrasts(&self) -> &BTreeMap<String, Contrast>;
    /// The fixed effects as estimates (t tests for an LMM, Wald z tests for a GLMM).
    fn fixed_effects(fit: &Self::Fit, estimates: &mut Estimates<'_>);
    fn varcorr(fit: &Self::Fit) -> &[VarComp];
    fn outcome(fit: &Self::Fit) -> Outcome;
}

impl MixedFitter for LmmFitter {
    type Fit = LmmFit;
    fn fit_data(&mut self, data: &dyn Columns) -> Result<&LmmFit, String> {
        self.fit(data).map_err(|e| e.to_string())
    }
    fn contrasts(&self) -> &BTreeMap<String, Contrast> {
        &self.options().contrasts
    }
    fn fixed_effects(fit: &LmmFit, estimates: &mut Estimates<'_>) {
        coefficients(&fit.coefficients, estimates);
    }
    fn varcorr(fit: &LmmFit) -> &[VarComp] {
        &fit.varcorr
    }
    fn outcome(fit: &LmmFit) -> Outcome {
        mixed_outcome(fit.converged, fit.singular, &fit.messages, fit.evaluations)
    }
}

impl MixedFitter for GlmmFitter {
    type Fit = GlmmFit;
    fn fit_data(&mut self, data: &dyn Columns) -> Result<&GlmmFit, String> {
        self.fit(data).map_err(|e| e.to_string())
    }
    fn contrasts(&self) -> &BTreeMap<String, Contrast> {
        &self.options().contrasts
    }
    fn fixed_effects(fit: &GlmmFit, estimates: &mut Estimates<'_>) {
        wald_coefficients(&fit.coefficients, estimates);
    }
    fn varcorr(fit: &GlmmFit) -> &[VarComp] {
        &fit.varcorr
    }
    fn outcome(fit: &GlmmFit) -> Outcome {
        mixed_outcome(fit.converged, fit.singular, &fit.messages, fit.evaluations)
    }
}

impl<F: MixedFitter> Method for MixedMethod<F> {
    fn fit(
        &mut self,
        data: &dyn Columns,
        _context: &mut Context<'_>,
        estimates: &mut Estimates<'_>,
    ) -> Result<Outcome, FitFailure> {
        let fit = self.fitter.fit_data(data).map_err(FitFailure)?;
        F::fixed_effects(fit, estimates);
        variance_components(F::varcorr(fit), estimates);
        Ok(F::outcome(fit))
    }

    /// The fixed effects (named with the method's contrasts) and, from a fit, the variance components.
    fn terms(
        &mut self,
        data: &dyn Columns,
        _context: &mut Context<'_>,
    ) -> Result<Vec<String>, FitFailure> {
        let mut terms = fixed_terms(&self.formula, data, self.fitter.contrasts())?;
        if let Ok(fit) = self.fitter.fit_data(data) {
            terms.extend(F::varcorr(fit).iter().map(variance_term));
        }
        Ok(terms)
    }
}

/// A worker's least-squares workspace.
struct OlsMethod {
    formula: Formula,
    /// The coding of the categorical variables, for the names of `terms`.
    contrasts: BTreeMap<String, Contrast>,
    fitter: OlsFitter,
}

impl Method for OlsMethod {
    fn fit(
        &mut self,
        data: &dyn Columns,
        _context: &mut Context<'_>,
        estimates: &mut Estimates<'_>,
    ) -> Result<Outcome, FitFailure> {
        let fit = self
            .fitter
            .fit(data)
            .map_err(|e| FitFailure(e.to_string()))?;
        coefficients(&fit.coefficients, estimates);
        Ok(Outcome::OK)
    }

    fn terms(
        &mut self,
        data: &dyn Columns,
        _context: &mut Context<'_>,
    ) -> Result<Vec<String>, FitFailure> {
        fixed_terms(&self.formula, data, &self.contrasts)
    }
}

/// A worker's GLM workspace.
struct GlmMethod {
    formula: Formula,
    fitter: GlmFitter,
}

impl Method for GlmMethod {
    fn fit(
        &mut self,
        data: &dyn Columns,
        _context: &mut Context<'_>,
        estimates: &mut Estimates<'_>,
    ) -> Result<Outcome, FitFailure> {
        let fit = self
            .fitter
            .fit(data)
            .map_err(|e| FitFailure(e.to_string()))?;
        wald_coefficients(&fit.coefficients, estimates);
        let aliased: Vec<&str> = fit
            .coefficients
            .iter()
            .filter(|k| k.aliased)
            .map(|k| k.term.as_str())
            .collect();
        let (status, mut message) = match fit.status {
            GlmStatus::Converged => (FitStatus::Ok, None),
            GlmStatus::NotConverged => (
                FitStatus::NotConverged,
                Some(format!(
                    "IRLS did not converge in {} iterations",
                    fit.iterations
                )),
            ),
            GlmStatus::Separation => (
                FitStatus::Separation,
                Some(format!(
                    "separation: {} observation(s) fitted at the boundary, the estimates run off",
                    fit.diverging
                )),
            ),
        };
        if !aliased.is_empty() {
            let note = format!("aliased (not estimated, R's NA): {}", aliased.join(", "));
            message = Some(match message {
                Some(m) => format!("{m}; {note}"),
                None => note,
            });
        }
        Ok(Outcome {
            status,
            message,
            iterations: fit.iterations as u64,
        })
    }

    fn terms(
        &mut self,
        data: &dyn Columns,
        _context: &mut Context<'_>,
    ) -> Result<Vec<String>, FitFailure> {
        fixed_terms(&self.formula, data, &self.fitter.options().contrasts)
    }
}

/// Wald z coefficients as estimates (aliased ones left out: they have no estimate).
fn wald_coefficients(coefficients: &[GlmCoefficient], estimates: &mut Estimates<'_>) {
    for k in coefficients.iter().filter(|k| !k.aliased) {
        let e = estimates.push(&k.term, TermKind::Fixed, k.estimate);
        e.se = Some(k.se);
        e.ci_lower = Some(k.ci_lower);
        e.ci_upper = Some(k.ci_upper);
        e.p_value = Some(k.p_value);
    }
}

/// A mixed model's variance components as estimates.
fn variance_components(varcorr: &[VarComp], estimates: &mut Estimates<'_>) {
    for vc in varcorr {
        estimates.push_named(
            |name| write_variance_term(name, vc),
            TermKind::Variance,
            vc.sd_or_cor,
        );
    }
}

/// A mixed model's status: not converged, singular, or ok.
fn mixed_outcome(
    converged: bool,
    singular: bool,
    messages: &[String],
    evaluations: usize,
) -> Outcome {
    let (status, message) = if !converged {
        (FitStatus::NotConverged, Some(messages.join("; ")))
    } else if singular {
        (
            FitStatus::Singular,
            Some("singular fit: a variance component is (nearly) zero".to_string()),
        )
    } else {
        (FitStatus::Ok, None)
    };
    Outcome {
        status,
        message,
        iterations: evaluations as u64,
    }
}

/// The names of the fixed-effects terms `formula` makes of `data` with these `contrasts`.
fn fixed_terms(
    formula: &Formula,
    data: &dyn Columns,
    contrasts: &BTreeMap<String, Contrast>,
) -> Result<Vec<String>, FitFailure> {
    formula
        .fixed_term_names_with(data, contrasts)
        .map_err(|e| FitFailure(e.to_string()))
}

/// A coefficient table as estimates with t (or z, for an infinite df) inference.
fn coefficients(coefficients: &[Coefficient], estimates: &mut Estimates<'_>) {
    for k in coefficients {
        let e = estimates.push(&k.term, TermKind::Fixed, k.estimate);
        e.se = Some(k.se);
        e.df = k.df.is_finite().then_some(k.df);
        e.ci_lower = Some(k.ci_lower);
        e.ci_upper = Some(k.ci_upper);
        e.p_value = Some(k.p_value);
    }
}

/// The stored name of a variance component, as broom.mixed names them: `sd__(Intercept)|group`,
/// `cor__(Intercept).X|group`, and `sigma` for the residual SD.
pub fn variance_term(vc: &VarComp) -> String {
    let mut name = String::new();
    write_variance_term(&mut name, vc);
    name
}

/// [`variance_term`] appended to `out` (no allocation once `out` has grown).
fn write_variance_term(out: &mut String, vc: &VarComp) {
    // Writing into a String cannot fail.
    let _ = match (&vc.term1, &vc.term2) {
        (None, _) => write!(out, "sigma"),
        (Some(t1), None) => write!(out, "sd__{t1}|{}", vc.group),
        (Some(t1), Some(t2)) => write!(out, "cor__{t1}.{t2}|{}", vc.group),
    };
}
