//! numpy's `SeedSequence` (`numpy/random/bit_generator.pyx`): entropy mixing into a 4-word pool,
//! `generate_state`, and `spawn` with numpy's child numbering.

use crate::Error;

const DEFAULT_POOL_SIZE: usize = 4;
const INIT_A: u32 = 0x43b0_d7e5;
const MULT_A: u32 = 0x931e_8875;
const INIT_B: u32 = 0x8b51_f9dd;
const MULT_B: u32 = 0x58f3_8ded;
const MIX_MULT_L: u32 = 0xca01_f9dd;
const MIX_MULT_R: u32 = 0x4973_f715;
const XSHIFT: u32 = 16;

/// numpy's `SeedSequence`: turns user entropy (a non-negative integer of any size, or a list of them) and
/// an optional spawn key into a well-mixed pool, from which bit generators draw their initial state.
///
/// `SeedSequence(12345)` is [`SeedSequence::new(12345)`](SeedSequence::new); a larger integer or a list is
/// given as its little-endian 32-bit words (see [`SeedSequence::from_words`], [`SeedSequence::from_list`],
/// [`SeedSequence::from_decimal`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedSequence {
    /// The run entropy, already coerced to 32-bit words (numpy's `_coerce_to_uint32_array(entropy)`).
    entropy: Vec<u32>,
    spawn_key: Vec<u64>,
    pool_size: usize,
    n_children_spawned: u64,
    pool: Vec<u32>,
}

/// The little-endian 32-bit words of a non-negative integer; 0 gives `[0]` (numpy's `_int_to_uint32_array`).
pub fn int_to_words(value: u128) -> Vec<u32> {
    let mut words = Vec::with_capacity(4);
    let mut v = value;
    loop {
        words.push(v as u32);
        v >>= 32;
        if v == 0 {
            return words;
        }
    }
}

impl SeedSequence {
    /// `SeedSequence(entropy)` for an integer entropy.
    pub fn new(entropy: u64) -> Self {
        Self::build(
            int_to_words(u128::from(entropy)),
            Vec::new(),
            DEFAULT_POOL_SIZE,
            0,
        )
    }

    /// `SeedSequence(entropy)` where the entropy (a big integer, or a list of integers) is already given as
    /// numpy's coerced 32-bit words: little-endian words of each integer, concatenated in list order.
    pub fn from_words(entropy_words: &[u32]) -> Self {
        Self::build(entropy_words.to_vec(), Vec::new(), DEFAULT_POOL_SIZE, 0)
    }

    /// `SeedSequence([a, b, ...])`: a list of integers, each contributing its own words (so `2**32` gives two
    /// words `[0, 1]` and `[a, b]` differs from `a`).
    pub fn from_list(entropy: &[u64]) -> Self {
        Self::from_words(&list_words(entropy))
    }

    /// `SeedSequence(n)` for a non-negative integer of any size written in decimal (e.g. a 128-bit entropy
    /// printed by `secrets.randbits(128)`).
    pub fn from_decimal(entropy: &str) -> Result<Self, Error> {
        Ok(Self::from_words(&decimal_to_words(entropy)?))
    }

    /// `SeedSequence(entropy, spawn_key=spawn_key)`.
    pub fn with_spawn_key(entropy: u64, spawn_key: &[u64]) -> Self {
        Self::build(
            int_to_words(u128::from(entropy)),
            spawn_key.to_vec(),
            DEFAULT_POOL_SIZE,
            0,
        )
    }

    /// The general constructor: `SeedSequence(entropy, spawn_key=spawn_key, pool_size=pool_size)` with the
    /// entropy given as coerced words. numpy requires `pool_size >= 4`.
    pub fn from_parts(
        entropy_words: &[u32],
        spawn_key: &[u64],
        pool_size: usize,
    ) -> Result<Self, Error> {
        if pool_size < DEFAULT_POOL_SIZE {
            return Err(Error::invalid(
                "pool_size",
                format!("The size of the entropy pool should be at least {DEFAULT_POOL_SIZE}"),
            ));
        }
        Ok(Self::build(
            entropy_words.to_vec(),
            spawn_key.to_vec(),
            pool_size,
            0,
        ))
    }

