//! `JournalLock`: at most one process writes a journal at a time.
//!
//! Two senders on one journal could both claim the same message, so every
//! writable open takes an exclusive lock on a sidecar file `<journal>.lock`.
//! It is an OS file lock (`flock` on Unix, `LockFileEx` on Windows), so the
//! kernel releases it when the process ends in any way, kill -9 included:
//! there is never a stale lock to delete by hand. The holder writes its pid
//! into the file so a second process can say who holds it.
//!
//! The holder deletes the sidecar when it lets go (on Unix), so a finished
//! campaign leaves no `.lock` behind. Deleting is safe because it happens
//! *while the lock is held*, and a process that takes the lock checks that
//! the file it locked is still the one at the path; if it was deleted in
//! between, it starts over with a new file. A `kill -9` leaves the file, and
//! the next process simply takes it.
//!
//! Read-only opens (`outreach status`) take no lock; `status` asks
//! [`JournalLock::holder`] whether a sender is running, without creating
//! the sidecar.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::journal::error::JournalError;

/// An exclusive lock on a journal, held until dropped.
#[derive(Debug)]
pub struct JournalLock {
    // Closing the file releases the lock.
    file: File,
    path: PathBuf,
}

impl JournalLock {
    /// The sidecar lock file of the journal at `db_path`.
    pub fn lock_path(db_path: &Path) -> PathBuf {
        let mut name = db_path.as_os_str().to_os_string();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// Takes the lock without waiting; fails with [`JournalError::Locked`]
    /// (naming the holder's pid when known) if another process holds it.
    pub fn acquire(db_path: &Path) -> Result<JournalLock, JournalError> {
        let path = Self::lock_path(db_path);
        // A holder may delete the file between our open and our lock; then
        // we hold a lock nobody else can see, and try again.
        loop {
            let file = Self::try_acquire(db_path, &path)?;
            if same_file(&file, &path) {
                return Self::finish(file, path);
            }
        }
    }

    fn try_acquire(db_path: &Path, path: &Path) -> Result<File, JournalError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(JournalError::io(path, "opening the lock file"))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(TryLockError::WouldBlock) => Err(JournalError::Locked {
                path: db_path.to_path_buf(),
                pid: read_pid(&mut file),
            }),
            Err(TryLockError::Error(error)) => {
                Err(JournalError::io(path, "locking the journal")(error))
            }
        }
    }

    fn finish(mut file: File, path: PathBuf) -> Result<JournalLock, JournalError> {
        let write_pid = |file: &mut File| -> std::io::Result<()> {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            writeln!(file, "{}", std::process::id())
        };
        write_pid(&mut file).map_err(JournalError::io(&path, "writing the lock file"))?;
        Ok(JournalLock { file, path })
    }

    /// Whether a process holds the lock of the journal at `db_path` right
    /// now, and its pid if known: `Some(pid)` while a sender runs, `None`
    /// when none does. Creates no file: without a sidecar nobody holds it.
    pub fn holder(db_path: &Path) -> Option<Option<u32>> {
        let path = Self::lock_path(db_path);
        let mut file = OpenOptions::new().read(true).open(path).ok()?;
        match file.try_lock() {
            // Free: ours for an instant, released when `file` closes.
            Ok(()) => None,
            Err(TryLockError::WouldBlock) => Some(read_pid(&mut file)),
            Err(TryLockError::Error(_)) => None,
        }
    }

    /// The sidecar file this lock holds.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for JournalLock {
    fn drop(&mut self) {
        // Still holding the lock: nobody can be between opening and locking
        // this file and then keep using it (see `acquire`).
        #[cfg(unix)]
        if same_file(&self.file, &self.path) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether `file` is the file now at `path` (not deleted or replaced).
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

/// Elsewhere the file is never deleted, so the one locked is the one named.
#[cfg(not(unix))]
fn same_file(_file: &File, _path: &Path) -> bool {
    true
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_fails_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("c.journal");
        let lock = JournalLock::acquire(&db).unwrap();
        assert_eq!(lock.path(), dir.path().join("c.journal.lock"));
        match JournalLock::acquire(&db) {
            Err(JournalError::Locked { path, pid }) => {
                assert_eq!(path, db);
                assert_eq!(pid, Some(std::process::id()));
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(lock);
        JournalLock::acquire(&db).expect("the lock is free once dropped");
    }

    #[cfg(unix)]
    #[test]
    fn letting_go_removes_the_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("c.journal");
        let lock = JournalLock::acquire(&db).unwrap();
        assert!(lock.path().exists());
        drop(lock);
        assert!(!JournalLock::lock_path(&db).exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_lock_on_a_deleted_file_is_not_kept() {
        // A process that opened the sidecar just before its holder deleted
        // it must not believe it holds the lock: the file it locked is gone.
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("c.journal");
        let path = JournalLock::lock_path(&db);
        let early = JournalLock::try_acquire(&db, &path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(!same_file(&early, &path));
        let lock = JournalLock::acquire(&db).unwrap();
        assert!(same_file(&lock.file, &path));
    }

    #[test]
    fn holder_names_a_running_sender_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("c.journal");
        assert_eq!(JournalLock::holder(&db), None);
        assert!(!JournalLock::lock_path(&db).exists());
        let lock = JournalLock::acquire(&db).unwrap();
        assert_eq!(JournalLock::holder(&db), Some(Some(std::process::id())));
        drop(lock);
        assert_eq!(JournalLock::holder(&db), None);
    }

    #[test]
    fn a_stale_lock_file_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("c.journal");
        std::fs::write(JournalLock::lock_path(&db), "999999\n").unwrap();
        let _lock = JournalLock::acquire(&db).unwrap();
        let text = std::fs::read_to_string(JournalLock::lock_path(&db)).unwrap();
        assert_eq!(text, format!("{}\n", std::process::id()));
    }
}
