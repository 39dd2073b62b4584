//! The model frame, as R's `model.frame()`: the values of every formula variable that is not a data
//! column as it is (`I(x^2)`, `log(y)`, `scale(x)`, the columns of `poly(x, k)`), the response
//! less its offsets, `factor(x)` as a categorical alias of `x`, and the prior weights.
//!
//! A [`FrameView`] shows the data with these added under their R names, so that the rest of the
//! model building reads a computed variable exactly as it reads a column. Formulas of plain columns
//! without offsets or weights do not use a frame at all: their fits read the data directly.

use crate::data::{ColumnRef, Columns};
use crate::error::{column_suggestion, FitError, ModelError};
use crate::formula::{Arith, ArithOp, Formula, Func, Source};

/// Computed columns and weights of one data set, rebuilt per fit into buffers kept across fits.
#[derive(Debug, Default)]
pub(crate) struct ModelFrame {
    /// (name, values): computed variables, the columns of `poly()` (`poly(x, 2)1`, ...), and the
    /// response when it is computed or has offsets.
    computed: Vec<(String, Vec<f64>)>,
    /// (label, column): `factor(x)` reads the column `x`, as a categorical variable.
    aliases: Vec<(String, String)>,
    /// Prior weights, one per row, when asked for.
    weights: Option<Vec<f64>>,
    /// Σ log wᵢ: lme4's criterion subtracts it (the weights' log-determinant).
    log_det_weights: f64,
    /// Buffers for intermediate values, kept so that a warm update allocates nothing.
    spare: Vec<Vec<f64>>,
    poly: PolyScratch,
}

/// The working storage of [`orthogonal_poly`].
#[derive(Debug, Default)]
struct PolyScratch {
    distinct: Vec<f64>,
    a: Vec<f64>,
    z: Vec<f64>,
    qraux: Vec<f64>,
}

/// The data with a frame's computed columns and aliases in front of them.
pub(crate) struct FrameView<'a> {
    frame: &'a ModelFrame,
    data: &'a dyn Columns,
}

impl Columns for FrameView<'_> {
    fn nrows(&self) -> usize {
        self.data.nrows()
    }

    fn column(&self, name: &str) -> Option<ColumnRef<'_>> {
        if let Some((_, values)) = self.frame.computed.iter().find(|(n, _)| n == name) {
            return Some(ColumnRef::Float(values));
        }
        match self.frame.aliases.iter().find(|(label, _)| label == name) {
            Some((_, column)) => self.data.column(column),
            None => self.data.column(name),
        }
    }

    fn is_factor(&self, name: &str) -> bool {
        self.frame.aliases.iter().any(|(label, _)| label == name) || self.data.is_factor(name)
    }

    fn column_names(&self) -> Vec<String> {
        self.data.column_names()
    }
}

/// The computed column at position `used` (reused), named `label`, or `label` followed by `j` for
/// column j of a matrix variable; emptied. Renamed only when its name differs, so that a warm
/// update allocates no string.
fn slot<'a>(
    computed: &'a mut Vec<(String, Vec<f64>)>,
    used: &mut usize,
    label: &str,
    j: Option<usize>,
) -> &'a mut Vec<f64> {
    if *used == computed.len() {
        computed.push((String::new(), Vec::new()));
    }
    let (name, values) = &mut computed[*used];
    let same = match j {
        None => name == label,
        Some(j) => name
            .strip_prefix(label)
            .is_some_and(|rest| rest.parse::<usize>().ok() == Some(j)),
    };
    if !same {
        *name = match j {
            None => label.to_string(),
            Some(j) => format!("{label}{j}"),
        };
    }
    values.clear();
    *used += 1;
    values
}

/// The names of the columns of `poly(...)` labelled `label`: `label1`, `label2`, ... as R's
/// model.matrix names a matrix variable's columns.
pub(crate) fn matrix_column_names(label: &str, degree: usize) -> Vec<String> {
    (1..=degree).map(|j| format!("{label}{j}")).collect()
}

impl ModelFrame {
    /// The data seen through this frame.
    pub fn view<'a>(&'a self, data: &'a dyn Columns) -> FrameView<'a> {
        FrameView { frame: self, data }
    }

    /// The prior weights of the last update.
    pub fn weights(&self) -> Option<&[f64]> {
        self.weights.as_deref()
    }

