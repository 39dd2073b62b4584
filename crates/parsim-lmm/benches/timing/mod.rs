//! Timing shared by the benches' summary tables.

use std::time::{Duration, Instant};

/// Mean seconds per call of `f` over enough calls to fill `budget` (after one warm-up call).
pub fn seconds_per_call(budget: Duration, mut f: impl FnMut()) -> f64 {
    f();
    let mut calls = 0u64;
    let start = Instant::now();
    while start.elapsed() < budget {
        f();
        calls += 1;
    }
    start.elapsed().as_secs_f64() / calls as f64
}
