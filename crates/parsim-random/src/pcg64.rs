//! numpy's `PCG64` bit generator (`_pcg64.pyx`, `pcg64.h`): PCG XSL-RR 128/64 with the 128-bit
//! multiplier (not PCG64DXSM), plus numpy's 32-bit half-word buffer.

use crate::seed_sequence::seed_state_words;
use crate::{Error, SeedSequence};

/// The 128-bit LCG multiplier, `PCG_DEFAULT_MULTIPLIER_128`.
const MULT: u128 = (2_549_297_995_355_413_924 << 64) | 4_865_540_595_714_422_341;

/// numpy's `PCG64` bit generator.
///
/// The state is the 128-bit LCG state and increment plus numpy's half-word buffer (`has_uint32`,
/// `uinteger`): a 32-bit draw uses the low half of a fresh 64-bit output and keeps the high half for the
/// next 32-bit draw, across calls and across distributions. Cloning clones all of it, so a clone continues
/// exactly as the original would.
#[derive(Clone, Debug)]
pub struct Pcg64 {
    state: u128,
    inc: u128,
    has_uint32: bool,
    uinteger: u32,
    origin: Origin,
}

/// Where a generator's seed came from, for `spawn`. `default_rng(seed)` keeps just the integer, so
/// seeding allocates nothing; the seed sequence is rebuilt when children are spawned.
#[derive(Clone, Debug)]
enum Origin {
    /// Set from an explicit state: cannot spawn.
    State,
    /// `SeedSequence(seed)` with `spawned` children spawned so far.
    Seed {
        seed: u64,
        spawned: u64,
    },
    Sequence(SeedSequence),
}

impl Pcg64 {
    /// `PCG64(seed_seq)`: seeded from `generate_state(4, uint64)` as numpy's `pcg64_set_seed` does.
    pub fn new(seed_seq: &SeedSequence) -> Self {
        let v = seed_seq.generate_state_u64(4);
        Self::seeded([v[0], v[1], v[2], v[3]], Origin::Sequence(seed_seq.clone()))
    }

    /// `PCG64(SeedSequence(seed))`, i.e. the bit generator of `default_rng(seed)`, without allocating.
    pub fn from_seed(seed: u64) -> Self {
        Self::seeded(seed_state_words(seed), Origin::Seed { seed, spawned: 0 })
    }

    /// numpy's `pcg64_set_seed` from `generate_state(4, uint64)` words.
    fn seeded(v: [u64; 4], origin: Origin) -> Self {
        let init_state = (u128::from(v[0]) << 64) | u128::from(v[1]);
        let init_seq = (u128::from(v[2]) << 64) | u128::from(v[3]);
        let mut rng = Pcg64 {
            state: 0,
            inc: (init_seq << 1) | 1,
            has_uint32: false,
            uinteger: 0,
            origin,
        };
        rng.step();
        rng.state = rng.state.wrapping_add(init_state);
        rng.step();
        rng
    }

    /// A generator at an explicit state, as numpy's `bit_generator.state = {...}` setter makes one
    /// (without a seed sequence, so it cannot spawn). `inc` is used as given.
    pub fn from_state(state: u128, inc: u128, has_uint32: bool, uinteger: u32) -> Self {
        Pcg64 {
            state,
            inc,
            has_uint32,
            uinteger,
            origin: Origin::State,
        }
    }

    /// The 128-bit LCG state (numpy's `state["state"]["state"]`).
    pub fn state(&self) -> u128 {
        self.state
    }

    /// The 128-bit increment (numpy's `state["state"]["inc"]`).
    pub fn inc(&self) -> u128 {
        self.inc
    }

    /// Whether a high half-word is buffered for the next 32-bit draw (numpy's `has_uint32`).
    pub fn has_uint32(&self) -> bool {
        self.has_uint32
    }

    /// The buffered half-word (numpy's `uinteger`).
    pub fn uinteger(&self) -> u32 {
        self.uinteger
    }

    /// The seed sequence this generator was seeded from (with its spawn count), if any.
    pub fn seed_seq(&self) -> Option<SeedSequence> {
        match &self.origin {
            Origin::State => None,
            Origin::Seed { seed, spawned } => {
                Some(SeedSequence::new(*seed).with_children_spawned(*spawned))
            }
            Origin::Sequence(seq) => Some(seq.clone()),
        }
    }

    #[inline(always)]
    fn step(&mut self) {
        self.state = self.state.wrapping_mul(MULT).wrapping_add(self.inc);
    }

