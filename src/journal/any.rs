//! `AnyStore`: the journal of one campaign, in an SQLite file or in
//! PostgreSQL, for the commands that work with either (`send`, `resume`,
//! `status`, `report`, `stop`). The trait methods delegate; so do the
//! inherent ones both stores have beyond the trait (stops, step counts),
//! and [`StopStore`] names those for callers that only stop people.
//!
//! Which store is opened is decided in one place, `state::location`.

use chrono::{DateTime, Utc};

use crate::journal::error::JournalError;
use crate::journal::model::{
    AttemptRecord, CampaignMeta, MessageState, NewMessage, PreviousStep, Rerender, StoredMessage,
};
use crate::journal::pg::PgStore;
use crate::journal::report::{ReportRow, RowDigest, StatusSummary, StepCounts};
use crate::journal::sqlite::SqliteStore;
use crate::journal::stops::{StopReport, StopRequest, StopTarget};
use crate::journal::store::{CampaignStore, JournalUpdate, Refusal};

/// Recording and reading stops: what `outreach stop`, the do-not-contact
/// lists and `status` need beyond [`CampaignStore`].
pub trait StopStore {
    /// Records a stop and skips the unsent messages of its targets, in one
    /// transaction (see [`crate::journal::stops`]).
    fn stop(&mut self, request: &StopRequest) -> Result<StopReport, JournalError>;
    /// Every stop recorded, oldest first: `(target, reason, source)`.
    fn stops(&self) -> Result<Vec<(StopTarget, String, String)>, JournalError>;
    /// Messages skipped because their recipient was stopped, by reason.
    fn stopped_by_reason(&self) -> Result<Vec<(String, u64)>, JournalError>;
}

impl StopStore for SqliteStore {
    fn stop(&mut self, request: &StopRequest) -> Result<StopReport, JournalError> {
        SqliteStore::stop(self, request)
    }
    fn stops(&self) -> Result<Vec<(StopTarget, String, String)>, JournalError> {
        SqliteStore::stops(self)
    }
    fn stopped_by_reason(&self) -> Result<Vec<(String, u64)>, JournalError> {
        SqliteStore::stopped_by_reason(self)
    }
}

impl StopStore for PgStore {
    fn stop(&mut self, request: &StopRequest) -> Result<StopReport, JournalError> {
        PgStore::stop(self, request)
    }
    fn stops(&self) -> Result<Vec<(StopTarget, String, String)>, JournalError> {
        PgStore::stops(self)
    }
    fn stopped_by_reason(&self) -> Result<Vec<(String, u64)>, JournalError> {
        PgStore::stopped_by_reason(self)
    }
}

/// One campaign's journal, in either store.
#[derive(Debug)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

macro_rules! each {
    ($self:expr, $store:ident => $body:expr) => {
        match $self {
            AnyStore::Sqlite($store) => $body,
            AnyStore::Postgres($store) => $body,
        }
    };
}

impl AnyStore {
    /// Per step of a sequence: counts by state and waiting follow-ups.
    pub fn step_counts(&self) -> Result<Vec<StepCounts>, JournalError> {
        each!(self, store => store.step_counts())
    }
}

impl StopStore for AnyStore {
    fn stop(&mut self, request: &StopRequest) -> Result<StopReport, JournalError> {
        each!(self, store => StopStore::stop(store, request))
    }
    fn stops(&self) -> Result<Vec<(StopTarget, String, String)>, JournalError> {
        each!(self, store => StopStore::stops(store))
    }
    fn stopped_by_reason(&self) -> Result<Vec<(String, u64)>, JournalError> {
        each!(self, store => StopStore::stopped_by_reason(store))
    }
}

impl CampaignStore for AnyStore {
    fn create_campaign(
        &mut self,
        meta: &CampaignMeta,
        messages: &[NewMessage],
    ) -> Result<(), JournalError> {
        each!(self, store => store.create_campaign(meta, messages))
    }
    fn campaign(&self) -> Result<Option<CampaignMeta>, JournalError> {
        each!(self, store => store.campaign())
    }
    fn messages_in_state(
        &self,
        states: &[MessageState],
    ) -> Result<Vec<StoredMessage>, JournalError> {
        each!(self, store => store.messages_in_state(states))
    }
    fn row_digests(
        &self,
        f: &mut dyn FnMut(RowDigest) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        each!(self, store => store.row_digests(f))
    }
    fn recover_in_flight(&mut self) -> Result<u64, JournalError> {
        each!(self, store => store.recover_in_flight())
    }
    fn record(&mut self, batch: &[JournalUpdate]) -> Result<Vec<Refusal>, JournalError> {
        each!(self, store => store.record(batch))
    }
    fn sends_since(
        &self,
        account: &str,
        since: DateTime<Utc>,
        at_most: usize,
    ) -> Result<Vec<DateTime<Utc>>, JournalError> {
        each!(self, store => store.sends_since(account, since, at_most))
    }
    fn previous_steps(&self, seqs: &[u64]) -> Result<Vec<PreviousStep>, JournalError> {
        each!(self, store => store.previous_steps(seqs))
    }
    fn set_state_where(
        &mut self,
        from: MessageState,
        to: MessageState,
    ) -> Result<u64, JournalError> {
        each!(self, store => store.set_state_where(from, to))
    }
    fn shift_pending(&mut self, by: chrono::TimeDelta) -> Result<u64, JournalError> {
        each!(self, store => store.shift_pending(by))
    }
    fn add_messages(&mut self, messages: &[NewMessage]) -> Result<(), JournalError> {
        each!(self, store => store.add_messages(messages))
    }
    fn skip_messages(&mut self, seqs: &[u64]) -> Result<u64, JournalError> {
        each!(self, store => store.skip_messages(seqs))
    }
    fn skip_with_reasons(&mut self, skips: &[(u64, String)]) -> Result<u64, JournalError> {
        each!(self, store => store.skip_with_reasons(skips))
    }
    fn rerender(&mut self, updates: &[Rerender]) -> Result<(), JournalError> {
        each!(self, store => store.rerender(updates))
    }
    fn summary(&self) -> Result<StatusSummary, JournalError> {
        each!(self, store => store.summary())
    }
    fn report_rows(
        &self,
        f: &mut dyn FnMut(ReportRow) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        each!(self, store => store.report_rows(f))
    }
    fn attempts(&self, seq: u64) -> Result<Vec<AttemptRecord>, JournalError> {
        each!(self, store => store.attempts(seq))
    }
    fn give_up_handle(&self) -> Option<crate::journal::GiveUp> {
        each!(self, store => store.give_up_handle())
    }
}
