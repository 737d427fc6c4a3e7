//! `CampaignStore`: the one seam between the executor and where the journal
//! lives.
//!
//! The trait is small and speaks only in model types, so a second backend
//! (PostgreSQL, for several machines sharing one campaign) plugs in without
//! touching the executor. Rules every backend must keep:
//!
//! - each `&mut self` method is one transaction: all of it happens, or none;
//! - a transaction that returns `Ok` is durable (survives power loss);
//! - a message only moves `pending -> in_flight` through a claim
//!   ([`JournalUpdate::InFlight`]), and only from `pending`;
//! - outcomes only apply to `in_flight` messages; anything else is a bug in
//!   the caller and fails the whole transaction;
//! - nothing moves a message out of `sent` or `in_flight` by hand
//!   ([`manual_transition_allowed`]).

use chrono::{DateTime, Utc};

use crate::journal::error::JournalError;
use crate::journal::model::{
    AttemptRecord, CampaignMeta, MessageState, NewMessage, Outcome, PreviousStep, Rerender,
    StoredMessage,
};
use crate::journal::pg_reconnect::GiveUp;
use crate::journal::report::{ReportRow, RowDigest, StatusSummary};

/// One change for [`CampaignStore::record`]. A batch applies in order, in one
/// transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalUpdate {
    /// Claim a pending message for sending: `pending -> in_flight`. Once this
    /// commits, the request may leave the process.
    InFlight { seq: u64, at: DateTime<Utc> },
    /// What one HTTP request returned (status, rate-limit headers, error).
    /// Counts as an attempt unless the status is 429. Record one per request,
    /// retries of an in-flight message included.
    Attempt(AttemptRecord),
    /// How an in-flight message ended.
    Outcome { seq: u64, outcome: Outcome },
}

/// A claim that was not granted because the message was not pending, or,
/// for a worker sharing a campaign, because the account's lease is no
/// longer its own or the recipient's domain is full for the day. The rest
/// of its batch still applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub seq: u64,
    /// The message's state, or `None` if no message has that `seq`.
    /// `Some(Pending)` means the account's lease was lost, whatever the
    /// message's state ([`Refusal::lease_lost`]), or, with `domain_full`,
    /// that the recipient's domain had its day's cap.
    pub state: Option<MessageState>,
    /// `per_domain_daily_cap`, counted in the database across workers, is
    /// reached for the recipient's domain on the claim's day.
    pub domain_full: bool,
}

impl Refusal {
    /// Not claimable in its state (`None`: no such message).
    pub fn not_claimable(seq: u64, state: Option<MessageState>) -> Refusal {
        Refusal {
            seq,
            state,
            domain_full: false,
        }
    }

    /// The message is pending, but its account's lease is another
    /// worker's now (or expired).
    pub fn lease_lost(seq: u64) -> Refusal {
        Refusal::not_claimable(seq, Some(MessageState::Pending))
    }

    /// The message is pending, but its domain's day is full.
    pub fn domain_full(seq: u64) -> Refusal {
        Refusal {
            domain_full: true,
            ..Refusal::lease_lost(seq)
        }
    }

    pub fn into_error(self) -> JournalError {
        match self.state {
            _ if self.domain_full => JournalError::DomainFull { seq: self.seq },
            Some(MessageState::Pending) => JournalError::LeaseLost { seq: self.seq },
            state => JournalError::NotClaimable {
                seq: self.seq,
                state,
            },
        }
    }
}

/// Whether [`CampaignStore::set_state_where`] may move messages from `from` to
/// `to`. Only `pending` and `skipped` are targets; `sent` and `in_flight` are
/// never sources, because changing them by hand could send a message twice.
pub fn manual_transition_allowed(from: MessageState, to: MessageState) -> bool {
    use MessageState::*;
    from != to
        && matches!(from, Pending | Failed | Uncertain | Skipped)
        && matches!(to, Pending | Skipped)
}

/// A durable record of one campaign. See the module docs for the rules.
pub trait CampaignStore: Send {
    /// Stores the campaign and its whole plan in one transaction. Fails with
    /// [`JournalError::CampaignExists`] if the journal already has one. A new
    /// SQLite journal appears at its path only when this commits.
    fn create_campaign(
        &mut self,
        meta: &CampaignMeta,
        messages: &[NewMessage],
    ) -> Result<(), JournalError>;

    /// The campaign, or `None` before `create_campaign`.
    fn campaign(&self) -> Result<Option<CampaignMeta>, JournalError>;

    /// Messages in any of `states`, ordered by `seq`.
    fn messages_in_state(
        &self,
        states: &[MessageState],
    ) -> Result<Vec<StoredMessage>, JournalError>;

    /// Streams `(seq, line, recipient, row_digest, state)` of every message in
    /// `seq` order, for detecting CSV rows changed since the campaign started.
    fn row_digests(
        &self,
        f: &mut dyn FnMut(RowDigest) -> Result<(), JournalError>,
    ) -> Result<(), JournalError>;

