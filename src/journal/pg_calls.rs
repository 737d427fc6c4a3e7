//! How `PgStore`'s calls reach its connection's thread: reads, which a
//! sending store repeats after a lost connection; writes between runs,
//! tried once (an edit may not be idempotent); and the send path's batches,
//! recorded exactly once through lost connections (`pg_commits`). The
//! campaign's writer lock lives here too, since a new connection of a
//! `send` or `resume` must take it again (a worker's store holds none).

use std::sync::Arc;

use crate::journal::error::JournalError;
use crate::journal::pg::{Ctx, LOCK_CLASS, Mode, PgStore};
use crate::journal::pg_commits::{self as commits, Marker};
use crate::journal::pg_conn::Session;
use crate::journal::pg_reconnect::{GiveUp, Reconnect, retrying};
use crate::journal::store::{JournalUpdate, Refusal};

impl PgStore {
    /// Runs a read of the campaign on the connection's thread. A sending
    /// store reads again after a lost connection (reads may run twice).
    pub(super) fn read<R: Send + 'static>(
        &self,
        mut f: impl FnMut(&mut Session, &Ctx) -> Result<R, JournalError> + Send + 'static,
    ) -> Result<R, JournalError> {
        if self.mode != Mode::Writable {
            return self.read_once(f);
        }
        let ctx = self.ctx()?;
        let (lock, give_up) = (self.lock_to_restore(), self.give_up.clone());
        self.conn.run(move |session| {
            let restore = |session: &mut Session| lock.restore(session);
            let how = reconnect_with(&give_up, &ctx.location, &restore);
            retrying(session, &how, |session| f(session, &ctx))
        })
    }

    fn read_once<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Session, &Ctx) -> Result<R, JournalError> + Send + 'static,
    ) -> Result<R, JournalError> {
        let ctx = self.ctx()?;
        self.conn.run(move |session| f(session, &ctx))
    }

    /// Runs a write of the campaign on the connection's thread; refused on
    /// a store opened read-only or for stops. Not repeated after a lost
    /// connection: an edit between runs may not be idempotent.
    pub(super) fn write<R: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Session, &Ctx) -> Result<R, JournalError> + Send + 'static,
    ) -> Result<R, JournalError> {
        if self.mode != Mode::Writable {
            return Err(self.read_only());
        }
        self.read_once(f)
    }

    /// The send path's write: `batch` recorded exactly once, through lost
    /// connections (`pg_commits`).
    pub(super) fn record_batch(
        &mut self,
        batch: Vec<JournalUpdate>,
    ) -> Result<Vec<Refusal>, JournalError> {
        if self.mode != Mode::Writable {
            return Err(self.read_only());
        }
        let ctx = self.ctx()?;
        self.batches += 1;
        let marker = Marker {
            holder: self.holder.clone(),
            batch: self.batches,
        };
        let (lock, give_up) = (self.lock_to_restore(), self.give_up.clone());
        self.conn.run(move |session| {
            let restore = |session: &mut Session| lock.restore(session);
            let how = reconnect_with(&give_up, &ctx.location, &restore);
            commits::record_exactly_once(session, &ctx, &batch, &marker, &how)
        })
    }
}

impl PgStore {
    /// The writer lock a new connection must take again: the one a `send`
    /// or `resume` took. A worker's store takes none (each claim checks its
    /// account's lease instead).
    fn lock_to_restore(&self) -> LockToRestore {
        LockToRestore(self.lease.is_none().then(|| self.writer_lock()))
    }
}

struct LockToRestore(Option<WriterLock>);

impl LockToRestore {
    fn restore(&self, session: &mut Session) -> Result<(), JournalError> {
        self.0.as_ref().map_or(Ok(()), |lock| lock.take(session))
    }
}

fn reconnect_with<'a>(
    give_up: &'a GiveUp,
    location: &'a str,
    restore: &'a dyn Fn(&mut Session) -> Result<(), JournalError>,
) -> Reconnect<'a> {
    Reconnect {
        give_up,
        location,
        restore,
    }
}

/// The campaign's writer lock: a session-level advisory lock on its name,
/// taken when a sending store opens and again on each new connection.
pub(super) struct WriterLock {
    pub(super) name: String,
    pub(super) url: String,
    pub(super) location: Arc<str>,
}

impl WriterLock {
    /// Takes the lock, or fails with [`JournalError::CampaignBusy`]: after
    /// a lost connection, someone else is sending the campaign now.
    pub(super) fn take(&self, session: &mut Session) -> Result<(), JournalError> {
        let taken = session
            .client
            .query_one(
                "SELECT pg_try_advisory_lock($1, hashtext(current_schema() || '/' || $2))",
                &[&LOCK_CLASS, &self.name],
            )
            .map(|row| row.get::<_, bool>(0))
            .map_err(JournalError::pg(
                &self.location,
                "taking the campaign's writer lock",
            ))?;
        if taken {
            Ok(())
        } else {
            Err(JournalError::CampaignBusy {
                url: self.url.clone(),
                name: self.name.clone(),
            })
        }
    }
}
