//! AVX-512 kernels of the blocked fills ([`crate::block`]), used only where the CPU has AVX-512F, DQ and
//! IFMA (checked at run time by [`available`]); every other CPU keeps the serial path, which the tests
//! compare these kernels against bit for bit.
//!
//! * [`generate`] makes a block with 32 LCG lanes in four vectors. A 128-bit state is held as three
//!   limbs of 52, 52 and 24 bits so that IFMA's 52-bit multiplies (`vpmadd52luq`/`vpmadd52huq`) give the
//!   exact product mod 2^128.
//! * [`fill_normal`] runs the ziggurat's first test on eight outputs at once (gathering the layer
//!   tables). In a group with a rare draw (~5.5% of groups) it keeps the draws before it and makes the
//!   rare one the scalar way, so the rare paths read the block in stream order as before.
//! * [`fill_bounded_u32`] makes sixteen 32-bit Lemire draws from eight outputs (low half first); a
//!   group with a rejection, and a buffered half-word, go the scalar way.

// Compiled only by Rust >= 1.89 (see build.rs), whatever the workspace's declared minimum.
#![allow(clippy::incompatible_msrv)]

use std::arch::x86_64::*;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::block::{Block, WordsAt};
use crate::pcg64::jump_map;
use crate::tables::{KI, WI};

/// Whether the kernels may run where the CPU has them ([`crate::use_simd_kernels`]).
static ENABLED: AtomicBool = AtomicBool::new(true);

pub(crate) fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// Whether the kernels run: enabled, and this CPU has their instructions (std caches the answer).
#[inline]
pub(crate) fn available() -> bool {
    ENABLED.load(Ordering::Relaxed)
        && is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512dq")
        && is_x86_feature_detected!("avx512ifma")
}

/// Vectors of eight lanes; four independent ones hide the multiply-add chain's latency.
const VECTORS: usize = 4;

/// LCG lanes of [`generate`]; blocks are made in whole rounds of this many outputs.
pub(crate) const LANES: usize = 8 * VECTORS;

const MASK52: u64 = (1 << 52) - 1;

/// A 128-bit value as limbs `[bits 0..52, bits 52..104, bits 104..128]`.
const fn limbs(v: u128) -> [u64; 3] {
    [
        (v as u64) & MASK52,
        ((v >> 52) as u64) & MASK52,
        (v >> 104) as u64,
    ]
}

/// Per lane `j` of vector `v` (lane `8 v + j`), the limbs of the map of `8 v + j + 1` steps (see
/// `jump_map`), which gives the lanes' first states after a block's start: `[0][v][limb][j]` the
/// multipliers, `[1][v][limb][j]` the factors of the increment, ready to load.
const LANE_START: [[[[u64; 8]; 3]; VECTORS]; 2] = {
    let mut maps = [[[[0; 8]; 3]; VECTORS]; 2];
    let mut lane = 0;
    while lane < LANES {
        let (mult, sum) = jump_map(lane as u128 + 1);
        let (m, s) = (limbs(mult), limbs(sum));
        let mut l = 0;
        while l < 3 {
            maps[0][lane / 8][l][lane % 8] = m[l];
            maps[1][lane / 8][l][lane % 8] = s[l];
            l += 1;
        }
        lane += 1;
    }
    maps
};

/// Eight 128-bit values, limb by limb (each limb below its width).
#[derive(Clone, Copy)]
struct Limbs([__m512i; 3]);

impl Limbs {
    #[target_feature(enable = "avx512f")]
    fn splat(v: u128) -> Self {
        let [a, b, c] = limbs(v);
        Limbs([a, b, c].map(|l| _mm512_set1_epi64(l as i64)))
    }

    #[target_feature(enable = "avx512f")]
    fn load(l: &[[u64; 8]; 3]) -> Self {
        // SAFETY: each row is 8 u64s, read unaligned.
        Limbs(l.map(|row| unsafe { _mm512_loadu_si512(row.as_ptr().cast()) }))
    }

