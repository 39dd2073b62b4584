//! `distributions_seed2024.csv`: one `default_rng(2024)` making every listed call in file order, each
//! call's `size` being its number of rows. Compared bit for bit.

mod common;

use common::{assert_bits, read_csv, Row};
use parsim_random::{default_rng, Arg, Generator};

/// A parsed `call` cell: the method name and its numeric arguments (`"binomial(10,0.5)"`).
fn parse_call(call: &str) -> (&str, Vec<f64>) {
    match call.split_once('(') {
        None => (call, Vec::new()),
        Some((name, rest)) => {
            let inner = rest.trim_end_matches(')');
            let args = inner
                .split(',')
                .filter_map(|a| a.trim().parse::<f64>().ok())
                .collect();
            (name, args)
        }
    }
}

/// Consecutive rows with the same call: (call, rows).
fn group_calls(rows: &[Row]) -> Vec<(String, Vec<&Row>)> {
    let mut groups: Vec<(String, Vec<&Row>)> = Vec::new();
    for row in rows {
        let call = row.str("call");
        match groups.last_mut() {
            Some((c, members)) if c == call => members.push(row),
            _ => groups.push((call.to_string(), vec![row])),
        }
    }
    groups
}

/// The `normal(vector loc)` call's parameters. The fixture does not spell them out; `loc = np.arange(5)`,
/// `scale = 2` reproduce all five values bit for bit (scale 1 does not).
const VECTOR_LOC: [f64; 5] = [0.0, 1.0, 2.0, 3.0, 4.0];
const VECTOR_SCALE: f64 = 2.0;

/// Replays one call of `size` draws; returns the draws as f64 (integer draws converted exactly).
fn replay(rng: &mut Generator, call: &str, size: usize) -> Vec<f64> {
    let (name, args) = parse_call(call);
    let mut out = vec![0.0; size];
    let mut ints = vec![0i64; size];
    let s = |i: usize| Arg::Scalar(args[i]);
    let int_draws = |ints: Vec<i64>| ints.into_iter().map(|v| v as f64).collect::<Vec<_>>();
    match name {
        "random" => rng.fill_random(&mut out),
        "uniform" => rng.fill_uniform(&mut out, s(0), s(1)).unwrap(),
        "standard_exponential" => rng.fill_standard_exponential(&mut out),
        "exponential" => rng.fill_exponential(&mut out, s(0)).unwrap(),
        "integers" => {
            let (lo, hi) = (args[0] as i64, args[1] as i64);
            rng.fill_integers(&mut ints, Arg::Scalar(lo), Arg::Scalar(hi), false)
                .unwrap();
            return int_draws(ints);
        }
        "binomial" => {
            rng.fill_binomial(&mut ints, Arg::Scalar(args[0] as i64), s(1))
                .unwrap();
            return int_draws(ints);
        }
        "poisson" => {
            rng.fill_poisson(&mut ints, s(0)).unwrap();
            return int_draws(ints);
        }
        "gamma" => rng.fill_gamma(&mut out, s(0), s(1)).unwrap(),
        "chisquare" => rng.fill_chisquare(&mut out, s(0)).unwrap(),
        "standard_t" => rng.fill_standard_t(&mut out, s(0)).unwrap(),
        "normal" if args.is_empty() => {
            assert_eq!(size, VECTOR_LOC.len());
            rng.fill_normal(&mut out, Arg::Slice(&VECTOR_LOC), Arg::Scalar(VECTOR_SCALE))
                .unwrap();
        }
        "normal" => rng.fill_normal(&mut out, s(0), s(1)).unwrap(),
        "lognormal" => rng.fill_lognormal(&mut out, s(0), s(1)).unwrap(),
        "beta" => rng.fill_beta(&mut out, s(0), s(1)).unwrap(),
        other => panic!("unknown call {other:?} in distributions_seed2024.csv"),
    }
    out
}

