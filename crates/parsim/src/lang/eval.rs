//! Evaluation: one pass over the instructions, each filling a buffer column at a time. Buffers live in a
//! [`Workspace`] and keep their capacity, so after the first replication nothing is allocated.

use parsim_lmm::{ColumnRef, Columns};
use parsim_random::{
    Arg, ChoiceBuffers, ChoiceOptions, Error as RandomError, Generator, MvnFactor, MvnMethod,
};

use super::compile::{Elem, Instr, Matrix, Val, Variable};
use super::functions::Dist;
use super::fuse::{Step, CHUNK};
use super::kernel::{self, resize, Fail, Src};
use super::{Program, RuntimeError};

/// Longest vector a program may create (keeps a typo such as `size = N * N * N` from exhausting memory).
pub const MAX_LENGTH: usize = 100_000_000;

/// Default limit on the elements one replication's data hold, all vectors together (2 GB of 8-byte
/// numbers): twenty vectors of [`MAX_LENGTH`] would otherwise need 16 GB. See
/// [`Program::set_max_elements`].
pub const MAX_ELEMENTS: usize = 250_000_000;

/// Per-worker buffers of a program, reused across replications.
#[derive(Clone, Debug)]
pub struct Workspace {
    /// Float slots (one buffer per intermediate value).
    pub(super) f: Vec<Vec<f64>>,
    /// Integer slots.
    pub(super) i: Vec<Vec<i64>>,
    /// Chunk registers of fused runs (float, integer).
    pub(super) rf: Vec<Vec<f64>>,
    pub(super) ri: Vec<Vec<i64>>,
    /// For each integer slot, bounds its values are known to lie in (`integers(low, high)` draws), so
    /// that gathers by it need not check each index.
    pub(super) bounds: Vec<Option<(i64, i64)>>,
    /// For each float slot, whether its values are known to be finite (draws that cannot overflow), so
    /// that the finite check of a column the methods use can be skipped.
    pub(super) finite: Vec<bool>,
    variables: Vec<Variable>,
    rows_from: Option<usize>,
    /// Scratch of the sampling functions, kept across replications.
    sampling: Sampling,
}

/// Buffers of `choice`, `permutation` and `multivariate_normal`, and each covariance's factor (computed
/// again only when the covariance changes, i.e. per condition).
#[derive(Clone, Debug, Default)]
struct Sampling {
    choice: ChoiceBuffers,
    indices: Vec<i64>,
    normals: Vec<f64>,
    factors: Vec<CachedFactor>,
}

/// A covariance's factor for one `multivariate_normal` (by output slot): (slot, method, covariance, its
/// factor or why it has none).
type CachedFactor = (usize, MvnMethod, Vec<f64>, Result<MvnFactor, RandomError>);

impl Workspace {
    pub(crate) fn new(program: &Program) -> Self {
        let code = &program.code;
        let mut f = vec![Vec::new(); code.n_float];
        let mut i = vec![Vec::new(); code.n_int];
        // Constants are written once: no instruction ever writes their slots.
        for &(k, v) in &code.const_float {
            f[k] = vec![v];
        }
        for &(k, v) in &code.const_int {
            i[k] = vec![v];
        }
        let (nf, ni) = program.plan.regs;
        Workspace {
            f,
            i,
            rf: vec![vec![0.0; CHUNK]; nf],
            ri: vec![vec![0; CHUNK]; ni],
            bounds: vec![None; code.n_int],
            finite: vec![false; code.n_float],
            variables: code.variables.clone(),
            rows_from: program.rows_from,
            sampling: Sampling::default(),
        }
    }

    /// Evaluates the program for one condition (its named parameter values, in the program's parameter
    /// order) with the given generator, into the reused buffers.
    pub fn generate(
        &mut self,
        program: &Program,
        parameters: &[(String, f64)],
        rng: &mut Generator,
    ) -> Result<(), RuntimeError> {
        self.run(
            program,
            &mut |k| parameters.get(k).map_or(f64::NAN, |v| v.1),
            Some(rng),
        )
    }

    /// [`Workspace::generate`] with the parameter values given directly.
    pub fn generate_with(
        &mut self,
        program: &Program,
        parameter_values: &[f64],
        rng: &mut Generator,
    ) -> Result<(), RuntimeError> {
        self.run(
            program,
            &mut |k| parameter_values.get(k).copied().unwrap_or(f64::NAN),
            Some(rng),
        )
    }

    /// Runs a program without random draws (an estimand's expression).
    pub(crate) fn run_static(
        &mut self,
        program: &Program,
        parameter_values: &[f64],
    ) -> Result<(), RuntimeError> {
        self.run(
            program,
            &mut |k| parameter_values.get(k).copied().unwrap_or(f64::NAN),
            None,
        )
    }

