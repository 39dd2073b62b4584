//! `lmer` and `ols`: a model (formula, options, workspace, data buffers) fitted to one data set after
//! another, each fit with the GIL released, and its results.

use std::collections::BTreeMap;
use std::sync::Arc;

use parsim_lmm::{
    Coefficient, Columns, Contrast, Distribution, Family, Formula, GlmCoefficient, GlmFit,
    GlmFitter, GlmOptions, GlmmFit, GlmmFitter, GlmmOptions, Link, LmmFit, LmmFitter, LmmOptions,
    OlsFit, OlsFitter, OlsOptions, SummaryHeader, VarComp,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::columns::Buffers;
use crate::FitError;

/// A model's options, from which its workspace is built.
#[derive(Clone)]
enum Spec {
    Lmm(LmmOptions),
    Ols(OlsOptions),
    Glm(GlmOptions),
    Glmm(GlmmOptions),
}

impl Spec {
    fn contrasts_mut(&mut self) -> &mut BTreeMap<String, Contrast> {
        match self {
            Spec::Lmm(o) => &mut o.contrasts,
            Spec::Ols(o) => &mut o.contrasts,
            Spec::Glm(o) => &mut o.contrasts,
            Spec::Glmm(o) => &mut o.contrasts,
        }
    }

    /// The workspace of these options, or the library's message for a model it cannot fit.
    fn build(&self, formula: &Formula) -> PyResult<Engine> {
        let engine = match self {
            Spec::Lmm(o) => LmmFitter::new(formula, o.clone()).map(Engine::Lmm),
            Spec::Ols(o) => OlsFitter::new(formula, o.clone()).map(Engine::Ols),
            Spec::Glm(o) => GlmFitter::new(formula, o.clone()).map(Engine::Glm),
            Spec::Glmm(o) => GlmmFitter::new(formula, o.clone()).map(Engine::Glmm),
        };
        engine.map_err(|e| FitError::new_err(e.to_string()))
    }
}

/// The workspace of one kind of model.
// One per model object, never in a collection: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Engine {
    Lmm(LmmFitter),
    Ols(OlsFitter),
    Glm(GlmFitter),
    Glmm(GlmmFitter),
}

impl Engine {
    /// One fit of `data`, its result copied out of the workspace.
    fn fit(&mut self, data: &dyn Columns) -> Result<Fitted, parsim_lmm::FitError> {
        Ok(match self {
            Engine::Lmm(f) => Fitted::Lmm(f.fit(data)?.clone()),
            Engine::Ols(f) => Fitted::Ols(f.fit(data)?.clone()),
            Engine::Glm(f) => {
                let family = f.options().family;
                Fitted::Glm(f.fit(data)?.clone(), family)
            }
            Engine::Glmm(f) => {
                let family = f.options().family;
                Fitted::Glmm(f.fit(data)?.clone(), family)
            }
        })
    }

    /// One fit of `data`, its result left in the workspace (for benchmarks).
    fn fit_only(&mut self, data: &dyn Columns) -> Result<(), parsim_lmm::FitError> {
        match self {
            Engine::Lmm(f) => f.fit(data).map(drop),
            Engine::Ols(f) => f.fit(data).map(drop),
            Engine::Glm(f) => f.fit(data).map(drop),
            Engine::Glmm(f) => f.fit(data).map(drop),
        }
    }
}

/// A model formula with its options and workspace: `fit` it to data sets of one shape, again and
/// again, reusing the workspace (lme4's structure, the optimizer, the data buffers).
#[pyclass(module = "parsim._parsim")]
pub struct Model {
    formula: Arc<Formula>,
    spec: Spec,
    engine: Engine,
    /// The coding of every categorical variable (`contrasts="sum"`), applied at the first fit,
    /// when the data say which variables are categorical.
    all_contrasts: Option<Contrast>,
    cluster: Option<String>,
    weights: Option<String>,
    buffers: Buffers,
}

/// A formula, parsed, or the error `parsim fit` prints for it.
fn parse(text: &str) -> PyResult<Formula> {
    Formula::parse(text).map_err(|e| FitError::new_err(e.located(text)))
}

fn check_level(level: f64) -> PyResult<()> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(PyValueError::new_err(format!(
            "level must be between 0 and 1 (e.g. 0.95), got {level}"
        )))
    }
}

