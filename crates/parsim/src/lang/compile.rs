//! Type checking and compilation of parsed statements into a flat list of typed instructions.
//!
//! Every intermediate value gets its own buffer (a slot); slots hold floats or integers. Shapes (scalar or
//! vector) and element types are fixed here; lengths are known only per condition (they may depend on
//! parameter values), so they are checked when the program runs.

use std::collections::HashMap;

use parsim_random::MvnMethod;

use super::functions::{
    self, ArgDefault, Builtin, Dist, FunctionKind, ParamType, Sampler, Signature,
};
use super::syntax::{BinOp, CallArg, Expr, ExprKind, Span, Statement};
use super::{CompileError, ParameterDecl};
use crate::diagnostic::did_you_mean;

/// Element type of a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Elem {
    /// 64-bit float.
    Float,
    /// 64-bit signed integer.
    Int,
}

/// A typed value: which buffer, its element type, whether it is a scalar, whether it is static
/// (computed from parameters, literals and `len` only, hence the same in every replication).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Val {
    pub elem: Elem,
    pub idx: usize,
    pub scalar: bool,
    pub is_static: bool,
}

/// Element-wise functions of one float.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnaryF {
    Neg,
    Exp,
    Log,
    Log1p,
    Sqrt,
    Abs,
    Expit,
    Logit,
    Floor,
}

/// One instruction. Operand fields are buffer indices (`f` for float buffers, `i` for integer buffers) or
/// typed values when either element type is allowed.
#[derive(Clone, Debug)]
pub(crate) enum Instr {
    ParamF {
        param: usize,
        out: usize,
    },
    ParamI {
        param: usize,
        out: usize,
    },
    ToFloat {
        a: usize,
        out: usize,
    },
    BinF {
        op: BinOp,
        a: usize,
        b: usize,
        out: usize,
    },
    BinI {
        op: BinOp,
        a: usize,
        b: usize,
        out: usize,
    },
    CmpF {
        op: BinOp,
        a: usize,
        b: usize,
        out: usize,
    },
    CmpI {
        op: BinOp,
        a: usize,
        b: usize,
        out: usize,
    },
    UnF {
        f: UnaryF,
        a: usize,
        out: usize,
    },
    NegI {
        a: usize,
        out: usize,
    },
    AbsI {
        a: usize,
        out: usize,
    },
    Round {
        a: usize,
        decimals: Option<usize>,
        out: usize,
    },
    Where {
        cond: usize,
        x: Val,
        y: Val,
        out: Val,
    },
    Gather {
        src: Val,
        idx: usize,
        out: Val,
    },
    Draw {
        dist: Dist,
        args: Vec<Val>,
        size: Option<usize>,
        endpoint: Option<usize>,
        out: Val,
    },
    Arange {
        start: Val,
        stop: Val,
        step: Val,
        out: Val,
    },
    Repeat {
        a: Val,
        count: usize,
        tile: bool,
        out: Val,
    },
    Fill {
        value: f64,
        n: usize,
        out: usize,
    },
    Sum {
        a: Val,
        mean: bool,
        out: Val,
    },
    Cumsum {
        a: Val,
        out: Val,
    },
    Len {
        a: Val,
        out: usize,
    },
    /// `concatenate([a, b, ...])`, and a list literal `[x, y, ...]` (of scalars).
    Concat {
        parts: Vec<Val>,
        out: Val,
    },
    /// `choice(a, size, replace, p, shuffle)`: `a` an integer scalar (a population `arange(a)`) or a vector.
    Choice {
        a: Val,
        size: Option<usize>,
        replace: usize,
        p: Option<usize>,
        shuffle: usize,
        out: Val,
    },
    /// `permutation(x)`: `x` an integer scalar or a vector.
    Permutation {
        x: Val,
        out: Val,
    },
    /// `multivariate_normal(mean, cov, size, method)`: `size` rows of `len(mean)` (row major), or one
    /// row without `size`.
    MvNormal {
        mean: usize,
        cov: Matrix,
        size: Option<usize>,
        method: MvnMethod,
        out: usize,
    },
    /// `m[:, j]`: a column of a matrix.
    Column {
        m: Matrix,
        j: usize,
        out: Val,
    },
}

/// A matrix value: its elements row after row in a float slot, and its number of columns in an integer
/// scalar slot. Matrices only feed `multivariate_normal` and column extraction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Matrix {
    pub data: Val,
    pub width: usize,
}

/// A named variable of the program (its final binding).
#[derive(Clone, Debug)]
pub(crate) struct Variable {
    pub name: String,
    pub val: Val,
    /// Span of the whole statement that defines it (name to end of expression).
    pub span: Span,
}

/// The compiler's output.
#[derive(Clone, Debug)]
pub(crate) struct Compiled {
    pub instrs: Vec<Instr>,
    /// Span of the expression each instruction comes from (for runtime errors).
    pub spans: Vec<Span>,
    pub n_float: usize,
    pub n_int: usize,
    /// Whether each float slot holds a scalar (by slot index).
    pub scalar_f: Vec<bool>,
    /// Whether each integer slot holds a scalar.
    pub scalar_i: Vec<bool>,
    pub const_float: Vec<(usize, f64)>,
    pub const_int: Vec<(usize, i64)>,
    pub variables: Vec<Variable>,
}