    pub(crate) fn scalar_value(&self, v: Val) -> f64 {
        match v.elem {
            Elem::Float => self.f[v.idx].first().copied().unwrap_or(f64::NAN),
            Elem::Int => self.i[v.idx].first().map_or(f64::NAN, |&x| x as f64),
        }
    }

    fn run(
        &mut self,
        program: &Program,
        param: &mut dyn FnMut(usize) -> f64,
        mut rng: Option<&mut Generator>,
    ) -> Result<(), RuntimeError> {
        let code = &program.code;
        let plan = &program.plan;
        let (nf, ni) = plan.regs;
        if self.rf.len() < nf || self.ri.len() < ni {
            self.rf.resize(nf, vec![0.0; CHUNK]);
            self.ri.resize(ni, vec![0; CHUNK]);
        }
        // False when a column a fused run was to check may hold a non-finite value.
        let mut fused_clean = true;
        for step in &plan.steps {
            // Checked after each step (an instruction, or a fused run of them): what a replication
            // holds stays within the limit plus one step's vectors of at most MAX_LENGTH each.
            let last = match step {
                Step::Instr(k) => *k,
                Step::Group(g) => g.range.end.saturating_sub(1),
            };
            match step {
                Step::Instr(k) => self.exec(program, *k, param, rng.as_deref_mut())?,
                Step::Group(g) => match self.run_group(code, g, param) {
                    Ok(clean) => fused_clean &= clean,
                    Err(_) => {
                        // Column at a time: the same values, or exactly that path's error.
                        for k in g.range.clone() {
                            self.exec(program, k, param, None)?;
                        }
                        fused_clean = false;
                    }
                },
            }
            self.check_elements(program, last)?;
        }
        for (j, &k) in program.finite.iter().enumerate() {
            let var = &code.variables[k];
            let known = var.val.elem != Elem::Float || self.finite[var.val.idx];
            if known || (fused_clean && plan.covered[j]) {
                continue;
            }
            if let Some(row) = first_non_finite(&self.f[var.val.idx]) {
                let x = self.f[var.val.idx][row];
                let message = format!(
                    "`{}` has a non-finite value ({x}) in row {row}, and a method uses this column",
                    var.name
                );
                return Err(program.runtime_error(var.span.clone(), message));
            }
        }
        Ok(())
    }

    /// An error at instruction `k` if the buffers hold more elements than the program allows.
    fn check_elements(&self, program: &Program, k: usize) -> Result<(), RuntimeError> {
        let held = self.capacity();
        let limit = program.max_elements();
        if held <= limit {
            return Ok(());
        }
        let gb = |n: usize| n as f64 * 8.0 / 1e9;
        let message = format!(
            "the data of one replication would hold {held} elements ({:.1} GB) after this statement, \
             more than the limit of {limit} elements ({:.1} GB) per replication",
            gb(held),
            gb(limit)
        );
        Err(program.runtime_error(program.code.spans[k].clone(), message))
    }

    /// Evaluates instruction `k` column at a time.
    fn exec(
        &mut self,
        program: &Program,
        k: usize,
        param: &mut dyn FnMut(usize) -> f64,
        rng: Option<&mut Generator>,
    ) -> Result<(), RuntimeError> {
        let code = &program.code;
        self.step(&code.instrs[k], param, rng)
            .map_err(|message| program.runtime_error(code.spans[k].clone(), message))
    }

