//! Methods written in Python and R, run by real interpreters in worker processes: results equal to the same
//! analysis run by hand on the generated data sets, the unit's stream equal to numpy's, every kind of
//! misbehaviour stored with its status while the run completes, and identical rows for any number of
//! workers. Needs python3 with numpy and Rscript on PATH (.ci/run installs them); the GEE test also needs
//! statsmodels, in target/method-venv (or PARSIM_TEST_PYTHON), and is skipped with a message without it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use parsim::method::{stream_key, FitStatus};
use parsim::run::{run, RunOptions, Shard};
use parsim::store::{Results, Store};
use parsim::study::Study;
use parsim_lmm::{ColumnRef, Columns};
use parsim_random::{default_rng_from, SeedSequence};

const SEED: u64 = 7;

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/methods")
}

fn script(name: &str) -> String {
    scripts().join(name).display().to_string()
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("parsim-ext-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A study of `replications` per condition (mu = 0 and 1, n = 25) with the given methods' tables.
fn study_text(replications: u64, methods: &str) -> String {
    format!(
        r#"
[study]
name = "external"
replications = {replications}
seed = {SEED}

[parameters]
mu = [0.0, 1.0]
n = 25

[data]
program = """
x = normal(0.0, 1.0, n)
y = mu + 0.5 * x + normal(0.0, 1.0, n)
"""

{methods}
"#
    )
}

fn load(dir: &Path, text: &str) -> Study {
    let path = dir.join("study.toml");
    std::fs::write(&path, text).unwrap();
    Study::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// A stored estimate, owned (the tests key maps by unit, method and term).
#[derive(Debug, Clone, PartialEq)]
struct Estimate {
    condition: usize,
    replication: u64,
    method: String,
    term: String,
    status: FitStatus,
    estimate: f64,
    se: Option<f64>,
    df: Option<f64>,
    ci_lower: Option<f64>,
    ci_upper: Option<f64>,
    p_value: Option<f64>,
    truth: Option<f64>,
}

/// Every stored estimate of `store`.
fn estimates(store: &Store) -> Vec<Estimate> {
    let mut out = Vec::new();
    store
        .for_each_line(&mut |e| {
            let [_, se, df, ci_lower, ci_upper, p_value, truth] = e.values;
            out.push(Estimate {
                condition: e.condition,
                replication: e.replication,
                method: e.method.to_string(),
                term: e.term.to_string(),
                status: e.fit_status(),
                estimate: e.estimate(),
                se,
                df,
                ci_lower,
                ci_upper,
                p_value,
                truth,
            })
        })
        .unwrap();
    out
}

fn run_with(study: &Study, out: &Path, jobs: usize) {
    let options = RunOptions {
        jobs: Some(jobs),
        out: out.to_path_buf(),
        replications: None,
        shard: None,
        fresh: true,
        stop: Arc::new(AtomicBool::new(false)),
    };
    let done = run(study, &options).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done.units_completed, study.units());
}

/// Every stored fit and estimate as text (numbers by their bits), sorted: what must not depend on how
/// the study was run.
fn rows(out: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(out.join("results.sqlite")).unwrap();
    let mut rows = Vec::new();
    let mut stmt = conn
        .prepare(
            "SELECT condition, replication, method, term, kind, estimate, se, df, ci_lower, ci_upper, \
             p_value FROM estimates",
        )
        .unwrap();
    let mut q = stmt.query([]).unwrap();
    while let Some(r) = q.next().unwrap() {
        let mut line = format!(
            "{} {} {} {} {}",
            r.get::<_, i64>(0).unwrap(),
            r.get::<_, i64>(1).unwrap(),
            r.get::<_, String>(2).unwrap(),
            r.get::<_, String>(3).unwrap(),
            r.get::<_, String>(4).unwrap()
        );
        for i in 5..11 {
            let v: Option<f64> = r.get(i).unwrap();
            line.push_str(&format!(" {:?}", v.map(f64::to_bits)));
        }
        rows.push(line);
    }
    let mut stmt = conn
        .prepare("SELECT condition, replication, method, status, message FROM fits")
        .unwrap();
    let mut q = stmt.query([]).unwrap();
    while let Some(r) = q.next().unwrap() {
        rows.push(format!(
            "fit {} {} {} {} {:?}",
            r.get::<_, i64>(0).unwrap(),
            r.get::<_, i64>(1).unwrap(),
            r.get::<_, String>(2).unwrap(),
            r.get::<_, String>(3).unwrap(),
            r.get::<_, Option<String>>(4).unwrap()
        ));
    }
    rows.sort();
    rows
}

/// Each fit's status and message, by (condition, replication, method).
fn fits(out: &Path) -> BTreeMap<(u64, u64, String), (FitStatus, Option<String>)> {
    let conn = rusqlite::Connection::open(out.join("results.sqlite")).unwrap();
    let mut stmt = conn
        .prepare("SELECT condition, replication, method, status, message FROM fits")
        .unwrap();
    let mut q = stmt.query([]).unwrap();
    let mut out = BTreeMap::new();
    while let Some(r) = q.next().unwrap() {
        let status = FitStatus::parse(&r.get::<_, String>(3).unwrap()).unwrap();
        out.insert(
            (
                r.get::<_, i64>(0).unwrap() as u64,
                r.get::<_, i64>(1).unwrap() as u64,
                r.get::<_, String>(2).unwrap(),
            ),
            (status, r.get::<_, Option<String>>(4).unwrap()),
        );
    }
    out
}

/// The unit's stream for a method, built in Rust: what the worker must reproduce. Its first spawn key
/// is the condition's stream key.
fn stream(
    study: &Study,
    condition: u64,
    replication: u64,
    method: &str,
) -> parsim_random::Generator {
    default_rng_from(&SeedSequence::with_spawn_key(
        SEED,
        &[
            study.condition_stream(condition as usize),
            replication,
            stream_key(method),
        ],
    ))
}

/// Write each unit's data set as `parsim data` does, into `dir`; returns (condition, replication, path).
fn write_data_sets(
    study: &Study,
    dir: &Path,
    units: &[(usize, u64)],
) -> Vec<(usize, u64, PathBuf)> {
    let mut ws = study.program.workspace();
    units
        .iter()
        .map(|&(c, r)| {
            study.generate(&mut ws, c, r).unwrap();
            let path = dir.join(format!("data-{c}-{r}.csv"));
            let mut file = std::fs::File::create(&path).unwrap();
            ws.data().write_csv(&mut file).unwrap();
            (c, r, path)
        })
        .collect()
}

/// Run `program args` with `input` on its stdin; its stdout.
fn run_by_hand(program: &str, args: &[&str], input: &str) -> String {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{program} {args:?} failed");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_python_method_equals_the_same_analysis_by_hand_and_its_stream_is_numpys() {
    let dir = tempdir("python");
    let methods = format!(
        "[methods.boot]\nmodel = \"python\"\nfile = \"{}\"\n\n[methods.ols]\nmodel = \"ols\"\nformula = \"y ~ 1\"\n\n[estimands]\nmean = \"mu\"\n",
        script("boot.py")
    );
    let study = load(&dir, &study_text(12, &methods));
    let report = study.check().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        report.to_string().contains("[terms: mean, shift, draw]"),
        "{report}"
    );
    let out = dir.join("out");
    run_with(&study, &out, 2);

    // Stored: every unit, both methods, all ok.
    let fits = fits(&out);
    assert_eq!(fits.len(), 2 * 24);
    assert!(
        fits.values()
            .all(|(s, m)| *s == FitStatus::Ok && m.is_none()),
        "{fits:?}"
    );

    let store = Store::open_existing(&out).unwrap();
    let mut stored = BTreeMap::new();
    let mut intercepts = BTreeMap::new();
    for e in estimates(&store) {
        let key = (e.condition as u64, e.replication, e.term.clone());
        if e.method == "boot" {
            stored.insert(key, e.clone());
        } else if e.term == "(Intercept)" {
            intercepts.insert((e.condition as u64, e.replication), (e.estimate, e.se));
        }
    }
    assert_eq!(stored.len(), 3 * 24);

    // The first draw after the bootstrap is the stream's 21st use; its first use is checked exactly by
    // redoing the analysis by hand below. Here: the worker's stream is the one Rust builds.
    let units: Vec<(usize, u64)> = (0..2).flat_map(|c| (0..12).map(move |r| (c, r))).collect();
    let data = write_data_sets(&study, &dir, &units);
    let input: String = data
        .iter()
        .map(|(c, r, path)| {
            let key = study.condition_stream(*c);
            format!("{c} {r} mu={} {} {key}\n", [0.0, 1.0][*c], path.display())
        })
        .collect();
    let by_hand = run_by_hand(
        "python3",
        &[
            &script("by_hand.py"),
            &script("boot.py"),
            "analyse",
            "boot",
            &SEED.to_string(),
        ],
        &input,
    );
    let mut compared = 0;
    for line in by_hand.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let key = (
            f[0].parse().unwrap(),
            f[1].parse().unwrap(),
            f[2].to_string(),
        );
        let e = &stored[&key];
        // The same numbers through the same numpy code: equal to the last bit (the CSV's floats are
        // shortest round-trip, so the data sets are the same bits too).
        assert_eq!(e.estimate.to_bits().to_string(), f[3], "{line}: {e:?}");
        let se = e.se.map_or("none".to_string(), |s| s.to_bits().to_string());
        assert_eq!(se, f[4], "{line}: {e:?}");
        compared += 1;
    }
    assert_eq!(compared, 3 * 24);

    // The tail probability as the built-in methods compute it from the level.
    let alpha = (1.0 - 0.95) / 2.0;
    for ((c, r, term), e) in &stored {
        match term.as_str() {
            // An SE with a df: a t interval and p-value on that df at the study's 95%.
            "shift" => {
                let (se, df) = (e.se.unwrap(), e.df.unwrap());
                assert_eq!(df, 24.0);
                let q = parsim_lmm::student_t::upper_quantile(alpha, 24.0);
                assert_eq!(e.ci_upper, Some(e.estimate + q * se));
                let p = parsim_lmm::student_t::two_sided_p(e.estimate / se, 24.0);
                assert_eq!(e.p_value, Some(p));
                assert_eq!(e.truth, None);
            }
            // An SE without a df: normal.
            "mean" => {
                assert_eq!(e.df, None);
                let q = parsim_lmm::student_t::upper_quantile(alpha, f64::INFINITY);
                assert!((q - 1.959963984540054).abs() < 1e-14);
                assert_eq!(e.ci_lower, Some(e.estimate - q * e.se.unwrap()));
                assert_eq!(e.truth, Some([0.0, 1.0][*c as usize]));
                // Beside the built-in method, on the same data set: the mean is OLS's intercept of
                // y ~ 1, up to the rounding of two different summations (25 values of size ~1).
                let (intercept, _) = intercepts[&(*c, *r)];
                assert!((e.estimate - intercept).abs() < 1e-14, "{c} {r}");
            }
            "draw" => assert_eq!((e.se, e.ci_lower, e.p_value), (None, None, None)),
            other => panic!("unexpected term {other}"),
        }
    }

    // One worker gives the very same rows as two.
    let one = dir.join("one");
    run_with(&study, &one, 1);
    assert_eq!(rows(&one), rows(&out));
}

