//! The profiled deviance of θ by a blocked Cholesky factorization, as MixedModels.jl does.
//!
//! The blocks of A = [Z X y]′[Z X y] are formed once per data set: the first random-effects term
//! (the one with the most levels) gives a block-diagonal A₁₁ (one q₁×q₁ block per level) and a
//! sparse A₂₁ (per level of term 1, the rows of the later terms it meets, then X and y); all later
//! terms, X and y form one dense block A₂₂. Per θ:
//!
//! - L₁₁ = chol(Λ₁′A₁₁Λ₁ + I), level by level;
//! - W = A₂₁Λ₁L₁₁⁻ᵀ and the Schur complement S = A₂₂ − WW′ (sparse rank updates, unscaled space);
//! - L₂₂ = chol(Λ₂′SΛ₂ + I₂) with Λ₂ block diagonal over the later terms and identity on X, y.
//!
//! Then log|Lθ|² = 2Σ log diag over the random-effects rows, log|R_X|² = 2Σ log diag over the X rows,
//! and r² is the square of the last diagonal element. Nothing is allocated per evaluation.
//!
//! Where the dense block is large and mostly empty (crossed factors with many levels: InstEval),
//! S is kept and factorized as a sparse matrix under a fill-reducing order instead (`supernodal`).

use crate::dense::{
    backward_solve, cholesky, cholesky_small, forward_solve, inverse_from_cholesky, CholeskyScratch,
};
use crate::supernodal::SparseSchur;
use faer::linalg::matmul::triangular::{matmul, BlockStructure};
use faer::{Accum, MatMut, MatRef, Par};

/// One random-effects term in the blocked layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TermLayout {
    /// Random effects per level.
    pub q: usize,
    /// Levels of the grouping factor.
    pub nlevels: usize,
    /// Position of this term's template in θ.
    pub theta_offset: usize,
    /// First row of this term in the dense block (terms after the first only).
    pub rest_offset: usize,
}

/// The profiled quantities at one θ.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Criteria {
    /// log|Lθ|².
    pub ldl2: f64,
    /// log|R_X|².
    pub ldrx2: f64,
    /// Penalized residual sum of squares r²(θ).
    pub r2: f64,
}

impl Criteria {
    /// The profiled criterion (REML criterion or deviance) of `n` observations and `p` fixed
    /// effects. Here, beside the factorization, so that the fitter and the post-fit derivatives
    /// both use it without depending on each other.
    pub fn criterion(self, reml: bool, n: usize, p: usize) -> f64 {
        let two_pi = 2.0 * std::f64::consts::PI;
        if reml {
            let d = (n - p) as f64;
            self.ldl2 + self.ldrx2 + d * (1.0 + (two_pi * self.r2 / d).ln())
        } else {
            let n = n as f64;
            self.ldl2 + n * (1.0 + (two_pi * self.r2 / n).ln())
        }
    }
}

/// The A blocks of one data set and the workspace of the factorization.
pub(crate) struct Blocked {
    pub terms: Vec<TermLayout>,
    /// Fixed-effects columns.
    pub p: usize,
    /// Order of the dense block: later terms' random effects, then p, then 1 (y).
    pub m: usize,
    pub a11: Vec<f64>,
    pub row_ptr: Vec<usize>,
    pub rows: Vec<u32>,
    pub a21: Vec<f64>,
    pub a22: Vec<f64>,
    lambda: Vec<f64>,
    l11: Vec<f64>,
    /// Per entry of A₂₁ (every level's), the vector whose outer products update S.
    w: Vec<f64>,
    /// Per level of term 1, its next entry in the column-blocked update.
    cursor: Vec<usize>,
    /// Where the rank updates are cut in two halves run side by side, for large S.
    split: Option<Split>,
    /// The entries' vectors as one dense m × (levels·q₁) matrix, when the levels of term 1 meet
    /// most rows of the dense block (crossed designs): S −= WW′ is then one triangular product.
    dense: Option<DenseW>,
    t: Vec<f64>,
    s: Vec<f64>,
    /// Whether every later term is scalar (diagonal scaling suffices).
    scalar_rest: bool,
    /// The dense block's factorization as a sparse one, when its pattern makes that cheaper
    /// (several crossed factors with many levels: InstEval). The dense `s` then still receives
    /// S's values, and the factor's rows of X and y (for [`Blocked::beta`] and
    /// [`Blocked::xvx_inverse`]).
    sparse: Option<SparseSchur>,
    scratch: CholeskyScratch,
    /// [`Blocked::xvx_derivatives`]' U = K⁻¹Λ′Z′X, T = ΛU and W = Z′V⁻¹X, each q×p (random
    /// effects in the factor's order: term 1 level by level, then the dense block's rows).
    deriv_u: Vec<f64>,
    deriv_t: Vec<f64>,
    deriv_w: Vec<f64>,
    /// Per level of term 1: its factor L, a q₁×q₁ temporary and a vector.
    deriv_scratch: Vec<f64>,
    /// [`Blocked::moment_start`]'s p×p factor and β, and its per-column sums.
    start_scratch: Vec<f64>,
    start_sums: Vec<[f64; 3]>,
}

impl Blocked {
    /// Storage for terms `terms` (term 0 first, `rest_offset`s set for the others) and `p` fixed
    /// effects, with per-level row lists of A₂₁ given by `row_ptr`/`rows` (each level's list ends
    /// with the p + 1 rows of X and y).
    pub fn new(terms: Vec<TermLayout>, p: usize, row_ptr: Vec<usize>, rows: Vec<u32>) -> Blocked {
        let q0 = terms[0].q;
        let m = terms[1..].iter().map(|t| t.q * t.nlevels).sum::<usize>() + p + 1;
        let ntemplate: usize = terms.iter().map(|t| t.q * t.q).sum();
        let scalar_rest = terms[1..].iter().all(|t| t.q == 1);
        let dense = (terms.len() > 1 && m >= DENSE_MIN_ORDER)
            .then(|| DenseW::worthwhile(m, q0, &row_ptr, &rows))
            .flatten();
        let sparse = (terms.len() > 1 && scalar_rest && dense.is_none())
            .then(|| SparseSchur::analyse(m, p, &row_ptr, &rows))
            .flatten();
        Blocked {
            a11: vec![0.0; terms[0].nlevels * q0 * q0],
            a21: vec![0.0; rows.len() * q0],
            a22: vec![0.0; m * m],
            lambda: vec![0.0; ntemplate],
            l11: vec![0.0; terms[0].nlevels * q0 * q0],
            w: vec![0.0; rows.len() * q0],
            cursor: vec![0; terms[0].nlevels],
            split: Split::balanced(m, &row_ptr, &rows),
            scratch: CholeskyScratch::new(m, dense.is_some()),
            dense,
            sparse,
            t: vec![0.0; q0 * q0 + m],
            s: vec![0.0; m * m],
            deriv_u: vec![0.0; (terms[0].nlevels * q0 + m - p - 1) * p],
            deriv_t: vec![0.0; (terms[0].nlevels * q0 + m - p - 1) * p],
            deriv_w: vec![0.0; (terms[0].nlevels * q0 + m - p - 1) * p],
            deriv_scratch: vec![0.0; 2 * q0 * q0 + q0],
            start_scratch: vec![0.0; p * p + p],
            start_sums: Vec::with_capacity(terms.iter().map(|t| t.q).sum()),
            terms,
            p,
            m,
            row_ptr,
            rows,
            scalar_rest,
        }
    }

