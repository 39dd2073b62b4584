//! Study-file unit tests: design order, key checks, streams. (Error messages are tested end to end in
//! tests/study_errors.rs.)

use std::path::Path;

use super::*;

fn study(text: &str) -> Result<Study, StudyError> {
    Study::from_source(Path::new("t.toml"), text.to_string())
}

const BASE: &str = r#"
[study]
replications = 3
seed = 11

[parameters]
a = [1, 2]
s = 0.5
b = [10, 20, 30]

[data]
program = """
x = normal(0, s, 4 * a)
y = b + x
"""

[methods.ols]
model = "ols"
formula = "y ~ x"

[estimands]
x = "a / 2"
"#;

#[test]
fn design_varies_the_first_factor_slowest() {
    let s = study(BASE).unwrap();
    let got: Vec<(f64, f64, f64)> = s
        .conditions()
        .iter()
        .map(|c| (c.values[0].1, c.values[1].1, c.values[2].1))
        .collect();
    let want = vec![
        (1., 0.5, 10.),
        (1., 0.5, 20.),
        (1., 0.5, 30.),
        (2., 0.5, 10.),
        (2., 0.5, 20.),
        (2., 0.5, 30.),
    ];
    assert_eq!(got, want);
    assert_eq!(s.conditions()[4].index, 4);
    assert_eq!(s.name, "t");
    assert_eq!(s.truth(3, "x"), Some(1.0));
    assert_eq!(s.truth(0, "x"), Some(0.5));
    assert_eq!(s.units(), 18);
    assert!(s.parameters[0].integer && !s.parameters[1].integer);
}

#[test]
fn streams_follow_the_documented_spawn_keys() {
    let s = study(BASE).unwrap();
    let draw = |mut g: Generator| {
        let mut v = [0.0; 4];
        g.fill_random(&mut v);
        v
    };
    // Condition 4 draws from its values' stream key, not from its number.
    let key = s.conditions()[4].stream;
    assert_eq!(key, super::condition_stream(&s.conditions()[4].values));
    assert_ne!(key, 4);
    assert_eq!(
        draw(s.generator(4, 2)),
        draw(default_rng_from(&SeedSequence::with_spawn_key(
            11,
            &[key, 2]
        )))
    );
    let crn = study(&BASE.replace("seed = 11", "seed = 11\ncommon_random_numbers = true")).unwrap();
    assert_eq!(
        draw(crn.generator(4, 2)),
        draw(default_rng_from(&SeedSequence::with_spawn_key(11, &[2])))
    );
    assert_eq!(draw(crn.generator(1, 2)), draw(crn.generator(5, 2)));
    let per =
        study(&BASE.replace("seed = 11", "seed = 11\nstreams = \"per-replication-seed\"")).unwrap();
    assert_eq!(draw(per.generator(3, 2)), draw(default_rng(13)));
}

#[test]
fn lengths_may_differ_between_conditions() {
    let s = study(BASE).unwrap();
    let mut ws = s.program.workspace();
    s.generate(&mut ws, 0, 0).unwrap();
    assert_eq!(ws.data().nrows(), 4);
    s.generate(&mut ws, 5, 0).unwrap();
    assert_eq!(ws.data().nrows(), 8);
    let report = s.check().unwrap();
    assert_eq!(
        report.terms[0].terms,
        vec!["(Intercept)".to_string(), "x".to_string()]
    );
    let text = report.to_string();
    assert!(
        text.contains("conditions: 6 (the first factor varies slowest)"),
        "{text}"
    );
    assert!(
        text.contains("  condition 4: a = 2, b = 20; truth: x = 1"),
        "{text}"
    );
    assert!(
        text.contains(
            "units of work: 6 conditions x 3 replications = 18 data sets, 18 fits (1 method)"
        ),
        "{text}"
    );
}

