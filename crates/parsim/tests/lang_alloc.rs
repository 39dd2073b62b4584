//! After a warm-up replication, generating a data set allocates nothing: a counting global allocator
//! watches the seed study's program over many replications.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use parsim::study::Study;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn generating_allocates_nothing_after_warm_up() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed-study.toml");
    let study = Study::load(&path).expect("the example loads");
    let condition = &study.conditions()[0];
    let mut ws = study.program.workspace();
    let mut rng = study.generator(0, 0);
    ws.generate(&study.program, condition, &mut rng)
        .expect("warm-up");
    // Generators are made outside the measured region (seeding is the runner's business).
    let mut generators: Vec<_> = (1..50).map(|r| study.generator(0, r)).collect();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for rng in &mut generators {
        ws.generate(&study.program, condition, rng)
            .expect("generates");
    }
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(
        after - before,
        0,
        "allocations while generating 49 replications"
    );
    assert_eq!(ws.data().nrows(), 5000);
}