    /// Σ log wᵢ of the last update (0 without weights).
    pub fn log_det_weights(&self) -> f64 {
        self.log_det_weights
    }

    /// Computes the frame of `formula` on `data`, with the prior weights of column `weights`.
    /// Once warmed up on data of the same size, it allocates nothing.
    pub fn update(
        &mut self,
        formula: &Formula,
        data: &dyn Columns,
        weights: Option<&str>,
    ) -> Result<(), FitError> {
        let n = data.nrows();
        let labels = formula.labels();
        let factors = formula
            .sources
            .iter()
            .filter(|s| matches!(s, Source::Factor(_)))
            .count();
        // The aliases depend on the formula alone: made on the first update.
        if self.aliases.len() != factors {
            self.aliases.clear();
            for (var, source) in formula.sources.iter().enumerate() {
                if let Source::Factor(column) = source {
                    self.aliases.push((labels[var].clone(), column.clone()));
                }
            }
        }
        let mut used = 0;
        for (var, source) in formula.sources.iter().enumerate() {
            let label = &labels[var];
            match source {
                Source::Column(name) if var == 0 && !formula.offsets.is_empty() => {
                    let values = slot(&mut self.computed, &mut used, label, None);
                    numeric(data, name, n, values)?;
                }
                Source::Column(_) | Source::Factor(_) => {}
                Source::Value(arith) => {
                    let values = slot(&mut self.computed, &mut used, label, None);
                    evaluate(arith, data, n, values, &mut self.spare)?;
                    check_finite(label, values)?;
                }
                Source::Poly { arg, degree, raw } => {
                    let mut x = self.spare.pop().unwrap_or_default();
                    evaluate(arg, data, n, &mut x, &mut self.spare)?;
                    check_finite(label, &x)?;
                    let first = used;
                    for j in 1..=*degree {
                        slot(&mut self.computed, &mut used, label, Some(j));
                    }
                    let columns = &mut self.computed[first..used];
                    if *raw {
                        for (d, (_, column)) in columns.iter_mut().enumerate() {
                            column.extend(x.iter().map(|&v| r_pow(v, (d + 1) as f64)));
                        }
                    } else {
                        orthogonal_poly(&x, *degree, &mut self.poly, columns).map_err(
                            |message| FitError::Transform {
                                term: label.clone(),
                                message,
                            },
                        )?;
                    }
                    self.spare.push(x);
                }
            }
        }
        if !formula.offsets.is_empty() {
            // The response (computed above, first slot) less every offset: the model of y − offset.
            let mut offset = self.spare.pop().unwrap_or_default();
            for arith in &formula.offsets {
                evaluate(arith, data, n, &mut offset, &mut self.spare)?;
                check_finite("offset", &offset)?;
                let response = &mut self.computed[0].1;
                for (r, o) in response.iter_mut().zip(&offset) {
                    *r -= o;
                }
            }
            self.spare.push(offset);
        }
        self.computed.truncate(used);
        self.update_weights(data, weights)
    }

    fn update_weights(
        &mut self,
        data: &dyn Columns,
        weights: Option<&str>,
    ) -> Result<(), FitError> {
        let Some(name) = weights else {
            self.weights = None;
            self.log_det_weights = 0.0;
            return Ok(());
        };
        let w = self.weights.get_or_insert_with(Vec::new);
        w.clear();
        numeric(data, name, data.nrows(), w)?;
        if let Some(row) = w.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(FitError::BadWeight {
                column: name.to_string(),
                row: row + 1,
                value: w[row],
            });
        }
        self.log_det_weights = w.iter().map(|v| v.ln()).sum();
        Ok(())
    }
}

/// The numeric column `name` of `data` as f64 into `out`.
pub(crate) fn numeric(
    data: &dyn Columns,
    name: &str,
    n: usize,
    out: &mut Vec<f64>,
) -> Result<(), FitError> {
    let column = column(data, name)?;
    if column.len() != n {
        return Err(FitError::Length {
            column: name.to_string(),
            len: column.len(),
            nrows: n,
        });
    }
    out.clear();
    match column {
        ColumnRef::Float(v) => out.extend_from_slice(v),
        ColumnRef::Int(v) => out.extend(v.iter().map(|&x| x as f64)),
        ColumnRef::Text(_) => return Err(ModelError::NonNumericColumn(name.to_string()).into()),
    }
    Ok(())
}

