//! After a warm-up replication, generating a data set allocates nothing: a counting global allocator
//! watches the seed study's program over many replications.

use parsim::study::Study;
use std::path::PathBuf;

mod alloc_support;
use alloc_support::{allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn generating_allocates_nothing_after_warm_up() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed-study.toml");
    let study = Study::load(&path).expect("the example loads");
    let condition = &study.conditions()[0];
    let mut ws = study.program.workspace();
    let mut rng = study.generator(0, 0);
    ws.generate(&study.program, &condition.values, &mut rng)
        .expect("warm-up");
    // Generators are made outside the measured region (seeding is the runner's business).
    let mut generators: Vec<_> = (1..50).map(|r| study.generator(0, r)).collect();
    let before = allocations();
    for rng in &mut generators {
        ws.generate(&study.program, &condition.values, rng)
            .expect("generates");
    }
    let after = allocations();
    // The counter sees this thread's allocations (else the zero below would prove nothing).
    let probe = std::hint::black_box(vec![0u8; 64]);
    assert_eq!(allocations(), after + 1);
    drop(probe);
    assert_eq!(
        after - before,
        0,
        "allocations while generating 49 replications"
    );
    assert_eq!(ws.data().nrows(), 5000);
}
