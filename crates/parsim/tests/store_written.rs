//! The end of a run takes results.csv and the summary from the rows it wrote ([`Written`]) instead of
//! reading its new store back. Both ways must give the same files, byte for byte, whatever the rows hold:
//! replications written out of order, methods and terms whose file order is not their name order, every
//! fit status, missing and non-finite values, −0 (which SQLite stores as 0) and text that CSV quotes.

use std::sync::Arc;

use parsim::measures::summarise;
use parsim::store::{
    export_csv, Estimate, FitRecord, FitStatus, Kept, ReplicationRecord, Store, StoredCondition,
    StudyRecord, TermKind, Written,
};

const METHODS: [&str; 3] = ["zeta", "alpha", "mid"];

fn study() -> StudyRecord {
    let condition = |index: usize, n: f64| StoredCondition {
        index,
        label: format!("N={n}"),
        parameters: vec![("N".into(), n), ("beta".into(), -0.5)],
        stream: index as u64,
    };
    StudyRecord {
        name: "written".into(),
        toml: "[study]\nname = \"written\"\n\n[summary]\nlevel = 0.9\nreference = \"mid\"\n".into(),
        hash: "written".into(),
        conditions: vec![condition(0, 50.0), condition(1, 200.0)],
        factors: vec!["N".into()],
        methods: METHODS
            .iter()
            .map(|m| (m.to_string(), "ols".into(), Some("y ~ x".into())))
            .collect(),
    }
}

/// Deterministic values in (-1, 1) (splitmix64).
struct Values(u64);

impl Values {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// Model order `x`, `(Intercept)`, `sigma`, `b,c` (quoted in CSV); `sigma` has no true value.
fn estimates(values: &mut Values, condition: usize, replication: u64) -> Vec<Estimate> {
    let terms = [
        ("x", TermKind::Fixed, Some(-0.5)),
        ("(Intercept)", TermKind::Fixed, Some(10.0)),
        ("sigma", TermKind::Variance, None),
        ("b,c", TermKind::Fixed, Some(0.0)),
    ];
    terms
        .iter()
        .map(|&(term, kind, truth)| {
            let estimate = truth.unwrap_or(1.0) + values.next() / (condition + 1) as f64;
            let se = 0.3 + 0.1 * values.next();
            let odd = |k: u64| replication.is_multiple_of(k);
            Estimate {
                term: Arc::from(term),
                kind,
                estimate: match term {
                    "x" if odd(13) => f64::NAN,
                    "b,c" if odd(7) => -0.0,
                    _ => estimate,
                },
                se: if odd(11) {
                    Some(f64::INFINITY)
                } else {
                    Some(se)
                },
                df: (kind == TermKind::Fixed && !odd(5)).then_some(48.0),
                ci_lower: Some(estimate - 1.645 * se),
                ci_upper: if odd(17) {
                    Some(f64::NAN)
                } else {
                    Some(estimate + 1.645 * se)
                },
                p_value: Some(values.next().abs()),
                truth,
            }
        })
        .collect()
}

fn replication(values: &mut Values, condition: usize, replication: u64) -> ReplicationRecord {
    let fits = (0..METHODS.len())
        .map(|method| {
            let status = match (method, replication % 9, replication % 10) {
                (0, 4, _) => FitStatus::Error,
                (0, _, 3) => FitStatus::NotConverged,
                (1, 2, _) => FitStatus::Singular,
                _ => FitStatus::Ok,
            };
            FitRecord {
                method,
                status,
                message: (status != FitStatus::Ok).then(|| "why, \"quoted\"".into()),
                iterations: 7,
                seconds: 0.001,
                estimates: if status == FitStatus::Error {
                    vec![]
                } else {
                    estimates(values, condition, replication)
                },
            }
        })
        .collect();
    ReplicationRecord {
        partial: false,
        condition,
        replication,
        seconds: 0.002,
        fits,
    }
}

/// A new store written in several out-of-order batches, as a run's writer does, and the rows kept.
fn written_store(dir: &std::path::Path, limit: usize) -> (Store, Written) {
    let _ = std::fs::remove_dir_all(dir);
    let mut store = Store::create_or_resume(dir, &study(), false).expect("store");
    let mut written = Written::new(METHODS.map(String::from).to_vec(), limit);
    let mut values = Values(7);
    let mut units: Vec<(usize, u64)> = (0..2).flat_map(|c| (0..60).map(move |r| (c, r))).collect();
    // Workers finish units out of order: interleave from both ends.
    units = (0..units.len())
        .map(|i| {
            units[if i % 2 == 0 {
                i / 2
            } else {
                units.len() - 1 - i / 2
            }]
        })
        .collect();
    for batch in units.chunks(7) {
        let reps: Vec<ReplicationRecord> = batch
            .iter()
            .map(|&(c, r)| replication(&mut values, c, r))
            .collect();
        store.write_batch(&reps).expect("write");
        written.record(&reps);
    }
    (store, written)
}

#[test]
fn results_csv_from_the_written_rows_is_the_exported_file() {
    let dir = std::env::temp_dir().join(format!("parsim-written-csv-{}", std::process::id()));
    let (store, written) = written_store(&dir, usize::MAX);
    let written = written.finish().expect("kept");
    let (read, kept) = (dir.join("read.csv"), dir.join("kept.csv"));
    let rows = export_csv(&store, &read).expect("export");
    assert_eq!(
        export_csv(&Kept::new(&store, &written), &kept).expect("export"),
        rows
    );
    let (read, kept) = (
        std::fs::read_to_string(read).expect("read"),
        std::fs::read_to_string(kept).expect("kept"),
    );
    // The cases the rows were made to hold are in the file.
    for needle in [
        ",NA,",
        ",0,",
        ",Inf,",
        "\"b,c\"",
        ",singular,",
        ",not_converged,",
    ] {
        assert!(read.contains(needle), "{needle} missing from\n{read}");
    }
    assert!(!read.contains("-0,"), "SQLite stores -0 as 0");
    assert_eq!(kept, read);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_summary_of_the_written_rows_is_the_stored_summary() {
    let dir = std::env::temp_dir().join(format!("parsim-written-summary-{}", std::process::id()));
    let (store, written) = written_store(&dir, usize::MAX);
    let written = written.finish().expect("kept");
    // JSON, so that equal NaNs (a measure with no data) compare equal; floats in shortest round-trip form.
    let json = |s| serde_json::to_string(&s).expect("json");
    let read = json(summarise(&store, None).expect("summary"));
    let kept = json(summarise(&Kept::new(&store, &written), None).expect("summary"));
    assert!(
        read.contains("relative_precision") && read.contains("\"failed\":"),
        "{read}"
    );
    assert_eq!(kept, read);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn too_many_rows_are_not_kept() {
    let dir = std::env::temp_dir().join(format!("parsim-written-limit-{}", std::process::id()));
    let (_, written) = written_store(&dir, 100);
    assert!(written.finish().is_none());
    let _ = std::fs::remove_dir_all(&dir);
}
