//! lme4 model formulas: `y ~ x + f + a:b + a*b + (1 + x | g) + (x || g) + (1 | a/b) + (1 | a:b)`.
//!
//! With R's operators and functions: `(a + b)^2`, `a %in% b`, `- x`, `- 1`, `+ 0`, `I(x^2)`,
//! `log()`, `exp()`, `sqrt()`, `abs()`, `scale()`, `poly(x, k)`, `poly(x, k, raw = TRUE)`,
//! `factor(x)`, `offset(z)`, and a numeric expression as the response (`log(y) ~ ...`).
//!
//! Parsing produces a [`Formula`]: the response, the fixed part as R's `terms()` would order it
//! (intercept flag, then terms by degree in order of appearance) and the random part expanded as
//! lme4's `findbars` does (`||` split into uncorrelated terms, `a/b` into `a` and `b:a`, `a/b/c`
//! into `a`, `b:a` and `c:(b:a)`). Each variable is labelled as R's `deparse()` writes it (the
//! names of the model's columns derive from the labels) and carries how to compute it from the
//! data (`Source`, evaluated by the model frame). This module knows no data: it is the bottom
//! layer of the model building.

use std::fmt;

/// A formula that could not be parsed: what is wrong and where (byte offset and length in the text),
/// so a caller can draw a caret under it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at byte {offset})")]
pub struct FormulaError {
    /// What is wrong.
    pub message: String,
    /// Byte offset of the offending part in the formula text.
    pub offset: usize,
    /// Length in bytes of the offending part (at least 1 for drawing).
    pub len: usize,
}

impl FormulaError {
    fn new(message: impl Into<String>, offset: usize, len: usize) -> Self {
        FormulaError {
            message: message.into(),
            offset,
            len: len.max(1),
        }
    }

    /// The formula with a caret line under the offending part, e.g.
    /// ```text
    /// y ~ x + (1 | )
    ///             ^
    /// ```
    /// The message with the formula and its caret below, indented: what a user sees, e.g.
    /// `invalid formula: expected a grouping factor after '|'` and the caret of [`FormulaError::caret`].
    pub fn located(&self, text: &str) -> String {
        format!(
            "invalid formula: {}\n  {}",
            self.message,
            self.caret(text).replace('\n', "\n  ")
        )
    }

    pub fn caret(&self, text: &str) -> String {
        let offset = self.offset.min(text.len());
        let column = text.get(..offset).map_or(offset, |s| s.chars().count());
        format!("{text}\n{}{}", " ".repeat(column), "^".repeat(self.len))
    }
}

/// A list of model terms as R's `terms()` holds them: an intercept flag and terms, each term a
/// product of variables (indices into [`Formula`]'s variable table, in order of first appearance).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TermList {
    pub intercept: bool,
    pub terms: Vec<Vec<usize>>,
}

/// One random-effects term after expansion: `(effects | grouping)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RandomTerm {
    /// The model matrix of the left-hand side (`1 + x` -> intercept and `x`).
    pub effects: TermList,
    /// Variables whose interaction is the grouping factor (`a:b`, or `b:a` from `a/b`).
    pub grouping: Vec<usize>,
    /// The grouping factor's name as lme4 prints it: `g`, `a:b`, `b:a`, `c:(b:a)`.
    pub label: String,
}

/// A function of the data's columns, evaluated row by row (or over the whole column for `scale`),
/// as R evaluates the inside of `I()`, `log()` and their kin.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Arith {
    /// A data column.
    Column(String),
    /// A constant.
    Number(f64),
    /// −a.
    Neg(Box<Arith>),
    /// a op b.
    Binary(ArithOp, Box<Arith>, Box<Arith>),
    /// f(a).
    Call(Func, Box<Arith>),
}

/// The arithmetic operators of R inside `I()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

/// The functions of one argument the formula language evaluates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Func {
    /// `I(a)`: the value of the expression, unchanged.
    Identity,
    Log,
    Exp,
    Sqrt,
    Abs,
    /// R's `scale(a)`: centred by the mean, divided by the standard deviation (n − 1).
    Scale,
}

/// Where a formula variable's values come from: R's model frame holds one column (or matrix) per
/// variable, named by the variable's text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Source {
    /// A data column as it is (numeric, or categorical when it is text or marked as a factor).
    Column(String),
    /// `factor(x)`: the column `x` taken as categorical.
    Factor(String),
    /// A numeric value computed from columns (`I(x^2)`, `log(x)`, `scale(x)`).
    Value(Arith),
    /// `poly(x, degree)`: R's orthogonal polynomials of degree 1..=degree (raw powers when `raw`).
    Poly {
        arg: Arith,
        degree: usize,
        raw: bool,
    },
}

/// A model formula in lme4 syntax, parsed.
#[derive(Clone, Debug)]
pub struct Formula {
    text: String,
    pub(crate) fixed: TermList,
    pub(crate) random: Vec<RandomTerm>,
    /// Variable labels as R's `terms()` names them (`x`, `log(x)`, `poly(x, 2)`); the response first.
    names: Vec<String>,
    /// How each variable is computed from the data.
    pub(crate) sources: Vec<Source>,
    /// `offset(...)` expressions of the fixed part: subtracted from the response.
    pub(crate) offsets: Vec<Arith>,
    /// The failures of a binomial response `cbind(successes, failures)` (the response variable
    /// is then the successes).
    pub(crate) failures: Option<Arith>,
    /// The data columns the formula reads, in order of first appearance.
    columns: Vec<String>,
    /// Every variable a data column as it is, and no offset (asked once per fit: kept).
    plain: bool,
}

