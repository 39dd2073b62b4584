//! The performance measures of every (condition, method, term) of a results store.
//!
//! Two passes over the usable estimates, in the order of the estimates' primary key (condition,
//! replication): (1) every usable estimate into its group's accumulator, giving θ̄, while each
//! replication's estimates are paired with the reference method's for relative precision; (2) the same
//! rows again, counting intervals that cover θ̄ (bias-eliminated coverage). The first pass streams them
//! from the results ([`Results`]: the store, or the rows a run just wrote) and keeps them for the second,
//! up to 2¹⁸ rows (about 26 MB); larger results are streamed twice. Otherwise memory holds one
//! accumulator per group and one replication's rows.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::store::{Results, StoredCondition, Usable};

use super::fits::{fit_counts, FitCounts};
use super::{
    IntervalRule, MeasuresError, PerformanceAccumulator, PerformanceMeasures, PrecisionAccumulator,
    Replicate, SettingsError, SummarySettings,
};

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
    /// The fits of every method in every condition: the convergence rate and why fits failed. A method
    /// that failed on every replication of a condition is here even when it has no row.
    pub fits: Vec<FitCounts>,
}

impl Summary {
    /// The same study, settings, factors and methods, without conditions, rows or fits.
    pub fn clone_header(&self) -> Summary {
        Summary {
            study: self.study.clone(),
            settings: self.settings.clone(),
            factors: self.factors.clone(),
            conditions: Vec::new(),
            methods: self.methods.clone(),
            rows: Vec::new(),
            fits: Vec::new(),
        }
    }

    /// The condition with this index.
    pub fn condition(&self, index: usize) -> Option<&ConditionInfo> {
        // Conditions come in index order: a binary search keeps reports linear in the conditions
        // (125,000 of them); a summary built in another order is still answered, by a scan.
        match self.conditions.binary_search_by_key(&index, |c| c.index) {
            Ok(at) => Some(&self.conditions[at]),
            Err(_) => self.conditions.iter().find(|c| c.index == index),
        }
    }

    /// Keep only the rows (and fits) of these methods and estimands; `None` keeps all. A name the summary
    /// does not have is an error that lists those it has.
    pub fn retain(
        &mut self,
        methods: Option<&[String]>,
        estimands: Option<&[String]>,
    ) -> Result<(), SettingsError> {
        let terms: Vec<String> = self.terms().into_iter().map(String::from).collect();
        if let Some(methods) = methods {
            known("method", methods, &self.methods)?;
            self.methods.retain(|m| methods.contains(m));
            self.rows.retain(|r| methods.contains(&r.method));
            self.fits.retain(|f| methods.contains(&f.method));
        }
        if let Some(estimands) = estimands {
            known("estimand", estimands, &terms)?;
            self.rows.retain(|r| estimands.contains(&r.term));
        }
        Ok(())
    }

    /// The (condition, method) pairs whose every fit failed.
    pub fn failed_everywhere(&self) -> impl Iterator<Item = &FitCounts> {
        self.fits.iter().filter(|f| f.all_failed())
    }

