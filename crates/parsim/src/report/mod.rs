//! Summary tables: aligned text for the terminal, CSV, JSON and Markdown. Cells show `estimate (MCSE)`, the
//! estimate rounded to the precision of its Monte Carlo SE (two significant digits of the MCSE), so no
//! digit is shown that the simulation cannot support.

mod format;

use std::fs;
use std::path::PathBuf;
use std::str::FromStr;

use crate::measures::{self, MeasureKind, MeasuresError, Summary, SummaryRow};
use crate::store::{Derived, Results};

pub use format::{format_number, format_value};

/// Errors while writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The measures could not be computed.
    #[error(transparent)]
    Measures(#[from] MeasuresError),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Output formats of `parsim summary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned text for the terminal, wrapped into panels to fit its width.
    Table,
    /// One row per (condition, method, term), each measure and its MCSE in separate columns, full precision.
    Csv,
    /// The whole summary with settings and conditions.
    Json,
    /// A GitHub-flavoured Markdown table of `estimate (MCSE)` cells.
    Markdown,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "markdown" | "md" => Ok(Format::Markdown),
            other => Err(format!(
                "unknown format `{other}`; choose table, csv, json or markdown"
            )),
        }
    }
}

/// Render a summary in a format, showing the chosen measures (all when empty).
pub fn render(summary: &Summary, format: Format, measures: &[MeasureKind]) -> String {
    let measures = if measures.is_empty() {
        &MeasureKind::ALL[..]
    } else {
        measures
    };
    match format {
        Format::Table => table(summary, measures, terminal_width()),
        Format::Csv => csv(summary, measures),
        Format::Json => json(summary, measures),
        Format::Markdown => markdown(summary, measures),
    }
}

/// What the runner calls at the end of a run: summarise the results with the study's `[summary]`
/// settings, write `summary.csv` and `summary.md` as scratch files of `files` (moved into place with the
/// other derived files), and return the terminal table to print.
pub fn finish_run(files: &Derived, results: &dyn Results) -> Result<String, ReportError> {
    written_run(files, &measures::summarise(results, None)?)
}

/// Write a run's summary files and return its terminal table.
fn written_run(files: &Derived, summary: &Summary) -> Result<String, ReportError> {
    write_summary_files(files, summary)?;
    Ok(render(summary, Format::Table, &MeasureKind::ALL))
}

/// Write `summary.csv` and `summary.md` (every measure) as scratch files of `files`.
pub fn write_summary_files(files: &Derived, summary: &Summary) -> Result<(), ReportError> {
    for (name, format) in [
        ("summary.csv", Format::Csv),
        ("summary.md", Format::Markdown),
    ] {
        let path = files.scratch(name);
        let text = render(summary, format, &MeasureKind::ALL);
        fs::write(&path, text).map_err(|source| ReportError::Write { path, source })?;
    }
    Ok(())
}

/// The terminal's width from `COLUMNS`, else 120 characters.
fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|w| *w >= 40)
        .unwrap_or(120)
}

/// A key column: heading and how to get a row's cell.
type KeyColumn<'a> = (String, Box<dyn Fn(&SummaryRow) -> String + 'a>);

/// The columns identifying a row: the design factors (or the condition label when there are none but several
/// conditions), method, term, true value, replications used and failed.
fn key_columns(summary: &Summary) -> Vec<KeyColumn<'_>> {
    let mut columns: Vec<KeyColumn<'_>> = Vec::new();
    if !summary.factors.is_empty() {
        for factor in &summary.factors {
            columns.push((
                factor.clone(),
                Box::new(move |row: &SummaryRow| {
                    summary
                        .condition(row.condition)
                        .and_then(|c| c.value(factor))
                        .map(format_number)
                        .unwrap_or_default()
                }),
            ));
        }
    } else if summary.conditions.len() > 1 {
        columns.push((
            "condition".into(),
            Box::new(|row: &SummaryRow| {
                summary
                    .condition(row.condition)
                    .map_or_else(|| row.condition.to_string(), |c| c.label.clone())
            }),
        ));
    }
    columns.push((
        "method".into(),
        Box::new(|row: &SummaryRow| row.method.clone()),
    ));
    columns.push(("term".into(), Box::new(|row: &SummaryRow| row.term.clone())));
    columns.push((
        "truth".into(),
        Box::new(|row: &SummaryRow| format_number(row.measures.truth)),
    ));
    columns.push((
        "used".into(),
        Box::new(|row: &SummaryRow| row.measures.used.to_string()),
    ));
    columns.push((
        "failed".into(),
        Box::new(|row: &SummaryRow| row.measures.failed.to_string()),
    ));
    columns
}

