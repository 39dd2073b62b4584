//! numpy's samplers (`numpy/random/src/distributions/distributions.c`, numpy 2.x), one function per C
//! function, on a register-resident copy of the PCG64 state ([`Lcg`], or [`HalfWords`] for the 32-bit
//! draws of `integers`). Parameters are assumed valid (the [`Generator`](crate::Generator) checks them
//! first); every function terminates and never panics for any parameter value numpy accepts.
//!
//! Floating-point expressions keep C's evaluation order and its separate roundings (Rust never contracts
//! `a * b + c` into an FMA); `exp`, `ln`, `ln_1p` and `powf` call the platform libm as numpy's C does.

// `!(a <= b)` and friends are deliberate: they keep numpy's behaviour for NaN operands.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use crate::pcg64::{HalfWords, Lcg, Raw};
use crate::tables::{EXP_R, FE, FI, KE, KI, NOR_INV_R, NOR_R, WE, WI};
use crate::Pcg64;

/// `random_standard_normal`: the 256-layer ziggurat.
#[inline(always)]
pub(crate) fn standard_normal(lcg: &mut Lcg) -> f64 {
    loop {
        match normal_layer(lcg.next_u64()) {
            Ok(x) => return x,
            Err(rare) => {
                let (advanced, accepted) = standard_normal_unlikely(*lcg, rare);
                *lcg = advanced;
                if let Some(x) = accepted {
                    return x;
                }
            }
        }
    }
}

/// What the ziggurat's rare path needs from the output that sent a draw there.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NormalRare {
    idx: usize,
    rabs: u64,
    x: f64,
}

/// The ziggurat's first test on one raw output: the draw if it lies inside its layer's rectangle
/// (~99.3% of outputs), else the layer and candidate for [`normal_rare`].
#[inline(always)]
pub(crate) fn normal_layer(r: u64) -> Result<f64, NormalRare> {
    let idx = (r & 0xff) as usize;
    let r = r >> 8;
    let sign = r & 1;
    let rabs = (r >> 1) & 0x000f_ffff_ffff_ffff;
    // rabs < 2^52, so the signed conversion is exact and cheaper than u64 -> f64; the sign is
    // flipped by xor-ing the sign bit, not by a 50%-mispredicted branch.
    let magnitude = (rabs as i64) as f64 * WI[idx];
    let x = f64::from_bits(magnitude.to_bits() ^ (sign << 63));
    if rabs < KI[idx] {
        Ok(x)
    } else {
        Err(NormalRare { idx, rabs, x })
    }
}

/// The rare path on the LCG, which it takes and returns by value (a reference would keep the hot loop's
/// state in memory).
#[cold]
#[inline(never)]
fn standard_normal_unlikely(mut lcg: Lcg, rare: NormalRare) -> (Lcg, Option<f64>) {
    let accepted = normal_rare(&mut lcg, rare);
    (lcg, accepted)
}

/// The ziggurat's tail (layer 0) and wedge tests; `None` means reject and draw a fresh u64.
#[inline(always)]
pub(crate) fn normal_rare(
    rng: &mut impl Raw,
    NormalRare { idx, rabs, x }: NormalRare,
) -> Option<f64> {
    if idx == 0 {
        loop {
            // log1p(-U) rather than log(1 - U): numpy >= 1.21, avoids log(0).
            let xx = -NOR_INV_R * (-rng.next_double()).ln_1p();
            let yy = -(-rng.next_double()).ln_1p();
            if yy + yy > xx * xx {
                // The tail's sign is bit 8 of rabs, not the sign bit used above.
                return Some(if (rabs >> 8) & 1 == 1 {
                    -(NOR_R + xx)
                } else {
                    NOR_R + xx
                });
            }
        }
    }
    let fx = (FI[idx - 1] - FI[idx]) * rng.next_double() + FI[idx];
    (fx < (-0.5 * x * x).exp()).then_some(x)
}