impl fmt::Display for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Formula {
    /// Parses a formula in lme4 syntax: `+`, `-` (removal, `- 1`), `0`/`1`, `:`, `*`, `/`, `%in%`,
    /// `(a + b)^k`, random-effects terms `(x | g)`, `(x || g)`, `(1 | a/b)`, `(1 | a:b)`, and the
    /// functions `I()`, `log()`, `exp()`, `sqrt()`, `abs()`, `scale()`, `poly(x, k)`,
    /// `poly(x, k, raw = TRUE)`, `factor()` and `offset()`, also on the left of `~`.
    pub fn parse(text: &str) -> Result<Formula, FormulaError> {
        let tokens = lex(text)?;
        let mut parser = Parser {
            tokens: &tokens,
            pos: 0,
            text_len: text.len(),
        };
        let (lhs, rhs) = parser.formula()?;
        let mut builder = Builder::default();
        builder.response(&lhs)?;
        let set = builder.eval(&rhs, true)?;
        let mut terms = set.terms;
        terms.retain(|t| !t.contains(&0));
        terms.sort_by_key(Vec::len);
        let fixed = TermList {
            intercept: set.intercept.unwrap_or(true),
            terms,
        };
        let plain = builder.offsets.is_empty()
            && builder
                .sources
                .iter()
                .all(|s| matches!(s, Source::Column(_)));
        Ok(Formula {
            plain,
            text: text.to_string(),
            fixed,
            random: builder.random,
            names: builder.names,
            sources: builder.sources,
            offsets: builder.offsets,
            failures: builder.failures,
            columns: builder.columns,
        })
    }

    /// Every data column the formula reads: response, fixed, offsets, random, grouping (in order of
    /// appearance). For `log(y) ~ I(x^2)` these are `y` and `x`.
    pub fn variables(&self) -> Vec<String> {
        self.columns.clone()
    }

    /// The response's data column: `y` for `y ~ ...` and for `log(y) ~ ...`.
    pub fn response(&self) -> &str {
        match &self.sources[0] {
            Source::Column(name) => name,
            _ => self.columns.first().map_or("", String::as_str),
        }
    }

    /// The response as R labels it: `y`, or `log(y)` for `log(y) ~ ...`.
    pub fn response_label(&self) -> &str {
        &self.names[0]
    }

    /// Whether the formula has random-effects terms (a mixed model) or not (OLS).
    pub fn has_random_terms(&self) -> bool {
        !self.random.is_empty()
    }

    /// Whether the response is `cbind(successes, failures)`, a binomial response that only a
    /// generalised linear (mixed) model takes.
    pub fn has_counts_response(&self) -> bool {
        self.failures.is_some()
    }

    /// The formula without its `offset()` terms, and those offsets: a GLM keeps the offset on the
    /// link scale instead of subtracting it from the response.
    pub(crate) fn without_offsets(&self) -> (Formula, Vec<Arith>) {
        let mut formula = self.clone();
        let offsets = std::mem::take(&mut formula.offsets);
        formula.plain = formula.failures.is_none()
            && formula
                .sources
                .iter()
                .all(|s| matches!(s, Source::Column(_)));
        (formula, offsets)
    }

    /// The formula text as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The variable labels (`x`, `log(x)`, `poly(x, 2)`), the response first.
    pub(crate) fn labels(&self) -> &[String] {
        &self.names
    }

    /// Whether every variable is a data column as it is and there is no offset: then the data
    /// need no model frame.
    pub(crate) fn is_plain(&self) -> bool {
        self.plain
    }

    /// The name of variable `id`.
    #[cfg(test)]
    pub(crate) fn name(&self, id: usize) -> &str {
        &self.names[id]
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Name(String),
    Number(f64),
    Tilde,
    Plus,
    Minus,
    Star,
    Colon,
    Slash,
    Caret,
    In,
    Comma,
    Equals,
    Bar,
    DoubleBar,
    Open,
    Close,
}

/// Deepest nesting of parentheses accepted: the parser recurses once per level, and a formula
/// nested deeper than this is no model anyone writes (the limit keeps the stack safe).
const MAX_DEPTH: usize = 100;

fn lex(text: &str) -> Result<Vec<(Token, usize, usize)>, FormulaError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut depth = 0usize;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'(' {
            depth += 1;
            if depth > MAX_DEPTH {
                return Err(FormulaError::new(
                    format!("parentheses nested deeper than {MAX_DEPTH} levels"),
                    i,
                    1,
                ));
            }
        } else if c == b')' {
            depth = depth.saturating_sub(1);
        }
        let single = match c {
            b'~' => Some(Token::Tilde),
            b'+' => Some(Token::Plus),
            b'-' => Some(Token::Minus),
            b'*' => Some(Token::Star),
            b':' => Some(Token::Colon),
            b'/' => Some(Token::Slash),
            b'^' => Some(Token::Caret),
            b',' => Some(Token::Comma),
            b'=' => Some(Token::Equals),
            b'(' => Some(Token::Open),
            b')' => Some(Token::Close),
            _ => None,
        };
        if let Some(token) = single {
            tokens.push((token, i, 1));
            i += 1;
        } else if c == b'|' {
            if bytes.get(i + 1) == Some(&b'|') {
                tokens.push((Token::DoubleBar, i, 2));
                i += 2;
            } else {
                tokens.push((Token::Bar, i, 1));
                i += 1;
            }
        } else if c == b'%' {
            let end = text[i + 1..]
                .find('%')
                .ok_or_else(|| FormulaError::new("unclosed %operator%", i, 1))?;
            let op = &text[i..i + end + 2];
            if op != "%in%" {
                return Err(FormulaError::new(
                    format!("the operator {op} is not supported (%in% is)"),
                    i,
                    op.len(),
                ));
            }
            tokens.push((Token::In, i, op.len()));
            i += op.len();
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'`' {
            let end = text[i + 1..]
                .find('`')
                .ok_or_else(|| FormulaError::new("unclosed backquote", i, 1))?;
            tokens.push((
                Token::Name(text[i + 1..i + 1 + end].to_string()),
                i,
                end + 2,
            ));
            i += end + 2;
        } else if c.is_ascii_digit()
            || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            // An exponent: 1e-5, 2E3.
            if matches!(bytes.get(i), Some(b'e' | b'E')) {
                let mut j = i + 1;
                if matches!(bytes.get(j), Some(b'+' | b'-')) {
                    j += 1;
                }
                if bytes.get(j).is_some_and(u8::is_ascii_digit) {
                    i = j;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let value = text[start..i]
                .parse::<f64>()
                .map_err(|_| FormulaError::new("malformed number", start, i - start))?;
            // R's integer suffix: 2L is the number 2.
            if bytes.get(i) == Some(&b'L') {
                i += 1;
            }
            tokens.push((Token::Number(value), start, i - start));
        } else if c.is_ascii_alphabetic() || c == b'.' || c == b'_' || c >= 0x80 {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric()
                    || bytes[i] == b'.'
                    || bytes[i] == b'_'
                    || bytes[i] >= 0x80)
            {
                i += 1;
            }
            tokens.push((Token::Name(text[start..i].to_string()), start, i - start));
        } else {
            let len = text[i..].chars().next().map_or(1, char::len_utf8);
            let what = &text[i..i + len];
            return Err(FormulaError::new(
                format!("unexpected character '{what}'"),
                i,
                len,
            ));
        }
    }
    Ok(tokens)
}

