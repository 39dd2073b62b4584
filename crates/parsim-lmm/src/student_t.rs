//! Student's t tail probabilities and quantiles for the coefficient tables.
//!
//! Both are computed here rather than by statrs: its incomplete beta loses digits for large ν
//! (the Satterthwaite df of a within-group covariate is about N), and its quantile inverts the
//! incomplete beta by a general search that costs dozens of evaluations, while a confidence interval
//! needs one quantile per coefficient per fit.
//!
//! The survival function is ½ I_x(ν/2, ½) with x = ν/(ν + t²). For ν > 30 and x > 0.71 (the p-values
//! and quantiles of every large-sample fit) it is DiDonato & Morris's asymptotic expansion BGRAT
//! (ACM TOMS 708, §9; R's `bgrat`), specialised to b = ½: its coefficients depend on b only, so they
//! are a constant table, and its incomplete gamma ratio Q(½, z) is erfc(√z) (Cody's rational
//! approximation of exp(z) erfc(√z)). Elsewhere the incomplete beta's continued fraction converges in
//! a few dozen steps; near x = 1 its length grows like √ν (40 steps at ν = 494 and t = 2, thousands
//! at ν = 10⁷, where it stopped short of convergence), which is what the expansion replaces.
//!
//! The quantile starts from the Cornish–Fisher expansion about the normal quantile (Abramowitz &
//! Stegun 26.7.5, exact to O(ν⁻⁵)) or, for small ν, from the power-law tail, and is polished by
//! Halley steps on the survival function; from ν = [`EXPANSION_ONLY_DF`] the expansion alone is exact
//! to double precision. Agreement with R's `pt`/`qt` is checked in the tests.

use statrs::distribution::{ContinuousCDF, Normal};

/// From this ν on, the Cornish–Fisher expansion's first omitted term (O(z¹¹/ν⁵)) is below 1e-16
/// relative for the quantiles of confidence intervals (|z| ≤ 4).
const EXPANSION_ONLY_DF: f64 = 4000.0;

/// Halley steps at most (one to three suffice from either start).
const MAX_STEPS: usize = 20;

/// A Halley step smaller than this (relative) leaves an error of order its cube: the iteration has
/// converged to double precision and a further survival evaluation would change nothing.
const HALLEY_CONVERGED: f64 = 1e-7;

/// BGRAT is used for a = ν/2 above this (TOMS 708 requires a ≥ 15; below, R too shifts a upwards
/// before expanding).
const BGRAT_MIN_A: f64 = 15.0;

/// ... and for y = 1 − x = t²/(ν + t²) below this (TOMS 708's switch for b ≤ 1, R's PR#13786 value;
/// beyond it the expansion's terms decrease too slowly and the continued fraction is fast).
const BGRAT_MAX_Y: f64 = 0.29;

/// Terms of the BGRAT sum at most (TOMS 708's cap).
const BGRAT_TERMS: usize = 30;

/// The coefficients d₁, d₂, … of BGRAT for b = ½ (TOMS 708's recursion for c and d, evaluated at
/// compile time).
const BGRAT_D: [f64; BGRAT_TERMS] = bgrat_coefficients(0.5);

/// Two-sided p-value of the statistic `t` on `df` degrees of freedom (normal reference for infinite df).
pub fn two_sided_p(t: f64, df: f64) -> f64 {
    if df.is_infinite() && df > 0.0 {
        return 2.0 * Normal::standard().sf(t.abs());
    }
    2.0 * StudentT::new(df).survival(t.abs())
}

/// The quantile q with P(T > q) = `alpha` (0 < alpha < 1) for Student's t on `df` > 0 degrees of
/// freedom (the normal quantile for infinite df); NaN for arguments outside those ranges.
pub fn upper_quantile(alpha: f64, df: f64) -> f64 {
    quantile(alpha, df, StudentT::survival_at)
}

/// The survival function as it was before BGRAT: the continued fraction by modified Lentz,
/// whatever ν and t. Kept for the benchmark's comparison only.
#[doc(hidden)]
pub fn survival_continued_fraction(t: f64, df: f64) -> f64 {
    let dist = StudentT::new(df);
    if !(df > 0.0 && t >= 0.0) {
        return f64::NAN;
    }
    let ratio = t * t / df;
    dist.fraction_by(ratio, ratio.ln_1p(), beta_fraction_lentz)
}

