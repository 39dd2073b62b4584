//! numpy's `Generator` (`numpy/random/_generator.pyx`): parameter validation as numpy's `cont`/`disc`
//! helpers do it (`_common.pyx`), then the samplers of [`crate::distributions`] in numpy's element order.

// `!(a <= b)` and friends are deliberate: they keep numpy's behaviour for NaN operands.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use crate::distributions::{self as dist, BinomialCache};
use crate::pcg64::{Lcg, Raw};
use crate::{Error, Pcg64};

/// A distribution parameter: one value for every draw, or one value per draw (numpy broadcasting in 1-D:
/// a slice must have exactly the output's length; a length-1 slice broadcasts like a scalar).
///
/// As in numpy, a parameter given as a slice (even of length 1) makes the whole call take numpy's array
/// path, whose validation messages differ slightly (`"p < 0, p > 1 or p contains NaNs"` rather than
/// `"... p is NaN"`).
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a, T> {
    /// One value for every draw (a numpy scalar).
    Scalar(T),
    /// One value per draw (a 1-D numpy array).
    Slice(&'a [T]),
}

impl<T> From<T> for Arg<'_, T> {
    fn from(value: T) -> Self {
        Arg::Scalar(value)
    }
}

impl<'a, T> From<&'a [T]> for Arg<'a, T> {
    fn from(values: &'a [T]) -> Self {
        Arg::Slice(values)
    }
}

impl<'a, T> From<&'a Vec<T>> for Arg<'a, T> {
    fn from(values: &'a Vec<T>) -> Self {
        Arg::Slice(values)
    }
}

impl<T: Copy> Arg<'_, T> {
    fn is_scalar(&self) -> bool {
        matches!(self, Arg::Scalar(_))
    }

    /// All the values (one for a scalar), for validation.
    fn values(&self) -> &[T] {
        match self {
            Arg::Scalar(v) => std::slice::from_ref(v),
            Arg::Slice(s) => s,
        }
    }

    /// The value for draw `i` (lengths were checked before drawing).
    #[inline(always)]
    fn get(&self, i: usize) -> T {
        match *self {
            Arg::Scalar(v) => v,
            Arg::Slice(s) if s.len() == 1 => s[0],
            Arg::Slice(s) => s[i],
        }
    }

    /// numpy's broadcast check against the output length `size`.
    fn check_len(&self, arg: &'static str, size: usize) -> Result<(), Error> {
        match self {
            Arg::Slice(s) if s.len() != size && s.len() != 1 => Err(Error::Shape {
                arg,
                len: s.len(),
                size,
            }),
            _ => Ok(()),
        }
    }
}

/// numpy's `constraint_type`s used by these distributions.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Constraint {
    None,
    NonNegative,
    Positive,
    Bounded01,
    Poisson,
}

/// numpy's `POISSON_LAM_MAX`: int64's maximum less ten standard deviations, so draws fit in an int64.
pub fn poisson_lam_max() -> f64 {
    let max = i64::MAX as f64;
    max - max.sqrt() * 10.0
}

/// numpy's `check_constraint` (the all-scalar path).
fn check_scalar(val: f64, name: &'static str, cons: Constraint) -> Result<(), Error> {
    let fail = |message: String| Err(Error::invalid(name, message));
    match cons {
        Constraint::None => Ok(()),
        // signbit: -0.0 is rejected too, NaN passes (numpy draws NaN from it).
        Constraint::NonNegative if !val.is_nan() && val.is_sign_negative() => {
            fail(format!("{name} < 0"))
        }
        Constraint::Positive if val <= 0.0 => fail(format!("{name} <= 0")),
        Constraint::Bounded01 if !(val >= 0.0) || !(val <= 1.0) => {
            fail(format!("{name} < 0, {name} > 1 or {name} is NaN"))
        }
        Constraint::Poisson if !(val >= 0.0) => fail(format!("{name} < 0 or {name} is NaN")),
        Constraint::Poisson if !(val <= poisson_lam_max()) => {
            fail(format!("{name} value too large"))
        }
        _ => Ok(()),
    }
}