/// The contrasts argument: `None`, a coding for every categorical variable (`"sum"`), or a dict
/// variable → coding; a coding is R's name (`"contr.sum"`, `"contr.treatment"`) or its short form.
struct ContrastsArg {
    named: BTreeMap<String, Contrast>,
    all: Option<Contrast>,
}

fn coding(text: &str, what: &str) -> PyResult<Contrast> {
    Contrast::from_r_name(text).ok_or_else(|| {
        PyValueError::new_err(format!(
            "contrasts{what}: the coding must be 'sum' or 'treatment' (contr.sum, contr.treatment), got '{text}'"
        ))
    })
}

fn contrasts_arg(arg: Option<&Bound<'_, PyAny>>) -> PyResult<ContrastsArg> {
    let mut out = ContrastsArg {
        named: BTreeMap::new(),
        all: None,
    };
    let Some(arg) = arg.filter(|a| !a.is_none()) else {
        return Ok(out);
    };
    if let Ok(text) = arg.extract::<String>() {
        out.all = Some(coding(&text, "")?);
    } else if let Ok(map) = arg.extract::<BTreeMap<String, String>>() {
        for (name, text) in map {
            let c = coding(&text, &format!("['{name}']"))?;
            out.named.insert(name, c);
        }
    } else {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "contrasts: expected a coding ('sum') or a dict {{variable: coding}}, got {}",
            arg.get_type().name()?
        )));
    }
    Ok(out)
}

/// The family of `family=` and `link=`, or a ValueError naming the allowed values.
fn family_arg(family: &str, link: Option<&str>) -> PyResult<Family> {
    let bad = |e: parsim_lmm::FamilyError| PyValueError::new_err(e.to_string());
    let distribution: Distribution = family.parse().map_err(bad)?;
    let link = link.map(str::parse::<Link>).transpose().map_err(bad)?;
    Family::new(distribution, link).map_err(bad)
}

impl Model {
    fn new(
        formula: Formula,
        mut spec: Spec,
        contrasts: ContrastsArg,
        cluster: Option<String>,
        weights: Option<String>,
    ) -> PyResult<Model> {
        *spec.contrasts_mut() = contrasts.named;
        let engine = spec.build(&formula)?;
        Ok(Model {
            formula: Arc::new(formula),
            spec,
            engine,
            all_contrasts: contrasts.all,
            cluster,
            weights,
            buffers: Buffers::default(),
        })
    }

    /// With `contrasts="sum"`: the coding of the data's categorical variables (those not named
    /// otherwise), and the workspace rebuilt with it, once.
    fn resolve_all_contrasts(&mut self, data: &str) -> PyResult<()> {
        let Some(contrast) = self.all_contrasts.take() else {
            return Ok(());
        };
        let names = self
            .formula
            .categorical_variables(&self.buffers)
            .map_err(|e| FitError::new_err(format!("{data}: {e}")))?;
        for name in names {
            self.spec.contrasts_mut().entry(name).or_insert(contrast);
        }
        self.engine = self.spec.build(&self.formula)?;
        Ok(())
    }
}

