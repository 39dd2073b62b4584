//! Merging the shard stores of a job array (`DIR/shards/K/results.sqlite`) into `DIR/results.sqlite`, and
//! telling what is missing: which units, which task owns them, and the command that reruns just those tasks.
//!
//! A unit (condition, replication) is copied only if its shard marked it complete, together with all its fits
//! and estimates, in one transaction per shard; units already in the merged store are left as they are, so
//! merging twice, or merging while tasks still run and again when they are done, is harmless. Because a unit's
//! results depend only on its (condition, replication), the merged rows equal those of a single-machine run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use crate::slurm::{self, shard_dir, SlurmError, SCRIPT_FILE, SHARDS_DIR, SLURM_DIR};
use crate::store::{FitStatus, Store, StoreError, StoredCondition, STORE_FILE};
use crate::study::Study;

/// How to read a results directory whose split is not recorded in `DIR/slurm/array.json`.
#[derive(Debug, Clone, Default)]
pub struct MergeOptions {
    /// Number of tasks (shards) M; default: the recorded plan, else the highest shard directory + 1.
    pub tasks: Option<u64>,
    /// Replications per condition; default: the recorded plan, else the study file's.
    pub replications: Option<u64>,
}

/// Errors of merging and surveying shard stores.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The recorded job array plan is unreadable.
    #[error(transparent)]
    Slurm(#[from] SlurmError),
    /// SQLite failed while merging.
    #[error("merging into {path}: {source}")]
    Sqlite {
        /// The merged store.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// Writing a file of the results directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// There is nothing to merge.
    #[error(
        "{0} has no shard stores ({SHARDS_DIR}/K/{STORE_FILE}); run the job array first \
         (`parsim slurm STUDY.toml --tasks M --out DIR --submit`)"
    )]
    NoShards(PathBuf),
    /// The shards ran different studies or different parsim versions.
    #[error(
        "the stores in {dir} did not all run the same study with the same parsim version:\n{details}\
         Their results must not be mixed: move the odd stores out of {dir}/{SHARDS_DIR}, or rerun those tasks \
         with the same study and parsim binary."
    )]
    Mismatch {
        /// The results directory.
        dir: PathBuf,
        /// One line per store: where, study name, hash, version.
        details: String,
    },
    /// The summary of the merged store could not be written.
    #[error("summary: {0}")]
    Summary(String),
    /// The study text stored in a shard does not parse (an incompatible parsim version wrote it).
    #[error("{path}: the stored study file is not valid for this parsim: {message}")]
    Study {
        /// The store.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// Which study a store holds and which parsim wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Study name.
    pub name: String,
    /// SHA-256 of the study file's text.
    pub hash: String,
    /// The parsim version that created the store.
    pub parsim_version: String,
}

/// One task's shard as found on disk.
#[derive(Debug, Clone)]
pub struct ShardState {
    /// The array task id K (shard K+1/M).
    pub task: u64,
    /// `DIR/shards/K`.
    pub dir: PathBuf,
    /// Units of the study stored in the shard, or `None` when it has no store.
    pub stored: Option<u64>,
    /// Units the shard owns.
    pub owned: u64,
}

/// Fits of a method that ended with a failing status, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedFits {
    /// The method.
    pub method: String,
    /// `not_converged`, `error` or `timeout`.
    pub status: FitStatus,
    /// How many, over all shards.
    pub count: u64,
    /// (task, count) for each task with such fits.
    pub per_task: Vec<(u64, u64)>,
    /// One of the messages.
    pub example: Option<String>,
}

/// Units that are not stored, owned by one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingTask {
    /// The array task id K that owns them.
    pub task: u64,
    /// The missing units (`condition * replications + replication`), increasing.
    pub units: Vec<u64>,
}

