//! The page's description of the study: settings, design grid, methods, estimands, replications and how
//! to replay one, read from the study file the store keeps and from the summary.

use std::collections::HashMap;
use std::fmt::Write;

use crate::measures::Summary;
use crate::report::format_number;
use crate::slurm::quote_str;

use super::html::{escape, Cell, Column, Table};

/// What the page says about the study besides the summary.
pub struct StudyFacts<'a> {
    /// The study file's text as run (the store's copy).
    pub toml: &'a str,
    /// Replications stored per condition, by condition index.
    pub stored: &'a [u64],
    /// Replications per condition the runs asked for, if recorded.
    pub asked: Option<u64>,
    /// Whether every unit of the study is stored.
    pub finished: bool,
    /// The results directory as the user named it (for commands).
    pub dir: &'a str,
}

/// The study section: its settings, then the design, methods, estimands and how to replay a replication.
pub fn render(out: &mut String, summary: &Summary, facts: &StudyFacts<'_>) {
    let file: toml::Table = facts.toml.parse().unwrap_or_default();
    let study = file.get("study").and_then(toml::Value::as_table);
    let setting = |key: &str| study.and_then(|s| s.get(key)).map(plain);
    let stored_total: u64 = facts.stored.iter().sum();
    let asked_total = facts
        .asked
        .map(|a| a.saturating_mul(summary.conditions.len() as u64));
    out.push_str("<section id=\"study\"><h2>Study</h2>\n<dl class=\"facts\">\n");
    let mut fact = |name: &str, value: String| {
        let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", escape(name), escape(&value));
    };
    fact("name", summary.study.clone());
    fact(
        "design",
        format!(
            "{} condition{}{}",
            summary.conditions.len(),
            plural(summary.conditions.len() as u64),
            if summary.factors.is_empty() {
                String::new()
            } else {
                format!(" (factors: {})", summary.factors.join(", "))
            }
        ),
    );
    fact(
        "replications",
        match (facts.asked, asked_total) {
            (Some(asked), Some(total)) => format!(
                "{asked} per condition asked; {stored_total} of {total} stored{}",
                if facts.finished {
                    ""
                } else {
                    " (the run did not finish)"
                }
            ),
            _ => format!("{stored_total} stored"),
        },
    );
    fact(
        "seed",
        format!(
            "{} (streams: {})",
            setting("seed").unwrap_or_else(|| "0".into()),
            setting("streams").unwrap_or_else(|| "keyed".into())
        ),
    );
    let s = &summary.settings;
    fact(
        "measures",
        format!(
            "{}% confidence intervals; tests of term = 0 at alpha = {}{}",
            format_number(100.0 * s.level),
            format_number(s.alpha),
            s.reference
                .as_deref()
                .map(|r| format!("; relative precision against {r}"))
                .unwrap_or_default()
        ),
    );
    out.push_str("</dl>\n");
    design(out, summary, facts);
    methods(out, summary, &file);
    estimands(out, summary, &file);
    replay(out, summary, &setting("streams"), facts);
    out.push_str("</section>\n");
}

/// The fixed parameters, then the conditions with their factors' values, true values and replications.
fn design(out: &mut String, summary: &Summary, facts: &StudyFacts<'_>) {
    out.push_str("<section id=\"design\"><h3>Design</h3>\n");
    let fixed: Vec<String> = summary
        .conditions
        .first()
        .map(|c| {
            c.parameters
                .iter()
                .filter(|(name, _)| !summary.factors.contains(name))
                .map(|(name, v)| format!("{name} = {}", format_number(*v)))
                .collect()
        })
        .unwrap_or_default();
    if !fixed.is_empty() {
        let _ = writeln!(
            out,
            "<p>Fixed parameters: <code>{}</code>.</p>",
            escape(&fixed.join(", "))
        );
    }
    // True values that vary across conditions; the estimands' table gives the constant ones.
    let mut truths: HashMap<(usize, &str), f64> = HashMap::new();
    for row in &summary.rows {
        truths
            .entry((row.condition, row.term.as_str()))
            .or_insert(row.measures.truth);
    }
    let truth = |c: usize, term: &str| truths.get(&(c, term)).copied();
    let terms: Vec<&str> = summary
        .terms()
        .into_iter()
        .filter(|term| {
            let first = summary
                .conditions
                .first()
                .and_then(|c| truth(c.index, term));
            summary
                .conditions
                .iter()
                .any(|c| truth(c.index, term).map(f64::to_bits) != first.map(f64::to_bits))
        })
        .collect();
    let mut columns = vec![Column::number("condition")];
    if summary.factors.is_empty() {
        columns.push(Column::text("label"));
    }
    columns.extend(summary.factors.iter().map(Column::number));
    columns.extend(
        terms
            .iter()
            .map(|t| Column::number(format!("true {t}")).titled("the estimand's true value")),
    );
    columns.push(Column::number("replications stored"));
    if facts.asked.is_some() {
        columns.push(Column::number("asked"));
    }
    let mut table = Table::new("conditions".into(), "The design grid", columns);
    for c in &summary.conditions {
        let mut row = vec![Cell::number(c.index.to_string(), Some(c.index as f64))];
        if summary.factors.is_empty() {
            row.push(Cell::text(c.label.clone()));
        }
        for factor in &summary.factors {
            let v = c.value(factor);
            row.push(Cell::number(v.map(format_number).unwrap_or_default(), v));
        }
        for term in &terms {
            let truth = truth(c.index, term);
            row.push(Cell::number(
                truth.map(format_number).unwrap_or_default(),
                truth,
            ));
        }
        let stored = facts.stored.get(c.index).copied().unwrap_or(0);
        row.push(Cell::number(stored.to_string(), Some(stored as f64)));
        if let Some(asked) = facts.asked {
            row.push(Cell::number(asked.to_string(), Some(asked as f64)));
        }
        table.push(row);
    }
    table.render(out);
    out.push_str("</section>\n");
}

