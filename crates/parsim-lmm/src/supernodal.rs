//! The dense block of [`crate::blocked::Blocked`] factorized as a sparse matrix, for crossed factors
//! with many levels (InstEval: d, 1128 instructors, and dept beside the students' term).
//!
//! After term 1 is eliminated the Schur complement S couples two later levels only where some
//! level of term 1 meets both (a student rating both instructors): InstEval's S of order 1144 is
//! 22% full, and its Cholesky factor under an approximate minimum degree ordering needs a fifth
//! of the dense factor's work. MixedModels.jl's `updateL!` keeps this block dense; lme4 factors
//! all of Z′Z with CHOLMOD's supernodal Cholesky under a fill-reducing ordering. Here the ordering
//! (AMD on the random-effects rows; X and y stay last, so log|R_X| and r come from the last
//! diagonal) and faer's supernodal symbolic analysis are done once per sparsity pattern, which the
//! levels' row lists determine; each evaluation gathers S's values into the permuted lower
//! pattern (scaling by Λ₂ on the way) and runs faer's numeric factorization in a workspace built
//! beforehand. Nothing is allocated per evaluation.

use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::cholesky::llt::factor::LltRegularization;
use faer::sparse::linalg::amd;
use faer::sparse::linalg::cholesky::{simplicial, supernodal};
use faer::sparse::linalg::SymbolicSupernodalParams;
use faer::sparse::{SparseColMatRef, SymbolicSparseColMatRef};
use faer::Par;

/// Smallest dense block considered for the sparse factorization: below it the dense Cholesky is
/// a few hundred microseconds at most and wins on its regular kernels.
pub(crate) const SPARSE_MIN_ORDER: usize = 300;

/// Pairs of entries in the levels' rank updates, at most (their places take 4 bytes each; a
/// larger problem keeps the dense factorization). InstEval: 1.6 million.
const SPARSE_MAX_UPDATES: usize = 1 << 25;

/// The sparse factorization is used when its multiply-adds (Σ over columns of the squared column
/// counts of L, halved) are at most this share of the dense factor's (m³/6): it runs its small
/// supernodes at a lower rate than the dense kernels. InstEval: 0.20.
const SPARSE_MAX_SHARE: f64 = 0.4;

/// The Cholesky factor of the scaled Schur complement Λ₂′SΛ₂ + I in a fill-reducing order.
pub(crate) struct SparseSchur {
    m: usize,
    /// Random-effects rows (the ones permuted; X and y follow in their own order).
    nre: usize,
    /// `perm[new]` = old row.
    perm: Vec<usize>,
    /// Lower pattern of the permuted S, column-major, rows ascending, the diagonal first.
    col_ptr: Vec<usize>,
    row_idx: Vec<usize>,
    values: Vec<f64>,
    /// Per value: its place in the dense S (lower triangle, old order) and the two old rows.
    source: Vec<u32>,
    rows_old: Vec<(u32, u32)>,
    /// A₂₂ in the layout of `values`.
    a22: Vec<f64>,
    /// Per pair of entries (e₁ ≥ e₂) of each level, in the order of [`SparseSchur::rank_updates`],
    /// the value its product is subtracted from.
    updates: Vec<u32>,
    symbolic: supernodal::SymbolicSupernodalCholesky<usize>,
    l: Vec<f64>,
    /// Per new column, the place of its diagonal element in `l`.
    diagonal: Vec<usize>,
    /// The lower triangle of the factor's last p + 1 rows and columns (X and y, in the old
    /// order too): per element, its place in `l` and in the dense `s`.
    trailing: Vec<(usize, usize)>,
    stack: MemBuffer,
}

