//! The data language: a few lines that read like the numpy code of a `gen_data` function.
//!
//! ```text
//! X = normal(0, 1, N)
//! group = integers(0, n_groups, N)
//! random_intercept = normal(0, intercept_sd, n_groups)
//! response = beta0 + random_intercept[group] + beta1 * X + normal(0, noise_sd, N)
//! ```
//!
//! A program is parsed and type-checked once ([`Program::compile`]) into a flat list of typed
//! instructions; each worker evaluates it into a [`Workspace`] whose buffers are reused across
//! replications. Draws fill a column at a time; runs of element-wise statements (arithmetic, gathers,
//! functions, comparisons) are fused into one pass over the rows in cache-sized chunks. Random draws go
//! through `parsim_random`'s fill methods in statement order and numpy's element order, so a program
//! draws exactly what the equivalent numpy code draws.
//! `docs/study-file.md` is the user's reference.

mod compile;
mod eval;
mod functions;
mod fuse;
mod kernel;
mod syntax;

use std::ops::Range;

pub use compile::Elem;
pub use eval::{DataSet, Workspace, MAX_ELEMENTS, MAX_LENGTH};
pub use functions::function_names;

use compile::{Compiled, Compiler};

/// A parameter the program may use: its name and whether all its values are integers (then it is an
/// integer scalar in the program, usable as a size).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParameterDecl {
    /// The parameter's name.
    pub name: String,
    /// True when every value of the parameter is an integer.
    pub integer: bool,
}

/// An error found before running: syntax, unknown name, wrong arguments, types.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    /// Byte range in the program text.
    pub span: Range<usize>,
    /// What is wrong.
    pub message: String,
    /// A suggestion ("did you mean `normal`?").
    pub help: Option<String>,
}

impl CompileError {
    pub(crate) fn new(span: Range<usize>, message: impl Into<String>) -> Self {
        CompileError {
            span,
            message: message.into(),
            help: None,
        }
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn with_optional_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }
}

/// An error while generating a data set: index out of range, invalid distribution parameter, vectors of
/// different lengths, non-finite values in a column a method uses. The caller adds which condition and
/// replication.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct RuntimeError {
    /// Byte range in the program text of the expression that failed.
    pub span: Range<usize>,
    /// 1-based line in the program text.
    pub line: usize,
    /// What went wrong.
    pub message: String,
}

/// A compiled data program: immutable and shareable between worker threads.
#[derive(Clone, Debug)]
pub struct Program {
    source: String,
    params: Vec<ParameterDecl>,
    code: Compiled,
    /// Variables (indices into `code.variables`) that must be finite: the columns the methods use.
    finite: Vec<usize>,
    /// The variable whose length is the data set's number of rows (default: the longest vector).
    rows_from: Option<usize>,
    /// For an expression program: its value.
    result: Option<compile::Val>,
    /// Whether runs of element-wise instructions are fused into one pass.
    fused: bool,
    /// The most elements one replication's buffers may hold together.
    max_elements: usize,
    /// How the instructions are evaluated (rebuilt when `finite` or `fused` change).
    plan: fuse::Plan,
}

/// What the program knows about a variable before running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VariableInfo {
    /// Float or integer.
    pub elem: Elem,
    /// A single number rather than a vector.
    pub scalar: bool,
}

impl Program {
    /// Parses and type-checks a data program. `parameters` are the study's parameters, in the order in
    /// which [`Workspace::generate_with`] receives their values.
    pub fn compile(source: &str, parameters: &[ParameterDecl]) -> Result<Program, CompileError> {
        let statements = syntax::parse_program(source)?;
        if statements.is_empty() {
            return Err(CompileError::new(
                0..source.len(),
                "the data program has no statements",
            ));
        }
        let mut compiler = Compiler::new(parameters, true);
        for st in &statements {
            compiler.statement(st)?;
        }
        Ok(Program::new(source, parameters, compiler.finish(), None))
    }

    /// Compiles one expression of parameters (an estimand's true value): no random draws, one number.
    pub fn compile_expression(
        source: &str,
        parameters: &[ParameterDecl],
    ) -> Result<Program, CompileError> {
        let expr = syntax::parse_expression(source)?;
        let mut compiler = Compiler::new(parameters, false);
        let val = compiler.expression(&expr)?;
        if !val.scalar {
            return Err(CompileError::new(
                expr.span.clone(),
                "an estimand must be a single number, not a vector",
            ));
        }
        Ok(Program::new(
            source,
            parameters,
            compiler.finish(),
            Some(val),
        ))
    }