/// `random_standard_exponential`: the 256-layer exponential ziggurat.
#[inline(always)]
pub(crate) fn standard_exponential(lcg: &mut Lcg) -> f64 {
    loop {
        let ri = lcg.next_u64() >> 3;
        let idx = (ri & 0xff) as usize;
        let ri = ri >> 8;
        let x = (ri as i64) as f64 * WE[idx]; // ri < 2^53: exact
        if ri < KE[idx] {
            return x; // ~98.9% of draws
        }
        let (advanced, accepted) = standard_exponential_unlikely(*lcg, idx, x);
        *lcg = advanced;
        if let Some(x) = accepted {
            return x;
        }
    }
}

#[cold]
#[inline(never)]
fn standard_exponential_unlikely(mut lcg: Lcg, idx: usize, x: f64) -> (Lcg, Option<f64>) {
    if idx == 0 {
        let tail = EXP_R - (-lcg.next_double()).ln_1p();
        return (lcg, Some(tail));
    }
    let fx = (FE[idx - 1] - FE[idx]) * lcg.next_double() + FE[idx];
    (lcg, (fx < (-x).exp()).then_some(x))
}

/// `random_standard_gamma`: exponential for shape 1, 0 for shape 0, the rejection method of Ahrens–Dieter
/// (GS) for shape < 1, and Marsaglia–Tsang for shape > 1.
pub(crate) fn standard_gamma(rng: &mut Lcg, shape: f64) -> f64 {
    if shape == 1.0 {
        standard_exponential(rng)
    } else if shape == 0.0 {
        0.0
    } else if shape < 1.0 {
        gamma_small_shape(rng, shape)
    } else {
        gamma_marsaglia_tsang(rng, shape)
    }
}

fn gamma_small_shape(rng: &mut Lcg, shape: f64) -> f64 {
    loop {
        let u = rng.next_double();
        let v = standard_exponential(rng);
        if u <= 1.0 - shape {
            let x = u.powf(1.0 / shape);
            if x <= v {
                return x;
            }
        } else {
            let y = -((1.0 - u) / shape).ln();
            let x = (1.0 - shape + shape * y).powf(1.0 / shape);
            if x <= v + y {
                return x;
            }
        }
    }
}

fn gamma_marsaglia_tsang(rng: &mut Lcg, shape: f64) -> f64 {
    let b = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * b).sqrt();
    loop {
        let (x, v) = loop {
            let x = standard_normal(rng);
            let v = 1.0 + c * x;
            if !(v <= 0.0) {
                break (x, v);
            }
        };
        let v = v * v * v;
        let u = rng.next_double();
        if u < 1.0 - 0.0331 * (x * x) * (x * x) {
            return b * v;
        }
        // log(0.0) is fine here: -inf compares below anything.
        if u.ln() < 0.5 * x * x + b * (1.0 - v + v.ln()) {
            return b * v;
        }
    }
}

/// Below this, both Beta shapes are so small that a draw is 0 or 1 with overwhelming probability.
const BETA_TINY_THRESHOLD: f64 = 3e-103;

/// `random_beta`: Johnk's algorithm when both shapes are <= 1, else the ratio of two gammas.
pub(crate) fn beta(rng: &mut Lcg, a: f64, b: f64) -> f64 {
    if a <= 1.0 && b <= 1.0 {
        if a < BETA_TINY_THRESHOLD && b < BETA_TINY_THRESHOLD {
            let u = rng.next_double();
            return if (a + b) * u < a { 1.0 } else { 0.0 };
        }
        beta_johnk(rng, a, b)
    } else {
        let ga = standard_gamma(rng, a);
        let gb = standard_gamma(rng, b);
        ga / (ga + gb)
    }
}

fn beta_johnk(rng: &mut Lcg, a: f64, b: f64) -> f64 {
    loop {
        let u = rng.next_double();
        let v = rng.next_double();
        let x = u.powf(1.0 / a);
        let y = v.powf(1.0 / b);
        let xpy = x + y;
        // Reject if both U and V are 0.0 (about 1 in 10^106).
        if xpy <= 1.0 && u + v > 0.0 {
            if x > 0.0 && y > 0.0 {
                return x / xpy;
            }
            // A power underflowed: form X / (X + Y) from logarithms.
            let log_x = u.ln() / a;
            let log_y = v.ln() / b;
            let delta = log_x - log_y;
            return if delta > 0.0 {
                (-(-delta).exp().ln_1p()).exp()
            } else {
                (delta - delta.exp().ln_1p()).exp()
            };
        }
    }
}

