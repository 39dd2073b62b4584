//! The design: which conditions a study runs. By default every combination of the factors' levels (the
//! first factor varying slowest); `[design] conditions` lists them instead, and `[design] exclude` drops
//! the combinations that match. Derived parameters are then computed in each condition.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::{Condition, Parameter};
use crate::lang::Program;
use crate::reader::{number, type_name, Reader, Value};

const DESIGN_KEYS: &[&str] = &["conditions", "exclude"];

/// The study's conditions, numbered from 0 in design order, with every parameter's value (derived ones
/// computed); `None` after reporting a problem.
pub(super) fn conditions(
    r: &mut Reader<'_>,
    root: &DeTable<'_>,
    parameters: &[Parameter],
    derived: &[Option<Program>],
    spans: &[(String, Range<usize>)],
) -> Option<Vec<Condition>> {
    let table = match Reader::get(root, "design") {
        Some(v) => Some(r.table(v, "[design]")?),
        None => None,
    };
    let mut cells: Vec<Vec<f64>> = match table.and_then(|t| Reader::get(t, "conditions")) {
        Some(list) => listed(r, list, parameters)?,
        None => grid(parameters),
    };
    if let Some(t) = table {
        r.check_keys(t, DESIGN_KEYS, "[design]");
        if let Some(list) = Reader::get(t, "exclude") {
            for (rule, span) in tables(r, list, "`exclude`")? {
                let pattern = cell_pattern(r, rule, parameters, false)?;
                let before = cells.len();
                cells.retain(|cell| !matches(cell, &pattern));
                if cells.len() == before {
                    r.error(span, "this exclusion matches no condition of the design")
                        .notes
                        .push("each key is a factor and each value one of its levels".into());
                }
            }
        }
    }
    if cells.is_empty() {
        let span = Reader::get(root, "design").map_or(0..0, |v| v.span());
        r.error(span, "the design has no condition left");
        return None;
    }
    let mut out = Vec::with_capacity(cells.len());
    for (index, cell) in cells.into_iter().enumerate() {
        let values = derive(r, parameters, derived, spans, cell, index)?;
        let stream = super::condition_stream(&values);
        out.push(Condition {
            index,
            values,
            stream,
        });
    }
    Some(out)
}

/// Every combination of the levels, the first parameter varying slowest (derived ones hold 0 for now).
fn grid(parameters: &[Parameter]) -> Vec<Vec<f64>> {
    let total: usize = parameters.iter().map(|p| p.values.len().max(1)).product();
    (0..total)
        .map(|index| {
            let mut rest = index;
            let mut values = vec![0.0; parameters.len()];
            for (k, p) in parameters.iter().enumerate().rev() {
                if p.values.is_empty() {
                    continue;
                }
                let n = p.values.len();
                values[k] = p.values[rest % n];
                rest /= n;
            }
            values
        })
        .collect()
}

/// The inline tables of an array (`[{a = 1}, {a = 2}]`), with their spans.
fn tables<'t, 'i>(
    r: &mut Reader<'_>,
    v: &'t Value<'i>,
    what: &str,
) -> Option<Vec<(&'t DeTable<'i>, Range<usize>)>> {
    let DeValue::Array(items) = v.get_ref() else {
        r.error(
            v.span(),
            format!(
                "{what} must be a list of tables such as [{{a = 1, b = 2}}], got {}",
                type_name(v.get_ref())
            ),
        );
        return None;
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item.get_ref() {
            DeValue::Table(t) => out.push((t, item.span())),
            other => {
                r.error(
                    item.span(),
                    format!(
                        "each entry of {what} must be a table such as {{a = 1, b = 2}}, got {}",
                        type_name(other)
                    ),
                );
                return None;
            }
        }
    }
    Some(out)
}

