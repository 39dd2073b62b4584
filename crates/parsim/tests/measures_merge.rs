//! Shards merge to the single-pass result: moments (Chan), cross-moments, proportions, and whole accumulators
//! including the second pass against the merged θ̄.

mod measures_support;

use measures_support::{create_store, generate, study_toml};
use parsim::measures::moments::{CoMoments, Moments};
use parsim::measures::{
    accumulate, accumulate_bias_eliminated, summarise, IntervalRule, MeasureKind,
    PerformanceAccumulator, PrecisionAccumulator, Replicate, SummarySettings,
};
use proptest::prelude::*;

/// Merged and single-pass sums differ only by rounding: 1e-11 relative is generous for ≤ 400 values of
/// magnitude ≤ 1e3 and tight enough to catch any wrong merge term (which is O(1) relative).
fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-11 * a.abs().max(b.abs()).max(1.0)
}

proptest! {
    #[test]
    fn moments_merge_equals_single_pass(values in prop::collection::vec(-1e3f64..1e3, 0..200), split in 0usize..200) {
        let split = split.min(values.len());
        let (mut a, mut b, mut all) = (Moments::default(), Moments::default(), Moments::default());
        values[..split].iter().for_each(|x| a.push(*x));
        values[split..].iter().for_each(|x| b.push(*x));
        values.iter().for_each(|x| all.push(*x));
        a.merge(&b);
        prop_assert_eq!(a.n, all.n);
        prop_assert!(close(a.mean, all.mean) && close(a.m2, all.m2), "{:?} vs {:?}", a, all);
    }

    #[test]
    fn comoments_merge_equals_single_pass(pairs in prop::collection::vec((-1e3f64..1e3, -1e3f64..1e3), 0..200), split in 0usize..200) {
        let split = split.min(pairs.len());
        let (mut a, mut b, mut all) = (CoMoments::default(), CoMoments::default(), CoMoments::default());
        pairs[..split].iter().for_each(|(x, y)| a.push(*x, *y));
        pairs[split..].iter().for_each(|(x, y)| b.push(*x, *y));
        pairs.iter().for_each(|(x, y)| all.push(*x, *y));
        a.merge(&b);
        prop_assert_eq!(a.n, all.n);
        for (g, w) in [(a.mean_x, all.mean_x), (a.mean_y, all.mean_y), (a.m2_x, all.m2_x), (a.m2_y, all.m2_y), (a.c_xy, all.c_xy)] {
            prop_assert!(close(g, w), "{:?} vs {:?}", a, all);
        }
    }
}

#[test]
fn comoments_match_two_pass_formulas() {
    let xs = [1.0, 2.0, 4.0, 7.0, 11.0];
    let ys = [2.0, 1.0, 5.0, 5.0, 14.0];
    let mut c = CoMoments::default();
    xs.iter().zip(&ys).for_each(|(x, y)| c.push(*x, *y));
    let (mx, my) = (5.0, 5.4);
    let cxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let m2x: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    assert!(close(c.c_xy, cxy) && close(c.m2_x, m2x), "{c:?}");
}

fn replicates(first: u64, count: u64) -> Vec<(usize, &'static str, &'static str, Replicate, bool)> {
    generate(first, count, 7)
        .into_iter()
        .map(|r| {
            (
                r.condition,
                r.method,
                r.term,
                r.replicate,
                r.term.is_empty(),
            )
        })
        .collect()
}

fn first_pass(
    rows: &[(usize, &str, &str, Replicate, bool)],
    failed_rows: &[(usize, &str, &str, Replicate, bool)],
    rule: &mut IntervalRule,
) -> PerformanceAccumulator {
    let mut acc = PerformanceAccumulator::default();
    for (c, m, t, r, _) in rows {
        if (*c, *m, *t) == (1, "biased", "X") {
            acc.push(r, rule);
        }
    }
    for (c, m, _, _, failed) in failed_rows {
        if *failed && (*c, *m) == (1, "biased") {
            acc.push_failed();
        }
    }
    acc
}

fn second_pass(
    acc: &mut PerformanceAccumulator,
    rows: &[(usize, &str, &str, Replicate, bool)],
    mean: f64,
    rule: &mut IntervalRule,
) {
    for (c, m, t, r, _) in rows {
        if (*c, *m, *t) == (1, "biased", "X") {
            acc.push_bias_eliminated(r, mean, rule);
        }
    }
}