#[test]
fn all_calls_in_file_order_match_numpy() {
    let rows = read_csv("distributions_seed2024.csv");
    let groups = group_calls(&rows);
    assert_eq!(groups.len(), 20, "calls in the fixture");
    let mut rng = default_rng(2024);
    let mut checked = 0;
    for (call, members) in &groups {
        for (k, r) in members.iter().enumerate() {
            assert_eq!(r.i64("i"), k as i64, "{call}: rows out of order");
        }
        let want: Vec<f64> = members.iter().map(|r| r.f64("value")).collect();
        let got = replay(&mut rng, call, members.len());
        assert_bits(call, &got, &want);
        checked += want.len();
    }
    assert_eq!(checked, rows.len());
}

#[test]
fn scalar_calls_draw_the_same_stream_as_fill_calls() {
    // numpy's size=None path is the fill loop with one element; the binomial cache is shared.
    let mut fill = default_rng(99);
    let mut scalar = default_rng(99);
    let mut ints = [0i64; 7];
    fill.fill_binomial(&mut ints, Arg::Scalar(100), Arg::Scalar(0.4))
        .unwrap();
    for &v in &ints {
        assert_eq!(scalar.binomial(100, 0.4).unwrap(), v);
    }
    fill.fill_poisson(&mut ints, Arg::Scalar(25.0)).unwrap();
    for &v in &ints {
        assert_eq!(scalar.poisson(25.0).unwrap(), v);
    }
    let mut out = [0.0; 7];
    fill.fill_gamma(&mut out, Arg::Scalar(0.5), Arg::Scalar(2.0))
        .unwrap();
    for &v in &out {
        assert_eq!(scalar.gamma(0.5, 2.0).unwrap().to_bits(), v.to_bits());
    }
    fill.fill_beta(&mut out, Arg::Scalar(0.5), Arg::Scalar(0.7))
        .unwrap();
    for &v in &out {
        assert_eq!(scalar.beta(0.5, 0.7).unwrap().to_bits(), v.to_bits());
    }
    fill.fill_uniform(&mut out, Arg::Scalar(-2.0), Arg::Scalar(3.0))
        .unwrap();
    for &v in &out {
        assert_eq!(scalar.uniform(-2.0, 3.0).unwrap().to_bits(), v.to_bits());
    }
    fill.fill_integers(&mut ints, Arg::Scalar(-3), Arg::Scalar(3), true)
        .unwrap();
    for &v in &ints {
        assert_eq!(scalar.integers(-3, 3, true).unwrap(), v);
    }
    assert_eq!(fill.bit_generator().state(), scalar.bit_generator().state());
}

#[test]
fn vector_parameters_draw_in_element_order() {
    // A slice parameter draws element i with parameter i, in order: the same stream as scalar calls.
    let locs = [0.5, -1.0, 2.0];
    let scales = [1.0, 0.0, 3.0];
    let mut vec_rng = default_rng(5);
    let mut out = [0.0; 3];
    vec_rng
        .fill_normal(&mut out, Arg::Slice(&locs), Arg::Slice(&scales))
        .unwrap();
    let mut rng = default_rng(5);
    for i in 0..3 {
        assert_eq!(
            out[i].to_bits(),
            rng.normal(locs[i], scales[i]).unwrap().to_bits()
        );
    }
    // A length-1 slice broadcasts like a scalar.
    let mut one = default_rng(6);
    let mut scalar = default_rng(6);
    let mut a = [0i64; 4];
    let mut b = [0i64; 4];
    one.fill_poisson(&mut a, Arg::Slice(&[3.0])).unwrap();
    scalar.fill_poisson(&mut b, Arg::Scalar(3.0)).unwrap();
    assert_eq!(a, b);
    let mut n_rng = default_rng(8);
    let mut s_rng = default_rng(8);
    let ns = [5i64, 50, 500, 0];
    n_rng
        .fill_binomial(&mut a, Arg::Slice(&ns), Arg::Scalar(0.3))
        .unwrap();
    for (i, &n) in ns.iter().enumerate() {
        assert_eq!(a[i], s_rng.binomial(n, 0.3).unwrap());
    }
}
