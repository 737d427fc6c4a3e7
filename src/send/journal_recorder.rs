//! The journal behind the executor's [`Recorder`] seam.
//!
//! `before_send` waits for the group commit that makes the message durably
//! `in_flight`; attempts and outcomes ride along in the next commit.

use chrono::{DateTime, Utc};

use super::recorder::{
    AttemptInfo, ClaimDomainFull, ClaimInFlight, ClaimSkipped, ClaimsFuture, Outcome, RecordFuture,
    Recorder,
};
use crate::journal::{
    AttemptRecord, JournalError, JournalHandle, JournalUpdate, MessageState, RateLimitSnapshot,
};

/// Records every state change in the campaign journal.
#[derive(Clone, Debug)]
pub struct JournalRecorder {
    handle: JournalHandle,
}

impl JournalRecorder {
    pub fn new(handle: JournalHandle) -> JournalRecorder {
        JournalRecorder { handle }
    }

    pub fn handle(&self) -> &JournalHandle {
        &self.handle
    }
}

fn clamp(value: Option<u64>) -> Option<u32> {
    value.map(|v| u32::try_from(v).unwrap_or(u32::MAX))
}

/// A message found in flight is [`ClaimInFlight`]: the account's own claim
/// when it retries a request that may have arrived, anyone else's
/// otherwise. A skipped message was stopped (`outreach stop`, a
/// do-not-contact list) since the run loaded it: [`ClaimSkipped`], which
/// the account passes over.
fn claimed(result: Result<(), JournalError>) -> anyhow::Result<()> {
    match result {
        Ok(()) => Ok(()),
        Err(JournalError::NotClaimable {
            seq,
            state: Some(MessageState::InFlight),
        }) => Err(ClaimInFlight { seq }.into()),
        Err(JournalError::DomainFull { seq }) => Err(ClaimDomainFull { seq }.into()),
        Err(JournalError::NotClaimable {
            seq,
            state: Some(MessageState::Skipped),
        }) => Err(ClaimSkipped { seq }.into()),
        Err(error) => Err(error.into()),
    }
}

impl Recorder for JournalRecorder {
    fn before_send(&self, seq: u64, at: DateTime<Utc>) -> RecordFuture<'_> {
        Box::pin(async move { claimed(self.handle.begin_send(seq, at).await) })
    }

    fn before_send_many<'a>(&'a self, claims: &'a [(u64, DateTime<Utc>)]) -> ClaimsFuture<'a> {
        Box::pin(async move {
            let results = self.handle.begin_send_many(claims).await;
            results.into_iter().map(claimed).collect()
        })
    }

    fn attempt(&self, attempt: AttemptInfo) {
        let snapshot = RateLimitSnapshot {
            limit: clamp(attempt.limit),
            remaining: clamp(attempt.remaining),
            reset_at: attempt.reset_at,
        };
        self.handle.record(JournalUpdate::Attempt(AttemptRecord {
            seq: attempt.seq,
            at: attempt.at,
            status: attempt.status,
            rate_limit: (!snapshot.is_empty()).then_some(snapshot),
            error: attempt.error,
        }));
    }

    fn outcome(&self, seq: u64, outcome: Outcome) {
        self.handle.record(JournalUpdate::Outcome { seq, outcome });
    }

    fn flush(&self) -> RecordFuture<'_> {
        Box::pin(async move { self.handle.flush().await.map_err(anyhow::Error::from) })
    }
}
