//! `JournalLock`: at most one process writes a journal at a time.
//!
//! Two senders on one journal could both claim the same message, so every
//! writable open takes an exclusive lock on a sidecar file `<journal>.lock`.
//! It is an OS file lock (`flock` on Unix, `LockFileEx` on Windows), so the
//! kernel releases it when the process ends in any way, kill -9 included:
//! there is never a stale lock to delete by hand. The holder writes its pid
//! into the file so a second process can say who holds it. The sidecar is
//! left in place on exit; deleting it would race with the next process.
//!
//! Read-only opens (`outreach status`) take no lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::journal::error::JournalError;

/// An exclusive lock on a journal, held until dropped.
#[derive(Debug)]
pub struct JournalLock {
    // Closing the file releases the lock.
    _file: File,
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
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(JournalError::io(&path, "opening the lock file"))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(JournalError::Locked {
                    path: db_path.to_path_buf(),
                    pid: read_pid(&mut file),
                });
            }
            Err(TryLockError::Error(error)) => {
                return Err(JournalError::io(&path, "locking the journal")(error));
            }
        }
        let write_pid = |file: &mut File| -> std::io::Result<()> {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            writeln!(file, "{}", std::process::id())
        };
        write_pid(&mut file).map_err(JournalError::io(&path, "writing the lock file"))?;
        Ok(JournalLock { _file: file, path })
    }

    /// The sidecar file this lock holds.
    pub fn path(&self) -> &Path {
        &self.path
    }
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