pub(crate) struct Compiler<'p> {
    params: &'p [ParameterDecl],
    out: Compiled,
    names: HashMap<String, Val>,
    /// Parameter values are loaded on first use, once.
    param_slots: HashMap<usize, Val>,
    /// Variables bound to matrices (not columns of the data set).
    matrices: HashMap<String, Matrix>,
    allow_random: bool,
}

type CResult<T> = Result<T, CompileError>;

impl<'p> Compiler<'p> {
    pub(crate) fn new(params: &'p [ParameterDecl], allow_random: bool) -> Self {
        Compiler {
            params,
            out: Compiled {
                instrs: Vec::new(),
                spans: Vec::new(),
                n_float: 0,
                n_int: 0,
                scalar_f: Vec::new(),
                scalar_i: Vec::new(),
                const_float: Vec::new(),
                const_int: Vec::new(),
                variables: Vec::new(),
            },
            names: HashMap::new(),
            param_slots: HashMap::new(),
            matrices: HashMap::new(),
            allow_random,
        }
    }

    pub(crate) fn finish(self) -> Compiled {
        self.out
    }

    fn slot(&mut self, elem: Elem, scalar: bool, is_static: bool) -> Val {
        let (counter, shapes) = match elem {
            Elem::Float => (&mut self.out.n_float, &mut self.out.scalar_f),
            Elem::Int => (&mut self.out.n_int, &mut self.out.scalar_i),
        };
        let idx = *counter;
        *counter += 1;
        shapes.push(scalar);
        Val {
            elem,
            idx,
            scalar,
            is_static,
        }
    }

    fn emit(&mut self, instr: Instr, span: &Span) {
        self.out.instrs.push(instr);
        self.out.spans.push(span.clone());
    }

    pub(crate) fn statement(&mut self, st: &Statement) -> CResult<()> {
        if self.params.iter().any(|p| p.name == st.name) {
            return Err(CompileError::new(
                st.name_span.clone(),
                format!(
                    "`{}` is a parameter of the study; give this variable another name",
                    st.name
                ),
            ));
        }
        if functions::lookup(&st.name).is_some() || st.name == "True" || st.name == "False" {
            return Err(CompileError::new(
                st.name_span.clone(),
                format!(
                    "`{}` is the name of a function; give this variable another name",
                    st.name
                ),
            ));
        }
        if let Some(m) = self.matrix_of(&st.value)? {
            self.names.remove(&st.name);
            self.out.variables.retain(|v| v.name != st.name);
            self.matrices.insert(st.name.clone(), m);
            return Ok(());
        }
        let val = self.expr(&st.value)?;
        let span = st.name_span.start..st.value.span.end;
        self.matrices.remove(&st.name);
        self.names.insert(st.name.clone(), val);
        self.out.variables.retain(|v| v.name != st.name);
        self.out.variables.push(Variable {
            name: st.name.clone(),
            val,
            span,
        });
        Ok(())
    }

    /// Compiles a stand-alone expression (an estimand) and returns its value.
    pub(crate) fn expression(&mut self, e: &Expr) -> CResult<Val> {
        self.expr(e)
    }

    fn expr(&mut self, e: &Expr) -> CResult<Val> {
        match &e.kind {
            ExprKind::Int(v) => {
                let s = self.slot(Elem::Int, true, true);
                self.out.const_int.push((s.idx, *v));
                Ok(s)
            }
            ExprKind::Float(v) => {
                let s = self.slot(Elem::Float, true, true);
                self.out.const_float.push((s.idx, *v));
                Ok(s)
            }
            ExprKind::Name(name) if self.matrices.contains_key(name) => Err(CompileError::new(
                e.span.clone(),
                format!("`{name}` is a matrix; take a column as `{name}[:, 0]`"),
            )),
            ExprKind::Name(name) => self.name(name, &e.span),
            ExprKind::Str(_) => Err(CompileError::new(
                e.span.clone(),
                "a string is only the value of an option such as `method=\"cholesky\"`",
            )),
            ExprKind::List(items) => self.list(items, &e.span),
            ExprKind::Column(m, j) => self.column(m, j, &e.span),
            ExprKind::Neg(a) => {
                let a = self.expr(a)?;
                let out = self.slot(a.elem, a.scalar, a.is_static);
                match a.elem {
                    Elem::Float => self.emit(
                        Instr::UnF {
                            f: UnaryF::Neg,
                            a: a.idx,
                            out: out.idx,
                        },
                        &e.span,
                    ),
                    Elem::Int => self.emit(
                        Instr::NegI {
                            a: a.idx,
                            out: out.idx,
                        },
                        &e.span,
                    ),
                }
                Ok(out)
            }
            ExprKind::Binary(op, a, b) => {
                let va = self.expr(a)?;
                let vb = self.expr(b)?;
                self.binary(*op, (va, &a.span), (vb, &b.span), &e.span)
            }
            ExprKind::Index(a, idx) => {
                let src = self.expr(a)?;
                let ix = self.expr(idx)?;
                if src.scalar {
                    return Err(CompileError::new(a.span.clone(), "cannot index a scalar"));
                }
                if ix.elem != Elem::Int {
                    return Err(CompileError::new(
                        idx.span.clone(),
                        format!(
                            "an index must be an integer {}, got a float",
                            shape_word(ix)
                        ),
                    ));
                }
                let out = self.slot(src.elem, ix.scalar, src.is_static && ix.is_static);
                self.emit(
                    Instr::Gather {
                        src,
                        idx: ix.idx,
                        out,
                    },
                    &e.span,
                );
                Ok(out)
            }
            ExprKind::Call {
                name,
                name_span,
                args,
            } => self.call(name, name_span, args, &e.span),
        }
    }

