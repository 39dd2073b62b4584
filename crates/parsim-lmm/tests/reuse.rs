//! A reused fitter must give exactly what a new fitter gives, also when the next data set's
//! grouping levels differ (the fast path encodes an integer grouping column inside its accumulation
//! pass and must notice a missing, extra or shifted level there).

use std::path::PathBuf;

use parsim_lmm::{ColumnRef, Columns, DataFrame, Formula, LmmFit, LmmFitter, LmmOptions};

fn seed0() -> DataFrame {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/lme4/data/seed0.csv");
    DataFrame::read_csv(&path).unwrap()
}

/// seed0 with its group column (integers 0-4) mapped through `relabel`.
fn relabeled(data: &DataFrame, relabel: impl Fn(i64) -> i64) -> DataFrame {
    let Some(ColumnRef::Int(group)) = data.column("group") else {
        panic!("seed0's group column is an integer column");
    };
    let group = group.iter().map(|&g| relabel(g)).collect();
    let float = |name| match data.column(name) {
        Some(ColumnRef::Float(v)) => v.to_vec(),
        _ => panic!("{name} is a float column"),
    };
    DataFrame::default()
        .with_float("response", float("response"))
        .with_float("X", float("X"))
        .with_int("group", group)
}

fn fresh(formula: &Formula, data: &DataFrame) -> LmmFit {
    let mut fitter = LmmFitter::new(formula, LmmOptions::default()).unwrap();
    fitter.fit(data).unwrap().clone()
}

#[test]
fn reused_fitter_follows_changed_levels() {
    let original = seed0();
    let variants = [
        ("original", relabeled(&original, |g| g)),
        ("level 4 missing", relabeled(&original, |g| g.min(3))),
        ("back to the original", relabeled(&original, |g| g)),
        (
            "level 4 renamed 9 (not consecutive)",
            relabeled(&original, |g| if g == 4 { 9 } else { g }),
        ),
        ("shifted by 10", relabeled(&original, |g| g + 10)),
        (
            "one extra level",
            relabeled(&original, |g| if g == 4 { 5 } else { g }),
        ),
        ("finally the original", relabeled(&original, |g| g)),
    ];
    for formula in [
        "response ~ X + (1 | group)",
        "response ~ X + (1 + X | group)",
    ] {
        let formula = Formula::parse(formula).unwrap();
        let mut reused = LmmFitter::new(&formula, LmmOptions::default()).unwrap();
        for (name, data) in &variants {
            let fit = reused.fit(data).unwrap().clone();
            assert_eq!(fit, fresh(&formula, data), "{formula}: {name}");
        }
    }
}
