//! Ordinary least squares with the same formula language: classical standard errors with n − p
//! degrees of freedom, or cluster-robust CR1 standard errors with G − 1 degrees of freedom.

use crate::data::{ColumnRef, Columns};
use crate::dense::{backward_solve, cholesky_small, forward_solve, inverse_from_cholesky};
use crate::design::{self, Contrast, Design, Encoded, LevelMap, Part, VarTable};
use crate::error::{FitError, ModelError};
use crate::formula::Formula;
use crate::frame::ModelFrame;
use crate::inference::t_inference;
use crate::lmm::{aliased_columns, Coefficient};
use std::collections::BTreeMap;

/// Options of an OLS fit.
#[derive(Clone, Debug, PartialEq)]
pub struct OlsOptions {
    /// Cluster column for CR1 cluster-robust standard errors (G − 1 df); None for classical ones.
    pub cluster: Option<String>,
    /// Confidence level of the intervals (0.95).
    pub ci_level: f64,
    /// Column of prior weights (R's `lm(weights =)`): weighted least squares, observation i with
    /// residual variance σ²/wᵢ. Weights must be positive.
    pub weights: Option<String>,
    /// Coding of categorical variables (by formula label) other than treatment contrasts.
    pub contrasts: BTreeMap<String, Contrast>,
}

