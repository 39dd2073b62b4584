//! Element-wise kernels, shared by the column-at-a-time evaluator and the fused chunk loop
//! ([`super::fuse`]): each writes `out[k] = f(a[k], b[k])` into a slice whose length the caller fixed,
//! a one-element operand broadcast as in numpy. The float operations are numpy's, in numpy's order, so
//! either caller gives the same bits.

use super::compile::UnaryF;
use super::syntax::BinOp;

/// Why a kernel failed (the caller adds the instruction's line).
pub(crate) type Fail = String;

/// An operand: a vector of the output's length, or one value broadcast to every element.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Src<'a, T> {
    Vec(&'a [T]),
    One(T),
}

impl<'a, T: Copy> Src<'a, T> {
    /// A buffer as an operand: a one-element buffer broadcasts.
    pub fn of(v: &'a [T]) -> Self {
        match v {
            [x] => Src::One(*x),
            _ => Src::Vec(v),
        }
    }

    #[inline(always)]
    fn any(self, pred: impl Fn(T) -> bool) -> bool {
        match self {
            Src::Vec(v) => v.iter().any(|&x| pred(x)),
            Src::One(x) => pred(x),
        }
    }

    #[inline(always)]
    fn at(self, k: usize) -> T {
        match self {
            Src::Vec(v) => v[k],
            Src::One(x) => x,
        }
    }
}

/// A buffer at length `n`, keeping its capacity (its values are then overwritten).
pub(crate) fn resize<T: Copy + Default>(v: &mut Vec<T>, n: usize) {
    if v.len() != n {
        v.clear();
        v.resize(n, T::default());
    }
}

/// `out[k] = f(a[k])`.
#[inline(always)]
fn map1<A: Copy, O>(a: Src<A>, out: &mut [O], f: impl Fn(A) -> O) {
    match a {
        Src::Vec(a) => {
            for (o, &x) in out.iter_mut().zip(a) {
                *o = f(x);
            }
        }
        Src::One(x) => {
            for o in out {
                *o = f(x);
            }
        }
    }
}

/// `out[k] = f(a[k], b[k])`; the loops over slices vectorise.
#[inline(always)]
fn map2<A: Copy, B: Copy, O>(a: Src<A>, b: Src<B>, out: &mut [O], f: impl Fn(A, B) -> O) {
    match (a, b) {
        (Src::Vec(a), Src::Vec(b)) => {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = f(x, y);
            }
        }
        (Src::One(x), Src::Vec(b)) => {
            for (o, &y) in out.iter_mut().zip(b) {
                *o = f(x, y);
            }
        }
        (Src::Vec(a), Src::One(y)) => {
            for (o, &x) in out.iter_mut().zip(a) {
                *o = f(x, y);
            }
        }
        (Src::One(x), Src::One(y)) => {
            for o in out {
                *o = f(x, y);
            }
        }
    }
}

/// Float arithmetic (numpy's `+ - * / // % **`, `minimum`, `maximum`).
#[inline(always)]
pub(crate) fn bin_f(op: BinOp, a: Src<f64>, b: Src<f64>, out: &mut [f64]) -> Result<(), Fail> {
    match op {
        BinOp::Add => map2(a, b, out, |x, y| x + y),
        BinOp::Sub => map2(a, b, out, |x, y| x - y),
        BinOp::Mul => map2(a, b, out, |x, y| x * y),
        BinOp::Div => map2(a, b, out, |x, y| x / y),
        BinOp::FloorDiv => map2(a, b, out, |x, y| divmod(x, y).0),
        BinOp::Mod => map2(a, b, out, |x, y| divmod(x, y).1),
        BinOp::Pow => map2(a, b, out, f64::powf),
        BinOp::Min => map2(a, b, out, |x, y| if x.is_nan() || x <= y { x } else { y }),
        BinOp::Max => map2(a, b, out, |x, y| if x.is_nan() || x >= y { x } else { y }),
        _ => return Err(format!("`{}` is not an arithmetic operator", op.symbol())),
    }
    Ok(())
}