/// One worker process per parsim worker and method: the process started to check the method before
/// the run serves the first worker instead of being thrown away.
#[test]
fn a_run_starts_one_python_process_per_worker() {
    let dir = tempdir("starts");
    let starts = dir.join("starts.txt");
    let table = format!(
        "[methods.n]\nmodel = \"python\"\nfile = \"{}\"\n",
        script("starts.py")
    );
    let study = load(&dir, &study_text(20, &table));
    run_with(&study, &dir.join("out"), 2);
    let text = std::fs::read_to_string(&starts).unwrap();
    assert_eq!(text.lines().count(), 2, "processes started: {text}");
}

#[test]
fn the_python_workers_generator_is_the_units_stream() {
    // rng.random() as the first use of the stream in Python equals Context::rng()'s in Rust, to the bit.
    let dir = tempdir("stream");
    std::fs::write(
        dir.join("first.py"),
        "def analyse(data, condition, rng):\n    return {'u': rng.random(), 'v': float(rng.standard_normal())}\n",
    )
    .unwrap();
    let study = load(
        &dir,
        &study_text(
            5,
            "[methods.first]\nmodel = \"python\"\nfile = \"first.py\"\n",
        ),
    );
    let out = dir.join("out");
    run_with(&study, &out, 2);
    let store = Store::open_existing(&out).unwrap();
    let mut n = 0;
    for e in estimates(&store) {
        let mut rng = stream(&study, e.condition as u64, e.replication, "first");
        let u = rng.random();
        let v = rng.standard_normal();
        let expected = if e.term == "u" { u } else { v };
        assert_eq!(e.estimate.to_bits(), expected.to_bits(), "{e:?}");
        n += 1;
    }
    assert_eq!(n, 20);
}

