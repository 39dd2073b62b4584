//! Summary tables: aligned text for the terminal, CSV, JSON and Markdown. Cells show `estimate (MCSE)`, the
//! estimate rounded to the precision of its Monte Carlo SE (two significant digits of the MCSE), so no
//! digit is shown that the simulation cannot support.

mod failures;
mod format;

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs;
use std::path::PathBuf;
use std::str::FromStr;

use crate::measures::{
    self, FitCounts, MeasureKind, MeasuresError, PerformanceAccumulator, Summary, SummaryRow,
};
use crate::store::{Derived, Results, StoreError};

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

/// The end of a run: the terminal table, and what the caller must act on.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    /// The table to print.
    pub table: String,
    /// The (condition, method) pairs whose every fit failed, with the condition's label: a run with any
    /// is not a success.
    pub failed_everywhere: Vec<(String, FitCounts)>,
}

/// What the runner calls at the end of a run: summarise the results with the study's `[summary]`
/// settings, write `summary.csv` and `summary.md` as scratch files of `files` (moved into place with the
/// other derived files), and return the terminal table to print with the methods that failed on every
/// replication of a condition.
pub fn finish_run(files: &Derived, results: &dyn Results) -> Result<RunSummary, ReportError> {
    let summary = measures::summarise(results, None)?;
    if results.stopped() {
        return Err(ReportError::Measures(StoreError::Interrupted.into()));
    }
    write_summary_files(files, &summary)?;
    let dir = files.dir();
    let shown = first_conditions(&summary, RUN_TABLE_CONDITIONS);
    let more = summary.conditions.len() - shown.conditions.len();
    let more = match more {
        0 => String::new(),
        n => format!(
            "\n... and {n} more conditions: `parsim summary {}` prints them all.",
            dir.display()
        ),
    };
    Ok(RunSummary {
        table: key_table(&shown, terminal_width())
            + &more
            + &format!(
                "\nEvery measure: {} and {}\n",
                dir.join("summary.csv").display(),
                dir.join("summary.md").display()
            ),
        failed_everywhere: summary
            .failed_everywhere()
            .map(|f| (failures::label(&summary, f.condition), f.clone()))
            .collect(),
    })
}

/// The most conditions the table at the end of a run shows: it should fit a screen (every condition is
/// in the files and in `parsim summary`).
const RUN_TABLE_CONDITIONS: usize = 12;

/// `summary` restricted to its first `count` conditions (all of it, borrowed, when it has no more).
fn first_conditions(summary: &Summary, count: usize) -> Cow<'_, Summary> {
    if summary.conditions.len() <= count {
        return Cow::Borrowed(summary);
    }
    let kept: HashSet<usize> = summary.conditions[..count]
        .iter()
        .map(|c| c.index)
        .collect();
    Cow::Owned(Summary {
        conditions: summary.conditions[..count].to_vec(),
        rows: summary
            .rows
            .iter()
            .filter(|r| kept.contains(&r.condition))
            .cloned()
            .collect(),
        fits: summary
            .fits
            .iter()
            .filter(|f| kept.contains(&f.condition))
            .cloned()
            .collect(),
        ..summary.clone_header()
    })
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
pub fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|w| *w >= 40)
        .unwrap_or(120)
}

/// The rows a report lists: the summary's, and one without a term for each (condition, method) whose
/// every fit failed and that has no row (no term of it is known), so no method or condition is dropped.
fn report_rows(summary: &Summary) -> Vec<Cow<'_, SummaryRow>> {
    let mut rows: Vec<Cow<'_, SummaryRow>> = summary.rows.iter().map(Cow::Borrowed).collect();
    let with_rows: HashSet<(usize, &str)> = summary
        .rows
        .iter()
        .map(|r| (r.condition, r.method.as_str()))
        .collect();
    let missing = summary
        .failed_everywhere()
        .filter(|f| !with_rows.contains(&(f.condition, f.method.as_str())));
    let mut added = false;
    for counts in missing {
        let failed = PerformanceAccumulator {
            failed: counts.fits,
            ..PerformanceAccumulator::default()
        };
        rows.push(Cow::Owned(SummaryRow {
            condition: counts.condition,
            method: counts.method.clone(),
            term: String::new(),
            measures: failed.finish(),
        }));
        added = true;
    }
    if added {
        let rank = |m: &str| summary.methods.iter().position(|n| n == m);
        // Stable: within a (condition, method) the rows keep their term order.
        rows.sort_by_key(|r| (r.condition, rank(&r.method)));
    }
    rows
}

