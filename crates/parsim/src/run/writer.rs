//! The writer thread: receives finished replications, commits them in batches, updates progress.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::progress::Progress;
use crate::store::{FitStatus, ReplicationRecord, Store, StoreError};

/// Commit at least this often, so a crash loses little and progress reflects what is stored.
const MAX_BATCH_AGE: Duration = Duration::from_millis(500);
/// Commit when this many replications are waiting: large transactions amortise SQLite's per-commit cost.
const MAX_BATCH: usize = 2048;

/// Why the writer stopped.
#[derive(Debug, thiserror::Error)]
pub(super) enum WriterError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the results writer thread panicked")]
    Panicked,
}

impl From<WriterError> for super::RunError {
    fn from(e: WriterError) -> Self {
        match e {
            WriterError::Store(s) => super::RunError::Store(s),
            WriterError::Panicked => super::RunError::Pool {
                jobs: 0,
                message: e.to_string(),
            },
        }
    }
}

/// What the writer did.
pub(super) struct WriterOutcome {
    pub store: Store,
    pub completed: u64,
    pub failures: Vec<(String, FitStatus, u64)>,
    pub failure_examples: Vec<(String, FitStatus, String)>,
}

pub(super) fn spawn(
    store: Store,
    rx: Receiver<ReplicationRecord>,
    progress: Progress,
    methods: Vec<String>,
) -> JoinHandle<Result<WriterOutcome, WriterError>> {
    std::thread::Builder::new()
        .name("parsim-writer".into())
        .spawn(move || write_all(store, rx, progress, methods))
        .expect("spawning the writer thread") // only fails when the OS is out of threads at startup
}

fn write_all(
    mut store: Store,
    rx: Receiver<ReplicationRecord>,
    mut progress: Progress,
    methods: Vec<String>,
) -> Result<WriterOutcome, WriterError> {
    let mut batch: Vec<ReplicationRecord> = Vec::with_capacity(MAX_BATCH);
    let mut oldest = Instant::now();
    let mut completed = 0u64;
    let mut failures: BTreeMap<(usize, FitStatus), u64> = BTreeMap::new();
    let mut examples: BTreeMap<(usize, FitStatus), String> = BTreeMap::new();
    loop {
        let wait = MAX_BATCH_AGE.saturating_sub(oldest.elapsed());
        let closed = match rx.recv_timeout(wait) {
            Ok(rep) => {
                if batch.is_empty() {
                    oldest = Instant::now();
                }
                for f in rep.fits.iter().filter(|f| f.status != FitStatus::Ok) {
                    *failures.entry((f.method, f.status)).or_default() += 1;
                    if let Some(msg) = &f.message {
                        examples
                            .entry((f.method, f.status))
                            .or_insert_with(|| msg.clone());
                    }
                }
                batch.push(rep);
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        let due =
            batch.len() >= MAX_BATCH || (!batch.is_empty() && oldest.elapsed() >= MAX_BATCH_AGE);
        if due || (closed && !batch.is_empty()) {
            store.write_batch(&batch)?;
            completed += batch.len() as u64;
            let failed = failures
                .iter()
                .filter(|((_, s), _)| !s.is_usable())
                .map(|(_, n)| n)
                .sum();
            progress.update(completed, failed);
            batch.clear();
        }
        if closed {
            break;
        }
    }
    progress.finish(completed);
    let name = |m: usize| methods.get(m).cloned().unwrap_or_default();
    Ok(WriterOutcome {
        store,
        completed,
        failures: failures
            .into_iter()
            .map(|((m, s), n)| (name(m), s, n))
            .collect(),
        failure_examples: examples
            .into_iter()
            .map(|((m, s), msg)| (name(m), s, msg))
            .collect(),
    })
}
