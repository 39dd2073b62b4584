//! The penalised weighted least-squares system of a GLMM's PIRLS step, blocked as
//! [`crate::blocked`] blocks the LMM's: with U = ZΛ and working weights W,
//!
//! ```text
//!     H = [ U′WU + I   U′WX ]      (u: the spherical random effects; β only when active)
//!         [ X′WU       X′WX ]
//! ```
//!
//! The first random-effects term (most levels) gives a block-diagonal H₁₁ (q₁×q₁ per level); every
//! other row (later terms' effects, then β) is one dense block H₂₂, and H₂₁ is sparse (per level
//! of term 1, the dense rows its observations meet). The factor is L₁₁ = chol(H₁₁) level by level,
//! C̃ = H₂₁L₁₁⁻ᵀ, L₂₂ = chol(H₂₂ − C̃C̃′). With β inactive (PIRLS over u alone, β fixed) the same
//! storage is factored on the leading rows only: β's rows are the last of every list.

use crate::dense::{
    backward_solve, cholesky, forward_solve, inverse_from_cholesky, CholeskyScratch,
};
use crate::simd::avx2_dispatch;

/// Σ aᵢbᵢ in four independent sums (they vectorize).
#[inline(always)]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut sums = [0.0; 4];
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a4
        .remainder()
        .iter()
        .zip(b4.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a4.zip(b4) {
        for k in 0..4 {
            sums[k] += x[k] * y[k];
        }
    }
    sums.iter().sum::<f64>() + tail
}

/// `out[index(i)] += value(i)` for i in 0..n, each run of equal indices summed in a register
/// first: consecutive observations of one level (data sorted by a grouping factor) would otherwise
/// chain every addition on the store before it (VerbAgg, sorted by item: a third of the
/// assembly's time).
#[inline(always)]
pub(crate) fn scatter_add(
    out: &mut [f64],
    n: usize,
    index: impl Fn(usize) -> usize,
    value: impl Fn(usize) -> f64,
) {
    if n == 0 {
        return;
    }
    let mut at = index(0);
    let mut sum = 0.0;
    for i in 0..n {
        let r = index(i);
        if r != at {
            out[at] += sum;
            at = r;
            sum = 0.0;
        }
        sum += value(i);
    }
    out[at] += sum;
}

/// `out[at(i) + j] += coef(i)·x_rows[i·p + j]` for every observation i and j < p: X's rows
/// (row-major, n × p), scaled, into runs of p contiguous entries. Observations one at a time
/// with p a constant up to 8, so that the p multiply-adds of each are straight-line code.
#[inline(always)]
fn add_rows(
    out: &mut [f64],
    x_rows: &[f64],
    p: usize,
    at: impl Fn(usize) -> usize,
    coef: impl Fn(usize) -> f64,
) {
    #[inline(always)]
    fn rows<const P: usize>(
        out: &mut [f64],
        x_rows: &[f64],
        p: usize,
        at: &impl Fn(usize) -> usize,
        coef: &impl Fn(usize) -> f64,
    ) {
        // P = 0: p known only at run time.
        let p = if P > 0 { P } else { p };
        for (i, xr) in x_rows.chunks_exact(p).enumerate() {
            let (start, v) = (at(i), coef(i));
            for (o, x) in out[start..start + p].iter_mut().zip(xr) {
                *o += v * x;
            }
        }
    }
    let (at, coef) = (&at, &coef);
    match p {
        0 => {}
        1 => rows::<1>(out, x_rows, p, at, coef),
        2 => rows::<2>(out, x_rows, p, at, coef),
        3 => rows::<3>(out, x_rows, p, at, coef),
        4 => rows::<4>(out, x_rows, p, at, coef),
        5 => rows::<5>(out, x_rows, p, at, coef),
        6 => rows::<6>(out, x_rows, p, at, coef),
        7 => rows::<7>(out, x_rows, p, at, coef),
        8 => rows::<8>(out, x_rows, p, at, coef),
        _ => rows::<0>(out, x_rows, p, at, coef),
    }
}

/// Whether the dense C̃ of [`Pls::factor`] pays: a scalar term 0 whose levels' lists (of
/// `ptr`) fill more than a quarter of the md × n0 layout (the products then cost about what the
/// scattered updates would, done four at a time with no indexing).
fn dense_worthwhile(q0: usize, n0: usize, md: usize, ptr: &[usize]) -> bool {
    let filled = ptr[n0] - ptr[0];
    q0 == 1 && md > 1 && md * n0 <= PREPARED_MAX && 4 * filled > md * n0
}

/// Most values [`Pls::prepare_leverage`] keeps (32 MB).
const PREPARED_MAX: usize = 1 << 22;

/// Per-term sizes of the random effects.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TermShape {
    /// Effects per level.
    pub q: usize,
    /// Levels.
    pub nlevels: usize,
    /// First element of this term's effects in u.
    pub offset: usize,
}

