//! Studies: load and check a study file, generate its data sets, run it (with the GIL released,
//! Ctrl-C stopping it cleanly) and read a results directory.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use numpy::PyArray1;
use parsim::measures::{self, MeasuresError, SummarySettings};
use parsim::report::{self, Format};
use parsim::run::{self, Observer, RunError, RunOptions, RunReport};
use parsim::store::{Store, StoreError};
use parsim::study::{Study as LoadedStudy, StudyError as LoadError};
use parsim_lmm::ColumnRef;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::StudyError;

/// How often a run's caller wakes up to look for Ctrl-C (Python's signal handlers run only on the
/// main thread, holding the GIL) and to show progress.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

fn study_error(e: LoadError) -> PyErr {
    match e {
        LoadError::Invalid { rendered, .. } => StudyError::new_err(rendered),
        other => StudyError::new_err(other.to_string()),
    }
}

/// A loaded, validated study file.
#[pyclass(module = "parsim._parsim", frozen)]
pub struct Study {
    study: LoadedStudy,
}

#[pymethods]
impl Study {
    /// Reads and validates the study file at `path`.
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Study> {
        let study = LoadedStudy::load(&path).map_err(study_error)?;
        Ok(Study { study })
    }

    /// Validates a study given as text; `path` names it in messages, and its directory is where
    /// the methods' file names are looked up.
    #[staticmethod]
    fn from_toml(text: String, path: PathBuf) -> PyResult<Study> {
        let study = LoadedStudy::from_source(&path, text).map_err(study_error)?;
        Ok(Study { study })
    }

    #[getter]
    fn name(&self) -> &str {
        &self.study.name
    }
    #[getter]
    fn path(&self) -> PathBuf {
        self.study.path.clone()
    }
    #[getter]
    fn source(&self) -> &str {
        &self.study.source
    }
    #[getter]
    fn replications(&self) -> u64 {
        self.study.replications
    }
    #[getter]
    fn seed(&self) -> u64 {
        self.study.seed
    }

    /// The design grid: (index, [(parameter, value), ...]) per condition.
    fn conditions(&self) -> Vec<(usize, Vec<(String, f64)>)> {
        self.study
            .conditions()
            .iter()
            .map(|c| (c.index, c.values.clone()))
            .collect()
    }

    /// The methods: (name, model, description).
    fn methods(&self) -> Vec<(String, String, String)> {
        self.study
            .methods
            .iter()
            .map(|m| {
                (
                    m.name.clone(),
                    m.spec.model().to_string(),
                    m.spec.describe(),
                )
            })
            .collect()
    }

    /// What `parsim check` verifies and prints: (the report's text, [(method, [terms])], warnings).
    #[allow(clippy::type_complexity)]
    fn check(&self, py: Python<'_>) -> PyResult<(String, Vec<(String, Vec<String>)>, Vec<String>)> {
        let study = &self.study;
        py.detach(|| {
            let report = study.check()?;
            let terms = report
                .terms
                .iter()
                .map(|t| (t.method.clone(), t.terms.clone()))
                .collect();
            Ok((report.to_string(), terms, report.warnings.clone()))
        })
        .map_err(study_error)
    }

