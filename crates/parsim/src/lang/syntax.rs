//! Lexer and parser of the data language: one statement `name = expression` per line, `#` comments,
//! newlines inside parentheses and brackets continue the statement (as in Python).

use std::ops::Range;

use super::CompileError;

/// Byte range into the program text.
pub type Span = Range<usize>;

/// Deepest nesting of expressions accepted (keeps recursion bounded on hostile input).
const MAX_DEPTH: usize = 100;
/// Binary operators in one statement or expression at most: a chain `a + b + ...` nests its tree one level
/// per operator, and compiling and dropping the tree recurse through it.
const MAX_OPERATORS: usize = 1000;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Int(i64),
    Float(f64),
    Ident(String),
    Plus,
    Minus,
    Star,
    StarStar,
    Slash,
    SlashSlash,
    Percent,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Colon,
    Str(String),
    Assign,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Amp,
    Pipe,
    Newline,
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Int(v) => format!("number `{v}`"),
            Tok::Float(v) => format!("number `{v}`"),
            Tok::Ident(s) => format!("name `{s}`"),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Newline => "end of line".into(),
            Tok::Eof => "end of program".into(),
            other => format!("`{}`", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::StarStar => "**",
            Tok::Slash => "/",
            Tok::SlashSlash => "//",
            Tok::Percent => "%",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::Comma => ",",
            Tok::Colon => ":",
            Tok::Assign => "=",
            Tok::Eq => "==",
            Tok::Ne => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Amp => "&",
            Tok::Pipe => "|",
            _ => "",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
}

/// Splits the program into tokens. Newlines inside `()`/`[]` are dropped.
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, CompileError> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let single = |tok: Tok| Token {
            tok,
            span: start..start + 1,
        };
        match c {
            b' ' | b'\t' | b'\r' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'\n' => {
                if depth == 0 {
                    tokens.push(single(Tok::Newline));
                }
                i += 1;
            }
            b'0'..=b'9' | b'.' => {
                let (tok, end) = lex_number(src, i)?;
                tokens.push(Token { tok, span: i..end });
                i = end;
            }
            b'"' | b'\'' => {
                // A string: only an option's value (`method="cholesky"`); no escapes.
                let close = src[i + 1..].find(c as char).map(|k| i + 1 + k);
                match close {
                    Some(end) if !src[i + 1..end].contains('\n') => {
                        tokens.push(Token {
                            tok: Tok::Str(src[i + 1..end].to_string()),
                            span: start..end + 1,
                        });
                        i = end + 1;
                    }
                    _ => {
                        return Err(CompileError::new(
                            start..start + 1,
                            "a string that is not closed on its line",
                        ))
                    }
                }
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                tokens.push(Token {
                    tok: Tok::Ident(src[start..i].to_string()),
                    span: start..i,
                });
            }
            _ => {
                let next = bytes.get(i + 1).copied();
                let (tok, len) = match (c, next) {
                    (b'*', Some(b'*')) => (Tok::StarStar, 2),
                    (b'/', Some(b'/')) => (Tok::SlashSlash, 2),
                    (b'=', Some(b'=')) => (Tok::Eq, 2),
                    (b'!', Some(b'=')) => (Tok::Ne, 2),
                    (b'<', Some(b'=')) => (Tok::Le, 2),
                    (b'>', Some(b'=')) => (Tok::Ge, 2),
                    (b'+', _) => (Tok::Plus, 1),
                    (b'-', _) => (Tok::Minus, 1),
                    (b'*', _) => (Tok::Star, 1),
                    (b'/', _) => (Tok::Slash, 1),
                    (b'%', _) => (Tok::Percent, 1),
                    (b'(', _) => (Tok::LParen, 1),
                    (b')', _) => (Tok::RParen, 1),
                    (b'[', _) => (Tok::LBracket, 1),
                    (b']', _) => (Tok::RBracket, 1),
                    (b',', _) => (Tok::Comma, 1),
                    (b':', _) => (Tok::Colon, 1),
                    (b'=', _) => (Tok::Assign, 1),
                    (b'<', _) => (Tok::Lt, 1),
                    (b'>', _) => (Tok::Gt, 1),
                    (b'&', _) => (Tok::Amp, 1),
                    (b'|', _) => (Tok::Pipe, 1),
                    _ => {
                        let ch = src[i..].chars().next().unwrap_or('?');
                        let hint = match ch {
                            '^' => " (use `**` for powers)",
                            _ => "",
                        };
                        return Err(CompileError::new(
                            i..i + ch.len_utf8(),
                            format!("unexpected character `{ch}`{hint}"),
                        ));
                    }
                };
                match tok {
                    Tok::LParen | Tok::LBracket => depth += 1,
                    Tok::RParen | Tok::RBracket => depth = depth.saturating_sub(1),
                    _ => {}
                }
                tokens.push(Token {
                    tok,
                    span: i..i + len,
                });
                i += len;
            }
        }
    }
    tokens.push(Token {
        tok: Tok::Newline,
        span: src.len()..src.len(),
    });
    tokens.push(Token {
        tok: Tok::Eof,
        span: src.len()..src.len(),
    });
    Ok(tokens)
}

