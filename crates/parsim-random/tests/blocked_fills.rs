//! The blocked fills (`fill_normal`, `fill_standard_normal`, `fill_integers` with a range below
//! 2^32 - 1, on CPUs with the AVX-512 kernels) against the serial reference path (`fill_normal_serial`,
//! `fill_integers_serial`, scalar calls): the same values bit for bit and the same generator state
//! afterwards (LCG state and half-word buffer), for random seeds, sizes around the block and lane
//! boundaries, and interleaved call sequences. Any difference in one draw or in the state after a call
//! fails the comparison, so the tolerance is zero.

use parsim_random::{default_rng, Arg, Generator};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

/// One call of a sequence, made on both generators.
#[derive(Clone, Debug)]
enum Call {
    /// `normal(loc, scale, size)`.
    Normal { size: usize, loc: f64, scale: f64 },
    /// `standard_normal(size)` (blocked) against `normal(0, 1, size)` (serial): numpy draws both with
    /// the same ziggurat, and `0 + 1 * z` has the bits of `z` except for `z = -0.0` (which needs 52 zero
    /// bits in one output: never in these streams).
    StandardNormal { size: usize },
    /// `normal(loc, scale, size)` with `loc` given per draw (the array path).
    NormalSlice { size: usize },
    /// `integers(low, high, size)`.
    Integers { size: usize, low: i64, high: i64 },
    /// Scalar calls between fills: `normal()`, `integers(0, 3)`, and a raw 32-bit draw (which moves the
    /// half-word buffer).
    Scalars,
}

/// Sizes: anything up to 2000, with extra weight right around the block (256) and lane boundaries and
/// the serial threshold (64).
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        0usize..2000,
        (0usize..9, -3i64..=3).prop_map(|(k, d)| (k as i64 * 256 + d).max(0) as usize),
        60usize..70,
    ]
}

fn call() -> impl Strategy<Value = Call> {
    prop_oneof![
        (size(), -2.0..2.0f64, 0.0..3.0f64).prop_map(|(size, loc, scale)| Call::Normal {
            size,
            loc,
            scale
        }),
        size().prop_map(|size| Call::StandardNormal { size }),
        size().prop_map(|size| Call::NormalSlice { size }),
        // Small ranges (the half-word path, including range 0 and 2^32 - 2), and wide ones.
        (
            size(),
            -5i64..5,
            prop_oneof![
                1i64..10,
                Just(1i64 << 32),
                Just((1i64 << 32) - 1),
                Just(1i64 << 40)
            ]
        )
            .prop_map(|(size, low, width)| Call::Integers {
                size,
                low,
                high: low + width
            }),
        Just(Call::Scalars),
    ]
}

/// Makes `call` on the blocked path of `fast` and the serial path of `slow`, and compares.
fn check_call(fast: &mut Generator, slow: &mut Generator, call: &Call) {
    match *call {
        Call::Normal { size, loc, scale } => {
            let (mut a, mut b) = (vec![0.0; size], vec![0.0; size]);
            fast.fill_normal(&mut a, loc.into(), scale.into()).unwrap();
            slow.fill_normal_serial(&mut b, loc.into(), scale.into())
                .unwrap();
            assert_same_floats(&a, &b, call);
        }
        Call::StandardNormal { size } => {
            let (mut a, mut b) = (vec![0.0; size], vec![0.0; size]);
            fast.fill_standard_normal(&mut a);
            slow.fill_normal_serial(&mut b, 0.0.into(), 1.0.into())
                .unwrap();
            assert_same_floats(&a, &b, call);
        }
        Call::NormalSlice { size } => {
            let loc: Vec<f64> = (0..size).map(|i| i as f64 * 0.5).collect();
            let (mut a, mut b) = (vec![0.0; size], vec![0.0; size]);
            fast.fill_normal(&mut a, Arg::Slice(&loc), 2.0.into())
                .unwrap();
            slow.fill_normal_serial(&mut b, Arg::Slice(&loc), 2.0.into())
                .unwrap();
            assert_same_floats(&a, &b, call);
        }
        Call::Integers { size, low, high } => {
            let (mut a, mut b) = (vec![0i64; size], vec![0i64; size]);
            fast.fill_integers(&mut a, low.into(), high.into(), false)
                .unwrap();
            slow.fill_integers_serial(&mut b, low, high, false).unwrap();
            assert_eq!(a, b, "{call:?}");
        }
        Call::Scalars => {
            for rng in [&mut *fast, &mut *slow] {
                rng.normal(0.0, 1.0).unwrap();
                rng.integers(0, 3, false).unwrap();
                rng.bit_generator_mut().next_u32();
            }
        }
    }
    assert_same_state(fast, slow, call);
}

fn assert_same_floats(a: &[f64], b: &[f64], call: &Call) {
    let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(a), bits(b), "{call:?}");
}

fn assert_same_state(fast: &Generator, slow: &Generator, call: &Call) {
    let (f, s) = (fast.bit_generator(), slow.bit_generator());
    assert_eq!(f.state(), s.state(), "LCG state after {call:?}");
    assert_eq!(f.has_uint32(), s.has_uint32(), "has_uint32 after {call:?}");
    assert_eq!(f.uinteger(), s.uinteger(), "uinteger after {call:?}");
}

/// Random seeds and call sequences.
fn sequences_equal_the_serial_path() {
    let mut runner = TestRunner::new(ProptestConfig::with_cases(300));
    let strategy = (any::<u64>(), proptest::collection::vec(call(), 1..6));
    runner
        .run(&strategy, |(seed, calls)| {
            let (mut fast, mut slow) = (default_rng(seed), default_rng(seed));
            for call in &calls {
                check_call(&mut fast, &mut slow, call);
            }
            Ok(())
        })
        .unwrap();
}

/// Long fills cross thousands of block boundaries, so the ziggurat's rare paths (about 0.7% of draws)
/// regularly start in one block and read on into the next; a rejection in Lemire's method (odds of
/// threshold / 2^32 per draw) is made frequent by a range just above 2^31, where the threshold is
/// about 2^31.
fn long_fills_equal_the_serial_path() {
    let (mut fast, mut slow) = (default_rng(7), default_rng(7));
    let calls = [
        Call::Normal {
            size: 300_001,
            loc: 0.0,
            scale: 1.0,
        },
        Call::Integers {
            size: 100_001,
            low: 0,
            high: (1 << 31) + 1,
        },
        Call::Integers {
            size: 99_999,
            low: 0,
            high: 5,
        },
        Call::StandardNormal { size: 200_000 },
    ];
    for call in &calls {
        check_call(&mut fast, &mut slow, call);
    }
}

/// Both checks with the AVX-512 kernels on (where this CPU has them) and off (so the public fills take
/// the serial path, as on CPUs without them). One test function, so that no other test of this binary
/// runs while the process-wide switch is flipped.
#[test]
fn blocked_fills_equal_the_serial_path_on_every_kernel() {
    for simd in [true, false] {
        parsim_random::use_simd_kernels(simd);
        long_fills_equal_the_serial_path();
        sequences_equal_the_serial_path();
    }
    parsim_random::use_simd_kernels(true);
}