    /// Clears the A blocks before they are accumulated again.
    pub fn clear(&mut self) {
        self.a11.fill(0.0);
        self.a21.fill(0.0);
        self.a22.fill(0.0);
    }

    /// After the A blocks are accumulated: the dense copy of A₂₁ when W is dense, A₂₂ in the
    /// sparse factorization's layout when it is used.
    pub fn assembled(&mut self) {
        if let Some(sparse) = self.sparse.as_mut() {
            sparse.assembled(&self.a22);
        }
        if let Some(dense) = self.dense.as_mut() {
            let (m, q0) = (self.m, self.terms[0].q);
            dense.a.fill(0.0);
            for (&at, a) in dense.offset.iter().zip(self.a21.chunks_exact(q0)) {
                for (j, &v) in a.iter().enumerate() {
                    dense.a[at as usize + j * m] = v;
                }
            }
        }
    }

    fn set_lambda(&mut self, theta: &[f64]) {
        let mut offset = 0;
        for term in &self.terms {
            let q = term.q;
            let template = &mut self.lambda[offset..offset + q * q];
            template.fill(0.0);
            let mut k = term.theta_offset;
            for j in 0..q {
                for i in j..q {
                    template[j * q + i] = theta[k];
                    k += 1;
                }
            }
            offset += q * q;
        }
    }

    /// Factorizes at θ. None when the fixed-effects block is not positive definite.
    pub fn evaluate(&mut self, theta: &[f64]) -> Option<Criteria> {
        self.set_lambda(theta);
        let (m, p) = (self.m, self.p);
        let q0 = self.terms[0].q;
        // The lower triangle only: nothing reads S above the diagonal (InstEval's S is 10 MB). A
        // sparse factorization starts from its own copy of A₂₂ in `rank_updates`.
        if self.sparse.is_none() {
            for j in 0..m {
                self.s[j * m + j..(j + 1) * m].copy_from_slice(&self.a22[j * m + j..(j + 1) * m]);
            }
        }
        let mut ldl2 = match q0 {
            1 => self.first_term_scalar(),
            2 => self.first_term_fixed::<2>()?,
            3 => self.first_term_fixed::<3>()?,
            _ => self.first_term_blocks()?,
        };
        if self.sparse.is_some() {
            return self.factorize_sparse(ldl2);
        }
        self.scale_rest();
        if !cholesky(&mut self.s, m, &mut self.scratch) {
            return None;
        }
        let nre = m - p - 1;
        ldl2 += 2.0 * log_product((0..nre).map(|i| self.s[i * m + i]));
        let ldrx2 = 2.0 * log_product((nre..nre + p).map(|i| self.s[i * m + i]));
        let r = self.s[(m - 1) * m + (m - 1)];
        Some(Criteria {
            ldl2,
            ldrx2,
            r2: r * r,
        })
    }

    /// The end of [`Blocked::evaluate`] with the sparse factorization of Λ₂′SΛ₂ + I₂, given
    /// log|L₁₁|²: the criteria from its diagonal, and its rows of X and y copied into `s`.
    fn factorize_sparse(&mut self, mut ldl2: f64) -> Option<Criteria> {
        let (m, p) = (self.m, self.p);
        let nre = m - p - 1;
        let at = self.rest_diagonal();
        let sparse = self.sparse.as_mut()?;
        if !sparse.factorize(&self.t[at..at + m]) {
            return None;
        }
        ldl2 += 2.0 * log_product((0..nre).map(|j| sparse.diagonal(j)));
        let ldrx2 = 2.0 * log_product((nre..nre + p).map(|j| sparse.diagonal(j)));
        let r = sparse.diagonal(m - 1);
        sparse.trailing(&mut self.s);
        Some(Criteria {
            ldl2,
            ldrx2,
            r2: r * r,
        })
    }

    /// Scalar first term (q₁ = 1): per level d = θ²a + 1, and WW′ = θ²aa′/d. Returns Σ log d.
    fn first_term_scalar(&mut self) -> f64 {
        let t2 = self.lambda[0] * self.lambda[0];
        let dense = self.dense.is_some();
        let mut logdet = 0.0;
        let mut product = 1.0;
        for level in 0..self.terms[0].nlevels {
            let d = t2 * self.a11[level] + 1.0;
            product *= d;
            if level % LOG_CHUNK == LOG_CHUNK - 1 {
                logdet += product.ln();
                product = 1.0;
            }
            // Sparse updates take (θ²/d)a against a; the dense product takes w = θa/√d twice.
            let scale = if dense {
                self.lambda[0] / d.sqrt()
            } else {
                t2 / d
            };
            match self.dense.as_mut() {
                Some(dense) => dense.transform::<1>(level, self.m, &[[scale]]),
                None => {
                    let entries = self.row_ptr[level]..self.row_ptr[level + 1];
                    for (c, a) in self.w[entries.clone()].iter_mut().zip(&self.a21[entries]) {
                        *c = scale * a;
                    }
                }
            }
        }
        if !self.dense_update() {
            self.rank_updates(|scaled, a, e1, e2| scaled[e1] * a[e2]);
        }
        logdet + product.ln()
    }

