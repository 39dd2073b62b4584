//! Model structure for one data shape: fixed-effects columns, random-effects terms (sorted by number
//! of levels, largest first, as lme4 and MixedModels.jl do) with their grouping factors, and the
//! assembly of the A blocks for [`Blocked`]: through per-group sufficient statistics in one O(N)
//! pass when there is a single random-effects term (the fast path), or from materialized model
//! matrices otherwise.

use crate::blocked::{Blocked, TermLayout};
use crate::centre::Centring;
use crate::data::{ColumnRef, Columns};
use crate::design::{self, Contrast, Design, Encoded, GroupingFactor, Kind, Part, VarTable};
use crate::error::{FitError, ModelError};
use crate::formula::Formula;
use std::collections::BTreeMap;

/// A random-effects term with its grouping factor.
#[derive(Clone, Debug)]
pub(crate) struct ReTerm {
    /// Columns of the term's model matrix (`(Intercept)`, `X`, ...).
    pub design: Design,
    /// Index into [`Structure::factors`].
    pub factor: usize,
    /// Group name as lme4's VarCorr prints it (`Subject`, `Subject.1` for a repeated factor).
    pub label: String,
}

impl ReTerm {
    /// Random effects per level.
    pub fn q(&self) -> usize {
        self.design.width()
    }
}

/// Largest number of distinct value columns the fast path accumulates.
const FAST_MAX_COLUMNS: usize = 8;

/// The value columns of the fast path: w = [1, u₁ … u_K] with y last; Z and X columns index into w.
#[derive(Clone, Debug)]
struct FastLayout {
    /// Parts of u₁ … u_{K−1} (u_K is y), and the centre subtracted from each (see `centre`).
    sources: Vec<Vec<Part>>,
    centres: Vec<f64>,
    z: Vec<usize>,
    x: Vec<usize>,
    /// Per-group accumulators, `stride` values per group: n, Σu and the packed upper triangle of
    /// Σuu′ — or, when Z is the intercept alone (`linear`), only n and Σu, which is all A₁₁ and
    /// A₂₁ then need; A₂₂'s Σuu′ then come from `products`, summed over all rows.
    acc: Vec<f64>,
    stride: usize,
    linear: bool,
    /// Σuu′ over all rows, packed upper triangle (when `linear`).
    products: Vec<f64>,
    /// Materialized value columns (those that are not a plain float column), n per column.
    buffer: Vec<f64>,
}

/// Everything that depends on the formula and the data's shape (columns, kinds, levels).
pub(crate) struct Structure {
    pub vars: VarTable,
    pub fixed: Design,
    pub terms: Vec<ReTerm>,
    pub factors: Vec<GroupingFactor>,
    encoded: Encoded,
    fast: Option<FastLayout>,
    pub blocked: Blocked,
    /// General path: materialized Z (per term, n×q) and X (n×p), y (n).
    z: Vec<Vec<f64>>,
    x: Vec<f64>,
    y: Vec<f64>,
    nobs: usize,
    /// Prior weights scale the rows of Z, X and y by √w (the general path only).
    weighted: bool,
    /// General path: the codes of every term's factor at the last symbolic analysis, and per
    /// observation and later term its entry of A₂₁ (see [`Structure::record_grouping`]).
    grouping: Vec<u32>,
    entry: Vec<u32>,
    /// One row's entries of the later terms (index in the dense block, value), and its Z₁ row.
    row_entries: Vec<(usize, f64)>,
    row_first: Vec<f64>,
    /// The centres of badly scaled columns (none unless [`Structure::recentre`] finds one).
    pub centring: Centring,
}

impl Structure {
    /// Resolves `formula` against `data` and allocates everything a fit needs.
    /// `dropped`: fixed-effects columns to leave out (indices into the full model's columns, the
    /// intercept first), the aliased columns of a rank-deficient X. `contrasts`: per categorical
    /// variable (by label), its coding when not treatment contrasts. `weighted`: the fits will have
    /// prior weights ([`Structure::assemble`]).
    pub fn build(
        formula: &Formula,
        data: &dyn Columns,
        dropped: &[usize],
        contrasts: &BTreeMap<String, Contrast>,
        weighted: bool,
    ) -> Result<Structure, FitError> {
        let n = data.nrows();
        if n == 0 {
            return Err(ModelError::NoRows.into());
        }
        let vars = VarTable::resolve(formula, data, contrasts)?;
        let mut fixed = Design::from_vars(&formula.fixed, &vars);
        let offset = usize::from(fixed.intercept);
        let mut column = 0;
        fixed.columns.retain(|_| {
            column += 1;
            !dropped.contains(&(column - 1 + offset))
        });
        let mut factors: Vec<GroupingFactor> = Vec::new();
        let mut groupings: Vec<Vec<usize>> = Vec::new();
        let mut terms = Vec::new();
        for random in &formula.random {
            let factor = match groupings.iter().position(|g| *g == random.grouping) {
                Some(f) => f,
                None => {
                    factors.push(GroupingFactor::new(
                        random.label.clone(),
                        &random.grouping,
                        &vars.names,
                        data,
                    )?);
                    groupings.push(random.grouping.clone());
                    factors.len() - 1
                }
            };
            let design = Design::random_effects(&random.effects, &vars);
            terms.push(ReTerm {
                design,
                factor,
                label: factors[factor].label.clone(),
            });
        }
        // lme4 orders terms by number of levels, largest first (stable).
        terms.sort_by_key(|t: &ReTerm| std::cmp::Reverse(factors[t.factor].nlevels()));
        make_unique(&mut terms);
        let designs: Vec<&Design> = std::iter::once(&fixed)
            .chain(terms.iter().map(|t| &t.design))
            .collect();
        let grouping: Vec<usize> = formula
            .random
            .iter()
            .flat_map(|r| r.grouping.iter().copied())
            .collect();
        let mut encoded = Encoded::without_groupings(&designs, &grouping, vars.names.len());
        encoded.encode(&vars, data)?;
        let centring = Centring::none(&fixed, terms.iter().map(|t| &t.design));
        // The fast path sums per group with unit weights; weighted fits take the general one.
        let fast = (terms.len() == 1 && !weighted)
            .then(|| fast_layout(&fixed, &terms[0].design, &centring))
            .flatten();
        let blocked = match &fast {
            Some(_) => fast_blocked(&terms[0], factors[terms[0].factor].nlevels(), fixed.width()),
            None => Blocked::new(
                layouts(&terms, &factors),
                fixed.width(),
                vec![0],
                Vec::new(),
            ),
        };
        let mut structure = Structure {
            vars,
            fixed,
            terms,
            factors,
            encoded,
            fast,
            blocked,
            z: Vec::new(),
            x: Vec::new(),
            y: Vec::new(),
            nobs: n,
            weighted,
            grouping: Vec::new(),
            entry: Vec::new(),
            row_entries: Vec::new(),
            row_first: Vec::new(),
            centring,
        };
        structure.size_fast_buffers();
        Ok(structure)
    }

