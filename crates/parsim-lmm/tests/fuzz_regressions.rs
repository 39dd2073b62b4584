//! Inputs that once crashed or hung a fuzz target (fuzz/, cargo fuzz), kept as they were found in
//! tests/data/fuzz. Each must now give an answer (a formula or a located error) at once.

use std::path::PathBuf;

use parsim_lmm::Formula;

/// The text a fuzz target saw: the longest UTF-8 prefix of the bytes (as `arbitrary` makes a `&str`).
fn fuzz_text(bytes: &[u8]) -> &str {
    match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).expect("valid prefix"),
    }
}

fn inputs(prefix: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let mut found: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    found.sort();
    assert!(
        !found.is_empty(),
        "no {prefix}* inputs in {}",
        dir.display()
    );
    found
}

#[test]
fn formulas_that_hung_the_parser_are_refused_at_once() {
    for (path, bytes) in inputs("formula-") {
        let text = fuzz_text(&bytes);
        let started = std::time::Instant::now();
        let err = Formula::parse(text).expect_err("too many terms");
        assert!(
            err.to_string().contains("more than 1000 terms"),
            "{}: {err}",
            path.display()
        );
        // Before the fix this input ran for hours (2^k terms); now it is refused within milliseconds.
        // Not a timing assertion on speed, a bound on a hang: a minute cannot pass by noise.
        assert!(started.elapsed().as_secs() < 60, "{}", path.display());
    }
}

#[test]
fn a_product_of_many_variables_is_refused_with_its_place() {
    let vars: Vec<String> = (1..=30).map(|k| format!("x{k}")).collect();
    let text = format!("y ~ {}", vars.join(" * "));
    let err = Formula::parse(&text).expect_err("2^30 terms");
    assert!(err.to_string().contains("more than 1000 terms"), "{err}");
    // Nine crossed variables make 511 terms: allowed.
    let nine = format!("y ~ {}", vars[..9].join(" * "));
    Formula::parse(&nine).expect("511 terms are allowed");
}
