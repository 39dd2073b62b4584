//! A `[methods.NAME]` table as a method kind reads it: typed getters that report a wrong or missing value
//! with its place in the study file, and strings that remember where they were written, so a kind can
//! point its own messages (a formula's syntax error) at the right character.

use std::ops::Range;
use std::path::Path;

use toml::de::{DeTable, DeValue};

use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::reader::{Reader, StringMap, Value};

/// A string value of the study file with its place in the file.
#[derive(Clone, Debug)]
pub struct Located {
    /// The decoded text.
    pub text: String,
    map: StringMap,
}

impl Located {
    pub(crate) fn new(text: String, map: StringMap) -> Located {
        Located { text, map }
    }

    /// The byte range in the study file of `within`, a byte range of [`Located::text`].
    pub fn span(&self, within: Range<usize>) -> Range<usize> {
        self.map.map(&self.text, within)
    }

    /// The byte range in the study file of the whole text.
    pub fn whole(&self) -> Range<usize> {
        self.span(0..self.text.len())
    }

    /// The byte range in the study file of `word` as a whole identifier in the text (not inside a longer
    /// name), or of the whole text when it is not there.
    pub fn word(&self, word: &str) -> Range<usize> {
        find_word(&self.text, word).map_or_else(|| self.whole(), |w| self.span(w))
    }
}

/// Byte range of `word` in `text` as a whole identifier (not inside a longer name).
fn find_word(text: &str, word: &str) -> Option<Range<usize>> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    text.match_indices(word)
        .map(|(i, _)| i..i + word.len())
        .find(|r| {
            let before = text[..r.start].chars().next_back();
            let after = text[r.end..].chars().next();
            !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
        })
}

/// One `[methods.NAME]` table, handed to its [`MethodKind`](super::MethodKind).
pub struct MethodTable<'r, 's> {
    reader: &'r mut Reader<'s>,
    table: &'r DeTable<'r>,
    name: String,
    key_span: Range<usize>,
    level: f64,
    directory: &'r Path,
    /// Where messages about the method as a whole point (see [`MethodTable::point_at`]).
    pub(crate) span: Range<usize>,
}

impl<'r, 's> MethodTable<'r, 's> {
    pub(crate) fn new(
        reader: &'r mut Reader<'s>,
        table: &'r DeTable<'r>,
        name: String,
        key_span: Range<usize>,
        level: f64,
        directory: &'r Path,
    ) -> Self {
        MethodTable {
            reader,
            table,
            name,
            span: key_span.clone(),
            key_span,
            level,
            directory,
        }
    }

    /// The method's name (`NAME` of `[methods.NAME]`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `[methods.NAME]`, as messages name the table.
    pub fn section(&self) -> String {
        format!("[methods.{}]", self.name)
    }

    /// Point later messages about the method as a whole (e.g. a model that cannot be built from the first
    /// data set) at `span` of the study file, such as its formula; by default they point at its name.
    pub fn point_at(&mut self, span: Range<usize>) {
        self.span = span;
    }

    /// The confidence level of the study's intervals (`[summary] level`, default 0.95).
    pub fn level(&self) -> f64 {
        self.level
    }

    /// The directory of the study file, as an absolute path: what file names in the table are relative
    /// to (resolved when the study is loaded, so a run started elsewhere, such as a Slurm task, finds
    /// the same files).
    pub fn directory(&self) -> &Path {
        self.directory
    }

    /// Whether the table has `key`.
    pub fn has(&self, key: &str) -> bool {
        self.value(key).is_some()
    }

    fn value(&self, key: &str) -> Option<&'r Value<'r>> {
        Reader::get(self.table, key)
    }

    /// The value at `key`, if present, read by `read` (which reports a value of the wrong type).
    fn read<T>(
        &mut self,
        key: &str,
        read: impl FnOnce(&mut Reader<'s>, &Value<'_>, &str) -> Option<T>,
    ) -> Option<T> {
        let v = self.value(key)?;
        read(self.reader, v, &format!("`{key}`"))
    }

    /// The string at `key`, if present (a value of another type is reported).
    pub fn string(&mut self, key: &str) -> Option<String> {
        self.read(key, |r, v, what| r.string(v, what))
    }