type Span = (usize, usize);

/// One argument of a call: `name = value` or a positional value.
#[derive(Clone, Debug)]
struct Arg {
    name: Option<String>,
    value: Expr,
}

/// The formula as R's parser sees it: the same tree serves the formula operators and arithmetic.
#[derive(Clone, Debug)]
enum Expr {
    Name(String, Span),
    Number(f64, Span),
    /// Unary minus (true) or plus.
    Unary(bool, Box<Expr>, Span),
    Binary(Op, Box<Expr>, Box<Expr>, Span),
    Paren(Box<Expr>, Span),
    /// A function call; the span of its name is the second span.
    Call(String, Vec<Arg>, Span, Span),
    Bar {
        lhs: Box<Expr>,
        grouping: Box<Expr>,
        uncorrelated: bool,
        span: Span,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Plus,
    Minus,
    Star,
    Slash,
    Colon,
    In,
    Caret,
}

impl Op {
    /// The operator as R's deparse writes it, spaces included.
    fn deparsed(self) -> &'static str {
        match self {
            Op::Plus => " + ",
            Op::Minus => " - ",
            Op::Star => " * ",
            Op::Slash => "/",
            Op::Colon => ":",
            Op::In => " %in% ",
            Op::Caret => "^",
        }
    }
}

impl Expr {
    fn span(&self) -> Span {
        match self {
            Expr::Name(_, s)
            | Expr::Number(_, s)
            | Expr::Unary(_, _, s)
            | Expr::Binary(.., s)
            | Expr::Paren(_, s)
            | Expr::Call(_, _, s, _) => *s,
            Expr::Bar { span, .. } => *span,
        }
    }

    /// The text R's `deparse()` gives for this expression: the label of a formula variable
    /// (`I(age^2)`, `log(x + 1)`, `poly(age, 2)`).
    fn deparse(&self) -> String {
        match self {
            Expr::Name(name, _) => deparse_name(name),
            Expr::Number(value, _) => deparse_number(*value),
            Expr::Unary(minus, inner, _) => {
                format!("{}{}", if *minus { "-" } else { "+" }, inner.deparse())
            }
            Expr::Binary(op, a, b, _) => {
                format!("{}{}{}", a.deparse(), op.deparsed(), b.deparse())
            }
            Expr::Paren(inner, _) => format!("({})", inner.deparse()),
            Expr::Call(name, args, ..) => {
                let args: Vec<String> = args
                    .iter()
                    .map(|a| match &a.name {
                        Some(n) => format!("{} = {}", deparse_name(n), a.value.deparse()),
                        None => a.value.deparse(),
                    })
                    .collect();
                format!("{}({})", deparse_name(name), args.join(", "))
            }
            Expr::Bar {
                lhs,
                grouping,
                uncorrelated,
                ..
            } => {
                let bar = if *uncorrelated { "||" } else { "|" };
                format!("{} {bar} {}", lhs.deparse(), grouping.deparse())
            }
        }
    }
}

/// A name as R deparses it: backquoted unless it is syntactic.
fn deparse_name(name: &str) -> String {
    let mut chars = name.chars();
    let syntactic = match chars.next() {
        Some(c) if c.is_alphabetic() => true,
        Some('.') => !name[1..].starts_with(|c: char| c.is_ascii_digit()),
        _ => false,
    } && name
        .chars()
        .all(|c| c.is_alphanumeric() || c == '.' || c == '_');
    if syntactic {
        name.to_string()
    } else {
        format!("`{name}`")
    }
}

/// A number as R deparses it: 15 significant digits, fixed notation unless scientific is
/// narrower (`1e-05`, `1e+05`, `123456`, `2.5`).
fn deparse_number(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    // Mantissa digits (at most 15, trailing zeros dropped) and decimal exponent.
    let sci = format!("{value:.14e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .trim_end_matches('0')
        .to_string();
    let digits = if digits.is_empty() {
        "0".into()
    } else {
        digits
    };
    let sig = digits.len() as i32;
    let scientific = {
        let mantissa = if sig > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits.clone()
        };
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    };
    let fixed = if exponent >= sig - 1 {
        format!("{digits}{}", "0".repeat((exponent - sig + 1) as usize))
    } else if exponent >= 0 {
        let point = (exponent + 1) as usize;
        format!("{}.{}", &digits[..point], &digits[point..])
    } else {
        format!("0.{}{digits}", "0".repeat((-exponent - 1) as usize))
    };
    if fixed.len() <= scientific.len() {
        fixed
    } else {
        scientific
    }
}

fn join(a: Span, b: Span) -> Span {
    let end = (b.0 + b.1).max(a.0 + a.1);
    (a.0, end - a.0)
}

