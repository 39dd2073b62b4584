//! `data/numpy_sampling.txt` (made by `data/numpy_sampling.py` with numpy 2.4.6): permutation, choice and
//! multivariate_normal against numpy's own draws. Each case is a fresh `default_rng(seed)`.

use std::collections::HashMap;

use parsim_random::{default_rng, ChoiceBuffers, ChoiceOptions, Generator, MvnFactor, MvnMethod};

fn fixture() -> HashMap<String, Vec<f64>> {
    let text = include_str!("data/numpy_sampling.txt");
    text.lines()
        .filter_map(|line| line.split_once(';'))
        .map(|(name, values)| {
            let values = values
                .split_whitespace()
                .map(|v| v.parse::<f64>().expect("a number"))
                .collect();
            (name.to_string(), values)
        })
        .collect()
}

fn ints(v: &[i64]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

fn permutation(rng: &mut Generator, n: usize) -> Vec<f64> {
    let mut out = Vec::new();
    rng.permutation(n, &mut out);
    ints(&out)
}

fn choice(rng: &mut Generator, pop: usize, size: usize, options: ChoiceOptions<'_>) -> Vec<f64> {
    let mut out = vec![0i64; size];
    rng.choice(pop, &mut out, options, &mut ChoiceBuffers::default())
        .unwrap();
    ints(&out)
}

#[test]
fn permutations_and_shuffles_are_numpys() {
    let f = fixture();
    assert_eq!(permutation(&mut default_rng(1), 10), f["permutation_10"]);
    assert_eq!(permutation(&mut default_rng(1), 1), f["permutation_1"]);
    assert_eq!(
        permutation(&mut default_rng(2), 1000),
        f["permutation_1000"]
    );
    let mut values: Vec<f64> = (0..6).map(|k| k as f64 * 1.5).collect();
    default_rng(3).shuffle(&mut values);
    assert_eq!(values, f["permutation_float"]);
    // The 32-bit words interval draws use are buffered across calls, as numpy's are.
    let mut rng = default_rng(4);
    let mut got = Vec::new();
    let draw = |rng: &mut Generator, high: i64, n: usize| {
        let mut v = vec![0i64; n];
        rng.fill_integers(&mut v, 0.into(), high.into(), false)
            .unwrap();
        ints(&v)
    };
    got.extend(draw(&mut rng, 5, 3));
    got.extend(permutation(&mut rng, 7));
    got.extend(draw(&mut rng, 9, 4));
    assert_eq!(got, f["permutation_after_integers"]);
    assert_eq!(
        permutation(&mut default_rng(5), 70000)[..50],
        f["permutation_large_bound"][..]
    );
}

#[test]
fn choices_are_numpys() {
    let f = fixture();
    let d = ChoiceOptions::default();
    let unique = ChoiceOptions {
        replace: false,
        ..d
    };
    let unshuffled = ChoiceOptions {
        shuffle: false,
        ..unique
    };
    assert_eq!(choice(&mut default_rng(6), 5, 20, d), f["choice_replace"]);
    let p = [0.1, 0.2, 0.3, 0.4];
    let weighted = ChoiceOptions { p: Some(&p), ..d };
    assert_eq!(
        choice(&mut default_rng(7), 4, 30, weighted),
        f["choice_replace_p"]
    );
    let mut rng = default_rng(8);
    let two = [choice(&mut rng, 9, 1, d), choice(&mut rng, 9, 1, d)].concat();
    assert_eq!(two, f["choice_scalar"]);
    assert_eq!(
        choice(&mut default_rng(9), 100, 10, unique),
        f["choice_floyd"]
    );
    assert_eq!(
        choice(&mut default_rng(9), 100, 10, unshuffled),
        f["choice_floyd_noshuffle"]
    );
    assert_eq!(
        choice(&mut default_rng(10), 8, 8, unique),
        f["choice_floyd_all"]
    );
    assert_eq!(
        choice(&mut default_rng(11), 20000, 1000, unique)[..60],
        f["choice_tail"][..]
    );
    assert_eq!(
        choice(&mut default_rng(12), 20000, 300, unique)[..60],
        f["choice_floyd_big"][..]
    );
    assert_eq!(
        choice(&mut default_rng(13), 20000, 1000, unshuffled)[..60],
        f["choice_tail_noshuffle"][..]
    );
    let p = [0.05, 0.4, 0.3, 0.1, 0.1, 0.05];
    let weighted_unique = ChoiceOptions {
        p: Some(&p),
        ..unique
    };
    assert_eq!(
        choice(&mut default_rng(14), 6, 4, weighted_unique),
        f["choice_nonreplace_p"]
    );
}

#[test]
fn choice_refuses_what_numpy_refuses() {
    let mut rng = default_rng(0);
    let mut buffers = ChoiceBuffers::default();
    let mut out = [0i64; 3];
    let message = |r: Result<(), parsim_random::Error>| r.unwrap_err().to_string();
    let p = [0.5, 0.6];
    let opts = |p| ChoiceOptions {
        p: Some(p),
        ..ChoiceOptions::default()
    };
    assert_eq!(
        message(rng.choice(2, &mut out, opts(&p), &mut buffers)),
        "probabilities do not sum to 1"
    );
    assert_eq!(
        message(rng.choice(3, &mut out, opts(&p), &mut buffers)),
        "a and p must have same size"
    );
    let unique = ChoiceOptions {
        replace: false,
        ..ChoiceOptions::default()
    };
    assert!(message(rng.choice(2, &mut out, unique, &mut buffers)).contains("larger sample"));
    assert!(message(rng.choice(0, &mut out, unique, &mut buffers)).contains("positive integer"));
}

fn mvn_case(
    f: &HashMap<String, Vec<f64>>,
    label: &str,
    seed: u64,
    method: MvnMethod,
) -> (Vec<f64>, MvnFactor) {
    let cov = &f[&format!("cov:{label}")];
    let mean = &f[&format!("mean:{label}")];
    let d = mean.len();
    let factor = MvnFactor::new(cov, d, method).unwrap();
    let mut out = vec![0.0; f[label].len()];
    default_rng(seed)
        .fill_multivariate_normal(&mut out, mean, &factor, &mut Vec::new())
        .unwrap();
    (out, factor)
}

const MVN: [(&str, u64); 5] = [
    ("mvn2", 20),
    ("mvn2_corr", 21),
    ("mvn3", 22),
    ("mvn4", 23),
    ("mvn6", 24),
];

#[test]
fn multivariate_normal_by_cholesky_is_numpys_bit_for_bit() {
    let f = fixture();
    for (name, seed) in &MVN[..4] {
        let seed = *seed;
        let label = format!("{name}_cholesky");
        let (out, factor) = mvn_case(&f, &label, seed, MvnMethod::Cholesky);
        assert_eq!(
            factor.matrix(),
            &f[&format!("factor:{label}")][..],
            "{label} factor"
        );
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&out), bits(&f[&label]), "{label}");
    }
    // d = 6: OpenBLAS's blocked kernels order some sums differently; a few units in the last place
    // (relative to the element, or to 1 for the draws, whose mean is added last).
    let (out, factor) = mvn_case(&f, "mvn6_cholesky", 24, MvnMethod::Cholesky);
    let close = |a: &[f64], b: &[f64], scale: f64| {
        a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 4.0 * f64::EPSILON * (scale + y.abs()))
    };
    assert!(close(factor.matrix(), &f["factor:mvn6_cholesky"], 0.0));
    assert!(close(&out, &f["mvn6_cholesky"], 1.0));
}