    fn name(&mut self, name: &str, span: &Span) -> CResult<Val> {
        if let Some(v) = self.names.get(name) {
            return Ok(*v);
        }
        if let Some(k) = self.params.iter().position(|p| p.name == name) {
            if let Some(v) = self.param_slots.get(&k) {
                return Ok(*v);
            }
            let elem = if self.params[k].integer {
                Elem::Int
            } else {
                Elem::Float
            };
            let out = self.slot(elem, true, true);
            match elem {
                Elem::Float => self.emit(
                    Instr::ParamF {
                        param: k,
                        out: out.idx,
                    },
                    span,
                ),
                Elem::Int => self.emit(
                    Instr::ParamI {
                        param: k,
                        out: out.idx,
                    },
                    span,
                ),
            }
            self.param_slots.insert(k, out);
            return Ok(out);
        }
        if functions::lookup(name).is_some() {
            return Err(CompileError::new(
                span.clone(),
                format!("`{name}` is a function; call it as `{name}(...)`"),
            ));
        }
        let known = self
            .names
            .keys()
            .map(String::as_str)
            .chain(self.params.iter().map(|p| p.name.as_str()));
        Err(
            CompileError::new(span.clone(), format!("unknown name `{name}`"))
                .with_optional_help(did_you_mean(name, known)),
        )
    }

    fn float_of(&mut self, v: Val, span: &Span) -> Val {
        if v.elem == Elem::Float {
            return v;
        }
        let out = self.slot(Elem::Float, v.scalar, v.is_static);
        self.emit(
            Instr::ToFloat {
                a: v.idx,
                out: out.idx,
            },
            span,
        );
        out
    }

    /// Integers when both are integers (and `float_only` is false), otherwise both floats.
    fn unify(&mut self, a: Val, b: Val, float_only: bool, span: &Span) -> (Val, Val) {
        if !float_only && a.elem == Elem::Int && b.elem == Elem::Int {
            (a, b)
        } else {
            (self.float_of(a, span), self.float_of(b, span))
        }
    }

    fn binary(&mut self, op: BinOp, a: (Val, &Span), b: (Val, &Span), span: &Span) -> CResult<Val> {
        let (va, vb) = (a.0, b.0);
        let scalar = va.scalar && vb.scalar;
        let is_static = va.is_static && vb.is_static;
        if matches!(op, BinOp::And | BinOp::Or) {
            for (v, s) in [a, b] {
                if v.elem != Elem::Int {
                    return Err(CompileError::new(
                        s.clone(),
                        format!("`{}` needs integer (0/1) operands such as comparisons; this operand is a float", op.symbol()),
                    ));
                }
            }
            let out = self.slot(Elem::Int, scalar, is_static);
            self.emit(
                Instr::BinI {
                    op,
                    a: va.idx,
                    b: vb.idx,
                    out: out.idx,
                },
                span,
            );
            return Ok(out);
        }
        let (ua, ub) = self.unify(va, vb, op == BinOp::Div, span);
        if op.is_comparison() {
            let out = self.slot(Elem::Int, scalar, is_static);
            let instr = match ua.elem {
                Elem::Float => Instr::CmpF {
                    op,
                    a: ua.idx,
                    b: ub.idx,
                    out: out.idx,
                },
                Elem::Int => Instr::CmpI {
                    op,
                    a: ua.idx,
                    b: ub.idx,
                    out: out.idx,
                },
            };
            self.emit(instr, span);
            return Ok(out);
        }
        let out = self.slot(ua.elem, scalar, is_static);
        let instr = match ua.elem {
            Elem::Float => Instr::BinF {
                op,
                a: ua.idx,
                b: ub.idx,
                out: out.idx,
            },
            Elem::Int => Instr::BinI {
                op,
                a: ua.idx,
                b: ub.idx,
                out: out.idx,
            },
        };
        self.emit(instr, span);
        Ok(out)
    }