/// A recursive-descent parser with R's operator precedence, lowest first: `~`; `|` and `||`
/// (inside parentheses); binary `+ -`; `* /`; `%in%`; `:`; unary `- +`; `^` (right-associative).
struct Parser<'a> {
    tokens: &'a [(Token, usize, usize)],
    pos: usize,
    text_len: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|t| &t.0)
    }

    fn here(&self) -> Span {
        self.tokens
            .get(self.pos)
            .map_or((self.text_len, 1), |t| (t.1, t.2))
    }

    fn error_here(&self, message: &str) -> FormulaError {
        let (offset, len) = self.here();
        let found = match self.tokens.get(self.pos) {
            None => "the end of the formula".to_string(),
            Some(t) => format!("'{}'", token_text(&t.0)),
        };
        FormulaError::new(format!("{message}, found {found}"), offset, len)
    }

    fn formula(&mut self) -> Result<(Expr, Expr), FormulaError> {
        if self.peek() == Some(&Token::Tilde) {
            return Err(FormulaError::new(
                "a response is needed before '~' (e.g. y ~ x)",
                self.here().0,
                1,
            ));
        }
        let lhs = self.sum()?;
        if self.peek() != Some(&Token::Tilde) {
            return Err(self.error_here("expected '~'"));
        }
        self.pos += 1;
        let rhs = self.sum()?;
        if self.pos < self.tokens.len() {
            return Err(self.error_here("expected an operator or the end of the formula"));
        }
        Ok((lhs, rhs))
    }

    /// A binary operator at the current token among `ops`.
    fn operator(&self, ops: &[(Token, Op)]) -> Option<Op> {
        let token = self.peek()?;
        ops.iter().find(|(t, _)| t == token).map(|(_, op)| *op)
    }

    /// Left-associative binary operators `ops` over operands parsed by `operand`.
    fn left_assoc(
        &mut self,
        ops: &[(Token, Op)],
        operand: fn(&mut Self) -> Result<Expr, FormulaError>,
    ) -> Result<Expr, FormulaError> {
        let mut expr = operand(self)?;
        while let Some(op) = self.operator(ops) {
            self.pos += 1;
            let rhs = operand(self)?;
            let span = join(expr.span(), rhs.span());
            expr = Expr::Binary(op, Box::new(expr), Box::new(rhs), span);
        }
        Ok(expr)
    }

    fn sum(&mut self) -> Result<Expr, FormulaError> {
        let ops = [(Token::Plus, Op::Plus), (Token::Minus, Op::Minus)];
        self.left_assoc(&ops, Self::product)
    }

    fn product(&mut self) -> Result<Expr, FormulaError> {
        let ops = [(Token::Star, Op::Star), (Token::Slash, Op::Slash)];
        self.left_assoc(&ops, Self::special)
    }

    fn special(&mut self) -> Result<Expr, FormulaError> {
        self.left_assoc(&[(Token::In, Op::In)], Self::interaction)
    }

    fn interaction(&mut self) -> Result<Expr, FormulaError> {
        self.left_assoc(&[(Token::Colon, Op::Colon)], Self::unary)
    }

    fn unary(&mut self) -> Result<Expr, FormulaError> {
        let minus = match self.peek() {
            Some(Token::Minus) => true,
            Some(Token::Plus) => false,
            _ => return self.power(),
        };
        let start = self.here();
        self.pos += 1;
        let operand = self.unary()?;
        let span = join(start, operand.span());
        Ok(Expr::Unary(minus, Box::new(operand), span))
    }

    fn power(&mut self) -> Result<Expr, FormulaError> {
        let base = self.atom()?;
        if self.peek() != Some(&Token::Caret) {
            return Ok(base);
        }
        self.pos += 1;
        // Right-associative, and the exponent may carry a sign: a^-2, a^b^c = a^(b^c).
        let exponent = self.unary()?;
        let span = join(base.span(), exponent.span());
        Ok(Expr::Binary(
            Op::Caret,
            Box::new(base),
            Box::new(exponent),
            span,
        ))
    }

    /// The arguments of a call after its '(' up to and including ')'.
    fn arguments(&mut self) -> Result<(Vec<Arg>, Span), FormulaError> {
        let mut args = Vec::new();
        if self.peek() == Some(&Token::Close) {
            let close = self.here();
            self.pos += 1;
            return Ok((args, close));
        }
        loop {
            let name = match (self.peek(), self.tokens.get(self.pos + 1).map(|t| &t.0)) {
                (Some(Token::Name(n)), Some(Token::Equals)) => {
                    let n = n.clone();
                    self.pos += 2;
                    Some(n)
                }
                _ => None,
            };
            let value = self.sum()?;
            args.push(Arg { name, value });
            match self.peek() {
                Some(Token::Comma) => self.pos += 1,
                Some(Token::Close) => {
                    let close = self.here();
                    self.pos += 1;
                    return Ok((args, close));
                }
                _ => return Err(self.error_here("expected ',' or ')' in the function's arguments")),
            }
        }
    }

    fn atom(&mut self) -> Result<Expr, FormulaError> {
        let (offset, len) = self.here();
        match self.peek().cloned() {
            Some(Token::Name(name)) => {
                self.pos += 1;
                if self.peek() == Some(&Token::Open) {
                    self.pos += 1;
                    let (args, close) = self.arguments()?;
                    let span = join((offset, len), close);
                    return Ok(Expr::Call(name, args, span, (offset, len)));
                }
                Ok(Expr::Name(name, (offset, len)))
            }
            Some(Token::Number(value)) => {
                self.pos += 1;
                Ok(Expr::Number(value, (offset, len)))
            }
            Some(Token::Open) => {
                self.pos += 1;
                let inner = self.sum()?;
                let bar = match self.peek() {
                    Some(Token::Bar) => Some(false),
                    Some(Token::DoubleBar) => Some(true),
                    _ => None,
                };
                let grouping = match bar {
                    Some(_) => {
                        self.pos += 1;
                        Some(self.sum()?)
                    }
                    None => None,
                };
                if self.peek() != Some(&Token::Close) {
                    return Err(self.error_here("expected ')'"));
                }
                let span = join((offset, len), self.here());
                self.pos += 1;
                Ok(match (bar, grouping) {
                    (Some(uncorrelated), Some(grouping)) => Expr::Bar {
                        lhs: Box::new(inner),
                        grouping: Box::new(grouping),
                        uncorrelated,
                        span,
                    },
                    _ => Expr::Paren(Box::new(inner), span),
                })
            }
            _ => Err(self.error_here("expected a column name, a number, a function or '('")),
        }
    }
}