    /// `self * b + c` mod 2^128. The product keeps only the partial products below bit 128: limb sums
    /// stay below 6 * 2^52, so nothing overflows 64 bits before the carries are propagated.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn mul_add(self, b: Limbs, c: Limbs) -> Limbs {
        let ([x0, x1, x2], [b0, b1, b2], [c0, c1, c2]) = (self.0, b.0, c.0);
        let l0 = _mm512_madd52lo_epu64(c0, x0, b0);
        let l1 = _mm512_madd52hi_epu64(c1, x0, b0);
        let l1 = _mm512_madd52lo_epu64(l1, x0, b1);
        let l1 = _mm512_madd52lo_epu64(l1, x1, b0);
        let l2 = _mm512_madd52hi_epu64(c2, x0, b1);
        let l2 = _mm512_madd52hi_epu64(l2, x1, b0);
        let l2 = _mm512_madd52lo_epu64(l2, x0, b2);
        let l2 = _mm512_madd52lo_epu64(l2, x1, b1);
        let l2 = _mm512_madd52lo_epu64(l2, x2, b0);
        let mask52 = _mm512_set1_epi64(MASK52 as i64);
        let l1 = _mm512_add_epi64(l1, _mm512_srli_epi64::<52>(l0));
        let l2 = _mm512_add_epi64(l2, _mm512_srli_epi64::<52>(l1));
        Limbs([
            _mm512_and_si512(l0, mask52),
            _mm512_and_si512(l1, mask52),
            _mm512_and_si512(l2, _mm512_set1_epi64((1 << 24) - 1)),
        ])
    }

    /// XSL-RR output of each state: `rotr(hi ^ lo, state >> 122)`.
    #[target_feature(enable = "avx512f")]
    fn output(self) -> __m512i {
        let [l0, l1, l2] = self.0;
        let lo = _mm512_or_si512(l0, _mm512_slli_epi64::<52>(l1));
        let hi = _mm512_or_si512(_mm512_srli_epi64::<12>(l1), _mm512_slli_epi64::<40>(l2));
        _mm512_rorv_epi64(_mm512_xor_si512(hi, lo), _mm512_srli_epi64::<18>(l2))
    }

    /// The value in lane `j`.
    #[target_feature(enable = "avx512f")]
    fn lane(self, j: usize) -> u128 {
        let mut rows = [[0u64; 8]; 3];
        for (row, v) in rows.iter_mut().zip(self.0) {
            // SAFETY: `row` holds 8 u64s.
            unsafe { _mm512_storeu_si512(row.as_mut_ptr().cast(), v) };
        }
        u128::from(rows[0][j]) | u128::from(rows[1][j]) << 52 | u128::from(rows[2][j]) << 104
    }
}

/// Fills `buf` (whole rounds of [`LANES`] outputs) with the outputs of the LCG steps after `start`
/// (`buf[32 r + k]`, from lane `k` in round `r`, is step `32 r + k + 1`) and returns the state after
/// the last one.
#[target_feature(enable = "avx512f,avx512ifma")]
pub(crate) fn generate(buf: &mut [u64], start: u128, inc: u128) -> u128 {
    assert!(!buf.is_empty() && buf.len().is_multiple_of(LANES));
    let (start_v, inc_v) = (Limbs::splat(start), Limbs::splat(inc));
    let zero = Limbs::splat(0);
    let mut lanes = [zero; VECTORS];
    for (v, lane) in lanes.iter_mut().enumerate() {
        let (mult, sum) = (
            Limbs::load(&LANE_START[0][v]),
            Limbs::load(&LANE_START[1][v]),
        );
        *lane = inc_v.mul_add(sum, start_v.mul_add(mult, zero));
    }
    let (round_mult, round_sum) = jump_map(LANES as u128);
    let (round_mult, round_plus) = (
        Limbs::splat(round_mult),
        Limbs::splat(inc.wrapping_mul(round_sum)),
    );
    let mut last = lanes[VECTORS - 1];
    for round in buf.chunks_exact_mut(LANES) {
        for (out, lane) in round.chunks_exact_mut(8).zip(&mut lanes) {
            // SAFETY: `out` holds 8 u64s.
            unsafe { _mm512_storeu_si512(out.as_mut_ptr().cast(), lane.output()) };
        }
        last = lanes[VECTORS - 1];
        for lane in &mut lanes {
            *lane = lane.mul_add(round_mult, round_plus);
        }
    }
    last.lane(7)
}

