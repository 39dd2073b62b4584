//! The cluster-randomised binary trial (examples/crt-binary.toml) end to end on 20 replications per
//! condition: the GLMM, the GLM with CR1 SEs and the linear probability model all fit every data set,
//! and the summary has their power and coverage.

use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn crt_binary_study_runs_with_power_and_coverage() {
    let out = std::env::temp_dir().join(format!("parsim-crt-binary-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let status = Command::new(env!("CARGO_BIN_EXE_parsim"))
        .args(["run", "--quiet", "--replications", "20", "--out"])
        .arg(&out)
        .arg(repo().join("examples/crt-binary.toml"))
        .status()
        .unwrap();
    assert!(status.success());
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let mut lines = summary.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let mut seen = 0;
    for line in lines {
        let row: Vec<&str> = line.split(',').collect();
        let (method, term) = (row[col("method")], row[col("term")]);
        let want = match method {
            "glmm" => "trt",
            "glm" => "treated",
            "lpm" => "arm",
            other => panic!("unexpected method {other}"),
        };
        if term != want {
            continue;
        }
        seen += 1;
        // Every fit converged (a separated or failed fit would not be used).
        assert_eq!(row[col("used")], "20", "{line}");
        let number = |name: &str| row[col(name)].parse::<f64>().unwrap();
        // The rejection rate is `power` where the log-odds ratio is not 0, `type1` where it is.
        let rejection = if row[col("power")].is_empty() {
            "type1"
        } else {
            "power"
        };
        for measure in ["cover", rejection, "modelse"] {
            assert!(number(measure).is_finite(), "{method} {measure}: {line}");
        }
        // The SE of a log-odds ratio between two arms of 15 clusters of 20 at risk ~0.3, with a
        // cluster SD of 0.5, is about 0.24 (design effect 1 + 19 × ICC, ICC ≈ 0.07 on the latent
        // scale); the risk difference's about 0.05.
        let se = number("modelse");
        let range = if method == "lpm" {
            0.03..0.08
        } else {
            0.18..0.32
        };
        assert!(range.contains(&se), "{method}: model SE {se}");
    }
    assert_eq!(seen, 6, "three methods in two conditions");
    let _ = std::fs::remove_dir_all(&out);
}