fn token_text(token: &Token) -> String {
    match token {
        Token::Name(n) => n.clone(),
        Token::Number(v) => v.to_string(),
        Token::Tilde => "~".into(),
        Token::Plus => "+".into(),
        Token::Minus => "-".into(),
        Token::Star => "*".into(),
        Token::Colon => ":".into(),
        Token::Slash => "/".into(),
        Token::Caret => "^".into(),
        Token::In => "%in%".into(),
        Token::Comma => ",".into(),
        Token::Equals => "=".into(),
        Token::Bar => "|".into(),
        Token::DoubleBar => "||".into(),
        Token::Open => "(".into(),
        Token::Close => ")".into(),
    }
}

/// Terms of a sub-expression, with the intercept as mentioned (`None` when not mentioned).
#[derive(Default)]
struct TermSet {
    intercept: Option<bool>,
    terms: Vec<Vec<usize>>,
}

impl TermSet {
    fn add(&mut self, term: Vec<usize>) {
        if !self.terms.contains(&term) {
            self.terms.push(term);
        }
    }

    fn variables(&self) -> Vec<usize> {
        let mut vars: Vec<usize> = self.terms.iter().flatten().copied().collect();
        vars.sort_unstable();
        vars.dedup();
        vars
    }

    /// `self * other`: both sets' terms and their products (R's crossing).
    fn cross(self, other: TermSet, span: Span) -> Result<TermSet, FormulaError> {
        let product = interact(&self, &other, span)?;
        let mut out = TermSet {
            intercept: other.intercept.or(self.intercept),
            terms: vec![],
        };
        for t in self
            .terms
            .into_iter()
            .chain(other.terms)
            .chain(product.terms)
        {
            out.add(t);
        }
        Ok(out)
    }
}

/// The most terms a product of terms may make: `a * b * c * ...` of k variables makes 2^k - 1 terms,
/// so thirty of them would take hours and all memory; a model has far fewer terms than this.
const MAX_TERMS: usize = 1000;

/// `a:b`: the products of every term of `a` with every term of `b`.
fn interact(a: &TermSet, b: &TermSet, span: Span) -> Result<TermSet, FormulaError> {
    let products = a.terms.len().saturating_mul(b.terms.len());
    if products.saturating_add(a.terms.len() + b.terms.len()) > MAX_TERMS {
        return Err(err(
            format!(
                "this product of terms makes more than {MAX_TERMS} terms ({} × {}); write the \
                 interactions the model needs with `:`",
                a.terms.len(),
                b.terms.len()
            ),
            span,
        ));
    }
    let mut out = TermSet::default();
    for ta in &a.terms {
        for tb in &b.terms {
            let mut t: Vec<usize> = ta.iter().chain(tb).copied().collect();
            t.sort_unstable();
            t.dedup();
            out.add(t);
        }
    }
    Ok(out)
}

/// The functions of the formula language, for error messages.
const FUNCTIONS: &str = "I, log, exp, sqrt, abs, scale, poly, factor, offset";

/// Turns the parsed tree into terms, collecting the variables (with how to compute each), the
/// offsets, the random-effects terms and the data columns read.
#[derive(Default)]
struct Builder {
    names: Vec<String>,
    sources: Vec<Source>,
    offsets: Vec<Arith>,
    random: Vec<RandomTerm>,
    columns: Vec<String>,
    failures: Option<Arith>,
}

fn err(message: impl Into<String>, span: Span) -> FormulaError {
    FormulaError::new(message, span.0, span.1)
}

impl Builder {
    /// The variable labelled `label`, added on first sight.
    fn variable(&mut self, label: String, source: Source) -> usize {
        match self.names.iter().position(|n| *n == label) {
            Some(id) => id,
            None => {
                self.names.push(label);
                self.sources.push(source);
                self.names.len() - 1
            }
        }
    }

    fn column(&mut self, name: &str) {
        if !self.columns.iter().any(|c| c == name) {
            self.columns.push(name.to_string());
        }
    }

    /// The response: a column, or a numeric expression of columns (`log(y)`, `I(y/2)`).
    fn response(&mut self, lhs: &Expr) -> Result<(), FormulaError> {
        let source = match lhs {
            Expr::Name(name, _) => {
                self.column(name);
                Source::Column(name.clone())
            }
            Expr::Call(name, args, span, _) if name == "cbind" => {
                let [Arg {
                    name: None,
                    value: successes,
                }, Arg {
                    name: None,
                    value: failures,
                }] = args.as_slice()
                else {
                    return Err(err(
                        "cbind() takes two arguments: cbind(successes, failures)",
                        *span,
                    ));
                };
                let successes = self.arith(successes)?;
                self.failures = Some(self.arith(failures)?);
                Source::Value(successes)
            }
            Expr::Call(name, _, _, name_span)
                if matches!(name.as_str(), "factor" | "poly" | "offset") =>
            {
                return Err(err(
                    format!("the response must be numeric: {name}() is not allowed left of '~'"),
                    *name_span,
                ))
            }
            Expr::Bar { span, .. } => {
                return Err(err(
                    "the response must be one column or a numeric expression",
                    *span,
                ))
            }
            other => Source::Value(self.arith(other)?),
        };
        self.variable(lhs.deparse(), source);
        Ok(())
    }

