//! Reading a store: the study, the design, the estimates, the fit counts.

use rusqlite::Row;

use super::results::{
    status_of, EstimateLine, FailedFits, Replicate, Results, StoredStudy, Usable,
};
use super::{FitStatus, Store, StoreError};

/// A condition of the design grid as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCondition {
    /// Index in the design grid.
    pub index: usize,
    /// A short label, e.g. `N=500, n_groups=5` (the factors only) or `all` for a single condition.
    pub label: String,
    /// Every parameter's value in this condition, fixed ones too, in file order.
    pub parameters: Vec<(String, f64)>,
    /// The first spawn key of its keyed streams (`crate::study::Condition::stream`); a store of format
    /// 3 or older drew every condition from its number, which its upgrade records here.
    pub stream: u64,
}

impl StoredCondition {
    /// The parameters as a JSON object (file order kept).
    pub fn parameters_json(&self) -> String {
        let fields: Vec<String> = self
            .parameters
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}:{}",
                    serde_json::Value::String(k.clone()),
                    json_number(*v)
                )
            })
            .collect();
        format!("{{{}}}", fields.join(","))
    }
}

fn json_number(v: f64) -> String {
    if v.is_finite() {
        format!("{v:?}")
    } else {
        "null".to_string()
    }
}

fn parse_parameters(json: &str) -> Result<Vec<(String, f64)>, String> {
    // A visitor that keeps the entries in file order (serde_json's Map would sort them).
    struct Ordered(Vec<(String, f64)>);
    impl<'de> serde::Deserialize<'de> for Ordered {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Ordered;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object of parameter values")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Ordered, A::Error> {
                    let mut out = Vec::new();
                    while let Some((k, v)) = map.next_entry::<String, Option<f64>>()? {
                        out.push((k, v.unwrap_or(f64::NAN)));
                    }
                    Ok(Ordered(out))
                }
            }
            d.deserialize_map(V)
        }
    }
    serde_json::from_str::<Ordered>(json)
        .map(|o| o.0)
        .map_err(|e| e.to_string())
}

/// How many fits of a method in a condition ended with a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitCount {
    /// Condition index.
    pub condition: usize,
    /// Method name.
    pub method: String,
    /// Status.
    pub status: FitStatus,
    /// Number of fits.
    pub count: u64,
}

/// One stored fit, as [`Store::for_each_fit`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct FitLine<'a> {
    /// Condition index.
    pub condition: usize,
    /// Replication index.
    pub replication: u64,
    /// Method name.
    pub method: &'a str,
    /// Outcome.
    pub status: FitStatus,
    /// Why it is not `ok`, if it is not.
    pub message: Option<&'a str>,
    /// Criterion evaluations (or iterations) the fit used.
    pub iterations: Option<u64>,
    /// Wall time of the fit in seconds.
    pub seconds: Option<f64>,
}

/// The columns of a row of `fits`, borrowed from the row.
type FitRow<'r> = (
    i64,
    i64,
    &'r str,
    &'r str,
    Option<&'r str>,
    Option<i64>,
    Option<f64>,
);

fn fit_row<'r>(r: &'r rusqlite::Row<'_>) -> rusqlite::Result<FitRow<'r>> {
    let text = |i| r.get_ref(i).and_then(|v| v.as_str().map_err(Into::into));
    Ok((
        r.get(0)?,
        r.get(1)?,
        text(2)?,
        text(3)?,
        r.get_ref(4)?.as_str_or_null()?,
        r.get(5)?,
        r.get(6)?,
    ))
}

impl Store {
    /// Every stored fit, ordered by (condition, replication, method in study order).
    pub fn for_each_fit(&self, f: &mut dyn FnMut(FitLine<'_>)) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT f.condition, f.replication, f.method, f.status, f.message, f.iterations, f.seconds \
                 FROM fits f JOIN methods m USING (method) ORDER BY f.condition, f.replication, m.position",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let (c, rep, method, status, message, iterations, seconds) =
                fit_row(r).map_err(|e| self.err(e))?;
            let status = FitStatus::parse(status).ok_or_else(|| StoreError::Invalid {
                path: self.path.clone(),
                reason: format!("unknown fit status {status:?}"),
            })?;
            f(FitLine {
                condition: c as usize,
                replication: rep as u64,
                method,
                status,
                message,
                iterations: iterations.map(|i| i as u64),
                seconds,
            });
        }
        Ok(())
    }

