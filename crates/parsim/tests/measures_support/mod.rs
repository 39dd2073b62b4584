//! A synthetic results store with the schema of `notes/api-store.md`, for summary and plot tests that must not
//! depend on the runner: a 2 × 2 design, three methods with known flaws, and some failed fits.

#![allow(dead_code)]

use std::path::Path;

use parsim::measures::Replicate;
use parsim::store::Store;
use rusqlite::{params, Connection};

/// The schema the store promises (notes/api-store.md).
pub const SCHEMA: &str = "
PRAGMA user_version = 4;
CREATE TABLE study (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL, toml TEXT NOT NULL,
  hash TEXT NOT NULL, parsim_version TEXT NOT NULL, platform TEXT NOT NULL, started_at TEXT NOT NULL,
  finished_at TEXT);
CREATE TABLE conditions (condition INTEGER PRIMARY KEY, label TEXT NOT NULL, parameters TEXT NOT NULL,
  stream INTEGER NOT NULL);
CREATE TABLE factors (parameter TEXT PRIMARY KEY, position INTEGER NOT NULL);
CREATE TABLE replications (condition INTEGER, replication INTEGER, seconds REAL, PRIMARY KEY (condition, replication));
CREATE TABLE fits (condition INTEGER, replication INTEGER, method TEXT, status TEXT, message TEXT,
  iterations INTEGER, seconds REAL, PRIMARY KEY (condition, replication, method));
CREATE TABLE estimates (condition INTEGER, replication INTEGER, method TEXT, term TEXT, position INTEGER,
  kind TEXT, estimate REAL, se REAL, df REAL, ci_lower REAL, ci_upper REAL, p_value REAL, truth REAL,
  PRIMARY KEY (condition, replication, method, term)) WITHOUT ROWID;
CREATE TABLE methods (method TEXT PRIMARY KEY, position INTEGER, model TEXT, formula TEXT);
";

/// Methods in file order: `good` is unbiased with correct SEs; `naive` has SEs half the truth (under-covers);
/// `biased` adds a bias of half an SE and fails now and then.
pub const METHODS: [&str; 3] = ["good", "naive", "biased"];

/// One generated estimate row, kept so tests can recompute measures from plain data.
#[derive(Debug, Clone)]
pub struct Row {
    pub condition: usize,
    pub replication: u64,
    pub method: &'static str,
    pub term: &'static str,
    pub status: &'static str,
    pub replicate: Replicate,
}

/// The study file stored in the synthetic store.
pub fn study_toml(summary: &str) -> String {
    format!(
        "[study]\nname = \"synthetic\"\nreplications = 200\nseed = 1\n\n[parameters]\nN = [50, 200]\nsigma = [1, 2]\nbeta1 = -0.5\n\n{summary}"
    )
}

/// splitmix64 + Box–Muller: deterministic normal draws without depending on any crate under construction.
pub struct Draws(u64);

