//! How the fits of each method went in each condition: how many could be used (the convergence rate, a
//! measure with its Monte Carlo SE), and why the others could not (their most common messages). A method
//! that failed on every replication of a condition has no estimates to summarise; it is listed here, so a
//! summary never drops it silently.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::store::{FailedFits, Results};

use super::moments::Proportion;
use super::{MeasuresError, Value};

/// Reasons kept per (condition, method): the most common ones.
const REASONS: usize = 3;

/// Why some fits of a method in a condition could not be used: their status and message, and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureReason {
    /// The fits' status (`error`, `not_converged`, ...).
    pub status: String,
    /// The first line of their message (empty when the method gave none).
    pub message: String,
    /// How many fits ended so.
    pub count: u64,
}

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.message.is_empty() {
            write!(f, "{} ×{}", self.status, self.count)
        } else {
            write!(f, "{}: {} ×{}", self.status, self.message, self.count)
        }
    }
}

/// The fits of one method in one condition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitCounts {
    /// Condition index.
    pub condition: usize,
    /// Method name.
    pub method: String,
    /// Fits stored.
    pub fits: u64,
    /// Fits whose estimates cannot be used (errors, no convergence, ...).
    pub failed: u64,
    /// The most common reasons, most frequent first (at most three).
    pub reasons: Vec<FailureReason>,
}

impl FitCounts {
    /// The convergence rate: % of fits whose estimates can be used, with MCSE 100 √(p(1 − p)/n).
    pub fn convergence(&self) -> Value {
        let usable = Proportion {
            n: self.fits,
            hits: self.fits - self.failed,
        };
        Value::new(100.0 * usable.estimate(), 100.0 * usable.mcse())
    }

    /// Whether every fit failed: the method gave nothing to summarise in this condition.
    pub fn all_failed(&self) -> bool {
        self.fits > 0 && self.failed == self.fits
    }

    /// The reasons, joined for a table cell: `error: singular matrix ×12; not_converged ×3`.
    pub fn reasons_text(&self) -> String {
        let reasons: Vec<String> = self.reasons.iter().map(ToString::to_string).collect();
        reasons.join("; ")
    }
}

/// A (condition, method), ordered by condition and the method's rank: (condition, rank, name).
type PairKey = (usize, usize, String);
/// Fits per (status, first line of message).
type Reasons = BTreeMap<(String, String), u64>;

/// Every (condition, method) of `fitted` (condition, method, fits), ordered by condition and method (in
/// `methods` order), with its failed fits from `results`.
pub(super) fn fit_counts(
    results: &dyn Results,
    methods: &[String],
    fitted: &[(usize, String, u64)],
) -> Result<Vec<FitCounts>, MeasuresError> {
    let rank = |name: &str| methods.iter().position(|m| m == name).unwrap_or(usize::MAX);
    let mut counts: BTreeMap<PairKey, FitCounts> = BTreeMap::new();
    for (condition, method, fits) in fitted {
        let key = (*condition, rank(method), method.clone());
        counts.insert(
            key,
            FitCounts {
                condition: *condition,
                method: method.clone(),
                fits: *fits,
                failed: 0,
                reasons: Vec::new(),
            },
        );
    }
    let mut reasons: BTreeMap<PairKey, Reasons> = BTreeMap::new();
    for failed in results.failed()? {
        let FailedFits {
            condition,
            method,
            status,
            message,
            count,
        } = failed;
        let key = (condition, rank(&method), method);
        if let Some(entry) = counts.get_mut(&key) {
            entry.failed += count;
        }
        // Messages that differ after their first line (a traceback, a dump) are one reason.
        let first_line = message
            .as_deref()
            .and_then(|m| m.lines().next())
            .unwrap_or("")
            .trim()
            .to_string();
        *reasons
            .entry(key)
            .or_default()
            .entry((status.as_str().to_string(), first_line))
            .or_default() += count;
    }
    for (key, found) in reasons {
        if let Some(entry) = counts.get_mut(&key) {
            entry.reasons = most_common(found);
        }
    }
    Ok(counts.into_values().collect())
}

/// The most common reasons, most frequent first (ties in status and message order, for stable output).
fn most_common(found: Reasons) -> Vec<FailureReason> {
    let mut reasons: Vec<FailureReason> = found
        .into_iter()
        .map(|((status, message), count)| FailureReason {
            status,
            message,
            count,
        })
        .collect();
    reasons.sort_by_key(|r| std::cmp::Reverse(r.count));
    reasons.truncate(REASONS);
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn convergence_is_a_proportion_with_its_mcse() {
        let counts = FitCounts {
            condition: 0,
            method: "m".into(),
            fits: 200,
            failed: 50,
            reasons: Vec::new(),
        };
        let v = counts.convergence();
        assert_eq!(v.estimate, 75.0);
        // 100 √(0.75 × 0.25 / 200)
        assert!((v.mcse - 100.0 * (0.75f64 * 0.25 / 200.0).sqrt()).abs() < 1e-12);
        assert!(!counts.all_failed());
    }

    #[test]
    fn most_common_reasons_come_first_and_are_capped() {
        let mut found = BTreeMap::new();
        for (i, n) in [3u64, 9, 1, 9, 2].into_iter().enumerate() {
            found.insert(("error".to_string(), format!("m{i}")), n);
        }
        let reasons = most_common(found);
        let shown: Vec<(&str, u64)> = reasons
            .iter()
            .map(|r| (r.message.as_str(), r.count))
            .collect();
        assert_eq!(shown, [("m1", 9), ("m3", 9), ("m0", 3)]);
    }
}