    fn size_fast_buffers(&mut self) {
        if let Some(fast) = self.fast.as_mut() {
            fast.acc = vec![0.0; self.blocked.terms[0].nlevels * fast.stride];
            fast.buffer = vec![0.0; (fast.sources.len() + 1) * self.nobs];
        }
    }

    /// Chooses the centres of the assembled data's badly scaled columns from its X′X (in `xtx`, a
    /// p×p scratch): true when they changed, and the data must be assembled again.
    pub fn recentre(&mut self, xtx: &mut [f64]) -> bool {
        if !self.fixed.intercept {
            return false;
        }
        self.blocked.xtx(xtx);
        let terms = self.terms.iter().map(|t| &t.design);
        if !self.centring.update(xtx, &self.fixed, terms) {
            return false;
        }
        if self.fast.is_some() {
            self.fast = fast_layout(&self.fixed, &self.terms[0].design, &self.centring);
            self.size_fast_buffers();
        }
        true
    }

    /// Re-encodes a new data set of the same shape. False when its shape (rows, levels) differs and
    /// the structure must be rebuilt.
    pub fn reencode(&mut self, data: &dyn Columns) -> Result<bool, FitError> {
        if data.nrows() != self.nobs {
            return Ok(false);
        }
        for (f, factor) in self.factors.iter_mut().enumerate() {
            let fused = self.fast.is_some() && f == self.terms[0].factor;
            if fused && factor.consecutive_ints(&self.vars.names, data).is_some() {
                // Encoded inside the fast path's accumulation pass instead.
                continue;
            }
            if !factor.encode(&self.vars.names, data)? {
                return Ok(false);
            }
        }
        self.encoded.encode(&self.vars, data)
    }

    /// The level codes of the categorical variables that model-matrix columns read.
    pub fn encoded(&self) -> &Encoded {
        &self.encoded
    }

    /// Number of observations.
    pub fn nobs(&self) -> usize {
        self.nobs
    }

    /// Fixed-effects column names.
    pub fn fixed_names(&self) -> Vec<String> {
        self.fixed.names()
    }

    /// Checks lme4 makes before fitting: levels per factor, random effects versus observations.
    pub fn validate(&self) -> Result<(), FitError> {
        let n = self.nobs;
        for term in &self.terms {
            let factor = &self.factors[term.factor];
            let levels = factor.nlevels();
            if levels < 2 {
                return Err(FitError::OneLevel(factor.label.clone()));
            }
            if levels * term.q() >= n || levels >= n {
                return Err(FitError::TooManyRandomEffects {
                    group: factor.label.clone(),
                    levels,
                    effects: term.q(),
                    total: levels * term.q(),
                    nobs: n,
                });
            }
        }
        if self.fixed.width() >= n {
            return Err(FitError::TooFewObservations(format!(
                "{} observations are too few for {} fixed effects",
                n,
                self.fixed.width()
            )));
        }
        Ok(())
    }

    /// Fills the A blocks of [`Blocked`] from `data`, with the prior `weights` (one per row) of a
    /// structure built as weighted. False when the grouping factor's level set differs from the
    /// structure's (found by the fast path, which encodes the grouping factor while accumulating):
    /// the structure must then be rebuilt.
    pub fn assemble(
        &mut self,
        data: &dyn Columns,
        weights: Option<&[f64]>,
    ) -> Result<bool, FitError> {
        self.check_response(data)?;
        if weights.is_some() != self.weighted {
            return Err(FitError::Numerical(
                "the structure was built for another weighting".into(),
            ));
        }
        if self.fast.is_some() {
            self.assemble_fast(data)
        } else {
            self.assemble_general(data, weights).map(|()| true)
        }
    }

