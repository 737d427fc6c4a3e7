//! Creating a journal atomically, and fast.
//!
//! A new journal is built in a sidecar file, `<journal>.creating`, and
//! renamed into place once `create_campaign` has committed the whole plan.
//! So a journal at its real path always holds a complete campaign: an
//! interrupted `send` leaves no journal (the next run starts over), never
//! half of one.
//!
//! Because nobody else can see the sidecar (the journal's lock is held from
//! the start), it is written with an in-memory rollback journal and without
//! fsyncs, which stores a million-message plan about 40% faster than WAL
//! mode, where every page is written twice (to the WAL, then to the
//! database). Durability comes afterwards, in order: fsync of the file,
//! rename, fsync of the directory, then the journal is reopened in WAL mode
//! with `synchronous = FULL` like any other.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::journal::error::JournalError;
use crate::journal::lock::JournalLock;
use crate::journal::schema;
use crate::journal::sqlite::{Mode, SqliteStore};
use crate::journal::sqlite_connection::{configure_writer, open_connection, sync_parent_dir};

/// Only this process can see the file being built: a crash just leaves a
/// sidecar that the next `create` removes.
const BUILD_PRAGMAS: &str = "
    PRAGMA journal_mode = MEMORY;
    PRAGMA synchronous = OFF;
    PRAGMA foreign_keys = ON;
    PRAGMA cache_size = -65536;
    PRAGMA temp_store = MEMORY;";

/// The sidecar a new journal at `path` is built in.
fn building_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".creating");
    PathBuf::from(name)
}

pub(super) fn create(path: &Path) -> Result<SqliteStore, JournalError> {
    let exists = || JournalError::AlreadyExists {
        path: path.to_path_buf(),
    };
    if path.exists() {
        return Err(exists());
    }
    let lock = JournalLock::acquire(path)?;
    if path.exists() {
        return Err(exists()); // it appeared between the check and the lock
    }
    let building = building_path(path);
    // Left by a run that died while creating; ours, since we hold the lock.
    remove_database_files(&building);
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&building)
        .map_err(JournalError::io(&building, "creating the journal"))?;
    let conn = initialise(&building, path).inspect_err(|_| remove_database_files(&building))?;
    Ok(SqliteStore {
        conn,
        path: path.to_path_buf(),
        mode: Mode::Creating { building },
        _lock: Some(lock),
    })
}

fn initialise(building: &Path, path: &Path) -> Result<Connection, JournalError> {
    let mut conn = open_connection(building, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    conn.execute_batch(BUILD_PRAGMAS)
        .map_err(JournalError::sqlite(path, "configuring the connection"))?;
    schema::migrate(&mut conn, path, 0)?;
    conn.execute(
        "INSERT INTO outreach_meta (key, value) VALUES ('created_by', ?1)",
        [concat!("outreach ", env!("CARGO_PKG_VERSION"))],
    )
    .map_err(JournalError::sqlite(path, "creating the journal"))?;
    Ok(conn)
}

/// After `create_campaign` committed: makes the built file durable, moves it
/// to the journal's path and reopens it in WAL mode. Does nothing for a
/// journal that already exists.
pub(super) fn finish(store: &mut SqliteStore) -> Result<(), JournalError> {
    let Mode::Creating { building } = &store.mode else {
        return Ok(());
    };
    let building = building.clone();
    let path = store.path.clone();
    let built = std::mem::replace(&mut store.conn, placeholder(&path)?);
    built
        .close()
        .map_err(|(_, error)| JournalError::sqlite(&path, "closing the new journal")(error))?;
    File::open(&building)
        .and_then(|file| file.sync_all())
        .map_err(JournalError::io(&building, "syncing the new journal"))?;
    if path.exists() {
        // Someone put a file there despite the lock; never replace it.
        return Err(JournalError::AlreadyExists { path });
    }
    std::fs::rename(&building, &path)
        .map_err(JournalError::io(&path, "moving the new journal into place"))?;
    store.mode = Mode::Writable;
    sync_parent_dir(&path)?;
    let conn = open_connection(&path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    configure_writer(&conn, &path)?;
    store.conn = conn;
    Ok(())
}

/// On drop: a journal still being created is abandoned, its sidecar removed.
pub(super) fn abandon(store: &mut SqliteStore) {
    let Mode::Creating { building } = &store.mode else {
        return;
    };
    let building = building.clone();
    // Close the connection first (Windows cannot delete open files).
    if let Ok(closed) = placeholder(&store.path) {
        drop(std::mem::replace(&mut store.conn, closed));
    }
    remove_database_files(&building);
}

/// A connection to stand in while the real one is closed and reopened.
fn placeholder(path: &Path) -> Result<Connection, JournalError> {
    Connection::open_in_memory().map_err(JournalError::sqlite(path, "opening a connection"))
}

fn remove_database_files(path: &Path) {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_os_string();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}