/// The blocked system, formed once per data shape and reused.
pub(crate) struct Pls {
    pub terms: Vec<TermShape>,
    /// Fixed effects.
    pub p: usize,
    /// Random effects in all.
    pub q: usize,
    /// Rows of the dense block: later terms' effects (m2) then β (p).
    m2: usize,
    md: usize,
    /// H₁₁ blocks, then their factors.
    d: Vec<f64>,
    l: Vec<f64>,
    /// Per level of term 1, its entries (dense rows) in `rows[ptr[l]..ptr[l + 1]]`, the p rows of
    /// β last; q₁ values per entry in `c` (H₂₁) and `ct` (C̃).
    ptr: Vec<usize>,
    rows: Vec<u32>,
    c: Vec<f64>,
    ct: Vec<f64>,
    /// Per observation and later term, its first entry in its level-1 list.
    entry: Vec<u32>,
    /// Per observation, the entry of β's first row in its level-1 list.
    beta_entry: Vec<u32>,
    /// n values of scratch: W times a column of X.
    wx: Vec<f64>,
    /// H₂₂ (lower triangle), then the Schur complement's factor.
    e: Vec<f64>,
    s: Vec<f64>,
    scratch: CholeskyScratch,
    /// Right-hand side, then solution: u (q) then β (p).
    pub x: Vec<f64>,
    tmp: Vec<f64>,
    /// A vector over the dense block's random-effects rows ([`Pls::leverage`]).
    z: Vec<f64>,
    /// [`Pls::prepare_leverage`]: the selected inverse of H_uu (the entries an observation's rows
    /// of U meet): Σ = (H⁻¹)₂₂ on the dense random-effects rows (m2 × m2), the cross block
    /// G = (H⁻¹)₂₁ on the entries of term 0's lists (layout of `ct`), and each level's diagonal
    /// block (H⁻¹)₁₁ₗ (q₁ × q₁); `sigma` is empty when too large to keep (then each leverage
    /// solves).
    sigma: Vec<f64>,
    cross: Vec<f64>,
    diagonal: Vec<f64>,
    /// An observation's H_uu⁻¹Uᵢ′ on its own rows ([`Pls::selected`]), and m2 values of scratch.
    own: Vec<f64>,
    column: Vec<f64>,
    /// ΣC̃ on the dense layout ([`Pls::prepare_scalar_dense`]).
    product: Vec<f64>,
    /// Whether `sigma`, `cross` and `diagonal` hold the last factorization's.
    prepared: bool,
    /// With a scalar term 0 whose levels meet most dense rows (crossed designs), C̃ laid out
    /// densely, row r of the dense block in `dense[r·n0..(r + 1)·n0]` (zero where a level does
    /// not meet it): S −= C̃C̃′ is then dot products of contiguous rows, which vectorize, instead
    /// of scattered updates (VerbAgg: 316 levels, each meeting all 30 rows).
    dense: Option<Vec<f64>>,
    /// Whether the last factorization included β's rows.
    joint: bool,
}

impl Pls {
    /// The system of `terms` (term 0 the one with most levels) over observations whose level in
    /// term t is `codes[t][i]`, with `p` fixed effects.
    pub fn new(terms: Vec<TermShape>, codes: &[&[u32]], p: usize) -> Pls {
        let n = codes.first().map_or(0, |c| c.len());
        let q: usize = terms.iter().map(|t| t.q * t.nlevels).sum();
        let (q0, n0) = (terms[0].q, terms[0].nlevels);
        let m2 = q - q0 * n0;
        let md = m2 + p;
        // The dense rows each level of term 0 meets.
        let mut lists: Vec<Vec<u32>> = vec![Vec::new(); n0];
        for i in 0..n {
            let l0 = codes[0][i] as usize;
            for (t, term) in terms.iter().enumerate().skip(1) {
                let first = term.offset - q0 * n0 + codes[t][i] as usize * term.q;
                lists[l0].extend((first..first + term.q).map(|r| r as u32));
            }
        }
        let mut ptr = vec![0];
        let mut rows = Vec::new();
        for list in &mut lists {
            list.sort_unstable();
            list.dedup();
            rows.extend_from_slice(list);
            rows.extend((m2..md).map(|r| r as u32));
            ptr.push(rows.len());
        }
        let later = terms.len() - 1;
        let mut entry = vec![0u32; n * later];
        for i in 0..n {
            let l0 = codes[0][i] as usize;
            let list = &rows[ptr[l0]..ptr[l0 + 1]];
            for (t, term) in terms.iter().enumerate().skip(1) {
                let first = (term.offset - q0 * n0 + codes[t][i] as usize * term.q) as u32;
                let at = list.partition_point(|&r| r < first);
                entry[i * later + t - 1] = (ptr[l0] + at) as u32;
            }
        }
        let beta_entry = codes[0]
            .iter()
            .map(|&l| (ptr[l as usize + 1] - p) as u32)
            .collect();
        Pls {
            beta_entry,
            wx: vec![0.0; n],
            d: vec![0.0; n0 * q0 * q0],
            l: vec![0.0; n0 * q0 * q0],
            c: vec![0.0; rows.len() * q0],
            ct: vec![0.0; rows.len() * q0],
            e: vec![0.0; md * md],
            s: vec![0.0; md * md],
            scratch: CholeskyScratch::new(md, false),
            x: vec![0.0; q + p],
            tmp: vec![0.0; q0.max(1)],
            z: vec![0.0; m2],
            sigma: Vec::new(),
            cross: Vec::new(),
            diagonal: Vec::new(),
            own: vec![0.0; terms.iter().map(|t| t.q).sum()],
            column: Vec::new(),
            product: Vec::new(),
            prepared: false,
            dense: dense_worthwhile(q0, n0, md, &ptr).then(|| vec![0.0; md * n0]),
            entry,
            ptr,
            rows,
            terms,
            p,
            q,
            m2,
            md,
            joint: true,
        }
    }