/// `random_chisquare`.
pub(crate) fn chisquare(rng: &mut Lcg, df: f64) -> f64 {
    2.0 * standard_gamma(rng, df / 2.0)
}

/// `random_standard_t`.
pub(crate) fn standard_t(rng: &mut Lcg, df: f64) -> f64 {
    let num = standard_normal(rng);
    let denom = standard_gamma(rng, df / 2.0);
    (df / 2.0).sqrt() * num / denom.sqrt()
}

/// `random_loggam`: log-gamma (Zhang & Jin's SPECFUN series), numpy 2.x form.
pub(crate) fn loggam(x: f64) -> f64 {
    // numpy's literals, digit for digit.
    #[allow(clippy::excessive_precision)]
    const A: [f64; 10] = [
        8.333333333333333e-02,
        -2.777777777777778e-03,
        7.936507936507937e-04,
        -5.952380952380952e-04,
        8.417508417508418e-04,
        -1.917526917526918e-03,
        6.410256410256410e-03,
        -2.955065359477124e-02,
        1.796443723688307e-01,
        -1.39243221690590e+00,
    ];
    const LG2PI: f64 = 1.8378770664093453e+00; // log(2 pi)
    if x == 1.0 || x == 2.0 {
        return 0.0;
    }
    let n: i64 = if x < 7.0 { (7.0 - x) as i64 } else { 0 };
    let mut x0 = x + n as f64;
    let x2 = (1.0 / x0) * (1.0 / x0);
    let mut gl0 = A[9];
    for &a in A[..9].iter().rev() {
        gl0 *= x2;
        gl0 += a;
    }
    let mut gl = gl0 / x0 + 0.5 * LG2PI + (x0 - 0.5) * x0.ln() - x0;
    if x < 7.0 {
        for _ in 0..n {
            gl -= (x0 - 1.0).ln();
            x0 -= 1.0;
        }
    }
    gl
}

/// `random_poisson`: PTRS for lam >= 10, multiplication of uniforms below.
pub(crate) fn poisson(rng: &mut Lcg, lam: f64) -> i64 {
    PoissonSetup::new(lam).sample(rng)
}

/// The per-`lam` constants of `random_poisson`, computed once for a whole fill. numpy recomputes them
/// (including `log(invalpha)`, inside the rejection loop) on every draw; the values are identical.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PoissonSetup {
    Zero,
    /// Multiplication of uniforms, for 0 < lam < 10.
    Mult {
        enlam: f64,
    },
    /// Hörmann's transformed rejection with squeeze (PTRS, 1993), for lam >= 10.
    Ptrs {
        lam: f64,
        loglam: f64,
        a: f64,
        b: f64,
        log_invalpha: f64,
        vr: f64,
    },
}

impl PoissonSetup {
    pub(crate) fn new(lam: f64) -> Self {
        if lam >= 10.0 {
            let slam = lam.sqrt();
            let b = 0.931 + 2.53 * slam;
            let invalpha = 1.1239 + 1.1328 / (b - 3.4);
            PoissonSetup::Ptrs {
                lam,
                loglam: lam.ln(),
                a: -0.059 + 0.02483 * b,
                b,
                log_invalpha: invalpha.ln(),
                vr: 0.9277 - 3.6224 / (b - 2.0),
            }
        } else if lam == 0.0 {
            PoissonSetup::Zero
        } else {
            PoissonSetup::Mult {
                enlam: (-lam).exp(),
            }
        }
    }

    #[inline]
    pub(crate) fn sample(&self, rng: &mut Lcg) -> i64 {
        match *self {
            PoissonSetup::Zero => 0,
            PoissonSetup::Mult { enlam } => {
                let mut x = 0;
                let mut prod = 1.0;
                loop {
                    prod *= rng.next_double();
                    if prod > enlam {
                        x += 1;
                    } else {
                        return x;
                    }
                }
            }
            PoissonSetup::Ptrs {
                lam,
                loglam,
                a,
                b,
                log_invalpha,
                vr,
            } => loop {
                let u = rng.next_double() - 0.5;
                let v = rng.next_double();
                let us = 0.5 - u.abs();
                // `as` saturates where C's conversion is undefined (us == 0 gives -inf); such k is
                // rejected below.
                let k = ((2.0 * a / us + b) * u + lam + 0.43).floor() as i64;
                if us >= 0.07 && v <= vr {
                    return k;
                }
                if k < 0 || (us < 0.013 && v > us) {
                    continue;
                }
                let lhs = v.ln() + log_invalpha - (a / (us * us) + b).ln();
                let rhs = -lam + k as f64 * loglam - loggam(k.saturating_add(1) as f64);
                if lhs <= rhs {
                    return k;
                }
            },
        }
    }
}