    /// The next 64-bit output: advance, then XSL-RR output of the new state.
    #[inline(always)]
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        output(self.state)
    }

    /// The next 32-bit output: the buffered high half if there is one, else the low half of a fresh
    /// 64-bit output (whose high half is buffered).
    #[inline(always)]
    pub fn next_u32(&mut self) -> u32 {
        let mut words = self.half_words();
        let v = words.next_u32();
        self.set_half_words(words);
        v
    }

    /// The LCG state as a plain value, for hot loops that keep it in registers.
    #[inline(always)]
    pub(crate) fn lcg(&self) -> Lcg {
        Lcg {
            state: self.state,
            inc: self.inc,
        }
    }

    /// Stores back a state taken with [`Pcg64::lcg`] and advanced.
    #[inline(always)]
    pub(crate) fn set_lcg(&mut self, lcg: Lcg) {
        self.state = lcg.state;
    }

    /// The LCG state and the half-word buffer as a plain value.
    #[inline(always)]
    pub(crate) fn half_words(&self) -> HalfWords {
        HalfWords {
            lcg: self.lcg(),
            has_uint32: self.has_uint32,
            uinteger: self.uinteger,
        }
    }

    /// Stores back a state taken with [`Pcg64::half_words`] and advanced.
    #[inline(always)]
    pub(crate) fn set_half_words(&mut self, words: HalfWords) {
        self.set_lcg(words.lcg);
        self.has_uint32 = words.has_uint32;
        self.uinteger = words.uinteger;
    }

    /// The next double in [0, 1): the top 53 bits of a 64-bit output. Leaves the half-word buffer alone.
    #[inline(always)]
    pub fn next_double(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `advance(delta)`: jumps the LCG ahead by `delta` steps (mod 2^128) in O(log delta) and, as numpy
    /// does, clears the half-word buffer.
    pub fn advance(&mut self, delta: u128) {
        self.state = jump(self.state, self.inc, delta);
        self.has_uint32 = false;
        self.uinteger = 0;
    }

    /// `spawn(n)`: `n` independent generators seeded from children of this generator's seed sequence
    /// (numpy's `BitGenerator.spawn`).
    pub fn spawn(&mut self, n: usize) -> Result<Vec<Pcg64>, Error> {
        let mut seq = self.seed_seq().ok_or_else(|| {
            Error::invalid(
                "seed_seq",
                "The underlying SeedSequence does not implement spawning.",
            )
        })?;
        let children = seq.spawn(n).iter().map(Pcg64::new).collect();
        self.origin = Origin::Sequence(seq);
        Ok(children)
    }
}

/// `delta` LCG steps as one affine map: `state -> mult * state + inc * sum`, returned as
/// `(mult, sum)` = (MULT^delta, 1 + MULT + ... + MULT^(delta-1)) mod 2^128, by numpy's square-and-multiply
/// (`pcg_advance_lcg_128` with `inc` factored out: the increment part is linear in `inc`).
pub(crate) const fn jump_map(delta: u128) -> (u128, u128) {
    let (mut acc_mult, mut acc_sum) = (1u128, 0u128);
    let (mut cur_mult, mut cur_sum) = (MULT, 1u128);
    let mut d = delta;
    while d > 0 {
        if d & 1 == 1 {
            acc_mult = acc_mult.wrapping_mul(cur_mult);
            acc_sum = acc_sum.wrapping_mul(cur_mult).wrapping_add(cur_sum);
        }
        cur_sum = cur_mult.wrapping_add(1).wrapping_mul(cur_sum);
        cur_mult = cur_mult.wrapping_mul(cur_mult);
        d >>= 1;
    }
    (acc_mult, acc_sum)
}

/// The LCG state `delta` steps after `state`.
#[inline]
pub(crate) fn jump(state: u128, inc: u128, delta: u128) -> u128 {
    let (mult, sum) = jump_map(delta);
    mult.wrapping_mul(state).wrapping_add(inc.wrapping_mul(sum))
}

/// XSL-RR output of an (already advanced) state.
#[inline(always)]
pub(crate) fn output(s: u128) -> u64 {
    (((s >> 64) as u64) ^ (s as u64)).rotate_right((s >> 122) as u32)
}

/// A copy of a [`Pcg64`]'s LCG state. Hot loops advance a local copy and store it back once: a local
/// whose address is never taken stays in registers, whereas a generator behind a reference would be
/// loaded and stored around every draw (the cold paths receive and return it by value).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lcg {
    pub(crate) state: u128,
    pub(crate) inc: u128,
}

/// A source of raw 64-bit outputs in stream order: the LCG itself, or outputs made ahead in a block
/// ([`crate::block::Cursor`]). The samplers' rare paths are written once against it.
pub(crate) trait Raw {
    /// The next 64-bit output.
    fn next_u64(&mut self) -> u64;

    /// The next double in [0, 1): the top 53 bits of a 64-bit output.
    #[inline(always)]
    fn next_double(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }
}

impl Raw for Lcg {
    #[inline(always)]
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_mul(MULT).wrapping_add(self.inc);
        output(self.state)
    }
}

/// A copy of a [`Pcg64`]'s state including the half-word buffer, for 32-bit draws in hot loops; the
/// raw outputs come from the LCG (`R = Lcg`) or from a block made ahead.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HalfWords<R = Lcg> {
    pub(crate) lcg: R,
    pub(crate) has_uint32: bool,
    pub(crate) uinteger: u32,
}

impl<R: Raw> HalfWords<R> {
    /// numpy's `next_uint32`: the buffered high half, else the low half of a fresh output.
    #[inline(always)]
    pub(crate) fn next_u32(&mut self) -> u32 {
        if self.has_uint32 {
            self.has_uint32 = false;
            return self.uinteger;
        }
        let n = self.lcg.next_u64();
        self.has_uint32 = true;
        self.uinteger = (n >> 32) as u32;
        n as u32
    }

    /// The next 64-bit output (the buffer untouched).
    #[inline(always)]
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.lcg.next_u64()
    }
}