    /// After a crash: every `in_flight` message becomes `uncertain`, because
    /// its request may have reached the server. Returns how many.
    fn recover_in_flight(&mut self) -> Result<u64, JournalError>;

    /// Applies `batch` in order, in one durable transaction. Claims of
    /// messages that are not pending are refused (returned) without failing
    /// the batch; any other problem fails it all.
    fn record(&mut self, batch: &[JournalUpdate]) -> Result<Vec<Refusal>, JournalError>;

    /// Claims `seqs` for sending at `at`, in one durable transaction.
    fn mark_in_flight(
        &mut self,
        seqs: &[u64],
        at: DateTime<Utc>,
    ) -> Result<Vec<Refusal>, JournalError> {
        let batch: Vec<JournalUpdate> = seqs
            .iter()
            .map(|&seq| JournalUpdate::InFlight { seq, at })
            .collect();
        self.record(&batch)
    }

    /// Times at which `account` may have delivered a message since `since`,
    /// ascending: `sent_at` of sent messages and the latest claim of in-flight
    /// and uncertain ones (they may have reached the server, so a resumed
    /// run's rate windows must count them). Only the latest `at_most`: a
    /// rolling window of N per period needs the last N, not a campaign's
    /// half a million.
    fn sends_since(
        &self,
        account: &str,
        since: DateTime<Utc>,
        at_most: usize,
    ) -> Result<Vec<DateTime<Utc>>, JournalError>;

    /// The state and send time of each message in `seqs` (those that
    /// exist): what became of the steps pending follow-ups wait for.
    fn previous_steps(&self, seqs: &[u64]) -> Result<Vec<PreviousStep>, JournalError>;

    /// Moves every message in `from` to `to` (`--retry-failed`,
    /// `--resend-uncertain`); see [`manual_transition_allowed`]. Moving to
    /// `pending` clears the failure reason. Returns how many moved.
    fn set_state_where(
        &mut self,
        from: MessageState,
        to: MessageState,
    ) -> Result<u64, JournalError>;

    /// Moves every pending message's planned time later by `by`: a campaign
    /// that starts now starts when sending can begin, after the journal is
    /// written, and its journal says so. Returns how many moved.
    fn shift_pending(&mut self, by: chrono::TimeDelta) -> Result<u64, JournalError>;

    /// Adds messages to an existing campaign (`--allow-changes`: new rows).
    /// Fails with [`JournalError::DuplicateSeq`] if a `seq` is taken.
    fn add_messages(&mut self, messages: &[NewMessage]) -> Result<(), JournalError>;

    /// Marks messages `skipped` (`--allow-changes`: changed or removed rows).
    /// Pending, failed and uncertain messages may be skipped; a sent or
    /// in-flight one fails the whole call. Returns how many changed state.
    fn skip_messages(&mut self, seqs: &[u64]) -> Result<u64, JournalError>;

    /// Like [`skip_messages`](CampaignStore::skip_messages), recording why
    /// each was skipped as its failure reason (an earlier reason is kept
    /// after it), so `report` and `status` can say.
    fn skip_with_reasons(&mut self, skips: &[(u64, String)]) -> Result<u64, JournalError>;

    /// Replaces the text of pending messages (`--allow-changes=update`: their
    /// CSV row was edited). A message in any other state fails the whole
    /// call with [`JournalError::NotPending`]: a message that may have
    /// reached the server keeps the text it was sent with.
    fn rerender(&mut self, updates: &[Rerender]) -> Result<(), JournalError>;

    /// Counts by state, overall and per account, with each account's latest
    /// rate-limit headers and error.
    fn summary(&self) -> Result<StatusSummary, JournalError>;

    /// Streams one row per message, in `seq` order, for reports.
    fn report_rows(
        &self,
        f: &mut dyn FnMut(ReportRow) -> Result<(), JournalError>,
    ) -> Result<(), JournalError>;

    /// Every attempt recorded for one message, oldest first.
    fn attempts(&self, seq: u64) -> Result<Vec<AttemptRecord>, JournalError>;

    /// The switch that ends this store's wait for an unreachable database
    /// (Ctrl-C during an outage); `None` for a store that never waits.
    fn give_up_handle(&self) -> Option<GiveUp> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MessageState::*;

    #[test]
    fn manual_transitions_never_touch_sent_or_in_flight() {
        assert!(manual_transition_allowed(Failed, Pending));
        assert!(manual_transition_allowed(Uncertain, Pending));
        assert!(manual_transition_allowed(Pending, Skipped));
        assert!(!manual_transition_allowed(Pending, Pending));
        for state in MessageState::ALL {
            assert!(!manual_transition_allowed(Sent, state));
            assert!(!manual_transition_allowed(InFlight, state));
            assert!(!manual_transition_allowed(state, Sent));
            assert!(!manual_transition_allowed(state, InFlight));
        }
    }

    #[test]
    fn the_trait_is_object_safe() {
        fn takes(_: Option<Box<dyn CampaignStore>>) {}
        takes(None);
    }
}