    /// The value of an arithmetic expression (the inside of `I()` and of the functions).
    fn arith(&mut self, expr: &Expr) -> Result<Arith, FormulaError> {
        Ok(match expr {
            Expr::Name(name, span) => {
                if name == "." {
                    return Err(err(
                        "'.' (all other columns) is not supported: name the columns",
                        *span,
                    ));
                }
                self.column(name);
                Arith::Column(name.clone())
            }
            Expr::Number(value, _) => Arith::Number(*value),
            Expr::Unary(true, inner, _) => Arith::Neg(Box::new(self.arith(inner)?)),
            Expr::Unary(false, inner, _) | Expr::Paren(inner, _) => self.arith(inner)?,
            Expr::Binary(op, a, b, span) => {
                let op = match op {
                    Op::Plus => ArithOp::Add,
                    Op::Minus => ArithOp::Sub,
                    Op::Star => ArithOp::Mul,
                    Op::Slash => ArithOp::Div,
                    Op::Caret => ArithOp::Pow,
                    Op::Colon | Op::In => return Err(err(
                        "':' and %in% are formula operators, not arithmetic: use '*' inside I()",
                        *span,
                    )),
                };
                Arith::Binary(op, Box::new(self.arith(a)?), Box::new(self.arith(b)?))
            }
            Expr::Call(name, args, span, name_span) => {
                let func = match name.as_str() {
                    "I" => Func::Identity,
                    "log" => Func::Log,
                    "exp" => Func::Exp,
                    "sqrt" => Func::Sqrt,
                    "abs" => Func::Abs,
                    "scale" => Func::Scale,
                    "poly" | "factor" | "offset" => {
                        return Err(err(
                            format!("{name}() must stand on its own in the formula, not inside an expression"),
                            *name_span,
                        ))
                    }
                    _ => return Err(unknown_function(name, *name_span)),
                };
                let [Arg { name: None, value }] = args.as_slice() else {
                    return Err(err(
                        format!("{name}() takes exactly one argument here"),
                        *span,
                    ));
                };
                Arith::Call(func, Box::new(self.arith(value)?))
            }
            Expr::Bar { span, .. } => {
                return Err(err(
                    "a random-effects term cannot be inside an expression",
                    *span,
                ))
            }
        })
    }

    /// A function call on the right of `~`: a variable (or an offset, which is no term).
    fn call(
        &mut self,
        expr: &Expr,
        name: &str,
        args: &[Arg],
        span: Span,
        name_span: Span,
        top: bool,
    ) -> Result<TermSet, FormulaError> {
        let source = match name {
            "offset" => {
                if !top {
                    return Err(err(
                        "offset() must be added at the top level of the fixed part",
                        span,
                    ));
                }
                let [Arg { name: None, value }] = args else {
                    return Err(err("offset() takes exactly one argument", span));
                };
                let offset = self.arith(value)?;
                self.offsets.push(offset);
                return Ok(TermSet::default());
            }
            "factor" => match args {
                [Arg {
                    name: None,
                    value: Expr::Name(column, _),
                }] => {
                    self.column(column);
                    Source::Factor(column.clone())
                }
                _ => return Err(err("factor() takes one column name: factor(x)", span)),
            },
            "poly" => self.poly(args, span)?,
            "I" | "log" | "exp" | "sqrt" | "abs" | "scale" => Source::Value(self.arith(expr)?),
            _ => return Err(unknown_function(name, name_span)),
        };
        let id = self.variable(expr.deparse(), source);
        Ok(TermSet {
            intercept: None,
            terms: vec![vec![id]],
        })
    }

    /// `poly(x, degree)`, `poly(x, degree = k)`, `poly(x, k, raw = TRUE)`.
    fn poly(&mut self, args: &[Arg], span: Span) -> Result<Source, FormulaError> {
        let mut x = None;
        let mut degree = None;
        let mut raw = None;
        for (position, arg) in args.iter().enumerate() {
            let slot = match (arg.name.as_deref(), position) {
                (None, 0) | (Some("x"), _) => 0,
                (None, 1) | (Some("degree"), _) => 1,
                (Some("raw"), _) => 2,
                _ => {
                    return Err(err(
                        "poly() takes x, degree and raw = TRUE/FALSE",
                        arg.value.span(),
                    ))
                }
            };
            match slot {
                0 => x = Some(self.arith(&arg.value)?),
                1 => match &arg.value {
                    Expr::Number(k, _) if *k >= 1.0 && k.fract() == 0.0 && *k <= 50.0 => {
                        degree = Some(*k as usize)
                    }
                    other => {
                        return Err(err(
                            "the degree of poly() must be a whole number from 1 to 50",
                            other.span(),
                        ))
                    }
                },
                _ => match &arg.value {
                    Expr::Name(v, _) if v == "TRUE" || v == "T" => raw = Some(true),
                    Expr::Name(v, _) if v == "FALSE" || v == "F" => raw = Some(false),
                    other => return Err(err("raw must be TRUE or FALSE", other.span())),
                },
            }
        }
        let Some(arg) = x else {
            return Err(err("poly() needs a variable: poly(x, 2)", span));
        };
        Ok(Source::Poly {
            arg,
            // R's default degree is 1.
            degree: degree.unwrap_or(1),
            raw: raw.unwrap_or(false),
        })
    }

