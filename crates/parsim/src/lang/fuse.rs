//! Fusion of element-wise instructions. A run of consecutive element-wise instructions (arithmetic,
//! comparisons, element-wise functions, gathers, `where`) is evaluated in one pass over the rows, a chunk
//! of [`CHUNK`] rows at a time: intermediate values live in chunk-sized registers that stay in the L1
//! cache instead of full-length temporaries, and only the values a variable or a later instruction needs
//! are written at full length. A float operation whose only reader is the next one is merged into it
//! (one loop, the intermediate never stored). The finite check of the columns the methods use is done
//! on each chunk while it is in the cache. The pass is compiled three times (baseline, AVX2, AVX-512)
//! and chosen at run time: the same IEEE operations (Rust never contracts to FMA), wider vectors.
//!
//! Every element gets the same operations in the same order as the column-at-a-time evaluation, so the
//! bits are the same. Whenever the fused pass meets anything unusual (lengths that are not all equal, an
//! index out of range, an integer division by zero...), the run's instructions are evaluated again one
//! column at a time, which reports exactly the error (or computes the broadcast) that path would.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::compile::{Compiled, Elem, Instr, Val};
use super::eval::{indices_fit, Workspace};
use super::kernel::{self, resize, Fail, Src};
use super::syntax::BinOp;

/// Rows per chunk: a register is 4 KiB, a run's registers and operand chunks fit in the L1 cache.
pub(crate) const CHUNK: usize = 512;

/// A slot: element type and index.
type Slot = (Elem, usize);

/// Where a fused operation reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Loc {
    /// A full-length vector slot, at the chunk's rows.
    Rows(usize),
    /// A scalar slot, broadcast.
    One(usize),
    /// A chunk register.
    Reg(usize),
}

/// Where a fused operation writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Out {
    /// A full-length vector slot, at the chunk's rows.
    Rows(usize),
    /// A chunk register.
    Reg(usize),
}

/// One element-wise instruction of a fused run, its operands and output placed.
#[derive(Clone, Debug)]
pub(crate) struct Op {
    /// Index of the instruction (its kind; its slots are replaced by `args` and `out`).
    instr: usize,
    /// Element-wise operands, in [`elementwise_args`] order; for a pair (`first`), the first
    /// operation's two operands and then the instruction's other operand.
    args: Vec<Loc>,
    out: Out,
    /// A float operation merged into this one (its only reader): computed in the same loop, never
    /// stored.
    first: Option<BinOp>,
    /// Whether the merged operation's result is this instruction's left operand.
    first_left: bool,
}

/// A fused run of instructions.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    /// The instructions the run replaces (evaluated one by one when the fused pass gives up).
    pub range: Range<usize>,
    /// Scalar instructions of the run (parameters, scalar arithmetic), evaluated before the pass.
    prologue: Vec<usize>,
    pub(crate) ops: Vec<Op>,
    /// Vector operands from outside the run: all must have the run's length.
    inputs: Vec<Slot>,
    /// Scalar operands from outside the run (or its prologue): one element each.
    scalars: Vec<Slot>,
    /// Slots the run writes at full length.
    outputs: Vec<Slot>,
    /// Float slots (outputs or inputs of the run) whose values must be finite.
    checks: Vec<usize>,
}

/// A step of a program's evaluation.
#[derive(Clone, Debug)]
pub(crate) enum Step {
    Instr(usize),
    Group(Group),
}

/// How a program is evaluated: single instructions and fused runs.
#[derive(Clone, Debug, Default)]
pub(crate) struct Plan {
    pub steps: Vec<Step>,
    /// For each variable of `Program::finite` (same order): whether a fused run checks it.
    pub covered: Vec<bool>,
    /// Float and integer chunk registers needed.
    pub regs: (usize, usize),
}

impl Plan {
    /// Every instruction on its own, column at a time.
    pub(crate) fn unfused(code: &Compiled, finite: &[usize]) -> Plan {
        Plan {
            steps: (0..code.instrs.len()).map(Step::Instr).collect(),
            covered: vec![false; finite.len()],
            regs: (0, 0),
        }
    }