    /// [`Blocked::first_term_blocks`] for a small fixed q₁: the q×q algebra on stack arrays, unrolled.
    fn first_term_fixed<const Q: usize>(&mut self) -> Option<f64> {
        let m = self.m;
        // lam[j][i] = Λ[i][j] (column j), lower triangular.
        let lam: [[f64; Q]; Q] =
            std::array::from_fn(|j| std::array::from_fn(|i| self.lambda[j * Q + i]));
        let mut logdet = 0.0;
        let mut product = 1.0;
        for level in 0..self.terms[0].nlevels {
            let a: [[f64; Q]; Q] = std::array::from_fn(|j| {
                std::array::from_fn(|i| self.a11[level * Q * Q + j * Q + i])
            });
            // t = AΛ, then L = chol(Λ′t + I), lower, l[j][i] = L[i][j].
            let t: [[f64; Q]; Q] = std::array::from_fn(|j| {
                std::array::from_fn(|i| (j..Q).map(|k| a[k][i] * lam[j][k]).sum())
            });
            let mut l: [[f64; Q]; Q] = std::array::from_fn(|j| {
                std::array::from_fn(|i| {
                    (i..Q).map(|k| lam[i][k] * t[j][k]).sum::<f64>()
                        + if i == j { 1.0 } else { 0.0 }
                })
            });
            for j in 0..Q {
                let mut d = l[j][j];
                for k in 0..j {
                    d -= l[k][j] * l[k][j];
                }
                if d.is_nan() || d <= 0.0 {
                    return None;
                }
                let d = d.sqrt();
                l[j][j] = d;
                product *= d * d;
                for i in j + 1..Q {
                    let mut v = l[j][i];
                    for k in 0..j {
                        v -= l[k][i] * l[k][j];
                    }
                    l[j][i] = v / d;
                }
            }
            if level % LOG_CHUNK == LOG_CHUNK - 1 {
                logdet += product.ln();
                product = 1.0;
            }
            if let Some(dense) = self.dense.as_mut() {
                // w = Ma for every entry, M = L⁻¹Λ′ (row j of M: mt[j]), as one product per level.
                let mt: [[f64; Q]; Q] = std::array::from_fn(|j| {
                    let mut column = [0.0; Q];
                    for (i, c) in column.iter_mut().enumerate() {
                        *c = unit_solve::<Q>(&lam, &l, i)[j];
                    }
                    column
                });
                dense.transform::<Q>(level, m, &mt);
                continue;
            }
            let (start, end) = (self.row_ptr[level], self.row_ptr[level + 1]);
            let nnz = end - start;
            for e in 0..nnz {
                let base = (start + e) * Q;
                let mut w = [0.0; Q];
                for j in 0..Q {
                    let mut v: f64 = (j..Q).map(|i| lam[j][i] * self.a21[base + i]).sum();
                    for k in 0..j {
                        v -= l[k][j] * w[k];
                    }
                    w[j] = v / l[j][j];
                }
                self.w[base..base + Q].copy_from_slice(&w);
            }
        }
        if !self.dense_update() {
            self.rank_updates(|w, _, e1, e2| (0..Q).map(|j| w[e1 * Q + j] * w[e2 * Q + j]).sum());
        }
        Some(logdet + product.ln())
    }

    /// First term with q₁ > 1: per level L = chol(Λ′AΛ + I), W = A₂₁ΛL⁻ᵀ. Returns log|L₁₁|².
    fn first_term_blocks(&mut self) -> Option<f64> {
        let q0 = self.terms[0].q;
        let lam0 = &self.lambda[..q0 * q0];
        let mut logdet = 0.0;
        for level in 0..self.terms[0].nlevels {
            let block = level * q0 * q0..(level + 1) * q0 * q0;
            let l = &mut self.l11[block.clone()];
            scaled_plus_identity(&self.a11[block], lam0, q0, l, &mut self.t);
            if !cholesky_small(l, q0) {
                return None;
            }
            logdet += 2.0 * log_product((0..q0).map(|j| l[j * q0 + j]));
            let (start, end) = (self.row_ptr[level], self.row_ptr[level + 1]);
            let nnz = end - start;
            // w_e = L⁻¹ Λ₁′ a_e for every entry e (a_e: row e of A₂₁ for this level).
            for e in 0..nnz {
                let a = &self.a21[(start + e) * q0..(start + e + 1) * q0];
                let w = &mut self.w[(start + e) * q0..(start + e + 1) * q0];
                for (j, wj) in w.iter_mut().enumerate() {
                    *wj = (j..q0).map(|i| lam0[j * q0 + i] * a[i]).sum();
                }
                forward_solve(l, q0, q0, w);
            }
        }
        if let Some(dense) = self.dense.as_mut() {
            for (&at, w) in dense.offset.iter().zip(self.w.chunks_exact(q0)) {
                for (j, &v) in w.iter().enumerate() {
                    dense.w[at as usize + j * self.m] = v;
                }
            }
        }
        if !self.dense_update() {
            self.rank_updates(|w, _, e1, e2| {
                let (w1, w2) = (&w[e1 * q0..(e1 + 1) * q0], &w[e2 * q0..(e2 + 1) * q0]);
                w1.iter().zip(w2).map(|(a, b)| a * b).sum()
            });
        }
        Some(logdet)
    }

    /// S ← S − WW′ on the lower triangle by one dense product of the dense W (the entries' vectors
    /// stored at their places, its other elements zero). False when W is kept sparse.
    fn dense_update(&mut self) -> bool {
        let Some(dense) = self.dense.as_ref() else {
            return false;
        };
        let m = self.m;
        let columns = dense.w.len() / m;
        let w = MatRef::from_column_major_slice(&dense.w, m, columns);
        let s = MatMut::from_column_major_slice_mut(&mut self.s, m, m);
        matmul(
            s,
            BlockStructure::TriangularLower,
            Accum::Add,
            w,
            BlockStructure::Rectangular,
            w.transpose(),
            BlockStructure::Rectangular,
            -1.0,
            Par::Seq,
        );
        true
    }

    /// S ← S − every level's rank update ([`lower_updates`]), the products taken from the entries'
    /// vectors `w` and A₂₁'s entries. A sparse factorization's S starts from A₂₂ here.
    fn rank_updates(&mut self, product: impl Fn(&[f64], &[f64], usize, usize) -> f64 + Sync) {
        if let Some(sparse) = self.sparse.as_mut() {
            let (w, a21) = (&self.w, &self.a21);
            sparse.rank_updates(&self.row_ptr, |e1, e2| product(w, a21, e1, e2));
            return;
        }
        let Blocked {
            s,
            m,
            row_ptr,
            rows,
            cursor,
            split,
            w,
            a21,
            ..
        } = self;
        let (m, w, a21) = (*m, &*w, &*a21);
        let product = |e1: usize, e2: usize| product(w, a21, e1, e2);
        let width = block_width(m);
        let levels = cursor.len();
        cursor.copy_from_slice(&row_ptr[..levels]);
        match split {
            None => lower_updates(width, s, 0..m, m, row_ptr, rows, cursor, product),
            Some(split) => {
                // Disjoint columns of S, each entry's updates still in level order: the same bits.
                let (left, right) = s.split_at_mut(split.column * m);
                let (first, second) = (0..split.column, split.column..m);
                rayon::join(
                    || lower_updates(width, left, first, m, row_ptr, rows, cursor, product),
                    || {
                        let cursor = &mut split.cursor;
                        cursor.copy_from_slice(&split.start);
                        lower_updates(width, right, second, m, row_ptr, rows, cursor, product)
                    },
                );
            }
        }
    }

    /// Λ₂'s diagonal for scalar later terms (θ on each later term's rows, 1 on X and y), into
    /// `t` from the returned offset on.
    fn rest_diagonal(&mut self) -> usize {
        let m = self.m;
        let first = self.terms[0].q * self.terms[0].q;
        let d = &mut self.t[first..first + m];
        d.fill(1.0);
        for (offset, term) in (first..).zip(&self.terms[1..]) {
            d[term.rest_offset..term.rest_offset + term.nlevels].fill(self.lambda[offset]);
        }
        first
    }