    fn call(
        &mut self,
        name: &str,
        name_span: &Span,
        args: &[CallArg],
        span: &Span,
    ) -> CResult<Val> {
        let Some(sig) = functions::lookup(name) else {
            if self.names.contains_key(name) || self.params.iter().any(|p| p.name == name) {
                return Err(CompileError::new(
                    name_span.clone(),
                    format!("`{name}` is a variable, not a function"),
                ));
            }
            return Err(
                CompileError::new(name_span.clone(), format!("unknown function `{name}`"))
                    .with_optional_help(did_you_mean(name, functions::function_names())),
            );
        };
        let bound = bind(sig, name_span, args, span)?;
        match sig.kind {
            FunctionKind::Random(dist) => {
                if !self.allow_random {
                    return Err(CompileError::new(
                        name_span.clone(),
                        format!("`{name}` draws random numbers; an estimand must be computed from parameters only"),
                    ));
                }
                self.draw(dist, sig, &bound, span)
            }
            FunctionKind::Sampler(sampler) => {
                if !self.allow_random {
                    return Err(CompileError::new(
                        name_span.clone(),
                        format!("`{name}` draws random numbers; an estimand must be computed from parameters only"),
                    ));
                }
                match sampler {
                    Sampler::Choice => self.choice(sig, &bound, span),
                    Sampler::Permutation => self.permutation(&bound, span),
                    Sampler::MultivariateNormal => match self.mvn(&bound, span)? {
                        MvnValue::Row(v) => Ok(v),
                        MvnValue::Rows(_) => Err(CompileError::new(
                            span.clone(),
                            "multivariate_normal() with a size gives a matrix (one row per draw): assign it to a name and take its columns, `u[:, 0]`",
                        )),
                    },
                }
            }
            FunctionKind::Builtin(Builtin::Concatenate) => self.concatenate(&bound, span),
            FunctionKind::Builtin(b) => self.builtin(b, sig, &bound, span),
        }
    }

    /// The matrix an expression denotes, if it denotes one: a list of lists, a matrix variable, or
    /// `multivariate_normal(...)` with a size. `None` for every other expression (compile it with `expr`).
    fn matrix_of(&mut self, e: &Expr) -> CResult<Option<Matrix>> {
        match &e.kind {
            ExprKind::Name(name) => Ok(self.matrices.get(name).copied()),
            ExprKind::List(rows) if rows.iter().any(|r| matches!(r.kind, ExprKind::List(_))) => {
                self.matrix_literal(rows, &e.span).map(Some)
            }
            ExprKind::Call {
                name,
                name_span,
                args,
            } if name == "multivariate_normal" && self.allow_random => {
                let Some(sig) = functions::lookup(name) else {
                    return Ok(None);
                };
                let bound = bind(sig, name_span, args, &e.span)?;
                if bound[2].is_none() {
                    return Ok(None);
                }
                match self.mvn(&bound, &e.span)? {
                    MvnValue::Rows(m) => Ok(Some(m)),
                    MvnValue::Row(_) => Ok(None),
                }
            }
            _ => Ok(None),
        }
    }

    /// `[[a, b], [c, d]]`: rows of numbers of one length.
    fn matrix_literal(&mut self, rows: &[Expr], span: &Span) -> CResult<Matrix> {
        let mut parts = Vec::new();
        let mut width = None;
        for row in rows {
            let ExprKind::List(items) = &row.kind else {
                return Err(CompileError::new(
                    row.span.clone(),
                    "every row of a matrix is a list `[a, b, ...]`",
                ));
            };
            if *width.get_or_insert(items.len()) != items.len() {
                return Err(CompileError::new(
                    row.span.clone(),
                    format!(
                        "the rows of a matrix must have one length: this row has {}, the first {}",
                        items.len(),
                        width.unwrap_or(0)
                    ),
                ));
            }
            for item in items {
                let v = self.expr(item)?;
                if !v.scalar {
                    return Err(CompileError::new(
                        item.span.clone(),
                        "the elements of a matrix must be numbers, not vectors",
                    ));
                }
                parts.push(self.float_of(v, &item.span));
            }
        }
        let is_static = parts.iter().all(|v| v.is_static);
        let data = self.slot(Elem::Float, false, is_static);
        self.emit(Instr::Concat { parts, out: data }, span);
        let w = self.const_val(ArgDefault::Int(width.unwrap_or(0) as i64));
        Ok(Matrix { data, width: w.idx })
    }

    /// `[a, b, c]` of numbers: a vector (integer when every element is).
    fn list(&mut self, items: &[Expr], span: &Span) -> CResult<Val> {
        if items.iter().any(|i| matches!(i.kind, ExprKind::List(_))) {
            return Err(CompileError::new(
                span.clone(),
                "a matrix (a list of lists) can only be a covariance or be assigned to a name",
            ));
        }
        let mut parts = Vec::with_capacity(items.len());
        for item in items {
            let v = self.expr(item)?;
            if !v.scalar {
                return Err(CompileError::new(
                    item.span.clone(),
                    "the elements of a list must be numbers; join vectors with concatenate([a, b])",
                ));
            }
            parts.push((v, item.span.clone()));
        }
        self.joined(parts, span)
    }

