//! Long streams against numpy: SHA-256 digests of 10^6-draw numpy 2.4.6 streams
//! (`tests/data/numpy_streams.csv`, recorded by `tests/data/numpy_streams.py`), so that the rare branches
//! (ziggurat tails, BTPE's Stirling test, PTRS's log-gamma test, Johnk's underflow path, the integer range
//! special cases) and vector parameters (the binomial cache switching paths from draw to draw) are
//! compared bit for bit too. Debug builds check the first 10^5 draws of each stream,
//! release builds (CI) all 10^6.

mod common;

use common::read_csv_at;
use parsim_random::{default_rng, Arg, Generator};
use sha2::{Digest, Sha256};

const CHUNK: usize = 100_000;
const CHUNKS: usize = if cfg!(debug_assertions) { 1 } else { 10 };

/// A parsed `call` cell: `"binomial(100,0.4)"` -> ("binomial", ["100", "0.4"]).
fn parse_call(call: &str) -> (&str, Vec<&str>) {
    let (name, rest) = call.split_once('(').expect("call(args)");
    let args = rest
        .trim_end_matches(')')
        .split(',')
        .filter(|a| !a.is_empty())
        .collect();
    (name, args)
}

/// Draws `CHUNK` values of the stream into `bytes` (little-endian f64 bits or i64); `first` is the index
/// of the chunk's first draw (the `*_cycle` streams' parameters depend on it).
fn draw_chunk(rng: &mut Generator, name: &str, args: &[&str], first: usize, bytes: &mut Vec<u8>) {
    let f = |i: usize| -> f64 { args[i].parse().expect("float argument") };
    let int = |i: usize| -> i64 { args[i].parse().expect("integer argument") };
    let s = |i: usize| Arg::Scalar(f(i));
    let mut x = vec![0.0; CHUNK];
    let mut k = vec![0i64; CHUNK];
    // The per-draw parameters of the *_cycle streams, as in numpy_streams.py's `vector_params`.
    let idx = |m: usize| (first..first + CHUNK).map(move |i| i % m);
    let is_float = match name {
        "binomial_cycle" => {
            let n: Vec<i64> = idx(200).map(|v| v as i64).collect();
            rng.fill_binomial(&mut k, Arg::Slice(&n), Arg::Scalar(0.3))
                .unwrap();
            false
        }
        "poisson_cycle" => {
            let lam: Vec<f64> = idx(50).map(|v| v as f64 * 0.5).collect();
            rng.fill_poisson(&mut k, Arg::Slice(&lam)).unwrap();
            false
        }
        "normal_cycle" => {
            let loc: Vec<f64> = idx(7).map(|v| v as f64).collect();
            let scale: Vec<f64> = idx(3).map(|v| 1.0 + v as f64).collect();
            rng.fill_normal(&mut x, Arg::Slice(&loc), Arg::Slice(&scale))
                .unwrap();
            true
        }
        "beta_cycle" => {
            let a: Vec<f64> = idx(4).map(|v| 0.5 + v as f64 * 0.25).collect();
            rng.fill_beta(&mut x, Arg::Slice(&a), Arg::Scalar(0.75))
                .unwrap();
            true
        }
        "integers_cycle" => {
            let low: Vec<i64> = idx(5).map(|v| -(v as i64)).collect();
            let high: Vec<i64> = idx(7).map(|v| v as i64 + 1).collect();
            rng.fill_integers(&mut k, Arg::Slice(&low), Arg::Slice(&high), false)
                .unwrap();
            false
        }
        "standard_normal" => {
            rng.fill_standard_normal(&mut x);
            true
        }
        "random" => {
            rng.fill_random(&mut x);
            true
        }
        "standard_exponential" => {
            rng.fill_standard_exponential(&mut x);
            true
        }
        "normal" => {
            rng.fill_normal(&mut x, s(0), s(1)).unwrap();
            true
        }
        "uniform" => {
            rng.fill_uniform(&mut x, s(0), s(1)).unwrap();
            true
        }
        "exponential" => {
            rng.fill_exponential(&mut x, s(0)).unwrap();
            true
        }
        "gamma" => {
            rng.fill_gamma(&mut x, s(0), s(1)).unwrap();
            true
        }
        "chisquare" => {
            rng.fill_chisquare(&mut x, s(0)).unwrap();
            true
        }
        "standard_t" => {
            rng.fill_standard_t(&mut x, s(0)).unwrap();
            true
        }
        "lognormal" => {
            rng.fill_lognormal(&mut x, s(0), s(1)).unwrap();
            true
        }
        "beta" => {
            rng.fill_beta(&mut x, s(0), s(1)).unwrap();
            true
        }
        "integers" | "integers_closed" => {
            let closed = name == "integers_closed";
            rng.fill_integers(&mut k, Arg::Scalar(int(0)), Arg::Scalar(int(1)), closed)
                .unwrap();
            false
        }
        "binomial" => {
            rng.fill_binomial(&mut k, Arg::Scalar(int(0)), s(1))
                .unwrap();
            false
        }
        "poisson" => {
            rng.fill_poisson(&mut k, s(0)).unwrap();
            false
        }
        other => panic!("unknown call {other:?}"),
    };
    if is_float {
        x.iter()
            .for_each(|v| bytes.extend_from_slice(&v.to_bits().to_le_bytes()));
    } else {
        k.iter()
            .for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
    }
}

#[test]
fn long_streams_match_numpy_digests() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/numpy_streams.csv");
    let rows = read_csv_at(&path);
    assert_eq!(rows.len(), 39);
    let mut failures = Vec::new();
    for row in &rows {
        let call = row.str("call");
        let (name, args) = parse_call(call);
        let mut rng = default_rng(row.u64("seed"));
        let mut hasher = Sha256::new();
        let mut short = String::new();
        let mut bytes = Vec::with_capacity(8 * CHUNK);
        for chunk in 0..CHUNKS {
            bytes.clear();
            draw_chunk(&mut rng, name, &args, chunk * CHUNK, &mut bytes);
            hasher.update(&bytes);
            if chunk == 0 {
                short = format!("{:x}", hasher.clone().finalize());
            }
        }
        if short != row.str("sha256_100k") {
            failures.push(format!("{call}: first 10^5 draws differ"));
        } else if CHUNKS == 10 && format!("{:x}", hasher.finalize()) != row.str("sha256_1m") {
            failures.push(format!("{call}: draws 10^5..10^6 differ"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
