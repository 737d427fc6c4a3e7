//! Connections to a journal file: how one is opened, the pragmas of a
//! writer and of a reader, the read-only probe that recognises a file
//! without touching it, and syncing a new journal's directory entry.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::journal::error::JournalError;

/// How long a connection waits for another one's lock (checkpoints, WAL
/// recovery) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// `synchronous = FULL`: every commit is on disk before it returns. The
/// 64 MiB page cache holds the hot pages of a large journal; the memory map
/// (up to 1 GiB) lets scans (`report`, loading work) read pages without a
/// system call each; the WAL is trimmed back to 64 MiB after checkpoints.
const WRITE_PRAGMAS: &str = "
    PRAGMA synchronous = FULL;
    PRAGMA foreign_keys = ON;
    PRAGMA cache_size = -65536;
    PRAGMA mmap_size = 1073741824;
    PRAGMA journal_size_limit = 67108864;
    PRAGMA temp_store = MEMORY;";

pub(super) const READ_PRAGMAS: &str = "
    PRAGMA query_only = ON;
    PRAGMA cache_size = -65536;
    PRAGMA mmap_size = 1073741824;";

/// Makes a new journal's directory entry durable: without this, a power
/// cut soon after creation could lose the file's name even though its
/// contents were synced.
pub(super) fn sync_parent_dir(path: &Path) -> Result<(), JournalError> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        std::fs::File::open(parent)
            .and_then(|dir| dir.sync_all())
            .map_err(JournalError::io(parent, "syncing the journal's directory"))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

pub(super) fn open_connection(path: &Path, flags: OpenFlags) -> Result<Connection, JournalError> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(JournalError::sqlite(path, "opening the journal"))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(JournalError::sqlite(path, "configuring the connection"))?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

/// A read-only connection for recognising a file. `immutable` (no locks, no
/// `-wal`/`-shm`) when no `-wal` file exists, i.e. no connection has the
/// file open in WAL mode; otherwise an ordinary read-only one, whose files
/// exist already. Only a few header pages are read through it.
pub(super) fn probe_connection(path: &Path) -> Result<Connection, JournalError> {
    let mut wal = path.as_os_str().to_os_string();
    wal.push("-wal");
    if Path::new(&wal).exists() {
        return open_connection(path, OpenFlags::SQLITE_OPEN_READ_ONLY);
    }
    match immutable_uri(path) {
        Some(uri) => open_connection(
            Path::new(&uri),
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(|error| match error {
            JournalError::Sqlite { action, source, .. } => JournalError::Sqlite {
                path: path.to_path_buf(),
                action,
                source,
            },
            other => other,
        }),
        None => open_connection(path, OpenFlags::SQLITE_OPEN_READ_ONLY),
    }
}

/// `file:<path>?immutable=1`, the path percent-encoded (`?`, `#` and `%`
/// would end or escape it).
#[cfg(unix)]
fn immutable_uri(path: &Path) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    let mut uri = String::from("file:");
    for &byte in path.as_os_str().as_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    Some(uri)
}

/// Elsewhere (drive letters, backslashes) the ordinary connection is used.
#[cfg(not(unix))]
fn immutable_uri(_path: &Path) -> Option<String> {
    None
}

pub(super) fn configure_writer(conn: &Connection, path: &Path) -> Result<(), JournalError> {
    // WAL is persistent; on a file system without shared memory SQLite keeps
    // its rollback journal, which is just as durable but blocks readers
    // while writing.
    let _mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(JournalError::sqlite(path, "configuring the connection"))?;
    conn.execute_batch(WRITE_PRAGMAS)
        .map_err(JournalError::sqlite(path, "configuring the connection"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn immutable_uris_escape_what_would_end_the_path() {
        assert_eq!(
            immutable_uri(Path::new("/tmp/a b/c?#%.db")).as_deref(),
            Some("file:/tmp/a%20b/c%3F%23%25.db?immutable=1")
        );
    }
}
