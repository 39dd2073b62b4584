//! Data from Python as the models' [`Columns`]: numpy arrays copied into buffers that a model keeps
//! and reuses from one fit to the next, so a refit allocates nothing for its data once the buffers
//! have grown to the data's size.

use numpy::{PyReadonlyArray1, PyUntypedArrayMethods};
use parsim_lmm::{ColumnRef, Columns};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

/// One column's values, owned.
#[derive(Debug)]
enum Values {
    Float(Vec<f64>),
    Int(Vec<i64>),
    Text(Vec<String>),
}

/// Named columns copied from Python, reused across fits.
#[derive(Debug, Default)]
pub struct Buffers {
    names: Vec<String>,
    values: Vec<Values>,
    used: usize,
}

impl Buffers {
    /// Replaces the contents with `columns`: (name, a 1-d float64 or int64 numpy array, or a list of
    /// str for a factor). The Python layer has converted every other kind of column to one of these.
    pub fn fill(&mut self, columns: &[(String, Bound<'_, PyAny>)]) -> PyResult<()> {
        self.used = 0;
        for (name, column) in columns {
            let slot = self.used;
            if slot == self.values.len() {
                self.names.push(String::new());
                self.values.push(Values::Float(Vec::new()));
            }
            self.names[slot].clear();
            self.names[slot].push_str(name);
            fill_values(&mut self.values[slot], name, column)?;
            self.used += 1;
        }
        Ok(())
    }
}

/// Copies one Python column into `values`, reusing its allocation when the kind is unchanged.
fn fill_values(values: &mut Values, name: &str, column: &Bound<'_, PyAny>) -> PyResult<()> {
    if let Ok(array) = column.extract::<PyReadonlyArray1<'_, f64>>() {
        if !matches!(values, Values::Float(_)) {
            *values = Values::Float(Vec::new());
        }
        if let Values::Float(out) = values {
            copy_array(out, &array);
        }
    } else if let Ok(array) = column.extract::<PyReadonlyArray1<'_, i64>>() {
        if !matches!(values, Values::Int(_)) {
            *values = Values::Int(Vec::new());
        }
        if let Values::Int(out) = values {
            copy_array(out, &array);
        }
    } else if let Ok(text) = column.extract::<Vec<String>>() {
        *values = Values::Text(text);
    } else {
        return Err(PyTypeError::new_err(format!(
            "column '{name}': expected a float64 or int64 numpy array or a list of str, got {}",
            column.get_type().name()?
        )));
    }
    Ok(())
}

/// `out` = the array's values (strided arrays too).
fn copy_array<T: numpy::Element + Copy>(out: &mut Vec<T>, array: &PyReadonlyArray1<'_, T>) {
    out.clear();
    match array.as_slice() {
        Ok(slice) => out.extend_from_slice(slice),
        Err(_) => out.extend(array.as_array().iter().copied()),
    }
    debug_assert_eq!(out.len(), array.len());
}

impl Columns for Buffers {
    fn nrows(&self) -> usize {
        self.values[..self.used]
            .first()
            .map_or(0, |v| as_ref(v).len())
    }

    fn column(&self, name: &str) -> Option<ColumnRef<'_>> {
        let i = self.names[..self.used].iter().position(|n| n == name)?;
        Some(as_ref(&self.values[i]))
    }

    fn column_names(&self) -> Vec<String> {
        self.names[..self.used].to_vec()
    }

    fn for_each_column(&self, visit: &mut dyn FnMut(&str, ColumnRef<'_>)) {
        for (name, values) in self.names.iter().zip(&self.values).take(self.used) {
            visit(name, as_ref(values));
        }
    }
}

fn as_ref(values: &Values) -> ColumnRef<'_> {
    match values {
        Values::Float(v) => ColumnRef::Float(v),
        Values::Int(v) => ColumnRef::Int(v),
        Values::Text(v) => ColumnRef::Text(v),
    }
}