    /// The study file's text as it was run.
    pub fn study_toml(&self) -> Result<String, StoreError> {
        self.conn
            .query_row("SELECT toml FROM study WHERE id = 1", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// The design grid.
    pub fn conditions(&self) -> Result<Vec<StoredCondition>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT condition, label, parameters, stream FROM conditions ORDER BY condition",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (index, label, json, stream) = row.map_err(|e| self.err(e))?;
            let parameters = parse_parameters(&json).map_err(|reason| StoreError::Invalid {
                path: self.path.clone(),
                reason: format!("condition {index}: parameters {json:?}: {reason}"),
            })?;
            out.push(StoredCondition {
                index: index as usize,
                label,
                parameters,
                stream: stream as u64,
            });
        }
        Ok(out)
    }

    /// The design factors (parameters with several values), in file order.
    pub fn factors(&self) -> Result<Vec<String>, StoreError> {
        self.strings("SELECT parameter FROM factors ORDER BY position")
    }

    /// The methods, in file order.
    pub fn methods(&self) -> Result<Vec<String>, StoreError> {
        self.strings("SELECT method FROM methods ORDER BY position")
    }

    fn strings(&self, sql: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Counts of fits per (condition, method, status).
    pub fn fit_counts(&self) -> Result<Vec<FitCount>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT f.condition, f.method, f.status, count(*) FROM fits f JOIN methods m USING (method) \
                 GROUP BY f.condition, f.method, f.status ORDER BY f.condition, m.position, f.status",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (c, method, status, count) = row.map_err(|e| self.err(e))?;
            let status = FitStatus::parse(&status).ok_or_else(|| StoreError::Invalid {
                path: self.path.clone(),
                reason: format!("unknown fit status {status:?}"),
            })?;
            out.push(FitCount {
                condition: c as usize,
                method,
                status,
                count: count as u64,
            });
        }
        Ok(out)
    }

    /// Number of replications stored.
    pub fn replications_done(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM replications", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }
}

/// The statuses whose estimates the measures use, as an SQL list: `('ok', 'singular')`.
pub(super) fn usable_statuses() -> String {
    let words: Vec<String> = FitStatus::ALL
        .into_iter()
        .filter(|s| s.is_usable())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!("({})", words.join(", "))
}

/// A text column borrowed from the row (no allocation per row).
fn text<'a>(row: &'a Row<'_>, column: usize) -> rusqlite::Result<&'a str> {
    row.get_ref(column)?.as_str().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// A non-negative integer column (an index or a count).
fn index(row: &Row<'_>, column: usize) -> rusqlite::Result<u64> {
    let value: i64 = row.get(column)?;
    u64::try_from(value).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            rusqlite::types::Type::Integer,
            Box::new(e),
        )
    })
}

/// The seven values estimate, se, df, ci_lower, ci_upper, p_value and truth from column `first` on.
fn values_at(row: &Row<'_>, first: usize) -> rusqlite::Result<[Option<f64>; 7]> {
    let mut values = [None; 7];
    for (i, v) in values.iter_mut().enumerate() {
        *v = row.get(first + i)?;
    }
    Ok(values)
}

impl Store {
    /// Rows of `sql`, each made by `f`.
    pub(super) fn rows<T>(
        &self,
        sql: &str,
        f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], f).map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Whether every unit of the study was stored (a run or a merge recorded it finished).
    pub fn is_finished(&self) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT finished_at IS NOT NULL FROM study WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// The study's name and file.
    pub fn study(&self) -> Result<StoredStudy, StoreError> {
        self.conn
            .query_row("SELECT name, toml FROM study WHERE id = 1", [], |r| {
                Ok(StoredStudy {
                    name: r.get(0)?,
                    toml: r.get(1)?,
                })
            })
            .map_err(|e| self.err(e))
    }

    /// Every usable replicate (fit ok or singular, finite estimate, a true value) of one (condition,
    /// method, term), in replication order: what the figures of every replication draw.
    pub fn usable_replicates(
        &self,
        condition: usize,
        method: &str,
        term: &str,
    ) -> Result<Vec<Replicate>, StoreError> {
        let sql = format!(
            "SELECT e.estimate, e.se, e.df, e.ci_lower, e.ci_upper, e.p_value, e.truth
             FROM estimates e JOIN fits f
               ON f.condition = e.condition AND f.replication = e.replication AND f.method = e.method
             WHERE e.condition = ?1 AND e.method = ?2 AND e.term = ?3 AND f.status IN {}
               AND e.estimate IS NOT NULL AND e.truth IS NOT NULL
             ORDER BY e.replication",
            usable_statuses()
        );
        let mut statement = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let rows = statement
            .query_map(rusqlite::params![condition as i64, method, term], |r| {
                values_at(r, 0)
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let values = row.map_err(|e| self.err(e))?;
            out.extend(Replicate::from_values(values).filter(|r| r.estimate.is_finite()));
        }
        Ok(out)
    }
}

