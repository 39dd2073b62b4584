//! The performance measures of every (condition, method, term) of a results store.
//!
//! Three streaming passes over the store (SQLite makes each a single indexed scan): (1) every usable estimate
//! into its group's accumulator, giving θ̄; (2) the same rows again, counting intervals that cover θ̄
//! (bias-eliminated coverage); (3) estimates joined with the reference method's on the same replication, for
//! relative precision. Memory holds one accumulator per group, never the rows.

use std::collections::HashMap;

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::store::Store;

use super::{
    IntervalRule, MeasuresError, PerformanceAccumulator, PerformanceMeasures, PrecisionAccumulator,
    Replicate, SettingsError, SummarySettings,
};

/// Fit statuses whose estimates are used; `not_converged` and `error` count as failed.
const USABLE: &str = "('ok', 'singular')";

/// One condition of the design.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConditionInfo {
    /// Its index in the design grid.
    pub index: usize,
    /// Its label (e.g. `N=100, sigma=2`).
    pub label: String,
    /// Every parameter's value in this condition, in the store's order.
    pub parameters: Vec<(String, f64)>,
}

impl ConditionInfo {
    /// The value of a parameter, if the condition has it.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.parameters
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }
}

/// The measures of one (condition, method, term).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryRow {
    /// Condition index.
    pub condition: usize,
    /// Method name.
    pub method: String,
    /// Term (coefficient) name.
    pub term: String,
    /// The measures.
    pub measures: PerformanceMeasures,
}

/// The performance of every method in every condition, for every term with a true value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The study's name.
    pub study: String,
    /// Settings used (level, alpha, reference method actually used).
    pub settings: SummarySettings,
    /// Design factors (parameters with several values), in file order.
    pub factors: Vec<String>,
    /// Every condition.
    pub conditions: Vec<ConditionInfo>,
    /// Methods in file order.
    pub methods: Vec<String>,
    /// Rows ordered by condition, method (file order), term (model order).
    pub rows: Vec<SummaryRow>,
}

impl Summary {
    /// The condition with this index.
    pub fn condition(&self, index: usize) -> Option<&ConditionInfo> {
        self.conditions.iter().find(|c| c.index == index)
    }

    /// Terms in order of first appearance.
    pub fn terms(&self) -> Vec<&str> {
        let mut terms: Vec<&str> = Vec::new();
        for row in &self.rows {
            if !terms.contains(&row.term.as_str()) {
                terms.push(&row.term);
            }
        }
        terms
    }
}

/// Summarise a results store. `settings` override the study's `[summary]`; pass `None` to use the study's own.
pub fn summarise(
    store: &Store,
    settings: Option<SummarySettings>,
) -> Result<Summary, MeasuresError> {
    summarise_connection(store.connection(), settings)
}