    /// `concatenate([a, b, ...])` of vectors.
    fn concatenate(&mut self, bound: &[Option<&Expr>], span: &Span) -> CResult<Val> {
        let arrays = bound[0].expect("required");
        let ExprKind::List(items) = &arrays.kind else {
            return Err(CompileError::new(
                arrays.span.clone(),
                "concatenate() takes a list of vectors: concatenate([a, b])",
            ));
        };
        let mut parts = Vec::with_capacity(items.len());
        for item in items {
            let v = self.expr(item)?;
            if v.scalar {
                return Err(CompileError::new(
                    item.span.clone(),
                    "zero-dimensional arrays cannot be concatenated (numpy); write the number as a list, [x]",
                ));
            }
            parts.push((v, item.span.clone()));
        }
        if parts.is_empty() {
            return Err(CompileError::new(
                arrays.span.clone(),
                "need at least one array to concatenate",
            ));
        }
        self.joined(parts, span)
    }

    /// The parts one after the other: integers if all are, otherwise floats.
    fn joined(&mut self, parts: Vec<(Val, Span)>, span: &Span) -> CResult<Val> {
        let int = parts.iter().all(|(v, _)| v.elem == Elem::Int);
        let is_static = parts.iter().all(|(v, _)| v.is_static);
        let parts: Vec<Val> = parts
            .into_iter()
            .map(|(v, s)| if int { v } else { self.float_of(v, &s) })
            .collect();
        let elem = if int { Elem::Int } else { Elem::Float };
        let out = self.slot(elem, false, is_static);
        self.emit(Instr::Concat { parts, out }, span);
        Ok(out)
    }

    /// `m[:, j]`.
    fn column(&mut self, m: &Expr, j: &Expr, span: &Span) -> CResult<Val> {
        let Some(matrix) = self.matrix_of(m)? else {
            return Err(CompileError::new(
                m.span.clone(),
                "`[:, j]` takes a column of a matrix (from multivariate_normal with a size, or a list of lists)",
            ));
        };
        let jv = self.expr(j)?;
        if jv.elem != Elem::Int || !jv.scalar {
            return Err(CompileError::new(
                j.span.clone(),
                "a column number must be an integer scalar",
            ));
        }
        let out = self.slot(Elem::Float, false, matrix.data.is_static && jv.is_static);
        self.emit(
            Instr::Column {
                m: matrix,
                j: jv.idx,
                out,
            },
            span,
        );
        Ok(out)
    }

    /// An integer scalar option (`replace=False`), given or defaulted.
    fn flag(
        &mut self,
        arg: Option<(Val, Span)>,
        default: ArgDefault,
        what: &str,
    ) -> CResult<usize> {
        match arg {
            None => Ok(self.const_val(default).idx),
            Some((v, s)) if v.elem != Elem::Int || !v.scalar => Err(CompileError::new(
                s,
                format!("`{what}` must be True or False"),
            )),
            Some((v, _)) => Ok(v.idx),
        }
    }

    fn choice(&mut self, sig: &Signature, bound: &[Option<&Expr>], span: &Span) -> CResult<Val> {
        let args = self.compile_args(bound)?;
        let (a, sa) = args[0].clone().expect("required");
        if a.scalar && a.elem != Elem::Int {
            return Err(CompileError::new(
                sa,
                "`a` of choice() must be an integer (the population arange(a)) or a vector",
            ));
        }
        let size = match args[1].clone() {
            Some(v) => Some(self.static_count("size", sig.name, v)?),
            None => None,
        };
        let replace = self.flag(args[2].clone(), sig.params[2].1, "replace")?;
        let shuffle = self.flag(args[4].clone(), sig.params[4].1, "shuffle")?;
        let p = match args[3].clone() {
            Some((v, s)) if v.scalar => {
                return Err(CompileError::new(
                    s,
                    "`p` of choice() must be a vector of probabilities, one per element of `a`",
                ))
            }
            Some((v, s)) => Some(self.float_of(v, &s).idx),
            None => None,
        };
        let out = self.slot(a.elem, size.is_none(), false);
        self.emit(
            Instr::Choice {
                a,
                size,
                replace,
                p,
                shuffle,
                out,
            },
            span,
        );
        Ok(out)
    }

    fn permutation(&mut self, bound: &[Option<&Expr>], span: &Span) -> CResult<Val> {
        let x = bound[0].expect("required");
        let v = self.expr(x)?;
        if v.scalar && v.elem != Elem::Int {
            return Err(CompileError::new(
                x.span.clone(),
                "`x` of permutation() must be an integer (a permutation of arange(x)) or a vector",
            ));
        }
        let out = self.slot(v.elem, false, false);
        self.emit(Instr::Permutation { x: v, out }, span);
        Ok(out)
    }