impl Default for OlsOptions {
    fn default() -> Self {
        OlsOptions {
            cluster: None,
            ci_level: 0.95,
            weights: None,
            contrasts: BTreeMap::new(),
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

/// A reusable OLS workspace: build once, fit many data sets of the same shape; a warm fit allocates
/// nothing.
pub struct OlsFitter {
    formula: Formula,
    options: OlsOptions,
    shape: Option<Shape>,
    cluster: Option<Cluster>,
    /// The response when it is not a float column.
    y: Vec<f64>,
    /// √w·y of a weighted fit.
    weighted_y: Vec<f64>,
    /// Computed variables, offsets and weights of the data set (unused for plain formulas).
    frame: ModelFrame,
    work: Work,
    fit: OlsFit,
}

/// What depends on the data's variables and levels (of a model without random effects: OLS, GLM).
pub(crate) struct Shape {
    pub(crate) vars: VarTable,
    pub(crate) design: Design,
    pub(crate) encoded: Encoded,
    pub(crate) names: Vec<String>,
}

impl Shape {
    /// Make `slot` the shape of `data`: the stored one when `data` encodes into it (same variables and
    /// levels, as the data sets of a study), else a new one. Returns whether it was rebuilt.
    pub(crate) fn refresh(
        slot: &mut Option<Shape>,
        formula: &Formula,
        data: &dyn Columns,
        contrasts: &BTreeMap<String, Contrast>,
    ) -> Result<bool, FitError> {
        if let Some(shape) = slot.as_mut() {
            if shape.encoded.encode(&shape.vars, data)? {
                return Ok(false);
            }
        }
        let vars = VarTable::resolve(formula, data, contrasts)?;
        let design = Design::from_vars(&formula.fixed, &vars);
        let mut encoded = Encoded::default();
        encoded.encode(&vars, data)?;
        let names = design.names();
        *slot = Some(Shape {
            vars,
            design,
            encoded,
            names,
        });
        Ok(true)
    }
}

/// The cluster column's levels and per-row codes.
pub(crate) struct Cluster {
    levels: LevelMap,
    codes: Vec<u32>,
    seen: Vec<bool>,
}

/// Per-fit buffers, sized once per shape.
#[derive(Default)]
struct Work {
    /// X column-major (n × p).
    x: Vec<f64>,
    xtx: Vec<f64>,
    xty: Vec<f64>,
    check: Vec<f64>,
    l: Vec<f64>,
    beta: Vec<f64>,
    inverse: Vec<f64>,
    column: Vec<f64>,
    scores: Vec<f64>,
    meat: Vec<f64>,
}

impl OlsFitter {
    /// A fitter for `formula`, which must not have random-effects terms.
    pub fn new(formula: &Formula, options: OlsOptions) -> Result<OlsFitter, ModelError> {
        if formula.has_random_terms() {
            return Err(ModelError::RandomTermsInOls);
        }
        if formula.has_counts_response() {
            return Err(ModelError::CountsResponse);
        }
        Ok(OlsFitter {
            formula: formula.clone(),
            options,
            shape: None,
            cluster: None,
            y: Vec::new(),
            weighted_y: Vec::new(),
            frame: ModelFrame::default(),
            work: Work::default(),
            fit: OlsFit::default(),
        })
    }

    /// Fits the model to `data`.
    pub fn fit(&mut self, data: &dyn Columns) -> Result<&OlsFit, FitError> {
        let n = data.nrows();
        if n == 0 {
            return Err(ModelError::NoRows.into());
        }
        // Plain formulas read the data directly; others through the model frame.
        let plain = self.formula.is_plain() && self.options.weights.is_none();
        if !plain {
            self.frame
                .update(&self.formula, data, self.options.weights.as_deref())?;
        }
        let view = self.frame.view(data);
        let data: &dyn Columns = if plain { data } else { &view };
        let weights = self.frame.weights().filter(|_| !plain);
        if Shape::refresh(
            &mut self.shape,
            &self.formula,
            data,
            &self.options.contrasts,
        )? {
            self.fit.coefficients.clear();
        }
        let Some(shape) = self.shape.as_ref() else {
            return Err(FitError::Numerical("no design".into()));
        };
        let p = shape.design.width();
        if p >= n {
            return Err(FitError::TooFewObservations(format!(
                "{n} observations are too few for {p} coefficients"
            )));
        }
        let work = &mut self.work;
        fill_design(
            &shape.design,
            &shape.vars,
            &shape.encoded,
            data,
            n,
            &mut work.x,
        );
        let response = crate::frame::column(data, &shape.vars.names[0])?;
        let y: &[f64] = match response {
            ColumnRef::Float(v) if v.len() == n => v,
            _ => {
                self.y.clear();
                self.y
                    .extend((0..n).map(|i| design::numeric_value(response, i)));
                &self.y
            }
        };
        work.size(p);
        let raw_y = y;
        let y: &[f64] = match weights {
            Some(w) => {
                // Weighted least squares as least squares of W^{1/2}X and W^{1/2}y.
                for column in work.x.chunks_exact_mut(n) {
                    for (x, wi) in column.iter_mut().zip(w) {
                        *x *= wi.sqrt();
                    }
                }
                self.weighted_y.clear();
                self.weighted_y
                    .extend(y.iter().zip(w).map(|(v, wi)| v * wi.sqrt()));
                &self.weighted_y
            }
            None => y,
        };
        // The kernels' intercept shortcut assumes a column of ones, which √w is not.
        let intercept = shape.design.intercept && weights.is_none();
        let yy = cross_products(&work.x, y, n, p, intercept, &mut work.xtx, &mut work.xty);
        if !(yy.is_finite() && work.xtx.iter().chain(&work.xty).all(|v| v.is_finite())) {
            return Err(non_finite(&shape.vars, data));
        }
        if raw_y.iter().all(|&v| v == raw_y[0]) {
            return Err(FitError::ConstantResponse(shape.vars.names[0].clone()));
        }
        let cluster = match &self.options.cluster {
            Some(name) => Some(encode_cluster(&mut self.cluster, name, data)?),
            None => None,
        };
        solve(
            work,
            y,
            n,
            p,
            shape,
            weights,
            cluster,
            self.options.ci_level,
            &mut self.fit,
        )?;
        Ok(&self.fit)
    }
}

impl Work {
    /// Sizes the p-dependent buffers (allocates only when p grows).
    fn size(&mut self, p: usize) {
        for buffer in [
            &mut self.xtx,
            &mut self.check,
            &mut self.l,
            &mut self.inverse,
            &mut self.meat,
        ] {
            buffer.resize(p * p, 0.0);
        }
        for buffer in [&mut self.xty, &mut self.beta, &mut self.column] {
            buffer.resize(p, 0.0);
        }
    }
}

/// X column by column: the intercept, plain float columns copied, the others formed from their parts.
pub(crate) fn fill_design(
    design: &Design,
    vars: &VarTable,
    encoded: &Encoded,
    data: &dyn Columns,
    n: usize,
    x: &mut Vec<f64>,
) {
    let p = design.width();
    x.resize(n * p, 0.0);
    let mut col = 0;
    if design.intercept {
        x[..n].fill(1.0);
        col = 1;
    }
    for c in &design.columns {
        let out = &mut x[col * n..(col + 1) * n];
        match c.parts.as_slice() {
            [Part::Numeric(var)] => match data.column(&vars.names[*var]) {
                Some(ColumnRef::Float(v)) if v.len() == n => out.copy_from_slice(v),
                _ => design::fill_column(&c.parts, data, vars, encoded, out),
            },
            parts => design::fill_column(parts, data, vars, encoded, out),
        }
        col += 1;
    }
}

/// Most value columns (X's columns other than the intercept, and y) summed in one pass.
const FUSED_MAX: usize = 8;
/// Their products.
const FUSED_PRODUCTS: usize = FUSED_MAX * (FUSED_MAX + 1) / 2;
/// Independent partial sums per quantity in the one-pass kernel.
const LANES: usize = 4;

/// X′X (full), X′y, and returns y′y. X's first column is the intercept when `intercept`. Up to
/// [`FUSED_MAX`] value columns, one pass over the rows reads each column once (the columns of a
/// 5000-row data set together exceed L1, so separate dot products are bound by reloading them).
#[allow(clippy::too_many_arguments)]
fn cross_products(
    x: &[f64],
    y: &[f64],
    n: usize,
    p: usize,
    intercept: bool,
    xtx: &mut [f64],
    xty: &mut [f64],
) -> f64 {
    let first = usize::from(intercept);
    let m = p - first + 1;
    if m <= FUSED_MAX {
        let mut cols: [&[f64]; FUSED_MAX] = [&[]; FUSED_MAX];
        for (a, col) in cols[..m - 1].iter_mut().enumerate() {
            *col = &x[(first + a) * n..(first + a + 1) * n];
        }
        cols[m - 1] = y;
        let mut sums = [0.0; FUSED_MAX];
        let mut products = [0.0; FUSED_PRODUCTS];
        moments_dispatch(&cols[..m], &mut sums, &mut products);
        // Value column a is X column first + a, or y for a = m − 1.
        let mut set = |a: usize, b: usize, v: f64| match (a < m - 1, b < m - 1) {
            (true, true) => {
                xtx[(first + a) * p + first + b] = v;
                xtx[(first + b) * p + first + a] = v;
            }
            (true, false) => xty[first + a] = v,
            (false, true) => xty[first + b] = v,
            (false, false) => {}
        };
        let mut idx = 0;
        for a in 0..m {
            for b in a..m {
                set(a, b, products[idx]);
                idx += 1;
            }
        }
        if intercept {
            xtx[0] = n as f64;
            for a in 0..m - 1 {
                xtx[1 + a] = sums[a];
                xtx[(1 + a) * p] = sums[a];
            }
            xty[0] = sums[m - 1];
        }
        return products[idx - 1];
    }
    for j in 0..p {
        let xj = &x[j * n..(j + 1) * n];
        xty[j] = dot(xj, y);
        for i in j..p {
            let v = dot(xj, &x[i * n..(i + 1) * n]);
            xtx[j * p + i] = v;
            xtx[i * p + j] = v;
        }
    }
    dot(y, y)
}

/// Σ aᵢbᵢ in eight independent partial sums (a sequential sum waits on each addition's latency).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    const LANES: usize = 8;
    let mut lanes = [0.0; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f64 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in a_chunks.zip(b_chunks) {
        for k in 0..LANES {
            lanes[k] += ca[k] * cb[k];
        }
    }
    let pairs = [
        lanes[0] + lanes[4],
        lanes[1] + lanes[5],
        lanes[2] + lanes[6],
        lanes[3] + lanes[7],
    ];
    (pairs[0] + pairs[2]) + (pairs[1] + pairs[3]) + tail
}

fn moments_dispatch(cols: &[&[f64]], sums: &mut [f64], products: &mut [f64]) {
    match cols.len() {
        1 => moments::<1>(cols, sums, products),
        2 => moments::<2>(cols, sums, products),
        3 => moments::<3>(cols, sums, products),
        4 => moments::<4>(cols, sums, products),
        5 => moments::<5>(cols, sums, products),
        6 => moments::<6>(cols, sums, products),
        7 => moments::<7>(cols, sums, products),
        _ => moments::<8>(cols, sums, products),
    }
}

/// Σu and the packed upper triangle of Σuu′ (by rows) of M columns, in one pass with [`LANES`]
/// partial sums per quantity.
#[inline(never)]
fn moments<const M: usize>(cols: &[&[f64]], sums: &mut [f64], products: &mut [f64]) {
    let n = cols.first().map_or(0, |c| c.len());
    let cols: [&[f64]; M] = std::array::from_fn(|k| &cols[k][..n]);
    let mut s = [[0.0; LANES]; M];
    let mut pr = [[0.0; LANES]; FUSED_PRODUCTS];
    let mut add = |i: usize, lane: usize| {
        let u: [f64; M] = std::array::from_fn(|k| cols[k][i]);
        let mut idx = 0;
        for a in 0..M {
            s[a][lane] += u[a];
            for b in a..M {
                pr[idx][lane] += u[a] * u[b];
                idx += 1;
            }
        }
    };
    let whole = n - n % LANES;
    for start in (0..whole).step_by(LANES) {
        for lane in 0..LANES {
            add(start + lane, lane);
        }
    }
    for i in whole..n {
        add(i, 0);
    }
    let fold = |l: &[f64; LANES]| (l[0] + l[1]) + (l[2] + l[3]);
    for (out, l) in sums.iter_mut().zip(&s) {
        *out = fold(l);
    }
    for (out, l) in products.iter_mut().zip(&pr) {
        *out = fold(l);
    }
}

/// The error for non-finite cross-products: the first non-finite value of a numeric column used.
pub(crate) fn non_finite(vars: &VarTable, data: &dyn Columns) -> FitError {
    for (var, kind) in vars.kinds.iter().enumerate() {
        if matches!(kind, design::Kind::Numeric) {
            if let Some(col) = data.column(&vars.names[var]) {
                if let Err(e) = design::check_finite(&vars.names[var], col) {
                    return e;
                }
            }
        }
    }
    FitError::Numerical("the cross-products of the data overflowed".into())
}

/// Per-row cluster codes (levels rebuilt only when the cluster column's level set changes) and the
/// number of clusters.
pub(crate) fn encode_cluster<'a>(
    slot: &'a mut Option<Cluster>,
    name: &str,
    data: &dyn Columns,
) -> Result<(&'a [u32], usize), FitError> {
    let col = crate::frame::column(data, name)?;
    if col.len() != data.nrows() {
        return Err(FitError::Length {
            column: name.to_string(),
            len: col.len(),
            nrows: data.nrows(),
        });
    }
    let current = match slot.as_mut() {
        Some(c) => {
            c.codes.resize(col.len(), 0);
            c.levels.encode(col, &mut c.codes, &mut c.seen)
        }
        None => false,
    };
    if !current {
        let levels = LevelMap::from_column(col);
        let mut cluster = Cluster {
            codes: vec![0; col.len()],
            seen: vec![false; levels.len()],
            levels,
        };
        if !cluster
            .levels
            .encode(col, &mut cluster.codes, &mut cluster.seen)
        {
            return Err(FitError::Numerical(format!(
                "cluster column '{name}' could not be encoded"
            )));
        }
        *slot = Some(cluster);
    }
    match slot.as_ref() {
        Some(c) => Ok((&c.codes, c.levels.len())),
        None => Err(FitError::Numerical("no cluster codes".into())),
    }
}

/// Least squares through the normal equations, then classical or CR1 inference.
#[allow(clippy::too_many_arguments)]
fn solve(
    work: &mut Work,
    y: &[f64],
    n: usize,
    p: usize,
    shape: &Shape,
    weights: Option<&[f64]>,
    cluster: Option<(&[u32], usize)>,
    ci_level: f64,
    fit: &mut OlsFit,
) -> Result<(), FitError> {
    let names = &shape.names;
    work.check.copy_from_slice(&work.xtx);
    let aliased = aliased_columns(&mut work.check, p);
    if !aliased.is_empty() {
        let list: Vec<&str> = aliased.iter().map(|&j| names[j].as_str()).collect();
        return Err(FitError::RankDeficient(format!(
            "column(s) {} are linear combinations of earlier columns; remove them from the formula",
            list.join(", ")
        )));
    }
    work.l.copy_from_slice(&work.xtx);
    if !cholesky_small(&mut work.l, p) {
        return Err(FitError::RankDeficient(
            "X′X is not positive definite".into(),
        ));
    }
    let beta = &mut work.beta;
    beta.copy_from_slice(&work.xty);
    forward_solve(&work.l, p, p, beta);
    backward_solve(&work.l, p, p, beta);
    let intercept = shape.design.intercept && weights.is_none();
    // The mean of y for R² (X′y's intercept entry is Σy).
    let centre = if intercept {
        work.xty[0] / n as f64
    } else {
        0.0
    };
    let codes = cluster.map(|(codes, _)| codes);
    if let Some((_, g)) = cluster {
        work.scores.clear();
        work.scores.resize(g * p, 0.0);
    }
    let (rss, tss) = residual_pass(work, y, n, p, intercept, centre, codes);
    // R's weighted R² centres y at its weighted mean ȳ_w = Σwy/Σw: Σw(y − ȳ_w)² = Σ(√w·y − √w·ȳ_w)².
    let tss = match weights {
        Some(w) if shape.design.intercept => {
            let total: f64 = w.iter().sum();
            let mean = y.iter().zip(w).map(|(v, wi)| v * wi.sqrt()).sum::<f64>() / total;
            y.iter()
                .zip(w)
                .map(|(v, wi)| (v - wi.sqrt() * mean).powi(2))
                .sum()
        }
        _ => tss,
    };
    let df_residual = (n - p) as f64;
    let sigma2 = rss / df_residual;
    inverse_from_cholesky(&work.l, p, p, &mut work.inverse, &mut work.column);
    fit.vcov.resize(p * p, 0.0);
    let (df, nclusters) = match cluster {
        None => {
            for (v, inv) in fit.vcov.iter_mut().zip(&work.inverse) {
                *v = inv * sigma2;
            }
            (df_residual, None)
        }
        Some((_, g)) => {
            cr1(work, g, n, p, &mut fit.vcov);
            ((g - 1) as f64, Some(g))
        }
    };
    if fit.coefficients.len() != p {
        fit.coefficients = names.iter().map(|n| Coefficient::unfilled(n)).collect();
    }
    for (j, coef) in fit.coefficients.iter_mut().enumerate() {
        let b = work.beta[j];
        let se = fit.vcov[j * p + j].sqrt();
        let (t, p_value, half) = t_inference(b, se, df, ci_level);
        coef.estimate = b;
        coef.se = se;
        coef.df = df;
        coef.t = t;
        coef.p_value = p_value;
        coef.ci_lower = b - half;
        coef.ci_upper = b + half;
    }
    fit.sigma = sigma2.sqrt();
    fit.nobs = n;
    fit.df_residual = df_residual;
    fit.r_squared = 1.0 - rss / tss;
    fit.nclusters = nclusters;
    Ok(())
}

/// The residuals' sum of squares and Σ(yᵢ − centre)², in one pass over the rows; with cluster
/// codes, also each cluster's scores s_g = X_g′e_g into `work.scores` (zeroed by the caller).
fn residual_pass(
    work: &mut Work,
    y: &[f64],
    n: usize,
    p: usize,
    intercept: bool,
    centre: f64,
    codes: Option<&[u32]>,
) -> (f64, f64) {
    let first = usize::from(intercept);
    let b0 = if intercept { work.beta[0] } else { 0.0 };
    let m = p - first + 1;
    if m <= FUSED_MAX {
        let mut cols: [&[f64]; FUSED_MAX] = [&[]; FUSED_MAX];
        for (a, col) in cols[..m - 1].iter_mut().enumerate() {
            *col = &work.x[(first + a) * n..(first + a + 1) * n];
        }
        cols[m - 1] = y;
        let pass = Residuals {
            b0,
            slopes: &work.beta[first..],
            centre,
            intercept,
            codes,
        };
        return match m {
            1 => pass.run::<1>(&cols, &mut work.scores),
            2 => pass.run::<2>(&cols, &mut work.scores),
            3 => pass.run::<3>(&cols, &mut work.scores),
            4 => pass.run::<4>(&cols, &mut work.scores),
            5 => pass.run::<5>(&cols, &mut work.scores),
            6 => pass.run::<6>(&cols, &mut work.scores),
            7 => pass.run::<7>(&cols, &mut work.scores),
            _ => pass.run::<8>(&cols, &mut work.scores),
        };
    }
    let mut rss = [0.0; LANES];
    let mut tss = [0.0; LANES];
    let (x, beta, scores) = (&work.x, &work.beta, &mut work.scores);
    // lane = i mod LANES: independent partial sums.
    for i in 0..n {
        let lane = i % LANES;
        let mut e = y[i] - b0;
        for j in first..p {
            e -= beta[j] * x[j * n + i];
        }
        rss[lane] += e * e;
        tss[lane] += (y[i] - centre) * (y[i] - centre);
        if let Some(codes) = codes {
            let s = &mut scores[codes[i] as usize * p..][..p];
            if intercept {
                s[0] += e;
            }
            for j in first..p {
                s[j] += x[j * n + i] * e;
            }
        }
    }
    let fold = |l: &[f64; LANES]| (l[0] + l[1]) + (l[2] + l[3]);
    (fold(&rss), fold(&tss))
}

/// The one-pass residual kernel for M value columns (X's non-intercept columns, then y).
struct Residuals<'a> {
    b0: f64,
    slopes: &'a [f64],
    centre: f64,
    intercept: bool,
    codes: Option<&'a [u32]>,
}

impl Residuals<'_> {
    /// (Σe², Σ(y − centre)²), and the cluster scores when there are codes.
    #[inline(never)]
    fn run<const M: usize>(&self, cols: &[&[f64]], scores: &mut [f64]) -> (f64, f64) {
        let n = cols[M - 1].len();
        let cols: [&[f64]; M] = std::array::from_fn(|k| &cols[k][..n]);
        let slopes: [f64; M] =
            std::array::from_fn(|k| if k + 1 < M { self.slopes[k] } else { 0.0 });
        let p = M - 1 + usize::from(self.intercept);
        let first = usize::from(self.intercept);
        let mut rss = [0.0; LANES];
        let mut tss = [0.0; LANES];
        for i in 0..n {
            let lane = i % LANES;
            let u: [f64; M] = std::array::from_fn(|k| cols[k][i]);
            let mut e = u[M - 1] - self.b0;
            for a in 0..M - 1 {
                e -= slopes[a] * u[a];
            }
            rss[lane] += e * e;
            tss[lane] += (u[M - 1] - self.centre) * (u[M - 1] - self.centre);
            if let Some(codes) = self.codes {
                let Some(s) = scores.get_mut(codes[i] as usize * p..(codes[i] as usize + 1) * p)
                else {
                    continue;
                };
                if self.intercept {
                    s[0] += e;
                }
                for a in 0..M - 1 {
                    s[first + a] += u[a] * e;
                }
            }
        }
        let fold = |l: &[f64; LANES]| (l[0] + l[1]) + (l[2] + l[3]);
        (fold(&rss), fold(&tss))
    }
}