#[pymethods]
impl Model {
    /// A linear mixed model (lme4's lmer): REML or maximum likelihood, Satterthwaite df.
    #[staticmethod]
    #[pyo3(signature = (formula, reml = true, level = 0.95, weights = None, contrasts = None))]
    fn lmm(
        formula: &str,
        reml: bool,
        level: f64,
        weights: Option<String>,
        contrasts: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Model> {
        check_level(level)?;
        let spec = Spec::Lmm(LmmOptions {
            reml,
            ci_level: level,
            weights: weights.clone(),
            ..LmmOptions::default()
        });
        let contrasts = contrasts_arg(contrasts)?;
        Model::new(parse(formula)?, spec, contrasts, None, weights)
    }

    /// A linear model by least squares (R's lm), with cluster-robust (CR1) standard errors when
    /// `cluster` names a column.
    #[staticmethod]
    #[pyo3(signature = (formula, cluster = None, level = 0.95, weights = None, contrasts = None))]
    fn ols(
        formula: &str,
        cluster: Option<String>,
        level: f64,
        weights: Option<String>,
        contrasts: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Model> {
        check_level(level)?;
        let spec = Spec::Ols(OlsOptions {
            cluster: cluster.clone(),
            ci_level: level,
            weights: weights.clone(),
            ..OlsOptions::default()
        });
        let contrasts = contrasts_arg(contrasts)?;
        Model::new(parse(formula)?, spec, contrasts, cluster, weights)
    }

    /// A generalised linear model by IRLS (R's glm): binomial or Poisson, with cluster-robust
    /// (CR1) standard errors when `cluster` names a column.
    #[staticmethod]
    #[pyo3(signature = (formula, family, link = None, cluster = None, level = 0.95, weights = None, contrasts = None))]
    fn glm(
        formula: &str,
        family: &str,
        link: Option<&str>,
        cluster: Option<String>,
        level: f64,
        weights: Option<String>,
        contrasts: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Model> {
        check_level(level)?;
        let family = family_arg(family, link)?;
        let spec = Spec::Glm(GlmOptions {
            family,
            cluster: cluster.clone(),
            ci_level: level,
            weights: weights.clone(),
            ..GlmOptions::default()
        });
        let contrasts = contrasts_arg(contrasts)?;
        Model::new(parse(formula)?, spec, contrasts, cluster, weights)
    }

    /// A generalised linear mixed model (lme4's glmer): Laplace (`nagq` 1), adaptive
    /// Gauss-Hermite quadrature (`nagq` > 1, one scalar random effect) or `nagq` 0.
    #[staticmethod]
    #[pyo3(signature = (formula, family, link = None, nagq = 1, level = 0.95, weights = None, contrasts = None))]
    fn glmm(
        formula: &str,
        family: &str,
        link: Option<&str>,
        nagq: usize,
        level: f64,
        weights: Option<String>,
        contrasts: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Model> {
        check_level(level)?;
        let family = family_arg(family, link)?;
        let spec = Spec::Glmm(GlmmOptions {
            family,
            nagq,
            ci_level: level,
            weights: weights.clone(),
            ..GlmmOptions::default()
        });
        let contrasts = contrasts_arg(contrasts)?;
        Model::new(parse(formula)?, spec, contrasts, None, weights)
    }

    /// The formula as written.
    #[getter]
    fn formula(&self) -> &str {
        self.formula.text()
    }

    /// The columns a fit reads: the formula's variables, then the weights and cluster columns.
    #[getter]
    fn variables(&self) -> Vec<String> {
        let mut names = self.formula.variables();
        for c in self.weights.iter().chain(&self.cluster) {
            if !names.contains(c) {
                names.push(c.clone());
            }
        }
        names
    }

    /// Fit to `columns` ((name, float64 or int64 array or list of str) pairs, complete cases);
    /// `data` names the data in messages and the summary, `dropped` counts the rows dropped before.
    fn fit(
        &mut self,
        py: Python<'_>,
        columns: Vec<(String, Bound<'_, PyAny>)>,
        data: String,
        dropped: usize,
    ) -> PyResult<Py<PyAny>> {
        self.buffers.fill(&columns)?;
        self.resolve_all_contrasts(&data)?;
        let (engine, buffers) = (&mut self.engine, &self.buffers);
        let fitted = py.detach(|| engine.fit(buffers));
        let fitted = fitted.map_err(|e| FitError::new_err(format!("{data}: {e}")))?;
        let header = Header {
            formula: self.formula.clone(),
            data,
            weights: self.weights.clone(),
            dropped,
        };
        Ok(match fitted {
            Fitted::Lmm(fit) => Py::new(py, LmmResult { fit, header })?.into_any(),
            Fitted::Ols(fit) => Py::new(py, OlsResult { fit, header })?.into_any(),
            Fitted::Glm(fit, family) => Py::new(
                py,
                GlmResult {
                    fit,
                    header,
                    family,
                },
            )?
            .into_any(),
            Fitted::Glmm(fit, family) => Py::new(
                py,
                GlmmResult {
                    fit,
                    header,
                    family,
                },
            )?
            .into_any(),
        })
    }

    /// For benchmarks: the mean wall time in seconds of `repeats` fits, in Rust alone, of the data
    /// the last `fit` copied (no conversion, no result object), against which a call from Python
    /// is measured.
    fn _native_fit_seconds(&mut self, py: Python<'_>, repeats: usize) -> PyResult<f64> {
        let (engine, buffers) = (&mut self.engine, &self.buffers);
        let repeats = repeats.max(1);
        py.detach(|| {
            let started = std::time::Instant::now();
            for _ in 0..repeats {
                engine
                    .fit_only(buffers)
                    .map_err(|e| FitError::new_err(e.to_string()))?;
            }
            Ok(started.elapsed().as_secs_f64() / repeats as f64)
        })
    }
}

enum Fitted {
    Lmm(LmmFit),
    Ols(OlsFit),
    Glm(GlmFit, Family),
    Glmm(GlmmFit, Family),
}

/// What a result's summary says besides the fit.
struct Header {
    formula: Arc<Formula>,
    data: String,
    weights: Option<String>,
    dropped: usize,
}

impl Header {
    fn get(&self) -> SummaryHeader<'_> {
        SummaryHeader {
            formula: &self.formula,
            data: &self.data,
            weights: self.weights.as_deref(),
            dropped_rows: self.dropped,
        }
    }
}

/// The coefficient table by columns: term, estimate, se, df, t, p, ci_lower, ci_upper.
type CoefColumns = (
    Vec<String>,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
);

fn coef_columns(coefficients: &[Coefficient]) -> CoefColumns {
    let column = |f: fn(&Coefficient) -> f64| coefficients.iter().map(f).collect::<Vec<f64>>();
    (
        coefficients.iter().map(|c| c.term.clone()).collect(),
        column(|c| c.estimate),
        column(|c| c.se),
        column(|c| c.df),
        column(|c| c.t),
        column(|c| c.p_value),
        column(|c| c.ci_lower),
        column(|c| c.ci_upper),
    )
}

/// lme4's VarCorr by columns: grp, var1, var2, vcov, sdcor.
type VarCorrColumns = (
    Vec<String>,
    Vec<Option<String>>,
    Vec<Option<String>>,
    Vec<f64>,
    Vec<f64>,
);

fn varcorr_columns(v: &[VarComp]) -> VarCorrColumns {
    (
        v.iter().map(|c| c.group.clone()).collect(),
        v.iter().map(|c| c.term1.clone()).collect(),
        v.iter().map(|c| c.term2.clone()).collect(),
        v.iter().map(|c| c.variance).collect(),
        v.iter().map(|c| c.sd_or_cor).collect(),
    )
}

/// A GLM's or GLMM's coefficients by columns: term, estimate, se, z, p, ci_lower, ci_upper.
type ZCoefColumns = (
    Vec<String>,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
);

fn z_coef_columns(coefficients: &[GlmCoefficient]) -> ZCoefColumns {
    let column = |f: fn(&GlmCoefficient) -> f64| coefficients.iter().map(f).collect::<Vec<f64>>();
    (
        coefficients.iter().map(|c| c.term.clone()).collect(),
        column(|c| c.estimate),
        column(|c| c.se),
        column(|c| c.z),
        column(|c| c.p_value),
        column(|c| c.ci_lower),
        column(|c| c.ci_upper),
    )
}

/// `d[name] = f.name` for each field name (each a value Python can take by reference).
macro_rules! set_fields {
    ($d:expr, $f:expr, $($field:ident),+ $(,)?) => {
        $( $d.set_item(stringify!($field), &$f.$field)?; )+
    };
}

/// A fitted linear mixed model.
#[pyclass(module = "parsim._parsim", frozen)]
pub struct LmmResult {
    fit: LmmFit,
    header: Header,
}

#[pymethods]
impl LmmResult {
    /// The fixed effects by columns: term, estimate, se, df (Satterthwaite), t, p, ci_lower, ci_upper.
    fn coef_columns(&self) -> CoefColumns {
        coef_columns(&self.fit.coefficients)
    }

    /// lme4's VarCorr by columns: grp, var1, var2, vcov, sdcor.
    fn varcorr_columns(&self) -> VarCorrColumns {
        varcorr_columns(&self.fit.varcorr)
    }

    /// Everything else of the fit by name: sigma, theta, loglik, criterion, reml, aic, bic, nobs,
    /// ngroups, converged, singular, evaluations, messages, vcov (p×p column-major), dropped_rows.
    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let f = &self.fit;
        let d = PyDict::new(py);
        set_fields!(d, f, sigma, theta, loglik, criterion, reml, aic, bic, nobs, vcov);
        set_fields!(d, f, ngroups, converged, singular, evaluations, messages);
        d.set_item("dropped_rows", self.header.dropped)?;
        Ok(d)
    }
    /// The lmer-style summary, as `parsim fit` prints it.
    fn summary(&self) -> String {
        self.fit.summary(&self.header.get())
    }
}

/// A fitted linear model.
#[pyclass(module = "parsim._parsim", frozen)]
pub struct OlsResult {
    fit: OlsFit,
    header: Header,
}

#[pymethods]
impl OlsResult {
    /// The coefficients by columns: term, estimate, se, df, t, p, ci_lower, ci_upper.
    fn coef_columns(&self) -> CoefColumns {
        coef_columns(&self.fit.coefficients)
    }
    /// Everything else of the fit by name: sigma, nobs, df_residual, r_squared, nclusters, vcov
    /// (p×p column-major), dropped_rows.
    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let f = &self.fit;
        let d = PyDict::new(py);
        set_fields!(d, f, sigma, nobs, df_residual, r_squared, nclusters, vcov);
        d.set_item("dropped_rows", self.header.dropped)?;
        Ok(d)
    }
    /// The lm-style summary, as `parsim fit` prints it.
    fn summary(&self) -> String {
        self.fit.summary(&self.header.get())
    }
}

/// `d["family"]` and `d["link"]`, by name.
fn set_family(d: &Bound<'_, PyDict>, family: Family) -> PyResult<()> {
    d.set_item("family", family.distribution.to_string())?;
    d.set_item("link", family.link.to_string())
}

/// A fitted generalised linear model.
#[pyclass(module = "parsim._parsim", frozen)]
pub struct GlmResult {
    fit: GlmFit,
    header: Header,
    family: Family,
}

#[pymethods]
impl GlmResult {
    /// The coefficients by columns: term, estimate, se, z, p, ci_lower, ci_upper (Wald).
    fn coef_columns(&self) -> ZCoefColumns {
        z_coef_columns(&self.fit.coefficients)
    }
    /// Everything else of the fit by name: family, link, loglik, deviance, null_deviance, aic,
    /// bic, nobs, df_residual, df_null, iterations, status, converged, diverging, nclusters, vcov
    /// (p×p column-major), dropped_rows.
    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let f = &self.fit;
        let d = PyDict::new(py);
        set_family(&d, self.family)?;
        set_fields!(d, f, loglik, deviance, null_deviance, aic, bic, nobs, vcov);
        set_fields!(d, f, df_residual, df_null, iterations, diverging, nclusters);
        d.set_item("status", f.status.name())?;
        d.set_item("converged", f.status == parsim_lmm::GlmStatus::Converged)?;
        d.set_item("dropped_rows", self.header.dropped)?;
        Ok(d)
    }
    /// R's summary.glm, as `parsim fit --family` prints it.
    fn summary(&self) -> String {
        self.fit.summary(&self.header.get(), self.family)
    }
}

/// A fitted generalised linear mixed model.
#[pyclass(module = "parsim._parsim", frozen)]
pub struct GlmmResult {
    fit: GlmmFit,
    header: Header,
    family: Family,
}

#[pymethods]
impl GlmmResult {
    /// The fixed effects by columns: term, estimate, se, z, p, ci_lower, ci_upper (Wald).
    fn coef_columns(&self) -> ZCoefColumns {
        z_coef_columns(&self.fit.coefficients)
    }
    /// lme4's VarCorr by columns: grp, var1, var2, vcov, sdcor.
    fn varcorr_columns(&self) -> VarCorrColumns {
        varcorr_columns(&self.fit.varcorr)
    }
    /// Everything else of the fit by name: family, link, theta, loglik, deviance, criterion
    /// (−2 log-likelihood), aic, bic, nobs, nagq, ngroups, converged, singular, status,
    /// evaluations, messages, vcov (p×p column-major), dropped_rows.
    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let f = &self.fit;
        let d = PyDict::new(py);
        set_family(&d, self.family)?;
        set_fields!(d, f, theta, loglik, deviance, criterion, aic, bic, nobs, vcov, nagq);
        set_fields!(d, f, ngroups, converged, singular, evaluations, messages);
        let status = if f.converged {
            "converged"
        } else {
            "not_converged"
        };
        d.set_item("status", status)?;
        d.set_item("dropped_rows", self.header.dropped)?;
        Ok(d)
    }
    /// glmer's summary, as `parsim fit --family` prints it.
    fn summary(&self) -> String {
        self.fit.summary(&self.header.get(), self.family)
    }
}

/// What to say after "no column 'NAME'": a near miss among `columns`, or nothing.
#[pyfunction]
fn unknown_column_note(name: &str, columns: Vec<String>) -> String {
    parsim_lmm::unknown_column_note(name, columns)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_class::<LmmResult>()?;
    m.add_class::<OlsResult>()?;
    m.add_class::<GlmResult>()?;
    m.add_class::<GlmmResult>()?;
    m.add_function(wrap_pyfunction!(unknown_column_note, m)?)?;
    Ok(())
}