    /// The data set just generated.
    pub fn data(&self) -> DataSet<'_> {
        let len = |v: &Variable| self.len(v.val);
        let rows = match self.rows_from {
            Some(k) => len(&self.variables[k]),
            None => self
                .variables
                .iter()
                .filter(|v| !v.val.scalar)
                .map(len)
                .max()
                .unwrap_or(0),
        };
        DataSet { ws: self, rows }
    }

    fn len(&self, v: Val) -> usize {
        match v.elem {
            Elem::Float => self.f[v.idx].len(),
            Elem::Int => self.i[v.idx].len(),
        }
    }

    /// Total capacity of all buffers, in elements (tests show it stops growing after warm-up).
    pub fn capacity(&self) -> usize {
        self.f.iter().map(Vec::capacity).sum::<usize>()
            + self.i.iter().map(Vec::capacity).sum::<usize>()
    }

    /// Whether the values of integer slot `k` are known to be valid indices of a vector of length `n`.
    fn in_bounds(&self, k: usize, n: usize) -> bool {
        indices_fit(self.bounds[k], n)
    }

    fn int_scalar(&self, k: usize) -> i64 {
        self.i[k].first().copied().unwrap_or(0)
    }

    fn count(&self, k: usize, what: &str) -> Result<usize, Fail> {
        let n = self.int_scalar(k);
        if n < 0 {
            return Err(format!("{what} is negative ({n})"));
        }
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if n > MAX_LENGTH {
            return Err(format!(
                "{what} {n} is larger than the limit of {MAX_LENGTH} elements"
            ));
        }
        Ok(n)
    }

    pub(super) fn step(
        &mut self,
        instr: &Instr,
        param: &mut dyn FnMut(usize) -> f64,
        rng: Option<&mut Generator>,
    ) -> Result<(), Fail> {
        match *instr {
            Instr::ParamF { param: p, out } => set_scalar(&mut self.f[out], param(p)),
            Instr::ParamI { param: p, out } => set_scalar(&mut self.i[out], param(p) as i64),
            Instr::ToFloat { a, out } => {
                let n = self.i[a].len();
                let mut o = take_sized(&mut self.f, out, n);
                kernel::to_float(Src::of(&self.i[a]), &mut o);
                self.f[out] = o;
            }
            Instr::BinF { op, a, b, out } => {
                let n = broadcast(self.f[a].len(), self.f[b].len())?;
                let mut o = take_sized(&mut self.f, out, n);
                let r = kernel::bin_f(op, Src::of(&self.f[a]), Src::of(&self.f[b]), &mut o);
                self.f[out] = o;
                r?;
            }
            Instr::BinI { op, a, b, out } => {
                kernel::check_bin_i(op, Src::of(&self.i[b]))?;
                let n = broadcast(self.i[a].len(), self.i[b].len())?;
                let mut o = take_sized(&mut self.i, out, n);
                let r = kernel::bin_i(op, Src::of(&self.i[a]), Src::of(&self.i[b]), &mut o);
                self.i[out] = o;
                r?;
            }
            Instr::CmpF { op, a, b, out } => {
                let n = broadcast(self.f[a].len(), self.f[b].len())?;
                let o = &mut self.i[out];
                resize(o, n);
                kernel::cmp(op, Src::of(&self.f[a]), Src::of(&self.f[b]), o)?;
            }
            Instr::CmpI { op, a, b, out } => {
                let n = broadcast(self.i[a].len(), self.i[b].len())?;
                let mut o = take_sized(&mut self.i, out, n);
                let r = kernel::cmp(op, Src::of(&self.i[a]), Src::of(&self.i[b]), &mut o);
                self.i[out] = o;
                r?;
            }
            Instr::UnF { f, a, out } => {
                let n = self.f[a].len();
                let mut o = take_sized(&mut self.f, out, n);
                kernel::unary_f(f, Src::of(&self.f[a]), &mut o);
                self.f[out] = o;
            }
            Instr::NegI { a, out } | Instr::AbsI { a, out } => {
                let n = self.i[a].len();
                let mut o = take_sized(&mut self.i, out, n);
                let abs = matches!(instr, Instr::AbsI { .. });
                kernel::unary_i(abs, Src::of(&self.i[a]), &mut o);
                self.i[out] = o;
            }
            Instr::Round { a, decimals, out } => {
                let d = decimals.map_or(0, |k| self.int_scalar(k));
                let n = self.f[a].len();
                let mut o = take_sized(&mut self.f, out, n);
                kernel::round(Src::of(&self.f[a]), d, &mut o);
                self.f[out] = o;
            }
            // The output is taken out and every operand read in place: an operand may be the
            // condition or the index itself (`where(c, c, 0)`, `g[g]`).
            Instr::Where { cond, x, y, out } => {
                let n = broadcast(broadcast(self.i[cond].len(), self.len(x))?, self.len(y))?;
                match out.elem {
                    Elem::Float => {
                        let mut o = take_sized(&mut self.f, out.idx, n);
                        let c = Src::of(&self.i[cond]);
                        let (xs, ys) = (Src::of(&self.f[x.idx]), Src::of(&self.f[y.idx]));
                        kernel::select(c, xs, ys, &mut o);
                        self.f[out.idx] = o;
                    }
                    Elem::Int => {
                        let mut o = take_sized(&mut self.i, out.idx, n);
                        let c = Src::of(&self.i[cond]);
                        let (xs, ys) = (Src::of(&self.i[x.idx]), Src::of(&self.i[y.idx]));
                        kernel::select(c, xs, ys, &mut o);
                        self.i[out.idx] = o;
                    }
                }
            }
            Instr::Gather { src, idx, out } => {
                let known = self.in_bounds(idx, self.len(src));
                let n = self.i[idx].len();
                match src.elem {
                    Elem::Float => {
                        let mut o = take_sized(&mut self.f, out.idx, n);
                        let r = gather(&self.f[src.idx], &self.i[idx], known, &mut o);
                        self.f[out.idx] = o;
                        r?;
                    }
                    Elem::Int => {
                        let mut o = take_sized(&mut self.i, out.idx, n);
                        let r = gather(&self.i[src.idx], &self.i[idx], known, &mut o);
                        self.i[out.idx] = o;
                        r?;
                    }
                }
            }
            Instr::Draw {
                dist,
                ref args,
                size,
                endpoint,
                out,
            } => {
                let Some(rng) = rng else {
                    return Err("random draws are not allowed here".into());
                };
                self.draw(dist, args, size, endpoint, out, rng)?;
            }
            Instr::Arange {
                start,
                stop,
                step,
                out,
            } => self.arange(start, stop, step, out)?,
            Instr::Repeat {
                a,
                count,
                tile,
                out,
            } => {
                let n = self.count(
                    count,
                    if tile {
                        "the number of repetitions"
                    } else {
                        "the number of repeats"
                    },
                )?;
                match a.elem {
                    Elem::Float => repeat(&mut self.f, a.idx, n, tile, out.idx)?,
                    Elem::Int => repeat(&mut self.i, a.idx, n, tile, out.idx)?,
                }
            }
            Instr::Fill { value, n, out } => {
                let n = self.count(n, "the shape")?;
                let o = &mut self.f[out];
                o.clear();
                o.resize(n, value);
            }
            Instr::Sum { a, mean, out } => {
                let v = match a.elem {
                    Elem::Float => numpy_sum(&self.f[a.idx]),
                    Elem::Int if mean => sum_int_as_float(&self.i[a.idx]),
                    Elem::Int => {
                        let s = self.i[a.idx].iter().fold(0i64, |s, &x| s.wrapping_add(x));
                        set_scalar(&mut self.i[out.idx], s);
                        return Ok(());
                    }
                };
                let n = self.len(a) as f64;
                set_scalar(&mut self.f[out.idx], if mean { v / n } else { v });
            }
            Instr::Cumsum { a, out } => match a.elem {
                Elem::Float => scan(&mut self.f, a.idx, out.idx, |s, x| s + x),
                Elem::Int => scan(&mut self.i, a.idx, out.idx, i64::wrapping_add),
            },
            Instr::Len { a, out } => {
                let n = self.len(a) as i64;
                set_scalar(&mut self.i[out], n);
            }
            Instr::Concat { ref parts, out } => self.concat(parts, out)?,
            Instr::Column { m, j, out } => self.column(m, j, out)?,
            Instr::Choice {
                a,
                size,
                replace,
                p,
                shuffle,
                out,
            } => {
                let Some(rng) = rng else {
                    return Err("random draws are not allowed here".into());
                };
                self.choice(rng, a, size, (replace, p, shuffle), out)?;
            }
            Instr::Permutation { x, out } => {
                let Some(rng) = rng else {
                    return Err("random draws are not allowed here".into());
                };
                self.permutation(rng, x, out)?;
            }
            Instr::MvNormal {
                mean,
                cov,
                size,
                method,
                out,
            } => {
                let Some(rng) = rng else {
                    return Err("random draws are not allowed here".into());
                };
                self.mvn(rng, (mean, cov, size, method), out)?;
            }
        }
        Ok(())
    }

    /// The parts one after the other (the compiler made them all integers or all floats).
    fn concat(&mut self, parts: &[Val], out: Val) -> Result<(), Fail> {
        let total = parts.iter().map(|&v| self.len(v)).sum();
        check_len(total)?;
        match out.elem {
            Elem::Float => join(&mut self.f, parts, out.idx),
            Elem::Int => join(&mut self.i, parts, out.idx),
        }
        Ok(())
    }

    /// Column `j` of a matrix (numpy's negative column numbers allowed).
    fn column(&mut self, m: Matrix, j: usize, out: Val) -> Result<(), Fail> {
        let width = self.int_scalar(m.width);
        let j = self.int_scalar(j);
        let k = if j < 0 { j + width } else { j };
        if k < 0 || k >= width {
            return Err(format!(
                "column {j} is out of range for a matrix of {width} columns"
            ));
        }
        let mut o = std::mem::take(&mut self.f[out.idx]);
        o.clear();
        let data = &self.f[m.data.idx];
        o.extend(data.iter().skip(k as usize).step_by(width.max(1) as usize));
        self.f[out.idx] = o;
        Ok(())
    }

    fn choice(
        &mut self,
        rng: &mut Generator,
        a: Val,
        size: Option<usize>,
        (replace, p, shuffle): (usize, Option<usize>, usize),
        out: Val,
    ) -> Result<(), Fail> {
        let n = match size {
            Some(k) => self.count(k, "size")?,
            None => 1,
        };
        let population = if a.scalar {
            let pop = self.int_scalar(a.idx);
            if pop <= 0 && n != 0 {
                return Err("a must be a positive integer unless no samples are taken".into());
            }
            pop as usize
        } else {
            let pop = self.len(a);
            if pop == 0 && n != 0 {
                return Err("a cannot be empty unless no samples are taken".into());
            }
            pop
        };
        let options = ChoiceOptions {
            replace: self.int_scalar(replace) != 0,
            p: p.map(|k| self.f[k].as_slice()),
            shuffle: self.int_scalar(shuffle) != 0,
        };
        let sampling = &mut self.sampling;
        sampling.indices.clear();
        sampling.indices.resize(n, 0);
        rng.choice(
            population,
            &mut sampling.indices,
            options,
            &mut sampling.choice,
        )
        .map_err(|e| format!("choice(): {e}"))?;
        let idx = &sampling.indices;
        match (a.scalar, a.elem) {
            (true, _) => self.i[out.idx].clone_from(idx),
            (false, Elem::Int) => take_indices(&mut self.i, a.idx, idx, out.idx),
            (false, Elem::Float) => take_indices(&mut self.f, a.idx, idx, out.idx),
        }
        Ok(())
    }

    fn permutation(&mut self, rng: &mut Generator, x: Val, out: Val) -> Result<(), Fail> {
        if x.scalar {
            let n = self.int_scalar(x.idx);
            let n = check_len(usize::try_from(n).unwrap_or(0))?;
            rng.permutation(n, &mut self.i[out.idx]);
            return Ok(());
        }
        match x.elem {
            Elem::Int => {
                let mut o = std::mem::take(&mut self.i[out.idx]);
                o.clone_from(&self.i[x.idx]);
                rng.shuffle(&mut o);
                self.i[out.idx] = o;
            }
            Elem::Float => {
                let mut o = std::mem::take(&mut self.f[out.idx]);
                o.clone_from(&self.f[x.idx]);
                rng.shuffle(&mut o);
                self.f[out.idx] = o;
            }
        }
        Ok(())
    }

    fn mvn(
        &mut self,
        rng: &mut Generator,
        (mean, cov, size, method): (usize, Matrix, Option<usize>, MvnMethod),
        out: usize,
    ) -> Result<(), Fail> {
        let d = self.f[mean].len();
        let width = self.int_scalar(cov.width);
        let cov_data = &self.f[cov.data.idx];
        if width as usize != d || cov_data.len() != d * d {
            return Err(if cov_data.len() as i64 != width * width {
                "cov must be 2 dimensional and square".to_string()
            } else {
                format!("mean and cov must have same length ({d} and {width})")
            });
        }
        let rows = match size {
            Some(k) => self.count(k, "size")?,
            None => 1,
        };
        check_len(rows.saturating_mul(d))?;
        let factors = &mut self.sampling.factors;
        let k = match factors.iter().position(|f| f.0 == out) {
            Some(k) => k,
            None => {
                let empty = RandomError::InvalidParameter {
                    arg: "mean",
                    message: "mean must not be empty".into(),
                };
                factors.push((out, method, Vec::new(), Err(empty)));
                factors.len() - 1
            }
        };
        let entry = &mut factors[k];
        if entry.2 != *cov_data || entry.1 != method {
            entry.1 = method;
            entry.2.clone_from(cov_data);
            entry.3 = MvnFactor::new(cov_data, d, method);
        }
        let factor = entry
            .3
            .as_ref()
            .map_err(|e| format!("multivariate_normal(): {e}"))?;
        let mut o = std::mem::take(&mut self.f[out]);
        o.clear();
        o.resize(rows * d, 0.0);
        let r =
            rng.fill_multivariate_normal(&mut o, &self.f[mean], factor, &mut self.sampling.normals);
        self.f[out] = o;
        r.map_err(|e| format!("multivariate_normal(): {e}"))
    }

    fn arange(&mut self, start: Val, stop: Val, step: Val, out: Val) -> Result<(), Fail> {
        match out.elem {
            Elem::Int => {
                let (a, b, s) = (
                    self.int_scalar(start.idx),
                    self.int_scalar(stop.idx),
                    self.int_scalar(step.idx),
                );
                if s == 0 {
                    return Err("arange() step is zero".into());
                }
                let span = i128::from(b) - i128::from(a);
                let n = if (span > 0) == (s > 0) && span != 0 {
                    (span.abs() + i128::from(s).abs() - 1) / i128::from(s).abs()
                } else {
                    0
                };
                let n = check_len(usize::try_from(n).unwrap_or(usize::MAX))?;
                let o = &mut self.i[out.idx];
                o.clear();
                o.extend((0..n as i64).map(|k| a.wrapping_add(k.wrapping_mul(s))));
            }
            Elem::Float => {
                let sc = |v: Val| self.f[v.idx].first().copied().unwrap_or(f64::NAN);
                let (a, b, s) = (sc(start), sc(stop), sc(step));
                if s == 0.0 {
                    return Err("arange() step is zero".into());
                }
                let len = ((b - a) / s).ceil();
                if !len.is_finite() {
                    return Err("arange() arguments are not finite".into());
                }
                let n = check_len(if len > 0.0 { len as usize } else { 0 })?;
                // numpy fills a[0] = start, a[1] = start + step, then a[k] = start + k * (a[1] - a[0]).
                let delta = (a + s) - a;
                let o = &mut self.f[out.idx];
                o.clear();
                o.extend((0..n).map(|k| if k == 0 { a } else { a + k as f64 * delta }));
            }
        }
        Ok(())
    }

    fn draw(
        &mut self,
        dist: Dist,
        args: &[Val],
        size: Option<usize>,
        endpoint: Option<usize>,
        out: Val,
        rng: &mut Generator,
    ) -> Result<(), Fail> {
        let n = match size {
            Some(k) => self.count(k, "size")?,
            None => {
                let mut n = 1;
                for &a in args {
                    n = broadcast(n, self.len(a))?;
                }
                n
            }
        };
        let result = match out.elem {
            Elem::Float => {
                let mut o = std::mem::take(&mut self.f[out.idx]);
                if o.len() != n {
                    o.clear();
                    o.resize(n, 0.0);
                }
                let f = &self.f;
                let fa = |k: usize| farg(&f[args[k].idx]);
                let r = match dist {
                    Dist::Random => {
                        rng.fill_random(&mut o);
                        Ok(())
                    }
                    Dist::StandardNormal => {
                        rng.fill_standard_normal(&mut o);
                        Ok(())
                    }
                    Dist::StandardExponential => {
                        rng.fill_standard_exponential(&mut o);
                        Ok(())
                    }
                    Dist::Normal => rng.fill_normal(&mut o, fa(0), fa(1)),
                    Dist::Uniform => rng.fill_uniform(&mut o, fa(0), fa(1)),
                    Dist::Exponential => rng.fill_exponential(&mut o, fa(0)),
                    Dist::Gamma => rng.fill_gamma(&mut o, fa(0), fa(1)),
                    Dist::Chisquare => rng.fill_chisquare(&mut o, fa(0)),
                    Dist::StandardT => rng.fill_standard_t(&mut o, fa(0)),
                    Dist::Lognormal => rng.fill_lognormal(&mut o, fa(0), fa(1)),
                    Dist::Beta => rng.fill_beta(&mut o, fa(0), fa(1)),
                    Dist::Integers | Dist::Binomial | Dist::Poisson => {
                        unreachable!("integer distributions")
                    }
                };
                self.finite[out.idx] = r.is_ok() && finite_draws(dist, fa);
                self.f[out.idx] = o;
                r
            }
            Elem::Int => {
                let mut o = std::mem::take(&mut self.i[out.idx]);
                if o.len() != n {
                    o.clear();
                    o.resize(n, 0);
                }
                let (f, i) = (&self.f, &self.i);
                let fa = |k: usize| farg(&f[args[k].idx]);
                let ia = |k: usize| iarg(&i[args[k].idx]);
                let r = match dist {
                    Dist::Integers => {
                        let closed =
                            endpoint.is_some_and(|k| i[k].first().is_some_and(|&e| e != 0));
                        let r = rng.fill_integers(&mut o, ia(0), ia(1), closed);
                        self.bounds[out.idx] = match (r.is_ok(), ia(0), ia(1)) {
                            (true, Arg::Scalar(low), Arg::Scalar(high)) => {
                                Some((low, if closed { high } else { high - 1 }))
                            }
                            _ => None,
                        };
                        r
                    }
                    Dist::Binomial => rng.fill_binomial(&mut o, ia(0), fa(1)),
                    Dist::Poisson => rng.fill_poisson(&mut o, fa(0)),
                    _ => unreachable!("float distributions"),
                };
                self.i[out.idx] = o;
                r
            }
        };
        result.map_err(|e| random_error(dist, e))
    }
}

