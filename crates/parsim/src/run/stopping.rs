//! Stopping rules (`[stopping]`): how many replications each condition runs. Conditions advance in whole
//! rounds; after each round the Monte Carlo SEs of the targeted measures, computed from that condition's
//! replications `0 .. n` only, decide whether it runs another. A decision reads only complete rounds, so
//! the replications a condition uses, and hence the stored rows, do not depend on the number of workers
//! or on interruptions.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::store::{Replicate, Results, Store, StoreError, Unit, UnitSet};
use crate::study::{Stopping, Study, TargetMeasure};

/// Usable estimates of one (condition, method, term), by replication.
type Cell = Vec<(u64, Replicate)>;

/// A condition's cells: (method, term, its estimates).
type Cells = Vec<(String, String, Cell)>;

/// The replications each condition (by number) runs to now: one round more than its last decision
/// needed, or where its targets were met, or the maximum.
pub(crate) fn targets(
    study: &Study,
    rule: &Stopping,
    store: Option<&Store>,
) -> Result<Vec<u64>, StoreError> {
    let conditions = study.conditions().len();
    let first = rule.round.min(rule.max_replications);
    let Some(store) = store else {
        return Ok(vec![first; conditions]);
    };
    let done = store.completed_units()?;
    let cells = usable(store, study, rule)?;
    Ok((0..conditions)
        .map(|c| decide(rule, study.summary.alpha, &cells, &done, c).0)
        .collect())
}

/// (replications, whether the targets were met) for condition `c`.
fn decide(
    rule: &Stopping,
    alpha: f64,
    cells: &HashMap<usize, Cells>,
    done: &UnitSet,
    c: usize,
) -> (u64, bool) {
    let mut n = rule.round.min(rule.max_replications);
    loop {
        let complete = (0..n).all(|r| done.contains(Unit::new(c, r)));
        if !complete {
            return (n, false);
        }
        if met(rule, alpha, cells.get(&c).map_or(&[][..], Vec::as_slice), n) {
            return (n, true);
        }
        if n >= rule.max_replications {
            return (n, false);
        }
        n = (n + rule.round).min(rule.max_replications);
    }
}

/// Whether every targeted measure of every (method, term) of the condition has its Monte Carlo SE at
/// or below its target, from replications `0 .. n`.
fn met(rule: &Stopping, alpha: f64, cells: &[(String, String, Cell)], n: u64) -> bool {
    !cells.is_empty()
        && cells.iter().all(|(_, _, cell)| {
            rule.targets.iter().all(|&(measure, target)| {
                mcse(measure, alpha, cell, n).is_some_and(|m| m <= target)
            })
        })
}

/// The Monte Carlo SE of `measure` from the replicates of replications `0 .. n` (None with fewer than
/// two usable ones): Morris, White and Crowther (2019), table 6.
pub(crate) fn mcse(
    measure: TargetMeasure,
    alpha: f64,
    cell: &[(u64, Replicate)],
    n: u64,
) -> Option<f64> {
    let within = cell.iter().filter(|(r, _)| *r < n).map(|(_, x)| x);
    match measure {
        TargetMeasure::Bias | TargetMeasure::EmpiricalSe => {
            let values: Vec<f64> = within
                .map(|x| x.estimate)
                .filter(|e| e.is_finite())
                .collect();
            let k = values.len() as f64;
            if values.len() < 2 {
                return None;
            }
            let mean = values.iter().sum::<f64>() / k;
            let var = values.iter().map(|e| (e - mean) * (e - mean)).sum::<f64>() / (k - 1.0);
            Some(if measure == TargetMeasure::Bias {
                (var / k).sqrt()
            } else {
                var.sqrt() / (2.0 * (k - 1.0)).sqrt()
            })
        }
        TargetMeasure::Coverage | TargetMeasure::Rejection => {
            let hits: Vec<bool> = within
                .filter_map(|x| match measure {
                    TargetMeasure::Coverage => match (x.ci_lower, x.ci_upper) {
                        (Some(lo), Some(hi)) => Some(lo <= x.truth && x.truth <= hi),
                        _ => None,
                    },
                    _ => x.p_value.map(|p| p < alpha),
                })
                .collect();
            if hits.len() < 2 {
                return None;
            }
            let k = hits.len() as f64;
            let p = hits.iter().filter(|&&h| h).count() as f64 / k;
            Some((p * (1.0 - p) / k).sqrt())
        }
    }
}

