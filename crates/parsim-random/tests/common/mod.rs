//! Reading the numpy fixtures in `tests/data/numpy` (copied from the project's reference material).
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

/// The path of a numpy fixture file.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/numpy")
        .join(name)
}

/// One CSV row, by column name.
pub struct Row {
    pub line: usize,
    fields: HashMap<String, String>,
}

impl Row {
    pub fn str(&self, col: &str) -> &str {
        self.fields
            .get(col)
            .unwrap_or_else(|| panic!("line {}: no column {col}", self.line))
    }
    pub fn f64(&self, col: &str) -> f64 {
        self.str(col)
            .parse()
            .unwrap_or_else(|e| panic!("line {}: {col}: {e}", self.line))
    }
    pub fn i64(&self, col: &str) -> i64 {
        self.str(col)
            .parse()
            .unwrap_or_else(|e| panic!("line {}: {col}: {e}", self.line))
    }
    pub fn u64(&self, col: &str) -> u64 {
        self.str(col)
            .parse()
            .unwrap_or_else(|e| panic!("line {}: {col}: {e}", self.line))
    }
    /// A hex field, with or without `0x`.
    pub fn hex_u128(&self, col: &str) -> u128 {
        let s = self.str(col);
        u128::from_str_radix(s.trim_start_matches("0x"), 16)
            .unwrap_or_else(|e| panic!("line {}: {col}: {e}", self.line))
    }
    pub fn hex_u64(&self, col: &str) -> u64 {
        self.hex_u128(col) as u64
    }
}

/// Splits one CSV line, honouring double quotes (the `call` column holds commas).
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            _ => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

/// All rows of a fixture CSV file with a header line.
pub fn read_csv(name: &str) -> Vec<Row> {
    read_csv_at(&fixture(name))
}

/// All rows of a CSV file with a header line; lines starting with `#` are comments.
pub fn read_csv_at(path: &std::path::Path) -> Vec<Row> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut lines = text.lines();
    let header = split_csv(lines.next().expect("header"));
    lines
        .enumerate()
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(i, l)| {
            let values = split_csv(l);
            assert_eq!(values.len(), header.len(), "{name} line {}", i + 2);
            Row {
                line: i + 2,
                fields: header.iter().cloned().zip(values).collect(),
            }
        })
        .collect()
}

/// Asserts bit-identical doubles, reporting the first mismatch with its context.
pub fn assert_bits(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            g.to_bits(),
            w.to_bits(),
            "{what}[{i}]: got {g:e} ({:016x}), numpy {w:e} ({:016x})",
            g.to_bits(),
            w.to_bits()
        );
    }
}