/// The most common reasons the fits of a row's method failed in its condition (empty when none did).
fn failure_cell(summary: &Summary, row: &SummaryRow) -> String {
    summary
        .fit_counts(row.condition, &row.method)
        .map(FitCounts::reasons_text)
        .unwrap_or_default()
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

/// The key measures ([`MeasureKind::KEY`]) that have a value in some row: power only where a truth is not
/// 0, type I error only where one is, the convergence rate only where a fit failed.
pub fn key_measures(summary: &Summary) -> Vec<MeasureKind> {
    let some_failed = summary.fits.iter().any(|f| f.failed > 0)
        || summary.rows.iter().any(|r| r.measures.failed > 0);
    MeasureKind::KEY
        .into_iter()
        .filter(|m| *m != MeasureKind::Convergence || some_failed)
        .filter(|m| {
            summary
                .rows
                .iter()
                .any(|r| r.measures.get(*m).estimate().is_some())
        })
        .collect()
}

/// The table a terminal shows: the key measures of the estimands (see [`key_measures`]), without the
/// `failed` column (the convergence rate and the failures section say it), so that it fits a screen's
/// width in one panel; every measure is in the files.
pub fn key_table(summary: &Summary, width: usize) -> String {
    let mut keys = key_columns(summary);
    // Conditions get a line of their own instead of factor columns; `used` goes when every row used the
    // same replications (the title says how many).
    let rows = report_rows(summary);
    let used = rows.first().map(|r| r.measures.used);
    let same_used = rows.iter().all(|r| Some(r.measures.used) == used);
    keys.retain(|(heading, _)| {
        !(heading == "failed"
            || heading == "condition"
            || summary.factors.contains(heading)
            || heading == "used" && same_used)
    });
    let mut measures: Vec<(MeasureKind, &str)> = key_measures(summary)
        .into_iter()
        .map(|m| (m, m.heading()))
        .collect();
    // Power and type I error never share a row (the truth decides): one column holds both.
    if measures.iter().any(|(m, _)| *m == MeasureKind::TypeIError) {
        measures.retain(|(m, _)| *m != MeasureKind::TypeIError);
        match measures.iter_mut().find(|(m, _)| *m == MeasureKind::Power) {
            Some(power) => *power = (MeasureKind::Rejection, "power/type I %"),
            None => measures.push((MeasureKind::TypeIError, MeasureKind::TypeIError.heading())),
        }
        let convergence = measures
            .iter()
            .position(|(m, _)| *m == MeasureKind::Convergence);
        if let Some(at) = convergence {
            let moved = measures.remove(at);
            measures.push(moved);
        }
    }
    let mut out = table_of(summary, keys, &measures, width, true);
    if let (true, Some(used)) = (same_used, used) {
        out = out.replacen(
            " — estimate (Monte Carlo SE)",
            &format!(" — estimate (Monte Carlo SE) over {used} replications per condition"),
            1,
        );
    }
    out
}

/// Aligned text, wrapped into panels no wider than `width`; the key columns repeat in each panel.
pub fn table(summary: &Summary, measures: &[MeasureKind], width: usize) -> String {
    let measures: Vec<(MeasureKind, &str)> = measures.iter().map(|m| (*m, m.heading())).collect();
    table_of(summary, key_columns(summary), &measures, width, false)
}

/// [`table`] of these key columns and these measures under these headings.
fn table_of(
    summary: &Summary,
    keys: Vec<KeyColumn<'_>>,
    measures: &[(MeasureKind, &str)],
    width: usize,
    condition_lines: bool,
) -> String {
    let rows = report_rows(summary);
    let key_cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| keys.iter().map(|(_, f)| f(r)).collect())
        .collect();
    let measure_cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            measures
                .iter()
                .map(|(m, _)| format_value(r.measures.get(*m)))
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
        .map(|(j, (_, h))| column_width(h, &mut measure_cells.iter().map(|c| &c[j])))
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
            header.push_str(&format!("{:>w$}  ", measures[j].1, w = measure_widths[j]));
        }
        let header = header.trim_end().to_string();
        out.push_str(&header);
        out.push('\n');
        out.push_str(&"-".repeat(header.chars().count()));
        out.push('\n');
        let mut previous_condition = None;
        for (i, row) in rows.iter().enumerate() {
            let new_condition = previous_condition != Some(row.condition);
            if previous_condition.is_some() && new_condition {
                out.push('\n');
            }
            if condition_lines && new_condition && summary.conditions.len() > 1 {
                out.push_str(&failures::label(summary, row.condition));
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
    out.push_str(&failures::text(summary));
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

/// CSV: key columns, then `measure` and `measure_mcse` for each measure at full precision (empty = not
/// available), then the most common reasons the row's method failed in its condition.
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
    header.push("failures".into());
    let mut out = csv_line(&header);
    for row in &report_rows(summary) {
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
        cells.push(failure_cell(summary, row));
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

/// JSON: study, settings, factors, conditions, one object per row with the chosen measures as
/// `{"estimate": .., "mcse": ..}` (null when not available), and the fits of every method in every
/// condition (convergence rate, failures and their most common reasons).
pub fn json(summary: &Summary, measures: &[MeasureKind]) -> String {
    use serde_json::{json, Map, Value};
    let rows: Vec<Value> = report_rows(summary)
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
        "fits": failures::json(summary),
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
    for row in &report_rows(summary) {
        let cells: Vec<String> = keys
            .iter()
            .map(|(_, f)| escape(&f(row)))
            .chain(measures.iter().map(|m| format_value(row.measures.get(*m))))
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out.push_str(&failures::markdown(summary));
    out
}