    /// Fuses the runs of element-wise instructions. `finite` are the variables that must be finite,
    /// `keep` slots needed after the program (its result).
    pub(crate) fn fused(code: &Compiled, finite: &[usize], keep: Option<Val>) -> Plan {
        let mut readers: HashMap<Slot, Vec<usize>> = HashMap::new();
        for (k, instr) in code.instrs.iter().enumerate() {
            for s in reads(instr) {
                readers.entry(s).or_default().push(k);
            }
        }
        let mut kept: HashSet<Slot> = code.variables.iter().map(|v| slot(v.val)).collect();
        kept.extend(keep.map(slot));
        let ctx = Context {
            code,
            readers,
            kept,
        };
        let mut plan = Plan {
            covered: vec![false; finite.len()],
            ..Plan::default()
        };
        let mut k = 0;
        while k < code.instrs.len() {
            match ctx.run_end(k) {
                Some(end) => {
                    let group = ctx.group(k..end, &mut plan.regs);
                    plan.steps.push(Step::Group(group));
                    k = end;
                }
                None => {
                    plan.steps.push(Step::Instr(k));
                    k += 1;
                }
            }
        }
        plan.assign_checks(code, finite);
        plan
    }

    /// Each float vector variable that must be finite is checked by the first run that writes or reads it.
    fn assign_checks(&mut self, code: &Compiled, finite: &[usize]) {
        for (j, &v) in finite.iter().enumerate() {
            let val = code.variables[v].val;
            if val.elem != Elem::Float || val.scalar {
                continue;
            }
            let s = slot(val);
            let group = self.steps.iter_mut().find_map(|step| match step {
                Step::Group(g) if g.outputs.contains(&s) || g.inputs.contains(&s) => Some(g),
                _ => None,
            });
            if let Some(g) = group {
                g.checks.push(val.idx);
                self.covered[j] = true;
            }
        }
    }
}

struct Context<'c> {
    code: &'c Compiled,
    readers: HashMap<Slot, Vec<usize>>,
    kept: HashSet<Slot>,
}

