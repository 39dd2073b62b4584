//! The one-grouping-factor fast path, OLS (classical and CR1) and the model frame of computed
//! variables, offsets and weights allocate nothing per fit once warmed up: a counting global allocator (counting this thread's allocations only, so parallel
//! tests do not interfere) around fits of data sets of the same shape, with REML/Satterthwaite as
//! the study runner uses.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::PathBuf;

use parsim_lmm::{DataFrame, Formula, LmmFitter, LmmOptions, OlsFitter, OlsOptions};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

fn seed(k: usize) -> DataFrame {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../tests/data/lme4/data/seed{k}.csv"));
    DataFrame::read_csv(&path).unwrap()
}

#[test]
fn fast_path_fits_allocate_nothing_after_warm_up() {
    let data = [seed(0), seed(1), seed(2)];
    for formula in [
        "response ~ X + (1 | group)",
        "response ~ X + (1 + X | group)",
    ] {
        let formula = Formula::parse(formula).unwrap();
        let mut fitter = LmmFitter::new(&formula, LmmOptions::default()).unwrap();
        for d in &data {
            fitter.fit(d).unwrap();
        }
        let before = allocations();
        let mut criteria = 0.0;
        for d in &data {
            criteria += fitter.fit(d).unwrap().criterion;
        }
        let during = allocations() - before;
        assert!(criteria.is_finite());
        assert_eq!(during, 0, "{formula}: {during} allocations in 3 warm fits");
    }
}

/// Computed variables, offsets and weights: the model frame reuses its buffers too.
#[test]
fn model_frame_allocates_nothing_after_warm_up() {
    let data = [seed(0), seed(1), seed(2)];
    let formula = "response ~ poly(X, 2) + I(X^3/2 + 1) + offset(0.1 * X) + (1 + scale(X) | group)";
    let formula = Formula::parse(formula).unwrap();
    let mut fitter = LmmFitter::new(&formula, LmmOptions::default()).unwrap();
    for d in &data {
        fitter.fit(d).unwrap();
    }
    let before = allocations();
    for d in &data {
        assert!(fitter.fit(d).unwrap().criterion.is_finite());
    }
    let during = allocations() - before;
    assert_eq!(during, 0, "{during} allocations in 3 warm fits");
    let formula = Formula::parse("response ~ log(abs(X) + 1) * factor(group) + offset(X)").unwrap();
    let options = OlsOptions {
        weights: Some("X2".into()),
        ..OlsOptions::default()
    };
    let data = data.map(|d| {
        let x: Vec<f64> = match parsim_lmm::Columns::column(&d, "X") {
            Some(parsim_lmm::ColumnRef::Float(v)) => v.iter().map(|x| 1.0 + x * x).collect(),
            other => panic!("X: {other:?}"),
        };
        d.with_float("X2", x)
    });
    let mut fitter = OlsFitter::new(&formula, options).unwrap();
    for d in &data {
        fitter.fit(d).unwrap();
    }
    let before = allocations();
    for d in &data {
        assert!(fitter.fit(d).unwrap().sigma.is_finite());
    }
    let during = allocations() - before;
    assert_eq!(during, 0, "OLS: {during} allocations in 3 warm fits");
}

#[test]
fn ols_fits_allocate_nothing_after_warm_up() {
    let data = [seed(0), seed(1), seed(2)];
    let formula = Formula::parse("response ~ X").unwrap();
    for cluster in [None, Some("group".to_string())] {
        let options = OlsOptions {
            cluster: cluster.clone(),
            ..OlsOptions::default()
        };
        let mut fitter = OlsFitter::new(&formula, options).unwrap();
        for d in &data {
            fitter.fit(d).unwrap();
        }
        let before = allocations();
        let mut slopes = 0.0;
        for d in &data {
            slopes += fitter.fit(d).unwrap().coefficients[1].estimate;
        }
        let during = allocations() - before;
        assert!(slopes.is_finite());
        assert_eq!(
            during, 0,
            "cluster {cluster:?}: {during} allocations in 3 warm fits"
        );
    }
}

fn crt(name: &str) -> DataFrame {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/glmm/data/{name}.csv"));
    DataFrame::read_csv(&path).unwrap()
}