#[test]
fn method_options_and_summary_are_read() {
    let text = BASE.replace(
        "formula = \"y ~ x\"",
        "formula = \"y ~ x\"\ncluster = \"b2\"",
    ) + "\n[summary]\nlevel = 0.9\nalpha = 0.01\nreference = \"ols\"\n";
    let text = text.replace("y = b + x", "y = b + x\nb2 = repeat(b, len(x))");
    let s = study(&text).unwrap();
    assert_eq!(s.methods[0].spec.describe(), "ols (cluster-robust by b2)");
    // The spec's options are private to its kind; its Debug form shows the level it was given.
    let spec = format!("{:?}", s.methods[0].spec);
    assert!(spec.contains("ci_level: 0.9"), "{spec}");
    assert_eq!(
        s.summary,
        SummarySettings {
            level: 0.9,
            alpha: 0.01,
            reference: Some("ols".into())
        }
    );
}

const MIXED: &str = r#"
[study]
replications = 2
seed = 3

[parameters]
tau = 0.8

[data]
program = """
g = integers(0, 8, size=400)
y = 2 + normal(0, tau, 8)[g] + normal(size=400)
"""

[methods.ri]
model = "lmm"
formula = "y ~ 1 + (1 | g)"

[estimands]
"(Intercept)" = "2"
"#;

#[test]
fn estimands_may_target_variance_components() {
    let text = format!("{MIXED}\"sd__(Intercept)|g\" = \"tau\"\nsigma = 1\n");
    let s = study(&text).unwrap();
    let report = s.check().unwrap();
    // Fixed effects first, then the variance components as the store names them.
    assert_eq!(
        report.terms[0].terms,
        ["(Intercept)", "sd__(Intercept)|g", "sigma"].map(String::from)
    );
    assert_eq!(s.truth(0, "sd__(Intercept)|g"), Some(0.8));
}

#[test]
fn a_misspelt_variance_component_is_refused_with_a_suggestion() {
    let text = format!("{MIXED}\"sd__(Intercept)|G\" = \"tau\"\n");
    let s = study(&text).unwrap();
    let message = s.check().unwrap_err().to_string();
    assert!(
        message.contains("no method estimates the term `sd__(Intercept)|G`"),
        "{message}"
    );
    assert!(message.contains("sd__(Intercept)|g"), "{message}");
}

