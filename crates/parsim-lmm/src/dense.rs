//! Small dense kernels on column-major `f64` storage: Cholesky, triangular solves, inverse,
//! symmetric eigenvalues. None allocates; large Cholesky factorizations go to faer.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{
    cholesky_in_place, cholesky_in_place_scratch, LltRegularization,
};
use faer::linalg::matmul::triangular::{matmul, BlockStructure};
use faer::linalg::triangular_solve::solve_lower_triangular_in_place;
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Accum, MatMut, Par};

/// Above this order the Cholesky factorization is faer's blocked one.
const FAER_CHOLESKY_ORDER: usize = 96;
/// Above this order a matrix known to be dense is factorized by faer: its blocked, vectorized
/// updates beat the unblocked loop from here on (crossed design, order 53: 163k instructions
/// against 60k), while the unblocked loop skips the zeros of a sparse matrix (nested designs).
const FAER_DENSE_ORDER: usize = 32;

/// From this order on, with more than one thread in rayon's pool, the factorization is
/// [`cholesky_parallel`]'s (InstEval's dense block, order 1144, is 0.5 Gflop per evaluation).
const PARALLEL_ORDER: usize = 512;
/// Columns per panel of [`cholesky_parallel`].
const PANEL: usize = 128;

/// Workspace for [`cholesky`] on matrices up to a given order (faer's scratch for large ones).
pub(crate) struct CholeskyScratch {
    buffer: Option<MemBuffer>,
    /// Whether [`cholesky_parallel`] is used (its buffer is for one panel).
    parallel: bool,
}

impl CholeskyScratch {
    /// Scratch for matrices of order up to `n`; `dense`: the matrices have few zeros.
    pub fn new(n: usize, dense: bool) -> Self {
        let order = if dense {
            FAER_DENSE_ORDER
        } else {
            FAER_CHOLESKY_ORDER
        };
        let parallel = n >= PARALLEL_ORDER && rayon::current_num_threads() > 1;
        let buffer = (n > order).then(|| {
            MemBuffer::new(cholesky_in_place_scratch::<f64>(
                if parallel { PANEL } else { n },
                Par::Seq,
                Default::default(),
            ))
        });
        CholeskyScratch { buffer, parallel }
    }
}

/// In-place lower Cholesky factor of the symmetric `n`×`n` matrix in `a` (lower triangle read;
/// column-major, leading dimension `n`). Returns false if a pivot is not positive.
pub(crate) fn cholesky(a: &mut [f64], n: usize, scratch: &mut CholeskyScratch) -> bool {
    if scratch.parallel {
        if let Some(buffer) = scratch.buffer.as_mut() {
            return cholesky_parallel(a, n, buffer);
        }
    }
    if let Some(buffer) = scratch.buffer.as_mut() {
        let mat = MatMut::from_column_major_slice_mut(&mut a[..n * n], n, n);
        let stack = MemStack::new(buffer);
        return cholesky_in_place(
            mat,
            LltRegularization::default(),
            Par::Seq,
            stack,
            Default::default(),
        )
        .is_ok();
    }
    cholesky_small(a, n)
}

