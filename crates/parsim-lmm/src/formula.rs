//! lme4 model formulas: `y ~ x + f + a:b + a*b + (1 + x | g) + (x || g) + (1 | a/b) + (1 | a:b)`.
//!
//! Parsing produces a [`Formula`]: the response, the fixed part as R's `terms()` would order it
//! (intercept flag, then terms by degree in order of appearance) and the random part expanded as
//! lme4's `findbars` does (`||` split into uncorrelated terms, `a/b` into `a` and `b:a`).

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
    /// Variables whose interaction is the grouping factor, as written (`a:b`, or `b:a` from `a/b`).
    pub grouping: Vec<usize>,
}

/// A model formula in lme4 syntax, parsed.
#[derive(Clone, Debug)]
pub struct Formula {
    text: String,
    response: usize,
    pub(crate) fixed: TermList,
    pub(crate) random: Vec<RandomTerm>,
    names: Vec<String>,
}

impl fmt::Display for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Formula {
    /// Parses a formula in lme4 syntax.
    pub fn parse(text: &str) -> Result<Formula, FormulaError> {
        let tokens = lex(text)?;
        let mut parser = Parser {
            tokens: &tokens,
            pos: 0,
            text_len: text.len(),
            names: Vec::new(),
        };
        let (lhs, rhs) = parser.formula()?;
        let response = match lhs {
            Expr::Var(id, _) => id,
            other => {
                return Err(FormulaError::new(
                    "the response must be one column name",
                    other.span().0,
                    other.span().1,
                ))
            }
        };
        let mut random = Vec::new();
        let set = eval(&rhs, Context::Top(&mut random))?;
        let mut terms = set.terms;
        terms.retain(|t| !t.contains(&response));
        terms.sort_by_key(Vec::len);
        let fixed = TermList {
            intercept: set.intercept.unwrap_or(true),
            terms,
        };
        Ok(Formula {
            text: text.to_string(),
            response,
            fixed,
            random,
            names: parser.names,
        })
    }

    /// Every column name the formula uses: response, fixed, random, grouping (in order of appearance).
    pub fn variables(&self) -> Vec<String> {
        self.names.clone()
    }

    /// The response column.
    pub fn response(&self) -> &str {
        &self.names[self.response]
    }

    /// Whether the formula has random-effects terms (a mixed model) or not (OLS).
    pub fn has_random_terms(&self) -> bool {
        !self.random.is_empty()
    }

    /// The formula text as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The name of variable `id`.
    #[cfg(test)]
    pub(crate) fn name(&self, id: usize) -> &str {
        &self.names[id]
    }

    /// The label of grouping factor `grouping` (`g`, `a:b`).
    pub(crate) fn grouping_label(&self, grouping: &[usize]) -> String {
        grouping
            .iter()
            .map(|&v| self.names[v].as_str())
            .collect::<Vec<_>>()
            .join(":")
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
    Bar,
    DoubleBar,
    Open,
    Close,
}

fn lex(text: &str) -> Result<Vec<(Token, usize, usize)>, FormulaError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let single = match c {
            b'~' => Some(Token::Tilde),
            b'+' => Some(Token::Plus),
            b'-' => Some(Token::Minus),
            b'*' => Some(Token::Star),
            b':' => Some(Token::Colon),
            b'/' => Some(Token::Slash),
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
            let value = text[start..i]
                .parse::<f64>()
                .map_err(|_| FormulaError::new("malformed number", start, i - start))?;
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

#[derive(Clone, Debug)]
enum Expr {
    Var(usize, (usize, usize)),
    Number(f64, (usize, usize)),
    Binary(Op, Box<Expr>, Box<Expr>, (usize, usize)),
    Negate(Box<Expr>, (usize, usize)),
    Bar {
        lhs: Box<Expr>,
        grouping: Box<Expr>,
        uncorrelated: bool,
        span: (usize, usize),
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Plus,
    Minus,
    Cross,
    Interact,
    Nest,
}

impl Expr {
    fn span(&self) -> (usize, usize) {
        match self {
            Expr::Var(_, s) | Expr::Number(_, s) | Expr::Binary(.., s) | Expr::Negate(_, s) => *s,
            Expr::Bar { span, .. } => *span,
        }
    }
}

fn join(a: (usize, usize), b: (usize, usize)) -> (usize, usize) {
    let end = (b.0 + b.1).max(a.0 + a.1);
    (a.0, end - a.0)
}

struct Parser<'a> {
    tokens: &'a [(Token, usize, usize)],
    pos: usize,
    text_len: usize,
    names: Vec<String>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|t| &t.0)
    }

