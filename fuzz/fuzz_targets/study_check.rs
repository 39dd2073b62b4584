//! A study file through `parsim check`: load (TOML, names, the data program, formulas, estimands) and,
//! when it loads, generate replication 0 of every condition and fit the methods to condition 0's data.
//! Any text is a study or located diagnostics, never a panic, an abort or a stack overflow.
//!
//! Only the built-in model kinds are registered: the external kinds would start programs named in the
//! input.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use parsim::method::{LmmKind, OlsKind, Registry};
use parsim::study::Study;

fuzz_target!(|text: &str| {
    let registry = Registry::empty().with(LmmKind).with(OlsKind);
    if let Ok(study) = Study::from_source_with(Path::new("fuzz.toml"), text.to_string(), &registry) {
        if let Ok(report) = study.check() {
            let _ = report.to_string();
        }
    }
});