#[test]
fn a_failing_python_method_costs_only_its_own_fits() {
    let dir = tempdir("flaky");
    let methods = format!(
        "[methods.flaky]\nmodel = \"python\"\nfile = \"{}\"\ntimeout = 3\n\n[methods.ols]\nmodel = \"ols\"\nformula = \"y ~ x\"\n",
        script("flaky.py")
    );
    let study = load(&dir, &study_text(12, &methods));
    let out = dir.join("out");
    run_with(&study, &out, 2);
    let fits = fits(&out);
    let mut seen = [0; 6];
    for c in 0..2u64 {
        for r in 0..12u64 {
            let bucket = (stream(&study, c, r, "flaky").random() * 6.0) as usize;
            seen[bucket] += 1;
            let (status, message) = &fits[&(c, r, "flaky".to_string())];
            let message = message.clone().unwrap_or_default();
            let expected = match bucket {
                0 => (FitStatus::Ok, ""),
                1 => (FitStatus::Error, "ValueError: bucket one (25 rows)"),
                2 => (
                    FitStatus::Error,
                    "the worker process ended during the fit (exit status 3)",
                ),
                3 => (FitStatus::Timeout, "no result within the timeout of 3 s"),
                4 if c == 0 => (FitStatus::Error, "analyse() returned a str; return a dict"),
                4 => (
                    FitStatus::Error,
                    "analyse() returned 1000000000000000000000000000000000000000...0000000000 as the \
                     estimate of `mean`, which is not a double (int too large to convert to float)",
                ),
                _ => (
                    FitStatus::NotConverged,
                    "ConvergenceWarning: iteration limit reached",
                ),
            };
            assert_eq!(
                *status, expected.0,
                "unit {c}/{r}, bucket {bucket}: {message}"
            );
            assert!(message.starts_with(expected.1), "unit {c}/{r}: {message}");
            match bucket {
                // The exception's traceback points into the user's file, at the raise.
                1 => assert!(
                    message.contains("flaky.py\", line 20, in analyse"),
                    "{message}"
                ),
                // A crash quotes what the process wrote to its standard error during the fit.
                2 => assert!(
                    message.ends_with("its standard error ended with:\nbucket 2"),
                    "{message}"
                ),
                _ => {}
            }
            // The built-in method beside it is untouched.
            assert_eq!(fits[&(c, r, "ols".to_string())].0, FitStatus::Ok);
        }
    }
    assert!(seen.iter().all(|&n| n > 0), "every bucket occurs: {seen:?}");

    // Restarts and timeouts do not make the rows depend on the number of workers, nor on a split into
    // shards (each a run of its own, as Slurm's array tasks are).
    let one = dir.join("one");
    run_with(&study, &one, 1);
    assert_eq!(rows(&one), rows(&out));
    let mut sharded = Vec::new();
    for index in 1..=2 {
        let shard = dir.join(format!("shard-{index}"));
        let options = RunOptions {
            jobs: Some(2),
            out: shard.clone(),
            replications: None,
            shard: Some(Shard { index, count: 2 }),
            fresh: true,
            stop: Arc::new(AtomicBool::new(false)),
        };
        run(&study, &options).unwrap_or_else(|e| panic!("{e}"));
        sharded.extend(rows(&shard));
    }
    sharded.sort();
    assert_eq!(sharded, rows(&out));
}

