//! numpy's `Generator.multivariate_normal(mean, cov, size, method=...)`: `size × d` standard normals `z`
//! (row after row), then `mean + z @ F.T` for a factor `F` with `F F' = cov`.
//!
//! numpy computes `F` with LAPACK through OpenBLAS and the product with OpenBLAS's `dgemm`. Both are
//! reproduced here for `cholesky` (OpenBLAS's unblocked `potf2`: the products of the row so far
//! subtracted one by one, the square root, the column below scaled by its reciprocal; the product
//! accumulated with fused multiply-adds in `k` order, as its AVX2 and AVX-512 kernels do), so the draws
//! are numpy's bit for bit up to d = 4 (tested against numpy on an AVX-512 machine). From d = 5,
//! OpenBLAS's vector kernels sum some products in blocks of four, and the factor may differ from
//! numpy's in the last bit (tested: within 4 units in the last place at d = 6). `svd` and `eigh` factor `cov` by its eigendecomposition (cyclic Jacobi rotations, accurate
//! to a few units in the last place): LAPACK's singular and eigenvectors are unique only up to sign, and
//! its sign choices come out of Householder reductions that are not reproduced, so each column's sign is
//! fixed by a rule of our own (the largest component is negative) and the draws agree with numpy's to
//! about 1e-13 relative where the signs agree, and are other, equally distributed, draws where not.

use crate::{Error, Generator};

/// How the covariance is factored (numpy's `method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MvnMethod {
    /// Singular value decomposition (numpy's default): `F = U sqrt(S)`, singular values decreasing.
    Svd,
    /// Symmetric eigendecomposition of the lower triangle: `F = U sqrt(|w|)`, eigenvalues increasing.
    Eigh,
    /// Cholesky factor of the lower triangle: `F = L`.
    Cholesky,
}

impl MvnMethod {
    /// The method named as numpy names it.
    pub fn from_name(name: &str) -> Option<MvnMethod> {
        match name {
            "svd" => Some(MvnMethod::Svd),
            "eigh" => Some(MvnMethod::Eigh),
            "cholesky" => Some(MvnMethod::Cholesky),
            _ => None,
        }
    }
}

/// numpy's `tol` of the positive-semidefiniteness check.
const PSD_TOL: f64 = 1e-8;

/// A factor `F` (`d × d`, row major) of a covariance matrix: `F F' = cov`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MvnFactor {
    d: usize,
    f: Vec<f64>,
}

