//! `SqliteStore`: the journal as one SQLite file, the default backend.
//!
//! This file holds the connection's life: opening and validating a journal
//! and the `CampaignStore` impl, which delegates to `sqlite_write` (the send
//! path), `sqlite_edits` (manual changes between runs), `sqlite_read`
//! (loading the work) and `sqlite_report` (`status` and `report`). Creating
//! one is in `sqlite_create`; connections and their pragmas in
//! `sqlite_connection`.
//!
//! Durability: WAL mode with `synchronous = FULL`, so every commit is on disk
//! before it returns, in particular the one marking a message in flight,
//! which happens before its request leaves the process. WAL also lets
//! `outreach status` read (through [`SqliteStore::open_read_only`]) while a
//! sender writes, without either waiting for the other.
//!
//! Safety of existing files: a file is recognised through a read-only
//! connection ([`schema::inspect`]) before any writable connection or pragma
//! touches it, so a foreign, damaged or newer file is never modified. When
//! no `-wal` file lies beside it (nobody has it open, nothing waits to be
//! checkpointed), that first connection is opened `immutable`: a read-only
//! connection to a WAL database would otherwise create `-wal` and `-shm`
//! files beside a file it is about to call damaged and untouched.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};

use crate::journal::error::JournalError;
use crate::journal::lock::JournalLock;
use crate::journal::model::{
    AttemptRecord, CampaignMeta, MessageState, NewMessage, PreviousStep, Rerender, StoredMessage,
};
use crate::journal::report::{ReportRow, RowDigest, StatusSummary, StepCounts};
use crate::journal::schema;
use crate::journal::sqlite_connection::{
    READ_PRAGMAS, configure_writer, open_connection, probe_connection,
};
use crate::journal::stops::{StopReport, StopRequest, StopTarget};
use crate::journal::store::{CampaignStore, JournalUpdate, Refusal};
use crate::journal::{
    sqlite_create as create, sqlite_edits as edits, sqlite_read as read, sqlite_report as report,
    sqlite_stops as stops, sqlite_write as write,
};

/// A campaign journal in one SQLite file. Writable stores hold the journal's
/// [`JournalLock`] until dropped.
#[derive(Debug)]
pub struct SqliteStore {
    // Declared before the lock, so the connection closes first.
    pub(super) conn: Connection,
    pub(super) path: PathBuf,
    pub(super) mode: Mode,
    pub(super) _lock: Option<JournalLock>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Mode {
    ReadOnly,
    Writable,
    /// Made by `open_for_stops`: records stops, nothing else, without the
    /// sender's lock.
    StopsOnly,
    /// Made by `create`: the connection is on `building`, which becomes the
    /// journal when `create_campaign` commits (see `sqlite_create`).
    Creating {
        building: PathBuf,
    },
}

impl SqliteStore {
    /// Starts a new journal at `path`, taking its lock. Fails with
    /// [`JournalError::AlreadyExists`] if anything is there already.
    ///
    /// The journal appears at `path` only once
    /// [`create_campaign`](CampaignStore::create_campaign) has committed the
    /// whole plan, so an interrupted `send` never leaves half a journal.
    pub fn create(path: impl AsRef<Path>) -> Result<SqliteStore, JournalError> {
        create::create(path.as_ref())
    }

    /// Opens an existing journal for writing, taking its lock and upgrading
    /// an older schema. Fails without touching the file if it is missing,
    /// not an SQLite file, damaged, another program's, newer than this build,
    /// or locked by another `outreach send`/`resume`.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, JournalError> {
        let path = path.as_ref();
        schema::check_header(path)?;
        // Recognise the file before anything can write to it.
        {
            let probe = probe_connection(path)?;
            schema::inspect(&probe, path)?;
        }
        let lock = JournalLock::acquire(path)?;
        let mut conn = open_connection(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        // Again under the lock: the file may have changed in between.
        let version = schema::inspect(&conn, path)?;
        configure_writer(&conn, path)?;
        if version < schema::SCHEMA_VERSION {
            schema::migrate(&mut conn, path, version)?;
        }
        Ok(SqliteStore {
            conn,
            path: path.to_path_buf(),
            mode: Mode::Writable,
            _lock: Some(lock),
        })
    }

