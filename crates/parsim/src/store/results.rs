//! What the measures, the export and the figures read of a study's results, as one typed interface
//! ([`Results`]) with two sources: the store itself, and the rows a run has just written to it ([`Kept`]),
//! which saves reading them back. Both give the same rows in the same order (tests compare them byte for
//! byte), so the end of a run has one path whatever the source.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

use super::{FitStatus, Store, StoreError, StoredCondition, Written};

/// One replication's numbers for one term of a usable fit (status ok or singular) with a true value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Replicate {
    /// The estimate θ̂ᵢ (non-finite means the method produced no usable estimate).
    pub estimate: f64,
    /// Model-based standard error, when the method gives one.
    pub se: Option<f64>,
    /// Degrees of freedom of the t reference distribution; `None` = normal (z).
    pub df: Option<f64>,
    /// Interval the method reported at the study's level; used only when there is no usable SE.
    pub ci_lower: Option<f64>,
    /// Upper end of the reported interval; see `ci_lower`.
    pub ci_upper: Option<f64>,
    /// Reported p-value of H0: term = 0; used only when there is no usable SE.
    pub p_value: Option<f64>,
    /// The true value θ of the estimand.
    pub truth: f64,
}

impl Replicate {
    /// The replicate of an estimate row's seven values (estimate, se, df, ci_lower, ci_upper, p_value,
    /// truth), if it has a true value; a missing estimate is a failed one (NaN).
    pub fn from_values(values: [Option<f64>; 7]) -> Option<Replicate> {
        let [estimate, se, df, ci_lower, ci_upper, p_value, truth] = values;
        Some(Replicate {
            estimate: estimate.unwrap_or(f64::NAN),
            se,
            df,
            ci_lower,
            ci_upper,
            p_value,
            truth: truth?,
        })
    }
}

/// One estimate of a usable fit of a term with a true value, with where it belongs.
#[derive(Debug, Clone, Copy)]
pub struct Usable<'a> {
    /// Condition index.
    pub condition: usize,
    /// Replication index.
    pub replication: u64,
    /// The method's name.
    pub method: &'a str,
    /// The term.
    pub term: &'a str,
    /// Its numbers.
    pub replicate: Replicate,
}

/// One stored estimate joined with its fit's status, as results.csv lists it.
#[derive(Debug, Clone, Copy)]
pub struct EstimateLine<'a> {
    /// Condition index.
    pub condition: usize,
    /// Replication index.
    pub replication: u64,
    /// The method's name.
    pub method: &'a str,
    /// The term.
    pub term: &'a str,
    /// Coefficient or variance component.
    pub kind: &'a str,
    /// The fit's status.
    pub status: &'a str,
    /// estimate, se, df, ci_lower, ci_upper, p_value, truth (`None` where the store holds NULL).
    pub values: [Option<f64>; 7],
}

impl EstimateLine<'_> {
    /// The fit's status (an unknown word counts as an error).
    pub fn fit_status(&self) -> FitStatus {
        status_of(self.status)
    }

    /// The estimate (NaN where the store holds NULL).
    pub fn estimate(&self) -> f64 {
        self.values[0].unwrap_or(f64::NAN)
    }

    /// The model-based standard error.
    pub fn se(&self) -> Option<f64> {
        self.values[1]
    }

    /// The estimand's true value.
    pub fn truth(&self) -> Option<f64> {
        self.values[6]
    }
}

/// Fits of one method in one condition that ended with the same unusable status and message.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedFits {
    /// Condition index.
    pub condition: usize,
    /// The method's name.
    pub method: String,
    /// Their status.
    pub status: FitStatus,
    /// Their message, if the method gave one.
    pub message: Option<String>,
    /// How many.
    pub count: u64,
}

/// The study a results source belongs to, as it was stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredStudy {
    /// The study's name.
    pub name: String,
    /// The study file's text as it was run.
    pub toml: String,
}