    fn build(
        entropy: Vec<u32>,
        spawn_key: Vec<u64>,
        pool_size: usize,
        n_children_spawned: u64,
    ) -> Self {
        let mut seq = SeedSequence {
            entropy,
            spawn_key,
            pool_size,
            n_children_spawned,
            pool: Vec::new(),
        };
        seq.pool = mix_entropy(pool_size, &seq.assembled_entropy());
        seq
    }

    /// numpy's `get_assembled_entropy`: run entropy, zero-padded to the pool size only when a spawn key is
    /// present (gh-16539), followed by the spawn key's words.
    fn assembled_entropy(&self) -> Vec<u32> {
        let spawn = list_words(&self.spawn_key);
        let mut words = self.entropy.clone();
        if !spawn.is_empty() && words.len() < self.pool_size {
            words.resize(self.pool_size, 0);
        }
        words.extend_from_slice(&spawn);
        words
    }

    /// `generate_state(n_words, dtype=np.uint32)`.
    pub fn generate_state_u32(&self, n_words: usize) -> Vec<u32> {
        let mut out = vec![0; n_words];
        generate_state_into(&self.pool, &mut out);
        out
    }

    /// `generate_state(n_words, dtype=np.uint64)`: pairs of 32-bit words, low word first.
    pub fn generate_state_u64(&self, n_words: usize) -> Vec<u64> {
        self.generate_state_u32(2 * n_words)
            .chunks_exact(2)
            .map(|w| u64::from(w[0]) | (u64::from(w[1]) << 32))
            .collect()
    }

    /// `spawn(n)`: `n` children with spawn keys `self.spawn_key + (j,)`, `j` counting on from the children
    /// spawned by earlier calls.
    pub fn spawn(&mut self, n: usize) -> Vec<SeedSequence> {
        let first = self.n_children_spawned;
        let children = (first..first + n as u64)
            .map(|j| {
                let mut key = self.spawn_key.clone();
                key.push(j);
                Self::build(self.entropy.clone(), key, self.pool_size, 0)
            })
            .collect();
        self.n_children_spawned += n as u64;
        children
    }

    /// The spawn key (empty for a root sequence).
    pub fn spawn_key(&self) -> &[u64] {
        &self.spawn_key
    }

    /// The run entropy as coerced 32-bit words.
    pub fn entropy_words(&self) -> &[u32] {
        &self.entropy
    }

    /// This sequence with `n` children already spawned (numpy's `n_children_spawned` argument).
    pub fn with_children_spawned(mut self, n: u64) -> Self {
        self.n_children_spawned = n;
        self
    }

    /// How many children `spawn` has produced so far.
    pub fn n_children_spawned(&self) -> u64 {
        self.n_children_spawned
    }

    /// The mixed entropy pool (numpy's `SeedSequence.pool`).
    pub fn pool(&self) -> &[u32] {
        &self.pool
    }

    /// The pool size (4 unless given to [`SeedSequence::from_parts`]).
    pub fn pool_size(&self) -> usize {
        self.pool_size
    }
}

/// The concatenated words of a list of integers.
fn list_words(values: &[u64]) -> Vec<u32> {
    values
        .iter()
        .flat_map(|&v| int_to_words(u128::from(v)))
        .collect()
}

/// Little-endian 32-bit words of a decimal integer of any size.
fn decimal_to_words(text: &str) -> Result<Vec<u32>, Error> {
    let digits = text.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(
            "entropy",
            format!("entropy must be a non-negative integer, got {text:?}"),
        ));
    }
    let mut words: Vec<u32> = vec![0];
    for b in digits.bytes() {
        let mut carry = u64::from(b - b'0');
        for w in words.iter_mut() {
            let v = u64::from(*w) * 10 + carry;
            *w = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            words.push(carry as u32);
        }
    }
    Ok(words)
}