pub(crate) fn check_finite(label: &str, values: &[f64]) -> Result<(), FitError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(row) => Err(FitError::NonFinite {
            column: label.to_string(),
            row: row + 1,
        }),
        None => Ok(()),
    }
}

/// The values of `arith` on every row of `data` into `out`.
pub(crate) fn evaluate(
    arith: &Arith,
    data: &dyn Columns,
    n: usize,
    out: &mut Vec<f64>,
    spare: &mut Vec<Vec<f64>>,
) -> Result<(), FitError> {
    match arith {
        Arith::Column(name) => numeric(data, name, n, out)?,
        Arith::Number(v) => {
            out.clear();
            out.resize(n, *v);
        }
        Arith::Neg(a) => {
            evaluate(a, data, n, out, spare)?;
            for v in out.iter_mut() {
                *v = -*v;
            }
        }
        Arith::Binary(op, a, b) => {
            evaluate(a, data, n, out, spare)?;
            let mut right = spare.pop().unwrap_or_default();
            evaluate(b, data, n, &mut right, spare)?;
            for (l, &r) in out.iter_mut().zip(&right) {
                *l = match op {
                    ArithOp::Add => *l + r,
                    ArithOp::Sub => *l - r,
                    ArithOp::Mul => *l * r,
                    ArithOp::Div => *l / r,
                    ArithOp::Pow => r_pow(*l, r),
                };
            }
            spare.push(right);
        }
        Arith::Call(func, a) => {
            evaluate(a, data, n, out, spare)?;
            match func {
                Func::Identity => {}
                Func::Log => out.iter_mut().for_each(|v| *v = v.ln()),
                Func::Exp => out.iter_mut().for_each(|v| *v = v.exp()),
                Func::Sqrt => out.iter_mut().for_each(|v| *v = v.sqrt()),
                Func::Abs => out.iter_mut().for_each(|v| *v = v.abs()),
                Func::Scale => scale(out),
            }
        }
    }
    Ok(())
}

/// x^y as R computes it: x·x for y = 2, 1 for x = 1 or y = 0, else the C library's pow.
fn r_pow(x: f64, y: f64) -> f64 {
    if x == 1.0 || y == 0.0 {
        1.0
    } else if y == 2.0 {
        x * x
    } else {
        x.powf(y)
    }
}

/// Σ of `values` as an unevaluated sum hi + lo (Neumaier's compensated summation): R sums in long
/// double, whose result, rounded, is hi in all but pathological cases.
fn sum_parts(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for v in values {
        let t = s + v;
        c += if s.abs() >= v.abs() {
            (s - t) + v
        } else {
            (v - t) + s
        };
        s = t;
    }
    let hi = s + c;
    (hi, c - (hi - s))
}

/// Σ of `values`, compensated (see [`sum_parts`]).
fn sum(values: impl Iterator<Item = f64>) -> f64 {
    sum_parts(values).0
}

/// The mean, correctly rounded but in rare ties: R's `mean()` (a long double sum over n, corrected
/// by the mean deviation from it) and `colMeans()` (a long double sum over n) both round a value
/// within a long double's precision of the exact mean.
fn mean(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (hi, lo) = sum_parts(x.iter().copied());
    let q = hi / n;
    // hi − q·n exactly (a fused multiply-add), plus the low part: the remainder of the division.
    let remainder = (-q).mul_add(n, hi) + lo;
    q + remainder / n
}

/// R's `scale(x)`: x − x̄ over the standard deviation with n − 1 (√(Σ(x − x̄)²/(n − 1))).
fn scale(x: &mut [f64]) {
    let n = x.len();
    let centre = mean(x);
    for v in x.iter_mut() {
        *v -= centre;
    }
    let sd = (sum(x.iter().map(|v| v * v)) / (n.max(2) - 1) as f64).sqrt();
    for v in x.iter_mut() {
        *v /= sd;
    }
}