    fn mvn(&mut self, bound: &[Option<&Expr>], span: &Span) -> CResult<MvnValue> {
        let mean_e = bound[0].expect("required");
        let cov_e = bound[1].expect("required");
        let mean = self.expr(mean_e)?;
        if mean.scalar {
            return Err(CompileError::new(
                mean_e.span.clone(),
                "mean must be 1 dimensional: a vector such as [0, 0]",
            ));
        }
        let mean = self.float_of(mean, &mean_e.span);
        let Some(cov) = self.matrix_of(cov_e)? else {
            return Err(CompileError::new(
                cov_e.span.clone(),
                "cov must be 2 dimensional and square: a list of rows such as [[1, 0.5], [0.5, 1]]",
            ));
        };
        let method = match bound[3] {
            None => MvnMethod::Svd,
            Some(Expr {
                kind: ExprKind::Str(name),
                span: s,
            }) => MvnMethod::from_name(name).ok_or_else(|| {
                CompileError::new(
                    s.clone(),
                    format!("method must be one of \"svd\", \"eigh\", \"cholesky\", got {name:?}"),
                )
            })?,
            Some(other) => {
                return Err(CompileError::new(
                    other.span.clone(),
                    "method must be a string: \"svd\", \"eigh\" or \"cholesky\"",
                ))
            }
        };
        let size = match bound[2] {
            Some(e) => {
                let v = self.expr(e)?;
                Some(self.static_count("size", "multivariate_normal", (v, e.span.clone()))?)
            }
            None => None,
        };
        let out = self.slot(Elem::Float, false, false);
        self.emit(
            Instr::MvNormal {
                mean: mean.idx,
                cov,
                size,
                method,
                out: out.idx,
            },
            span,
        );
        if size.is_none() {
            return Ok(MvnValue::Row(out));
        }
        let width = self.slot(Elem::Int, true, mean.is_static);
        self.emit(
            Instr::Len {
                a: mean,
                out: width.idx,
            },
            span,
        );
        Ok(MvnValue::Rows(Matrix {
            data: out,
            width: width.idx,
        }))
    }

    /// Compiles the bound arguments (None where omitted).
    fn compile_args(&mut self, bound: &[Option<&Expr>]) -> CResult<Vec<Option<(Val, Span)>>> {
        bound
            .iter()
            .map(|a| a.map(|e| Ok((self.expr(e)?, e.span.clone()))).transpose())
            .collect()
    }

    /// A value that fixes a length or count: a static integer scalar.
    fn static_count(&self, what: &str, fname: &str, v: (Val, Span)) -> CResult<usize> {
        let (v, s) = v;
        if !v.scalar {
            return Err(CompileError::new(
                s,
                format!("`{what}` of {fname}() must be a single number, got a vector"),
            ));
        }
        if v.elem != Elem::Int {
            return Err(CompileError::new(
                s,
                format!("`{what}` of {fname}() must be an integer, got a float"),
            ));
        }
        if !v.is_static {
            return Err(CompileError::new(
                s,
                format!("`{what}` of {fname}() must be computed from parameters, numbers and len() only, so that every replication has the same shape"),
            ));
        }
        Ok(v.idx)
    }

    fn const_val(&mut self, d: ArgDefault) -> Val {
        match d {
            ArgDefault::Float(x) => {
                let s = self.slot(Elem::Float, true, true);
                self.out.const_float.push((s.idx, x));
                s
            }
            ArgDefault::Int(x) => {
                let s = self.slot(Elem::Int, true, true);
                self.out.const_int.push((s.idx, x));
                s
            }
            ArgDefault::Required | ArgDefault::None => {
                unreachable!("only value defaults become constants")
            }
        }
    }

    fn draw(
        &mut self,
        dist: Dist,
        sig: &Signature,
        bound: &[Option<&Expr>],
        span: &Span,
    ) -> CResult<Val> {
        let mut compiled = self.compile_args(bound)?;
        // integers(high) means integers(0, high), as in numpy.
        if dist == Dist::Integers && compiled[1].is_none() {
            compiled[1] = compiled[0].take();
            let zero = self.const_val(ArgDefault::Int(0));
            compiled[0] = Some((zero, span.clone()));
        }
        let types = dist.param_types();
        let mut args = Vec::with_capacity(types.len());
        let mut scalar = true;
        for (k, ty) in types.iter().enumerate() {
            let (v, s) = match compiled[k].clone() {
                Some(a) => a,
                None => (self.const_val(sig.params[k].1), span.clone()),
            };
            scalar &= v.scalar;
            let v = match ty {
                ParamType::Float => self.float_of(v, &s),
                ParamType::Int if v.elem == Elem::Int => v,
                ParamType::Int => {
                    return Err(CompileError::new(
                        s,
                        format!(
                            "`{}` of {}() must be an integer, got a float",
                            sig.params[k].0, sig.name
                        ),
                    ))
                }
            };
            args.push(v);
        }
        let size_pos = types.len();
        let size = match compiled[size_pos].clone() {
            Some(v) => Some(self.static_count("size", sig.name, v)?),
            None => None,
        };
        let endpoint = match compiled.get(size_pos + 1).cloned().flatten() {
            Some((v, s)) if v.elem != Elem::Int || !v.scalar => {
                return Err(CompileError::new(
                    s,
                    "`endpoint` of integers() must be True or False",
                ))
            }
            Some((v, _)) => Some(v.idx),
            None => None,
        };
        let elem = if dist.integer_output() {
            Elem::Int
        } else {
            Elem::Float
        };
        let out = self.slot(elem, size.is_none() && scalar, false);
        self.emit(
            Instr::Draw {
                dist,
                args,
                size,
                endpoint,
                out,
            },
            span,
        );
        Ok(out)
    }

