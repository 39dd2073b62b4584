//! Bit-exact comparison with numpy streams recorded in `tests/data/numpy` (numpy 2.4.6): PCG64 seeding and
//! raw output, SeedSequence spawning, standard normals and the seed study's `gen_data` sequence.

mod common;

use common::{assert_bits, read_csv};
use parsim_random::{default_rng, default_rng_from, Arg, Pcg64, SeedSequence};

#[test]
fn pcg64_seeded_state_matches_numpy() {
    let rows = read_csv("pcg64_seeded_state.csv");
    assert!(rows.len() >= 5);
    for row in &rows {
        let seq = SeedSequence::new(row.u64("seed"));
        let words = seq.generate_state_u64(4);
        let want: Vec<u64> = ["w0", "w1", "w2", "w3"]
            .iter()
            .map(|c| row.u64(c))
            .collect();
        assert_eq!(words, want, "seed {}", row.u64("seed"));
        let rng = Pcg64::new(&seq);
        assert_eq!(
            rng.state(),
            row.hex_u128("state_hex128"),
            "seed {} state",
            row.u64("seed")
        );
        assert_eq!(
            rng.inc(),
            row.hex_u128("inc_hex128"),
            "seed {} inc",
            row.u64("seed")
        );
        assert!(!rng.has_uint32());
    }
}

#[test]
fn pcg64_raw_outputs_match_numpy() {
    let rows = read_csv("pcg64_raw_first20.csv");
    assert_eq!(rows.len(), 100);
    let mut current: Option<(u64, Pcg64)> = None;
    for row in &rows {
        let seed = row.u64("seed");
        if current.as_ref().map(|c| c.0) != Some(seed) {
            assert_eq!(row.u64("k"), 0);
            current = Some((seed, Pcg64::new(&SeedSequence::new(seed))));
        }
        let rng = &mut current.as_mut().unwrap().1;
        let got = rng.next_u64();
        assert_eq!(got, row.u64("u64"), "seed {seed} k {}", row.u64("k"));
        assert_eq!(got, row.hex_u64("u64_hex"));
    }
}

#[test]
fn seed_sequence_spawn_matches_numpy() {
    let rows = read_csv("seedseq_12345_spawn3.csv");
    assert_eq!(rows.len(), 3);
    let mut root = SeedSequence::new(12345);
    let children = root.spawn(3);
    for (child, row) in children.iter().zip(&rows) {
        assert_eq!(child.spawn_key(), &[row.u64("spawn_key")]);
        let want: Vec<u64> = ["w0_hex", "w1_hex", "w2_hex", "w3_hex"]
            .iter()
            .map(|c| row.hex_u64(c))
            .collect();
        assert_eq!(
            child.generate_state_u64(4),
            want,
            "child {}",
            row.u64("child")
        );
        // A child is also SeedSequence(12345, spawn_key=(j,)) built directly.
        let direct = SeedSequence::with_spawn_key(12345, &[row.u64("spawn_key")]);
        assert_eq!(direct.generate_state_u64(4), want);
    }
    // Numbering continues across calls: the next child has key (3,).
    let next = root.spawn(1);
    assert_eq!(next[0].spawn_key(), &[3]);
    assert_eq!(root.n_children_spawned(), 4);
    // Grandchildren get keys (i, j).
    let mut child = children[1].clone();
    assert_eq!(child.spawn(2)[1].spawn_key(), &[1, 1]);
}

#[test]
fn generator_spawn_uses_seed_sequence_children() {
    let mut rng = default_rng(12345);
    let mut kids = rng.spawn(2).unwrap();
    let mut direct = default_rng_from(&SeedSequence::with_spawn_key(12345, &[1]));
    assert_eq!(kids[1].random().to_bits(), direct.random().to_bits());
    let again = rng.spawn(1).unwrap();
    let direct2 = Pcg64::new(&SeedSequence::with_spawn_key(12345, &[2]));
    assert_eq!(again[0].bit_generator().state(), direct2.state());
}

#[test]
fn standard_normal_seed7_matches_numpy() {
    let rows = read_csv("standard_normal_seed7_n1000.csv");
    assert_eq!(rows.len(), 1000);
    let want: Vec<f64> = rows.iter().map(|r| r.f64("value")).collect();
    for (r, w) in rows.iter().zip(&want) {
        assert_eq!(
            r.hex_u64("bits_hex"),
            w.to_bits(),
            "fixture self-consistency"
        );
    }
    let mut rng = default_rng(7);
    let mut got = vec![0.0; 1000];
    rng.fill_standard_normal(&mut got);
    assert_bits("standard_normal(1000)", &got, &want);
    // Scalar calls draw the same stream.
    let mut rng = default_rng(7);
    let scalar: Vec<f64> = (0..1000).map(|_| rng.standard_normal()).collect();
    assert_bits("standard_normal() x1000", &scalar, &want);
}

/// One replication of the seed study's data: observation-level X, g, e and group-level a, b.
struct SeedData {
    x: Vec<f64>,
    g: Vec<i64>,
    a: Vec<f64>,
    b: Vec<f64>,
    e: Vec<f64>,
}