/// A Python number literal: `12`, `1_000`, `0.5`, `.5`, `1.`, `1e-3`, `2.5E+2`.
fn lex_number(src: &str, start: usize) -> Result<(Tok, usize), CompileError> {
    let bytes = src.as_bytes();
    let mut i = start;
    let digits = |i: &mut usize| {
        while *i < bytes.len() && (bytes[*i].is_ascii_digit() || bytes[*i] == b'_') {
            *i += 1;
        }
    };
    digits(&mut i);
    let mut is_float = false;
    if i < bytes.len() && bytes[i] == b'.' {
        is_float = true;
        i += 1;
        digits(&mut i);
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        let mut j = i + 1;
        if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
            j += 1;
        }
        if j < bytes.len() && bytes[j].is_ascii_digit() {
            is_float = true;
            i = j;
            digits(&mut i);
        }
    }
    let text: String = src[start..i].chars().filter(|c| *c != '_').collect();
    let bad = || CompileError::new(start..i, format!("`{}` is not a number", &src[start..i]));
    if text == "." {
        return Err(bad());
    }
    let tok = if is_float {
        Tok::Float(text.parse().map_err(|_| bad())?)
    } else {
        match text.parse::<i64>() {
            Ok(v) => Tok::Int(v),
            Err(_) => {
                return Err(CompileError::new(
                    start..i,
                    format!("integer `{}` does not fit in 64 bits", &src[start..i]),
                ))
            }
        }
    };
    Ok((tok, i))
}

/// Binary operators of the language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Pow,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    /// numpy `minimum` (propagates NaN).
    Min,
    /// numpy `maximum` (propagates NaN).
    Max,
}

impl BinOp {
    pub(crate) fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }

    pub(crate) fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
            BinOp::Pow => "**",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "&",
            BinOp::Or => "|",
            BinOp::Min => "minimum",
            BinOp::Max => "maximum",
        }
    }
}

/// An expression of the data language.
#[derive(Clone, Debug)]
pub(crate) struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub(crate) enum ExprKind {
    Int(i64),
    Float(f64),
    Name(String),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Call {
        name: String,
        name_span: Span,
        args: Vec<CallArg>,
    },
    Index(Box<Expr>, Box<Expr>),
    /// `m[:, j]`: column `j` of a matrix.
    Column(Box<Expr>, Box<Expr>),
    /// `[a, b, c]`: a list literal (of lists: a matrix).
    List(Vec<Expr>),
    /// `"text"`: an option's value.
    Str(String),
}

/// One argument of a call, positional or `keyword=value`.
#[derive(Clone, Debug)]
pub(crate) struct CallArg {
    pub keyword: Option<(String, Span)>,
    pub value: Expr,
}

/// `name = expression`.
#[derive(Clone, Debug)]
pub(crate) struct Statement {
    pub name: String,
    pub name_span: Span,
    pub value: Expr,
}