/// The state of a results directory's shards: what is stored, what failed, what is missing.
#[derive(Debug, Clone)]
pub struct Survey {
    /// The results directory.
    pub dir: PathBuf,
    /// The study the shards ran.
    pub identity: Identity,
    /// Number of tasks M.
    pub tasks: u64,
    /// Replications per condition.
    pub replications: u64,
    /// The design grid.
    pub conditions: Vec<StoredCondition>,
    /// One entry per task 0..M (and any further shard directory found).
    pub shards: Vec<ShardState>,
    /// Per unit: stored in some shard or in the merged store.
    pub done: Vec<bool>,
    /// Units in the merged store, if there is one.
    pub merged: Option<u64>,
    /// Failing fits per method and status.
    pub failures: Vec<FailedFits>,
}

/// What a merge did.
#[derive(Debug, Clone)]
pub struct MergeReport {
    /// The state after the merge (`done` is what the merged store holds).
    pub survey: Survey,
    /// Units copied from each shard by this merge: (task, units).
    pub copied: Vec<(u64, u64)>,
    /// Rows written to `results.csv`.
    pub csv_rows: u64,
    /// The summary table (also written to `summary.csv` and `summary.md`), once the study is complete.
    pub summary: Option<String>,
}

/// Read the shards of `dir` without changing anything: check they ran one study, count what they hold.
pub fn survey(dir: &Path, options: &MergeOptions) -> Result<Survey, MergeError> {
    let manifest = slurm::read_manifest(dir)?;
    let mut shards = Vec::new();
    for (k, has_store) in shard_dirs(dir)? {
        if has_store {
            shards.push((k, Store::open_existing(&shard_dir(dir, k))?));
        }
    }
    // After a merge the shards may have been removed: the merged store alone can still be surveyed.
    let merged = if Store::path_in(dir).is_file() {
        Some(Store::open_existing(dir)?)
    } else {
        None
    };
    if shards.is_empty() && merged.is_none() {
        return Err(MergeError::NoShards(dir.to_path_buf()));
    }
    survey_stores(dir, options, manifest.as_ref(), &shards, merged.as_ref())
}

fn survey_stores(
    dir: &Path,
    options: &MergeOptions,
    manifest: Option<&slurm::Manifest>,
    shards: &[(u64, Store)],
    merged: Option<&Store>,
) -> Result<Survey, MergeError> {
    let identity = check_identities(dir, manifest, shards, merged)?;
    let reference = shards
        .first()
        .map(|(_, s)| s)
        .or(merged)
        .ok_or_else(|| MergeError::NoShards(dir.into()))?;
    let conditions = reference.conditions()?;
    let replications = match options.replications.or(manifest.map(|m| m.replications)) {
        Some(r) => r,
        None => stored_study(reference)?.replications,
    };
    let highest = shards.iter().map(|(k, _)| k + 1).max().unwrap_or(0);
    let tasks = options
        .tasks
        .or(manifest.map(|m| m.tasks))
        .unwrap_or(highest)
        .max(1);
    let units = conditions.len() as u64 * replications;
    let mut done = match merged {
        Some(store) => store.completed_units(replications, conditions.len())?,
        None => vec![false; units as usize],
    };
    let mut states = Vec::new();
    let mut failures: Vec<FailedFits> = Vec::new();
    for k in 0..tasks.max(highest) {
        let owned = units_owned(k, tasks, units);
        let dir_k = shard_dir(dir, k);
        let Some((_, store)) = shards.iter().find(|(t, _)| *t == k) else {
            states.push(ShardState {
                task: k,
                dir: dir_k,
                stored: None,
                owned,
            });
            continue;
        };
        let shard_done = store.completed_units(replications, conditions.len())?;
        let stored = shard_done.iter().filter(|&&d| d).count() as u64;
        for (d, s) in done.iter_mut().zip(&shard_done) {
            *d |= *s;
        }
        states.push(ShardState {
            task: k,
            dir: dir_k,
            stored: Some(stored),
            owned,
        });
        add_failures(&mut failures, k, store)?;
    }
    Ok(Survey {
        dir: dir.to_path_buf(),
        identity,
        tasks,
        replications,
        conditions,
        shards: states,
        done,
        merged: merged.map(|s| s.replications_done()).transpose()?,
        failures,
    })
}

/// Units `u < units` with `u % tasks == task`.
fn units_owned(task: u64, tasks: u64, units: u64) -> u64 {
    if task >= units {
        0
    } else {
        (units - task).div_ceil(tasks)
    }
}