/// numpy's `check_array_constraint` (any parameter given as an array).
fn check_array(vals: &[f64], name: &'static str, cons: Constraint) -> Result<(), Error> {
    let fail = |message: String| Err(Error::invalid(name, message));
    match cons {
        Constraint::None => Ok(()),
        Constraint::NonNegative if vals.iter().any(|v| !v.is_nan() && v.is_sign_negative()) => {
            fail(format!("{name} < 0"))
        }
        Constraint::Positive if vals.iter().any(|&v| v <= 0.0) => fail(format!("{name} <= 0")),
        Constraint::Bounded01 if !vals.iter().all(|v| (0.0..=1.0).contains(v)) => {
            fail(format!("{name} < 0, {name} > 1 or {name} contains NaNs"))
        }
        // numpy tests the upper bound first here, so NaN reports "value too large".
        Constraint::Poisson if !vals.iter().all(|&v| v <= poisson_lam_max()) => {
            fail(format!("{name} value too large"))
        }
        Constraint::Poisson if !vals.iter().all(|&v| v >= 0.0) => {
            fail(format!("{name} < 0 or {name} contains NaNs"))
        }
        _ => Ok(()),
    }
}

/// A named, constrained parameter of one call.
struct Param<'a> {
    arg: Arg<'a, f64>,
    name: &'static str,
    cons: Constraint,
}

fn param<'a>(arg: Arg<'a, f64>, name: &'static str, cons: Constraint) -> Param<'a> {
    Param { arg, name, cons }
}