    fn response<'a>(&self, data: &'a dyn Columns) -> Result<ColumnRef<'a>, FitError> {
        Ok(crate::frame::column(data, &self.vars.names[0])?)
    }

    /// Non-finite or constant response values are errors.
    fn check_response(&self, data: &dyn Columns) -> Result<(), FitError> {
        let y = self.response(data)?;
        let first = design::numeric_value(y, 0);
        let constant = match y {
            ColumnRef::Float(v) => v.iter().all(|&x| x == first),
            ColumnRef::Int(v) => v.iter().all(|&x| x as f64 == first),
            ColumnRef::Text(_) => {
                return Err(ModelError::NonNumericResponse(self.vars.names[0].clone()).into())
            }
        };
        if constant && first.is_finite() {
            return Err(FitError::ConstantResponse(self.vars.names[0].clone()));
        }
        Ok(())
    }

    /// Names the first non-finite value among the numeric columns used, after the sums came out non-finite.
    fn non_finite_error(&self, data: &dyn Columns) -> FitError {
        for (var, kind) in self.vars.kinds.iter().enumerate() {
            if matches!(kind, Kind::Numeric) {
                if let Some(col) = data.column(&self.vars.names[var]) {
                    if let Err(e) = design::check_finite(&self.vars.names[var], col) {
                        return e;
                    }
                }
            }
        }
        FitError::Numerical("the cross-products of the data overflowed".into())
    }

    /// The fast path: one pass over rows accumulating per-group cross-products of w = [1, u].
    fn assemble_fast(&mut self, data: &dyn Columns) -> Result<bool, FitError> {
        let n = self.nobs;
        let Some(fast) = self.fast.as_mut() else {
            return Ok(true);
        };
        let nsrc = fast.sources.len();
        // Materialize the value columns that are not plain float columns.
        for (k, parts) in fast.sources.iter().enumerate() {
            let centre = fast.centres[k];
            if centre != 0.0 || plain_float(parts, data, &self.vars).is_none() {
                let out = &mut fast.buffer[k * n..(k + 1) * n];
                design::fill_column(parts, data, &self.vars, &self.encoded, out);
                subtract(out, centre);
            }
        }
        let response = crate::frame::column(data, &self.vars.names[0])?;
        let mut converted = false;
        if let ColumnRef::Int(values) = response {
            // Integer response: converted into the last buffer slot (reserved for it).
            let out = &mut fast.buffer[nsrc * n..];
            for (o, &v) in out.iter_mut().zip(values) {
                *o = v as f64;
            }
            converted = true;
        }
        let empty: &[f64] = &[];
        let mut cols: [&[f64]; FAST_MAX_COLUMNS] = [empty; FAST_MAX_COLUMNS];
        for (k, parts) in fast.sources.iter().enumerate() {
            cols[k] = match plain_float(parts, data, &self.vars) {
                Some(v) if fast.centres[k] == 0.0 => v,
                _ => &fast.buffer[k * n..(k + 1) * n],
            };
        }
        cols[nsrc] = match response {
            ColumnRef::Float(v) => v,
            _ if converted => &fast.buffer[nsrc * n..(nsrc + 1) * n],
            _ => return Err(ModelError::NonNumericResponse(self.vars.names[0].clone()).into()),
        };
        let factor = &self.factors[self.terms[0].factor];
        fast.acc.fill(0.0);
        let cols = &cols[..nsrc + 1];
        let products = &mut fast.products;
        match factor.consecutive_ints(&self.vars.names, data) {
            Some((values, first)) => {
                if values.len() != n {
                    return Err(FitError::Length {
                        column: factor.label.clone(),
                        len: values.len(),
                        nrows: n,
                    });
                }
                let levels = Levels::Consecutive { values, first };
                let all_present =
                    accumulate_dispatch(cols, levels, fast.linear, &mut fast.acc, products)
                        && fast.acc.chunks(fast.stride).all(|group| group[0] > 0.0);
                if !all_present {
                    return Ok(false);
                }
            }
            None => {
                let levels = Levels::Codes(&factor.codes);
                accumulate_dispatch(cols, levels, fast.linear, &mut fast.acc, products);
            }
        }
        if !fast.acc.iter().chain(&fast.products).all(|v| v.is_finite()) {
            return Err(self.non_finite_error(data));
        }
        fill_blocks_from_groups(fast, &mut self.blocked, nsrc + 1);
        Ok(true)
    }

    /// The general path: materialize Z, X and y, find which levels of the later terms meet each level
    /// of the first term (the symbolic structure), then accumulate A.
    fn assemble_general(
        &mut self,
        data: &dyn Columns,
        weights: Option<&[f64]>,
    ) -> Result<(), FitError> {
        let n = self.nobs;
        let p = self.fixed.width();
        self.x.resize(n * p, 0.0);
        let mut col = 0;
        if self.fixed.intercept {
            self.x[..n].fill(1.0);
            col = 1;
        }
        for c in &self.fixed.columns {
            let out = &mut self.x[col * n..(col + 1) * n];
            design::fill_column(&c.parts, data, &self.vars, &self.encoded, out);
            subtract(out, self.centring.fixed[col]);
            col += 1;
        }
        self.z.resize_with(self.terms.len(), Vec::new);
        for (k, term) in self.terms.iter().enumerate() {
            let q = term.q();
            self.z[k].resize(n * q, 0.0);
            let mut col = 0;
            if term.design.intercept {
                self.z[k][..n].fill(1.0);
                col = 1;
            }
            for c in &term.design.columns {
                let out = &mut self.z[k][col * n..(col + 1) * n];
                design::fill_column(&c.parts, data, &self.vars, &self.encoded, out);
                subtract(out, self.centring.random[k][col]);
                col += 1;
            }
        }
        let response = self.response(data)?;
        self.y.clear();
        self.y
            .extend((0..n).map(|i| design::numeric_value(response, i)));
        let finite = self
            .y
            .iter()
            .chain(&self.x)
            .chain(self.z.iter().flatten())
            .all(|v| v.is_finite());
        if !finite {
            return Err(self.non_finite_error(data));
        }
        if let Some(w) = weights {
            // W^{1/2} on every row of Z, X and y: A becomes [Z X y]′W[Z X y], as lme4's weighted fit.
            for (i, &wi) in w.iter().enumerate().take(n) {
                let s = wi.sqrt();
                self.y[i] *= s;
                for column in self.x.chunks_exact_mut(n) {
                    column[i] *= s;
                }
                for z in &mut self.z {
                    for column in z.chunks_exact_mut(n) {
                        column[i] *= s;
                    }
                }
            }
        }
        // A new data set of a study mostly has the grouping of the last: then its symbolic
        // analysis and workspace are kept (the comparison costs one pass over the codes).
        let layouts = layouts(&self.terms, &self.factors);
        let b = &self.blocked;
        if b.terms != layouts || b.p != p || !self.same_grouping() {
            let (row_ptr, rows) = self.symbolic(&layouts, p);
            let b = &self.blocked;
            if b.terms != layouts || b.p != p || b.row_ptr != row_ptr || b.rows != rows {
                self.blocked = Blocked::new(layouts, p, row_ptr, rows);
            }
            self.record_grouping();
        }
        self.accumulate_general();
        self.blocked.assembled();
        Ok(())
    }

    /// Per level of term 1: the dense-block rows of the later terms' levels it meets (ascending),
    /// then X and y. The observations are bucketed by their level of term 1 (a counting sort) and
    /// each level's rows marked once, in O(n) plus a sort of each level's short list (sorting all
    /// (level, row) pairs cost the nested bench 0.6M of its 9.8M instructions per fit).
    fn symbolic(&self, layouts: &[TermLayout], p: usize) -> (Vec<usize>, Vec<u32>) {
        let first = &self.factors[self.terms[0].factor].codes;
        let n0 = layouts[0].nlevels;
        let m = layouts[1..].iter().map(|t| t.q * t.nlevels).sum::<usize>() + p + 1;
        let mut bucket = vec![0usize; n0 + 1];
        for &level in first {
            bucket[level as usize + 1] += 1;
        }
        for level in 0..n0 {
            bucket[level + 1] += bucket[level];
        }
        let mut order = vec![0u32; first.len()];
        let mut next = bucket.clone();
        for (i, &level) in first.iter().enumerate() {
            order[next[level as usize]] = i as u32;
            next[level as usize] += 1;
        }
        // The last level (+1) that met each dense-block row, 0 for none yet.
        let mut seen = vec![0usize; m];
        let mut row_ptr = vec![0];
        let mut rows = Vec::new();
        for level in 0..n0 {
            let begin = rows.len();
            for &i in &order[bucket[level]..bucket[level + 1]] {
                for (term, layout) in self.terms.iter().zip(layouts).skip(1) {
                    let code = self.factors[term.factor].codes[i as usize] as usize;
                    let start = layout.rest_offset + code * layout.q;
                    if seen[start] != level + 1 {
                        seen[start] = level + 1;
                        rows.extend((start..start + layout.q).map(|r| r as u32));
                    }
                }
            }
            rows[begin..].sort_unstable();
            rows.extend((m - p - 1..m).map(|r| r as u32));
            row_ptr.push(rows.len());
        }
        (row_ptr, rows)
    }

    /// Whether every term's grouping factor has the codes of the last symbolic analysis.
    fn same_grouping(&self) -> bool {
        let n = self.nobs;
        self.grouping.len() == n * self.terms.len()
            && self
                .terms
                .iter()
                .zip(self.grouping.chunks_exact(n.max(1)))
                .all(|(term, codes)| self.factors[term.factor].codes == codes)
    }

    /// Keeps the grouping of the symbolic analysis just made, and per observation and later term
    /// the entry of A₂₁ of that term's first row (in the row list of the observation's level of
    /// term 1), which [`Structure::accumulate_general`] then adds to without searching.
    fn record_grouping(&mut self) {
        let n = self.nobs;
        self.grouping.clear();
        for term in &self.terms {
            self.grouping
                .extend_from_slice(&self.factors[term.factor].codes);
        }
        let b = &self.blocked;
        let first = &self.factors[self.terms[0].factor].codes;
        let later = self.terms.len() - 1;
        self.entry.clear();
        self.entry.resize(n * later, 0);
        for (i, &level) in first.iter().enumerate() {
            let (lo, hi) = (b.row_ptr[level as usize], b.row_ptr[level as usize + 1]);
            for (k, term) in self.terms.iter().enumerate().skip(1) {
                let layout = b.terms[k];
                let code = self.factors[term.factor].codes[i] as usize;
                let start = (layout.rest_offset + code * layout.q) as u32;
                // The symbolic analysis listed this row for this level: the search succeeds.
                let pos = b.rows[lo..hi].binary_search(&start).unwrap_or(0);
                self.entry[i * later + k - 1] = (lo + pos) as u32;
            }
        }
    }

    /// Accumulates A = [Z X y]′[Z X y] into the blocks (lower triangles): X and y against each
    /// other by column products, the rest row by row at the entries [`Structure::record_grouping`]
    /// found.
    fn accumulate_general(&mut self) {
        let n = self.nobs;
        let b = &mut self.blocked;
        b.clear();
        let (m, p) = (b.m, b.p);
        let x0 = m - p - 1;
        let q0 = b.terms[0].q;
        let (x, y) = (&self.x, &self.y);
        let fixed = |j: usize| {
            if j < p {
                &x[j * n..(j + 1) * n]
            } else {
                &y[..n]
            }
        };
        for j in 0..=p {
            for k in j..=p {
                let dot = fixed(j).iter().zip(fixed(k)).map(|(a, b)| a * b).sum();
                b.a22[(x0 + j) * m + x0 + k] = dot;
            }
        }
        let first = &self.factors[self.terms[0].factor].codes;
        let later = self.terms.len() - 1;
        let entries = &mut self.row_entries;
        let z0 = &mut self.row_first;
        z0.resize(q0, 0.0);
        for i in 0..n {
            let level = first[i] as usize;
            for (c, z) in z0.iter_mut().enumerate() {
                *z = self.z[0][c * n + i];
            }
            let block = &mut b.a11[level * q0 * q0..(level + 1) * q0 * q0];
            for c in 0..q0 {
                for r in 0..q0 {
                    block[c * q0 + r] += z0[r] * z0[c];
                }
            }
            // X and y against term 1: the last p + 1 entries of the level's list.
            let xe = b.row_ptr[level + 1] - p - 1;
            for j in 0..=p {
                let v = fixed(j)[i];
                let a21 = &mut b.a21[(xe + j) * q0..(xe + j + 1) * q0];
                for (a, z) in a21.iter_mut().zip(z0.iter()) {
                    *a += v * z;
                }
            }
            if later == 0 {
                continue;
            }
            entries.clear();
            for (k, term) in self.terms.iter().enumerate().skip(1) {
                let layout = b.terms[k];
                let start =
                    layout.rest_offset + self.factors[term.factor].codes[i] as usize * layout.q;
                let e = self.entry[i * later + k - 1] as usize;
                for a in 0..layout.q {
                    let v = self.z[k][a * n + i];
                    let a21 = &mut b.a21[(e + a) * q0..(e + a + 1) * q0];
                    for (t, z) in a21.iter_mut().zip(z0.iter()) {
                        *t += v * z;
                    }
                    let column = &mut b.a22[(start + a) * m..(start + a + 1) * m];
                    for j in 0..=p {
                        column[x0 + j] += v * fixed(j)[i];
                    }
                    entries.push((start + a, v));
                }
            }
            // The later terms' rows against each other (indices ascend along the entries).
            for (a, &(ia, va)) in entries.iter().enumerate() {
                for &(ib, vb) in &entries[..=a] {
                    b.a22[ib * m + ia] += va * vb;
                }
            }
        }
    }
}

