//! Ordinary least squares with the same formula language: classical standard errors with n − p
//! degrees of freedom, or cluster-robust CR1 standard errors with G − 1 degrees of freedom.

use crate::data::Columns;
use crate::dense::{backward_solve, cholesky_small, forward_solve, inverse_from_cholesky};
use crate::design::{self, Design, Encoded, LevelMap, VarTable};
use crate::error::{FitError, ModelError};
use crate::formula::Formula;
use crate::inference::t_inference;
use crate::lmm::{aliased_columns, Coefficient};

/// Options of an OLS fit.
#[derive(Clone, Debug, PartialEq)]
pub struct OlsOptions {
    /// Cluster column for CR1 cluster-robust standard errors (G − 1 df); None for classical ones.
    pub cluster: Option<String>,
    /// Confidence level of the intervals (0.95).
    pub ci_level: f64,
}

impl Default for OlsOptions {
    fn default() -> Self {
        OlsOptions {
            cluster: None,
            ci_level: 0.95,
        }
    }
}

/// A fitted OLS model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OlsFit {
    /// Coefficients with classical or CR1 inference.
    pub coefficients: Vec<Coefficient>,
    /// Residual standard deviation √(RSS/(n − p)).
    pub sigma: f64,
    /// Observations used.
    pub nobs: usize,
    /// Residual degrees of freedom n − p.
    pub df_residual: f64,
    /// R² (centred when the model has an intercept, as R's summary.lm).
    pub r_squared: f64,
    /// Number of clusters when CR1 standard errors were computed.
    pub nclusters: Option<usize>,
    /// Covariance matrix of the coefficients, p×p column-major.
    pub vcov: Vec<f64>,
}

/// A reusable OLS workspace.
pub struct OlsFitter {
    formula: Formula,
    options: OlsOptions,
    shape: Option<(VarTable, Design, Encoded)>,
    x: Vec<f64>,
    y: Vec<f64>,
    fit: OlsFit,
}

impl OlsFitter {
    /// A fitter for `formula`, which must not have random-effects terms.
    pub fn new(formula: &Formula, options: OlsOptions) -> Result<OlsFitter, ModelError> {
        if formula.has_random_terms() {
            return Err(ModelError::RandomTermsInOls);
        }
        Ok(OlsFitter {
            formula: formula.clone(),
            options,
            shape: None,
            x: Vec::new(),
            y: Vec::new(),
            fit: OlsFit::default(),
        })
    }

    /// Fits the model to `data`.
    pub fn fit(&mut self, data: &dyn Columns) -> Result<&OlsFit, FitError> {
        let n = data.nrows();
        if n == 0 {
            return Err(ModelError::NoRows.into());
        }
        let reusable = match self.shape.as_mut() {
            Some((vars, _, encoded)) => encoded.encode(vars, data)?,
            None => false,
        };
        if !reusable {
            let vars = VarTable::resolve(&self.formula, data)?;
            let design = Design::from_vars(&self.formula.fixed, &vars);
            let mut encoded = Encoded::default();
            encoded.encode(&vars, data)?;
            self.shape = Some((vars, design, encoded));
            self.fit.coefficients.clear();
        }
        let Some((vars, design, encoded)) = self.shape.as_ref() else {
            return Err(FitError::Numerical("no design".into()));
        };
        let p = design.width();
        if p >= n {
            return Err(FitError::TooFewObservations(format!(
                "{n} observations are too few for {p} coefficients"
            )));
        }
        self.x.resize(n * p, 0.0);
        let mut col = 0;
        if design.intercept {
            self.x[..n].fill(1.0);
            col = 1;
        }
        for c in &design.columns {
            design::fill_column(
                &c.parts,
                data,
                vars,
                encoded,
                &mut self.x[col * n..(col + 1) * n],
            );
            col += 1;
        }
        let response = design::column(data, &vars.names[0])?;
        self.y.clear();
        self.y
            .extend((0..n).map(|i| design::numeric_value(response, i)));
        for (var, kind) in vars.kinds.iter().enumerate() {
            if matches!(kind, design::Kind::Numeric) {
                design::check_finite(&vars.names[var], design::column(data, &vars.names[var])?)?;
            }
        }
        if self.y.iter().all(|&v| v == self.y[0]) {
            return Err(FitError::ConstantResponse(vars.names[0].clone()));
        }
        let names = design.names();
        let cluster = match &self.options.cluster {
            Some(name) => {
                let col = design::column(data, name)?;
                let levels = LevelMap::from_column(col);
                let mut codes = vec![0u32; n];
                let mut seen = vec![false; levels.len()];
                levels.encode(col, &mut codes, &mut seen);
                Some((codes, levels.len()))
            }
            None => None,
        };
        solve(
            &self.x,
            &self.y,
            n,
            p,
            design.intercept,
            &names,
            cluster,
            &self.options,
            &mut self.fit,
        )?;
        Ok(&self.fit)
    }
}

