//! Long fills of `normal` and small-range `integers` on raw PCG64 outputs made ahead in blocks, on CPUs
//! with the AVX-512 kernels ([`crate::avx512`]).
//!
//! One LCG step is a 128-bit multiply-add whose result is the next step's input, so a serial fill waits
//! for the multiplier's latency on every draw. A block is made by 32 interleaved lanes instead (lane `k`
//! starts `k + 1` steps after the block's start and advances 32 steps at a time, the jump-ahead algebra
//! of `advance`), whose multiplies are independent. The samplers then read the block in stream order,
//! eight or sixteen draws at a time in the kernels and one at a time (rare paths included, through a
//! [`Cursor`]) in the scalar code below; a fill ends by setting the generator to the exact state after
//! the last output it read ([`Block::lcg_after`]). Outputs made but not read are never seen, so a fill
//! gives the serial path's draws and leaves the generator exactly where the serial path would.
//!
//! Measured (`cargo bench -p parsim-random --bench draws -- fill_5000`), the same blocks made by four
//! scalar lanes lose to the serial path (the scalar multiplier is busy either way), so CPUs without the
//! kernels keep the serial path.

use crate::avx512;
use crate::distributions::{lemire_u32_redraw, normal_layer, normal_rare, NormalRare};
use crate::pcg64::{jump, HalfWords, Lcg, Raw};

/// Outputs per block (whole rounds of the kernel's lanes): 2 KiB, comfortably inside L1.
pub(crate) const BLOCK: usize = 256;

/// Fills shorter than this stay serial: a block's setup and the final jump cost more than they save.
const BLOCKED_MIN: usize = 64;

/// A block of raw outputs `buf[..len]`: the outputs of the `len` LCG steps after `start`.
pub(crate) struct Block {
    buf: [u64; BLOCK],
    len: usize,
    /// The LCG state before `buf[0]`.
    start: u128,
    /// The LCG state after `buf[len - 1]` (`start` while the block is empty).
    end: u128,
    inc: u128,
}

impl Block {
    /// An empty block continuing from `lcg` (the first read makes outputs), if the CPU runs the
    /// kernels: a `Block` exists only where they can run.
    fn new(lcg: Lcg) -> Option<Self> {
        avx512::available().then_some(Block {
            buf: [0; BLOCK],
            len: 0,
            start: lcg.state,
            end: lcg.state,
            inc: lcg.inc,
        })
    }

    /// The output at `*pos`, which then moves on (see [`Block::ensure`]).
    #[inline(always)]
    pub(crate) fn next_at(&mut self, pos: &mut usize, want: usize) -> u64 {
        self.ensure(pos, want);
        let v = self.buf[*pos];
        *pos += 1;
        v
    }

    /// When the block is used up, makes the next one, with at least `want` outputs (a lower bound on
    /// what the caller still needs, so that little is made in vain at the end of a fill).
    #[inline(always)]
    pub(crate) fn ensure(&mut self, pos: &mut usize, want: usize) {
        if *pos == self.len {
            self.refill(want);
            *pos = 0;
        }
    }

    /// The outputs not read yet.
    #[inline(always)]
    pub(crate) fn unread(&self, pos: usize) -> &[u64] {
        &self.buf[pos..self.len]
    }

    /// Makes the outputs after this block's: `want` rounded up to whole rounds, at most [`BLOCK`].
    #[inline(never)]
    fn refill(&mut self, want: usize) {
        let len = want.clamp(1, BLOCK).next_multiple_of(avx512::LANES);
        self.start = self.end;
        // SAFETY: a `Block` exists only where the CPU has the kernels' features (`Block::new`).
        self.end = unsafe { avx512::generate(&mut self.buf[..len], self.start, self.inc) };
        self.len = len;
    }

    /// The generator's LCG after the first `pos` outputs of this block were read.
    fn lcg_after(&self, pos: usize) -> Lcg {
        let state = if pos == self.len {
            self.end
        } else {
            jump(self.start, self.inc, pos as u128)
        };
        Lcg {
            state,
            inc: self.inc,
        }
    }
}

