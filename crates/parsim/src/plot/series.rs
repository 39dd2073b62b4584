//! What the figures draw, read from a [`Summary`]: each method's value of a measure in each condition,
//! whether a measure exists for a term at all, and the value a measure should have (its target).

use std::collections::HashMap;

use crate::measures::{MeasureKind, Summary, SummaryRow, SummarySettings};
use crate::report::format_number;

/// The key measures, each drawn where it exists: bias, empirical SE, relative error in model SE,
/// coverage, the rejection rate (power where θ ≠ 0, type I error where θ = 0) and the convergence rate.
pub const KEY_MEASURES: [MeasureKind; 6] = [
    MeasureKind::Bias,
    MeasureKind::EmpiricalSe,
    MeasureKind::RelativeErrorModelSe,
    MeasureKind::Coverage,
    MeasureKind::Rejection,
    MeasureKind::Convergence,
];

/// The most conditions the figures of one panel or row per condition (estimates, the measures' forest
/// plot, zip plots) show: the design's first ones. A larger design (studies grow to 10⁵ conditions) is
/// seen whole in its nested-loop plots; pages beyond these would be read by no one.
pub const MAX_CONDITIONS_SHOWN: usize = 240;
/// The most conditions a nested-loop plot draws: about a pixel each at its widest.
pub const MAX_NESTED_LOOP: usize = 1500;

/// The summary rows of `term`, grouped by condition in the summary's order, each group in method order.
pub fn rows_by_condition<'a>(
    summary: &'a Summary,
    term: &str,
) -> Vec<(usize, Vec<&'a SummaryRow>)> {
    let mut groups: Vec<(usize, Vec<&SummaryRow>)> = Vec::new();
    let mut at: HashMap<usize, usize> = HashMap::new();
    for row in summary.rows.iter().filter(|r| r.term == term) {
        match at.get(&row.condition) {
            Some(&i) => groups[i].1.push(row),
            None => {
                at.insert(row.condition, groups.len());
                groups.push((row.condition, vec![row]));
            }
        }
    }
    groups
}

/// The true value of `term` in each condition.
pub fn truths(summary: &Summary, term: &str) -> HashMap<usize, f64> {
    summary
        .rows
        .iter()
        .filter(|r| r.term == term)
        .map(|r| (r.condition, r.measures.truth))
        .collect()
}

/// One method's value of a measure in one condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Condition index.
    pub condition: usize,
    /// The measure's estimate.
    pub estimate: f64,
    /// Its Monte Carlo SE (0 when unknown).
    pub mcse: f64,
}

/// A method's points (colour index, name, points in condition order).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The method's index in the summary (its colour).
    pub method: usize,
    /// The method's name.
    pub name: String,
    /// Its points, one per condition where the measure exists.
    pub points: Vec<Point>,
}

impl Series {
    /// The point of a condition.
    pub fn at(&self, condition: usize) -> Option<&Point> {
        self.points
            .binary_search_by_key(&condition, |p| p.condition)
            .ok()
            .map(|i| &self.points[i])
    }
}

/// Every method's values of `kind` for `term`; methods without any value are left out. A method that
/// reports the term elsewhere but failed on every replication of a condition converged in 0% of it.
pub fn measure_series(summary: &Summary, term: &str, kind: MeasureKind) -> Vec<Series> {
    summary
        .methods
        .iter()
        .enumerate()
        .filter_map(|(index, method)| {
            let mut points: Vec<Point> = summary
                .rows
                .iter()
                .filter(|r| r.term == term && r.method == *method)
                .filter_map(|r| {
                    let v = r.measures.get(kind);
                    Some(Point {
                        condition: r.condition,
                        estimate: v.estimate()?,
                        mcse: v.mcse().unwrap_or(0.0),
                    })
                })
                .collect();
            points.sort_by_key(|p| p.condition);
            if kind == MeasureKind::Convergence && !points.is_empty() {
                let reported = points.len();
                for fits in summary.failed_everywhere().filter(|f| f.method == *method) {
                    let known =
                        points[..reported].binary_search_by_key(&fits.condition, |p| p.condition);
                    if known.is_err() {
                        points.push(Point {
                            condition: fits.condition,
                            estimate: 0.0,
                            mcse: 0.0,
                        });
                    }
                }
            }
            // In condition order, for `Series::at` (rows come so, but a summary may be built otherwise).
            points.sort_by_key(|p| p.condition);
            (!points.is_empty()).then(|| Series {
                method: index,
                name: method.clone(),
                points,
            })
        })
        .collect()
}