/// [`upper_quantile`] with every survival evaluation as before BGRAT, for the benchmark.
#[doc(hidden)]
pub fn upper_quantile_continued_fraction(alpha: f64, df: f64) -> f64 {
    quantile(alpha, df, |dist, ratio, ln_1p_ratio| {
        dist.fraction_by(ratio, ln_1p_ratio, beta_fraction_lentz)
    })
}

/// Student's t on `df` degrees of freedom with the constants every evaluation needs.
struct StudentT {
    df: f64,
    /// a = ν/2, the incomplete beta's first parameter.
    a: f64,
    /// ln Γ(a + ½) − ln Γ(a).
    ln_gamma_ratio: f64,
}

impl StudentT {
    fn new(df: f64) -> StudentT {
        let a = df / 2.0;
        StudentT {
            df,
            a,
            ln_gamma_ratio: ln_gamma_ratio(a),
        }
    }

    /// P(T > t) for t ≥ 0 (NaN outside the domain).
    fn survival(&self, t: f64) -> f64 {
        if !(self.df > 0.0 && t >= 0.0) {
            return f64::NAN;
        }
        let ratio = t * t / self.df;
        self.survival_at(ratio, ratio.ln_1p())
    }

    /// P(T > t) given `ratio` = t²/ν and `ln_1p_ratio` = ln(1 + t²/ν) = −ln x.
    fn survival_at(&self, ratio: f64, ln_1p_ratio: f64) -> f64 {
        if self.a > BGRAT_MIN_A && ratio < BGRAT_MAX_Y / (1.0 - BGRAT_MAX_Y) {
            0.5 * bgrat_half(self.a, ln_1p_ratio, self.ln_gamma_ratio)
        } else {
            self.fraction(ratio, ln_1p_ratio)
        }
    }

    /// ½ I_x(a, ½) by the continued fraction for I_x(a, ½) or for its complement I_y(½, a),
    /// whichever converges faster (arguments as for [`StudentT::survival_at`]). The prefactor is
    /// formed without differences of large log-gammas, and x and y = 1 − x are each computed
    /// directly.
    fn fraction(&self, ratio: f64, ln_1p_ratio: f64) -> f64 {
        self.fraction_by(ratio, ln_1p_ratio, beta_fraction)
    }

    /// [`StudentT::fraction`] with the continued fraction evaluated by `fraction`.
    fn fraction_by(&self, ratio: f64, ln_1p_ratio: f64, fraction: fn(f64, f64, f64) -> f64) -> f64 {
        let (a, b) = (self.a, 0.5);
        let x = 1.0 / (1.0 + ratio);
        let y = ratio / (1.0 + ratio);
        // ln B(a, ½) = ln √π − (ln Γ(a + ½) − ln Γ(a)).
        let ln_beta = LN_SQRT_PI - self.ln_gamma_ratio;
        let ln_prefactor = -a * ln_1p_ratio + b * y.ln() - ln_beta;
        if x < (a + 1.0) / (a + b + 2.0) {
            0.5 * ln_prefactor.exp() * fraction(a, b, x) / a
        } else {
            0.5 * (1.0 - ln_prefactor.exp() * fraction(b, a, y) / b)
        }
    }

    /// ln of the density's constant, ln Γ(a + ½) − ln Γ(a) − ½ ln(νπ); the density at t is
    /// exp(that − (a + ½) ln(1 + t²/ν)).
    fn ln_density_constant(&self) -> f64 {
        self.ln_gamma_ratio - 0.5 * (self.df * std::f64::consts::PI).ln()
    }
}

const LN_SQRT_PI: f64 = 0.572_364_942_924_700_1;