/// R's `poly(x, degree)`: orthonormal polynomials from the QR decomposition (Householder, as
/// LINPACK's dqrdc2 that R's `qr()` uses) of the Vandermonde matrix of the centred x, columns
/// 0..=degree; column j of the result is Q's column j scaled by R's diagonal entry and normalized
/// to length 1 (the constant column dropped). Needs more distinct values than the degree.
fn orthogonal_poly(
    x: &[f64],
    degree: usize,
    work: &mut PolyScratch,
    columns: &mut [(String, Vec<f64>)],
) -> Result<(), String> {
    let n = x.len();
    let distinct = &mut work.distinct;
    distinct.clear();
    distinct.extend_from_slice(x);
    distinct.sort_unstable_by(f64::total_cmp);
    distinct.dedup();
    if degree >= distinct.len() {
        return Err(format!(
            "the degree must be less than the number of distinct values ({})",
            distinct.len()
        ));
    }
    let centre = mean(x);
    let k = degree + 1;
    // Column-major n × k: (x − x̄)^j.
    let a = &mut work.a;
    a.clear();
    a.resize(n * k, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let c = v - centre;
        for j in 0..k {
            a[j * n + i] = r_pow(c, j as f64);
        }
    }
    householder_qr(a, n, k, &mut work.qraux);
    // Z = Q · diag(R): apply the reflections to the columns diag(R)eⱼ, last reflection first.
    let z = &mut work.z;
    z.clear();
    z.resize(n * k, 0.0);
    for j in 0..k {
        z[j * n + j] = a[j * n + j];
    }
    for col in 0..k {
        let y = &mut z[col * n..(col + 1) * n];
        for j in (0..k.min(n - 1)).rev() {
            apply_reflection(a, n, j, work.qraux[j], y);
        }
    }
    for (j, (_, out)) in columns.iter_mut().enumerate().take(degree) {
        let column = &z[(j + 1) * n..(j + 2) * n];
        let norm = sum(column.iter().map(|v| v * v)).sqrt();
        out.extend(column.iter().map(|v| v / norm));
    }
    Ok(())
}

/// Householder QR in place, as LINPACK's dqrdc2 without pivoting (the centred Vandermonde matrix
/// of distinct points beyond the degree has full rank): fills qraux; R's diagonal is stored on
/// a's diagonal, the reflections' vectors below it (their first entries in `qraux`).
fn householder_qr(a: &mut [f64], n: usize, k: usize, qraux: &mut Vec<f64>) {
    qraux.clear();
    qraux.resize(k, 0.0);
    for l in 0..k.min(n - 1) {
        let col = &a[l * n + l..(l + 1) * n];
        let mut norm = col.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == 0.0 {
            continue;
        }
        if a[l * n + l] != 0.0 {
            norm = norm.copysign(a[l * n + l]);
        }
        // dqrdc2 scales by the reciprocal (BLAS dscal), not by dividing: a different rounding.
        let reciprocal = 1.0 / norm;
        for v in &mut a[l * n + l..(l + 1) * n] {
            *v *= reciprocal;
        }
        a[l * n + l] += 1.0;
        let pivot = a[l * n + l];
        for j in l + 1..k {
            let t = -(l..n).map(|i| a[l * n + i] * a[j * n + i]).sum::<f64>() / pivot;
            for i in l..n {
                a[j * n + i] += t * a[l * n + i];
            }
        }
        qraux[l] = pivot;
        a[l * n + l] = -norm;
    }
}

/// y ← H_j y for the reflection j of [`householder_qr`] (qraux its first entry).
fn apply_reflection(a: &mut [f64], n: usize, j: usize, qraux: f64, y: &mut [f64]) {
    if qraux == 0.0 {
        return;
    }
    let diagonal = a[j * n + j];
    a[j * n + j] = qraux;
    let t = -(j..n).map(|i| a[j * n + i] * y[i]).sum::<f64>() / qraux;
    for i in j..n {
        y[i] += t * a[j * n + i];
    }
    a[j * n + j] = diagonal;
}

