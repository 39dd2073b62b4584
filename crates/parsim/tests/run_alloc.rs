//! The runner's hot path allocates nothing per replication: once a worker's workspaces and a few result
//! records are warm, generating a replication, fitting every method and filling the reused record make no
//! heap allocation. A counting global allocator watches the seed study (random intercept, random slope
//! and OLS) over many units.

use parsim::run::UnitWorker;
use parsim::store::{FitStatus, ReplicationRecord};
use parsim::study::Study;
use std::path::PathBuf;

mod alloc_support;
use alloc_support::{allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn a_unit_allocates_nothing_after_warm_up() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed-study.toml");
    let study = Study::load(&path).expect("the example loads");
    let mut worker = UnitWorker::new(&study).expect("the methods set up");
    let mut record = ReplicationRecord::default();
    worker.run_unit(&study, 0, 0, &mut record);
    let before = allocations();
    for r in 1..40 {
        worker.run_unit(&study, 0, r, &mut record);
    }
    let after = allocations();
    // The units really ran: three methods, each with estimates (a failed fit would allocate its message).
    assert_eq!(record.replication, 39);
    assert_eq!(record.fits.len(), 3);
    for fit in &record.fits {
        assert_eq!(fit.status, FitStatus::Ok, "{:?}", fit.message);
        assert!(!fit.estimates.is_empty());
    }
    assert_eq!(after - before, 0, "allocations in 39 units");
}
