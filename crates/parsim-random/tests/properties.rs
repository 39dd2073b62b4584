//! Statistical properties over 10^6 draws per distribution: sample mean and variance within 5 standard
//! errors of theory, with parameters chosen to run every branch (ziggurat tail and wedge, BTPE and
//! inversion, PTRS and multiplication, gamma shape < 1, Johnk's beta). The standard error of the variance
//! uses the fourth central moment: SE = sqrt((mu4 - sigma^4) / n). Seeds are fixed, so the tests are
//! deterministic; a wrong branch shifts a moment by far more than 5 SE.
//!
//! 10^6 draws take about a second per test in an unoptimised build; CI runs them with `--release`.

use parsim_random::tables::{EXP_R, NOR_R};
use parsim_random::{default_rng, Arg, Generator};

const N: usize = 1_000_000;

/// Theoretical mean, variance and fourth central moment.
struct Moments {
    mean: f64,
    var: f64,
    mu4: f64,
}

impl Moments {
    /// From mean, variance and excess kurtosis.
    fn kurt(mean: f64, var: f64, excess: f64) -> Self {
        Moments {
            mean,
            var,
            mu4: var * var * (3.0 + excess),
        }
    }
}

fn check(name: &str, draws: &[f64], m: Moments) {
    let n = draws.len() as f64;
    let mean = draws.iter().sum::<f64>() / n;
    let var = draws.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    let se_mean = (m.var / n).sqrt();
    let se_var = ((m.mu4 - m.var * m.var) / n).sqrt();
    assert!(
        (mean - m.mean).abs() <= 5.0 * se_mean,
        "{name}: mean {mean} vs {} (SE {se_mean:.3e})",
        m.mean
    );
    assert!(
        (var - m.var).abs() <= 5.0 * se_var,
        "{name}: variance {var} vs {} (SE {se_var:.3e})",
        m.var
    );
}

/// A frequency within 5 binomial standard errors of `p`.
fn check_frequency(name: &str, hits: usize, n: usize, p: f64) {
    let se = (p * (1.0 - p) / n as f64).sqrt();
    let freq = hits as f64 / n as f64;
    assert!(hits > 0, "{name}: never hit");
    assert!(
        (freq - p).abs() <= 5.0 * se,
        "{name}: frequency {freq} vs {p} (SE {se:.2e})"
    );
}

fn floats(seed: u64, fill: impl FnOnce(&mut Generator, &mut [f64])) -> Vec<f64> {
    let mut out = vec![0.0; N];
    fill(&mut default_rng(seed), &mut out);
    out
}

fn ints(seed: u64, fill: impl FnOnce(&mut Generator, &mut [i64])) -> Vec<f64> {
    let mut out = vec![0i64; N];
    fill(&mut default_rng(seed), &mut out);
    out.into_iter().map(|v| v as f64).collect()
}

#[test]
fn normal_moments_and_ziggurat_tail() {
    let z = floats(101, |r, o| r.fill_standard_normal(o));
    check("standard_normal", &z, Moments::kurt(0.0, 1.0, 0.0));
    // Draws beyond R come only from the tail branch: P(|Z| > R) = erfc(R / sqrt 2).
    let tail = z.iter().filter(|x| x.abs() > NOR_R).count();
    check_frequency("normal tail |Z| > R", tail, N, 2.580324876539013e-4);
    let x = floats(102, |r, o| {
        r.fill_normal(o, Arg::Scalar(1.5), Arg::Scalar(0.7))
            .unwrap()
    });
    check("normal(1.5, 0.7)", &x, Moments::kurt(1.5, 0.49, 0.0));
    let s = 0.5f64 * 0.5;
    let ln = floats(103, |r, o| {
        r.fill_lognormal(o, Arg::Scalar(0.0), Arg::Scalar(0.5))
            .unwrap()
    });
    let (e1, e2) = (s.exp(), (2.0 * s).exp());
    let excess = (4.0 * s).exp() + 2.0 * (3.0 * s).exp() + 3.0 * e2 - 6.0;
    check(
        "lognormal(0, 0.5)",
        &ln,
        Moments::kurt((s / 2.0).exp(), (e1 - 1.0) * e1, excess),
    );
}

