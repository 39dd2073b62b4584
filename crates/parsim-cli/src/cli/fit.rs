//! `parsim fit DATA.csv --formula "..." [--ml] [--format text|json] [--factor NAME]...`: fit one
//! model to a CSV file and print an lmer-style summary (or JSON). Formulas without random-effects
//! terms are fitted by OLS. With `--family` the model is a GLM or GLMM (`fit_glm`). Rows with a missing value in a used column are dropped and counted, as
//! lme4's `na.omit` does.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use parsim_lmm::{
    Coefficient, Columns, DataFrame, Formula, LmmFit, LmmFitter, LmmOptions, OlsFit, OlsFitter,
    OlsOptions, VarComp,
};
use serde_json::{json, Value};

use super::fit_glm::{self, GlmRequest};
use super::{Failure, Outcome};

/// Output format of `parsim fit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// lmer-style summary.
    Text,
    /// One JSON object.
    Json,
}

/// Arguments of `parsim fit`.
#[derive(clap::Args)]
pub struct Args {
    /// CSV data file with a header line (`NA` or an empty field is missing).
    pub data: PathBuf,
    /// Model formula in lme4 syntax, e.g. "y ~ x + (1 | g)"; without random terms it is fitted by OLS.
    #[arg(long)]
    pub formula: String,
    /// Maximum likelihood instead of REML.
    #[arg(long)]
    pub ml: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Treat the numeric column NAME as categorical (repeatable).
    #[arg(long = "factor", value_name = "NAME")]
    pub factors: Vec<String>,
    /// A generalised linear (mixed) model of this family: binomial or poisson.
    #[arg(long)]
    pub family: Option<String>,
    /// The link (with --family): logit, probit, cloglog (binomial) or log (poisson); the family's
    /// canonical link by default.
    #[arg(long, requires = "family")]
    pub link: Option<String>,
    /// Quadrature points of a GLMM (with --family): 0 (fast), 1 (Laplace, the default) or up to
    /// 25 (adaptive Gauss-Hermite, one scalar random effect).
    #[arg(long, requires = "family")]
    pub nagq: Option<usize>,
    /// Cluster-robust CR1 standard errors by this column (a GLM, with --family).
    #[arg(long, requires = "family")]
    pub cluster: Option<String>,
}

/// Run `parsim fit`.
pub fn execute(args: Args) -> Outcome {
    let formula = Formula::parse(&args.formula).map_err(|e| {
        Failure::invalid(format!(
            "error: invalid formula: {}\n  {}",
            e.message,
            e.caret(&args.formula).replace('\n', "\n  ")
        ))
    })?;
    let origin = args.data.display().to_string();
    let data = DataFrame::read_csv_with_factors(&args.data, &args.factors)
        .map_err(|e| Failure::invalid(e.to_string()))?;
    let names = data.column_names();
    let mut used = formula.variables();
    used.extend(args.cluster.iter().cloned());
    for name in used.iter().chain(&args.factors) {
        if !data.has_column(name) {
            let hint = parsim_lmm::unknown_column_note(name, names.clone());
            return Err(Failure::invalid(format!(
                "{origin}: no column '{name}'{hint}; the columns are: {}",
                names.join(", ")
            )));
        }
    }
    let (data, dropped) = data.complete_cases(&used);
    if data.nrows() == 0 {
        return Err(Failure::invalid(format!(
            "{origin}: no rows without missing values in the columns the formula uses"
        )));
    }
    let context = |e: parsim_lmm::FitError| Failure::invalid(format!("{origin}: {e}"));
    let output = if let Some(family) = args.family.as_deref() {
        let request = GlmRequest {
            family,
            link: args.link.as_deref(),
            nagq: args.nagq,
            cluster: args.cluster.as_deref(),
            format: args.format,
        };
        fit_glm::fit(&request, &formula, &data, &origin, dropped)?
    } else if formula.has_random_terms() {
        let options = LmmOptions {
            reml: !args.ml,
            ..LmmOptions::default()
        };
        let mut fitter =
            LmmFitter::new(&formula, options).map_err(|e| Failure::invalid(e.to_string()))?;
        let fit = fitter.fit(&data).map_err(context)?;
        match args.format {
            Format::Text => lmm_text(&formula, &origin, fit, dropped),
            Format::Json => lmm_json(fit, dropped),
        }
    } else {
        let mut fitter = OlsFitter::new(&formula, OlsOptions::default())
            .map_err(|e| Failure::invalid(e.to_string()))?;
        let fit = fitter.fit(&data).map_err(context)?;
        match args.format {
            Format::Text => ols_text(&formula, &origin, fit, dropped),
            Format::Json => ols_json(fit, dropped),
        }
    };
    print!("{output}");
    Ok(ExitCode::SUCCESS)
}