/// Parses a whole program.
pub(crate) fn parse_program(src: &str) -> Result<Vec<Statement>, CompileError> {
    let tokens = lex(src)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
        operators: 0,
    };
    let mut statements = Vec::new();
    loop {
        while p.peek() == &Tok::Newline {
            p.pos += 1;
        }
        if p.peek() == &Tok::Eof {
            break;
        }
        statements.push(p.statement()?);
    }
    Ok(statements)
}

/// Parses a single expression (an estimand's true value).
pub(crate) fn parse_expression(src: &str) -> Result<Expr, CompileError> {
    let tokens = lex(src)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
        operators: 0,
    };
    while p.peek() == &Tok::Newline {
        p.pos += 1;
    }
    let e = p.expr()?;
    while p.peek() == &Tok::Newline {
        p.pos += 1;
    }
    if p.peek() != &Tok::Eof {
        return Err(p.unexpected("end of expression"));
    }
    Ok(e)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    /// Binary operators parsed in the current statement (see [`MAX_OPERATORS`]).
    operators: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.tokens[self.pos.min(self.tokens.len() - 1)].tok
    }

    fn span(&self) -> Span {
        self.tokens[self.pos.min(self.tokens.len() - 1)]
            .span
            .clone()
    }

    fn bump(&mut self) -> Token {
        let t = self.tokens[self.pos.min(self.tokens.len() - 1)].clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn unexpected(&self, expected: &str) -> CompileError {
        let at_end = self.span().start == self.tokens.last().map_or(0, |t| t.span.start);
        let found = if at_end {
            "end of program".to_string()
        } else {
            self.peek().describe()
        };
        CompileError::new(self.span(), format!("expected {expected}, found {found}"))
    }

    fn expect(&mut self, tok: Tok, expected: &str) -> Result<Token, CompileError> {
        if self.peek() == &tok {
            Ok(self.bump())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn statement(&mut self) -> Result<Statement, CompileError> {
        self.operators = 0;
        let (name, name_span) = match self.peek().clone() {
            Tok::Ident(name) => (name, self.bump().span),
            _ => return Err(self.unexpected("a statement `name = expression`")),
        };
        if self.peek() != &Tok::Assign {
            return Err(CompileError::new(
                self.span(),
                format!(
                    "expected `=` after `{name}`, found {}",
                    self.peek().describe()
                ),
            )
            .with_help("each line is one statement `name = expression`"));
        }
        self.bump();
        let value = self.expr()?;
        if self.peek() != &Tok::Newline {
            return Err(self.unexpected("end of line after the expression"));
        }
        Ok(Statement {
            name,
            name_span,
            value,
        })
    }

    fn expr(&mut self) -> Result<Expr, CompileError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CompileError::new(
                self.span(),
                "expression nested too deeply",
            ));
        }
        let e = self.or();
        self.depth -= 1;
        e
    }

    /// One more binary operator in this statement, or an error past [`MAX_OPERATORS`].
    fn count_operator(&mut self) -> Result<(), CompileError> {
        self.operators += 1;
        if self.operators > MAX_OPERATORS {
            return Err(CompileError::new(
                self.span(),
                format!("more than {MAX_OPERATORS} operators in one statement"),
            )
            .with_help("split the expression over several statements"));
        }
        Ok(())
    }

    fn binary(op: BinOp, a: Expr, b: Expr) -> Expr {
        let span = a.span.start..b.span.end;
        Expr {
            kind: ExprKind::Binary(op, Box::new(a), Box::new(b)),
            span,
        }
    }

    fn or(&mut self) -> Result<Expr, CompileError> {
        let mut e = self.and()?;
        while self.peek() == &Tok::Pipe {
            self.bump();
            let rhs = self.and()?;
            self.count_operator()?;
            e = Self::binary(BinOp::Or, e, rhs);
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, CompileError> {
        let mut e = self.comparison()?;
        while self.peek() == &Tok::Amp {
            self.bump();
            let rhs = self.comparison()?;
            self.count_operator()?;
            e = Self::binary(BinOp::And, e, rhs);
        }
        Ok(e)
    }

    fn comparison_op(&self) -> Option<BinOp> {
        Some(match self.peek() {
            Tok::Eq => BinOp::Eq,
            Tok::Ne => BinOp::Ne,
            Tok::Lt => BinOp::Lt,
            Tok::Le => BinOp::Le,
            Tok::Gt => BinOp::Gt,
            Tok::Ge => BinOp::Ge,
            _ => return None,
        })
    }

    fn comparison(&mut self) -> Result<Expr, CompileError> {
        let e = self.additive()?;
        let Some(op) = self.comparison_op() else {
            return Ok(e);
        };
        self.bump();
        let rhs = self.additive()?;
        if self.comparison_op().is_some() {
            return Err(
                CompileError::new(self.span(), "chained comparisons are not supported")
                    .with_help("write `(a < b) & (b < c)`"),
            );
        }
        Ok(Self::binary(op, e, rhs))
    }

    fn additive(&mut self) -> Result<Expr, CompileError> {
        let mut e = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => return Ok(e),
            };
            self.bump();
            let rhs = self.multiplicative()?;
            self.count_operator()?;
            e = Self::binary(op, e, rhs);
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, CompileError> {
        let mut e = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Star => BinOp::Mul,
                Tok::Slash => BinOp::Div,
                Tok::SlashSlash => BinOp::FloorDiv,
                Tok::Percent => BinOp::Mod,
                _ => return Ok(e),
            };
            self.bump();
            let rhs = self.unary()?;
            self.count_operator()?;
            e = Self::binary(op, e, rhs);
        }
    }

    fn unary(&mut self) -> Result<Expr, CompileError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CompileError::new(
                self.span(),
                "expression nested too deeply",
            ));
        }
        let result = match self.peek() {
            Tok::Minus | Tok::Plus => {
                let minus = self.peek() == &Tok::Minus;
                let start = self.bump().span.start;
                let inner = self.unary()?;
                let span = start..inner.span.end;
                if minus {
                    Ok(Expr {
                        kind: ExprKind::Neg(Box::new(inner)),
                        span,
                    })
                } else {
                    Ok(Expr {
                        kind: inner.kind,
                        span,
                    })
                }
            }
            _ => self.power(),
        };
        self.depth -= 1;
        result
    }

    /// `a ** b` binds tighter than unary minus on its left and is right-associative (Python).
    fn power(&mut self) -> Result<Expr, CompileError> {
        let base = self.postfix()?;
        if self.peek() == &Tok::StarStar {
            self.bump();
            let exponent = self.unary()?;
            return Ok(Self::binary(BinOp::Pow, base, exponent));
        }
        Ok(base)
    }

    fn postfix(&mut self) -> Result<Expr, CompileError> {
        let mut e = self.primary()?;
        // Each index or call nests the expression one level deeper (`X[0][0]...`): the compiler walks
        // the nesting recursively, so it is bounded like parentheses are.
        for nesting in 0.. {
            if nesting > MAX_DEPTH {
                return Err(CompileError::new(
                    self.span(),
                    format!("indexing or calls nested more than {MAX_DEPTH} deep"),
                ));
            }
            match self.peek() {
                Tok::LBracket
                    if self.tokens.get(self.pos + 1).map(|t| &t.tok) == Some(&Tok::Colon) =>
                {
                    self.bump();
                    self.bump();
                    self.expect(Tok::Comma, "`,` after `:` (a column is `m[:, j]`)")?;
                    let idx = self.expr()?;
                    let close = self.expect(Tok::RBracket, "`]`")?;
                    let span = e.span.start..close.span.end;
                    e = Expr {
                        kind: ExprKind::Column(Box::new(e), Box::new(idx)),
                        span,
                    };
                }
                Tok::LBracket => {
                    self.bump();
                    let idx = self.expr()?;
                    let close = self.expect(Tok::RBracket, "`]`")?;
                    let span = e.span.start..close.span.end;
                    e = Expr {
                        kind: ExprKind::Index(Box::new(e), Box::new(idx)),
                        span,
                    };
                }
                Tok::LParen => {
                    let ExprKind::Name(name) = &e.kind else {
                        return Err(CompileError::new(
                            self.span(),
                            "only a function name can be called",
                        ));
                    };
                    let name = name.clone();
                    let name_span = e.span.clone();
                    self.bump();
                    let (args, end) = self.arguments()?;
                    e = Expr {
                        kind: ExprKind::Call {
                            name,
                            name_span: name_span.clone(),
                            args,
                        },
                        span: name_span.start..end,
                    };
                }
                _ => return Ok(e),
            }
        }
        Ok(e)
    }

    fn arguments(&mut self) -> Result<(Vec<CallArg>, usize), CompileError> {
        let mut args = Vec::new();
        loop {
            if self.peek() == &Tok::RParen {
                return Ok((args, self.bump().span.end));
            }
            let keyword = match (
                self.peek().clone(),
                self.tokens.get(self.pos + 1).map(|t| &t.tok),
            ) {
                (Tok::Ident(k), Some(Tok::Assign)) => {
                    let span = self.bump().span;
                    self.bump();
                    Some((k, span))
                }
                _ => None,
            };
            let value = self.expr()?;
            args.push(CallArg { keyword, value });
            match self.peek() {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RParen => {}
                _ => return Err(self.unexpected("`,` or `)`")),
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, CompileError> {
        let t = self.bump();
        let kind = match t.tok {
            Tok::Int(v) => ExprKind::Int(v),
            Tok::Float(v) => ExprKind::Float(v),
            Tok::Str(text) => ExprKind::Str(text),
            Tok::LBracket => {
                let mut items = Vec::new();
                loop {
                    if self.peek() == &Tok::RBracket {
                        break;
                    }
                    items.push(self.expr()?);
                    match self.peek() {
                        Tok::Comma => {
                            self.bump();
                        }
                        Tok::RBracket => {}
                        _ => return Err(self.unexpected("`,` or `]`")),
                    }
                }
                let close = self.bump();
                return Ok(Expr {
                    kind: ExprKind::List(items),
                    span: t.span.start..close.span.end,
                });
            }
            Tok::Ident(name) => match name.as_str() {
                "True" => ExprKind::Int(1),
                "False" => ExprKind::Int(0),
                _ => ExprKind::Name(name),
            },
            Tok::LParen => {
                let inner = self.expr()?;
                let close = self.expect(Tok::RParen, "`)`")?;
                return Ok(Expr {
                    kind: inner.kind,
                    span: t.span.start..close.span.end,
                });
            }
            other => {
                return Err(CompileError::new(
                    t.span,
                    format!("expected an expression, found {}", other.describe()),
                ))
            }
        };
        Ok(Expr { kind, span: t.span })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Int(v) => v.to_string(),
            ExprKind::Float(v) => format!("{v:?}"),
            ExprKind::Name(n) => n.clone(),
            ExprKind::Neg(a) => format!("(-{})", show(a)),
            ExprKind::Binary(op, a, b) => format!("({} {} {})", show(a), op.symbol(), show(b)),
            ExprKind::Index(a, i) => format!("{}[{}]", show(a), show(i)),
            ExprKind::Column(a, i) => format!("{}[:, {}]", show(a), show(i)),
            ExprKind::List(items) => {
                let items: Vec<String> = items.iter().map(show).collect();
                format!("[{}]", items.join(", "))
            }
            ExprKind::Str(text) => format!("{text:?}"),
            ExprKind::Call { name, args, .. } => {
                let args: Vec<String> = args
                    .iter()
                    .map(|a| match &a.keyword {
                        Some((k, _)) => format!("{k}={}", show(&a.value)),
                        None => show(&a.value),
                    })
                    .collect();
                format!("{name}({})", args.join(", "))
            }
        }
    }

    #[test]
    fn precedence_follows_python_for_arithmetic() {
        let e = parse_expression("-x ** 2 + a * b - c / d ** -1").unwrap();
        assert_eq!(show(&e), "(((-(x ** 2)) + (a * b)) - (c / (d ** (-1))))");
        let e = parse_expression("2 ** 3 ** 2").unwrap();
        assert_eq!(show(&e), "(2 ** (3 ** 2))");
    }

    #[test]
    fn comparisons_bind_tighter_than_and_or() {
        let e = parse_expression("a < b & c >= 1 | d == 2").unwrap();
        assert_eq!(show(&e), "(((a < b) & (c >= 1)) | (d == 2))");
    }

    #[test]
    fn calls_index_and_keywords() {
        let e = parse_expression("normal(loc=0, scale=s, size=N)[g] * v[idx][0]").unwrap();
        assert_eq!(show(&e), "(normal(loc=0, scale=s, size=N)[g] * v[idx][0])");
    }

    #[test]
    fn lists_columns_and_strings() {
        let e = parse_expression("f([1, [2, 3]], m[:, j + 1], method='svd')").unwrap();
        assert_eq!(show(&e), "f([1, [2, 3]], m[:, (j + 1)], method=\"svd\")");
        assert!(parse_expression("[1, 2").is_err());
        assert!(parse_expression("m[:]")
            .unwrap_err()
            .message
            .contains("a column is `m[:, j]`"));
        assert!(parse_expression("'open")
            .unwrap_err()
            .message
            .contains("not closed"));
    }

    #[test]
    fn numbers() {
        let e = parse_expression("1_000 + .5 + 1. + 2.5e-3 + 3E2 + True").unwrap();
        assert_eq!(show(&e), "(((((1000 + 0.5) + 1.0) + 0.0025) + 300.0) + 1)");
    }

    #[test]
    fn statements_with_continuation_lines_and_comments() {
        let src = "# header\nx = normal(\n  0,  # loc\n  1,\n  5)\n\ny = x * 2 # twice\n";
        let stmts = parse_program(src).unwrap();
        assert_eq!(stmts.len(), 2);
        assert_eq!(stmts[0].name, "x");
        assert_eq!(&src[stmts[1].name_span.clone()], "y");
        assert_eq!(
            &src[stmts[0].value.span.clone()],
            "normal(\n  0,  # loc\n  1,\n  5)"
        );
    }

    #[test]
    fn errors_point_at_the_problem() {
        let err = parse_program("x = 1 +\n").unwrap_err();
        assert_eq!(err.message, "expected an expression, found end of line");
        assert_eq!(err.span, 7..8);
        let err = parse_program("x 1").unwrap_err();
        assert_eq!(err.message, "expected `=` after `x`, found number `1`");
        let err = parse_program("x = a < b < c").unwrap_err();
        assert_eq!(err.message, "chained comparisons are not supported");
        let err = parse_program("x = 2 ^ 3").unwrap_err();
        assert_eq!(
            err.message,
            "unexpected character `^` (use `**` for powers)"
        );
        let err = parse_program("x = (1 + 2").unwrap_err();
        assert_eq!(err.message, "expected `)`, found end of program");
        let err = parse_program("x = 99999999999999999999").unwrap_err();
        assert!(err.message.contains("does not fit"));
        let deep = format!("x = {}1{}", "(".repeat(500), ")".repeat(500));
        assert_eq!(
            parse_program(&deep).unwrap_err().message,
            "expression nested too deeply"
        );
    }

    #[test]
    fn nesting_and_operator_chains_are_bounded_instead_of_overflowing_the_stack() {
        let message = |src: String| parse_program(&src).unwrap_err().message;
        let deep_index = format!("y = X{}\n", "[0]".repeat(20_000));
        assert!(message(deep_index).contains("nested more than 100 deep"));
        let chain = format!("y = X{}\n", " + X".repeat(50_000));
        assert!(message(chain).contains("more than 1000 operators"));
        let parens = format!("y = {}X{}\n", "(".repeat(20_000), ")".repeat(20_000));
        assert!(message(parens).contains("nested too deeply"));
        let negations = format!("y = {}X\n", "-".repeat(20_000));
        assert!(message(negations).contains("nested too deeply"));
        // Right at the limits, a program still parses (and compiles: see the study tests).
        assert!(parse_program(&format!("y = X{}\n", " * X".repeat(1000))).is_ok());
        assert!(parse_expression(&format!("X{}", " + X".repeat(1000))).is_ok());
    }
}