    /// The fits of a method in a condition.
    pub fn fit_counts(&self, condition: usize, method: &str) -> Option<&FitCounts> {
        // Fits come ordered by condition: search the condition's few methods only, else scan them all.
        let start = self.fits.partition_point(|f| f.condition < condition);
        self.fits[start..]
            .iter()
            .take_while(|f| f.condition == condition)
            .find(|f| f.method == method)
            .or_else(|| {
                self.fits
                    .iter()
                    .find(|f| f.condition == condition && f.method == method)
            })
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

/// Summarise a study's results (a store, or the rows a run wrote: see [`Results`]). `settings` override
/// the study's `[summary]`; pass `None` to use the study's own.
pub fn summarise(
    results: &dyn Results,
    settings: Option<SummarySettings>,
) -> Result<Summary, MeasuresError> {
    summarise_keeping(results, settings, KEPT_ROWS)
}

/// Usable rows the first pass keeps in memory for the second (about 100 bytes each), which then need
/// not read the results again; larger results are read twice.
const KEPT_ROWS: usize = 1 << 18;

/// [`summarise`] with the first pass keeping at most `kept_rows` rows for the second: both ways give
/// the same summary, which tests check.
#[doc(hidden)]
pub fn summarise_keeping(
    results: &dyn Results,
    settings: Option<SummarySettings>,
    kept_rows: usize,
) -> Result<Summary, MeasuresError> {
    let (study, settings) = study_settings(results, settings)?;
    let index = GroupIndex::read(results)?;
    let settings = index.resolve_reference(settings)?;
    let fits = fit_counts(results, &index.methods, &index.fitted)?;
    let (mut accumulator, kept) = first_pass(results, &index, &settings, kept_rows, &fits)?;
    let second = second_pass(results, &index, &settings, &accumulator, kept.as_deref())?;
    accumulator.merge(&second);
    Ok(Summary {
        study,
        rows: accumulator.rows(&index.methods),
        fits,
        settings,
        factors: results.factors()?,
        conditions: results
            .conditions()?
            .into_iter()
            .map(condition_info)
            .collect(),
        methods: index.methods,
    })
}

/// Every name of `names` is one of `known`.
fn known(what: &'static str, names: &[String], known: &[String]) -> Result<(), SettingsError> {
    match names.iter().find(|n| !known.contains(n)) {
        Some(name) => Err(SettingsError::UnknownName {
            what,
            name: name.clone(),
            known: known.join(", "),
        }),
        None => Ok(()),
    }
}

/// A condition of the store as the summary reports it: its parameters by name (the order and the
/// finite values the summary has always listed).
fn condition_info(c: StoredCondition) -> ConditionInfo {
    let mut parameters: Vec<(String, f64)> = c
        .parameters
        .into_iter()
        .filter(|(_, v)| !v.is_nan())
        .collect();
    parameters.sort_by(|a, b| a.0.cmp(&b.0));
    ConditionInfo {
        index: c.index,
        label: c.label,
        parameters,
    }
}

/// One (condition, method, term).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GroupId {
    /// Condition index.
    pub condition: usize,
    /// Method name.
    pub method: String,
    /// Term name.
    pub term: String,
}

/// The mergeable state of a summary: per (condition, method, term), the single-method accumulator and the
/// pairs with the reference method. Shards of a study are summarised without their raw rows meeting:
/// [`accumulate`] on each shard, [`StudyAccumulator::merge`], then each shard's
/// [`accumulate_bias_eliminated`] against the merged θ̄, merged in as well.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StudyAccumulator {
    /// Terms in model order (order first written).
    pub terms: Vec<String>,
    /// Every group's accumulators.
    pub groups: BTreeMap<GroupId, (PerformanceAccumulator, PrecisionAccumulator)>,
}

impl StudyAccumulator {
    /// Merge another shard's accumulators (same study, same settings).
    pub fn merge(&mut self, other: &StudyAccumulator) {
        for term in &other.terms {
            if !self.terms.contains(term) {
                self.terms.push(term.clone());
            }
        }
        for (id, (performance, precision)) in &other.groups {
            let entry = self.groups.entry(id.clone()).or_default();
            entry.0.merge(performance);
            entry.1.merge(precision);
        }
    }

    /// The summary rows, ordered by condition, method (in `methods` order) and term (model order). A group is
    /// reported when its term has a true value in its condition, and when every fit of its method there
    /// failed (its true value then unknown if no other method estimated it: NaN).
    pub fn rows(&self, methods: &[String]) -> Vec<SummaryRow> {
        let mut truths: HashMap<(usize, &str), f64> = HashMap::new();
        for (id, (performance, _)) in &self.groups {
            if let Some(truth) = performance.truth {
                truths.entry((id.condition, &id.term)).or_insert(truth);
            }
        }
        let rank = |names: &[String], name: &str| {
            names.iter().position(|n| n == name).unwrap_or(usize::MAX)
        };
        let mut rows: Vec<SummaryRow> = self
            .groups
            .iter()
            .filter_map(|(id, (performance, precision))| {
                let truth = match truths.get(&(id.condition, id.term.as_str())) {
                    Some(truth) => *truth,
                    None if performance.used() == 0 => f64::NAN,
                    None => return None,
                };
                let mut measures = performance.finish();
                measures.truth = truth;
                measures.relative_precision = precision.finish();
                Some(SummaryRow {
                    condition: id.condition,
                    method: id.method.clone(),
                    term: id.term.clone(),
                    measures,
                })
            })
            .collect();
        rows.sort_by_key(|r| {
            (
                r.condition,
                rank(methods, &r.method),
                rank(&self.terms, &r.term),
            )
        });
        rows
    }
}

/// First pass over a store (e.g. one shard): every measure but bias-eliminated coverage, mergeable.
/// `settings.reference` `None` means the first method.
pub fn accumulate(
    results: &dyn Results,
    settings: &SummarySettings,
) -> Result<StudyAccumulator, MeasuresError> {
    let index = GroupIndex::read(results)?;
    let settings = index.resolve_reference(settings.clone())?;
    let fits = fit_counts(results, &index.methods, &index.fitted)?;
    Ok(first_pass(results, &index, &settings, 0, &fits)?.0)
}

/// Second pass over a store (e.g. one shard): counts of intervals covering θ̄ of `merged`, the merged first
/// passes of every shard. Merge the result into `merged`.
pub fn accumulate_bias_eliminated(
    results: &dyn Results,
    settings: &SummarySettings,
    merged: &StudyAccumulator,
) -> Result<StudyAccumulator, MeasuresError> {
    let index = GroupIndex::read(results)?;
    second_pass(results, &index, settings, merged, None)
}