    /// Follows observations whose levels changed (another data set of the same shape): each
    /// observation's entries, and with later terms the sparsity pattern of the dense block (which
    /// levels of term 0 meet which later rows), depend on the codes. One term's pattern does not
    /// (each level meets β's rows alone), so its β entries are refreshed in place; otherwise the
    /// system is built anew.
    pub fn follow_codes(&mut self, codes: &[Vec<u32>]) {
        if self.terms.len() == 1 {
            let (ptr, p) = (&self.ptr, self.p);
            for (entry, &l) in self.beta_entry.iter_mut().zip(&codes[0]) {
                *entry = (ptr[l as usize + 1] - p) as u32;
            }
            return;
        }
        let refs: Vec<&[u32]> = codes.iter().map(Vec::as_slice).collect();
        *self = Pls::new(std::mem::take(&mut self.terms), &refs, self.p);
    }

    /// Clears H and the right-hand side before accumulation.
    pub fn clear(&mut self) {
        self.d.fill(0.0);
        self.c.fill(0.0);
        self.e.fill(0.0);
        self.x.fill(0.0);
    }

    /// Adds observation `i` with weight `w` and target `t` (working response): its rows of U
    /// (`a[k]`, q_k values of term k at level `levels[k]`) and of X (`xrow`).
    pub fn add(&mut self, i: usize, levels: &[u32], a: &[&[f64]], xrow: &[f64], w: f64, t: f64) {
        let (q0, n0) = (self.terms[0].q, self.terms[0].nlevels);
        let md = self.md;
        let later = self.terms.len() - 1;
        let l0 = levels[0] as usize;
        let a0 = a[0];
        let block = &mut self.d[l0 * q0 * q0..(l0 + 1) * q0 * q0];
        for j in 0..q0 {
            let wa = w * a0[j];
            for k in j..q0 {
                block[j * q0 + k] += wa * a0[k];
            }
            self.x[l0 * q0 + j] += wa * t;
        }
        let q_first = q0 * n0;
        // Later terms: their cross block with term 0, their dense rows.
        for k in 1..=later {
            let term = self.terms[k];
            let row0 = term.offset - q_first + levels[k] as usize * term.q;
            let e0 = self.entry[i * later + k - 1] as usize;
            for jj in 0..term.q {
                let wa = w * a[k][jj];
                let c = &mut self.c[(e0 + jj) * q0..(e0 + jj + 1) * q0];
                for (cv, av) in c.iter_mut().zip(a0) {
                    *cv += wa * av;
                }
                self.x[q_first + row0 + jj] += wa * t;
                for k2 in 1..=k {
                    let t2 = self.terms[k2];
                    let row2 = t2.offset - q_first + levels[k2] as usize * t2.q;
                    for j2 in 0..t2.q {
                        let (r, s) = (row0 + jj, row2 + j2);
                        if s <= r && (k2 < k || j2 <= jj) {
                            self.e[s * md + r] += wa * a[k2][j2];
                        }
                    }
                }
            }
        }
        // β rows.
        let e_beta = self.ptr[l0 + 1] - self.p;
        for (j, &xj) in xrow.iter().enumerate() {
            let wx = w * xj;
            let c = &mut self.c[(e_beta + j) * q0..(e_beta + j + 1) * q0];
            for (cv, av) in c.iter_mut().zip(a0) {
                *cv += wx * av;
            }
            let r = self.m2 + j;
            self.x[q_first + r] += wx * t;
            for (j2, &x2) in xrow.iter().enumerate().take(j + 1) {
                self.e[(self.m2 + j2) * md + r] += wx * x2;
            }
            for k in 1..=later {
                let term = self.terms[k];
                let row0 = term.offset - q_first + levels[k] as usize * term.q;
                for jj in 0..term.q {
                    self.e[(row0 + jj) * md + r] += wx * a[k][jj];
                }
            }
        }
    }

    /// Whether [`Pls::add_scalar`] applies: every random-effects term has one effect per level.
    pub fn is_scalar(&self) -> bool {
        self.terms.iter().all(|t| t.q == 1)
    }