    /// The terms of `expr`; `top`: at the top level of the right-hand side, where random-effects
    /// terms and offsets are collected.
    fn eval(&mut self, expr: &Expr, top: bool) -> Result<TermSet, FormulaError> {
        match expr {
            Expr::Name(name, span) => {
                if name == "." {
                    return Err(err(
                        "'.' (all other columns) is not supported: name the columns",
                        *span,
                    ));
                }
                self.column(name);
                let id = self.variable(name.clone(), Source::Column(name.clone()));
                Ok(TermSet {
                    intercept: None,
                    terms: vec![vec![id]],
                })
            }
            Expr::Number(value, span) => {
                if *value == 1.0 || *value == 0.0 {
                    Ok(TermSet {
                        intercept: Some(*value == 1.0),
                        terms: vec![],
                    })
                } else {
                    Err(err(
                        "only 0 or 1 may appear as a number (intercept); use I() for arithmetic",
                        *span,
                    ))
                }
            }
            Expr::Unary(minus, inner, _) => {
                let set = self.eval(inner, false)?;
                if !*minus {
                    return Ok(set);
                }
                // A leading removal: `-1` drops the intercept; removed terms were never there.
                Ok(TermSet {
                    intercept: set.intercept.map(|i| !i),
                    terms: vec![],
                })
            }
            Expr::Paren(inner, _) => self.eval(inner, false),
            Expr::Call(name, args, span, name_span) => {
                self.call(expr, name, args, *span, *name_span, top)
            }
            Expr::Binary(op, a, b, span) => match op {
                Op::Plus | Op::Minus => {
                    let left = self.eval(a, top)?;
                    let right = self.eval(b, top && *op == Op::Plus)?;
                    let mut out = left;
                    if *op == Op::Plus {
                        for t in right.terms {
                            out.add(t);
                        }
                        out.intercept = right.intercept.or(out.intercept);
                    } else {
                        out.terms.retain(|t| !right.terms.contains(t));
                        if let Some(i) = right.intercept {
                            out.intercept = Some(!i);
                        }
                    }
                    Ok(out)
                }
                Op::Colon | Op::In => {
                    let (left, right) = (self.eval(a, false)?, self.eval(b, false)?);
                    interact(&left, &right, *span)
                }
                Op::Star => {
                    let (left, right) = (self.eval(a, false)?, self.eval(b, false)?);
                    left.cross(right, *span)
                }
                Op::Slash => {
                    let (left, right) = (self.eval(a, false)?, self.eval(b, false)?);
                    let all = TermSet {
                        intercept: None,
                        terms: vec![left.variables()],
                    };
                    let product = interact(&all, &right, *span)?;
                    let mut out = TermSet {
                        intercept: left.intercept,
                        terms: vec![],
                    };
                    for t in left.terms.into_iter().chain(product.terms) {
                        out.add(t);
                    }
                    Ok(out)
                }
                Op::Caret => {
                    let k = match b.as_ref() {
                        Expr::Number(k, _) if *k >= 1.0 && k.fract() == 0.0 => *k as usize,
                        other => {
                            return Err(err(
                                "the power of a formula term must be a whole number ≥ 1 ((a + b)^2); use I() for arithmetic",
                                other.span(),
                            ))
                        }
                    };
                    let base = self.eval(a, false)?;
                    if base.terms.is_empty() {
                        return Err(err("nothing to raise to a power", *span));
                    }
                    // (a + b + c)^k: every product of at most k of the terms.
                    let mut out = TermSet {
                        intercept: base.intercept,
                        terms: base.terms.clone(),
                    };
                    for _ in 1..k.min(base.variables().len()) {
                        let again = TermSet {
                            intercept: None,
                            terms: base.terms.clone(),
                        };
                        out = out.cross(again, *span)?;
                    }
                    Ok(out)
                }
            },
            Expr::Bar {
                lhs,
                grouping,
                uncorrelated,
                span,
            } => {
                if !top {
                    return Err(err(
                        "a random-effects term (... | g) must be added at the top level of the formula",
                        *span,
                    ));
                }
                let effects = self.eval(lhs, false)?;
                let effects = TermList {
                    intercept: effects.intercept.unwrap_or(true),
                    terms: sorted_by_degree(effects.terms),
                };
                if !effects.intercept && effects.terms.is_empty() {
                    return Err(err(
                        "this random-effects term has no effects (nothing left of '|')",
                        *span,
                    ));
                }
                for (vars, label) in self.grouping_factors(grouping)? {
                    let mut push = |effects: TermList| {
                        self.random.push(RandomTerm {
                            effects,
                            grouping: vars.clone(),
                            label: label.clone(),
                        })
                    };
                    if *uncorrelated {
                        if effects.intercept {
                            push(TermList {
                                intercept: true,
                                terms: vec![],
                            });
                        }
                        for t in &effects.terms {
                            push(TermList {
                                intercept: false,
                                terms: vec![t.clone()],
                            });
                        }
                    } else {
                        push(effects.clone());
                    }
                }
                Ok(TermSet::default())
            }
        }
    }

    /// The grouping factors of `g`, `a:b` or `a/b` (which lme4 expands to `a` and `b:a`; `a/b/c`
    /// to `a`, `b:a` and `c:(b:a)`), each as the variables of an interaction and lme4's label.
    fn grouping_factors(&mut self, expr: &Expr) -> Result<Vec<(Vec<usize>, String)>, FormulaError> {
        match expr {
            Expr::Name(name, _) => {
                self.column(name);
                let id = self.variable(name.clone(), Source::Column(name.clone()));
                Ok(vec![(vec![id], name.clone())])
            }
            Expr::Paren(inner, _) => self.grouping_factors(inner),
            Expr::Binary(Op::Colon, a, b, _) => {
                let (left, right) = (self.grouping_factors(a)?, self.grouping_factors(b)?);
                match (left.as_slice(), right.as_slice()) {
                    ([(l, ll)], [(r, rl)]) => Ok(vec![(
                        l.iter().chain(r).copied().collect(),
                        format!("{ll}:{rl}"),
                    )]),
                    _ => Err(err(
                        "a grouping factor interaction must join column names: a:b",
                        expr.span(),
                    )),
                }
            }
            Expr::Binary(Op::Slash, a, b, _) => {
                let mut outer = self.grouping_factors(a)?;
                let inner = self.grouping_factors(b)?;
                let [(inner, inner_label)] = inner.as_slice() else {
                    return Err(err(
                        "the nested factor must be a column name: a/b",
                        b.span(),
                    ));
                };
                let (last, last_label) = outer.last().cloned().unwrap_or_default();
                // lme4 parenthesizes a nested interaction: c:(b:a).
                let last_label = if last_label.contains(':') {
                    format!("({last_label})")
                } else {
                    last_label
                };
                outer.push((
                    inner.iter().chain(&last).copied().collect(),
                    format!("{inner_label}:{last_label}"),
                ));
                Ok(outer)
            }
            other => Err(err(
                "a grouping factor must be a column name, a:b or a/b",
                other.span(),
            )),
        }
    }
}

fn unknown_function(name: &str, span: Span) -> FormulaError {
    err(
        format!("the function {name}() is not supported in formulas (supported: {FUNCTIONS}); compute the column in the data"),
        span,
    )
}

