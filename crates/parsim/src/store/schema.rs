//! The store's schema. Documented for readers in pandas, R or the sqlite3 shell: see docs/results.md.

/// The store format this parsim writes and reads (SQLite's `user_version`). 4: each condition records
/// its stream key (`conditions.stream`), as conditions are drawn from streams keyed by their values, not
/// their numbers. 3: a fit's status and an
/// estimate's kind are the library's words, unchecked by SQLite (method kinds may add statuses), a
/// method need not have a formula, and `study.replications` records the most replications per
/// condition a run asked for. 2: `estimates` is keyed by its primary key alone and records each
/// term's `position` in its method's coefficient table.
pub(super) const FORMAT: i64 = 4;

/// The formats whose stores are upgraded on first use (see [`upgrade_from`]).
pub(super) const UPGRADABLE: [i64; 2] = [2, 3];

/// The statements that turn a store of format `format` (one of [`UPGRADABLE`]) into the current one.
/// Format 3 and older drew condition c from `spawn_key=(c, r)`: the upgrade records c as each stored
/// condition's stream key, so its rows keep their meaning and a resumed run draws as they did.
pub(super) fn upgrade_from(format: i64) -> String {
    let mut sql = match format {
        2 => upgrade_from_2(),
        _ => String::new(),
    };
    sql.push_str(
        "ALTER TABLE conditions ADD COLUMN stream INTEGER NOT NULL DEFAULT 0;
         UPDATE conditions SET stream = condition;
",
    );
    sql
}

/// The tables whose definitions changed from format 2 to 3.
const CHANGED_IN_3: [(&str, &str); 3] = [
    ("methods", METHODS),
    ("fits", FITS),
    ("estimates", ESTIMATES),
];

/// The statements that turn a format-2 store into format 3, in one transaction: each changed table is
/// renamed aside, created anew and refilled (SQLite cannot drop a CHECK constraint in place); `study`
/// gains the replications runs asked for (unknown for the runs before).
fn upgrade_from_2() -> String {
    let mut sql = String::from("ALTER TABLE study ADD COLUMN replications INTEGER;\n");
    for (table, create) in CHANGED_IN_3 {
        sql.push_str(&format!(
            "ALTER TABLE {table} RENAME TO {table}_format2;\n{create};\n\
             INSERT INTO {table} SELECT * FROM {table}_format2;\nDROP TABLE {table}_format2;\n"
        ));
    }
    sql
}

/// Every table of a new store. `replications`, `fits` and `estimates` are `WITHOUT ROWID`: one B-tree
/// ordered by their key instead of a table plus an index, half the work per insert, and a scan in key
/// order reads each row once. `estimates.position` keeps the methods' term order (the summary lists
/// terms in that order) independent of the order replications were written in. The format is recorded
/// by the caller, from [`FORMAT`].
pub(super) fn create() -> String {
    [
        STUDY,
        CONDITIONS,
        FACTORS,
        METHODS,
        REPLICATIONS,
        FITS,
        ESTIMATES,
    ]
    .map(|table| format!("{table};\n"))
    .concat()
}

const STUDY: &str = "CREATE TABLE study (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    toml TEXT NOT NULL,
    hash TEXT NOT NULL,
    parsim_version TEXT NOT NULL,
    platform TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    replications INTEGER
)";

const CONDITIONS: &str = "CREATE TABLE conditions (
    condition INTEGER PRIMARY KEY,
    label TEXT NOT NULL,
    parameters TEXT NOT NULL,
    stream INTEGER NOT NULL
)";

const FACTORS: &str = "CREATE TABLE factors (
    parameter TEXT PRIMARY KEY,
    position INTEGER NOT NULL
)";

const METHODS: &str = "CREATE TABLE methods (
    method TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    model TEXT NOT NULL,
    formula TEXT
)";

const REPLICATIONS: &str = "CREATE TABLE replications (
    condition INTEGER NOT NULL,
    replication INTEGER NOT NULL,
    seconds REAL,
    PRIMARY KEY (condition, replication)
) WITHOUT ROWID";

const FITS: &str = "CREATE TABLE fits (
    condition INTEGER NOT NULL,
    replication INTEGER NOT NULL,
    method TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT,
    iterations INTEGER,
    seconds REAL,
    PRIMARY KEY (condition, replication, method)
) WITHOUT ROWID";

const ESTIMATES: &str = "CREATE TABLE estimates (
    condition INTEGER NOT NULL,
    replication INTEGER NOT NULL,
    method TEXT NOT NULL,
    term TEXT NOT NULL,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    estimate REAL,
    se REAL,
    df REAL,
    ci_lower REAL,
    ci_upper REAL,
    p_value REAL,
    truth REAL,
    PRIMARY KEY (condition, replication, method, term)
) WITHOUT ROWID";