/// A study's results, read: the design and every fit and estimate.
pub trait Results {
    /// The study's name and file.
    fn study(&self) -> Result<StoredStudy, StoreError>;
    /// The design factors (parameters with several values), in file order.
    fn factors(&self) -> Result<Vec<String>, StoreError>;
    /// The design grid.
    fn conditions(&self) -> Result<Vec<StoredCondition>, StoreError>;
    /// The methods, in file order.
    fn methods(&self) -> Result<Vec<String>, StoreError>;
    /// The methods with fits, by name (sorted).
    fn fit_methods(&self) -> Result<Vec<String>, StoreError>;
    /// (method, term, first position in the method's table) of every term estimated with a true value.
    fn truth_terms(&self) -> Result<Vec<(String, String, u32)>, StoreError>;
    /// Every (condition, method) with fits, and how many.
    fn fitted(&self) -> Result<Vec<(usize, String, u64)>, StoreError>;
    /// The fits whose estimates cannot be used (see [`FitStatus::is_usable`]), counted per (condition,
    /// method, status, message).
    fn failed(&self) -> Result<Vec<FailedFits>, StoreError>;
    /// Every estimate of a usable fit of a term with a true value, ordered by (condition, replication).
    fn for_each_usable(&self, f: &mut dyn FnMut(Usable<'_>)) -> Result<(), StoreError>;
    /// Every estimate with its fit's status, ordered by (condition, replication, method, term).
    fn for_each_line(&self, f: &mut dyn FnMut(EstimateLine<'_>)) -> Result<(), StoreError>;
    /// Whether reading was stopped: what is derived from these results is no longer wanted.
    fn stopped(&self) -> bool {
        false
    }
}

/// The rows a run wrote into `store` ([`Written::finish`]ed), read without reading them back; the
/// design comes from the store.
pub struct Kept<'a> {
    store: &'a Store,
    written: &'a Written,
}

impl<'a> Kept<'a> {
    /// The rows `written` into `store`.
    pub fn new(store: &'a Store, written: &'a Written) -> Kept<'a> {
        Kept { store, written }
    }
}

impl Results for Kept<'_> {
    fn study(&self) -> Result<StoredStudy, StoreError> {
        self.store.study()
    }

    fn factors(&self) -> Result<Vec<String>, StoreError> {
        Results::factors(self.store)
    }

    fn conditions(&self) -> Result<Vec<StoredCondition>, StoreError> {
        Results::conditions(self.store)
    }

    fn methods(&self) -> Result<Vec<String>, StoreError> {
        Results::methods(self.store)
    }

    fn fit_methods(&self) -> Result<Vec<String>, StoreError> {
        let w = self.written;
        let names: BTreeSet<&str> = w.fits().iter().map(|f| w.method(f.method)).collect();
        Ok(names.into_iter().map(String::from).collect())
    }

    fn truth_terms(&self) -> Result<Vec<(String, String, u32)>, StoreError> {
        let w = self.written;
        let mut found: BTreeMap<(&str, &str), u32> = BTreeMap::new();
        for e in w.estimates().iter().filter(|e| e.truth().is_some()) {
            let at = found
                .entry((w.method(e.fit.method), &e.term))
                .or_insert(e.position);
            *at = (*at).min(e.position);
        }
        Ok(found
            .into_iter()
            .map(|((method, term), at)| (method.to_string(), term.to_string(), at))
            .collect())
    }

    fn fitted(&self) -> Result<Vec<(usize, String, u64)>, StoreError> {
        let w = self.written;
        let mut fits: BTreeMap<(u32, u16), u64> = BTreeMap::new();
        for fit in w.fits() {
            *fits.entry((fit.condition, fit.method)).or_default() += 1;
        }
        Ok(fits
            .into_iter()
            .map(|((c, m), n)| (c as usize, w.method(m).to_string(), n))
            .collect())
    }

    /// From the store: the run keeps no messages, and failed fits are few.
    fn failed(&self) -> Result<Vec<FailedFits>, StoreError> {
        Results::failed(self.store)
    }

    fn for_each_usable(&self, f: &mut dyn FnMut(Usable<'_>)) -> Result<(), StoreError> {
        let w = self.written;
        for e in w.estimates().iter().filter(|e| e.fit.status.is_usable()) {
            let Some(replicate) = Replicate::from_values(e.values()) else {
                continue;
            };
            f(Usable {
                condition: e.fit.condition as usize,
                replication: e.fit.replication,
                method: w.method(e.fit.method),
                term: &e.term,
                replicate,
            });
        }
        Ok(())
    }

    fn for_each_line(&self, f: &mut dyn FnMut(EstimateLine<'_>)) -> Result<(), StoreError> {
        let w = self.written;
        for e in w.estimates() {
            f(EstimateLine {
                condition: e.fit.condition as usize,
                replication: e.fit.replication,
                method: w.method(e.fit.method),
                term: &e.term,
                kind: e.kind.as_str(),
                status: e.fit.status.as_str(),
                values: e.values(),
            });
        }
        Ok(())
    }
}

/// Results read until `stop` is set (by a signal handler). From then on rows are passed over unread
/// and the read ends with [`StoreError::Interrupted`]: what reads the results (the export, the
/// measures) answers a signal within one pass over the rows, without a check of its own.
pub struct Interruptible<'a> {
    inner: &'a dyn Results,
    stop: &'a AtomicBool,
}

impl<'a> Interruptible<'a> {
    /// `inner`, read until `stop` is set.
    pub fn new(inner: &'a dyn Results, stop: &'a AtomicBool) -> Interruptible<'a> {
        Interruptible { inner, stop }
    }

    /// `value`, unless the read was stopped.
    fn unless_stopped<T>(&self, value: Result<T, StoreError>) -> Result<T, StoreError> {
        if self.stopped() {
            return Err(StoreError::Interrupted);
        }
        value
    }
}

impl Results for Interruptible<'_> {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn study(&self) -> Result<StoredStudy, StoreError> {
        self.unless_stopped(self.inner.study())
    }

    fn factors(&self) -> Result<Vec<String>, StoreError> {
        self.unless_stopped(self.inner.factors())
    }

    fn conditions(&self) -> Result<Vec<StoredCondition>, StoreError> {
        self.unless_stopped(self.inner.conditions())
    }

    fn methods(&self) -> Result<Vec<String>, StoreError> {
        self.unless_stopped(self.inner.methods())
    }

    fn fit_methods(&self) -> Result<Vec<String>, StoreError> {
        self.unless_stopped(self.inner.fit_methods())
    }

    fn truth_terms(&self) -> Result<Vec<(String, String, u32)>, StoreError> {
        self.unless_stopped(self.inner.truth_terms())
    }

    fn fitted(&self) -> Result<Vec<(usize, String, u64)>, StoreError> {
        self.unless_stopped(self.inner.fitted())
    }

    fn failed(&self) -> Result<Vec<FailedFits>, StoreError> {
        self.unless_stopped(self.inner.failed())
    }

    fn for_each_usable(&self, f: &mut dyn FnMut(Usable<'_>)) -> Result<(), StoreError> {
        let read = self.inner.for_each_usable(&mut |row| {
            if !self.stopped() {
                f(row)
            }
        });
        self.unless_stopped(read)
    }

    fn for_each_line(&self, f: &mut dyn FnMut(EstimateLine<'_>)) -> Result<(), StoreError> {
        let read = self.inner.for_each_line(&mut |line| {
            if !self.stopped() {
                f(line)
            }
        });
        self.unless_stopped(read)
    }
}

/// The status stored for a fit (an unknown word counts as an error: its estimates are not used).
pub(super) fn status_of(word: &str) -> FitStatus {
    FitStatus::parse(word).unwrap_or(FitStatus::Error)
}
