//! `parsim power`: on the seed model (beta1 = -0.1, the number of groups varied) the crossing of 80% power
//! interpolated from a coarse grid agrees with a brute-force fine grid; `--refine` runs new levels inside
//! the bracket into DIR/refine-1 without recomputing what is stored; bad names exit 2.

use std::path::{Path, PathBuf};
use std::process::Output;

use statrs::distribution::{Continuous, ContinuousCDF, Normal};

mod common;
use common::parsim;

/// The seed study's model (examples/seed-study.toml) with beta1 = -0.1, keyed streams and the random-slope
/// model only, at the given numbers of groups and replications.
fn study(groups: &str, replications: u64) -> String {
    format!(
        r#"
[study]
name = "seed-power"
replications = {replications}
seed = 0

[parameters]
N = 5000
n_groups = [{groups}]
beta0 = 10
beta1 = -0.1
intercept_sd = 1
slope_sd = 0.25
noise_sd = 1

[data]
program = """
X = normal(loc=0.0, scale=1.0, size=N)
group = integers(low=0, high=n_groups, size=N)
random_intercept = normal(loc=0.0, scale=intercept_sd, size=n_groups)
random_slope = normal(loc=0.0, scale=slope_sd, size=n_groups)
noise = normal(loc=0.0, scale=noise_sd, size=N)
response = beta0 + random_intercept[group] + (beta1 + random_slope[group]) * X + noise
"""

[methods.random_slope]
model = "lmm"
formula = "response ~ X + (1 + X | group)"

[estimands]
X = "beta1"
"#
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run(name: &str, study_text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("parsim-power-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let study = dir.join("study.toml");
    std::fs::write(&study, study_text).unwrap();
    let out = dir.join("out");
    let run = parsim(&[
        "run",
        study.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    out
}

fn power(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "power",
        dir.to_str().unwrap(),
        "--estimand",
        "X",
        "--method",
        "random_slope",
        "--over",
        "n_groups",
    ];
    args.extend_from_slice(extra);
    parsim(&args)
}

/// (crossing, lower, upper) from `power reaches 0.8 at n_groups = V (95% Monte Carlo interval L to U;`.
fn crossing(printed: &str) -> (f64, f64, f64) {
    let line = printed
        .lines()
        .rfind(|l| l.starts_with("power reaches"))
        .unwrap_or_else(|| panic!("no crossing in:\n{printed}"));
    let number = |after: &str, before: &str| -> f64 {
        let start = line.find(after).unwrap() + after.len();
        let end = start + line[start..].find(before).unwrap();
        line[start..end].trim().parse().unwrap()
    };
    (
        number("n_groups = ", "("),
        number("interval ", " to"),
        number(" to ", ";"),
    )
}

/// The bracketing levels (a, b) from `between a and b` of the crossing line.
fn bracket(printed: &str) -> (f64, f64) {
    let line = printed
        .lines()
        .rfind(|l| l.starts_with("power reaches"))
        .unwrap_or_else(|| panic!("no crossing in:\n{printed}"));
    let start = line.find("between ").unwrap() + "between ".len();
    let mut words = line[start..].split_whitespace();
    let a = words.next().unwrap().parse().unwrap();
    assert_eq!(words.next(), Some("and"));
    let b = words.next().unwrap().parse().unwrap();
    (a, b)
}

/// (n_groups, power, tests) of the X rows of a summary.csv.
fn power_points(csv: &str) -> Vec<(f64, f64, f64)> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|c| c[at("term")] == "X")
        .map(|c| {
            let value = |name: &str| c[at(name)].parse::<f64>().unwrap();
            (value("n_groups"), value("power") / 100.0, value("used"))
        })
        .collect()
}

/// The brute force: a weighted least-squares line of probit(power) on √G through every point of a fine
/// grid (weights 1/var of probit(p̂) by the delta method), solved for the target. With 7 levels × 1,000
/// replications its own Monte Carlo error is a fraction of the coarse grid's.
fn fine_crossing(points: &[(f64, f64, f64)], target: f64) -> f64 {
    let normal = Normal::standard();
    let (mut sw, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(g, p, n) in points {
        let q = normal.inverse_cdf(p);
        let w = normal.pdf(q).powi(2) / (p * (1.0 - p) / n);
        let x = g.sqrt();
        sw += w;
        sx += w * x;
        sy += w * q;
        sxx += w * x * x;
        sxy += w * x * q;
    }
    let slope = (sw * sxy - sx * sy) / (sw * sxx - sx * sx);
    let intercept = (sy - slope * sx) / sw;
    ((normal.inverse_cdf(target) - intercept) / slope).powi(2)
}

#[test]
fn the_interpolated_crossing_agrees_with_a_brute_force_grid() {
    let coarse = run("coarse", &study("20, 40, 80, 160", 400));
    let searched = power(&coarse, &[]);
    assert!(searched.status.success(), "{}", text(&searched.stderr));
    let printed = text(&searched.stdout);
    let (value, lower, upper) = crossing(&printed);
    assert!(printed.contains("between 40 and 80"), "{printed}");

    let fine = run("fine", &study("46, 50, 54, 58, 62, 66, 70", 1000));
    let csv = std::fs::read_to_string(fine.join("summary.csv")).unwrap();
    let points = power_points(&csv);
    assert_eq!(points.len(), 7);
    let brute = fine_crossing(&points, 0.8);
    // The fine grid brackets the crossing (so the line is fitted where it matters).
    assert!(points[0].1 < 0.8 && points[6].1 > 0.8, "{points:?}");
    eprintln!(
        "coarse search: {value} [{lower}, {upper}]; brute force over the fine grid: {brute:.2}"
    );
    assert!(
        lower <= brute && brute <= upper,
        "brute force {brute:.2} outside the coarse search's interval [{lower}, {upper}] (crossing {value})"
    );
}

#[test]
fn refine_runs_new_levels_inside_the_bracket_once() {
    let dir = run("refine", &study("20, 40, 80, 160", 200));
    assert_eq!(bracket(&text(&power(&dir, &[]).stdout)), (40.0, 80.0));
    let refined = power(&dir, &["--refine", "--points", "3"]);
    assert!(refined.status.success(), "{}", text(&refined.stderr));
    let printed = text(&refined.stdout);
    let refine_dir = dir.join("refine-1");
    let new_rows: Vec<&str> = printed
        .lines()
        .filter(|l| l.ends_with("refine-1"))
        .collect();
    assert_eq!(new_rows.len(), 3, "{printed}");
    let (value, new_lower, new_upper) = crossing(&printed);
    assert!(new_lower <= value && value <= new_upper, "{printed}");
    // The new levels split the bracket: the crossing is now bracketed by two of them (or by one
    // of them and an end of the old bracket), a narrower bracket inside the old one. (The Monte
    // Carlo interval need not narrow: interpolating between two close, noisy points can widen it.)
    let (from, to) = bracket(&printed);
    assert!(40.0 <= from && to <= 80.0 && to - from <= 20.0, "{printed}");
    assert!(from < value && value <= to, "{printed}");
    // The refined study's levels lie inside the bracket, with streams of their own.
    let study = std::fs::read_to_string(refine_dir.join("study.toml")).unwrap();
    assert!(study.contains("seed = 4294967296"), "{study}");
    // A plain search reads the refinement too; the refinement's store is resumed, never recomputed.
    assert_eq!(text(&power(&dir, &[]).stdout), printed);
    let again = parsim(&[
        "run",
        refine_dir.join("study.toml").to_str().unwrap(),
        "--out",
        refine_dir.to_str().unwrap(),
    ]);
    assert!(
        text(&again.stderr).contains("0 replications run (600 already stored)"),
        "{}",
        text(&again.stderr)
    );
}

#[test]
fn unknown_factors_methods_and_targets_exit_2() {
    let dir = run("errors", &study("20, 40", 20));
    for (extra, says) in [
        (vec!["--over", "N"], "`N` is not a numeric factor"),
        (vec!["--target", "1.2"], "strictly between 0 and 1"),
    ] {
        let mut args = vec![
            "power",
            dir.to_str().unwrap(),
            "--estimand",
            "X",
            "--method",
            "random_slope",
        ];
        if !extra.contains(&"--over") {
            args.extend(["--over", "n_groups"]);
        }
        args.extend(extra.iter().copied());
        let out = parsim(&args);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains(says), "{}", text(&out.stderr));
    }
    let out = parsim(&[
        "power",
        dir.to_str().unwrap(),
        "--estimand",
        "X",
        "--method",
        "ols",
        "--over",
        "n_groups",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no results for estimand `X` by method `ols`"));
}

#[test]
fn json_output_has_the_curve_the_crossing_and_the_refinement_rounds() {
    let dir = run("json", &study("20, 40, 80, 160", 100));
    let as_json = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["--format", "json"];
        args.extend_from_slice(extra);
        let out = power(&dir, &args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
    };
    let plain = as_json(&[]);
    assert_eq!(plain["estimand"], "X");
    assert_eq!(plain["over"], "n_groups");
    assert_eq!(plain["target"], 0.8);
    assert_eq!(plain["alpha"], 0.05);
    assert_eq!(plain["power_scale"], "probit");
    assert_eq!(plain["refinements"].as_array().unwrap().len(), 0);
    let curves = plain["curves"].as_array().unwrap();
    assert_eq!(curves.len(), 1, "one factor: one curve");
    let points = curves[0]["points"].as_array().unwrap();
    let levels: Vec<f64> = points
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert_eq!(levels, [20.0, 40.0, 80.0, 160.0]);
    for p in points {
        let (power, mcse) = (p["power"].as_f64().unwrap(), p["mcse"].as_f64().unwrap());
        let tests = p["tests"].as_f64().unwrap();
        assert_eq!(p["replications"], 100);
        assert!(tests <= 100.0 && tests > 90.0, "{p}");
        // The binomial MCSE of the rejection rate; the summary stores both to double precision
        // (after a ×100 and ÷100 round trip: a few ulps).
        let expected = (power * (1.0 - power) / tests).sqrt();
        assert!((mcse - expected).abs() < 1e-12, "{p}");
    }
    // The same crossing as the text output prints, to its printed precision.
    let (value, lower, upper) = crossing(&text(&power(&dir, &[]).stdout));
    let c = &curves[0]["crossing"];
    let close = |key: &str, printed: f64| {
        let x = c[key].as_f64().unwrap();
        assert!(
            (x - printed).abs() <= 0.051 * printed.abs().max(1.0),
            "{key}: {x} vs {printed}"
        );
    };
    close("value", value);
    close("lower", lower);
    close("upper", upper);
    let bracket: Vec<f64> = c["bracket"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_f64().unwrap())
        .collect();
    assert_eq!(bracket, [40.0, 80.0]);

    let refined = as_json(&["--refine", "--points", "2"]);
    let rounds = refined["refinements"].as_array().unwrap();
    assert_eq!(rounds.len(), 1, "{refined}");
    assert_eq!(rounds[0]["round"], 1);
    assert_eq!(rounds[0]["run_now"], true);
    let new: Vec<f64> = rounds[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(new.len(), 2);
    assert!(new.iter().all(|&v| v > 40.0 && v < 80.0), "{new:?}");
    let points = refined["curves"][0]["points"].as_array().unwrap();
    assert_eq!(points.len(), 6, "every point once: {refined}");
    assert_eq!(
        points
            .iter()
            .filter(|p| p["source"].as_str().unwrap().ends_with("refine-1"))
            .count(),
        2
    );
    // A later search reads the round it did not run.
    let later = as_json(&[]);
    assert_eq!(later["refinements"][0]["run_now"], false);
    assert_eq!(later["curves"], refined["curves"]);
}
