//! Reading a journal file once without leaving anything beside it, for
//! `send --dry-run`, which promises to create no file.
//!
//! An ordinary read-only connection to a WAL journal creates `-wal` and
//! `-shm` files when there are none, and cannot remove them afterwards.
//! When no `-wal` file exists nobody has the journal open and all of it is
//! in the main file, so the probe's `immutable` connection reads it whole
//! and touches nothing; when one exists, the ordinary connection uses the
//! files already there.

use std::path::Path;

use crate::journal::error::JournalError;
use crate::journal::schema;
use crate::journal::sqlite::SqliteStore;
use crate::journal::sqlite_connection::probe_connection;

impl SqliteStore {
    /// Opens an existing journal for one short read, creating no file: the
    /// checks of [`SqliteStore::open_read_only`], then reads through the
    /// probe's connection. For a journal no sender works on (an immutable
    /// read does not see a writer's changes).
    pub fn open_untouched(path: impl AsRef<Path>) -> Result<SqliteStore, JournalError> {
        let path = path.as_ref();
        schema::check_header(path)?;
        let conn = probe_connection(path)?;
        let version = schema::inspect(&conn, path)?;
        SqliteStore::reading(conn, path, version)
    }
}