fn sorted_by_degree(mut terms: Vec<Vec<usize>>) -> Vec<Vec<usize>> {
    terms.sort_by_key(Vec::len);
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(f: &Formula, list: &TermList) -> Vec<String> {
        list.terms
            .iter()
            .map(|t| t.iter().map(|&v| f.name(v)).collect::<Vec<_>>().join(":"))
            .collect()
    }

    #[test]
    fn fixed_part_follows_r_terms() {
        let f = Formula::parse("angle ~ recipe * temp").unwrap();
        assert!(f.fixed.intercept);
        assert_eq!(labels(&f, &f.fixed), ["recipe", "temp", "recipe:temp"]);
        let f = Formula::parse("y ~ 0 + x").unwrap();
        assert!(!f.fixed.intercept);
        let f = Formula::parse("y ~ x - 1").unwrap();
        assert!(!f.fixed.intercept);
        assert_eq!(labels(&f, &f.fixed), ["x"]);
        let f = Formula::parse("y ~ a:b + a").unwrap();
        assert_eq!(labels(&f, &f.fixed), ["a", "a:b"]);
        assert!(!f.has_random_terms());
    }

    #[test]
    fn random_part_expands_like_lme4() {
        let f = Formula::parse("strength ~ 1 + (1 | batch/cask)").unwrap();
        let groups: Vec<String> = f.random.iter().map(|r| r.label.clone()).collect();
        assert_eq!(groups, ["batch", "cask:batch"]);
        let f = Formula::parse("Reaction ~ Days + (Days || Subject)").unwrap();
        assert_eq!(f.random.len(), 2);
        assert!(f.random[0].effects.intercept && f.random[0].effects.terms.is_empty());
        assert!(!f.random[1].effects.intercept && f.random[1].effects.terms.len() == 1);
        let f = Formula::parse("y ~ x + (0 + x | g) + (1 | a:b)").unwrap();
        assert!(!f.random[0].effects.intercept);
        assert_eq!(f.random[1].label, "a:b");
        assert_eq!(f.variables(), ["y", "x", "g", "a", "b"]);
        assert_eq!(f.response(), "y");
    }

    #[test]
    fn errors_carry_offsets() {
        let text = "y ~ x + (1 | )";
        let err = Formula::parse(text).unwrap_err();
        assert_eq!(err.offset, 13);
        assert!(err.caret(text).ends_with("             ^"));
        assert_eq!(Formula::parse("y x").unwrap_err().offset, 2);
        assert_eq!(Formula::parse("y ~ x $ z").unwrap_err().offset, 6);
        assert_eq!(Formula::parse("y ~ logg(x)").unwrap_err().offset, 4);
        assert_eq!(Formula::parse("y ~ x + (1 | g").unwrap_err().offset, 14);
        assert_eq!(Formula::parse("y ~ x:(1 | g)").unwrap_err().offset, 6);
        assert!(Formula::parse("~ x").is_err());
        assert!(Formula::parse("y ~ 2").is_err());
        assert!(Formula::parse("y ~ x + (0 | g)").is_err());
    }

    #[test]
    fn functions_are_variables_labelled_as_r_deparses_them() {
        let f = Formula::parse(
            "log(y) ~ I(age^2) + log(x + 1) + poly(age, 2) + poly(age,2,raw=TRUE) + scale(x) + I(-x/2) + I(1e-5*x) + I(2.50*x) + I(100000*x) + I(123456*x) + sqrt(abs(x)) + factor(g) + offset(z)",
        )
        .unwrap();
        assert_eq!(f.response_label(), "log(y)");
        assert_eq!(f.response(), "y");
        assert_eq!(
            labels(&f, &f.fixed),
            [
                "I(age^2)",
                "log(x + 1)",
                "poly(age, 2)",
                "poly(age, 2, raw = TRUE)",
                "scale(x)",
                "I(-x/2)",
                "I(1e-05 * x)",
                "I(2.5 * x)",
                "I(1e+05 * x)",
                "I(123456 * x)",
                "sqrt(abs(x))",
                "factor(g)"
            ]
        );
        assert_eq!(f.offsets.len(), 1);
        assert_eq!(f.variables(), ["y", "age", "x", "g", "z"]);
        assert!(!f.is_plain());
        assert!(Formula::parse("y ~ x + (1 | g)").unwrap().is_plain());
    }

    #[test]
    fn crossing_nesting_and_removal_follow_r_terms() {
        let f = Formula::parse("y ~ (a + b + c)^2").unwrap();
        assert_eq!(labels(&f, &f.fixed), ["a", "b", "c", "a:b", "a:c", "b:c"]);
        let f = Formula::parse("y ~ a*b*c - a:b:c - 1").unwrap();
        assert!(!f.fixed.intercept);
        assert_eq!(labels(&f, &f.fixed), ["a", "b", "c", "a:b", "a:c", "b:c"]);
        let f = Formula::parse("y ~ a %in% b").unwrap();
        assert_eq!(labels(&f, &f.fixed), ["a:b"]);
        let f = Formula::parse("y ~ (a + c)/b").unwrap();
        assert_eq!(labels(&f, &f.fixed), ["a", "c", "a:c:b"]);
        let f = Formula::parse("y ~ b:a + a + 0").unwrap();
        assert!(!f.fixed.intercept);
        assert_eq!(labels(&f, &f.fixed), ["a", "b:a"]);
        let f = Formula::parse("y ~ 1 + (1 | district/school/class)").unwrap();
        let groups: Vec<&str> = f.random.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(
            groups,
            ["district", "school:district", "class:(school:district)"]
        );
    }

    #[test]
    fn unsupported_parts_are_errors_at_their_place() {
        let at = |text: &str| {
            let e = Formula::parse(text).unwrap_err();
            (e.offset, e.len, e.message)
        };
        let (offset, len, message) = at("y ~ x + foo(x)");
        assert_eq!((offset, len), (8, 3));
        assert!(message.contains("foo() is not supported"), "{message}");
        assert_eq!(at("y ~ I(x:z)").0, 6);
        assert_eq!(at("y ~ I(x %% 2)").0, 8);
        assert_eq!(at("y ~ (a + b)^x").0, 12);
        assert_eq!(at("y ~ poly(x, 0)").0, 12);
        assert_eq!(at("y ~ poly(x, 2, raw = maybe)").0, 21);
        assert_eq!(at("y ~ x + 2").0, 8);
        assert_eq!(at("factor(y) ~ x").0, 0);
        assert_eq!(at("y ~ I(log(poly(x, 2)))").0, 10);
        assert_eq!(at("y ~ .").0, 4);
        assert_eq!(at("y ~ x + (offset(z) | g)").0, 9);
    }
}
