//! The runner: every (condition, replication) unit of a study on a pool of workers, results to the store.
//!
//! Each unit draws its data from its own stream (see [`Study::generator`]), so its results depend only on
//! (condition, replication): the stored rows are the same for any number of workers, any shard split and
//! any interruption and resumption. Workers build their workspaces (data buffers, model workspaces) once and
//! reuse them for every unit; the thread that started the run is the single writer, committing finished
//! replications in batches while the workers compute.

mod pin;
mod shard;
pub(crate) mod stopping;
mod unit;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::report::RunSummary;
use crate::store::{
    export_csv, Derived, DirLock, FitStatus, Interruptible, Kept, Prepared, ReplicationRecord,
    Results, Store, StoreError, StoredCondition, StudyRecord, Unit, UnitSet, Written,
    MAX_WRITTEN_ROWS,
};
use crate::study::{Condition, Study};

pub use shard::{Shard, ShardError};
pub use stopping::plan;
pub use unit::UnitWorker;

/// How to run a study.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Worker threads (default: every core).
    pub jobs: Option<usize>,
    /// The results directory.
    pub out: PathBuf,
    /// Replications per condition, overriding the study file's `replications`.
    pub replications: Option<u64>,
    /// Run only this shard's share of the units.
    pub shard: Option<Shard>,
    /// Set an existing store of a different study aside instead of refusing.
    pub fresh: bool,
    /// Set (e.g. by a Ctrl-C handler) to stop after the units in flight; what is complete is kept.
    pub stop: Arc<AtomicBool>,
}

/// Errors that stop a run before or while it runs (failures of single fits are results, not errors).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The store could not be opened or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The worker pool could not be built.
    #[error("could not start {jobs} worker threads: {message}")]
    Pool {
        /// Requested workers.
        jobs: usize,
        /// Why not.
        message: String,
    },
    /// A method's model could not be set up from its formula.
    #[error("method `{method}`: {message}")]
    Method {
        /// The method.
        method: String,
        /// What is wrong.
        message: String,
    },
    /// The performance measures could not be computed or written.
    #[error("summary: {0}")]
    Summary(String),
    /// The run would need more memory than the machine has for its list of units.
    #[error(
        "this run has {units} units (conditions × replications) to compute; listing them needs about \
         {needed_mb} MB, and the machine has {available_mb} MB available. Run fewer replications (--replications), \
         or split the run into shards (--shard K/M) or a job array (parsim slurm)"
    )]
    TooLarge {
        /// Units to compute.
        units: u64,
        /// Memory their list needs, in MB.
        needed_mb: u64,
        /// Memory the machine has available, in MB.
        available_mb: u64,
    },
    /// One replication's data would exceed the program's limit on elements, or the workers' data
    /// together would not fit in the memory available: found by generating the largest condition once,
    /// before anything is written.
    #[error("{0}")]
    DataTooLarge(String),
    /// The directory holds results of a version of this study that an edit changed the meaning of.
    #[error(
        "{} holds results that this edit of the study would change the meaning of:\n{}\n\
         Undo the edit, run into another --out directory, or pass --fresh to set the old store aside \
         (it is renamed, never deleted) and start again.",
        dir.display(),
        changes.iter().map(|c| format!("  - {c}")).collect::<Vec<_>>().join("\n")
    )]
    StudyChanged {
        /// The results directory.
        dir: PathBuf,
        /// Each edit that changes what stored rows mean.
        changes: Vec<String>,
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
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// Units (condition × replication) this run is responsible for (all, or this shard's).
    pub units_total: u64,
    /// Of those, already in the store when the run started.
    pub units_already_stored: u64,
    /// Units completed and stored by this run.
    pub units_completed: u64,
    /// True when the run was stopped before finishing its units.
    pub interrupted: bool,
    /// Fits that did not end `ok` in this run, per method: (method, status, count).
    pub failures: Vec<(String, FitStatus, u64)>,
    /// First message of each failing (method, status), to show the user why.
    pub failure_examples: Vec<(String, FitStatus, String)>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Workers used.
    pub jobs: usize,
    /// The summary table (also written to `summary.csv` and `summary.md`) and the methods that failed on
    /// every replication of a condition, unless the run was interrupted or is a shard.
    pub summary: Option<RunSummary>,
}