/// Whether [`bin_f2`] merges this operation with another.
pub(crate) fn pairs(op: BinOp) -> bool {
    matches!(op, BinOp::Add | BinOp::Sub | BinOp::Mul)
}

/// `out = then(first(a, b), c)`, or `then(c, first(a, b))` when `!first_left`: two operations of
/// [`pairs`] in one loop, the intermediate rounded to a float as when stored, never stored.
#[inline(always)]
pub(crate) fn bin_f2(
    first: BinOp,
    a: Src<f64>,
    b: Src<f64>,
    then: BinOp,
    c: Src<f64>,
    first_left: bool,
    out: &mut [f64],
) -> Result<(), Fail> {
    macro_rules! arith {
        ($op:expr, |$f:ident| $body:expr) => {
            match $op {
                BinOp::Add => {
                    let $f = |x: f64, y: f64| x + y;
                    $body
                }
                BinOp::Sub => {
                    let $f = |x: f64, y: f64| x - y;
                    $body
                }
                BinOp::Mul => {
                    let $f = |x: f64, y: f64| x * y;
                    $body
                }
                _ => return Err(format!("`{}` is not merged", $op.symbol())),
            }
        };
    }
    arith!(first, |f| arith!(then, |g| if first_left {
        map3(a, b, c, out, |x, y, z| g(f(x, y), z))
    } else {
        map3(a, b, c, out, |x, y, z| g(z, f(x, y)))
    }));
    Ok(())
}

/// `out[k] = f(a[k], b[k], c[k])`; the shapes of a vector operation's operands get their own loops.
#[inline(always)]
fn map3(a: Src<f64>, b: Src<f64>, c: Src<f64>, out: &mut [f64], f: impl Fn(f64, f64, f64) -> f64) {
    use Src::{One, Vec as V};
    match (a, b, c) {
        (V(a), V(b), V(c)) => {
            for (((o, &x), &y), &z) in out.iter_mut().zip(a).zip(b).zip(c) {
                *o = f(x, y, z);
            }
        }
        (V(a), One(y), V(c)) => {
            for ((o, &x), &z) in out.iter_mut().zip(a).zip(c) {
                *o = f(x, y, z);
            }
        }
        (One(x), V(b), V(c)) => {
            for ((o, &y), &z) in out.iter_mut().zip(b).zip(c) {
                *o = f(x, y, z);
            }
        }
        (V(a), V(b), One(z)) => {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = f(x, y, z);
            }
        }
        (V(a), One(y), One(z)) => {
            for (o, &x) in out.iter_mut().zip(a) {
                *o = f(x, y, z);
            }
        }
        (One(x), V(b), One(z)) => {
            for (o, &y) in out.iter_mut().zip(b) {
                *o = f(x, y, z);
            }
        }
        // Not the shapes of a vector operation: the first operation has a vector operand.
        (a, b, c) => {
            for (k, o) in out.iter_mut().enumerate() {
                *o = f(a.at(k), b.at(k), c.at(k));
            }
        }
    }
}

/// numpy's `npy_divmod`: floor division and the remainder with the divisor's sign.
#[inline(always)]
fn divmod(a: f64, b: f64) -> (f64, f64) {
    let mut m = a % b;
    if b == 0.0 {
        return (a / b, m);
    }
    let mut div = (a - m) / b;
    if m != 0.0 {
        if (b < 0.0) != (m < 0.0) {
            m += b;
            div -= 1.0;
        }
    } else {
        m = 0.0f64.copysign(b);
    }
    let floordiv = if div != 0.0 {
        let mut fd = div.floor();
        if div - fd > 0.5 {
            fd += 1.0;
        }
        fd
    } else {
        0.0f64.copysign(a / b)
    };
    (floordiv, m)
}

/// The errors integer arithmetic can raise, checked on the divisor or exponent before computing.
#[inline(always)]
pub(crate) fn check_bin_i(op: BinOp, b: Src<i64>) -> Result<(), Fail> {
    match op {
        BinOp::FloorDiv | BinOp::Mod if b.any(|y| y == 0) => Err(format!(
            "integer {} by zero",
            if op == BinOp::Mod {
                "modulo"
            } else {
                "division"
            }
        )),
        BinOp::Pow if b.any(|e| e < 0) => {
            Err("integers to negative integer powers are not allowed (write 2.0 ** -1)".into())
        }
        _ => Ok(()),
    }
}