impl Context<'_> {
    fn scalar(&self, s: Slot) -> bool {
        match s.0 {
            Elem::Float => self.code.scalar_f[s.1],
            Elem::Int => self.code.scalar_i[s.1],
        }
    }

    /// End of the fused run starting at instruction `k` (after its last vector instruction), if any.
    fn run_end(&self, k: usize) -> Option<usize> {
        let mut written: HashSet<Slot> = HashSet::new();
        let mut end = None;
        for (j, instr) in self.code.instrs.iter().enumerate().skip(k) {
            let Some(out) = write(instr) else { break };
            if matches!(
                instr,
                Instr::Draw { .. }
                    | Instr::Choice { .. }
                    | Instr::Permutation { .. }
                    | Instr::MvNormal { .. }
            ) {
                break;
            }
            if self.scalar(out) {
                // Scalars are computed before the pass: only from values the run does not compute.
                if reads(instr).iter().any(|s| written.contains(s)) {
                    break;
                }
                continue;
            }
            if elementwise_args(instr).is_none() {
                break;
            }
            // A gather's source is read whole: it must be complete before the pass.
            if matches!(instr, Instr::Gather { src, .. } if written.contains(&slot(*src))) {
                break;
            }
            written.insert(out);
            end = Some(j + 1);
        }
        end
    }

    fn group(&self, range: Range<usize>, regs: &mut (usize, usize)) -> Group {
        let mut g = Group {
            range: range.clone(),
            prologue: Vec::new(),
            ops: Vec::new(),
            inputs: Vec::new(),
            scalars: Vec::new(),
            outputs: Vec::new(),
            checks: Vec::new(),
        };
        let mut placed: HashMap<Slot, Loc> = HashMap::new();
        let mut free: (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
        let mut last_use: HashMap<Slot, usize> = HashMap::new();
        for j in range.clone() {
            let instr = &self.code.instrs[j];
            let out = write(instr).expect("runs hold writing instructions");
            if self.scalar(out) {
                g.prologue.push(j);
                continue;
            }
            let arg_slots = elementwise_args(instr).expect("runs hold element-wise instructions");
            let args = arg_slots
                .iter()
                .map(|&s| match placed.get(&s) {
                    Some(&loc) => loc,
                    None if self.scalar(s) => {
                        push_new(&mut g.scalars, s);
                        Loc::One(s.1)
                    }
                    None => {
                        push_new(&mut g.inputs, s);
                        Loc::Rows(s.1)
                    }
                })
                .collect();
            let readers = self.readers.get(&out).map_or(&[][..], Vec::as_slice);
            let out_loc = if self.kept.contains(&out) || readers.iter().any(|r| !range.contains(r))
            {
                g.outputs.push(out);
                Out::Rows(out.1)
            } else {
                let (pool, count) = match out.0 {
                    Elem::Float => (&mut free.0, &mut regs.0),
                    Elem::Int => (&mut free.1, &mut regs.1),
                };
                let r = pool.pop().unwrap_or_else(|| {
                    *count += 1;
                    *count - 1
                });
                if let Some(&last) = readers.iter().max() {
                    last_use.insert(out, last);
                }
                Out::Reg(r)
            };
            placed.insert(
                out,
                match out_loc {
                    Out::Rows(k) => Loc::Rows(k),
                    Out::Reg(r) => Loc::Reg(r),
                },
            );
            // Registers whose last reader is this instruction are free for the next ones.
            for s in arg_slots {
                if let (Some(&Loc::Reg(r)), Some(&last)) = (placed.get(&s), last_use.get(&s)) {
                    if last == j {
                        last_use.remove(&s);
                        match s.0 {
                            Elem::Float => free.0.push(r),
                            Elem::Int => free.1.push(r),
                        }
                    }
                }
            }
            let op = Op {
                instr: j,
                args,
                out: out_loc,
                first: None,
                first_left: false,
            };
            match g.ops.last().and_then(|prev| self.pair(prev, &op)) {
                Some(pair) => *g.ops.last_mut().expect("a previous operation") = pair,
                None => g.ops.push(op),
            }
        }
        g
    }

    /// `b` with `a` merged into it, when `a` is float arithmetic whose only reader is `b` (also float
    /// arithmetic) and `b` does not write where `a` reads: one loop instead of two, the intermediate
    /// never stored.
    fn pair(&self, a: &Op, b: &Op) -> Option<Op> {
        let Instr::BinF {
            op: first, out: t, ..
        } = self.code.instrs[a.instr]
        else {
            return None;
        };
        let Instr::BinF { op: then, .. } = self.code.instrs[b.instr] else {
            return None;
        };
        let Out::Reg(r) = a.out else { return None };
        let single_reader = self.readers.get(&(Elem::Float, t)).map_or(0, Vec::len) == 1;
        let overwrites = matches!(b.out, Out::Reg(o) if a.args.contains(&Loc::Reg(o)));
        if a.first.is_some()
            || !kernel::pairs(first)
            || !kernel::pairs(then)
            || !single_reader
            || overwrites
        {
            return None;
        }
        let k = b.args.iter().position(|&l| l == Loc::Reg(r))?;
        Some(Op {
            instr: b.instr,
            args: vec![a.args[0], a.args[1], b.args[1 - k]],
            out: b.out,
            first: Some(first),
            first_left: k == 0,
        })
    }
}

fn push_new(list: &mut Vec<Slot>, s: Slot) {
    if !list.contains(&s) {
        list.push(s);
    }
}

fn slot(v: Val) -> Slot {
    (v.elem, v.idx)
}

/// The slot an instruction writes.
fn write(instr: &Instr) -> Option<Slot> {
    use Instr::*;
    Some(match *instr {
        ParamF { out, .. }
        | ToFloat { out, .. }
        | BinF { out, .. }
        | UnF { out, .. }
        | Round { out, .. }
        | MvNormal { out, .. }
        | Fill { out, .. } => (Elem::Float, out),
        ParamI { out, .. }
        | BinI { out, .. }
        | CmpF { out, .. }
        | CmpI { out, .. }
        | NegI { out, .. }
        | AbsI { out, .. }
        | Len { out, .. } => (Elem::Int, out),
        Where { out, .. }
        | Gather { out, .. }
        | Draw { out, .. }
        | Arange { out, .. }
        | Repeat { out, .. }
        | Sum { out, .. }
        | Concat { out, .. }
        | Choice { out, .. }
        | Permutation { out, .. }
        | Column { out, .. }
        | Cumsum { out, .. } => slot(out),
    })
}

