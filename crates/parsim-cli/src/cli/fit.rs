//! `parsim fit DATA.csv --formula "..." [--ml] [--format text|json] [--factor NAME]...`: fit one
//! model to a CSV file and print an lmer-style summary (or JSON). Formulas without random-effects
//! terms are fitted by OLS. Rows with a missing value in a used column are dropped and counted, as
//! lme4's `na.omit` does.

use std::path::PathBuf;
use std::process::ExitCode;

use parsim_lmm::{
    Coefficient, Columns, DataFrame, Formula, LmmFit, LmmFitter, LmmOptions, OlsFit, OlsFitter,
    OlsOptions, SummaryHeader,
};
use serde_json::{json, Value};

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
}

/// Run `parsim fit`.
pub fn execute(args: Args) -> Outcome {
    let formula = Formula::parse(&args.formula)
        .map_err(|e| Failure::invalid(format!("error: {}", e.located(&args.formula))))?;
    let origin = args.data.display().to_string();
    let data = DataFrame::read_csv_with_factors(&args.data, &args.factors)
        .map_err(|e| Failure::invalid(e.to_string()))?;
    let names = data.column_names();
    for name in formula.variables().iter().chain(&args.factors) {
        if !data.has_column(name) {
            let hint = parsim_lmm::unknown_column_note(name, names.clone());
            return Err(Failure::invalid(format!(
                "{origin}: no column '{name}'{hint}; the columns are: {}",
                names.join(", ")
            )));
        }
    }
    let (data, dropped) = data.complete_cases(&formula.variables());
    if data.nrows() == 0 {
        return Err(Failure::invalid(format!(
            "{origin}: no rows without missing values in the columns the formula uses"
        )));
    }
    let header = SummaryHeader {
        formula: &formula,
        data: &origin,
        dropped_rows: dropped,
    };
    let context = |e: parsim_lmm::FitError| Failure::invalid(format!("{origin}: {e}"));
    let output = if formula.has_random_terms() {
        let options = LmmOptions {
            reml: !args.ml,
            ..LmmOptions::default()
        };
        let mut fitter =
            LmmFitter::new(&formula, options).map_err(|e| Failure::invalid(e.to_string()))?;
        let fit = fitter.fit(&data).map_err(context)?;
        match args.format {
            Format::Text => fit.summary(&header),
            Format::Json => lmm_json(fit, dropped),
        }
    } else {
        let mut fitter = OlsFitter::new(&formula, OlsOptions::default())
            .map_err(|e| Failure::invalid(e.to_string()))?;
        let fit = fitter.fit(&data).map_err(context)?;
        match args.format {
            Format::Text => fit.summary(&header),
            Format::Json => ols_json(fit, dropped),
        }
    };
    print!("{output}");
    Ok(ExitCode::SUCCESS)
}

fn finite_or_null(x: f64) -> Value {
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