/// `Subject`, `Subject.1`, ... for repeated group names, as R's make.unique.
fn make_unique(terms: &mut [ReTerm]) {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for term in terms.iter_mut() {
        match seen.iter_mut().find(|(name, _)| *name == term.label) {
            Some((_, count)) => {
                term.label = format!("{}.{}", term.label, count);
                *count += 1;
            }
            None => seen.push((term.label.clone(), 1)),
        }
    }
}

fn layouts(terms: &[ReTerm], factors: &[GroupingFactor]) -> Vec<TermLayout> {
    let mut theta_offset = 0;
    let mut rest_offset = 0;
    terms
        .iter()
        .enumerate()
        .map(|(k, t)| {
            let (q, nlevels) = (t.q(), factors[t.factor].nlevels());
            let layout = TermLayout {
                q,
                nlevels,
                theta_offset,
                rest_offset: if k == 0 { 0 } else { rest_offset },
            };
            theta_offset += q * (q + 1) / 2;
            if k > 0 {
                rest_offset += q * nlevels;
            }
            layout
        })
        .collect()
}

/// Subtracts a column's centre (none when zero, so uncentred columns are untouched).
fn subtract(column: &mut [f64], centre: f64) {
    if centre != 0.0 {
        for v in column {
            *v -= centre;
        }
    }
}

