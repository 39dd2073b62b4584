//! Checker and evaluator tests of the data language.

use parsim_lmm::ColumnRef;
use parsim_random::{default_rng, Arg};

use super::*;

fn params(spec: &[(&str, bool)]) -> Vec<ParameterDecl> {
    spec.iter()
        .map(|(n, i)| ParameterDecl {
            name: n.to_string(),
            integer: *i,
        })
        .collect()
}

/// Compile error of `src` with parameters N (integer) and s (float).
fn compile_err(src: &str) -> CompileError {
    Program::compile(src, &params(&[("N", true), ("s", false)])).expect_err("should not compile")
}

/// Runs `src` with N and s and the generator default_rng(seed).
fn run(src: &str, n: f64, s: f64, seed: u64) -> Result<Workspace, RuntimeError> {
    let p = Program::compile(src, &params(&[("N", true), ("s", false)])).expect("compiles");
    let mut ws = p.workspace();
    ws.generate_with(&p, &[n, s], &mut default_rng(seed))?;
    Ok(ws)
}

fn floats(ws: &Workspace, name: &str) -> Vec<f64> {
    match ws.data().variable(name) {
        Some(ColumnRef::Float(v)) => v.to_vec(),
        other => panic!("{name} is not a float variable: {other:?}"),
    }
}

fn ints(ws: &Workspace, name: &str) -> Vec<i64> {
    match ws.data().variable(name) {
        Some(ColumnRef::Int(v)) => v.to_vec(),
        other => panic!("{name} is not an integer variable: {other:?}"),
    }
}

fn at(src: &str, err: &CompileError) -> String {
    src[err.span.clone()].to_string()
}

#[test]
fn unknown_names_suggest_close_ones() {
    let src = "noise = normal(0, s, N)\ny = nosie + 1";
    let e = compile_err(src);
    assert_eq!(e.message, "unknown name `nosie`");
    assert_eq!(e.help.as_deref(), Some("did you mean `noise`?"));
    assert_eq!(at(src, &e), "nosie");
    let src = "x = nromal(0, 1, N)";
    let e = compile_err(src);
    assert_eq!(e.message, "unknown function `nromal`");
    assert_eq!(e.help.as_deref(), Some("did you mean `normal`?"));
    assert_eq!(at(src, &e), "nromal");
    assert_eq!(
        compile_err("x = N(1)").message,
        "`N` is a variable, not a function"
    );
    assert_eq!(
        compile_err("x = normal + 1").message,
        "`normal` is a function; call it as `normal(...)`"
    );
}

#[test]
fn argument_count_and_keywords_are_checked() {
    let e = compile_err("x = normal(0, 1, N, 4)");
    assert_eq!(
        e.message,
        "normal(loc, scale, size) takes at most 3 arguments, got 4"
    );
    let src = "x = normal(0, sclae=1, size=N)";
    let e = compile_err(src);
    assert_eq!(
        e.message,
        "normal(loc, scale, size) has no argument `sclae`"
    );
    assert_eq!(e.help.as_deref(), Some("did you mean `scale`?"));
    assert_eq!(at(src, &e), "sclae");
    assert_eq!(
        compile_err("x = normal(0, loc=1)").message,
        "normal() got more than one value for `loc`"
    );
    assert_eq!(
        compile_err("x = gamma(scale=2, size=N)").message,
        "gamma(shape, scale, size) is missing the argument `shape`"
    );
    assert_eq!(
        compile_err("x = normal(loc=0, 1)").message,
        "positional argument after a keyword argument"
    );
    assert_eq!(
        compile_err("x = len(obj=N)").message,
        "len(obj) has no argument `obj`"
    );
}

#[test]
fn types_are_checked() {
    let e = compile_err("x = normal(0, 1, N)\ny = x & 1");
    assert_eq!(
        e.message,
        "`&` needs integer (0/1) operands such as comparisons; this operand is a float"
    );
    assert_eq!(
        compile_err("x = normal(0, 1, N)\ny = x[x]").message,
        "an index must be an integer vector, got a float"
    );
    assert_eq!(compile_err("y = s[0]").message, "cannot index a scalar");
    assert_eq!(
        compile_err("x = normal(0, 1, s)").message,
        "`size` of normal() must be an integer, got a float"
    );
    assert_eq!(
        compile_err("x = normal(0, 1, arange(3))").message,
        "`size` of normal() must be a single number, got a vector"
    );
    let e = compile_err("k = poisson(3)\nx = normal(0, 1, k)");
    assert!(
        e.message.starts_with(
            "`size` of normal() must be computed from parameters, numbers and len() only"
        ),
        "{}",
        e.message
    );
    assert_eq!(
        compile_err("x = integers(0, s, N)").message,
        "`high` of integers() must be an integer, got a float"
    );
    assert_eq!(
        compile_err("x = binomial(2.5, 0.5, N)").message,
        "`n` of binomial() must be an integer, got a float"
    );
    assert_eq!(
        compile_err("x = len(N)").message,
        "len() of a scalar: it has no length"
    );
    assert_eq!(
        compile_err("N = 3").message,
        "`N` is a parameter of the study; give this variable another name"
    );
    assert_eq!(
        compile_err("sum = 3").message,
        "`sum` is the name of a function; give this variable another name"
    );
    assert_eq!(
        compile_err("").message,
        "the data program has no statements"
    );
}