/// Loads eight raw outputs.
#[target_feature(enable = "avx512f")]
fn load8(raw: &[u64]) -> __m512i {
    assert!(raw.len() >= 8);
    // SAFETY: at least 8 u64s, read unaligned.
    unsafe { _mm512_loadu_si512(raw.as_ptr().cast()) }
}

/// The ziggurat's first test on eight raw outputs, as `normal_layer` does it for one: the mask of the
/// accepted draws and the draws, through `loc + scale * z` when `affine` is `Some((loc, scale))`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn normal8(raw: &[u64], affine: Option<(__m512d, __m512d)>) -> (u8, __m512d) {
    let r = load8(raw);
    let idx = _mm512_and_si512(r, _mm512_set1_epi64(0xff));
    let r = _mm512_srli_epi64::<8>(r);
    let sign = _mm512_slli_epi64::<63>(r);
    let rabs = _mm512_and_si512(
        _mm512_srli_epi64::<1>(r),
        _mm512_set1_epi64(0x000f_ffff_ffff_ffff),
    );
    // SAFETY: every index is below 256, the tables' length.
    let (wi, ki) = unsafe {
        (
            _mm512_i64gather_pd::<8>(idx, WI.as_ptr()),
            _mm512_i64gather_epi64::<8>(idx, KI.as_ptr().cast()),
        )
    };
    // rabs < 2^52: the conversion is exact, as the scalar `(rabs as i64) as f64`.
    let magnitude = _mm512_mul_pd(_mm512_cvtepi64_pd(rabs), wi);
    let mut z = _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(magnitude), sign));
    if let Some((loc, scale)) = affine {
        // Two roundings, as the scalar `loc + scale * z`.
        z = _mm512_add_pd(loc, _mm512_mul_pd(scale, z));
    }
    (_mm512_cmplt_epu64_mask(rabs, ki), z)
}

/// The blocked normal fill: groups of eight draws through [`normal8`]; a rare draw (and the last few
/// draws) through `scalar_draw(block, pos, i)`, which makes draw `i` the scalar way. `affine` is
/// `(loc, scale)`, or `None` for standard normal draws.
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
pub(crate) fn fill_normal(
    block: &mut Block,
    pos: &mut usize,
    out: &mut [f64],
    affine: Option<(f64, f64)>,
    mut scalar_draw: impl FnMut(&mut Block, &mut usize, usize) -> f64,
) {
    let affine = affine.map(|(loc, scale)| (_mm512_set1_pd(loc), _mm512_set1_pd(scale)));
    let n = out.len();
    let mut i = 0;
    while i < n {
        if n - i >= 8 {
            block.ensure(pos, n - i);
            let raw = block.unread(*pos);
            if raw.len() >= 8 {
                let (accepted, z) = normal8(raw, affine);
                let out = &mut out[i..i + 8];
                if accepted == 0xff {
                    // The common case (~94.5%) keeps the read position independent of the draws, so
                    // the next group's loads need not wait for this group's table lookups.
                    // SAFETY: `out` holds 8 f64s.
                    unsafe { _mm512_storeu_pd(out.as_mut_ptr(), z) };
                    *pos += 8;
                    i += 8;
                    continue;
                }
                // Keep the draws before the first rare one.
                let before = accepted.trailing_ones() as usize;
                // SAFETY: `out` holds 8 f64s; the mask writes the first `before`.
                unsafe { _mm512_mask_storeu_pd(out.as_mut_ptr(), (1u8 << before) - 1, z) };
                *pos += before;
                i += before;
            }
        }
        // The rare draw (its first test is repeated), or one of the last few.
        out[i] = scalar_draw(block, pos, i);
        i += 1;
    }
}