/// Right-looking blocked Cholesky whose trailing updates (nearly all the work) run as two column
/// ranges of equal work side by side on rayon's pool: per panel of [`PANEL`] columns, faer factors
/// the diagonal block, solves for the panel below it, and updates the trailing lower triangle.
fn cholesky_parallel(a: &mut [f64], n: usize, buffer: &mut MemBuffer) -> bool {
    let mut mat = MatMut::from_column_major_slice_mut(&mut a[..n * n], n, n);
    for k in (0..n).step_by(PANEL) {
        let nb = PANEL.min(n - k);
        let (left, right) = mat.rb_mut().split_at_col_mut(k + nb);
        let (_, mut block) = left.split_at_col_mut(k);
        let (_, mut block) = block.rb_mut().split_at_row_mut(k);
        let (mut diagonal, mut panel) = block.rb_mut().split_at_row_mut(nb);
        let stack = MemStack::new(buffer);
        let factored = cholesky_in_place(
            diagonal.rb_mut(),
            LltRegularization::default(),
            Par::Seq,
            stack,
            Default::default(),
        );
        if factored.is_err() {
            return false;
        }
        if k + nb == n {
            break;
        }
        // L₂₁ = A₂₁L₁₁⁻ᵀ, i.e. L₁₁L₂₁′ = A₂₁′.
        solve_lower_triangular_in_place(diagonal.rb(), panel.rb_mut().transpose_mut(), Par::Seq);
        let panel = panel.rb();
        let (_, trailing) = right.split_at_row_mut(k + nb);
        // Column j of the trailing triangle costs (t − j): cut where the work halves.
        let t = n - k - nb;
        let cut = ((t as f64) * (1.0 - std::f64::consts::FRAC_1_SQRT_2)) as usize;
        let (first, second) = trailing.split_at_col_mut(cut.max(1).min(t));
        let update = |mut columns: MatMut<'_, f64>, offset: usize| {
            let width = columns.ncols();
            let (top, below) = columns.rb_mut().split_at_row_mut(offset + width);
            let (_, top) = top.split_at_row_mut(offset);
            let (upper, lower) = panel.split_at_row(offset + width);
            let (_, upper) = upper.split_at_row(offset);
            matmul(
                top,
                BlockStructure::TriangularLower,
                Accum::Add,
                upper,
                BlockStructure::Rectangular,
                upper.transpose(),
                BlockStructure::Rectangular,
                -1.0,
                Par::Seq,
            );
            faer::linalg::matmul::matmul(
                below,
                Accum::Add,
                lower,
                upper.transpose(),
                -1.0,
                Par::Seq,
            );
        };
        let split = first.ncols();
        rayon::join(|| update(first, 0), || update(second, split));
    }
    true
}