/// Summarise the store in `connection` (schema of `notes/api-store.md`). `settings` override the study's
/// `[summary]`; pass `None` to use the study's own.
pub fn summarise_connection(
    connection: &Connection,
    settings: Option<SummarySettings>,
) -> Result<Summary, MeasuresError> {
    let (study, toml) =
        connection.query_row("SELECT name, toml FROM study WHERE id = 1", [], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
    let mut settings = match settings {
        Some(s) => s,
        None => SummarySettings::from_study_toml(&toml)?,
    };
    let mut rule = IntervalRule::new(settings.level, settings.alpha)?;
    let index = GroupIndex::read(connection)?;
    let reference = index.reference(settings.reference.as_deref())?;
    settings.reference = reference.clone();

    let mut groups: Vec<PerformanceAccumulator> =
        vec![PerformanceAccumulator::default(); index.len()];
    index.count_failed_fits(connection, &mut groups)?;
    for_each_usable(connection, &index, |g, r| groups[g].push(r, &mut rule))?;
    let means: Vec<f64> = groups
        .iter()
        .map(PerformanceAccumulator::mean_estimate)
        .collect();
    for_each_usable(connection, &index, |g, r| {
        groups[g].push_bias_eliminated(r, means[g], &mut rule)
    })?;
    let precision = match &reference {
        Some(name) => relative_precision(connection, &index, name)?,
        None => vec![PrecisionAccumulator::default(); index.len()],
    };

    let rows = index
        .keys
        .iter()
        .enumerate()
        .map(|(g, key)| {
            let mut measures = groups[g].finish();
            if measures.truth.is_nan() {
                measures.truth = index.truth_of(key.condition, key.term);
            }
            measures.relative_precision = precision[g].finish();
            SummaryRow {
                condition: key.condition,
                method: index.methods[key.method].clone(),
                term: index.terms[key.term].clone(),
                measures,
            }
        })
        .collect();
    Ok(Summary {
        study,
        settings,
        factors: read_factors(connection)?,
        conditions: read_conditions(connection)?,
        methods: index.methods.clone(),
        rows,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct GroupKey {
    condition: usize,
    method: usize,
    term: usize,
}

/// Maps (condition, method, term) to a dense group number, ordered for the report.
struct GroupIndex {
    methods: Vec<String>,
    terms: Vec<String>,
    keys: Vec<GroupKey>,
    lookup: HashMap<GroupKey, usize>,
    truths: HashMap<(usize, usize), f64>,
}

impl GroupIndex {
    /// Groups: every method that has fits in a condition, for every term it estimates with a true value there.
    fn read(connection: &Connection) -> Result<Self, MeasuresError> {
        let mut methods: Vec<String> = strings(
            connection,
            "SELECT method FROM methods ORDER BY position, method",
        )?;
        // Methods missing from the `methods` table (should not happen) still get summarised.
        for m in strings(
            connection,
            "SELECT DISTINCT method FROM fits ORDER BY method",
        )? {
            if !methods.contains(&m) {
                methods.push(m);
            }
        }
        // Model order: the order in which terms were first written.
        let terms = strings(
            connection,
            "SELECT term FROM estimates WHERE truth IS NOT NULL GROUP BY term ORDER BY MIN(rowid)",
        )?;
        let mut truths = HashMap::new();
        let mut statement =
            connection.prepare("SELECT condition, term, MIN(truth) FROM estimates WHERE truth IS NOT NULL GROUP BY condition, term")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let term: String = row.get(1)?;
            let t = position(&terms, &term)?;
            truths.insert((usize_of(row.get(0)?)?, t), row.get::<_, f64>(2)?);
        }
        let mut method_terms: Vec<(usize, usize)> = Vec::new();
        let mut statement = connection
            .prepare("SELECT DISTINCT method, term FROM estimates WHERE truth IS NOT NULL")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let (m, t): (String, String) = (row.get(0)?, row.get(1)?);
            method_terms.push((position(&methods, &m)?, position(&terms, &t)?));
        }
        let mut keys = Vec::new();
        let mut statement = connection.prepare("SELECT DISTINCT condition, method FROM fits")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let condition = usize_of(row.get(0)?)?;
            let method = position(&methods, &row.get::<_, String>(1)?)?;
            for &(m, term) in &method_terms {
                if m == method && truths.contains_key(&(condition, term)) {
                    keys.push(GroupKey {
                        condition,
                        method,
                        term,
                    });
                }
            }
        }
        keys.sort();
        let lookup = keys.iter().enumerate().map(|(i, k)| (*k, i)).collect();
        Ok(GroupIndex {
            methods,
            terms,
            keys,
            lookup,
            truths,
        })
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn truth_of(&self, condition: usize, term: usize) -> f64 {
        self.truths
            .get(&(condition, term))
            .copied()
            .unwrap_or(f64::NAN)
    }

    /// The group of a row, found without allocating (few methods and terms: a linear scan is fastest).
    fn group(&self, condition: i64, method: &str, term: &str) -> Option<usize> {
        let key = GroupKey {
            condition: usize::try_from(condition).ok()?,
            method: self.methods.iter().position(|m| m == method)?,
            term: self.terms.iter().position(|t| t == term)?,
        };
        self.lookup.get(&key).copied()
    }

    /// The reference method: the one named, or the first method.
    fn reference(&self, name: Option<&str>) -> Result<Option<String>, SettingsError> {
        match name {
            Some(name) if self.methods.iter().any(|m| m == name) => Ok(Some(name.to_string())),
            Some(name) => Err(SettingsError::UnknownReference {
                name: name.to_string(),
                methods: self.methods.join(", "),
            }),
            None => Ok(self.methods.first().cloned()),
        }
    }

    /// Failed fits (not converged, error) count against every term of their (condition, method).
    fn count_failed_fits(
        &self,
        connection: &Connection,
        groups: &mut [PerformanceAccumulator],
    ) -> Result<(), MeasuresError> {
        let sql = format!("SELECT condition, method, COUNT(*) FROM fits WHERE status NOT IN {USABLE} GROUP BY condition, method");
        let mut statement = connection.prepare(&sql)?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let condition = usize_of(row.get(0)?)?;
            let method: String = row.get(1)?;
            let failed: i64 = row.get(2)?;
            for (key, group) in self.keys.iter().zip(groups.iter_mut()) {
                if key.condition == condition && self.methods[key.method] == method {
                    group.failed += u64::try_from(failed).unwrap_or(0);
                }
            }
        }
        Ok(())
    }
}

/// Stream every estimate of a usable fit (status ok or singular) of a term with a true value.
fn for_each_usable(
    connection: &Connection,
    index: &GroupIndex,
    mut f: impl FnMut(usize, &Replicate),
) -> Result<(), MeasuresError> {
    let sql = format!(
        "SELECT e.condition, e.method, e.term, e.estimate, e.se, e.df, e.ci_lower, e.ci_upper, e.p_value, e.truth
         FROM estimates e JOIN fits f
           ON f.condition = e.condition AND f.replication = e.replication AND f.method = e.method
         WHERE e.truth IS NOT NULL AND f.status IN {USABLE}"
    );
    let mut statement = connection.prepare(&sql)?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let (method, term) = (text(row, 1)?, text(row, 2)?);
        let Some(group) = index.group(row.get(0)?, method, term) else {
            continue;
        };
        let replicate = Replicate {
            // SQLite stores NaN as NULL: a missing estimate is a failed one.
            estimate: row.get::<_, Option<f64>>(3)?.unwrap_or(f64::NAN),
            se: row.get(4)?,
            df: row.get(5)?,
            ci_lower: row.get(6)?,
            ci_upper: row.get(7)?,
            p_value: row.get(8)?,
            truth: row.get(9)?,
        };
        f(group, &replicate);
    }
    Ok(())
}