#[test]
fn an_r_method_equals_the_same_analysis_by_hand() {
    let dir = tempdir("r");
    let methods = format!(
        "[methods.lm]\nmodel = \"r\"\nfile = \"{}\"\n\n[methods.ols]\nmodel = \"ols\"\nformula = \"y ~ x\"\n",
        script("lm.R")
    );
    let study = load(&dir, &study_text(6, &methods));
    let out = dir.join("out");
    run_with(&study, &out, 2);
    let store = Store::open_existing(&out).unwrap();
    let mut stored = BTreeMap::new();
    for e in estimates(&store) {
        stored.insert(
            (
                e.condition as u64,
                e.replication,
                e.method.clone(),
                e.term.clone(),
            ),
            e.clone(),
        );
    }
    assert_eq!(stored.len(), 12 * (4 + 2));

    let units: Vec<(usize, u64)> = (0..2).flat_map(|c| (0..6).map(move |r| (c, r))).collect();
    let data = write_data_sets(&study, &dir, &units);
    let mut input = String::new();
    for (c, r, path) in &data {
        // The integer seed is the stream's first integers(0, 2**31 - 1), as docs/methods.md says.
        let seed = stream(&study, *c as u64, *r, "lm")
            .integers(0, i64::from(i32::MAX), false)
            .unwrap();
        let e = &stored[&(*c as u64, *r, "lm".to_string(), "seed".to_string())];
        assert_eq!(e.estimate, seed as f64);
        input.push_str(&format!("{c} {r} {seed} {}\n", path.display()));
    }
    let by_hand = run_by_hand("Rscript", &[&script("by_hand.R"), &script("lm.R")], &input);
    let mut compared = 0;
    for line in by_hand.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Ok(c), Ok(r)) = (f[0].parse::<u64>(), f[1].parse::<u64>()) else {
            continue; // the method's own cat() output
        };
        let e = &stored[&(c, r, "lm".to_string(), f[2].to_string())];
        let estimate: f64 = f[3].parse().unwrap();
        // R parses the CSV's decimals with its own strtod, which may miss the double by an ulp; lm on
        // 25 rows moves that to ~1e-15 relative. The draw and the seed are exact.
        let tolerance = if f[2] == "draw" || f[2] == "seed" {
            0.0
        } else {
            1e-12 * estimate.abs().max(1.0)
        };
        assert!((e.estimate - estimate).abs() <= tolerance, "{line}: {e:?}");
        if let Ok(se) = f[4].parse::<f64>() {
            assert!((e.se.unwrap() - se).abs() <= 1e-12 * se, "{line}: {e:?}");
        }
        // lm's coefficients are OLS's, on the same data set.
        if let Some(ols) = stored.get(&(c, r, "ols".to_string(), f[2].to_string())) {
            assert!((ols.estimate - e.estimate).abs() < 1e-12, "{line}");
            assert_eq!(ols.df, e.df);
        }
        compared += 1;
    }
    assert_eq!(compared, 12 * 4);
}