    /// Opens an existing journal for reading only (`outreach status`,
    /// `report`), without the lock: it neither waits for nor slows down a
    /// sender working on the same journal. Write methods fail with
    /// [`JournalError::ReadOnly`].
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<SqliteStore, JournalError> {
        let path = path.as_ref();
        schema::check_header(path)?;
        let version = {
            let probe = probe_connection(path)?;
            schema::inspect(&probe, path)?
        };
        // A journal: read it through SQLite's usual locking, since a sender
        // may start while we read.
        let conn = open_connection(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        SqliteStore::reading(conn, path, version)
    }

    /// A read-only store on `conn`, whose journal has schema `version`:
    /// an older schema is refused (reading never migrates).
    pub(super) fn reading(
        conn: Connection,
        path: &Path,
        version: i64,
    ) -> Result<SqliteStore, JournalError> {
        if version < schema::SCHEMA_VERSION {
            return Err(JournalError::OlderSchema {
                path: path.to_path_buf(),
                found: version,
                supported: schema::SCHEMA_VERSION,
            });
        }
        conn.execute_batch(READ_PRAGMAS)
            .map_err(JournalError::sqlite(path, "configuring the connection"))?;
        Ok(SqliteStore {
            conn,
            path: path.to_path_buf(),
            mode: Mode::ReadOnly,
            _lock: None,
        })
    }

    /// Opens an existing journal to record stops ([`SqliteStore::stop`])
    /// while a sender may be running: without the lock, which the sender
    /// holds. Safe because a stop and a claim are each one SQLite
    /// transaction (WAL, with a busy timeout): whichever commits first wins,
    /// and the other sees it. Other write methods fail with
    /// [`JournalError::ReadOnly`]. A journal of an older schema is upgraded
    /// first, which needs the lock (no sender running).
    pub fn open_for_stops(path: impl AsRef<Path>) -> Result<SqliteStore, JournalError> {
        let path = path.as_ref();
        schema::check_header(path)?;
        let version = {
            let probe = probe_connection(path)?;
            schema::inspect(&probe, path)?
        };
        if version < schema::SCHEMA_VERSION {
            // Upgrades under the lock, then lets it go at once.
            drop(SqliteStore::open(path)?);
        }
        let conn = open_connection(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        schema::inspect(&conn, path)?;
        configure_writer(&conn, path)?;
        Ok(SqliteStore {
            conn,
            path: path.to_path_buf(),
            mode: Mode::StopsOnly,
            _lock: None,
        })
    }

    /// Records a stop and skips every message of its targets that has not
    /// gone, in one transaction (see [`crate::journal::stops`]). Works on a
    /// store from [`open`](Self::open) or [`open_for_stops`](Self::open_for_stops).
    pub fn stop(&mut self, request: &StopRequest) -> Result<StopReport, JournalError> {
        if !matches!(self.mode, Mode::Writable | Mode::StopsOnly) {
            return Err(JournalError::ReadOnly {
                path: self.path.clone(),
            });
        }
        stops::record_stop(&mut self.conn, &self.path, request)
    }

    /// Every stop recorded, oldest first: `(target, reason, source)`.
    pub fn stops(&self) -> Result<Vec<(StopTarget, String, String)>, JournalError> {
        stops::stops(&self.conn, &self.path)
    }

    /// Messages skipped because their recipient was stopped, counted by the
    /// stop's reason, most first.
    pub fn stopped_by_reason(&self) -> Result<Vec<(String, u64)>, JournalError> {
        stops::stopped_by_reason(&self.conn, &self.path)
    }

    /// Per step of a sequence (index 0 = step 1): counts by state, and how
    /// many pending follow-ups still wait for their previous step to go out.
    /// Reads every message: only for campaigns with `[[steps]]`.
    pub fn step_counts(&self) -> Result<Vec<StepCounts>, JournalError> {
        report::step_counts(&self.conn, &self.path)
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    fn writable(&mut self) -> Result<&mut Connection, JournalError> {
        if matches!(self.mode, Mode::ReadOnly | Mode::StopsOnly) {
            return Err(JournalError::ReadOnly {
                path: self.path.clone(),
            });
        }
        Ok(&mut self.conn)
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        create::abandon(self);
    }
}

impl CampaignStore for SqliteStore {
    fn create_campaign(
        &mut self,
        meta: &CampaignMeta,
        messages: &[NewMessage],
    ) -> Result<(), JournalError> {
        let path = self.path.clone();
        write::create_campaign(self.writable()?, &path, meta, messages)?;
        create::finish(self)
    }

    fn campaign(&self) -> Result<Option<CampaignMeta>, JournalError> {
        read::campaign(&self.conn, &self.path)
    }

    fn messages_in_state(
        &self,
        states: &[MessageState],
    ) -> Result<Vec<StoredMessage>, JournalError> {
        read::messages_in_state(&self.conn, &self.path, states)
    }

    fn row_digests(
        &self,
        f: &mut dyn FnMut(RowDigest) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        read::row_digests(&self.conn, &self.path, f)
    }

    fn recover_in_flight(&mut self) -> Result<u64, JournalError> {
        let path = self.path.clone();
        write::recover_in_flight(self.writable()?, &path)
    }

    fn record(&mut self, batch: &[JournalUpdate]) -> Result<Vec<Refusal>, JournalError> {
        let path = self.path.clone();
        write::record(self.writable()?, &path, batch)
    }

    fn sends_since(
        &self,
        account: &str,
        since: DateTime<Utc>,
        at_most: usize,
    ) -> Result<Vec<DateTime<Utc>>, JournalError> {
        read::sends_since(&self.conn, &self.path, account, since, at_most)
    }

    fn previous_steps(&self, seqs: &[u64]) -> Result<Vec<PreviousStep>, JournalError> {
        read::previous_steps(&self.conn, &self.path, seqs)
    }

    fn set_state_where(
        &mut self,
        from: MessageState,
        to: MessageState,
    ) -> Result<u64, JournalError> {
        let path = self.path.clone();
        edits::set_state_where(self.writable()?, &path, from, to)
    }

    fn shift_pending(&mut self, by: chrono::TimeDelta) -> Result<u64, JournalError> {
        let path = self.path.clone();
        edits::shift_pending(self.writable()?, &path, by)
    }

    fn add_messages(&mut self, messages: &[NewMessage]) -> Result<(), JournalError> {
        let path = self.path.clone();
        edits::add_messages(self.writable()?, &path, messages)
    }

    fn skip_messages(&mut self, seqs: &[u64]) -> Result<u64, JournalError> {
        let path = self.path.clone();
        edits::skip_messages(self.writable()?, &path, seqs)
    }

    fn skip_with_reasons(&mut self, skips: &[(u64, String)]) -> Result<u64, JournalError> {
        let path = self.path.clone();
        edits::skip_with_reasons(self.writable()?, &path, skips)
    }

    fn rerender(&mut self, updates: &[Rerender]) -> Result<(), JournalError> {
        let path = self.path.clone();
        edits::rerender(self.writable()?, &path, updates)
    }

    fn summary(&self) -> Result<StatusSummary, JournalError> {
        report::summary(&self.conn, &self.path)
    }

    fn report_rows(
        &self,
        f: &mut dyn FnMut(ReportRow) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        report::report_rows(&self.conn, &self.path, f)
    }

    fn attempts(&self, seq: u64) -> Result<Vec<AttemptRecord>, JournalError> {
        report::attempts(&self.conn, &self.path, seq)
    }
}

// Column codecs shared by the read and write halves.

impl ToSql for MessageState {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for MessageState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|error| FromSqlError::Other(Box::new(error)))
    }
}

/// A time as stored: nanoseconds since the Unix epoch.
pub(crate) fn to_ns(time: DateTime<Utc>) -> Result<i64, JournalError> {
    time.timestamp_nanos_opt()
        .ok_or(JournalError::TimeOutOfRange(time))
}

pub(crate) fn opt_to_ns(time: Option<DateTime<Utc>>) -> Result<Option<i64>, JournalError> {
    time.map(to_ns).transpose()
}

pub(crate) fn from_ns(ns: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn recognising_a_damaged_wal_journal_creates_no_files_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.outreach.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            schema::migrate(&mut conn, &path, 0).unwrap();
        }
        // Page 1 after the 100-byte header holds the schema: garbage there.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[100..1024].fill(0xAB);
        std::fs::write(&path, &bytes).unwrap();
        let error = SqliteStore::open_read_only(&path).unwrap_err();
        assert!(matches!(error, JournalError::Corrupt { .. }), "{error:?}");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["c.outreach.db"]);
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }
}