/// SHA-256 of the study file's text, hex: identifies the study in a store.
pub fn study_hash(source: &str) -> String {
    let digest = Sha256::digest(source.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the store records about a study.
pub fn study_record(study: &Study) -> StudyRecord {
    let factors: Vec<String> = study
        .parameters
        .iter()
        .filter(|p| p.values.len() > 1)
        .map(|p| p.name.clone())
        .collect();
    let conditions = study
        .conditions()
        .iter()
        .map(|c| StoredCondition {
            index: c.index,
            label: condition_label(&c.values, &factors),
            parameters: c.values.clone(),
            stream: c.stream,
        })
        .collect();
    StudyRecord {
        name: study.name.clone(),
        toml: study.source.clone(),
        hash: study_hash(&study.source),
        conditions,
        factors,
        methods: study
            .methods
            .iter()
            .map(|m| {
                (
                    m.name.clone(),
                    m.spec.model().to_string(),
                    m.spec.formula().map(String::from),
                )
            })
            .collect(),
    }
}

/// `N=500, n_groups=5`: the factors' values (or `all` when the design has one condition).
pub fn condition_label(values: &[(String, f64)], factors: &[String]) -> String {
    let parts: Vec<String> = values
        .iter()
        .filter(|(name, _)| factors.contains(name))
        .map(|(name, v)| format!("{name}={v}"))
        .collect();
    if parts.is_empty() {
        "all".to_string()
    } else {
        parts.join(", ")
    }
}

impl RunOptions {
    /// Every core, the study's replications, all units, into `out`, never stopped.
    pub fn new(out: impl Into<PathBuf>) -> RunOptions {
        RunOptions {
            jobs: None,
            out: out.into(),
            replications: None,
            shard: None,
            fresh: false,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// What a run tells its caller while it runs: the CLI draws a progress bar from it. Called on the thread
/// that called [`run_observed`] (the writer's), so an observer need not be `Send`.
pub trait Observer {
    /// The workers start: `pending` units to compute, `stored` already in the store.
    fn started(&mut self, _pending: u64, _stored: u64) {}
    /// `done` of the pending units are stored, and `failures` fits so far cannot be used (errors and
    /// fits that did not converge).
    fn progress(&mut self, _done: u64, _failures: u64) {}
    /// The workers are done; this run stored `done` units.
    fn finished(&mut self, _done: u64) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Observer for Silent {}

/// Whether the current thread is inside a method's fit. A panic there is caught and stored as the fit's
/// error, so a host's panic hook may stay quiet about it; the library itself never touches the hook.
pub fn in_method_fit() -> bool {
    unit::in_fit()
}

/// Run `study` with `options`: create or resume the store, run the pending units, export `results.csv`.
pub fn run(study: &Study, options: &RunOptions) -> Result<RunReport, RunError> {
    run_observed(study, options, &mut Silent)
}

/// [`run`], telling `observer` how it goes. A study with `[stopping]` runs in passes, each taking every
/// condition that has not met its targets one round further, until none needs another. Its shards split
/// the conditions (see [`Shard::owns_condition`]), so each decides its own conditions from all their
/// replications; `parsim merge` records the rule and each condition's replications.
pub fn run_observed(
    study: &Study,
    options: &RunOptions,
    observer: &mut dyn Observer,
) -> Result<RunReport, RunError> {
    let Some(rule) = &study.stopping else {
        return run_pass(study, options, observer, None);
    };
    let started = Instant::now();
    // The decisions read the store by condition number: a grown study's stored rows must be
    // renumbered in its design order before the first decision (each pass grows it again, a no-op).
    let grown = {
        let _lock = DirLock::acquire(&options.out)?;
        grow_stored(study, options)?
    };
    let study = grown.as_ref().unwrap_or(study);
    let mut options = options.clone();
    let mut previous: Option<Vec<u64>> = None;
    let mut total = RunReport::default();
    loop {
        let store = if options.fresh {
            None
        } else {
            Store::open_existing(&options.out).ok()
        };
        let mut targets = stopping::targets(study, rule, store.as_ref())?;
        drop(store);
        if let Some(shard) = options.shard {
            for (c, n) in targets.iter_mut().enumerate() {
                if !shard.owns_condition(c) {
                    *n = 0;
                }
            }
        }
        if previous.as_ref() == Some(&targets) {
            break;
        }
        let pass = run_pass(study, &options, observer, Some(&targets))?;
        options.fresh = false;
        total.units_completed += pass.units_completed;
        if previous.is_none() {
            total.units_already_stored = pass.units_already_stored;
        }
        total.units_total = pass.units_total;
        total.failures.extend(pass.failures);
        total.failure_examples.extend(pass.failure_examples);
        total.jobs = pass.jobs;
        total.summary = pass.summary;
        total.interrupted = pass.interrupted;
        if pass.interrupted {
            break;
        }
        previous = Some(targets);
    }
    if !total.interrupted {
        let store = Store::open_existing(&options.out)?;
        store.mark_finished()?;
        // A shard's conditions are a part of the study: `parsim merge` records the whole.
        if options.shard.is_some() {
            total.elapsed = started.elapsed();
            return Ok(total);
        }
        let record = stopping::record(study, rule, &store)?;
        match total.summary.as_mut() {
            Some(summary) => summary.table.push_str(&record),
            None => {
                total.summary = Some(RunSummary {
                    table: record,
                    failed_everywhere: Vec::new(),
                })
            }
        }
    }
    total.elapsed = started.elapsed();
    Ok(total)
}

/// One pass of a run: the units of the study (of `targets[c]` replications in condition `c` when given,
/// otherwise the replications asked for), those not stored yet.
fn run_pass(
    study: &Study,
    options: &RunOptions,
    observer: &mut dyn Observer,
    targets: Option<&[u64]>,
) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let replications = match targets {
        Some(t) => t.iter().copied().max().unwrap_or(0),
        None => options.replications.unwrap_or(study.replications),
    };
    let conditions = study.conditions().len();
    // Before anything is written: a run too large for the machine is refused whole. With targets (a
    // stopping rule) a shard's conditions are those with a non-zero target, every replication of them.
    let shard = match targets {
        Some(_) => Shard::WHOLE,
        None => options.shard.unwrap_or(Shard::WHOLE),
    };
    let mine = match targets {
        Some(t) => t.iter().sum(),
        None => shard.owned(conditions, replications),
    };
    let asked =
        |u: &Unit| targets.is_none_or(|t| t.get(u.condition).is_some_and(|&n| u.replication < n));
    check_memory(mine)?;
    let jobs = options.jobs.unwrap_or_else(default_jobs).max(1);
    check_data_memory(study, jobs)?;
    // One writer per directory, from the first file touched to the last; a second is refused at once.
    let _lock = DirLock::acquire(&options.out)?;
    remove_leftovers(&options.out)?;
    // A stored study's conditions keep their numbers (and streams) through edits that grow it.
    let grown = grow_stored(study, options)?;
    let study = grown.as_ref().unwrap_or(study);
    let record = study_record(study);
    let prepared = Store::prepare(&options.out, &record, options.fresh)?;
    write_study_copy(study, &options.out)?;

    let done = match &prepared {
        Prepared::Existing(store) => store.completed_units()?,
        Prepared::New { .. } => UnitSet::new(),
    };
    let pending: Vec<Unit> = shard
        .units(conditions, replications)
        .filter(|&u| asked(&u) && !done.contains(u))
        .collect();
    let completing = match &prepared {
        Prepared::Existing(store) => missing_fits(store, study, shard, replications)?,
        Prepared::New { .. } => Vec::new(),
    };
    let pending = Work {
        whole: pending,
        completing,
    };
    let mut report = RunReport {
        units_total: mine,
        units_already_stored: mine.saturating_sub(pending.whole.len() as u64),
        jobs,
        ..RunReport::default()
    };
    // Check every method's model before starting workers: a bad formula is the user's to fix, not a
    // failure to store 500 times. The workspace so built serves the first worker (a method in Python or
    // R is a process: starting it twice would cost a second interpreter start).
    // Workers whose methods run in other processes each keep to a CPU (see pin.rs); the first
    // worker's processes start here, on its CPU, which this thread leaves again once they run.
    let exchanges = study
        .methods
        .iter()
        .any(|m| m.spec.exchanges_with_a_process());
    let cpus = pin::Cpus::plan(jobs, exchanges);
    let mut checked = Some({
        let _pinned = cpus.as_ref().and_then(|c| pin::pin(c.of(0)));
        UnitWorker::new(study).map_err(|(method, message)| RunError::Method { method, message })?
    });

    observer.started(pending.len() as u64, report.units_already_stored);
    let pending = &pending;
    let (tx, rx) = mpsc::sync_channel(4 * jobs + 64);
    let recycled = writer::Recycled::default();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("parsim-worker-{i}"))
        .build()
        .map_err(|e| RunError::Pool {
            jobs,
            message: e.to_string(),
        })?;
    let next = AtomicUsize::new(0);
    // The end-of-run readers are opened as soon as the store exists, while the workers compute: opening
    // a connection takes a fraction of a millisecond that would otherwise come after the last replication.
    let mut readers = None;
    let open_readers = || Readers::open(&options.out, options.shard.is_none(), &options.stop);
    // The workers start first; this thread then writes what they finish (creating a new store while they
    // compute the first replications) until the last of them is done.
    let written = pool.in_place_scope(|scope| {
        for index in 0..jobs {
            let tx = tx.clone();
            let (next, pending, stop, recycled) = (&next, &pending, &options.stop, &recycled);
            let ready = checked.take();
            let cpu = cpus.as_ref().map(|c| c.of(index));
            scope.spawn(move |_| {
                let _pinned = cpu.and_then(pin::pin);
                // Model setup was checked above; a worker that cannot build its workspace does nothing.
                if let Some(worker) = ready.map_or_else(|| UnitWorker::new(study).ok(), Some) {
                    work(worker, study, (next, pending), stop, &tx, recycled);
                }
            });
        }
        drop(tx);
        let methods: Vec<String> = study.methods.iter().map(|m| m.name.clone()).collect();
        // A new store holds just what this run writes: the end of the run can take it from memory.
        let written = matches!(prepared, Prepared::New { .. })
            .then(|| Written::new(methods.clone(), MAX_WRITTEN_ROWS));
        let kept = (written, replications);
        writer::write_all(prepared, rx, &recycled, observer, methods, kept, || {
            readers = Some(open_readers());
        })
    });
    let outcome = written?;
    let store = outcome.store;
    let completed_whole = outcome
        .completed
        .saturating_sub(pending.completing.len() as u64);
    report.units_completed = completed_whole;
    report.failures = outcome.failures;
    report.failure_examples = outcome.failure_examples;
    report.interrupted =
        options.stop.load(Ordering::Relaxed) && outcome.completed < pending.len() as u64;

    let store = if report.interrupted {
        store
    } else {
        // Every unit of the study is stored: those stored before, and this run's (never the same ones).
        let stored_before = done.within(conditions, replications).len();
        let all = (conditions as u64).saturating_mul(replications);
        if targets.is_none() && stored_before + completed_whole == all {
            store.mark_finished()?;
        }
        let readers = readers.unwrap_or_else(open_readers)?;
        let written = outcome.written.and_then(Written::finish);
        let stop = &options.stop;
        let (store, end) = readers.finish(store, &options.out, written.as_ref(), stop)?;
        // A signal during the end phase: every unit is stored, no derived file is (the next run
        // writes them), and the caller reports the run as interrupted.
        (report.interrupted, report.summary) = match end {
            EndPhase::Stopped => (true, None),
            EndPhase::Written(summary) => (false, summary),
        };
        store
    };
    store.checkpoint()?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// How the end phase ended: the derived files written (with the summary, but for a shard), or stopped
/// by a signal before they were (none kept). A signal that comes after they are written changes nothing.
enum EndPhase {
    Written(Option<RunSummary>),
    Stopped,
}

/// The connections that read the store at the end of a run: one writes results.csv, one the summary (not
/// for a shard: its measures would describe a fraction of the units; `parsim merge` summarises the whole).
struct Readers {
    exporter: Store,
    summariser: Option<Store>,
}

impl Readers {
    /// The readers of the store in `out`, whose queries stop once `stop` is set.
    fn open(
        out: &std::path::Path,
        summarise: bool,
        stop: &Arc<AtomicBool>,
    ) -> Result<Readers, RunError> {
        let open =
            || Store::open_existing(out).inspect(|store| store.interrupt_when(Arc::clone(stop)));
        Ok(Readers {
            exporter: open()?,
            summariser: summarise.then(open).transpose()?,
        })
    }

    /// Write results.csv on this thread while one thread writes the summary and another folds the WAL
    /// into the database file (which waits for the disk); return the writer's store and the summary.
    /// Once `stop` is set the reads end early and no derived file is kept (nor an old one left).
    /// The export starts at once, on this thread, instead of after a new thread has started. Both take
    /// the fits and estimates from `written`, the rows the store holds, when the run kept them.
    fn finish(
        self,
        store: Store,
        out: &std::path::Path,
        written: Option<&Written>,
        stop: &AtomicBool,
    ) -> Result<(Store, EndPhase), RunError> {
        let Readers {
            exporter,
            summariser,
        } = self;
        let mut names = vec!["results.csv"];
        if summariser.is_some() {
            names.extend(["summary.csv", "summary.md"]);
        }
        let files = Derived::new(out, &names);
        let (exported, summary, folded) = std::thread::scope(|scope| {
            let files = &files;
            let summary =
                summariser.map(|s| scope.spawn(move || summarise_into(files, &s, written, stop)));
            let folded = scope.spawn(move || {
                let folded = store.checkpoint_concurrently();
                (store, folded)
            });
            let csv = files.scratch("results.csv");
            let exported = with_results(&exporter, written, stop, |results| {
                export_csv(results, &csv)
            });
            (exported, summary.map(|s| s.join()), folded.join())
        });
        let failed = |what: &str| RunError::Summary(format!("{what} failed unexpectedly"));
        let (store, folded) = folded.map_err(|_| failed("the checkpoint"))?;
        if stop.load(Ordering::Relaxed) {
            files_abandoned(out);
            folded?;
            return Ok((store, EndPhase::Stopped));
        }
        let derived = (|| {
            exported?;
            let summary = summary
                .map(|s| s.map_err(|_| failed("the summary")))
                .transpose()?
                .transpose()?;
            files.commit()?;
            Ok(summary)
        })();
        let derived = derived.inspect_err(|_: &RunError| files_abandoned(out));
        folded?;
        Ok((store, EndPhase::Written(derived?)))
    }
}

/// Records a worker hands to the writer at once: one wake-up of the writer per few replications instead of
/// one per replication.
const RECORDS_PER_SEND: usize = 8;
/// ... unless they have waited this long (slow fits): what is finished reaches the store promptly.
const MAX_HOLD: Duration = Duration::from_millis(50);

/// What a run computes: whole units, then the fits of methods a grown study added to stored units.
struct Work {
    whole: Vec<Unit>,
    completing: Vec<(Unit, Vec<usize>)>,
}

impl Work {
    fn len(&self) -> usize {
        self.whole.len() + self.completing.len()
    }
}

/// The stored units of this shard (within the design and the replications asked for) that lack the fits
/// of some methods, with those methods.
fn missing_fits(
    store: &Store,
    study: &Study,
    shard: Shard,
    replications: u64,
) -> Result<Vec<(Unit, Vec<usize>)>, RunError> {
    let mut missing: std::collections::BTreeMap<Unit, Vec<usize>> = Default::default();
    for (m, method) in study.methods.iter().enumerate() {
        let Some(units) = store.units_without(&method.name)? else {
            continue;
        };
        for unit in units.iter() {
            let asked =
                unit.condition < study.conditions().len() && unit.replication < replications;
            if asked && shard.owns(unit) {
                missing.entry(unit).or_default().push(m);
            }
        }
    }
    Ok(missing.into_iter().collect())
}

/// When `options.out` holds a store of an earlier version of `study`: the study numbered as the store
/// numbers its conditions, after checking that the edits keep the meaning of the stored rows and
/// recording the grown study in the store (new conditions, methods, estimands' truths). `None` when there
/// is no readable store (a new one is made) or `--fresh` sets it aside.
fn grow_stored(study: &Study, options: &RunOptions) -> Result<Option<Study>, RunError> {
    if options.fresh || !Store::path_in(&options.out).exists() {
        return Ok(None);
    }
    // A store that cannot be opened is reported by Store::prepare.
    let Ok(mut store) = Store::open_existing(&options.out) else {
        return Ok(None);
    };
    grow_store(&mut store, study, &options.out).map(Some)
}

/// Grows `store` (in `dir`) to `study` if it holds an earlier version of it: checks that the edits keep
/// the meaning of the stored rows (else [`RunError::StudyChanged`]), renumbers the stored conditions in
/// the grown design's order and records the grown study (new conditions, methods, estimands' truths), in
/// one transaction. Returns the study numbered as the store now numbers its conditions.
pub(crate) fn grow_store(store: &mut Store, study: &Study, dir: &Path) -> Result<Study, RunError> {
    let refused = |changes| RunError::StudyChanged {
        dir: dir.to_path_buf(),
        changes,
    };
    let (_, stored_hash) = store.study_identity()?;
    let same = stored_hash == study_hash(&study.source);
    let stored = if same {
        study.clone()
    } else {
        let source = store.study_source()?;
        study.stored_version(&source).map_err(|e| {
            refused(vec![format!(
                "the stored study cannot be read as it was: {e}"
            )])
        })?
    };
    let numbered: Vec<Condition> = store
        .conditions()?
        .into_iter()
        .map(|c| Condition {
            index: c.index,
            values: c.parameters,
            stream: c.stream,
        })
        .collect();
    let growth = study.growth_from(&stored, &numbered).map_err(refused)?;
    let (grown, renumbering) = study.adopting(&numbered);
    if !same || !renumbering.is_empty() {
        // Stored conditions by their stream keys, which `adopting` carried over (a set, not a
        // pairwise search: resuming 125,000 conditions stays linear).
        let stored: std::collections::HashSet<u64> = numbered.iter().map(|c| c.stream).collect();
        let is_stored = |c: &Condition| stored.contains(&c.stream);
        let truths: Vec<(usize, String, f64)> = growth
            .new_estimands
            .iter()
            .flat_map(|term| {
                grown
                    .conditions()
                    .iter()
                    .filter(|c| is_stored(c))
                    .filter_map(|c| Some((c.index, term.clone(), grown.truth(c.index, term)?)))
            })
            .collect();
        store.grow(&study_record(&grown), &renumbering, &truths)?;
    }
    Ok(grown)
}

/// One worker's loop: take the next pending unit, run it, hand finished records to the writer in small
/// groups, until the units run out, `stop` is set or the writer has failed.
fn work(
    mut worker: UnitWorker,
    study: &Study,
    (next, pending): (&AtomicUsize, &Work),
    stop: &AtomicBool,
    tx: &mpsc::SyncSender<Vec<ReplicationRecord>>,
    recycled: &writer::Recycled,
) {
    let fresh_group = || {
        recycled
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .unwrap_or_default()
    };
    // `group` keeps the records of earlier groups (and their capacity); the first `filled` are this group's.
    let mut group: Vec<ReplicationRecord> = fresh_group();
    let mut filled = 0;
    let mut first = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let (unit, methods) = match pending.whole.get(i) {
            Some(&unit) => (unit, None),
            None => match pending.completing.get(i - pending.whole.len()) {
                Some((unit, methods)) => (*unit, Some(methods.as_slice())),
                None => break,
            },
        };
        if filled == group.len() {
            group.push(ReplicationRecord::default());
        }
        if filled == 0 {
            first = Instant::now();
        }
        let record = &mut group[filled];
        worker.run_methods(study, (unit.condition, unit.replication), methods, record);
        filled += 1;
        if filled == RECORDS_PER_SEND || first.elapsed() >= MAX_HOLD {
            group.truncate(filled);
            if tx
                .send(std::mem::replace(&mut group, fresh_group()))
                .is_err()
            {
                return; // the writer failed; it reports why
            }
            filled = 0;
        }
    }
    if filled > 0 {
        group.truncate(filled);
        let _ = tx.send(group);
    }
}

/// Refuse, before it starts, a run whose list of pending units would not fit in the memory available
/// (checked where the operating system says how much there is).
fn check_memory(pending: u64) -> Result<(), RunError> {
    let needed = pending.saturating_mul(std::mem::size_of::<Unit>() as u64);
    match available_memory() {
        Some(available) if needed > available / 2 => Err(RunError::TooLarge {
            units: pending,
            needed_mb: needed / 1_000_000,
            available_mb: available / 1_000_000,
        }),
        _ => Ok(()),
    }
}

/// Refuse, before it starts, a run whose data sets are too large: replication 0 of the largest condition
/// (every parameter at its largest value) is generated once. Over the data program's limit on elements
/// it fails at the statement that crosses it; within it, `jobs` workers each hold that much, which must
/// fit in the memory available. A smaller condition that fails later fails its units, each with the
/// message.
fn check_data_memory(study: &Study, jobs: usize) -> Result<(), RunError> {
    let Some(largest) = largest_condition(study) else {
        return Ok(());
    };
    let mut workspace = study.program.workspace();
    let generated = study.generate(&mut workspace, largest, 0);
    let held = workspace.capacity();
    if let Err(rendered) = generated {
        // Any other error is a property of the data (an index out of range, say), stored per unit.
        return match held > study.program.max_elements() {
            true => Err(RunError::DataTooLarge(rendered)),
            false => Ok(()),
        };
    }
    let per_worker = (held as u64).saturating_mul(8);
    let needed = per_worker.saturating_mul(jobs as u64);
    match available_memory() {
        Some(available) if needed > available => Err(RunError::DataTooLarge(format!(
            "one replication's data take {} MB (condition {largest}, {held} elements), and {jobs} \
             workers need {} MB; the machine has {} MB available. Use fewer workers (--jobs) or \
             smaller data sets",
            per_worker / 1_000_000,
            needed / 1_000_000,
            available / 1_000_000
        ))),
        _ => Ok(()),
    }
}

/// The condition whose parameters are each at their largest value (sizes grow with them), if the design
/// has one; else the last.
fn largest_condition(study: &Study) -> Option<usize> {
    let conditions = study.conditions();
    let top = |name: &str| {
        let values = study.parameters.iter().filter(|p| p.name == name);
        values
            .flat_map(|p| p.values.iter().copied())
            .fold(f64::NEG_INFINITY, f64::max)
    };
    conditions
        .iter()
        .find(|c| c.values.iter().all(|(name, v)| *v == top(name)))
        .or(conditions.last())
        .map(|c| c.index)
}

/// The memory available to new allocations, in bytes (Linux's MemAvailable), if known.
fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Scratch files of the directory's derived files that an interrupted or failed run left behind (the
/// writer's lock is held, so nobody is writing them): removed, so they cannot keep a full disk full.
fn remove_leftovers(dir: &std::path::Path) -> Result<(), RunError> {
    crate::store::remove_scratch_files(dir)?;
    let path = dir.join("study.toml.partial");
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(RunError::Io { path, source: e }),
        _ => Ok(()),
    }
}

/// The derived files could not all be written: none is left (neither scratch nor stale).
fn files_abandoned(out: &std::path::Path) {
    Derived::new(out, &[]).abandon();
}

/// Keep the study as run beside the store (provenance); written atomically.
fn write_study_copy(study: &Study, dir: &std::path::Path) -> Result<(), RunError> {
    let path = dir.join("study.toml");
    if std::fs::read_to_string(&path).is_ok_and(|text| text == study.source) {
        return Ok(());
    }
    let tmp = dir.join("study.toml.partial");
    std::fs::write(&tmp, &study.source)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|source| RunError::Io { path, source })
}

#[cfg(test)]
mod tests;

/// Write `summary.csv` and `summary.md` as scratch files of `files` and return the summary table (with
/// the methods that failed on every replication of a condition), from the store in `dir`.
pub fn summary_table(dir: &std::path::Path, files: &Derived) -> Result<RunSummary, RunError> {
    let never = AtomicBool::new(false);
    summarise_into(files, &Store::open_existing(dir)?, None, &never)
}

/// [`summary_table`] of the store open as `store`, whose fits and estimates are `written` if given.
fn summarise_into(
    files: &Derived,
    store: &Store,
    written: Option<&Written>,
    stop: &AtomicBool,
) -> Result<RunSummary, RunError> {
    with_results(store, written, stop, |results| {
        crate::report::finish_run(files, results)
    })
    .map_err(|e| RunError::Summary(e.to_string()))
}

/// `f` of the results in `store`: the rows this run `written` to it when it kept them (the same rows,
/// without reading them back), else the store's own.
fn with_results<T>(
    store: &Store,
    written: Option<&Written>,
    stop: &AtomicBool,
    f: impl FnOnce(&dyn Results) -> T,
) -> T {
    match written {
        Some(written) => f(&Interruptible::new(&Kept::new(store, written), stop)),
        None => f(&Interruptible::new(store, stop)),
    }
}