/// The fast layout when the distinct value columns of X and Z (a column with its centre) number
/// at most the kernel's limit.
fn fast_layout(fixed: &Design, effects: &Design, centring: &Centring) -> Option<FastLayout> {
    let mut sources: Vec<Vec<Part>> = Vec::new();
    let mut centres: Vec<f64> = Vec::new();
    let mut index_of = |parts: &Vec<Part>, centre: f64| {
        let same = |(s, c): (&Vec<Part>, &f64)| s == parts && *c == centre;
        match sources.iter().zip(&centres).position(same) {
            Some(k) => k + 1,
            None => {
                sources.push(parts.clone());
                centres.push(centre);
                sources.len()
            }
        }
    };
    let (xo, zo) = (usize::from(fixed.intercept), usize::from(effects.intercept));
    let mut x: Vec<usize> = fixed.intercept.then_some(0).into_iter().collect();
    x.extend(
        (fixed.columns.iter().enumerate()).map(|(j, c)| index_of(&c.parts, centring.fixed[j + xo])),
    );
    let mut z: Vec<usize> = effects.intercept.then_some(0).into_iter().collect();
    z.extend(
        (effects.columns.iter().enumerate())
            .map(|(a, c)| index_of(&c.parts, centring.random[0][a + zo])),
    );
    let k = sources.len() + 1;
    if k > FAST_MAX_COLUMNS - 1 {
        return None;
    }
    let linear = z == [0];
    Some(FastLayout {
        sources,
        centres,
        z,
        x,
        acc: Vec::new(),
        stride: if linear { k + 1 } else { group_stride(k) },
        linear,
        products: vec![0.0; k * (k + 1) / 2],
        buffer: Vec::new(),
    })
}

/// The blocked storage of the fast path: every level meets all p + 1 rows of X and y.
fn fast_blocked(term: &ReTerm, nlevels: usize, p: usize) -> Blocked {
    let q = term.q();
    let layout = TermLayout {
        q,
        nlevels,
        theta_offset: 0,
        rest_offset: 0,
    };
    let row_ptr = (0..=nlevels).map(|l| l * (p + 1)).collect();
    let rows = (0..nlevels)
        .flat_map(|_| (0..=p).map(|r| r as u32))
        .collect();
    Blocked::new(vec![layout], p, row_ptr, rows)
}

/// The slice of a value column that is one plain float column (no copy needed).
fn plain_float<'a>(parts: &[Part], data: &'a dyn Columns, vars: &VarTable) -> Option<&'a [f64]> {
    match parts {
        [Part::Numeric(var)] => match data.column(&vars.names[*var]) {
            Some(ColumnRef::Float(v)) => Some(v),
            _ => None,
        },
        _ => None,
    }
}

/// Index of w_a w_b (w₀ = 1) in a group accumulator for K value columns: [n, Σu₁..Σu_K, then the
/// packed upper triangle of Σuu′ by rows].
fn packed(a: usize, b: usize, k: usize) -> usize {
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    if a == 0 {
        return b;
    }
    let (r, c) = (a - 1, b - 1);
    1 + k + r * k - (r * r - r) / 2 + (c - r)
}

/// Copies per-group sums into A₁₁, A₂₁ and A₂₂.
fn fill_blocks_from_groups(fast: &FastLayout, b: &mut Blocked, k: usize) {
    let (q, p) = (fast.z.len(), fast.x.len());
    let m = p + 1;
    let y = k;
    b.a22.fill(0.0);
    let column = |j: usize| if j < p { fast.x[j] } else { y };
    if fast.linear {
        // Products of two value columns: from the sums over all rows.
        for j in 0..m {
            for i in j..m {
                let (wi, wj) = (column(i), column(j));
                if wi != 0 && wj != 0 {
                    b.a22[j * m + i] = fast.products[packed(wi, wj, k) - (1 + k)];
                }
            }
        }
    }
    for g in 0..b.terms[0].nlevels {
        let acc = &fast.acc[g * fast.stride..(g + 1) * fast.stride];
        let at = |a: usize, c: usize| acc[packed(a, c, k)];
        for c in 0..q {
            for r in 0..q {
                b.a11[g * q * q + c * q + r] = at(fast.z[r], fast.z[c]);
            }
        }
        for c in 0..q {
            for e in 0..p {
                b.a21[(g * m + e) * q + c] = at(fast.x[e], fast.z[c]);
            }
            b.a21[(g * m + p) * q + c] = at(y, fast.z[c]);
        }
        for j in 0..m {
            for i in j..m {
                let (wi, wj) = (column(i), column(j));
                if !fast.linear || wi == 0 || wj == 0 {
                    b.a22[j * m + i] += at(wi, wj);
                }
            }
        }
    }
}