    /// Replication `replication` of condition `condition`, as `parsim data` writes it: (name, numpy
    /// array or list of str) per variable with the data set's length.
    fn data<'py>(
        &self,
        py: Python<'py>,
        condition: usize,
        replication: u64,
    ) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
        let study = &self.study;
        let n = study.conditions().len();
        if condition >= n {
            return Err(PyValueError::new_err(format!(
                "condition {condition} does not exist: {} has {n} condition{} (0 to {})",
                study.path.display(),
                if n == 1 { "" } else { "s" },
                n - 1
            )));
        }
        let mut ws = study.program.workspace();
        py.detach(|| study.generate(&mut ws, condition, replication))
            .map_err(StudyError::new_err)?;
        let data = ws.data();
        data.columns()
            .map(|(name, column)| {
                let values = match column {
                    ColumnRef::Float(v) => PyArray1::from_slice(py, v).into_any(),
                    ColumnRef::Int(v) => PyArray1::from_slice(py, v).into_any(),
                    ColumnRef::Text(v) => PyList::new(py, v)?.into_any(),
                };
                Ok((name.to_string(), values))
            })
            .collect()
    }

    /// Runs the study into `out` (created or resumed), calling `observer.started(pending, stored)`,
    /// `observer.progress(done, failures)` and `observer.finished(done)` from this thread. Ctrl-C
    /// stops the workers after the units in flight, which are stored; the KeyboardInterrupt is then
    /// raised, and the next run resumes. Returns the run's report as a dict.
    #[pyo3(signature = (out, jobs = None, replications = None, fresh = false, observer = None))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        out: PathBuf,
        jobs: Option<usize>,
        replications: Option<u64>,
        fresh: bool,
        observer: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if jobs == Some(0) || replications == Some(0) {
            return Err(PyValueError::new_err(
                "jobs and replications must be at least 1",
            ));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let options = RunOptions {
            jobs,
            out,
            replications,
            shard: None,
            fresh,
            stop: stop.clone(),
        };
        let study = &self.study;
        let (tx, rx) = mpsc::channel::<Event>();
        let (report, pending_error) = std::thread::scope(|scope| {
            scope.spawn(move || {
                let mut forward = Forward(tx.clone());
                let report = run::run_observed(study, &options, &mut forward);
                let _ = tx.send(Event::Done(Box::new(report)));
            });
            wait_for_run(py, rx, &stop, observer.as_ref())
        });
        let report = report.map_err(|e| StudyError::new_err(e.to_string()))?;
        if let Some(error) = pending_error {
            return Err(error);
        }
        report_dict(py, &report)
    }
}

/// What the run's thread tells the caller's.
enum Event {
    Started(u64, u64),
    Progress(u64, u64),
    Finished(u64),
    Done(Box<Result<RunReport, RunError>>),
}

/// The run's observer: forwards to the caller's thread, which holds the GIL to call Python.
struct Forward(mpsc::Sender<Event>);

impl Observer for Forward {
    fn started(&mut self, pending: u64, stored: u64) {
        let _ = self.0.send(Event::Started(pending, stored));
    }
    fn progress(&mut self, done: u64, failures: u64) {
        let _ = self.0.send(Event::Progress(done, failures));
    }
    fn finished(&mut self, done: u64) {
        let _ = self.0.send(Event::Finished(done));
    }
}

/// On the caller's thread until the run ends: wait for events without the GIL, pass them to the
/// observer, and check for signals every [`SIGNAL_CHECK`]. A signal's exception (or the observer's)
/// stops the run; it is returned, to be raised once the run has stored what it finished.
fn wait_for_run(
    py: Python<'_>,
    mut rx: mpsc::Receiver<Event>,
    stop: &AtomicBool,
    observer: Option<&Bound<'_, PyAny>>,
) -> (Result<RunReport, RunError>, Option<PyErr>) {
    let mut pending_error: Option<PyErr> = None;
    loop {
        // The receiver moves into the GIL-free closure and back: a reference to it is not `Send`.
        let (event, back) = py.detach(move || (rx.recv_timeout(SIGNAL_CHECK), rx));
        rx = back;
        let called = match event {
            Ok(Event::Done(report)) => return (*report, pending_error),
            Ok(Event::Started(pending, stored)) => call(observer, "started", (pending, stored)),
            Ok(Event::Progress(done, failures)) => call(observer, "progress", (done, failures)),
            Ok(Event::Finished(done)) => call(observer, "finished", (done,)),
            Err(mpsc::RecvTimeoutError::Timeout) => Ok(()),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let error = RunError::Summary("the run's thread ended without a report".into());
                return (Err(error), pending_error);
            }
        };
        let checked = called.and_then(|()| py.check_signals());
        if let Err(e) = checked {
            stop.store(true, Ordering::SeqCst);
            pending_error.get_or_insert(e);
        }
    }
}

fn call<'py, A: pyo3::call::PyCallArgs<'py>>(
    observer: Option<&Bound<'py, PyAny>>,
    method: &str,
    args: A,
) -> PyResult<()> {
    match observer {
        Some(o) => o.call_method1(method, args).map(drop),
        None => Ok(()),
    }
}