/// svd and eigh: numpy's factor up to each column's sign, to 1e-13 relative to the largest element
/// (Jacobi and LAPACK are both backward stable; their vectors differ in the last few bits); the draws
/// to the same tolerance once the signs are those of numpy's factor.
#[test]
fn multivariate_normal_by_svd_and_eigh_matches_numpy_up_to_signs() {
    let f = fixture();
    for (name, seed) in MVN {
        for (method, tag) in [(MvnMethod::Svd, "svd"), (MvnMethod::Eigh, "eigh")] {
            let label = format!("{name}_{tag}");
            let (_, factor) = mvn_case(&f, &label, seed, method);
            let numpy = &f[&format!("factor:{label}")];
            let d = factor.dim();
            let ours = factor.matrix();
            let scale = numpy.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            let mut signed = vec![0.0; d * d];
            for col in 0..d {
                let dot: f64 = (0..d).map(|i| ours[i * d + col] * numpy[i * d + col]).sum();
                let sign = dot.signum();
                for i in 0..d {
                    signed[i * d + col] = sign * ours[i * d + col];
                    let diff = (signed[i * d + col] - numpy[i * d + col]).abs();
                    assert!(
                        diff <= 1e-13 * scale,
                        "{label} F[{i}][{col}] off by {diff:e}"
                    );
                }
            }
            // The draws with numpy's signs.
            let mean = &f[&format!("mean:{label}")];
            let mut z = vec![0.0; f[&label].len()];
            default_rng(seed).fill_standard_normal(&mut z);
            for (r, row) in f[&label].chunks(d).enumerate() {
                for j in 0..d {
                    let t: f64 = (0..d).map(|k| z[r * d + k] * signed[j * d + k]).sum();
                    let x = mean[j] + t;
                    assert!(
                        (x - row[j]).abs() <= 1e-12 * (1.0 + x.abs()),
                        "{label} row {r}"
                    );
                }
            }
        }
    }
}

#[test]
fn multivariate_normal_refuses_an_invalid_covariance() {
    let not_pd = [1.0, 2.0, 2.0, 1.0];
    for method in [MvnMethod::Cholesky, MvnMethod::Svd, MvnMethod::Eigh] {
        let err = MvnFactor::new(&not_pd, 2, method).unwrap_err().to_string();
        assert!(err.contains("positive"), "{method:?}: {err}");
    }
    assert!(MvnFactor::new(&[1.0, 0.0, 0.0], 2, MvnMethod::Svd).is_err());
}