/// ln Γ(a + ½) − ln Γ(a) from Stirling's series (the difference of two large log-gammas would lose
/// digits), for a < 15 after shifting a by k with Γ(a + ½)/Γ(a) = Γ(a + k + ½)/Γ(a + k) ·
/// Πᵢ (a + i)/(a + i + ½) (statrs's Lanczos ln Γ left errors up to 7e-13 in p-values at ν ≈ 27).
fn ln_gamma_ratio(a: f64) -> f64 {
    const STIRLING_FROM: f64 = 15.0;
    if a.is_nan() || a <= 0.0 {
        return f64::NAN;
    }
    let (mut shifted, mut product) = (a, 1.0);
    while shifted < STIRLING_FROM {
        product *= shifted / (shifted + 0.5);
        shifted += 1.0;
    }
    // lnΓ(z) = (z − ½) ln z − z + ½ ln 2π + s(z), s(z) = 1/(12z) − 1/(360z³) + 1/(1260z⁵) − …;
    // the first omitted term, 691/(360360 z¹¹), is below 2.3e-16 from z = 15.
    let s = |z: f64| {
        let r = 1.0 / (z * z);
        (1.0 / 12.0 - r * (1.0 / 360.0 - r * (1.0 / 1260.0 - r * (1.0 / 1680.0 - r / 1188.0)))) / z
    };
    let a = shifted;
    let ratio = a * (0.5 / a).ln_1p() + 0.5 * a.ln() - 0.5 + s(a + 0.5) - s(a);
    if product == 1.0 {
        ratio
    } else {
        ratio + product.ln()
    }
}

/// I_x(a, ½) with −ln x = `minus_ln_x` by BGRAT (TOMS 708 `bgrat` with b = ½ and nothing to add):
/// I = u Σₙ dₙ jₙ (d₀ = 1) with T = a − ¼, z = −T ln x, u = e^(−z) z^½ Γ(a + ½) / (Γ(½) Γ(a) T^½),
/// j₀ = Q(½, z)/(e^(−z) z^½/Γ(½)) and jₙ from jₙ₋₁ by D&M's recursion. Needs a ≥ 15.
fn bgrat_half(a: f64, minus_ln_x: f64, ln_gamma_ratio: f64) -> f64 {
    let big_t = a - 0.25;
    let z = big_t * minus_ln_x;
    if z < f64::MIN_POSITIVE {
        // I_x(a, ½) = 1 − O(√z).
        return 1.0;
    }
    // ln u = −z + ½ ln z − ln Γ(½) + ln Γ(a + ½) − ln Γ(a) − ½ ln T, with z / T = −ln x.
    let ln_u = -z + 0.5 * minus_ln_x.ln() - LN_SQRT_PI + ln_gamma_ratio;
    let root = z.sqrt();
    // Q(½, z) = erfc(√z), divided by e^(−z) √z / √π.
    let mut j = erfcx(root, z) * std::f64::consts::PI.sqrt() / root;
    let v = 0.25 / (big_t * big_t);
    let t2 = 0.25 * minus_ln_x * minus_ln_x;
    let mut sum = j;
    let mut power = 1.0;
    for (n, d) in BGRAT_D.iter().enumerate() {
        let bp2n = 0.5 + 2.0 * n as f64;
        j = (bp2n * (bp2n + 1.0) * j + (z + bp2n + 1.0) * power) * v;
        power *= t2;
        let term = d * j;
        sum += term;
        if term.abs() <= 0.5 * f64::EPSILON * sum {
            break;
        }
    }
    ln_u.exp() * sum
}

/// TOMS 708's coefficients dₙ of BGRAT for the parameter b: cₙ = 1/(2n + 1)!, and
/// dₙ = (b − 1) cₙ + (1/n) Σᵢ₌₁ⁿ⁻¹ (i b − n) cᵢ dₙ₋ᵢ.
const fn bgrat_coefficients(b: f64) -> [f64; BGRAT_TERMS] {
    let mut c = [0.0; BGRAT_TERMS];
    let mut d = [0.0; BGRAT_TERMS];
    let mut cn = 1.0;
    let mut n = 1;
    while n <= BGRAT_TERMS {
        let n2 = 2.0 * n as f64;
        cn /= n2 * (n2 + 1.0);
        c[n - 1] = cn;
        let mut s = 0.0;
        let mut coef = b - n as f64;
        let mut i = 1;
        while i < n {
            s += coef * c[i - 1] * d[n - 1 - i];
            coef += b;
            i += 1;
        }
        d[n - 1] = (b - 1.0) * cn + s / n as f64;
        n += 1;
    }
    d
}