    fn builtin(
        &mut self,
        b: Builtin,
        sig: &Signature,
        bound: &[Option<&Expr>],
        span: &Span,
    ) -> CResult<Val> {
        let args = self.compile_args(bound)?;
        let arg = |k: usize| args[k].clone().expect("required arguments are bound");
        match b {
            Builtin::Exp
            | Builtin::Log
            | Builtin::Log1p
            | Builtin::Sqrt
            | Builtin::Expit
            | Builtin::Logit
            | Builtin::Floor => {
                let (v, s) = arg(0);
                let v = self.float_of(v, &s);
                let f = match b {
                    Builtin::Exp => UnaryF::Exp,
                    Builtin::Log => UnaryF::Log,
                    Builtin::Log1p => UnaryF::Log1p,
                    Builtin::Sqrt => UnaryF::Sqrt,
                    Builtin::Expit => UnaryF::Expit,
                    Builtin::Logit => UnaryF::Logit,
                    _ => UnaryF::Floor,
                };
                let out = self.slot(Elem::Float, v.scalar, v.is_static);
                self.emit(
                    Instr::UnF {
                        f,
                        a: v.idx,
                        out: out.idx,
                    },
                    span,
                );
                Ok(out)
            }
            Builtin::Abs => {
                let (v, _) = arg(0);
                let out = self.slot(v.elem, v.scalar, v.is_static);
                match v.elem {
                    Elem::Float => self.emit(
                        Instr::UnF {
                            f: UnaryF::Abs,
                            a: v.idx,
                            out: out.idx,
                        },
                        span,
                    ),
                    Elem::Int => self.emit(
                        Instr::AbsI {
                            a: v.idx,
                            out: out.idx,
                        },
                        span,
                    ),
                }
                Ok(out)
            }
            Builtin::Round => {
                let (v, _) = arg(0);
                let decimals = match args[1].clone() {
                    Some(d) => Some(self.static_count("decimals", sig.name, d)?),
                    None => None,
                };
                if v.elem == Elem::Int {
                    if let Some((_, s)) = args[1].clone() {
                        return Err(CompileError::new(
                            s,
                            "`decimals` of round() applies to floats only",
                        ));
                    }
                    return Ok(v);
                }
                let out = self.slot(Elem::Float, v.scalar, v.is_static);
                self.emit(
                    Instr::Round {
                        a: v.idx,
                        decimals,
                        out: out.idx,
                    },
                    span,
                );
                Ok(out)
            }
            Builtin::Minimum | Builtin::Maximum => {
                let op = if b == Builtin::Minimum {
                    BinOp::Min
                } else {
                    BinOp::Max
                };
                let (a0, s0) = arg(0);
                let (a1, s1) = arg(1);
                self.binary(op, (a0, &s0), (a1, &s1), span)
            }
            Builtin::Clip => {
                let (a, sa) = arg(0);
                let (lo, slo) = arg(1);
                let (hi, shi) = arg(2);
                let floor = self.binary(BinOp::Max, (a, &sa), (lo, &slo), span)?;
                self.binary(BinOp::Min, (floor, &sa), (hi, &shi), span)
            }
            Builtin::Where => {
                let (c, sc) = arg(0);
                let cond = if c.elem == Elem::Float {
                    let zero = self.const_val(ArgDefault::Float(0.0));
                    self.binary(BinOp::Ne, (c, &sc), (zero, &sc), span)?
                } else {
                    c
                };
                let (x, _) = arg(1);
                let (y, _) = arg(2);
                let (x, y) = self.unify(x, y, false, span);
                let out = self.slot(
                    x.elem,
                    cond.scalar && x.scalar && y.scalar,
                    cond.is_static && x.is_static && y.is_static,
                );
                self.emit(
                    Instr::Where {
                        cond: cond.idx,
                        x,
                        y,
                        out,
                    },
                    span,
                );
                Ok(out)
            }
            Builtin::Arange => {
                let mut start = arg(0);
                let mut stop = args[1].clone();
                if stop.is_none() {
                    stop = Some(start);
                    start = (self.const_val(ArgDefault::Int(0)), span.clone());
                }
                let stop = stop.expect("set above");
                let step = args[2]
                    .clone()
                    .unwrap_or_else(|| (self.const_val(ArgDefault::Int(1)), span.clone()));
                let mut vals = [start.0, stop.0, step.0];
                for (v, (name, s)) in
                    vals.iter()
                        .zip([("start", &start.1), ("stop", &stop.1), ("step", &step.1)])
                {
                    if !v.scalar || !v.is_static {
                        return Err(CompileError::new(
                            s.clone(),
                            format!("`{name}` of arange() must be a single number computed from parameters, numbers and len() only"),
                        ));
                    }
                }
                let elem = if vals.iter().all(|v| v.elem == Elem::Int) {
                    Elem::Int
                } else {
                    Elem::Float
                };
                if elem == Elem::Float {
                    for v in &mut vals {
                        *v = self.float_of(*v, span);
                    }
                }
                let out = self.slot(elem, false, true);
                self.emit(
                    Instr::Arange {
                        start: vals[0],
                        stop: vals[1],
                        step: vals[2],
                        out,
                    },
                    span,
                );
                Ok(out)
            }
            Builtin::Repeat | Builtin::Tile => {
                let (a, _) = arg(0);
                let count = self.static_count(sig.params[1].0, sig.name, arg(1))?;
                let out = self.slot(a.elem, false, a.is_static);
                self.emit(
                    Instr::Repeat {
                        a,
                        count,
                        tile: b == Builtin::Tile,
                        out,
                    },
                    span,
                );
                Ok(out)
            }
            Builtin::Zeros | Builtin::Ones => {
                let n = self.static_count("shape", sig.name, arg(0))?;
                let out = self.slot(Elem::Float, false, true);
                let value = if b == Builtin::Ones { 1.0 } else { 0.0 };
                self.emit(
                    Instr::Fill {
                        value,
                        n,
                        out: out.idx,
                    },
                    span,
                );
                Ok(out)
            }
            Builtin::Sum | Builtin::Mean => {
                let (a, _) = arg(0);
                let mean = b == Builtin::Mean;
                let elem = if mean { Elem::Float } else { a.elem };
                let out = self.slot(elem, true, a.is_static);
                self.emit(Instr::Sum { a, mean, out }, span);
                Ok(out)
            }
            Builtin::Cumsum => {
                let (a, _) = arg(0);
                let out = self.slot(a.elem, false, a.is_static);
                self.emit(Instr::Cumsum { a, out }, span);
                Ok(out)
            }
            Builtin::Concatenate => unreachable!("compiled by `concatenate`"),
            Builtin::Len => {
                let (a, s) = arg(0);
                if a.scalar {
                    return Err(CompileError::new(s, "len() of a scalar: it has no length"));
                }
                let out = self.slot(Elem::Int, true, true);
                self.emit(Instr::Len { a, out: out.idx }, span);
                Ok(out)
            }
        }
    }
}

