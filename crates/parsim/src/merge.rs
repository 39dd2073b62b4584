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

use crate::run::Shard;
use crate::slurm::{self, shard_dir, SlurmError, SCRIPT_FILE, SHARDS_DIR, SLURM_DIR};
use crate::store::{
    Derived, FailedFitCount, FitStatus, Store, StoreError, StoredCondition, Unit, UnitSet,
    DERIVED_FILES, STORE_FILE,
};
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
    /// The shards ran an edit of the merged store's study that changes what its rows mean.
    #[error(
        "{dir}/{STORE_FILE} holds results of another version of the shards' study, and the edit \
         changes what they mean:\n{}\nMerge the shards into another directory, or move \
         {dir}/{STORE_FILE} aside (its rows stay there) and merge again.",
        changes.iter().map(|c| format!("  - {c}")).collect::<Vec<_>>().join("\n")
    )]
    Grow {
        /// The results directory.
        dir: PathBuf,
        /// Each edit that changes what stored rows mean.
        changes: Vec<String>,
    },
    /// The study text stored in a shard does not parse (an incompatible parsim version wrote it).
    #[error("{path}: the stored study file is not valid for this parsim: {message}")]
    Study {
        /// The store.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

pub use crate::store::Identity;

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
    /// The missing units, in (condition, replication) order.
    pub units: Vec<Unit>,
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
    /// Replications per condition (the most any condition needs, for a study with a stopping rule).
    pub replications: u64,
    /// For a study with a stopping rule: the replications each condition needs as its rounds' decisions
    /// stand (read from the store that holds most of it); its shards split the conditions.
    pub adaptive: Option<Vec<u64>>,
    /// The design grid.
    pub conditions: Vec<StoredCondition>,
    /// One entry per task 0..M (and any further shard directory found).
    pub shards: Vec<ShardState>,
    /// The units of the design stored in some shard or in the merged store.
    pub done: UnitSet,
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
    pub summary: Option<crate::report::RunSummary>,
}

/// Read the shards of `dir` without changing anything (the stores are opened read-only): check they ran
/// one study, count what they hold.
pub fn survey(dir: &Path, options: &MergeOptions) -> Result<Survey, MergeError> {
    survey_with(dir, options, Store::open_read_only)
}

/// [`survey`] with the stores opened by `open` (a merge opens them for writing, which upgrades a shard
/// of the previous format before it is copied).
fn survey_with(
    dir: &Path,
    options: &MergeOptions,
    open: fn(&Path) -> Result<Store, StoreError>,
) -> Result<Survey, MergeError> {
    let manifest = slurm::read_manifest(dir)?;
    let mut shards = Vec::new();
    for (k, has_store) in shard_dirs(dir)? {
        if has_store {
            shards.push((k, open(&shard_dir(dir, k))?));
        }
    }
    // After a merge the shards may have been removed: the merged store alone can still be surveyed.
    let merged = if Store::path_in(dir).is_file() {
        Some(open(dir)?)
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
        None => match reference.replications_asked()? {
            Some(r) => r,
            None => stored_study(reference)?.replications,
        },
    };
    let adaptive = adaptive_targets(reference, shards, merged)?;
    let replications = match &adaptive {
        Some(targets) => targets.iter().copied().max().unwrap_or(0),
        None => replications,
    };
    let highest = shards.iter().map(|(k, _)| k + 1).max().unwrap_or(0);
    let tasks = options
        .tasks
        .or(manifest.map(|m| m.tasks))
        .unwrap_or(highest)
        .max(1);
    let within = |set: UnitSet| set.within(conditions.len(), replications);
    let mut done = match merged {
        Some(store) => within(store.completed_units()?),
        None => UnitSet::new(),
    };
    let mut states = Vec::new();
    let mut failures: Vec<FailedFits> = Vec::new();
    for k in 0..tasks.max(highest) {
        let owned = match &adaptive {
            Some(targets) => (0..conditions.len())
                .filter(|&c| owner(k, tasks).is_some_and(|s| s.owns_condition(c)))
                .map(|c| targets[c])
                .sum(),
            None => units_owned(k, tasks, conditions.len(), replications),
        };
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
        let shard_done = within(store.completed_units()?);
        let stored = shard_done.len();
        done.extend_from(&shard_done);
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
        adaptive,
        conditions,
        shards: states,
        done,
        merged: merged.map(|s| s.replications_done()).transpose()?,
        failures,
    })
}