/// Numbered directories under `DIR/shards`, and whether each holds a store.
fn shard_dirs(dir: &Path) -> Result<Vec<(u64, bool)>, MergeError> {
    let shards = dir.join(SHARDS_DIR);
    let entries = match std::fs::read_dir(&shards) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(MergeError::Io {
                path: shards,
                source,
            })
        }
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| MergeError::Io {
            path: shards.clone(),
            source,
        })?;
        if let Some(k) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u64>().ok())
        {
            out.push((k, Store::path_in(&entry.path()).is_file()));
        }
    }
    out.sort_unstable();
    Ok(out)
}

fn identity_of(store: &Store) -> Result<Identity, MergeError> {
    store
        .connection()
        .query_row(
            "SELECT name, hash, parsim_version FROM study WHERE id = 1",
            [],
            |r| {
                Ok(Identity {
                    name: r.get(0)?,
                    hash: r.get(1)?,
                    parsim_version: r.get(2)?,
                })
            },
        )
        .map_err(|source| MergeError::Sqlite {
            path: store.path().to_path_buf(),
            source,
        })
}

/// All stores (and the recorded plan) must name one study hash and one parsim version.
fn check_identities(
    dir: &Path,
    manifest: Option<&slurm::Manifest>,
    shards: &[(u64, Store)],
    merged: Option<&Store>,
) -> Result<Identity, MergeError> {
    let mut seen: Vec<(String, Identity)> = Vec::new();
    if let Some(m) = manifest {
        let id = Identity {
            name: m.study_name.clone(),
            hash: m.study_hash.clone(),
            parsim_version: m.parsim_version.clone(),
        };
        seen.push((format!("{SLURM_DIR}/{}", slurm::MANIFEST_FILE), id));
    }
    for (k, store) in shards {
        seen.push((
            format!("{SHARDS_DIR}/{k}/{STORE_FILE}"),
            identity_of(store)?,
        ));
    }
    if let Some(store) = merged {
        seen.push((STORE_FILE.to_string(), identity_of(store)?));
    }
    // The stores decide; the plan only has to agree with them.
    let Some(reference) = seen
        .iter()
        .find(|(w, _)| !w.starts_with(SLURM_DIR))
        .map(|(_, id)| id.clone())
    else {
        return Err(MergeError::NoShards(dir.to_path_buf()));
    };
    if seen.iter().all(|(_, id)| *id == reference) {
        return Ok(reference);
    }
    let mut details = String::new();
    for (what, id) in &seen {
        let mark = if *id == reference { " " } else { "*" };
        let _ = writeln!(
            details,
            " {mark} {what}: study {}, hash {:.12}, parsim {}",
            id.name, id.hash, id.parsim_version
        );
    }
    Err(MergeError::Mismatch {
        dir: dir.to_path_buf(),
        details,
    })
}

fn stored_study(store: &Store) -> Result<Study, MergeError> {
    let toml = store.study_toml()?;
    Study::from_source(store.path(), toml).map_err(|e| MergeError::Study {
        path: store.path().to_path_buf(),
        message: e.to_string(),
    })
}

fn add_failures(
    failures: &mut Vec<FailedFits>,
    task: u64,
    store: &Store,
) -> Result<(), MergeError> {
    let sql = "SELECT f.method, f.status, count(*), min(f.message) FROM fits f JOIN methods m USING (method) \
               WHERE f.status IN ('not_converged', 'error', 'timeout') GROUP BY f.method, f.status ORDER BY m.position, f.status";
    let wrap = |source| MergeError::Sqlite {
        path: store.path().to_path_buf(),
        source,
    };
    let mut stmt = store.connection().prepare(sql).map_err(wrap)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })
        .map_err(wrap)?;
    for row in rows {
        let (method, status, count, message) = row.map_err(wrap)?;
        let status = FitStatus::parse(&status).unwrap_or(FitStatus::Error);
        let count = count as u64;
        match failures
            .iter_mut()
            .find(|f| f.method == method && f.status == status)
        {
            Some(f) => {
                f.count += count;
                f.per_task.push((task, count));
                f.example = f.example.take().or(message);
            }
            None => failures.push(FailedFits {
                method,
                status,
                count,
                per_task: vec![(task, count)],
                example: message,
            }),
        }
    }
    Ok(())
}

