//! Checks that need the parts together: formula columns against the program's variables, estimands'
//! true values per condition, and (for `parsim check`) a generated data set per condition.

use std::fmt;

use super::{Study, StudyError};
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::method::{ColumnRole, ColumnUse, Context};
use crate::reader::Reader;

/// Every column a method reads must be a vector variable of the program.
pub(super) fn method_columns(r: &mut Reader<'_>, study: &Study) {
    let vectors: Vec<&str> = study
        .program
        .variable_names()
        .filter(|n| study.program.variable(n).is_some_and(|v| !v.scalar))
        .collect();
    for m in &study.methods {
        for column in m.spec.columns() {
            let ColumnUse { name, span, role } = column;
            match (study.program.variable(&name), role) {
                (Some(v), _) if !v.scalar => {}
                (Some(_), ColumnRole::Variable) => {
                    r.error(
                        span,
                        format!(
                            "method `{}` uses `{name}`, which is a single number, not a column",
                            m.name
                        ),
                    )
                    .notes
                    .push("columns are vector variables of the data program".into());
                }
                (None, ColumnRole::Variable) => {
                    let help = did_you_mean(&name, vectors.iter().copied());
                    let listing = format!("the data program defines: {}", vectors.join(", "));
                    r.error(
                        span,
                        format!(
                            "method `{}` uses `{name}`, which the data program does not define",
                            m.name
                        ),
                    )
                    .notes
                    .extend(help.into_iter().chain([listing]));
                }
                (_, ColumnRole::Cluster) => {
                    let help = did_you_mean(&name, vectors.iter().copied());
                    r.error(span, format!("method `{}` clusters by `{name}`, which is not a column of the data program", m.name))
                        .notes
                        .extend(help);
                }
            }
        }
    }
}

/// The true value of every estimand in every condition (all must be finite).
pub(super) fn truths(r: &mut Reader<'_>, study: &Study) -> Vec<Vec<f64>> {
    let mut out = Vec::with_capacity(study.conditions.len());
    for c in &study.conditions {
        let mut row = Vec::with_capacity(study.estimands.len());
        for (k, e) in study.estimands.iter().enumerate() {
            let value = e
                .value(c, study.seed)
                .map_err(|err| err.message)
                .and_then(|v| {
                    if v.is_finite() {
                        Ok(v)
                    } else {
                        Err(format!("it evaluates to {v}"))
                    }
                });
            match value {
                Ok(v) => row.push(v),
                Err(why) => {
                    r.error(
                        study.estimand_span(k),
                        format!(
                            "estimand `{}` = \"{}\" has no finite value in condition {}: {why}",
                            e.term, e.expression, c.index
                        ),
                    );
                    row.push(f64::NAN);
                }
            }
        }
        out.push(row);
    }
    out
}

/// The fixed-effect terms a method estimates.
#[derive(Clone, Debug, PartialEq)]
pub struct MethodTerms {
    /// The method's name.
    pub method: String,
    /// Its terms: fixed effects (`(Intercept)`, `X`, ...), then a mixed model's variance components
    /// (`sd__(Intercept)|group`, `sigma`, ...).
    pub terms: Vec<String>,
}

/// What `parsim check` found: the design and the terms each method estimates.
#[derive(Clone, Debug)]
pub struct CheckReport<'s> {
    study: &'s Study,
    /// Fixed-effect terms of each method, from replication 0 of condition 0.
    pub terms: Vec<MethodTerms>,
    /// Things that are allowed but worth knowing.
    pub warnings: Vec<String>,
}

impl Study {
    /// Everything `parsim check` verifies beyond loading: replication 0 of every condition generates
    /// (lengths, indices, distribution parameters, finite columns), and every estimand's term is estimated
    /// by the methods (an error when no method estimates it, a warning for a method that does not).
    pub fn check(&self) -> Result<CheckReport<'_>, StudyError> {
        let mut ws = self.program.workspace();
        let mut terms = Vec::new();
        for c in &self.conditions {
            let mut rng = self.generator(c.index, 0);
            if let Err(e) = ws.generate(&self.program, &c.values, &mut rng) {
                let span = self.program_map.map(self.program.source(), e.span.clone());
                let d = Diagnostic::new(&self.source, span, e.message).with_note(format!(
                    "while generating replication 0 of condition {}",
                    c.index
                ));
                return Err(StudyError::invalid(&self.path, &self.source, vec![d]));
            }
            if c.index == 0 {
                terms = self.method_terms(&ws)?;
            }
        }
        let mut diagnostics = Vec::new();
        let mut warnings = Vec::new();
        // A data-only study (no methods) has nothing to estimate; its estimands are only documentation.
        let estimands = if self.methods.is_empty() {
            &[][..]
        } else {
            &self.estimands[..]
        };
        for (k, e) in estimands.iter().enumerate() {
            let fitting: Vec<&str> = terms
                .iter()
                .filter(|m| m.terms.contains(&e.term))
                .map(|m| m.method.as_str())
                .collect();
            if fitting.is_empty() {
                let all: Vec<&str> = terms
                    .iter()
                    .flat_map(|m| m.terms.iter().map(String::as_str))
                    .collect();
                let d = Diagnostic::new(
                    &self.source,
                    self.estimand_span(k),
                    format!("no method estimates the term `{}`", e.term),
                )
                .with_optional_note(did_you_mean(&e.term, all.iter().copied()))
                .with_note(format!("the methods estimate: {}", dedup(all).join(", ")));
                diagnostics.push(d);
            } else {
                for m in terms.iter().filter(|m| !m.terms.contains(&e.term)) {
                    warnings.push(format!(
                        "method `{}` does not estimate `{}`; it has no results for that estimand",
                        m.method, e.term
                    ));
                }
            }
        }
        if !diagnostics.is_empty() {
            return Err(StudyError::invalid(&self.path, &self.source, diagnostics));
        }
        if self.streams == super::Streams::PerReplicationSeed && self.conditions.len() > 1 {
            warnings.push("streams = \"per-replication-seed\": replication r uses default_rng(seed + r) in every condition, so conditions share random numbers".into());
        }
        Ok(CheckReport {
            study: self,
            terms,
            warnings,
        })
    }

    fn method_terms(&self, ws: &crate::lang::Workspace) -> Result<Vec<MethodTerms>, StudyError> {
        let data = ws.data();
        let condition = &self.conditions[0];
        let mut out = Vec::new();
        let mut diagnostics = Vec::new();
        for m in &self.methods {
            let mut context = Context::new(&condition.values, 0, 0, self.seed, m.stream_key);
            let terms = m
                .spec
                .build()
                .and_then(|mut method| method.terms(&data, &mut context).map_err(|e| e.0));
            match terms {
                Ok(terms) => out.push(MethodTerms {
                    method: m.name.clone(),
                    terms,
                }),
                Err(e) => {
                    let span = m.span.clone();
                    diagnostics.push(
                        Diagnostic::new(&self.source, span, format!("method `{}`: {e}", m.name))
                            .with_note("found on replication 0 of condition 0"),
                    );
                }
            }
        }
        if diagnostics.is_empty() {
            Ok(out)
        } else {
            Err(StudyError::invalid(&self.path, &self.source, diagnostics))
        }
    }
}