/// The grouping factor's level of each row for the fast path's accumulation.
#[derive(Clone, Copy)]
enum Levels<'a> {
    /// Codes computed beforehand.
    Codes(&'a [u32]),
    /// Integer values with consecutive levels from `first`: the level is the offset.
    Consecutive { values: &'a [i64], first: i64 },
}

/// Accumulates the per-group sums of the value columns `cols` into `acc` (`group_stride` values
/// per group; or, when `linear`, K + 1 per group and Σuu′ over all rows in `products`); false when
/// a grouping value lies outside the known levels.
fn accumulate_dispatch(
    cols: &[&[f64]],
    levels: Levels<'_>,
    linear: bool,
    acc: &mut [f64],
    products: &mut [f64],
) -> bool {
    macro_rules! with_stride {
        ($k:literal, $s:expr) => {
            match levels {
                Levels::Codes(codes) => {
                    accumulate::<$k, { $s }>(cols, codes, acc, products);
                    true
                }
                Levels::Consecutive { values, first } => {
                    accumulate_consecutive::<$k, { $s }>(cols, values, first, acc, products)
                }
            }
        };
    }
    macro_rules! with_k {
        ($k:literal) => {
            if linear {
                with_stride!($k, $k + 1)
            } else {
                with_stride!($k, group_stride($k))
            }
        };
    }
    match cols.len() {
        1 => with_k!(1),
        2 => with_k!(2),
        3 => with_k!(3),
        4 => with_k!(4),
        5 => with_k!(5),
        6 => with_k!(6),
        _ => with_k!(7),
    }
}

/// Accumulator values per group for K value columns: n, Σu and the packed upper triangle of Σuu′.
const fn group_stride(k: usize) -> usize {
    1 + k + k * (k + 1) / 2
}

/// Adds one row's w = [1, u, packed uu′] (S = `group_stride(K)`) or w = [1, u] (S = K + 1) to the
/// accumulator of its group `level`, as one addition over the stride so that it compiles to packed
/// additions; with S = K + 1, adds uu′ to lane `lane` of the all-row `sums`. False if `level` is
/// out of range (the caller clamps it, so never).
#[inline(always)]
fn add_row<const K: usize, const S: usize>(
    acc: &mut [f64],
    level: usize,
    u: [f64; K],
    sums: &mut [[f64; LANES]; MAX_PRODUCTS],
    lane: usize,
) -> bool {
    let Some(Ok(a)) = acc
        .get_mut(level * S..(level + 1) * S)
        .map(<&mut [f64; S]>::try_from)
    else {
        return false;
    };
    let mut w = [0.0; S];
    w[0] = 1.0;
    w[1..=K].copy_from_slice(&u);
    let mut idx = 1 + K;
    for r in 0..K {
        for c in r..K {
            if S > K + 1 {
                w[idx] = u[r] * u[c];
            } else {
                sums[idx - 1 - K][lane] += u[r] * u[c];
            }
            idx += 1;
        }
    }
    for (a, w) in a.iter_mut().zip(&w) {
        *a += w;
    }
    true
}

/// Largest number of value-column products (K = 7).
const MAX_PRODUCTS: usize = (FAST_MAX_COLUMNS - 1) * FAST_MAX_COLUMNS / 2;

/// Independent partial sums per product over all rows, so that the additions pipeline.
const LANES: usize = 4;

/// One pass over rows: per group, n, Σu and the packed upper triangle of Σuu′ (u = K value
/// columns, S = `group_stride(K)` sums per group); or, with S = K + 1, per group n and Σu and the
/// packed Σuu′ over all rows into `products`. `level(i)` gives row i's level, clamped into range,
/// and whether the row's value lay outside the levels; returns whether any did. Rows of the same
/// group are not summed in runs or in separate banks: both were tried and were slower on the seed
/// data, whose groups interleave row by row (the pass is bound by instructions per row).
#[inline(always)]
fn accumulate_rows<const K: usize, const S: usize>(
    cols: &[&[f64]],
    n: usize,
    level: impl Fn(usize) -> (usize, bool),
    acc: &mut [f64],
    products: &mut [f64],
) -> bool {
    debug_assert!(S == group_stride(K) || S == K + 1);
    let cols: [&[f64]; K] = std::array::from_fn(|k| &cols[k][..n]);
    let mut sums = [[0.0; LANES]; MAX_PRODUCTS];
    let mut outside = false;
    let whole = n - n % LANES;
    for start in (0..whole).step_by(LANES) {
        for lane in 0..LANES {
            let i = start + lane;
            let (l, out) = level(i);
            outside |= out;
            let u = std::array::from_fn(|k| cols[k][i]);
            if !add_row::<K, S>(acc, l, u, &mut sums, lane) {
                return true;
            }
        }
    }
    for i in whole..n {
        let (l, out) = level(i);
        outside |= out;
        let u = std::array::from_fn(|k| cols[k][i]);
        if !add_row::<K, S>(acc, l, u, &mut sums, 0) {
            return true;
        }
    }
    if S == K + 1 {
        for (p, lanes) in products.iter_mut().zip(&sums) {
            *p = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
        }
    }
    outside
}

/// Per-group sums from precomputed level codes.
#[inline(never)]
fn accumulate<const K: usize, const S: usize>(
    cols: &[&[f64]],
    codes: &[u32],
    acc: &mut [f64],
    products: &mut [f64],
) {
    #[cfg(target_arch = "x86_64")]
    if S == K + 1 && acc.len() / S <= one_hot::MAX_GROUPS && one_hot::available() {
        let cols: [&[f64]; K] = std::array::from_fn(|k| &cols[k][..codes.len()]);
        // SAFETY: AVX2 is available, and every column has the `codes.len()` rows read. The codes
        // are the factor's own, all in range.
        unsafe { one_hot::accumulate::<K>(&cols, Levels::Codes(codes), acc, products) };
        return;
    }
    let level = |i: usize| (codes[i] as usize, false);
    accumulate_rows::<K, S>(cols, codes.len(), level, acc, products);
}

/// Per-group sums, the level of a row being its integer value minus `first` (no codes pass).
/// False when a value lies outside the `acc.len() / S` levels.
#[inline(never)]
fn accumulate_consecutive<const K: usize, const S: usize>(
    cols: &[&[f64]],
    values: &[i64],
    first: i64,
    acc: &mut [f64],
    products: &mut [f64],
) -> bool {
    let Some(last) = (acc.len() / S).checked_sub(1) else {
        return values.is_empty();
    };
    // A value outside the levels maps to one past the last, whose accumulator does not exist:
    // the pass then stops and reports it.
    let level = |i: usize| {
        let offset = values[i].wrapping_sub(first) as u64;
        (offset.min(last as u64 + 1) as usize, false)
    };
    #[cfg(target_arch = "x86_64")]
    if S == K + 1 && last < one_hot::MAX_GROUPS && one_hot::available() {
        let n = values.len();
        let cols: [&[f64]; K] = std::array::from_fn(|k| &cols[k][..n]);
        let levels = Levels::Consecutive { values, first };
        // SAFETY: AVX2 is available, and every column has the `values.len()` rows read.
        return unsafe { one_hot::accumulate::<K>(&cols, levels, acc, products) };
    }
    !accumulate_rows::<K, S>(cols, values.len(), level, acc, products)
}

/// The linear fast path's pass for a few levels (consecutive integers or codes) with AVX2: instead
/// of adding each row to its group's accumulator (a dependent load-add-store per row and column),
/// compare four rows' levels with each group's value and add the values under the mask, so that every
/// operation is a 4-wide one with no memory round trip. The work grows with the number of groups; up
/// to [`one_hot::MAX_GROUPS`] it is below the scatter's (seed data, 5 groups: 13.0 against 15.2 µs
/// per fit). An AVX-512 variant (8 rows per compare, masked additions) measured no faster per fit.
/// Its sums are in another order than the scatter's (see `one_hot::accumulate`), the same for
/// integer and coded levels; CPUs without AVX2 take the scatter, which may differ in the last bits.
#[cfg(target_arch = "x86_64")]
mod one_hot {
    use super::{Levels, LANES, MAX_PRODUCTS};
    use std::arch::x86_64::*;

    /// Most groups for which the kernel is used.
    pub const MAX_GROUPS: usize = 8;

    /// Rows per block: all groups' passes over a block read it from L1.
    const BLOCK: usize = 512;

    /// Independent partial sums per group and column: one chain would wait for each addition's
    /// latency (4 cycles) every vector of rows.
    const CHAINS: usize = 4;

    /// Partial sums kept per group and column: CHAINS vectors of 4 lanes.
    const PARTIALS: usize = CHAINS * LANES;

    pub fn available() -> bool {
        is_x86_feature_detected!("avx2")
    }

    /// One group's row count and partial sums of each column.
    #[derive(Clone, Copy)]
    struct Group<const K: usize> {
        count: i64,
        sums: [[f64; PARTIALS]; K],
    }

    /// As `accumulate_consecutive` (or `accumulate` for codes) with S = K + 1: per group n and Σu
    /// into `acc` (K + 1 per group,
    /// `acc.len() / (K + 1)` ≤ [`MAX_GROUPS`] groups), Σuu′ over all rows into `products` with the
    /// scalar pass's lanes (row i in lane i mod 4, the rows after the last multiple of 4 in lane 0)
    /// and reduction, so the products are the same to the bit. Within a group the rows are summed in
    /// 4 × 4 partial sums, then added pairwise. False when a value lies outside the levels.
    ///
    /// # Safety
    /// AVX2 must be available, and every column must have as many elements as there are levels.
    #[target_feature(enable = "avx2")]
    pub unsafe fn accumulate<const K: usize>(
        cols: &[&[f64]; K],
        levels: Levels<'_>,
        acc: &mut [f64],
        products: &mut [f64],
    ) -> bool {
        let n = match levels {
            Levels::Codes(codes) => codes.len(),
            Levels::Consecutive { values, .. } => values.len(),
        };
        let groups = acc.len() / (K + 1);
        debug_assert!(groups <= MAX_GROUPS && cols.iter().all(|c| c.len() == n));
        let whole = n - n % LANES;
        let mut state = [Group::<K> {
            count: 0,
            sums: [[0.0; PARTIALS]; K],
        }; MAX_GROUPS];
        let mut cross = [_mm256_setzero_pd(); MAX_PRODUCTS];
        let load = |k: usize, i: usize| _mm256_loadu_pd(cols[k].as_ptr().add(i));
        // Codes are widened block by block, so that both kinds of levels take the same pass.
        let mut widened = [0i64; BLOCK];
        for start in (0..whole).step_by(BLOCK) {
            let end = (start + BLOCK).min(whole);
            let block: [&[f64]; K] = std::array::from_fn(|k| &cols[k][start..end]);
            let (block_levels, first) = match levels {
                Levels::Consecutive { values, first } => (&values[start..end], first),
                Levels::Codes(codes) => {
                    for (w, &c) in widened.iter_mut().zip(&codes[start..end]) {
                        *w = i64::from(c);
                    }
                    (&widened[..end - start], 0)
                }
            };
            for (g, group) in state.iter_mut().enumerate().take(groups) {
                let key = first.wrapping_add(g as i64);
                group_block(&block, block_levels, key, group);
            }
            for i in (start..end).step_by(LANES) {
                let u: [__m256d; K] = std::array::from_fn(|k| load(k, i));
                let mut idx = 0;
                for r in 0..K {
                    for c in r..K {
                        cross[idx] = _mm256_add_pd(cross[idx], _mm256_mul_pd(u[r], u[c]));
                        idx += 1;
                    }
                }
            }
        }
        let mut matched = 0i64;
        for (g, group) in state.iter().enumerate().take(groups) {
            matched += group.count;
            let out = &mut acc[g * (K + 1)..(g + 1) * (K + 1)];
            out[0] = group.count as f64;
            for k in 0..K {
                out[1 + k] = pairwise_sum(&group.sums[k]);
            }
        }
        let mut outside = matched != whole as i64;
        let nproducts = K * (K + 1) / 2;
        let mut cross_lanes = [[0.0; LANES]; MAX_PRODUCTS];
        for (l, v) in cross_lanes.iter_mut().zip(&cross).take(nproducts) {
            _mm256_storeu_pd(l.as_mut_ptr(), *v);
        }
        for i in whole..n {
            let offset = match levels {
                Levels::Codes(codes) => u64::from(codes[i]),
                Levels::Consecutive { values, first } => values[i].wrapping_sub(first) as u64,
            };
            if offset >= groups as u64 {
                outside = true;
                continue;
            }
            let g = offset as usize;
            let out = &mut acc[g * (K + 1)..(g + 1) * (K + 1)];
            out[0] += 1.0;
            let mut idx = 0;
            for r in 0..K {
                out[1 + r] += cols[r][i];
                for c in r..K {
                    cross_lanes[idx][0] += cols[r][i] * cols[c][i];
                    idx += 1;
                }
            }
        }
        for (p, l) in products[..nproducts].iter_mut().zip(&cross_lanes) {
            *p = (l[0] + l[1]) + (l[2] + l[3]);
        }
        !outside
    }

    /// Σ of the partial sums, pairwise in a fixed order.
    fn pairwise_sum(v: &[f64; PARTIALS]) -> f64 {
        let mut v = *v;
        let mut half = PARTIALS / 2;
        while half > 0 {
            for i in 0..half {
                v[i] += v[i + half];
            }
            half /= 2;
        }
        v[0]
    }

    /// Adds the rows of a block (a multiple of 4 rows) whose level is `key` to `group`, 4 rows per
    /// vector.
    #[target_feature(enable = "avx2")]
    unsafe fn group_block<const K: usize>(
        cols: &[&[f64]; K],
        values: &[i64],
        key: i64,
        group: &mut Group<K>,
    ) {
        const W: usize = LANES;
        let n = values.len();
        let key = _mm256_set1_epi64x(key);
        let mut count = _mm256_setzero_si256();
        let mut sum: [[__m256d; K]; CHAINS] = std::array::from_fn(|c| {
            std::array::from_fn(|k| _mm256_loadu_pd(group.sums[k].as_ptr().add(c * W)))
        });
        let mut add_rows = |i: usize, chain: usize| {
            let level = _mm256_loadu_si256(values.as_ptr().add(i).cast());
            let hit = _mm256_cmpeq_epi64(level, key);
            // A hit is −1 in every bit: subtracting it counts the row.
            count = _mm256_sub_epi64(count, hit);
            let mask = _mm256_castsi256_pd(hit);
            for k in 0..K {
                let x = _mm256_loadu_pd(cols[k].as_ptr().add(i));
                sum[chain][k] = _mm256_add_pd(sum[chain][k], _mm256_and_pd(mask, x));
            }
        };
        let unrolled = n / (CHAINS * W) * (CHAINS * W);
        for i in (0..unrolled).step_by(CHAINS * W) {
            for chain in 0..CHAINS {
                add_rows(i + chain * W, chain);
            }
        }
        for i in (unrolled..n).step_by(W) {
            add_rows(i, 0);
        }
        for (c, chain) in sum.iter().enumerate() {
            for (k, s) in chain.iter().enumerate() {
                _mm256_storeu_pd(group.sums[k].as_mut_ptr().add(c * W), *s);
            }
        }
        let mut lanes = [0i64; W];
        _mm256_storeu_si256(lanes.as_mut_ptr().cast(), count);
        group.count += lanes.iter().sum::<i64>();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic sequence in [0, 1) (a 64-bit LCG's high bits) for test data.
    fn uniform(state: &mut u64) -> f64 {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (*state >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The AVX2 kernel against the scalar pass: counts exact, the products to the bit (same lanes
    /// and order), group sums to rounding (partial sums instead of one running sum), for row counts
    /// that are and are not multiples of 4, 16 and the block, and with a value outside the levels
    /// reported; with the levels as codes, the same to the bit.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn one_hot_kernel_matches_scatter() {
        if !one_hot::available() {
            return;
        }
        const K: usize = 3;
        let mut state = 7;
        for (n, groups) in [(5000, 5), (1027, 8), (3, 2), (516, 1), (0, 3)] {
            let first = -2;
            let values: Vec<i64> = (0..n)
                .map(|_| first + (uniform(&mut state) * groups as f64) as i64)
                .collect();
            let cols: Vec<Vec<f64>> = (0..K)
                .map(|_| (0..n).map(|_| 10.0 * uniform(&mut state) - 3.0).collect())
                .collect();
            let cols: [&[f64]; K] = std::array::from_fn(|k| cols[k].as_slice());
            let run = |values: &[i64], acc: &mut [f64], products: &mut [f64]| {
                let levels = Levels::Consecutive { values, first };
                // SAFETY: AVX2 checked above; every column has n rows.
                unsafe { one_hot::accumulate::<K>(&cols, levels, acc, products) }
            };
            let (mut acc, mut products) = (vec![0.0; groups * (K + 1)], vec![0.0; 6]);
            let (mut want_acc, mut want_products) = (acc.clone(), products.clone());
            let inside = run(&values, &mut acc, &mut products);
            let level = |i: usize| ((values[i] - first) as usize, false);
            accumulate_rows::<K, { K + 1 }>(&cols, n, level, &mut want_acc, &mut want_products);
            assert!(inside, "n {n}");
            assert_eq!(products, want_products, "n {n}");
            for (got, want) in acc.iter().zip(&want_acc) {
                let close = (got - want).abs() <= 1e-13 * want.abs().max(1.0);
                assert!(close, "n {n}: {got} vs {want}");
            }
            // The same rows with the levels as codes: the same pass, to the bit.
            let codes: Vec<u32> = values.iter().map(|&v| (v - first) as u32).collect();
            let (mut coded_acc, mut coded_products) = (vec![0.0; acc.len()], vec![0.0; 6]);
            // SAFETY: as above.
            unsafe {
                let levels = Levels::Codes(&codes);
                one_hot::accumulate::<K>(&cols, levels, &mut coded_acc, &mut coded_products)
            };
            assert_eq!(
                (&coded_acc, &coded_products),
                (&acc, &products),
                "n {n}: codes"
            );
            if n > 0 {
                let mut outside = values.clone();
                outside[n - 1] = first + groups as i64;
                let inside = run(&outside, &mut acc, &mut products);
                assert!(!inside, "n {n}: a value past the last level");
            }
        }
    }
}
