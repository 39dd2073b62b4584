//! Growing a study: which edits of a stored study keep the meaning of its stored rows. More
//! replications, new levels of factors, new conditions, new methods, new estimands, `[summary]`'s
//! reference, the name, comments and formatting keep it; the seed, the streams, the data program, a
//! stored method's options, a stored estimand's truth, a parameter of a stored condition and the
//! intervals' level change it. Conditions are matched by their parameters' values, never by their
//! numbers: a condition's stream is keyed by its values, so a grown study numbers its conditions in design
//! order as a fresh run does, and the stored rows are renumbered to match.

use std::collections::{HashMap, HashSet};

use super::{Condition, Study};

/// How a study grew from its stored version.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Growth {
    /// For each condition of the grown study, in its design order, the number the store gives it: a
    /// stored condition's own, or the next free one for a new condition (a run then renumbers them in
    /// design order: see [`Study::adopting`]).
    pub numbers: Vec<usize>,
    /// How many conditions were stored.
    pub stored_conditions: usize,
    /// Methods the stored study does not have.
    pub new_methods: Vec<String>,
    /// Estimands the stored study does not have.
    pub new_estimands: Vec<String>,
}

impl Study {
    /// How `self` grows `stored` (the study its results were stored under, whose conditions the store
    /// numbers as `numbered`), or every edit that changes what the stored rows mean, each named.
    pub fn growth_from(
        &self,
        stored: &Study,
        numbered: &[Condition],
    ) -> Result<Growth, Vec<String>> {
        let mut changes = Vec::new();
        if self.seed != stored.seed {
            changes.push(format!(
                "the seed changed ({} → {})",
                stored.seed, self.seed
            ));
        }
        if self.streams != stored.streams {
            changes.push(format!(
                "the streams changed ({} → {})",
                stored.streams.as_str(),
                self.streams.as_str()
            ));
        }
        if self.common_random_numbers != stored.common_random_numbers {
            changes.push("common_random_numbers changed".to_string());
        }
        if !self.program.same_statements(&stored.program) {
            changes.push("the data program changed ([data] program)".to_string());
        }
        if self.summary.level != stored.summary.level {
            changes.push(format!(
                "[summary] level changed ({} → {}): the methods' intervals are at this level",
                stored.summary.level, self.summary.level
            ));
        }
        let (old, new) = (tables(&stored.source), tables(&self.source));
        let section = |t: &toml::Table, s: &str, k: &str| {
            t.get(s)
                .and_then(|v| v.as_table())
                .and_then(|t| t.get(k))
                .cloned()
        };
        let mut new_methods = Vec::new();
        for m in &self.methods {
            if !stored.methods.iter().any(|s| s.name == m.name) {
                new_methods.push(m.name.clone());
            }
        }
        for m in &stored.methods {
            match section(&new, "methods", &m.name) {
                None => changes.push(format!("method `{}` was removed", m.name)),
                Some(v) if Some(&v) != section(&old, "methods", &m.name).as_ref() => {
                    changes.push(format!("the options of method `{}` changed", m.name))
                }
                Some(_) => {}
            }
        }
        let mut new_estimands = Vec::new();
        for e in &self.estimands {
            match stored.estimands.iter().find(|s| s.term == e.term) {
                None => new_estimands.push(e.term.clone()),
                Some(_)
                    if section(&new, "estimands", &e.term)
                        != section(&old, "estimands", &e.term) =>
                {
                    changes.push(format!(
                        "the true value of estimand `{}` changed (stored rows hold the old one)",
                        e.term
                    ))
                }
                Some(_) => {}
            }
        }
        for e in &stored.estimands {
            if !self.estimands.iter().any(|n| n.term == e.term) {
                changes.push(format!("estimand `{}` was removed", e.term));
            }
        }
        let names = |s: &Study| {
            s.parameters
                .iter()
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
        };
        let numbers = if names(self) != names(stored) {
            changes.push(format!(
                "the parameters changed ({} → {})",
                names(stored).join(", "),
                names(self).join(", ")
            ));
            Vec::new()
        } else {
            self.numbers_from(stored, numbered, &mut changes)
        };
        if !changes.is_empty() {
            return Err(changes);
        }
        Ok(Growth {
            numbers,
            stored_conditions: numbered.len(),
            new_methods,
            new_estimands,
        })
    }

