//! The fits that could not be used, in the reports: every method that failed on every replication of a
//! condition by name, with its most common messages, and the others per method (terminal) or per
//! condition (files).

use crate::measures::{FitCounts, Summary};

use super::format_value;

/// The condition's label, or its index when the summary does not know it.
pub(super) fn label(summary: &Summary, condition: usize) -> String {
    summary
        .condition(condition)
        .map_or_else(|| format!("condition {condition}"), |c| c.label.clone())
}

/// For the terminal: each (condition, method) whose every fit failed on a line of its own, then one line
/// per method for the fits that failed now and then. Empty when every fit could be used.
pub(super) fn text(summary: &Summary) -> String {
    let failing: Vec<&FitCounts> = summary.fits.iter().filter(|f| f.failed > 0).collect();
    if failing.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nFits that could not be used:\n");
    for f in failing.iter().filter(|f| f.all_failed()) {
        out.push_str(&format!(
            "  {} in {}: every fit failed ({} of {}): {}\n",
            f.method,
            label(summary, f.condition),
            f.failed,
            f.fits,
            f.reasons_text()
        ));
    }
    for method in &summary.methods {
        let some: Vec<&&FitCounts> = failing
            .iter()
            .filter(|f| &f.method == method && !f.all_failed())
            .collect();
        let Some(worst) = some.iter().max_by_key(|f| f.failed) else {
            continue;
        };
        let failed: u64 = some.iter().map(|f| f.failed).sum();
        let fits: u64 = some.iter().map(|f| f.fits).sum();
        out.push_str(&format!(
            "  {method}: {failed} of {fits} fits in {} condition{}; most in {}: {}\n",
            some.len(),
            if some.len() == 1 { "" } else { "s" },
            label(summary, worst.condition),
            worst.reasons_text()
        ));
    }
    out
}

/// For `summary.md`: every (condition, method) with a failed fit, its convergence rate and reasons.
pub(super) fn markdown(summary: &Summary) -> String {
    let failing: Vec<&FitCounts> = summary.fits.iter().filter(|f| f.failed > 0).collect();
    if failing.is_empty() {
        return String::new();
    }
    let escape = |s: &str| s.replace('|', "\\|");
    let mut out = String::from(
        "\n## Fits that could not be used\n\n\
         | condition | method | fits | failed | convergence % | most common reasons |\n\
         | :--- | :--- | ---: | ---: | ---: | :--- |\n",
    );
    for f in failing {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            escape(&label(summary, f.condition)),
            escape(&f.method),
            f.fits,
            f.failed,
            format_value(f.convergence()),
            escape(&f.reasons_text())
        ));
    }
    out
}

/// For JSON: every (condition, method) with its fits, failures, convergence rate and reasons.
pub(super) fn json(summary: &Summary) -> serde_json::Value {
    let fits: Vec<serde_json::Value> = summary
        .fits
        .iter()
        .map(|f| {
            let convergence = f.convergence();
            serde_json::json!({
                "condition": f.condition,
                "method": f.method,
                "fits": f.fits,
                "failed": f.failed,
                "all_failed": f.all_failed(),
                "convergence": { "estimate": convergence.estimate(), "mcse": convergence.mcse() },
                "reasons": f.reasons,
            })
        })
        .collect();
    serde_json::Value::Array(fits)
}