#[test]
fn a_failing_r_method_costs_only_its_own_fits() {
    let dir = tempdir("rflaky");
    let methods = format!(
        "[methods.flaky]\nmodel = \"r\"\nfile = \"{}\"\ntimeout = 3\n\n[methods.ols]\nmodel = \"ols\"\nformula = \"y ~ x\"\n",
        script("flaky.R")
    );
    let study = load(&dir, &study_text(8, &methods));
    let out = dir.join("out");
    run_with(&study, &out, 2);
    let fits = fits(&out);
    let mut seen = [0; 5];
    for c in 0..2u64 {
        for r in 0..8u64 {
            let seed = stream(&study, c, r, "flaky")
                .integers(0, i64::from(i32::MAX), false)
                .unwrap();
            let bucket = (seed % 5) as usize;
            seen[bucket] += 1;
            let (status, message) = &fits[&(c, r, "flaky".to_string())];
            let message = message.clone().unwrap_or_default();
            let expected = match bucket {
                0 => (FitStatus::Ok, ""),
                1 => (
                    FitStatus::Error,
                    "Error in analyse(data, condition, seed): bucket one",
                ),
                2 => (
                    FitStatus::Error,
                    "the worker process ended during the fit (exit status 4)",
                ),
                3 => (FitStatus::Timeout, "no result within the timeout of 3 s"),
                _ => (
                    FitStatus::NotConverged,
                    "warning: the algorithm did not converge",
                ),
            };
            assert_eq!(
                *status, expected.0,
                "unit {c}/{r}, bucket {bucket}: {message}"
            );
            assert!(message.starts_with(expected.1), "unit {c}/{r}: {message}");
            assert_eq!(fits[&(c, r, "ols".to_string())].0, FitStatus::Ok);
        }
    }
    assert!(
        seen[1] + seen[2] + seen[3] > 0,
        "some failures occur: {seen:?}"
    );
}

