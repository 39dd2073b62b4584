//! A run's own rows, kept in memory as the writer stores them: the end of a run that created its store
//! writes results.csv and the summary from here instead of reading the store back, which cost more than
//! the writing (SQLite decodes every record and seeks each estimate's fit). The rows are what the store
//! holds, as reading it would give them: ordered by the tables' keys, NaN as missing and −0 as 0 (SQLite
//! keeps neither). Tests compare both ways byte for byte.

use std::sync::Arc;

use super::{FitStatus, ReplicationRecord, TermKind};

/// Rows kept at most (estimates plus fits; 96 and 16 bytes each, so at most about 25 MB): a larger run
/// reads its store back.
pub const MAX_WRITTEN_ROWS: usize = 1 << 18;

/// One `fits` row (in 16 bytes: a run keeps many).
#[derive(Debug, Clone, Copy)]
pub(crate) struct WrittenFit {
    /// Replication index.
    pub replication: u64,
    /// Condition index.
    pub condition: u32,
    /// The method's index in the study (file order).
    pub method: u16,
    /// Outcome.
    pub status: FitStatus,
}

/// One `estimates` row, with its fit's status.
#[derive(Debug, Clone)]
pub(crate) struct WrittenEstimate {
    /// The fit it belongs to.
    pub fit: WrittenFit,
    /// The term.
    pub term: Arc<str>,
    /// Its place in the method's coefficient table.
    pub position: u32,
    /// Fixed effect or variance component.
    pub kind: TermKind,
    /// estimate, se, df, ci_lower, ci_upper, p_value, truth, as the store returns them; NaN for a
    /// missing value (NULL), which is what the store makes of a NaN.
    values: [f64; 7],
}

impl WrittenEstimate {
    /// estimate, se, df, ci_lower, ci_upper, p_value, truth, as the store returns them.
    pub fn values(&self) -> [Option<f64>; 7] {
        self.values.map(|v| (!v.is_nan()).then_some(v))
    }

    /// The true value, when the study declares one.
    pub fn truth(&self) -> Option<f64> {
        Some(self.values[6]).filter(|t| !t.is_nan())
    }
}

/// The rows a run wrote, while they are few enough to keep (see [`MAX_WRITTEN_ROWS`]).
#[derive(Debug, Clone)]
pub struct Written {
    methods: Vec<String>,
    fits: Vec<WrittenFit>,
    estimates: Vec<WrittenEstimate>,
    limit: usize,
    overflowed: bool,
}

impl Written {
    /// Nothing yet; `methods` are the study's, by index; at most `limit` rows are kept.
    pub fn new(methods: Vec<String>, limit: usize) -> Self {
        Written {
            methods,
            fits: Vec::new(),
            estimates: Vec::new(),
            limit,
            overflowed: false,
        }
    }

    /// Keep the rows of replications just written to the store (or give up keeping, past the limit).
    pub fn record(&mut self, reps: &[ReplicationRecord]) {
        if self.overflowed {
            return;
        }
        for rep in reps {
            for fit in &rep.fits {
                let (Ok(condition), Ok(method)) = (rep.condition.try_into(), fit.method.try_into())
                else {
                    return self.give_up(); // beyond the compact fields: the store is read instead
                };
                let at = WrittenFit {
                    replication: rep.replication,
                    condition,
                    method,
                    status: fit.status,
                };
                self.fits.push(at);
                self.estimates
                    .extend(fit.estimates.iter().enumerate().map(|(position, e)| {
                        WrittenEstimate {
                            fit: at,
                            term: e.term.clone(),
                            position: position as u32,
                            kind: e.kind,
                            values: e.values().map(stored),
                        }
                    }));
            }
        }
        if self.fits.len() + self.estimates.len() > self.limit {
            self.give_up();
        }
    }

    /// Keep nothing more, and free what was kept.
    fn give_up(&mut self) {
        *self = Written {
            overflowed: true,
            ..Written::new(std::mem::take(&mut self.methods), self.limit)
        };
    }

    /// The rows in the store's key order, or `None` if there were too many to keep.
    pub fn finish(mut self) -> Option<Written> {
        if self.overflowed {
            return None;
        }
        let methods = std::mem::take(&mut self.methods);
        let name = |m: u16| methods.get(usize::from(m)).map_or("", String::as_str);
        let key = |f: &WrittenFit| (f.condition, f.replication, name(f.method));
        self.fits.sort_by(|a, b| key(a).cmp(&key(b)));
        self.estimates
            .sort_by(|a, b| (key(&a.fit), &*a.term).cmp(&(key(&b.fit), &*b.term)));
        self.methods = methods;
        Some(self)
    }

    /// A method's name.
    pub(crate) fn method(&self, index: u16) -> &str {
        self.methods
            .get(usize::from(index))
            .map_or("", String::as_str)
    }

    /// Every fit, in key order once [`Written::finish`]ed.
    pub(crate) fn fits(&self) -> &[WrittenFit] {
        &self.fits
    }

    /// Every estimate, in key order once [`Written::finish`]ed.
    pub(crate) fn estimates(&self) -> &[WrittenEstimate] {
        &self.estimates
    }
}

/// A value as the store gives it back, NaN for NULL: SQLite stores NaN as NULL, and −0 (integral) as
/// the integer 0.
fn stored(value: Option<f64>) -> f64 {
    value.map_or(f64::NAN, |v| v + 0.0)
}
