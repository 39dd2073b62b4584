//! Column data handed to a model ([`Columns`], [`ColumnRef`]) and a small CSV-backed table
//! ([`DataFrame`]) that reads numbers and text, with `NA` or an empty field as missing.

use std::collections::HashMap;
use std::path::Path;

/// Column data handed to a model by its caller (the data program's output, or a CSV).
#[derive(Clone, Copy, Debug)]
pub enum ColumnRef<'a> {
    /// Numeric: a covariate (or response).
    Float(&'a [f64]),
    /// Integer: numeric when used as a covariate; as a grouping factor (or with an explicit factor
    /// marking), levels are its distinct values in increasing numeric order.
    Int(&'a [i64]),
    /// Text: always categorical (levels in sorted order, treatment contrasts, reference = first level).
    Text(&'a [String]),
}

impl ColumnRef<'_> {
    /// Number of values in the column.
    pub fn len(&self) -> usize {
        match self {
            ColumnRef::Float(v) => v.len(),
            ColumnRef::Int(v) => v.len(),
            ColumnRef::Text(v) => v.len(),
        }
    }

    /// Whether the column has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A table of named columns of equal length.
pub trait Columns {
    /// Number of rows.
    fn nrows(&self) -> usize;
    /// The column called `name`, if there is one.
    fn column(&self, name: &str) -> Option<ColumnRef<'_>>;
    /// Whether a numeric column is to be treated as categorical (CLI `--factor NAME`). Default: false.
    fn is_factor(&self, _name: &str) -> bool {
        false
    }
    /// Names of all columns, for "did you mean" suggestions. Default: none known.
    fn column_names(&self) -> Vec<String> {
        Vec::new()
    }
    /// Calls `visit` with every column, in order (a method that hands the whole data set to another
    /// process). The default goes through [`Columns::column_names`]; implementations that can list
    /// their columns without allocating should override it.
    fn for_each_column(&self, visit: &mut dyn FnMut(&str, ColumnRef<'_>)) {
        for name in self.column_names() {
            if let Some(column) = self.column(&name) {
                visit(&name, column);
            }
        }
    }
}

/// Owned values of one [`DataFrame`] column.
#[derive(Clone, Debug)]
enum ColumnData {
    Float(Vec<f64>),
    Int(Vec<i64>),
    Text(Vec<String>),
}

/// One named column with its missing-value mask.
#[derive(Clone, Debug)]
struct Column {
    name: String,
    data: ColumnData,
    /// `missing[i]` is true when row `i` was `NA` or empty.
    missing: Vec<bool>,
}

/// Errors reading a CSV file into a [`DataFrame`].
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file has no header line.
    #[error("{path}: the file is empty (a header line with column names is needed)")]
    Empty {
        /// The file.
        path: String,
    },
    /// A numeric column holds a value that is not a number (and is not `NA`).
    #[error(
        "{path}:{line}: column '{column}' holds numbers but row {row} has {value:?}; write NA for a \
         missing value, or pass --factor {column} if the column is categorical"
    )]
    NotANumber {
        /// The file.
        path: String,
        /// 1-based line of the file.
        line: usize,
        /// 1-based data row.
        row: usize,
        /// The column.
        column: String,
        /// The value found.
        value: String,
    },
    /// A line has the wrong number of fields, or a quote is not closed.
    #[error("{path}:{line}: {message}")]
    Malformed {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// An in-memory table read from CSV: numeric columns (all values parse as numbers) are `Int` when
/// every value is an integer, else `Float`; any other column is `Text`. `NA` and empty fields are
/// missing; use [`DataFrame::complete_cases`] before fitting (lme4's `na.omit`).
#[derive(Clone, Debug, Default)]
pub struct DataFrame {
    columns: Vec<Column>,
    index: HashMap<String, usize>,
    nrows: usize,
    factors: Vec<String>,
}

fn is_missing(field: &str) -> bool {
    field.is_empty() || field == "NA"
}

/// A column most of whose values are numbers must hold nothing but numbers and missing values: its
/// first value that is not a number is reported with its row. (A column of mostly text is categorical.)
fn check_numeric(
    name: &str,
    values: &[String],
    lines: &[usize],
    origin: &str,
) -> Result<(), CsvError> {
    let present = values.iter().filter(|v| !is_missing(v));
    let numeric = present
        .clone()
        .filter(|v| v.trim().parse::<f64>().is_ok())
        .count();
    let total = present.count();
    if numeric == total || 2 * numeric <= total {
        return Ok(());
    }
    let Some(at) = values
        .iter()
        .position(|v| !is_missing(v) && v.trim().parse::<f64>().is_err())
    else {
        return Ok(());
    };
    Err(CsvError::NotANumber {
        path: origin.to_string(),
        line: lines.get(at).copied().unwrap_or(at + 2),
        row: at + 1,
        column: name.to_string(),
        value: values[at].clone(),
    })
}

impl DataFrame {
    /// Reads a CSV file with a header line (RFC 4180 quoting, `,` separator).
    pub fn read_csv(path: &Path) -> Result<DataFrame, CsvError> {
        DataFrame::read_csv_with_factors(path, &[])
    }

    /// [`DataFrame::read_csv`] with the columns `factors` categorical: they may mix numbers and text.
    pub fn read_csv_with_factors(path: &Path, factors: &[String]) -> Result<DataFrame, CsvError> {
        let text = std::fs::read_to_string(path).map_err(|source| CsvError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mut frame =
            DataFrame::parse_csv_with_factors(&text, &path.display().to_string(), factors)?;
        for name in factors {
            frame.set_factor(name);
        }
        Ok(frame)
    }

    /// Parses CSV text; `origin` names the source in error messages.
    pub fn parse_csv(text: &str, origin: &str) -> Result<DataFrame, CsvError> {
        DataFrame::parse_csv_with_factors(text, origin, &[])
    }

    /// [`DataFrame::parse_csv`] with the columns `factors` categorical. A UTF-8 byte-order mark is
    /// skipped; a header that names a column twice is an error, and so is a column of numbers with one
    /// value that is not a number (a typo would otherwise make it a factor with a level per value).
    pub fn parse_csv_with_factors(
        text: &str,
        origin: &str,
        factors: &[String],
    ) -> Result<DataFrame, CsvError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let records = split_records(text).map_err(|(line, message)| CsvError::Malformed {
            path: origin.to_string(),
            line,
            message,
        })?;
        let mut records = records
            .into_iter()
            .filter(|(_, r)| !(r.len() == 1 && r[0].is_empty()));
        let Some((_, header)) = records.next() else {
            return Err(CsvError::Empty {
                path: origin.to_string(),
            });
        };
        let ncol = header.len();
        for (k, name) in header.iter().enumerate() {
            if let Some(first) = header[..k].iter().position(|h| h == name) {
                return Err(CsvError::Malformed {
                    path: origin.to_string(),
                    line: 1,
                    message: format!(
                        "the header names column '{name}' twice (fields {} and {}): rename one",
                        first + 1,
                        k + 1
                    ),
                });
            }
        }
        let mut raw: Vec<Vec<String>> = vec![Vec::new(); ncol];
        let mut lines = Vec::new();
        for (line, record) in records {
            if record.len() != ncol {
                return Err(CsvError::Malformed {
                    path: origin.to_string(),
                    line,
                    message: format!("{} fields, but the header has {}", record.len(), ncol),
                });
            }
            for (column, field) in raw.iter_mut().zip(record) {
                column.push(field);
            }
            lines.push(line);
        }
        let nrows = raw.first().map_or(0, Vec::len);
        let mut frame = DataFrame {
            nrows,
            ..DataFrame::default()
        };
        for (name, values) in header.into_iter().zip(raw) {
            if !factors.contains(&name) {
                check_numeric(&name, &values, &lines, origin)?;
            }
            frame.push_column(name, values);
        }
        Ok(frame)
    }

    fn push_column(&mut self, name: String, values: Vec<String>) {
        let missing: Vec<bool> = values.iter().map(|v| is_missing(v)).collect();
        let present = || {
            values
                .iter()
                .zip(&missing)
                .filter(|(_, m)| !**m)
                .map(|(v, _)| v.trim())
        };
        let data = if present().all(|v| v.parse::<i64>().is_ok()) && !missing.iter().any(|m| *m) {
            ColumnData::Int(
                values
                    .iter()
                    .map(|v| v.trim().parse().unwrap_or(0))
                    .collect(),
            )
        } else if present().all(|v| v.parse::<f64>().is_ok()) {
            let parse = |(v, m): (&String, &bool)| {
                if *m {
                    f64::NAN
                } else {
                    v.trim().parse().unwrap_or(f64::NAN)
                }
            };
            ColumnData::Float(values.iter().zip(&missing).map(parse).collect())
        } else {
            ColumnData::Text(values)
        };
        self.index.insert(name.clone(), self.columns.len());
        self.columns.push(Column {
            name,
            data,
            missing,
        });
    }

    /// Adds a numeric column (for tests and programs building a table in memory).
    pub fn with_float(mut self, name: &str, values: Vec<f64>) -> Self {
        self.add(name, ColumnData::Float(values));
        self
    }

    /// Adds an integer column.
    pub fn with_int(mut self, name: &str, values: Vec<i64>) -> Self {
        self.add(name, ColumnData::Int(values));
        self
    }

    /// Adds a text column.
    pub fn with_text(mut self, name: &str, values: Vec<String>) -> Self {
        self.add(name, ColumnData::Text(values));
        self
    }

    fn add(&mut self, name: &str, data: ColumnData) {
        let len = match &data {
            ColumnData::Float(v) => v.len(),
            ColumnData::Int(v) => v.len(),
            ColumnData::Text(v) => v.len(),
        };
        if self.columns.is_empty() {
            self.nrows = len;
        }
        let column = Column {
            name: name.to_string(),
            data,
            missing: vec![false; len],
        };
        match self.index.get(name) {
            Some(&i) => self.columns[i] = column,
            None => {
                self.index.insert(name.to_string(), self.columns.len());
                self.columns.push(column);
            }
        }
    }

    /// Marks a numeric column as categorical (CLI `--factor NAME`).
    pub fn set_factor(&mut self, name: &str) {
        if !self.factors.iter().any(|f| f == name) {
            self.factors.push(name.to_string());
        }
    }

    /// Whether the table has a column called `name`.
    pub fn has_column(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The rows with no missing value in any of `names` (unknown names are ignored), and how
    /// many rows were dropped, as lme4's `na.omit` does.
    pub fn complete_cases(&self, names: &[String]) -> (DataFrame, usize) {
        let used: Vec<&Column> = names
            .iter()
            .filter_map(|n| self.index.get(n))
            .map(|&i| &self.columns[i])
            .collect();
        let keep: Vec<bool> = (0..self.nrows)
            .map(|r| used.iter().all(|c| !c.missing[r]))
            .collect();
        let kept = keep.iter().filter(|k| **k).count();
        let mut out = DataFrame {
            nrows: kept,
            factors: self.factors.clone(),
            ..DataFrame::default()
        };
        for column in &self.columns {
            let pick = |i: &usize| keep[*i];
            let rows = || (0..self.nrows).filter(pick);
            let data = match &column.data {
                ColumnData::Float(v) => ColumnData::Float(rows().map(|i| v[i]).collect()),
                ColumnData::Int(v) => ColumnData::Int(rows().map(|i| v[i]).collect()),
                ColumnData::Text(v) => ColumnData::Text(rows().map(|i| v[i].clone()).collect()),
            };
            // A numeric column whose missing rows are now gone may become integer again.
            let data = match data {
                ColumnData::Float(v)
                    if v.iter().all(|x| x.fract() == 0.0 && x.abs() < 9e15)
                        && column.missing.iter().any(|m| *m) =>
                {
                    ColumnData::Int(v.iter().map(|x| *x as i64).collect())
                }
                other => other,
            };
            let missing = rows().map(|i| column.missing[i]).collect();
            out.index.insert(column.name.clone(), out.columns.len());
            out.columns.push(Column {
                name: column.name.clone(),
                data,
                missing,
            });
        }
        (out, self.nrows - kept)
    }
}

impl Columns for DataFrame {
    fn nrows(&self) -> usize {
        self.nrows
    }

    fn column(&self, name: &str) -> Option<ColumnRef<'_>> {
        let column = &self.columns[*self.index.get(name)?];
        Some(match &column.data {
            ColumnData::Float(v) => ColumnRef::Float(v),
            ColumnData::Int(v) => ColumnRef::Int(v),
            ColumnData::Text(v) => ColumnRef::Text(v),
        })
    }

    fn is_factor(&self, name: &str) -> bool {
        self.factors.iter().any(|f| f == name)
    }

    fn column_names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }
}

/// CSV records: (1-based line number, fields).
type Records = Vec<(usize, Vec<String>)>;

/// Splits CSV text into records of fields (quotes removed), each with its 1-based line number.
fn split_records(text: &str) -> Result<Records, (usize, String)> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut line = 1;
    let mut record_line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if in_quotes => {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    in_quotes = false;
                }
            }
            '"' if field.is_empty() => in_quotes = true,
            ',' if !in_quotes => fields.push(std::mem::take(&mut field)),
            '\r' if !in_quotes => {}
            '\n' if !in_quotes => {
                fields.push(std::mem::take(&mut field));
                records.push((record_line, std::mem::take(&mut fields)));
                line += 1;
                record_line = line;
            }
            c => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
        }
    }
    if in_quotes {
        return Err((record_line, "a quoted field is not closed".to_string()));
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        records.push((record_line, fields));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_numbers_text_and_missing() {
        let csv = "\"y\",\"x\",\"g\",\"z\"\n1.5,1,\"a\",NA\n2,2,\"b\",3\n,3,\"a\",4\n";
        let frame = DataFrame::parse_csv(csv, "t.csv").unwrap();
        assert_eq!(frame.nrows(), 3);
        assert!(
            matches!(frame.column("y"), Some(ColumnRef::Float(v)) if v[0] == 1.5 && v[2].is_nan())
        );
        assert!(matches!(frame.column("x"), Some(ColumnRef::Int(v)) if v == [1, 2, 3]));
        assert!(matches!(frame.column("g"), Some(ColumnRef::Text(v)) if v[1] == "b"));
        let (complete, dropped) = frame.complete_cases(&["y".into(), "z".into()]);
        assert_eq!((complete.nrows(), dropped), (1, 2));
        assert!(matches!(complete.column("z"), Some(ColumnRef::Int(v)) if v == [3]));
    }

    #[test]
    fn ragged_line_is_an_error_with_its_line_number() {
        let err = DataFrame::parse_csv("a,b\n1,2\n3\n", "f.csv").unwrap_err();
        assert_eq!(err.to_string(), "f.csv:3: 1 fields, but the header has 2");
    }
}