/// The python with statsmodels: PARSIM_TEST_PYTHON, else the venv .ci/run makes in target/method-venv.
fn statsmodels_python() -> Option<PathBuf> {
    let python = std::env::var_os("PARSIM_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/method-venv/bin/python")
        });
    let works = Command::new(&python)
        .args(["-c", "import statsmodels, pandas"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    works.then_some(python)
}

/// A data set reaches a pandas method as the DataFrame pandas' own constructor makes (same columns in
/// the same order, same dtypes, same values to the bit) and as fresh memory per call, whichever way the
/// worker builds it; without pandas, as a dict of numpy arrays with the same values.
#[test]
fn a_pandas_data_frame_holds_the_same_columns_as_the_numpy_dict() {
    let Some(python) = statsmodels_python() else {
        eprintln!("SKIPPED a_pandas_data_frame_holds_the_same_columns_as_the_numpy_dict: no python with pandas");
        return;
    };
    // An integer column beside the float ones: pandas keeps one block per dtype.
    let text = |python: &str| {
        study_text(
            3,
            &format!(
                "[methods.look]\nmodel = \"python\"\nfile = \"{}\"\npython = \"{python}\"\n",
                script("columns.py")
            ),
        )
        .replace("y = mu", "g = arange(n) % 3\ny = mu")
    };
    let mut seen = Vec::new();
    for (name, python) in [("dict", "python3"), ("frame", python.to_str().unwrap())] {
        let dir = tempdir(&format!("columns-{name}"));
        let study = load(&dir, &text(python));
        run_with(&study, &dir.join("out"), 2);
        let store = Store::open_existing(&dir.join("out")).unwrap();
        let rows: BTreeMap<_, _> = estimates(&store)
            .into_iter()
            .map(|e| {
                assert_eq!(e.status, FitStatus::Ok, "{e:?}");
                ((e.condition, e.replication, e.term), e.estimate.to_bits())
            })
            .collect();
        seen.push(rows);
    }
    let (dict, frame) = (&seen[0], &seen[1]);
    assert_eq!(dict.len(), frame.len());
    assert_eq!(dict.len(), 6 * (1 + 3 * 3), "3 columns of 2 x 3 data sets");
    for (key, bits) in dict {
        let expected = if key.2 == "frame" {
            1f64.to_bits()
        } else {
            *bits
        };
        assert_eq!(frame[key], expected, "{key:?}");
        if key.2 == "int_g" {
            assert_eq!(*bits, 1f64.to_bits(), "g is an integer column");
        }
    }
}

#[test]
fn the_gee_example_matches_statsmodels_by_hand() {
    let Some(python) = statsmodels_python() else {
        eprintln!(
            "SKIPPED the_gee_example_matches_statsmodels_by_hand: no python with statsmodels and pandas \
             (make one with `python3 -m venv target/method-venv && target/method-venv/bin/pip install \
             numpy pandas statsmodels`, as .ci/run does, or set PARSIM_TEST_PYTHON)"
        );
        return;
    };
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let dir = tempdir("gee");
    let text = std::fs::read_to_string(examples.join("crt-gee.toml"))
        .unwrap()
        .replace("replications = 500", "replications = 4")
        .replace(
            "file = \"gee.py\"",
            &format!(
                "file = \"{}\"\npython = \"{}\"",
                examples.join("gee.py").display(),
                python.display()
            ),
        );
    let path = dir.join("crt-gee.toml");
    std::fs::write(&path, text).unwrap();
    let study = Study::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.join("out");
    run_with(&study, &out, 2);
    let fits = fits(&out);
    assert!(fits.values().all(|(s, _)| *s == FitStatus::Ok), "{fits:?}");

    // statsmodels by hand on the data sets, reading the CSV as pandas would.
    let units: Vec<(usize, u64)> = (0..2).flat_map(|c| (0..4).map(move |r| (c, r))).collect();
    let data = write_data_sets(&study, &dir, &units);
    let program = format!(
        "import sys, importlib.util, struct, pandas as pd\n\
         spec = importlib.util.spec_from_file_location('gee', r'{}')\n\
         gee = importlib.util.module_from_spec(spec); spec.loader.exec_module(gee)\n\
         for line in sys.stdin:\n\
         \x20   c, r, path = line.split()\n\
         \x20   d = pd.read_csv(path)\n\
         \x20   for method, f in (('gee', gee.analyse), ('gee_mancl', gee.analyse_bias_reduced)):\n\
         \x20       for term, (est, se) in f(d, {{}}, None).items():\n\
         \x20           print(c, r, method, term, repr(float(est)), repr(float(se)))\n",
        examples.join("gee.py").display()
    );
    let input: String = data
        .iter()
        .map(|(c, r, p)| format!("{c} {r} {}\n", p.display()))
        .collect();
    let by_hand = run_by_hand(python.to_str().unwrap(), &["-c", &program], &input);
    let store = Store::open_existing(&out).unwrap();
    let mut stored = BTreeMap::new();
    for e in estimates(&store) {
        stored.insert(
            (
                e.condition as u64,
                e.replication,
                e.method.clone(),
                e.term.clone(),
            ),
            e.clone(),
        );
    }
    let mut compared = 0;
    for line in by_hand.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let key = (
            f[0].parse().unwrap(),
            f[1].parse().unwrap(),
            f[2].to_string(),
            f[3].to_string(),
        );
        let e = &stored[&key];
        // pandas parses the shortest round-trip decimals exactly, so statsmodels sees the same bits
        // and computes the same numbers.
        assert_eq!(e.estimate, f[4].parse::<f64>().unwrap(), "{line}");
        assert_eq!(e.se, Some(f[5].parse::<f64>().unwrap()), "{line}");
        // No df: a normal interval, as GEE's z.
        assert_eq!(e.df, None);
        compared += 1;
    }
    assert_eq!(compared, 8 * 2 * 2);
}