#[test]
fn estimand_expressions_are_static_scalars() {
    let ps = params(&[("beta1", false), ("N", true)]);
    let p = Program::compile_expression("2 * beta1 + log(N)", &ps).unwrap();
    assert_eq!(
        p.evaluate_expression(&[-0.5, 100.0]).unwrap(),
        2.0 * -0.5 + 100f64.ln()
    );
    let e = Program::compile_expression("normal(0, 1)", &ps).unwrap_err();
    assert_eq!(
        e.message,
        "`normal` draws random numbers; an estimand must be computed from parameters only"
    );
    let e = Program::compile_expression("arange(N)", &ps).unwrap_err();
    assert_eq!(
        e.message,
        "an estimand must be a single number, not a vector"
    );
    let e = Program::compile_expression("beta1 beta1", &ps).unwrap_err();
    assert_eq!(e.message, "expected end of expression, found name `beta1`");
}

#[test]
fn draws_equal_direct_generator_calls_in_statement_order() {
    let src = "x = normal(1, s, N)\ng = integers(0, 5, N)\nu = uniform(size=3)\nm = normal(x, 1)\np = poisson(lam=2, size=N)";
    let ws = run(src, 7.0, 0.5, 42).unwrap();
    let mut rng = default_rng(42);
    let mut x = vec![0.0; 7];
    rng.fill_normal(&mut x, Arg::Scalar(1.0), Arg::Scalar(0.5))
        .unwrap();
    let mut g = vec![0i64; 7];
    rng.fill_integers(&mut g, Arg::Scalar(0), Arg::Scalar(5), false)
        .unwrap();
    let mut u = vec![0.0; 3];
    rng.fill_uniform(&mut u, Arg::Scalar(0.0), Arg::Scalar(1.0))
        .unwrap();
    let mut m = vec![0.0; 7];
    rng.fill_normal(&mut m, Arg::Slice(&x), Arg::Scalar(1.0))
        .unwrap();
    let mut p = vec![0i64; 7];
    rng.fill_poisson(&mut p, Arg::Scalar(2.0)).unwrap();
    assert_eq!(floats(&ws, "x"), x);
    assert_eq!(ints(&ws, "g"), g);
    assert_eq!(floats(&ws, "u"), u);
    assert_eq!(floats(&ws, "m"), m);
    assert_eq!(ints(&ws, "p"), p);
    // integers(5) is integers(0, 5); a draw without size and scalar parameters is a scalar.
    let ws = run("a = integers(5, size=4)\nb = normal()", 1.0, 1.0, 3).unwrap();
    let mut rng = default_rng(3);
    let mut a = vec![0i64; 4];
    rng.fill_integers(&mut a, Arg::Scalar(0), Arg::Scalar(5), false)
        .unwrap();
    let mut b = vec![0.0; 1];
    rng.fill_normal(&mut b, Arg::Scalar(0.0), Arg::Scalar(1.0))
        .unwrap();
    assert_eq!(ints(&ws, "a"), a);
    assert_eq!(ws.data().scalar("b"), Some(b[0]));
}

#[test]
fn arithmetic_follows_numpy_types_and_broadcasting() {
    let src = "a = arange(5)\nb = a * 2 + 1\nc = a / 2\nd = -7 // 2\ne = -7 % 3\nf = 7.5 // -2\ng = 7.5 % -2\nh = 2 ** 10\nk = 2.0 ** -1\nm = (a > 1) & (a < 4) | (a == 0)";
    let ws = run(src, 1.0, 1.0, 0).unwrap();
    assert_eq!(ints(&ws, "b"), vec![1, 3, 5, 7, 9]);
    assert_eq!(floats(&ws, "c"), vec![0.0, 0.5, 1.0, 1.5, 2.0]);
    assert_eq!(ws.data().scalar("d"), Some(-4.0));
    assert_eq!(ws.data().scalar("e"), Some(2.0));
    assert_eq!(ws.data().scalar("f"), Some(-4.0));
    assert_eq!(ws.data().scalar("g"), Some(-0.5));
    assert_eq!(ws.data().scalar("h"), Some(1024.0));
    assert_eq!(ws.data().scalar("k"), Some(0.5));
    assert_eq!(ints(&ws, "m"), vec![1, 0, 1, 1, 0]);
}

