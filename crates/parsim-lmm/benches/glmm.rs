//! Milliseconds per GLMM fit (Laplace) with a reused workspace, on issue 19's three data sets: cbpp
//! (`cbind(incidence, failures) ~ period + (1 | herd)`, 56 rows), the cluster-randomised trial
//! (`y ~ trt + x + (1 | cluster)`, 600 rows, 30 clusters) and VerbAgg (crossed subjects and items,
//! 7,584 rows). Prints the median, minimum and maximum of the warm fits (at least 5, for about a
//! second per data set) as `name median min max` lines for bench/glmm.sh, which times lme4 on the
//! same data in the same run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use parsim_lmm::{DataFrame, Formula, GlmmFitter, GlmmOptions};

fn fixed_count() -> Option<usize> {
    let count = std::env::var("PARSIM_BENCH_FITS").ok()?;
    Some(count.parse().expect("PARSIM_BENCH_FITS: a number of fits"))
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/glmm/data");
    let cases = [
        (
            "cbpp",
            "cbpp_laplace.csv",
            "cbind(incidence, failures) ~ period + (1 | herd)",
            vec!["period".to_string()],
        ),
        (
            "crt",
            "crt_logit_seed1.csv",
            "y ~ trt + x + (1 | cluster)",
            vec!["cluster".to_string()],
        ),
        (
            "verbagg",
            "verbagg_crossed.csv",
            "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)",
            vec![],
        ),
    ];
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    for (name, file, formula, factors) in cases {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        let data = DataFrame::read_csv_with_factors(&dir.join(file), &factors).unwrap();
        let formula = Formula::parse(formula).unwrap();
        let mut fitter = GlmmFitter::new(&formula, GlmmOptions::default()).unwrap();
        let first = fitter.fit(&data).unwrap();
        eprintln!(
            "{name}: {} criterion evaluations, {} PIRLS iterations per fit",
            first.evaluations, first.pirls_iterations
        );
        // PARSIM_BENCH_FITS=N: exactly N more warm fits and no timing, for instruction counts
        // under callgrind (bench/callgrind_glmm.sh).
        if let Some(count) = fixed_count() {
            for _ in 0..count {
                std::hint::black_box(fitter.fit(&data).unwrap().criterion);
            }
            continue;
        }
        let mut times = Vec::new();
        let start = Instant::now();
        while times.len() < 5 || start.elapsed() < Duration::from_secs(1) {
            let t = Instant::now();
            std::hint::black_box(fitter.fit(&data).unwrap().criterion);
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{name} {:.4} {:.4} {:.4}",
            times[times.len() / 2],
            times[0],
            times[times.len() - 1]
        );
    }
}
