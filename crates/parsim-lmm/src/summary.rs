//! Text summaries of fitted models, as lme4's `summary(lmer(...))` and R's `summary(lm(...))` lay them
//! out (and R's `summary.glm`, glmer's summary): what `parsim fit` prints and what the Python package's `print(model)` shows.

use std::fmt::Write as _;

use crate::{Coefficient, Family, Formula, GlmFit, GlmStatus, GlmmFit, LmmFit, OlsFit, VarComp};

/// What a summary says about the model and its data beyond the fit itself.
#[derive(Clone, Copy, Debug)]
pub struct SummaryHeader<'a> {
    /// The model's formula.
    pub formula: &'a Formula,
    /// Where the data came from (a file name, or a description).
    pub data: &'a str,
    /// The column of prior weights, if any.
    pub weights: Option<&'a str>,
    /// Rows dropped for missing values before fitting.
    pub dropped_rows: usize,
}

/// The `Data:` line, the weights and the rows dropped, as lmer's and lm's summaries print them.
fn data_lines(out: &mut String, origin: &str, weights: Option<&str>, dropped: usize) {
    let _ = writeln!(out, "   Data: {origin}");
    if let Some(w) = weights {
        let _ = writeln!(out, "Weights: {w}");
    }
    if dropped > 0 {
        let _ = writeln!(out, "         ({dropped} rows with missing values dropped)");
    }
}

/// A p-value as R prints it: `< 2e-16` below that, else 3 significant digits.
pub fn p_text(p: f64) -> String {
    if p.is_nan() {
        "NA".into()
    } else if p < 2e-16 {
        "< 2e-16".into()
    } else if p < 1e-3 {
        format!("{p:.2e}")
    } else {
        format!("{p:.4}")
    }
}

fn coefficient_table(out: &mut String, coefficients: &[Coefficient], with_df: bool) {
    let width = coefficients
        .iter()
        .map(|c| c.term.len())
        .max()
        .unwrap_or(0)
        .max(11);
    let df_head = if with_df {
        format!(" {:>9}", "df")
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{:width$} {:>12} {:>11}{df_head} {:>9} {:>9}",
        "", "Estimate", "Std. Error", "t value", "Pr(>|t|)"
    );
    for c in coefficients {
        let df = if with_df {
            format!(" {:>9.3}", c.df)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{:width$} {:>12.6} {:>11.6}{df} {:>9.3} {:>9}",
            c.term,
            c.estimate,
            c.se,
            c.t,
            p_text(c.p_value)
        );
    }
}

/// The random-effects table of lmer's and glmer's summaries, and the numbers of observations and
/// groups.
pub fn random_effects(
    out: &mut String,
    varcorr: &[VarComp],
    ngroups: &[(String, usize)],
    nobs: usize,
) {
    let _ = writeln!(out, "\nRandom effects:");
    let gw = varcorr
        .iter()
        .map(|v| v.group.len())
        .max()
        .unwrap_or(6)
        .max(8);
    let nw = varcorr
        .iter()
        .filter_map(|v| v.term1.as_ref().map(String::len))
        .max()
        .unwrap_or(4)
        .max(11);
    let _ = writeln!(
        out,
        " {:gw$} {:nw$} {:>12} {:>10} Corr",
        "Groups", "Name", "Variance", "Std.Dev."
    );
    let mut last_group = "";
    for v in varcorr.iter().filter(|v| v.term2.is_none()) {
        let group = if v.group == last_group {
            ""
        } else {
            v.group.as_str()
        };
        last_group = &v.group;
        let name = v.term1.as_deref().unwrap_or("");
        // Correlations of this term with the earlier terms of its group.
        let cors: Vec<String> = varcorr
            .iter()
            .filter(|c| c.group == v.group && c.term2.as_deref() == Some(name))
            .map(|c| format!("{:>5.2}", c.sd_or_cor))
            .collect();
        let _ = writeln!(
            out,
            " {group:gw$} {name:nw$} {:>12.4} {:>10.4} {}",
            v.variance,
            v.sd_or_cor,
            cors.join(" ")
        );
    }
    let groups: Vec<String> = ngroups.iter().map(|(g, n)| format!("{g}, {n}")).collect();
    let _ = writeln!(
        out,
        "Number of obs: {}, groups:  {}",
        nobs,
        groups.join("; ")
    );
}

/// The criteria line of lmer's (ML) and glmer's summaries: AIC, BIC, logLik and `last`.
fn criteria(out: &mut String, aic: f64, bic: f64, loglik: f64, last: (&str, f64)) {
    let _ = writeln!(
        out,
        "{:>10} {:>10} {:>10} {:>10}",
        "AIC", "BIC", "logLik", last.0
    );
    let _ = writeln!(
        out,
        "{aic:>10.4} {bic:>10.4} {loglik:>10.4} {:>10.4}",
        last.1
    );
}

/// A mixed model's last lines: a singular fit, the optimizer's end (converged, evaluations, a
/// detail) and the fit's notes.
fn footer(out: &mut String, singular: bool, optimizer: (bool, usize, &str), messages: &[String]) {
    if singular {
        let _ = writeln!(
            out,
            "boundary (singular) fit: a variance component is (close to) zero"
        );
    }
    let (converged, evaluations, detail) = optimizer;
    let status = if converged {
        "converged"
    } else {
        "NOT converged"
    };
    let _ = writeln!(
        out,
        "optimizer: {status} after {evaluations} evaluations{detail}"
    );
    for message in messages {
        let _ = writeln!(out, "note: {message}");
    }
}