impl Results for Store {
    fn study(&self) -> Result<StoredStudy, StoreError> {
        Store::study(self)
    }

    fn factors(&self) -> Result<Vec<String>, StoreError> {
        Store::factors(self)
    }

    fn conditions(&self) -> Result<Vec<StoredCondition>, StoreError> {
        Store::conditions(self)
    }

    fn methods(&self) -> Result<Vec<String>, StoreError> {
        Store::methods(self)
    }

    fn fit_methods(&self) -> Result<Vec<String>, StoreError> {
        self.strings("SELECT DISTINCT method FROM fits ORDER BY method")
    }

    fn truth_terms(&self) -> Result<Vec<(String, String, u32)>, StoreError> {
        self.rows(
            "SELECT method, term, MIN(position) FROM estimates WHERE truth IS NOT NULL GROUP BY method, term",
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }

    fn fitted(&self) -> Result<Vec<(usize, String, u64)>, StoreError> {
        self.rows(
            "SELECT condition, method, COUNT(*) FROM fits GROUP BY condition, method",
            |r| Ok((index(r, 0)? as usize, r.get(1)?, index(r, 2)?)),
        )
    }

    fn failed(&self) -> Result<Vec<FailedFits>, StoreError> {
        let sql = format!(
            "SELECT condition, method, status, message, COUNT(*) FROM fits WHERE status NOT IN {} \
             GROUP BY condition, method, status, message",
            usable_statuses()
        );
        self.rows(&sql, |r| {
            Ok(FailedFits {
                condition: index(r, 0)? as usize,
                method: r.get(1)?,
                status: status_of(text(r, 2)?),
                message: r.get(3)?,
                count: index(r, 4)?,
            })
        })
    }

    /// In the order of the estimates' primary key, so SQLite need not sort.
    fn for_each_usable(&self, f: &mut dyn FnMut(Usable<'_>)) -> Result<(), StoreError> {
        let sql = format!(
            "SELECT e.condition, e.replication, e.method, e.term, e.estimate, e.se, e.df, e.ci_lower,
                    e.ci_upper, e.p_value, e.truth
             FROM estimates e JOIN fits f
               ON f.condition = e.condition AND f.replication = e.replication AND f.method = e.method
             WHERE e.truth IS NOT NULL AND f.status IN {}
             ORDER BY e.condition, e.replication",
            usable_statuses()
        );
        self.each_row(&sql, |row| {
            if let Some(replicate) = Replicate::from_values(values_at(row, 4)?) {
                f(Usable {
                    condition: index(row, 0)? as usize,
                    replication: index(row, 1)?,
                    method: text(row, 2)?,
                    term: text(row, 3)?,
                    replicate,
                });
            }
            Ok(())
        })
    }

    /// In primary-key order, so SQLite streams the rows without sorting them.
    fn for_each_line(&self, f: &mut dyn FnMut(EstimateLine<'_>)) -> Result<(), StoreError> {
        self.each_row(
            "SELECT e.condition, e.replication, e.method, e.term, e.kind, f.status, e.estimate, e.se, e.df, \
             e.ci_lower, e.ci_upper, e.p_value, e.truth \
             FROM estimates e JOIN fits f USING (condition, replication, method) \
             ORDER BY e.condition, e.replication, e.method, e.term",
            |row| {
                f(EstimateLine {
                    condition: index(row, 0)? as usize,
                    replication: index(row, 1)?,
                    method: text(row, 2)?,
                    term: text(row, 3)?,
                    kind: text(row, 4)?,
                    status: text(row, 5)?,
                    values: values_at(row, 6)?,
                });
                Ok(())
            },
        )
    }
}

impl Store {
    /// Call `f` on every row of `sql`, streamed.
    fn each_row(
        &self,
        sql: &str,
        mut f: impl FnMut(&Row<'_>) -> rusqlite::Result<()>,
    ) -> Result<(), StoreError> {
        let mut statement = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let mut rows = statement.query([]).map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            f(row).map_err(|e| self.err(e))?;
        }
        Ok(())
    }
}
