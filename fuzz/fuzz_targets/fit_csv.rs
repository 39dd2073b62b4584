//! `parsim fit`'s CSV reader: any bytes are a data frame or an error naming the place, never a panic.
//! The first line of the input names the columns to read as factors (comma separated); the rest is
//! the CSV text. Every column of a frame that parses is then looked up.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parsim_lmm::{Columns, DataFrame};

fuzz_target!(|text: &str| {
    let (factors, csv) = text.split_once('\n').unwrap_or(("", text));
    let factors: Vec<String> = factors
        .split(',')
        .filter(|f| !f.is_empty())
        .map(String::from)
        .collect();
    if let Ok(frame) = DataFrame::parse_csv_with_factors(csv, "fuzz.csv", &factors) {
        for name in frame.column_names() {
            assert!(frame.column(&name).is_some(), "column {name:?} listed but not found");
        }
    }
});