/// Integer arithmetic (wrapping as numpy's int64) and the logical `& |`; call [`check_bin_i`] first.
#[inline(always)]
pub(crate) fn bin_i(op: BinOp, a: Src<i64>, b: Src<i64>, out: &mut [i64]) -> Result<(), Fail> {
    match op {
        BinOp::Add => map2(a, b, out, i64::wrapping_add),
        BinOp::Sub => map2(a, b, out, i64::wrapping_sub),
        BinOp::Mul => map2(a, b, out, i64::wrapping_mul),
        // Python's floor modulo and division (the divisor's sign); zero divisors were rejected.
        BinOp::Mod => map2(a, b, out, |x, y| {
            let r = x.wrapping_rem(y);
            if r != 0 && ((r < 0) != (y < 0)) {
                r + y
            } else {
                r
            }
        }),
        BinOp::FloorDiv => map2(a, b, out, |x, y| {
            let q = x.wrapping_div(y);
            if x.wrapping_rem(y) != 0 && ((x < 0) != (y < 0)) {
                q - 1
            } else {
                q
            }
        }),
        BinOp::Pow => map2(a, b, out, |x, e| pow_wrapping(x, e as u64)),
        BinOp::Min => map2(a, b, out, std::cmp::min),
        BinOp::Max => map2(a, b, out, std::cmp::max),
        BinOp::And => map2(a, b, out, |x, y| i64::from(x != 0 && y != 0)),
        BinOp::Or => map2(a, b, out, |x, y| i64::from(x != 0 || y != 0)),
        _ => return Err(format!("`{}` is not an integer operator", op.symbol())),
    }
    Ok(())
}

#[inline(always)]
fn pow_wrapping(mut base: i64, mut e: u64) -> i64 {
    let mut acc: i64 = 1;
    while e > 0 {
        if e & 1 == 1 {
            acc = acc.wrapping_mul(base);
        }
        base = base.wrapping_mul(base);
        e >>= 1;
    }
    acc
}

/// Comparisons, giving 0/1.
#[inline(always)]
pub(crate) fn cmp<T: Copy + PartialOrd>(
    op: BinOp,
    a: Src<T>,
    b: Src<T>,
    out: &mut [i64],
) -> Result<(), Fail> {
    match op {
        BinOp::Eq => map2(a, b, out, |x, y| i64::from(x == y)),
        BinOp::Ne => map2(a, b, out, |x, y| i64::from(x != y)),
        BinOp::Lt => map2(a, b, out, |x, y| i64::from(x < y)),
        BinOp::Le => map2(a, b, out, |x, y| i64::from(x <= y)),
        BinOp::Gt => map2(a, b, out, |x, y| i64::from(x > y)),
        BinOp::Ge => map2(a, b, out, |x, y| i64::from(x >= y)),
        _ => return Err(format!("`{}` is not a comparison", op.symbol())),
    }
    Ok(())
}

/// Element-wise functions of one float.
#[inline(always)]
pub(crate) fn unary_f(f: UnaryF, a: Src<f64>, out: &mut [f64]) {
    match f {
        UnaryF::Neg => map1(a, out, |x| -x),
        UnaryF::Exp => map1(a, out, f64::exp),
        UnaryF::Log => map1(a, out, f64::ln),
        UnaryF::Log1p => map1(a, out, f64::ln_1p),
        UnaryF::Sqrt => map1(a, out, f64::sqrt),
        UnaryF::Abs => map1(a, out, f64::abs),
        // scipy.special.expit and logit.
        UnaryF::Expit => map1(a, out, |x| 1.0 / (1.0 + (-x).exp())),
        UnaryF::Logit => map1(a, out, |x| (x / (1.0 - x)).ln()),
        UnaryF::Floor => map1(a, out, f64::floor),
    }
}