/// exp(s²) erfc(s) for s ≥ 0, given `s_squared` = s² (W. J. Cody's CALERF, netlib specfun: rational
/// Chebyshev approximations from Math. Comp. 23 (1969) 631–637, at least 18 significant digits in
/// theory, so the result is good to a few ulps).
// The coefficients as published, some with more digits than a double holds.
#[allow(clippy::excessive_precision)]
fn erfcx(s: f64, s_squared: f64) -> f64 {
    if s <= 0.46875 {
        const A: [f64; 5] = [
            3.161_123_743_870_565_6,
            113.864_154_151_050_16,
            377.485_237_685_302,
            3_209.377_589_138_469_4,
            0.185_777_706_184_603_15,
        ];
        const B: [f64; 4] = [
            23.601_290_952_344_122,
            244.024_637_934_444_17,
            1_282.616_526_077_372_3,
            2_844.236_833_439_171,
        ];
        let y = s_squared;
        let mut num = A[4] * y;
        let mut den = y;
        for i in 0..3 {
            num = (num + A[i]) * y;
            den = (den + B[i]) * y;
        }
        let erf = s * (num + A[3]) / (den + B[3]);
        return s_squared.exp() * (1.0 - erf);
    }
    if s <= 4.0 {
        const C: [f64; 9] = [
            0.564_188_496_988_670_1,
            8.883_149_794_388_377,
            66.119_190_637_141_63,
            298.635_138_197_400_1,
            881.952_221_241_769,
            1_712.047_612_634_070_7,
            2_051.078_377_826_071_6,
            1_230.339_354_797_997_2,
            2.153_115_354_744_038_3e-8,
        ];
        const D: [f64; 8] = [
            15.744_926_110_709_835,
            117.693_950_891_312_5,
            537.181_101_862_009_9,
            1_621.389_574_566_690_2,
            3_290.799_235_733_459_7,
            4_362.619_090_143_247,
            3_439.367_674_143_721_6,
            1_230.339_354_803_749_4,
        ];
        let mut num = C[8] * s;
        let mut den = s;
        for i in 0..7 {
            num = (num + C[i]) * s;
            den = (den + D[i]) * s;
        }
        return (num + C[7]) / (den + D[7]);
    }
    const P: [f64; 6] = [
        0.305_326_634_961_232_34,
        0.360_344_899_949_804_44,
        0.125_781_726_111_229_25,
        0.016_083_785_148_742_277,
        6.587_491_615_298_378e-4,
        0.016_315_387_137_302_098,
    ];
    const Q: [f64; 5] = [
        2.568_520_192_289_822_4,
        1.872_952_849_923_460_5,
        0.527_905_102_951_428_4,
        0.060_518_341_312_441_32,
        0.002_335_204_976_268_691_8,
    ];
    const FRAC_1_SQRT_PI: f64 = 0.564_189_583_547_756_3;
    let y = 1.0 / s_squared;
    let mut num = P[5] * y;
    let mut den = y;
    for i in 0..4 {
        num = (num + P[i]) * y;
        den = (den + Q[i]) * y;
    }
    (FRAC_1_SQRT_PI - y * (num + P[4]) / (den + Q[4])) / s
}

/// The continued fraction of I_x(a, b) (TOMS 708's and Numerical Recipes' form), evaluated by the
/// forward (Wallis) recurrence for its numerators and denominators, rescaled every few steps: the
/// dependency chain is two multiply-adds per step, and the divisions (for the partial numerators
/// and the convergence check) do not wait on each other, where modified Lentz chains two
/// divisions per half-step. No small cap on its length.
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    // h = 1/(1 + e₁/(1 + e₂/(1 + …))): A₀/B₀ = 1/1, A₋₁/B₋₁ = 0/1 with the first level 1 − qab x/qap.
    let (mut a_prev, mut b_prev) = (1.0, 1.0);
    let (mut a_cur, mut b_cur) = (1.0, 1.0 - qab * x / qap);
    let mut h = a_cur / b_cur;
    for m in 1..100_000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let even = m * (b - m) * x / ((qam + m2) * (a + m2));
        let odd = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        let (a_even, b_even) = (a_cur + even * a_prev, b_cur + even * b_prev);
        let (a_odd, b_odd) = (a_even + odd * a_cur, b_even + odd * b_cur);
        (a_prev, b_prev, a_cur, b_cur) = (a_even, b_even, a_odd, b_odd);
        let next = a_cur / b_cur;
        // Within one ulp (relative) of the previous convergent: converged.
        let done = (next - h).abs() <= f64::EPSILON * next.abs();
        h = next;
        if done {
            break;
        }
        // Keep the continuants in range (they grow or shrink geometrically).
        if m % 8.0 == 0.0 {
            let scale = 1.0 / b_cur;
            (a_prev, b_prev, a_cur, b_cur) = (a_prev * scale, b_prev * scale, a_cur * scale, 1.0);
        }
    }
    h
}