#[test]
fn deterministic_functions() {
    let src = "v = arange(-1.0, 2.0, 0.5)
r = round(arange(5) + 0.5)
r2 = round(1.2345, decimals=2)
cl = clip(arange(6), 1, 3)
w = where(arange(4) > 1, 10, arange(4))
mn = minimum(arange(3), 1.5)
mx = maximum(arange(3), 1)
rp = repeat(arange(3), 2)
tl = tile(arange(3), 2)
z = zeros(N)
o = ones(2)
sm = sum(arange(5))
sf = sum(ones(N) * 0.1)
mu = mean(arange(4))
cs = cumsum(arange(1, 5))
n = len(z)
ex = exp(0)
lg = log1p(0)
sq = sqrt(4)
ab = abs(-3)
fl = floor(-1.5)
ep = expit(0)
lt = logit(0.5)";
    let ws = run(src, 3.0, 1.0, 0).unwrap();
    assert_eq!(floats(&ws, "v"), vec![-1.0, -0.5, 0.0, 0.5, 1.0, 1.5]);
    assert_eq!(
        floats(&ws, "r"),
        vec![0.0, 2.0, 2.0, 4.0, 4.0],
        "round half to even"
    );
    assert_eq!(ws.data().scalar("r2"), Some(1.23));
    assert_eq!(ints(&ws, "cl"), vec![1, 1, 2, 3, 3, 3]);
    assert_eq!(ints(&ws, "w"), vec![0, 1, 10, 10]);
    assert_eq!(floats(&ws, "mn"), vec![0.0, 1.0, 1.5]);
    assert_eq!(ints(&ws, "mx"), vec![1, 1, 2]);
    assert_eq!(ints(&ws, "rp"), vec![0, 0, 1, 1, 2, 2]);
    assert_eq!(ints(&ws, "tl"), vec![0, 1, 2, 0, 1, 2]);
    assert_eq!(floats(&ws, "z"), vec![0.0; 3]);
    assert_eq!(floats(&ws, "o"), vec![1.0; 2]);
    assert_eq!(ws.data().scalar("sm"), Some(10.0));
    assert_eq!(ws.data().scalar("sf"), Some(0.1 + 0.1 + 0.1));
    assert_eq!(ws.data().scalar("mu"), Some(1.5));
    assert_eq!(ints(&ws, "cs"), vec![1, 3, 6, 10]);
    assert_eq!(ws.data().scalar("n"), Some(3.0));
    for (name, value) in [
        ("ex", 1.0),
        ("lg", 0.0),
        ("sq", 2.0),
        ("ab", 3.0),
        ("fl", -2.0),
        ("ep", 0.5),
        ("lt", 0.0),
    ] {
        assert_eq!(ws.data().scalar(name), Some(value), "{name}");
    }
}

/// Reference values printed by numpy 2.4.6: for n, `a = default_rng(n).normal(size=n)`, then
/// `np.sum(a)`, `np.mean(a)`, `np.cumsum(a)[-1]`. numpy sums pairwise (blocks of 8, 128-element leaves),
/// so the sum differs from the running total in the last bits; exact equality is the point.
#[test]
fn sum_mean_cumsum_match_numpy() {
    let cases: [(u64, f64, f64, f64); 10] = [
        (
            3,
            -0.09664706320322042,
            -0.032215687734406806,
            -0.09664706320322042,
        ),
        (
            7,
            -2.2509277408242854,
            -0.3215611058320408,
            -2.2509277408242854,
        ),
        (
            8,
            -7.35274085046909,
            -0.9190926063086362,
            -7.352740850469089,
        ),
        (
            9,
            -0.5823192995256533,
            -0.06470214439173926,
            -0.5823192995256534,
        ),
        (
            100,
            3.8446420442007208,
            0.03844642044200721,
            3.844642044200717,
        ),
        (
            128,
            -8.630889046416577,
            -0.06742882067512951,
            -8.63088904641657,
        ),
        (
            129,
            12.031567695406345,
            0.09326796663105694,
            12.031567695406352,
        ),
        (
            1000,
            -10.950246454024366,
            -0.010950246454024367,
            -10.950246454024363,
        ),
        (
            5000,
            4.6776359299723715,
            0.0009355271859944743,
            4.677635929972392,
        ),
        (
            20000,
            -235.9606441540467,
            -0.011798032207702334,
            -235.96064415404754,
        ),
    ];
    for (n, sum, mean, last) in cases {
        let ws = run(
            "a = normal(size=N)\nsm = sum(a)\nm = mean(a)\nc = cumsum(a)",
            n as f64,
            1.0,
            n,
        )
        .unwrap();
        assert_eq!(ws.data().scalar("sm"), Some(sum), "sum, n = {n}");
        assert_eq!(ws.data().scalar("m"), Some(mean), "mean, n = {n}");
        assert_eq!(
            floats(&ws, "c").last().copied(),
            Some(last),
            "cumsum, n = {n}"
        );
    }
    // np.mean(default_rng(5).integers(0, 1000, 20000)) converts to float64 in 8192-element chunks.
    let ws = run("b = integers(0, 1000, N)\nm = mean(b)", 20000.0, 1.0, 5).unwrap();
    assert_eq!(ws.data().scalar("m"), Some(498.4833));
}

