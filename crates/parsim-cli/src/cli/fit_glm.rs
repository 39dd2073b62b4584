//! `parsim fit ... --family binomial|poisson [--link ...] [--nagq N] [--cluster COL]`: a GLM (no
//! random-effects terms) printed as R's `summary.glm`, or a GLMM printed as glmer's summary; or JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use parsim_lmm::{
    p_text, random_effects, Contrast, DataFrame, Distribution, Family, Formula, GlmFit, GlmFitter,
    GlmOptions, GlmStatus, GlmmFit, GlmmFitter, GlmmOptions, Link,
};
use serde_json::{json, Value};

use super::fit::{finite_or_null, Format};
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
            Format::Text => glmm_text(formula, origin, family, fit, dropped),
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
            Format::Text => glm_text(formula, origin, family, fit, dropped),
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

/// One row of a z table: term, estimate, se, z, p.
type Row<'a> = (&'a str, f64, f64, f64, f64);

fn fixef_json(rows: &[Row]) -> Value {
    Value::Array(
        rows.iter()
            .map(|&(term, estimate, se, z, p)| {
                json!({"term": term, "estimate": finite_or_null(estimate), "se": finite_or_null(se),
                       "z": finite_or_null(z), "p": finite_or_null(p)})
            })
            .collect(),
    )
}

fn glm_rows(fit: &GlmFit) -> Vec<Row<'_>> {
    fit.coefficients
        .iter()
        .map(|c| (c.term.as_str(), c.estimate, c.se, c.z, c.p_value))
        .collect()
}

fn glmm_rows(fit: &GlmmFit) -> Vec<Row<'_>> {
    fit.coefficients
        .iter()
        .map(|c| (c.term.as_str(), c.estimate, c.se, c.z, c.p_value))
        .collect()
}

fn status_word(status: GlmStatus) -> &'static str {
    match status {
        GlmStatus::Converged => "converged",
        GlmStatus::NotConverged => "not_converged",
        GlmStatus::Separation => "separation",
    }
}

fn glm_json(fit: &GlmFit, dropped: usize) -> Value {
    json!({
        "fixef": fixef_json(&glm_rows(fit)),
        "loglik": fit.loglik,
        "deviance": fit.deviance,
        "null_deviance": fit.null_deviance,
        "aic": fit.aic,
        "bic": fit.bic,
        "nobs": fit.nobs,
        "df_residual": fit.df_residual,
        "iterations": fit.iterations,
        "status": status_word(fit.status),
        "converged": fit.status == GlmStatus::Converged,
        "clusters": fit.nclusters,
        "dropped_rows": dropped,
    })
}