/// The same continued fraction by modified Lentz (the method before the Wallis recurrence), for the
/// benchmark's baseline.
fn beta_fraction_lentz(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..100_000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let even = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / guard(1.0 + even * d);
        c = guard(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / guard(1.0 + odd * d);
        c = guard(1.0 + odd / c);
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() <= f64::EPSILON {
            break;
        }
    }
    h
}

/// [`upper_quantile`] with the survival function `survival` (arguments as for
/// [`StudentT::survival_at`]).
fn quantile(alpha: f64, df: f64, survival: impl Fn(&StudentT, f64, f64) -> f64) -> f64 {
    if !(alpha > 0.0 && alpha < 1.0 && df > 0.0) {
        return f64::NAN;
    }
    if alpha > 0.5 {
        return -quantile(1.0 - alpha, df, survival);
    }
    if alpha == 0.5 {
        return 0.0;
    }
    let z = Normal::standard().inverse_cdf(1.0 - alpha);
    if df >= EXPANSION_ONLY_DF {
        return cornish_fisher(z, df);
    }
    let dist = StudentT::new(df);
    let ln_c = dist.ln_density_constant();
    let mut q = start(z, alpha, df, ln_c);
    for _ in 0..MAX_STEPS {
        let ratio = q * q / df;
        let ln_1p_ratio = ratio.ln_1p();
        let f = (ln_c - (dist.a + 0.5) * ln_1p_ratio).exp();
        if f.is_nan() || f <= 0.0 {
            break;
        }
        // Newton step on sf(q) − α, with Halley's correction: f′/f = −(ν+1)q/(ν+q²).
        let newton = (survival(&dist, ratio, ln_1p_ratio) - alpha) / f;
        let halley = newton / (1.0 + 0.5 * newton * (df + 1.0) * q / (df + q * q));
        let next = if q + halley > 0.0 {
            q + halley
        } else {
            q / 2.0
        };
        let done = (next - q).abs() <= HALLEY_CONVERGED * q;
        q = next;
        if done {
            break;
        }
    }
    q
}

/// The starting point: the Cornish–Fisher expansion where it is accurate (ν ≥ 3 for the central
/// quantiles), else the tail approximation sf(q) ≈ c ν^((ν−1)/2) q^(−ν), which is exact as q → ∞
/// (`ln_c` = ln c, c the density's constant Γ((ν+1)/2) / (√(νπ) Γ(ν/2))).
fn start(z: f64, alpha: f64, df: f64, ln_c: f64) -> f64 {
    let tail = ((ln_c + (df - 1.0) / 2.0 * df.ln() - alpha.ln()) / df).exp();
    if df >= 3.0 {
        let expansion = cornish_fisher(z, df);
        if expansion > 0.0 && expansion < tail {
            return expansion;
        }
    }
    tail
}

/// Cornish–Fisher expansion of the t quantile about the normal quantile `z` (A&S 26.7.5).
fn cornish_fisher(z: f64, df: f64) -> f64 {
    let z2 = z * z;
    let g1 = (z2 + 1.0) * z / 4.0;
    let g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
    let g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
    let g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0;
    // One division: four dependent ones by ν cost more than the rest of the expansion.
    let r = 1.0 / df;
    z + r * (g1 + r * (g2 + r * (g3 + r * g4)))
}

#[cfg(test)]
mod tests {
    use super::*;

    // R prints 17 significant digits (`%.17e`), more than the shortest round-trip form.
    /// R's `qt(0.5 + level / 2, df)`: (df, level, quantile).
    #[allow(clippy::excessive_precision)]
    const QT: &[(f64, f64, f64)] = &include!("../tests/data/r_qt.in");
    /// R's `2 * pt(t, df, lower.tail = FALSE)`: (df, t, p).
    #[allow(clippy::excessive_precision)]
    const PT: &[(f64, f64, f64)] = &include!("../tests/data/r_pt.in");

