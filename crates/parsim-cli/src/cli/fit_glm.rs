//! `parsim fit ... --family binomial|poisson [--link ...] [--nagq N] [--cluster COL]`: a GLM (no
//! random-effects terms) printed as R's `summary.glm`, or a GLMM printed as glmer's summary; or JSON.

use std::collections::BTreeMap;

use parsim_lmm::{
    Contrast, DataFrame, Distribution, Family, Formula, GlmCoefficient, GlmFit, GlmFitter,
    GlmOptions, GlmStatus, GlmmFit, GlmmFitter, GlmmOptions, Link, SummaryHeader,
};
use serde_json::{json, Value};

use super::fit_output::{finite_or_null, ngroups_json, varcorr_json, Format};
use super::Failure;

/// What `parsim fit` was asked for beyond a linear model.
pub struct GlmRequest<'a> {
    pub family: &'a str,
    pub link: Option<&'a str>,
    pub nagq: Option<usize>,
    pub cluster: Option<&'a str>,
    /// Prior weights (`--weights`): binomial trials of a proportion response, as glm's `weights =`.
    pub weights: Option<&'a str>,
    /// `--contrasts`, per categorical variable.
    pub contrasts: BTreeMap<String, Contrast>,
    pub format: Format,
}

/// The family of `--family` and `--link`, or the message for a bad one.
fn family(request: &GlmRequest) -> Result<Family, Failure> {
    let bad = |e: parsim_lmm::FamilyError| Failure::invalid(format!("error: {e}"));
    let distribution: Distribution = request.family.parse().map_err(bad)?;
    let link = request
        .link
        .map(|l| l.parse::<Link>())
        .transpose()
        .map_err(bad)?;
    Family::new(distribution, link).map_err(bad)
}

/// Fits and renders a GLM or GLMM.
pub fn fit(
    request: &GlmRequest,
    formula: &Formula,
    data: &DataFrame,
    origin: &str,
    dropped: usize,
) -> Result<String, Failure> {
    let family = family(request)?;
    let header = SummaryHeader {
        formula,
        data: origin,
        weights: request.weights,
        dropped_rows: dropped,
    };
    let context = |e: parsim_lmm::FitError| Failure::invalid(format!("{origin}: {e}"));
    let model = |e: parsim_lmm::ModelError| Failure::invalid(format!("error: {e}"));
    if formula.has_random_terms() {
        if request.cluster.is_some() {
            return Err(Failure::invalid(
                "error: --cluster is for GLMs (no random-effects terms); a GLMM models the clusters".to_string(),
            ));
        }
        let options = GlmmOptions {
            family,
            nagq: request.nagq.unwrap_or(1),
            weights: request.weights.map(str::to_string),
            contrasts: request.contrasts.clone(),
            ..GlmmOptions::default()
        };
        let mut fitter = GlmmFitter::new(formula, options).map_err(model)?;
        let fit = fitter.fit(data).map_err(context)?;
        Ok(match request.format {
            Format::Text => fit.summary(&header, family),
            Format::Json => pretty(glmm_json(fit, dropped)),
        })
    } else {
        if request.nagq.is_some() {
            return Err(Failure::invalid(
                "error: --nagq is for GLMMs: the formula has no random-effects term such as (1 | g)"
                    .to_string(),
            ));
        }
        let options = GlmOptions {
            family,
            cluster: request.cluster.map(str::to_string),
            weights: request.weights.map(str::to_string),
            contrasts: request.contrasts.clone(),
            ..GlmOptions::default()
        };
        let mut fitter = GlmFitter::new(formula, options).map_err(model)?;
        let fit = fitter.fit(data).map_err(context)?;
        Ok(match request.format {
            Format::Text => fit.summary(&header, family),
            Format::Json => pretty(glm_json(fit, dropped)),
        })
    }
}

fn pretty(value: Value) -> String {
    format!(
        "{}\n",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    )
}

fn fixef_json(coefficients: &[GlmCoefficient]) -> Value {
    Value::Array(
        coefficients
            .iter()
            .map(|c| {
                json!({"term": c.term, "estimate": finite_or_null(c.estimate), "se": finite_or_null(c.se),
                       "z": finite_or_null(c.z), "p": finite_or_null(c.p_value)})
            })
            .collect(),
    )
}

fn glm_json(fit: &GlmFit, dropped: usize) -> Value {
    json!({
        "fixef": fixef_json(&fit.coefficients),
        "loglik": fit.loglik,
        "deviance": fit.deviance,
        "null_deviance": fit.null_deviance,
        "aic": fit.aic,
        "bic": fit.bic,
        "nobs": fit.nobs,
        "df_residual": fit.df_residual,
        "iterations": fit.iterations,
        "status": fit.status.name(),
        "converged": fit.status == GlmStatus::Converged,
        "clusters": fit.nclusters,
        "dropped_rows": dropped,
    })
}

fn glmm_json(fit: &GlmmFit, dropped: usize) -> Value {
    let (varcorr, ngroups) = (varcorr_json(&fit.varcorr), ngroups_json(&fit.ngroups));
    json!({
        "fixef": fixef_json(&fit.coefficients),
        "loglik": fit.loglik,
        "deviance": fit.deviance,
        "minus2loglik": fit.criterion,
        "aic": fit.aic,
        "bic": fit.bic,
        "nobs": fit.nobs,
        "nagq": fit.nagq,
        "theta": fit.theta,
        "varcorr": varcorr,
        "ngroups": ngroups,
        "converged": fit.converged,
        "singular": fit.singular,
        "evaluations": fit.evaluations,
        "messages": fit.messages,
        "dropped_rows": dropped,
    })
}