/// The operands of an element-wise instruction, in order (a gather's index only: its source is read
/// whole); None for other instructions.
fn elementwise_args(instr: &Instr) -> Option<Vec<Slot>> {
    use Instr::*;
    let f = |k| (Elem::Float, k);
    let i = |k| (Elem::Int, k);
    Some(match *instr {
        ToFloat { a, .. } | NegI { a, .. } | AbsI { a, .. } => vec![i(a)],
        BinF { a, b, .. } | CmpF { a, b, .. } => vec![f(a), f(b)],
        BinI { a, b, .. } | CmpI { a, b, .. } => vec![i(a), i(b)],
        UnF { a, .. } | Round { a, .. } => vec![f(a)],
        Where { cond, x, y, .. } => vec![i(cond), slot(x), slot(y)],
        Gather { idx, .. } => vec![i(idx)],
        _ => return None,
    })
}

/// Every slot an instruction reads.
fn reads(instr: &Instr) -> Vec<Slot> {
    use Instr::*;
    let i = |k| (Elem::Int, k);
    match instr {
        Round {
            a,
            decimals: Some(d),
            ..
        } => vec![(Elem::Float, *a), i(*d)],
        Gather { src, idx, .. } => vec![slot(*src), i(*idx)],
        Draw {
            args,
            size,
            endpoint,
            ..
        } => args
            .iter()
            .map(|v| slot(*v))
            .chain(size.map(i))
            .chain(endpoint.map(i))
            .collect(),
        Arange {
            start, stop, step, ..
        } => vec![slot(*start), slot(*stop), slot(*step)],
        Repeat { a, count, .. } => vec![slot(*a), i(*count)],
        Fill { n, .. } => vec![i(*n)],
        Concat { parts, .. } => parts.iter().map(|v| slot(*v)).collect(),
        Choice {
            a,
            size,
            replace,
            p,
            shuffle,
            ..
        } => [slot(*a), i(*replace), i(*shuffle)]
            .into_iter()
            .chain(size.map(i))
            .chain(p.map(|k| (Elem::Float, k)))
            .collect(),
        Permutation { x, .. } => vec![slot(*x)],
        MvNormal {
            mean, cov, size, ..
        } => [(Elem::Float, *mean), slot(cov.data), i(cov.width)]
            .into_iter()
            .chain(size.map(i))
            .collect(),
        Column { m, j, .. } => vec![slot(m.data), i(m.width), i(*j)],
        Sum { a, .. } | Cumsum { a, .. } | Len { a, .. } => vec![slot(*a)],
        ParamF { .. } | ParamI { .. } => Vec::new(),
        other => elementwise_args(other).unwrap_or_default(),
    }
}

/// Why the fused pass gave up (the run is then evaluated column at a time).
pub(crate) struct GiveUp;