    /// The string at `key` with its place in the file, if present.
    pub fn located(&mut self, key: &str) -> Option<Located> {
        self.read(key, located)
    }

    /// The strings of the array at `key`, each with its place in the file, if present (a lone string
    /// is an array of one; anything else is reported).
    pub fn strings(&mut self, key: &str) -> Option<Vec<Located>> {
        let v = self.value(key)?;
        let what = format!("`{key}`");
        let items = match v.get_ref() {
            DeValue::Array(items) => items.iter().collect(),
            _ => vec![v],
        };
        items
            .into_iter()
            .map(|item| located(self.reader, item, &what))
            .collect()
    }

    /// The entries of the table of strings at `key` (`{ name = "value", ... }`), each name with its
    /// value and the value's place in the file, if present (anything else is reported).
    pub fn string_table(&mut self, key: &str) -> Option<Vec<(String, Located)>> {
        let v = self.value(key)?;
        let table = self.reader.table(v, &format!("`{key}`"))?;
        let mut out = Vec::with_capacity(table.len());
        for (name, value) in table {
            let name = name.get_ref().to_string();
            let what = format!("`{key}.{name}`");
            out.push((name, located(self.reader, value, &what)?));
        }
        Some(out)
    }

    /// The boolean at `key`, if present.
    pub fn bool(&mut self, key: &str) -> Option<bool> {
        self.read(key, |r, v, what| r.bool(v, what))
    }

    /// The number at `key`, if present.
    pub fn float(&mut self, key: &str) -> Option<f64> {
        self.read(key, |r, v, what| r.float(v, what))
    }

    /// The integer at `key`, if present.
    pub fn integer(&mut self, key: &str) -> Option<i64> {
        self.read(key, |r, v, what| r.integer(v, what))
    }

    /// The string at `key`, which must be one of `options`: its index (a wrong one is reported with a
    /// suggestion).
    pub fn choice(&mut self, key: &str, options: &[&str]) -> Option<usize> {
        self.read(key, |r, v, what| choice(r, v, what, options))
    }

    /// Report that `key` is missing, with an example of it.
    pub fn missing(&mut self, key: &str, example: &str) {
        let message = format!("missing key `{key}` in {}", self.section());
        self.reader
            .error(self.key_span.clone(), message)
            .notes
            .push(example.to_string());
    }

    /// Report a problem at `span` of the study file; add notes to the returned diagnostic.
    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>) -> &mut Diagnostic {
        self.reader.error(span, message)
    }

    /// Report a problem with the value of `key` (or the table's name when the key is absent).
    pub fn error_at(&mut self, key: &str, message: impl Into<String>) -> &mut Diagnostic {
        let span = self
            .value(key)
            .map_or_else(|| self.key_span.clone(), |v| v.span());
        self.reader.error(span, message)
    }

    /// The place of the string value of `key` in the file (the table's name when absent).
    pub fn span_of(&self, key: &str) -> Range<usize> {
        self.value(key)
            .map_or_else(|| self.key_span.clone(), |v| v.span())
    }
}

/// A string value with its place in the file (a value of another type is reported).
fn located(r: &mut Reader<'_>, v: &Value<'_>, what: &str) -> Option<Located> {
    let text = r.string(v, what)?;
    let map = StringMap::new(r.source, v.span(), &text);
    Some(Located::new(text, map))
}

/// A string value that must be one of `options`; returns its index.
pub(crate) fn choice(
    r: &mut Reader<'_>,
    v: &Value<'_>,
    what: &str,
    options: &[&str],
) -> Option<usize> {
    let s = r.string(v, what)?;
    match options.iter().position(|o| *o == s) {
        Some(k) => Some(k),
        None => {
            let quoted: Vec<String> = options.iter().map(|o| format!("\"{o}\"")).collect();
            let help = did_you_mean(&s, options.iter().copied());
            r.error(
                v.span(),
                format!("{what} must be one of {}, got \"{s}\"", quoted.join(", ")),
            )
            .notes
            .extend(help);
            None
        }
    }
}