/// Least squares through the normal equations, then classical or CR1 inference.
#[allow(clippy::too_many_arguments)]
fn solve(
    x: &[f64],
    y: &[f64],
    n: usize,
    p: usize,
    intercept: bool,
    names: &[String],
    cluster: Option<(Vec<u32>, usize)>,
    options: &OlsOptions,
    fit: &mut OlsFit,
) -> Result<(), FitError> {
    let mut xtx = vec![0.0; p * p];
    let mut xty = vec![0.0; p];
    for j in 0..p {
        let xj = &x[j * n..(j + 1) * n];
        xty[j] = xj.iter().zip(y).map(|(a, b)| a * b).sum();
        for i in j..p {
            let v: f64 = xj
                .iter()
                .zip(&x[i * n..(i + 1) * n])
                .map(|(a, b)| a * b)
                .sum();
            xtx[j * p + i] = v;
            xtx[i * p + j] = v;
        }
    }
    let mut check = xtx.clone();
    let aliased = aliased_columns(&mut check, p);
    if !aliased.is_empty() {
        let list: Vec<&str> = aliased.iter().map(|&j| names[j].as_str()).collect();
        return Err(FitError::RankDeficient(format!(
            "column(s) {} are linear combinations of earlier columns; remove them from the formula",
            list.join(", ")
        )));
    }
    let mut l = xtx.clone();
    if !cholesky_small(&mut l, p) {
        return Err(FitError::RankDeficient(
            "X′X is not positive definite".into(),
        ));
    }
    let mut beta = xty.clone();
    forward_solve(&l, p, p, &mut beta);
    backward_solve(&l, p, p, &mut beta);
    let residuals: Vec<f64> = (0..n)
        .map(|i| y[i] - (0..p).map(|j| x[j * n + i] * beta[j]).sum::<f64>())
        .collect();
    let rss: f64 = residuals.iter().map(|e| e * e).sum();
    let df_residual = (n - p) as f64;
    let sigma2 = rss / df_residual;
    let mut inverse = vec![0.0; p * p];
    let mut column = vec![0.0; p];
    inverse_from_cholesky(&l, p, p, &mut inverse, &mut column);
    let (vcov, df, nclusters) = match cluster {
        None => (
            inverse.iter().map(|v| v * sigma2).collect::<Vec<_>>(),
            df_residual,
            None,
        ),
        Some((codes, g)) => {
            // Scores per cluster s_g = X_g′e_g; meat = Σ s_g s_g′; CR1 factor G/(G−1)·(n−1)/(n−p).
            let mut scores = vec![0.0; g * p];
            for i in 0..n {
                let c = codes[i] as usize;
                for j in 0..p {
                    scores[c * p + j] += x[j * n + i] * residuals[i];
                }
            }
            let mut meat = vec![0.0; p * p];
            for c in 0..g {
                let s = &scores[c * p..(c + 1) * p];
                for j in 0..p {
                    for i in 0..p {
                        meat[j * p + i] += s[i] * s[j];
                    }
                }
            }
            let factor = g as f64 / (g as f64 - 1.0) * (n as f64 - 1.0) / df_residual;
            let mut vcov = vec![0.0; p * p];
            for j in 0..p {
                for i in 0..p {
                    let mut v = 0.0;
                    for a in 0..p {
                        for b in 0..p {
                            v += inverse[a * p + i] * meat[b * p + a] * inverse[j * p + b];
                        }
                    }
                    vcov[j * p + i] = factor * v;
                }
            }
            (vcov, (g - 1) as f64, Some(g))
        }
    };
    let mean = y.iter().sum::<f64>() / n as f64;
    let tss: f64 = if intercept {
        y.iter().map(|v| (v - mean) * (v - mean)).sum()
    } else {
        y.iter().map(|v| v * v).sum()
    };
    fit.coefficients = (0..p)
        .map(|j| {
            let se = vcov[j * p + j].sqrt();
            let (t, p_value, half) = t_inference(beta[j], se, df, options.ci_level);
            Coefficient {
                term: names[j].clone(),
                estimate: beta[j],
                se,
                df,
                t,
                p_value,
                ci_lower: beta[j] - half,
                ci_upper: beta[j] + half,
            }
        })
        .collect();
    fit.sigma = sigma2.sqrt();
    fit.nobs = n;
    fit.df_residual = df_residual;
    fit.r_squared = 1.0 - rss / tss;
    fit.nclusters = nclusters;
    fit.vcov = vcov;
    Ok(())
}