/// Merge the shard stores of `dir` into `dir/results.sqlite`; then write `results.csv` and `study.toml`, and,
/// when every unit is stored, `summary.csv` and `summary.md`.
pub fn merge(dir: &Path, options: &MergeOptions) -> Result<MergeReport, MergeError> {
    let before = survey(dir, options)?;
    let target = Store::path_in(dir);
    let wrap = |source| MergeError::Sqlite {
        path: target.clone(),
        source,
    };
    let conn = Connection::open(&target).map_err(wrap)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .map_err(wrap)?;
    conn.busy_timeout(std::time::Duration::from_secs(60))
        .map_err(wrap)?;
    let mut copied = Vec::new();
    for shard in before.shards.iter().filter(|s| s.stored.is_some()) {
        let source = Store::path_in(&shard.dir);
        copied.push((shard.task, absorb(&conn, &source).map_err(wrap)?));
    }
    let complete = before.done.iter().all(|&d| d);
    let finished = if complete {
        Some(crate::store::now_utc())
    } else {
        None
    };
    conn.execute(
        "UPDATE study SET finished_at = ?1 WHERE id = 1",
        params![finished],
    )
    .map_err(wrap)?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .map_err(wrap)?;
    drop(conn);

    let store = Store::open_existing(dir)?;
    let csv_rows = store.export_csv(&dir.join("results.csv"))?;
    write_study_copy(dir, &store.study_toml()?)?;
    let mut after = before;
    after.done = store.completed_units(after.replications, after.conditions.len())?;
    after.merged = Some(store.replications_done()?);
    drop(store);
    // Measures of a partial study would mislead: the summary waits for the last unit.
    let summary = if after.is_complete() {
        Some(crate::run::summary_table(dir).map_err(|e| MergeError::Summary(e.to_string()))?)
    } else {
        None
    };
    Ok(MergeReport {
        survey: after,
        copied,
        csv_rows,
        summary,
    })
}

/// Copy into the store open on `conn` every unit the store at `source` marked complete and `conn` lacks, in
/// one transaction; create the merged store's tables and design rows from `source` if it has none yet.
/// Returns the number of units copied.
fn absorb(conn: &Connection, source: &Path) -> rusqlite::Result<u64> {
    conn.execute("ATTACH DATABASE ?1 AS shard", [source.to_string_lossy()])?;
    let result = copy_units(conn);
    let detached = conn.execute_batch("DETACH DATABASE shard");
    let copied = result?;
    detached?;
    Ok(copied)
}

/// The body of [`absorb`], with the shard attached as `shard`.
fn copy_units(conn: &Connection) -> rusqlite::Result<u64> {
    let tx = conn.unchecked_transaction()?;
    let has_study: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = 'study'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if has_study.is_none() {
        create_from_shard(&tx)?;
    }
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS new_units (condition INTEGER, replication INTEGER, \
             PRIMARY KEY (condition, replication));
         DELETE FROM new_units;
         INSERT INTO new_units SELECT s.condition, s.replication FROM shard.replications s \
             WHERE NOT EXISTS (SELECT 1 FROM main.replications m \
                               WHERE m.condition = s.condition AND m.replication = s.replication);
         INSERT OR IGNORE INTO main.replications (condition, replication, seconds) \
             SELECT s.condition, s.replication, s.seconds FROM shard.replications s \
             JOIN new_units USING (condition, replication);
         INSERT OR IGNORE INTO main.fits (condition, replication, method, status, message, iterations, seconds) \
             SELECT f.condition, f.replication, f.method, f.status, f.message, f.iterations, f.seconds \
             FROM shard.fits f JOIN new_units USING (condition, replication);
         INSERT OR IGNORE INTO main.estimates (condition, replication, method, term, position, kind, estimate, \
             se, df, ci_lower, ci_upper, p_value, truth) \
             SELECT e.condition, e.replication, e.method, e.term, e.position, e.kind, e.estimate, e.se, e.df, \
             e.ci_lower, e.ci_upper, e.p_value, e.truth \
             FROM shard.estimates e JOIN new_units USING (condition, replication);",
    )?;
    let copied: i64 = tx.query_row("SELECT count(*) FROM new_units", [], |r| r.get(0))?;
    tx.commit()?;
    Ok(copied as u64)
}