    fn here(&self) -> (usize, usize) {
        self.tokens
            .get(self.pos)
            .map_or((self.text_len, 1), |t| (t.1, t.2))
    }

    fn error_here(&self, message: &str) -> FormulaError {
        let (offset, len) = self.here();
        let found = match self.peek() {
            None => "the end of the formula".to_string(),
            Some(_) => {
                let t = &self.tokens[self.pos];
                format!("'{}'", token_text(&t.0))
            }
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
            return Err(self.error_here("expected '+', '-', '*', ':' or the end of the formula"));
        }
        Ok((lhs, rhs))
    }

    fn sum(&mut self) -> Result<Expr, FormulaError> {
        let mut expr = if self.peek() == Some(&Token::Minus) {
            let start = self.here();
            self.pos += 1;
            let operand = self.product()?;
            let span = join(start, operand.span());
            Expr::Negate(Box::new(operand), span)
        } else {
            self.product()?
        };
        while let Some(op) = match self.peek() {
            Some(Token::Plus) => Some(Op::Plus),
            Some(Token::Minus) => Some(Op::Minus),
            _ => None,
        } {
            self.pos += 1;
            let rhs = self.product()?;
            let span = join(expr.span(), rhs.span());
            expr = Expr::Binary(op, Box::new(expr), Box::new(rhs), span);
        }
        Ok(expr)
    }

    fn product(&mut self) -> Result<Expr, FormulaError> {
        let mut expr = self.interaction()?;
        while let Some(op) = match self.peek() {
            Some(Token::Star) => Some(Op::Cross),
            Some(Token::Slash) => Some(Op::Nest),
            _ => None,
        } {
            self.pos += 1;
            let rhs = self.interaction()?;
            let span = join(expr.span(), rhs.span());
            expr = Expr::Binary(op, Box::new(expr), Box::new(rhs), span);
        }
        Ok(expr)
    }

    fn interaction(&mut self) -> Result<Expr, FormulaError> {
        let mut expr = self.atom()?;
        while self.peek() == Some(&Token::Colon) {
            self.pos += 1;
            let rhs = self.atom()?;
            let span = join(expr.span(), rhs.span());
            expr = Expr::Binary(Op::Interact, Box::new(expr), Box::new(rhs), span);
        }
        Ok(expr)
    }

