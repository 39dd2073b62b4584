//! The files derived from the store (`results.csv`, `summary.csv`, `summary.md`): replaced together, so
//! they never disagree with each other or with the store. Each is written as `NAME.partial`; only when
//! every one is complete are they renamed into place. If one cannot be written (a full disk), the scratch
//! files are removed, and so are the old derived files, which no longer describe what the store holds;
//! running the same command again writes them all.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::StoreError;

/// Every file derived from the store, by name in the results directory.
pub const DERIVED_FILES: [&str; 3] = ["results.csv", "summary.csv", "summary.md"];

/// Files derived from the store on request (`parsim report`), not by a run: removed whenever the run's
/// derived files are replaced, since they describe an earlier state of the store.
const ON_REQUEST: [&str; 1] = ["report.html"];

/// The derived files of one results directory being rewritten: see the module's documentation.
#[derive(Debug)]
pub struct Derived {
    dir: PathBuf,
    names: Vec<&'static str>,
}

impl Derived {
    /// Rewrite the derived files `names` (of [`DERIVED_FILES`]) of `dir`; the others are removed at
    /// [`Derived::commit`], so none is left from an earlier state of the store.
    pub fn new(dir: &Path, names: &[&'static str]) -> Derived {
        Derived {
            dir: dir.to_path_buf(),
            names: names.to_vec(),
        }
    }

    /// The results directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where to write `name` until the set is committed.
    pub fn scratch(&self, name: &str) -> PathBuf {
        scratch_of(&self.dir, name)
    }

    /// Every file written: move them all into place, and remove the derived files not rewritten.
    pub fn commit(self) -> Result<(), StoreError> {
        for name in &self.names {
            let (from, to) = (self.scratch(name), self.dir.join(name));
            fs::rename(&from, &to).map_err(|source| StoreError::Io { path: to, source })?;
        }
        let stale = DERIVED_FILES.iter().filter(|n| !self.names.contains(n));
        for name in stale.chain(&ON_REQUEST) {
            remove(&self.dir.join(name))?;
        }
        Ok(())
    }

    /// Something could not be written: remove the scratch files and the old derived files (they describe
    /// an earlier state of the store). Failures to remove are ignored: the caller reports the first error.
    pub fn abandon(self) {
        for name in DERIVED_FILES {
            let _ = remove(&scratch_of(&self.dir, name));
            let _ = remove(&self.dir.join(name));
        }
        for name in ON_REQUEST {
            let _ = remove(&self.dir.join(name));
        }
    }
}

/// Scratch files of derived files that an interrupted or failed writer left in `dir` (the caller holds
/// the directory's lock): removed, so they cannot keep a full disk full.
pub fn remove_scratch_files(dir: &Path) -> Result<(), StoreError> {
    for name in DERIVED_FILES {
        remove(&scratch_of(dir, name))?;
    }
    Ok(())
}

fn scratch_of(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.partial"))
}

fn remove(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(StoreError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}