    /// Each condition's number: the stored condition with the same values keeps its number; new
    /// conditions follow. A stored condition missing from the design is a change, named by the parameter
    /// whose value moved when one did.
    fn numbers_from(
        &self,
        stored: &Study,
        numbered: &[Condition],
        changes: &mut Vec<String>,
    ) -> Vec<usize> {
        let mut next = numbered.iter().map(|c| c.index + 1).max().unwrap_or(0);
        // Hashed by value: matching is linear in the number of conditions (125,000 conditions were
        // matched pairwise, minutes before a resumed run started).
        let mut by_values: HashMap<ValuesKey, usize> = HashMap::with_capacity(numbered.len());
        for s in numbered {
            by_values.entry(key(&s.values)).or_insert(s.index);
        }
        let mut matched = HashSet::with_capacity(numbered.len());
        let mut numbers = Vec::with_capacity(self.conditions.len());
        for c in &self.conditions {
            match by_values.get(&key(&c.values)) {
                Some(&index) => {
                    matched.insert(index);
                    numbers.push(index);
                }
                None => {
                    numbers.push(next);
                    next += 1;
                }
            }
        }
        for s in numbered {
            if matched.contains(&s.index) {
                continue;
            }
            let moved = stored
                .parameters
                .iter()
                .zip(&self.parameters)
                .find(|(a, b)| {
                    a.values.len() == 1 && (b.values != a.values || b.expression != a.expression)
                });
            changes.push(match moved {
                Some((a, b)) => {
                    format!("parameter `{}` changed ({} → {})", a.name, show(a), show(b))
                }
                None => format!(
                    "stored condition {} ({}) is no longer in the design",
                    s.index,
                    label(&s.values)
                ),
            });
            break;
        }
        numbers
    }

    /// The study as it runs into a store whose conditions are `numbered`: numbered in design order
    /// like a fresh run, each stored condition (matched by its values) drawing from the stream the store
    /// records for it, with its simulated truths from that stream; and the (stored number, design
    /// number) pairs of the stored conditions whose numbers change. Streams keyed by values make the
    /// grown study's rows those of a fresh run of it; a store of an earlier format keeps its streams.
    pub fn adopting(&self, numbered: &[Condition]) -> (Study, Vec<(usize, usize)>) {
        let mut study = self.clone();
        let mut renumbering = Vec::new();
        // By hashed values, not pairwise: a resume of 125,000 conditions stays linear.
        let by_values: HashMap<ValuesKey, &Condition> =
            numbered.iter().map(|s| (key(&s.values), s)).collect();
        for (position, c) in study.conditions.iter_mut().enumerate() {
            let Some(&stored) = by_values.get(&key(&c.values)) else {
                continue;
            };
            if stored.index != position {
                renumbering.push((stored.index, position));
            }
            if stored.stream != c.stream {
                c.stream = stored.stream;
                // A simulated truth is drawn from the condition's stream: it is the one stored.
                for (k, e) in self.estimands.iter().enumerate() {
                    if e.is_simulated() {
                        if let Ok(v) = e.value(c, self.seed) {
                            study.truths[position][k] = v;
                        }
                    }
                }
            }
        }
        (study, renumbering)
    }

    /// The stored version of this study (its text as the store holds it), read with the same method
    /// kinds.
    pub fn stored_version(&self, source: &str) -> Result<Study, super::StudyError> {
        Study::from_source_with(&self.path, source.to_string(), &self.registry)
    }
}

/// A condition's values as a hashable key: names and the bits of the values (-0 counted as 0, so keys
/// are equal exactly when the values compare equal; parameters are never NaN).
type ValuesKey = Vec<(String, u64)>;

fn key(values: &[(String, f64)]) -> ValuesKey {
    values
        .iter()
        .map(|(name, v)| (name.clone(), (v + 0.0).to_bits()))
        .collect()
}

fn show(p: &super::Parameter) -> String {
    match &p.expression {
        Some(e) => format!("\"{e}\""),
        None => {
            let v: Vec<String> = p.values.iter().map(|v| v.to_string()).collect();
            v.join(", ")
        }
    }
}

fn label(values: &[(String, f64)]) -> String {
    let parts: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.join(", ")
}

/// The study file as a TOML table (empty if it does not parse: it was validated before).
fn tables(source: &str) -> toml::Table {
    source.parse::<toml::Table>().unwrap_or_default()
}