    /// S ← Λ₂′SΛ₂ + I on the random-effects rows of the dense block (lower triangle).
    fn scale_rest(&mut self) {
        let m = self.m;
        if self.terms.len() == 1 {
            return;
        }
        if self.scalar_rest {
            let at = self.rest_diagonal();
            let d = &mut self.t[at..];
            for j in 0..m {
                let dj = d[j];
                for i in j..m {
                    self.s[j * m + i] *= d[i] * dj;
                }
            }
        } else {
            // Symmetrize, then scale each level block on both sides by its template.
            for j in 0..m {
                for i in j + 1..m {
                    self.s[i * m + j] = self.s[j * m + i];
                }
            }
            let mut offset = self.terms[0].q * self.terms[0].q;
            for term in &self.terms[1..] {
                let q = term.q;
                let lam = &self.lambda[offset..offset + q * q];
                for level in 0..term.nlevels {
                    let c = term.rest_offset + level * q;
                    scale_block(&mut self.s, m, c, q, lam, &mut self.t);
                }
                offset += q * q;
            }
        }
        for term in &self.terms[1..] {
            for i in term.rest_offset..term.rest_offset + term.q * term.nlevels {
                self.s[i * m + i] += 1.0;
            }
        }
    }

    /// β̂ after an evaluation: β̂ = L_XX⁻ᵀ l_yX.
    pub fn beta(&self, out: &mut [f64]) {
        let (m, p) = (self.m, self.p);
        let x0 = m - p - 1;
        for (j, b) in out[..p].iter_mut().enumerate() {
            *b = self.s[(x0 + j) * m + (m - 1)];
        }
        backward_solve(&self.s[x0 * m + x0..], m, p, &mut out[..p]);
    }

    /// (X′V⁻¹X)⁻¹ = (R_X′R_X)⁻¹ after an evaluation, `p`×`p` column-major.
    pub fn xvx_inverse(&self, out: &mut [f64], column: &mut [f64]) {
        let (m, p) = (self.m, self.p);
        let x0 = m - p - 1;
        inverse_from_cholesky(&self.s[x0 * m + x0..], m, p, out, column);
    }

    /// Derivatives of X′V⁻¹X (V = ZΛΛ′Z′ + I, relative to σ²) in each θ element, after an
    /// [`Blocked::evaluate`] at `theta`: `out[i·p² ..]` receives D_i = −∂(X′V⁻¹X)/∂θ_i, p×p
    /// column-major, so that ∂(X′V⁻¹X)⁻¹/∂θ_i = C D_i C with C = (X′V⁻¹X)⁻¹.
    ///
    /// Analytic, hence as accurate for large θ as for small (finite differences of C lose digits
    /// where C hardly moves, or where the steps are far from the scale on which it moves): with
    /// K = Λ′Z′ZΛ + I, U = K⁻¹Λ′Z′X = Λ′Z′V⁻¹X and W = Z′V⁻¹X = Z′X − Z′ZΛU,
    /// D_i = W′E_iU + U′E_i′W where E_i = ∂Λ/∂θ_i. U comes from the factor of the evaluation
    /// (U = L_Z′⁻¹ L_XZ′), W from the A blocks. Allocates nothing.
    pub fn xvx_derivatives(&mut self, theta: &[f64], out: &mut [f64]) {
        self.set_lambda(theta);
        let (m, p) = (self.m, self.p);
        let nre = m - p - 1;
        let (q0, n0) = (self.terms[0].q, self.terms[0].nlevels);
        let q = n0 * q0 + nre;
        let (u, t, w) = (&mut self.deriv_u, &mut self.deriv_t, &mut self.deriv_w);
        let scratch = &mut self.deriv_scratch;
        // Column j of a q×p matrix: [j·q, (j+1)·q); the dense block's rows start at n0·q0.
        let rest = n0 * q0;
        // Rows of the dense block: U₂ = L₂₂′⁻¹ L_X2′ (L_X2′ is the factor's X rows there). A
        // sparse factor is made dense first, in its order, and U₂ taken back to the block's.
        if let Some(sparse) = &self.sparse {
            sparse.scatter(&mut self.s);
        }
        for j in 0..p {
            let column = &mut u[j * q + rest..(j + 1) * q];
            for (r, v) in column.iter_mut().enumerate() {
                *v = self.s[r * m + nre + j];
            }
            backward_solve(&self.s, m, nre, column);
            if let Some(sparse) = &self.sparse {
                let permuted = &mut self.t[..nre];
                permuted.copy_from_slice(column);
                for (new, &v) in permuted.iter().enumerate() {
                    column[sparse.old(new)] = v;
                }
            }
        }
        // T₂ = Λ₂U₂, level block by level block of each later term.
        let mut offset = q0 * q0;
        for term in &self.terms[1..] {
            let tq = term.q;
            let lam = &self.lambda[offset..offset + tq * tq];
            for j in 0..p {
                for level in 0..term.nlevels {
                    let base = j * q + rest + term.rest_offset + level * tq;
                    for a in 0..tq {
                        t[base + a] = (0..=a).map(|b| lam[b * tq + a] * u[base + b]).sum();
                    }
                }
            }
            offset += tq * tq;
        }
        // Term 1, level by level: U₁ = (L L′)⁻¹ Λ₁′ (Z₁′X − Z₁′Z₂T₂), L = chol(Λ₁′A₁₁Λ₁ + I).
        let lam0 = &self.lambda[..q0 * q0];
        let (l, tail) = scratch.split_at_mut(q0 * q0);
        let (tmp, vector) = tail.split_at_mut(q0 * q0);
        for level in 0..n0 {
            let block = level * q0 * q0..(level + 1) * q0 * q0;
            scaled_plus_identity(&self.a11[block.clone()], lam0, q0, l, tmp);
            if !cholesky_small(l, q0) {
                u.fill(f64::NAN);
                out.fill(f64::NAN);
                return;
            }
            let (start, end) = (self.row_ptr[level], self.row_ptr[level + 1]);
            // The level's list ends with the rows of X (then y).
            let x_entries = end - p - 1;
            for j in 0..p {
                let a_x = &self.a21[(x_entries + j) * q0..(x_entries + j + 1) * q0];
                let v = &mut vector[..q0];
                v.copy_from_slice(a_x);
                for e in start..x_entries {
                    let r = self.rows[e] as usize;
                    let tr = t[j * q + rest + r];
                    for (vi, ai) in v.iter_mut().zip(&self.a21[e * q0..(e + 1) * q0]) {
                        *vi -= ai * tr;
                    }
                }
                let base = j * q + level * q0;
                for b in 0..q0 {
                    u[base + b] = (b..q0).map(|a| lam0[b * q0 + a] * v[a]).sum();
                }
                forward_solve(l, q0, q0, &mut u[base..base + q0]);
                backward_solve(l, q0, q0, &mut u[base..base + q0]);
                for a in 0..q0 {
                    t[base + a] = (0..=a).map(|b| lam0[b * q0 + a] * u[base + b]).sum();
                }
            }
        }
        // W = Z′X − Z′Z T from the A blocks (lower triangles).
        let a22 = |r: usize, c: usize| {
            let (r, c) = if r >= c { (r, c) } else { (c, r) };
            self.a22[c * m + r]
        };
        for j in 0..p {
            let (tj, wj) = (&t[j * q..(j + 1) * q], &mut w[j * q..(j + 1) * q]);
            for r in 0..nre {
                wj[rest + r] =
                    a22(nre + j, r) - (0..nre).map(|c| a22(r, c) * tj[rest + c]).sum::<f64>();
            }
            for level in 0..n0 {
                let (start, end) = (self.row_ptr[level], self.row_ptr[level + 1]);
                let x_entries = end - p - 1;
                let a11 = &self.a11[level * q0 * q0..(level + 1) * q0 * q0];
                let t1 = &tj[level * q0..(level + 1) * q0];
                for a in 0..q0 {
                    let mut v = self.a21[(x_entries + j) * q0 + a];
                    v -= (0..q0).map(|b| a11[b * q0 + a] * t1[b]).sum::<f64>();
                    for e in start..x_entries {
                        v -= self.a21[e * q0 + a] * tj[rest + self.rows[e] as usize];
                    }
                    wj[level * q0 + a] = v;
                }
                for e in start..x_entries {
                    let ae = &self.a21[e * q0..(e + 1) * q0];
                    let r = self.rows[e] as usize;
                    wj[rest + r] -= ae.iter().zip(t1).map(|(x, y)| x * y).sum::<f64>();
                }
            }
        }
        // D_i = W′E_iU + U′E_i′W: E_i picks row a of W and row b of U in every level block.
        let pp = p * p;
        for (index, term) in self.terms.iter().enumerate() {
            let tq = term.q;
            let first = if index == 0 {
                0
            } else {
                rest + term.rest_offset
            };
            let mut i = term.theta_offset;
            for b in 0..tq {
                for a in b..tq {
                    let d = &mut out[i * pp..(i + 1) * pp];
                    for j2 in 0..p {
                        for j1 in 0..p {
                            let mut g = 0.0;
                            for level in 0..term.nlevels {
                                let row = first + level * tq;
                                g += w[j1 * q + row + a] * u[j2 * q + row + b]
                                    + u[j1 * q + row + b] * w[j2 * q + row + a];
                            }
                            d[j2 * p + j1] = g;
                        }
                    }
                    i += 1;
                }
            }
        }
    }