/// More numpy 2.4.6 outputs: np.round(.., 2), np.floor_divide / np.mod of floats, np.arange with a float step.
#[test]
fn rounding_division_and_arange_match_numpy() {
    let src = "r = round(arange(6.0) * 0 + where(arange(6) == 0, 0.5, where(arange(6) == 1, 1.5, where(arange(6) == 2, 2.5, where(arange(6) == 3, -0.5, where(arange(6) == 4, 1.2345, 2.675))))), 2)\na = arange(-1.0, 2.0, 0.3)";
    let ws = run(src, 1.0, 1.0, 0).unwrap();
    assert_eq!(floats(&ws, "r"), vec![0.5, 1.5, 2.5, -0.5, 1.23, 2.68]);
    let want = [
        -1.0,
        -0.7,
        -0.3999999999999999,
        -0.09999999999999987,
        0.20000000000000018,
        0.5000000000000002,
        0.8000000000000003,
        1.1000000000000005,
        1.4000000000000004,
        1.7000000000000002,
    ];
    assert_eq!(floats(&ws, "a"), want.to_vec());
}

#[test]
fn gather_indexing_and_its_errors() {
    let ws = run(
        "v = arange(10.0, 15.0)\ni = arange(5) - 2\nw = v[i]\nk = v[-1]",
        1.0,
        1.0,
        0,
    )
    .unwrap();
    assert_eq!(floats(&ws, "w"), vec![13.0, 14.0, 10.0, 11.0, 12.0]);
    assert_eq!(ws.data().scalar("k"), Some(14.0));
    let src = "v = normal(0, 1, 5)\n\ng = integers(0, 6, 100)\nw = v[g]";
    let e = run(src, 1.0, 1.0, 0).unwrap_err();
    assert_eq!(e.line, 4);
    assert!(e.message.starts_with("index 5 (element"), "{}", e.message);
    assert!(
        e.message
            .ends_with("is out of range for a vector of length 5"),
        "{}",
        e.message
    );
    assert_eq!(&src[e.span.clone()], "v[g]");
}

#[test]
fn runtime_errors_name_the_line() {
    let e = run("x = normal(0, 1, N)\ny = x + normal(0, 1, 3)", 5.0, 1.0, 0).unwrap_err();
    assert_eq!(
        (e.line, e.message.as_str()),
        (2, "vectors of different lengths: 5 and 3")
    );
    let e = run("x = normal(0, s, N)", 5.0, -1.0, 0).unwrap_err();
    assert_eq!(
        (e.line, e.message.as_str()),
        (1, "invalid `scale` for a normal draw: scale < 0")
    );
    let e = run("x = normal(arange(3.0), 1, N)", 5.0, 1.0, 0).unwrap_err();
    assert_eq!(e.message, "`loc` has length 3 but size is 5");
    let e = run("x = normal(0, 1, N - 10)", 5.0, 1.0, 0).unwrap_err();
    assert_eq!(e.message, "size is negative (-5)");
    let e = run("x = normal(0, 1, N * 1000000000)", 5.0, 1.0, 0).unwrap_err();
    assert_eq!(
        e.message,
        "size 5000000000 is larger than the limit of 100000000 elements"
    );
    let e = run("x = arange(N) // 0", 5.0, 1.0, 0).unwrap_err();
    assert_eq!(e.message, "integer division by zero");
    let e = run("x = 2 ** (N - 10)", 5.0, 1.0, 0).unwrap_err();
    assert!(e
        .message
        .starts_with("integers to negative integer powers are not allowed"));
}

#[test]
fn non_finite_values_fail_only_in_columns_methods_use() {
    let src = "x = arange(3.0)\ny = 1 / x\nz = log(x - 1)";
    let mut p = Program::compile(src, &[]).unwrap();
    let mut ws = p.workspace();
    ws.generate_with(&p, &[], &mut default_rng(0))
        .expect("nobody uses y");
    p.require_finite(["x", "y"]);
    let mut ws2 = p.workspace();
    let e = ws2.generate_with(&p, &[], &mut default_rng(0)).unwrap_err();
    assert_eq!(e.line, 2);
    assert_eq!(
        e.message,
        "`y` has a non-finite value (inf) in row 0, and a method uses this column"
    );
    let _ = &mut ws;
}