impl MvnFactor {
    /// Factors the `d × d` covariance `cov` (row major) by `method`. A matrix that is not positive
    /// definite (cholesky) or not positive semidefinite (svd, eigh: numpy's check, at its tolerance 1e-8)
    /// is an error, where numpy would raise or warn.
    pub fn new(cov: &[f64], d: usize, method: MvnMethod) -> Result<MvnFactor, Error> {
        if cov.len() != d * d {
            return Err(Error::invalid(
                "cov",
                "cov must be 2 dimensional and square",
            ));
        }
        if cov.iter().any(|x| !x.is_finite()) {
            return Err(Error::invalid("cov", "cov must be finite"));
        }
        let f = match method {
            MvnMethod::Cholesky => cholesky(cov, d)?,
            MvnMethod::Svd | MvnMethod::Eigh => spectral(cov, d, method)?,
        };
        Ok(MvnFactor { d, f })
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// `F`, row major.
    pub fn matrix(&self) -> &[f64] {
        &self.f
    }
}

/// OpenBLAS's `potf2_L` on the lower triangle of `cov`: `L[j][j] = sqrt(a_jj - Σ_k L[j][k]²)`, then
/// `L[i][j] = (a_ij - Σ_k L[i][k] L[j][k]) * (1 / L[j][j])` for the rows below.
fn cholesky(cov: &[f64], d: usize) -> Result<Vec<f64>, Error> {
    let mut l = vec![0.0; d * d];
    for j in 0..d {
        let mut dot = 0.0;
        for k in 0..j {
            dot += l[j * d + k] * l[j * d + k];
        }
        let ajj = cov[j * d + j] - dot;
        if ajj <= 0.0 || ajj.is_nan() {
            return Err(Error::invalid("cov", "Matrix is not positive definite"));
        }
        let ajj = ajj.sqrt();
        l[j * d + j] = ajj;
        let scale = 1.0 / ajj;
        for i in j + 1..d {
            let mut a = cov[i * d + j];
            for k in 0..j {
                a -= l[j * d + k] * l[i * d + k];
            }
            l[i * d + j] = a * scale;
        }
    }
    Ok(l)
}

/// `F = V sqrt(|λ|)` from the eigendecomposition of the symmetric matrix (the lower triangle for eigh,
/// the whole matrix for svd, which must then be symmetric), columns ordered as numpy orders them.
fn spectral(cov: &[f64], d: usize, method: MvnMethod) -> Result<Vec<f64>, Error> {
    let mut a = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            a[i * d + j] = cov[i * d + j];
            a[j * d + i] = cov[i * d + j];
        }
    }
    let (values, vectors) = jacobi(&a, d);
    let mut order: Vec<usize> = (0..d).collect();
    match method {
        // Singular values of a symmetric matrix are the eigenvalues' magnitudes, decreasing.
        MvnMethod::Svd => order.sort_by(|&x, &y| values[y].abs().total_cmp(&values[x].abs())),
        _ => order.sort_by(|&x, &y| values[x].total_cmp(&values[y])),
    }
    let psd = match method {
        MvnMethod::Eigh => values.iter().all(|&w| w >= -PSD_TOL),
        // numpy: allclose(V' S V, cov) with the singular values, which fails for a negative eigenvalue
        // or an asymmetric matrix.
        _ => {
            let rebuilt = |i: usize, j: usize| {
                (0..d).fold(0.0, |s, k| {
                    s + vectors[i * d + k] * values[k].abs() * vectors[j * d + k]
                })
            };
            (0..d).all(|i| {
                (0..d).all(|j| {
                    let c = cov[i * d + j];
                    (rebuilt(i, j) - c).abs() <= PSD_TOL + PSD_TOL * c.abs()
                })
            })
        }
    };
    if !psd {
        return Err(Error::invalid(
            "cov",
            "covariance is not symmetric positive-semidefinite.",
        ));
    }
    let mut f = vec![0.0; d * d];
    for (col, &k) in order.iter().enumerate() {
        let root = values[k].abs().sqrt();
        let largest = (0..d)
            .max_by(|&x, &y| {
                vectors[x * d + k]
                    .abs()
                    .total_cmp(&vectors[y * d + k].abs())
            })
            .unwrap_or(0);
        let sign = if vectors[largest * d + k] > 0.0 {
            -1.0
        } else {
            1.0
        };
        for i in 0..d {
            f[i * d + col] = sign * vectors[i * d + k] * root;
        }
    }
    Ok(f)
}

/// Cyclic Jacobi eigendecomposition of a symmetric matrix: (eigenvalues, eigenvectors as columns, row
/// major). Sweeps until the off-diagonal part is negligible against the diagonal.
fn jacobi(a: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * d + j] * a[i * d + j])
            .sum();
        let diag: f64 = (0..d).map(|i| a[i * d + i] * a[i * d + i]).sum();
        if off <= diag * 1e-34 || off == 0.0 {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (akp, akq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| a[i * d + i]).collect(), v)
}

impl Generator {
    /// `multivariate_normal(mean, cov, size=out.len() / d)` with the factor of `cov`: standard normals
    /// row after row, then `mean + z @ F.T`, the product accumulated with fused multiply-adds in `k`
    /// order (OpenBLAS's `dgemm`). `out` holds `size` rows of `d`; `z` is scratch.
    pub fn fill_multivariate_normal(
        &mut self,
        out: &mut [f64],
        mean: &[f64],
        factor: &MvnFactor,
        z: &mut Vec<f64>,
    ) -> Result<(), Error> {
        let d = factor.d;
        if mean.len() != d {
            return Err(Error::invalid("mean", "mean and cov must have same length"));
        }
        if d == 0 || !out.len().is_multiple_of(d) {
            return Err(Error::invalid("size", "the output is not whole rows of d"));
        }
        z.clear();
        z.resize(out.len(), 0.0);
        self.fill_standard_normal(z);
        for (row, zrow) in out.chunks_exact_mut(d).zip(z.chunks_exact(d)) {
            for (j, o) in row.iter_mut().enumerate() {
                let frow = &factor.f[j * d..(j + 1) * d];
                let t = zrow
                    .iter()
                    .zip(frow)
                    .fold(0.0, |acc, (&x, &f)| f64::mul_add(x, f, acc));
                *o = mean[j] + t;
            }
        }
        Ok(())
    }
}