    avx2_dispatch! {
    /// Every observation at once when every term is scalar ([`Pls::is_scalar`]), term by term and
    /// column by column (the per-observation [`Pls::add`] spends most of its time in loops of one
    /// or two trips): observation i's level in term k is `codes[k][i]` and its value of U there
    /// `a[k][i]`; X column-major (n × p) in `x` and row-major in `x_rows`, weights `w`, targets
    /// `t`; `wa` is scratch of length n.
    /// Without `joint` β's rows are left out (a factorization over u alone never reads them).
    #[allow(clippy::too_many_arguments)]
    pub fn add_scalar = add_scalar_in / add_scalar_avx2 (
        &mut self,
        codes: &[Vec<u32>],
        a: &[Vec<f64>],
        x: &[f64],
        x_rows: &[f64],
        w: &[f64],
        t: &[f64],
        wa: &mut [f64],
        joint: bool
    )
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn add_scalar_in(
        &mut self,
        codes: &[Vec<u32>],
        a: &[Vec<f64>],
        x: &[f64],
        x_rows: &[f64],
        w: &[f64],
        t: &[f64],
        wa: &mut [f64],
        joint: bool,
    ) {
        let (n, md, m2) = (codes[0].len(), self.md, self.m2);
        let p = if joint { self.p } else { 0 };
        let q_first = self.terms[0].nlevels;
        let later = self.terms.len() - 1;
        let (codes0, a0) = (&codes[0][..n], &a[0][..n]);
        let (w, t, wa) = (&w[..n], &t[..n], &mut wa[..n]);
        let x_rows = &x_rows[..n * p];
        let (d, rhs) = (&mut self.d[..q_first], &mut self.x[..q_first]);
        for i in 0..n {
            wa[i] = w[i] * a0[i];
        }
        let level = |i: usize| codes0[i] as usize;
        scatter_add(d, n, level, |i| wa[i] * a0[i]);
        scatter_add(rhs, n, level, |i| wa[i] * t[i]);
        // Later terms: the cross entry with term 0, the dense rows among themselves and with X
        // (the buffers as local slices: stores through one cannot move another's pointer).
        let (c, e, rhs, entry) = (
            &mut self.c[..],
            &mut self.e[..],
            &mut self.x[q_first..],
            &self.entry[..],
        );
        let terms = &self.terms[..];
        for k in 1..=later {
            let base = terms[k].offset - q_first;
            let (codes_k, a_k) = (&codes[k][..n], &a[k][..n]);
            for i in 0..n {
                c[entry[i * later + k - 1] as usize] += wa[i] * a_k[i];
            }
            let row = |i: usize| base + codes_k[i] as usize;
            scatter_add(rhs, n, row, |i| w[i] * a_k[i] * t[i]);
            for k2 in 1..=k {
                let base2 = terms[k2].offset - q_first;
                let (codes2, a2) = (&codes[k2][..n], &a[k2][..n]);
                let at = |i: usize| (base2 + codes2[i] as usize) * md + row(i);
                scatter_add(e, n, at, |i| w[i] * a_k[i] * a2[i]);
            }
            // Observation by observation: its row's p entries are contiguous, and runs of one
            // level add into them as p independent chains.
            add_rows(e, x_rows, p, |i| row(i) * md + m2, |i| w[i] * a_k[i]);
        }
        // β: its cross entries with term 0 (the last p of each level's list), then X′WX and X′Wt.
        let (wx, beta_entry) = (&mut self.wx[..n], &self.beta_entry[..n]);
        // Observation by observation: its level's p entries share a cache line.
        add_rows(c, x_rows, p, |i| beta_entry[i] as usize, |i| wa[i]);
        for j in 0..p {
            let column = &x[j * n..(j + 1) * n];
            for ((o, &wv), &xv) in wx.iter_mut().zip(w).zip(column) {
                *o = wv * xv;
            }
            rhs[m2 + j] += dot(wx, t);
            for j2 in 0..=j {
                e[(m2 + j2) * md + m2 + j] += dot(wx, &x[j2 * n..(j2 + 1) * n]);
            }
        }
    }

    avx2_dispatch! {
    /// Factors H (with β's rows when `joint`) after the identity is added on u's rows. Returns
    /// log|L_u|² (the random effects' part of the log-determinant), or None if not positive
    /// definite.
    pub fn factor = factor_in / factor_avx2 (&mut self, joint: bool) -> Option<f64>
    }

    #[inline(always)]
    fn factor_in(&mut self, joint: bool) -> Option<f64> {
        self.joint = joint;
        self.prepared = false;
        let (q0, n0) = (self.terms[0].q, self.terms[0].nlevels);
        let (md, m2, p) = (self.md, self.m2, self.p);
        let active = if joint { md } else { m2 };
        let mut logdet = if q0 == 1 {
            self.factor_scalar_first(joint)?
        } else {
            self.factor_first(joint)?
        };
        // S = H₂₂ − C̃C̃′ on the active rows (lower triangle), packed with leading dimension
        // `active`.
        for j in 0..active {
            for i in j..active {
                let mut v = self.e[j * md + i];
                if i == j && i < m2 {
                    v += 1.0;
                }
                self.s[j * active + i] = v;
            }
        }
        if let Some(dense) = self.dense.as_ref() {
            // C̃ laid out by factor_scalar_first on the active rows (the places of no level's
            // entries hold the zeros they were built with).
            for r1 in 0..active {
                let c1 = &dense[r1 * n0..(r1 + 1) * n0];
                for r2 in 0..=r1 {
                    let c2 = &dense[r2 * n0..(r2 + 1) * n0];
                    self.s[r2 * active + r1] -= dot(c1, c2);
                }
            }
        } else {
            for l in 0..n0 {
                let end = if joint {
                    self.ptr[l + 1]
                } else {
                    self.ptr[l + 1] - p
                };
                for e1 in self.ptr[l]..end {
                    let r1 = self.rows[e1] as usize;
                    let c1 = &self.ct[e1 * q0..(e1 + 1) * q0];
                    for e2 in self.ptr[l]..=e1 {
                        let r2 = self.rows[e2] as usize;
                        let c2 = &self.ct[e2 * q0..(e2 + 1) * q0];
                        self.s[r2 * active + r1] -= dot(c1, c2);
                    }
                }
            }
        }
        if active > 0 && !cholesky(&mut self.s[..active * active], active, &mut self.scratch) {
            return None;
        }
        for i in 0..m2 {
            logdet += 2.0 * self.s[i * active + i].ln();
        }
        Some(logdet)
    }

    /// L₁₁ = chol(H₁₁ + I) level by level and C̃ = H₂₁L₁₁⁻ᵀ on the active entries; returns
    /// log|L₁₁|², or None if a block is not positive definite.
    fn factor_first(&mut self, joint: bool) -> Option<f64> {
        let (q0, n0, p) = (self.terms[0].q, self.terms[0].nlevels, self.p);
        let mut logdet = 0.0;
        for l in 0..n0 {
            let block = l * q0 * q0..(l + 1) * q0 * q0;
            let lb = &mut self.l[block.clone()];
            lb.copy_from_slice(&self.d[block]);
            for j in 0..q0 {
                lb[j * q0 + j] += 1.0;
            }
            if !cholesky(lb, q0, &mut self.scratch) {
                return None;
            }
            for j in 0..q0 {
                logdet += 2.0 * lb[j * q0 + j].ln();
            }
            let end = if joint {
                self.ptr[l + 1]
            } else {
                self.ptr[l + 1] - p
            };
            for e in self.ptr[l]..end {
                let ct = &mut self.ct[e * q0..(e + 1) * q0];
                ct.copy_from_slice(&self.c[e * q0..(e + 1) * q0]);
                forward_solve(lb, q0, q0, ct);
            }
        }
        Some(logdet)
    }

    /// [`Pls::factor_first`] for a scalar term 0: L₁₁ₗ = √(Dₗ + 1) and C̃ₗ = H₂₁ₗ/L₁₁ₗ, without
    /// the general kernels' calls per level and entry.
    #[inline(always)]
    fn factor_scalar_first(&mut self, joint: bool) -> Option<f64> {
        let (n0, p) = (self.terms[0].nlevels, self.p);
        let mut logdet = 0.0;
        for l in 0..n0 {
            let v = self.d[l] + 1.0;
            // Not positive (or NaN): as the general Cholesky's pivot test.
            if v.is_nan() || v <= 0.0 {
                return None;
            }
            let lv = v.sqrt();
            self.l[l] = lv;
            logdet += 2.0 * lv.ln();
            let end = if joint {
                self.ptr[l + 1]
            } else {
                self.ptr[l + 1] - p
            };
            let range = self.ptr[l]..end;
            let inverse = 1.0 / lv;
            let (ct, c) = (&mut self.ct[range.clone()], &self.c[range.clone()]);
            for (ct, c) in ct.iter_mut().zip(c) {
                *ct = c * inverse;
            }
            // C̃ in the dense layout as well ([`Pls::factor`]).
            if let Some(layout) = self.dense.as_mut() {
                for (&r, &v) in self.rows[range].iter().zip(ct.iter()) {
                    layout[r as usize * n0 + l] = v;
                }
            }
        }
        Some(logdet)
    }

    avx2_dispatch! {
    /// Solves H x = (the accumulated right-hand side) in place in `x` after [`Pls::factor`]: u,
    /// then β when the factorization was joint.
    pub fn solve = solve_in / solve_avx2 (&mut self)
    }

    #[inline(always)]
    fn solve_in(&mut self) {
        let (q0, n0) = (self.terms[0].q, self.terms[0].nlevels);
        let p = self.p;
        let active = if self.joint { self.md } else { self.m2 };
        let q_first = q0 * n0;
        let end = |ptr: &[usize], l: usize, joint: bool| {
            if joint {
                ptr[l + 1]
            } else {
                ptr[l + 1] - p
            }
        };
        if q0 == 1 {
            // (Taking x out of self moves no values.)
            let mut x = std::mem::take(&mut self.x);
            let (first, dense) = x.split_at_mut(q_first);
            self.solve_scalar_first(first, dense, active);
            self.x = x;
            return;
        }
        let (first, dense) = self.x.split_at_mut(q_first);
        for l in 0..n0 {
            let lb = &self.l[l * q0 * q0..(l + 1) * q0 * q0];
            let xl = &mut first[l * q0..(l + 1) * q0];
            forward_solve(lb, q0, q0, xl);
            for e in self.ptr[l]..end(&self.ptr, l, self.joint) {
                let ct = &self.ct[e * q0..(e + 1) * q0];
                dense[self.rows[e] as usize] -=
                    ct.iter().zip(xl.iter()).map(|(a, b)| a * b).sum::<f64>();
            }
        }
        if active > 0 {
            let s = &self.s[..active * active];
            forward_solve(s, active, active, &mut dense[..active]);
            backward_solve(s, active, active, &mut dense[..active]);
        }
        for l in 0..n0 {
            let lb = &self.l[l * q0 * q0..(l + 1) * q0 * q0];
            let tmp = &mut self.tmp[..q0];
            tmp.copy_from_slice(&first[l * q0..(l + 1) * q0]);
            for e in self.ptr[l]..end(&self.ptr, l, self.joint) {
                let ct = &self.ct[e * q0..(e + 1) * q0];
                let v = dense[self.rows[e] as usize];
                for (t, c) in tmp.iter_mut().zip(ct) {
                    *t -= c * v;
                }
            }
            backward_solve(lb, q0, q0, tmp);
            first[l * q0..(l + 1) * q0].copy_from_slice(tmp);
        }
    }

    /// [`Pls::solve`] when term 0 is scalar: L₁₁ is diagonal, so each level's forward and backward
    /// steps are a division and one pass over its entries.
    #[inline(always)]
    fn solve_scalar_first(&self, first: &mut [f64], dense: &mut [f64], active: usize) {
        if let Some(layout) = self.dense.as_deref() {
            return self.solve_scalar_dense(layout, first, dense, active);
        }
        let p = if self.joint { 0 } else { self.p };
        for (l, xl) in first.iter_mut().enumerate() {
            *xl /= self.l[l];
            let range = self.ptr[l]..self.ptr[l + 1] - p;
            for (&r, &ct) in self.rows[range.clone()].iter().zip(&self.ct[range]) {
                dense[r as usize] -= ct * *xl;
            }
        }
        if active > 0 {
            let s = &self.s[..active * active];
            forward_solve(s, active, active, &mut dense[..active]);
            backward_solve(s, active, active, &mut dense[..active]);
        }
        for (l, xl) in first.iter_mut().enumerate() {
            let range = self.ptr[l]..self.ptr[l + 1] - p;
            let reach: f64 = self.rows[range.clone()]
                .iter()
                .zip(&self.ct[range])
                .map(|(&r, &ct)| ct * dense[r as usize])
                .sum();
            *xl = (*xl - reach) / self.l[l];
        }
    }

    /// [`Pls::solve_scalar_first`] with C̃ laid out densely (`layout`, rows of n0 values as in
    /// [`Pls::factor`]): the forward step a dot product per dense row, the backward step a scaled
    /// row per dense row, both over contiguous values instead of each level's list.
    #[inline(always)]
    fn solve_scalar_dense(
        &self,
        layout: &[f64],
        first: &mut [f64],
        dense: &mut [f64],
        active: usize,
    ) {
        let n0 = first.len();
        let diagonal = &self.l[..n0];
        for (x, l) in first.iter_mut().zip(diagonal) {
            *x /= l;
        }
        let rows = layout[..active * n0].chunks_exact(n0);
        for (v, row) in dense[..active].iter_mut().zip(rows.clone()) {
            *v -= dot(row, first);
        }
        if active > 0 {
            let s = &self.s[..active * active];
            forward_solve(s, active, active, &mut dense[..active]);
            backward_solve(s, active, active, &mut dense[..active]);
        }
        for (&v, row) in dense[..active].iter().zip(rows) {
            for (x, c) in first.iter_mut().zip(row) {
                *x -= c * v;
            }
        }
        for (x, l) in first.iter_mut().zip(diagonal) {
            *x /= l;
        }
    }

    avx2_dispatch! {
    /// Prepares [`Pls::leverage`] and [`Pls::selected`] after a factorization: the selected
    /// inverse of H_uu. With L = [L₁₁ 0; C̃ L₂₂], Σ = (H⁻¹)₂₂ = L₂₂⁻ᵀL₂₂⁻¹, the cross block
    /// Gₗ = (H⁻¹)₂₁ₗ = −ΣC̃ₗL₁₁ₗ⁻¹ on level l's entries (the rows it meets: the only ones an
    /// observation of level l reads), and (H⁻¹)₁₁ₗ = L₁₁ₗ⁻ᵀ(L₁₁ₗ⁻¹ − C̃ₗ′Gₗ). An observation then
    /// costs (its effects)² instead of a triangular solve of order m2 (VerbAgg: 5 multiply-adds
    /// against 288), the preparation (VerbAgg: 24² per level) once per factor. Skipped when Σ
    /// would take more than [`PREPARED_MAX`] values.
    pub fn prepare_leverage = prepare_leverage_in / prepare_leverage_avx2 (&mut self)
    }

    #[inline(always)]
    fn prepare_leverage_in(&mut self) {
        let (q0, n0, m2) = (self.terms[0].q, self.terms[0].nlevels, self.m2);
        if !self.can_prepare() {
            return;
        }
        let active = if self.joint { self.md } else { m2 };
        self.sigma.resize(m2 * m2, 0.0);
        self.column.resize(m2, 0.0);
        inverse_from_cholesky(&self.s, active, m2, &mut self.sigma, &mut self.column);
        self.cross.resize(self.ct.len(), 0.0);
        self.diagonal.resize(n0 * q0 * q0, 0.0);
        if self.dense.is_some() {
            self.prepare_scalar_dense();
        } else {
            self.prepare_blocks();
        }
        self.prepared = true;
    }

    /// [`Pls::prepare_leverage`]'s G and diagonal blocks level by level (a product over each
    /// level's entries: cheap where the lists are short, as in nested designs).
    fn prepare_blocks(&mut self) {
        let (q0, n0, m2, p) = (self.terms[0].q, self.terms[0].nlevels, self.m2, self.p);
        let (sigma, rows, ct) = (&self.sigma, &self.rows, &self.ct);
        for l in 0..n0 {
            let entries = self.ptr[l]..self.ptr[l + 1] - p;
            let lb = &self.l[l * q0 * q0..(l + 1) * q0 * q0];
            for e in entries.clone() {
                let sigma_row = &sigma[rows[e] as usize * m2..(rows[e] as usize + 1) * m2];
                let g = &mut self.cross[e * q0..(e + 1) * q0];
                g.fill(0.0);
                for e2 in entries.clone() {
                    let v = sigma_row[rows[e2] as usize];
                    for (g, c) in g.iter_mut().zip(&ct[e2 * q0..(e2 + 1) * q0]) {
                        *g -= v * c;
                    }
                }
                // The row vector g L₁₁ₗ⁻¹: L₁₁ₗ′ solves for it.
                backward_solve(lb, q0, q0, g);
            }
            let block = &mut self.diagonal[l * q0 * q0..(l + 1) * q0 * q0];
            for (k, column) in block.chunks_exact_mut(q0).enumerate() {
                column.fill(0.0);
                column[k] = 1.0;
                forward_solve(lb, q0, q0, column);
                for e in entries.clone() {
                    let g = self.cross[e * q0 + k];
                    for (v, c) in column.iter_mut().zip(&ct[e * q0..(e + 1) * q0]) {
                        *v -= c * g;
                    }
                }
                backward_solve(lb, q0, q0, column);
            }
        }
    }

    /// [`Pls::prepare_leverage`] with the dense C̃ of a scalar term 0 (crossed designs): ΣC̃ for
    /// every level at once, row by row as sums of C̃'s rows (which vectorize), into `dense`'s
    /// random-effects rows; then Gₗ = −(ΣC̃)ₗ/L₁₁ₗ on level l's entries and
    /// (H⁻¹)₁₁ₗ = (1/L₁₁ₗ − C̃ₗ′Gₗ)/L₁₁ₗ.
    #[inline(always)]
    fn prepare_scalar_dense(&mut self) {
        let (n0, m2, p) = (self.terms[0].nlevels, self.m2, self.p);
        let Some(dense) = self.dense.as_ref() else {
            return;
        };
        let product = &mut self.product;
        product.resize(m2 * n0, 0.0);
        product.fill(0.0);
        for (r, out) in product.chunks_exact_mut(n0).enumerate() {
            for (r2, c) in dense[..m2 * n0].chunks_exact(n0).enumerate() {
                let v = self.sigma[r * m2 + r2];
                for (o, c) in out.iter_mut().zip(c) {
                    *o -= v * c;
                }
            }
        }
        for l in 0..n0 {
            let lv = self.l[l];
            let mut reach = 0.0;
            for e in self.ptr[l]..self.ptr[l + 1] - p {
                let g = product[self.rows[e] as usize * n0 + l] / lv;
                self.cross[e] = g;
                reach += self.ct[e] * g;
            }
            self.diagonal[l] = (1.0 / lv - reach) / lv;
        }
    }

    /// Whether [`Pls::prepare_leverage`] keeps the selected inverse (Σ within [`PREPARED_MAX`]).
    pub fn can_prepare(&self) -> bool {
        self.m2 * self.m2 <= PREPARED_MAX
    }

    /// Σ of H_uu⁻¹'s diagonal over the effects of scalar term t, from the selected inverse
    /// ([`Pls::prepare_leverage`] must have run).
    pub fn inverse_trace(&self, t: usize) -> f64 {
        let (n0, m2) = (self.terms[0].nlevels, self.m2);
        if t == 0 {
            return self.diagonal[..n0].iter().sum();
        }
        let first = self.terms[t].offset - n0;
        (first..first + self.terms[t].nlevels)
            .map(|r| self.sigma[r * m2 + r])
            .sum()
    }

    /// Whether the selected inverse of [`Pls::prepare_leverage`] holds the last factorization's.
    pub fn is_prepared(&self) -> bool {
        self.prepared
    }

    /// H_uu⁻¹Uᵢ′ on observation i's own rows of u (term by term, q_k values each) into `own`,
    /// from the selected inverse of [`Pls::prepare_leverage`] (which must have run); returns the
    /// leverage Uᵢ H_uu⁻¹ Uᵢ′. Observation i's rows of U: `a[k]`, the q_k values of term k at
    /// level `levels[k]`.
    pub fn selected(&self, i: usize, levels: &[u32], a: &[&[f64]], own: &mut [f64]) -> f64 {
        let (q0, n0, m2) = (self.terms[0].q, self.terms[0].nlevels, self.m2);
        let later = self.terms.len() - 1;
        let l0 = levels[0] as usize;
        let (a0, (s0, mut rest)) = (a[0], own.split_at_mut(q0));
        let block = &self.diagonal[l0 * q0 * q0..(l0 + 1) * q0 * q0];
        for (s, column) in s0.iter_mut().zip(block.chunks_exact(q0)) {
            *s = dot(column, a0);
        }
        for k in 1..=later {
            let term = self.terms[k];
            let row = term.offset - q0 * n0 + levels[k] as usize * term.q;
            let first = self.entry[i * later + k - 1] as usize;
            let (sk, tail) = rest.split_at_mut(term.q);
            rest = tail;
            for (jj, s) in sk.iter_mut().enumerate() {
                let g = &self.cross[(first + jj) * q0..(first + jj + 1) * q0];
                for (s0, g) in s0.iter_mut().zip(g) {
                    *s0 += g * a[k][jj];
                }
                let sigma_row = &self.sigma[(row + jj) * m2..(row + jj + 1) * m2];
                *s = dot(g, a0);
                for (k2, t2) in self.terms.iter().enumerate().skip(1) {
                    let row2 = t2.offset - q0 * n0 + levels[k2] as usize * t2.q;
                    *s += dot(&sigma_row[row2..row2 + t2.q], a[k2]);
                }
            }
        }
        let mut h = 0.0;
        let mut at = 0;
        for ak in a {
            h += dot(ak, &own[at..at + ak.len()]);
            at += ak.len();
        }
        h
    }

    /// [`Pls::selected`] when every term is scalar ([`Pls::is_scalar`]): observation i's value of
    /// U in term k is `a[k]`, and `own[k]` receives its H_uu⁻¹Uᵢ′ there.
    pub fn selected_scalar(&self, i: usize, levels: &[u32], a: &[f64], own: &mut [f64]) -> f64 {
        let (n0, m2) = (self.terms[0].nlevels, self.m2);
        let later = self.terms.len() - 1;
        let a0 = a[0];
        let mut s0 = self.diagonal[levels[0] as usize] * a0;
        let mut h = 0.0;
        for k in 1..=later {
            let row = self.terms[k].offset - n0 + levels[k] as usize;
            let g = self.cross[self.entry[i * later + k - 1] as usize];
            s0 += g * a[k];
            let sigma_row = &self.sigma[row * m2..(row + 1) * m2];
            let mut sk = g * a0;
            for k2 in 1..=later {
                sk += sigma_row[self.terms[k2].offset - n0 + levels[k2] as usize] * a[k2];
            }
            own[k] = sk;
            h += a[k] * sk;
        }
        own[0] = s0;
        h + a0 * s0
    }

    avx2_dispatch! {
    /// [`Pls::selected_scalar`]'s leverages of every observation at once into `h`, term pair by
    /// term pair over U's columns (observation i's level in term k is `codes[k][i]` and its value
    /// of U there `a[k][i]`): hᵢ = Σₖ Σₗ aₖᵢ aₗᵢ (H_uu⁻¹)_{kᵢ,lᵢ}, the entries from the selected
    /// inverse ([`Pls::prepare_leverage`] must have run).
    pub fn leverages_scalar = leverages_scalar_in / leverages_scalar_avx2 (
        &mut self,
        codes: &[Vec<u32>],
        a: &[Vec<f64>],
        h: &mut [f64]
    )
    }

    #[inline(always)]
    fn leverages_scalar_in(&mut self, codes: &[Vec<u32>], a: &[Vec<f64>], h: &mut [f64]) {
        let (n, n0, m2) = (h.len(), self.terms[0].nlevels, self.m2);
        let later = self.terms.len() - 1;
        let (codes0, a0) = (&codes[0][..n], &a[0][..n]);
        let diagonal = &self.diagonal[..n0];
        for ((h, &c), &v) in h.iter_mut().zip(codes0).zip(a0) {
            *h = diagonal[c as usize] * v * v;
        }
        for k in 1..=later {
            let row = |t: usize, i: usize| self.terms[t].offset - n0 + codes[t][i] as usize;
            let a_k = &a[k][..n];
            // Twice the cross block with term 0, then the dense block's pairs (k, k2 ≤ k).
            for (i, h) in h.iter_mut().enumerate() {
                let g = self.cross[self.entry[i * later + k - 1] as usize];
                *h += 2.0 * g * a0[i] * a_k[i];
            }
            for k2 in 1..=k {
                let (a2, factor) = (&a[k2][..n], if k2 == k { 1.0 } else { 2.0 });
                for (i, h) in h.iter_mut().enumerate() {
                    let sigma = self.sigma[row(k, i) * m2 + row(k2, i)];
                    *h += factor * sigma * a_k[i] * a2[i];
                }
            }
        }
    }

    /// Uᵢ H_uu⁻¹ Uᵢ′ = ‖L⁻¹Uᵢ′‖² of observation i (its rows of U: `a[k]`, the q_k values of term
    /// k at level `levels[k]`), L the random-effects rows of the last factorization: from the
    /// selected inverse when prepared ([`Pls::selected`]), else with ξ = L₁₁⁻¹a₀ (its level's
    /// block) the dense rows take L₂₂⁻¹(a_rest − C̃ξ).
    pub fn leverage(&mut self, i: usize, levels: &[u32], a: &[&[f64]]) -> f64 {
        let (q0, n0) = (self.terms[0].q, self.terms[0].nlevels);
        let l0 = levels[0] as usize;
        if q0 == 1 && self.m2 == 0 {
            // One scalar term: L is diagonal.
            let xi = a[0][0] / self.l[l0];
            return xi * xi;
        }
        if self.prepared {
            // (Taking `own` out of self moves no values.)
            let mut own = std::mem::take(&mut self.own);
            let h = self.selected(i, levels, a, &mut own);
            self.own = own;
            return h;
        }
        let xi = &mut self.tmp[..q0];
        xi.copy_from_slice(a[0]);
        forward_solve(&self.l[l0 * q0 * q0..(l0 + 1) * q0 * q0], q0, q0, xi);
        let mut h: f64 = xi.iter().map(|v| v * v).sum();
        let m2 = self.m2;
        if m2 == 0 {
            return h;
        }
        let z = &mut self.z;
        z.fill(0.0);
        for e in self.ptr[l0]..self.ptr[l0 + 1] - self.p {
            let ct = &self.ct[e * q0..(e + 1) * q0];
            z[self.rows[e] as usize] -= ct.iter().zip(xi.iter()).map(|(c, x)| c * x).sum::<f64>();
        }
        for (k, term) in self.terms.iter().enumerate().skip(1) {
            let row0 = term.offset - q0 * n0 + levels[k] as usize * term.q;
            for (zj, aj) in z[row0..row0 + term.q].iter_mut().zip(a[k]) {
                *zj += aj;
            }
        }
        let active = if self.joint { self.md } else { m2 };
        forward_solve(&self.s, active, m2, z);
        h += z.iter().map(|v| v * v).sum::<f64>();
        h
    }

    /// X′V⁻¹X = L_ββL_ββ′, the information of β given θ (p×p, column-major), from the last
    /// factorization if it was joint; false otherwise.
    pub fn beta_information(&self, out: &mut [f64]) -> bool {
        if !self.joint {
            return false;
        }
        let (md, m2, p) = (self.md, self.m2, self.p);
        let l = |i: usize, j: usize| self.s[(m2 + j) * md + m2 + i];
        for j in 0..p {
            for i in 0..p {
                out[j * p + i] = (0..=i.min(j)).map(|k| l(i, k) * l(j, k)).sum();
            }
        }
        true
    }

    /// The diagonal of L₁₁ of the last factorization, per level of a scalar term 0: 1/sd of the
    /// conditional mode (adaptive quadrature's scale).
    pub fn first_diagonal(&self, level: usize) -> f64 {
        self.l[level]
    }
}