#[test]
fn data_set_columns_are_the_vectors_of_the_row_count() {
    let src = "g = integers(0, 3, N)\neffect = normal(0, 1, 3)\ny = effect[g] + normal(0, 1, N)\nmu = 2.5";
    let mut p = Program::compile(src, &params(&[("N", true), ("s", false)])).unwrap();
    p.set_rows_from("y");
    let mut ws = p.workspace();
    ws.generate_with(&p, &[8.0, 1.0], &mut default_rng(1))
        .unwrap();
    let data = ws.data();
    assert_eq!(data.nrows(), 8);
    let names: Vec<&str> = data.columns().map(|c| c.0).collect();
    assert_eq!(names, vec!["g", "y"]);
    let mut csv = Vec::new();
    data.write_csv(&mut csv).unwrap();
    let text = String::from_utf8(csv).unwrap();
    assert_eq!(text.lines().count(), 9);
    assert!(text.starts_with("g,y\n"));
    // floats in shortest round-trip form: parsing gives the identical bits
    let ys: Vec<f64> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(ys, floats(&ws, "y"));
}

#[test]
fn buffers_are_reused_across_replications() {
    let src = "X = normal(0, 1, N)\ng = integers(0, 5, N)\na = normal(0, 1, 5)\ny = 10 + a[g] + -0.5 * X + normal(0, s, N)";
    let p = Program::compile(src, &params(&[("N", true), ("s", false)])).unwrap();
    let mut ws = p.workspace();
    ws.generate_with(&p, &[1000.0, 1.0], &mut default_rng(0))
        .unwrap();
    let warm = ws.capacity();
    let pointers: Vec<*const f64> = match ws.data().variable("y") {
        Some(ColumnRef::Float(v)) => vec![v.as_ptr()],
        _ => unreachable!(),
    };
    for r in 1..20 {
        ws.generate_with(&p, &[1000.0, 1.0], &mut default_rng(r))
            .unwrap();
        assert_eq!(ws.capacity(), warm);
        match ws.data().variable("y") {
            Some(ColumnRef::Float(v)) => {
                assert_eq!(v.as_ptr(), pointers[0], "the column's buffer moved")
            }
            _ => unreachable!(),
        }
    }
}

#[test]
fn rebinding_a_name_keeps_the_last_definition() {
    let ws = run("x = arange(3)\nx = x * 10\ny = x + 1", 1.0, 1.0, 0).unwrap();
    assert_eq!(ints(&ws, "x"), vec![0, 10, 20]);
    assert_eq!(ints(&ws, "y"), vec![1, 11, 21]);
}

/// The program run fused (the default) and column at a time, with `require_finite` columns.
fn both_ways(src: &str, finite: &[&str]) -> [Result<Workspace, RuntimeError>; 2] {
    let mut p = Program::compile(src, &params(&[("N", true), ("s", false)])).expect("compiles");
    p.require_finite(finite.iter().copied());
    let mut plain = p.clone();
    plain.set_fused(false);
    [p, plain].map(|p| {
        let mut ws = p.workspace();
        ws.generate_with(&p, &[1500.0, 1.0], &mut default_rng(3))
            .map(|()| ws)
    })
}

#[test]
fn the_seed_program_is_one_fused_pass() {
    let src = "X = normal(0, 1, N)\ngroup = integers(0, 5, N)\na = normal(0, 1, 5)\nb = normal(0, 0.25, 5)\nnoise = normal(0, s, N)\nintercept = a[group]\nslope = b[group]\nresponse = 10 + intercept + (-0.5 + slope) * X + noise";
    let mut p = Program::compile(src, &params(&[("N", true), ("s", false)])).unwrap();
    p.require_finite(["response", "X", "group"]);
    let groups: Vec<&fuse::Group> = p
        .plan
        .steps
        .iter()
        .filter_map(|s| match s {
            fuse::Step::Group(g) => Some(g),
            fuse::Step::Instr(_) => None,
        })
        .collect();
    assert_eq!(groups.len(), 1, "{:?}", p.plan);
    // Both gathers and all the arithmetic: the five operations run as three loops, since
    // (-0.5 + slope) * X and (.. + ..) + noise are pairs; the sums stay in chunk registers (reused).
    assert_eq!(groups[0].ops.len(), 5);
    assert_eq!(p.plan.regs, (3, 0));
    // The two float columns a method uses are checked in the pass; `group` is an integer column.
    assert_eq!(p.plan.covered, vec![true, true, false]);
}