impl SparseSchur {
    /// The factorization for the dense block of order `m` whose last `p + 1` rows are X and y,
    /// given each level of term 1's ascending rows (`row_ptr`, `rows`, as in `Blocked`). None when
    /// the dense factorization costs less than about 1 / [`SPARSE_MAX_SHARE`] times as much.
    pub fn analyse(m: usize, p: usize, row_ptr: &[usize], rows: &[u32]) -> Option<SparseSchur> {
        let nre = m - p - 1;
        let pairs: usize = row_ptr
            .windows(2)
            .map(|l| (l[1] - l[0]) * (l[1] - l[0] + 1) / 2)
            .sum();
        if pairs > SPARSE_MAX_UPDATES {
            return None;
        }
        // No levels: the placeholder before the first data set's row lists.
        if m < SPARSE_MIN_ORDER || row_ptr.len() < 2 || u32::try_from(m * m).is_err() {
            return None;
        }
        let lower = lower_pattern(m, row_ptr, rows);
        // AMD on the random-effects rows only (every level meets X and y: dense rows).
        let (re_ptr, re_idx) = restrict(&lower, nre);
        let mut perm = vec![0usize; m];
        let mut inverse = vec![0usize; m];
        {
            let pattern = SymbolicSparseColMatRef::new_checked(nre, nre, &re_ptr, None, &re_idx);
            let mut mem =
                MemBuffer::try_new(amd::order_scratch::<usize>(nre, re_idx.len())).ok()?;
            amd::order(
                &mut perm[..nre],
                &mut inverse[..nre],
                pattern,
                amd::Control::default(),
                MemStack::new(&mut mem),
            )
            .ok()?;
        }
        for r in nre..m {
            (perm[r], inverse[r]) = (r, r);
        }
        // The permuted pattern, upper (for the symbolic analysis) and lower (the values).
        let mut upper: Vec<Vec<usize>> = vec![Vec::new(); m];
        let mut below: Vec<Vec<(usize, usize)>> = vec![Vec::new(); m];
        for (c, column) in lower.iter().enumerate() {
            for &r in column {
                let (i, j) = (inverse[r], inverse[c]);
                let (hi, lo) = (i.max(j), i.min(j));
                upper[hi].push(lo);
                below[lo].push((hi, c * m + r));
            }
        }
        let (up_ptr, up_idx) = compressed(upper.iter_mut().map(|c| {
            c.sort_unstable();
            c.as_slice()
        }));
        let (mut col_ptr, mut row_idx, mut source, mut rows_old) =
            (vec![0], Vec::new(), Vec::new(), Vec::new());
        for column in &mut below {
            column.sort_unstable();
            for &(i, at) in column.iter() {
                row_idx.push(i);
                source.push(at as u32);
                let (c, r) = (at / m, at % m);
                rows_old.push((r as u32, c as u32));
            }
            col_ptr.push(row_idx.len());
        }
        let symbolic = {
            let pattern = SymbolicSparseColMatRef::new_checked(m, m, &up_ptr, None, &up_idx);
            let mut mem = MemBuffer::try_new(StackReq::any_of(&[
                simplicial::prefactorize_symbolic_cholesky_scratch::<usize>(m, up_idx.len()),
                supernodal::factorize_supernodal_symbolic_cholesky_scratch::<usize>(m),
            ]))
            .ok()?;
            let stack = MemStack::new(&mut mem);
            let mut etree = vec![0isize; m];
            let mut counts = vec![0usize; m];
            simplicial::prefactorize_symbolic_cholesky(&mut etree, &mut counts, pattern, stack);
            let work: f64 = counts.iter().map(|&c| (c as f64).powi(2) / 2.0).sum();
            if work > SPARSE_MAX_SHARE * (m as f64).powi(3) / 6.0 {
                return None;
            }
            // SAFETY: `etree` was filled by `prefactorize_symbolic_cholesky` on this pattern.
            let etree = unsafe { simplicial::EliminationTreeRef::from_inner(&etree) };
            supernodal::factorize_supernodal_symbolic_cholesky(
                pattern,
                etree,
                &counts,
                stack,
                SymbolicSupernodalParams::default(),
            )
            .ok()?
        };
        let mut diagonal = vec![0; m];
        let mut trailing = Vec::new();
        for s in 0..symbolic.n_supernodes() {
            let (begin, end) = (symbolic.supernode_begin()[s], symbolic.supernode_end()[s]);
            let pattern = symbolic.supernode(s).pattern();
            let nrows = pattern.len() + end - begin;
            let base = symbolic.col_ptr_for_val()[s];
            for j in begin..end {
                let column = base + (j - begin) * nrows;
                diagonal[j] = column + j - begin;
                for i in (j..m).filter(|_| j >= nre) {
                    let at = if i < end {
                        i - begin
                    } else {
                        // X and y meet every level: their rows are in every column's pattern.
                        end - begin + pattern.binary_search(&i).ok()?
                    };
                    trailing.push((column + at, j * m + i));
                }
            }
        }
        let place = |i: usize, j: usize| {
            let (hi, lo) = (i.max(j), i.min(j));
            let column = &row_idx[col_ptr[lo]..col_ptr[lo + 1]];
            // The pattern holds every pair a level's update reaches: the search succeeds.
            (col_ptr[lo] + column.binary_search(&hi).unwrap_or(0)) as u32
        };
        let mut updates = Vec::with_capacity(pairs);
        for level in row_ptr.windows(2) {
            let list = &rows[level[0]..level[1]];
            for (k, &r2) in list.iter().enumerate() {
                let j = inverse[r2 as usize];
                updates.extend(list[k..].iter().map(|&r1| place(inverse[r1 as usize], j)));
            }
        }
        let stack = MemBuffer::try_new(supernodal::factorize_supernodal_numeric_llt_scratch::<
            usize,
            f64,
        >(&symbolic, Par::Seq, Default::default()))
        .ok()?;
        Some(SparseSchur {
            m,
            nre,
            perm,
            values: vec![0.0; row_idx.len()],
            a22: vec![0.0; row_idx.len()],
            updates,
            col_ptr,
            row_idx,
            source,
            rows_old,
            l: vec![0.0; symbolic.len_val()],
            symbolic,
            diagonal,
            trailing,
            stack,
        })
    }