#[test]
fn uniform_and_integer_moments() {
    let u = floats(201, |r, o| r.fill_random(o));
    check(
        "random",
        &u,
        Moments {
            mean: 0.5,
            var: 1.0 / 12.0,
            mu4: 1.0 / 80.0,
        },
    );
    let w = floats(202, |r, o| {
        r.fill_uniform(o, Arg::Scalar(-2.0), Arg::Scalar(3.0))
            .unwrap()
    });
    check(
        "uniform(-2, 3)",
        &w,
        Moments {
            mean: 0.5,
            var: 25.0 / 12.0,
            mu4: 625.0 / 80.0,
        },
    );
    // Discrete uniform on k values: var (k^2-1)/12, mu4 (k^2-1)(3k^2-7)/240.
    let g = ints(203, |r, o| {
        r.fill_integers(o, Arg::Scalar(0), Arg::Scalar(5), false)
            .unwrap()
    });
    check(
        "integers(0, 5)",
        &g,
        Moments {
            mean: 2.0,
            var: 2.0,
            mu4: 24.0 * 68.0 / 240.0,
        },
    );
    let k = 2.0f64.powi(41);
    let big = ints(204, |r, o| {
        r.fill_integers(o, Arg::Scalar(-(1 << 40)), Arg::Scalar(1 << 40), false)
            .unwrap()
    });
    check(
        "integers(-2^40, 2^40) (Lemire 64)",
        &big,
        Moments {
            mean: -0.5,
            var: (k * k - 1.0) / 12.0,
            mu4: (k * k - 1.0) * (3.0 * k * k - 7.0) / 240.0,
        },
    );
}

#[test]
fn exponential_moments_and_ziggurat_tail() {
    let e = floats(301, |r, o| r.fill_standard_exponential(o));
    check("standard_exponential", &e, Moments::kurt(1.0, 1.0, 6.0));
    let tail = e.iter().filter(|&&x| x > EXP_R).count();
    check_frequency("exponential tail X > r", tail, N, 4.541343538414966e-4);
    let s = floats(302, |r, o| r.fill_exponential(o, Arg::Scalar(2.5)).unwrap());
    check("exponential(2.5)", &s, Moments::kurt(2.5, 6.25, 6.0));
}

/// Gamma(k, theta): mean k theta, variance k theta^2, excess kurtosis 6 / k.
fn gamma_moments(k: f64, theta: f64) -> Moments {
    Moments::kurt(k * theta, k * theta * theta, 6.0 / k)
}

#[test]
fn gamma_family_moments() {
    for (seed, k, theta) in [
        (401, 0.5, 2.0),
        (402, 3.0, 1.0),
        (403, 1.0, 2.0),
        (404, 0.05, 1.0),
    ] {
        let g = floats(seed, |r, o| {
            r.fill_gamma(o, Arg::Scalar(k), Arg::Scalar(theta)).unwrap()
        });
        check(&format!("gamma({k}, {theta})"), &g, gamma_moments(k, theta));
    }
    let c = floats(405, |r, o| r.fill_chisquare(o, Arg::Scalar(4.0)).unwrap());
    check("chisquare(4)", &c, gamma_moments(2.0, 2.0));
    let df = 10.0;
    let t = floats(406, |r, o| r.fill_standard_t(o, Arg::Scalar(df)).unwrap());
    check(
        "standard_t(10)",
        &t,
        Moments::kurt(0.0, df / (df - 2.0), 6.0 / (df - 4.0)),
    );
}

#[test]
fn beta_moments_both_algorithms() {
    // (0.5, 0.7): Johnk's algorithm; (2, 5): ratio of gammas.
    for (seed, a, b) in [(501, 0.5, 0.7), (502, 2.0, 5.0), (503, 0.2, 1.0)] {
        let x = floats(seed, |r, o| {
            r.fill_beta(o, Arg::Scalar(a), Arg::Scalar(b)).unwrap()
        });
        let s = a + b;
        let excess = 6.0 * ((a - b) * (a - b) * (s + 1.0) - a * b * (s + 2.0))
            / (a * b * (s + 2.0) * (s + 3.0));
        check(
            &format!("beta({a}, {b})"),
            &x,
            Moments::kurt(a / s, a * b / (s * s * (s + 1.0)), excess),
        );
    }
}

#[test]
fn binomial_moments_all_paths() {
    // (20, 0.3): inversion; (100, 0.4): BTPE; (1000, 0.3): BTPE with the Stirling test (k > 20);
    // (100, 0.9): reflected inversion; (200, 0.8): reflected BTPE.
    for (seed, n, p) in [
        (601, 20, 0.3),
        (602, 100, 0.4),
        (603, 1000, 0.3),
        (604, 100, 0.9),
        (605, 200, 0.8),
    ] {
        let x = ints(seed, |r, o| {
            r.fill_binomial(o, Arg::Scalar(n), Arg::Scalar(p)).unwrap()
        });
        let nf = n as f64;
        let var = nf * p * (1.0 - p);
        check(
            &format!("binomial({n}, {p})"),
            &x,
            Moments::kurt(nf * p, var, (1.0 - 6.0 * p * (1.0 - p)) / var),
        );
    }
}

#[test]
fn poisson_moments_both_algorithms() {
    // 3: multiplication; 25 and 1e4: PTRS.
    for (seed, lam) in [(701, 3.0), (702, 25.0), (703, 1e4), (704, 0.5)] {
        let x = ints(seed, |r, o| r.fill_poisson(o, Arg::Scalar(lam)).unwrap());
        check(
            &format!("poisson({lam})"),
            &x,
            Moments {
                mean: lam,
                var: lam,
                mu4: lam * (1.0 + 3.0 * lam),
            },
        );
    }
}
