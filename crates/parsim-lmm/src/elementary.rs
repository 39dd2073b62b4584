//! e^x and log x without a call or a branch, so that loops over observations vectorize (the
//! GLMM's means and deviance take one of each per observation and PIRLS iteration; libm's cost a
//! call and 40-50 instructions each). Within an ulp of the correctly rounded values (tested
//! against libm below): Cody-Waite reduction by ln 2 and Taylor series of e^r and of
//! log((1 + s)/(1 − s)) on the reduced ranges.

/// ln 2 split: the high part has 32 significant bits, so n·LN2_HI is exact for |n| < 2²¹.
const LN2_HI: f64 = 0.693_147_180_369_123_8;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// 1.5·2⁵²: adding it to a double below 2⁵¹ in magnitude rounds it to an integer held in the
/// low bits of the sum's representation.
const SHIFT: f64 = 6_755_399_441_055_744.0;

/// e^x for |x| ≤ 708, where 2ⁿ is a normal number (callers clamp; NaN gives NaN):
/// x = n ln 2 + r with |r| ≤ ln 2 / 2, e^r by its Taylor series to r¹³ (the next term is below
/// 2⁻⁵⁸ of e^r), times 2ⁿ built in the exponent bits.
#[inline(always)]
pub(crate) fn exp(x: f64) -> f64 {
    let shifted = x * std::f64::consts::LOG2_E + SHIFT;
    let n = shifted - SHIFT;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // 1/k! for k = 13 down to 2.
    const C: [f64; 12] = [
        1.0 / 6_227_020_800.0,
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
    ];
    let mut q = C[0];
    for c in &C[1..] {
        q = q * r + c;
    }
    // 1 + (r + r²q): the small part summed first keeps the rounding to about half an ulp.
    let er = 1.0 + (r + r * r * q);
    // 2ⁿ: n + 1023 in the exponent field (the shift's own bits fall off the top).
    let scale = f64::from_bits(shifted.to_bits().wrapping_add(1023) << 52);
    er * scale
}

/// log x for any x (0 gives −∞, a negative x or NaN gives NaN, +∞ gives +∞): x = 2ᵏm with
/// m in [√½, √2), and with f = m − 1, s = f/(2 + f), log m = 2 atanh s = f − s(f − R),
/// R = Σ 2s²ʲ/(2j + 1) to j = 11 (the next term is below 2⁻⁵⁸ of log m).
#[inline(always)]
pub(crate) fn ln(x: f64) -> f64 {
    // Subnormals scaled into the normal range first.
    let tiny = x < f64::MIN_POSITIVE;
    let scaled = if tiny { x * TWO_54 } else { x };
    let bits = scaled.to_bits();
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let high = m > std::f64::consts::SQRT_2;
    let m = if high { 0.5 * m } else { m };
    // The exponent field as a double (OR-ed into 2⁵²'s mantissa: no integer conversion, which
    // AVX2 lacks for 64-bit lanes), unbiased and corrected.
    let field = f64::from_bits(0x4330_0000_0000_0000 | (bits >> 52 & 0x7ff)) - TWO_52;
    let k = field - 1023.0 - if tiny { 54.0 } else { 0.0 } + if high { 1.0 } else { 0.0 };
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    // 2/(2j + 1) for j = 11 down to 1.
    const C: [f64; 11] = [
        2.0 / 23.0,
        2.0 / 21.0,
        2.0 / 19.0,
        2.0 / 17.0,
        2.0 / 15.0,
        2.0 / 13.0,
        2.0 / 11.0,
        2.0 / 9.0,
        2.0 / 7.0,
        2.0 / 5.0,
        2.0 / 3.0,
    ];
    let mut r = C[0];
    for c in &C[1..] {
        r = r * z + c;
    }
    r *= z;
    let log_m = f - s * (f - r);
    let value = k * LN2_HI + (log_m + k * LN2_LO);
    // Outside (0, ∞): libm's conventions (selects, not branches: `&`, not `&&`).
    let special = if x == 0.0 {
        f64::NEG_INFINITY
    } else if x == f64::INFINITY {
        x
    } else {
        f64::NAN
    };
    if (x > 0.0) & (x < f64::INFINITY) {
        value
    } else {
        special
    }
}

/// 2⁵² and 2⁵⁴.
const TWO_52: f64 = 4_503_599_627_370_496.0;
const TWO_54: f64 = 18_014_398_509_481_984.0;

#[cfg(test)]
mod tests {
    use super::*;

    /// The arguments [`exp`] takes.
    const EXP_LIMIT: f64 = 708.0;

    /// Distance in units in the last place between two finite doubles of one sign.
    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    /// A spread of doubles: an even grid and pseudo-random points (a fixed LCG), in [lo, hi].
    fn points(lo: f64, hi: f64) -> impl Iterator<Item = f64> {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        (0..200_000).map(move |i| {
            if i % 2 == 0 {
                lo + (hi - lo) * (i as f64 / 200_000.0)
            } else {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                lo + (hi - lo) * ((state >> 11) as f64 / (1u64 << 53) as f64)
            }
        })
    }

    #[test]
    fn exp_is_within_an_ulp_of_libm() {
        // libm's exp is correctly rounded but for rare cases, so an ulp from it is at most about
        // an ulp from the truth.
        for (lo, hi) in [(-EXP_LIMIT, EXP_LIMIT), (-31.0, 31.0), (-1e-3, 1e-3)] {
            for x in points(lo, hi) {
                assert!(ulps(exp(x), x.exp()) <= 1, "exp({x:e})");
            }
        }
        for x in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            EXP_LIMIT,
            -EXP_LIMIT,
            0.5 * std::f64::consts::LN_2,
        ] {
            assert!(ulps(exp(x), x.exp()) <= 1, "exp({x:e})");
        }
        assert!(exp(f64::NAN).is_nan());
    }

    #[test]
    fn ln_is_within_an_ulp_of_libm() {
        // Every binade, subnormals included, then the ranges the deviance meets.
        let spread = points(-1074.0, 1023.9).map(|e| 2f64.powf(e));
        let ranges = [(0.5, 2.0), (1e-17, 1.0), (0.999, 1.001)];
        for x in spread.chain(ranges.iter().flat_map(|&(lo, hi)| points(lo, hi))) {
            assert!(ulps(ln(x), x.ln()) <= 1, "ln({x:e})");
        }
        for x in [
            1.0,
            f64::EPSILON,
            1.0 - f64::EPSILON,
            f64::MIN_POSITIVE,
            5e-324,
            1e-310,
            f64::MAX,
            std::f64::consts::SQRT_2,
        ] {
            assert!(ulps(ln(x), x.ln()) <= 1, "ln({x:e})");
        }
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert_eq!(ln(f64::INFINITY), f64::INFINITY);
        assert!(ln(-1.0).is_nan() && ln(f64::NAN).is_nan());
    }
}
