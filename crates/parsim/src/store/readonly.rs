//! Opening a store for reading only (`summary`, `status`, `plot`): nothing in the results directory is
//! written, created or upgraded, so a reader works on read-only files, directories and mounts, and as a
//! user who does not own them.
//!
//! SQLite in WAL mode creates `-wal` and `-shm` files beside a database for any connection, even a
//! read-only one, unless it is told the file is immutable. A store with no `-wal` file has no open
//! connection (the last one to close removes it) and no writer (a writer holds `parsim.lock`), so it
//! is opened immutable: read as it is, without locks or side files. A store with a `-wal` file is being
//! written (or its writer died): it is opened read-only through the WAL, which holds the latest
//! replications.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, OpenFlags};

use super::{lock::LOCK_FILE, schema, side_file, Store, StoreError};

impl Store {
    /// Open the store of `dir` for reading only: nothing in `dir` is written or created. A store of the
    /// previous format is read through an upgraded copy in the temporary directory (a run or a merge
    /// upgrades it in place).
    pub fn open_read_only(dir: &Path) -> Result<Store, StoreError> {
        let path = Store::path_in(dir);
        if !path.is_file() {
            return Err(StoreError::Missing(dir.to_path_buf()));
        }
        let live = side_file(&path, "-wal").exists() || lock_is_held(dir);
        let store = match live {
            true => open_uri(&path, "mode=ro").or_else(|_| open_uri(&path, "immutable=1"))?,
            false => open_uri(&path, "immutable=1")?,
        };
        if !store.table_exists("study")? {
            return Err(StoreError::Invalid {
                path,
                reason: "it has no `study` table".into(),
            });
        }
        let format = store.format()?;
        let store = if schema::UPGRADABLE.contains(&format) {
            store.upgraded_copy(format)?
        } else {
            store
        };
        store.check_format()?;
        Ok(store)
    }

    /// A store of an earlier format read through an upgraded copy of it in the temporary directory,
    /// removed when the store is dropped.
    fn upgraded_copy(self, format: i64) -> Result<Store, StoreError> {
        static COPIES: AtomicU64 = AtomicU64::new(0);
        let copy = std::env::temp_dir().join(format!(
            "parsim-read-{}-{}.sqlite",
            std::process::id(),
            COPIES.fetch_add(1, Ordering::Relaxed)
        ));
        let scratch = Scratch(copy.clone());
        // VACUUM INTO reads the store (its WAL included) and writes a complete copy elsewhere.
        self.conn
            .execute("VACUUM INTO ?1", [copy.to_string_lossy()])
            .map_err(|e| self.err(e))?;
        let mut upgraded = Store::open_rw(&copy)?;
        upgraded.upgrade_tables(format)?;
        upgraded.scratch = Some(scratch);
        // Messages name the store the user gave, not the scratch copy.
        upgraded.path = self.path.clone();
        Ok(upgraded)
    }
}

/// A scratch file removed (with its SQLite side files) when dropped.
pub(super) struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(side_file(&self.0, suffix));
        }
    }
}

/// Whether a writer holds the directory's lock right now. The probe takes a shared lock for an instant
/// (on a file opened read-only: a read-only directory is fine); [`super::DirLock::acquire`] retries
/// briefly, so a writer starting at that instant is not refused.
fn lock_is_held(dir: &Path) -> bool {
    match File::open(dir.join(LOCK_FILE)) {
        Ok(file) => matches!(file.try_lock_shared(), Err(TryLockError::WouldBlock)),
        Err(_) => false,
    }
}

fn open_uri(path: &Path, mode: &str) -> Result<Store, StoreError> {
    let wrap = |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let conn = Connection::open_with_flags(
        format!("{}?{mode}", file_uri(path)),
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(wrap)?;
    // A writer may be committing: wait for it rather than fail.
    conn.busy_timeout(std::time::Duration::from_secs(60))
        .map_err(wrap)?;
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

/// `path` as an SQLite URI (`file:` and the path, percent-encoded where a URI needs it).
fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_becomes_a_uri_sqlite_decodes_back() {
        assert_eq!(
            file_uri(Path::new("/a b/c?d#e%")),
            "file:/a%20b/c%3Fd%23e%25"
        );
        assert_eq!(file_uri(Path::new("rel/x.sqlite")), "file:rel/x.sqlite");
    }
}