/// The seed study's `gen_data` on one generator, written against the public fill API.
fn gen_data(seed: u64, n: usize) -> SeedData {
    let mut rng = default_rng(seed);
    let (mut x, mut g, mut e) = (vec![0.0; n], vec![0i64; n], vec![0.0; n]);
    let (mut a, mut b) = (vec![0.0; 5], vec![0.0; 5]);
    rng.fill_normal(&mut x, Arg::Scalar(0.0), Arg::Scalar(1.0))
        .unwrap();
    rng.fill_integers(&mut g, Arg::Scalar(0), Arg::Scalar(5), false)
        .unwrap();
    rng.fill_normal(&mut a, Arg::Scalar(0.0), Arg::Scalar(1.0))
        .unwrap();
    rng.fill_normal(&mut b, Arg::Scalar(0.0), Arg::Scalar(0.25))
        .unwrap();
    rng.fill_normal(&mut e, Arg::Scalar(0.0), Arg::Scalar(1.0))
        .unwrap();
    SeedData { x, g, a, b, e }
}

#[test]
fn seed_study_streams_match_numpy() {
    for seed in 0..3u64 {
        let obs = read_csv(&format!("main_seed{seed}_obs.csv"));
        let groups = read_csv(&format!("main_seed{seed}_groups.csv"));
        let SeedData { x, g, a, b, e } = gen_data(seed, obs.len());
        let col = |rows: &[common::Row], c: &str| rows.iter().map(|r| r.f64(c)).collect::<Vec<_>>();
        assert_bits(&format!("seed {seed} X"), &x, &col(&obs, "X"));
        let want_g: Vec<i64> = obs.iter().map(|r| r.i64("g")).collect();
        assert_eq!(g, want_g, "seed {seed} g");
        assert_bits(&format!("seed {seed} e"), &e, &col(&obs, "e"));
        assert_bits(&format!("seed {seed} a"), &a, &col(&groups, "a"));
        assert_bits(&format!("seed {seed} b"), &b, &col(&groups, "b"));
        for r in &groups {
            assert_eq!(r.hex_u64("a_bits"), r.f64("a").to_bits());
            assert_eq!(r.hex_u64("b_bits"), r.f64("b").to_bits());
        }
    }
}

#[test]
fn half_word_buffer_is_state_and_survives_clone() {
    // integers(0, 5) on an odd count leaves the high half of the last u64 buffered; normals ignore it and
    // the next integer draw uses it.
    let mut rng = default_rng(3);
    let mut g = [0i64; 3];
    rng.fill_integers(&mut g, Arg::Scalar(0), Arg::Scalar(5), false)
        .unwrap();
    assert!(rng.bit_generator().has_uint32());
    let buffered = rng.bit_generator().uinteger();
    let mut twin = rng.clone();
    rng.standard_normal();
    twin.standard_normal();
    assert!(rng.bit_generator().has_uint32());
    let next = rng.integers(0, 5, false).unwrap();
    assert_eq!(next, ((u64::from(buffered) * 5) >> 32) as i64);
    assert_eq!(twin.integers(0, 5, false).unwrap(), next);
    assert!(!rng.bit_generator().has_uint32());
}

#[test]
fn advance_equals_stepping() {
    let mut stepped = Pcg64::new(&SeedSequence::new(42));
    let mut jumped = stepped.clone();
    for _ in 0..1000 {
        stepped.next_u64();
    }
    jumped.advance(1000);
    assert_eq!(stepped.state(), jumped.state());
    assert_eq!(stepped.next_u64(), jumped.next_u64());
}

#[test]
fn seed_sequence_entropy_forms() {
    // generate_state as u64 pairs the u32 words little-endian.
    let seq = SeedSequence::new(2024);
    let w32 = seq.generate_state_u32(8);
    let w64 = seq.generate_state_u64(4);
    for k in 0..4 {
        assert_eq!(
            w64[k],
            u64::from(w32[2 * k]) | (u64::from(w32[2 * k + 1]) << 32)
        );
    }
    // An integer and the one-element list of it are the same entropy; a two-element list is not
    // (except for trailing zeros within the pool size, which numpy's mixing cannot tell from padding).
    let five = SeedSequence::new(5);
    assert_eq!(SeedSequence::from_list(&[5]).pool(), five.pool());
    assert_ne!(SeedSequence::from_list(&[5, 7]).pool(), five.pool());
    assert_eq!(SeedSequence::from_list(&[5, 0]).pool(), five.pool());
    // 2**32 is the two words [0, 1], whether given as an integer, a decimal or words.
    let big = SeedSequence::from_list(&[1 << 32]);
    assert_eq!(big.entropy_words(), &[0, 1]);
    assert_eq!(
        big.pool(),
        SeedSequence::from_decimal("4294967296").unwrap().pool()
    );
    assert_eq!(big.pool(), SeedSequence::new(1 << 32).pool());
    // A spawn key pads short entropy to the pool size (gh-16539): SeedSequence(0, spawn_key=(1,)) mixes
    // [0, 0, 0, 0, 1], unlike SeedSequence([0, 1]).
    let keyed = SeedSequence::with_spawn_key(0, &[1]);
    assert_eq!(
        keyed.pool(),
        SeedSequence::from_words(&[0, 0, 0, 0, 1]).pool()
    );
    assert_ne!(keyed.pool(), SeedSequence::from_list(&[0, 1]).pool());
    assert!(SeedSequence::from_parts(&[1], &[], 3).is_err());
    assert_eq!(
        SeedSequence::from_parts(&[1], &[], 4).unwrap().pool(),
        SeedSequence::new(1).pool()
    );
}
