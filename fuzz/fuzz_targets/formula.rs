//! The formula parser (lme4's syntax): any text is a formula or an error, never a panic, an abort or a
//! stack overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(formula) = parsim_lmm::Formula::parse(text) {
        // Printing what was parsed walks the whole tree too.
        let _ = format!("{formula:?}");
    }
});
