//! No input may panic: random programs (from the language's grammar and from arbitrary text) and random
//! study files (mutations of a valid one and arbitrary text) are compiled, checked and run. Fusing
//! element-wise statements changes nothing: random programs give the same bits and the same errors with
//! and without fusion.

use std::path::Path;

use parsim::lang::{function_names, ParameterDecl, Program, Workspace};
use parsim::study::Study;
use parsim_lmm::ColumnRef;
use parsim_random::default_rng;
use proptest::prelude::*;

const NAMES: &[&str] = &["x", "y", "g", "N", "s", "z", "w"];
const OPS: &[&str] = &[
    "+", "-", "*", "/", "//", "%", "**", "<", "==", ">=", "&", "|",
];
const KEYWORDS: &[&str] = &[
    "loc", "scale", "size", "low", "high", "endpoint", "n", "p", "a", "decimals", "x1",
];

/// Small literals keep vector lengths modest (sizes are products of a few of them).
fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        (0i64..7).prop_map(|v| v.to_string()),
        (-3i64..0).prop_map(|v| v.to_string()),
        prop::sample::select(vec!["0.5", "1.0", "-2.5", "1e300", "True", "False", "0.0"])
            .prop_map(str::to_string),
    ]
}

fn expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        literal(),
        prop::sample::select(NAMES).prop_map(str::to_string)
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        let functions: Vec<&'static str> = function_names().collect();
        prop_oneof![
            (inner.clone(), prop::sample::select(OPS), inner.clone())
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            inner.clone().prop_map(|a| format!("-{a}")),
            (inner.clone(), inner.clone()).prop_map(|(a, i)| format!("{a}[{i}]")),
            (
                prop::sample::select(functions),
                prop::collection::vec(
                    (prop::option::of(prop::sample::select(KEYWORDS)), inner),
                    0..4
                )
            )
                .prop_map(|(f, args)| {
                    let args: Vec<String> = args
                        .into_iter()
                        .map(|(k, v)| match k {
                            Some(k) => format!("{k}={v}"),
                            None => v,
                        })
                        .collect();
                    format!("{f}({})", args.join(", "))
                }),
        ]
    })
}

/// A valid prelude (so later statements find their names) followed by random statements.
fn program() -> impl Strategy<Value = String> {
    let preludes = vec![
        "x = normal(0, 1, N)\ng = integers(0, 3, N)\ny = x\nz = s\n",
        "x = arange(N) * 1.0\ng = repeat(arange(3), 2)\ny = x[g]\nz = 2\n",
        "",
    ];
    (
        prop::sample::select(preludes),
        prop::collection::vec(
            (prop::sample::select(&["x", "y", "g", "z", "w"][..]), expr()),
            1..5,
        ),
    )
        .prop_map(|(prelude, stmts)| {
            let body: String = stmts
                .into_iter()
                .map(|(n, e)| format!("{n} = {e}\n"))
                .collect();
            format!("{prelude}{body}")
        })
}

/// Element-wise arithmetic of vectors and numbers, valid by construction: every case reaches the
/// evaluator's fused runs (pairs of operations, gathers, comparisons, functions, integer division).
fn arithmetic_program() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(vec!["x", "y", "g", "0.5", "3", "s", "x[g]", "(-x)"])
        .prop_map(str::to_string);
    let expr = leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            4 => (
                inner.clone(),
                prop::sample::select(vec!["+", "-", "*", "/", "//", "<", "**"]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            1 => inner.clone().prop_map(|a| format!("exp({a})")),
            1 => (inner.clone(), inner).prop_map(|(a, b)| format!("where(g == 1, {a}, {b})")),
        ]
    });
    prop::collection::vec((prop::sample::select(&["w", "y", "v"][..]), expr), 1..4).prop_map(
        |stmts| {
            let body: String = stmts
                .into_iter()
                .map(|(n, e)| format!("{n} = {e}\n"))
                .collect();
            format!("x = normal(0, 1, N)\ng = integers(0, 3, N)\ny = x * 2.0\n{body}")
        },
    )
}

fn decls() -> Vec<ParameterDecl> {
    vec![
        ParameterDecl {
            name: "N".into(),
            integer: true,
        },
        ParameterDecl {
            name: "s".into(),
            integer: false,
        },
    ]
}

fn compile_and_run(src: &str) {
    if let Ok(mut p) = Program::compile(src, &decls()) {
        p.require_finite(["x", "y"]);
        p.set_rows_from("y");
        let mut ws = p.workspace();
        for seed in 0..2 {
            let _ = ws.generate_with(&p, &[5.0, 0.5], &mut default_rng(seed));
            let data = ws.data();
            let mut sink = Vec::new();
            data.write_csv(&mut sink).expect("writing to memory");
        }
    }
    let _ = Program::compile_expression(src, &decls()).map(|p| p.evaluate_expression(&[5.0, 0.5]));
}