/// A stopping rule's replications per condition when the stored study has one: each condition's
/// decision from the store that holds most of its replications (a store holding a part of a condition's
/// rows decides as the whole would up to its first incomplete round, so the largest decision is the
/// whole's).
fn adaptive_targets(
    reference: &Store,
    shards: &[(u64, Store)],
    merged: Option<&Store>,
) -> Result<Option<Vec<u64>>, MergeError> {
    let has_rule = reference
        .study_toml()?
        .parse::<toml::Table>()
        .is_ok_and(|t| t.contains_key("stopping"));
    if !has_rule {
        return Ok(None);
    }
    let study = stored_study(reference)?;
    let Some(rule) = &study.stopping else {
        return Ok(None);
    };
    let mut targets = vec![0; study.conditions().len()];
    for store in shards.iter().map(|(_, s)| s).chain(merged) {
        let here = crate::run::stopping::targets(&study, rule, Some(store))?;
        for (t, n) in targets.iter_mut().zip(here) {
            *t = (*t).max(n);
        }
    }
    Ok(Some(targets))
}

/// Units of the design that array task `task` of `tasks` owns (none for a task beyond the array).
fn units_owned(task: u64, tasks: u64, conditions: usize, replications: u64) -> u64 {
    owner(task, tasks).map_or(0, |shard| shard.owned(conditions, replications))
}