#[test]
fn fused_runs_report_non_finite_rows_in_any_chunk() {
    let src = "x = arange(N) * 1.0\ny = 2.0 / (x - 1100.0) + 1.0";
    let [fused, plain] = both_ways(src, &["y"]);
    let (e, e2) = (fused.unwrap_err(), plain.unwrap_err());
    assert_eq!(e, e2);
    assert_eq!(
        e.message,
        "`y` has a non-finite value (inf) in row 1100, and a method uses this column"
    );
    // A non-finite operand read by the pass (not written by it) is found as well.
    let src = "x = log(arange(N) - 1300.0)\ny = x * 2.0 + 1.0";
    let [fused, plain] = both_ways(src, &["x"]);
    let (e, e2) = (fused.unwrap_err(), plain.unwrap_err());
    assert_eq!(e, e2);
    assert_eq!(e.line, 1);
    assert!(
        e.message
            .starts_with("`x` has a non-finite value (NaN) in row 0"),
        "{}",
        e.message
    );
}

#[test]
fn fused_runs_fall_back_for_negative_indices_and_broadcast_vectors() {
    // Negative indices count from the end (numpy); a length-1 vector broadcasts.
    let src = "v = arange(10.0, 13.0)\ng = arange(N) % 3 - 3\nw = v[g] * normal(1, 0, size=1)\nu = where(g == -1, w, 0.5)";
    let [fused, plain] = both_ways(src, &["w"]);
    let (fused, plain) = (fused.unwrap(), plain.unwrap());
    let w = floats(&fused, "w");
    assert_eq!(w.len(), 1500);
    assert_eq!(&w[..4], &[10.0, 11.0, 12.0, 10.0]);
    assert_eq!(w, floats(&plain, "w"));
    assert_eq!(floats(&fused, "u"), floats(&plain, "u"));
    assert_eq!(floats(&fused, "u")[1497..], [0.5, 0.5, 12.0]);
    // Errors inside a fused run are the column-at-a-time errors, with their line.
    for (src, line, message) in [
        (
            "g = integers(0, 7, N)\nv = normal(0, 1, 5)\nw = v[g] + 1.0",
            3,
            "is out of range for a vector of length 5",
        ),
        (
            "k = arange(N) - 700\nq = (k * 2) // k",
            2,
            "integer division by zero",
        ),
        (
            "x = normal(0, 1, N)\ny = (x + 1.0) * normal(0, 1, 3)",
            2,
            "vectors of different lengths: 1500 and 3",
        ),
    ] {
        let [fused, plain] = both_ways(src, &[]);
        let (e, e2) = (fused.unwrap_err(), plain.unwrap_err());
        assert_eq!(e, e2, "{src}");
        assert_eq!(e.line, line, "{src}");
        assert!(e.message.ends_with(message), "{src}: {}", e.message);
    }
}

#[test]
fn gathers_by_drawn_integers_skip_the_index_check_only_when_the_bounds_fit() {
    // integers(0, 4, endpoint=True) lies in 0..=4: valid indices of 5 effects, no scan needed.
    let src = "g = integers(0, 4, N, endpoint=True)\nv = normal(0, 1, 5)\nw = v[g] * 2.0";
    let [fused, plain] = both_ways(src, &[]);
    let (fused, plain) = (fused.unwrap(), plain.unwrap());
    assert_eq!(floats(&fused, "w"), floats(&plain, "w"));
    assert!(ints(&fused, "g").contains(&4));
    // The same index into 4 effects is out of range somewhere: the error, not a wrong value.
    let src = "g = integers(0, 4, N, endpoint=True)\nv = normal(0, 1, 4)\nw = v[g] * 2.0";
    let [fused, plain] = both_ways(src, &[]);
    let (e, e2) = (fused.unwrap_err(), plain.unwrap_err());
    assert_eq!(e, e2);
    assert!(e.message.starts_with("index 4 (element"), "{}", e.message);
}

#[test]
fn merged_pairs_of_operations_keep_the_order_of_evaluation() {
    let mut src = String::from("x = normal(0, 1, N) * 1e8\ny = normal(0, 1, N)\n");
    let mut names = Vec::new();
    for (i, first) in ["+", "-", "*"].iter().enumerate() {
        for (j, then) in ["+", "-", "*"].iter().enumerate() {
            // The merged operation on either side of the second, with vector and scalar operands.
            src += &format!("p{i}{j} = (x {first} y) {then} 0.75\n");
            src += &format!("q{i}{j} = 0.75 {then} (x {first} y)\n");
            src += &format!("r{i}{j} = y {then} (2.5 {first} x)\n");
            names.extend(["p", "q", "r"].map(|v| format!("{v}{i}{j}")));
        }
    }
    let [fused, plain] = both_ways(&src, &[]);
    let (fused, plain) = (fused.unwrap(), plain.unwrap());
    for name in &names {
        let (a, b) = (floats(&fused, name), floats(&plain, name));
        assert_eq!(a.len(), 1500);
        assert!(
            a.iter().zip(&b).all(|(u, v)| u.to_bits() == v.to_bits()),
            "{name}"
        );
    }
    // Spot values against the formula evaluated here, in the same order.
    let (x, y) = (floats(&plain, "x"), floats(&plain, "y"));
    assert_eq!(floats(&fused, "q12")[7], 0.75 * (x[7] - y[7]));
    assert_eq!(floats(&fused, "r21")[9], y[9] - (2.5 * x[9]));
}