/// numpy's `binomial_t`: the setup of the last (n, p) seen, reused while they repeat. The cached values
/// are pure functions of (n, p) and the path, so the cache changes speed only, never a draw.
#[derive(Clone, Debug, Default)]
pub(crate) struct BinomialCache {
    has_binomial: bool,
    nsave: i64,
    psave: f64,
    r: f64,
    q: f64,
    m: i64,
    p1: f64,
    xm: f64,
    xl: f64,
    xr: f64,
    c: f64,
    laml: f64,
    lamr: f64,
    p2: f64,
    p3: f64,
    p4: f64,
}

impl BinomialCache {
    fn hit(&self, n: i64, p: f64) -> bool {
        self.has_binomial && self.nsave == n && self.psave == p
    }
}

/// `random_binomial`: inversion when min(p, 1-p) * n <= 30, else BTPE (Kachitvichyanukul & Schmeiser).
pub(crate) fn binomial(rng: &mut Lcg, p: f64, n: i64, cache: &mut BinomialCache) -> i64 {
    if n == 0 || p == 0.0 {
        return 0;
    }
    if p <= 0.5 {
        if p * n as f64 <= 30.0 {
            binomial_inversion(rng, n, p, cache)
        } else {
            binomial_btpe(rng, n, p, cache)
        }
    } else {
        let q = 1.0 - p;
        if q * n as f64 <= 30.0 {
            n - binomial_inversion(rng, n, q, cache)
        } else {
            n - binomial_btpe(rng, n, q, cache)
        }
    }
}

fn binomial_inversion(rng: &mut Lcg, n: i64, p: f64, cache: &mut BinomialCache) -> i64 {
    if !cache.hit(n, p) {
        let q = 1.0 - p;
        let np = n as f64 * p;
        // C's MIN(n, double) compares and yields a double, then truncates.
        let limit = np + 10.0 * (np * q + 1.0).sqrt();
        let nf = n as f64;
        *cache = BinomialCache {
            has_binomial: true,
            nsave: n,
            psave: p,
            q,
            r: (n as f64 * q.ln()).exp(),
            c: np,
            m: (if nf < limit { nf } else { limit }) as i64,
            ..BinomialCache::default()
        };
    }
    let (q, qn, bound) = (cache.q, cache.r, cache.m);
    let mut x: i64 = 0;
    let mut px = qn;
    let mut u = rng.next_double();
    while u > px {
        x += 1;
        if x > bound {
            x = 0;
            px = qn;
            u = rng.next_double();
        } else {
            u -= px;
            px = ((n - x + 1) as f64 * p * px) / (x as f64 * q);
        }
    }
    x
}

fn btpe_setup(n: i64, p: f64) -> BinomialCache {
    let nf = n as f64;
    let r = p.min(1.0 - p);
    let q = 1.0 - r;
    let fm = nf * r + r;
    let m = fm.floor() as i64;
    let p1 = (2.195 * (nf * r * q).sqrt() - 4.6 * q).floor() + 0.5;
    let xm = m as f64 + 0.5;
    let xl = xm - p1;
    let xr = xm + p1;
    let c = 0.134 + 20.5 / (15.3 + m as f64);
    let a = (fm - xl) / (fm - xl * r);
    let laml = a * (1.0 + a / 2.0);
    let a = (xr - fm) / (xr * q);
    let lamr = a * (1.0 + a / 2.0);
    let p2 = p1 * (1.0 + 2.0 * c);
    let p3 = p2 + c / laml;
    let p4 = p3 + c / lamr;
    BinomialCache {
        has_binomial: true,
        nsave: n,
        psave: p,
        r,
        q,
        m,
        p1,
        xm,
        xl,
        xr,
        c,
        laml,
        lamr,
        p2,
        p3,
        p4,
    }
}

