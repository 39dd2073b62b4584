//! The exclusive lock on a results directory: whatever writes it (a run, a merge, `--fresh`) holds
//! `DIR/parsim.lock` for as long as it writes. The lock is the operating system's (`flock`), so it
//! goes with the process that holds it, however that process ends: a lock is never stale.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::StoreError;

/// The lock file's name inside a results directory.
pub const LOCK_FILE: &str = "parsim.lock";

/// An exclusive lock on a results directory, released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DirLock {
    // Held open: closing the file releases the lock.
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// Take the lock of `dir` (created if absent), or fail at once with [`StoreError::Busy`] naming the
    /// process that holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock, StoreError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        // A lock this process let go of can look held for a moment: a child process that another
        // thread is starting shares the open file until it executes its program. So a lock held by
        // "this process" is retried for up to a second. A reader probes the lock with a shared lock
        // held for an instant (`Store::open_read_only`), so any holder is retried for 100 ms before a
        // writer is refused.
        let me = format!("process {} ", std::process::id());
        for attempt in 0.. {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.seek(SeekFrom::Start(0));
                    let _ = file.read_to_string(&mut holder);
                    if attempt < 5 || (holder.starts_with(&me) && attempt < 50) {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        continue;
                    }
                    // The holder writes who it is just after taking the lock: it may not have yet.
                    let holder = match holder.trim() {
                        "" => "a process that has just started".to_string(),
                        who => who.to_string(),
                    };
                    return Err(StoreError::Busy {
                        dir: dir.to_path_buf(),
                        holder,
                    });
                }
                Err(TryLockError::Error(source)) => return Err(StoreError::Io { path, source }),
            }
        }
        // Who holds it, for the message of the next writer that tries.
        let me = format!(
            "process {} ({})\n",
            std::process::id(),
            std::env::args().collect::<Vec<_>>().join(" ")
        );
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(me.as_bytes()))
            .map_err(io(&path))?;
        Ok(DirLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_while_the_first_holds_the_lock() {
        let dir = std::env::temp_dir().join(format!("parsim-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = DirLock::acquire(&dir).expect("free");
        let err = DirLock::acquire(&dir).expect_err("held");
        let text = err.to_string();
        assert!(
            text.contains(&format!("process {}", std::process::id())),
            "{text}"
        );
        drop(first);
        DirLock::acquire(&dir).expect("released on drop");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
