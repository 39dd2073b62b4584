//! The store's share of a run: writing the blog study's 500 replications (one random-intercept fit, four
//! estimates each), then results.csv and the summary read back from it. Prints the median over rounds of
//! each step, per replication, with writing 500 replications' records to memory as the baseline.
//!
//! Run: `cargo bench -p parsim --bench store`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use parsim::run::{study_record, summary_table, UnitWorker};
use parsim::store::{export_csv, ReplicationRecord, Store};
use parsim::study::Study;

const ROUNDS: usize = 15;

fn main() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed-study-blog.toml");
    let study = Study::load(&path).expect("examples/seed-study-blog.toml loads");
    let mut worker = UnitWorker::new(&study).expect("the blog's model builds");
    let records: Vec<ReplicationRecord> = (0..study.replications)
        .map(|r| {
            let mut record = ReplicationRecord::default();
            worker.run_unit(&study, 0, r, &mut record);
            record
        })
        .collect();
    let record = study_record(&study);
    let scratch = std::env::temp_dir().join(format!("parsim-bench-store-{}", std::process::id()));
    let (mut write, mut export, mut summary, mut copy) = (vec![], vec![], vec![], vec![]);
    for round in 0..ROUNDS {
        let dir = scratch.join(round.to_string());
        let mut store = Store::create_or_resume(&dir, &record, false).expect("store created");
        let t = Instant::now();
        let cloned: Vec<ReplicationRecord> = std::hint::black_box(records.clone());
        copy.push(t.elapsed());
        drop(cloned);
        let t = Instant::now();
        store.write_batch(&records).expect("records written");
        write.push(t.elapsed());
        let t = Instant::now();
        export_csv(&store, &dir.join("results.csv")).expect("results.csv");
        export.push(t.elapsed());
        let t = Instant::now();
        let files = parsim::store::Derived::new(&dir, &["summary.csv", "summary.md"]);
        summary_table(&dir, &files).expect("summary");
        summary.push(t.elapsed());
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let n = records.len() as f64;
    let per_rep = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64() * 1e6 / n
    };
    let base = per_rep(&mut copy);
    println!("store, {} replications, median of {ROUNDS} rounds (µs per replication; ratio to copying the records):", n);
    for (name, v) in [
        ("write (one transaction)", &mut write),
        ("results.csv", &mut export),
        ("summary", &mut summary),
    ] {
        let t = per_rep(v);
        println!("  {name:24} {t:8.2}  ({:.0}x)", t / base);
    }
    println!("  {:24} {base:8.2}", "copy the records");
}
