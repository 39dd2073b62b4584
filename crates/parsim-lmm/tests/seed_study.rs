//! The seed study (statsmodels fixture, seeds 0-9): data regenerated with parsim-random exactly as the
//! seed's `gen_data` (numpy `default_rng(seed)`), fitted as `response ~ X + (1 | group)` (REML); the
//! slope agrees with lme4's value in the fixture to 1e-7. Seeds 0-2 also match the CSVs R read.

use std::path::PathBuf;

use parsim_lmm::{ColumnRef, Columns, DataFrame, Formula, LmmFitter, LmmOptions};
use parsim_random::{default_rng, Arg};
use serde_json::Value;

const N: usize = 5000;
const GROUPS: i64 = 5;

/// The seed's data set for one seed: columns response, X, group (integer codes).
struct SeedData {
    response: Vec<f64>,
    x: Vec<f64>,
    group: Vec<i64>,
}

impl Columns for SeedData {
    fn nrows(&self) -> usize {
        N
    }
    fn column(&self, name: &str) -> Option<ColumnRef<'_>> {
        match name {
            "response" => Some(ColumnRef::Float(&self.response)),
            "X" => Some(ColumnRef::Float(&self.x)),
            "group" => Some(ColumnRef::Int(&self.group)),
            _ => None,
        }
    }
}

fn gen_data(seed: u64) -> SeedData {
    let mut rng = default_rng(seed);
    let mut x = vec![0.0; N];
    rng.fill_normal(&mut x, Arg::Scalar(0.0), Arg::Scalar(1.0))
        .unwrap();
    let mut group = vec![0i64; N];
    rng.fill_integers(&mut group, Arg::Scalar(0), Arg::Scalar(GROUPS), false)
        .unwrap();
    let mut intercepts = vec![0.0; GROUPS as usize];
    rng.fill_normal(&mut intercepts, Arg::Scalar(0.0), Arg::Scalar(1.0))
        .unwrap();
    let mut slopes = vec![0.0; GROUPS as usize];
    rng.fill_normal(&mut slopes, Arg::Scalar(0.0), Arg::Scalar(0.25))
        .unwrap();
    let mut noise = vec![0.0; N];
    rng.fill_normal(&mut noise, Arg::Scalar(0.0), Arg::Scalar(1.0))
        .unwrap();
    let response = (0..N)
        .map(|i| {
            let g = group[i] as usize;
            10.0 + intercepts[g] + (-0.5 + slopes[g]) * x[i] + noise[i]
        })
        .collect();
    SeedData { response, x, group }
}

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data")
}

#[test]
fn regenerated_data_match_the_csv_r_fitted() {
    for seed in 0..3u64 {
        let ours = gen_data(seed);
        let csv =
            DataFrame::read_csv(&data_dir().join(format!("lme4/data/seed{seed}.csv"))).unwrap();
        let Some(ColumnRef::Float(response)) = csv.column("response") else {
            panic!("response")
        };
        let Some(ColumnRef::Int(group)) = csv.column("group") else {
            panic!("group")
        };
        assert_eq!(group, ours.group.as_slice(), "seed {seed}: groups");
        for (a, b) in response.iter().zip(&ours.response) {
            // R wrote 15 significant digits.
            assert!((a - b).abs() <= 1e-13 * b.abs(), "seed {seed}: {a} vs {b}");
        }
    }
}

#[test]
fn slopes_agree_with_lme4_for_seeds_0_to_9() {
    let text =
        std::fs::read_to_string(data_dir().join("statsmodels/seed_study_seeds_0_9.json")).unwrap();
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let formula = Formula::parse("response ~ X + (1 | group)").unwrap();
    // One fitter reused across the ten data sets, as the runner does.
    let mut fitter = LmmFitter::new(&formula, LmmOptions::default()).unwrap();
    for replicate in fixture["replicates"].as_array().unwrap() {
        let seed = replicate["seed"].as_u64().unwrap();
        let lme4 = &replicate["lme4"];
        let fit = fitter.fit(&gen_data(seed)).unwrap();
        let slope = &fit.coefficients[1];
        assert_eq!(slope.term, "X");
        let want = lme4["b1"].as_f64().unwrap();
        assert!(
            (slope.estimate - want).abs() <= 1e-7,
            "seed {seed}: slope {} vs lme4 {want}",
            slope.estimate
        );
        let se = lme4["se_b1"].as_f64().unwrap();
        assert!(
            ((slope.se - se) / se).abs() <= 5e-5,
            "seed {seed}: se {} vs lme4 {se}",
            slope.se
        );
        let crit = lme4["REMLcrit"].as_f64().unwrap();
        assert!(
            fit.criterion <= crit + 1e-6,
            "seed {seed}: criterion {} vs lme4 {crit}",
            fit.criterion
        );
        assert!(fit.converged && !fit.singular, "seed {seed}");
        println!(
            "seed {seed}: slope {:.12} lme4 {want:.12} diff {:.1e}",
            slope.estimate,
            slope.estimate - want
        );
    }
}