/// numpy's `cont`/`disc` validation: every constraint (scalar or array path), then every shape, all
/// before the first draw.
fn validate(params: &[Param<'_>], size: usize) -> Result<(), Error> {
    let all_scalar = params.iter().all(|p| p.arg.is_scalar());
    for p in params {
        if all_scalar {
            check_scalar(p.arg.values()[0], p.name, p.cons)?;
        } else {
            check_array(p.arg.values(), p.name, p.cons)?;
        }
    }
    params
        .iter()
        .try_for_each(|p| p.arg.check_len(p.name, size))
}

/// `normal`'s parameters: any `loc`, a non-negative `scale`, each a scalar or of length `size`.
fn check_normal(size: usize, loc: Arg<'_, f64>, scale: Arg<'_, f64>) -> Result<(), Error> {
    validate(
        &[
            param(loc, "loc", Constraint::None),
            param(scale, "scale", Constraint::NonNegative),
        ],
        size,
    )
}

/// Runs `f` on a copy of the generator's LCG state held in registers, then stores the state back.
#[inline(always)]
fn with_lcg<T>(rng: &mut Pcg64, f: impl FnOnce(&mut Lcg) -> T) -> T {
    let mut lcg = rng.lcg();
    let v = f(&mut lcg);
    rng.set_lcg(lcg);
    v
}

/// Fills `out` with `f(rng)`.
#[inline(always)]
fn fill0<T>(rng: &mut Pcg64, out: &mut [T], mut f: impl FnMut(&mut Lcg) -> T) {
    with_lcg(rng, |lcg| out.iter_mut().for_each(|o| *o = f(lcg)));
}

/// Fills `out` with `f(rng, a_i)`, hoisting the scalar case.
#[inline(always)]
fn fill1<T>(
    rng: &mut Pcg64,
    out: &mut [T],
    a: Arg<'_, f64>,
    mut f: impl FnMut(&mut Lcg, f64) -> T,
) {
    with_lcg(rng, |lcg| match a {
        Arg::Scalar(a) => out.iter_mut().for_each(|o| *o = f(lcg, a)),
        _ => out
            .iter_mut()
            .enumerate()
            .for_each(|(i, o)| *o = f(lcg, a.get(i))),
    });
}

/// Fills `out` with `f(rng, a_i, b_i)`, hoisting the all-scalar case.
#[inline(always)]
fn fill2(
    rng: &mut Pcg64,
    out: &mut [f64],
    a: Arg<'_, f64>,
    b: Arg<'_, f64>,
    f: impl Fn(&mut Lcg, f64, f64) -> f64,
) {
    with_lcg(rng, |lcg| match (a, b) {
        (Arg::Scalar(a), Arg::Scalar(b)) => out.iter_mut().for_each(|o| *o = f(lcg, a, b)),
        _ => out
            .iter_mut()
            .enumerate()
            .for_each(|(i, o)| *o = f(lcg, a.get(i), b.get(i))),
    });
}

/// The closed interval [off, off + range] for numpy's `integers(low, high, endpoint=...)`.
fn int_bounds(low: i64, high: i64, endpoint: bool) -> Result<(u64, u64), Error> {
    let high_incl = i128::from(high) - i128::from(!endpoint);
    if i128::from(low) > high_incl {
        let message = if endpoint {
            "low > high"
        } else {
            "low >= high"
        };
        return Err(Error::invalid("high", message));
    }
    Ok((low as u64, (high_incl - i128::from(low)) as u64))
}

/// numpy's `Generator(PCG64(...))`: the distributions of numpy's `Generator`, drawn bit-exactly.
///
/// Method names, argument order and semantics are numpy's. Scalar methods are numpy's `size=None` calls;
/// `fill_*` methods are calls with `size=out.len()` that write into a caller's buffer without allocating.
/// Every parameter is validated before the first draw, so an error consumes nothing.
#[derive(Clone, Debug)]
pub struct Generator {
    bit_generator: Pcg64,
    /// numpy's `Generator._binomial`: the binomial setup, kept across calls.
    binomial: BinomialCache,
}

impl Generator {
    /// `Generator(bit_generator)`.
    pub fn new(bit_generator: Pcg64) -> Self {
        Generator {
            bit_generator,
            binomial: BinomialCache::default(),
        }
    }

    /// The bit generator (for state inspection).
    pub fn bit_generator(&self) -> &Pcg64 {
        &self.bit_generator
    }

    /// The bit generator, mutably (raw draws interleaved with the distributions).
    pub fn bit_generator_mut(&mut self) -> &mut Pcg64 {
        &mut self.bit_generator
    }

    /// `spawn(n)`: `n` independent child generators (numpy >= 1.25), from children of the seed sequence.
    pub fn spawn(&mut self, n: usize) -> Result<Vec<Generator>, Error> {
        Ok(self
            .bit_generator
            .spawn(n)?
            .into_iter()
            .map(Generator::new)
            .collect())
    }

    /// `random()`: a double in [0, 1).
    #[inline]
    pub fn random(&mut self) -> f64 {
        self.bit_generator.next_double()
    }

    /// `random(size)`.
    pub fn fill_random(&mut self, out: &mut [f64]) {
        fill0(&mut self.bit_generator, out, Lcg::next_double);
    }

    /// `uniform(low, high)`: `low + (high - low) * random()`. A non-finite range is numpy's
    /// `OverflowError` ("high - low range exceeds valid bounds"), a negative one "high - low < 0".
    pub fn uniform(&mut self, low: f64, high: f64) -> Result<f64, Error> {
        let range = high - low;
        check_uniform_range_scalar(range)?;
        Ok(low + range * self.bit_generator.next_double())
    }

    /// `uniform(low, high, size)`.
    pub fn fill_uniform(
        &mut self,
        out: &mut [f64],
        low: Arg<'_, f64>,
        high: Arg<'_, f64>,
    ) -> Result<(), Error> {
        if let (Arg::Scalar(lo), Arg::Scalar(hi)) = (low, high) {
            let range = hi - lo;
            check_uniform_range_scalar(range)?;
            fill0(&mut self.bit_generator, out, |rng| {
                lo + range * rng.next_double()
            });
            return Ok(());
        }
        // numpy's array path: high - low is broadcast first, then checked, then broadcast against size.
        let n = broadcast_len(&low, &high)?;
        let ranges = || (0..n).map(|i| high.get(i) - low.get(i));
        if !ranges().all(f64::is_finite) {
            // numpy's array path says just "Range exceeds valid bounds"; name the argument as its
            // scalar path does.
            return Err(Error::invalid(
                "high - low",
                "high - low range exceeds valid bounds",
            ));
        }
        if ranges().any(|r| r.is_sign_negative()) {
            return Err(Error::invalid("high - low", "high - low < 0"));
        }
        low.check_len("low", out.len())?;
        high.check_len("high", out.len())?;
        fill2(&mut self.bit_generator, out, low, high, |rng, lo, hi| {
            lo + (hi - lo) * rng.next_double()
        });
        Ok(())
    }

    /// `standard_normal()`: numpy's ziggurat.
    #[inline]
    pub fn standard_normal(&mut self) -> f64 {
        with_lcg(&mut self.bit_generator, dist::standard_normal)
    }

    /// `standard_normal(size)`.
    pub fn fill_standard_normal(&mut self, out: &mut [f64]) {
        #[cfg(parsim_avx512)]
        if with_lcg(&mut self.bit_generator, |lcg| {
            crate::block::fill_normal(lcg, out, None)
        }) {
            return;
        }
        fill0(&mut self.bit_generator, out, dist::standard_normal);
    }

    /// `normal(loc, scale)`: `loc + scale * standard_normal()`, two roundings (no FMA), as numpy's x86_64
    /// build computes it.
    #[inline]
    pub fn normal(&mut self, loc: f64, scale: f64) -> Result<f64, Error> {
        check_scalar(scale, "scale", Constraint::NonNegative)?;
        Ok(loc + scale * with_lcg(&mut self.bit_generator, dist::standard_normal))
    }

    /// `normal(loc, scale, size)`.
    pub fn fill_normal(
        &mut self,
        out: &mut [f64],
        loc: Arg<'_, f64>,
        scale: Arg<'_, f64>,
    ) -> Result<(), Error> {
        check_normal(out.len(), loc, scale)?;
        #[cfg(parsim_avx512)]
        if let (Arg::Scalar(loc), Arg::Scalar(scale)) = (loc, scale) {
            if with_lcg(&mut self.bit_generator, |lcg| {
                crate::block::fill_normal(lcg, out, Some((loc, scale)))
            }) {
                return Ok(());
            }
        }
        self.fill_normal_validated_serial(out, loc, scale);
        Ok(())
    }

    /// `normal(loc, scale, size)` drawn serially, one LCG step at a time: the same draws and final state
    /// as [`Generator::fill_normal`], kept as the reference for tests and benchmarks.
    #[doc(hidden)]
    pub fn fill_normal_serial(
        &mut self,
        out: &mut [f64],
        loc: Arg<'_, f64>,
        scale: Arg<'_, f64>,
    ) -> Result<(), Error> {
        check_normal(out.len(), loc, scale)?;
        self.fill_normal_validated_serial(out, loc, scale);
        Ok(())
    }

    fn fill_normal_validated_serial(
        &mut self,
        out: &mut [f64],
        loc: Arg<'_, f64>,
        scale: Arg<'_, f64>,
    ) {
        fill2(&mut self.bit_generator, out, loc, scale, |rng, l, s| {
            l + s * dist::standard_normal(rng)
        });
    }

    /// `integers(low, high, endpoint=endpoint)` with numpy's default `dtype=int64`: [low, high), or
    /// [low, high] with `endpoint`. numpy's `integers(high)` is `integers(0, high, false)`.
    pub fn integers(&mut self, low: i64, high: i64, endpoint: bool) -> Result<i64, Error> {
        let (off, range) = int_bounds(low, high, endpoint)?;
        Ok(dist::bounded_u64(&mut self.bit_generator, off, range) as i64)
    }

    /// `integers(low, high, size, endpoint=endpoint)`. Ranges below 2^32 - 1 draw 32-bit half-words (two
    /// per 64-bit output, low half first), as numpy does. As in numpy, an empty `out` returns before any
    /// check.
    pub fn fill_integers(
        &mut self,
        out: &mut [i64],
        low: Arg<'_, i64>,
        high: Arg<'_, i64>,
        endpoint: bool,
    ) -> Result<(), Error> {
        if out.is_empty() {
            return Ok(());
        }
        if let (Arg::Scalar(lo), Arg::Scalar(hi)) = (low, high) {
            let (off, range) = int_bounds(lo, hi, endpoint)?;
            dist::fill_bounded_u64(&mut self.bit_generator, off, range, out);
            return Ok(());
        }
        self.fill_integers_broadcast(out, low, high, endpoint)
    }

    /// `integers(low, high, size)` with scalar bounds drawn serially, one LCG step at a time: the same
    /// draws and final state (half-word buffer included) as [`Generator::fill_integers`], kept as the
    /// reference for tests and benchmarks.
    #[doc(hidden)]
    pub fn fill_integers_serial(
        &mut self,
        out: &mut [i64],
        low: i64,
        high: i64,
        endpoint: bool,
    ) -> Result<(), Error> {
        if out.is_empty() {
            return Ok(());
        }
        let (off, range) = int_bounds(low, high, endpoint)?;
        dist::fill_bounded_u64_serial(&mut self.bit_generator, off, range, out);
        Ok(())
    }

    /// `integers` with a bound given per draw.
    fn fill_integers_broadcast(
        &mut self,
        out: &mut [i64],
        low: Arg<'_, i64>,
        high: Arg<'_, i64>,
        endpoint: bool,
    ) -> Result<(), Error> {
        for i in 0..broadcast_len(&low, &high)? {
            int_bounds(low.get(i), high.get(i), endpoint)?;
        }
        low.check_len("low", out.len())?;
        high.check_len("high", out.len())?;
        let rng = &mut self.bit_generator;
        for (i, o) in out.iter_mut().enumerate() {
            let (off, range) = int_bounds(low.get(i), high.get(i), endpoint)?;
            *o = dist::bounded_u64(rng, off, range) as i64;
        }
        Ok(())
    }

    /// `standard_exponential()` (numpy's default `method='zig'`).
    #[inline]
    pub fn standard_exponential(&mut self) -> f64 {
        with_lcg(&mut self.bit_generator, dist::standard_exponential)
    }

    /// `standard_exponential(size)`.
    pub fn fill_standard_exponential(&mut self, out: &mut [f64]) {
        fill0(&mut self.bit_generator, out, dist::standard_exponential);
    }

    /// `exponential(scale)`: `scale * standard_exponential()`.
    pub fn exponential(&mut self, scale: f64) -> Result<f64, Error> {
        check_scalar(scale, "scale", Constraint::NonNegative)?;
        Ok(scale * with_lcg(&mut self.bit_generator, dist::standard_exponential))
    }

    /// `exponential(scale, size)`.
    pub fn fill_exponential(&mut self, out: &mut [f64], scale: Arg<'_, f64>) -> Result<(), Error> {
        validate(&[param(scale, "scale", Constraint::NonNegative)], out.len())?;
        fill1(&mut self.bit_generator, out, scale, |rng, s| {
            s * dist::standard_exponential(rng)
        });
        Ok(())
    }

    /// `binomial(n, p)`: inversion for `min(p, 1-p) * n <= 30`, else BTPE; the setup is cached across
    /// calls as numpy's `Generator._binomial` does.
    pub fn binomial(&mut self, n: i64, p: f64) -> Result<i64, Error> {
        check_binomial(&[n], &[p], true)?;
        let cache = &mut self.binomial;
        Ok(with_lcg(&mut self.bit_generator, |l| {
            dist::binomial(l, p, n, cache)
        }))
    }

    /// `binomial(n, p, size)`.
    pub fn fill_binomial(
        &mut self,
        out: &mut [i64],
        n: Arg<'_, i64>,
        p: Arg<'_, f64>,
    ) -> Result<(), Error> {
        check_binomial(n.values(), p.values(), n.is_scalar() && p.is_scalar())?;
        p.check_len("p", out.len())?;
        n.check_len("n", out.len())?;
        let Generator {
            bit_generator: rng,
            binomial: cache,
        } = self;
        with_lcg(rng, |lcg| {
            for (i, o) in out.iter_mut().enumerate() {
                *o = dist::binomial(lcg, p.get(i), n.get(i), cache);
            }
        });
        Ok(())
    }

    /// `poisson(lam)`: PTRS for `lam >= 10`, multiplication of uniforms below.
    pub fn poisson(&mut self, lam: f64) -> Result<i64, Error> {
        check_scalar(lam, "lam", Constraint::Poisson)?;
        Ok(with_lcg(&mut self.bit_generator, |l| dist::poisson(l, lam)))
    }

    /// `poisson(lam, size)`.
    pub fn fill_poisson(&mut self, out: &mut [i64], lam: Arg<'_, f64>) -> Result<(), Error> {
        validate(&[param(lam, "lam", Constraint::Poisson)], out.len())?;
        match lam {
            Arg::Scalar(lam) => {
                let setup = dist::PoissonSetup::new(lam);
                fill0(&mut self.bit_generator, out, |rng| setup.sample(rng));
            }
            _ => fill1(&mut self.bit_generator, out, lam, dist::poisson),
        }
        Ok(())
    }

    /// `gamma(shape, scale)`: `scale * standard_gamma(shape)` (Marsaglia–Tsang; shape < 1 by rejection).
    pub fn gamma(&mut self, shape: f64, scale: f64) -> Result<f64, Error> {
        check_scalar(shape, "shape", Constraint::NonNegative)?;
        check_scalar(scale, "scale", Constraint::NonNegative)?;
        Ok(scale * with_lcg(&mut self.bit_generator, |l| dist::standard_gamma(l, shape)))
    }

    /// `gamma(shape, scale, size)`.
    pub fn fill_gamma(
        &mut self,
        out: &mut [f64],
        shape: Arg<'_, f64>,
        scale: Arg<'_, f64>,
    ) -> Result<(), Error> {
        validate(
            &[
                param(shape, "shape", Constraint::NonNegative),
                param(scale, "scale", Constraint::NonNegative),
            ],
            out.len(),
        )?;
        fill2(&mut self.bit_generator, out, shape, scale, |rng, k, s| {
            s * dist::standard_gamma(rng, k)
        });
        Ok(())
    }

    /// `chisquare(df)`: `2 * standard_gamma(df / 2)`.
    pub fn chisquare(&mut self, df: f64) -> Result<f64, Error> {
        check_scalar(df, "df", Constraint::Positive)?;
        Ok(with_lcg(&mut self.bit_generator, |l| {
            dist::chisquare(l, df)
        }))
    }

    /// `chisquare(df, size)`.
    pub fn fill_chisquare(&mut self, out: &mut [f64], df: Arg<'_, f64>) -> Result<(), Error> {
        validate(&[param(df, "df", Constraint::Positive)], out.len())?;
        fill1(&mut self.bit_generator, out, df, dist::chisquare);
        Ok(())
    }

    /// `standard_t(df)`: `sqrt(df/2) * Z / sqrt(standard_gamma(df/2))`.
    pub fn standard_t(&mut self, df: f64) -> Result<f64, Error> {
        check_scalar(df, "df", Constraint::Positive)?;
        Ok(with_lcg(&mut self.bit_generator, |l| {
            dist::standard_t(l, df)
        }))
    }

    /// `standard_t(df, size)`.
    pub fn fill_standard_t(&mut self, out: &mut [f64], df: Arg<'_, f64>) -> Result<(), Error> {
        validate(&[param(df, "df", Constraint::Positive)], out.len())?;
        fill1(&mut self.bit_generator, out, df, dist::standard_t);
        Ok(())
    }

    /// `lognormal(mean, sigma)`: `exp(mean + sigma * standard_normal())`.
    pub fn lognormal(&mut self, mean: f64, sigma: f64) -> Result<f64, Error> {
        check_scalar(sigma, "sigma", Constraint::NonNegative)?;
        Ok((mean + sigma * with_lcg(&mut self.bit_generator, dist::standard_normal)).exp())
    }

    /// `lognormal(mean, sigma, size)`.
    pub fn fill_lognormal(
        &mut self,
        out: &mut [f64],
        mean: Arg<'_, f64>,
        sigma: Arg<'_, f64>,
    ) -> Result<(), Error> {
        validate(
            &[
                param(mean, "mean", Constraint::None),
                param(sigma, "sigma", Constraint::NonNegative),
            ],
            out.len(),
        )?;
        fill2(&mut self.bit_generator, out, mean, sigma, |rng, m, s| {
            (m + s * dist::standard_normal(rng)).exp()
        });
        Ok(())
    }

    /// `beta(a, b)`: Johnk's algorithm when `a, b <= 1`, else a ratio of gammas.
    pub fn beta(&mut self, a: f64, b: f64) -> Result<f64, Error> {
        check_scalar(a, "a", Constraint::Positive)?;
        check_scalar(b, "b", Constraint::Positive)?;
        Ok(with_lcg(&mut self.bit_generator, |l| dist::beta(l, a, b)))
    }

    /// `beta(a, b, size)`.
    pub fn fill_beta(
        &mut self,
        out: &mut [f64],
        a: Arg<'_, f64>,
        b: Arg<'_, f64>,
    ) -> Result<(), Error> {
        validate(
            &[
                param(a, "a", Constraint::Positive),
                param(b, "b", Constraint::Positive),
            ],
            out.len(),
        )?;
        fill2(&mut self.bit_generator, out, a, b, dist::beta);
        Ok(())
    }
}

/// The length of `low` and `high` broadcast against each other (numpy's `np.broadcast` in 1-D).
fn broadcast_len<T: Copy>(low: &Arg<'_, T>, high: &Arg<'_, T>) -> Result<usize, Error> {
    match (low.values().len(), high.values().len()) {
        (a, b) if a == b => Ok(a),
        (1, b) => Ok(b),
        (a, 1) => Ok(a),
        (a, b) => Err(Error::Shape {
            arg: "high",
            len: b,
            size: a,
        }),
    }
}

/// numpy's scalar `uniform` checks: a finite, non-negative (by sign bit) range.
fn check_uniform_range_scalar(range: f64) -> Result<(), Error> {
    if !range.is_finite() {
        return Err(Error::invalid(
            "high - low",
            "high - low range exceeds valid bounds",
        ));
    }
    check_scalar(range, "high - low", Constraint::NonNegative)
}

/// `Generator.binomial`'s checks: `p` in [0, 1] (not NaN), then `n >= 0`.
fn check_binomial(n: &[i64], p: &[f64], all_scalar: bool) -> Result<(), Error> {
    if all_scalar {
        check_scalar(p[0], "p", Constraint::Bounded01)?;
    } else {
        check_array(p, "p", Constraint::Bounded01)?;
    }
    if n.iter().any(|&v| v < 0) {
        return Err(Error::invalid("n", "n < 0"));
    }
    Ok(())
}