#[test]
fn only_draws_that_cannot_overflow_skip_the_finite_check() {
    // normal(0, 1e308) overflows for |z| > 1.8: not known finite, so checked (read by a fused run).
    let src = "x = normal(0, 1e308, N)\ny = x * 0.5";
    let [fused, plain] = both_ways(src, &["x", "y"]);
    let (e, e2) = (fused.unwrap_err(), plain.unwrap_err());
    assert_eq!(e, e2);
    assert_eq!(e.line, 1);
    assert!(
        e.message.starts_with("`x` has a non-finite value"),
        "{}",
        e.message
    );
    // uniform(-1e308, 1e308): high - low overflows, so its values are checked; both ways agree.
    let src = "x = uniform(-1e308, 1e308, N)\ny = x * 0.5";
    let [fused, plain] = both_ways(src, &["x", "y"]);
    match (fused, plain) {
        (Ok(a), Ok(b)) => assert_eq!(floats(&a, "y"), floats(&b, "y")),
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("fused and column-at-a-time runs disagree"),
    }
}

#[test]
fn an_operand_may_be_the_index_or_the_condition_itself() {
    let src = "g = integers(0, 3, N)\nh = g[g]\nk = where(g, g, 7)\nf = (g * 1.0)[g]";
    let [fused, plain] = both_ways(src, &[]);
    let (fused, plain) = (fused.unwrap(), plain.unwrap());
    let g = ints(&plain, "g");
    let h: Vec<i64> = g.iter().map(|&j| g[j as usize]).collect();
    let k: Vec<i64> = g.iter().map(|&j| if j != 0 { j } else { 7 }).collect();
    for ws in [&fused, &plain] {
        assert_eq!(ints(ws, "h"), h);
        assert_eq!(ints(ws, "k"), k);
        assert_eq!(
            floats(ws, "f"),
            h.iter().map(|&v| v as f64).collect::<Vec<_>>()
        );
    }
}

#[test]
fn the_elements_of_a_replication_are_limited_where_they_are_allocated() {
    let src = "a = normal(0, 1, N)\nb = zeros(N)\nc = a + b\nd = c * 2.0";
    let mut p = Program::compile(src, &params(&[("N", true), ("s", false)])).expect("compiles");
    p.set_max_elements(2_500);
    let mut ws = p.workspace();
    ws.generate_with(&p, &[600.0, 1.0], &mut default_rng(1))
        .expect("4 × 600 elements are within 2,500");
    // A fresh workspace: the one above keeps the capacity of its buffers, which counts.
    let err = p
        .workspace()
        .generate_with(&p, &[1000.0, 1.0], &mut default_rng(1))
        .expect_err("4 × 1,000 elements are over the limit");
    assert!(
        err.message.contains(
            "would hold 4015 elements (0.0 GB) after this statement, more than the limit of 2500"
        ),
        "{err}"
    );
    // The statement reached when the limit was crossed: the end of the fused run a, b, c, d.
    assert_eq!(err.line, 4, "{err}");
    // Unfused, each statement is a step: the limit is crossed at `c`, before `d` is allocated.
    p.set_fused(false);
    let mut ws = p.workspace();
    let err = ws
        .generate_with(&p, &[1000.0, 1.0], &mut default_rng(1))
        .expect_err("over the limit");
    assert_eq!(err.line, 3, "{err}");
    assert!(ws.capacity() < 3_100, "{}", ws.capacity());
}