    fn atom(&mut self) -> Result<Expr, FormulaError> {
        let (offset, len) = self.here();
        match self.peek().cloned() {
            Some(Token::Name(name)) => {
                self.pos += 1;
                if self.peek() == Some(&Token::Open) {
                    return Err(FormulaError::new(
                        format!("functions such as {name}(...) are not supported: compute the column in the data"),
                        offset,
                        len,
                    ));
                }
                let id = match self.names.iter().position(|n| *n == name) {
                    Some(id) => id,
                    None => {
                        self.names.push(name);
                        self.names.len() - 1
                    }
                };
                Ok(Expr::Var(id, (offset, len)))
            }
            Some(Token::Number(value)) => {
                self.pos += 1;
                Ok(Expr::Number(value, (offset, len)))
            }
            Some(Token::Open) => {
                self.pos += 1;
                let inner = self.sum()?;
                let expr = match self.peek() {
                    Some(Token::Bar) | Some(Token::DoubleBar) => {
                        let uncorrelated = self.peek() == Some(&Token::DoubleBar);
                        self.pos += 1;
                        let grouping = self.sum()?;
                        Expr::Bar {
                            lhs: Box::new(inner),
                            grouping: Box::new(grouping),
                            uncorrelated,
                            span: (offset, 0),
                        }
                    }
                    _ => inner,
                };
                if self.peek() != Some(&Token::Close) {
                    return Err(self.error_here("expected ')'"));
                }
                let close = self.here();
                self.pos += 1;
                Ok(match expr {
                    Expr::Bar {
                        lhs,
                        grouping,
                        uncorrelated,
                        ..
                    } => Expr::Bar {
                        lhs,
                        grouping,
                        uncorrelated,
                        span: join((offset, len), close),
                    },
                    other => other,
                })
            }
            _ => Err(self.error_here("expected a column name, 0, 1 or '('")),
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
}

enum Context<'a> {
    /// Top level of the right-hand side: random terms are collected here.
    Top(&'a mut Vec<RandomTerm>),
    Inner,
}

fn interact(a: &TermSet, b: &TermSet) -> TermSet {
    let mut out = TermSet::default();
    for ta in &a.terms {
        for tb in &b.terms {
            let mut t: Vec<usize> = ta.iter().chain(tb).copied().collect();
            t.sort_unstable();
            t.dedup();
            out.add(t);
        }
    }
    out
}

fn eval(expr: &Expr, context: Context<'_>) -> Result<TermSet, FormulaError> {
    match expr {
        Expr::Var(id, _) => Ok(TermSet {
            intercept: None,
            terms: vec![vec![*id]],
        }),
        Expr::Number(value, (offset, len)) => {
            if *value == 1.0 || *value == 0.0 {
                Ok(TermSet {
                    intercept: Some(*value == 1.0),
                    terms: vec![],
                })
            } else {
                Err(FormulaError::new(
                    "only 0 or 1 may appear as a number (intercept)",
                    *offset,
                    *len,
                ))
            }
        }
        Expr::Negate(inner, _) => {
            let removed = eval(inner, Context::Inner)?;
            Ok(TermSet {
                intercept: removed.intercept.map(|i| !i),
                terms: vec![],
            })
        }
        Expr::Binary(op, a, b, _) => match op {
            Op::Plus | Op::Minus => {
                let (left, right) = match context {
                    Context::Top(random) => {
                        let left = eval(a, Context::Top(random))?;
                        let right = if *op == Op::Plus {
                            eval(b, Context::Top(random))?
                        } else {
                            eval(b, Context::Inner)?
                        };
                        (left, right)
                    }
                    Context::Inner => (eval(a, Context::Inner)?, eval(b, Context::Inner)?),
                };
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
            Op::Interact => Ok(interact(
                &eval(a, Context::Inner)?,
                &eval(b, Context::Inner)?,
            )),
            Op::Cross => {
                let (left, right) = (eval(a, Context::Inner)?, eval(b, Context::Inner)?);
                let mut out = TermSet {
                    intercept: right.intercept.or(left.intercept),
                    terms: vec![],
                };
                let product = interact(&left, &right);
                for t in left
                    .terms
                    .into_iter()
                    .chain(right.terms)
                    .chain(product.terms)
                {
                    out.add(t);
                }
                Ok(out)
            }
            Op::Nest => {
                let (left, right) = (eval(a, Context::Inner)?, eval(b, Context::Inner)?);
                let all = TermSet {
                    intercept: None,
                    terms: vec![left.variables()],
                };
                let product = interact(&all, &right);
                let mut out = TermSet {
                    intercept: left.intercept,
                    terms: vec![],
                };
                for t in left.terms.into_iter().chain(product.terms) {
                    out.add(t);
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
            let Context::Top(random) = context else {
                return Err(FormulaError::new(
                    "a random-effects term (... | g) must be added at the top level of the formula",
                    span.0,
                    span.1,
                ));
            };
            let effects = eval(lhs, Context::Inner)?;
            let effects = TermList {
                intercept: effects.intercept.unwrap_or(true),
                terms: sorted_by_degree(effects.terms),
            };
            if !effects.intercept && effects.terms.is_empty() {
                return Err(FormulaError::new(
                    "this random-effects term has no effects (nothing left of '|')",
                    span.0,
                    span.1,
                ));
            }
            let groupings = grouping_factors(grouping)?;
            for g in groupings {
                if *uncorrelated {
                    if effects.intercept {
                        random.push(RandomTerm {
                            effects: TermList {
                                intercept: true,
                                terms: vec![],
                            },
                            grouping: g.clone(),
                        });
                    }
                    for t in &effects.terms {
                        let single = TermList {
                            intercept: false,
                            terms: vec![t.clone()],
                        };
                        random.push(RandomTerm {
                            effects: single,
                            grouping: g.clone(),
                        });
                    }
                } else {
                    random.push(RandomTerm {
                        effects: effects.clone(),
                        grouping: g,
                    });
                }
            }
            Ok(TermSet::default())
        }
    }
}

fn sorted_by_degree(mut terms: Vec<Vec<usize>>) -> Vec<Vec<usize>> {
    terms.sort_by_key(Vec::len);
    terms
}

/// The grouping factors of `g`, `a:b` or `a/b` (which lme4 expands to `a` and `b:a`), each as the
/// variables of an interaction, in written order.
fn grouping_factors(expr: &Expr) -> Result<Vec<Vec<usize>>, FormulaError> {
    match expr {
        Expr::Var(id, _) => Ok(vec![vec![*id]]),
        Expr::Binary(Op::Interact, a, b, _) => {
            let (left, right) = (grouping_factors(a)?, grouping_factors(b)?);
            match (left.as_slice(), right.as_slice()) {
                ([l], [r]) => Ok(vec![l.iter().chain(r).copied().collect()]),
                _ => Err(FormulaError::new(
                    "a grouping factor interaction must join column names: a:b",
                    expr.span().0,
                    expr.span().1,
                )),
            }
        }
        Expr::Binary(Op::Nest, a, b, _) => {
            let mut outer = grouping_factors(a)?;
            let inner = grouping_factors(b)?;
            let [inner] = inner.as_slice() else {
                return Err(FormulaError::new(
                    "the nested factor must be a column name: a/b",
                    b.span().0,
                    b.span().1,
                ));
            };
            let last = outer.last().cloned().unwrap_or_default();
            outer.push(inner.iter().chain(&last).copied().collect());
            Ok(outer)
        }
        other => {
            let (offset, len) = other.span();
            Err(FormulaError::new(
                "a grouping factor must be a column name, a:b or a/b",
                offset,
                len,
            ))
        }
    }
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
        let groups: Vec<String> = f
            .random
            .iter()
            .map(|r| f.grouping_label(&r.grouping))
            .collect();
        assert_eq!(groups, ["batch", "cask:batch"]);
        let f = Formula::parse("Reaction ~ Days + (Days || Subject)").unwrap();
        assert_eq!(f.random.len(), 2);
        assert!(f.random[0].effects.intercept && f.random[0].effects.terms.is_empty());
        assert!(!f.random[1].effects.intercept && f.random[1].effects.terms.len() == 1);
        let f = Formula::parse("y ~ x + (0 + x | g) + (1 | a:b)").unwrap();
        assert!(!f.random[0].effects.intercept);
        assert_eq!(f.grouping_label(&f.random[1].grouping), "a:b");
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
        assert_eq!(Formula::parse("y ~ log(x)").unwrap_err().offset, 4);
        assert_eq!(Formula::parse("y ~ x + (1 | g").unwrap_err().offset, 14);
        assert_eq!(Formula::parse("y ~ x:(1 | g)").unwrap_err().offset, 6);
        assert!(Formula::parse("~ x").is_err());
        assert!(Formula::parse("y ~ 2").is_err());
        assert!(Formula::parse("y ~ x + (0 | g)").is_err());
    }
}