/// Every variable's values as bits (NaNs made equal: their payloads are not part of numpy's contract).
fn values(p: &Program, ws: &Workspace) -> Vec<(String, Vec<u64>)> {
    let data = ws.data();
    p.variable_names()
        .map(|name| {
            let bits = match data.variable(name) {
                Some(ColumnRef::Float(v)) => v
                    .iter()
                    .map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() })
                    .collect(),
                Some(ColumnRef::Int(v)) => v.iter().map(|&x| x as u64).collect(),
                _ => Vec::new(),
            };
            (name.to_string(), bits)
        })
        .collect()
}

/// The program fused (the default) and column at a time: the same values and the same errors, in
/// every replication, with `n` rows (more than one chunk when large).
fn fusion_changes_nothing(src: &str, n: f64) {
    let Ok(mut fused) = Program::compile(src, &decls()) else {
        return;
    };
    fused.require_finite(["x", "y"]);
    let mut plain = fused.clone();
    plain.set_fused(false);
    let (mut wf, mut wp) = (fused.workspace(), plain.workspace());
    for seed in 0..3 {
        let a = wf.generate_with(&fused, &[n, 0.5], &mut default_rng(seed));
        let b = wp.generate_with(&plain, &[n, 0.5], &mut default_rng(seed));
        assert_eq!(a, b, "program:\n{src}");
        if a.is_ok() {
            assert_eq!(values(&fused, &wf), values(&plain, &wp), "program:\n{src}");
        }
    }
}

const STUDY: &str = r#"[study]
replications = 2
seed = 3
streams = "keyed"

[parameters]
N = [3, 6]
s = 0.5

[data]
program = """
x = normal(0, 1, N)
g = integers(0, 3, N)
y = x + normal(0, s, 3)[g]
"""

[methods.m]
model = "lmm"
formula = "y ~ x + (1 | g)"

[methods.o]
model = "ols"
formula = "y ~ x"

[estimands]
x = "s * 2"
"#;

fn load_and_check(text: &str) {
    if let Ok(study) = Study::from_source(Path::new("p.toml"), text.to_string()) {
        if study.conditions().len() <= 16 {
            let _ = study.check().map(|r| r.to_string());
            let mut ws = study.program.workspace();
            let _ = study.generate(&mut ws, 0, 1);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn grammar_programs_never_panic(src in program()) {
        compile_and_run(&src);
    }

    #[test]
    fn fusion_gives_the_same_values_and_errors(src in program(), long in any::<bool>()) {
        fusion_changes_nothing(&src, if long { 1100.0 } else { 5.0 });
    }

    #[test]
    fn fusion_of_arithmetic_gives_the_same_values_and_errors(
        src in arithmetic_program(),
        long in any::<bool>(),
    ) {
        fusion_changes_nothing(&src, if long { 1100.0 } else { 5.0 });
    }

    #[test]
    fn arbitrary_text_programs_never_panic(src in "[a-z0-9_ ()\\[\\],=+*/%<>&|.#\n-]{0,80}") {
        compile_and_run(&src);
    }

    #[test]
    fn unicode_programs_never_panic(src in "\\PC{0,40}") {
        compile_and_run(&src);
    }

    #[test]
    fn mutated_study_files_never_panic(
        edits in prop::collection::vec((0usize..STUDY.len(), 0usize..4, "[a-z0-9\"\\[\\]=.\n_ #(|~+-]{0,6}"), 1..4)
    ) {
        let mut text = STUDY.to_string();
        for (at, remove, insert) in edits {
            let mut at = at.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let mut end = (at + remove).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            text.replace_range(at..end, &insert);
        }
        load_and_check(&text);
    }

    #[test]
    fn study_files_with_random_programs_never_panic(src in program(), n in prop::collection::vec(0i64..8, 1..3)) {
        let ns: Vec<String> = n.iter().map(i64::to_string).collect();
        let text = STUDY
            .replace("N = [3, 6]", &format!("N = [{}]", ns.join(", ")))
            .replace("y = x + normal(0, s, 3)[g]\n", &src);
        load_and_check(&text);
    }

    #[test]
    fn arbitrary_study_text_never_panics(text in "\\PC{0,200}") {
        load_and_check(&text);
    }
}

/// The grammar strategy must reach the evaluator, not only the error paths.
#[test]
fn grammar_programs_often_compile_and_run() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut compiled, mut ran) = (0, 0);
    for _ in 0..400 {
        let src = program()
            .new_tree(&mut runner)
            .expect("a program")
            .current();
        if let Ok(p) = Program::compile(&src, &decls()) {
            compiled += 1;
            if p.workspace()
                .generate_with(&p, &[5.0, 0.5], &mut default_rng(0))
                .is_ok()
            {
                ran += 1;
            }
        }
    }
    assert!(
        compiled >= 40 && ran >= 20,
        "compiled {compiled}, ran {ran} of 400"
    );
}