/// Position of the first NaN or infinity. A branch-free scan first (it vectorises), since almost every
/// column is finite.
fn first_non_finite(v: &[f64]) -> Option<usize> {
    if v.chunks(512).any(kernel::any_non_finite) {
        v.iter().position(|x| !x.is_finite())
    } else {
        None
    }
}

/// Whether a float draw's values are finite whatever the generator gives: `random` and `standard_normal`
/// always (parsim-random's ziggurat gives |z| < 14: its tail is r + ln(2^53) / r), `normal(loc, scale)`
/// when loc + 64 |scale| is, `uniform(low, high)` when high - low is (scalar parameters `arg(k)`).
fn finite_draws<'a>(dist: Dist, arg: impl Fn(usize) -> Arg<'a, f64>) -> bool {
    match dist {
        Dist::Random | Dist::StandardNormal => true,
        Dist::Normal | Dist::Uniform => match (arg(0), arg(1)) {
            (Arg::Scalar(a), Arg::Scalar(b)) if dist == Dist::Normal => {
                (a.abs() + 64.0 * b.abs()).is_finite()
            }
            (Arg::Scalar(a), Arg::Scalar(b)) => (b - a).is_finite(),
            _ => false,
        },
        _ => false,
    }
}

fn random_error(dist: Dist, e: RandomError) -> Fail {
    let name = format!("{dist:?}").to_lowercase();
    match e {
        RandomError::InvalidParameter { arg, message } => {
            format!("invalid `{arg}` for a {name} draw: {message}")
        }
        RandomError::Shape { arg, len, size } => {
            format!("`{arg}` has length {len} but size is {size}")
        }
        #[allow(unreachable_patterns)]
        other => format!("{name} draw failed: {other}"),
    }
}