/// The shard that array task `task` of `tasks` runs.
fn owner(task: u64, tasks: u64) -> Option<Shard> {
    (task < tasks).then_some(Shard {
        index: task + 1,
        count: tasks,
    })
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
        seen.push((format!("{SHARDS_DIR}/{k}/{STORE_FILE}"), store.identity()?));
    }
    if let Some(store) = merged {
        seen.push((STORE_FILE.to_string(), store.identity()?));
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
    for failed in store.failed_fits()? {
        let FailedFitCount {
            method,
            status,
            count,
            example: message,
        } = failed;
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
    // One writer per directory: a run or another merge into `dir` is refused while this one writes.
    let _lock = crate::store::DirLock::acquire(dir)?;
    grow_merged(dir)?;
    let before = survey_with(dir, options, Store::open_existing)?;
    let target = Store::merge_target(dir)?;
    let mut copied = Vec::new();
    for shard in before.shards.iter().filter(|s| s.stored.is_some()) {
        copied.push((shard.task, target.absorb(&Store::path_in(&shard.dir))?));
    }
    target.set_finished(before.is_complete())?;
    target.checkpoint()?;
    drop(target);

    let store = Store::open_existing(dir)?;
    write_study_copy(dir, &store.study_toml()?)?;
    let mut after = before;
    after.done = store
        .completed_units()?
        .within(after.conditions.len(), after.replications);
    after.merged = Some(store.replications_done()?);
    // Measures of a partial study would mislead: the summary waits for the last unit.
    let files = match after.is_complete() {
        true => Derived::new(dir, &DERIVED_FILES),
        false => Derived::new(dir, &["results.csv"]),
    };
    let written = (|| {
        let csv_rows = crate::store::export_csv(&store, &files.scratch("results.csv"))?;
        drop(store);
        let summary = match after.is_complete() {
            true => Some(summary_with_rule(dir, &files, after.adaptive.is_some())?),
            false => None,
        };
        Ok::<_, MergeError>((csv_rows, summary))
    })();
    let (csv_rows, summary) = match written {
        Ok(written) => {
            files.commit()?;
            written
        }
        Err(e) => {
            files.abandon();
            return Err(e);
        }
    };
    Ok(MergeReport {
        survey: after,
        copied,
        csv_rows,
        summary,
    })
}

/// When every shard ran one study and the merged store holds an earlier version of it (the study grew
/// between two merges: a level, a method, replications), grows the merged store as `parsim run` grows
/// a store, so that its rows (renumbered in the grown design's order) and the shards' can be merged.
/// Anything else that differs is left for the identity check to report.
fn grow_merged(dir: &Path) -> Result<(), MergeError> {
    if !Store::path_in(dir).is_file() {
        return Ok(());
    }
    let mut shards = Vec::new();
    for (k, has_store) in shard_dirs(dir)? {
        if has_store {
            shards.push(Store::open_existing(&shard_dir(dir, k))?);
        }
    }
    let Some(first) = shards.first() else {
        return Ok(());
    };
    let grown = first.identity()?;
    for shard in &shards[1..] {
        if shard.identity()? != grown {
            return Ok(());
        }
    }
    let mut merged = Store::open_existing(dir)?;
    let stored = merged.identity()?;
    if stored == grown || stored.parsim_version != grown.parsim_version {
        return Ok(());
    }
    let study = stored_study(first)?;
    match crate::run::grow_store(&mut merged, &study, dir) {
        Ok(_) => Ok(()),
        Err(crate::run::RunError::StudyChanged { changes, .. }) => Err(MergeError::Grow {
            dir: dir.to_path_buf(),
            changes,
        }),
        Err(e) => Err(MergeError::Grow {
            dir: dir.to_path_buf(),
            changes: vec![e.to_string()],
        }),
    }
}

/// The merged study's summary table, ending, for a study with a stopping rule, with the rule and each
/// condition's replications as a single-machine run ends it (and its `stopping.csv`).
fn summary_with_rule(
    dir: &Path,
    files: &Derived,
    adaptive: bool,
) -> Result<crate::report::RunSummary, MergeError> {
    let mut summary =
        crate::run::summary_table(dir, files).map_err(|e| MergeError::Summary(e.to_string()))?;
    if adaptive {
        let store = Store::open_existing(dir)?;
        let study = stored_study(&store)?;
        if let Some(rule) = &study.stopping {
            let record = crate::run::stopping::record(&study, rule, &store)?;
            summary.table.push_str(&record);
        }
    }
    Ok(summary)
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
    /// Units of the study: conditions × replications (the sum of each condition's, with a stopping rule).
    pub fn units(&self) -> u64 {
        match &self.adaptive {
            Some(targets) => targets.iter().sum(),
            None => (self.conditions.len() as u64).saturating_mul(self.replications),
        }
    }

    /// The units of the design: every replication of every condition, or each condition's own number
    /// of them with a stopping rule.
    fn design(&self) -> Vec<Unit> {
        match &self.adaptive {
            Some(targets) => targets
                .iter()
                .enumerate()
                .flat_map(|(c, &n)| (0..n).map(move |r| Unit::new(c, r)))
                .collect(),
            None => Shard::WHOLE
                .units(self.conditions.len(), self.replications)
                .collect(),
        }
    }

    /// Whether task `task` owns `unit` (by its condition, with a stopping rule).
    fn task_owns(&self, task: u64, unit: Unit) -> bool {
        owner(task, self.tasks).is_some_and(|s| match self.adaptive {
            Some(_) => s.owns_condition(unit.condition),
            None => s.owns(unit),
        })
    }

    /// Units stored (in a shard or the merged store).
    pub fn units_done(&self) -> u64 {
        self.done.len()
    }

    /// Whether every unit is stored.
    pub fn is_complete(&self) -> bool {
        self.units_done() == self.units()
    }

    /// The missing units grouped by the task that owns them (see [`Shard`]).
    pub fn missing(&self) -> Vec<MissingTask> {
        let mut by_task: BTreeMap<u64, Vec<Unit>> = BTreeMap::new();
        for unit in self
            .design()
            .into_iter()
            .filter(|&u| !self.done.contains(u))
        {
            let task = (0..self.tasks)
                .find(|&k| self.task_owns(k, unit))
                .unwrap_or(0);
            by_task.entry(task).or_default().push(unit);
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
                // A stopping rule decides the replications itself.
                let replications = match self.adaptive {
                    Some(_) => String::new(),
                    None => format!(" --replications {}", self.replications),
                };
                format!(
                    "parsim run {} --shard {}/{}{replications} --out {}",
                    slurm_quote(&study),
                    k + 1,
                    self.tasks,
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
    fn describe_units(&self, units: &[Unit]) -> String {
        let mut per_condition: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
        for u in units {
            per_condition
                .entry(u.condition)
                .or_default()
                .push(u.replication);
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
            let label = self.conditions.get(*c).map_or("?", |c| c.label.as_str());
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