fn dedup(mut v: Vec<&str>) -> Vec<&str> {
    let mut seen = Vec::new();
    v.retain(|x| {
        if seen.contains(x) {
            false
        } else {
            seen.push(*x);
            true
        }
    });
    v
}

/// `1 method`, `3 methods`.
fn plural(n: u64, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

fn fmt_value(x: f64) -> String {
    format!("{x}")
}

impl fmt::Display for CheckReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.study;
        writeln!(f, "study `{}` ({}): valid", s.name, s.path.display())?;
        let streams = match (s.streams, s.common_random_numbers) {
            (super::Streams::Keyed, false) => format!(
                "keyed: SeedSequence({}, spawn_key=(the condition's stream key, replication))",
                s.seed
            ),
            (super::Streams::Keyed, true) => format!(
                "keyed, common random numbers: SeedSequence({}, spawn_key=(replication,))",
                s.seed
            ),
            (super::Streams::PerReplicationSeed, _) => format!(
                "per-replication-seed: default_rng({} + replication)",
                s.seed
            ),
        };
        writeln!(f, "streams: {streams}")?;
        let fixed: Vec<String> = s
            .parameters
            .iter()
            .filter(|p| p.values.len() == 1)
            .map(|p| format!("{} = {}", p.name, fmt_value(p.values[0])))
            .collect();
        if !fixed.is_empty() {
            writeln!(f, "fixed parameters: {}", fixed.join(", "))?;
        }
        let factors: Vec<&super::Parameter> =
            s.parameters.iter().filter(|p| p.values.len() > 1).collect();
        for p in &factors {
            let vals: Vec<String> = p.values.iter().map(|v| fmt_value(*v)).collect();
            writeln!(
                f,
                "factor {}: {} levels ({})",
                p.name,
                p.values.len(),
                vals.join(", ")
            )?;
        }
        writeln!(
            f,
            "conditions: {} (the first factor varies slowest)",
            s.conditions.len()
        )?;
        for c in &s.conditions {
            let vals: Vec<String> = c
                .values
                .iter()
                .filter(|(n, _)| factors.iter().any(|p| &p.name == n))
                .map(|(n, v)| format!("{n} = {}", fmt_value(*v)))
                .collect();
            let truths: Vec<String> = s
                .estimands
                .iter()
                .map(|e| {
                    format!(
                        "{} = {}",
                        e.term,
                        fmt_value(s.truth(c.index, &e.term).unwrap_or(f64::NAN))
                    )
                })
                .collect();
            let vals = if vals.is_empty() {
                "all parameters fixed".to_string()
            } else {
                vals.join(", ")
            };
            writeln!(
                f,
                "  condition {}: {}; truth: {}",
                c.index,
                vals,
                truths.join(", ")
            )?;
        }
        writeln!(f, "methods: {}", s.methods.len())?;
        for m in &s.methods {
            let model = m.spec.describe();
            let terms = self
                .terms
                .iter()
                .find(|t| t.method == m.name)
                .map(|t| t.terms.join(", "))
                .unwrap_or_default();
            match m.spec.formula() {
                Some(formula) => writeln!(f, "  {}: {model}: {formula}  [terms: {terms}]", m.name)?,
                None => writeln!(f, "  {}: {model}  [terms: {terms}]", m.name)?,
            }
        }
        let est: Vec<String> = s
            .estimands
            .iter()
            .map(|e| format!("{} = {}", e.term, e.expression))
            .collect();
        writeln!(
            f,
            "estimands: {}",
            if est.is_empty() {
                "none".to_string()
            } else {
                est.join(", ")
            }
        )?;
        writeln!(f, "replications: {} per condition", s.replications)?;
        writeln!(
            f,
            "units of work: {} x {} = {} data sets, {} fits ({})",
            plural(s.conditions.len() as u64, "condition"),
            plural(s.replications, "replication"),
            s.units(),
            s.units() * s.methods.len() as u64,
            plural(s.methods.len() as u64, "method")
        )?;
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}