impl Workspace {
    /// Evaluates a fused run; returns whether every checked column is finite.
    pub(crate) fn run_group(
        &mut self,
        code: &Compiled,
        g: &Group,
        param: &mut dyn FnMut(usize) -> f64,
    ) -> Result<bool, GiveUp> {
        for &k in &g.prologue {
            self.step(&code.instrs[k], param, None)
                .map_err(|_| GiveUp)?;
        }
        let len = |s: &Slot| match s.0 {
            Elem::Float => self.f[s.1].len(),
            Elem::Int => self.i[s.1].len(),
        };
        let n = g.inputs.first().map(len).ok_or(GiveUp)?;
        if g.inputs.iter().any(|s| len(s) != n) || g.scalars.iter().any(|s| len(s) != 1) {
            return Err(GiveUp);
        }
        for &(elem, k) in &g.outputs {
            match elem {
                Elem::Float => resize(&mut self.f[k], n),
                Elem::Int => resize(&mut self.i[k], n),
            }
        }
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the processor supports AVX-512F, checked just above.
                return unsafe { self.chunks_avx512(code, g, n) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the processor supports AVX2, checked just above.
                return unsafe { self.chunks_avx2(code, g, n) };
            }
        }
        self.chunks(code, g, n)
    }

    /// [`Workspace::chunks`] compiled for AVX-512: eight floats per instruction.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn chunks_avx512(&mut self, code: &Compiled, g: &Group, n: usize) -> Result<bool, GiveUp> {
        self.chunks(code, g, n)
    }

    /// [`Workspace::chunks`] compiled for AVX2: four floats per instruction instead of two. The same
    /// IEEE operations (no FMA contraction), so the same bits.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn chunks_avx2(&mut self, code: &Compiled, g: &Group, n: usize) -> Result<bool, GiveUp> {
        self.chunks(code, g, n)
    }

    /// The pass over `n` rows, chunk by chunk: every operation, then the finite checks.
    #[inline(always)]
    fn chunks(&mut self, code: &Compiled, g: &Group, n: usize) -> Result<bool, GiveUp> {
        let mut clean = true;
        for start in (0..n).step_by(CHUNK) {
            let rows = start..n.min(start + CHUNK);
            let mut checked = None;
            for op in &g.ops {
                self.op(&code.instrs[op.instr], op, &rows, &mut checked)?;
            }
            for &k in &g.checks {
                if !self.finite[k] {
                    clean &= !kernel::any_non_finite(&self.f[k][rows.clone()]);
                }
            }
        }
        Ok(clean)
    }

    /// One fused operation on one chunk of rows. `checked` is an index operand whose chunk is known to
    /// be in range for sources of at least that length (gathers by the same index check it once).
    #[inline(always)]
    fn op(
        &mut self,
        instr: &Instr,
        op: &Op,
        rows: &Range<usize>,
        checked: &mut Option<(Loc, usize)>,
    ) -> Result<(), GiveUp> {
        let Workspace {
            f,
            i,
            rf,
            ri,
            bounds: in_bounds,
            ..
        } = self;
        let mut fb = Bank { slots: f, regs: rf };
        let mut ib = Bank { slots: i, regs: ri };
        let arg = |k: usize| op.args[k];
        // `on_chunk!(bank, |view, out| body)`: the body runs with the output's chunk and a view of the
        // bank's other buffers (SSA: an output is never an operand of its own instruction). A macro, not
        // a closure, so that the body is compiled with the caller's target features.
        macro_rules! on_chunk {
            ($bank:ident, |$v:ident, $o:ident| $body:expr) => {{
                let mut taken = $bank.take(op.out);
                let $o = chunk_of(&mut taken, op.out, rows);
                let $v = $bank.view();
                let result = $body;
                $bank.put(op.out, taken);
                result
            }};
        }
        let done: Result<(), Fail> = match *instr {
            Instr::BinF { op: bop, .. } => on_chunk!(fb, |v, o| {
                let (x, y) = (v.src(arg(0), rows), v.src(arg(1), rows));
                match op.first {
                    None => kernel::bin_f(bop, x, y, o),
                    Some(first) => {
                        let z = v.src(arg(2), rows);
                        kernel::bin_f2(first, x, y, bop, z, op.first_left, o)
                    }
                }
            }),
            Instr::BinI { op: bop, .. } => on_chunk!(ib, |v, o| {
                let (x, y) = (v.src(arg(0), rows), v.src(arg(1), rows));
                kernel::check_bin_i(bop, y).and_then(|()| kernel::bin_i(bop, x, y, o))
            }),
            Instr::CmpF { op: bop, .. } => {
                let fv = fb.view();
                on_chunk!(ib, |_v, o| kernel::cmp(
                    bop,
                    fv.src(arg(0), rows),
                    fv.src(arg(1), rows),
                    o
                ))
            }
            Instr::CmpI { op: bop, .. } => on_chunk!(ib, |v, o| {
                kernel::cmp(bop, v.src(arg(0), rows), v.src(arg(1), rows), o)
            }),
            Instr::UnF { f: func, .. } => on_chunk!(fb, |v, o| {
                kernel::unary_f(func, v.src(arg(0), rows), o);
                Ok(())
            }),
            Instr::NegI { .. } | Instr::AbsI { .. } => {
                let abs = matches!(instr, Instr::AbsI { .. });
                on_chunk!(ib, |v, o| {
                    kernel::unary_i(abs, v.src(arg(0), rows), o);
                    Ok(())
                })
            }
            Instr::ToFloat { .. } => {
                let iv = ib.view();
                on_chunk!(fb, |_v, o| {
                    kernel::to_float(iv.src(arg(0), rows), o);
                    Ok(())
                })
            }
            Instr::Round { decimals, .. } => {
                let d = decimals.map_or(0, |k| ib.slots[k].first().copied().unwrap_or(0));
                on_chunk!(fb, |v, o| {
                    kernel::round(v.src(arg(0), rows), d, o);
                    Ok(())
                })
            }
            Instr::Where { out, .. } => match out.elem {
                Elem::Float => {
                    let iv = ib.view();
                    on_chunk!(fb, |v, o| {
                        let (x, y) = (v.src(arg(1), rows), v.src(arg(2), rows));
                        kernel::select(iv.src(arg(0), rows), x, y, o);
                        Ok(())
                    })
                }
                Elem::Int => on_chunk!(ib, |v, o| {
                    let (x, y) = (v.src(arg(1), rows), v.src(arg(2), rows));
                    kernel::select(v.src(arg(0), rows), x, y, o);
                    Ok(())
                }),
            },
            Instr::Gather { src, .. } => {
                let len = match src.elem {
                    Elem::Float => fb.slots[src.idx].len(),
                    Elem::Int => ib.slots[src.idx].len(),
                };
                let Src::Vec(idx) = ib.view().src(arg(0), rows) else {
                    return Err(GiveUp);
                };
                let known = matches!(arg(0), Loc::Rows(k) if indices_fit(in_bounds[k], len));
                if !known && !matches!(*checked, Some((loc, m)) if loc == arg(0) && m <= len) {
                    if !kernel::indices_in_range(idx, len) {
                        return Err(GiveUp);
                    }
                    *checked = Some((arg(0), len));
                }
                match src.elem {
                    Elem::Float => {
                        let iv = ib.view();
                        on_chunk!(fb, |v, o| gather(
                            &v.slots[src.idx],
                            iv.src(arg(0), rows),
                            o
                        ))
                    }
                    Elem::Int => on_chunk!(ib, |v, o| {
                        gather(&v.slots[src.idx], v.src(arg(0), rows), o)
                    }),
                }
            }
            _ => Err(Fail::new()),
        };
        done.map_err(|_| GiveUp)
    }
}