/// `fixtures/sampling_program.py` makes the same calls with numpy 2.4.6 on default_rng(7), N = 12.
#[test]
fn sampling_functions_draw_what_numpy_draws() {
    let src = r#"
mu = [1, -1]
cov = [[1.0, 0.3],
       [0.3, 0.5]]
u = multivariate_normal(mu, cov, size=N, method="cholesky")
a = u[:, 0]
b = u[:, -1]
g = choice(4, N)
w = choice([0.5, 1.5, 2.5], size=N, p=[0.2, 0.3, 0.5])
perm = permutation(N)
pick = choice(N, 5, replace=False)
shuffled = permutation(a)
both = concatenate([a, b, [0.25]])
lst = [1, 2, 3]
row = multivariate_normal([0, 0], [[2, 0.5], [0.5, 1]], method='cholesky')
one = choice([3, 4, 5])
"#;
    let ws = run(src, 12.0, 0.0, 7).unwrap();
    let expected: std::collections::HashMap<&str, Vec<f64>> =
        include_str!("fixtures/sampling_program.txt")
            .lines()
            .filter_map(|l| l.split_once(';'))
            .map(|(n, v)| (n, v.split(' ').map(|x| x.parse().unwrap()).collect()))
            .collect();
    // Without a size, numpy multiplies by the factor with OpenBLAS's matrix-vector kernel, whose order
    // of summation is not reproduced: the one row agrees to an ulp (relative 2^-52 of each element).
    for (x, y) in floats(&ws, "row").iter().zip(&expected["row"]) {
        assert!((x - y).abs() <= f64::EPSILON * y.abs(), "row: {x} {y}");
    }
    for name in ["a", "b", "w", "shuffled", "both"] {
        let got: Vec<u64> = floats(&ws, name).iter().map(|x| x.to_bits()).collect();
        let want: Vec<u64> = expected[name].iter().map(|x| x.to_bits()).collect();
        assert_eq!(got, want, "{name}");
    }
    for name in ["g", "perm", "pick", "lst", "one"] {
        let got: Vec<f64> = ints(&ws, name).iter().map(|&x| x as f64).collect();
        assert_eq!(got, expected[name], "{name}");
    }
    // The matrix is not a column of the data set; its columns are.
    let data = ws.data();
    assert!(data.variable("u").is_none() && data.variable("cov").is_none());
    assert_eq!(data.nrows(), 25); // the longest vector, `both`
}

#[test]
fn sampling_functions_check_their_arguments() {
    let cases = [
        (
            "u = multivariate_normal([0, 0], [1, 2], 5)\n",
            "cov must be 2 dimensional",
        ),
        (
            "u = multivariate_normal([0, 0], [[1, 0], [0, 1]], 5, method='lu')\n",
            "method must be one of",
        ),
        (
            "u = multivariate_normal([0, 0], [[1, 0], [0, 1]], N)\ny = u + 1\n",
            "`u` is a matrix",
        ),
        (
            "y = multivariate_normal([0, 0], [[1, 0], [0, 1]], N) + 1\n",
            "assign it to a name",
        ),
        (
            "x = normal(0, 1, N)\ny = x[:, 0]\n",
            "takes a column of a matrix",
        ),
        ("y = concatenate([1, 2])\n", "zero-dimensional"),
        (
            "y = [normal(0, 1, N), 1]\n",
            "join vectors with concatenate",
        ),
        ("y = [[1, 2], [3, 4]] + 1\n", "a matrix (a list of lists)"),
        ("m = [[1, 2], [3]]\n", "one length"),
        ("y = choice(2.5, N)\n", "must be an integer"),
        ("y = 'text'\n", "only the value of an option"),
    ];
    for (src, want) in cases {
        let e = compile_err(src);
        assert!(e.message.contains(want), "{src}: {}", e.message);
    }
    let runtime = |src: &str| run(src, 3.0, 0.0, 0).expect_err("fails").message;
    assert!(runtime("y = choice(2, N, replace=False)\n").contains("larger sample"));
    assert!(runtime("y = choice(3, N, p=[0.5, 0.6, 0.1])\n").contains("do not sum to 1"));
    let not_pd = "u = multivariate_normal([0, 0], [[1, 2], [2, 1]], N, method='cholesky')\n";
    assert!(runtime(not_pd).contains("not positive definite"));
    let wrong = "u = multivariate_normal([0, 0, 0], [[1, 0], [0, 1]], N)\n";
    assert!(runtime(wrong).contains("same length"));
    let column = "u = multivariate_normal([0, 0], [[1, 0], [0, 1]], N)\nx = u[:, 2]\n";
    assert!(runtime(column).contains("out of range"));
}

#[test]
fn sampling_functions_allocate_nothing_once_warm() {
    let src = "u = multivariate_normal([0, 0], [[1, 0.5], [0.5, s]], N, method='cholesky')\nx = u[:, 0]\ng = choice(N, N, replace=False)\np = permutation(x)\n";
    let p = Program::compile(src, &params(&[("N", true), ("s", false)])).unwrap();
    let mut ws = p.workspace();
    let mut rng = default_rng(1);
    ws.generate_with(&p, &[50.0, 2.0], &mut rng).unwrap();
    let capacity = ws.capacity();
    for _ in 0..20 {
        ws.generate_with(&p, &[50.0, 2.0], &mut rng).unwrap();
    }
    assert_eq!(ws.capacity(), capacity);
}
