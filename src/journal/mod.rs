//! The durable campaign journal: what was planned, what was sent, and what
//! might have been, kept so that a campaign survives Ctrl-C, kill -9,
//! crashes and reboots without ever sending a message twice or losing one.
//!
//! # Architecture
//!
//! - [`model`]: the data (states, campaign metadata, messages, attempts,
//!   outcomes), shared by every backend.
//! - [`store`]: [`CampaignStore`], the small backend-neutral trait the
//!   executor and the CLI talk to, and [`JournalUpdate`].
//! - [`report`]: the read-side views: [`StatusSummary`], [`ReportRow`],
//!   [`RowDigest`].
//! - [`sqlite`]: [`SqliteStore`], one SQLite file in WAL mode; its
//!   [`schema`], connections and pragmas (`sqlite_connection`), atomic
//!   creation (`sqlite_create`), the send path's write transactions
//!   (`sqlite_write`), manual edits between runs (`sqlite_edits`), the
//!   queries that load the work (`sqlite_read`) and those behind `status`
//!   and `report` (`sqlite_report`), stops (`sqlite_stops`), and one read
//!   that leaves no file beside the journal (`sqlite_peek`).
//! - [`pg`]: [`PgStore`], campaigns in PostgreSQL (any number per
//!   database, by name) behind the same trait: the URL and its redacted
//!   form ([`pg_url`]), one connection on a thread of its own (`pg_conn`),
//!   embedded migrations ([`pg_schema`]), `pg_write` (with `pg_batch`),
//!   `pg_edits`, `pg_read`, `pg_stops` mirroring the SQLite files, and the
//!   trait impl (`pg_store`); a lost connection ridden out on the send
//!   path ([`pg_reconnect`]) with each commit settled by its marker
//!   (`pg_commits`); [`pg_preflight`]: what a database holds,
//!   read without migrating (`send --dry-run`); [`pg_holders`]: which
//!   worker holds each account's lease, and the live workers (`status`).
//! - [`any`]: [`AnyStore`], either store for the commands, and
//!   [`StopStore`], stops for either; `state::location` opens them.
//! - [`stops`]: stopping a person: [`StopRequest`], [`StopTarget`] and how
//!   recipients compare.
//! - [`timeline`], [`waits`], [`problems`]: time-bucketed series, pauses,
//!   delays and failure lists for charts (`outreach report --format html`),
//!   as inherent methods of [`SqliteStore`]; `pg_timeline` and `pg_waits`
//!   the same for PostgreSQL; [`report_store`]: [`ReportStore`], both behind
//!   one trait, read in one snapshot.
//! - [`lock`]: [`JournalLock`], one writing process per journal.
//! - [`writer`]: [`JournalHandle`], the group-commit writer thread the
//!   executor sends through.
//! - [`error`]: [`JournalError`], one typed error for every failure.
//!
//! # The protocol
//!
//! 1. `send`: [`SqliteStore::create`], then
//!    [`CampaignStore::create_campaign`] with the whole plan (one
//!    transaction). `resume`: [`SqliteStore::open`], then
//!    [`CampaignStore::recover_in_flight`] (a crash left those uncertain).
//! 2. Read the work ([`CampaignStore::messages_in_state`]) and the rate
//!    windows ([`CampaignStore::sends_since`]), then hand the store to
//!    [`JournalHandle::spawn`].
//! 3. Per message: `begin_send(seq, now).await?` (durably `in_flight`), then
//!    the HTTP request, then `record(Attempt)` and `record(Outcome)`.
//! 4. At the end, or on Ctrl-C after in-flight requests settle:
//!    [`JournalHandle::close`].
//!
//! A message is never resent automatically once it may have reached the
//! server: a crash leaves it `uncertain`, and only `--resend-uncertain`
//! (with the same idempotency key) sends it again.
//!
//! See docs/journal.md for the file format and measured performance.

pub mod any;
pub mod error;
pub mod lock;
pub mod model;
pub mod pg;
mod pg_batch;
mod pg_calls;
mod pg_claim;
mod pg_commits;
mod pg_conn;
pub mod pg_control;
pub mod pg_domains;
mod pg_edits;
pub mod pg_holders;
pub mod pg_lease;
pub mod pg_preflight;
mod pg_read;
pub mod pg_reconnect;
mod pg_rounds;
pub mod pg_schema;
mod pg_stops;
mod pg_store;
mod pg_timeline;
pub mod pg_url;
mod pg_waits;
mod pg_write;
pub mod problems;
pub mod report;
pub mod report_store;
pub mod schema;
pub mod sqlite;
mod sqlite_connection;
mod sqlite_create;
mod sqlite_edits;
mod sqlite_peek;
mod sqlite_read;
mod sqlite_report;
mod sqlite_stops;
mod sqlite_write;
pub mod stops;
pub mod store;
pub mod timeline;
pub mod waits;
pub mod writer;

pub use any::{AnyStore, StopStore};
pub use error::JournalError;
pub use lock::JournalLock;
pub use model::{
    AttemptRecord, CampaignMeta, InputDigest, MessageState, NewMessage, Outcome, PreviousStep,
    RateLimitSnapshot, Rerender, SequencePlace, StoredMessage, UnknownState,
};
pub use pg::{CampaignListing, PgStore};
pub use pg_reconnect::GiveUp;
pub use pg_url::DbUrl;
pub use problems::{ProblemMessage, ReasonCount, Reasons};
pub use report::{AccountSummary, ReportRow, RowDigest, StateCounts, StatusSummary, StepCounts};
pub use report_store::ReportStore;
pub use sqlite::SqliteStore;
pub use sqlite_write::INTERRUPTED_REASON;
pub use stops::{StopReport, StopRequest, StopTarget, TargetOutcome};
pub use store::{CampaignStore, JournalUpdate, Refusal, manual_transition_allowed};
pub use timeline::{AccountTimeline, Buckets, QuotaBucket, Span};
pub use waits::{AccountDelays, Pause, PauseCause};
pub use writer::{JournalHandle, WriterStats};
