//! `parsim._parsim`, the native half of the Python package `parsim`: a thin layer over the `parsim`
//! and `parsim-lmm` libraries. The pure-Python half (`python/parsim`) turns data frames into columns
//! and columns into data frames; this crate fits, runs and reads, with the GIL released while it
//! computes. Nothing here keeps process-global state: no signal handler, no panic hook.

mod columns;
mod models;
mod study;

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    _parsim,
    ParsimError,
    PyException,
    "Base class of parsim's errors."
);
create_exception!(
    _parsim,
    FitError,
    ParsimError,
    "A model that cannot be fitted: a bad formula, a missing or unusable column, data that cannot \
     identify the model. The message names the column, row or term, as `parsim fit` does."
);
create_exception!(
    _parsim,
    StudyError,
    ParsimError,
    "A study that cannot be loaded, checked or run: the message names the file, line and column \
     with a caret, as the `parsim` command does."
);

/// The native module.
#[pymodule]
fn _parsim(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ParsimError", py.get_type::<ParsimError>())?;
    m.add("FitError", py.get_type::<FitError>())?;
    m.add("StudyError", py.get_type::<StudyError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    models::register(m)?;
    study::register(m)?;
    Ok(())
}
