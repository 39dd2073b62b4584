//! The page's tables of results: the fits that could not be used, and the performance measures with
//! their Monte Carlo SEs, one table per estimand.

use std::fmt::Write;

use crate::measures::{MeasureKind, Summary, SummaryRow};
use crate::report::{format_number, format_value, key_measures};

use super::html::{anchor, escape, Cell, Column, Table};
use super::study::plural;

/// Every (condition, method) with a failed fit: fits, failures, convergence rate and the most common
/// messages; a line per method above it.
pub fn failures(out: &mut String, summary: &Summary) {
    out.push_str("<section id=\"failures\"><h2>Fits that could not be used</h2>\n");
    let failing: Vec<_> = summary.fits.iter().filter(|f| f.failed > 0).collect();
    if failing.is_empty() {
        out.push_str("<p>Every fit of every method could be used.</p>\n</section>\n");
        return;
    }
    out.push_str("<ul>\n");
    for method in &summary.methods {
        let of_method: Vec<_> = failing.iter().filter(|f| &f.method == method).collect();
        if of_method.is_empty() {
            continue;
        }
        let failed: u64 = of_method.iter().map(|f| f.failed).sum();
        let fits: u64 = summary
            .fits
            .iter()
            .filter(|f| &f.method == method)
            .map(|f| f.fits)
            .sum();
        let everywhere = of_method.iter().filter(|f| f.all_failed()).count();
        let _ = writeln!(
            out,
            "<li><strong>{}</strong>: {failed} of {fits} fits in {} condition{}{}</li>",
            escape(method),
            of_method.len(),
            plural(of_method.len() as u64),
            if everywhere > 0 {
                format!(
                    "; every fit failed in {everywhere} condition{}",
                    plural(everywhere as u64)
                )
            } else {
                String::new()
            }
        );
    }
    out.push_str("</ul>\n");
    let mut table = Table::new(
        "failures-table".into(),
        "Failed fits per method and condition, with their most common messages",
        vec![
            Column::number("condition"),
            Column::text("label"),
            Column::text("method"),
            Column::number("fits"),
            Column::number("failed"),
            Column::number("convergence %"),
            Column::text("most common messages"),
        ],
    );
    for f in failing {
        let convergence = f.convergence();
        table.push(vec![
            Cell::number(f.condition.to_string(), Some(f.condition as f64)),
            Cell::text(label(summary, f.condition)),
            Cell::text(f.method.clone()),
            Cell::number(f.fits.to_string(), Some(f.fits as f64)),
            Cell::number(f.failed.to_string(), Some(f.failed as f64)),
            Cell::number(format_value(convergence), convergence.estimate()),
            Cell::text(f.reasons_text()),
        ]);
    }
    table.render(out);
    out.push_str("</section>\n");
}

/// One table per estimand: a row per (condition, method), the key measures shown and the others behind
/// the "every measure" switch; each cell `estimate (MCSE)`, sorted by the estimate.
pub fn measures(out: &mut String, summary: &Summary) {
    out.push_str(
        "<section id=\"measures\"><h2>Performance measures</h2>\n\
         <p>Each cell is <em>estimate (Monte Carlo SE)</em>, the estimate rounded to the precision its \
         Monte Carlo SE supports.<span class=\"screen-only\"> Click a heading to sort; type in a filter \
         box to keep the rows that contain every word.</span> <label class=\"switch\"><input type=\"checkbox\" id=\"all-measures\"> \
         show every measure</label></p>\n",
    );
    for (i, term) in summary.terms().into_iter().enumerate() {
        let rows: Vec<&SummaryRow> = summary.rows.iter().filter(|r| r.term == term).collect();
        let _ = writeln!(
            out,
            "<section id=\"{}\"><h3>{}</h3>",
            measures_anchor(i, term),
            escape(term)
        );
        term_table(summary, term, &rows, i).render(out);
        out.push_str("</section>\n");
    }
    out.push_str("</section>\n");
}

/// The fragment id of an estimand's measures.
pub fn measures_anchor(index: usize, term: &str) -> String {
    anchor(&["measures", &index.to_string(), term])
}

/// The measures of one estimand.
fn term_table(summary: &Summary, term: &str, rows: &[&SummaryRow], index: usize) -> Table {
    // The key measures as the terminal shows them (the convergence rate only where a fit failed); the
    // others behind the switch.
    let key = key_measures(summary);
    let shown: Vec<MeasureKind> = MeasureKind::ALL
        .into_iter()
        .filter(|m| rows.iter().any(|r| r.measures.get(*m).estimate().is_some()))
        .collect();
    let by_label = summary.factors.is_empty() && summary.conditions.len() > 1;
    let mut columns = Vec::new();
    if by_label {
        columns.push(Column::text("condition"));
    }
    columns.extend(summary.factors.iter().map(Column::number));
    columns.push(Column::text("method"));
    columns.push(Column::number("true value").extra(true));
    columns.push(Column::number("used").titled("replications with a usable estimate"));
    columns.push(Column::number("failed").extra(true));
    for m in &shown {
        columns.push(Column::number(m.heading()).extra(!key.contains(m)));
    }
    let mut table = Table::new(
        anchor(&["measures-table", &index.to_string()]),
        format!("{term}: estimate (Monte Carlo SE)"),
        columns,
    );
    for row in rows {
        let mut cells = Vec::new();
        let condition = summary.condition(row.condition);
        if by_label {
            cells.push(Cell::text(label(summary, row.condition)));
        }
        for factor in &summary.factors {
            let v = condition.and_then(|c| c.value(factor));
            cells.push(Cell::number(v.map(format_number).unwrap_or_default(), v));
        }
        let m = &row.measures;
        cells.push(Cell::text(row.method.clone()));
        cells.push(Cell::number(format_number(m.truth), Some(m.truth)).extra(true));
        cells.push(Cell::number(m.used.to_string(), Some(m.used as f64)));
        cells.push(Cell::number(m.failed.to_string(), Some(m.failed as f64)).extra(true));
        for kind in &shown {
            let v = m.get(*kind);
            cells.push(Cell::number(format_value(v), v.estimate()).extra(!key.contains(kind)));
        }
        table.push(cells);
    }
    table
}

/// A condition's label, or its number when the summary does not know it.
pub fn label(summary: &Summary, condition: usize) -> String {
    summary
        .condition(condition)
        .map_or_else(|| format!("condition {condition}"), |c| c.label.clone())
}