fn farg(v: &[f64]) -> Arg<'_, f64> {
    if v.len() == 1 {
        Arg::Scalar(v[0])
    } else {
        Arg::Slice(v)
    }
}

fn iarg(v: &[i64]) -> Arg<'_, i64> {
    if v.len() == 1 {
        Arg::Scalar(v[0])
    } else {
        Arg::Slice(v)
    }
}

fn check_len(n: usize) -> Result<usize, Fail> {
    if n > MAX_LENGTH {
        return Err(format!(
            "a vector of {n} elements is larger than the limit of {MAX_LENGTH}"
        ));
    }
    Ok(n)
}

fn set_scalar<T>(buf: &mut Vec<T>, v: T) {
    buf.clear();
    buf.push(v);
}

/// numpy broadcasting of two 1-D lengths: equal, or one of them is 1.
fn broadcast(a: usize, b: usize) -> Result<usize, Fail> {
    if a == b || b == 1 {
        Ok(a)
    } else if a == 1 {
        Ok(b)
    } else {
        Err(format!("vectors of different lengths: {a} and {b}"))
    }
}

/// Whether known bounds of an index's values make every index valid for a vector of length `n`.
pub(super) fn indices_fit(bounds: Option<(i64, i64)>, n: usize) -> bool {
    bounds.is_some_and(|(lo, hi)| lo >= 0 && usize::try_from(hi).is_ok_and(|hi| hi < n))
}