/// The seed blog's own analysis as a parsim method: statsmodels' MixedLM on parsim's data sets gives the
/// very numbers the blog's script gets from numpy's (bench/seed_blog.py's gen_data with default_rng(r)),
/// to the bit, and parsim's own random-intercept model runs beside it.
#[test]
fn the_blogs_statsmodels_analysis_as_a_method_equals_the_blogs_script() {
    let Some(python) = statsmodels_python() else {
        eprintln!(
            "SKIPPED the_blogs_statsmodels_analysis_as_a_method_equals_the_blogs_script: no python with \
             statsmodels and pandas (see the GEE test)"
        );
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempdir("blog");
    let text = std::fs::read_to_string(root.join("examples/seed-statsmodels.toml"))
        .unwrap()
        .replace("replications = 500", "replications = 3")
        .replace(
            "file = \"mixedlm.py\"",
            &format!(
                "file = \"{}\"\npython = \"{}\"",
                root.join("examples/mixedlm.py").display(),
                python.display()
            ),
        );
    let path = dir.join("seed-statsmodels.toml");
    std::fs::write(&path, text).unwrap();
    let study = Study::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.join("out");
    run_with(&study, &out, 2);

    let program = format!(
        "import sys, warnings\n\
         sys.path.insert(0, r'{}')\n\
         import seed_blog, statsmodels.formula.api as smf\n\
         warnings.simplefilter('ignore')\n\
         params = seed_blog.blog_params()\n\
         for r in range(3):\n\
         \x20   params['seed'] = r\n\
         \x20   df = seed_blog.gen_data(5000, params)\n\
         \x20   fit = smf.mixedlm('response ~ X', df, groups=df['group']).fit()\n\
         \x20   print(r, repr(float(fit.params['X'])), repr(float(fit.bse['X'])))\n",
        root.join("bench").display()
    );
    let blog = run_by_hand(python.to_str().unwrap(), &["-c", &program], "");
    let store = Store::open_existing(&out).unwrap();
    let stored: BTreeMap<(u64, String), Estimate> = estimates(&store)
        .into_iter()
        .filter(|e| e.term == "X")
        .map(|e| ((e.replication, e.method.clone()), e))
        .collect();
    assert_eq!(stored.len(), 2 * 3, "both methods, 3 replications");
    for line in blog.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let r: u64 = f[0].parse().unwrap();
        let mine = &stored[&(r, "statsmodels".to_string())];
        assert_eq!(mine.estimate, f[1].parse::<f64>().unwrap(), "{line}");
        assert_eq!(mine.se, Some(f[2].parse::<f64>().unwrap()), "{line}");
        // parsim's own REML fit of the same model agrees with statsmodels' to its optimizer's precision
        // (statsmodels stops at a gradient tolerance; 1e-4 relative is far below the SE of 0.015).
        let lmm = &stored[&(r, "random_intercept".to_string())];
        assert!(
            (lmm.estimate - mine.estimate).abs() <= 1e-4 * mine.estimate.abs(),
            "{line}: lmm {}",
            lmm.estimate
        );
    }
    assert_eq!(blog.lines().count(), 3);
}

/// python3 (numpy alone: a dict of arrays), and a python with pandas (a DataFrame) when there is one.
fn pythons_with_and_without_pandas(test: &str) -> Vec<(&'static str, String)> {
    let mut pythons = vec![("dict", "python3".to_string())];
    match statsmodels_python() {
        Some(p) => pythons.push(("frame", p.display().to_string())),
        None => eprintln!("{test}: no python with pandas, the DataFrame case skipped"),
    }
    pythons
}

/// Runs `script` as the one Python method of a study of `replications` on one worker (its text edited
/// by `edit`); the study, and every stored estimate by (condition, replication, term), all fits ok.
fn run_python_method(
    dir: &Path,
    (script_name, python): (&str, &str),
    replications: u64,
    edit: impl Fn(String) -> String,
) -> (Study, BTreeMap<(usize, u64, String), f64>) {
    let method = format!(
        "[methods.m]\nmodel = \"python\"\nfile = \"{}\"\npython = \"{python}\"\n",
        script(script_name)
    );
    let study = load(dir, &edit(study_text(replications, &method)));
    run_with(&study, &dir.join("out"), 1);
    let store = Store::open_existing(&dir.join("out")).unwrap();
    let stored = estimates(&store)
        .into_iter()
        .map(|e| {
            assert_eq!(e.status, FitStatus::Ok, "{e:?}");
            ((e.condition, e.replication, e.term), e.estimate)
        })
        .collect();
    (study, stored)
}

