//! `[stopping]`: run each condition in whole rounds of replications until the Monte Carlo SEs of the
//! chosen measures reach their targets (or `max_replications`). A decision reads only the replications
//! of whole rounds, so it is the same for any number of workers and any interruption.

use toml::de::{DeTable, DeValue};

use crate::reader::{number, type_name, Reader};

/// A measure whose Monte Carlo SE a stopping rule targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetMeasure {
    /// Bias: MCSE = SD(estimates) / sqrt(n).
    Bias,
    /// Coverage of the intervals: MCSE = sqrt(p (1 - p) / n).
    Coverage,
    /// Rejection rate (power or type I error) at `alpha`: MCSE = sqrt(p (1 - p) / n).
    Rejection,
    /// Empirical SE: MCSE = SD / sqrt(2 (n - 1)).
    EmpiricalSe,
}

impl TargetMeasure {
    const NAMES: [&'static str; 4] = ["bias", "coverage", "rejection", "empirical_se"];

    /// The name in the study file.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetMeasure::Bias => "bias",
            TargetMeasure::Coverage => "coverage",
            TargetMeasure::Rejection => "rejection",
            TargetMeasure::EmpiricalSe => "empirical_se",
        }
    }

    fn from_name(name: &str) -> Option<TargetMeasure> {
        Some(match name {
            "bias" => TargetMeasure::Bias,
            "coverage" => TargetMeasure::Coverage,
            "rejection" => TargetMeasure::Rejection,
            "empirical_se" => TargetMeasure::EmpiricalSe,
            _ => return None,
        })
    }
}

/// The stopping rule of a study.
#[derive(Clone, Debug, PartialEq)]
pub struct Stopping {
    /// (measure, the largest Monte Carlo SE accepted).
    pub targets: Vec<(TargetMeasure, f64)>,
    /// The estimands' terms the targets apply to (empty: every estimand).
    pub estimands: Vec<String>,
    /// Replications per condition per round.
    pub round: u64,
    /// The most replications a condition may use.
    pub max_replications: u64,
}

impl Stopping {
    /// `[stopping]` as the study file writes it (for the summary).
    pub fn describe(&self) -> String {
        let targets: Vec<String> = self
            .targets
            .iter()
            .map(|(m, t)| format!("{} = {t}", m.as_str()))
            .collect();
        let terms = if self.estimands.is_empty() {
            "every estimand".to_string()
        } else {
            self.estimands.join(", ")
        };
        format!(
            "MCSE of {} for {terms}; rounds of {} replications, at most {}",
            targets.join(", "),
            self.round,
            self.max_replications
        )
    }
}

const KEYS: &[&str] = &["mcse", "estimands", "round", "max_replications"];

/// Reads `[stopping]`; `terms` are the study's estimands.
pub(super) fn read(r: &mut Reader<'_>, t: &DeTable<'_>, terms: &[String]) -> Option<Stopping> {
    r.check_keys(t, KEYS, "[stopping]");
    let end = r.source.find("[stopping]").map_or(0..0, |i| i..i + 10);
    let mut targets = Vec::new();
    match Reader::get(t, "mcse") {
        Some(v) => {
            match v.get_ref() {
                DeValue::Table(m) => {
                    for (key, value) in r.entries(m) {
                        let name = key.get_ref().as_ref();
                        let Some(measure) = TargetMeasure::from_name(name) else {
                            let help = crate::diagnostic::did_you_mean(name, TargetMeasure::NAMES);
                            r.error(key.span(), format!("unknown measure `{name}` in `mcse`"))
                                .notes
                                .extend(help.into_iter().chain([format!(
                                    "measures: {}",
                                    TargetMeasure::NAMES.join(", ")
                                )]));
                            continue;
                        };
                        match number(value.get_ref()).map(|n| n.as_f64()) {
                            Some(x) if x > 0.0 && x.is_finite() => targets.push((measure, x)),
                            _ => {
                                r.error(
                                    value.span(),
                                    format!("the target MCSE of {name} must be a positive number"),
                                );
                            }
                        }
                    }
                    if targets.is_empty() {
                        r.error(v.span(), "`mcse` names no measure");
                    }
                }
                other => {
                    r.error(
                        v.span(),
                        format!(
                            "`mcse` must be a table such as {{ coverage = 0.005 }}, got {}",
                            type_name(other)
                        ),
                    );
                }
            }
        }
        None => {
            r.error(end.clone(), "missing key `mcse` in [stopping]")
                .notes
                .push("e.g. mcse = { coverage = 0.005, bias = 0.002 }".into());
        }
    }
    let mut estimands = Vec::new();
    if let Some(v) = Reader::get(t, "estimands") {
        match v.get_ref() {
            DeValue::Array(items) => {
                for item in items {
                    match item.get_ref() {
                        DeValue::String(s) if terms.iter().any(|t| t == s.as_ref()) => {
                            estimands.push(s.to_string())
                        }
                        DeValue::String(s) => {
                            let help = crate::diagnostic::did_you_mean(
                                s,
                                terms.iter().map(String::as_str),
                            );
                            r.error(
                                item.span(),
                                format!("`{s}` is not an estimand of the study"),
                            )
                            .notes
                            .extend(help);
                        }
                        other => {
                            r.error(
                                item.span(),
                                format!("estimands are strings, got {}", type_name(other)),
                            );
                        }
                    }
                }
            }
            other => {
                r.error(
                    v.span(),
                    format!(
                        "`estimands` must be a list of terms, got {}",
                        type_name(other)
                    ),
                );
            }
        }
    }
    if terms.is_empty() {
        r.error(
            end.clone(),
            "[stopping] needs estimands: the targets are MCSEs of their measures",
        );
    }
    let count = |r: &mut Reader<'_>, key: &str, default: Option<u64>| match Reader::get(t, key) {
        Some(v) => match r.integer(v, &format!("`{key}`")) {
            Some(n) if n >= 1 => Some(n as u64),
            Some(n) => {
                r.error(v.span(), format!("`{key}` must be at least 1, got {n}"));
                None
            }
            None => None,
        },
        None => {
            if default.is_none() {
                r.error(end.clone(), format!("missing key `{key}` in [stopping]"));
            }
            default
        }
    };
    let round = count(r, "round", Some(100))?;
    let max_replications = count(r, "max_replications", None)?;
    if max_replications < round {
        let span = Reader::get(t, "max_replications").map_or(end, |v| v.span());
        r.error(
            span,
            format!("`max_replications` ({max_replications}) is less than one round ({round})"),
        );
        return None;
    }
    Some(Stopping {
        targets,
        estimands,
        round,
        max_replications,
    })
}