    fn relative(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    #[test]
    fn quantiles_match_r() {
        let mut worst: (f64, f64, f64) = (0.0, 0.0, 0.0);
        for &(df, level, expected) in QT {
            let q = upper_quantile((1.0 - level) / 2.0, df);
            let e = relative(q, expected);
            if e > worst.0 {
                worst = (e, df, level);
            }
        }
        // R's qt is accurate to a few ulps; ours is bounded by the survival function's accuracy
        // and, from ν = 4000, by the expansion's remainder.
        assert!(worst.0 < 1e-12, "worst relative error {worst:?}");
    }

    #[test]
    fn p_values_match_r() {
        let mut worst: (f64, f64, f64) = (0.0, 0.0, 0.0);
        for &(df, t, expected) in PT {
            let e = relative(two_sided_p(t, df), expected);
            if e > worst.0 {
                worst = (e, df, t);
            }
        }
        // R's pt is good to about 14 digits (TOMS 708); the tails of p ≈ 1e-200 are conditioned
        // ~(ν+1)t²/(ν+t²) ≈ 10³ times an ulp of t. Up to ν = 1e7: the continued fraction alone
        // stopped short there (1.6e-10 at ν = 1e7), the expansion does not: measured 1.1e-13
        // (ν = 4000, t = 40, p = 1e-200), 1e-15 for p-values above 1e-10.
        assert!(worst.0 < 5e-13, "worst relative error {worst:?}");
    }

    #[test]
    fn expansion_agrees_with_continued_fraction_where_both_apply() {
        // Two independent methods at the switch y = 0.29 and inside the expansion's region, for a
        // ν where the fraction still converges to full precision (pairs where p underflows skipped).
        let mut compared = 0;
        for df in [30.5, 41.0, 494.0, 4994.0, 5e4] {
            let dist = StudentT::new(df);
            for y in [0.2899, 0.2, 0.05, 1e-3, 1e-6] {
                let ratio = y / (1.0 - y);
                let fraction = dist.fraction(ratio, ratio.ln_1p());
                if fraction < 1e-290 {
                    continue;
                }
                let expansion = dist.survival_at(ratio, ratio.ln_1p());
                let e = relative(expansion, fraction);
                assert!(
                    e < 1e-13,
                    "df {df}, y {y}: {expansion} vs {fraction} ({e:e})"
                );
                compared += 1;
            }
        }
        assert!(compared >= 20, "{compared} comparisons");
    }

    #[test]
    fn erfcx_matches_high_precision() {
        // exp(s²) erfc(s) from mpmath at 40 digits (`mp.erfc(s) * mp.exp(s**2)`), on every piece of
        // Cody's approximation and its joins (0.46875, 4).
        #[allow(clippy::excessive_precision)]
        const CASES: [(f64, f64); 12] = [
            (1e-8, 0.99999998871620842904),
            (0.1, 0.89645697996912664193),
            (0.46875, 0.63206968924955607816),
            (0.5, 0.61569034419292587487),
            (1.0, 0.42758357615580700441),
            (2.0, 0.25539567631050574387),
            (3.9, 0.14031418160068973267),
            (4.0, 0.13699945762506138989),
            (4.5, 0.12248480427384141755),
            (10.0, 0.056140992743822585858),
            (30.0, 0.018795888861416751497),
            (1000.0, 0.0005641893014533876542),
        ];
        for (s, expected) in CASES {
            // A few ulps: the rationals are good to 18 digits, the rest is rounding.
            let e = relative(erfcx(s, s * s), expected);
            assert!(e < 4.0 * f64::EPSILON, "erfcx({s}): relative error {e:e}");
        }
    }

    #[test]
    fn bgrat_coefficients_follow_the_recursion() {
        // d₁ = (b − 1)/3! = −1/12 and d₂ = (b − 1)/5! + ½ (b − 2) c₁ d₁ = 1/160 for b = ½.
        assert!(relative(BGRAT_D[0], -1.0 / 12.0) < 1e-15);
        assert!(relative(BGRAT_D[1], 1.0 / 160.0) < 1e-15);
    }

    #[test]
    fn normal_limit_and_symmetry() {
        let z = Normal::standard().inverse_cdf(0.975);
        assert_eq!(upper_quantile(0.025, f64::INFINITY), z);
        assert!(relative(upper_quantile(0.975, 7.5), -upper_quantile(0.025, 7.5)) < 1e-14);
        assert!(upper_quantile(0.0, 3.0).is_nan() && upper_quantile(0.1, -1.0).is_nan());
    }
}