/// The study's name and the settings to use: those given, else the study's `[summary]`.
fn study_settings(
    results: &dyn Results,
    settings: Option<SummarySettings>,
) -> Result<(String, SummarySettings), MeasuresError> {
    let study = results.study()?;
    let settings = match settings {
        Some(s) => s,
        None => SummarySettings::from_study_toml(&study.toml).map_err(SettingsError::from)?,
    };
    Ok((study.name, settings))
}

/// A usable row kept for the second pass: its group and what the method reported.
type Kept = (usize, Replicate);

/// Every measure but bias-eliminated coverage; with the usable rows (at most `kept_rows`, else none)
/// for the second pass.
fn first_pass(
    rows: &dyn Results,
    index: &GroupIndex,
    settings: &SummarySettings,
    kept_rows: usize,
    fits: &[FitCounts],
) -> Result<(StudyAccumulator, Option<Vec<Kept>>), MeasuresError> {
    let mut rule = IntervalRule::new(settings.level, settings.alpha)?;
    let mut groups = vec![PerformanceAccumulator::default(); index.len()];
    index.count_failed_fits(fits, &mut groups);
    let reference = settings
        .reference
        .as_deref()
        .and_then(|r| index.methods.iter().position(|m| m == r));
    let mut pairing = Pairing::new(reference, index.len());
    let mut kept = (kept_rows > 0).then(Vec::new);
    for_each_usable(rows, index, |at, r| {
        groups[at.group].push(r, &mut rule);
        pairing.push(at, r.estimate);
        if kept.as_ref().is_some_and(|rows| rows.len() == kept_rows) {
            kept = None;
        } else if let Some(rows) = &mut kept {
            rows.push((at.group, *r));
        }
    })?;
    let precision = pairing.finish();
    Ok((index.keyed(groups.into_iter().zip(precision)), kept))
}

/// Bias-eliminated coverage: the usable rows again (those `kept` by the first pass, else from the store)
/// against θ̄ of `merged`.
fn second_pass(
    rows: &dyn Results,
    index: &GroupIndex,
    settings: &SummarySettings,
    merged: &StudyAccumulator,
    kept: Option<&[Kept]>,
) -> Result<StudyAccumulator, MeasuresError> {
    let mut rule = IntervalRule::new(settings.level, settings.alpha)?;
    let means: Vec<f64> = index
        .keys
        .iter()
        .map(|key| {
            merged
                .groups
                .get(&index.id(key))
                .map_or(f64::NAN, |(p, _)| p.mean_estimate())
        })
        .collect();
    let mut groups = vec![PerformanceAccumulator::default(); index.len()];
    let mut push = |group: usize, r: &Replicate| {
        groups[group].push_bias_eliminated(r, means[group], &mut rule)
    };
    match kept {
        Some(rows) => rows.iter().for_each(|(group, r)| push(*group, r)),
        None => for_each_usable(rows, index, |at, r| push(at.group, r))?,
    }
    Ok(index.keyed(
        groups
            .into_iter()
            .map(|g| (g, PrecisionAccumulator::default())),
    ))
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
    /// (condition, method, fits) of every method with fits in a condition.
    fitted: Vec<(usize, String, u64)>,
    keys: Vec<GroupKey>,
    lookup: HashMap<GroupKey, usize>,
}