impl Draws {
    pub fn new(seed: u64) -> Self {
        Draws(seed)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// The design: (N, sigma) for each condition, N the outer factor.
pub fn design() -> Vec<(f64, f64)> {
    vec![(50.0, 1.0), (50.0, 2.0), (200.0, 1.0), (200.0, 2.0)]
}

/// Generate the rows of `replications` replications (numbered from `first`) of every condition and method.
pub fn generate(first: u64, replications: u64, seed: u64) -> Vec<Row> {
    let mut draws = Draws::new(seed);
    let mut rows = Vec::new();
    for (condition, (n, sigma)) in design().into_iter().enumerate() {
        let se = sigma / n.sqrt();
        let df = n - 2.0;
        for replication in first..first + replications {
            // Shared noise: the methods' estimates of a replication are correlated, as in a real study.
            let shared = draws.normal();
            for method in METHODS {
                let own = draws.normal();
                let status = match (method, replication % 23, replication % 31) {
                    ("biased", 5, _) => "not_converged",
                    ("biased", _, 7) => "error",
                    ("naive", 11, _) => "singular",
                    _ => "ok",
                };
                if matches!(status, "not_converged" | "error") {
                    rows.push(Row {
                        condition,
                        replication,
                        method,
                        term: "",
                        status,
                        replicate: empty(),
                    });
                    continue;
                }
                for (term, truth) in [("(Intercept)", 10.0), ("X", -0.5)] {
                    let noise = se * (0.8 * shared + 0.6 * own);
                    let (estimate, model_se) = match method {
                        "good" => (truth + noise, se * (1.0 + 0.05 * draws.normal())),
                        "naive" => (truth + noise, 0.5 * se),
                        _ => (truth + 0.5 * se + 1.2 * noise, 1.2 * se),
                    };
                    let replicate = Replicate {
                        estimate,
                        se: Some(model_se),
                        df: Some(df),
                        ci_lower: Some(estimate - 1.96 * model_se),
                        ci_upper: Some(estimate + 1.96 * model_se),
                        p_value: None,
                        truth,
                    };
                    rows.push(Row {
                        condition,
                        replication,
                        method,
                        term,
                        status,
                        replicate,
                    });
                }
            }
        }
    }
    rows
}

fn empty() -> Replicate {
    Replicate {
        estimate: f64::NAN,
        se: None,
        df: None,
        ci_lower: None,
        ci_upper: None,
        p_value: None,
        truth: f64::NAN,
    }
}

/// Create `dir/results.sqlite` holding `rows`, with the study TOML given, and open it as a store.
pub fn create_store(dir: &Path, rows: &[Row], toml: &str) -> Store {
    write_store(dir, rows, toml);
    Store::open_existing(dir).expect("the synthetic store opens")
}

/// Write `dir/results.sqlite` holding `rows`, with the study TOML given; return its raw connection.
fn write_store(dir: &Path, rows: &[Row], toml: &str) -> Connection {
    std::fs::create_dir_all(dir).expect("create dir");
    let path = dir.join("results.sqlite");
    let _ = std::fs::remove_file(&path);
    let mut connection = Connection::open(&path).expect("open store");
    connection.execute_batch(SCHEMA).expect("schema");
    let tx = connection.transaction().expect("transaction");
    tx.execute(
        "INSERT INTO study VALUES (1, 'synthetic', ?1, 'hash', '0.1.0', 'test', '2026-01-01T00:00:00Z', NULL)",
        params![toml],
    )
    .expect("study");
    for (i, (n, sigma)) in design().into_iter().enumerate() {
        tx.execute(
            "INSERT INTO conditions VALUES (?1, ?2, ?3, ?1)",
            params![
                i as i64,
                format!("N={n}, sigma={sigma}"),
                format!("{{\"N\": {n}, \"sigma\": {sigma}, \"beta1\": -0.5}}")
            ],
        )
        .expect("condition");
    }
    tx.execute_batch(
        "INSERT INTO factors VALUES ('N', 0); INSERT INTO factors VALUES ('sigma', 1);",
    )
    .expect("factors");
    for (i, m) in METHODS.iter().enumerate() {
        tx.execute(
            "INSERT INTO methods VALUES (?1, ?2, 'lmm', 'y ~ X')",
            params![m, i as i64],
        )
        .expect("method");
    }
    for row in rows {
        tx.execute(
            "INSERT OR IGNORE INTO fits VALUES (?1, ?2, ?3, ?4, NULL, 10, 0.001)",
            params![
                row.condition as i64,
                row.replication as i64,
                row.method,
                row.status
            ],
        )
        .expect("fit");
        if row.term.is_empty() {
            continue;
        }
        let r = &row.replicate;
        tx.execute(
            "INSERT INTO estimates VALUES (?1, ?2, ?3, ?4, (SELECT count(*) FROM estimates \
             WHERE condition = ?1 AND replication = ?2 AND method = ?3), 'fixed', ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                row.condition as i64,
                row.replication as i64,
                row.method,
                row.term,
                r.estimate,
                r.se,
                r.df,
                r.ci_lower,
                r.ci_upper,
                r.p_value,
                r.truth
            ],
        )
        .expect("estimate");
        // A variance component without an estimand: must not appear in the summary.
        tx.execute(
            "INSERT OR IGNORE INTO estimates VALUES (?1, ?2, ?3, 'sd__(Intercept)', (SELECT count(*) FROM estimates \
             WHERE condition = ?1 AND replication = ?2 AND method = ?3), 'variance', 1.0, NULL, NULL, NULL, NULL, NULL, NULL)",
            params![row.condition as i64, row.replication as i64, row.method],
        )
        .expect("variance row");
    }
    tx.commit().expect("commit");
    connection
}

/// A store with only the first condition and no design factors (like the seed study).
pub fn create_single_condition_store(dir: &Path, replications: u64) -> Store {
    let rows: Vec<Row> = generate(0, replications, 5)
        .into_iter()
        .filter(|r| r.condition == 0)
        .collect();
    let connection = write_store(dir, &rows, &study_toml(""));
    connection
        .execute_batch("DELETE FROM conditions WHERE condition > 0; DELETE FROM factors;")
        .expect("single condition");
    drop(connection);
    Store::open_existing(dir).expect("the synthetic store opens")
}