#[test]
fn a_design_too_large_to_hold_is_refused_with_its_size() {
    let factors = |n: usize| -> String {
        (0..n)
            .map(|i| {
                format!(
                    "f{i} = [{}]\n",
                    (0..50)
                        .map(|j| j.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect()
    };
    // BASE's own factors make 6 conditions: 50^10 × 6 is counted, 50^12 × 6 overflows.
    for (n, figure) in [(10, "585937500000000000"), (12, "more than 2^64")] {
        let text = BASE.replace("[parameters]\n", &format!("[parameters]\n{}", factors(n)));
        let err = study(&text).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "the design has {figure} conditions, more than the 250000"
            )),
            "{n} factors: {err}"
        );
    }
    // 2 factors of 50 levels (2,500 × 6 = 15,000 conditions) are allowed.
    let text = BASE.replace("[parameters]\n", &format!("[parameters]\n{}", factors(2)));
    assert_eq!(study(&text).unwrap().conditions().len(), 15_000);
}

#[test]
fn derived_parameters_are_computed_per_condition_and_typed_by_their_expression() {
    let text = BASE.replace("s = 0.5\n", "s = 0.5\nn2 = \"2 * a\"\nhalf = \"a / 2\"\n");
    let text = text
        .replace("4 * a)", "n2)")
        .replace("x = \"a / 2\"", "x = \"half + n2\"");
    let s = study(&text).unwrap();
    let n2 = s.parameters.iter().find(|p| p.name == "n2").unwrap();
    assert!(n2.integer && n2.values.is_empty() && n2.expression.is_some());
    assert!(
        !s.parameters
            .iter()
            .find(|p| p.name == "half")
            .unwrap()
            .integer
    );
    assert_eq!(
        s.conditions().len(),
        6,
        "a derived parameter is not a factor"
    );
    let c = &s.conditions()[4]; // a = 2, b = 20
    let value = |name: &str| c.values.iter().find(|v| v.0 == name).unwrap().1;
    assert_eq!((value("n2"), value("half")), (4.0, 1.0));
    assert_eq!(s.truth(4, "x"), Some(5.0));
    // A derived parameter sees only the parameters above it.
    let bad = BASE.replace("s = 0.5\n", "s = \"2 * b\"\n");
    let err = study(&bad).unwrap_err().to_string();
    assert!(
        err.contains("derived parameter `s`: unknown name `b`"),
        "{err}"
    );
}

#[test]
fn designs_list_conditions_or_exclude_them() {
    let listed = format!("{BASE}\n[design]\nconditions = [{{a = 2, b = 30}}, {{a = 1, b = 10}}]\n");
    let s = study(&listed).unwrap();
    let cells: Vec<Vec<f64>> = s
        .conditions()
        .iter()
        .map(|c| c.values.iter().map(|v| v.1).collect())
        .collect();
    assert_eq!(cells, vec![vec![2.0, 0.5, 30.0], vec![1.0, 0.5, 10.0]]);
    let excluded = format!("{BASE}\n[design]\nexclude = [{{a = 2, b = 10}}, {{b = 30}}]\n");
    let s = study(&excluded).unwrap();
    let cells: Vec<(f64, f64)> = s
        .conditions()
        .iter()
        .map(|c| (c.values[0].1, c.values[2].1))
        .collect();
    assert_eq!(cells, vec![(1.0, 10.0), (1.0, 20.0), (2.0, 20.0)]);
    assert_eq!(s.conditions()[2].index, 2);
    for (design, want) in [
        (
            "conditions = [{a = 3, b = 10}]",
            "3 is not a value of `a` (1, 2)",
        ),
        ("conditions = [{a = 1}]", "no value for the factor `b`"),
        (
            "conditions = [{a = 1, b = 10}, {b = 10, a = 1}]",
            "listed twice",
        ),
        ("exclude = [{b = 40}]", "not a value of `b`"),
        (
            "exclude = [{a = 1, b = 10}, {a = 1, b = 10}]",
            "matches no condition",
        ),
        ("exclude = [{a = 1}, {a = 2}]", "no condition left"),
        ("exclude = [{c = 1}]", "`c` is not a parameter"),
    ] {
        let err = study(&format!("{BASE}\n[design]\n{design}\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{design}: {err}");
    }
}

#[test]
fn simulated_estimands_run_once_per_condition_from_their_own_stream() {
    let text = BASE.replace(
        "x = \"a / 2\"",
        "x = { simulate = \"\"\"\nz = normal(a, 1, 1000)\nm = mean(z)\n\"\"\", value = \"m\" }",
    );
    let s = study(&text).unwrap();
    // numpy: default_rng(SeedSequence(11, spawn_key=(stream, 2**64 - 1, key))).normal(a, 1, 1000).mean(),
    // `stream` the condition's stream key.
    let key = crate::method::stream_key("x");
    for c in s.conditions() {
        let mut rng = default_rng_from(&SeedSequence::with_spawn_key(
            11,
            &[c.stream, u64::MAX, key],
        ));
        let mut z = vec![0.0; 1000];
        rng.fill_normal(&mut z, c.values[0].1.into(), 1.0.into())
            .unwrap();
        let truth = s.truth(c.index, "x").unwrap();
        assert!((truth - z.iter().sum::<f64>() / 1000.0).abs() < 1e-12);
        assert!((truth - c.values[0].1).abs() < 0.2);
    }
    assert_ne!(
        s.truth(0, "x"),
        s.truth(1, "x"),
        "each condition has its own stream"
    );
    let bad = text.replace("value = \"m\"", "value = \"z\"");
    let err = study(&bad).unwrap_err().to_string();
    assert!(err.contains("`z` is not a scalar variable"), "{err}");
}

#[test]
fn a_conditions_stream_key_is_the_documented_hash_of_its_values() {
    // Python: v = [40.0, 5.0, -0.5]
    // int.from_bytes(hashlib.sha256(struct.pack(f"<{len(v)}d", *v)).digest()[:8], "little") & (2**63 - 1)
    let values: Vec<(String, f64)> = [("N", 40.0), ("n_groups", 5.0), ("beta1", -0.5)]
        .map(|(n, v)| (n.to_string(), v))
        .to_vec();
    assert_eq!(super::condition_stream(&values), 6914478063814416748);
}
