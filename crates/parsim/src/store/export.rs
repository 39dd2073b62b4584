//! `results.csv`: the estimates, tidy, one row per estimate, for pandas and R.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use super::{Store, StoreError};

impl Store {
    /// Write every estimate to `path` as CSV: condition, the design factors' values, replication, method,
    /// term, kind, status, estimate, se, df, ci_lower, ci_upper, p_value, truth. Written to a temporary file
    /// and renamed, so a reader never sees a partial file.
    pub fn export_csv(&self, path: &Path) -> Result<u64, StoreError> {
        let io = |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        let factors = self.factors()?;
        let conditions = self.conditions()?;
        let tmp = path.with_extension("csv.partial");
        let mut out = BufWriter::new(File::create(&tmp).map_err(io)?);
        let mut header = vec!["condition".to_string()];
        header.extend(factors.iter().cloned());
        header.extend(
            [
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
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        header.extend(["p_value".to_string(), "truth".to_string()]);
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
        let mut failure = None;
        self.for_each_estimate(|e| {
            if failure.is_some() {
                return;
            }
            let mut line = e.condition.to_string();
            if let Some(values) = factor_values.get(e.condition) {
                for v in values {
                    line.push(',');
                    line.push_str(v);
                }
            }
            let opt = |v: Option<f64>| v.map(number).unwrap_or_default();
            let fields = [
                e.replication.to_string(),
                quote(&e.method),
                quote(&e.term),
                e.kind.as_str().to_string(),
                e.status.as_str().to_string(),
                number(e.estimate),
                opt(e.se),
                opt(e.df),
                opt(e.ci_lower),
                opt(e.ci_upper),
                opt(e.p_value),
                opt(e.truth),
            ];
            for f in fields {
                line.push(',');
                line.push_str(&f);
            }
            if let Err(err) = writeln!(out, "{line}") {
                failure = Some(err);
            }
            rows += 1;
        })?;
        if let Some(err) = failure {
            return Err(io(err));
        }
        out.flush().map_err(io)?;
        drop(out);
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(rows)
    }
}

/// Shortest round-trip form; NaN and infinities as R and pandas read them.
pub(crate) fn number(v: f64) -> String {
    if v.is_nan() {
        "NA".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{v}")
    }
}

/// Quote a CSV field when it holds a comma, a quote or a newline.
pub(crate) fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