/// Data sets of very different sizes, one after another in one worker process (the numeric columns
/// travel in a shared memory file that grows, and is mapped again, for the large one): each reaches the
/// method whole, with the values parsim generated, whatever the method did to the one before.
#[test]
fn data_sets_of_any_size_reach_a_python_method_whole() {
    let test = "data_sets_of_any_size_reach_a_python_method_whole";
    for (name, python) in pythons_with_and_without_pandas(test) {
        let dir = tempdir(&format!("sizes-{name}"));
        let (study, stored) = run_python_method(&dir, ("places.py", &python), 2, |text| {
            text.replace("n = 25", "n = [3, 70000, 10]")
                .replace("y = mu", "g = integers(0, 1000, n)\ny = mu")
        });
        let mut ws = study.program.workspace();
        let mut compared = 0;
        for c in 0..study.conditions().len() {
            for r in 0..2 {
                study.generate(&mut ws, c, r).unwrap();
                let data = ws.data();
                for column in ["x", "g", "y"] {
                    let values: Vec<f64> = match data.column(column).unwrap() {
                        ColumnRef::Float(v) => v.to_vec(),
                        ColumnRef::Int(v) => v.iter().map(|&i| i as f64).collect(),
                        ColumnRef::Text(_) => panic!("no text column here"),
                    };
                    let n = values.len();
                    let expected = [
                        ("n", n as f64),
                        ("first", values[0]),
                        ("middle", values[n / 2]),
                        ("last", values[n - 1]),
                    ];
                    for (place, value) in expected {
                        let key = (c, r, format!("{place}_{column}"));
                        assert_eq!(stored[&key].to_bits(), value.to_bits(), "{name} {key:?}");
                        compared += 1;
                    }
                }
            }
        }
        assert_eq!(compared, stored.len());
        assert_eq!(compared, study.conditions().len() * 2 * 3 * 4);
    }
}

/// A Python method's arrays are views of the memory parsim writes each data set into; what the method
/// keeps past its call (the data set, a column, a view, a view in a reference cycle) must not change when
/// the next data sets are written, also when the memory grows for a larger data set. keeps.py counts the
/// kept objects whose values changed since they were kept, and reports the columns' ends.
#[test]
fn what_a_python_method_keeps_does_not_change_under_it() {
    let test = "what_a_python_method_keeps_does_not_change_under_it";
    for (name, python) in pythons_with_and_without_pandas(test) {
        let dir = tempdir(&format!("keeps-{name}"));
        let (study, stored) = run_python_method(&dir, ("keeps.py", &python), 6, |text| {
            text.replace("n = 25", "n = [25, 3000]")
        });
        let mut ws = study.program.workspace();
        let mut kept_before = 0.0f64;
        for c in 0..study.conditions().len() {
            for r in 0..6 {
                let at = |term: &str| stored[&(c, r, term.to_string())];
                assert_eq!(at("changed"), 0.0, "{name}: condition {c} replication {r}");
                kept_before = kept_before.max(at("kept"));
                study.generate(&mut ws, c, r).unwrap();
                let data = ws.data();
                for column in ["x", "y"] {
                    let Some(ColumnRef::Float(v)) = data.column(column) else {
                        panic!("{column} is a float column")
                    };
                    let (first, last) = (v[0], v[v.len() - 1]);
                    assert_eq!(at(&format!("first_{column}")).to_bits(), first.to_bits());
                    assert_eq!(at(&format!("last_{column}")).to_bits(), last.to_bits());
                }
            }
        }
        // The check had something to check: 16 objects kept from the fourth call on.
        assert_eq!(kept_before, 16.0, "{name}");
    }
}

/// A worker's method process shares its CPU with the worker thread that talks to it (each exchange
/// then costs no wake-up of another, possibly idle, CPU), as long as no two workers would share one;
/// with more workers than CPUs nothing is pinned.
#[cfg(target_os = "linux")]
#[test]
fn a_method_process_keeps_to_its_workers_cpu_while_workers_have_one_each() {
    // The CPUs this process may use (a container's quota does not count: available_parallelism would).
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("Cpus_allowed_list:"))
        .unwrap();
    let cpus: usize = line["Cpus_allowed_list:".len()..]
        .trim()
        .split(',')
        .map(|range| match range.split_once('-') {
            Some((a, b)) => b.parse::<usize>().unwrap() - a.parse::<usize>().unwrap() + 1,
            None => 1,
        })
        .sum();
    let methods = format!(
        "[methods.affinity]\nmodel = \"python\"\nfile = \"{}\"\n",
        script("affinity.py")
    );
    for (jobs, pinned) in [(cpus, true), (cpus + 1, false)] {
        let dir = tempdir(&format!("affinity-{jobs}"));
        let study = load(&dir, &study_text(4, &methods));
        run_with(&study, &dir.join("out"), jobs);
        let store = Store::open_existing(&dir.join("out")).unwrap();
        let rows = estimates(&store);
        assert_eq!(rows.len(), 2 * 4 * 2);
        for e in rows.iter().filter(|e| e.term == "cpus") {
            let expected = if pinned { 1.0 } else { cpus as f64 };
            assert_eq!(e.estimate, expected, "jobs {jobs}: {e:?}");
        }
    }
}
