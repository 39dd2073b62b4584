//! `parsim data examples/seed-study.toml --replication R` reproduces the blog's `gen_data` with
//! `default_rng(R)` bit for bit (numpy fixtures `main_seed{R}_obs.csv` / `main_seed{R}_groups.csv`).

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Parses a CSV with a header into (header, rows of fields).
fn read_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text.lines();
    let header = lines
        .next()
        .expect("a header")
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn column(header: &[String], rows: &[Vec<String>], name: &str) -> Vec<String> {
    let k = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    rows.iter().map(|r| r[k].clone()).collect()
}

fn floats(v: &[String]) -> Vec<f64> {
    v.iter().map(|s| s.parse().expect("a float")).collect()
}

fn parsim_data(study: &str, replication: u64) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_parsim"))
        .args(["data", study, "--replication", &replication.to_string()])
        .current_dir(root())
        .output()
        .expect("runs parsim");
    assert!(
        out.status.success(),
        "parsim data failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

struct Fixture {
    x: Vec<f64>,
    g: Vec<i64>,
    e: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
}

fn fixture(seed: u64) -> Fixture {
    let dir = root().join("tests/data/numpy");
    let obs =
        std::fs::read_to_string(dir.join(format!("main_seed{seed}_obs.csv"))).expect("obs fixture");
    let groups = std::fs::read_to_string(dir.join(format!("main_seed{seed}_groups.csv")))
        .expect("groups fixture");
    let (h, rows) = read_csv(&obs);
    let (gh, grows) = read_csv(&groups);
    // The group effects also carry their IEEE bits; check the decimal and the bits agree.
    let a = floats(&column(&gh, &grows, "a"));
    let a_bits: Vec<u64> = column(&gh, &grows, "a_bits")
        .iter()
        .map(|s| u64::from_str_radix(s, 16).expect("hex"))
        .collect();
    assert_eq!(a.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), a_bits);
    Fixture {
        x: floats(&column(&h, &rows, "X")),
        g: column(&h, &rows, "g")
            .iter()
            .map(|s| s.parse().expect("an integer"))
            .collect(),
        e: floats(&column(&h, &rows, "e")),
        a,
        b: floats(&column(&gh, &grows, "b")),
    }
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn seed_study_data_equal_numpy_bit_for_bit() {
    for r in 0..3 {
        let f = fixture(r);
        let (h, rows) = read_csv(&parsim_data("examples/seed-study.toml", r));
        assert_eq!(h, ["X", "group", "noise", "intercept", "slope", "response"]);
        assert_eq!(rows.len(), 5000);
        assert_eq!(
            bits(&floats(&column(&h, &rows, "X"))),
            bits(&f.x),
            "X, replication {r}"
        );
        let g: Vec<i64> = column(&h, &rows, "group")
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(g, f.g, "group, replication {r}");
        assert_eq!(
            bits(&floats(&column(&h, &rows, "noise"))),
            bits(&f.e),
            "noise, replication {r}"
        );
        let a_g: Vec<f64> = f.g.iter().map(|&j| f.a[j as usize]).collect();
        let b_g: Vec<f64> = f.g.iter().map(|&j| f.b[j as usize]).collect();
        assert_eq!(
            bits(&floats(&column(&h, &rows, "intercept"))),
            bits(&a_g),
            "intercept, replication {r}"
        );
        assert_eq!(
            bits(&floats(&column(&h, &rows, "slope"))),
            bits(&b_g),
            "slope, replication {r}"
        );
        // numpy evaluates gen_data's response left to right in float64: the same IEEE operations.
        let response: Vec<f64> = (0..5000)
            .map(|i| 10.0 + a_g[i] + (-0.5 + b_g[i]) * f.x[i] + f.e[i])
            .collect();
        assert_eq!(
            bits(&floats(&column(&h, &rows, "response"))),
            bits(&response),
            "response, replication {r}"
        );
    }
}

#[test]
fn blog_study_data_equal_numpy_bit_for_bit() {
    let f = fixture(1);
    let (h, rows) = read_csv(&parsim_data("examples/seed-study-blog.toml", 1));
    assert_eq!(h, ["X", "rand_group", "noise", "response", "group"]);
    assert_eq!(bits(&floats(&column(&h, &rows, "X"))), bits(&f.x));
    let response: Vec<f64> = (0..5000)
        .map(|i| {
            let j = f.g[i] as usize;
            10.0 + f.a[j] + (-0.5 + f.b[j]) * f.x[i] + f.e[i]
        })
        .collect();
    assert_eq!(
        bits(&floats(&column(&h, &rows, "response"))),
        bits(&response)
    );
}

#[test]
fn data_writes_to_a_file_and_checks_the_condition() {
    let dir = std::env::temp_dir().join(format!("parsim-study-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("r2.csv");
    let status = Command::new(env!("CARGO_BIN_EXE_parsim"))
        .args([
            "data",
            "examples/seed-study.toml",
            "--replication",
            "2",
            "--out",
        ])
        .arg(&out)
        .current_dir(root())
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text, parsim_data("examples/seed-study.toml", 2));
    let bad = Command::new(env!("CARGO_BIN_EXE_parsim"))
        .args([
            "data",
            "examples/seed-study.toml",
            "--replication",
            "0",
            "--condition",
            "3",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("--condition 3 does not exist"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn check_prints_the_design() {
    let out = Command::new(env!("CARGO_BIN_EXE_parsim"))
        .args(["check", "examples/seed-study.toml"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("conditions: 1"), "{text}");
    assert!(text.contains("truth: X = -0.5, (Intercept) = 10"), "{text}");
    assert!(
        text.contains("1 condition x 500 replications = 500 data sets, 1500 fits (3 methods)"),
        "{text}"
    );
    assert!(text.contains("random_slope: lmm (REML, Satterthwaite t): response ~ X + (1 + X | group)  [terms: (Intercept), X, sd__(Intercept)|group, sd__X|group, cor__(Intercept).X|group, sigma]"), "{text}");
}