    fn new(
        source: &str,
        parameters: &[ParameterDecl],
        code: Compiled,
        result: Option<compile::Val>,
    ) -> Program {
        let mut program = Program {
            source: source.to_string(),
            params: parameters.to_vec(),
            code,
            finite: Vec::new(),
            rows_from: None,
            result,
            fused: true,
            max_elements: eval::MAX_ELEMENTS,
            plan: fuse::Plan::default(),
        };
        program.replan();
        program
    }

    fn replan(&mut self) {
        self.plan = if self.fused {
            fuse::Plan::fused(&self.code, &self.finite, self.result)
        } else {
            fuse::Plan::unfused(&self.code, &self.finite)
        };
    }

    /// Whether runs of element-wise statements are evaluated in one fused pass over the rows (the
    /// default) or one column at a time. Both give the same values and errors; the switch exists for
    /// tests and benchmarks that compare them.
    pub fn set_fused(&mut self, fused: bool) {
        self.fused = fused;
        self.replan();
    }

    /// Limit the elements one replication's data may hold, all buffers together (default
    /// [`MAX_ELEMENTS`]): generating more is an error at the statement that crossed the limit, before
    /// more than one further vector is allocated.
    pub fn set_max_elements(&mut self, elements: usize) {
        self.max_elements = elements;
    }

    /// The most elements one replication's data may hold ([`Program::set_max_elements`]).
    pub fn max_elements(&self) -> usize {
        self.max_elements
    }

    /// Evaluates an expression program ([`Program::compile_expression`]) for parameter values.
    pub fn evaluate_expression(&self, parameter_values: &[f64]) -> Result<f64, RuntimeError> {
        let Some(val) = self.result else {
            return Err(RuntimeError {
                span: 0..0,
                line: 1,
                message: "not an expression".into(),
            });
        };
        let mut ws = self.workspace();
        ws.run_static(self, parameter_values)?;
        Ok(ws.scalar_value(val))
    }

    /// Whether an expression program ([`Program::compile_expression`]) gives an integer.
    pub fn gives_integer(&self) -> bool {
        self.result.is_some_and(|v| v.elem == Elem::Int)
    }

    /// Whether two programs are the same statements, whatever their comments, spaces and line breaks
    /// inside brackets: the same tokens in the same order.
    pub fn same_statements(&self, other: &Program) -> bool {
        // Blank and comment lines only add line ends: runs of them count as one.
        let tokens = |p: &Program| {
            syntax::lex(&p.source).map(|t| {
                let mut out: Vec<syntax::Tok> = Vec::with_capacity(t.len());
                for tok in t.into_iter().map(|t| t.tok) {
                    let repeated = tok == syntax::Tok::Newline
                        && out.last().is_none_or(|l| *l == syntax::Tok::Newline);
                    if !repeated {
                        out.push(tok);
                    }
                }
                out
            })
        };
        matches!((tokens(self), tokens(other)), (Ok(a), Ok(b)) if a == b)
    }

    /// The program text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The parameters the program was compiled with.
    pub fn parameters(&self) -> &[ParameterDecl] {
        &self.params
    }

    /// Names of the program's variables, in the order their final definitions appear.
    pub fn variable_names(&self) -> impl Iterator<Item = &str> {
        self.code.variables.iter().map(|v| v.name.as_str())
    }

    /// Type and shape of a variable.
    pub fn variable(&self, name: &str) -> Option<VariableInfo> {
        self.find(name).map(|k| {
            let v = &self.code.variables[k];
            VariableInfo {
                elem: v.val.elem,
                scalar: v.val.scalar,
            }
        })
    }

    /// Byte range of the statement that defines a variable.
    pub fn variable_span(&self, name: &str) -> Option<Range<usize>> {
        self.find(name).map(|k| self.code.variables[k].span.clone())
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.code.variables.iter().position(|v| v.name == name)
    }

    /// Declares the columns the methods use: generation fails if one holds a NaN or infinity.
    /// Unknown names are ignored (the study checker reports them).
    pub fn require_finite<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        for name in names {
            if let Some(k) = self.find(name) {
                if !self.finite.contains(&k) {
                    self.finite.push(k);
                }
            }
        }
        self.replan();
    }

    /// Declares which variable's length is the data set's number of rows (the first method's response).
    pub fn set_rows_from(&mut self, name: &str) {
        self.rows_from = self.find(name);
    }

    /// A workspace for this program: buffers that one worker reuses across replications.
    pub fn workspace(&self) -> Workspace {
        Workspace::new(self)
    }

    pub(crate) fn runtime_error(&self, span: Range<usize>, message: String) -> RuntimeError {
        let line = crate::diagnostic::line_col(&self.source, span.start).0;
        RuntimeError {
            span,
            line,
            message,
        }
    }
}

#[cfg(test)]
mod tests;
