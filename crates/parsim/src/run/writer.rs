//! The writer: receives finished replications, commits them in batches, updates progress. It runs on the
//! thread that started the run, while the workers compute.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Observer;
use crate::store::{FitStatus, Prepared, ReplicationRecord, Store, StoreError, Written};

/// Commit at least this often, so a crash loses little and progress reflects what is stored.
const MAX_BATCH_AGE: Duration = Duration::from_millis(500);
/// Commit when this many replications are waiting: large transactions amortise SQLite's per-commit cost.
const MAX_BATCH: usize = 2048;

/// What the writer did.
pub(super) struct WriterOutcome {
    pub store: Store,
    pub completed: u64,
    pub failures: Vec<(String, FitStatus, u64)>,
    pub failure_examples: Vec<(String, FitStatus, String)>,
    /// The rows written, when kept (see [`write_all`]).
    pub written: Option<Written>,
}

/// Written groups of records go back to the workers through this list, so a run allocates no new records
/// per replication once the first few groups are in circulation.
pub(super) type Recycled = Mutex<Vec<Vec<ReplicationRecord>>>;

/// Failure counts per (method, status), and the first message of each.
#[derive(Default)]
struct Failures {
    counts: BTreeMap<(usize, FitStatus), u64>,
    examples: BTreeMap<(usize, FitStatus), String>,
}

impl Failures {
    fn record(&mut self, rep: &ReplicationRecord) {
        for f in rep.fits.iter().filter(|f| f.status != FitStatus::Ok) {
            *self.counts.entry((f.method, f.status)).or_default() += 1;
            if let Some(msg) = &f.message {
                self.examples
                    .entry((f.method, f.status))
                    .or_insert_with(|| msg.clone());
            }
        }
    }

    /// Fits whose estimates cannot be used (errors and non-convergence).
    fn unusable(&self) -> u64 {
        self.counts
            .iter()
            .filter(|((_, s), _)| !s.is_usable())
            .map(|(_, n)| n)
            .sum()
    }
}

/// Create or open the store, call `opened` (the store now exists: the run opens its end-of-run readers
/// there, while the workers compute), then write the replications arriving on `rx` until every sender
/// is gone, keeping their rows in `written` if given. On an error the receiver is dropped, so the
/// workers stop at their next send.
pub(super) fn write_all(
    store: Prepared,
    rx: Receiver<Vec<ReplicationRecord>>,
    recycled: &Recycled,
    observer: &mut dyn Observer,
    methods: Vec<String>,
    (mut written, replications): (Option<Written>, u64),
    opened: impl FnOnce(),
) -> Result<WriterOutcome, StoreError> {
    // Each replication goes into the open transaction as it arrives; the transaction commits when it is
    // MAX_BATCH_AGE old or MAX_BATCH long, and at the end.
    let mut store = store.open()?;
    store.record_replications(replications)?;
    opened();
    let mut in_batch = 0usize;
    let mut oldest = Instant::now();
    let mut completed = 0u64;
    let mut failures = Failures::default();
    loop {
        // With no batch open there is nothing to commit on time: wait for the next group (a zero
        // timeout here, the previous batch's age, would spin a core the workers need).
        let received = match in_batch {
            0 => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            _ => rx.recv_timeout(MAX_BATCH_AGE.saturating_sub(oldest.elapsed())),
        };
        let closed = match received {
            Ok(group) => {
                if in_batch == 0 {
                    store.begin_batch()?;
                    oldest = Instant::now();
                }
                store.write_replications(&group)?;
                if let Some(written) = &mut written {
                    written.record(&group);
                }
                for rep in &group {
                    failures.record(rep);
                }
                in_batch += group.len();
                if let Ok(mut free) = recycled.lock() {
                    free.push(group);
                }
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        let due = in_batch >= MAX_BATCH || oldest.elapsed() >= MAX_BATCH_AGE || closed;
        if in_batch > 0 && due {
            store.commit_batch()?;
            completed += in_batch as u64;
            in_batch = 0;
            observer.progress(completed, failures.unusable());
        }
        if closed {
            break;
        }
    }
    observer.finished(completed);
    let name = |m: usize| methods.get(m).cloned().unwrap_or_default();
    Ok(WriterOutcome {
        store,
        completed,
        failures: failures
            .counts
            .into_iter()
            .map(|((m, s), n)| (name(m), s, n))
            .collect(),
        failure_examples: failures
            .examples
            .into_iter()
            .map(|((m, s), msg)| (name(m), s, msg))
            .collect(),
        written,
    })
}
