//! [`ReportStore`]: the reads behind `outreach report --format html`, for a
//! campaign in either store, so the page is gathered by one function and
//! shows the same numbers from an SQLite file or from PostgreSQL.
//!
//! [`ReportStore::snapshot`] runs all of a page's reads in one read-only
//! transaction: SQLite's read transaction, PostgreSQL's `REPEATABLE READ
//! READ ONLY` (one snapshot for every statement in it), so a report of a
//! running campaign adds up while a sender commits. The SQLite queries live
//! in [`timeline`](super::timeline), [`waits`](super::waits) and
//! [`problems`](super::problems); their PostgreSQL twins in `pg_timeline`
//! and `pg_waits`.

use crate::journal::any::{AnyStore, StopStore};
use crate::journal::error::JournalError;
use crate::journal::pg::PgStore;
use crate::journal::problems::{ProblemMessage, Reasons};
use crate::journal::report::StepCounts;
use crate::journal::sqlite::SqliteStore;
use crate::journal::store::CampaignStore;
use crate::journal::timeline::{AccountTimeline, Buckets, Span};
use crate::journal::waits::{AccountDelays, Pause};
use crate::journal::{pg_timeline, pg_waits};

/// Everything the HTML report reads beyond [`CampaignStore`].
pub trait ReportStore: CampaignStore {
    /// Runs `read` in one read-only transaction: every query in it sees
    /// the journal as it was when the first one ran.
    fn snapshot<T>(
        &self,
        read: impl FnOnce(&Self) -> Result<T, JournalError>,
    ) -> Result<T, JournalError>
    where
        Self: Sized;
    /// The journal as the page names it: the file, or the campaign and
    /// database (without password).
    fn journal_name(&self) -> String;
    /// The first and last planned, attempted or sent time of any message
    /// that is not skipped; `None` for an empty campaign.
    fn activity_span(&self) -> Result<Option<Span>, JournalError>;
    /// Every account's series over `buckets`, sorted by account name.
    fn timelines(&self, buckets: &Buckets) -> Result<Vec<AccountTimeline>, JournalError>;
    /// Stops recorded per bucket, for every account's chart.
    fn stops_per_bucket(&self, buckets: &Buckets) -> Result<Vec<u32>, JournalError>;
    /// Every pause of every account, by account, then time.
    fn pauses(&self) -> Result<Vec<Pause>, JournalError>;
    /// Per account: spans and every send's delay behind plan, by account.
    fn account_delays(&self) -> Result<Vec<AccountDelays>, JournalError>;
    /// Failed and uncertain messages by reason, `per_state` reasons kept.
    fn problem_reasons(&self, per_state: usize) -> Result<Reasons, JournalError>;
    /// The first `limit` failed or uncertain messages, in `seq` order.
    fn problem_messages(&self, limit: usize) -> Result<Vec<ProblemMessage>, JournalError>;
    /// Per step of a sequence: counts by state and waiting follow-ups.
    fn step_counts(&self) -> Result<Vec<StepCounts>, JournalError>;
    /// Messages skipped because their recipient was stopped, by reason.
    fn stopped_by_reason(&self) -> Result<Vec<(String, u64)>, JournalError>;
}

impl ReportStore for SqliteStore {
    fn snapshot<T>(
        &self,
        read: impl FnOnce(&Self) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        SqliteStore::snapshot(self, read)
    }
    fn journal_name(&self) -> String {
        self.path().display().to_string()
    }
    fn activity_span(&self) -> Result<Option<Span>, JournalError> {
        SqliteStore::activity_span(self)
    }
    fn timelines(&self, buckets: &Buckets) -> Result<Vec<AccountTimeline>, JournalError> {
        SqliteStore::timelines(self, buckets)
    }
    fn stops_per_bucket(&self, buckets: &Buckets) -> Result<Vec<u32>, JournalError> {
        SqliteStore::stops_per_bucket(self, buckets)
    }
    fn pauses(&self) -> Result<Vec<Pause>, JournalError> {
        SqliteStore::pauses(self)
    }
    fn account_delays(&self) -> Result<Vec<AccountDelays>, JournalError> {
        SqliteStore::account_delays(self)
    }
    fn problem_reasons(&self, per_state: usize) -> Result<Reasons, JournalError> {
        SqliteStore::problem_reasons(self, per_state)
    }
    fn problem_messages(&self, limit: usize) -> Result<Vec<ProblemMessage>, JournalError> {
        SqliteStore::problem_messages(self, limit)
    }
    fn step_counts(&self) -> Result<Vec<StepCounts>, JournalError> {
        SqliteStore::step_counts(self)
    }
    fn stopped_by_reason(&self) -> Result<Vec<(String, u64)>, JournalError> {
        SqliteStore::stopped_by_reason(self)
    }
}