    /// Takes A₂₂ from its dense lower triangle in the old order (`a22[c·m + r]`, r ≥ c), once per
    /// data set.
    pub fn assembled(&mut self, a22: &[f64]) {
        for (v, &at) in self.a22.iter_mut().zip(&self.source) {
            *v = a22[at as usize];
        }
    }

    /// S = A₂₂ − every level's rank update: for the entries e₂ ≤ e₁ of a level (`row_ptr` as
    /// given to [`SparseSchur::analyse`]), `product(e₁, e₂)` off the element of their rows.
    pub fn rank_updates(&mut self, row_ptr: &[usize], product: impl Fn(usize, usize) -> f64) {
        self.values.copy_from_slice(&self.a22);
        let mut places = self.updates.iter();
        for level in row_ptr.windows(2) {
            for e2 in level[0]..level[1] {
                for (e1, &at) in (e2..level[1]).zip(places.by_ref()) {
                    self.values[at as usize] -= product(e1, e2);
                }
            }
        }
    }

    /// Factorizes D S D + I₂ (I₂: the identity on the random-effects rows) from S of the last
    /// [`SparseSchur::rank_updates`], with D = diag(`d`) in the old order. False when it is not
    /// positive definite.
    pub fn factorize(&mut self, d: &[f64]) -> bool {
        for (v, &(r, c)) in self.values.iter_mut().zip(&self.rows_old) {
            *v *= d[r as usize] * d[c as usize];
        }
        for j in 0..self.nre {
            // The diagonal is each column's first entry.
            self.values[self.col_ptr[j]] += 1.0;
        }
        let m = self.m;
        let a = SparseColMatRef::new(
            SymbolicSparseColMatRef::new_checked(m, m, &self.col_ptr, None, &self.row_idx),
            &self.values,
        );
        supernodal::factorize_supernodal_numeric_llt(
            &mut self.l,
            a,
            LltRegularization::default(),
            &self.symbolic,
            Par::Seq,
            MemStack::new(&mut self.stack),
            Default::default(),
        )
        .is_ok()
    }

