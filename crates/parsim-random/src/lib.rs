//! Random streams bit-exact with numpy's `np.random.default_rng` (numpy 2.x, x86_64 Linux).
//!
//! [`SeedSequence`] mixes the seed, [`Pcg64`] is numpy's default bit generator (PCG XSL-RR 128/64, with
//! its 32-bit half-word buffer as part of the state) and [`Generator`] draws numpy's distributions with
//! numpy's algorithms, argument order, validation and element order: `random`, `uniform`,
//! `standard_normal`, `normal`, `integers`, `standard_exponential`, `exponential`, `binomial`,
//! `poisson`, `gamma`, `chisquare`, `standard_t`, `lognormal` and `beta`. Every draw equals numpy's bit for
//! bit; the tests compare against streams recorded from numpy 2.4.6 (fixture files, and SHA-256 digests
//! of 10^6-draw streams that reach the rare branches).
//!
//! ```
//! use parsim_random::{default_rng, Arg};
//!
//! // rng = np.random.default_rng(0); X = rng.normal(0, 1, 5); g = rng.integers(0, 5, 5)
//! let mut rng = default_rng(0);
//! let mut x = [0.0; 5];
//! rng.fill_normal(&mut x, Arg::Scalar(0.0), Arg::Scalar(1.0)).unwrap();
//! let mut g = [0i64; 5];
//! rng.fill_integers(&mut g, Arg::Scalar(0), Arg::Scalar(5), false).unwrap();
//! assert_eq!(x[0], 0.1257302210933933); // numpy prints 0.1257302210933933
//! ```
//!
//! # Scalar calls, fill forms and parameters
//!
//! Each distribution has a scalar method (numpy's `size=None`, e.g. [`Generator::normal`]) and a fill
//! form (numpy's `size=n`, e.g. [`Generator::fill_normal`]) that writes into a caller's buffer and
//! allocates nothing, so buffers can be reused across replications. Parameters of fill forms are
//! [`Arg`]s: `Arg::Scalar(v)` (or `v.into()`) for one value, `Arg::Slice(&values)` for one value per draw
//! (numpy's broadcasting in 1-D). numpy's `Generator` caches the binomial setup across calls
//! (`Generator._binomial`); so does [`Generator`], which changes speed, never a draw.
//!
//! # Replaying a stream in numpy
//!
//! A Rust call sequence and the same Python call sequence give the same numbers:
//!
//! | Rust | numpy |
//! |---|---|
//! | `default_rng(seed)` | `rng = np.random.default_rng(seed)` |
//! | `default_rng_from(&SeedSequence::from_list(&[a, b]))` | `np.random.default_rng([a, b])` |
//! | `default_rng_from(&SeedSequence::with_spawn_key(s, &[i]))` | `np.random.default_rng(np.random.SeedSequence(s, spawn_key=(i,)))` |
//! | `rng.fill_normal(&mut x, loc.into(), scale.into())` with `x.len() == n` | `x = rng.normal(loc, scale, size=n)` |
//! | `rng.fill_integers(&mut g, 0.into(), k.into(), false)` | `g = rng.integers(0, k, size=n)` |
//! | `rng.normal(loc, scale)` | `rng.normal(loc, scale)` (`size=None`) |
//!
//! Calls must be replayed in the same order and with the same sizes: `integers` with a range below 2^32
//! uses 32-bit half-words, two per 64-bit output, and an odd count leaves a half-word buffered for the
//! next `integers` call (other distributions do not touch it). To replay replication `r` of a study that
//! seeds each replication with `default_rng(seed_r)`, build the same seed in Python and make the same
//! calls; `rng.bit_generator.state` in Python and [`Pcg64::state`], [`Pcg64::inc`],
//! [`Pcg64::has_uint32`], [`Pcg64::uinteger`] here expose the same state for checking.
//!
//! # Platform notes
//!
//! The slow paths (ziggurat tails and wedges, gamma, beta, Poisson and binomial rejection tests) call
//! `exp`, `ln`, `ln_1p` and `powf`, i.e. the platform libm, as numpy's C code does. On x86_64 Linux with
//! glibc both sides use the same libm; elsewhere a rare last-bit difference in such a draw is possible.
//! `normal` computes `loc + scale * z` with two roundings (no FMA), as numpy's x86_64 wheel does.
//!
//! On x86_64 CPUs with AVX-512 (F, DQ and IFMA), built with Rust 1.89 or newer, fills of 64 or more
//! `normal`/`standard_normal` draws with scalar parameters and of `integers` with a range below
//! 2^32 - 1 make their raw outputs ahead with 32 interleaved LCG lanes and test eight ziggurat or
//! sixteen Lemire draws at once. They give the same draws and leave the generator in the same state
//! (half-word buffer included) as the serial path other CPUs run, only faster.
//!
//! # Errors
//!
//! Parameters are validated as numpy validates them, before any draw, and an invalid one returns an
//! [`Error`] carrying numpy's message (`"scale < 0"`, `"p < 0, p > 1 or p is NaN"`,
//! `"lam < 0 or lam is NaN"`, `"low >= high"`, ...). Values numpy accepts are accepted, including NaN
//! where numpy lets it through (e.g. `normal(0, NaN)` draws NaN).

#[cfg(parsim_avx512)]
mod avx512;
#[cfg(parsim_avx512)]
mod block;
mod distributions;
mod error;
mod generator;
mod multivariate;
mod pcg64;
mod sampling;
mod seed_sequence;
pub mod tables;

pub use error::Error;
pub use generator::{poisson_lam_max, Arg, Generator};
pub use multivariate::{MvnFactor, MvnMethod};
pub use pcg64::Pcg64;
pub use sampling::{ChoiceBuffers, ChoiceOptions};
pub use seed_sequence::{int_to_words, SeedSequence};

/// Turns the AVX-512 kernels of the long fills off, or back on where the CPU has them (they are on by
/// default), for tests and benchmarks that compare them with the portable code. The draws and the
/// generator's state are the same either way; only the speed differs. The setting is process-wide.
#[doc(hidden)]
pub fn use_simd_kernels(enabled: bool) {
    #[cfg(parsim_avx512)]
    avx512::set_enabled(enabled);
    #[cfg(not(parsim_avx512))]
    let _ = enabled;
}

/// numpy's `np.random.default_rng(seed)` for a non-negative integer seed:
/// `Generator(PCG64(SeedSequence(seed)))`.
pub fn default_rng(seed: u64) -> Generator {
    Generator::new(Pcg64::from_seed(seed))
}

/// numpy's `np.random.default_rng(seed_sequence)`.
pub fn default_rng_from(seq: &SeedSequence) -> Generator {
    Generator::new(Pcg64::new(seq))
}