#[test]
fn shard_accumulators_merge_to_the_single_run() {
    let mut rule = IntervalRule::new(0.95, 0.05).expect("rule");
    // The same replications 0..300 as one run and as shards 0..120 and 120..300 (the generator is per
    // replication-range, so regenerate the whole run and split it by replication instead).
    let all = replicates(0, 300);
    let split = |keep: &dyn Fn(u64) -> bool| -> Vec<_> {
        generate(0, 300, 7)
            .into_iter()
            .filter(|r| keep(r.replication))
            .map(|r| {
                (
                    r.condition,
                    r.method,
                    r.term,
                    r.replicate,
                    r.term.is_empty(),
                )
            })
            .collect()
    };
    let shard_a = split(&|r| r < 120);
    let shard_b = split(&|r| r >= 120);

    let mut single = first_pass(&all, &all, &mut rule);
    let mean = single.mean_estimate();
    second_pass(&mut single, &all, mean, &mut rule);

    let mut a = first_pass(&shard_a, &shard_a, &mut rule);
    let b = first_pass(&shard_b, &shard_b, &mut rule);
    a.merge(&b);
    // The second pass of each shard uses the merged θ̄, then the counts merge.
    let merged_mean = a.mean_estimate();
    assert!(close(merged_mean, mean));
    let mut second_a = PerformanceAccumulator::default();
    let mut second_b = PerformanceAccumulator::default();
    second_pass(&mut second_a, &shard_a, merged_mean, &mut rule);
    second_pass(&mut second_b, &shard_b, merged_mean, &mut rule);
    a.merge(&second_a);
    a.merge(&second_b);

    let (merged, single) = (a.finish(), single.finish());
    assert_eq!((merged.used, merged.failed), (single.used, single.failed));
    assert!(single.failed > 0, "the shard crosses failed fits");
    for kind in MeasureKind::ALL {
        let (g, w) = (merged.get(kind), single.get(kind));
        assert!(
            close(g.estimate, w.estimate) && close(g.mcse, w.mcse),
            "{kind}: {g:?} vs {w:?}"
        );
    }
}

#[test]
fn precision_accumulators_merge_to_the_single_run() {
    let pairs: Vec<(f64, f64)> = (0..100)
        .map(|i| {
            (
                (i as f64 * 0.37).sin(),
                (i as f64 * 0.37).sin() * 0.8 + (i as f64).cos() * 0.3,
            )
        })
        .collect();
    let mut single = PrecisionAccumulator::default();
    let (mut a, mut b) = (
        PrecisionAccumulator::default(),
        PrecisionAccumulator::default(),
    );
    for (i, (x, y)) in pairs.iter().enumerate() {
        single.push(*x, *y);
        if i % 3 == 0 {
            a.push(*x, *y)
        } else {
            b.push(*x, *y)
        }
    }
    a.merge(&b);
    let (g, w) = (a.finish(), single.finish());
    assert!(
        close(g.estimate, w.estimate) && close(g.mcse, w.mcse),
        "{g:?} vs {w:?}"
    );
}

#[test]
fn shard_stores_merge_to_the_single_store_summary() {
    let base = std::env::temp_dir().join(format!("parsim-shards-{}", std::process::id()));
    let rows = generate(0, 200, 21);
    let (a_rows, b_rows): (Vec<_>, Vec<_>) = rows.iter().cloned().partition(|r| r.replication < 80);
    let toml = study_toml("[summary]\nreference = \"naive\"\n");
    let whole = create_store(&base.join("whole"), &rows, &toml);
    let shard_a = create_store(&base.join("a"), &a_rows, &toml);
    let shard_b = create_store(&base.join("b"), &b_rows, &toml);
    let single = summarise(&whole, None).expect("single summary");

    let settings = SummarySettings {
        reference: Some("naive".into()),
        ..SummarySettings::default()
    };
    let mut merged = accumulate(&shard_a, &settings).expect("shard a");
    merged.merge(&accumulate(&shard_b, &settings).expect("shard b"));
    // Each shard's second pass counts intervals covering the merged θ̄.
    let second_a = accumulate_bias_eliminated(&shard_a, &settings, &merged).expect("second a");
    let second_b = accumulate_bias_eliminated(&shard_b, &settings, &merged).expect("second b");
    merged.merge(&second_a);
    merged.merge(&second_b);
    let rows = merged.rows(&single.methods);

    assert_eq!(rows.len(), single.rows.len());
    for (got, want) in rows.iter().zip(&single.rows) {
        assert_eq!(
            (got.condition, &got.method, &got.term),
            (want.condition, &want.method, &want.term)
        );
        assert_eq!(
            (got.measures.used, got.measures.failed),
            (want.measures.used, want.measures.failed)
        );
        for kind in MeasureKind::ALL {
            let (g, w) = (got.measures.get(kind), want.measures.get(kind));
            assert!(
                close(g.estimate, w.estimate) && close(g.mcse, w.mcse),
                "{} {} {}: {kind} {g:?} vs {w:?}",
                got.condition,
                got.method,
                got.term
            );
        }
    }
    let _ = std::fs::remove_dir_all(&base);
}