    /// Diagonal element `j` (new order) of the factor.
    pub fn diagonal(&self, j: usize) -> f64 {
        self.l[self.diagonal[j]]
    }

    /// The factor's lower triangle on the rows and columns of X and y into the dense `s`.
    pub fn trailing(&self, s: &mut [f64]) {
        for &(from, to) in &self.trailing {
            s[to] = self.l[from];
        }
    }

    /// Old row of new position `j`.
    pub fn old(&self, j: usize) -> usize {
        self.perm[j]
    }

    /// The factor, dense and lower, in the new order into `out` (`out[c·m + r]`); the rest of the
    /// lower triangle zero. X's and y's rows keep their places.
    pub fn scatter(&self, out: &mut [f64]) {
        let m = self.m;
        for c in 0..m {
            out[c * m + c..(c + 1) * m].fill(0.0);
        }
        for s in 0..self.symbolic.n_supernodes() {
            let node = self.symbolic.supernode(s);
            let (begin, end) = (
                self.symbolic.supernode_begin()[s],
                self.symbolic.supernode_end()[s],
            );
            let pattern = node.pattern();
            let nrows = pattern.len() + end - begin;
            let base = self.symbolic.col_ptr_for_val()[s];
            for j in begin..end {
                let column = &self.l[base + (j - begin) * nrows..base + (j - begin + 1) * nrows];
                for r in j..end {
                    out[j * m + r] = column[r - begin];
                }
                for (k, &r) in pattern.iter().enumerate() {
                    out[j * m + r] = column[end - begin + k];
                }
            }
        }
    }
}

/// Per old column c, the rows r > c of S's pattern below the diagonal that some level's rank
/// update reaches (A₂₂'s own pattern among the later terms lies within it: an observation's later
/// levels are all in its level of term 1's list), plus the diagonal r = c first.
fn lower_pattern(m: usize, row_ptr: &[usize], rows: &[u32]) -> Vec<Vec<usize>> {
    // The levels that meet each row.
    let mut count = vec![0usize; m + 1];
    for &r in rows {
        count[r as usize + 1] += 1;
    }
    for r in 0..m {
        count[r + 1] += count[r];
    }
    let mut next = count.clone();
    let mut levels = vec![0usize; rows.len()];
    for (level, range) in row_ptr.windows(2).enumerate() {
        for &r in &rows[range[0]..range[1]] {
            levels[next[r as usize]] = level;
            next[r as usize] += 1;
        }
    }
    let mut seen = vec![usize::MAX; m];
    let mut pattern = Vec::with_capacity(m);
    for c in 0..m {
        let mut column = vec![c];
        seen[c] = c;
        for &level in &levels[count[c]..count[c + 1]] {
            let list = &rows[row_ptr[level]..row_ptr[level + 1]];
            let after = list.partition_point(|&r| r as usize <= c);
            for &r in &list[after..] {
                if seen[r as usize] != c {
                    seen[r as usize] = c;
                    column.push(r as usize);
                }
            }
        }
        column[1..].sort_unstable();
        pattern.push(column);
    }
    pattern
}

/// The leading `n`×`n` part of a lower pattern, compressed.
fn restrict(lower: &[Vec<usize>], n: usize) -> (Vec<usize>, Vec<usize>) {
    compressed(lower[..n].iter().map(|c| {
        let end = c.partition_point(|&r| r < n);
        &c[..end]
    }))
}

/// Column lists as column pointers and row indices.
fn compressed<'a>(columns: impl Iterator<Item = &'a [usize]>) -> (Vec<usize>, Vec<usize>) {
    let (mut ptr, mut idx) = (vec![0], Vec::new());
    for column in columns {
        idx.extend_from_slice(column);
        ptr.push(idx.len());
    }
    (ptr, idx)
}