/// Right-looking unblocked Cholesky for small orders.
pub(crate) fn cholesky_small(a: &mut [f64], n: usize) -> bool {
    for j in 0..n {
        let d = a[j * n + j];
        if d.is_nan() || d <= 0.0 {
            return false;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        let inv = 1.0 / d;
        for i in j + 1..n {
            a[j * n + i] *= inv;
        }
        for k in j + 1..n {
            let lkj = a[j * n + k];
            if lkj != 0.0 {
                let (left, right) = a.split_at_mut(k * n);
                let col_j = &left[j * n..j * n + n];
                let col_k = &mut right[..n];
                for i in k..n {
                    col_k[i] -= col_j[i] * lkj;
                }
            }
        }
    }
    true
}

/// Solves L x = b in place (L lower triangular, `n`×`n`, leading dimension `ld`).
pub(crate) fn forward_solve(l: &[f64], ld: usize, n: usize, b: &mut [f64]) {
    for j in 0..n {
        let x = b[j] / l[j * ld + j];
        b[j] = x;
        for i in j + 1..n {
            b[i] -= l[j * ld + i] * x;
        }
    }
}

/// Solves L' x = b in place.
pub(crate) fn backward_solve(l: &[f64], ld: usize, n: usize, b: &mut [f64]) {
    for j in (0..n).rev() {
        let mut x = b[j];
        for i in j + 1..n {
            x -= l[j * ld + i] * b[i];
        }
        b[j] = x / l[j * ld + j];
    }
}

/// (L L')⁻¹ into `out` (`n`×`n`, column-major), using `column` (length `n`) as scratch.
pub(crate) fn inverse_from_cholesky(
    l: &[f64],
    ld: usize,
    n: usize,
    out: &mut [f64],
    column: &mut [f64],
) {
    for j in 0..n {
        column[..n].fill(0.0);
        column[j] = 1.0;
        forward_solve(l, ld, n, &mut column[..n]);
        backward_solve(l, ld, n, &mut column[..n]);
        out[j * n..j * n + n].copy_from_slice(&column[..n]);
    }
}

/// Eigen-decomposition of the symmetric `n`×`n` matrix `a` (destroyed) by cyclic Jacobi rotations:
/// eigenvalues into `values`, eigenvectors as the columns of `vectors`.
pub(crate) fn symmetric_eigen(a: &mut [f64], n: usize, values: &mut [f64], vectors: &mut [f64]) {
    vectors[..n * n].fill(0.0);
    for i in 0..n {
        vectors[i * n + i] = 1.0;
    }
    for _sweep in 0..100 {
        let mut off = 0.0;
        for j in 0..n {
            for i in 0..j {
                off += a[j * n + i] * a[j * n + i];
            }
        }
        if off < 1e-30 * (1.0 + (0..n).map(|i| a[i * n + i] * a[i * n + i]).sum::<f64>()) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[q * n + p];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let akp = a[p * n + k];
                    let akq = a[q * n + k];
                    a[p * n + k] = c * akp - s * akq;
                    a[q * n + k] = s * akp + c * akq;
                }
                for k in 0..n {
                    let apk = a[k * n + p];
                    let aqk = a[k * n + q];
                    a[k * n + p] = c * apk - s * aqk;
                    a[k * n + q] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let vkp = vectors[p * n + k];
                    let vkq = vectors[q * n + k];
                    vectors[p * n + k] = c * vkp - s * vkq;
                    vectors[q * n + k] = s * vkp + c * vkq;
                }
            }
        }
    }
    for i in 0..n {
        values[i] = a[i * n + i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_and_inverts() {
        // A = [[4, 2], [2, 3]]
        let mut a = [4.0, 2.0, 2.0, 3.0];
        assert!(cholesky_small(&mut a, 2));
        let mut inv = [0.0; 4];
        let mut col = [0.0; 2];
        inverse_from_cholesky(&a, 2, 2, &mut inv, &mut col);
        let expected = [3.0 / 8.0, -2.0 / 8.0, -2.0 / 8.0, 4.0 / 8.0];
        for (x, e) in inv.iter().zip(expected) {
            assert!((x - e).abs() < 1e-15);
        }
        assert!(!cholesky_small(&mut [1.0, 2.0, 2.0, 1.0], 2));
    }

    #[test]
    fn large_cholesky_matches_small() {
        let n = 120;
        let mut a = vec![0.0; n * n];
        for j in 0..n {
            for i in 0..n {
                a[j * n + i] =
                    1.0 / (1.0 + (i as f64 - j as f64).abs()) + if i == j { n as f64 } else { 0.0 };
            }
        }
        let mut b = a.clone();
        assert!(cholesky(&mut a, n, &mut CholeskyScratch::new(n, false)));
        assert!(cholesky_small(&mut b, n));
        for j in 0..n {
            for i in j..n {
                assert!((a[j * n + i] - b[j * n + i]).abs() < 1e-12);
            }
        }
    }

    /// The panel-parallel factorization gives the unblocked one's factor (to rounding), for an
    /// order that is not a multiple of the panel, and reports a matrix that is not positive definite.
    #[test]
    fn parallel_cholesky_matches_small() {
        let n = 2 * PANEL + 37;
        let mut a = vec![0.0; n * n];
        let mut x = 0.41_f64;
        for j in 0..n {
            for i in j..n {
                x = (x * 5.713 + 0.123).fract();
                a[j * n + i] = x - 0.5 + if i == j { n as f64 / 4.0 } else { 0.0 };
            }
        }
        let mut b = a.clone();
        let mut buffer = MemBuffer::new(cholesky_in_place_scratch::<f64>(
            PANEL,
            Par::Seq,
            Default::default(),
        ));
        assert!(cholesky_parallel(&mut a, n, &mut buffer));
        assert!(cholesky_small(&mut b, n));
        for j in 0..n {
            for i in j..n {
                let (x, y) = (a[j * n + i], b[j * n + i]);
                assert!(
                    (x - y).abs() < 1e-12 * y.abs().max(1.0),
                    "({i}, {j}): {x} vs {y}"
                );
            }
        }
        // A negative pivot in the last panel.
        let mut c = vec![0.0; n * n];
        for j in 0..n {
            c[j * n + j] = if j == n - 3 { -1.0 } else { 1.0 };
        }
        assert!(!cholesky_parallel(&mut c, n, &mut buffer));
    }

    #[test]
    fn jacobi_eigenvalues() {
        let mut a = [2.0, 1.0, 1.0, 2.0];
        let (mut values, mut vectors) = ([0.0; 2], [0.0; 4]);
        symmetric_eigen(&mut a, 2, &mut values, &mut vectors);
        values.sort_by(f64::total_cmp);
        assert!((values[0] - 1.0).abs() < 1e-14 && (values[1] - 3.0).abs() < 1e-14);
    }
}