impl LmmFit {
    /// The lmer-style summary (what `parsim fit` prints): the criterion, the random effects, the fixed
    /// effects with Satterthwaite df, and the optimizer's report.
    pub fn summary(&self, header: &SummaryHeader<'_>) -> String {
        let (fit, formula, origin, dropped) =
            (self, header.formula, header.data, header.dropped_rows);
        let mut out = String::new();
        let method = if fit.reml {
            "REML"
        } else {
            "maximum likelihood"
        };
        let _ = writeln!(out, "Linear mixed model fit by {method}");
        let _ = writeln!(out, "Formula: {formula}");
        data_lines(&mut out, origin, header.weights, dropped);
        let _ = writeln!(out);
        if fit.reml {
            let _ = writeln!(out, "REML criterion at convergence: {:.4}", fit.criterion);
        } else {
            criteria(
                &mut out,
                fit.aic,
                fit.bic,
                fit.loglik,
                ("deviance", fit.criterion),
            );
        }
        random_effects(&mut out, &fit.varcorr, &fit.ngroups, fit.nobs);
        let _ = writeln!(out, "\nFixed effects (Satterthwaite df):");
        coefficient_table(&mut out, &fit.coefficients, true);
        let _ = writeln!(out);
        let gradient = format!(" (max |scaled gradient| {:.1e})", fit.max_scaled_gradient);
        let optimizer = (fit.converged, fit.evaluations, gradient.as_str());
        footer(&mut out, fit.singular, optimizer, &fit.messages);
        out
    }
}

impl OlsFit {
    /// The lm-style summary (what `parsim fit` prints for a formula without random-effects terms).
    pub fn summary(&self, header: &SummaryHeader<'_>) -> String {
        let (fit, formula, origin, dropped) =
            (self, header.formula, header.data, header.dropped_rows);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Linear model fit by least squares (no random-effects terms)"
        );
        let _ = writeln!(out, "Formula: {formula}");
        data_lines(&mut out, origin, header.weights, dropped);
        let _ = writeln!(out, "\nCoefficients:");
        coefficient_table(&mut out, &fit.coefficients, false);
        let _ = writeln!(
        out,
        "\nResidual standard error: {:.4} on {} degrees of freedom\nMultiple R-squared: {:.4}; observations: {}",
        fit.sigma, fit.df_residual, fit.r_squared, fit.nobs
    );
        if let Some(clusters) = fit.nclusters {
            let _ = writeln!(
                out,
                "Standard errors: cluster-robust (CR1) over {clusters} clusters"
            );
        }
        out
    }
}

/// One row of a z table: term, estimate, se, z, p.
type ZRow<'a> = (&'a str, f64, f64, f64, f64);

/// The coefficient table of R's `summary.glm` and glmer's summary (aliased terms `NA`).
fn z_table<'a>(out: &mut String, rows: impl Iterator<Item = ZRow<'a>> + Clone) {
    let width = rows.clone().map(|r| r.0.len()).max().unwrap_or(0).max(11);
    let _ = writeln!(
        out,
        "{:width$} {:>12} {:>11} {:>9} {:>9}",
        "", "Estimate", "Std. Error", "z value", "Pr(>|z|)"
    );
    for (term, estimate, se, z, p) in rows {
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

fn glm_coefficient_rows(
    coefficients: &[crate::GlmCoefficient],
) -> impl Iterator<Item = ZRow<'_>> + Clone {
    coefficients
        .iter()
        .map(|c| (c.term.as_str(), c.estimate, c.se, c.z, c.p_value))
}

impl GlmFit {
    /// R's `summary.glm` (what `parsim fit --family` prints for a formula without random-effects
    /// terms): the coefficients with z tests, the deviances, AIC, BIC and the IRLS status.
    pub fn summary(&self, header: &SummaryHeader<'_>, family: Family) -> String {
        let fit = self;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Generalized linear model fit by IRLS: {} family, {} link",
            family.distribution, family.link
        );
        let _ = writeln!(out, "Formula: {}", header.formula);
        data_lines(&mut out, header.data, header.weights, header.dropped_rows);
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
        z_table(&mut out, glm_coefficient_rows(&fit.coefficients));
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
}

impl GlmmFit {
    /// glmer's summary (what `parsim fit --family` prints for a formula with random-effects terms):
    /// the approximation, the criteria, the random effects, the fixed effects with z tests and the
    /// optimizer's report.
    pub fn summary(&self, header: &SummaryHeader<'_>, family: Family) -> String {
        let fit = self;
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
        let _ = writeln!(out, "Formula: {}", header.formula);
        data_lines(&mut out, header.data, header.weights, header.dropped_rows);
        let _ = writeln!(out);
        criteria(
            &mut out,
            fit.aic,
            fit.bic,
            fit.loglik,
            ("-2logLik", fit.criterion),
        );
        random_effects(&mut out, &fit.varcorr, &fit.ngroups, fit.nobs);
        let _ = writeln!(out, "\nFixed effects:");
        z_table(&mut out, glm_coefficient_rows(&fit.coefficients));
        let _ = writeln!(out);
        footer(
            &mut out,
            fit.singular,
            (fit.converged, fit.evaluations, ""),
            &fit.messages,
        );
        out
    }
}
