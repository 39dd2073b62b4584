//! The results store: one SQLite database per results directory (`DIR/results.sqlite`, WAL mode).
//!
//! Every finished replication is written in one transaction together with its completion marker in
//! `replications`, so a replication is all or nothing: after a crash the store holds exactly the replications
//! that finished, and a resumed run recomputes the rest. Nothing downstream of the store knows how the data
//! were generated; nothing upstream knows where the results go.

mod derived;
mod export;
mod insert;
mod lock;
mod merge;
mod read;
mod readonly;
mod results;
mod schema;
mod time;
mod units;
mod written;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rusqlite::{params, Connection, OpenFlags};

pub use crate::method::{Estimate, FitStatus, TermKind};
pub use derived::{remove_scratch_files, Derived, DERIVED_FILES};
pub use export::export_csv;
pub use lock::{DirLock, LOCK_FILE};
pub use merge::{FailedFitCount, Identity};
pub use read::{FitCount, FitLine, StoredCondition};
pub use results::{
    EstimateLine, FailedFits, Interruptible, Kept, Replicate, Results, StoredStudy, Usable,
};
pub use time::now_utc;
pub use units::{Unit, UnitSet};
pub use written::{Written, MAX_WRITTEN_ROWS};

/// The file name of the store inside a results directory.
pub const STORE_FILE: &str = "results.sqlite";

/// Errors of the results store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("results store {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The directory holds the results of a different study (or a different version of it).
    #[error(
        "{dir} holds results of a different study ({stored_name}, hash {stored_hash:.12}; this study: {name}, hash {hash:.12}).\n\
         Use another --out directory, or pass --fresh to set the old store aside (it is renamed, never deleted)."
    )]
    StudyChanged {
        /// The results directory.
        dir: PathBuf,
        /// Name of the stored study.
        stored_name: String,
        /// Hash of the stored study.
        stored_hash: String,
        /// Name of the study being run.
        name: String,
        /// Hash of the study being run.
        hash: String,
    },
    /// Another process writes the directory (a run, a merge): one writer at a time.
    #[error(
        "{dir} is being written by another parsim ({holder}); wait for it to finish, or use another --out directory"
    )]
    Busy {
        /// The results directory.
        dir: PathBuf,
        /// Who holds its lock, as it recorded itself.
        holder: String,
    },
    /// There is no store in the directory.
    #[error(
        "{0} has no results store ({STORE_FILE}); run `parsim run STUDY.toml --out DIR` first"
    )]
    Missing(PathBuf),
    /// The store exists but is not a parsim store, or is damaged.
    #[error("{path} is not a parsim results store: {reason}")]
    Invalid {
        /// The database file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading was stopped (a signal at the end of a run): nothing derived from the read may be kept.
    #[error("stopped before every row was read")]
    Interrupted,
}

/// What is recorded about the study when a store is created.
#[derive(Debug, Clone)]
pub struct StudyRecord {
    /// The study's name.
    pub name: String,
    /// The study file's text, exactly as read.
    pub toml: String,
    /// SHA-256 of the text (hex).
    pub hash: String,
    /// The design grid.
    pub conditions: Vec<StoredCondition>,
    /// Names of the design factors (parameters with several values), in file order.
    pub factors: Vec<String>,
    /// The methods: (name, model, formula if it has one), in file order.
    pub methods: Vec<(String, String, Option<String>)>,
}

/// One method's fit in one replication.
#[derive(Debug, Clone, PartialEq)]
pub struct FitRecord {
    /// Index of the method in the study (file order).
    pub method: usize,
    /// Outcome.
    pub status: FitStatus,
    /// Why it is not `ok`, if it is not.
    pub message: Option<String>,
    /// Criterion evaluations (or iterations) the fit used.
    pub iterations: u64,
    /// Wall time of the fit in seconds.
    pub seconds: f64,
    /// The estimates (empty for an error).
    pub estimates: Vec<Estimate>,
}

/// Everything one replication produced: written atomically.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplicationRecord {
    /// Condition index.
    pub condition: usize,
    /// Replication index within the condition.
    pub replication: u64,
    /// Wall time of the whole replication (data generation and all fits).
    pub seconds: f64,
    /// One entry per method, in study order (for a partial record, per method it adds).
    pub fits: Vec<FitRecord>,
    /// A stored replication's fits by methods added to the study since: only its fits and estimates
    /// are written (its completion marker is stored already).
    pub partial: bool,
}

