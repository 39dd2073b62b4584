//! docs/study-file.md's recipe for a condition's stream, checked against numpy: the stream key from
//! the condition's parameter values by SHA-256 (the doc's Python line, verbatim), then
//! `default_rng(SeedSequence(seed, spawn_key=(key, r)))`, draws the very data `parsim data` writes, for
//! conditions in the middle of the design too. Needs python3 with numpy on PATH.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_parsim");

const STUDY: &str = r#"
[study]
name = "streams"
replications = 3
seed = 11

[parameters]
N = [5, 8]
scale = [0.5, 2.0]
shift = 3

[data]
program = """
x = normal(shift, scale, N)
"""

[methods.ols]
model = "ols"
formula = "x ~ 1"
"#;

/// The doc's recipe, for the condition with values `v` (file order), replication `r`.
const RECIPE: &str = r#"
import hashlib, struct, sys
import numpy as np
seed, r = int(sys.argv[1]), int(sys.argv[2])
v = [float(a) for a in sys.argv[3:]]
s = int.from_bytes(hashlib.sha256(struct.pack(f"<{len(v)}d", *(x + 0.0 for x in v))).digest()[:8], "little") & (2**63 - 1)
rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(s, r)))
N, scale, shift = int(v[0]), v[1], v[2]
for x in rng.normal(shift, scale, N):
    print(repr(float(x)))
"#;

#[test]
fn the_documented_stream_recipe_draws_what_parsim_data_writes() {
    let dir = std::env::temp_dir().join(format!("parsim-streams-numpy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let study = dir.join("study.toml");
    std::fs::write(&study, STUDY).unwrap();
    // Conditions in design order: N varies slowest.
    let conditions = [(5, 0.5), (5, 2.0), (8, 0.5), (8, 2.0)];
    for (c, (n, scale)) in conditions.iter().enumerate() {
        for r in [0, 2] {
            let data = Command::new(BIN)
                .args(["data", study.to_str().unwrap()])
                .args([
                    "--condition",
                    &c.to_string(),
                    "--replication",
                    &r.to_string(),
                ])
                .output()
                .unwrap();
            assert!(
                data.status.success(),
                "{}",
                String::from_utf8_lossy(&data.stderr)
            );
            let parsim: Vec<f64> = String::from_utf8(data.stdout)
                .unwrap()
                .lines()
                .skip(1)
                .map(|l| l.parse().unwrap())
                .collect();
            let numpy = Command::new("python3")
                .args(["-c", RECIPE, "11", &r.to_string()])
                .args([n.to_string(), scale.to_string(), "3".to_string()])
                .output()
                .expect("python3 with numpy on PATH");
            assert!(
                numpy.status.success(),
                "{}",
                String::from_utf8_lossy(&numpy.stderr)
            );
            let numpy: Vec<f64> = String::from_utf8(numpy.stdout)
                .unwrap()
                .lines()
                .map(|l| l.parse().unwrap())
                .collect();
            assert_eq!(parsim.len(), *n);
            // Bit for bit: the same generator and the same calls.
            assert_eq!(parsim, numpy, "condition {c}, replication {r}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
