//! The seam where each state change of a message is recorded.
//!
//! The executor calls a [`Recorder`] before every request and after every
//! response. The journal implements it durably (`before_send` resolves only
//! once "in flight" is on disk), so no crash can make a message look unsent.
//! Without a journal, [`NoRecorder`] keeps nothing.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};

/// One request and what came of it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptInfo {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub status: Option<u16>,
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    pub reset_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

/// Where a message stands after a response is the journal's own `Outcome`:
/// what the executor decides is what is stored.
pub use crate::journal::Outcome;

/// A claim refused because the message was skipped meanwhile: its recipient
/// was stopped. The message is not sent and the run goes on; every other
/// claim error stops the run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message {seq} was not sent: its recipient was stopped")]
pub struct ClaimSkipped {
    pub seq: u64,
}

/// A claim found its message already in flight. For a retry of a request
/// that may have arrived, that is the run's own earlier claim, still held;
/// for a first claim it is someone else's, and the message must not be
/// sent (the account decides which, it knows whether it is retrying).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message {seq} is already in flight under another claim, so it was not claimed again")]
pub struct ClaimInFlight {
    pub seq: u64,
}

/// A claim refused because its recipient's domain had its
/// `per_domain_daily_cap` today, counted in the database across workers.
/// The message waits for the next day.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message {seq} waits: its domain had its per_domain_daily_cap today")]
pub struct ClaimDomainFull {
    pub seq: u64,
}

pub type RecordFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// One result per claim, in order.
pub type ClaimsFuture<'a> = Pin<Box<dyn Future<Output = Vec<anyhow::Result<()>>> + Send + 'a>>;

/// Records message state changes.
pub trait Recorder: Send + Sync {
    /// Durably mark `seq` in flight; the request leaves only after this resolves.
    fn before_send(&self, seq: u64, at: DateTime<Utc>) -> RecordFuture<'_>;
    /// [`before_send`](Self::before_send) for several messages, in one
    /// commit where the store can.
    fn before_send_many<'a>(&'a self, claims: &'a [(u64, DateTime<Utc>)]) -> ClaimsFuture<'a> {
        Box::pin(async move {
            let mut results = Vec::with_capacity(claims.len());
            for &(seq, at) in claims {
                results.push(self.before_send(seq, at).await);
            }
            results
        })
    }
    fn attempt(&self, attempt: AttemptInfo);
    fn outcome(&self, seq: u64, outcome: Outcome);
    /// Make everything recorded so far durable.
    fn flush(&self) -> RecordFuture<'_>;
}

/// Records nothing (used by tests of the executor alone).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoRecorder;

impl Recorder for NoRecorder {
    fn before_send(&self, _seq: u64, _at: DateTime<Utc>) -> RecordFuture<'_> {
        Box::pin(async { Ok(()) })
    }

    fn attempt(&self, _attempt: AttemptInfo) {}

    fn outcome(&self, _seq: u64, _outcome: Outcome) {}

    fn flush(&self) -> RecordFuture<'_> {
        Box::pin(async { Ok(()) })
    }
}