/// The four-region BTPE sampler; `p <= 0.5` here (the caller reflects larger p).
fn binomial_btpe(rng: &mut Lcg, n: i64, p: f64, cache: &mut BinomialCache) -> i64 {
    if !cache.hit(n, p) {
        *cache = btpe_setup(n, p);
    }
    let s = &*cache;
    let nf = n as f64;
    let nrq = nf * s.r * s.q;
    let y = loop {
        let u = rng.next_double() * s.p4;
        let mut v = rng.next_double();
        let y: i64;
        if u <= s.p1 {
            // Triangular region: accept at once.
            break (s.xm - s.p1 * v + u).floor() as i64;
        } else if u <= s.p2 {
            // Parallelograms.
            let x = s.xl + (u - s.p1) / s.c;
            v = v * s.c + 1.0 - (s.m as f64 - x + 0.5).abs() / s.p1;
            if v > 1.0 {
                continue;
            }
            y = x.floor() as i64;
        } else if u <= s.p3 {
            // Left exponential tail; v == 0 is rejected (its logarithm is -inf).
            y = (s.xl + v.ln() / s.laml).floor() as i64;
            if y < 0 || v == 0.0 {
                continue;
            }
            v = v * (u - s.p2) * s.laml;
        } else {
            // Right exponential tail.
            y = (s.xr - v.ln() / s.lamr).floor() as i64;
            if y > n || v == 0.0 {
                continue;
            }
            v = v * (u - s.p3) * s.lamr;
        }
        if btpe_accept(s, n, nrq, y, v) {
            break y;
        }
    };
    // numpy's Step60 reflects when p > 0.5, which cannot happen here.
    if p > 0.5 {
        n - y
    } else {
        y
    }
}

/// BTPE's acceptance test for candidate `y` with uniform `v` (numpy's Step50 and Step52).
fn btpe_accept(s: &BinomialCache, n: i64, nrq: f64, y: i64, v: f64) -> bool {
    let m = s.m;
    let k = y.wrapping_sub(m).wrapping_abs();
    if !(k > 20 && (k as f64) < nrq / 2.0 - 1.0) {
        // Explicit evaluation of f(y) / f(m) by recursion.
        let sr = s.r / s.q;
        let a = sr * (i128::from(n) + 1) as f64;
        let mut f = 1.0;
        if m < y {
            for i in m + 1..=y {
                f *= a / i as f64 - sr;
            }
        } else if m > y {
            for i in y + 1..=m {
                f /= a / i as f64 - sr;
            }
        }
        return !(v > f);
    }
    // Squeeze, then the Stirling-formula bound on log f(y) / f(m).
    let kf = k as f64;
    let rho = (kf / nrq) * ((kf * (kf / 3.0 + 0.625) + 0.16666666666666666) / nrq + 0.5);
    let t = (k.wrapping_neg().wrapping_mul(k)) as f64 / (2.0 * nrq);
    let big_a = v.ln();
    if big_a < t - rho {
        return true;
    }
    if big_a > t + rho {
        return false;
    }
    let x1 = (i128::from(y) + 1) as f64;
    let f1 = (i128::from(m) + 1) as f64;
    let z = (i128::from(n) + 1 - i128::from(m)) as f64;
    let w = (i128::from(n) - i128::from(y) + 1) as f64;
    let (x2, f2, z2, w2) = (x1 * x1, f1 * f1, z * z, w * w);
    let bound = s.xm * (f1 / x1).ln()
        + ((n - m) as f64 + 0.5) * (z / w).ln()
        + (y - m) as f64 * (w * s.r / (x1 * s.q)).ln()
        + stirling_term(f1, f2)
        + stirling_term(z, z2)
        + stirling_term(x1, x2)
        + stirling_term(w, w2);
    !(big_a > bound)
}

/// `(13680 - (462 - (132 - (99 - 140/v2)/v2)/v2)/v2) / v / 166320`, in C's order of operations.
#[inline]
fn stirling_term(v: f64, v2: f64) -> f64 {
    (13680. - (462. - (132. - (99. - 140. / v2) / v2) / v2) / v2) / v / 166320.
}