/// A slot's buffer taken out at length `n`, keeping its capacity.
fn take_sized<T: Copy + Default>(bufs: &mut [Vec<T>], k: usize, n: usize) -> Vec<T> {
    let mut o = std::mem::take(&mut bufs[k]);
    resize(&mut o, n);
    o
}

/// `out = src[idx]`, numpy's negative indices allowed (`known`: every index is in range).
fn gather<T: Copy + Default>(s: &[T], idx: &[i64], known: bool, out: &mut [T]) -> Result<(), Fail> {
    if known {
        kernel::gather_in_range(s, idx, out);
        Ok(())
    } else {
        kernel::gather_checked(s, idx, out)
    }
}

/// The parts' buffers one after the other into slot `out`.
fn join<T: Copy>(bufs: &mut [Vec<T>], parts: &[Val], out: usize) {
    let mut o = std::mem::take(&mut bufs[out]);
    o.clear();
    for part in parts {
        o.extend_from_slice(&bufs[part.idx]);
    }
    bufs[out] = o;
}

/// `a[idx]` into slot `out`, the indices known to be in range.
fn take_indices<T: Copy>(bufs: &mut [Vec<T>], a: usize, idx: &[i64], out: usize) {
    let mut o = std::mem::take(&mut bufs[out]);
    o.clear();
    o.extend(idx.iter().map(|&k| bufs[a][k as usize]));
    bufs[out] = o;
}

