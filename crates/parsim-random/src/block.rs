//! Raw PCG64 outputs made ahead in blocks, for long fills.
//!
//! One LCG step is a 128-bit multiply-add whose result is the next step's input, so a serial fill waits
//! for the multiplier's latency on every draw. A block is made with [`LANES`] interleaved lanes instead:
//! lane `k` starts at the state `k + 1` steps after the block's start and every lane advances by `LANES`
//! steps at a time (`MULT^LANES` and the matching increment, the jump-ahead algebra of `advance`), so the
//! lanes' multiplies are independent and overlap. The samplers then read the block in stream order
//! (their rare paths too, through a [`Cursor`]), and a fill ends by setting the generator to the exact
//! state after the last output it read ([`Block::lcg_after`]): outputs made but not read are never seen,
//! so a fill leaves the generator exactly where the serial path would.

use crate::pcg64::{jump, jump_map, output, Lcg, Raw};

/// Outputs per block (a multiple of [`LANES`]): 2 KiB, comfortably inside L1.
pub(crate) const BLOCK: usize = 256;

/// Interleaved LCG lanes.
const LANES: usize = 4;

/// Lane `k`'s first state is `k + 1` steps after the block's start: the maps of 1..=LANES steps.
const LANE_START: [(u128, u128); LANES] = {
    let mut maps = [(0, 0); LANES];
    let mut k = 0;
    while k < LANES {
        maps[k] = jump_map(k as u128 + 1);
        k += 1;
    }
    maps
};

/// One round advances every lane by `LANES` steps.
const ROUND: (u128, u128) = jump_map(LANES as u128);

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
    /// An empty block continuing from `lcg`; the first read makes outputs.
    pub(crate) fn new(lcg: Lcg) -> Self {
        Block {
            buf: [0; BLOCK],
            len: 0,
            start: lcg.state,
            end: lcg.state,
            inc: lcg.inc,
        }
    }

    /// The output at `*pos`, which then moves on; when the block is used up, the next one is made first,
    /// with at least `want` outputs (a lower bound on what the caller still needs, so that little is made
    /// in vain at the end of a fill).
    #[inline(always)]
    pub(crate) fn next_at(&mut self, pos: &mut usize, want: usize) -> u64 {
        if *pos == self.len {
            self.refill(want);
            *pos = 0;
        }
        let v = self.buf[*pos];
        *pos += 1;
        v
    }

    /// Makes the outputs after this block's: `want` rounded up to whole rounds, between one round and
    /// [`BLOCK`].
    #[inline(never)]
    fn refill(&mut self, want: usize) {
        let len = want.clamp(1, BLOCK).next_multiple_of(LANES);
        self.start = self.end;
        self.end = generate(&mut self.buf[..len], self.start, self.inc);
        self.len = len;
    }

    /// The generator's LCG after the first `pos` outputs of this block were read.
    pub(crate) fn lcg_after(&self, pos: usize) -> Lcg {
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

/// Fills `buf` (a whole number of rounds) with the outputs of the steps after `start`; returns the state
/// after the last one.
fn generate(buf: &mut [u64], start: u128, inc: u128) -> u128 {
    debug_assert!(!buf.is_empty() && buf.len() % LANES == 0);
    let mut lanes: [u128; LANES] = std::array::from_fn(|k| {
        let (mult, sum) = LANE_START[k];
        mult.wrapping_mul(start).wrapping_add(inc.wrapping_mul(sum))
    });
    let (round_mult, round_sum) = ROUND;
    let round_plus = inc.wrapping_mul(round_sum);
    let mut last = start;
    for round in buf.chunks_exact_mut(LANES) {
        for (o, s) in round.iter_mut().zip(&mut lanes) {
            *o = output(*s);
            last = *s;
            *s = s.wrapping_mul(round_mult).wrapping_add(round_plus);
        }
    }
    last
}

/// A read position in a block, as a [`Raw`] source for the samplers' rare paths (which take it by
/// reference; the hot loops keep the position in a local instead, so that it stays in a register).
pub(crate) struct Cursor<'a> {
    pub(crate) block: &'a mut Block,
    pub(crate) pos: usize,
}

impl Raw for Cursor<'_> {
    #[inline(always)]
    fn next_u64(&mut self) -> u64 {
        self.block.next_at(&mut self.pos, 1)
    }
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
    fn blocks_read_in_order_equal_serial_steps_and_leave_the_serial_state() {
        for (state, inc) in CASES {
            for want in [1, 3, 4, 5, 255, 256, 257, 1000] {
                let mut serial = lcg(state, inc);
                let mut block = Block::new(lcg(state, inc));
                let mut pos = 0;
                // Read across several refills; compare the state after every read.
                for _ in 0..want + 2 * BLOCK {
                    assert_eq!(block.next_at(&mut pos, want), serial.next_u64());
                    assert_eq!(block.lcg_after(pos).state, serial.state);
                }
            }
        }
    }

    #[test]
    fn an_unread_block_leaves_the_state_alone() {
        let block = Block::new(lcg(42, 7));
        assert_eq!(block.lcg_after(0).state, 42);
    }

    #[test]
    fn a_cursor_reads_the_same_stream() {
        let (state, inc) = CASES[1];
        let mut serial = lcg(state, inc);
        let mut block = Block::new(lcg(state, inc));
        let mut cursor = Cursor {
            block: &mut block,
            pos: 0,
        };
        for _ in 0..3 * LANES + 1 {
            assert_eq!(cursor.next_u64(), serial.next_u64());
        }
        let pos = cursor.pos;
        assert_eq!(block.lcg_after(pos).state, serial.state);
    }
}
