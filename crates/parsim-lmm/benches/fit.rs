//! Microseconds per fit: the seed study's data set 0 (5000 rows, 5 groups) with a reused workspace for
//! `response ~ X + (1 | group)` and `response ~ X + (1 + X | group)`, sleepstudy (random slopes, 180
//! rows) and Penicillin (crossed, 144 rows); OLS `response ~ X` on seed0, classical and with CR1
//! standard errors clustered by group. The data set is read as a CSV into a `DataFrame`, so the
//! group column is an integer column, as the study runner hands it over. Besides criterion's report, a summary prints µs per fit
//! against the targets (15 µs and 60 µs for the two seed fits) and against a cold fit (a new
//! fitter per data set) measured in the same run.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

mod timing;

use criterion::{criterion_group, criterion_main, Criterion};
use parsim_lmm::{DataFrame, Formula, LmmFitter, LmmOptions, OlsFitter, OlsOptions};

#[derive(Clone, Copy)]
enum Model {
    Lmm,
    /// OLS, with CR1 standard errors clustered by this column when set.
    Ols(Option<&'static str>),
}

struct Case {
    name: &'static str,
    file: &'static str,
    formula: &'static str,
    model: Model,
    target_us: Option<f64>,
}

/// A reusable fitter of either kind; `fit` returns a number that depends on the whole fit.
enum Fitter {
    Lmm(Box<LmmFitter>),
    Ols(Box<OlsFitter>),
}

impl Fitter {
    fn new(case: &Case, formula: &Formula) -> Fitter {
        match case.model {
            Model::Lmm => Fitter::Lmm(Box::new(
                LmmFitter::new(formula, LmmOptions::default()).expect("fitter"),
            )),
            Model::Ols(cluster) => {
                let options = OlsOptions {
                    cluster: cluster.map(String::from),
                    ..OlsOptions::default()
                };
                Fitter::Ols(Box::new(OlsFitter::new(formula, options).expect("fitter")))
            }
        }
    }

    fn fit(&mut self, data: &DataFrame) -> f64 {
        match self {
            Fitter::Lmm(f) => f.fit(data).expect("fit").criterion,
            Fitter::Ols(f) => f.fit(data).expect("fit").coefficients[0].ci_upper,
        }
    }

    fn evaluations(&mut self, data: &DataFrame) -> usize {
        match self {
            Fitter::Lmm(f) => f.fit(data).expect("fit").evaluations,
            Fitter::Ols(_) => 0,
        }
    }
}

const CASES: &[Case] = &[
    Case {
        name: "seed0_ri",
        file: "seed0.csv",
        formula: "response ~ X + (1 | group)",
        model: Model::Lmm,
        target_us: Some(15.0),
    },
    Case {
        name: "seed0_rs",
        file: "seed0.csv",
        formula: "response ~ X + (1 + X | group)",
        model: Model::Lmm,
        target_us: Some(60.0),
    },
    Case {
        name: "sleepstudy",
        file: "sleepstudy.csv",
        formula: "Reaction ~ Days + (Days | Subject)",
        model: Model::Lmm,
        target_us: None,
    },
    Case {
        name: "penicillin",
        file: "penicillin.csv",
        formula: "diameter ~ 1 + (1 | plate) + (1 | sample)",
        model: Model::Lmm,
        target_us: None,
    },
    Case {
        name: "seed0_ols",
        file: "seed0.csv",
        formula: "response ~ X",
        model: Model::Ols(None),
        target_us: None,
    },
    Case {
        name: "seed0_cr1",
        file: "seed0.csv",
        formula: "response ~ X",
        model: Model::Ols(Some("group")),
        target_us: None,
    },
];

fn load(case: &Case) -> (DataFrame, Formula) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/lme4/data")
        .join(case.file);
    let data = DataFrame::read_csv(&path).expect("fixture data");
    (data, Formula::parse(case.formula).expect("formula"))
}

/// Mean µs per call of `f` over enough calls to fill `budget`.
fn micros_per_call(budget: Duration, f: impl FnMut()) -> f64 {
    timing::seconds_per_call(budget, f) * 1e6
}

/// `PARSIM_BENCH_FITS=N`: only N warm fits per selected case, no statistics, for counting cycles
/// per fit under `perf stat` (steadier than wall time on a shared machine).
fn fixed_count(count: &str, only: Option<&str>) {
    let count: u64 = count.parse().expect("PARSIM_BENCH_FITS: a number of fits");
    for case in CASES.iter().filter(|c| only.is_none_or(|o| c.name == o)) {
        let (data, formula) = load(case);
        let mut fitter = Fitter::new(case, &formula);
        for _ in 0..count {
            black_box(fitter.fit(black_box(&data)));
        }
        println!("{}: {count} fits", case.name);
    }
}

fn fits(c: &mut Criterion) {
    if let Ok(count) = std::env::var("PARSIM_BENCH_FITS") {
        return fixed_count(&count, std::env::var("PARSIM_BENCH_CASE").ok().as_deref());
    }
    let mut group = c.benchmark_group("fit");
    group.measurement_time(Duration::from_secs(3));
    let mut summary = Vec::new();
    // PARSIM_BENCH_CASE=seed0_rs runs one case only (e.g. under a profiler with --profile-time).
    let only = std::env::var("PARSIM_BENCH_CASE").ok();
    for case in CASES
        .iter()
        .filter(|c| only.as_deref().is_none_or(|o| c.name == o))
    {
        let (data, formula) = load(case);
        let mut fitter = Fitter::new(case, &formula);
        group.bench_function(case.name, |b| {
            b.iter(|| black_box(fitter.fit(black_box(&data))))
        });
        let warm = micros_per_call(Duration::from_millis(700), || {
            black_box(fitter.fit(&data));
        });
        let cold = micros_per_call(Duration::from_millis(700), || {
            black_box(Fitter::new(case, &formula).fit(&data));
        });
        let evaluations = fitter.evaluations(&data);
        summary.push((case, warm, cold, evaluations));
    }
    group.finish();
    println!("\nµs per fit (reused workspace; cold = new fitter per fit, same run):");
    for (case, warm, cold, evaluations) in summary {
        let target = case.target_us.map_or(String::from("-"), |t| {
            format!("{:.2}x of target {t} µs", warm / t)
        });
        println!(
            "  {:<11} {:>9.2} µs   cold {:>9.2} µs ({:.1}x)   {:>4} evaluations   {}",
            case.name,
            warm,
            cold,
            cold / warm,
            evaluations,
            target
        );
    }
}

criterion_group!(benches, fits);
criterion_main!(benches);
