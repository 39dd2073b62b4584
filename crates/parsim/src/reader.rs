//! Reading the TOML study file with positions: typed getters that record a diagnostic (file, line, column,
//! caret) for every wrong value, unknown key or missing key instead of stopping at the first.

use std::borrow::Cow;
use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::diagnostic::{did_you_mean, Diagnostic};

pub(crate) type Value<'i> = Spanned<DeValue<'i>>;
pub(crate) type Key<'i> = Spanned<Cow<'i, str>>;

/// Collects diagnostics against one source text.
pub(crate) struct Reader<'s> {
    pub source: &'s str,
    pub diagnostics: Vec<Diagnostic>,
}

impl<'s> Reader<'s> {
    pub(crate) fn new(source: &'s str) -> Self {
        Reader {
            source,
            diagnostics: Vec::new(),
        }
    }

    pub(crate) fn error(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diagnostics
            .push(Diagnostic::new(self.source, span, message));
        self.diagnostics.last_mut().expect("just pushed")
    }

    /// The table's entries in file order (the parser's map is sorted by name).
    pub(crate) fn entries<'t, 'i>(
        &self,
        table: &'t DeTable<'i>,
    ) -> Vec<(&'t Key<'i>, &'t Value<'i>)> {
        let mut v: Vec<_> = table.iter().collect();
        v.sort_by_key(|(k, _)| k.span().start);
        v
    }

    /// Reports every key not in `known`, with a suggestion when one is close.
    pub(crate) fn check_keys(&mut self, table: &DeTable<'_>, known: &[&str], section: &str) {
        for (key, _) in self.entries(table) {
            let name = key.get_ref().as_ref();
            if !known.contains(&name) {
                let help = did_you_mean(name, known.iter().copied());
                let listing = format!("known keys in {section}: {}", known.join(", "));
                self.error(key.span(), format!("unknown key `{name}` in {section}"))
                    .notes
                    .extend(help.into_iter().chain([listing]));
            }
        }
    }

    pub(crate) fn get<'t, 'i>(table: &'t DeTable<'i>, key: &str) -> Option<&'t Value<'i>> {
        table.get(key)
    }

    pub(crate) fn string(&mut self, v: &Value<'_>, what: &str) -> Option<String> {
        match v.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            other => {
                self.error(
                    v.span(),
                    format!("{what} must be a string, got {}", type_name(other)),
                );
                None
            }
        }
    }

    pub(crate) fn bool(&mut self, v: &Value<'_>, what: &str) -> Option<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                self.error(
                    v.span(),
                    format!("{what} must be true or false, got {}", type_name(other)),
                );
                None
            }
        }
    }

    pub(crate) fn integer(&mut self, v: &Value<'_>, what: &str) -> Option<i64> {
        match number(v.get_ref()) {
            Some(Number::Int(i)) => Some(i),
            _ => {
                self.error(
                    v.span(),
                    format!("{what} must be an integer, got {}", type_name(v.get_ref())),
                );
                None
            }
        }
    }

    pub(crate) fn float(&mut self, v: &Value<'_>, what: &str) -> Option<f64> {
        match number(v.get_ref()) {
            Some(n) => Some(n.as_f64()),
            None => {
                self.error(
                    v.span(),
                    format!("{what} must be a number, got {}", type_name(v.get_ref())),
                );
                None
            }
        }
    }

    pub(crate) fn table<'t, 'i>(
        &mut self,
        v: &'t Value<'i>,
        what: &str,
    ) -> Option<&'t DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            other => {
                self.error(
                    v.span(),
                    format!("{what} must be a table, got {}", type_name(other)),
                );
                None
            }
        }
    }
}

/// A TOML number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

pub(crate) fn number(v: &DeValue<'_>) -> Option<Number> {
    match v {
        DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix())
            .ok()
            .map(Number::Int),
        DeValue::Float(f) => {
            let text = f.as_str().replace('_', "");
            let value = match text.as_str() {
                "inf" | "+inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" | "+nan" | "-nan" => f64::NAN,
                t => t.parse().ok()?,
            };
            Some(Number::Float(value))
        }
        _ => None,
    }
}

pub(crate) fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// Maps byte offsets of a decoded TOML string back to offsets in the file.
#[derive(Clone, Debug)]
pub(crate) struct StringMap {
    /// File offset of the first character of the string's body.
    body_start: usize,
    /// True when the body is the decoded text verbatim (no escapes): offsets map one to one.
    verbatim: bool,
    /// For bodies with escapes: file offset of the start of each line of the body.
    line_starts: Vec<usize>,
    body_end: usize,
}

impl StringMap {
    pub(crate) fn new(source: &str, span: Range<usize>, decoded: &str) -> StringMap {
        let raw = source.get(span.clone()).unwrap_or("");
        let delim = ["\"\"\"", "'''", "\"", "'"]
            .into_iter()
            .find(|d| raw.starts_with(d))
            .unwrap_or("");
        let mut body_start = span.start + delim.len();
        let body_end = span.end.saturating_sub(delim.len()).max(body_start);
        if delim.len() == 3 {
            let rest = source.get(body_start..body_end).unwrap_or("");
            if rest.starts_with("\r\n") {
                body_start += 2;
            } else if rest.starts_with('\n') {
                body_start += 1;
            }
        }
        let body = source.get(body_start..body_end).unwrap_or("");
        let verbatim = body == decoded;
        let mut line_starts = vec![body_start];
        line_starts.extend(body.match_indices('\n').map(|(i, _)| body_start + i + 1));
        StringMap {
            body_start,
            verbatim,
            line_starts,
            body_end,
        }
    }

    /// A string that is not in the file (a default): everything maps to `at`.
    pub(crate) fn at(at: Range<usize>) -> StringMap {
        StringMap {
            body_start: at.start,
            verbatim: false,
            line_starts: vec![at.start],
            body_end: at.end,
        }
    }

    pub(crate) fn map(&self, decoded: &str, span: Range<usize>) -> Range<usize> {
        if self.verbatim {
            return self.body_start + span.start..self.body_start + span.end;
        }
        let point = |off: usize| {
            let before = decoded.get(..off.min(decoded.len())).unwrap_or("");
            let line = before.matches('\n').count();
            let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1);
            match self.line_starts.get(line) {
                Some(&start) => {
                    let end = self
                        .line_starts
                        .get(line + 1)
                        .map_or(self.body_end, |&e| e.saturating_sub(1));
                    (start + col).min(end)
                }
                None => self.body_start,
            }
        };
        let start = point(span.start);
        start..point(span.end).max(start)
    }
}