/// Each method: its name, kind and options as the study file gives them.
fn methods(out: &mut String, summary: &Summary, file: &toml::Table) {
    out.push_str("<section id=\"methods\"><h3>Methods</h3>\n");
    let tables = file.get("methods").and_then(toml::Value::as_table);
    let mut table = Table::new(
        "methods-table".into(),
        "Methods and their options",
        vec![
            Column::text("method"),
            Column::text("kind"),
            Column::text("options"),
        ],
    );
    for method in &summary.methods {
        let options = tables
            .and_then(|t| t.get(method))
            .and_then(toml::Value::as_table);
        let kind = options
            .and_then(|o| o.get("model"))
            .map(plain)
            .unwrap_or_default();
        let rest: Vec<String> = options
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| k.as_str() != "model")
                    .map(|(k, v)| format!("{k} = {v}"))
                    .collect()
            })
            .unwrap_or_default();
        table.push(vec![
            Cell::text(method.clone()),
            Cell::text(kind),
            Cell::text(rest.join("; ")),
        ]);
    }
    table.render(out);
    out.push_str("</section>\n");
}

/// Each estimand: its term, the expression of its true value, and the values it takes.
fn estimands(out: &mut String, summary: &Summary, file: &toml::Table) {
    out.push_str("<section id=\"estimands\"><h3>Estimands</h3>\n");
    let expressions = file.get("estimands").and_then(toml::Value::as_table);
    let mut table = Table::new(
        "estimands-table".into(),
        "Estimands and their true values",
        vec![
            Column::text("term"),
            Column::text("true value"),
            Column::text("in the conditions"),
        ],
    );
    for term in summary.terms() {
        let expression = expressions
            .and_then(|e| e.get(term))
            .map(plain)
            .unwrap_or_default();
        let mut truths: Vec<f64> = summary
            .rows
            .iter()
            .filter(|r| r.term == term)
            .map(|r| r.measures.truth)
            .collect();
        truths.sort_by(f64::total_cmp);
        truths.dedup_by(|a, b| a.total_cmp(b).is_eq());
        let values = match truths.as_slice() {
            [] => String::new(),
            [one] => format_number(*one),
            [first, .., last] => format!(
                "{} values from {} to {} (see the design grid)",
                truths.len(),
                format_number(*first),
                format_number(*last)
            ),
        };
        table.push(vec![
            Cell::text(term),
            Cell::text(expression),
            Cell::text(values),
        ]);
    }
    table.render(out);
    out.push_str("</section>\n");
}

/// Where a replication's data come from, the command that writes them, and the study file as run.
fn replay(out: &mut String, summary: &Summary, streams: &Option<String>, facts: &StudyFacts<'_>) {
    out.push_str("<section id=\"replay\"><h3>Seeds and replaying a replication</h3>\n");
    let stream = match streams.as_deref() {
        Some("per-replication-seed") => {
            "Replication <var>r</var> draws its data from numpy's <code>default_rng(seed + r)</code> \
             in every condition."
        }
        _ => {
            "Replication <var>r</var> of condition <var>c</var> draws its data from numpy's \
             <code>default_rng(SeedSequence(seed, spawn_key=(c, r)))</code>; a method's own random \
             steps from <code>spawn_key=(c, r, key)</code>, a key of the method's name."
        }
    };
    let _ = writeln!(
        out,
        "<p>{stream} So any replication can be rebuilt alone, bit for bit:</p>"
    );
    let condition = summary.conditions.first().map_or(0, |c| c.index);
    let study_file = format!("{}/study.toml", facts.dir.trim_end_matches('/'));
    let _ = writeln!(
        out,
        "<pre class=\"command\"><code>parsim data {} --condition {condition} --replication 0 --out data.csv</code></pre>\n\
         <p>writes replication 0 of condition {condition} as CSV (give any condition of the design grid \
         and any replication); <code>parsim fit</code> fits a method's model to it. The study file as \
         run, which the results directory keeps as <code>study.toml</code>:</p>",
        escape(&quote_str(&study_file))
    );
    let _ = writeln!(
        out,
        "<details><summary>study.toml</summary><pre class=\"source\"><code>{}</code></pre></details>",
        escape(facts.toml)
    );
    out.push_str("</section>\n");
}

/// A TOML value as a reader types it: strings without quotes, anything else as TOML writes it.
fn plain(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `"s"` for counts other than one.
pub(super) fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