/// A table's values by parameter (`None` where it gives none), each checked to be one of the
/// parameter's levels; `complete` requires every factor.
fn cell_pattern(
    r: &mut Reader<'_>,
    t: &DeTable<'_>,
    parameters: &[Parameter],
    complete: bool,
) -> Option<Vec<Option<f64>>> {
    let mut pattern = vec![None; parameters.len()];
    let mut ok = true;
    for (key, v) in r.entries(t) {
        let name = key.get_ref().as_ref();
        let Some(k) = parameters
            .iter()
            .position(|p| p.name == name && p.expression.is_none())
        else {
            r.error(
                key.span(),
                format!("`{name}` is not a parameter with values"),
            );
            ok = false;
            continue;
        };
        let p = &parameters[k];
        match number(v.get_ref()).map(|n| n.as_f64()) {
            Some(x) if p.values.contains(&x) => pattern[k] = Some(x),
            Some(x) => {
                let levels: Vec<String> = p.values.iter().map(|v| v.to_string()).collect();
                r.error(
                    v.span(),
                    format!("{x} is not a value of `{name}` ({})", levels.join(", ")),
                );
                ok = false;
            }
            None => {
                r.error(v.span(), format!("the value of `{name}` must be a number"));
                ok = false;
            }
        }
    }
    if complete {
        for (k, p) in parameters.iter().enumerate() {
            if pattern[k].is_none() && p.values.len() > 1 {
                r.error(
                    t.span_or(0..0),
                    format!("this condition gives no value for the factor `{}`", p.name),
                );
                ok = false;
            }
        }
        for (k, p) in parameters.iter().enumerate() {
            if pattern[k].is_none() && p.values.len() == 1 {
                pattern[k] = Some(p.values[0]);
            }
        }
    }
    ok.then_some(pattern)
}

/// `[design] conditions`: the listed cells, in list order, none twice.
fn listed(r: &mut Reader<'_>, list: &Value<'_>, parameters: &[Parameter]) -> Option<Vec<Vec<f64>>> {
    let mut cells: Vec<Vec<f64>> = Vec::new();
    for (t, span) in tables(r, list, "`conditions`")? {
        let pattern = cell_pattern(r, t, parameters, true)?;
        let cell: Vec<f64> = pattern.into_iter().map(|v| v.unwrap_or(0.0)).collect();
        if cells.contains(&cell) {
            r.error(span, "this condition is listed twice");
            return None;
        }
        cells.push(cell);
    }
    Some(cells)
}

fn matches(cell: &[f64], pattern: &[Option<f64>]) -> bool {
    cell.iter()
        .zip(pattern)
        .all(|(v, p)| p.is_none_or(|x| x == *v))
}

/// The condition's values with its derived parameters computed, in file order, named.
fn derive(
    r: &mut Reader<'_>,
    parameters: &[Parameter],
    derived: &[Option<Program>],
    spans: &[(String, Range<usize>)],
    mut cell: Vec<f64>,
    index: usize,
) -> Option<Vec<(String, f64)>> {
    for (k, program) in derived.iter().enumerate() {
        let Some(program) = program else { continue };
        let value = program
            .evaluate_expression(&cell[..k])
            .map_err(|e| e.message)
            .and_then(|v| {
                if v.is_finite() {
                    Ok(v)
                } else {
                    Err(format!("it evaluates to {v}"))
                }
            });
        match value {
            Ok(v) => cell[k] = v,
            Err(why) => {
                let span = spans
                    .iter()
                    .find(|(n, _)| *n == parameters[k].name)
                    .map_or(0..0, |(_, s)| s.clone());
                r.error(
                    span,
                    format!(
                        "derived parameter `{}` has no finite value in condition {index}: {why}",
                        parameters[k].name
                    ),
                );
                return None;
            }
        }
    }
    Some(
        parameters
            .iter()
            .zip(cell)
            .map(|(p, v)| (p.name.clone(), v))
            .collect(),
    )
}

/// A table's span where the parser knows it.
trait SpanOr {
    fn span_or(&self, fallback: Range<usize>) -> Range<usize>;
}

impl SpanOr for DeTable<'_> {
    fn span_or(&self, fallback: Range<usize>) -> Range<usize> {
        self.iter()
            .map(|(k, _)| k.span())
            .reduce(|a, b| a.start.min(b.start)..a.end.max(b.end))
            .unwrap_or(fallback)
    }
}