/// Whether any method has a value of `kind` for `term` (coverage needs standard errors, the rejection
/// rate a test, the empirical SE two replications).
pub fn exists(summary: &Summary, term: &str, kind: MeasureKind) -> bool {
    summary
        .rows
        .iter()
        .any(|r| r.term == term && r.measures.get(kind).estimate().is_some())
}

/// Whether a measure across conditions says anything: it exists, and for the convergence rate some
/// condition lost a fit (a flat line at 100% is left out).
pub fn worth_drawing(summary: &Summary, term: &str, kind: MeasureKind) -> bool {
    match kind {
        MeasureKind::Convergence => measure_series(summary, term, kind)
            .iter()
            .any(|s| s.points.iter().any(|p| p.estimate < 100.0)),
        _ => exists(summary, term, kind),
    }
}

/// The value a measure should have where the truth is `truth`: no bias, no error in the model SE,
/// nominal coverage, α where the null is true (no target for power, which should be high), every fit.
pub fn target(kind: MeasureKind, settings: &SummarySettings, truth: Option<f64>) -> Option<f64> {
    match kind {
        MeasureKind::Bias | MeasureKind::RelativeBias | MeasureKind::RelativeErrorModelSe => {
            Some(0.0)
        }
        MeasureKind::Coverage | MeasureKind::BiasEliminatedCoverage => Some(100.0 * settings.level),
        MeasureKind::Rejection | MeasureKind::TypeIError if truth == Some(0.0) => {
            Some(100.0 * settings.alpha)
        }
        MeasureKind::Convergence => Some(100.0),
        _ => None,
    }
}

/// A measure's name on an axis or a panel.
pub fn heading(kind: MeasureKind) -> &'static str {
    match kind {
        MeasureKind::Rejection => "power / type I error %",
        MeasureKind::RelativeErrorModelSe => "rel. error in model SE %",
        MeasureKind::EmpiricalSe => "empirical SE",
        other => other.heading(),
    }
}

/// What the dashed line of a measure is, for subtitles.
pub fn target_note(kind: MeasureKind, settings: &SummarySettings) -> String {
    let pct = |p: f64| format_number(100.0 * p);
    match kind {
        MeasureKind::Bias => "dashed: no bias".into(),
        MeasureKind::RelativeErrorModelSe => {
            "dashed: model SE equal to the empirical SE; below 0 the model SE is too small".into()
        }
        MeasureKind::Coverage => format!("dashed: nominal {}%", pct(settings.level)),
        MeasureKind::Rejection => format!(
            "the rejection rate of H0: term = 0 at α = {}: power where the true value is not 0, type I error where it is (dashed: α)",
            format_number(settings.alpha)
        ),
        MeasureKind::Convergence => "% of replications with a usable estimate".into(),
        MeasureKind::EmpiricalSe => "the SD of the estimates across replications".into(),
        _ => String::new(),
    }
}

/// A figure title of a measure of a term.
pub fn title(kind: MeasureKind, term: &str, settings: &SummarySettings) -> String {
    match kind {
        MeasureKind::Coverage => format!(
            "Coverage of {}% intervals for {term}",
            format_number(100.0 * settings.level)
        ),
        MeasureKind::Rejection => format!("Power and type I error for {term}"),
        MeasureKind::RelativeErrorModelSe => format!("Relative error in the model SE of {term}"),
        MeasureKind::EmpiricalSe => format!("Empirical SE of {term}"),
        MeasureKind::Convergence => format!("Convergence rate for {term}"),
        other => format!("{} of {term}", capitalised(other.heading())),
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A condition's name in figures: `c3: n=50, sigma=2` (the index as `parsim data --condition` takes it),
/// or nothing when the study has one condition.
pub fn condition_label(summary: &Summary, condition: usize) -> String {
    if summary.conditions.len() <= 1 {
        return String::new();
    }
    match summary.condition(condition) {
        Some(c) if !c.label.is_empty() => format!("c{}: {}", c.index, c.label),
        _ => format!("c{condition}"),
    }
}