/// GLMs (model-based and CR1) and GLMMs (Laplace) reuse their workspaces: three cluster-randomised
/// trials of the same shape (600 rows, 30 clusters).
#[test]
fn glm_and_glmm_fits_allocate_nothing_after_warm_up() {
    use parsim_lmm::{GlmFitter, GlmOptions, GlmmFitter, GlmmOptions};
    let data = [
        crt("crt_logit_seed1"),
        crt("crt_probit_seed2"),
        crt("glm_logit_cr1_seed3"),
    ];
    for cluster in [None, Some("cluster".to_string())] {
        let options = GlmOptions {
            cluster,
            ..GlmOptions::default()
        };
        let formula = Formula::parse("y ~ trt + x").unwrap();
        let mut fitter = GlmFitter::new(&formula, options).unwrap();
        for d in &data {
            fitter.fit(d).unwrap();
        }
        let before = allocations();
        let mut total = 0.0;
        for d in &data {
            total += fitter.fit(d).unwrap().deviance;
        }
        let during = allocations() - before;
        assert!(total.is_finite());
        assert_eq!(during, 0, "GLM: {during} allocations in 3 warm fits");
    }
    let formula = Formula::parse("y ~ trt + x + (1 | cluster)").unwrap();
    let mut fitter = GlmmFitter::new(&formula, GlmmOptions::default()).unwrap();
    for d in &data {
        fitter.fit(d).unwrap();
    }
    let before = allocations();
    let mut total = 0.0;
    for d in &data {
        total += fitter.fit(d).unwrap().criterion;
    }
    let during = allocations() - before;
    assert!(total.is_finite());
    assert_eq!(during, 0, "GLMM: {during} allocations in 3 warm fits");
}

/// GLMM warm fits (Laplace, Newton's stage 2 and its Hessian) on the three data sets of issue 19's
/// benchmark: one scalar term (cbind and 0/1 responses) and crossed scalar terms.
#[test]
fn glmm_warm_fits_allocate_nothing() {
    use parsim_lmm::{GlmmFitter, GlmmOptions};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/glmm/data");
    for (file, formula, factors) in [
        (
            "cbpp_laplace.csv",
            "cbind(incidence, failures) ~ period + (1 | herd)",
            vec!["period".to_string()],
        ),
        (
            "crt_logit_seed1.csv",
            "y ~ trt + x + (1 | cluster)",
            vec!["cluster".to_string()],
        ),
        (
            "verbagg_crossed.csv",
            "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)",
            vec![],
        ),
    ] {
        let data = DataFrame::read_csv_with_factors(&dir.join(file), &factors).unwrap();
        let formula = Formula::parse(formula).unwrap();
        let mut fitter = GlmmFitter::new(&formula, GlmmOptions::default()).unwrap();
        fitter.fit(&data).unwrap();
        let before = allocations();
        let criterion = fitter.fit(&data).unwrap().criterion;
        let during = allocations() - before;
        assert!(criterion.is_finite());
        assert_eq!(during, 0, "{file}: {during} allocations in a warm fit");
    }
}

/// Three crossed scalar intercepts with many levels (InstEval's shape, smaller): the dense block's
/// sparse factorization reuses its symbolic analysis and workspace, so the criterion's evaluations
/// allocate nothing (a warm fit allocates once, the term layouts compared in `Structure::assemble`).
#[test]
fn sparse_crossed_fits_allocate_nothing_after_warm_up() {
    let (students, instructors, departments) = (900, 400, 7);
    let mut x = 0.2024_f64;
    let mut next = || {
        x = (x * 9.871 + 0.173).fract();
        x
    };
    let mut text = String::from("s,d,dept,y\n");
    for s in 0..students {
        for _ in 0..4 + s % 5 {
            // Instructors near the student's own (courses of one programme): little fill-in.
            let d = (s * instructors / students + (next() * 25.0) as usize) % instructors;
            let y = 3.0 + 0.01 * d as f64 + 0.3 * (s % 3) as f64 + next();
            text.push_str(&format!("s{s},d{d},p{},{y}\n", d % departments));
        }
    }
    let data = DataFrame::parse_csv(&text, "crossed").unwrap();
    let formula = Formula::parse("y ~ 1 + (1 | s) + (1 | d) + (1 | dept)").unwrap();
    let mut fitter = LmmFitter::new(&formula, LmmOptions::default()).unwrap();
    let theta = fitter.fit(&data).unwrap().theta.clone();
    let points: Vec<Vec<f64>> = [1.0, 0.5, 2.0]
        .iter()
        .map(|scale| theta.iter().map(|t| t * scale).collect())
        .collect();
    let before = allocations();
    let total: f64 = points
        .iter()
        .map(|at| fitter.criterion_at(at).unwrap())
        .sum();
    let during = allocations() - before;
    assert!(total.is_finite());
    assert_eq!(during, 0, "{during} allocations in 3 evaluations");
}