/// Lemire's bounded 32-bit draw on [0, rng], 32-bit words from the half-word buffer.
#[inline(always)]
fn bounded_lemire_u32(rng: &mut HalfWords, range: u32) -> u32 {
    let excl = range.wrapping_add(1);
    let mut m = u64::from(rng.next_u32()) * u64::from(excl);
    let leftover = m as u32;
    if leftover < excl {
        m = lemire_u32_redraw(rng, m, excl, (u32::MAX - range) % excl);
    }
    (m >> 32) as u32
}

/// Lemire's rejection loop: draws again while the low word of `m` is below `threshold`
/// (`(2^32 - excl) % excl`), returns the accepted product.
#[inline(always)]
pub(crate) fn lemire_u32_redraw(
    rng: &mut HalfWords<impl Raw>,
    mut m: u64,
    excl: u32,
    threshold: u32,
) -> u64 {
    while (m as u32) < threshold {
        m = u64::from(rng.next_u32()) * u64::from(excl);
    }
    m
}

/// Lemire's bounded 64-bit draw on [0, rng] for rng < 2^64 - 1.
#[inline(always)]
fn bounded_lemire_u64(rng: &mut HalfWords, range: u64) -> u64 {
    let excl = range.wrapping_add(1);
    let mut m = u128::from(rng.next_u64()) * u128::from(excl);
    let mut leftover = m as u64;
    if leftover < excl {
        let threshold = (u64::MAX - range) % excl;
        while leftover < threshold {
            m = u128::from(rng.next_u64()) * u128::from(excl);
            leftover = m as u64;
        }
    }
    (m >> 64) as u64
}

/// `random_bounded_uint64` (Lemire, unmasked): a draw on the closed interval [off, off + range].
#[inline(always)]
pub(crate) fn bounded_u64(rng: &mut Pcg64, off: u64, range: u64) -> u64 {
    let mut words = rng.half_words();
    let v = bounded_u64_words(&mut words, off, range);
    rng.set_half_words(words);
    v
}

#[inline(always)]
fn bounded_u64_words(rng: &mut HalfWords, off: u64, range: u64) -> u64 {
    if range == 0 {
        off // consumes nothing
    } else if range < 0xFFFF_FFFF {
        off.wrapping_add(u64::from(bounded_lemire_u32(rng, range as u32)))
    } else if range == 0xFFFF_FFFF {
        off.wrapping_add(u64::from(rng.next_u32()))
    } else if range == u64::MAX {
        off.wrapping_add(rng.next_u64())
    } else {
        off.wrapping_add(bounded_lemire_u64(rng, range))
    }
}

/// `random_bounded_uint64_fill`: the same draws for one (off, range), with the range test hoisted out of
/// the loop; long fills of small ranges read raw outputs made ahead in blocks where the CPU has the
/// kernels for it.
pub(crate) fn fill_bounded_u64(rng: &mut Pcg64, off: u64, range: u64, out: &mut [i64]) {
    let mut words = rng.half_words();
    #[cfg(parsim_avx512)]
    if range != 0
        && range < 0xFFFF_FFFF
        && crate::block::fill_bounded_u32(&mut words, off, range as u32, out)
    {
        rng.set_half_words(words);
        return;
    }
    fill_bounded_u64_serial_words(&mut words, off, range, out);
    rng.set_half_words(words);
}

/// [`fill_bounded_u64`] on the serial LCG only (the reference for the blocked path).
pub(crate) fn fill_bounded_u64_serial(rng: &mut Pcg64, off: u64, range: u64, out: &mut [i64]) {
    let mut words = rng.half_words();
    fill_bounded_u64_serial_words(&mut words, off, range, out);
    rng.set_half_words(words);
}

fn fill_bounded_u64_serial_words(words: &mut HalfWords, off: u64, range: u64, out: &mut [i64]) {
    if range == 0 {
        out.fill(off as i64);
    } else if range < 0xFFFF_FFFF {
        let r = range as u32;
        for o in out.iter_mut() {
            *o = off.wrapping_add(u64::from(bounded_lemire_u32(words, r))) as i64;
        }
    } else {
        for o in out.iter_mut() {
            *o = bounded_u64_words(words, off, range) as i64;
        }
    }
}
