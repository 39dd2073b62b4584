//! HTML building blocks of the page: escaping, and tables a reader can sort and filter.

use std::borrow::Cow;
use std::fmt::Write;

/// `s` with the five characters that mean something in HTML text and attribute values replaced.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A fragment id made of `parts` joined by `-`: letters, digits, `_` and `-` kept, anything else as `-`
/// (ids must be unique within the page; the callers' parts make them so: a term's index, a figure's
/// file stem, which has only those characters).
pub fn anchor(parts: &[&str]) -> String {
    let mut id = String::new();
    for part in parts {
        if !id.is_empty() {
            id.push('-');
        }
        id.extend(part.chars().map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        }));
    }
    id
}

/// A table cell: the text shown, and the number it sorts by (none: it sorts as text).
pub struct Cell {
    text: String,
    sort: Option<f64>,
    class: &'static str,
}

impl Cell {
    /// A text cell.
    pub fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            sort: None,
            class: "",
        }
    }

    /// A cell showing `text` that sorts by `value` (a missing value, NaN, sorts last).
    pub fn number(text: impl Into<String>, value: Option<f64>) -> Cell {
        Cell {
            text: text.into(),
            sort: Some(value.unwrap_or(f64::NAN)),
            class: "",
        }
    }

    /// The same cell, hidden until the reader asks for every measure.
    pub fn extra(mut self, extra: bool) -> Cell {
        if extra {
            self.class = "extra";
        }
        self
    }
}

/// A column heading: its text, whether it holds numbers, and whether it is one of the extra measures
/// hidden by default.
pub struct Column {
    heading: String,
    numeric: bool,
    extra: bool,
    title: Option<String>,
}

impl Column {
    /// A column of text.
    pub fn text(heading: impl Into<String>) -> Column {
        Column {
            heading: heading.into(),
            numeric: false,
            extra: false,
            title: None,
        }
    }

    /// A column of numbers (right-aligned, sorted numerically).
    pub fn number(heading: impl Into<String>) -> Column {
        Column {
            numeric: true,
            ..Column::text(heading)
        }
    }

    /// Hidden until the reader asks for every measure.
    pub fn extra(mut self, extra: bool) -> Column {
        self.extra = extra;
        self
    }

    /// A tooltip for the heading.
    pub fn titled(mut self, title: impl Into<String>) -> Column {
        self.title = Some(title.into());
        self
    }
}

/// A table with a filter box; clicking a heading sorts its rows (the page's script).
pub struct Table {
    id: String,
    caption: String,
    columns: Vec<Column>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with this id (unique in the page) and caption.
    pub fn new(id: String, caption: impl Into<String>, columns: Vec<Column>) -> Table {
        Table {
            id,
            caption: caption.into(),
            columns,
            rows: Vec::new(),
        }
    }

    /// Add a row (one cell per column).
    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    /// The table as HTML, with its filter box.
    pub fn render(&self, out: &mut String) {
        let id = escape(&self.id);
        let rows = self.rows.len();
        // `write!` into a String cannot fail.
        let _ = write!(
            out,
            "<div class=\"table-tools\"><label>Filter <input type=\"search\" class=\"filter\" \
             data-table=\"{id}\" placeholder=\"e.g. ols 500\" aria-controls=\"{id}\"></label> \
             <span class=\"count\" id=\"{id}-count\">{rows} row{}</span></div>\n\
             <div class=\"scroll\"><table class=\"data sortable\" id=\"{id}\">\
             <caption>{}</caption>\n<thead><tr>",
            if rows == 1 { "" } else { "s" },
            escape(&self.caption)
        );
        for column in &self.columns {
            let mut classes = Vec::new();
            if column.numeric {
                classes.push("num");
            }
            if column.extra {
                classes.push("extra");
            }
            let title = column
                .title
                .as_deref()
                .map(|t| format!(" title=\"{}\"", escape(t)))
                .unwrap_or_default();
            let _ = write!(
                out,
                "<th scope=\"col\" class=\"{}\"{title}>{}</th>",
                classes.join(" "),
                escape(&column.heading)
            );
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for row in &self.rows {
            out.push_str("<tr>");
            for (cell, column) in row.iter().zip(&self.columns) {
                let mut classes = Vec::new();
                if column.numeric {
                    classes.push("num");
                }
                if !cell.class.is_empty() {
                    classes.push(cell.class);
                }
                out.push_str("<td");
                if !classes.is_empty() {
                    let _ = write!(out, " class=\"{}\"", classes.join(" "));
                }
                if let Some(v) = cell.sort {
                    // Shortest round-trip form; NaN as an empty key, which the script sorts last.
                    if v.is_nan() {
                        out.push_str(" data-v=\"\"");
                    } else {
                        let _ = write!(out, " data-v=\"{v:e}\"");
                    }
                }
                let _ = write!(out, ">{}</td>", escape(&cell.text));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table></div>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_text_and_attributes() {
        assert_eq!(
            escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert!(matches!(escape("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn anchors_are_safe_ids() {
        assert_eq!(
            anchor(&["fig", "sd__(Intercept)|group"]),
            "fig-sd__-Intercept--group"
        );
    }

    #[test]
    fn tables_escape_cells_and_carry_sort_keys() {
        let mut t = Table::new(
            "t".into(),
            "c<",
            vec![Column::text("a&b"), Column::number("n")],
        );
        t.push(vec![
            Cell::text("<x>"),
            Cell::number("0.50 (0.01)", Some(0.5)),
        ]);
        t.push(vec![Cell::text("y"), Cell::number("NA", None)]);
        let mut html = String::new();
        t.render(&mut html);
        assert!(html.contains("<caption>c&lt;</caption>"));
        assert!(html.contains(">a&amp;b</th>"));
        assert!(html.contains("<td>&lt;x&gt;</td>"));
        assert!(html.contains("data-v=\"5e-1\">0.50 (0.01)</td>"));
        assert!(html.contains("data-v=\"\">NA</td>"));
        assert!(html.contains("2 rows"));
    }
}
