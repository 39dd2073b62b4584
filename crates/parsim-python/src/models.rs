//! `lmer` and `ols`: a model (formula, options, workspace, data buffers) fitted to one data set after
//! another, each fit with the GIL released, and its results.

use std::sync::Arc;

use parsim_lmm::{
    Coefficient, Formula, LmmFit, LmmFitter, LmmOptions, OlsFit, OlsFitter, OlsOptions,
    SummaryHeader,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::columns::Buffers;
use crate::FitError;

/// The workspace of one kind of model.
// One per model object, never in a collection: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Engine {
    Lmm(LmmFitter),
    Ols(OlsFitter),
}

/// A model formula with its options and workspace: `fit` it to data sets of one shape, again and
/// again, reusing the workspace (lme4's structure, the optimizer, the data buffers).
#[pyclass(module = "parsim._parsim")]
pub struct Model {
    formula: Arc<Formula>,
    engine: Engine,
    cluster: Option<String>,
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

#[pymethods]
impl Model {
    /// A linear mixed model (lme4's lmer): REML or maximum likelihood, Satterthwaite df.
    #[staticmethod]
    #[pyo3(signature = (formula, reml = true, level = 0.95))]
    fn lmm(formula: &str, reml: bool, level: f64) -> PyResult<Model> {
        check_level(level)?;
        let parsed = parse(formula)?;
        let options = LmmOptions {
            reml,
            ci_level: level,
            ..LmmOptions::default()
        };
        let fitter =
            LmmFitter::new(&parsed, options).map_err(|e| FitError::new_err(e.to_string()))?;
        Ok(Model {
            formula: Arc::new(parsed),
            engine: Engine::Lmm(fitter),
            cluster: None,
            buffers: Buffers::default(),
        })
    }

    /// A linear model by least squares (R's lm), with cluster-robust (CR1) standard errors when
    /// `cluster` names a column.
    #[staticmethod]
    #[pyo3(signature = (formula, cluster = None, level = 0.95))]
    fn ols(formula: &str, cluster: Option<String>, level: f64) -> PyResult<Model> {
        check_level(level)?;
        let parsed = parse(formula)?;
        let options = OlsOptions {
            cluster: cluster.clone(),
            ci_level: level,
            ..OlsOptions::default()
        };
        let fitter =
            OlsFitter::new(&parsed, options).map_err(|e| FitError::new_err(e.to_string()))?;
        Ok(Model {
            formula: Arc::new(parsed),
            engine: Engine::Ols(fitter),
            cluster,
            buffers: Buffers::default(),
        })
    }

    /// The formula as written.
    #[getter]
    fn formula(&self) -> &str {
        self.formula.text()
    }

    /// The columns a fit reads: the formula's variables, then the cluster column.
    #[getter]
    fn variables(&self) -> Vec<String> {
        let mut names = self.formula.variables();
        if let Some(c) = &self.cluster {
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
        let (engine, buffers) = (&mut self.engine, &self.buffers);
        let fitted = py.detach(|| match engine {
            Engine::Lmm(f) => f.fit(buffers).map(|fit| Fitted::Lmm(fit.clone())),
            Engine::Ols(f) => f.fit(buffers).map(|fit| Fitted::Ols(fit.clone())),
        });
        let fitted = fitted.map_err(|e| FitError::new_err(format!("{data}: {e}")))?;
        let header = Header {
            formula: self.formula.clone(),
            data,
            dropped,
        };
        Ok(match fitted {
            Fitted::Lmm(fit) => Py::new(py, LmmResult { fit, header })?.into_any(),
            Fitted::Ols(fit) => Py::new(py, OlsResult { fit, header })?.into_any(),
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
                let ok = match engine {
                    Engine::Lmm(f) => f.fit(buffers).map(drop),
                    Engine::Ols(f) => f.fit(buffers).map(drop),
                };
                ok.map_err(|e| FitError::new_err(e.to_string()))?;
            }
            Ok(started.elapsed().as_secs_f64() / repeats as f64)
        })
    }
}

enum Fitted {
    Lmm(LmmFit),
    Ols(OlsFit),
}

/// What a result's summary says besides the fit.
struct Header {
    formula: Arc<Formula>,
    data: String,
    dropped: usize,
}

impl Header {
    fn get(&self) -> SummaryHeader<'_> {
        SummaryHeader {
            formula: &self.formula,
            data: &self.data,
            weights: None,
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
    #[allow(clippy::type_complexity)]
    fn varcorr_columns(
        &self,
    ) -> (
        Vec<String>,
        Vec<Option<String>>,
        Vec<Option<String>>,
        Vec<f64>,
        Vec<f64>,
    ) {
        let v = &self.fit.varcorr;
        (
            v.iter().map(|c| c.group.clone()).collect(),
            v.iter().map(|c| c.term1.clone()).collect(),
            v.iter().map(|c| c.term2.clone()).collect(),
            v.iter().map(|c| c.variance).collect(),
            v.iter().map(|c| c.sd_or_cor).collect(),
        )
    }

    /// Everything else of the fit by name: sigma, theta, loglik, criterion, reml, aic, bic, nobs,
    /// ngroups, converged, singular, evaluations, messages, vcov (p×p column-major), dropped_rows.
    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let f = &self.fit;
        let d = PyDict::new(py);
        d.set_item("sigma", f.sigma)?;
        d.set_item("theta", &f.theta)?;
        d.set_item("loglik", f.loglik)?;
        d.set_item("criterion", f.criterion)?;
        d.set_item("reml", f.reml)?;
        d.set_item("aic", f.aic)?;
        d.set_item("bic", f.bic)?;
        d.set_item("nobs", f.nobs)?;
        d.set_item("ngroups", f.ngroups.clone())?;
        d.set_item("converged", f.converged)?;
        d.set_item("singular", f.singular)?;
        d.set_item("evaluations", f.evaluations)?;
        d.set_item("messages", &f.messages)?;
        d.set_item("vcov", &f.vcov)?;
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
        d.set_item("sigma", f.sigma)?;
        d.set_item("nobs", f.nobs)?;
        d.set_item("df_residual", f.df_residual)?;
        d.set_item("r_squared", f.r_squared)?;
        d.set_item("nclusters", f.nclusters)?;
        d.set_item("vcov", &f.vcov)?;
        d.set_item("dropped_rows", self.header.dropped)?;
        Ok(d)
    }
    /// The lm-style summary, as `parsim fit` prints it.
    fn summary(&self) -> String {
        self.fit.summary(&self.header.get())
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
    m.add_function(wrap_pyfunction!(unknown_column_note, m)?)?;
    Ok(())
}
