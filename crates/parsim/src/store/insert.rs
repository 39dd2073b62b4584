//! Writing replications into the open batch. A group of replications goes in a few multi-row INSERTs
//! (markers, fits, estimates) rather than a few statements per replication: SQLite's cost per statement
//! is a large part of the cost of a small row.

use std::sync::OnceLock;

use rusqlite::{params, Connection, ErrorCode, Statement};

use super::{FitRecord, ReplicationRecord};

/// Binds one row's values, in its table's column order, from parameter index `at` on; evaluates to
/// `Ok(())` and returns a binding error from the enclosing function. A macro rather than a function
/// over `&[&dyn ToSql]`: the dynamic calls cost the writer 7.5% more instructions (callgrind).
macro_rules! bind_row {
    ($s:expr, $at:expr, $($value:expr),+ $(,)?) => {{
        let mut k = $at;
        $(
            $s.raw_bind_parameter(k, $value)?;
            k += 1;
        )+
        let _ = k;
        Ok(())
    }};
}

/// Replications written by one group of statements (the runner's workers hand over up to this many).
pub(super) const REPLICATIONS_PER_INSERT: usize = 8;

/// One table's multi-row `INSERT` statements, for 1 to `max_rows` rows, built once.
struct Insert {
    table: &'static str,
    columns: &'static [&'static str],
    max_rows: usize,
    sql: OnceLock<Vec<String>>,
}

impl Insert {
    const fn new(table: &'static str, columns: &'static [&'static str], max_rows: usize) -> Self {
        Insert {
            table,
            columns,
            max_rows,
            sql: OnceLock::new(),
        }
    }

    /// `INSERT INTO table (columns) VALUES (?, …), …` for `rows` rows (1 ≤ rows ≤ max_rows).
    fn sql(&self, rows: usize) -> &str {
        let all = self.sql.get_or_init(|| {
            let row = format!("({})", vec!["?"; self.columns.len()].join(", "));
            (1..=self.max_rows)
                .map(|k| {
                    format!(
                        "INSERT INTO {} ({}) VALUES {}",
                        self.table,
                        self.columns.join(", "),
                        vec![row.as_str(); k].join(", ")
                    )
                })
                .collect()
        });
        &all[rows - 1]
    }

    /// Insert `count` rows taken from `rows`, `max_rows` per statement; `bind` binds one row's values
    /// from parameter index `at` on.
    fn rows<T>(
        &self,
        tx: &Connection,
        count: usize,
        mut rows: impl Iterator<Item = T>,
        mut bind: impl FnMut(&mut Statement<'_>, usize, T) -> rusqlite::Result<()>,
    ) -> rusqlite::Result<()> {
        let width = self.columns.len();
        let mut left = count;
        while left > 0 {
            let k = left.min(self.max_rows);
            let mut statement = tx.prepare_cached(self.sql(k))?;
            for i in 0..k {
                let row = rows.next().ok_or(rusqlite::Error::InvalidQuery)?;
                bind(&mut statement, i * width + 1, row)?;
            }
            statement.raw_execute()?;
            left -= k;
        }
        Ok(())
    }
}

static MARKERS: Insert = Insert::new(
    "replications",
    &["condition", "replication", "seconds"],
    REPLICATIONS_PER_INSERT,
);
static FITS: Insert = Insert::new(
    "fits",
    &[
        "condition",
        "replication",
        "method",
        "status",
        "message",
        "iterations",
        "seconds",
    ],
    16,
);
static ESTIMATES: Insert = Insert::new(
    "estimates",
    &[
        "condition",
        "replication",
        "method",
        "term",
        "position",
        "kind",
        "estimate",
        "se",
        "df",
        "ci_lower",
        "ci_upper",
        "p_value",
        "truth",
    ],
    16,
);

/// Write `reps`, skipping (whole) any replication already stored.
pub(super) fn replications(
    tx: &Connection,
    methods: &[String],
    reps: &[ReplicationRecord],
) -> rusqlite::Result<()> {
    if reps.iter().any(|rep| rep.partial) {
        // Fits added to stored replications (a grown study): each alone, the others as usual.
        for rep in reps {
            if rep.partial {
                fits_and_estimates(tx, methods, std::slice::from_ref(rep))?;
            } else {
                replication(tx, methods, rep)?;
            }
        }
        return Ok(());
    }
    for group in reps.chunks(REPLICATIONS_PER_INSERT) {
        // A plain INSERT of the group's markers fails whole (SQLite undoes the statement) when one of them
        // is stored already; then the group goes one replication at a time, skipping those.
        let marker = |s: &mut Statement<'_>, at, rep: &ReplicationRecord| {
            bind_row!(
                s,
                at,
                rep.condition as i64,
                rep.replication as i64,
                rep.seconds
            )
        };
        match MARKERS.rows(tx, group.len(), group.iter(), marker) {
            Err(e) if is_duplicate(&e) => {
                for rep in group {
                    replication(tx, methods, rep)?;
                }
            }
            marked => {
                marked?;
                fits_and_estimates(tx, methods, group)?;
            }
        }
    }
    Ok(())
}

/// One replication, unless it is stored already.
fn replication(
    tx: &Connection,
    methods: &[String],
    rep: &ReplicationRecord,
) -> rusqlite::Result<()> {
    let mut marker = tx.prepare_cached(
        "INSERT OR IGNORE INTO replications (condition, replication, seconds) VALUES (?1, ?2, ?3)",
    )?;
    if marker.execute(params![
        rep.condition as i64,
        rep.replication as i64,
        rep.seconds
    ])? == 0
    {
        return Ok(());
    }
    fits_and_estimates(tx, methods, std::slice::from_ref(rep))
}

fn is_duplicate(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation)
}