/// What `multivariate_normal` gives: one row (no size) or a matrix.
enum MvnValue {
    Row(Val),
    Rows(Matrix),
}

fn shape_word(v: Val) -> &'static str {
    if v.scalar {
        "scalar"
    } else {
        "vector"
    }
}

/// Matches positional and keyword arguments to the signature's parameters (Python's rules).
fn bind<'e>(
    sig: &Signature,
    name_span: &Span,
    args: &'e [CallArg],
    span: &Span,
) -> CResult<Vec<Option<&'e Expr>>> {
    let mut bound: Vec<Option<&Expr>> = vec![None; sig.params.len()];
    let mut seen_keyword = false;
    for (k, a) in args.iter().enumerate() {
        let pos = match &a.keyword {
            None => {
                if seen_keyword {
                    return Err(CompileError::new(
                        a.value.span.clone(),
                        "positional argument after a keyword argument",
                    ));
                }
                if k >= sig.params.len() || sig.name == "len" && k > 0 {
                    return Err(CompileError::new(
                        a.value.span.clone(),
                        format!(
                            "{} takes at most {} argument{}, got {}",
                            sig.display(),
                            sig.params.len(),
                            plural(sig.params.len()),
                            args.len()
                        ),
                    ));
                }
                k
            }
            Some((kw, kspan)) => {
                seen_keyword = true;
                match sig.params.iter().position(|p| p.0 == kw) {
                    Some(p) if sig.name != "len" => p,
                    _ => {
                        let names = sig.params.iter().map(|p| p.0);
                        return Err(CompileError::new(
                            kspan.clone(),
                            format!("{} has no argument `{kw}`", sig.display()),
                        )
                        .with_optional_help(did_you_mean(kw, names)));
                    }
                }
            }
        };
        if bound[pos].is_some() {
            return Err(CompileError::new(
                a.value.span.clone(),
                format!(
                    "{}() got more than one value for `{}`",
                    sig.name, sig.params[pos].0
                ),
            ));
        }
        bound[pos] = Some(&a.value);
    }
    for (k, (pname, default)) in sig.params.iter().enumerate() {
        if bound[k].is_none() && *default == ArgDefault::Required {
            let _ = name_span;
            return Err(CompileError::new(
                span.clone(),
                format!("{} is missing the argument `{pname}`", sig.display()),
            ));
        }
    }
    Ok(bound)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