fn hashmix(value: u32, hash_const: &mut u32) -> u32 {
    let mut v = value ^ *hash_const;
    *hash_const = hash_const.wrapping_mul(MULT_A);
    v = v.wrapping_mul(*hash_const);
    v ^ (v >> XSHIFT)
}

fn mix(x: u32, y: u32) -> u32 {
    let r = MIX_MULT_L
        .wrapping_mul(x)
        .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
    r ^ (r >> XSHIFT)
}

/// numpy's `mix_entropy`: one hash constant threaded through the whole mixing.
fn mix_entropy(pool_size: usize, entropy: &[u32]) -> Vec<u32> {
    let mut pool = vec![0; pool_size];
    mix_entropy_into(&mut pool, entropy);
    pool
}

/// numpy's `mix_entropy` into `pool` (whose length is the pool size): one hash constant threaded
/// through the whole mixing.
fn mix_entropy_into(pool: &mut [u32], entropy: &[u32]) {
    let mut hash_const = INIT_A;
    for (i, slot) in pool.iter_mut().enumerate() {
        *slot = hashmix(entropy.get(i).copied().unwrap_or(0), &mut hash_const);
    }
    let pool_size = pool.len();
    for i_src in 0..pool_size {
        for i_dst in 0..pool_size {
            if i_src != i_dst {
                pool[i_dst] = mix(pool[i_dst], hashmix(pool[i_src], &mut hash_const));
            }
        }
    }
    for &word in entropy.iter().skip(pool_size) {
        for slot in pool.iter_mut() {
            *slot = mix(*slot, hashmix(word, &mut hash_const));
        }
    }
}

/// numpy's `generate_state` into `out` (32-bit words) from a mixed pool.
fn generate_state_into(pool: &[u32], out: &mut [u32]) {
    let mut hash_const = INIT_B;
    for (i, o) in out.iter_mut().enumerate() {
        let mut d = pool[i % pool.len()];
        d ^= hash_const;
        hash_const = hash_const.wrapping_mul(MULT_B);
        d = d.wrapping_mul(hash_const);
        *o = d ^ (d >> XSHIFT);
    }
}

/// `SeedSequence(seed).generate_state(4, np.uint64)` without allocating: the words `default_rng(seed)`
/// seeds PCG64 with.
pub(crate) fn seed_state_words(seed: u64) -> [u64; 4] {
    let words = [seed as u32, (seed >> 32) as u32];
    let entropy = if seed >> 32 == 0 {
        &words[..1]
    } else {
        &words[..]
    };
    let mut pool = [0u32; DEFAULT_POOL_SIZE];
    mix_entropy_into(&mut pool, entropy);
    let mut state = [0u32; 8];
    generate_state_into(&pool, &mut state);
    std::array::from_fn(|k| u64::from(state[2 * k]) | (u64::from(state[2 * k + 1]) << 32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_of_seed_zero_matches_numpy() {
        // Debug value from the spec: SeedSequence(0).pool.
        assert_eq!(
            SeedSequence::new(0).pool(),
            &[0xfe40eb07, 0x4f363a36, 0x4eb2009d, 0xc89a7aa7]
        );
    }

    #[test]
    fn int_words_are_little_endian() {
        assert_eq!(int_to_words(0), vec![0]);
        assert_eq!(int_to_words(1 << 32), vec![0, 1]);
        assert_eq!(decimal_to_words("4294967296").unwrap(), vec![0, 1]);
        assert_eq!(
            decimal_to_words("340282366920938463463374607431768211455").unwrap(),
            vec![u32::MAX; 4]
        );
        assert!(decimal_to_words("-1").is_err());
    }
}

#[cfg(test)]
mod fast_path_tests {
    use super::*;

    #[test]
    fn seed_state_words_equal_generate_state() {
        for seed in [0, 1, 42, u64::from(u32::MAX), 1 << 32, u64::MAX] {
            assert_eq!(
                seed_state_words(seed).to_vec(),
                SeedSequence::new(seed).generate_state_u64(4)
            );
        }
    }
}