/// One line describing the settings, for table and Markdown headers.
fn settings_line(summary: &Summary) -> String {
    let s = &summary.settings;
    let mut line = format!(
        "{}% confidence intervals; tests of term = 0 at alpha = {}",
        format_number(100.0 * s.level),
        format_number(s.alpha)
    );
    if let Some(reference) = &s.reference {
        line.push_str(&format!("; relative precision against {reference}"));
    }
    line
}

/// Aligned text, wrapped into panels no wider than `width`; the key columns repeat in each panel.
pub fn table(summary: &Summary, measures: &[MeasureKind], width: usize) -> String {
    let keys = key_columns(summary);
    let key_cells: Vec<Vec<String>> = summary
        .rows
        .iter()
        .map(|r| keys.iter().map(|(_, f)| f(r)).collect())
        .collect();
    let measure_cells: Vec<Vec<String>> = summary
        .rows
        .iter()
        .map(|r| {
            measures
                .iter()
                .map(|m| format_value(r.measures.get(*m)))
                .collect()
        })
        .collect();
    let column_width = |heading: &str, cells: &mut dyn Iterator<Item = &String>| {
        cells
            .map(|c| c.chars().count())
            .chain([heading.chars().count()])
            .max()
            .unwrap_or(0)
    };
    let key_widths: Vec<usize> = keys
        .iter()
        .enumerate()
        .map(|(j, (h, _))| column_width(h, &mut key_cells.iter().map(|c| &c[j])))
        .collect();
    let measure_widths: Vec<usize> = measures
        .iter()
        .enumerate()
        .map(|(j, m)| column_width(m.heading(), &mut measure_cells.iter().map(|c| &c[j])))
        .collect();
    let key_total: usize = key_widths.iter().map(|w| w + 2).sum();

    let mut out = format!(
        "Performance of {} — estimate (Monte Carlo SE)\n{}\n",
        summary.study,
        settings_line(summary)
    );
    for panel in panels(&measure_widths, width.saturating_sub(key_total)) {
        out.push('\n');
        let mut header = String::new();
        for ((h, _), w) in keys.iter().zip(&key_widths) {
            header.push_str(&format!("{h:<w$}  "));
        }
        for j in panel.clone() {
            header.push_str(&format!(
                "{:>w$}  ",
                measures[j].heading(),
                w = measure_widths[j]
            ));
        }
        let header = header.trim_end().to_string();
        out.push_str(&header);
        out.push('\n');
        out.push_str(&"-".repeat(header.chars().count()));
        out.push('\n');
        let mut previous_condition = None;
        for (i, row) in summary.rows.iter().enumerate() {
            if previous_condition.is_some_and(|c| c != row.condition) {
                out.push('\n');
            }
            previous_condition = Some(row.condition);
            let mut line = String::new();
            for (cell, w) in key_cells[i].iter().zip(&key_widths) {
                line.push_str(&format!("{cell:<w$}  "));
            }
            for j in panel.clone() {
                line.push_str(&format!(
                    "{:>w$}  ",
                    measure_cells[i][j],
                    w = measure_widths[j]
                ));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

/// Split measure columns into consecutive panels that fit in `room` characters (at least one per panel).
fn panels(widths: &[usize], room: usize) -> Vec<std::ops::Range<usize>> {
    let mut panels = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (j, w) in widths.iter().enumerate() {
        if j > start && used + w + 2 > room {
            panels.push(start..j);
            start = j;
            used = 0;
        }
        used += w + 2;
    }
    if start < widths.len() {
        panels.push(start..widths.len());
    }
    panels
}

/// CSV: key columns, then `measure` and `measure_mcse` for each measure at full precision; empty = not available.
pub fn csv(summary: &Summary, measures: &[MeasureKind]) -> String {
    let keys = key_columns(summary);
    let mut header: Vec<String> = vec!["condition".into()];
    header.extend(
        keys.iter()
            .map(|(h, _)| h.clone())
            .filter(|h| h != "condition"),
    );
    for m in measures {
        header.push(m.key().to_string());
        header.push(format!("{}_mcse", m.key()));
    }
    let mut out = csv_line(&header);
    for row in &summary.rows {
        let mut cells = vec![row.condition.to_string()];
        cells.extend(
            keys.iter()
                .filter(|(h, _)| h != "condition")
                .map(|(_, f)| f(row)),
        );
        for m in measures {
            let v = row.measures.get(*m);
            cells.push(v.estimate().map(|x| x.to_string()).unwrap_or_default());
            cells.push(v.mcse().map(|x| x.to_string()).unwrap_or_default());
        }
        out.push_str(&csv_line(&cells));
    }
    out
}

fn csv_line(cells: &[String]) -> String {
    let quoted: Vec<String> = cells
        .iter()
        .map(|c| {
            if c.contains([',', '"', '\n']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c.clone()
            }
        })
        .collect();
    quoted.join(",") + "\n"
}

/// JSON: study, settings, factors, conditions, and one object per row with the chosen measures as
/// `{"estimate": .., "mcse": ..}` (null when not available).
pub fn json(summary: &Summary, measures: &[MeasureKind]) -> String {
    use serde_json::{json, Map, Value};
    let rows: Vec<Value> = summary
        .rows
        .iter()
        .map(|row| {
            let mut object = Map::new();
            for m in measures {
                let v = row.measures.get(*m);
                object.insert(
                    m.key().into(),
                    json!({ "estimate": v.estimate(), "mcse": v.mcse() }),
                );
            }
            json!({
                "condition": row.condition,
                "method": row.method,
                "term": row.term,
                "truth": Value::from(row.measures.truth),
                "used": row.measures.used,
                "failed": row.measures.failed,
                "mean_estimate": Value::from(row.measures.mean_estimate),
                "measures": object,
            })
        })
        .collect();
    let conditions: Vec<Value> = summary
        .conditions
        .iter()
        .map(|c| {
            let parameters: Map<String, Value> = c
                .parameters
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(*v)))
                .collect();
            json!({ "condition": c.index, "label": c.label, "parameters": parameters })
        })
        .collect();
    let document = json!({
        "study": summary.study,
        "settings": summary.settings,
        "factors": summary.factors,
        "methods": summary.methods,
        "conditions": conditions,
        "rows": rows,
    });
    // Serialising a `serde_json::Value` cannot fail.
    serde_json::to_string_pretty(&document).unwrap_or_default() + "\n"
}

/// A Markdown table with `estimate (MCSE)` cells, under a heading and the settings.
pub fn markdown(summary: &Summary, measures: &[MeasureKind]) -> String {
    let keys = key_columns(summary);
    let escape = |s: &str| s.replace('|', "\\|");
    let mut out = format!(
        "# Performance of {}\n\nEstimate (Monte Carlo SE). {}.\n\n",
        summary.study,
        settings_line(summary)
    );
    let headings: Vec<String> = keys
        .iter()
        .map(|(h, _)| h.clone())
        .chain(measures.iter().map(|m| m.heading().to_string()))
        .collect();
    out.push_str(&format!(
        "| {} |\n",
        headings
            .iter()
            .map(|h| escape(h))
            .collect::<Vec<_>>()
            .join(" | ")
    ));
    let alignment: Vec<&str> = keys
        .iter()
        .map(|(h, _)| {
            if matches!(h.as_str(), "method" | "term" | "condition") {
                ":---"
            } else {
                "---:"
            }
        })
        .chain(measures.iter().map(|_| "---:"))
        .collect();
    out.push_str(&format!("| {} |\n", alignment.join(" | ")));
    for row in &summary.rows {
        let cells: Vec<String> = keys
            .iter()
            .map(|(_, f)| escape(&f(row)))
            .chain(measures.iter().map(|m| format_value(row.measures.get(*m))))
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}