/// CR1 covariance from the cluster scores s_g = X_g′e_g: meat = Σ s_g s_g′, bread (X′X)⁻¹ on both
/// sides, times G/(G−1)·(n−1)/(n−p).
fn cr1(work: &mut Work, g: usize, n: usize, p: usize, vcov: &mut [f64]) {
    cr1_sandwich(&work.inverse, &work.scores, g, n, p, &mut work.meat, vcov);
}

/// The CR1 sandwich (sandwich's `vcovCL(type = "HC1")`) of bread `inverse` (p×p) and the `g`
/// clusters' scores (p each, in `scores`): G/(G−1)·(n−1)/(n−p)·B(Σ s_g s_g′)B, into `vcov`;
/// `meat` is p×p scratch.
pub(crate) fn cr1_sandwich(
    inverse: &[f64],
    scores: &[f64],
    g: usize,
    n: usize,
    p: usize,
    meat: &mut [f64],
    vcov: &mut [f64],
) {
    meat.fill(0.0);
    for s in scores.chunks_exact(p) {
        for j in 0..p {
            for i in 0..p {
                meat[j * p + i] += s[i] * s[j];
            }
        }
    }
    let factor = g as f64 / (g as f64 - 1.0) * (n as f64 - 1.0) / (n - p) as f64;
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
}