/// numpy `repeat` (each element `n` times) or `tile` (the whole vector `n` times).
fn repeat<T: Copy>(
    bufs: &mut [Vec<T>],
    a: usize,
    n: usize,
    tile: bool,
    out: usize,
) -> Result<(), Fail> {
    let total = bufs[a].len().saturating_mul(n);
    check_len(total)?;
    let mut o = std::mem::take(&mut bufs[out]);
    o.clear();
    let s = &bufs[a];
    if tile {
        for _ in 0..n {
            o.extend_from_slice(s);
        }
    } else {
        for &x in s {
            o.extend(std::iter::repeat_n(x, n));
        }
    }
    bufs[out] = o;
    Ok(())
}

/// Running accumulation (numpy `cumsum`: sequential, left to right).
fn scan<T: Copy>(bufs: &mut [Vec<T>], a: usize, out: usize, f: impl Fn(T, T) -> T) {
    let mut o = std::mem::take(&mut bufs[out]);
    o.clear();
    let mut acc: Option<T> = None;
    o.extend(bufs[a].iter().map(|&x| {
        let v = match acc {
            Some(s) => f(s, x),
            None => x,
        };
        acc = Some(v);
        v
    }));
    bufs[out] = o;
}

/// numpy's pairwise summation of float64 (`pairwise_sum_DOUBLE`), as `np.sum` does on a contiguous vector.
fn pairwise(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        a.iter().fold(-0.0, |s, &x| s + x)
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[i..] {
            res += x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise(&a[..n2]) + pairwise(&a[n2..])
    }
}