/// A read position in a block, as a [`Raw`] source for the samplers' rare paths (which take it by
/// reference; the hot loops keep the position in a local instead, so that it stays in a register).
struct Cursor<'a> {
    block: &'a mut Block,
    pos: usize,
}

impl Raw for Cursor<'_> {
    #[inline(always)]
    fn next_u64(&mut self) -> u64 {
        self.block.next_at(&mut self.pos, 1)
    }
}

/// `normal(loc, scale, size)` (`affine = Some((loc, scale))`) or `standard_normal(size)` (`None`) into
/// `out` from blocks, with the serial path's values and final state; returns false, drawing nothing, if
/// the fill is short or the CPU lacks the kernels.
pub(crate) fn fill_normal(lcg: &mut Lcg, out: &mut [f64], affine: Option<(f64, f64)>) -> bool {
    if out.len() < BLOCKED_MIN {
        return false;
    }
    let Some(mut block) = Block::new(*lcg) else {
        return false;
    };
    let n = out.len();
    let mut pos = 0;
    // Every remaining draw needs at least one output. Two roundings, no FMA, as numpy's x86_64 build.
    let draw = |block: &mut Block, pos: &mut usize, i: usize| {
        let z = normal_from_block(block, pos, n - i);
        affine.map_or(z, |(loc, scale)| loc + scale * z)
    };
    // SAFETY: a `Block` exists only where the CPU has the kernels' features.
    unsafe { avx512::fill_normal(&mut block, &mut pos, out, affine, draw) };
    *lcg = block.lcg_after(pos);
    true
}

/// One standard normal draw reading raw outputs from position `*pos` of a block.
#[inline(always)]
fn normal_from_block(block: &mut Block, pos: &mut usize, want: usize) -> f64 {
    loop {
        match normal_layer(block.next_at(pos, want)) {
            Ok(x) => return x,
            Err(rare) => {
                let accepted;
                (*pos, accepted) = normal_rare_in_block(block, *pos, rare);
                if let Some(x) = accepted {
                    return x;
                }
            }
        }
    }
}

/// The ziggurat's rare path reading on from position `pos` of a block; returns the position after its
/// reads and the draw, if accepted.
#[cold]
#[inline(never)]
fn normal_rare_in_block(block: &mut Block, pos: usize, rare: NormalRare) -> (usize, Option<f64>) {
    let mut cursor = Cursor { block, pos };
    let accepted = normal_rare(&mut cursor, rare);
    (cursor.pos, accepted)
}

/// A read position in a block and numpy's half-word buffer, for 32-bit draws.
pub(crate) struct WordsAt {
    pub(crate) pos: usize,
    pub(crate) has_uint32: bool,
    pub(crate) uinteger: u32,
}

/// `random_bounded_uint64_fill` for `0 < range < 2^32 - 1` (numpy's 32-bit Lemire on half-words) into
/// `out` from blocks, with the serial path's draws and final state, half-word buffer included; returns
/// false, drawing nothing, if the fill is short or the CPU lacks the kernels.
pub(crate) fn fill_bounded_u32(
    words: &mut HalfWords,
    off: u64,
    range: u32,
    out: &mut [i64],
) -> bool {
    if out.len() < BLOCKED_MIN {
        return false;
    }
    let Some(mut block) = Block::new(words.lcg) else {
        return false;
    };
    let excl = range + 1;
    // numpy computes the threshold only when the low word is below `excl`; it is below `excl` itself,
    // so "low word < threshold" is the same rejection test.
    let threshold = (u32::MAX - range) % excl;
    let mut at = WordsAt {
        pos: 0,
        has_uint32: words.has_uint32,
        uinteger: words.uinteger,
    };
    let n = out.len();
    // Two draws per output at most: at least half the remaining ones are still needed.
    let draw = |block: &mut Block, at: &mut WordsAt, i: usize| {
        let m = lemire_u32_from_block(block, at, (excl, threshold), (n - i).div_ceil(2));
        off.wrapping_add(m >> 32) as i64
    };
    // SAFETY: a `Block` exists only where the CPU has the kernels' features.
    unsafe { avx512::fill_bounded_u32(&mut block, &mut at, out, (off, excl, threshold), draw) };
    *words = HalfWords {
        lcg: block.lcg_after(at.pos),
        has_uint32: at.has_uint32,
        uinteger: at.uinteger,
    };
    true
}

