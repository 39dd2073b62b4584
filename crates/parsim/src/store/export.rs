//! `results.csv`: the estimates, tidy, one row per estimate, for pandas and R.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use super::{Store, StoreError, Written, WrittenEstimate};

impl Store {
    /// Write every estimate to `path` as CSV: condition, the design factors' values, replication, method,
    /// term, kind, status, estimate, se, df, ci_lower, ci_upper, p_value, truth. Written to a temporary file
    /// and renamed, so a reader never sees a partial file.
    pub fn export_csv(&self, path: &Path) -> Result<u64, StoreError> {
        self.write_csv(path, None)
    }

    /// [`Store::export_csv`] with the estimates taken from `written`, the rows this store was written with
    /// ([`Written::finish`]ed), instead of read back: the same file.
    pub fn export_written_csv(&self, path: &Path, written: &Written) -> Result<u64, StoreError> {
        self.write_csv(path, Some(written))
    }

    fn write_csv(&self, path: &Path, written: Option<&Written>) -> Result<u64, StoreError> {
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
        let mut line = String::with_capacity(256);
        let mut put = |row: &Line<'_>| {
            csv_line(row, &factor_values, &mut line);
            rows += 1;
            out.write_all(line.as_bytes())
        };
        match written {
            Some(written) => {
                for e in written.estimates() {
                    put(&written_line(written, e)).map_err(io)?;
                }
            }
            None => self.stored_lines(&mut put, io)?,
        }
        out.flush().map_err(io)?;
        drop(out);
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(rows)
    }
}

/// One estimates row joined with its fit's status, as results.csv writes it.
struct Line<'a> {
    condition: i64,
    replication: i64,
    /// method, term, kind, status.
    text: [&'a str; 4],
    /// estimate, se, df, ci_lower, ci_upper, p_value, truth.
    values: [Option<f64>; 7],
}

impl Store {
    /// Every estimate, read from the store, to `put`; `io` names the file of a failed write.
    fn stored_lines(
        &self,
        put: &mut impl FnMut(&Line<'_>) -> std::io::Result<()>,
        io: impl Fn(std::io::Error) -> StoreError,
    ) -> Result<(), StoreError> {
        // In primary-key order, so SQLite streams the rows without sorting them.
        let mut stmt = self
            .conn
            .prepare(
                "SELECT e.condition, e.replication, e.method, e.term, e.kind, f.status, e.estimate, e.se, e.df, \
                 e.ci_lower, e.ci_upper, e.p_value, e.truth \
                 FROM estimates e JOIN fits f USING (condition, replication, method) \
                 ORDER BY e.condition, e.replication, e.method, e.term",
            )
            .map_err(|e| self.err(e))?;
        let mut query = stmt.query([]).map_err(|e| self.err(e))?;
        while let Some(row) = query.next().map_err(|e| self.err(e))? {
            let line = stored_line(row).map_err(|e| self.err(e))?;
            put(&line).map_err(&io)?;
        }
        Ok(())
    }
}

fn written_line<'a>(written: &'a Written, e: &'a WrittenEstimate) -> Line<'a> {
    Line {
        condition: i64::from(e.fit.condition),
        replication: e.fit.replication,
        text: [
            written.method(e.fit.method),
            &e.term,
            e.kind.as_str(),
            e.fit.status.as_str(),
        ],
        values: e.values(),
    }
}

fn stored_line<'a>(row: &'a rusqlite::Row<'_>) -> rusqlite::Result<Line<'a>> {
    let text = |i: usize| row.get_ref(i).map(|v| v.as_str().unwrap_or_default());
    let mut values = [None; 7];
    for (i, v) in values.iter_mut().enumerate() {
        *v = row.get(6 + i)?;
    }
    Ok(Line {
        condition: row.get(0)?,
        replication: row.get(1)?,
        text: [text(2)?, text(3)?, text(4)?, text(5)?],
        values,
    })
}

/// One CSV line (with its newline). Numbers are written by itoa and zmij (shortest round-trip form, e.g.
/// `0.25`, `1e-7`), fields straight into `line`: a line costs no allocation.
fn csv_line(row: &Line<'_>, factor_values: &[Vec<String>], line: &mut String) {
    let mut integer = itoa::Buffer::new();
    line.clear();
    line.push_str(integer.format(row.condition));
    for v in usize::try_from(row.condition)
        .ok()
        .and_then(|c| factor_values.get(c))
        .into_iter()
        .flatten()
    {
        line.push(',');
        line.push_str(v);
    }
    line.push(',');
    line.push_str(integer.format(row.replication));
    for text in row.text {
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
