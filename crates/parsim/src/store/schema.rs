//! The store's schema. Documented for readers in pandas, R or the sqlite3 shell: see docs/results.md.

/// The store format this parsim writes and reads (SQLite's `user_version`). 2: `estimates` is keyed by
/// its primary key alone and records each term's `position` in its method's coefficient table.
pub(super) const FORMAT: i64 = 2;

/// Creates every table of a new store. `replications`, `fits` and `estimates` are `WITHOUT ROWID`: one
/// B-tree ordered by their key instead of a table plus an index, half the work per insert, and a scan in
/// key order reads each row once. `estimates.position` keeps the methods' term order (the summary lists
/// terms in that order) independent of the order replications were written in.
/// The format is recorded by the caller, from [`FORMAT`].
pub(super) const CREATE: &str = "
CREATE TABLE study (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    toml TEXT NOT NULL,
    hash TEXT NOT NULL,
    parsim_version TEXT NOT NULL,
    platform TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE TABLE conditions (
    condition INTEGER PRIMARY KEY,
    label TEXT NOT NULL,
    parameters TEXT NOT NULL
);
CREATE TABLE factors (
    parameter TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
CREATE TABLE methods (
    method TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    model TEXT NOT NULL,
    formula TEXT NOT NULL
);
CREATE TABLE replications (
    condition INTEGER NOT NULL,
    replication INTEGER NOT NULL,
    seconds REAL,
    PRIMARY KEY (condition, replication)
) WITHOUT ROWID;
CREATE TABLE fits (
    condition INTEGER NOT NULL,
    replication INTEGER NOT NULL,
    method TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'singular', 'not_converged', 'error', 'timeout')),
    message TEXT,
    iterations INTEGER,
    seconds REAL,
    PRIMARY KEY (condition, replication, method)
) WITHOUT ROWID;
CREATE TABLE estimates (
    condition INTEGER NOT NULL,
    replication INTEGER NOT NULL,
    method TEXT NOT NULL,
    term TEXT NOT NULL,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('fixed', 'variance')),
    estimate REAL,
    se REAL,
    df REAL,
    ci_lower REAL,
    ci_upper REAL,
    p_value REAL,
    truth REAL,
    PRIMARY KEY (condition, replication, method, term)
) WITHOUT ROWID;
";