pub(super) fn finite_or_null(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

fn fixef_json(coefficients: &[Coefficient]) -> Value {
    Value::Array(
        coefficients
            .iter()
            .map(|c| {
                json!({"term": c.term, "estimate": c.estimate, "se": c.se, "df": finite_or_null(c.df),
                       "t": c.t, "p": finite_or_null(c.p_value)})
            })
            .collect(),
    )
}

fn lmm_json(fit: &LmmFit, dropped: usize) -> String {
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
    let mut out = json!({
        "fixef": fixef_json(&fit.coefficients),
        "sigma": fit.sigma,
        "theta": fit.theta,
        "varcorr": varcorr,
        "loglik": fit.loglik,
        "aic": fit.aic,
        "bic": fit.bic,
        "nobs": fit.nobs,
        "ngroups": ngroups,
        "converged": fit.converged,
        "singular": fit.singular,
        "evaluations": fit.evaluations,
        "dropped_rows": dropped,
        "messages": fit.messages,
    });
    let key = if fit.reml {
        "reml_criterion"
    } else {
        "deviance"
    };
    out[key] = json!(fit.criterion);
    format!(
        "{}\n",
        serde_json::to_string_pretty(&out).unwrap_or_default()
    )
}

fn ols_json(fit: &OlsFit, dropped: usize) -> String {
    let out = json!({
        "fixef": fixef_json(&fit.coefficients),
        "sigma": fit.sigma,
        "nobs": fit.nobs,
        "df_residual": fit.df_residual,
        "r_squared": fit.r_squared,
        "dropped_rows": dropped,
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&out).unwrap_or_default()
    )
}

/// A p-value as R prints it: `< 2e-16` below that, else 3 significant digits.
pub(super) fn p_text(p: f64) -> String {
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
pub(super) fn random_effects(
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

fn lmm_text(formula: &Formula, origin: &str, fit: &LmmFit, dropped: usize) -> String {
    let mut out = String::new();
    let method = if fit.reml {
        "REML"
    } else {
        "maximum likelihood"
    };
    let _ = writeln!(out, "Linear mixed model fit by {method}");
    let _ = writeln!(out, "Formula: {formula}");
    let _ = writeln!(out, "   Data: {origin}");
    if dropped > 0 {
        let _ = writeln!(out, "         ({dropped} rows with missing values dropped)");
    }
    let _ = writeln!(out);
    if fit.reml {
        let _ = writeln!(out, "REML criterion at convergence: {:.4}", fit.criterion);
    } else {
        let _ = writeln!(
            out,
            "{:>10} {:>10} {:>10} {:>10}",
            "AIC", "BIC", "logLik", "deviance"
        );
        let _ = writeln!(
            out,
            "{:>10.4} {:>10.4} {:>10.4} {:>10.4}",
            fit.aic, fit.bic, fit.loglik, fit.criterion
        );
    }
    random_effects(&mut out, &fit.varcorr, &fit.ngroups, fit.nobs);
    let _ = writeln!(out, "\nFixed effects (Satterthwaite df):");
    coefficient_table(&mut out, &fit.coefficients, true);
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
        "optimizer: {status} after {} evaluations (max |scaled gradient| {:.1e})",
        fit.evaluations, fit.max_scaled_gradient
    );
    for message in &fit.messages {
        let _ = writeln!(out, "note: {message}");
    }
    out
}

fn ols_text(formula: &Formula, origin: &str, fit: &OlsFit, dropped: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Linear model fit by least squares (no random-effects terms)"
    );
    let _ = writeln!(out, "Formula: {formula}");
    let _ = writeln!(out, "   Data: {origin}");
    if dropped > 0 {
        let _ = writeln!(out, "         ({dropped} rows with missing values dropped)");
    }
    let _ = writeln!(out, "\nCoefficients:");
    coefficient_table(&mut out, &fit.coefficients, false);
    let _ = writeln!(
        out,
        "\nResidual standard error: {:.4} on {} degrees of freedom\nMultiple R-squared: {:.4}; observations: {}",
        fit.sigma, fit.df_residual, fit.r_squared, fit.nobs
    );
    out
}