    /// Multiply-adds of one [`Blocked::evaluate`], roughly: the first term's level blocks and
    /// entries, the dense block's factorization.
    pub fn evaluation_work(&self) -> usize {
        let q0 = self.terms[0].q;
        self.terms[0].nlevels * q0 * q0 * q0 + self.rows.len() * q0 * q0 + self.m.pow(3) / 6
    }

    /// A starting θ from the A blocks of `n` observations, by moments: each random-effects column
    /// z of each term, on its own, as a random coefficient of its grouping factor. With r the
    /// residuals of the OLS fit and, per level, s = z′r and c = z′z, the between-level sum
    /// Σ s²/c has expectation σ_b²Σc + Lσ² (L levels), which gives σ_b² once σ² is known; σ² is
    /// the residual variance less the components' share (Σ σ_b²Σc/n), two rounds from σ² = r′r/(n−p).
    /// θ's template diagonals are σ_b/σ clipped to [`START_MIN`, `START_MAX`], its other elements 0.
    /// Crossed and nested factors make the estimates rough (a nested factor's level sums carry
    /// the outer factor's effects too), but of the right order where θ = 1 may be far off.
    /// False (θ untouched) when X′X is singular or the residual sum of squares vanishes.
    pub fn moment_start(&mut self, n: usize, theta: &mut [f64]) -> bool {
        let (m, p) = (self.m, self.p);
        let x0 = m - p - 1;
        let a22 = |r: usize, c: usize| self.a22[r.min(c) * m + r.max(c)];
        // β_OLS from X′X β = X′y: the p×p factor and β in the scratch.
        let (factor, beta) = self.start_scratch.split_at_mut(p * p);
        for j in 0..p {
            for i in 0..p {
                factor[j * p + i] = a22(x0 + i, x0 + j);
            }
            beta[j] = a22(x0 + j, m - 1);
        }
        if !cholesky_small(factor, p) {
            return false;
        }
        forward_solve(factor, p, p, beta);
        backward_solve(factor, p, p, beta);
        let rss = a22(m - 1, m - 1) - (0..p).map(|j| beta[j] * a22(x0 + j, m - 1)).sum::<f64>();
        if rss.is_nan() || rss <= 0.0 || n <= p {
            return false;
        }
        let total = rss / (n - p) as f64;
        let beta = &*beta;
        // Per template diagonal: (Σ s²/c, Σ c, L), then σ_b² by the rounds below.
        let components = &mut self.start_sums;
        components.clear();
        for (index, term) in self.terms.iter().enumerate() {
            for column in 0..term.q {
                let (mut between, mut weight, mut levels) = (0.0, 0.0, 0.0);
                for level in 0..term.nlevels {
                    let (c, s) = if index == 0 {
                        let q0 = term.q;
                        let c = self.a11[level * q0 * q0 + column * q0 + column];
                        let end = self.row_ptr[level + 1];
                        let at = |e: usize| self.a21[e * q0 + column];
                        let zx = |j: usize| at(end - p - 1 + j);
                        (
                            c,
                            at(end - 1) - (0..p).map(|j| beta[j] * zx(j)).sum::<f64>(),
                        )
                    } else {
                        let r = term.rest_offset + level * term.q + column;
                        let zx = |j: usize| a22(r, x0 + j);
                        (
                            a22(r, r),
                            a22(r, m - 1) - (0..p).map(|j| beta[j] * zx(j)).sum::<f64>(),
                        )
                    };
                    if c > 0.0 {
                        between += s * s / c;
                        weight += c;
                        levels += 1.0;
                    }
                }
                components.push([between, weight, levels]);
            }
        }
        let mut sigma2 = total;
        let variance = |[between, weight, levels]: [f64; 3], sigma2: f64| {
            if weight > 0.0 {
                ((between - levels * sigma2) / weight).max(0.0)
            } else {
                0.0
            }
        };
        for _ in 0..2 {
            let share: f64 = components
                .iter()
                .map(|&c| variance(c, sigma2) * c[1] / n as f64)
                .sum();
            sigma2 = (total - share).max(START_RESIDUAL_FLOOR * total);
        }
        let mut next = components.iter();
        for term in &self.terms {
            let mut k = term.theta_offset;
            for j in 0..term.q {
                for i in j..term.q {
                    theta[k] = if i == j {
                        let c = next.next().copied().unwrap_or_default();
                        (variance(c, sigma2) / sigma2)
                            .sqrt()
                            .clamp(START_MIN, START_MAX)
                    } else {
                        0.0
                    };
                    k += 1;
                }
            }
        }
        true
    }

    /// The fixed-effects block X′X of A (lower triangle), `p`×`p` column-major into `out`.
    pub fn xtx(&self, out: &mut [f64]) {
        let (m, p) = (self.m, self.p);
        let x0 = m - p - 1;
        for j in 0..p {
            for i in 0..p {
                let (r, c) = if i >= j { (i, j) } else { (j, i) };
                out[j * p + i] = self.a22[(x0 + c) * m + x0 + r];
            }
        }
    }
}