/// Sixteen Lemire draws on [0, excl) from the half-words of eight raw outputs (low half first), offset
/// by `off`. If none is rejected (low word below `threshold`), stores them in `out` and returns true.
#[target_feature(enable = "avx512f")]
fn lemire16(raw: &[u64], excl: u32, threshold: u32, off: u64, out: &mut [i64]) -> bool {
    let r = load8(raw);
    let excl = _mm512_set1_epi64(i64::from(excl));
    // `mul_epu32` multiplies the low 32 bits of each lane.
    let m_lo = _mm512_mul_epu32(r, excl);
    let m_hi = _mm512_mul_epu32(_mm512_srli_epi64::<32>(r), excl);
    let low_word = _mm512_set1_epi64(0xffff_ffff);
    let threshold = _mm512_set1_epi64(i64::from(threshold));
    let rejected = _mm512_cmplt_epu64_mask(_mm512_and_si512(m_lo, low_word), threshold)
        | _mm512_cmplt_epu64_mask(_mm512_and_si512(m_hi, low_word), threshold);
    if rejected != 0 {
        return false;
    }
    let off = _mm512_set1_epi64(off as i64);
    let v_lo = _mm512_add_epi64(_mm512_srli_epi64::<32>(m_lo), off);
    let v_hi = _mm512_add_epi64(_mm512_srli_epi64::<32>(m_hi), off);
    // Draw order: lo0, hi0, lo1, hi1, ...
    let first = _mm512_permutex2var_epi64(v_lo, _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11), v_hi);
    let second =
        _mm512_permutex2var_epi64(v_lo, _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15), v_hi);
    assert!(out.len() >= 16);
    // SAFETY: `out` holds at least 16 i64s.
    unsafe {
        _mm512_storeu_si512(out.as_mut_ptr().cast(), first);
        _mm512_storeu_si512(out[8..].as_mut_ptr().cast(), second);
    }
    true
}

/// The blocked 32-bit Lemire fill: groups of sixteen draws through [`lemire16`]; a buffered half-word,
/// a group with a rejection and the last few draws through `scalar_draw` one draw at a time.
#[target_feature(enable = "avx512f,avx512ifma")]
pub(crate) fn fill_bounded_u32(
    block: &mut Block,
    at: &mut WordsAt,
    out: &mut [i64],
    (off, excl, threshold): (u64, u32, u32),
    mut scalar_draw: impl FnMut(&mut Block, &mut WordsAt, usize) -> i64,
) {
    let n = out.len();
    let mut i = 0;
    while i < n {
        if n - i >= 16 && at.has_uint32 {
            // Use up the buffered half-word, so that the next group starts on a whole output.
            out[i] = scalar_draw(block, at, i);
            i += 1;
            continue;
        }
        if n - i >= 16 {
            block.ensure(&mut at.pos, (n - i) / 2);
            let raw = block.unread(at.pos);
            if raw.len() >= 8 && lemire16(raw, excl, threshold, off, &mut out[i..]) {
                // numpy leaves the last high half in `uinteger` after using it.
                at.uinteger = (raw[7] >> 32) as u32;
                at.pos += 8;
                i += 16;
                continue;
            }
        }
        let end = (i + 16).min(n);
        for (j, o) in out[i..end].iter_mut().enumerate() {
            *o = scalar_draw(block, at, i + j);
        }
        i = end;
    }
}
