//! Nanoseconds per Student t survival (two-sided p-value) and upper quantile at ν = 8, 50, 494 and
//! 4994, against the survival function used before BGRAT (the incomplete beta's continued fraction
//! by modified Lentz, for every ν and t), measured in the same run: the summary alternates new and
//! old in short rounds and keeps each one's fastest round, the figure least disturbed by other
//! load on a shared machine. The p-values cycle through t = 0.5, 1, 2, 3 (the statistics of ordinary coefficients); the
//! quantile is the 97.5 % point of a 95 % confidence interval.

use std::hint::black_box;
use std::time::Duration;

mod timing;

use criterion::{criterion_group, criterion_main, Criterion};
use parsim_lmm::student_t::{
    survival_continued_fraction, two_sided_p, upper_quantile, upper_quantile_continued_fraction,
};

const DFS: [f64; 4] = [8.0, 50.0, 494.0, 4994.0];
const TS: [f64; 4] = [0.5, 1.0, 2.0, 3.0];
const ALPHA: f64 = 0.025;
/// Alternated rounds per method in the summary.
const ROUNDS: usize = 8;

/// Mean ns per call of `f` over enough calls to fill `budget`.
fn nanos_per_call(budget: Duration, f: impl FnMut()) -> f64 {
    timing::seconds_per_call(budget, f) * 1e9
}

/// One p-value per call, t cycling through [`TS`].
fn p_values(df: f64, p: impl Fn(f64, f64) -> f64) -> impl FnMut() {
    let mut i = 0;
    move || {
        i = (i + 1) % TS.len();
        black_box(p(black_box(TS[i]), black_box(df)));
    }
}

fn quantiles(df: f64, q: impl Fn(f64, f64) -> f64) -> impl FnMut() {
    move || {
        black_box(q(black_box(ALPHA), black_box(df)));
    }
}

fn fraction_p(t: f64, df: f64) -> f64 {
    2.0 * survival_continued_fraction(t, df)
}

fn student_t(c: &mut Criterion) {
    let mut group = c.benchmark_group("student_t");
    let budget = Duration::from_millis(60);
    let mut summary = Vec::new();
    for df in DFS {
        group.bench_function(format!("p_value_df{df}"), |b| {
            let mut f = p_values(df, two_sided_p);
            b.iter(&mut f)
        });
        group.bench_function(format!("quantile_df{df}"), |b| {
            let mut f = quantiles(df, upper_quantile);
            b.iter(&mut f)
        });
        let mut best = [f64::INFINITY; 4];
        for _ in 0..ROUNDS {
            let rounds = [
                nanos_per_call(budget, p_values(df, two_sided_p)),
                nanos_per_call(budget, p_values(df, fraction_p)),
                nanos_per_call(budget, quantiles(df, upper_quantile)),
                nanos_per_call(budget, quantiles(df, upper_quantile_continued_fraction)),
            ];
            for (b, r) in best.iter_mut().zip(rounds) {
                *b = b.min(r);
            }
        }
        summary.push((df, best[0], best[1], best[2], best[3]));
    }
    group.finish();
    println!("\nns per call, fastest of {ROUNDS} alternated rounds (before = continued fraction by Lentz):");
    println!(
        "  {:>6}  {:>9} {:>9} {:>7}   {:>9} {:>9} {:>7}",
        "df", "p-value", "before", "ratio", "quantile", "before", "ratio"
    );
    for (df, p_new, p_old, q_new, q_old) in summary {
        println!(
            "  {df:>6}  {p_new:>9.1} {p_old:>9.1} {:>6.1}x   {q_new:>9.1} {q_old:>9.1} {:>6.1}x",
            p_old / p_new,
            q_old / q_new
        );
    }
}

criterion_group!(benches, student_t);
criterion_main!(benches);