/// Integer negation and absolute value (wrapping, as numpy's int64).
#[inline(always)]
pub(crate) fn unary_i(abs: bool, a: Src<i64>, out: &mut [i64]) {
    if abs {
        map1(a, out, i64::wrapping_abs);
    } else {
        map1(a, out, i64::wrapping_neg);
    }
}

/// Integers to floats.
#[inline(always)]
pub(crate) fn to_float(a: Src<i64>, out: &mut [f64]) {
    map1(a, out, |x| x as f64);
}

/// numpy's `round(x, decimals)`: scale, round half to even, unscale.
#[inline(always)]
pub(crate) fn round(a: Src<f64>, decimals: i64, out: &mut [f64]) {
    let d = decimals.clamp(-400, 400) as i32;
    if d == 0 {
        map1(a, out, f64::round_ties_even);
    } else if d > 0 {
        let f = 10f64.powi(d);
        map1(a, out, |x| (x * f).round_ties_even() / f);
    } else {
        let f = 10f64.powi(-d);
        map1(a, out, |x| (x / f).round_ties_even() * f);
    }
}

/// numpy's `where(cond, x, y)`.
#[inline(always)]
pub(crate) fn select<T: Copy>(c: Src<i64>, x: Src<T>, y: Src<T>, out: &mut [T]) {
    for (k, o) in out.iter_mut().enumerate() {
        *o = if c.at(k) != 0 { x.at(k) } else { y.at(k) };
    }
}

/// Sources up to this length are gathered from a copy in a fixed-size table, indexed without bounds checks.
const SMALL_SOURCE: usize = 64;

/// Whether every index is in `0..n`, by a branch-free scan of sign bits that vectorises: `j` is in range
/// when `j >= 0` and `j - n < 0`.
#[inline(always)]
pub(crate) fn indices_in_range(idx: &[i64], n: usize) -> bool {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    let (below_n, any_negative) = idx.iter().fold((-1i64, 0i64), |(below, negative), &j| {
        (below & j.wrapping_sub(n), negative | j)
    });
    below_n < 0 && any_negative >= 0
}

/// `out[k] = s[idx[k]]` for indices already known to be in `0..s.len()` ([`indices_in_range`]).
#[inline(always)]
pub(crate) fn gather_in_range<T: Copy + Default>(s: &[T], idx: &[i64], out: &mut [T]) {
    if s.len() <= SMALL_SOURCE {
        // A group-level vector (a few group effects): the masked index needs no bounds check.
        let mut table = [T::default(); SMALL_SOURCE];
        table[..s.len()].copy_from_slice(s);
        for (o, &j) in out.iter_mut().zip(idx) {
            *o = table[j as usize % SMALL_SOURCE];
        }
    } else {
        for (o, &j) in out.iter_mut().zip(idx) {
            *o = s[j as usize];
        }
    }
}

/// `out[k] = s[idx[k]]` with numpy's negative indices (counting from the end); anything else outside the vector
/// is an error naming the index and its position.
pub(crate) fn gather_checked<T: Copy + Default>(
    s: &[T],
    idx: &[i64],
    out: &mut [T],
) -> Result<(), Fail> {
    if indices_in_range(idx, s.len()) {
        gather_in_range(s, idx, out);
        return Ok(());
    }
    let n = s.len() as i64;
    for (k, (o, &j)) in out.iter_mut().zip(idx).enumerate() {
        let w = if j < 0 { j.wrapping_add(n) } else { j };
        if w < 0 || w >= n {
            return Err(format!(
                "index {j} (element {k} of the index) is out of range for a vector of length {n}"
            ));
        }
        *o = s[w as usize];
    }
    Ok(())
}

/// True when a value is NaN or infinite: or-ed over a slice without branches (it vectorises). The
/// exponent field is all ones exactly when adding one to it carries into the (cleared) sign bit.
#[inline(always)]
pub(crate) fn any_non_finite(v: &[f64]) -> bool {
    const EXPONENT: u64 = 0x7ff0_0000_0000_0000;
    const EXPONENT_ONE: u64 = 0x0010_0000_0000_0000;
    let acc = v.iter().fold(0u64, |acc, x| {
        acc | ((x.to_bits() & EXPONENT) + EXPONENT_ONE)
    });
    acc >> 63 != 0
}
