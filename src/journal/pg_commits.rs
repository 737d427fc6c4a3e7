//! Whether a commit happened when its answer was lost: commit markers.
//!
//! A connection lost after COMMIT was sent and before its answer came
//! leaves the batch's fate unknown: committed (its claims are durable; a
//! replay would claim them again, or refuse them as in flight) or rolled
//! back (a claim's request must not leave without it). So each send-path
//! transaction also inserts a marker row in `commits` (`holder`: this
//! store's session, `batch`: a counter) and deletes the holder's older
//! ones. After reconnecting (`pg_reconnect`, which first ends the lost
//! server process, so the answer is final), the marker decides
//! ([`settle`]): present, the batch committed and its result computed in
//! the transaction (the refusals) stands; absent, it rolled back and the
//! whole batch is replayed in a new transaction. Nothing lost, nothing
//! twice. docs/design.md ("A lost commit is settled by a marker") says why
//! markers.

use std::sync::Arc;

use postgres::{Statement, Transaction};

use crate::journal::error::JournalError;
use crate::journal::pg::Ctx;
use crate::journal::pg_conn::Session;
use crate::journal::pg_reconnect::{Reconnect, lost_in, reconnect, retrying};
use crate::journal::pg_write as write;
use crate::journal::store::{JournalUpdate, Refusal};

/// Why a send-path transaction did not commit (see `pg_commits`).
#[derive(Debug)]
pub(crate) enum RecordError {
    /// Before COMMIT: nothing of it was committed.
    Before(JournalError),
    /// COMMIT was sent and failed or went unanswered: it may have committed,
    /// with these refusals.
    AtCommit {
        refusals: Vec<Refusal>,
        error: Box<JournalError>,
    },
}

impl From<JournalError> for RecordError {
    fn from(error: JournalError) -> RecordError {
        RecordError::Before(error)
    }
}

/// The marker of one send-path transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marker {
    pub(crate) holder: Arc<str>,
    pub(crate) batch: i64,
}

/// Inserts a marker and deletes its holder's older ones, in one round
/// trip; the time is the server's.
const MARK: &str = "WITH older AS (DELETE FROM commits WHERE holder = $1 AND batch < $2)
     INSERT INTO commits (holder, batch, at_ns)
     VALUES ($1, $2, (extract(epoch FROM clock_timestamp()) * 1000000000)::bigint)";

const FOUND: &str = "SELECT EXISTS (SELECT 1 FROM commits WHERE holder = $1 AND batch = $2)";

/// What a batch whose commit went unanswered turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    /// Its marker is there: it committed.
    Committed,
    /// Its marker is not: it rolled back; replay it.
    Replay,
}

impl Marker {
    /// The statement [`Marker::insert`] runs, prepared once per session.
    pub(crate) fn prepare(session: &mut Session) -> Result<Statement, postgres::Error> {
        session.statement(MARK)
    }

    /// Marks `tx` as this batch's: committed with it or not at all.
    pub(crate) fn insert(
        &self,
        tx: &mut Transaction<'_>,
        mark: &Statement,
        ctx: &Ctx,
    ) -> Result<(), JournalError> {
        tx.execute(mark, &[&&*self.holder, &self.batch])
            .map(drop)
            .map_err(ctx.pg("marking the commit"))
    }
}

/// Looks the marker up, on a connection opened after the lost one's server
/// process ended.
pub(crate) fn settle(
    session: &mut Session,
    marker: &Marker,
    ctx: &Ctx,
) -> Result<Settled, JournalError> {
    let found: bool = session
        .client
        .query_one(FOUND, &[&&*marker.holder, &marker.batch])
        .map_err(ctx.pg("looking up the last commit"))?
        .get(0);
    Ok(if found {
        Settled::Committed
    } else {
        Settled::Replay
    })
}

/// Records `batch` exactly once, riding out lost connections: a failure
/// before COMMIT is replayed; an unanswered COMMIT is settled by `marker`.
pub(crate) fn record_exactly_once(
    session: &mut Session,
    ctx: &Ctx,
    batch: &[JournalUpdate],
    marker: &Marker,
    how: &Reconnect<'_>,
) -> Result<Vec<Refusal>, JournalError> {
    loop {
        let (error, refusals) = match write::record(session, ctx, batch, marker) {
            Ok(refusals) => return Ok(refusals),
            Err(RecordError::Before(error)) => (error, None),
            Err(RecordError::AtCommit { refusals, error }) => (*error, Some(refusals)),
        };
        if lost_in(&error).is_none() {
            return Err(error);
        }
        reconnect(session, how, error)?;
        // Rolled back for sure when the connection went before COMMIT.
        let Some(refusals) = refusals else { continue };
        if retrying(session, how, |session| settle(session, marker, ctx))? == Settled::Committed {
            return Ok(refusals);
        }
    }
}

/// Deletes the holder's markers (when its store closes): nothing is left
/// to settle.
pub(crate) fn forget(session: &mut Session, holder: &str) {
    let _ = session
        .client
        .execute("DELETE FROM commits WHERE holder = $1", &[&holder]);
}

/// An id for a store's session, unique across processes and machines:
/// the host's name, the pid, and the time it was made.
pub(crate) fn new_holder() -> Arc<str> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "host".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    format!("{host}/{}/{nanos:x}", std::process::id()).into()
}

#[cfg(test)]
#[path = "pg_commits_tests.rs"]
mod tests;
