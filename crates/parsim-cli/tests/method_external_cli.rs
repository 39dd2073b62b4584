//! User-written methods through the `parsim` command: `parsim check` reports a broken script with its own
//! traceback and exit code 2 before any run; a program that speaks the protocol itself runs as
//! `model = "command"`; a SIGKILL of parsim leaves no worker process behind and the run resumes to the rows
//! of an uninterrupted one. Needs python3 with numpy on PATH.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{parsim, tempdir, BIN};

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../parsim/tests/methods")
}

fn study(replications: u64, methods: &str) -> String {
    format!(
        r#"[study]
name = "external-cli"
replications = {replications}
seed = 3

[parameters]
mu = [0.0, 1.0]
n = 20

[data]
program = """
x = normal(0.0, 1.0, n)
y = mu + x
"""

{methods}
"#
    )
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `parsim check` on a study whose one Python method is `source`: its output.
fn check_python(name: &str, source: &str) -> Output {
    let dir = tempdir(name);
    std::fs::write(dir.join("method.py"), source).unwrap();
    let path = dir.join("study.toml");
    std::fs::write(
        &path,
        study(
            2,
            "[methods.mine]\nmodel = \"python\"\nfile = \"method.py\"\n",
        ),
    )
    .unwrap();
    parsim(&["check", path.to_str().unwrap()])
}

#[test]
fn check_reports_a_broken_script_with_its_traceback_and_exit_2() {
    let cases = [
        (
            "syntax",
            "def analyse(data, condition, rng)\n    return {}\n",
            &["method.py failed to load: ", "SyntaxError", "line 1"][..],
        ),
        (
            "import",
            "import parsim_no_such_module\n\ndef analyse(data, condition, rng):\n    return {}\n",
            &[
                "ModuleNotFoundError: No module named 'parsim_no_such_module'",
                "line 1, in <module>",
            ],
        ),
        (
            "return",
            "def analyse(data, condition, rng):\n    return 42\n",
            &["analyse() returned a int; return a dict"],
        ),
        (
            "raises",
            "def analyse(data, condition, rng):\n    return {'m': data['nope'].mean()}\n",
            &["KeyError: 'nope'", "method.py\", line 2, in analyse"],
        ),
        (
            "function",
            "def analyze(data, condition, rng):\n    return {}\n",
            &["method.py defines no function `analyse`"],
        ),
    ];
    for (name, source, expected) in cases {
        let out = check_python(name, source);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {all}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Pointed at the method's file in the study file.
        assert!(stderr.contains("method `mine`"), "{name}: {all}");
        assert!(stderr.contains("file = \"method.py\""), "{name}: {all}");
        for e in expected {
            assert!(stderr.contains(e), "{name}: expected {e:?} in {all}");
        }
    }
    // The same for R: a parse error with its place, a wrong return, an error with its call stack.
    let r_cases = [
        (
            "r-syntax",
            "analyse <- function(data, condition, seed) {\n  x <- (1 +\n}\n",
            &["method.R failed to load: ", "method.R:3:1: unexpected '}'"][..],
        ),
        (
            "r-return",
            "analyse <- function(data, condition, seed) \"nope\"\n",
            &["analyse() returned a character; return a named numeric vector"],
        ),
        (
            "r-error",
            "analyse <- function(data, condition, seed) { f <- function() stop(\"deep\"); f() }\n",
            &["Error in f(): deep\nCalls: analyse -> f"],
        ),
    ];
    for (name, source, expected) in r_cases {
        let dir = tempdir(name);
        std::fs::write(dir.join("method.R"), source).unwrap();
        let path = dir.join("study.toml");
        std::fs::write(
            &path,
            study(2, "[methods.mine]\nmodel = \"r\"\nfile = \"method.R\"\n"),
        )
        .unwrap();
        let out = parsim(&["check", path.to_str().unwrap()]);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {all}");
        for e in expected {
            assert!(all.contains(e), "{name}: expected {e:?} in {all}");
        }
    }
    // A good script passes, and check lists its terms.
    let out = check_python(
        "good",
        "def analyse(data, condition, rng):\n    return {'m': data['y'].mean()}\n",
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("mine: python (method.py, analyse())  [terms: m]"));
}

#[test]
fn check_reports_bad_tables_with_their_place() {
    let dir = tempdir("tables");
    let path = dir.join("study.toml");
    std::fs::write(
        &path,
        study(
            2,
            "[methods.a]\nmodel = \"python\"\nfile = \"missing.py\"\ntimeout = -1\n\n\
             [methods.b]\nmodel = \"r\"\nfunction = \"1x\"\n\n[methods.c]\nmodel = \"command\"\ncommand = []\n",
        ),
    )
    .unwrap();
    let out = parsim(&["check", path.to_str().unwrap()]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    for expected in [
        "cannot find the file `missing.py`",
        "study.toml:18:9",
        "`timeout` must be a positive number of seconds, got -1",
        "missing key `file` in [methods.b]",
        "`function` must be a function's name, got \"1x\"",
        "`command` is empty: it needs at least the program",
    ] {
        assert!(all.contains(expected), "expected {expected:?} in {all}");
    }
}

#[test]
fn a_program_that_speaks_the_protocol_runs_as_a_command() {
    let dir = tempdir("command");
    let path = dir.join("study.toml");
    let methods = format!(
        "[methods.by_hand]\nmodel = \"command\"\ncommand = [\"python3\", \"{}\"]\n\n\
         [methods.ols]\nmodel = \"ols\"\nformula = \"y ~ 1\"\n",
        scripts().join("mean_command.py").display()
    );
    std::fs::write(&path, study(10, &methods)).unwrap();
    let out_dir = dir.join("out");
    let out = parsim(&[
        "run",
        path.to_str().unwrap(),
        "--quiet",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let conn = rusqlite::Connection::open(out_dir.join("results.sqlite")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT a.estimate, b.estimate, a.se, b.se, a.df, b.df, a.p_value, b.p_value FROM estimates a \
             JOIN estimates b USING (condition, replication) \
             WHERE a.method = 'by_hand' AND b.method = 'ols' AND b.term = '(Intercept)'",
        )
        .unwrap();
    let rows: Vec<[f64; 8]> = stmt
        .query_map([], |r| {
            Ok([
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ])
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 20);
    for r in rows {
        // The sample mean and its SE are OLS's intercept of y ~ 1 and its SE: equal up to the rounding
        // of different summation orders (20 values of size ~1); same df, so the same t p-value.
        assert!((r[0] - r[1]).abs() < 1e-14, "{r:?}");
        assert!((r[2] - r[3]).abs() < 1e-14, "{r:?}");
        assert_eq!(r[4], r[5]);
        assert!((r[6] - r[7]).abs() < 1e-10, "{r:?}");
    }

    // A program that prints text where frames belong is reported, not trusted.
    std::fs::write(
        &path,
        study(2, "[methods.noisy]\nmodel = \"command\"\ncommand = [\"sh\", \"-c\", \"echo hello; cat >/dev/null\"]\n"),
    )
    .unwrap();
    let out = parsim(&["check", path.to_str().unwrap()]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("the worker wrote \"hell\" where a frame's length belongs (does something print to standard output?)"),
        "{all}"
    );
}

/// Processes whose working directory is `dir`: the workers of a study there.
fn processes_in(dir: &Path) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if std::fs::read_link(entry.path().join("cwd")).is_ok_and(|cwd| cwd == dir) {
            out.push(pid);
        }
    }
    out
}

fn stored_replications(out_dir: &Path) -> i64 {
    let Ok(conn) = rusqlite::Connection::open(out_dir.join("results.sqlite")) else {
        return 0;
    };
    conn.query_row("SELECT count(*) FROM replications", [], |r| r.get(0))
        .unwrap_or(0)
}

/// Every estimate with its numbers' bits, sorted.
fn estimates(out_dir: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(out_dir.join("results.sqlite")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT condition, replication, method, term, estimate, se, p_value FROM estimates",
        )
        .unwrap();
    let mut rows: Vec<String> = stmt
        .query_map([], |r| {
            Ok(format!(
                "{} {} {} {} {} {:?} {:?}",
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, f64>(4)?.to_bits(),
                r.get::<_, Option<f64>>(5)?.map(f64::to_bits),
                r.get::<_, Option<f64>>(6)?.map(f64::to_bits)
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows.sort();
    rows
}

#[test]
fn sigkill_of_parsim_leaves_no_worker_and_the_run_resumes() {
    let dir = tempdir("sigkill");
    // Slow enough (2 ms a fit, 2 x 600 units) that the run is still going when it is killed.
    std::fs::write(
        dir.join("slow.py"),
        "import time\nimport numpy as np\n\ndef analyse(data, condition, rng):\n    time.sleep(0.002)\n    \
         y = np.asarray(data['y'])\n    return {'mean': (y.mean(), y.std(ddof=1) / np.sqrt(y.size)), 'u': rng.random()}\n",
    )
    .unwrap();
    let path = dir.join("study.toml");
    std::fs::write(
        &path,
        study(
            600,
            "[methods.slow]\nmodel = \"python\"\nfile = \"slow.py\"\n",
        ),
    )
    .unwrap();
    let s = path.to_str().unwrap();
    let killed = dir.join("killed");
    let child = Command::new(BIN)
        .args(["run", s, "--jobs", "2", "--out", killed.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while stored_replications(&killed) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "nothing stored in 2 minutes"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        !processes_in(&dir).is_empty(),
        "the workers run in the study's directory"
    );
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let partial = stored_replications(&killed);
    assert!(
        partial > 0 && partial < 1200,
        "killed mid-run: {partial} stored"
    );
    // The workers die with parsim (they are killed when their parent's thread ends).
    let until = Instant::now() + Duration::from_secs(10);
    while !processes_in(&dir).is_empty() {
        assert!(
            Instant::now() < until,
            "workers left behind: {:?}",
            processes_in(&dir)
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let resumed = parsim(&["run", s, "--jobs", "2", "--out", killed.to_str().unwrap()]);
    assert!(resumed.status.success(), "{}", text(&resumed));
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("already stored"));
    let clean = dir.join("clean");
    let out = parsim(&[
        "run",
        s,
        "--jobs",
        "1",
        "--quiet",
        "--out",
        clean.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(estimates(&killed).len(), 2 * 1200);
    assert_eq!(estimates(&killed), estimates(&clean));
}