/// The usable estimates of the rule's terms, by condition, then (method, term).
fn usable(
    store: &Store,
    study: &Study,
    rule: &Stopping,
) -> Result<HashMap<usize, Cells>, StoreError> {
    let terms: Vec<&str> = if rule.estimands.is_empty() {
        study.estimands.iter().map(|e| e.term.as_str()).collect()
    } else {
        rule.estimands.iter().map(String::as_str).collect()
    };
    let mut by_key: HashMap<(usize, String, String), Cell> = HashMap::new();
    store.for_each_usable(&mut |u| {
        if terms.contains(&u.term) {
            by_key
                .entry((u.condition, u.method.to_string(), u.term.to_string()))
                .or_default()
                .push((u.replication, u.replicate));
        }
    })?;
    let mut out: HashMap<usize, Cells> = HashMap::new();
    let mut keys: Vec<_> = by_key.into_iter().collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    for ((c, method, term), cell) in keys {
        out.entry(c).or_default().push((method, term, cell));
    }
    Ok(out)
}

/// The lines the summary adds: the rule, and each condition's replications and why it stopped.
pub(crate) fn record(study: &Study, rule: &Stopping, store: &Store) -> Result<String, StoreError> {
    let done = store.completed_units()?;
    let cells = usable(store, study, rule)?;
    let mut out = format!("stopping rule: {}\n", rule.describe());
    let mut csv = String::from("condition,replications,stopped_by\n");
    for c in study.conditions() {
        let (n, met) = decide(rule, study.summary.alpha, &cells, &done, c.index);
        let why = if met { "targets" } else { "max_replications" };
        let _ = writeln!(out, "  condition {}: {n} replications ({why})", c.index);
        let _ = writeln!(csv, "{},{n},{why}", c.index);
    }
    let path = store
        .path()
        .parent()
        .map(|d| d.join("stopping.csv"))
        .unwrap_or_default();
    std::fs::write(&path, csv).map_err(|source| StoreError::Io { path, source })?;
    Ok(out)
}

/// `parsim plan DIR`: for each condition, method, term and targeted measure of the stored study's
/// `[stopping]` (or of `rule`), the Monte Carlo SE after the stored replications and the replications
/// that reach the target (n (MCSE / target)², as MCSEs shrink with the square root of n).
pub fn plan(dir: &std::path::Path) -> Result<String, crate::run::RunError> {
    let store = Store::open_existing(dir)?;
    let source = store.study_source()?;
    let study = Study::from_source(&dir.join("study.toml"), source)
        .map_err(|e| crate::run::RunError::Summary(format!("the stored study: {e}")))?;
    let Some(rule) = study.stopping.clone() else {
        return Err(crate::run::RunError::Summary(
            "the stored study has no [stopping] section: add one with the targets (mcse = { ... }) and run it as a pilot".into(),
        ));
    };
    let cells = usable(&store, &study, &rule)?;
    let mut out = format!(
        "{:>9}  {:<16} {:<16} {:<12} {:>7} {:>9} {:>8} {:>8}\n",
        "condition", "method", "term", "measure", "n", "MCSE", "target", "needed"
    );
    let mut worst = 0u64;
    for c in study.conditions() {
        for (method, term, cell) in cells.get(&c.index).map_or(&[][..], Vec::as_slice) {
            for &(measure, target) in &rule.targets {
                let Some(m) = mcse(measure, study.summary.alpha, cell, u64::MAX) else {
                    continue;
                };
                let used = cell.len() as u64;
                let needed = (used as f64 * (m / target).powi(2)).ceil() as u64;
                worst = worst.max(needed);
                let _ = writeln!(
                    out,
                    "{:>9}  {method:<16} {term:<16} {:<12} {used:>7} {m:>9.5} {target:>8} {needed:>8}",
                    c.index,
                    measure.as_str(),
                );
            }
        }
    }
    let _ = writeln!(out, "most replications any target needs: {worst}");
    Ok(out)
}