fn fits_and_estimates(
    tx: &Connection,
    methods: &[String],
    reps: &[ReplicationRecord],
) -> rusqlite::Result<()> {
    let fits = reps
        .iter()
        .flat_map(|rep| rep.fits.iter().map(move |fit| (rep, fit)));
    let count = reps.iter().map(|rep| rep.fits.len()).sum();
    FITS.rows(tx, count, fits, |s, at, (rep, fit)| {
        let (condition, replication) = (rep.condition as i64, rep.replication as i64);
        let method = method_name(methods, fit)?;
        let (status, message) = (fit.status.as_str(), fit.message.as_deref());
        bind_row!(
            s,
            at,
            condition,
            replication,
            method,
            status,
            message,
            fit.iterations as i64,
            fit.seconds
        )
    })?;
    let estimates = reps.iter().flat_map(|rep| {
        rep.fits.iter().flat_map(move |fit| {
            let at = fit.estimates.iter().enumerate();
            at.map(move |(position, e)| (rep, fit, position, e))
        })
    });
    let count = reps
        .iter()
        .flat_map(|rep| &rep.fits)
        .map(|fit| fit.estimates.len())
        .sum();
    ESTIMATES.rows(tx, count, estimates, |s, at, (rep, fit, position, e)| {
        let (condition, replication) = (rep.condition as i64, rep.replication as i64);
        let (method, position) = (method_name(methods, fit)?, position as i64);
        let (term, kind) = (&*e.term, e.kind.as_str());
        let [estimate, se, df, ci_lower, ci_upper, p_value, truth] = e.values();
        bind_row!(
            s,
            at,
            condition,
            replication,
            method,
            term,
            position,
            kind,
            estimate,
            se,
            df,
            ci_lower,
            ci_upper,
            p_value,
            truth,
        )
    })
}

/// The runner only produces indices of the study's methods, which the store was created with.
fn method_name<'m>(methods: &'m [String], fit: &FitRecord) -> rusqlite::Result<&'m str> {
    methods.get(fit.method).map(String::as_str).ok_or_else(|| {
        rusqlite::Error::InvalidParameterName(format!("method index {}", fit.method))
    })
}