/// Bounds of [`Blocked::moment_start`]'s template diagonals: inside BOBYQA's region away from the
/// bound 0 (where its first steps would be cut short), and no further out than a variance ratio
/// of 100.
const START_MIN: f64 = 0.1;
const START_MAX: f64 = 10.0;
/// The residual variance of [`Blocked::moment_start`] is at least this share of the OLS one.
const START_RESIDUAL_FLOOR: f64 = 0.05;

/// Bytes of S that one block of columns of [`lower_updates`] spans: within the L2 cache.
const UPDATE_BLOCK_BYTES: usize = 512 * 1024;

/// Columns of S (order `m`) per block of [`lower_updates`].
fn block_width(m: usize) -> usize {
    (UPDATE_BLOCK_BYTES / (8 * m)).max(1)
}

/// S ← S − Σ over the levels of term 1 of each level's symmetric rank update, on the lower triangle
/// of the columns `columns` of S (held in `s`, from the first of them on): for the entries e2 ≤ e1 of
/// a level (global indices into A₂₁; a level's rows ascend) with `rows[e2]` among the columns, the
/// entry in row `rows[e1]`, column `rows[e2]` less `product(e1, e2)`. `cursor[level]` starts at the
/// level's first entry in those columns. Done `width` columns at a time, every level for each block:
/// S may be far larger than the cache (10 MB for InstEval), and a level's updates are scattered over
/// it. Every entry still receives its updates in level order, so the blocking changes no bit.
#[allow(clippy::too_many_arguments)]
fn lower_updates(
    width: usize,
    s: &mut [f64],
    columns: std::ops::Range<usize>,
    m: usize,
    row_ptr: &[usize],
    rows: &[u32],
    cursor: &mut [usize],
    product: impl Fn(usize, usize) -> f64,
) {
    let offset = columns.start * m;
    for first in columns.clone().step_by(width) {
        let next = (first + width).min(columns.end);
        for (level, at) in cursor.iter_mut().enumerate() {
            let end = row_ptr[level + 1];
            while *at < end && (rows[*at] as usize) < next {
                let (e2, column) = (*at, rows[*at] as usize * m - offset);
                for e1 in e2..end {
                    s[column + rows[e1] as usize] -= product(e1, e2);
                }
                *at += 1;
            }
        }
    }
}

/// Column `i` of M = L⁻¹Λ′ for a Q×Q lower Λ (`lam[j][i]` = Λ[i][j])
/// and its Cholesky factor L (`l[j][i]` = L[i][j]).
fn unit_solve<const Q: usize>(lam: &[[f64; Q]; Q], l: &[[f64; Q]; Q], i: usize) -> [f64; Q] {
    let mut w = [0.0; Q];
    for j in 0..Q {
        // (Λ′eᵢ)ⱼ = Λ[i][j].
        let mut v = lam[j][i];
        for k in 0..j {
            v -= l[k][j] * w[k];
        }
        w[j] = v / l[j][j];
    }
    w
}

/// Smallest dense block for which [`DenseW`] is considered. Even small blocks gain: Penicillin's
/// (order 8, 24 levels) evaluates in 8,776 instructions against 25,751 with the sparse updates.
const DENSE_MIN_ORDER: usize = 4;

/// The dense W of [`Blocked::dense_update`].
struct DenseW {
    /// m × (levels·q₁), column-major: column level·q₁ + j holds component j of the level's entries.
    w: Vec<f64>,
    /// A₂₁ in the same layout (zero where a level meets no row).
    a: Vec<f64>,
    /// Per entry of A₂₁, where its first component goes in `w` (component j is m further on each).
    offset: Vec<u32>,
}

impl DenseW {
    /// A dense W when the product costs less than the sparse updates: the product's work is
    /// levels·m(m+1)/2 multiply-adds, done four at a time with little overhead, against
    /// Σ nnz(nnz+1)/2 scattered ones, each several instructions. Worth it above a quarter full.
    fn worthwhile(m: usize, q0: usize, row_ptr: &[usize], rows: &[u32]) -> Option<DenseW> {
        let levels = row_ptr.len() - 1;
        let sparse: usize = row_ptr
            .windows(2)
            .map(|l| (l[1] - l[0]) * (l[1] - l[0] + 1) / 2)
            .sum();
        let dense = levels * m * (m + 1) / 2;
        let size = m * levels * q0;
        if levels == 0 || 4 * sparse <= dense || u32::try_from(size).is_err() {
            return None;
        }
        let offset = row_ptr
            .windows(2)
            .enumerate()
            .flat_map(|(level, l)| {
                rows[l[0]..l[1]]
                    .iter()
                    .map(move |&r| (level * q0 * m) as u32 + r)
            })
            .collect();
        Some(DenseW {
            w: vec![0.0; size],
            a: vec![0.0; size],
            offset,
        })
    }

    /// The level's columns of W from its columns of A: column j = Σᵢ mt[j][i] · column i
    /// (contiguous columns of m: the loops vectorize).
    fn transform<const Q: usize>(&mut self, level: usize, m: usize, mt: &[[f64; Q]; Q]) {
        let block = level * Q * m..(level + 1) * Q * m;
        let (w, a) = (&mut self.w[block.clone()], &self.a[block]);
        for (j, out) in w.chunks_exact_mut(m).enumerate() {
            let mut sources = a.chunks_exact(m).zip(&mt[j]);
            if let Some((first, &c)) = sources.next() {
                for (o, x) in out.iter_mut().zip(first) {
                    *o = c * x;
                }
            }
            for (source, &c) in sources {
                for (o, x) in out.iter_mut().zip(source) {
                    *o += c * x;
                }
            }
        }
    }
}

/// Rank updates (pairs of entries of a level) per evaluation above which they are cut in two.
const SPLIT_UPDATES: usize = 1 << 18;

/// The rank updates cut at a column of S into two halves of about equal work, which run side by side.
struct Split {
    /// The first column of the second half.
    column: usize,
    /// Per level, its first entry in the second half's columns.
    start: Vec<usize>,
    /// The second half's cursor (the first half uses the workspace's).
    cursor: Vec<usize>,
}

impl Split {
    /// The cut for a sparsity pattern, or `None` when the updates are too few to share.
    fn balanced(m: usize, row_ptr: &[usize], rows: &[u32]) -> Option<Split> {
        // Work of a column: the updates whose e2 lies in it.
        let mut work = vec![0usize; m];
        for level in row_ptr.windows(2) {
            for e2 in level[0]..level[1] {
                work[rows[e2] as usize] += level[1] - e2;
            }
        }
        let total: usize = work.iter().sum();
        if total < SPLIT_UPDATES {
            return None;
        }
        let mut done = 0;
        let column = work.iter().position(|&w| {
            done += w;
            2 * done >= total
        })? + 1;
        Some(Split::at(column, row_ptr, rows))
    }

