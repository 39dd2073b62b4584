//! A global allocator that counts allocations per thread, for the tests that show a hot path allocates
//! nothing. A test binary installs it with `#[global_allocator] static GLOBAL: Counting = Counting;`.
//! Counting per thread keeps the test harness's own threads (and anything else the process runs beside
//! the measured code) out of the count, so a loaded machine cannot make the tests fail.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting every allocation and reallocation of the calling thread.
pub struct Counting;

thread_local! {
    // A const-initialised Cell needs no allocation and no destructor, so the allocator may touch it.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // During a thread's teardown the slot may be gone; such allocations are not measured anyway.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

/// Allocations (and reallocations) so far on this thread.
pub fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
