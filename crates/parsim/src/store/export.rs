//! `results.csv`: the estimates, tidy, one row per estimate, for pandas and R.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use super::{EstimateLine, Results, StoreError};

/// Write every estimate of `results` to `path` as CSV: condition, the design factors' values, replication,
/// method, term, kind, status, estimate, se, df, ci_lower, ci_upper, p_value, truth. `path` is a scratch
/// file that [`super::Derived`] moves into place with the other derived files. Returns the rows written;
/// a file that could not be finished is removed.
pub fn export_csv(results: &dyn Results, path: &Path) -> Result<u64, StoreError> {
    let written = write_csv(results, path);
    if written.is_err() {
        // A file that could not be finished (a full disk) must not keep the disk full for later runs.
        let _ = std::fs::remove_file(path);
    }
    written
}

fn write_csv(results: &dyn Results, path: &Path) -> Result<u64, StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let factors = results.factors()?;
    let conditions = results.conditions()?;
    let mut out = BufWriter::new(File::create(path).map_err(io)?);
    let mut header = vec!["condition"];
    header.extend(factors.iter().map(String::as_str));
    header.extend([
        "replication",
        "method",
        "term",
        "kind",
        "status",
        "estimate",
        "se",
        "df",
        "ci_lower",
        "ci_upper",
        "p_value",
        "truth",
    ]);
    writeln!(out, "{}", header.join(",")).map_err(io)?;
    let factor_values: Vec<Vec<String>> = conditions
        .iter()
        .map(|c| {
            factors
                .iter()
                .map(|f| {
                    c.parameters
                        .iter()
                        .find(|(k, _)| k == f)
                        .map(|(_, v)| number(*v))
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    let mut rows = 0u64;
    let mut line = String::with_capacity(256);
    let mut failed = None;
    results.for_each_line(&mut |row| {
        if failed.is_some() {
            return;
        }
        csv_line(&row, &factor_values, &mut line);
        rows += 1;
        if let Err(e) = out.write_all(line.as_bytes()) {
            failed = Some(e);
        }
    })?;
    if let Some(e) = failed {
        return Err(io(e));
    }
    out.flush().map_err(io)?;
    drop(out);
    Ok(rows)
}

/// One CSV line (with its newline). Numbers are written by itoa and zmij (shortest round-trip form, e.g.
/// `0.25`, `1e-7`), fields straight into `line`: a line costs no allocation.
fn csv_line(row: &EstimateLine<'_>, factor_values: &[Vec<String>], line: &mut String) {
    let mut integer = itoa::Buffer::new();
    line.clear();
    line.push_str(integer.format(row.condition));
    for v in factor_values.get(row.condition).into_iter().flatten() {
        line.push(',');
        line.push_str(v);
    }
    line.push(',');
    line.push_str(integer.format(row.replication));
    for text in [row.method, row.term, row.kind, row.status] {
        line.push(',');
        push_quoted(line, text);
    }
    let mut float = zmij::Buffer::new();
    for (i, value) in row.values.iter().enumerate() {
        line.push(',');
        match *value {
            Some(v) if v.is_finite() => line.push_str(float.format_finite(v)),
            Some(v) => line.push_str(&number(v)),
            None if i == 0 => line.push_str("NA"),
            None => {}
        }
    }
    line.push('\n');
}

/// Shortest round-trip form as Rust prints it (`500`, not `500.0`: for the design factors' values); NaN and
/// infinities as R and pandas read them.
pub(crate) fn number(v: f64) -> String {
    if v.is_nan() {
        "NA".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{v}")
    }
}

/// Append a CSV field, quoted when it holds a comma, a quote or a newline.
fn push_quoted(line: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        line.push('"');
        line.push_str(&s.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(s);
    }
}