fn glmm_json(fit: &GlmmFit, dropped: usize) -> Value {
    let varcorr: Vec<Value> = fit
        .varcorr
        .iter()
        .map(|v| {
            json!({"group": v.group, "term1": v.term1, "term2": v.term2,
                   "variance": v.variance, "sd_or_cor": finite_or_null(v.sd_or_cor)})
        })
        .collect();
    let ngroups: serde_json::Map<String, Value> = fit
        .ngroups
        .iter()
        .map(|(g, n)| (g.clone(), json!(n)))
        .collect();
    json!({
        "fixef": fixef_json(&glmm_rows(fit)),
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

/// The coefficient table of R's `summary.glm` and glmer's summary.
fn z_table(out: &mut String, rows: &[Row]) {
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(11);
    let _ = writeln!(
        out,
        "{:width$} {:>12} {:>11} {:>9} {:>9}",
        "", "Estimate", "Std. Error", "z value", "Pr(>|z|)"
    );
    for &(term, estimate, se, z, p) in rows {
        if estimate.is_nan() {
            let _ = writeln!(
                out,
                "{term:width$} {:>12} {:>11} {:>9} {:>9}",
                "NA", "NA", "NA", "NA"
            );
            continue;
        }
        let _ = writeln!(
            out,
            "{term:width$} {estimate:>12.6} {se:>11.6} {z:>9.3} {:>9}",
            p_text(p)
        );
    }
}

fn header(out: &mut String, formula: &Formula, origin: &str, dropped: usize) {
    let _ = writeln!(out, "Formula: {formula}");
    let _ = writeln!(out, "   Data: {origin}");
    if dropped > 0 {
        let _ = writeln!(out, "         ({dropped} rows with missing values dropped)");
    }
}

fn glm_text(
    formula: &Formula,
    origin: &str,
    family: Family,
    fit: &GlmFit,
    dropped: usize,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Generalized linear model fit by IRLS: {} family, {} link",
        family.distribution, family.link
    );
    header(&mut out, formula, origin, dropped);
    match fit.nclusters {
        Some(g) => {
            let _ = writeln!(
                out,
                "\nCoefficients (cluster-robust CR1 standard errors, {g} clusters):"
            );
        }
        None => {
            let _ = writeln!(out, "\nCoefficients:");
        }
    }
    z_table(&mut out, &glm_rows(fit));
    let _ = writeln!(
        out,
        "\n(Dispersion parameter for {} family taken to be 1)\n",
        family.distribution
    );
    let _ = writeln!(
        out,
        "    Null deviance: {:.3}  on {}  degrees of freedom",
        fit.null_deviance, fit.df_null
    );
    let _ = writeln!(
        out,
        "Residual deviance: {:.3}  on {}  degrees of freedom",
        fit.deviance, fit.df_residual
    );
    let _ = writeln!(
        out,
        "AIC: {:.2}   BIC: {:.2}   logLik: {:.4}",
        fit.aic, fit.bic, fit.loglik
    );
    let _ = writeln!(
        out,
        "\nNumber of Fisher Scoring iterations: {}",
        fit.iterations
    );
    match fit.status {
        GlmStatus::Converged => {}
        GlmStatus::NotConverged => {
            let _ = writeln!(out, "warning: IRLS did not converge");
        }
        GlmStatus::Separation => {
            let _ = writeln!(
                out,
                "warning: separation: {} observation(s) are fitted at probability 0 or 1 (or mean 0) and their \
                 linear predictors run off; the maximum-likelihood estimate does not exist",
                fit.diverging
            );
        }
    }
    out
}

fn glmm_text(
    formula: &Formula,
    origin: &str,
    family: Family,
    fit: &GlmmFit,
    dropped: usize,
) -> String {
    let mut out = String::new();
    let approximation = match fit.nagq {
        0 => "nAGQ = 0".to_string(),
        1 => "Laplace Approximation".to_string(),
        k => format!("Adaptive Gauss-Hermite Quadrature, nAGQ = {k}"),
    };
    let _ = writeln!(
        out,
        "Generalized linear mixed model fit by maximum likelihood ({approximation})"
    );
    let _ = writeln!(out, " Family: {}  ( {} )", family.distribution, family.link);
    header(&mut out, formula, origin, dropped);
    let _ = writeln!(
        out,
        "\n{:>10} {:>10} {:>10} {:>10}",
        "AIC", "BIC", "logLik", "-2logLik"
    );
    let _ = writeln!(
        out,
        "{:>10.4} {:>10.4} {:>10.4} {:>10.4}",
        fit.aic, fit.bic, fit.loglik, fit.criterion
    );
    random_effects(&mut out, &fit.varcorr, &fit.ngroups, fit.nobs);
    let _ = writeln!(out, "\nFixed effects:");
    z_table(&mut out, &glmm_rows(fit));
    let _ = writeln!(out);
    if fit.singular {
        let _ = writeln!(
            out,
            "boundary (singular) fit: a variance component is (close to) zero"
        );
    }
    let status = if fit.converged {
        "converged"
    } else {
        "NOT converged"
    };
    let _ = writeln!(
        out,
        "optimizer: {status} after {} evaluations",
        fit.evaluations
    );
    for message in &fit.messages {
        let _ = writeln!(out, "note: {message}");
    }
    out
}