impl GroupIndex {
    /// Groups: every method that has fits in a condition, for every term it estimates with a true value there.
    fn read(rows: &dyn Results) -> Result<Self, MeasuresError> {
        let mut methods: Vec<String> = rows.methods()?;
        // Methods missing from the `methods` table (should not happen) still get summarised.
        for m in rows.fit_methods()? {
            if !methods.contains(&m) {
                methods.push(m);
            }
        }
        // Which methods estimate which terms with a true value, and where in each method's coefficient
        // table. A term is listed where the first method (file order) that estimates it has it: model
        // order, whatever order the replications were written or merged in.
        let found = rows.truth_terms()?;
        let mut placed: Vec<((usize, u32), &str)> = Vec::new();
        for (method, term, at) in &found {
            let place = (position(&methods, method)?, *at);
            match placed.iter_mut().find(|(_, t)| t == term) {
                Some(entry) => entry.0 = entry.0.min(place),
                None => placed.push((place, term)),
            }
        }
        placed.sort();
        let terms: Vec<String> = placed.iter().map(|(_, t)| t.to_string()).collect();
        let mut method_terms: Vec<(usize, usize)> = Vec::new();
        for (method, term, _) in &found {
            method_terms.push((position(&methods, method)?, position(&terms, term)?));
        }
        let mut keys = Vec::new();
        let fitted = rows.fitted()?;
        for (condition, method, _) in &fitted {
            let (condition, method) = (*condition, position(&methods, method)?);
            for &(m, term) in &method_terms {
                if m == method {
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
            fitted,
            keys,
            lookup,
        })
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn id(&self, key: &GroupKey) -> GroupId {
        GroupId {
            condition: key.condition,
            method: self.methods[key.method].clone(),
            term: self.terms[key.term].clone(),
        }
    }

    /// Accumulators in key order, keyed by name.
    fn keyed(
        &self,
        groups: impl Iterator<Item = (PerformanceAccumulator, PrecisionAccumulator)>,
    ) -> StudyAccumulator {
        StudyAccumulator {
            terms: self.terms.clone(),
            groups: self.keys.iter().map(|k| self.id(k)).zip(groups).collect(),
        }
    }

    /// The settings with the reference method resolved (the first method when none is named).
    fn resolve_reference(
        &self,
        mut settings: SummarySettings,
    ) -> Result<SummarySettings, SettingsError> {
        settings.reference = self.reference(settings.reference.as_deref())?;
        Ok(settings)
    }

    /// The group of a row, found without allocating (few methods and terms: a linear scan is fastest).
    fn group(&self, condition: usize, method: &str, term: &str) -> Option<(usize, GroupKey)> {
        let key = GroupKey {
            condition,
            method: self.methods.iter().position(|m| m == method)?,
            term: self.terms.iter().position(|t| t == term)?,
        };
        self.lookup.get(&key).map(|g| (*g, key))
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
    fn count_failed_fits(&self, fits: &[FitCounts], groups: &mut [PerformanceAccumulator]) {
        for counts in fits.iter().filter(|f| f.failed > 0) {
            for (key, group) in self.keys.iter().zip(groups.iter_mut()) {
                if key.condition == counts.condition && self.methods[key.method] == counts.method {
                    group.failed += counts.failed;
                }
            }
        }
    }
}

/// Where a usable row belongs: its group, and its replication (for pairing methods).
struct Located {
    group: usize,
    condition: usize,
    replication: u64,
    method: usize,
    term: usize,
}

/// Every usable row (see [`Results::for_each_usable`]) of a group, with where it belongs.
fn for_each_usable(
    rows: &dyn Results,
    index: &GroupIndex,
    mut f: impl FnMut(&Located, &Replicate),
) -> Result<(), MeasuresError> {
    rows.for_each_usable(&mut |row: Usable<'_>| {
        let Some((group, key)) = index.group(row.condition, row.method, row.term) else {
            return;
        };
        let at = Located {
            group,
            condition: key.condition,
            replication: row.replication,
            method: key.method,
            term: key.term,
        };
        f(&at, &row.replicate);
    })?;
    Ok(())
}

/// Pairs each method's estimate with the reference method's of the same replication and term, for relative
/// precision. Rows arrive ordered by (condition, replication), so only one replication's rows (methods ×
/// terms, a handful) are buffered at a time, in a buffer reused across replications.
struct Pairing {
    reference: Option<usize>,
    replication: Option<(usize, u64)>,
    /// (group, method, term, estimate) of the current replication.
    buffer: Vec<(usize, usize, usize, f64)>,
    precision: Vec<PrecisionAccumulator>,
}

impl Pairing {
    fn new(reference: Option<usize>, groups: usize) -> Self {
        Pairing {
            reference,
            replication: None,
            buffer: Vec::new(),
            precision: vec![PrecisionAccumulator::default(); groups],
        }
    }

    fn push(&mut self, at: &Located, estimate: f64) {
        if self.reference.is_none() {
            return;
        }
        if self.replication != Some((at.condition, at.replication)) {
            self.flush();
            self.replication = Some((at.condition, at.replication));
        }
        self.buffer.push((at.group, at.method, at.term, estimate));
    }

    /// Pair the buffered replication: the reference's estimate of each term with every method's.
    fn flush(&mut self) {
        for &(_, method, term, reference) in &self.buffer {
            if Some(method) != self.reference {
                continue;
            }
            for &(group, _, other_term, estimate) in &self.buffer {
                if other_term == term {
                    // Non-finite estimates (failed) are skipped by the accumulator: both must have completed.
                    self.precision[group].push(reference, estimate);
                }
            }
        }
        self.buffer.clear();
    }

    fn finish(mut self) -> Vec<PrecisionAccumulator> {
        self.flush();
        self.precision
    }
}

fn position(names: &[String], name: &str) -> Result<usize, MeasuresError> {
    names.iter().position(|n| n == name).ok_or_else(|| {
        MeasuresError::Malformed(format!(
            "`{name}` appears in estimates but not in its table"
        ))
    })
}