/// The merged store gets the shard's own schema and format (same parsim version, checked) and its design rows.
fn create_from_shard(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let ddl: Vec<String> = {
        let mut stmt = tx.prepare(
            "SELECT sql FROM shard.sqlite_master WHERE type IN ('table', 'index') AND sql IS NOT NULL \
             AND name NOT LIKE 'sqlite_%' ORDER BY type DESC, rowid",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for sql in ddl {
        tx.execute_batch(&sql)?;
    }
    // The store format travels with the schema (PRAGMA takes no bound parameters; the value is an integer).
    let format: i64 = tx.query_row("PRAGMA shard.user_version", [], |r| r.get(0))?;
    tx.execute_batch(&format!("PRAGMA main.user_version = {format};"))?;
    tx.execute_batch(
        "INSERT INTO main.study SELECT * FROM shard.study;
         UPDATE main.study SET finished_at = NULL;
         INSERT INTO main.conditions SELECT * FROM shard.conditions;
         INSERT INTO main.factors SELECT * FROM shard.factors;
         INSERT INTO main.methods SELECT * FROM shard.methods;",
    )
}

fn write_study_copy(dir: &Path, toml: &str) -> Result<(), MergeError> {
    let path = dir.join("study.toml");
    if std::fs::read_to_string(&path).is_ok_and(|text| text == toml) {
        return Ok(());
    }
    let tmp = dir.join("study.toml.partial");
    std::fs::write(&tmp, toml)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|source| MergeError::Io { path, source })
}

impl Survey {
    /// Units of the study: conditions × replications.
    pub fn units(&self) -> u64 {
        self.done.len() as u64
    }

    /// Units stored (in a shard or the merged store).
    pub fn units_done(&self) -> u64 {
        self.done.iter().filter(|&&d| d).count() as u64
    }

    /// Whether every unit is stored.
    pub fn is_complete(&self) -> bool {
        self.done.iter().all(|&d| d)
    }

    /// The missing units grouped by the task that owns them (unit u belongs to task u mod M).
    pub fn missing(&self) -> Vec<MissingTask> {
        let mut by_task: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for (u, _) in self.done.iter().enumerate().filter(|(_, &d)| !d) {
            by_task
                .entry(u as u64 % self.tasks)
                .or_default()
                .push(u as u64);
        }
        by_task
            .into_iter()
            .map(|(task, units)| MissingTask { task, units })
            .collect()
    }

    /// The batch script, if the directory was planned with `parsim slurm`.
    pub fn script(&self) -> Option<PathBuf> {
        let path = self.dir.join(SLURM_DIR).join(SCRIPT_FILE);
        path.is_file().then_some(path)
    }

    /// The commands that rerun just the tasks owning missing units: `sbatch --array=LIST DIR/slurm/parsim.sbatch`,
    /// or, without a script, one `parsim run --shard` per task.
    pub fn rerun_commands(&self) -> Vec<String> {
        let tasks: Vec<u64> = self.missing().iter().map(|m| m.task).collect();
        if tasks.is_empty() {
            return Vec::new();
        }
        if let Some(script) = self.script() {
            let list = compact_list(&tasks, true);
            return vec![format!("sbatch --array={list} {}", slurm_quote(&script))];
        }
        let study = self.dir.join("study.toml");
        tasks
            .iter()
            .map(|&k| {
                format!(
                    "parsim run {} --shard {}/{} --replications {} --out {}",
                    slurm_quote(&study),
                    k + 1,
                    self.tasks,
                    self.replications,
                    slurm_quote(&shard_dir(&self.dir, k))
                )
            })
            .collect()
    }

    /// What is missing, task by task, condition by condition, with the commands that complete the study.
    pub fn describe_missing(&self) -> String {
        let missing = self.missing();
        if missing.is_empty() {
            return String::new();
        }
        let n: usize = missing.iter().map(|m| m.units.len()).sum();
        let mut s = format!(
            "missing: {n} of {} units (condition × replication), owned by {} of {} tasks:\n",
            self.units(),
            missing.len(),
            self.tasks
        );
        for m in &missing {
            let shard = self.shards.iter().find(|s| s.task == m.task);
            let why = match shard.and_then(|s| s.stored) {
                None => {
                    "no store: the task did not run, or was cancelled before it stored anything"
                        .to_string()
                }
                Some(k) => format!("{k} of {} units stored", shard.map_or(0, |s| s.owned)),
            };
            let _ = writeln!(
                s,
                "  task {} (shard {}/{}; {why}): {} units",
                m.task,
                m.task + 1,
                self.tasks,
                m.units.len()
            );
            s.push_str(&self.describe_units(&m.units));
        }
        let commands = self.rerun_commands();
        let _ = writeln!(
            s,
            "rerun just {}, then merge again:",
            if missing.len() == 1 {
                "that task"
            } else {
                "those tasks"
            }
        );
        for c in commands {
            let _ = writeln!(s, "  {c}");
        }
        let _ = writeln!(s, "  parsim merge {}", slurm_quote(&self.dir));
        s
    }

    /// Missing units of one task, one line per condition (at most [`CONDITION_LINES`], then a count).
    fn describe_units(&self, units: &[u64]) -> String {
        let mut per_condition: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for &u in units {
            per_condition
                .entry(u / self.replications)
                .or_default()
                .push(u % self.replications);
        }
        let mut s = String::new();
        for (i, (c, reps)) in per_condition.iter().enumerate() {
            if i == CONDITION_LINES {
                let _ = writeln!(
                    s,
                    "    … and {} more conditions",
                    per_condition.len() - CONDITION_LINES
                );
                break;
            }
            let label = self
                .conditions
                .get(*c as usize)
                .map_or("?", |c| c.label.as_str());
            let _ = writeln!(
                s,
                "    condition {c} ({label}): replication{} {}",
                if reps.len() == 1 { "" } else { "s" },
                compact_list(reps, false)
            );
        }
        s
    }

    /// Failed fits per method, with the tasks that hold them.
    pub fn describe_failures(&self) -> String {
        if self.failures.is_empty() {
            return String::new();
        }
        let mut s = String::from(
            "failed fits (stored with their status and message; a rerun would reproduce them, since every unit's \
             data are fixed by its seed):\n",
        );
        for f in &self.failures {
            let tasks: Vec<String> = f
                .per_task
                .iter()
                .map(|(k, n)| format!("task {k}: {n}"))
                .collect();
            let example = f
                .example
                .as_deref()
                .map(|m| format!("; e.g. {}", first_line(m)))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "  {}: {} {} ({}){example}",
                f.method,
                f.count,
                f.status.as_str(),
                tasks.join(", ")
            );
        }
        s
    }
}

/// Conditions listed per task before the rest are only counted.
pub const CONDITION_LINES: usize = 8;

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

fn slurm_quote(path: &Path) -> String {
    crate::slurm::quote_path(path)
}

/// Increasing numbers, compactly: runs of three or more with one step become `a-b` (step 1) or
/// `a-b (every kth)`; in Slurm array syntax (`slurm = true`) `a-b:k`.
pub fn compact_list(values: &[u64], slurm: bool) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let mut j = i + 1;
        if j < values.len() {
            let step = values[j] - values[i];
            while j + 1 < values.len() && values[j + 1] - values[j] == step {
                j += 1;
            }
            if j - i >= 2 && step > 0 {
                let (a, b) = (values[i], values[j]);
                parts.push(match (step, slurm) {
                    (1, _) => format!("{a}-{b}"),
                    (k, true) => format!("{a}-{b}:{k}"),
                    (k, false) => format!("{a}-{b} (every {})", ordinal(k)),
                });
                i = j + 1;
                continue;
            }
        }
        parts.push(values[i].to_string());
        i += 1;
    }
    parts.join(if slurm { "," } else { ", " })
}

fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests;