impl ReportStore for PgStore {
    fn snapshot<T>(
        &self,
        read: impl FnOnce(&Self) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        self.read(|session, ctx| {
            session
                .client
                .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .map_err(ctx.pg("starting a read transaction"))
        })?;
        let result = read(self);
        // Nothing to keep: rolling back only ends the snapshot (and clears
        // a transaction that a failed query aborted).
        let ended = self.read(|session, ctx| {
            session
                .client
                .batch_execute("ROLLBACK")
                .map_err(ctx.pg("ending a read transaction"))
        });
        let value = result?;
        ended?;
        Ok(value)
    }
    fn journal_name(&self) -> String {
        self.location().to_string()
    }
    fn activity_span(&self) -> Result<Option<Span>, JournalError> {
        self.read(pg_timeline::activity_span)
    }
    fn timelines(&self, buckets: &Buckets) -> Result<Vec<AccountTimeline>, JournalError> {
        let buckets = *buckets;
        self.read(move |session, ctx| pg_timeline::timelines(session, ctx, &buckets))
    }
    fn stops_per_bucket(&self, buckets: &Buckets) -> Result<Vec<u32>, JournalError> {
        let buckets = *buckets;
        self.read(move |session, ctx| pg_timeline::stops_per_bucket(session, ctx, &buckets))
    }
    fn pauses(&self) -> Result<Vec<Pause>, JournalError> {
        self.read(pg_waits::pauses)
    }
    fn account_delays(&self) -> Result<Vec<AccountDelays>, JournalError> {
        self.read(pg_waits::account_delays)
    }
    fn problem_reasons(&self, per_state: usize) -> Result<Reasons, JournalError> {
        self.read(move |session, ctx| pg_waits::problem_reasons(session, ctx, per_state))
    }
    fn problem_messages(&self, limit: usize) -> Result<Vec<ProblemMessage>, JournalError> {
        self.read(move |session, ctx| pg_waits::problem_messages(session, ctx, limit))
    }
    fn step_counts(&self) -> Result<Vec<StepCounts>, JournalError> {
        PgStore::step_counts(self)
    }
    fn stopped_by_reason(&self) -> Result<Vec<(String, u64)>, JournalError> {
        PgStore::stopped_by_reason(self)
    }
}

macro_rules! each {
    ($self:expr, $store:ident => $body:expr) => {
        match $self {
            AnyStore::Sqlite($store) => $body,
            AnyStore::Postgres($store) => $body,
        }
    };
}

impl ReportStore for AnyStore {
    fn snapshot<T>(
        &self,
        read: impl FnOnce(&Self) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        // The inner store's transaction is on the connection every
        // delegated read below uses.
        each!(self, store => ReportStore::snapshot(store, |_| read(self)))
    }
    fn journal_name(&self) -> String {
        each!(self, store => store.journal_name())
    }
    fn activity_span(&self) -> Result<Option<Span>, JournalError> {
        each!(self, store => ReportStore::activity_span(store))
    }
    fn timelines(&self, buckets: &Buckets) -> Result<Vec<AccountTimeline>, JournalError> {
        each!(self, store => ReportStore::timelines(store, buckets))
    }
    fn stops_per_bucket(&self, buckets: &Buckets) -> Result<Vec<u32>, JournalError> {
        each!(self, store => ReportStore::stops_per_bucket(store, buckets))
    }
    fn pauses(&self) -> Result<Vec<Pause>, JournalError> {
        each!(self, store => ReportStore::pauses(store))
    }
    fn account_delays(&self) -> Result<Vec<AccountDelays>, JournalError> {
        each!(self, store => ReportStore::account_delays(store))
    }
    fn problem_reasons(&self, per_state: usize) -> Result<Reasons, JournalError> {
        each!(self, store => ReportStore::problem_reasons(store, per_state))
    }
    fn problem_messages(&self, limit: usize) -> Result<Vec<ProblemMessage>, JournalError> {
        each!(self, store => ReportStore::problem_messages(store, limit))
    }
    fn step_counts(&self) -> Result<Vec<StepCounts>, JournalError> {
        AnyStore::step_counts(self)
    }
    fn stopped_by_reason(&self) -> Result<Vec<(String, u64)>, JournalError> {
        StopStore::stopped_by_reason(self)
    }
}