    /// The cut before column `column`.
    fn at(column: usize, row_ptr: &[usize], rows: &[u32]) -> Split {
        let start: Vec<usize> = row_ptr
            .windows(2)
            .map(|level| {
                let entries = &rows[level[0]..level[1]];
                level[0] + entries.partition_point(|&r| (r as usize) < column)
            })
            .collect();
        Split {
            column,
            cursor: start.clone(),
            start,
        }
    }
}

/// Values multiplied per logarithm in [`log_product`]: few logarithms, no overflow for any
/// diagonal a Cholesky factor of a fit can have.
const LOG_CHUNK: usize = 16;

/// Σ log xᵢ with one logarithm per [`LOG_CHUNK`] values.
fn log_product(values: impl Iterator<Item = f64>) -> f64 {
    let mut sum = 0.0;
    let mut product = 1.0;
    for (i, v) in values.enumerate() {
        product *= v;
        if i % LOG_CHUNK == LOG_CHUNK - 1 {
            sum += product.ln();
            product = 1.0;
        }
    }
    sum + product.ln()
}

/// out = Λ′ A Λ + I for a q×q symmetric block A (lower triangle of Λ given; full A).
fn scaled_plus_identity(a: &[f64], lam: &[f64], q: usize, out: &mut [f64], t: &mut [f64]) {
    if q == 1 {
        out[0] = lam[0] * a[0] * lam[0] + 1.0;
        return;
    }
    // t = A Λ
    for j in 0..q {
        for i in 0..q {
            t[j * q + i] = (j..q).map(|k| a[k * q + i] * lam[j * q + k]).sum();
        }
    }
    // out = Λ′ t + I
    for j in 0..q {
        for i in 0..q {
            let v: f64 = (i..q).map(|k| lam[i * q + k] * t[j * q + k]).sum();
            out[j * q + i] = v + if i == j { 1.0 } else { 0.0 };
        }
    }
}