/// The column `name` of `data`, or an unknown-column error with a suggestion.
pub(crate) fn column<'a>(data: &'a dyn Columns, name: &str) -> Result<ColumnRef<'a>, ModelError> {
    data.column(name).ok_or_else(|| ModelError::UnknownColumn {
        name: name.to_string(),
        suggestion: column_suggestion(name, data.column_names()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The columns of poly(x, degree).
    fn poly_columns(x: &[f64], degree: usize) -> Result<Vec<Vec<f64>>, String> {
        let mut columns = vec![(String::new(), Vec::new()); degree];
        orthogonal_poly(x, degree, &mut PolyScratch::default(), &mut columns)?;
        Ok(columns.into_iter().map(|(_, c)| c).collect())
    }

    /// Orthonormal columns, orthogonal to the constant, spanning the powers of x: what R's poly
    /// guarantees, to rounding.
    #[test]
    fn poly_columns_are_orthonormal() {
        let x: Vec<f64> = (0..20)
            .map(|i| (i as f64 * 0.37).sin() * 3.0 + 1.0)
            .collect();
        let columns = poly_columns(&x, 3).unwrap();
        for a in 0..3 {
            assert!(columns[a].iter().sum::<f64>().abs() < 1e-13);
            for b in 0..3 {
                let dot: f64 = columns[a].iter().zip(&columns[b]).map(|(u, v)| u * v).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-13, "{a} {b}: {dot}");
            }
        }
        // The first column is the centred x, normalized, with R's sign (increasing in x).
        let c = mean(&x);
        let norm = x.iter().map(|v| (v - c) * (v - c)).sum::<f64>().sqrt();
        for (p, v) in columns[0].iter().zip(&x) {
            assert!((p - (v - c) / norm).abs() < 1e-14);
        }
        assert!(poly_columns(&[1.0, 2.0, 1.0], 2).is_err());
    }

    /// Units in the last place between two doubles of the same sign (0 when equal).
    fn ulps(a: f64, b: f64) -> u64 {
        if a == b {
            return 0;
        }
        if a.signum() != b.signum() {
            return u64::MAX;
        }
        (a.abs().to_bits() as i64 - b.abs().to_bits() as i64).unsigned_abs()
    }

    /// poly() and scale() against R's own columns (`tests/data/lme4_formula/data/transforms.json`,
    /// written by its make.R with 17 digits): ChickWeight's Time (degree 3), sleepstudy's Days
    /// (degree 4), the generated schools' x (degree 5). The QR steps are dqrdc2's and the BLAS's
    /// (reference BLAS 3.11, sequential sums, dnrm2 unscaled in the normal range) in their order;
    /// R's long double sums (mean, colSums) are matched by compensated sums, which round alike but
    /// in rare ties: 1 ulp is allowed, though on these data every value is equal to the bit. The numbers are strings, parsed by Rust's correctly
    /// rounding parser (serde_json's default float parsing is not correctly rounded). Entries near zero relative to their column (below 1e-12 of
    /// its largest) are compared absolutely.
    #[test]
    fn poly_and_scale_match_r_to_a_few_ulps() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/data/lme4_formula/data/transforms.json"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let floats = |v: &serde_json::Value| -> Vec<f64> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().parse::<f64>().unwrap())
                .collect()
        };
        let (mut worst, mut differing, mut compared) = (0, 0, 0);
        for case in json["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let x = floats(&case["x"]);
            let degree = case["degree"].as_u64().unwrap() as usize;
            let ours = poly_columns(&x, degree).unwrap();
            let mut scaled = x.clone();
            scale(&mut scaled);
            let want: Vec<Vec<f64>> = case["poly"]
                .as_array()
                .unwrap()
                .iter()
                .map(floats)
                .collect();
            let want_scaled = floats(&case["scale"]);
            let columns = ours.iter().zip(&want).chain([(&scaled, &want_scaled)]);
            for (j, (got, want)) in columns.enumerate() {
                let largest = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
                    if w.abs() < 1e-12 * largest {
                        assert!(
                            (g - w).abs() < 1e-14 * largest,
                            "{name}[{j}][{i}]: {g} vs {w}"
                        );
                        continue;
                    }
                    let d = ulps(g, w);
                    differing += usize::from(d > 0);
                    compared += 1;
                    worst = worst.max(d);
                    assert!(d <= MAX_ULPS, "{name}[{j}][{i}]: {g} vs R {w} ({d} ulps)");
                }
            }
        }
        eprintln!(
            "poly and scale against R: {differing} of {compared} values differ, by at most {worst} ulps"
        );
    }

    /// The most ulps allowed between our poly()/scale() and R's (see the test above).
    const MAX_ULPS: u64 = 1;

    #[test]
    fn scale_uses_n_minus_1() {
        let mut x = vec![1.0, 2.0, 3.0, 4.0];
        scale(&mut x);
        // sd of 1..4 is √(5/3).
        let sd = (5.0f64 / 3.0).sqrt();
        assert_eq!(x, [-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd]);
    }
}
