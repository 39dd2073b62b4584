//! A reused fitter must give exactly what a new fitter gives, also when the next data set's
//! grouping levels differ (the fast path encodes an integer grouping column inside its accumulation
//! pass and must notice a missing, extra or shifted level there).

use std::path::PathBuf;

use parsim_lmm::{
    ColumnRef, Columns, DataFrame, Distribution, Family, Formula, GlmmFitter, GlmmOptions, LmmFit,
    LmmFitter, LmmOptions,
};

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

/// A crossed design (subjects × items, each subject meeting half the items) with a binary and a
/// continuous response; `pattern` chooses which items each subject meets, so two patterns give
/// the same levels in different crossings.
fn crossed(pattern: u64) -> DataFrame {
    let (mut subj, mut item, mut x, mut y, mut rt) = (vec![], vec![], vec![], vec![], vec![]);
    let mut state = 0x2545_f491_4f6c_dd1d_u64 ^ pattern;
    let mut uniform = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for s in 0..40i64 {
        for i in 0..20i64 {
            if (s + i + pattern as i64 * (s % 3)) % 2 == 1 {
                continue;
            }
            let xv = uniform() - 0.5;
            let effect =
                0.6 * ((s * 7 % 11) as f64 - 5.0) / 3.0 + 0.5 * ((i * 5 % 7) as f64 - 3.0) / 2.0;
            let p = 1.0 / (1.0 + (-(0.2 + xv + effect)).exp());
            subj.push(s);
            item.push(i);
            x.push(xv);
            y.push(f64::from(u8::from(uniform() < p)));
            rt.push(effect + xv + uniform());
        }
    }
    DataFrame::default()
        .with_int("subj", subj)
        .with_int("item", item)
        .with_float("x", x)
        .with_float("y", y)
        .with_float("rt", rt)
}

/// The same levels met in another crossing (or the same rows in another order) must not reuse
/// the previous data set's sparsity pattern.
#[test]
fn reused_fitter_follows_a_changed_crossing() {
    let sets = [crossed(0), crossed(1), crossed(0), crossed(2)];
    let formula = Formula::parse("y ~ x + (1 | subj) + (1 | item)").unwrap();
    let options = || GlmmOptions {
        family: Family::canonical(Distribution::Binomial),
        ..GlmmOptions::default()
    };
    let mut reused = GlmmFitter::new(&formula, options()).unwrap();
    for (k, data) in sets.iter().enumerate() {
        let fit = reused.fit(data).unwrap().clone();
        let mut new = GlmmFitter::new(&formula, options()).unwrap();
        assert_eq!(&fit, new.fit(data).unwrap(), "GLMM, data set {k}");
    }
    let formula = Formula::parse("rt ~ x + (1 | subj) + (1 | item)").unwrap();
    let mut reused = LmmFitter::new(&formula, LmmOptions::default()).unwrap();
    for (k, data) in sets.iter().enumerate() {
        let fit = reused.fit(data).unwrap().clone();
        assert_eq!(fit, fresh(&formula, data), "LMM, data set {k}");
    }
}

/// One grouping factor whose codes change between data sets (the rows in another order, as a
/// random assignment to clusters gives): the joint PIRLS of stage 1 (nAGQ = 0, a non-canonical
/// link, or the fallback of the exact Newton) places β's cross entries by each observation's
/// level, which must follow the new codes.
#[test]
fn reused_fitter_follows_changed_codes_of_one_term() {
    let first = crossed(0);
    let n = first.nrows();
    // Every other row first: observation i meets another subject than before.
    let order: Vec<usize> = (0..n).step_by(2).chain((1..n).step_by(2)).collect();
    let column = |name: &str| match first.column(name) {
        Some(ColumnRef::Float(v)) => order.iter().map(|&i| v[i]).collect::<Vec<f64>>(),
        _ => unreachable!(),
    };
    let subj = match first.column("subj") {
        Some(ColumnRef::Int(v)) => order.iter().map(|&i| v[i]).collect::<Vec<i64>>(),
        _ => unreachable!(),
    };
    let shuffled = DataFrame::default()
        .with_int("subj", subj)
        .with_float("x", column("x"))
        .with_float("y", column("y"));
    let formula = Formula::parse("y ~ x + (1 | subj)").unwrap();
    let probit = Family {
        link: parsim_lmm::Link::Probit,
        ..Family::canonical(Distribution::Binomial)
    };
    for (label, family, nagq) in [
        (
            "logit, nAGQ = 0",
            Family::canonical(Distribution::Binomial),
            0,
        ),
        ("probit, Laplace", probit, 1),
        (
            "logit, Laplace",
            Family::canonical(Distribution::Binomial),
            1,
        ),
    ] {
        let options = || GlmmOptions {
            family,
            nagq,
            ..GlmmOptions::default()
        };
        let mut reused = GlmmFitter::new(&formula, options()).unwrap();
        for (k, data) in [&first, &shuffled, &first].into_iter().enumerate() {
            let fit = reused.fit(data).unwrap().clone();
            let mut new = GlmmFitter::new(&formula, options()).unwrap();
            assert_eq!(&fit, new.fit(data).unwrap(), "{label}, data set {k}");
        }
    }
}
