//! What `parsim fit`'s outputs share: the format, and the JSON of the pieces every model has.

use parsim_lmm::VarComp;
use serde_json::{json, Value};

/// Output format of `parsim fit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// lmer-style summary.
    Text,
    /// One JSON object.
    Json,
}

/// A number, or null where JSON has none (NaN, ±∞).
pub fn finite_or_null(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

/// lme4's `VarCorr` as a list of {group, term1, term2, variance, sd_or_cor}.
pub fn varcorr_json(varcorr: &[VarComp]) -> Vec<Value> {
    varcorr
        .iter()
        .map(|v| {
            json!({"group": v.group, "term1": v.term1, "term2": v.term2,
                   "variance": v.variance, "sd_or_cor": finite_or_null(v.sd_or_cor)})
        })
        .collect()
}

/// Levels per grouping factor, as {factor: count}.
pub fn ngroups_json(ngroups: &[(String, usize)]) -> serde_json::Map<String, Value> {
    ngroups.iter().map(|(g, n)| (g.clone(), json!(n))).collect()
}