/// Pairs of (reference estimate, method estimate) on replications both fitted usably, per group.
fn relative_precision(
    connection: &Connection,
    index: &GroupIndex,
    reference: &str,
) -> Result<Vec<PrecisionAccumulator>, MeasuresError> {
    let mut precision = vec![PrecisionAccumulator::default(); index.len()];
    let sql = format!(
        "SELECT b.condition, b.method, b.term, a.estimate, b.estimate
         FROM estimates a
         JOIN fits fa ON fa.condition = a.condition AND fa.replication = a.replication AND fa.method = a.method
         JOIN estimates b ON b.condition = a.condition AND b.replication = a.replication AND b.term = a.term
         JOIN fits fb ON fb.condition = b.condition AND fb.replication = b.replication AND fb.method = b.method
         WHERE a.method = ?1 AND a.truth IS NOT NULL
           AND fa.status IN {USABLE} AND fb.status IN {USABLE}
           AND a.estimate IS NOT NULL AND b.estimate IS NOT NULL"
    );
    let mut statement = connection.prepare(&sql)?;
    let mut rows = statement.query(params![reference])?;
    while let Some(row) = rows.next()? {
        let (method, term) = (text(row, 1)?, text(row, 2)?);
        if let Some(group) = index.group(row.get(0)?, method, term) {
            precision[group].push(row.get(3)?, row.get(4)?);
        }
    }
    Ok(precision)
}

fn read_factors(connection: &Connection) -> Result<Vec<String>, MeasuresError> {
    strings(
        connection,
        "SELECT parameter FROM factors ORDER BY position",
    )
}

fn read_conditions(connection: &Connection) -> Result<Vec<ConditionInfo>, MeasuresError> {
    let mut statement = connection
        .prepare("SELECT condition, label, parameters FROM conditions ORDER BY condition")?;
    let mut rows = statement.query([])?;
    let mut conditions = Vec::new();
    while let Some(row) = rows.next()? {
        let index = usize_of(row.get(0)?)?;
        let json: String = row.get(2)?;
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&json)
            .map_err(|e| {
                MeasuresError::Malformed(format!("parameters of condition {index}: {e}"))
            })?;
        let parameters = object
            .into_iter()
            .filter_map(|(k, v)| v.as_f64().map(|v| (k, v)))
            .collect();
        conditions.push(ConditionInfo {
            index,
            label: row.get(1)?,
            parameters,
        });
    }
    Ok(conditions)
}

/// A text column borrowed from the row (no allocation per row).
fn text<'a>(row: &'a rusqlite::Row<'_>, column: usize) -> Result<&'a str, MeasuresError> {
    row.get_ref(column)?
        .as_str()
        .map_err(|e| MeasuresError::Malformed(format!("column {column}: {e}")))
}

fn strings(connection: &Connection, sql: &str) -> Result<Vec<String>, MeasuresError> {
    let mut statement = connection.prepare(sql)?;
    let names = statement
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(names)
}

fn position(names: &[String], name: &str) -> Result<usize, MeasuresError> {
    names.iter().position(|n| n == name).ok_or_else(|| {
        MeasuresError::Malformed(format!(
            "`{name}` appears in estimates but not in its table"
        ))
    })
}

fn usize_of(value: i64) -> Result<usize, MeasuresError> {
    usize::try_from(value)
        .map_err(|_| MeasuresError::Malformed(format!("negative condition index {value}")))
}