fn report_dict<'py>(py: Python<'py>, report: &RunReport) -> PyResult<Bound<'py, PyAny>> {
    let dict = pyo3::types::PyDict::new(py);
    dict.set_item("units_total", report.units_total)?;
    dict.set_item("units_already_stored", report.units_already_stored)?;
    dict.set_item("units_completed", report.units_completed)?;
    dict.set_item("interrupted", report.interrupted)?;
    dict.set_item("seconds", report.elapsed.as_secs_f64())?;
    dict.set_item("jobs", report.jobs)?;
    dict.set_item("summary", report.summary.as_ref().map(|s| s.table.clone()))?;
    let failures: Vec<(String, &str, u64, Option<String>)> = report
        .failures
        .iter()
        .map(|(method, status, n)| {
            let example = report
                .failure_examples
                .iter()
                .find(|(m, s, _)| m == method && s == status)
                .map(|(_, _, message)| message.clone());
            (method.clone(), status.as_str(), *n, example)
        })
        .collect();
    dict.set_item("failures", failures)?;
    Ok(dict.into_any())
}

fn open_store(dir: &Path) -> PyResult<Store> {
    Store::open_existing(dir).map_err(|e| match e {
        StoreError::Missing(_) => StudyError::new_err(format!(
            "no results store in {}; give the directory a run wrote",
            dir.display()
        )),
        other => StudyError::new_err(other.to_string()),
    })
}

/// summary.csv of the results in `dir`, with the study's `[summary]` settings overridden by those
/// given.
#[pyfunction]
#[pyo3(signature = (dir, level = None, alpha = None, reference = None))]
fn summary_csv(
    py: Python<'_>,
    dir: PathBuf,
    level: Option<f64>,
    alpha: Option<f64>,
    reference: Option<String>,
) -> PyResult<String> {
    py.detach(move || {
        let store = open_store(&dir)?;
        let toml = store
            .study_toml()
            .map_err(|e| StudyError::new_err(e.to_string()))?;
        let settings = SummarySettings::from_study_toml(&toml)
            .map_err(|e| StudyError::new_err(e.to_string()))?
            .overridden(level, alpha, reference);
        settings
            .validate()
            .map_err(|e| PyValueError::new_err(format!("{e} (level / alpha)")))?;
        let summary = measures::summarise(&store, Some(settings)).map_err(|e| match e {
            MeasuresError::Settings(e) => PyValueError::new_err(e.to_string()),
            other => StudyError::new_err(other.to_string()),
        })?;
        Ok(report::render(&summary, Format::Csv, &[]))
    })
}

/// Every fit stored in `dir`, by columns: condition, replication, method, status, message,
/// iterations (-1 when not recorded), seconds (NaN when not recorded).
#[pyfunction]
#[allow(clippy::type_complexity)]
fn fits<'py>(
    py: Python<'py>,
    dir: PathBuf,
) -> PyResult<(
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
    Vec<String>,
    Vec<&'static str>,
    Vec<Option<String>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<f64>>,
)> {
    let mut columns = FitColumns::default();
    py.detach(|| {
        let store = open_store(&dir)?;
        store
            .for_each_fit(&mut |fit| {
                columns.condition.push(fit.condition as i64);
                columns.replication.push(fit.replication as i64);
                columns.method.push(fit.method.to_string());
                columns.status.push(fit.status.as_str());
                columns.message.push(fit.message.map(String::from));
                columns
                    .iterations
                    .push(fit.iterations.map_or(-1, |i| i as i64));
                columns.seconds.push(fit.seconds.unwrap_or(f64::NAN));
            })
            .map_err(|e| StudyError::new_err(e.to_string()))
    })?;
    Ok((
        PyArray1::from_vec(py, columns.condition),
        PyArray1::from_vec(py, columns.replication),
        columns.method,
        columns.status,
        columns.message,
        PyArray1::from_vec(py, columns.iterations),
        PyArray1::from_vec(py, columns.seconds),
    ))
}

#[derive(Default)]
struct FitColumns {
    condition: Vec<i64>,
    replication: Vec<i64>,
    method: Vec<String>,
    status: Vec<&'static str>,
    message: Vec<Option<String>>,
    iterations: Vec<i64>,
    seconds: Vec<f64>,
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Study>()?;
    m.add_function(wrap_pyfunction!(summary_csv, m)?)?;
    m.add_function(wrap_pyfunction!(fits, m)?)?;
    Ok(())
}
