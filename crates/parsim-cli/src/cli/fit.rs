//! `parsim fit DATA.csv --formula "..." [--ml] [--format text|json] [--factor NAME]...
//! [--weights COL] [--contrasts [NAME=]sum]... [--family F [--link L] [--nagq N] [--cluster COL]]`:
//! fit one model to a CSV file and print an lmer-style summary (or JSON). Formulas without
//! random-effects terms are fitted by OLS; with `--family` the model is a GLM or GLMM (`fit_glm`).
//! Rows with a missing value in a used column (or the weights) are dropped and counted, as lme4's
//! `na.omit` does.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use parsim_lmm::{
    Coefficient, Columns, Contrast, DataFrame, Formula, LmmFit, LmmFitter, LmmOptions, OlsFit,
    OlsFitter, OlsOptions, SummaryHeader,
};
use serde_json::{json, Value};

use super::fit_glm::{self, GlmRequest};
use super::fit_output::{finite_or_null, ngroups_json, varcorr_json, Format};
use super::{Failure, Outcome};

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
    /// Column of prior weights (lmer's and lm's `weights =`): observation i has residual variance
    /// σ²/wᵢ; weights must be positive.
    #[arg(long, value_name = "COL")]
    pub weights: Option<String>,
    /// Coding of categorical variables, as lme4's `contrasts = list(NAME = "contr.sum")`:
    /// NAME=sum (or NAME=contr.sum, NAME=treatment) for one variable (repeatable), or `sum` for
    /// all of the formula's categorical variables.
    #[arg(long = "contrasts", value_name = "[NAME=]CODING")]
    pub contrasts: Vec<String>,
}

/// The `--contrasts` arguments as a coding per categorical variable (`all`: the formula's
/// categorical variables in `data`, for an argument without a name).
fn contrasts(
    args: &[String],
    all: impl FnOnce() -> Result<Vec<String>, String>,
) -> Result<BTreeMap<String, Contrast>, String> {
    let mut out = BTreeMap::new();
    let mut all = Some(all);
    for arg in args {
        let (name, coding) = match arg.rsplit_once('=') {
            Some((name, coding)) => (Some(name.trim()), coding.trim()),
            None => (None, arg.trim()),
        };
        let Some(contrast) = Contrast::from_r_name(coding) else {
            return Err(format!(
                "error: --contrasts {arg}: the coding must be sum or treatment (contr.sum, contr.treatment), got '{coding}'"
            ));
        };
        match name {
            Some(name) => {
                out.insert(name.to_string(), contrast);
            }
            None => {
                if let Some(all) = all.take() {
                    for name in all()? {
                        out.entry(name).or_insert(contrast);
                    }
                }
            }
        }
    }
    Ok(out)
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
    used.extend(args.weights.iter().cloned());
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
    let header = SummaryHeader {
        formula: &formula,
        data: &origin,
        weights: args.weights.as_deref(),
        dropped_rows: dropped,
    };
    let context = |e: parsim_lmm::FitError| Failure::invalid(format!("{origin}: {e}"));
    let contrasts = contrasts(&args.contrasts, || {
        formula
            .categorical_variables(&data)
            .map_err(|e| format!("{origin}: {e}"))
    })
    .map_err(Failure::invalid)?;
    let output = if let Some(family) = args.family.as_deref() {
        let request = GlmRequest {
            family,
            link: args.link.as_deref(),
            nagq: args.nagq,
            cluster: args.cluster.as_deref(),
            weights: args.weights.as_deref(),
            contrasts: contrasts.clone(),
            format: args.format,
        };
        fit_glm::fit(&request, &formula, &data, &origin, dropped)?
    } else if formula.has_random_terms() {
        let options = LmmOptions {
            reml: !args.ml,
            weights: args.weights.clone(),
            contrasts,
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
        let options = OlsOptions {
            weights: args.weights.clone(),
            contrasts,
            ..OlsOptions::default()
        };
        let mut fitter =
            OlsFitter::new(&formula, options).map_err(|e| Failure::invalid(e.to_string()))?;
        let fit = fitter.fit(&data).map_err(context)?;
        match args.format {
            Format::Text => fit.summary(&header),
            Format::Json => ols_json(fit, dropped),
        }
    };
    print!("{output}");
    Ok(ExitCode::SUCCESS)
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
    let (varcorr, ngroups) = (varcorr_json(&fit.varcorr), ngroups_json(&fit.ngroups));
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