/// S[:, c..c+q] ← S[:, c..c+q] Λ and S[c..c+q, :] ← Λ′ S[c..c+q, :] on a full symmetric S.
fn scale_block(s: &mut [f64], m: usize, c: usize, q: usize, lam: &[f64], tmp: &mut [f64]) {
    for i in 0..m {
        for j in 0..q {
            tmp[j] = (j..q).map(|k| s[(c + k) * m + i] * lam[j * q + k]).sum();
        }
        for j in 0..q {
            s[(c + j) * m + i] = tmp[j];
        }
    }
    for j in 0..m {
        for i in 0..q {
            tmp[i] = (i..q).map(|k| lam[i * q + k] * s[j * m + c + k]).sum();
        }
        for i in 0..q {
            s[j * m + c + i] = tmp[i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{lower_updates, Blocked, Split, TermLayout};

    /// The blocks of A = M′M for a crossed design: `levels` levels of a first term with `q0`
    /// effects, each meeting every level of a scalar second term (5 levels), one fixed effect and y;
    /// M has pseudo-random entries in the columns each row's levels select.
    fn crossed_blocks(q0: usize, levels: usize) -> Blocked {
        let (second, p) = (5, 1);
        let m = second + p + 1;
        let terms = vec![
            TermLayout {
                q: q0,
                nlevels: levels,
                theta_offset: 0,
                rest_offset: 0,
            },
            TermLayout {
                q: 1,
                nlevels: second,
                theta_offset: q0 * (q0 + 1) / 2,
                rest_offset: 0,
            },
        ];
        let row_ptr = (0..=levels).map(|l| l * m).collect();
        let rows = (0..levels).flat_map(|_| 0..m as u32).collect();
        let mut b = Blocked::new(terms, p, row_ptr, rows);
        b.clear();
        let mut x = 0.377_f64;
        let mut next = || {
            x = (x * 7.919 + 0.311).fract();
            x - 0.5
        };
        for level in 0..levels {
            for h in 0..second {
                for _ in 0..3 {
                    let z0: Vec<f64> = (0..q0).map(|j| if j == 0 { 1.0 } else { next() }).collect();
                    // The dense block's vector of this row: the second term's indicator, x, y.
                    let mut v = vec![0.0; m];
                    v[h] = 1.0;
                    v[second] = next();
                    v[m - 1] = next() + 2.0 * v[second];
                    let block = &mut b.a11[level * q0 * q0..(level + 1) * q0 * q0];
                    for c in 0..q0 {
                        for r in 0..q0 {
                            block[c * q0 + r] += z0[r] * z0[c];
                        }
                    }
                    for (e, &ve) in v.iter().enumerate() {
                        for c in 0..q0 {
                            b.a21[(level * m + e) * q0 + c] += ve * z0[c];
                        }
                    }
                    for c in 0..m {
                        for r in c..m {
                            b.a22[c * m + r] += v[r] * v[c];
                        }
                    }
                }
            }
        }
        b.assembled();
        b
    }

    /// The dense product of W gives the criteria of the sparse rank updates (to rounding: the sums
    /// run in another order), for every kind of first term (scalar, unrolled q = 2 and 3, general).
    #[test]
    fn dense_and_sparse_updates_agree() {
        for q0 in 1..=4 {
            let mut dense = crossed_blocks(q0, 9);
            assert!(
                dense.dense.is_some(),
                "q = {q0}: crossed levels make W dense"
            );
            let mut sparse = crossed_blocks(q0, 9);
            sparse.dense = None;
            let k = q0 * (q0 + 1) / 2 + 1;
            let theta: Vec<f64> = (0..k).map(|i| 0.3 + 0.2 * i as f64).collect();
            let (d, s) = (
                dense.evaluate(&theta).unwrap(),
                sparse.evaluate(&theta).unwrap(),
            );
            for (a, b) in [(d.ldl2, s.ldl2), (d.ldrx2, s.ldrx2), (d.r2, s.r2)] {
                assert!(
                    (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                    "q = {q0}: {a} vs {b}"
                );
            }
        }
    }

    /// The blocks of A for three crossed scalar intercepts, as InstEval's (`n0` students each
    /// rating a few of `n1` instructors, each of one of `n2` departments), an intercept, one
    /// covariate and y: each observation's dense-block vector is [d indicator, dept indicator, 1, x, y].
    fn three_crossed_blocks(n0: usize, n1: usize, n2: usize) -> Blocked {
        let (p, mut x) = (2, 0.2024_f64);
        let m = n1 + n2 + p + 1;
        let mut next = || {
            x = (x * 9.871 + 0.173).fract();
            x
        };
        let mut observations = Vec::new();
        for level in 0..n0 {
            for _ in 0..4 + level % 5 {
                // Instructors near the student's own (courses of one programme): little fill.
                let d = (level * n1 / n0 + (next() * 25.0) as usize) % n1;
                let (cov, noise) = (next() - 0.5, next() - 0.5);
                observations.push((level, d, d % n2, cov, 3.0 + cov + noise + 0.01 * d as f64));
            }
        }
        let (mut row_ptr, mut rows) = (vec![0], Vec::new());
        for level in 0..n0 {
            let mut list: Vec<u32> = observations
                .iter()
                .filter(|o| o.0 == level)
                .flat_map(|o| [o.1 as u32, (n1 + o.2) as u32])
                .collect();
            list.sort_unstable();
            list.dedup();
            list.extend((m - p - 1..m).map(|r| r as u32));
            rows.extend(list);
            row_ptr.push(rows.len());
        }
        let terms = [(n0, 0), (n1, 0), (n2, n1)]
            .iter()
            .enumerate()
            .map(|(k, &(nlevels, rest_offset))| TermLayout {
                q: 1,
                nlevels,
                theta_offset: k,
                rest_offset,
            })
            .collect();
        let mut b = Blocked::new(terms, p, row_ptr, rows);
        b.clear();
        for &(level, d, dept, cov, y) in &observations {
            let mut v = vec![0.0; m];
            (v[d], v[n1 + dept], v[m - 3], v[m - 2], v[m - 1]) = (1.0, 1.0, 1.0, cov, y);
            b.a11[level] += 1.0;
            let (lo, hi) = (b.row_ptr[level], b.row_ptr[level + 1]);
            for (e, &r) in (lo..hi).zip(&b.rows[lo..hi]) {
                b.a21[e] += v[r as usize];
            }
            for c in 0..m {
                for r in c..m {
                    b.a22[c * m + r] += v[r] * v[c];
                }
            }
        }
        b.assembled();
        b
    }

    /// The sparse factorization of the dense block (crossed factors with many levels) gives the
    /// criteria of the dense one, to rounding (sums in another order), and the same β̂ and
    /// (X′V⁻¹X)⁻¹ and its derivatives (which read the factor's rows of X).
    #[test]
    fn sparse_and_dense_factorizations_agree() {
        let mut sparse = three_crossed_blocks(900, 400, 7);
        assert!(
            sparse.sparse.is_some(),
            "400 instructors: the sparse factor"
        );
        let mut dense = three_crossed_blocks(900, 400, 7);
        dense.sparse = None;
        let close = |a: f64, b: f64, what: &str| {
            assert!(
                (a - b).abs() <= 1e-10 * b.abs().max(1.0),
                "{what}: {a} vs {b}"
            );
        };
        for theta in [[0.4, 0.7, 1.3], [2.0, 0.05, 0.0], [0.0, 3.0, 0.5]] {
            let (s, d) = (
                sparse.evaluate(&theta).unwrap(),
                dense.evaluate(&theta).unwrap(),
            );
            close(s.ldl2, d.ldl2, "log|L|²");
            close(s.ldrx2, d.ldrx2, "log|R_X|²");
            close(s.r2, d.r2, "r²");
            let (mut bs, mut bd) = ([0.0; 2], [0.0; 2]);
            sparse.beta(&mut bs);
            dense.beta(&mut bd);
            let (mut cs, mut cd, mut column) = ([0.0; 4], [0.0; 4], [0.0; 2]);
            sparse.xvx_inverse(&mut cs, &mut column);
            dense.xvx_inverse(&mut cd, &mut column);
            let (mut ds, mut dd) = ([0.0; 12], [0.0; 12]);
            sparse.xvx_derivatives(&theta, &mut ds);
            dense.xvx_derivatives(&theta, &mut dd);
            for (a, b) in bs
                .iter()
                .zip(&bd)
                .chain(cs.iter().zip(&cd))
                .chain(ds.iter().zip(&dd))
            {
                close(*a, *b, "β̂, (X′V⁻¹X)⁻¹ or its derivative");
            }
        }
    }

    /// The blocking of the rank updates changes no bit: any block width gives the S of one block
    /// spanning every column (each entry gets its updates in level order either way).
    #[test]
    fn rank_updates_do_not_depend_on_the_block_width() {
        // 40 levels over a 23-row block, each meeting an ascending subset of rows (a few of them the
        // same rows), with values whose products round differently in different orders.
        let m = 23;
        let (mut row_ptr, mut rows, mut values) = (vec![0], Vec::new(), Vec::new());
        let mut x = 0.123_456_789_f64;
        for level in 0..40usize {
            for r in (0..m).filter(|r| (r * 7 + level * 3) % 5 < 2 || *r >= m - 3) {
                rows.push(r as u32);
                x = (x * 3.987_654_321).fract() + 0.1;
                values.push(x * if level % 2 == 0 { 1e3 } else { 1e-3 });
            }
            row_ptr.push(rows.len());
        }
        let product = |e1: usize, e2: usize| values[e1] * values[e2];
        let initial: Vec<f64> = (0..m * m).map(|k| (k as f64).sqrt()).collect();
        let bits = |s: &[f64]| s.iter().map(|v| v.to_bits()).collect::<Vec<u64>>();
        let updated = |width: usize| {
            let mut s = initial.clone();
            let mut cursor = row_ptr[..row_ptr.len() - 1].to_vec();
            lower_updates(
                width,
                &mut s,
                0..m,
                m,
                &row_ptr,
                &rows,
                &mut cursor,
                product,
            );
            bits(&s)
        };
        let whole = updated(m);
        assert_ne!(whole, bits(&initial), "the updates change S");
        for width in [1, 2, 3, 5, 8, 22] {
            assert_eq!(updated(width), whole, "block width {width}");
        }
        // Cut in two at any column, as `Blocked::rank_updates` does for a large S: the same bits.
        for column in 0..=m {
            let split = Split::at(column, &row_ptr, &rows);
            let mut s = initial.clone();
            let (left, right) = s.split_at_mut(column * m);
            let mut cursor = row_ptr[..row_ptr.len() - 1].to_vec();
            lower_updates(5, left, 0..column, m, &row_ptr, &rows, &mut cursor, product);
            let mut cursor = split.start.clone();
            lower_updates(
                5,
                right,
                column..m,
                m,
                &row_ptr,
                &rows,
                &mut cursor,
                product,
            );
            assert_eq!(bits(&s), whole, "cut at column {column}");
        }
    }

    #[test]
    fn large_updates_are_cut_where_the_work_halves() {
        // 3000 levels meeting the same 30 of 400 rows: 465 updates each, most in the first columns.
        let m = 400;
        let pattern: Vec<u32> = (0..30).map(|k| k * k / 3 + k).collect();
        let rows: Vec<u32> = (0..3000).flat_map(|_| pattern.iter().copied()).collect();
        let row_ptr: Vec<usize> = (0..=3000).map(|l| l * pattern.len()).collect();
        let split = Split::balanced(m, &row_ptr, &rows).expect("large enough to cut");
        // Updates whose e2 is pattern entry k: 30 - k; the first k with Σ ≥ half of 465 is 8.
        assert_eq!(split.column, pattern[8] as usize + 1);
        assert_eq!(split.start[0], 9);
        assert!(
            Split::balanced(m, &row_ptr[..10], &rows).is_none(),
            "9 levels: too few"
        );
    }
}
