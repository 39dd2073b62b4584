//! The general (several grouping factors) path on the cases of issue 18, for callgrind and timing:
//! the DeBruine & Barr crossed design (replication 0 of `examples/crossed-power.toml`), Penicillin,
//! InstEval and a nested design (`bench/crossed/data.R` writes the last two). The data directory is
//! `PARSIM_BENCH_DATA` (default `target/crossed-data`; Penicillin from the lme4 fixtures).
//!
//! `PARSIM_BENCH_MODE=fits PARSIM_BENCH_COUNT=N`: N warm fits; `=evals`: one fit, then N criterion
//! evaluations at its θ̂ (for instruction counts: bench/crossed/callgrind.sh takes the difference of
//! two counts). Without a mode: µs per warm fit and per evaluation, with the evaluations per fit.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

mod timing;

use parsim_lmm::{DataFrame, Formula, LmmFitter, LmmOptions};

struct Case {
    name: &'static str,
    file: &'static str,
    formula: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "crossed",
        file: "rep0.csv",
        formula: "rt ~ cond + (1 + cond | subj) + (1 | item)",
    },
    Case {
        name: "penicillin",
        file: "penicillin.csv",
        formula: "diameter ~ 1 + (1 | plate) + (1 | sample)",
    },
    Case {
        name: "nested",
        file: "nested.csv",
        formula: "y ~ x + (1 | school/class)",
    },
    Case {
        name: "insteval",
        file: "insteval.csv",
        formula: "y ~ 1 + (1 | s) + (1 | d) + (1 | dept)",
    },
];

fn load(case: &Case) -> Option<(DataFrame, Formula)> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = if case.name == "penicillin" {
        manifest.join("../../tests/data/lme4/data").join(case.file)
    } else {
        let dir = std::env::var("PARSIM_BENCH_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|_| manifest.join("../../target/crossed-data"));
        dir.join(case.file)
    };
    if !path.exists() {
        eprintln!("{}: {} missing, skipped", case.name, path.display());
        return None;
    }
    let data = DataFrame::read_csv(&path).expect("data");
    let formula = Formula::parse(case.formula).expect("formula");
    Some((data, formula))
}

fn main() {
    let only = std::env::var("PARSIM_BENCH_CASE").ok();
    let mode = std::env::var("PARSIM_BENCH_MODE").ok();
    let count: usize = std::env::var("PARSIM_BENCH_COUNT")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(1);
    for case in CASES
        .iter()
        .filter(|c| only.as_deref().is_none_or(|o| c.name == o))
    {
        let Some((data, formula)) = load(case) else {
            continue;
        };
        let mut fitter = LmmFitter::new(&formula, LmmOptions::default()).expect("fitter");
        let fit = fitter.fit(&data).expect("fit");
        let (theta, evaluations, criterion) = (fit.theta.clone(), fit.evaluations, fit.criterion);
        match mode.as_deref() {
            Some("fits") => {
                for _ in 0..count {
                    black_box(fitter.fit(black_box(&data)).expect("fit").criterion);
                }
            }
            Some("evals") => {
                for _ in 0..count {
                    black_box(fitter.criterion_at(black_box(&theta)));
                }
            }
            _ => {
                let budget =
                    Duration::from_millis(if case.name == "insteval" { 6000 } else { 1500 });
                let fit_us = timing::seconds_per_call(budget, || {
                    black_box(fitter.fit(&data).expect("fit").criterion);
                }) * 1e6;
                fitter.fit(&data).expect("fit");
                let eval_us = timing::seconds_per_call(budget / 2, || {
                    black_box(fitter.criterion_at(&theta));
                }) * 1e6;
                println!(
                    "{:<11} {:>10.1} µs per fit  {:>9.1} µs per evaluation  {:>4} evaluations  criterion {:.6}",
                    case.name, fit_us, eval_us, evaluations, criterion
                );
            }
        }
    }
}