/// A store ready to be used by a run: see [`Store::prepare`].
pub enum Prepared {
    /// The store of the same study, holding what earlier runs completed.
    Existing(Store),
    /// No store yet: [`Prepared::open`] creates it.
    New {
        /// Where it goes.
        path: PathBuf,
        /// What it records.
        study: StudyRecord,
    },
}

impl Prepared {
    /// The store, created if it is new.
    pub fn open(self) -> Result<Store, StoreError> {
        match self {
            Prepared::Existing(store) => Ok(store),
            Prepared::New { path, study } => {
                Store::create_new(&path, &study)?;
                Store::open_rw(&path)
            }
        }
    }
}

/// An open results store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    methods: Vec<String>,
    // After `conn`: the connection closes before its scratch file is removed.
    scratch: Option<readonly::Scratch>,
}

impl Store {
    /// The path of the store inside `dir`.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(STORE_FILE)
    }

    /// Open the store of `dir` for a run of `study`: create it if absent, resume it if it holds the same
    /// study (same hash), refuse otherwise — unless `fresh`, which renames the old store aside first.
    pub fn create_or_resume(
        dir: &Path,
        study: &StudyRecord,
        fresh: bool,
    ) -> Result<Store, StoreError> {
        Store::prepare(dir, study, fresh)?.open()
    }

    /// The first half of [`Store::create_or_resume`]: every check, and the existing store opened, but a
    /// new store not yet created, so that a run can create it while its first replications are computed
    /// (creating a store waits for the disk).
    pub fn prepare(dir: &Path, study: &StudyRecord, fresh: bool) -> Result<Prepared, StoreError> {
        fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = Store::path_in(dir);
        if path.exists() {
            let stored = match Store::open_any(dir) {
                Ok(stored) => stored,
                // A store that cannot be read (empty, damaged, not parsim's) is set aside whole.
                Err(StoreError::Invalid { .. } | StoreError::Sqlite { .. }) if fresh => {
                    set_aside_files(&path)?;
                    return Ok(Prepared::New {
                        path,
                        study: study.clone(),
                    });
                }
                Err(e) => return Err(e),
            };
            match stored.check_format() {
                Err(e) if !fresh => return Err(e),
                Err(_) => {} // set aside below
                Ok(()) => {
                    let (stored_name, stored_hash) = stored.study_identity()?;
                    if stored_hash == study.hash {
                        drop(stored);
                        let store = Store::open_rw(&path)?;
                        store.check_study_rows(study)?;
                        return Ok(Prepared::Existing(store));
                    }
                    if !fresh {
                        return Err(StoreError::StudyChanged {
                            dir: dir.to_path_buf(),
                            stored_name,
                            stored_hash,
                            name: study.name.clone(),
                            hash: study.hash.clone(),
                        });
                    }
                }
            }
            stored.set_aside()?;
        }
        Ok(Prepared::New {
            path,
            study: study.clone(),
        })
    }

    /// Build a new store beside `path` and move it into place: the store appears whole or not at all.
    /// The scratch copy is written without syncing (a crash leaves only a `.partial` file, rebuilt next
    /// time), then synced once before the rename; this saves the half dozen syncs of creating it in place.
    fn create_new(path: &Path, study: &StudyRecord) -> Result<(), StoreError> {
        let partial = path.with_extension("sqlite.partial");
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        // A scratch copy left by a crash is rebuilt, with its side files: a stale journal beside a new
        // file would be taken for a hot journal and rolled back into it.
        for stale in ["", "-wal", "-shm", "-journal"].map(|suffix| side_file(&partial, suffix)) {
            if stale.exists() {
                fs::remove_file(&stale).map_err(io(&stale))?;
            }
        }
        let conn = Connection::open(&partial).map_err(|source| StoreError::Sqlite {
            path: partial.clone(),
            source,
        })?;
        // WAL mode is recorded in the file, so every later connection opens it in WAL mode.
        conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA journal_mode = WAL;")
            .map_err(|source| StoreError::Sqlite {
                path: partial.clone(),
                source,
            })?;
        let scratch = Store {
            conn,
            path: partial.clone(),
            methods: Vec::new(),
            scratch: None,
        };
        scratch.initialise(study)?;
        // Closing the last connection folds the WAL into the file and removes it.
        scratch
            .conn
            .close()
            .map_err(|(_, source)| StoreError::Sqlite {
                path: partial.clone(),
                source,
            })?;
        fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(io(&partial))?;
        fs::rename(&partial, path).map_err(io(path))
    }

    /// Open an existing store for writing (a run's end phase, a merge), upgrading a store of the previous
    /// format in place. Readers use [`Store::open_read_only`].
    pub fn open_existing(dir: &Path) -> Result<Store, StoreError> {
        let store = Store::open_any(dir)?;
        store.check_format()?;
        Ok(store)
    }

    /// Open the parsim store of `dir`, whatever its format.
    fn open_any(dir: &Path) -> Result<Store, StoreError> {
        let path = Store::path_in(dir);
        if !path.is_file() {
            return Err(StoreError::Missing(dir.to_path_buf()));
        }
        let store = Store::open_rw(&path)?;
        if !store.table_exists("study")? {
            return Err(StoreError::Invalid {
                path,
                reason: "it has no `study` table".into(),
            });
        }
        let format = store.format()?;
        if schema::UPGRADABLE.contains(&format) {
            return store.upgrade_from(format);
        }
        Ok(store)
    }

    /// The store's format number (SQLite's `user_version`).
    fn format(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(|e| self.err(e))
    }

    /// Turn a store of an earlier format (written by an earlier release) into the current one in place,
    /// after keeping a copy of it beside as `results.format<N>.sqlite`: nothing stored is lost, and the
    /// old file can be read by the release that wrote it. The upgrade is one transaction: a crash leaves
    /// the old format.
    fn upgrade_from(self, format: i64) -> Result<Store, StoreError> {
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(|e| self.err(e))?;
        let kept = unused_name(&self.path, &format!("format{format}"));
        // VACUUM INTO writes a complete, consistent copy (the WAL included) as a new file.
        self.conn
            .execute("VACUUM INTO ?1", [kept.to_string_lossy()])
            .map_err(|e| self.err(e))?;
        fs::File::open(&kept)
            .and_then(|f| f.sync_all())
            .map_err(|source| StoreError::Io {
                path: kept.clone(),
                source,
            })?;
        self.upgrade_tables(format)?;
        Ok(self)
    }

    /// The tables of format `format` turned into the current format, in one transaction.
    fn upgrade_tables(&self, format: i64) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        tx.execute_batch(&schema::upgrade_from(format))
            .map_err(|e| self.err(e))?;
        // PRAGMA takes no bound parameters; the value is our own integer.
        tx.execute_batch(&format!("PRAGMA user_version = {};", schema::FORMAT))
            .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// A store of another format (SQLite's `user_version`) is refused: its tables differ from this
    /// version's.
    fn check_format(&self) -> Result<(), StoreError> {
        let format = self.format()?;
        if format == schema::FORMAT {
            return Ok(());
        }
        Err(StoreError::Invalid {
            path: self.path.clone(),
            reason: format!(
                "it is in store format {format}, and this parsim reads format {}. Run the study into \
                 another --out directory (or pass --fresh to set the old store aside), or use the \
                 parsim version that wrote it",
                schema::FORMAT
            ),
        })
    }

    fn open_rw(path: &Path) -> Result<Store, StoreError> {
        let wrap = |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(wrap)?;
        // WAL: readers never block the writer, and a crash loses at most the transaction in flight.
        // synchronous=NORMAL is durable against process crashes (SIGKILL) in WAL mode; only a power
        // loss can drop the last commits, which a resumed run recomputes.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )
        .map_err(wrap)?;
        conn.busy_timeout(std::time::Duration::from_secs(60))
            .map_err(wrap)?;
        // Room for every multi-row INSERT the writer uses (up to 16 row counts per table), so none is
        // compiled twice.
        conn.set_prepared_statement_cache_capacity(64);
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            methods: Vec::new(),
            scratch: None,
        };
        if store.table_exists("methods")? {
            store.methods = store.methods()?;
        }
        Ok(store)
    }

    fn table_exists(&self, name: &str) -> Result<bool, StoreError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [name],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying connection, for tests that look at the tables themselves.
    #[cfg(test)]
    pub(crate) fn connection(&self) -> &rusqlite::Connection {
        &self.conn
    }

    /// (name, hash) of the stored study.
    pub fn study_identity(&self) -> Result<(String, String), StoreError> {
        self.conn
            .query_row("SELECT name, hash FROM study WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(|e| self.err(e))
    }

    fn initialise(&self, study: &StudyRecord) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        tx.execute_batch(&schema::create())
            .map_err(|e| self.err(e))?;
        // PRAGMA takes no bound parameters; the value is our own integer.
        tx.execute_batch(&format!("PRAGMA user_version = {};", schema::FORMAT))
            .map_err(|e| self.err(e))?;
        tx.execute(
            "INSERT INTO study (id, name, toml, hash, parsim_version, platform, started_at) \
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                study.name,
                study.toml,
                study.hash,
                env!("CARGO_PKG_VERSION"),
                platform(),
                now_utc()
            ],
        )
        .map_err(|e| self.err(e))?;
        for c in &study.conditions {
            tx.execute(
                "INSERT INTO conditions (condition, label, parameters, stream) VALUES (?1, ?2, ?3, ?4)",
                params![c.index as i64, c.label, c.parameters_json(), c.stream as i64],
            )
            .map_err(|e| self.err(e))?;
        }
        for (i, f) in study.factors.iter().enumerate() {
            tx.execute(
                "INSERT INTO factors (parameter, position) VALUES (?1, ?2)",
                params![f, i as i64],
            )
            .map_err(|e| self.err(e))?;
        }
        for (i, (name, model, formula)) in study.methods.iter().enumerate() {
            tx.execute(
                "INSERT INTO methods (method, position, model, formula) VALUES (?1, ?2, ?3, ?4)",
                params![name, i as i64, model, formula],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A resumed store must describe the same design (the hash says so; this guards against a store
    /// edited by hand or written by an incompatible version).
    fn check_study_rows(&self, study: &StudyRecord) -> Result<(), StoreError> {
        let stored = self.methods()?;
        let wanted: Vec<String> = study.methods.iter().map(|m| m.0.clone()).collect();
        if stored != wanted {
            return Err(StoreError::Invalid {
                path: self.path.clone(),
                reason: format!("it lists methods {stored:?}, the study has {wanted:?}"),
            });
        }
        Ok(())
    }

    /// Rename the store (and its WAL files) aside as `results.<timestamp>.sqlite`; never delete.
    fn set_aside(self) -> Result<(), StoreError> {
        // Fold the WAL into the main file so that the renamed file is complete on its own.
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(|e| self.err(e))?;
        let path = self.path.clone();
        drop(self.conn);
        set_aside_files(&path)
    }

    /// Every unit the store holds (whatever the study's current design: the caller decides which count).
    pub fn completed_units(&self) -> Result<UnitSet, StoreError> {
        let mut done = UnitSet::new();
        let mut stmt = self
            .conn
            .prepare("SELECT condition, replication FROM replications")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| self.err(e))?;
        for row in rows {
            let (c, r) = row.map_err(|e| self.err(e))?;
            let (Ok(c), Ok(r)) = (usize::try_from(c), u64::try_from(r)) else {
                return Err(StoreError::Invalid {
                    path: self.path.clone(),
                    reason: format!("a negative unit ({c}, {r}) in `replications`"),
                });
            };
            done.insert(Unit::new(c, r));
        }
        Ok(done)
    }

    /// Write complete replications in one transaction: each replication's fits, estimates and completion
    /// marker land together or not at all. Replications already stored are left as they are.
    pub fn write_batch(&mut self, batch: &[ReplicationRecord]) -> Result<(), StoreError> {
        self.begin_batch()?;
        let written = self.write_replications(batch);
        match written {
            Ok(()) => self.commit_batch(),
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Open a transaction that replications are then written into one by one as they arrive (so writing
    /// overlaps the work that produces them) and that lands whole at [`Store::commit_batch`]. A store
    /// dropped with the transaction open rolls it back: a replication is all or nothing.
    pub fn begin_batch(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("BEGIN").map_err(|e| self.err(e))
    }

    /// Add replications (their completion markers, fits and estimates) to the open batch; a replication
    /// already stored (a duplicate unit from overlapping runs) is skipped whole. Groups of up to 8
    /// replications go in a few multi-row statements.
    pub fn write_replications(&mut self, reps: &[ReplicationRecord]) -> Result<(), StoreError> {
        insert::replications(&self.conn, &self.methods, reps).map_err(|e| self.err(e))
    }

    /// Make everything written since [`Store::begin_batch`] durable, together.
    pub fn commit_batch(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT").map_err(|e| self.err(e))
    }

    /// Record that a run asks for `replications` per condition (the store keeps the most any run asked
    /// for: what `status` counts against).
    pub fn record_replications(&self, replications: u64) -> Result<(), StoreError> {
        let asked = i64::try_from(replications).unwrap_or(i64::MAX);
        self.conn
            .execute(
                "UPDATE study SET replications = max(coalesce(replications, 0), ?1) WHERE id = 1",
                [asked],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The most replications per condition a run asked for, if any run recorded it.
    pub fn replications_asked(&self) -> Result<Option<u64>, StoreError> {
        let asked: Option<i64> = self
            .conn
            .query_row("SELECT replications FROM study WHERE id = 1", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.err(e))?;
        Ok(asked.and_then(|n| u64::try_from(n).ok()))
    }

    /// The study file's text as stored.
    pub fn study_source(&self) -> Result<String, StoreError> {
        self.conn
            .query_row("SELECT toml FROM study WHERE id = 1", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Record that the study grew into `study` (its text, conditions, factors and methods; see
    /// `Study::growth_from`): first renumber the stored conditions by `renumbering` ((stored number,
    /// new number) pairs: their places in the grown design), every row of them; then give the stored
    /// rows of `truths`' terms their true values (condition by its new number, term, value): new
    /// estimands of stored rows. One transaction: all or nothing, so no stored row is ever lost or
    /// left half renumbered.
    pub fn grow(
        &mut self,
        study: &StudyRecord,
        renumbering: &[(usize, usize)],
        truths: &[(usize, String, f64)],
    ) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        renumber(&tx, renumbering).map_err(|e| self.err(e))?;
        tx.execute(
            "UPDATE study SET name = ?1, toml = ?2, hash = ?3, finished_at = NULL WHERE id = 1",
            params![study.name, study.toml, study.hash],
        )
        .map_err(|e| self.err(e))?;
        for c in &study.conditions {
            tx.execute(
                "INSERT OR REPLACE INTO conditions (condition, label, parameters, stream) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    c.index as i64,
                    c.label,
                    c.parameters_json(),
                    c.stream as i64
                ],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.execute("DELETE FROM factors", [])
            .map_err(|e| self.err(e))?;
        for (i, f) in study.factors.iter().enumerate() {
            tx.execute(
                "INSERT INTO factors (parameter, position) VALUES (?1, ?2)",
                params![f, i as i64],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.execute("DELETE FROM methods", [])
            .map_err(|e| self.err(e))?;
        for (i, (name, model, formula)) in study.methods.iter().enumerate() {
            tx.execute(
                "INSERT INTO methods (method, position, model, formula) VALUES (?1, ?2, ?3, ?4)",
                params![name, i as i64, model, formula],
            )
            .map_err(|e| self.err(e))?;
        }
        for (condition, term, value) in truths {
            tx.execute(
                "UPDATE estimates SET truth = ?3 WHERE condition = ?1 AND term = ?2",
                params![*condition as i64, term, value],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        self.methods = self.methods()?;
        Ok(())
    }

    /// The stored units that have no fit of `method` (a method added to a grown study), if any; `None`
    /// when every stored unit has one (counted first: the common case costs two counts).
    pub fn units_without(&self, method: &str) -> Result<Option<UnitSet>, StoreError> {
        let fits: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM fits WHERE method = ?1",
                [method],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let units: i64 = self
            .conn
            .query_row("SELECT count(*) FROM replications", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if fits >= units {
            return Ok(None);
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.condition, r.replication FROM replications r WHERE NOT EXISTS \
                 (SELECT 1 FROM fits f WHERE f.condition = r.condition \
                 AND f.replication = r.replication AND f.method = ?1)",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([method], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| self.err(e))?;
        let mut out = UnitSet::new();
        for row in rows {
            let (c, r) = row.map_err(|e| self.err(e))?;
            if let (Ok(c), Ok(r)) = (usize::try_from(c), u64::try_from(r)) {
                out.insert(Unit::new(c, r));
            }
        }
        Ok(Some(out))
    }

    /// Record the end of a run.
    pub fn mark_finished(&self) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE study SET finished_at = ?1 WHERE id = 1",
                [now_utc()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Copy what the WAL holds into the database file and sync it, without waiting for readers: at the
    /// end of a run, while results.csv and the summary read the store. [`Store::checkpoint`] then only
    /// has to empty the WAL.
    pub fn checkpoint_concurrently(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(PASSIVE);")
            .map_err(|e| self.err(e))
    }

    /// Make every query of this connection stop soon after `stop` is set (a signal at the end of a
    /// run): SQLite checks it every few thousand steps, and the query fails as interrupted.
    pub fn interrupt_when(&self, stop: Arc<AtomicBool>) {
        const STEPS: i32 = 1_000;
        self.conn
            .progress_handler(STEPS, Some(move || stop.load(Ordering::Relaxed)));
    }

    /// Fold the WAL into the database file (at the end of a run, so the directory can be copied as is).
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(|e| self.err(e))
    }
}

/// Rename the store file at `path` and its WAL files aside as `results.<timestamp>.sqlite` (a name
/// nothing holds yet: two set-asides in one second keep both); never delete.
fn set_aside_files(path: &Path) -> Result<(), StoreError> {
    let aside = unused_name(path, &time::compact_stamp());
    let rename = |from: &Path, to: &Path| {
        fs::rename(from, to).map_err(|source| StoreError::Io {
            path: from.to_path_buf(),
            source,
        })
    };
    rename(path, &aside)?;
    for suffix in ["-wal", "-shm"] {
        let side = side_file(path, suffix);
        if side.exists() {
            rename(&side, &side_file(&aside, suffix))?;
        }
    }
    Ok(())
}

/// `results.TAG.sqlite` beside the store at `path`, or `results.TAG-2.sqlite` (and so on) if that exists:
/// a name that nothing holds yet.
fn unused_name(path: &Path, tag: &str) -> PathBuf {
    let named = |n: u32| {
        let name = if n == 1 {
            format!("results.{tag}.sqlite")
        } else {
            format!("results.{tag}-{n}.sqlite")
        };
        path.with_file_name(name)
    };
    (1..)
        .map(named)
        .find(|p| !p.exists() && !side_file(p, "-wal").exists())
        .unwrap_or_else(|| named(0))
}

/// SQLite's file beside `path` with `suffix` (`-wal`, `-shm`, `-journal`; `""` is `path` itself).
fn side_file(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
}

/// Operating system, architecture and logical CPUs of this machine.
pub fn platform() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!(
        "{}-{} ({cpus} CPUs)",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// The tables whose rows name a condition by its number.
const CONDITION_TABLES: [&str; 4] = ["conditions", "replications", "fits", "estimates"];

/// Give the conditions of `renumbering`'s (old, new) pairs their new numbers in every table, within the
/// caller's transaction. The new numbers pass through negative ones (-1 - new), which no stored condition
/// has, so no step collides with a key another condition still holds.
fn renumber(
    tx: &rusqlite::Transaction<'_>,
    renumbering: &[(usize, usize)],
) -> rusqlite::Result<()> {
    if renumbering.is_empty() {
        return Ok(());
    }
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS renumbering (old INTEGER PRIMARY KEY, new INTEGER NOT NULL);
         DELETE FROM temp.renumbering;",
    )?;
    for &(old, new) in renumbering {
        tx.execute(
            "INSERT INTO temp.renumbering (old, new) VALUES (?1, ?2)",
            params![old as i64, new as i64],
        )?;
    }
    for table in CONDITION_TABLES {
        tx.execute_batch(&format!(
            "UPDATE {table} SET condition = -1 - (SELECT new FROM temp.renumbering WHERE old = {table}.condition)
               WHERE condition IN (SELECT old FROM temp.renumbering);
             UPDATE {table} SET condition = -1 - condition WHERE condition < 0;"
        ))?;
    }
    tx.execute_batch("DELETE FROM temp.renumbering;")
}

#[cfg(test)]
mod tests;
