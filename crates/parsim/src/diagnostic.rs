//! Error messages that point into a file: `file:line:col`, the line itself and a caret under the culprit
//! (rendered with codespan-reporting, without colour so they can be stored and compared).

use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor::NoColor};

/// One problem found in a file, located by a byte range of that file.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// What is wrong, in one sentence.
    pub message: String,
    /// Byte range of the offending text in the file.
    pub span: Range<usize>,
    /// A short remark printed under the caret (may be empty).
    pub label: String,
    /// Further lines: suggestions ("did you mean ..."), context (which replication).
    pub notes: Vec<String>,
    /// 1-based line of `span.start`.
    pub line: usize,
    /// 1-based column (in characters) of `span.start`.
    pub column: usize,
}

impl Diagnostic {
    /// A diagnostic at `span` of `source`; line and column are computed from the source.
    pub fn new(source: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        let span = clamp(source, span);
        let (line, column) = line_col(source, span.start);
        Diagnostic {
            message: message.into(),
            span,
            label: String::new(),
            notes: Vec::new(),
            line,
            column,
        }
    }

    /// Adds the remark printed under the caret.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Adds a note line (printed as `= note`).
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Adds a note when there is one.
    pub fn with_optional_note(self, note: Option<String>) -> Self {
        match note {
            Some(n) => self.with_note(n),
            None => self,
        }
    }
}

/// Keeps a span inside the source and on character boundaries, so rendering never fails.
fn clamp(source: &str, span: Range<usize>) -> Range<usize> {
    let mut start = span.start.min(source.len());
    let mut end = span.end.clamp(start, source.len());
    while !source.is_char_boundary(start) {
        start -= 1;
    }
    while !source.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = source
        .get(line_start..offset)
        .map_or(1, |s| s.chars().count() + 1);
    (line, column)
}

/// Renders diagnostics as codespan does: `error: message`, `┌─ file:line:col`, the line and a caret.
pub fn render(file_name: &str, source: &str, diagnostics: &[Diagnostic]) -> String {
    let file = SimpleFile::new(file_name, source);
    let config = term::Config::default();
    let mut out = NoColor::new(Vec::<u8>::new());
    for d in diagnostics {
        let diagnostic = CsDiagnostic::error()
            .with_message(&d.message)
            .with_labels(vec![
                Label::primary((), d.span.clone()).with_message(&d.label)
            ])
            .with_notes(d.notes.clone());
        if term::emit(&mut out, &config, &file, &diagnostic).is_err() {
            // Rendering cannot fail for a clamped span; keep the essentials if it ever does.
            let text = format!(
                "error: {}\n  --> {}:{}:{}\n",
                d.message, file_name, d.line, d.column
            );
            out.get_mut().extend_from_slice(text.as_bytes());
        }
    }
    String::from_utf8_lossy(out.get_ref()).into_owned()
}

/// "did you mean `x`?" for the known name closest to `name`, when close enough to be a plausible typo
/// (one rule for study files and data columns: [`parsim_lmm::did_you_mean`]).
pub fn did_you_mean<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<String> {
    parsim_lmm::did_you_mean(name, known).map(|k| format!("did you mean `{k}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let src = "ab\ncdé\nf";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 4), (2, 2));
        assert_eq!(line_col(src, src.len()), (3, 2));
    }

    #[test]
    fn suggestions_only_for_close_names() {
        assert_eq!(
            did_you_mean("replicatons", ["replications", "seed"]),
            Some("did you mean `replications`?".into())
        );
        assert_eq!(
            did_you_mean("nrom", ["normal", "norm"]),
            Some("did you mean `norm`?".into())
        );
        assert_eq!(did_you_mean("zzz", ["normal"]), None);
    }

    #[test]
    fn render_shows_file_line_column_and_caret() {
        let src = "a = 1\nb = c\n";
        let d = Diagnostic::new(src, 10..11, "unknown name `c`").with_label("not defined");
        let text = render("s.toml", src, &[d]);
        assert!(text.contains("error: unknown name `c`"), "{text}");
        assert!(text.contains("s.toml:2:5"), "{text}");
        assert!(text.contains("b = c"), "{text}");
        assert!(text.contains('^'), "{text}");
    }
}