/// `np.sum` of a float vector: the reduction starts at 0 and adds the pairwise sum.
fn numpy_sum(a: &[f64]) -> f64 {
    0.0 + pairwise(a)
}

/// `np.mean` of an integer vector sums as float64, converting in numpy's buffer-sized chunks.
fn sum_int_as_float(a: &[i64]) -> f64 {
    let mut chunk = [0.0f64; 8192];
    let mut total = 0.0;
    for part in a.chunks(8192) {
        for (c, &x) in chunk.iter_mut().zip(part) {
            *c = x as f64;
        }
        total += pairwise(&chunk[..part.len()]);
    }
    total
}

/// The data set a replication generated: the program's vector variables of the data set's length.
#[derive(Clone, Copy)]
pub struct DataSet<'a> {
    ws: &'a Workspace,
    rows: usize,
}

impl<'a> DataSet<'a> {
    /// Number of rows.
    pub fn nrows(&self) -> usize {
        self.rows
    }

    fn column_of(&self, v: &'a Variable) -> ColumnRef<'a> {
        match v.val.elem {
            Elem::Float => ColumnRef::Float(&self.ws.f[v.val.idx]),
            Elem::Int => ColumnRef::Int(&self.ws.i[v.val.idx]),
        }
    }

    /// The columns, in the order of their definitions: every vector variable with the data set's length.
    pub fn columns(&self) -> impl Iterator<Item = (&'a str, ColumnRef<'a>)> + '_ {
        self.ws
            .variables
            .iter()
            .filter(|v| !v.val.scalar && self.ws.len(v.val) == self.rows)
            .map(|v| (v.name.as_str(), self.column_of(v)))
    }

    /// Any variable by name, whatever its length (a group-level vector, a scalar as a length-1 slice).
    pub fn variable(&self, name: &str) -> Option<ColumnRef<'a>> {
        self.ws
            .variables
            .iter()
            .find(|v| v.name == name)
            .map(|v| self.column_of(v))
    }

    /// A scalar variable's value.
    pub fn scalar(&self, name: &str) -> Option<f64> {
        self.ws
            .variables
            .iter()
            .find(|v| v.name == name && v.val.scalar)
            .map(|v| self.ws.scalar_value(v.val))
    }

    /// Writes the data set as CSV: a header of column names, then one line per row; floats in shortest
    /// round-trip form (Rust's `Display` for `f64`), integers as integers.
    pub fn write_csv(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let cols: Vec<(&str, ColumnRef<'_>)> = self.columns().collect();
        let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
        writeln!(out, "{}", names.join(","))?;
        let mut line = String::new();
        for r in 0..self.rows {
            line.clear();
            for (k, (_, c)) in cols.iter().enumerate() {
                if k > 0 {
                    line.push(',');
                }
                use std::fmt::Write as _;
                let _ = match c {
                    ColumnRef::Float(v) => write!(line, "{}", v[r]),
                    ColumnRef::Int(v) => write!(line, "{}", v[r]),
                    ColumnRef::Text(v) => write!(line, "{}", v[r]),
                };
            }
            line.push('\n');
            out.write_all(line.as_bytes())?;
        }
        Ok(())
    }
}

impl Columns for DataSet<'_> {
    fn nrows(&self) -> usize {
        self.rows
    }

    fn column(&self, name: &str) -> Option<ColumnRef<'_>> {
        self.columns().find(|(n, _)| *n == name).map(|(_, c)| c)
    }

    fn column_names(&self) -> Vec<String> {
        self.columns().map(|(n, _)| n.to_string()).collect()
    }

    fn for_each_column(&self, visit: &mut dyn FnMut(&str, ColumnRef<'_>)) {
        for (name, column) in self.columns() {
            visit(name, column);
        }
    }
}
