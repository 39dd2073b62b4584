//! The store's side of merging shards: which study a store holds, its failed fits, and copying the units
//! of a shard's store into the merged one.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use super::read::usable_statuses;
use super::results::status_of;
use super::{FitStatus, Store, StoreError};

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

/// Fits of one method that ended with one status whose estimates cannot be used.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedFitCount {
    /// The method.
    pub method: String,
    /// Their status.
    pub status: FitStatus,
    /// How many.
    pub count: u64,
    /// One of their messages.
    pub example: Option<String>,
}

impl Store {
    /// Which study the store holds and which parsim wrote it.
    pub fn identity(&self) -> Result<Identity, StoreError> {
        self.conn
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
            .map_err(|e| self.err(e))
    }

    /// The fits whose estimates cannot be used, per method (file order) and status, with a message.
    pub fn failed_fits(&self) -> Result<Vec<FailedFitCount>, StoreError> {
        let sql = format!(
            "SELECT f.method, f.status, count(*), min(f.message) FROM fits f JOIN methods m USING (method) \
             WHERE f.status NOT IN {} GROUP BY f.method, f.status ORDER BY m.position, f.status",
            usable_statuses()
        );
        let rows = self.rows(&sql, |r| {
            let status: String = r.get(1)?;
            let count: i64 = r.get(2)?;
            Ok(FailedFitCount {
                method: r.get(0)?,
                status: status_of(&status),
                count: u64::try_from(count).unwrap_or(0),
                example: r.get(3)?,
            })
        })?;
        Ok(rows)
    }

    /// The merged store of `dir`: opened if it exists, else an empty file that the first
    /// [`Store::absorb`] gives the shards' tables and design.
    pub fn merge_target(dir: &Path) -> Result<Store, StoreError> {
        Store::open_rw(&Store::path_in(dir))
    }

    /// Copy into this store every unit that the store at `source` marked complete and this one lacks, in
    /// one transaction; create this store's tables and design rows from `source` if it has none yet.
    /// Returns the number of units copied.
    pub fn absorb(&self, source: &Path) -> Result<u64, StoreError> {
        let attach = self
            .conn
            .execute("ATTACH DATABASE ?1 AS shard", [source.to_string_lossy()]);
        attach.map_err(|e| self.err(e))?;
        let copied = copy_units(&self.conn);
        let detached = self.conn.execute_batch("DETACH DATABASE shard");
        let copied = copied.map_err(|e| self.err(e))?;
        detached.map_err(|e| self.err(e))?;
        Ok(copied)
    }

    /// Record whether the study is finished (every unit stored) or not.
    pub fn set_finished(&self, finished: bool) -> Result<(), StoreError> {
        let at = finished.then(super::now_utc);
        self.conn
            .execute("UPDATE study SET finished_at = ?1 WHERE id = 1", [at])
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}

/// The body of [`Store::absorb`], with the shard attached as `shard`.
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
    Ok(u64::try_from(copied).unwrap_or(0))
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