/// A gather by a chunk of indices known to be in range.
#[inline(always)]
fn gather<T: Copy + Default>(s: &[T], idx: Src<i64>, out: &mut [T]) -> Result<(), Fail> {
    match idx {
        Src::Vec(ix) => {
            kernel::gather_in_range(s, ix, out);
            Ok(())
        }
        Src::One(_) => Err(Fail::new()),
    }
}

/// The chunk of an output buffer: the rows of a full-length slot, the start of a register.
#[inline(always)]
fn chunk_of<'a, T>(buf: &'a mut [T], out: Out, rows: &Range<usize>) -> &'a mut [T] {
    match out {
        Out::Rows(_) => &mut buf[rows.clone()],
        Out::Reg(_) => &mut buf[..rows.len()],
    }
}

/// The slots and chunk registers of one element type.
struct Bank<'w, T> {
    slots: &'w mut [Vec<T>],
    regs: &'w mut [Vec<T>],
}

/// Read access to a [`Bank`].
#[derive(Clone, Copy)]
struct View<'a, T> {
    slots: &'a [Vec<T>],
    regs: &'a [Vec<T>],
}

impl<'a, T: Copy> View<'a, T> {
    /// An operand at the chunk's rows.
    #[inline(always)]
    fn src(self, loc: Loc, rows: &Range<usize>) -> Src<'a, T> {
        match loc {
            Loc::Rows(k) => Src::Vec(&self.slots[k][rows.clone()]),
            Loc::One(k) => Src::One(self.slots[k][0]),
            Loc::Reg(r) => Src::Vec(&self.regs[r][..rows.len()]),
        }
    }
}

impl<T: Copy> Bank<'_, T> {
    #[inline(always)]
    fn view(&self) -> View<'_, T> {
        View {
            slots: self.slots,
            regs: self.regs,
        }
    }

    /// The output's buffer, taken out while the operation reads the others.
    #[inline(always)]
    fn take(&mut self, out: Out) -> Vec<T> {
        match out {
            Out::Rows(k) => std::mem::take(&mut self.slots[k]),
            Out::Reg(r) => std::mem::take(&mut self.regs[r]),
        }
    }

    #[inline(always)]
    fn put(&mut self, out: Out, buf: Vec<T>) {
        match out {
            Out::Rows(k) => self.slots[k] = buf,
            Out::Reg(r) => self.regs[r] = buf,
        }
    }
}