/// One accepted Lemire product (the draw in its high word) from the half-words of a block.
#[inline(always)]
fn lemire_u32_from_block(
    block: &mut Block,
    at: &mut WordsAt,
    (excl, threshold): (u32, u32),
    want: usize,
) -> u64 {
    let word = if at.has_uint32 {
        at.has_uint32 = false;
        at.uinteger
    } else {
        let r = block.next_at(&mut at.pos, want);
        at.has_uint32 = true;
        at.uinteger = (r >> 32) as u32;
        r as u32
    };
    let m = u64::from(word) * u64::from(excl);
    if (m as u32) < threshold {
        return lemire_redraw_in_block(block, at, excl, threshold);
    }
    m
}

/// Lemire's rejection loop reading on from a block (odds of threshold / 2^32 per draw); returns the
/// accepted product.
#[cold]
#[inline(never)]
fn lemire_redraw_in_block(block: &mut Block, at: &mut WordsAt, excl: u32, threshold: u32) -> u64 {
    let mut words = HalfWords {
        lcg: Cursor { block, pos: at.pos },
        has_uint32: at.has_uint32,
        uinteger: at.uinteger,
    };
    // m = 0 is below any non-zero threshold, so the loop draws at least once.
    let m = lemire_u32_redraw(&mut words, 0, excl, threshold);
    (at.pos, at.has_uint32, at.uinteger) = (words.lcg.pos, words.has_uint32, words.uinteger);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(state: u128, inc: u128) -> Lcg {
        Lcg { state, inc }
    }

    /// Arbitrary but fixed states and odd increments (numpy's increments are odd).
    const CASES: [(u128, u128); 3] = [
        (0, 1),
        (
            0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
            0xdead_beef_0000_0001,
        ),
        (u128::MAX, u128::MAX),
    ];

    #[test]
    fn the_avx512_generator_equals_serial_steps() {
        if !avx512::available() {
            return;
        }
        for (state, inc) in CASES {
            for len in [
                avx512::LANES,
                2 * avx512::LANES,
                BLOCK - avx512::LANES,
                BLOCK,
            ] {
                let mut buf = [0; BLOCK];
                // SAFETY: the CPU has the kernel's features.
                let end = unsafe { avx512::generate(&mut buf[..len], state, inc) };
                let mut serial = lcg(state, inc);
                for &v in &buf[..len] {
                    assert_eq!(v, serial.next_u64());
                }
                assert_eq!(end, serial.state);
            }
        }
    }

    #[test]
    fn blocks_read_in_order_equal_serial_steps_and_leave_the_serial_state() {
        for (state, inc) in CASES {
            for want in [1, 3, 32, 33, 255, 256, 257, 1000] {
                let Some(mut block) = Block::new(lcg(state, inc)) else {
                    return;
                };
                let mut serial = lcg(state, inc);
                let mut pos = 0;
                assert_eq!(block.lcg_after(pos).state, state);
                // Read across several refills; compare the state after every read.
                for _ in 0..want + 2 * BLOCK {
                    assert_eq!(block.next_at(&mut pos, want), serial.next_u64());
                    assert_eq!(block.lcg_after(pos).state, serial.state);
                }
            }
        }
    }

    #[test]
    fn a_cursor_reads_the_same_stream() {
        let (state, inc) = CASES[1];
        let Some(mut block) = Block::new(lcg(state, inc)) else {
            return;
        };
        let mut serial = lcg(state, inc);
        let mut cursor = Cursor {
            block: &mut block,
            pos: 0,
        };
        for _ in 0..3 * avx512::LANES + 1 {
            assert_eq!(cursor.next_u64(), serial.next_u64());
        }
        let pos = cursor.pos;
        assert_eq!(block.lcg_after(pos).state, serial.state);
    }
}
